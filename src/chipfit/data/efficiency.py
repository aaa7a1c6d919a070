"""Efficiency factors: the fraction of a chip's dense peak and bandwidth that real runs reach.

They are data (``efficiency.yaml``), fitted by ``benchmarks/fit_efficiency.py`` on the
measured rows of ``benchmarks/data/measured_public.csv`` per *efficiency class* of compute unit
(``nvidia-gpu``, ``nvidia-jetson-gpu``, ``nvidia-dla``, ``npu``, ``gpu``, ``cpu``) and per *op class*:

- ``gemm``: convolutions (groups < channels), linear layers, matrix products, attention;
- ``depthwise``: depthwise convolutions (one input channel per group), which reuse little data;
- ``vector``: everything else that computes (norms, activations, softmax, pooling, ...);
- ``memory``: the fraction of the DRAM bandwidth that ops stream at.

Each class records the rows it was fitted on and the residual error of that fit; a class with
no public measurements says so and borrows the pooled fit. ``--utilization U`` replaces all
four factors by ``U`` (the single-factor mode of a widely shared hand estimate). A chip calibrated by ``chipfit calibrate``
carries its own factors, which replace its class's (:func:`for_unit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from chipfit.core.datafile import load
from chipfit.core.errors import ChipfitError

OP_CLASSES = ("gemm", "depthwise", "vector")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Residual(_Strict):
    n: int = Field(ge=1)
    median_abs_pct: float = Field(ge=0)
    p90_abs_pct: float = Field(ge=0)
    loo_median_abs_pct: float | None = Field(default=None, ge=0)  # leave-one-out, when n > 2
    cv_median_abs_pct: float | None = Field(default=None, ge=0)   # k-fold cross-validation


class ClassFit(_Strict):
    description: str
    gemm: float = Field(gt=0, le=1)
    depthwise: float = Field(gt=0, le=1)
    vector: float = Field(gt=0, le=1)
    memory: float = Field(gt=0, le=1)
    basis: str  # how the numbers were obtained, in one sentence
    fitted_on: list[str] = Field(default_factory=list)  # row ids of measured_public.csv
    residual: Residual | None = None


class EfficiencyFile(_Strict):
    generated_by: str
    date: str
    method: str
    classes: dict[str, ClassFit] = Field(min_length=1)


@dataclass(frozen=True)
class Efficiency:
    """The four factors used for one prediction, and where they came from."""

    gemm: float
    depthwise: float
    vector: float
    memory: float
    efficiency_class: str
    basis: str
    residual: Residual | None = None

    def compute(self, op_class: str) -> float:
        return getattr(self, op_class)

    @classmethod
    def uniform(cls, u: float, efficiency_class: str = "") -> "Efficiency":
        if not (0 < u <= 1):
            raise ChipfitError(f"utilization must be in (0, 1], got {u}")
        return cls(u, u, u, u, efficiency_class, f"single factor `utilization` {u:g} for compute and memory")


@lru_cache(maxsize=1)
def efficiency_file() -> EfficiencyFile:
    text = resources.files(__package__).joinpath("efficiency.yaml").read_text(encoding="utf-8")
    return load(EfficiencyFile, text, "built-in efficiency.yaml")


def efficiency_classes() -> dict[str, ClassFit]:
    return dict(efficiency_file().classes)


def for_unit(unit, utilization: float | None = None) -> Efficiency:
    """The factors a compute unit runs at: ``utilization`` when given, else the unit's own
    calibration (``chipfit calibrate``) when it has one, else its efficiency class's."""
    cal = getattr(unit, "efficiency", None)
    if utilization is not None or cal is None:
        return for_class(unit.efficiency_class, utilization)
    return Efficiency(cal.gemm, cal.depthwise, cal.vector, cal.memory, f"{unit.efficiency_class}, calibrated",
                      cal.basis, cal.residual)


def for_class(name: str, utilization: float | None = None) -> Efficiency:
    """The factors of an efficiency class, or the single ``utilization`` factor when given."""
    if utilization is not None:
        return Efficiency.uniform(utilization, name)
    fit = efficiency_classes().get(name)
    if fit is None:
        raise ChipfitError(f"unknown efficiency class '{name}'; known: {', '.join(efficiency_classes())}")
    return Efficiency(fit.gemm, fit.depthwise, fit.vector, fit.memory, name, fit.basis, fit.residual)
