"""The PyTorch frontend's one registry of shape-only cost formulas, keyed by aten op name.

Every formula receives the op's arguments with each tensor replaced by its shape (a
:class:`TShape`, a tuple subclass) and the output shape(s) as ``out``, and returns a
:class:`Cost`. Formulas never see data, so counts cannot depend on the device, dtype or
kernel. One decorated function per op kind, in the style of ``torch/utils/flop_counter.py``.

MACs (multiply-accumulates of tensor contractions)
    convolution / matmul family: reused from torch's own ``flop_registry``
    (``torch.utils.flop_counter``), which reports ``2 * MACs`` (transposed convolutions
    counted from the input side). Attention (every SDPA kernel, grouped-query included) and
    the fused ``nn.MultiheadAttention`` / ``TransformerEncoderLayer`` fast paths have their
    own formulas here because torch's either lacks them or rejects grouped-query shapes:
    ``QK^T + AV = B * Hq * Lq * Lk * (E + Ev)`` MACs, dense (no causal discount).

Non-MAC FLOPs, per output element unless stated (each arithmetic operation, comparison or
elementary function evaluation counts 1):
    (the shared per-element costs live in costs.py)
    bias add of addmm / baddbmm / conv: 1 per output element
    element-wise arithmetic and comparisons: 1 (addcmul/addcdiv 2, lerp 3)
    relu, threshold 1; leaky_relu, hardtanh, prelu 2; tanh 1; sigmoid 4; silu 5;
    hardsigmoid 4; hardswish 5; elu 4; softplus 4; gelu 5 (erf) or 9 (tanh approximation);
    mish 7
    softmax, log_softmax: 5 per element (max, subtract, exp, sum, divide)
    attention: 6 per score (scale + softmax), +1 with a mask or causal masking
    layer/group/instance norm: 5 per element (mean, subtract, square, variance, scale)
        +1 per affine term; RMS norm: 3 +1 for the weight
    batch norm: inference 2 per element (subtract mean, scale) +1 per affine term;
        training +3 for the statistics
    max pooling: K-1 comparisons per output (K = kernel elements); average pooling: K;
        adaptive pooling: one per input element + one per output element
    reductions: sum, max, argmax 1 per input element; mean +1 per output; var/std 3 per
        input element; norm 2 per input element
    interpolation: nearest 0 (a copy); linear 3, bilinear 7, bicubic 31, trilinear 15
        per output element (2 x taps - 1)
    embedding, gather, cat, copies, padding: 0 FLOPs; their bytes are counted

Ops in :data:`SHAPE_ONLY` (views, metadata, tensor creation) are ignored: they neither
compute nor move activation bytes. Ops in :data:`DATA_MOVEMENT` cost 0 FLOPs but move bytes.
Every other op without a formula is *unsupported*: kept in the graph and listed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from chipfit.frontends import costs
from chipfit.frontends.costs import Cost, numel


class TShape(tuple):
    """The shape of a tensor argument (so formulas can tell tensors from int lists)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str
    formula: Callable[..., Cost]


# --------------------------------------------------------------------------------------
# Ops that cost nothing, and ops that only move bytes
# --------------------------------------------------------------------------------------
#: views, metadata queries and tensor creation: no arithmetic, no activation traffic
SHAPE_ONLY = frozenset("aten::" + n for n in
    """view _unsafe_view reshape _reshape_alias permute transpose transpose_ t t_ numpy_T expand
    expand_as squeeze squeeze_ unsqueeze unsqueeze_ slice select split split_with_sizes unbind
    chunk narrow as_strided as_strided_ detach detach_ alias lift_fresh lift unfold view_as_real
    view_as_complex diagonal movedim unflatten flatten empty empty_like empty_strided
    new_empty new_empty_strided zeros zeros_like ones ones_like full full_like new_zeros new_ones
    new_full arange linspace logspace scalar_tensor _local_scalar_dense sym_size sym_stride
    sym_numel sym_storage_offset is_same_size resize_ set_ fill fill_ zero_ _assert_async
    _assert_tensor_metadata _functional_assert_async _assert_scalar rand randn randint rand_like
    randn_like randint_like normal_ uniform_ bernoulli_ random_ _has_compatible_shallow_copy_type
    is_nonzero equal _to_dim_order_copy align_to rename unsafe_split unsafe_split_with_sizes
    unsafe_chunk""".split()
)

#: ops that copy or gather data: 0 FLOPs, bytes counted
DATA_MOVEMENT = frozenset("aten::" + n for n in
    """clone copy copy_ _to_copy contiguous cat stack hstack vstack index_select gather scatter
    scatter_ scatter_add scatter_add_ scatter_reduce index index_put index_put_ _unsafe_index
    _unsafe_index_put constant_pad_nd reflection_pad1d reflection_pad2d reflection_pad3d
    replication_pad1d replication_pad2d replication_pad3d _pad_circular repeat repeat_interleave
    roll flip tril triu tril_ triu_ pixel_shuffle pixel_unshuffle channel_shuffle
    native_channel_shuffle masked_scatter masked_select narrow_copy slice_scatter select_scatter
    as_strided_scatter diagonal_scatter im2col col2im split_with_sizes_copy unbind_copy
    split_copy view_copy permute_copy transpose_copy expand_copy unsqueeze_copy squeeze_copy
    alias_copy t_copy slice_copy select_copy nonzero unique _unique2 searchsorted bucketize
    one_hot""".split()
)


#: Formulas by the op's full name, ``namespace::name`` (``aten::convolution``,
#: ``quantized::linear_dynamic``): an op of another namespace with the same name is another op.
REGISTRY: dict[str, Entry] = {}
KINDS = ("conv", "linear", "matmul", "attention", "norm", "activation", "softmax", "pool", "elementwise",
         "reduction", "embedding", "resize", "data")


def qualified(name: str, namespace: str = "aten") -> str:
    """``'convolution'`` → ``'aten::convolution'``; a name with its namespace stays as it is."""
    return name if "::" in name else f"{namespace}::{name}"


def display_name(name: str) -> str:
    """How an op is shown: aten ops by their bare name (``convolution``), others in full."""
    return name.removeprefix("aten::")


def register(*names: str, kind: str, inplace: bool = False, namespace: str = "aten"):
    """Register ``formula`` for the ops ``names`` (of ``namespace`` unless a name carries its
    own, ``mylib::fused_mlp``) and, with ``inplace``, their ``name_`` forms. Registering a name
    twice is an error: the first formula would be silently replaced."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")

    def deco(formula: Callable[..., Cost]) -> Callable[..., Cost]:
        keys = [qualified(n, namespace) for n in names]
        keys += [k + "_" for k in keys] if inplace else []
        taken = [k for k in keys if k in REGISTRY or k in SHAPE_ONLY or k in DATA_MOVEMENT]
        if taken:
            raise ValueError(f"a cost formula for {', '.join(taken)} is already registered")
        for key in keys:
            REGISTRY[key] = Entry(kind, formula)
        return formula

    return deco


def first_shape(out) -> TShape:
    """The first tensor shape of an op's output (ops such as max_pool return tuples)."""
    if isinstance(out, TShape):
        return out
    if isinstance(out, (tuple, list)):
        for item in out:
            if isinstance(item, TShape):
                return item
    return TShape(())


def _arg(args, kwargs, index: int, name: str, default=None):
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


# --------------------------------------------------------------------------------------
# Tensor contractions: torch's own flop registry (flops = 2 * MACs)
# --------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _torch_flop_registry() -> dict[str, Callable]:
    from torch.utils.flop_counter import flop_registry

    table = {}
    for packet, fn in flop_registry.items():
        qualified = getattr(packet, "_qualified_op_name", "")
        if qualified.startswith("aten::"):
            table[qualified[len("aten::"):]] = fn
    return table


def _torch_macs(name: str, args, kwargs, out) -> int:
    return _torch_flop_registry()[name](*args, out_val=out, **kwargs) // 2


@register("convolution", "_convolution", "convolution_overrideable", kind="conv")
def _conv(*args, out, **kwargs) -> Cost:
    bias = _arg(args, kwargs, 2, "bias")
    out_shape = first_shape(out)
    return Cost(
        macs=_torch_macs("convolution", args[:7], {}, out_shape),
        nonmac=numel(out_shape) if bias is not None else 0,
    )


@register("cudnn_convolution", kind="conv")
def _cudnn_conv(*args, out, **kwargs) -> Cost:  # no bias argument
    return Cost(macs=_torch_macs("cudnn_convolution", args, kwargs, first_shape(out)))


@register("_slow_conv2d_forward", kind="conv")
def _slow_conv(*args, out, **kwargs) -> Cost:
    bias = _arg(args, kwargs, 3, "bias")
    out_shape = first_shape(out)
    return Cost(
        macs=_torch_macs("_slow_conv2d_forward", args, kwargs, out_shape),
        nonmac=numel(out_shape) if bias is not None else 0,
    )


@register("mm", "bmm", kind="matmul")
def _mm(a, b, *args, out, **kwargs) -> Cost:
    return Cost(macs=_torch_macs("mm" if len(a) == 2 else "bmm", (a, b), {}, first_shape(out)))


#: Ops whose weights are packed objects, not tensors: their formulas count those weights.
PACKED_WEIGHT_OPS = frozenset({"quantized::linear_dynamic"})


@register("quantized::linear_dynamic", kind="linear")
def _linear_dynamic(x, packed, *_, out, **__) -> Cost:
    """``quantized::linear_dynamic`` (``quantize_dynamic``'s Linear): int8 weights, activations
    quantized on the fly. MACs = output elements × in_features; the packed weight (in × out, int8)
    and its float bias are this op's parameters."""
    import torch

    w, b = torch.ops.quantized.linear_unpack(packed)  # the constant weight object, not data
    n_in, n_out = x[-1], first_shape(out)[-1]
    bias = b.numel() if b is not None else 0
    return Cost(macs=numel(first_shape(out)) * n_in, nonmac=numel(first_shape(out)) if bias else 0,
                weight_elems=n_in * n_out + bias, weight_bits=8, params=w.numel() + bias)


@register("addmm", "baddbmm", kind="matmul")
def _addmm(bias, a, b, *args, out, **kwargs) -> Cost:
    out_shape = first_shape(out)
    name = "addmm" if len(a) == 2 else "baddbmm"
    return Cost(macs=_torch_macs(name, (bias, a, b), {}, out_shape), nonmac=numel(out_shape))


@register("_scaled_mm", kind="matmul")
def _scaled_mm(a, b, *args, out, **kwargs) -> Cost:
    return Cost(macs=_torch_macs("_scaled_mm", (a, b, *args), kwargs, first_shape(out)))


@register("_grouped_mm", kind="matmul")
def _grouped_mm(a, b, *args, out, **kwargs) -> Cost:
    """Grouped GEMM (transformers' MoE experts): each row of ``a`` meets one group's matrix,
    so MACs = rows × K × N whatever the group sizes; 2-D × 2-D splits K by group instead."""
    if len(a) == 2 and len(b) == 2:
        return Cost(macs=a[0] * a[1] * b[1])
    return Cost(macs=numel(first_shape(out)) * a[-1])


@register("mv", "dot", "vdot", "_int_mm", kind="matmul")
def _mv(a, b, *args, out, **kwargs) -> Cost:
    # mv: (n, k) @ (k,) ; dot: (k,) . (k,) ; _int_mm: (n, k) @ (k, m)
    return Cost(macs=numel(a) * (b[-1] if len(b) == 2 else 1))


@register("addmv", kind="matmul")
def _addmv(bias, a, b, *args, out, **kwargs) -> Cost:
    return Cost(macs=numel(a), nonmac=numel(first_shape(out)))


@register("_weight_int8pack_mm", kind="matmul")
def _int8pack_mm(a, w, scales, *args, out, **kwargs) -> Cost:
    # a (n, k), w (m, k) int8, per-channel scales: n*k*m MACs + one scale per output
    out_shape = first_shape(out)
    return Cost(macs=numel(a) * w[0], nonmac=numel(out_shape))


# --------------------------------------------------------------------------------------
# Attention
# --------------------------------------------------------------------------------------
@register("mkldnn_rnn_layer", kind="linear")
def _mkldnn_lstm_layer(x, w_ih, w_hh, *args, out, **kwargs) -> Cost:
    """One direction of one LSTM layer as PyTorch runs ``nn.LSTM`` on the CPU (oneDNN), counted as
    the same layer traced step by step: per step and sequence, the input and recurrent products
    (G = 4H gates: G·I + G·Hin MACs), and per hidden unit the two bias adds of the four gates (8),
    their sum (4), three sigmoids and two tanh, the three products and the add of the cell update."""
    steps = numel(x) // x[-1] if x else 0                   # T × B positions
    gates, hidden_in = w_ih[0], w_hh[1]
    hidden = gates // 4
    biased = kwargs.get("has_biases", args[9] if len(args) > 9 else True)
    per_unit = (8 if biased else 0) + 4 + 3 * costs.ACTIVATION_COST["sigmoid"] + \
        2 * costs.ACTIVATION_COST["tanh"] + 3 + 1
    return Cost(macs=steps * gates * (x[-1] + hidden_in), nonmac=steps * hidden * per_unit)


def attention_cost(q: TShape, k: TShape, v: TShape, masked: bool, heads_last: bool = False) -> Cost:
    """QK^T and AV of dense attention, grouped-query aware (:func:`costs.attention_cost`).

    ``q`` is (..., Hq, Lq, E) and ``k``/``v`` are (..., Hkv, Lk, E/Ev); with
    ``heads_last`` (flash/efficient forward kernels) they are (B, L, H, E).
    Every query head attends to Lk keys whatever the number of key/value heads.
    """
    lk = k[1] if heads_last else k[-2]
    return costs.attention_cost(numel(q[:-1]), lk, q[-1], v[-1], masked)


@register("scaled_dot_product_attention", "_scaled_dot_product_attention_math", kind="attention")
def _sdpa(*args, out, **kwargs) -> Cost:
    # (query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False): by position or by
    # name (diffusers' attention dispatcher passes them all as keywords)
    names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal")
    given = dict(zip(names, args)) | {n: kwargs[n] for n in names if n in kwargs}
    masked = given.get("attn_mask") is not None or bool(given.get("is_causal", False))
    return attention_cost(given["query"], given["key"], given["value"], masked)


@register("_scaled_dot_product_flash_attention", kind="attention")
def _sdpa_flash(q, k, v, dropout_p=0.0, is_causal=False, *args, out, **kwargs) -> Cost:
    return attention_cost(q, k, v, bool(kwargs.get("is_causal", is_causal)))


@register("_scaled_dot_product_flash_attention_for_cpu", kind="attention")
def _sdpa_flash_cpu(q, k, v, dropout_p=0.0, is_causal=False, *args, out, **kwargs) -> Cost:
    masked = bool(kwargs.get("is_causal", is_causal)) or kwargs.get("attn_mask") is not None
    return attention_cost(q, k, v, masked)


@register(
    "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_cudnn_attention",
    "_scaled_dot_product_fused_attention_overrideable",
    kind="attention",
)
def _sdpa_bias(q, k, v, attn_bias=None, *args, out, **kwargs) -> Cost:
    # (query, key, value, attn_bias, compute_log_sumexp, dropout_p, is_causal, ...)
    is_causal = args[2] if len(args) > 2 else kwargs.get("is_causal", False)
    return attention_cost(q, k, v, attn_bias is not None or bool(is_causal))


@register("_flash_attention_forward", "_efficient_attention_forward", kind="attention")
def _attention_forward(q, k, v, *args, out, **kwargs) -> Cost:
    return attention_cost(q, k, v, masked=True, heads_last=True)


@register("_native_multi_head_attention", kind="attention")
def _native_mha(q, k, v, embed_dim, num_heads, qkv_w, qkv_b, proj_w, proj_b, *args, out, **kwargs) -> Cost:
    """Fused nn.MultiheadAttention fast path: in-projections, attention, out-projection."""
    # q: (B, Lq, E); k, v: (B, Lk, E)
    lq_rows, lk_rows = numel(q[:-1]), numel(k[:-1])
    e = embed_dim
    head = e // num_heads
    proj_macs = lq_rows * e * e + 2 * lk_rows * e * e + lq_rows * e * e
    heads_q = TShape((*q[:-2], num_heads, q[-2], head))
    heads_k = TShape((*k[:-2], num_heads, k[-2], head))
    att = attention_cost(heads_q, heads_k, heads_k, masked=len(args) > 0 and args[0] is not None)
    bias = (lq_rows + 2 * lk_rows) * e * (qkv_b is not None) + lq_rows * e * (proj_b is not None)
    return Cost(macs=proj_macs + att.macs, nonmac=att.nonmac + bias)


@register("_transformer_encoder_layer_fwd", kind="attention")
def _encoder_layer(src, embed_dim, num_heads, qkv_w, qkv_b, proj_w, proj_b, use_gelu, norm_first,
                   eps, n1_w, n1_b, n2_w, n2_b, ffn1_w, ffn1_b, ffn2_w, ffn2_b, *args, out, **kwargs) -> Cost:
    """Fused nn.TransformerEncoderLayer fast path: self-attention block + feed-forward block."""
    rows, e, f = numel(src[:-1]), embed_dim, ffn1_w[0]
    mha = _native_mha(src, src, src, e, num_heads, qkv_w, qkv_b, proj_w, proj_b, out=out)
    ffn_macs = 2 * rows * e * f
    nonmac = (
        mha.nonmac
        + 2 * rows * e * 7            # two layer norms with weight and bias
        + rows * f * (5 if use_gelu else 1)
        + rows * (f + e)              # feed-forward biases
        + 2 * rows * e                # two residual adds
    )
    return Cost(macs=mha.macs + ffn_macs, nonmac=nonmac)


# --------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------
def _affine(*terms) -> int:
    return sum(t is not None for t in terms)


def _norm(x: TShape, kind: str, affine_terms: int, training: bool = False) -> Cost:
    # only the normalised tensor counts as written: the saved statistics some kernels
    # return (mean, rstd) are sized differently on different devices
    return Cost(nonmac=costs.norm_cost(numel(x), kind, affine_terms, training), act_write_elems=numel(x))


@register("native_layer_norm", kind="norm")
def _layer_norm(x, normalized_shape, weight=None, bias=None, *args, out, **kwargs) -> Cost:
    return _norm(x, "layer", _affine(weight, bias))


@register("native_group_norm", kind="norm")
def _group_norm(x, weight=None, bias=None, *args, out, **kwargs) -> Cost:
    return _norm(x, "group", _affine(weight, bias))


@register("_fused_rms_norm", "rms_norm", kind="norm")
def _rms_norm(x, normalized_shape, weight=None, *args, out, **kwargs) -> Cost:
    return _norm(x, "rms", _affine(weight))


def _batch_norm(x, weight, bias, training: bool) -> Cost:
    return _norm(x, "batch", _affine(weight, bias), training)


@register("native_batch_norm", "cudnn_batch_norm", "miopen_batch_norm", kind="norm")
def _bn_native(x, weight, bias, running_mean, running_var, training, *args, out, **kwargs) -> Cost:
    return _batch_norm(x, weight, bias, bool(training))


@register("_native_batch_norm_legit", kind="norm")
def _bn_legit(x, weight, bias, *args, out, **kwargs) -> Cost:
    # (x, w, b, running_mean, running_var, training, ...) or the no_stats overload
    # (x, w, b, training, ...)
    training = args[2] if len(args) > 2 and isinstance(args[0], TShape) else args[0]
    return _batch_norm(x, weight, bias, bool(training))


@register("_native_batch_norm_legit_no_training", "_batch_norm_no_update", kind="norm")
def _bn_inference(x, weight, bias, *args, out, **kwargs) -> Cost:
    return _batch_norm(x, weight, bias, False)


@register("_batch_norm_with_update", kind="norm")
def _bn_update(x, weight, bias, *args, out, **kwargs) -> Cost:
    return _batch_norm(x, weight, bias, True)


# --------------------------------------------------------------------------------------
# Activations, softmax and element-wise arithmetic: a fixed cost per output element
# --------------------------------------------------------------------------------------
def _per_output(cost: int):
    def formula(*args, out, **kwargs) -> Cost:
        return Cost(nonmac=cost * numel(first_shape(out)))

    formula.__doc__ = f"{cost} FLOP(s) per output element"
    return formula


#: aten activation ops -> the shared per-element cost name
_ACTIVATIONS = {
    "relu": "relu", "threshold": "threshold", "leaky_relu": "leaky_relu", "hardtanh": "hardtanh",
    "prelu": "prelu", "_prelu_kernel": "prelu", "tanh": "tanh", "sigmoid": "sigmoid", "silu": "silu",
    "hardsigmoid": "hardsigmoid", "hardswish": "hardswish", "elu": "elu", "celu": "celu",
    "selu": "selu", "softplus": "softplus", "mish": "mish", "log_sigmoid_forward": "log_sigmoid",
    "glu": "glu",
}
for _name, _key in _ACTIVATIONS.items():
    register(_name, kind="activation", inplace=True)(_per_output(costs.ACTIVATION_COST[_key]))


@register("gelu", kind="activation", inplace=True)
def _gelu(x, *args, out, **kwargs) -> Cost:
    approximate = args[0] if args else kwargs.get("approximate", "none")
    return Cost(nonmac=numel(x) * costs.ACTIVATION_COST["gelu_tanh" if approximate == "tanh" else "gelu"])


register("_softmax", "_log_softmax", "_safe_softmax", "softmax", "log_softmax",
         kind="softmax")(_per_output(costs.SOFTMAX_COST))

ELEMENTWISE_COST = {
    **dict.fromkeys(
        "add sub rsub mul div neg abs sqrt rsqrt exp exp2 expm1 log log2 log10 log1p sin cos "
        "tan asin acos atan atan2 sinh cosh asinh acosh atanh pow reciprocal erf erfc erfinv "
        "clamp clamp_min clamp_max clip maximum minimum fmax fmin floor ceil round trunc frac "
        "sign sgn square eq ne lt le gt ge logical_and logical_or logical_not logical_xor "
        "bitwise_and bitwise_or bitwise_xor bitwise_not where masked_fill remainder fmod "
        "floor_divide isnan isinf isfinite nan_to_num hypot copysign xlogy "
        "bitwise_left_shift bitwise_right_shift".split(),
        1,
    ),
    "addcmul": 2, "addcdiv": 2, "lerp": 3,
}
for _name, _c in ELEMENTWISE_COST.items():
    register(_name, kind="elementwise", inplace=True)(_per_output(_c))


@register("native_dropout", kind="elementwise")
def _dropout(x, *args, out, **kwargs) -> Cost:  # random draw + scale per element
    return Cost(nonmac=2 * numel(x))


# --------------------------------------------------------------------------------------
# Reductions
# --------------------------------------------------------------------------------------
def _per_input(cost: int, plus_output: int = 0):
    def formula(x, *args, out, **kwargs) -> Cost:
        return Cost(nonmac=cost * numel(x) + plus_output * numel(first_shape(out)))

    return formula


register("sum", "nansum", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "any",
         "all", "cumsum", "cumprod", "aminmax", "logcumsumexp", "count_nonzero", "histc", "bincount",
         kind="reduction")(_per_input(1))
register("mean", "nanmean", kind="reduction")(_per_input(1, plus_output=1))
register("var", "std", "var_mean", "std_mean", kind="reduction")(_per_input(3))
register("linalg_vector_norm", "norm", "logsumexp", kind="reduction")(_per_input(2))
register("topk", "kthvalue", "median", "mode", kind="reduction")(_per_input(1))


@register("_weight_norm_interface", kind="norm")
def _weight_norm(v, g, *args, out, **kwargs) -> Cost:
    """w = g · v / ‖v‖ (weight normalisation): square and sum, then one scale per element."""
    return Cost(nonmac=3 * numel(v))


@register("sort", "argsort", kind="reduction")
def _sort(x, *args, out, **kwargs) -> Cost:
    # aten::sort(self, dim=-1, descending=False): args here follow ``self``
    dim = args[0] if args and isinstance(args[0], int) and not isinstance(args[0], bool) else kwargs.get("dim", -1)
    n = x[dim] if x else 1
    return Cost(nonmac=numel(x) * max(1, math.ceil(math.log2(max(n, 2)))))


# --------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------
def _kernel_elems(kernel_size, spatial_dims: int) -> int:
    if isinstance(kernel_size, int):
        return kernel_size ** spatial_dims
    ks = list(kernel_size)
    if len(ks) == 1:
        ks = ks * spatial_dims
    return math.prod(ks)


def _pool(spatial_dims: int, is_max: bool):
    def formula(x, kernel_size, *args, out, **kwargs) -> Cost:
        k = _kernel_elems(kernel_size, spatial_dims)
        values = numel(first_shape(out))
        # only the pooled values count as written: some kernels also return argmax indices
        return Cost(nonmac=values * (k - 1 if is_max else k), act_write_elems=values)

    return formula


for _d in (1, 2, 3):
    register(f"max_pool{_d}d", f"max_pool{_d}d_with_indices", kind="pool")(_pool(_d, True))
    register(f"avg_pool{_d}d", kind="pool")(_pool(_d, False))
register("mkldnn_max_pool2d", kind="pool")(_pool(2, True))


@register("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "_adaptive_avg_pool2d",
          "_adaptive_avg_pool3d", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
          kind="pool")
def _adaptive_pool(x, *args, out, **kwargs) -> Cost:
    return Cost(nonmac=numel(x) + numel(first_shape(out)))


# --------------------------------------------------------------------------------------
# Interpolation
# --------------------------------------------------------------------------------------
#: aten interpolation ops -> input taps per output element
_RESIZE_TAPS = {
    "upsample_nearest1d": 1, "upsample_nearest2d": 1, "upsample_nearest3d": 1,
    "_upsample_nearest_exact1d": 1, "_upsample_nearest_exact2d": 1, "_upsample_nearest_exact3d": 1,
    "upsample_linear1d": 2, "upsample_bilinear2d": 4, "_upsample_bilinear2d_aa": 4,
    "upsample_bicubic2d": 16, "_upsample_bicubic2d_aa": 16, "upsample_trilinear3d": 8,
    "grid_sampler_2d": 4, "grid_sampler_3d": 8,
}
for _name, _taps in _RESIZE_TAPS.items():
    register(_name, kind="resize")(_per_output(costs.interpolation_cost(_taps)))


# --------------------------------------------------------------------------------------
# Embedding: no arithmetic, reads only the looked-up rows
# --------------------------------------------------------------------------------------
@register("embedding", kind="embedding")
def _embedding(weight, indices, *args, out, **kwargs) -> Cost:
    return Cost(weight_elems=numel(indices) * weight[-1], act_read_elems=numel(indices))


@register("_embedding_bag", "embedding_bag", kind="embedding")
def _embedding_bag(weight, indices, *args, out, **kwargs) -> Cost:
    rows = numel(indices) * weight[-1]
    return Cost(nonmac=rows, weight_elems=rows, act_read_elems=numel(indices))
