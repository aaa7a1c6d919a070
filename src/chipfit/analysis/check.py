"""``chipfit.check`` and ``chipfit.rank``: will this chip run this model at this rate?

The analysis is plain data: a :class:`CheckResult` holds the count, the chip, the per-op
roofline and every derived figure, and can explain each with its numbers substituted.

Definitions (all per inference at batch 1 unless said otherwise):

- ``required_tops = flops × fps / 1e12`` (``ops`` for TOPS = FLOPs, docs/architecture.md);
- ``effective_tops = dense peak × compute efficiency`` of large matrix ops (or ``× U``);
- ``margin_tops = effective_tops − required_tops`` (the margin of a widely shared hand estimate);
- ``latency_s`` = the per-op roofline sum (see :mod:`chipfit.analysis.roofline`), ``max_fps = 1 / latency_s``;
- ``required_bandwidth_gbps = bytes per inference × fps / 1e9`` (bytes after fusion);
- ``memory_fits``: weights + the largest op working set (× batch) ≤ the chip's memory;
- ``sufficient``: the chip sustains ``fps`` (batch / latency of one batch ≥ fps) and the
  model fits in memory;
- ``energy_per_inference_j = power × latency of one batch / batch`` (at batch 1, ``power ×
  latency_s``) at the chip's rated (TDP/typical) power: an upper bound, since a chip below full load
  draws less;
- **error band**: ``latency_s_low/high = latency_s × band`` where the band is the 5th-95th
  percentile of measured / predicted latency over the rows that validated the efficiency class
  (``chipfit.data.efficiency``), and ``max_fps_low/high`` follow; ``verdict`` is ``SUFFICIENT``
  when even the slow end of the band meets the rate (and the model fits in memory),
  ``INSUFFICIENT`` when even the fast end misses it (or the model does not fit), else
  ``UNCERTAIN``. ``sufficient`` is the verdict of the central prediction;
- **the verdict's basis** (``verdict_basis``): the class prediction above, or, where the network
  was published on the class's other chips at the batch asked, those measurements carried here
  (:class:`Elsewhere`: the prediction times their median measured / predicted ratio, with the band
  such a carry measured over the class's rows; where the class's fit chose it, the chip's own rows
  count among them), or, where the network was published on the chip asked at the batch asked and the
  class's fit chose it over the carry, those measurements (their median, with the band a measurement
  measured again on its chip showed); ``verdict`` and ``sufficient`` follow the basis,
  ``class_verdict`` is the class prediction's, and ``latency_s``, ``max_fps`` and their bands stay
  the class prediction's.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable

from chipfit.analysis.count import CountResult, count
from chipfit.analysis.explain import check_explanation
from chipfit.analysis.fallback import Fallback, fallback_note, fallback_of, host_cpu, host_rate, placement_for
from chipfit.analysis.params import CheckParams, validate
from chipfit.analysis.roofline import Roofline, roofline
from chipfit.core.errors import ChipfitError
from chipfit.core.precision import Precision, get_precision
from chipfit.core.units import duration as _t
from chipfit.core.units import measured_where, num, si, unit_ref
from chipfit.data.chips import ChipRecord, Unit, database, split_unit, with_mode
from chipfit.data.efficiency import Band, Efficiency, for_unit, runtimes_of
from chipfit.data.published import Published, namesakes, published_elsewhere, published_for
from chipfit.data.runtime_ops import runtime_ops
from chipfit.frontends.resolve import is_onnx

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
def three_way(fits: bool, needed: float, low: float, high: float) -> str:
    """SUFFICIENT when the pessimistic rate ``low`` meets ``needed``, INSUFFICIENT when the
    optimistic ``high`` misses it (or it does not fit), else UNCERTAIN; without a band
    (``low == high``, the central rate) the answer is yes or no."""
    if not fits or high < needed:
        return "INSUFFICIENT"
    return "SUFFICIENT" if low >= needed else "UNCERTAIN"


def both_prices(band: tuple[float, float], roofs: Iterable[Roofline]) -> tuple[float, float]:
    """A band (multipliers of the predicted latency) widened, where a roofline near a dataflow
    chip's capacity also priced the other context choice, to run from the faster price's fast end to
    the slower price's slow end: measured networks that close to the capacity ran the other way more
    often than the 5 % either end of a band leaves out."""
    low, high = band
    for roof in roofs:
        if roof.other_latency_s is not None and roof.latency_s > 0:
            ratio = roof.other_latency_s / roof.latency_s
            low, high = min(low, band[0] * ratio), max(high, band[1] * ratio)
    return low, high


def band_text(eff: Efficiency) -> str:
    """The band in words, for the line that shows a prediction."""
    b = eff.band
    if b is None:
        return f"{eff.efficiency_class}: no measurements, no error band"
    return (f"{eff.efficiency_class}: median {b.median_abs_pct:.3g} %, p90 {b.p90_abs_pct:.3g} % over "
            f"{b.n} {b.what}")


@dataclass
class Together:
    """Several units of one chip each running their own copies at once (``ID:all``,
    ``ID:gpu+dla``): their throughputs add up, capped by the DRAM they share."""

    units: list[tuple[str, int, float, float]]  # (unit id, instances, inferences/s and bytes/s of one)
    bandwidth_gbps: float | None                # the chip's DRAM peak (None: unknown, no cap)
    band: tuple[float, float] = (1.0, 1.0)      # the widest error band of the units

    @property
    def demand_gbps(self) -> float:
        return sum(n * b for _, n, _, b in self.units) / 1e9

    @property
    def dram_scale(self) -> float:
        """1, or the share of their demand the shared DRAM can serve."""
        bw = self.bandwidth_gbps
        return bw / self.demand_gbps if bw and self.demand_gbps > bw else 1.0

    @property
    def throughput_fps(self) -> float:
        return sum(n * t for _, n, t, _ in self.units) * self.dram_scale

    def to_dict(self) -> dict[str, Any]:
        return {"units": [{"unit": u, "count": n, "throughput_fps": t, "bytes_per_s": b} for u, n, t, b in self.units],
                "demand_gbps": self.demand_gbps, "dram_scale": self.dram_scale, "throughput_fps": self.throughput_fps}


def together(parts: list[tuple[Unit, Roofline]], bandwidth_gbps: float | None) -> Together:
    """Units running copies at once, from each unit's roofline at the batch they run."""
    rows = [(u.id, u.count, r.throughput, r.bytes / r.latency_s if r.latency_s else 0.0) for u, r in parts]
    bands = [both_prices((r.efficiency.band.low, r.efficiency.band.high), [r])
             for _, r in parts if r.efficiency.band is not None]
    band = (min(b[0] for b in bands), max(b[1] for b in bands)) if bands else (1.0, 1.0)
    return Together(rows, bandwidth_gbps, band)


@dataclass
class UnitSummary:
    """Batch-1 speed of one unit of a multi-unit chip (for the 'other units' lines)."""

    unit: str
    name: str
    count: int
    peak_tops: float
    max_fps: float


@dataclass
class Measured:
    """A published measurement of the network asked on the unit and runtime asked, with chipfit's
    prediction of the same batch."""

    row: Published
    predicted_s: float  # chipfit's latency of one batch of ``row.batch``

    @property
    def error_pct(self) -> float:
        return 100 * (self.predicted_s / self.row.latency_s - 1)

    def to_dict(self) -> dict[str, Any]:
        p = self.row
        return {"batch": p.batch, "latency_s": p.latency_s, "throughput_fps": p.throughput_fps,
                "predicted_latency_s": self.predicted_s, "error_pct": self.error_pct, "runtime": p.runtime,
                "runtime_version": p.runtime_version, "source": p.source, "source_path": p.source_path,
                "source_commit": p.source_commit, "source_table": p.source_table}


@dataclass
class Elsewhere:
    """The network's published measurements on the class's other chips at the batch asked (and on the
    chip asked, where the class's fit chose that), each with chipfit's prediction there, carried to the
    chip asked: its prediction times their median measured / predicted ratio. With ``here``, the chip's
    own measurements at the batch asked alone, where the class's fit chose them over the carry: the
    ratio is then their median over chipfit's prediction, and the latency their median."""

    rows: list[Measured]
    band: Band             # what such a prediction erred by, over the class's rows
    predicted_s: float     # chipfit's latency of one batch of ``batch`` on the chip asked
    batch: int
    low: float             # the band's multipliers of the carried latency: ``band``'s, widened near a
    high: float            # dataflow chip's capacity to cover the other context choice (:func:`both_prices`)
    here: bool = False     # the chip's own measurements

    @property
    def both_contexts(self) -> bool:
        return (self.low, self.high) != (self.band.low, self.band.high)

    @property
    def ratio(self) -> float:
        return math.exp(statistics.median(math.log(m.row.latency_s / m.predicted_s) for m in self.rows))

    @property
    def latency_s(self) -> float:
        """Of one batch on the chip asked: the prediction times :attr:`ratio`."""
        return self.predicted_s * self.ratio

    @property
    def chips(self) -> list[str]:
        return sorted({m.row.chip for m in self.rows})

    def source(self, chip: str) -> str:
        """Whose measurements these are, seen from ``chip`` (the chip asked), in a few words."""
        return measured_where(self.here, len(self.rows), self.chips, chip)

    @property
    def max_fps(self) -> float:
        return self.batch / self.latency_s

    def to_dict(self) -> dict[str, Any]:
        b = self.band
        return {"ratio": self.ratio, "batch": self.batch, "chips": self.chips, "here": self.here,
                "latency_s": self.latency_s,
                "latency_s_low": self.latency_s * self.low, "latency_s_high": self.latency_s * self.high,
                "max_fps": self.max_fps, "max_fps_low": self.max_fps / self.high,
                "max_fps_high": self.max_fps / self.low, "both_contexts": self.both_contexts,
                "band": {"n": b.n, "median_abs_pct": b.median_abs_pct, "p90_abs_pct": b.p90_abs_pct,
                         "low": b.low, "high": b.high, "what": b.what},
                "measurements": [{"chip": m.row.chip, **m.to_dict()} for m in self.rows]}


@dataclass
class CheckResult:
    count: CountResult
    record: ChipRecord
    unit: Unit
    precision: Precision
    fps: float
    batch: int
    sparse: bool
    peak_tops: float
    efficiency: Efficiency
    roof: Roofline              # at ``batch``
    roof1: Roofline             # at batch 1
    batches: Callable[[], dict[int, float]]  # computes ``batched`` when it is first asked for
    weight_bytes: int
    peak_activation_bytes: int  # largest op working set at ``batch``
    capacity_bytes: int | None
    power_w: float | None
    other_units: list[UnitSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    together: Together | None = None  # set when several units run copies at once (ID:all)
    fallback: Fallback | None = None  # the ops the runtime leaves to the host CPU
    published: list[Measured] = field(default_factory=list)  # measurements of this network here
    elsewhere: Elsewhere | None = None  # its measurements on the class's other chips, carried here

    @cached_property
    def batched(self) -> dict[int, float]:
        """Batch -> inferences/s, while the batch fits in memory (a roofline per batch size, so
        computed only when a report asks for it)."""
        return self.batches()

    # -- requirement ------------------------------------------------------------------
    @property
    def chip(self) -> str:
        return self.record.id

    @property
    def flops(self) -> int:
        return self.count.flops

    @property
    def required_tops(self) -> float:
        return self.flops * self.fps / 1e12

    @property
    def bytes_per_inference(self) -> float:
        return self.roof1.bytes

    @property
    def required_bandwidth_gbps(self) -> float:
        return self.bytes_per_inference * self.fps / 1e9

    # -- chip -------------------------------------------------------------------------
    @property
    def effective_tops(self) -> float:
        return self.peak_tops * self.efficiency.gemm

    @property
    def bandwidth_gbps(self) -> float | None:
        fig = self.record.chip.memory_bandwidth_gbps
        return fig.value if fig else None

    @property
    def effective_bandwidth_gbps(self) -> float | None:
        bw = self.bandwidth_gbps
        return bw * self.efficiency.memory if bw else None

    @property
    def margin_tops(self) -> float:
        return self.effective_tops - self.required_tops

    # -- prediction -------------------------------------------------------------------
    @property
    def latency_s(self) -> float:
        return self.roof1.latency_s

    @property
    def max_fps(self) -> float:
        return self.roof1.throughput

    @property
    def throughput_fps(self) -> float:
        """Inferences per second at the batch asked for (of every unit together with ``ID:all``)."""
        return self.together.throughput_fps if self.together else self.roof.throughput

    @property
    def max_fps_batched(self) -> float:
        return max(self.batched.values()) if self.batched else self.max_fps

    @property
    def best_batch(self) -> int:
        return max(self.batched, key=self.batched.get) if self.batched else 1

    @property
    def bound(self) -> str:
        return self.roof1.bound

    @property
    def utilization(self) -> float:
        """Fraction of the time the unit is busy at the target rate (> 1: cannot keep up)."""
        return self.fps / self.throughput_fps if self.throughput_fps else float("inf")

    @property
    def memory_required_bytes(self) -> int:
        return self.weight_bytes + self.peak_activation_bytes

    @property
    def memory_fits(self) -> bool:
        return self.capacity_bytes is None or self.memory_required_bytes <= self.capacity_bytes

    @property
    def energy_per_inference_j(self) -> float | None:
        """Rated power × the time of one batch of the batch asked, per inference of it."""
        return self.power_w * self.roof.latency_s / self.batch if self.power_w else None

    @property
    def tops_per_w(self) -> float | None:
        return self.peak_tops / self.power_w if self.power_w else None

    # -- error band ---------------------------------------------------------------------
    @property
    def band(self) -> tuple[float, float]:
        """(low, high) multipliers of the predicted latency; (1, 1) without a band; the widest
        of the units' bands when several run together; the ops left to a host CPU carry its class's
        band, weighted by their share of the batch-1 latency; near a dataflow chip's capacity, widened
        to cover the other context choice (:func:`both_prices`, at batch 1 and the batch asked)."""
        if self.together:
            return self.together.band
        b = self.efficiency.band
        low, high = (b.low, b.high) if b is not None else (1.0, 1.0)
        host, total = self.roof1.host, self.roof1.latency_s
        if host is not None and host.efficiency.band is not None and total > 0:
            # the host's ops carry the band of the host's class: weighted by their share of the time
            share = self.roof1.host_s / total
            hb = host.efficiency.band
            low, high = (1 - share) * low + share * hb.low, (1 - share) * high + share * hb.high
        return both_prices((low, high), (self.roof1, self.roof)) if b is not None else (low, high)

    @property
    def both_contexts(self) -> bool:
        """The band covers two context choices (a network near a dataflow chip's capacity)."""
        return (self.together is None and self.efficiency.band is not None
                and any(x.other_latency_s is not None for x in (self.roof1, self.roof)))

    @property
    def latency_s_low(self) -> float:
        return self.latency_s * self.band[0]

    @property
    def latency_s_high(self) -> float:
        return self.latency_s * self.band[1]

    @property
    def max_fps_low(self) -> float:
        return self.max_fps / self.band[1]

    @property
    def max_fps_high(self) -> float:
        return self.max_fps / self.band[0]

    @property
    def here(self) -> Elsewhere | None:
        """The network's published measurements on the unit asked at the batch asked, where the class's
        fit chose them over the carry (a measured chip of such a class, one unit, dense), else None."""
        b = self.efficiency.here
        if b is None or self.sparse or self.together is not None:
            return None
        rows = [m for m in self.published if m.row.batch == self.batch]
        return Elsewhere(rows, b, self.roof.latency_s, self.batch, b.low, b.high, here=True) if rows else None

    @property
    def measured(self) -> Elsewhere | None:
        """The published measurements the verdict rests on: :attr:`here`, else :attr:`elsewhere`, else None."""
        return self.here or self.elsewhere

    @property
    def verdict_basis(self) -> str:
        """The prediction the verdict rests on: ``measured_here`` (:attr:`here`), ``measured_elsewhere``
        (:attr:`elsewhere`) where the network was published on the class's other chips, else ``class``."""
        return "measured_here" if self.here is not None else \
            "measured_elsewhere" if self.elsewhere is not None else "class"

    @property
    def class_fps(self) -> tuple[float, float, float]:
        """(central, slow end, fast end) inferences/s at the batch asked, of the class prediction."""
        t = self.throughput_fps
        return t, t / self.band[1], t / self.band[0]

    @property
    def verdict_fps(self) -> tuple[float, float, float]:
        """(central, slow end, fast end) inferences/s at the batch asked, on the verdict's basis."""
        e = self.measured
        return (e.max_fps, e.max_fps / e.high, e.max_fps / e.low) if e is not None else self.class_fps

    @property
    def verdict_band(self) -> tuple[float, float]:
        """(low, high) multipliers of the verdict's latency: its basis's band."""
        e = self.measured
        return (e.low, e.high) if e is not None else self.band

    @property
    def verdict_scale(self) -> float:
        """What the verdict's basis multiplies chipfit's latency by: the measured ratio, or 1."""
        return self.measured.ratio if self.measured is not None else 1.0

    @property
    def sufficient(self) -> bool:
        return self.memory_fits and self.verdict_fps[0] >= self.fps

    def _three_way(self, low: float, high: float) -> str:
        v = three_way(self.memory_fits, self.fps, low, high)
        if v == "SUFFICIENT" and not self.roof1.host_priced:
            return "UNCERTAIN"  # work left to a host CPU that nothing prices
        return v

    @property
    def verdict(self) -> str:
        return self._three_way(*self.verdict_fps[1:])

    @property
    def class_verdict(self) -> str:
        """The verdict of the class prediction alone (:attr:`verdict` where that is its basis)."""
        return self._three_way(*self.class_fps[1:])

    @property
    def limiting(self) -> str:
        """The limiting resource in one sentence."""
        if not self.memory_fits:
            return (f"memory capacity: needs {num(self.memory_required_bytes / 1e9)} GB, "
                    f"chip has {num(self.capacity_bytes / 1e9)} GB")
        r1 = self.roof1
        f = self.fallback
        if f is not None and (not r1.host_priced or r1.host_s > r1.latency_s / 2):
            cost = (f"{_t(r1.host_s)} of the {_t(r1.latency_s)} latency on {r1.host.name}" if r1.host_priced
                    else "not priced (no host CPU named)")
            return f"host CPU: {f.ops} ops the {f.runtime} runtime leaves to the host: {cost}"
        if self.bound == "memory" and r1.streamed_bytes and r1.link_s > r1.memory_s - r1.link_s:
            return (f"host link: {num(r1.streamed_bytes / 1e6)} MB of weights cross the "
                    f"{self.record.chip.host_link.name} every inference, {num(r1.streamed_bytes * self.fps / 1e9)} "
                    f"GB/s at {self.fps:g} FPS of {num(r1.link_bandwidth / 1e9)} GB/s")
        if self.bound == "memory" and self.bandwidth_gbps:
            return (f"memory-bound: needs {num(self.required_bandwidth_gbps)} GB/s at {self.fps:g} FPS, "
                    f"chip has {num(self.bandwidth_gbps)} GB/s ({num(self.effective_bandwidth_gbps)} usable)")
        return (f"compute-bound: needs {num(self.required_tops)} TOPS at {self.fps:g} FPS, chip has "
                f"{num(self.peak_tops)} peak ({num(self.effective_tops)} effective)")

    def to_dict(self, per_layer: bool = False, depth: int | None = None) -> dict[str, Any]:
        out = self.count.to_dict(per_layer=False, depth=depth)
        eff = self.efficiency
        out.update({
            "chip": self.chip,
            "chip_name": self.record.chip.name,
            "unit": self.unit.id,
            "precision": self.precision.name,
            "sparse": self.sparse,
            "fps": self.fps,
            "batch": self.batch,
            "required_tops": self.required_tops,
            "chip_peak_tops": self.peak_tops,
            "effective_tops": self.effective_tops,
            "margin_tops": self.margin_tops,
            "latency_s": self.latency_s,
            "max_fps": self.max_fps,
            "throughput_fps": self.throughput_fps,
            "max_fps_batched": self.max_fps_batched,
            "best_batch": self.best_batch,
            "utilization": self.utilization,
            "bound": self.bound,
            "limiting": self.limiting,
            "bytes_per_inference": self.bytes_per_inference,
            "required_bandwidth_gbps": self.required_bandwidth_gbps,
            "chip_bandwidth_gbps": self.bandwidth_gbps,
            "effective_bandwidth_gbps": self.effective_bandwidth_gbps,
            "memory_required_bytes": self.memory_required_bytes,
            "peak_activation_bytes": self.peak_activation_bytes,
            "memory_capacity_bytes": self.capacity_bytes,
            "memory_fits": self.memory_fits,
            "sufficient": self.sufficient,
            "verdict": self.verdict,
            "verdict_basis": self.verdict_basis,
            "class_verdict": self.class_verdict,
            "latency_s_low": self.latency_s_low,
            "latency_s_high": self.latency_s_high,
            "max_fps_low": self.max_fps_low,
            "max_fps_high": self.max_fps_high,
            "band": band_text(self.efficiency),
            "runtime": self.efficiency.efficiency_class,
            "op_overhead_s": self.roof1.overhead_s,
            "call_overhead_s": self.roof1.call_overhead_s,
            "io_s": self.roof1.io_s,
            "streamed_weight_bytes": self.roof1.streamed_bytes,
            "host_link_s": self.roof1.link_s,
            "other_context_latency_s": self.roof1.other_latency_s,
            "power_w": self.power_w,
            "energy_per_inference_j": self.energy_per_inference_j,
            "tops_per_w": self.tops_per_w,
            "efficiency": {"class": eff.efficiency_class, "gemm": eff.gemm, "depthwise": eff.depthwise,
                           "vector": eff.vector, "memory": eff.memory, "op_overhead_s": eff.op_overhead_s,
                           "call_overhead_s": eff.call_overhead_s, "io_s_per_element": eff.io_s_per_element,
                           "chip_speed": eff.speed, "chip_fixed_cost_speed": eff.fixed_rate,
                           "channel_tile": eff.channel_tile or None, "attention": eff.attention,
                           "activation": eff.activation, "norm": eff.norm,
                           "folds_batch_norm": eff.folds_batch_norm,
                           "basis": eff.basis,
                           "validation": eff.residual.model_dump() if eff.residual else None},
            "fused": self.roof.fused,
            "other_units": [vars(u) for u in self.other_units],
            "together": self.together.to_dict() if self.together else None,
            "fallback": self.fallback.to_dict() if self.fallback else None,
            "published": [m.to_dict() for m in self.published],
            "measured_elsewhere": self.elsewhere.to_dict() if self.elsewhere else None,
            "measured_here": self.here.to_dict() if self.here else None,
            "verdict_max_fps": self.verdict_fps[0],
            "verdict_max_fps_low": self.verdict_fps[1],
            "verdict_max_fps_high": self.verdict_fps[2],
            "notes": list(self.count.notes) + self.notes + self.roof.notes,
        })
        if per_layer:
            out["layers"] = [o.to_dict() for o in self.roof.ops]
        return out

    def explain(self) -> list[tuple[str, str]]:
        """(quantity, formula with the numbers substituted), as a teacher would write them."""
        return check_explanation(self)


def _unit_peak(record: ChipRecord, unit: Unit, precision: Precision, sparse: bool) -> float:
    table = unit.peaks(sparse)
    fig = table.get(precision.compute)
    if fig is not None:
        return fig.value
    kind = "sparse" if sparse else "dense"
    have = ", ".join(table) or "none"
    others = [u.id for u in record.chip.compute_units() if u.id != unit.id
              and precision.compute in u.peaks(sparse)]
    hint = f"; unit {', '.join(record.id + ':' + o for o in others)} has it" if others else ""
    where = unit_ref(record.id, unit.id)
    raise ChipfitError(f"{where} has no {kind} {precision.compute} peak in the database "
                       f"(it lists {have}){hint}")


def _power(record: ChipRecord, unit: Unit) -> float | None:
    fig = unit.power_w or record.chip.power_w
    return fig.value if fig else None


def host_link(chip) -> tuple[float, float]:
    """(on-chip weight bytes, host link bytes/s) of a coprocessor that streams weights from its
    host; (0, 0) for a chip with DRAM of its own or without both figures."""
    if chip.memory_bandwidth_gbps is None and chip.host_link is not None and chip.onchip_memory_mb is not None:
        return chip.onchip_memory_mb.value * 1e6, chip.host_link.bandwidth_gbps.value * 1e9
    return 0.0, 0.0


def capacity_of(chip) -> tuple[int | None, str | None]:
    """(bytes an application can use, a note naming the OS / firmware reserve if there is one)."""
    usable = chip.usable_memory_gb
    if usable is None:
        return None, None
    note = None
    if chip.memory_reserved_gb is not None:
        note = (f"the OS and firmware keep {num(chip.memory_reserved_gb.value)} GB of the "
                f"{num(chip.memory_gb.value)} GB: {num(usable)} GB is usable")
    return int(usable * 1e9), note


def predict(count: CountResult, record: ChipRecord, unit: Unit, *, fps: float, batch: int = 1,
            utilization: float | None = None, sparse: bool = False, fuse: bool = True,
            runtime: str | None = None, host: str | None = None, chips_files: Iterable[str] = ()) -> CheckResult:
    """The verdict for a counted model on one unit of one chip; the ops its runtime leaves to the
    host CPU run on ``host`` (a chip id), else on the chip's own CPU unit."""
    validate(CheckParams, fps=fps, batch=batch, utilization=utilization)
    prec = count.precision
    peak_tops = _unit_peak(record, unit, prec, sparse)
    eff = for_unit(unit, utilization, runtime, record.id)
    chip = record.chip
    bw = chip.memory_bandwidth_gbps.value * 1e9 if chip.memory_bandwidth_gbps else 0.0
    onchip, link = host_link(chip)
    capacity, reserve_note = capacity_of(chip)
    graph = count.graph
    weight_bytes = graph.weight_bytes(prec)
    working = graph.peak_activation_bytes(prec)
    runtime_name = runtime or unit.efficiency_class
    on_host = placement_for(graph, runtime_name)
    host_unit = host_rate(record, unit, prec, host, chips_files) if on_host else None

    ops = runtime_ops(runtime_name)
    one_image = ops is not None and ops.one_image  # a batch is that many calls of one image

    def run(b: int) -> Roofline:
        if one_image and b > 1:
            return roof1.repeated(b)
        return roofline(graph, prec, peak_tops * 1e12, bw, eff, batch=b, fuse=fuse, onchip_bytes=onchip,
                        link_bandwidth=link, on_host=on_host, host=host_unit)

    roof1 = run(1)
    roof = roof1 if batch == 1 else run(batch)

    def batches() -> dict[int, float]:
        out = {}
        for b in BATCHES:
            if capacity is not None and weight_bytes + working * b > capacity or one_image and b > 1:
                break
            out[b] = (roof1.throughput if b == 1 else roof.throughput if b == batch
                      else roof1.throughput_at(b))  # the batch-1 roofline scaled, not priced again
        return out
    notes = []
    if capacity is None:
        notes.append("no memory capacity in the database for this chip (host memory): memory fit not checked")
    elif reserve_note:
        notes.append(reserve_note)
    if utilization is None and eff.band is None:
        notes.append(f"efficiency class '{eff.efficiency_class}' has no measurements: {eff.basis}; "
                     f"the prediction has no error band")
    elif utilization is None and eff.residual is None:
        notes.append(f"efficiency class '{eff.efficiency_class}' has no fitted measurements of its own: {eff.basis}")
    others = []
    for u in chip.compute_units():
        if u.id == unit.id or prec.compute not in u.peaks(sparse):
            continue
        ueff = for_unit(u, utilization, chip=record.id)
        upeak = u.peaks(sparse)[prec.compute].value
        r = roofline(graph, prec, upeak * 1e12, bw, ueff, batch=1, fuse=fuse, onchip_bytes=onchip, link_bandwidth=link)
        others.append(UnitSummary(u.id, u.name, u.count, upeak, r.throughput))
    if unit.count > 1:
        notes.append(f"unit {unit.id} has {unit.count} identical instances: figures are for one")
    if one_image and batch > 1:
        notes.append(f"the {runtime_name} runtime takes one image per call (its compiled network's tensors carry no "
                     f"batch): a batch of {batch} is {batch} calls, one after the other, and gains nothing")
    fallback = fallback_of(runtime_name, graph, roof1) if on_host else None
    if fallback is not None:
        notes.append(fallback_note(fallback))
    priced = {1: roof1, batch: roof}  # a published batch priced once, however many releases measured it
    published = []
    for p in published_for(graph, record.id, unit.id, prec.name, runtime_name):
        if p.batch not in priced:
            priced[p.batch] = run(p.batch)
        published.append(Measured(p, priced[p.batch].latency_s))
    return CheckResult(
        count=count, record=record, unit=unit, precision=prec, fps=float(fps), batch=batch,
        sparse=sparse, peak_tops=peak_tops, efficiency=eff, roof=roof, roof1=roof1,
        batches=batches, weight_bytes=weight_bytes, peak_activation_bytes=working * batch,
        capacity_bytes=capacity, power_w=_power(record, unit), other_units=others, notes=notes,
        fallback=fallback, published=published,
    )


def count_for(model: Any, precision: str | Precision, count_kwargs: dict) -> CountResult:
    """The count ``check`` prices: ``model`` counted at ``precision`` (a CountResult is re-priced;
    an ONNX file's free batch dimension is bound to one inference)."""
    if isinstance(model, CountResult):
        return model.at(precision)
    if isinstance(model, str) and is_onnx(model):
        count_kwargs.setdefault("batch", 1)  # a free batch dimension: one inference; `batch` batches on the chip
    return count(model, precision=precision, **count_kwargs)


def check(model: Any, chip: str, *, fps: float, precision: str | Precision = "int8", batch: int = 1,
          utilization: float | None = None, sparse: bool = False, fuse: bool = True,
          runtime: str | None = None, power_mode: str | None = None, chips_files: Iterable[str] = (),
          host: str | None = None, **count_kwargs: Any) -> CheckResult:
    """Will ``chip`` run ``model`` at ``fps`` in ``precision``? ``model`` is anything
    :func:`chipfit.count` takes, or a :class:`CountResult` already computed."""
    validate(CheckParams, chip=chip, fps=fps, precision=precision, batch=batch, utilization=utilization,
             runtime=runtime, power_mode=power_mode, chips_files=chips_files, host=host, **count_kwargs)
    chip = with_mode(chip, power_mode)
    prec = get_precision(precision)
    if host is not None:
        host_cpu(host, chips_files)  # refused up front, not only when the model needs it
    counted = count_for(model, precision, count_kwargs)
    name, spec = split_unit(chip)
    record, units = pick_units(name, spec, prec, sparse, chips_files) if spec == "all" or "+" in spec else (None, [])
    if len(units) == 1:  # one unit at this precision: as if it were named
        chip = f"{name}:{units[0].id}"
    elif units:
        results = [predict(counted, record, u, fps=fps, batch=batch, utilization=utilization, sparse=sparse,
                           fuse=fuse, runtime=runtime if runtime in runtimes_of(u) else None, host=host,
                           chips_files=chips_files) for u in units]
        result = results[0]
        bw = record.chip.memory_bandwidth_gbps
        result.together = together([(u, r.roof) for u, r in zip(units, results)], bw.value if bw else None)
        result.notes.insert(0, f"units {' + '.join(f'{u.count} × {u.id}' if u.count > 1 else u.id for u in units)} "
                               f"each run their own copies at batch {batch}: throughput is the sum, capped by the "
                               f"DRAM they share; latency is one inference on {units[0].id}")
        return result
    record, unit, note = pick_unit(chip, prec, sparse, chips_files)
    result = predict(counted, record, unit, fps=fps, batch=batch, utilization=utilization, sparse=sparse,
                     fuse=fuse, runtime=runtime, host=host, chips_files=chips_files)
    if note:
        result.notes.insert(0, note)
    result.elsewhere = measured_elsewhere(result, sparse=sparse, fuse=fuse, host=host, chips_files=chips_files)
    why = unmatched(result)
    if why:
        result.notes.append(why)
    return result


def unmatched(result: CheckResult) -> str | None:
    """Why a network that has a published network's name has neither its measurements here nor a carry
    (another input size; other MACs or parameters, such as a head for another number of classes; only
    other batches; a chip the runtime's class never measured), in one sentence; None otherwise."""
    eff, graph = result.efficiency, result.count.graph
    if result.measured is not None or result.sparse or any(m.row.batch == result.batch for m in result.published):
        return None
    rows = namesakes(graph, result.precision.name, eff.efficiency_class)
    shape = next(iter(graph.inputs.values())) if len(graph.inputs) == 1 else ()
    if not rows or len(shape) != 4:
        return None
    n = len({p.chip for p in rows})
    head = f"{rows[0].model} was published under {eff.efficiency_class} on {n} chip{'s' if n > 1 else ''}"
    same = published_elsewhere(graph, result.record.id, result.precision.name, eff.efficiency_class)
    if same and eff.elsewhere is None:
        return (f"{head}, but the class never measured {result.chip}, so what its measurements are worth here "
                "is unknown: the verdict rests on the class prediction")
    if same:
        batches = sorted({p.batch for p in same})
        return None if result.batch in batches else (
            f"{head} at batch {', '.join(map(str, batches))}, not {result.batch}: the verdict rests on the class "
            "prediction")
    sizes = sorted({(p.height, p.width) for p in rows})
    if (shape[2], shape[3]) not in sizes:
        return (f"{head} at {', '.join(f'{h}×{w}' for h, w in sizes)}, not at this graph's {shape[2]}×{shape[3]}: "
                "the verdict rests on the class prediction")
    p = next(p for p in rows if (p.height, p.width) == (shape[2], shape[3]))
    return (f"{head}, but with {si(p.macs)}MACs and {si(p.params)} params at this input (this graph: "
            f"{si(graph.macs)}MACs, {si(graph.params)} params): another network of that name (a head for another "
            "number of classes?), so none of its measurements is used")


def measured_elsewhere(result: CheckResult, *, sparse: bool, fuse: bool, host: str | None,
                       chips_files: Iterable[str],
                       priced: dict[tuple, float | None] | None = None) -> Elsewhere | None:
    """The network's published measurements on the other chips of the runtime class ``result`` was
    priced with, at the batch asked (a network's ratio travels between chips at one batch; Hailo's
    differs between batch 1 and 8), each priced there as ``check`` prices it, carried to ``result``'s
    chip (one the class measured, so that what the carried prediction erred by is known; near a dataflow
    chip's capacity its band covers the other context choice, as the class's does); None when
    there are none, or on a sparse peak (the published rows ran dense). A chip that cannot price the
    network as asked is passed over. ``priced`` keeps the latencies priced, by chip, unit, batch and
    class, for the next call on the same count and options (``rank``'s chips)."""
    eff = result.efficiency
    if eff.elsewhere is None or sparse:  # the published rows are dense runs
        return None
    rows = published_elsewhere(result.count.graph, result.record.id, result.precision.name, eff.efficiency_class)
    rows = [p for p in rows if p.batch == result.batch]
    db = database(chips_files)
    priced = {} if priced is None else priced
    measured = []
    for p in rows:
        key = (p.chip, p.unit, p.batch, eff.efficiency_class)
        if key not in priced:
            record, unit = db.get(f"{p.chip}:{p.unit}")
            try:
                priced[key] = predict(result.count, record, unit, fps=result.fps, batch=p.batch, sparse=sparse,
                                      fuse=fuse, runtime=eff.efficiency_class, host=host,
                                      chips_files=chips_files).roof.latency_s
            except ChipfitError:
                priced[key] = None
        if priced[key] is not None:
            measured.append(Measured(p, priced[key]))
    if eff.carry_own:  # the class's fit chose to carry the chip's own rows with the others'
        measured += [m for m in result.published if m.row.batch == result.batch]
    if not measured:
        return None
    low, high = both_prices((eff.elsewhere.low, eff.elsewhere.high), (result.roof1, result.roof))
    return Elsewhere(measured, eff.elsewhere, result.roof.latency_s, result.batch, low, high)


def pick_units(name: str, spec: str, prec: Precision, sparse: bool = False,
               chips_files: Iterable[str] = ()) -> tuple[ChipRecord, list[Unit]]:
    """The units ``spec`` names (``all``: every unit with a peak at ``prec``; ``gpu+dla``: those)."""
    db = database(chips_files)
    record, _ = db.get(name)
    if spec == "all":
        picked = [u for u in record.chip.compute_units() if prec.compute in u.peaks(sparse)]
    else:
        picked = [db.get(f"{name}:{part}")[1] for part in spec.split("+")]
        lacking = [u.id for u in picked if prec.compute not in u.peaks(sparse)]
        if lacking:
            raise ChipfitError(f"unit {', '.join(lacking)} of {record.id} has no {'sparse' if sparse else 'dense'} "
                               f"{prec.compute} peak in the database")
    if not picked:
        raise ChipfitError(f"{record.id} has no unit with a {'sparse' if sparse else 'dense'} {prec.compute} peak")
    return record, picked


def pick_unit(chip: str, prec: Precision, sparse: bool = False,
              chips_files: Iterable[str] = ()) -> tuple[ChipRecord, Unit, str | None]:
    """The chip and unit ``chip`` names (``ID`` or ``ID:UNIT``). With no unit named, the
    first unit that has a peak at ``prec`` (as rank does), with a note saying so."""
    record, unit = database(chips_files).get(chip)
    if unit is None:
        raise ChipfitError(f"{record.id} has no compute peak in the database (only "
                           f"{', '.join(n for n, _ in record.chip.figures()) or 'no numbers'}); "
                           f"it cannot be checked")
    if not split_unit(chip)[1] and prec.compute not in unit.peaks(sparse):
        other = record.chip.unit_with(prec.compute, sparse)
        if other is not None:
            return record, other, f"unit {other.id} chosen: the default unit {unit.id} has no {prec.compute} peak"
    return record, unit, None

