"""``chipfit.rank``: every chip of the database checked for one model, those that meet the
target sorted best first (by rated power, margin, energy or latency).

A chip is ranked when its central prediction meets the target; each row carries its error band
and three-valued verdict, and a chip whose efficiency class has no measurements says so
(``validated: false``) rather than standing level with a validated one. Where the network was
published on other chips of a chip's runtime class, the verdict rests on those measurements carried
to the chip, as ``check``'s does (``verdict_basis``), and the sort on the latency they give."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from chipfit.analysis.check import CheckResult, count_for, measured_elsewhere, predict
from chipfit.analysis.count import CountResult
from chipfit.analysis.explain import rank_explanation
from chipfit.analysis.fallback import host_cpu, own_cpu
from chipfit.analysis.params import RankParams, literal_values, validate
from chipfit.core.precision import Precision, get_precision
from chipfit.data.chips import ChipDB, database, select
from chipfit.data.efficiency import runtimes_of

SORT_KEYS = literal_values(RankParams, "by")


@dataclass
class RankResult:
    """Every chip checked; ``ranked`` holds those that meet the target, best first."""

    count: CountResult
    fps: float
    by: str
    ranked: list[CheckResult]
    failing: list[CheckResult]
    skipped: dict[str, str]  # chip id -> why it was not checked

    def to_dict(self) -> dict[str, Any]:
        def row(r: CheckResult) -> dict[str, Any]:
            d = r.to_dict()
            return {k: d[k] for k in (
                "chip", "chip_name", "unit", "required_tops", "chip_peak_tops", "effective_tops",
                "margin_tops", "latency_s", "max_fps", "max_fps_batched", "utilization", "bound",
                "limiting", "memory_fits", "sufficient", "verdict", "verdict_basis", "class_verdict",
                "max_fps_low", "max_fps_high", "latency_s_low", "latency_s_high", "band", "runtime", "power_w",
                "energy_per_inference_j", "verdict_max_fps", "verdict_max_fps_low", "verdict_max_fps_high")} | {
                "published": d["published"], "measured_elsewhere": d["measured_elsewhere"],
                "measured_here": d["measured_here"],
                "validated": r.efficiency.validated,
                "band_borrowed": bool(r.efficiency.band and r.efficiency.band.borrowed)}

        return {
            "model": self.count.model, "precision": self.count.precision.name, "fps": self.fps,
            "by": self.by, "macs": self.count.macs, "flops": self.count.flops,
            "required_tops": self.count.flops * self.fps / 1e12,
            "chips": [row(r) for r in self.ranked],
            "insufficient": [row(r) for r in self.failing],
            "skipped": [{"chip": k, "reason": v} for k, v in self.skipped.items()],
        }

    def explain(self) -> list[tuple[str, str]]:
        """(quantity, formula): the requirement, then each chip's formula, efficiency and validation."""
        return rank_explanation(self)


def _sort_key(by: str):
    """Ties, and ``latency``, go to the batch-1 latency on the verdict's basis (times the carried ratio
    where the verdict rests on the network's measurements on other chips)."""
    inf = float("inf")

    def latency(r: CheckResult) -> float:
        return r.latency_s * r.verdict_scale
    return {
        "power": lambda r: (r.power_w if r.power_w else inf, latency(r)),
        "margin": lambda r: (-r.margin_tops, latency(r)),
        "energy": lambda r: (r.energy_per_inference_j if r.energy_per_inference_j else inf, latency(r)),
        "latency": lambda r: (latency(r),),
    }[by]


def rank(model: Any, *, fps: float, precision: str | Precision = "int8", by: str = "power",
         batch: int = 1, utilization: float | None = None, category: str | None = None,
         max_power: float | None = None, min_memory_gb: float | None = None, sparse: bool = False,
         runtime: str | None = None, power_mode: str | None = None, chips_files: Iterable[str] = (),
         db: ChipDB | None = None, host: str | None = None, **count_kwargs: Any) -> RankResult:
    """Check every chip (after the filters) and sort those that meet the target by ``by``.
    A chip sold with several memory sizes is checked at the smallest that meets ``min_memory_gb``;
    a chip with power modes once per mode within ``max_power`` (see :func:`select`)."""
    validate(RankParams, fps=fps, precision=precision, by=by, batch=batch, utilization=utilization,
             category=category, max_power=max_power, min_memory_gb=min_memory_gb, power_mode=power_mode,
             chips_files=chips_files, host=host, **count_kwargs)
    prec = get_precision(precision)
    if host is not None:
        host_cpu(host, chips_files)  # refused up front, not only when a chip needs it
    records = select(db or database(chips_files), category=category, max_power=max_power,
                     min_memory_gb=min_memory_gb, power_mode=power_mode)
    count = count_for(model, prec, count_kwargs)
    ranked, failing, skipped = [], [], {}
    priced: dict = {}  # the other chips' prices of the network, shared by the chips' carries
    for rec in records:
        unit = rec.chip.unit_with(prec.compute, sparse)
        if unit is None:
            skipped[rec.id] = f"no {'sparse' if sparse else 'dense'} {prec.compute} peak in the database"
            continue
        res = predict(count, rec, unit, fps=fps, batch=batch, utilization=utilization, sparse=sparse,
                      runtime=runtime if runtime in runtimes_of(unit) else None,
                      host=None if own_cpu(rec, unit) else host, chips_files=chips_files)
        res.elsewhere = measured_elsewhere(res, sparse=sparse, fuse=True, host=host, chips_files=chips_files,
                                           priced=priced)
        (ranked if res.sufficient else failing).append(res)
    ranked.sort(key=_sort_key(by))
    failing.sort(key=lambda r: -r.verdict_fps[0])
    return RankResult(count, float(fps), by, ranked, failing, skipped)
