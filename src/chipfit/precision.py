"""Workload precisions (DESIGN.md, "Precision"): they change bytes, never op counts.

Each precision says how many bits one weight element and one activation element take.
Weight-only forms (``w8a16``, ``w4a16``) store weights narrow and compute at 16 bits.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ChipfitError


@dataclass(frozen=True)
class Precision:
    name: str
    weight_bits: int
    activation_bits: int
    compute: str  # the arithmetic the chip runs: the key of its peak-throughput table
    description: str

    def weight_bytes(self, elements: int) -> int:
        """Bytes of ``elements`` weight elements, rounded up to whole bytes."""
        return -(-elements * self.weight_bits // 8)

    def activation_bytes(self, elements: int) -> int:
        return -(-elements * self.activation_bits // 8)


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
        Precision("w8a16", 8, 16, "fp16", "8-bit weights, 16-bit activations and arithmetic"),
        Precision("w4a16", 4, 16, "fp16", "4-bit weights, 16-bit activations and arithmetic"),
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
