"""Predict published measurements and fit efficiency factors to them.

A *case* says how to predict one measured row: the model (any MODEL string and input shape),
the chip and unit (``all`` = every unit running its own copy, as MLPerf Offline on a
Jetson's GPU + DLAs), the precision, the batch, whether the runtime fuses point-wise ops
(TensorRT: yes; PyTorch eager: no), and what was measured (``throughput`` in inferences/s or
``latency`` in seconds of one batch).

:func:`fit_class` fits one efficiency class's factors (``gemm``, ``depthwise``, ``memory``;
``vector`` is tied to ``depthwise``: both run off the matrix engine) by coordinate search on
a log grid, minimising the mean squared log error of the class's fit rows, and reports the
residual and the leave-one-out error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chipfit.analysis.check import together
from chipfit.analysis.count import count
from chipfit.analysis.roofline import op_class, roofline
from chipfit.core.costgraph import CostGraph
from chipfit.core.precision import get_precision
from chipfit.core.stats import percentile
from chipfit.data.chips import ChipDB, database, split_unit
from chipfit.data.efficiency import ClassFit, Efficiency, Residual, for_unit
from chipfit.frontends.resolve import is_onnx


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str                      # 'mp-12' = data row 12 of measured_public.csv
    row: int = Field(ge=1)       # 1-based data row of measured_public.csv
    hardware: str                # copied from the row, checked against it
    measured_model: str          # the row's model column
    value: float = Field(gt=0)   # the row's value
    unit: str                    # the row's unit
    role: Literal["fit", "holdout"]
    metric: Literal["throughput", "latency"]
    model: str                   # MODEL for chipfit.count
    input_shape: str | None = None
    seq_len: int | None = None
    chip: str                    # chip id, ID:UNIT, or ID:all
    precision: str
    batch: int = Field(ge=1)
    sparse: bool = False
    fuse: bool = True
    note: str | None = None

    @property
    def measured(self) -> float:
        """The measurement in chipfit's units: inferences/s, or seconds."""
        scale = {"ms": 1e-3, "s": 1.0, "us": 1e-6}.get(self.unit, 1.0)
        return self.value * scale if self.metric == "latency" else self.value


class CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    cases: list[Case]
    not_predicted: list[dict] = Field(default_factory=list)  # rows left out, with the reason


@dataclass
class Prediction:
    case: Case
    predicted: float

    @property
    def error(self) -> float:
        """Signed relative error, (predicted − measured) / measured."""
        return self.predicted / self.case.measured - 1

    @property
    def abs_pct(self) -> float:
        return abs(self.error) * 100


class Predictor:
    """Predicts cases, caching each model's cost graph, and each prediction made with given factors
    (a fit's coordinate descent and its leave-one-out refits price the same case with the same
    factors many times over)."""

    def __init__(self, db: ChipDB | None = None):
        self.db = db or database()
        self.graphs: dict[tuple, CostGraph] = {}
        self.known: dict[tuple, Prediction] = {}

    def graph(self, case: Case) -> CostGraph:
        key = (case.model, case.input_shape, case.seq_len)
        if key not in self.graphs:
            shapes = case.input_shape.split("|") if case.input_shape else None  # 'a|b': two inputs
            batch = 1 if is_onnx(case.model) and not shapes else None  # a free batch dim: one inference
            self.graphs[key] = count(case.model, input_shape=shapes, seq_len=case.seq_len, batch=batch).graph
        return self.graphs[key]

    def units(self, case: Case):
        """The chip and the units the case runs on (``ID:all``: every unit)."""
        ref, unit_id = split_unit(case.chip)
        if unit_id == "all":
            rec, _ = self.db.get(ref)
            return rec, rec.chip.compute_units()
        rec, unit = self.db.get(case.chip)
        return rec, [unit]

    def classes(self, case: Case) -> set[str]:
        return {u.efficiency_class for u in self.units(case)[1]}

    def predict(self, case: Case, effs: dict[str, Efficiency] | None = None) -> Prediction:
        effs = effs or {}
        key = (case, tuple(sorted(effs.items())))
        if key not in self.known:
            self.known[key] = self._predict(case, effs)
        return self.known[key]

    def _predict(self, case: Case, effs: dict[str, Efficiency]) -> Prediction:
        graph = self.graph(case)
        prec = get_precision(case.precision)
        rec, units = self.units(case)
        bw = rec.chip.memory_bandwidth_gbps.value * 1e9 if rec.chip.memory_bandwidth_gbps else 0.0
        parts = []
        for unit in units:
            table = unit.peaks(case.sparse)
            if prec.compute not in table:
                continue
            eff = effs.get(unit.efficiency_class) or for_unit(unit)
            parts.append((unit, roofline(graph, prec, table[prec.compute].value * 1e12, bw, eff, batch=case.batch,
                                         fuse=case.fuse)))
        if not parts:
            raise ValueError(f"{case.id}: no unit of {case.chip} has a {prec.compute} peak")
        if case.metric == "latency":
            return Prediction(case, parts[0][1].latency_s)
        # every unit runs its own copies; together they cannot stream more than the shared DRAM
        return Prediction(case, together(parts, bw / 1e9 or None).throughput_fps)


def residual(preds: list[Prediction], loo: list[float] | None = None) -> Residual:
    errs = sorted(p.abs_pct for p in preds)
    return Residual(n=len(errs), median_abs_pct=round(median(errs), 2),
                    p90_abs_pct=round(percentile(errs, 90), 2),
                    loo_median_abs_pct=round(median(loo), 2) if loo else None)


GRID = [round(0.01 * 1.12 ** i, 4) for i in range(41) if 0.01 * 1.12 ** i <= 1.0] + [1.0]


def _loss(pred: Predictor, cases: list[Case], cls: str, e: Efficiency, fixed: dict[str, Efficiency]) -> float:
    effs = dict(fixed)
    effs[cls] = e
    return sum(math.log(pred.predict(c, effs).predicted / c.measured) ** 2 for c in cases) / len(cases)


def _search(pred: Predictor, cases: list[Case], cls: str, fixed: dict[str, Efficiency],
            start: tuple[float, float, float], free: tuple[str, ...]) -> tuple[float, float, float]:
    """Coordinate descent over (gemm, depthwise, memory) on a log grid."""
    g, d, m = start

    def make(g, d, m):
        return Efficiency(g, d, d, m, cls, "fit")

    best = _loss(pred, cases, cls, make(g, d, m), fixed)
    for _ in range(6):
        improved = False
        for name in free:
            for v in GRID:
                cand = (v if name == "gemm" else g, v if name == "depthwise" else d, v if name == "memory" else m)
                loss = _loss(pred, cases, cls, make(*cand), fixed)
                if loss < best - 1e-12:
                    best, (g, d, m), improved = loss, cand, True
        if not improved:
            break
    return g, d, m


#: Extra starting points of a ``restarts`` fit: the roofline's max() makes the loss non-convex,
#: and coordinate descent from one start can stop in a local minimum.
RESTARTS = [(g, d, m) for g in (0.1, 0.5, 1.0) for d in (0.03, 0.3) for m in (0.2, 0.7)]


def fit_class(pred: Predictor, cases: list[Case], cls: str, fixed: dict[str, Efficiency],
              borrow: Efficiency | None = None,
              restarts: bool = False) -> tuple[Efficiency, list[Prediction], list[float]]:
    """Fit class ``cls`` on ``cases``; factors the cases cannot identify come from ``borrow``.
    ``restarts`` also descends from every point of :data:`RESTARTS` and keeps the best fit (the
    built-in classes were fitted without, and their stored factors reproduce so).

    Returns the efficiency, the in-sample predictions and the leave-one-out |errors| in %.
    """
    has_dw = any(op_is_depthwise(pred.graph(c)) for c in cases)
    free = ("gemm", "memory") + (("depthwise",) if has_dw or borrow is None else ())
    start = (0.5, borrow.depthwise if borrow else 0.1, 0.7)
    starts = [start] + ([(g, d if "depthwise" in free else start[1], m) for g, d, m in RESTARTS] if restarts else [])
    fits = [_search(pred, cases, cls, fixed, s, free) for s in dict.fromkeys(starts)]
    g, d, m = min(fits, key=lambda f: _loss(pred, cases, cls, Efficiency(f[0], f[1], f[1], f[2], cls, "fit"), fixed))
    eff = Efficiency(g, d, d, m, cls, "fit")
    effs = dict(fixed)
    effs[cls] = eff
    preds = [pred.predict(c, effs) for c in cases]
    loo = []
    if len(cases) > 2:
        for i, c in enumerate(cases):
            rest = cases[:i] + cases[i + 1:]
            gi, di, mi = _search(pred, rest, cls, fixed, (g, d, m), free)
            e_i = dict(fixed)
            e_i[cls] = Efficiency(gi, di, di, mi, cls, "fit")
            loo.append(pred.predict(c, e_i).abs_pct)
    return eff, preds, loo


def op_is_depthwise(graph: CostGraph) -> bool:
    return any(op_class(op) == "depthwise" for op in graph.ops)


def class_fit(description: str, eff: Efficiency, basis: str, fitted_on: list[str],
              res: Residual | None) -> ClassFit:
    return ClassFit(description=description, gemm=eff.gemm, depthwise=eff.depthwise, vector=eff.vector,
                    memory=eff.memory, basis=basis, fitted_on=fitted_on, residual=res)
