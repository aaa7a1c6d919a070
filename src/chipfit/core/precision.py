"""Workload precisions (docs/architecture.md, "Precision"): they change bytes, never op counts.

Each precision says how many bits one weight element and one activation element take.
Weight-only forms (``w8a16``, ``w4a16`` and the llama.cpp / MLC formats) store the matrix
weights narrow, with a scale (and for asymmetric formats a zero point) per *group* of
``group_size`` consecutive weights, and compute at 16 bits. Their bits per weight include the
scales::

    bits per weight = weight_bits + (scale_bits + zero_bits) / group_size

    w4a16, group 128 (AWQ / GPTQ: fp16 scale, 4-bit zero point): 4 + 20/128 = 4.15625
    q4_0 (llama.cpp: blocks of 32, one fp16 scale):                4 + 16/32  = 4.5
    q8_0 (llama.cpp: blocks of 32, one fp16 scale):                8 + 16/32  = 8.5

A weight-only format also says which weights it leaves wider (AWQ and GPTQ keep the token
embedding and the LM head at fp16; llama.cpp stores the output matrix as Q6_K). Which role
an op's weights play comes from its kind and name (:func:`weight_role`). Uniform precisions
(fp32 … int4) store every weight at ``weight_bits``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from chipfit.core.errors import ChipfitError

#: llama.cpp k-quant storage (ggml-common.h block layouts): bits per weight.
Q4_K_BITS = 4.5       # block_q4_K: 256 weights in 144 bytes
Q6_K_BITS = 6.5625    # block_q6_K: 256 weights in 210 bytes
#: llama.cpp Q4_K_M gives Q6_K to attn_v and ffn_down in half of the layers ("use_more_bits":
#: the first and last eighth and every third between), Q4_K elsewhere: their mean bits.
Q4_K_M_MORE_BITS = (Q4_K_BITS + Q6_K_BITS) / 2

#: Weight roles a format may store at different widths.
ROLES = ("matrix", "matrix_more", "head", "embedding", "other")
#: Name endings of the projections llama.cpp's k-quant mixes give more bits (attn_v, ffn_down).
_MORE_BITS_NAMES = ("v_proj", "down_proj", "mlp.c_proj", "fc2")


def weight_role(kind: str, name: str) -> str:
    """The role of an op's weights: ``head`` (the LM head), ``matrix`` (any other matrix
    product or convolution), ``matrix_more`` (value and down projections), ``embedding``
    (lookup tables) or ``other`` (norm scales, biases, ...)."""
    if kind in ("linear", "conv", "matmul", "attention"):
        if name == "lm_head" or name.endswith(".lm_head"):
            return "head"
        if name.endswith(_MORE_BITS_NAMES):
            return "matrix_more"
        return "matrix"
    if kind == "embedding":
        return "embedding"
    return "other"


@dataclass(frozen=True)
class Precision:
    name: str
    weight_bits: int
    activation_bits: int
    compute: str  # the arithmetic the chip runs: the key of its peak-throughput table
    description: str
    group_size: int = 0     # weights per scale group (0: per tensor or channel, scales not counted)
    scale_bits: int = 0     # bits of each group's scale (and super-block metadata)
    zero_bits: int = 0      # bits of each group's zero point (asymmetric formats)
    head_bits: float | None = None       # the LM head; None: as the other matrices
    embedding_bits: float | None = None  # token embedding tables; None: weight bits per weight
    other_bits: float | None = None      # norm scales, biases; None: weight bits per weight
    more_bits: float | None = None       # value and down projections (llama.cpp k-quant mixes)

    @property
    def bits_per_weight(self) -> float:
        """Bits one matrix weight takes, its share of the group's scale and zero included."""
        if not self.group_size:
            return float(self.weight_bits)
        return self.weight_bits + (self.scale_bits + self.zero_bits) / self.group_size

    def bits_for(self, role: str) -> float:
        """Bits per weight of a weight in ``role`` (see :func:`weight_role`)."""
        if role == "head" and self.head_bits is not None:
            return self.head_bits
        if role == "embedding" and self.embedding_bits is not None:
            return self.embedding_bits
        if role == "other" and self.other_bits is not None:
            return self.other_bits
        if role == "matrix_more" and self.more_bits is not None:
            return self.more_bits
        return self.bits_per_weight

    def with_group_size(self, group_size: int) -> "Precision":
        """The same weight-only format with another group size."""
        if not self.group_size:
            raise ChipfitError(f"`group_size` applies to the group-quantized formats "
                               f"({', '.join(n for n, p in PRECISIONS.items() if p.group_size)}), not {self.name}")
        if not isinstance(group_size, int) or group_size < 1:
            raise ChipfitError(f"`group_size` must be a positive integer, got {group_size!r}")
        return replace(self, group_size=group_size)

    def describe(self) -> str:
        """The format in words, with its bits per weight when they are not whole."""
        text = self.description
        if self.group_size:
            text += f"; {self.bits_per_weight:g} bits per weight with group size {self.group_size}"
        return text

    def weight_bytes(self, elements: int) -> int:
        """Bytes of ``elements`` matrix weights, rounded up to whole bytes."""
        return nbytes(elements, self.bits_per_weight)

    def activation_bytes(self, elements: int) -> int:
        return nbytes(elements, self.activation_bits)


def nbytes(elements: int, bits: float) -> int:
    """Bytes of ``elements`` values of ``bits`` bits each, rounded up."""
    if float(bits).is_integer():
        return -(-elements * int(bits) // 8)
    return math.ceil(elements * bits / 8)


_W16 = dict(head_bits=16, embedding_bits=16, other_bits=16)

PRECISIONS: dict[str, Precision] = {
    p.name: p
    for p in (
        Precision("fp32", 32, 32, "fp32", "IEEE single precision"),
        Precision("tf32", 32, 32, "tf32", "fp32 storage, TensorFloat-32 matrix arithmetic"),
        Precision("fp16", 16, 16, "fp16", "IEEE half precision"),
        Precision("bf16", 16, 16, "bf16", "bfloat16"),
        Precision("fp8", 8, 8, "fp8", "8-bit float (E4M3/E5M2) weights and activations"),
        Precision("int8", 8, 8, "int8", "8-bit integer weights and activations (w8a8)"),
        Precision("int4", 4, 4, "int4", "4-bit integer weights and activations (w4a4)"),
        Precision("w8a16", 8, 16, "fp16", "8-bit weights (per-channel scales), 16-bit activations and "
                  "arithmetic; embeddings, norms and LM head at fp16", **_W16),
        Precision("w4a16", 4, 16, "fp16", "4-bit weights with an fp16 scale and a 4-bit zero point per group "
                  "(AWQ/GPTQ), 16-bit activations and arithmetic; embeddings, norms and LM head at fp16",
                  group_size=128, scale_bits=16, zero_bits=4, **_W16),
        Precision("q8_0", 8, 16, "fp16", "llama.cpp Q8_0: blocks of 32 weights with an fp16 scale; norms fp32",
                  group_size=32, scale_bits=16, other_bits=32),
        Precision("q4_0", 4, 16, "fp16", "llama.cpp Q4_0: blocks of 32 weights with an fp16 scale; output "
                  "matrix Q6_K, norms fp32", group_size=32, scale_bits=16, head_bits=Q6_K_BITS, other_bits=32),
        Precision("q4_k_m", 4, 16, "fp16", "llama.cpp Q4_K_M: Q4_K super-blocks of 256 (4.5 bits per weight), "
                  "Q6_K output matrix and Q6_K value/down projections in half of the layers; norms fp32",
                  group_size=256, scale_bits=128, head_bits=Q6_K_BITS, other_bits=32,
                  more_bits=Q4_K_M_MORE_BITS),
        Precision("q4f16_1", 4, 16, "fp16", "MLC-LLM q4f16_1: groups of 32 weights with an fp16 scale, "
                  "embedding and LM head quantized too", group_size=32, scale_bits=16, other_bits=16),
    )
}


def get_precision(name: str | Precision) -> Precision:
    if isinstance(name, Precision):
        return name
    key = str(name).strip().lower()
    try:
        return PRECISIONS[key]
    except KeyError:
        raise ChipfitError(
            f"unknown precision '{name}'; choose one of: {', '.join(PRECISIONS)}"
        ) from None
