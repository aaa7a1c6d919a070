"""Predict published LLM measurements: the cases of ``benchmarks/llm_cases.yaml``.

A case says how to express one measured row of ``benchmarks/data/measured_public.csv`` as a
:func:`chipfit.llm` call (model, chip, format, engine, batch, prompt and output tokens,
chips) and what was measured:

- ``decode_tps``: tokens per second one sequence receives while decoding (1 / TPOT);
- ``tpot``: seconds per output token;
- ``ttft``: seconds to the first token (the prefill);
- ``prefill_tps``: prompt tokens per second of the prefill (batch × prompt / TTFT);
- ``throughput``: output tokens per second over whole requests, prefill included (static
  batching: batch × output / end-to-end time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chipfit.analysis.llm import LLMResult, Timing, llm, timing

Metric = Literal["decode_tps", "tpot", "ttft", "prefill_tps", "throughput"]
DECODE_METRICS = ("decode_tps", "tpot", "throughput")


class LLMCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str                      # 'mp-44' = data row 44 of measured_public.csv
    row: int = Field(ge=1)
    hardware: str
    measured_model: str
    measured_precision: str
    value: float = Field(gt=0)
    unit: str
    role: Literal["fit", "holdout"]
    metric: Metric
    model: str
    chip: str
    precision: str
    engine: str
    batch: int = Field(default=1, ge=1)
    prompt: int = Field(ge=1)
    output: int = Field(ge=1)
    chips_count: int = Field(default=1, ge=1)
    link_gbps: float | None = Field(default=None, gt=0)
    group_size: int | None = Field(default=None, ge=1)
    note: str | None = None

    @property
    def phase(self) -> str:
        """Which phase the metric mostly measures: ``decode`` or ``prefill``."""
        return "decode" if self.metric in DECODE_METRICS else "prefill"

    @property
    def measured(self) -> float:
        """The measurement in chipfit's units (tokens/s or seconds)."""
        scale = {"ms": 1e-3, "ms/token": 1e-3, "s": 1.0}.get(self.unit, 1.0)
        return self.value * scale


class LLMCaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    cases: list[LLMCase]
    not_predicted: list[dict] = Field(default_factory=list)


def run(case: LLMCase) -> LLMResult:
    """The case as a :func:`chipfit.llm` call, at the built-in efficiencies."""
    return llm(case.model, case.chip, prompt=case.prompt, output=case.output, batch=case.batch,
               precision=case.precision, engine=case.engine, chips_count=case.chips_count,
               link_gbps=case.link_gbps, group_size=case.group_size, overhead_gb=0.0)


def metric(case: LLMCase, result: LLMResult, t: Timing | None = None) -> float:
    """The case's metric from a result (or from a re-timing ``t`` of it)."""
    pre = t.prefill if t is not None else result.prefill
    dec = t.decode if t is not None else result.decode
    if case.metric in ("decode_tps", "tpot"):
        tpot = dec.seconds / dec.steps
        return 1 / tpot if case.metric == "decode_tps" else tpot
    if case.metric == "ttft":
        return pre.seconds
    if case.metric == "prefill_tps":
        return case.batch * case.prompt / pre.seconds
    e2e = pre.seconds + (dec.seconds if case.output > 1 else 0.0)
    return case.batch * case.output / e2e


@dataclass
class LLMPrediction:
    case: LLMCase
    predicted: float
    result: LLMResult

    @property
    def error(self) -> float:
        """Signed error of the predicted *rate* (tokens/s): for a time metric (TPOT, TTFT)
        the rate is its inverse, so a too-slow prediction is negative either way."""
        return rate_error(self.case, self.predicted)

    @property
    def abs_pct(self) -> float:
        return abs(self.error) * 100


def rate_error(case: LLMCase, predicted: float) -> float:
    if case.metric in ("tpot", "ttft"):
        return case.measured / predicted - 1
    return predicted / case.measured - 1


def predict(case: LLMCase) -> LLMPrediction:
    result = run(case)
    return LLMPrediction(case, metric(case, result), result)


def retime(case: LLMCase, result: LLMResult, gemm: float, memory: float, overhead_s: float) -> float:
    """The case's metric at other efficiency factors, without rebuilding anything."""
    need_pre = case.metric in ("ttft", "prefill_tps", "throughput")
    need_dec = case.metric in DECODE_METRICS
    return metric(case, result, timing(result.prepared, gemm, memory, overhead_s,
                                       prefill=need_pre, decode=need_dec))


def clock_of(result: LLMResult) -> float | None:
    """The clock (MHz) of the unit a result priced, None when the database has none."""
    clock = result.unit.clock_mhz
    return clock.value if clock is not None else None


def _time_like(case: LLMCase, value: float) -> float:
    """A quantity proportional to the time the metric measures (rates are inverted), which is
    linear in the per-layer cost."""
    return value if case.metric in ("tpot", "ttft") else 1 / value


def overhead_room(case: LLMCase, result: LLMResult) -> float:
    """The per-layer cost (seconds, on the row's chip) at which the case is predicted exactly at
    the rated figures (``memory = matrix = 1``): (measured time − roofline time at the rated
    figures) / (layers × steps). The time is linear in the cost, so two re-timings give it
    exactly; it is negative when the rated figures alone already predict slower than measured."""
    probe = 1e-4
    t0 = _time_like(case, retime(case, result, 1.0, 1.0, 0.0))
    t1 = _time_like(case, retime(case, result, 1.0, 1.0, probe))
    return (_time_like(case, case.measured) - t0) / (t1 - t0) * probe
