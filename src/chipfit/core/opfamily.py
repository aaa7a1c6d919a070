"""Which operation an op of any frontend is, in one vocabulary a runtime's op list can name.

The frontends name the same operation differently: PyTorch's ``addmm``, ONNX's ``Gemm`` and
TFLite's ``FULLY_CONNECTED`` are one fully-connected layer; ``native_layer_norm``,
``LayerNormalization`` and the decomposed ``MEAN`` … ``RSQRT`` chain are layer norms. A runtime's
list of what its accelerator runs (``chipfit/data/runtime_ops.yaml``) is written in the family
names below; :func:`family` maps an op to one. The name is looked up after lower-casing and
dropping everything but letters and digits (``max_pool2d_with_indices`` → ``maxpool2dwithindices``);
convolutions and matrix products are told apart by shape (depthwise: one input channel per
group; a matrix product with a weight is a fully-connected layer). An op no entry names is
``other``: a runtime that runs only the ops it lists leaves it to the host CPU.
"""

from __future__ import annotations

import re
from functools import lru_cache

from chipfit.core.costgraph import Op

#: Every family, with what it covers. A runtime's op list may name only these.
FAMILIES: dict[str, str] = {
    "conv": "convolution (grouped included)",
    "depthwise_conv": "depthwise convolution (one input channel per group)",
    "transposed_conv": "transposed convolution",
    "fully_connected": "matrix product with a weight (linear layer, 1x1 projection)",
    "batch_matmul": "matrix product of two activations (attention's QKᵀ and AV)",
    "attention": "fused attention (QKᵀ, softmax, AV in one op)",
    "batch_norm": "batch normalisation (folded into the convolution before it by deployment compilers)",
    "layer_norm": "layer normalisation",
    "group_norm": "group or instance normalisation",
    "rms_norm": "RMS normalisation",
    "relu": "ReLU", "relu6": "ReLU6 (clamp to [0, 6])", "leaky_relu": "leaky ReLU / PReLU", "elu": "ELU",
    "sigmoid": "sigmoid (logistic)", "tanh": "tanh", "hardswish": "hard swish", "hardsigmoid": "hard sigmoid",
    "gelu": "GELU", "silu": "SiLU / swish (x · sigmoid(x))", "mish": "Mish", "softplus": "softplus",
    "softmax": "softmax",
    "add": "element-wise add", "sub": "element-wise subtract", "mul": "element-wise multiply",
    "div": "element-wise divide", "maximum": "element-wise maximum", "minimum": "element-wise minimum",
    "clamp": "clamp to a range", "pow": "power", "sqrt": "square root", "rsqrt": "reciprocal square root",
    "exp": "exponential", "log": "logarithm", "erf": "error function", "abs": "absolute value",
    "neg": "negate", "reciprocal": "reciprocal", "trig": "sine or cosine", "round": "floor, ceil or round",
    "compare": "comparison or select (eq, gt, where, …)",
    "max_pool": "max pooling", "avg_pool": "average pooling",
    "global_pool": "global (adaptive) average pooling", "mean": "mean over dimensions", "sum": "sum over dimensions",
    "reduce_max": "max or min over dimensions", "arg_max": "arg max or arg min", "topk": "top-k",
    "sort": "sort", "cumsum": "cumulative sum", "nms": "non-maximum suppression",
    "resize_nearest": "nearest-neighbour resize", "resize_bilinear": "bilinear resize",
    "grid_sample": "grid sampling (deformable attention)",
    "concat": "concatenation (stack included)", "pad": "padding", "reshape": "reshape, view, squeeze",
    "transpose": "transpose or permute", "space_to_depth": "space-to-depth or depth-to-space (pixel shuffle)",
    "slice": "slice or strided slice", "split": "split",
    "gather": "gather or index", "copy": "copy or cast", "tile": "tile or repeat",
    "embedding": "embedding lookup",
    "other": "an op no family names",
}

_NAMES: dict[str, str] = {}


def _names(fam: str, *names: str) -> None:
    for n in names:
        _NAMES[_norm(n)] = fam


@lru_cache(maxsize=4096)
def _norm(name: str) -> str:
    n = name.lower().rsplit(".", 1)[-1].rsplit("::", 1)[-1]
    return re.sub(r"[^a-z0-9]", "", n)


# PyTorch (aten), ONNX and TFLite names of each family
_names("relu", "relu", "threshold")
_names("relu6", "relu6", "hardtanh", "relu_0_to_1", "relun1to1")
_names("leaky_relu", "leaky_relu", "leakyrelu", "prelu", "_prelu_kernel", "rrelu")
_names("elu", "elu", "selu", "celu")
_names("sigmoid", "sigmoid", "logistic")
_names("tanh", "tanh")
_names("hardswish", "hardswish", "hard_swish")
_names("hardsigmoid", "hardsigmoid", "hard_sigmoid")
_names("gelu", "gelu")
_names("silu", "silu", "swish")
_names("mish", "mish")
_names("softplus", "softplus")
_names("softmax", "softmax", "_softmax", "log_softmax", "_log_softmax", "logsoftmax")
_names("add", "add", "addv2", "add_n")
_names("sub", "sub", "rsub", "squared_difference")
_names("mul", "mul")
_names("div", "div", "realdiv", "floor_divide", "floordiv")
_names("maximum", "maximum", "max_elementwise")
_names("minimum", "minimum", "min_elementwise")
_names("clamp", "clamp", "clip", "clamp_min", "clamp_max")
_names("pow", "pow", "square")
_names("sqrt", "sqrt")
_names("rsqrt", "rsqrt")
_names("exp", "exp")
_names("log", "log")
_names("erf", "erf")
_names("abs", "abs")
_names("neg", "neg")
_names("reciprocal", "reciprocal")
_names("trig", "sin", "cos")
_names("round", "floor", "ceil", "round")
_names("compare", "eq", "ne", "gt", "ge", "lt", "le", "equal", "greater", "less", "where", "select",
       "greater_equal", "less_equal", "not_equal", "logical_and", "logical_or", "logical_not", "and", "or", "not")
_names("max_pool", "max_pool2d", "max_pool2d_with_indices", "max_pool1d", "max_pool3d",
       "max_pool3d_with_indices", "maxpool", "max_pool_2d", "globalmaxpool", "adaptive_max_pool2d")
_names("avg_pool", "avg_pool2d", "avg_pool1d", "avg_pool3d", "averagepool", "average_pool_2d")
_names("global_pool", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "_adaptive_avg_pool2d",
       "globalaveragepool")
_names("mean", "mean", "reducemean")
_names("sum", "sum", "reducesum", "sum_to_size")
_names("reduce_max", "max", "min", "amax", "amin", "reducemax", "reducemin", "reduce_max", "reduce_min",
       "all", "any", "prod", "reduceprod", "reduce_prod", "reduce_any")
_names("arg_max", "argmax", "argmin", "arg_max", "arg_min")
_names("topk", "topk", "topk_v2")
_names("sort", "sort", "argsort")
_names("cumsum", "cumsum")
_names("nms", "nms", "nonmaxsuppression", "non_max_suppression_v4", "non_max_suppression_v5", "batched_nms")
_names("resize_nearest", "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d",
       "_upsample_nearest_exact2d", "resize_nearest_neighbor")
_names("resize_bilinear", "upsample_bilinear2d", "upsample_bicubic2d", "upsample_linear1d",
       "_upsample_bilinear2d_aa", "resize_bilinear")
_names("grid_sample", "grid_sampler_2d", "grid_sampler", "gridsample")
_names("concat", "cat", "concat", "concatenation", "stack", "pack")
_names("pad", "constant_pad_nd", "pad", "padv2", "reflection_pad2d", "replication_pad2d", "mirror_pad")
_names("reshape", "reshape", "view", "squeeze", "unsqueeze", "flatten", "expand_dims", "_unsafe_view")
_names("transpose", "transpose", "permute", "t", "channel_shuffle", "roll")
_names("space_to_depth", "pixel_shuffle", "pixel_unshuffle", "depth_to_space", "space_to_depth", "depthtospace",
       "spacetodepth")
_names("slice", "slice", "strided_slice", "narrow", "unbind")
_names("split", "split", "split_v", "split_with_sizes", "chunk", "unpack")
_names("gather", "gather", "index", "index_select", "gather_nd", "gathernd", "gatherelements", "scatter",
       "index_put", "masked_fill")
_names("copy", "clone", "_to_copy", "copy_", "contiguous", "cast", "quantize", "dequantize", "identity",
       "quantizelinear", "dequantizelinear", "requantize")
_names("tile", "repeat", "tile", "expand", "broadcast_to")
_names("embedding", "embedding", "_embedding_bag", "embedding_bag", "embedding_lookup")
_names("layer_norm", "native_layer_norm", "layer_norm", "layernormalization")
_names("group_norm", "native_group_norm", "group_norm", "groupnormalization", "instancenormalization",
       "instance_norm")
_names("rms_norm", "rms_norm", "_fused_rms_norm", "rmsnormalization", "simplifiedlayernormalization")
_names("batch_norm", "native_batch_norm", "cudnn_batch_norm", "miopen_batch_norm", "_native_batch_norm_legit",
       "_native_batch_norm_legit_no_training", "_batch_norm_no_update", "_batch_norm_with_update",
       "batchnormalization", "batch_norm")


#: Activation families an accelerator evaluates with a lookup table or a polynomial (an exponential,
#: tanh, erf, or a product x · f(x)) rather than with the clamp of the ReLU family (ReLU, ReLU6,
#: leaky ReLU), which costs nothing after a convolution on an NPU.
TABLE_ACTIVATIONS = frozenset({"sigmoid", "tanh", "elu", "hardswish", "hardsigmoid", "gelu", "silu", "mish",
                               "softplus", "erf"})


def is_table_activation(op: Op) -> bool:
    """An op of one of the :data:`TABLE_ACTIVATIONS` families (SiLU, GELU, sigmoid, hard swish, …)."""
    return op.kind in ("activation", "elementwise") and family(op) in TABLE_ACTIVATIONS


#: Normalising families: each reduces over a feature axis (the channels of a token or a pixel, a
#: group of channels, a row of attention scores) before it can write any output, which a
#: streaming accelerator runs as reductions of its own rather than on the way out of a layer.
#: Batch norm is not one: its statistics are constants at inference.
NORMALISING = frozenset({"layer_norm", "group_norm", "rms_norm", "softmax"})


def is_normalising(op: Op) -> bool:
    """An op of one of the :data:`NORMALISING` families (layer, group, RMS norm, softmax)."""
    return family(op) in NORMALISING


#: TFLite convolutions: channels-last input, the filter's input channels per group at this index
_CHANNELS_LAST = {"CONV_2D": 3, "CONV_3D": 3}


def is_depthwise(op: Op) -> bool:
    """A convolution whose every group has one input channel (and there is more than one).
    PyTorch and ONNX: input (N, C, ...), weight (O, C/groups, ...). TFLite is channels-last:
    DEPTHWISE_CONV_2D says so by name; CONV_2D's filter is (O, kh, kw, C/groups) and CONV_3D's
    (kd, kh, kw, C/groups, O), the input (N, ..., C)."""
    if op.kind != "conv" or len(op.input_shapes) < 2 or len(op.input_shapes[0]) < 3 or len(op.input_shapes[1]) < 3:
        return False
    x, w = op.input_shapes[0], op.input_shapes[1]
    if op.op == "DEPTHWISE_CONV_2D":
        return x[-1] > 1
    if op.op in _CHANNELS_LAST:
        return w[_CHANNELS_LAST[op.op]] == 1 and x[-1] > 1
    return w[1] == 1 and x[1] > 1


def channel_dims(op: Op) -> tuple[int, int] | None:
    """Input and output channels per group of a convolution (layouts as :func:`is_depthwise` reads
    them; PyTorch's transposed convolution has the weight (C, O/groups, ...)), or the reduction
    length and output width of a matrix product with a weight; None for any other op, a depthwise
    convolution included (not a matrix product)."""
    if op.kind == "conv" and len(op.input_shapes) >= 2 and op.output_shapes and \
            min(len(op.input_shapes[0]), len(op.input_shapes[1]), len(op.output_shapes[0])) >= 3:
        x, w, y = op.input_shapes[0], op.input_shapes[1], op.output_shapes[0]
        if op.op == "DEPTHWISE_CONV_2D" or is_depthwise(op):
            return None
        if op.op in _CHANNELS_LAST:
            cin, cout, cin_g = x[-1], y[-1], w[_CHANNELS_LAST[op.op]]
        else:
            cin, cout = x[1], y[1]
            cin_g = w[1] if w[0] == cout else (cin * w[1] // cout if cout else 0)  # else transposed
        if not cin_g or cin % cin_g:
            return None
        groups = cin // cin_g
        return (cin_g, cout // groups) if cout % groups == 0 else None
    if op.kind == "linear" and op.weight_elems and op.macs and op.output_shapes and op.output_shapes[0]:
        out = op.output_shapes[0]
        return (op.macs // _numel(out), out[-1]) if op.macs >= _numel(out) > 0 else None
    return None


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _is_global_pool(op: Op) -> bool:
    """A mean over every spatial position of an (N, C, H, W) input (TFLite: (N, H, W, C)) to one
    value per channel: global average pooling, as PyTorch runs ``AdaptiveAvgPool2d(1)``."""
    if not op.input_shapes or len(op.input_shapes[0]) != 4 or not op.output_shapes:
        return False
    n, a, b, c = op.input_shapes[0]
    size = _numel(op.output_shapes[0])
    return (b * c > 1 and size == n * a) or (a * b > 1 and size == n * c)  # NCHW, or TFLite's NHWC


def family(op: Op) -> str:
    """The family (a key of :data:`FAMILIES`) of ``op``."""
    name = _norm(op.op)
    if op.kind == "conv":
        if "transpose" in name:
            return "transposed_conv"
        return "depthwise_conv" if is_depthwise(op) else "conv"
    if op.kind == "linear":
        return "fully_connected"
    if op.kind == "matmul":
        return "fully_connected" if op.weight_elems else "batch_matmul"
    if op.kind == "attention":
        return "attention"
    fam = _NAMES.get(name)
    if fam == "mean" and _is_global_pool(op):
        return "global_pool"
    if fam == "div" and op.output_shapes and op.act_read_elems <= _numel(op.output_shapes[0]):
        return "mul"  # by a constant (the only activation read is the dividend): a converter multiplies
    if fam == "reduce_max" and op.kind == "elementwise":  # max(a, b), ONNX Max: element-wise
        return "minimum" if name.startswith("min") else "maximum"
    if fam is not None:
        return fam
    if op.kind == "softmax":
        return "softmax"
    if op.kind == "embedding":
        return "embedding"
    return "other"
