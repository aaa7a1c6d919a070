"""What one op costs, and the per-element costs every frontend's registry shares.

Each frontend keeps its own registry of shape-only formulas keyed by its own op names
(aten ops for PyTorch, ONNX op types for ONNX), but the arithmetic they agree on lives here
once, so the same layer costs the same FLOPs whichever frontend read it.

Non-MAC FLOPs per element (each arithmetic operation, comparison or elementary function
evaluation counts 1):

* activations: :data:`ACTIVATION_COST` (per output element)
* softmax / log-softmax: :data:`SOFTMAX_COST` (max, subtract, exp, sum, divide)
* attention: :data:`ATTENTION_SCORE_COST` per score (scale + softmax), +1 with a mask
* normalisation: :func:`norm_cost`
* interpolation: :func:`interpolation_cost` (``2 × taps − 1`` per output element)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


def numel(shape: Iterable[int] | None) -> int:
    return math.prod(shape) if shape is not None else 0


@dataclass(frozen=True, slots=True)
class Cost:
    """MACs and non-MAC FLOPs of one op; the optional fields override what the frontend
    would count from the tensor arguments, for ops that touch only part of a tensor (an
    embedding reads only the looked-up rows)."""

    macs: int = 0
    nonmac: int = 0
    weight_elems: int | None = None
    act_read_elems: int | None = None
    act_write_elems: int | None = None
    weight_bits: int | None = None   # storage the model fixes (a quantized module's int8 weights)
    params: int | None = None        # parameters held outside nn.Parameter (packed quantized weights)


#: FLOPs per output element of an activation function.
ACTIVATION_COST = {
    "relu": 1, "threshold": 1, "leaky_relu": 2, "hardtanh": 2, "prelu": 2, "tanh": 1,
    "sigmoid": 4, "silu": 5, "hardsigmoid": 4, "hardswish": 5, "elu": 4, "celu": 4, "selu": 5,
    "softplus": 4, "softsign": 3, "mish": 7, "log_sigmoid": 5, "glu": 5,
    "gelu": 5,        # erf form: x * 0.5 * (1 + erf(x / sqrt 2))
    "gelu_tanh": 9,   # tanh approximation
}
SOFTMAX_COST = 5
ATTENTION_SCORE_COST = 6


def norm_cost(elements: int, kind: str, affine_terms: int, training: bool = False) -> int:
    """Non-MAC FLOPs of normalising ``elements`` elements.

    layer/group/instance norm: 5 per element (mean, subtract, square, variance, scale);
    RMS norm: 3 (square, mean, scale); batch norm at inference: 2 (subtract the running
    mean, scale), +3 when training computes the statistics; +1 per affine term (weight, bias).
    """
    base = {"layer": 5, "group": 5, "instance": 5, "rms": 3, "batch": 2}[kind]
    if kind == "batch" and training:
        base += 3
    return elements * (base + affine_terms)


def attention_cost(batch_heads_queries: int, keys: int, e: int, ev: int, masked: bool) -> Cost:
    """QKᵀ and AV of dense attention: every query row (of every head) meets ``keys`` keys.

    ``batch_heads_queries`` = B × Hq × Lq; MACs = rows × Lk × (E + Ev), dense (no causal
    discount); non-MAC = 6 per score (+1 with a mask or causal masking).
    """
    scores = batch_heads_queries * keys
    return Cost(macs=scores * (e + ev), nonmac=scores * (ATTENTION_SCORE_COST + (1 if masked else 0)))


def interpolation_cost(taps: int) -> int:
    """FLOPs per output element of an interpolation with ``taps`` input taps
    (nearest 1 tap: 0, a copy; linear 2: 3; bilinear 4: 7; bicubic 16: 31; trilinear 8: 15)."""
    return 0 if taps <= 1 else 2 * taps - 1


def quantization_notes(ops) -> list[str]:
    """What a graph's integer ops say of it: the share of MACs on integer weights and
    activations (with their widths), and the share on integer weights with float activations."""
    macs = sum(op.macs for op in ops)
    quantized = [op for op in ops if op.weight_bits and op.act_bits and op.macs]
    int_macs = sum(op.macs for op in quantized)
    wonly_macs = sum(op.macs for op in ops if op.weight_bits and not op.act_bits)
    notes = []
    if macs and int_macs:
        wb, ab = min(op.weight_bits for op in quantized), max(op.act_bits for op in quantized)
        widths = f"{wb}-bit weights and activations" if wb == ab else f"{wb}-bit weights and {ab}-bit activations"
        notes.append(f"quantized graph: {int_macs / macs:.0%} of MACs run on {widths}; "
                     f"their bytes are counted at the graph's widths whatever the precision")
    if macs and wonly_macs:
        notes.append(f"{wonly_macs / macs:.0%} of MACs use quantized weights with float activations (weight-only)")
    return notes

