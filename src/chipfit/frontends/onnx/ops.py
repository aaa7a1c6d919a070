"""The ONNX frontend's one registry of shape-only cost formulas, keyed by (domain, op type).

Every formula receives a :class:`NodeShapes` (the node's input and output shapes after onnx
shape inference, and its attributes) and returns a :class:`~chipfit.frontends.costs.Cost`.
Formulas never see tensor data, so they do not depend on the opset's choice between an
attribute and a constant input (``axes``, ``scales``): shapes already say what happened.

MACs (multiply-accumulates of tensor contractions)
    Conv, ConvInteger, QLinearConv: ``numel(Y) × C/group × prod(kernel)``
    ConvTranspose: counted from the input side, ``numel(X) × M/group × prod(kernel)``:
        each input element is multiplied into one kernel window (counting from the output
        side, as one existing tool does, over-counts by ``stride^d``)
    Gemm, QGemm: ``M × K × N`` (transA/transB read from the attributes)
    MatMul, MatMulInteger, QLinearMatMul, FusedMatMul...: ``numel(Y) × K``
    Einsum: contracted pairwise left to right, each step ``prod(sizes of its letters)``
    Attention (opset 23) and the contrib Attention, MultiHeadAttention, GroupQueryAttention:
        ``B × Hq × Lq × Lk × (E + Ev)`` with ``Lk`` including the past KV cache, dense;
        the contrib Attention adds its fused QKV projection ``B × S × Din × (Dq + Dk + Dv)``
    LSTM / GRU / RNN: all time steps and directions,
        ``seq × dirs × batch × gates·H × (I + H)`` with 4, 3 and 1 gates

Non-MAC FLOPs: the per-element costs shared with the PyTorch frontend (``costs.py``), plus
    bias of Conv/Gemm/...: 1 per output element; requantisation of QLinear*/QGemm: 1 per
        output element; DynamicQuantizeLinear: 6 per element (min, max, then divide, round,
        add the zero point, saturate)
    LSTM per hidden unit and step: 22 (4 gate sums, 3 sigmoids, 2 tanh, cell and hidden
        updates), +8 with biases, +6 with peepholes; GRU: 17, +6 with biases; RNN: 2, +2
    Clip: 2 per element; variadic Max/Min/Sum: n−1 per element, Mean n
    Resize/Upsample: ``2 × taps − 1`` per output element, taps = 1 (nearest), 2 (linear) or
        4 (cubic) per resized axis
    MaxPool: kernel−1 comparisons per output, AveragePool: kernel, global pooling: one per
        input element + one per output element, LpPool: 2 × kernel
    reductions: 1 per input element (+1 per output for means; 2 for squares and L2, log-sum-exp)

:data:`SHAPE_ONLY` ops (Reshape, Squeeze, Identity, Shape, Constant...) are ignored: no
arithmetic and no copy. :data:`DATA_MOVEMENT` ops (Transpose, Slice, Concat, Cast, Pad...)
cost 0 FLOPs but move bytes. QuantizeLinear/DequantizeLinear on weights are folded into the
weight; on activations they mark the tensor as quantized (runtimes fuse QDQ pairs into the
integer kernel). Anything else is *unsupported*: kept in the graph and listed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chipfit.frontends import costs
from chipfit.frontends.costs import Cost, numel

Shape = tuple[int, ...]


class UnknownShape(Exception):
    """A formula needs a shape onnx shape inference could not determine."""


@dataclass(frozen=True, slots=True)
class NodeShapes:
    """What a formula may look at: shapes (None where absent or unknown) and attributes."""

    op_type: str
    inputs: tuple[Shape | None, ...]
    outputs: tuple[Shape | None, ...]
    attrs: dict[str, Any]
    present: tuple[bool, ...] = ()  # which inputs the node names (optional ones may be '')

    def has(self, i: int) -> bool:
        return i < len(self.present) and self.present[i]

    def inp(self, i: int) -> Shape:
        if not self.has(i):
            raise UnknownShape(f"input {i} is missing")
        shape = self.inputs[i]
        if shape is None:
            raise UnknownShape(f"the shape of input {i} is unknown")
        return shape

    def out(self, i: int = 0) -> Shape:
        shape = self.outputs[i] if i < len(self.outputs) else None
        if shape is None:
            raise UnknownShape(f"the shape of output {i} is unknown")
        return shape

    def out_or_none(self, i: int) -> Shape | None:
        return self.outputs[i] if i < len(self.outputs) else None

    def attr(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str
    formula: Callable[[NodeShapes], Cost]
    #: inputs that may hold parameters (None: any); scales, zero points, shapes, axes and
    #: recurrent initial states are read but are not parameters
    params: tuple[int, ...] | None = None


REGISTRY: dict[tuple[str, str], Entry] = {}
MS = "com.microsoft"


KINDS = ("conv", "linear", "matmul", "attention", "norm", "activation", "softmax", "pool", "elementwise",
         "reduction", "embedding", "resize", "data")


def _domain(domain: str) -> str:
    return "" if domain in ("", "ai.onnx") else domain


def register(*op_types: str, kind: str, domain: str = "", params: tuple[int, ...] | None = None):
    """Register ``formula`` for ``op_types`` of ``domain`` (``""`` or ``ai.onnx``: the standard
    operators). ``params``: the inputs that may hold parameters (None: any). Registering an op
    twice is an error: the first formula would be silently replaced."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    keys = [(_domain(domain), op) for op in op_types]

    def deco(formula: Callable[[NodeShapes], Cost]) -> Callable[[NodeShapes], Cost]:
        taken = [f"{d or 'ai.onnx'}::{op}" for d, op in keys if (d, op) in REGISTRY]
        if taken:
            raise ValueError(f"a cost formula for {', '.join(taken)} is already registered")
        for key in keys:
            REGISTRY[key] = Entry(kind, formula, params)
        return formula

    return deco


def lookup(domain: str, op_type: str) -> Entry | None:
    return REGISTRY.get((_domain(domain), op_type))


def _bias(n: NodeShapes, index: int) -> int:
    return numel(n.out()) if n.has(index) else 0


# --------------------------------------------------------------------------------------
# Convolutions
# --------------------------------------------------------------------------------------
def _conv_macs(y: Shape, w: Shape) -> int:
    return numel(y) * numel(w[1:])  # each output: C/group × kernel taps


def _check_groups(n: NodeShapes, x_index: int, w_index: int) -> None:
    group = n.attr("group", 1)
    x, w = n.inputs[x_index], n.inputs[w_index]
    if not isinstance(group, int) or group < 1:
        raise ValueError(f"group must be a positive integer, not {group!r}")
    if x is not None and w is not None and len(x) > 1 and len(w) > 1 and x[1] != w[1] * group:
        raise ValueError(f"{x[1]} input channels do not match weight channels {w[1]} × group {group}")


@register("Conv", kind="conv")
def _conv(n: NodeShapes) -> Cost:
    _check_groups(n, 0, 1)
    return Cost(macs=_conv_macs(n.out(), n.inp(1)), nonmac=_bias(n, 2))


@register("FusedConv", kind="conv", domain=MS)
def _fused_conv(n: NodeShapes) -> Cost:  # Conv + bias + activation (+ residual Z)
    y = numel(n.out())
    return Cost(macs=_conv_macs(n.out(), n.inp(1)), nonmac=_bias(n, 2) + y + (y if n.has(3) else 0))


@register("ConvInteger", kind="conv")
def _conv_integer(n: NodeShapes) -> Cost:
    _check_groups(n, 0, 1)
    return Cost(macs=_conv_macs(n.out(), n.inp(1)))


@register("QLinearConv", kind="conv", params=(3, 8))
def _qlinear_conv(n: NodeShapes) -> Cost:
    _check_groups(n, 0, 3)
    y = numel(n.out())
    return Cost(macs=_conv_macs(n.out(), n.inp(3)), nonmac=y + _bias(n, 8))


@register("ConvTranspose", kind="conv")
def _conv_transpose(n: NodeShapes) -> Cost:
    x, w = n.inp(0), n.inp(1)  # w: (C, M/group, k...)
    return Cost(macs=numel(x) * numel(w[1:]), nonmac=_bias(n, 2))


# --------------------------------------------------------------------------------------
# Matrix products
# --------------------------------------------------------------------------------------
def _gemm_macs(n: NodeShapes, a_index: int, b_index: int) -> int:
    a, b = n.inp(a_index), n.inp(b_index)
    m, k = (a[1], a[0]) if n.attr("transA", 0) else (a[0], a[1])
    cols = b[0] if n.attr("transB", 0) else b[1]
    return m * k * cols


@register("Gemm", kind="matmul")
def _gemm(n: NodeShapes) -> Cost:
    return Cost(macs=_gemm_macs(n, 0, 1), nonmac=_bias(n, 2))


@register("FusedGemm", kind="matmul", domain=MS)
def _fused_gemm(n: NodeShapes) -> Cost:  # Gemm + activation
    return Cost(macs=_gemm_macs(n, 0, 1), nonmac=_bias(n, 2) + numel(n.out()))


@register("QGemm", kind="matmul", domain=MS, params=(3, 6))
def _qgemm(n: NodeShapes) -> Cost:
    return Cost(macs=_gemm_macs(n, 0, 3), nonmac=numel(n.out()) + _bias(n, 6))


def _matmul_macs(n: NodeShapes, a_index: int = 0, k_axis: int = -1) -> int:
    a = n.inp(a_index)
    k = a[0] if len(a) == 1 else a[k_axis]
    return numel(n.out()) * k


@register("MatMul", "MatMulInteger", kind="matmul")
def _matmul(n: NodeShapes) -> Cost:
    return Cost(macs=_matmul_macs(n))


@register("QLinearMatMul", kind="matmul", params=(3,))
def _qlinear_matmul(n: NodeShapes) -> Cost:
    return Cost(macs=_matmul_macs(n), nonmac=numel(n.out()))


@register("MatMulIntegerToFloat", kind="matmul", domain=MS, params=(1, 6))
def _matmul_int_to_float(n: NodeShapes) -> Cost:
    return Cost(macs=_matmul_macs(n), nonmac=numel(n.out()) + _bias(n, 6))


@register("DynamicQuantizeMatMul", kind="matmul", domain=MS, params=(1, 4))
def _dynamic_quantize_matmul(n: NodeShapes) -> Cost:
    return Cost(macs=_matmul_macs(n), nonmac=6 * numel(n.inp(0)) + numel(n.out()) + _bias(n, 4))


@register("MatMulNBits", kind="matmul", domain=MS, params=(1, 5))
def _matmul_nbits(n: NodeShapes) -> Cost:  # weight-only int4/int8, dequantised on the fly
    return Cost(macs=numel(n.out()) * n.attr("K", n.inp(0)[-1]), nonmac=_bias(n, 5))


@register("FusedMatMul", kind="matmul", domain=MS)
def _fused_matmul(n: NodeShapes) -> Cost:
    return Cost(macs=_matmul_macs(n, k_axis=-2 if n.attr("transA", 0) else -1))


_EINSUM_TERM = re.compile(r"^[A-Za-z]*(\.\.\.)?[A-Za-z]*$")


def _einsum_letters(term: str, shape: Shape) -> dict[str, int]:
    term = term.strip()
    if not _EINSUM_TERM.match(term):
        raise ValueError(f"bad einsum term '{term}'")
    if "..." in term:
        head, tail = term.split("...")
        n_ell = len(shape) - len(head) - len(tail)
        if n_ell < 0:
            raise ValueError(f"einsum term '{term}' does not fit a rank-{len(shape)} operand")
        letters = list(head) + [f"...{i}" for i in range(n_ell)] + list(tail)
    else:
        letters = list(term)
    if len(letters) != len(shape):
        raise ValueError(f"einsum term '{term}' does not fit a rank-{len(shape)} operand")
    sizes: dict[str, int] = {}
    for letter, size in zip(letters, shape):
        sizes[letter] = max(sizes.get(letter, 1), size)  # broadcast axes of size 1
    return sizes


@register("Einsum", kind="matmul")
def _einsum(n: NodeShapes) -> Cost:
    equation = str(n.attr("equation", "")).replace(" ", "")
    lhs, _, rhs = equation.partition("->")
    terms = lhs.split(",")
    if not equation or len(terms) != len(n.inputs):
        raise ValueError(f"einsum equation '{equation}' does not match {len(n.inputs)} inputs")
    operands = [_einsum_letters(t, n.inp(i)) for i, t in enumerate(terms)]
    out_letters = set(_einsum_letters(rhs, n.out())) if "->" in equation else None
    if len(operands) == 1:  # transpose, diagonal or reduction of one operand
        x = numel(n.inp(0))
        return Cost(nonmac=0 if numel(n.out()) == x else x)
    macs, current = 0, operands[0]
    for i, nxt in enumerate(operands[1:], start=1):
        joint = {**current, **nxt}
        for letter in set(current) & set(nxt):
            joint[letter] = max(current[letter], nxt[letter])
        macs += numel(joint.values())
        later = set().union(*operands[i + 1:]) if i + 1 < len(operands) else set()
        keep = later | (out_letters if out_letters is not None else
                        {k for k in joint if sum(k in op for op in operands) == 1})
        current = {k: v for k, v in joint.items() if k in keep}
    return Cost(macs=macs)


# --------------------------------------------------------------------------------------
# Attention
# --------------------------------------------------------------------------------------
@register("Attention", kind="attention")
def _attention_onnx(n: NodeShapes) -> Cost:
    """Opset-23 Attention: Q (B, Hq, S, E) or (B, S, Hq·E); K/V likewise with Hkv heads."""
    q, k, v = n.inp(0), n.inp(1), n.inp(2)
    if len(q) == 4:
        rows, e = q[0] * q[1] * q[2], q[3]
    else:
        heads = n.attr("q_num_heads")
        rows, e = q[0] * heads * q[1], q[2] // heads
    ev = v[3] if len(v) == 4 else v[2] // n.attr("kv_num_heads")
    present = n.out_or_none(1)
    if present is not None:
        keys = present[2]
    else:
        keys = (k[2] if len(k) == 4 else k[1]) + (n.inp(4)[2] if n.has(4) else 0)
    masked = n.has(3) or bool(n.attr("is_causal", 0))
    return costs.attention_cost(rows, keys, e, ev, masked)


@register("Attention", kind="attention", domain=MS, params=(1, 2))
def _attention_ms(n: NodeShapes) -> Cost:
    """Contrib Attention: fused QKV projection of input (B, S, Din) + attention over past + S."""
    x, w = n.inp(0), n.inp(1)
    batch, seq = x[0], x[1]
    sizes = n.attr("qkv_hidden_sizes") or [w[1] // 3] * 3
    dq, _, dv = (int(s) for s in sizes)
    heads = n.attr("num_heads")
    present = n.out_or_none(1)  # (2, B, H, past + S, head)
    if present is not None and len(present) == 5:
        keys = present[3]
    else:
        keys = seq + (n.inp(4)[3] if n.has(4) else 0)
    att = costs.attention_cost(batch * heads * seq, keys, dq // heads, dv // heads,
                               masked=n.has(3) or n.has(5) or bool(n.attr("unidirectional", 0)))
    proj = batch * seq * x[2] * w[1]
    return Cost(macs=proj + att.macs, nonmac=att.nonmac + (batch * seq * w[1] if n.has(2) else 0))


@register("MultiHeadAttention", kind="attention", domain=MS, params=(3,))
def _multi_head_attention(n: NodeShapes) -> Cost:
    """Contrib MultiHeadAttention: query (B, S, D) (or packed QKV), key (B, L, D) or
    (B, H, L, head) or packed KV, past_key (B, H, P, head); no projections."""
    q, heads = n.inp(0), n.attr("num_heads")
    batch, seq = q[0], q[1]
    d = q[2] * q[4] if len(q) == 5 else q[2]
    dv = n.out()[-1]
    present = n.out_or_none(1)
    if present is not None:
        keys = present[2]
    elif not n.has(1):
        keys = seq
    else:
        k = n.inp(1)
        keys = k[2] if len(k) == 4 else k[1]
        if n.has(6) and len(k) != 4:
            keys += n.inp(6)[2]
    masked = n.has(4) or n.has(5) or bool(n.attr("unidirectional", 0))
    return costs.attention_cost(batch * heads * seq, keys, d // heads, dv // heads, masked)


@register("GroupQueryAttention", kind="attention", domain=MS)
def _group_query_attention(n: NodeShapes) -> Cost:
    """Contrib GroupQueryAttention: query (B, S, Hq·head) or packed (B, S, (Hq + 2·Hkv)·head),
    past_key (B, Hkv, P, head); causal."""
    q = n.inp(0)
    hq, hkv = n.attr("num_heads"), n.attr("kv_num_heads")
    batch, seq = q[0], q[1]
    head = q[2] // hq if n.has(1) else q[2] // (hq + 2 * hkv)
    present = n.out_or_none(1)
    if present is not None:
        keys = present[2]
    else:
        keys = seq + (n.inp(3)[2] if n.has(3) else 0)
    return costs.attention_cost(batch * hq * seq, keys, head, head, masked=True)


# --------------------------------------------------------------------------------------
# Recurrent layers: every time step of every direction
# --------------------------------------------------------------------------------------
def _recurrent(n: NodeShapes, gates: int, per_unit: int, bias_per_unit: int, peephole: int = 0) -> Cost:
    x, w = n.inp(0), n.inp(1)   # X (seq, batch, I) or, layout=1, (batch, seq, I); W (dirs, gates·H, I)
    seq, batch = (x[1], x[0]) if n.attr("layout", 0) else (x[0], x[1])
    dirs, gate_rows, inputs = w
    hidden = n.attr("hidden_size") or gate_rows // gates
    units = seq * dirs * batch * hidden
    per = per_unit + (bias_per_unit if n.has(3) else 0) + (peephole if n.has(7) else 0)
    return Cost(macs=seq * dirs * batch * gates * hidden * (inputs + hidden), nonmac=units * per)


@register("LSTM", kind="linear", params=(1, 2, 3, 7))
def _lstm(n: NodeShapes) -> Cost:
    return _recurrent(n, gates=4, per_unit=22, bias_per_unit=8, peephole=6)


@register("GRU", kind="linear", params=(1, 2, 3))
def _gru(n: NodeShapes) -> Cost:
    return _recurrent(n, gates=3, per_unit=17, bias_per_unit=6)


@register("RNN", kind="linear", params=(1, 2, 3))
def _rnn(n: NodeShapes) -> Cost:
    return _recurrent(n, gates=1, per_unit=2, bias_per_unit=2)


# --------------------------------------------------------------------------------------
# Normalisation (only the normalised tensor counts as written, not optional statistics)
# --------------------------------------------------------------------------------------
def _norm(n: NodeShapes, kind: str, affine_terms: int, extra_per_element: int = 0) -> Cost:
    x = numel(n.inp(0))
    return Cost(nonmac=costs.norm_cost(x, kind, affine_terms) + extra_per_element * x, act_write_elems=x)


@register("LayerNormalization", kind="norm")
def _layer_norm(n: NodeShapes) -> Cost:
    return _norm(n, "layer", 1 + n.has(2))


@register("LayerNormalization", kind="norm", domain=MS)
def _layer_norm_ms(n: NodeShapes) -> Cost:
    return _norm(n, "layer", 1 + n.has(2))


@register("BatchNormalization", kind="norm", params=(1, 2))
def _batch_norm(n: NodeShapes) -> Cost:
    x = numel(n.inp(0))
    training = bool(n.attr("training_mode", 0))
    return Cost(nonmac=costs.norm_cost(x, "batch", 2, training), act_write_elems=x)


@register("InstanceNormalization", kind="norm")
def _instance_norm(n: NodeShapes) -> Cost:
    return _norm(n, "instance", 2)


@register("GroupNormalization", kind="norm")
def _group_norm(n: NodeShapes) -> Cost:
    return _norm(n, "group", 2)


@register("GroupNorm", kind="norm", domain=MS)
def _group_norm_ms(n: NodeShapes) -> Cost:  # NHWC, + optional SiLU
    return _norm(n, "group", 2, 5 if n.attr("activation", 0) else 0)


@register("RMSNormalization", "SimplifiedLayerNormalization", kind="norm")
def _rms_norm(n: NodeShapes) -> Cost:
    return _norm(n, "rms", 1)


@register("SimplifiedLayerNormalization", kind="norm", domain=MS)
def _rms_norm_ms(n: NodeShapes) -> Cost:
    return _norm(n, "rms", 1)


@register("SkipLayerNormalization", kind="norm", domain=MS)
def _skip_layer_norm(n: NodeShapes) -> Cost:  # input + skip (+ bias), then layer norm
    return _norm(n, "layer", 1 + n.has(3), 1 + n.has(4))


@register("SkipSimplifiedLayerNormalization", kind="norm", domain=MS)
def _skip_rms_norm(n: NodeShapes) -> Cost:
    return _norm(n, "rms", 1, 1 + n.has(3))


@register("LpNormalization", kind="norm")
def _lp_norm(n: NodeShapes) -> Cost:  # square (or abs), sum, divide
    return Cost(nonmac=3 * numel(n.inp(0)))


@register("MeanVarianceNormalization", kind="norm")
def _mvn(n: NodeShapes) -> Cost:
    return _norm(n, "layer", 0)


# --------------------------------------------------------------------------------------
# Activations, softmax, element-wise arithmetic: a fixed cost per output element
# --------------------------------------------------------------------------------------
def _per_output(cost: int) -> Callable[[NodeShapes], Cost]:
    def formula(n: NodeShapes) -> Cost:
        return Cost(nonmac=cost * numel(n.out()))

    formula.__doc__ = f"{cost} FLOP(s) per output element"
    return formula


_ACTIVATIONS = {
    "Relu": "relu", "LeakyRelu": "leaky_relu", "PRelu": "prelu", "Sigmoid": "sigmoid",
    "Tanh": "tanh", "HardSigmoid": "hardsigmoid", "HardSwish": "hardswish", "Elu": "elu",
    "Celu": "celu", "Selu": "selu", "Softplus": "softplus", "Softsign": "softsign", "Mish": "mish",
    "ThresholdedRelu": "threshold", "Swish": "silu",
}
for _op, _key in _ACTIVATIONS.items():
    register(_op, kind="activation")(_per_output(costs.ACTIVATION_COST[_key]))
register("Gelu", "BiasGelu", kind="activation", domain=MS)(_per_output(costs.ACTIVATION_COST["gelu"]))
register("FastGelu", kind="activation", domain=MS)(_per_output(costs.ACTIVATION_COST["gelu_tanh"]))
register("QuickGelu", kind="activation", domain=MS)(_per_output(costs.ACTIVATION_COST["silu"]))


@register("Gelu", kind="activation")
def _gelu(n: NodeShapes) -> Cost:
    key = "gelu_tanh" if n.attr("approximate", "none") == "tanh" else "gelu"
    return Cost(nonmac=costs.ACTIVATION_COST[key] * numel(n.out()))


register("Softmax", "LogSoftmax", kind="softmax")(_per_output(costs.SOFTMAX_COST))
register("Hardmax", kind="softmax")(_per_output(1))

register(
    *"""Add Sub Mul Div Pow Sqrt Reciprocal Exp Log Abs Neg Floor Ceil Round Sign Erf Sin Cos
    Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh Equal Less LessOrEqual Greater GreaterOrEqual
    And Or Xor Not Where Mod BitShift BitwiseAnd BitwiseOr BitwiseXor BitwiseNot IsNaN IsInf
    Shrink""".split(),
    kind="elementwise",
)(_per_output(1))
register("Clip", kind="elementwise")(_per_output(2))


@register("Max", "Min", "Sum", kind="elementwise")
def _variadic(n: NodeShapes) -> Cost:
    return Cost(nonmac=max(len(n.inputs) - 1, 0) * numel(n.out()))


@register("Mean", kind="elementwise")
def _variadic_mean(n: NodeShapes) -> Cost:
    return Cost(nonmac=len(n.inputs) * numel(n.out()))


@register("DynamicQuantizeLinear", kind="elementwise")
def _dynamic_quantize(n: NodeShapes) -> Cost:
    return Cost(nonmac=6 * numel(n.inp(0)), act_write_elems=numel(n.out()))


# --------------------------------------------------------------------------------------
# Pooling and resizing
# --------------------------------------------------------------------------------------
def _kernel(n: NodeShapes) -> int:
    kernel = n.attr("kernel_shape")
    if not kernel:
        raise ValueError("the kernel_shape attribute is missing")
    return numel(kernel)


@register("MaxPool", kind="pool")
def _max_pool(n: NodeShapes) -> Cost:  # only the pooled values count as written, not indices
    k = _kernel(n)
    y = numel(n.out())
    return Cost(nonmac=y * (k - 1), act_write_elems=y)


@register("AveragePool", kind="pool")
def _avg_pool(n: NodeShapes) -> Cost:
    k = _kernel(n)
    return Cost(nonmac=numel(n.out()) * k)


@register("LpPool", kind="pool")
def _lp_pool(n: NodeShapes) -> Cost:
    k = _kernel(n)
    return Cost(nonmac=numel(n.out()) * 2 * k)


@register("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", kind="pool")
def _global_pool(n: NodeShapes) -> Cost:
    return Cost(nonmac=numel(n.inp(0)) + numel(n.out()))


_RESIZE_TAPS_PER_AXIS = {"nearest": 1, "linear": 2, "bilinear": 2, "cubic": 4, "bicubic": 4}


@register("Resize", "Upsample", kind="resize", params=())
def _resize(n: NodeShapes) -> Cost:
    x, y = n.inp(0), n.out()
    mode = n.attr("mode", "nearest")
    per_axis = _RESIZE_TAPS_PER_AXIS.get(mode.decode() if isinstance(mode, bytes) else mode, 1)
    resized = sum(1 for a, b in zip(x, y) if a != b)
    return Cost(nonmac=numel(y) * costs.interpolation_cost(per_axis ** resized))


# --------------------------------------------------------------------------------------
# Reductions
# --------------------------------------------------------------------------------------
def _per_input(cost: int, plus_output: int = 0) -> Callable[[NodeShapes], Cost]:
    def formula(n: NodeShapes) -> Cost:
        return Cost(nonmac=cost * numel(n.inp(0)) + plus_output * numel(n.out()))

    return formula


register("ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ArgMax", "ArgMin", "CumSum",
         "TopK", kind="reduction", params=(0,))(_per_input(1))
register("ReduceMean", "ReduceLogSum", kind="reduction", params=(0,))(_per_input(1, plus_output=1))
register("ReduceSumSquare", "ReduceLogSumExp", kind="reduction", params=(0,))(_per_input(2))
register("ReduceL2", kind="reduction", params=(0,))(_per_input(2, plus_output=1))


# --------------------------------------------------------------------------------------
# Gather: an embedding lookup when it reads a weight table
# --------------------------------------------------------------------------------------
@register("Gather", kind="embedding", params=(0,))
def _gather(n: NodeShapes) -> Cost:
    """As an embedding (the walker decides): reads only the looked-up rows of the table."""
    return Cost(weight_elems=numel(n.out()), act_read_elems=numel(n.inp(1)))


@register("Slice", "GatherElements", "GatherND", "Compress", kind="data", params=(0,))
def _slice(n: NodeShapes) -> Cost:
    """A copy of part of a tensor: reads only what it writes."""
    return Cost(act_read_elems=numel(n.out()) + sum(numel(s) for s in n.inputs[1:2] if s is not None))


# --------------------------------------------------------------------------------------
# Ops that cost nothing, and ops that only move bytes
# --------------------------------------------------------------------------------------
#: metadata, views and tensor creation: no arithmetic, no activation traffic
SHAPE_ONLY = frozenset(
    """Shape Size Reshape Flatten Squeeze Unsqueeze Identity Constant ConstantOfShape Range
    EyeLike Dropout RandomNormal RandomNormalLike RandomUniform RandomUniformLike Bernoulli
    Optional OptionalHasElement OptionalGetElement""".split()
)

#: ops that copy or rearrange data: 0 FLOPs, bytes counted
DATA_MOVEMENT = frozenset(
    """Transpose Concat Split Expand Tile Pad Cast CastLike ScatterND ScatterElements Scatter
    DepthToSpace SpaceToDepth Trilu OneHot NonZero ReverseSequence Col2Im Unique MaxUnpool""".split()
)

#: which inputs of a data-movement or ignored op are data (the rest: shapes, axes, pads)
DATA_INPUTS = {"Reshape": (0,), "Expand": (0,), "Tile": (0,), "Pad": (0,), "Split": (0,),
               "Squeeze": (0,), "Unsqueeze": (0,), "QuantizeLinear": (0,), "DequantizeLinear": (0,)}

#: quantize/dequantize: folded into a constant weight, an alias of a quantized activation
QDQ = frozenset({"QuantizeLinear", "DequantizeLinear"})

#: ops with subgraphs: their cost depends on control flow
CONTROL_FLOW = frozenset({"If", "Loop", "Scan", "SequenceMap"})
