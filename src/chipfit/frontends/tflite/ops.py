"""The TFLite frontend's one registry of shape-only cost formulas, keyed by builtin op name.

Every formula receives an :class:`OpShapes` (the operator's input and output shapes as the
file stores them, NHWC, and the option fields it reads) and returns a
:class:`~chipfit.frontends.costs.Cost`. The conventions are the ONNX frontend's and the
PyTorch frontend's, so a layer costs the same whichever file it comes from:

MACs
    CONV_2D: ``numel(out) × kh × kw × Cin/groups`` (filter ``(Cout, kh, kw, Cin/groups)``)
    DEPTHWISE_CONV_2D: ``numel(out) × kh × kw`` (filter ``(1, kh, kw, Cout)``)
    CONV_3D: ``numel(out) × kd × kh × kw × Cin`` (filter ``(kd, kh, kw, Cin, Cout)``)
    TRANSPOSE_CONV: counted from the input side, ``numel(in) × Cout × kh × kw``
    FULLY_CONNECTED: ``numel(out) × K`` (weights ``(Cout, K)``): batch × in × out
    BATCH_MATMUL: ``numel(out) × K`` (K the contracted axis, ``adj_x`` read)

Non-MAC FLOPs: the per-element costs shared with the other frontends (``costs.py``), plus
    bias of convolutions and FULLY_CONNECTED: 1 per output element
    fused activation (``fused_activation_function``): the activation's per-element cost
        (RELU 1, RELU6 and RELU_N1_TO_1 2 like a clip, TANH 1, SIGN_BIT 1) per output element
    AVERAGE_POOL_2D: filter taps per output; MAX_POOL_2D: taps − 1; L2_POOL_2D: 2 × taps
    MEAN: 1 per input element + 1 per output element; SUM, REDUCE_MAX ...: 1 per input element
    RESIZE_BILINEAR: ``2 × taps − 1`` per output element (2 taps per resized axis);
        RESIZE_NEAREST_NEIGHBOR: a copy
    QUANTIZE: 4 per element (scale, round, add the zero point, saturate);
        DEQUANTIZE: 2 (subtract the zero point, scale)

:data:`SHAPE_ONLY` ops (RESHAPE, SQUEEZE, EXPAND_DIMS, SHAPE) are ignored: no arithmetic and
no copy. :data:`DATA_MOVEMENT` ops (CONCATENATION, PAD, TRANSPOSE, STRIDED_SLICE ...) cost
0 FLOPs but move bytes. An op that reads only constants (a DEQUANTIZE of float16 weights) is
folded into the constant by the walk. Custom ops, control flow and any builtin without a
formula are *unsupported*: kept in the graph and listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chipfit.frontends import costs
from chipfit.frontends.costs import Cost, numel

Shape = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OpShapes:
    """What a formula may look at: shapes (None where an optional input is absent) and options."""

    op: str
    inputs: tuple[Shape | None, ...]
    outputs: tuple[Shape, ...]
    options: dict[str, Any] = field(default_factory=dict)

    def has(self, i: int) -> bool:
        return i < len(self.inputs) and self.inputs[i] is not None

    def inp(self, i: int) -> Shape:
        if not self.has(i):
            raise ValueError(f"input {i} is missing")
        return self.inputs[i]

    def out(self, i: int = 0) -> Shape:
        if i >= len(self.outputs):
            raise ValueError(f"output {i} is missing")
        return self.outputs[i]

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str
    formula: Callable[[OpShapes], Cost]
    #: inputs that may hold parameters (None: any); shapes, axes, paddings are read but are not
    params: tuple[int, ...] | None = None


REGISTRY: dict[str, Entry] = {}
KINDS = ("conv", "linear", "matmul", "norm", "activation", "softmax", "pool", "elementwise",
         "reduction", "embedding", "resize", "data")


def register(*ops: str, kind: str, params: tuple[int, ...] | None = None):
    """Register ``formula`` for the builtin ops ``ops``; registering one twice is an error."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")

    def deco(formula: Callable[[OpShapes], Cost]) -> Callable[[OpShapes], Cost]:
        taken = [op for op in ops if op in REGISTRY]
        if taken:
            raise ValueError(f"a cost formula for {', '.join(taken)} is already registered")
        for op in ops:
            REGISTRY[op] = Entry(kind, formula, params)
        return formula

    return deco


def lookup(op: str) -> Entry | None:
    return REGISTRY.get(op)


#: ActivationFunctionType -> FLOPs per output element (NONE, RELU, RELU_N1_TO_1, RELU6, TANH, SIGN_BIT)
FUSED_ACTIVATION_COST = {0: 0, 1: costs.ACTIVATION_COST["relu"], 2: costs.ACTIVATION_COST["hardtanh"],
                         3: costs.ACTIVATION_COST["hardtanh"], 4: costs.ACTIVATION_COST["tanh"], 5: 1}


def fused_activation(n: OpShapes) -> int:
    """FLOPs of the activation fused into the op (0 without one)."""
    code = n.option("fused_activation_function", 0)
    if code not in FUSED_ACTIVATION_COST:
        raise ValueError(f"unknown fused activation {code}")
    return FUSED_ACTIVATION_COST[code] * sum(numel(s) for s in n.outputs[:1])


def _bias(n: OpShapes, index: int) -> int:
    return numel(n.out()) if n.has(index) else 0


def _rank(shape: Shape, rank: int, what: str) -> Shape:
    if len(shape) != rank:
        raise ValueError(f"its {what} has rank {len(shape)}, not {rank}")
    return shape


# --------------------------------------------------------------------------------------
# Convolutions and matrix products
# --------------------------------------------------------------------------------------
@register("CONV_2D", kind="conv", params=(1, 2))
def _conv(n: OpShapes) -> Cost:
    x, w = _rank(n.inp(0), 4, "input"), _rank(n.inp(1), 4, "filter")
    if w[3] < 1 or x[3] % w[3]:
        raise ValueError(f"{x[3]} input channels are not a multiple of the filter's {w[3]}")
    return Cost(macs=numel(n.out()) * w[1] * w[2] * w[3], nonmac=_bias(n, 2))


@register("DEPTHWISE_CONV_2D", kind="conv", params=(1, 2))
def _depthwise(n: OpShapes) -> Cost:
    w = _rank(n.inp(1), 4, "filter")  # (1, kh, kw, Cin × depth_multiplier)
    return Cost(macs=numel(n.out()) * w[1] * w[2], nonmac=_bias(n, 2))


@register("CONV_3D", kind="conv", params=(1, 2))
def _conv3d(n: OpShapes) -> Cost:
    w = _rank(n.inp(1), 5, "filter")  # (kd, kh, kw, Cin/groups, Cout)
    return Cost(macs=numel(n.out()) * w[0] * w[1] * w[2] * w[3], nonmac=_bias(n, 2))


@register("TRANSPOSE_CONV", kind="conv", params=(1, 3))
def _transpose_conv(n: OpShapes) -> Cost:
    w, x = _rank(n.inp(1), 4, "filter"), n.inp(2)  # inputs: output shape, filter (Cout, kh, kw, Cin), input
    return Cost(macs=numel(x) * w[0] * w[1] * w[2], nonmac=_bias(n, 3))


@register("FULLY_CONNECTED", kind="matmul", params=(1, 2))
def _fully_connected(n: OpShapes) -> Cost:
    w = _rank(n.inp(1), 2, "weight")  # (Cout, K)
    return Cost(macs=numel(n.out()) * w[1], nonmac=_bias(n, 2))


@register("BATCH_MATMUL", kind="matmul")
def _batch_matmul(n: OpShapes) -> Cost:
    x = n.inp(0)
    if len(x) < 2:
        raise ValueError(f"its first input has rank {len(x)}, less than 2")
    k = x[-2] if n.option("adj_x", False) else x[-1]
    return Cost(macs=numel(n.out()) * k)


# --------------------------------------------------------------------------------------
# Element-wise arithmetic and activations: a fixed cost per output element
# --------------------------------------------------------------------------------------
def _per_output(cost: int) -> Callable[[OpShapes], Cost]:
    def formula(n: OpShapes) -> Cost:
        return Cost(nonmac=cost * numel(n.out()))

    formula.__doc__ = f"{cost} FLOP(s) per output element"
    return formula


register(*"""ADD SUB MUL DIV POW SQRT RSQRT EXP LOG ABS NEG FLOOR CEIL ROUND SIN COS EQUAL NOT_EQUAL
    LESS LESS_EQUAL GREATER GREATER_EQUAL LOGICAL_AND LOGICAL_OR LOGICAL_NOT MAXIMUM MINIMUM SELECT
    SELECT_V2 FLOOR_DIV FLOOR_MOD SIGN SQUARE""".split(), kind="elementwise")(_per_output(1))
register("SQUARED_DIFFERENCE", kind="elementwise")(_per_output(2))
register("QUANTIZE", kind="elementwise", params=())(_per_output(4))
register("DEQUANTIZE", kind="elementwise", params=(0,))(_per_output(2))


@register("ADD_N", kind="elementwise")
def _add_n(n: OpShapes) -> Cost:
    return Cost(nonmac=max(len(n.inputs) - 1, 0) * numel(n.out()))


_ACTIVATIONS = {"RELU": "relu", "RELU6": "hardtanh", "RELU_N1_TO_1": "hardtanh", "RELU_0_TO_1": "hardtanh",
                "LOGISTIC": "sigmoid", "TANH": "tanh", "HARD_SWISH": "hardswish", "LEAKY_RELU": "leaky_relu",
                "PRELU": "prelu", "ELU": "elu"}
for _op, _key in _ACTIVATIONS.items():
    register(_op, kind="activation")(_per_output(costs.ACTIVATION_COST[_key]))


@register("GELU", kind="activation")
def _gelu(n: OpShapes) -> Cost:
    key = "gelu_tanh" if n.option("approximate", False) else "gelu"
    return Cost(nonmac=costs.ACTIVATION_COST[key] * numel(n.out()))


register("SOFTMAX", "LOG_SOFTMAX", kind="softmax", params=(0,))(_per_output(costs.SOFTMAX_COST))


@register("L2_NORMALIZATION", kind="norm", params=(0,))
def _l2_norm(n: OpShapes) -> Cost:  # square, sum, divide
    return Cost(nonmac=3 * numel(n.inp(0)))


# --------------------------------------------------------------------------------------
# Pooling, reductions, resizing
# --------------------------------------------------------------------------------------
def _taps(n: OpShapes) -> int:
    fw, fh = n.option("filter_width"), n.option("filter_height")
    if not isinstance(fw, int) or not isinstance(fh, int) or fw < 1 or fh < 1:
        raise ValueError(f"its filter size {fw}×{fh} is missing or not positive")
    return fw * fh


@register("AVERAGE_POOL_2D", kind="pool", params=())
def _avg_pool(n: OpShapes) -> Cost:
    return Cost(nonmac=numel(n.out()) * _taps(n))


@register("MAX_POOL_2D", kind="pool", params=())
def _max_pool(n: OpShapes) -> Cost:
    return Cost(nonmac=numel(n.out()) * (_taps(n) - 1))


@register("L2_POOL_2D", kind="pool", params=())
def _l2_pool(n: OpShapes) -> Cost:
    return Cost(nonmac=numel(n.out()) * 2 * _taps(n))


def _per_input(cost: int, plus_output: int = 0) -> Callable[[OpShapes], Cost]:
    def formula(n: OpShapes) -> Cost:
        return Cost(nonmac=cost * numel(n.inp(0)) + plus_output * numel(n.out()))

    return formula


register("MEAN", kind="reduction", params=(0,))(_per_input(1, plus_output=1))
register("SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD", "REDUCE_ANY", "REDUCE_ALL", "ARG_MAX", "ARG_MIN",
         "CUMSUM", "TOPK_V2", kind="reduction", params=(0,))(_per_input(1))


@register("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", kind="resize", params=())
def _resize(n: OpShapes) -> Cost:
    x, y = n.inp(0), n.out()
    per_axis = 2 if n.op == "RESIZE_BILINEAR" else 1
    resized = sum(1 for a, b in zip(x, y) if a != b)
    return Cost(nonmac=numel(y) * costs.interpolation_cost(per_axis ** resized))


# --------------------------------------------------------------------------------------
# Copies: part of a tensor, or a gather from a table
# --------------------------------------------------------------------------------------
@register("STRIDED_SLICE", "SLICE", kind="data", params=(0,))
def _slice(n: OpShapes) -> Cost:
    """A copy of part of a tensor: reads only what it writes."""
    return Cost(act_read_elems=numel(n.out()))


@register("GATHER", "EMBEDDING_LOOKUP", kind="embedding", params=(0,))
def _gather(n: OpShapes) -> Cost:
    """As an embedding (the walk decides): reads only the looked-up rows of the table."""
    indices = 1 if n.op == "GATHER" else 0  # EMBEDDING_LOOKUP takes (ids, table)
    return Cost(weight_elems=numel(n.out()), act_read_elems=numel(n.inp(indices)))


# --------------------------------------------------------------------------------------
# Ops that cost nothing, ops that only move bytes, control flow
# --------------------------------------------------------------------------------------
#: views and metadata: no arithmetic, no activation traffic
SHAPE_ONLY = frozenset("RESHAPE SQUEEZE EXPAND_DIMS SHAPE RANK".split())

#: ops that copy or rearrange data: 0 FLOPs, bytes counted
DATA_MOVEMENT = frozenset(
    """CONCATENATION PAD PADV2 MIRROR_PAD TRANSPOSE SPLIT SPLIT_V PACK UNPACK TILE BROADCAST_TO CAST
    DEPTH_TO_SPACE SPACE_TO_DEPTH BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND REVERSE_V2 GATHER_ND SCATTER_ND
    ONE_HOT ZEROS_LIKE FILL""".split()
)

#: which inputs of a data-movement or ignored op are data (the rest: shapes, axes, paddings)
DATA_INPUTS = {"RESHAPE": (0,), "SQUEEZE": (0,), "EXPAND_DIMS": (0,), "PAD": (0,), "PADV2": (0, 2),
               "MIRROR_PAD": (0,), "TRANSPOSE": (0,), "SPLIT": (1,), "SPLIT_V": (0,), "TILE": (0,),
               "BROADCAST_TO": (0,), "BATCH_TO_SPACE_ND": (0,), "SPACE_TO_BATCH_ND": (0,),
               "REVERSE_V2": (0,), "GATHER_ND": (0,), "SCATTER_ND": (1,), "ONE_HOT": (0,), "FILL": (1,)}

#: ops that run other subgraphs: not costed
CONTROL_FLOW = frozenset({"WHILE", "IF", "CALL_ONCE", "CALL"})
