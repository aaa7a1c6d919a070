"""Which ops a runtime leaves to the host CPU, and which CPU runs them: plain data.

A runtime's op support (:mod:`chipfit.data.runtime_ops`) says which op families its accelerator
runs. :func:`placement` flags every op of a graph that runs on the host instead: each op of a
family the accelerator does not run (``partition: per_op``), or, for a compiler that cuts the
graph once (the Edge TPU's), that op and every op after it. Ops that a deployment compiler
removes (copies, reshapes: :data:`NEUTRAL`) or folds into constants (an op that reads no
activation, only weights) never cut the graph. :func:`host_rate` finds the CPU
that runs them: the one named by ``host`` (a chip id, or ``id:unit``), else a CPU unit of the
chip itself; a coprocessor (Edge TPU, Hailo) has none, and then the ops are listed but not
priced.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from chipfit.analysis.roofline import HostRate, Roofline
from chipfit.core.costgraph import CostGraph
from chipfit.core.errors import ChipfitError
from chipfit.core.opfamily import family
from chipfit.core.precision import Precision
from chipfit.core.units import duration as _t
from chipfit.core.units import si, unit_ref
from chipfit.data.chips import ChipRecord, Unit, database
from chipfit.data.efficiency import for_unit
from chipfit.data.runtime_ops import RuntimeOps, runtime_ops

#: Families a deployment compiler removes or folds away: they never send the graph to the host.
NEUTRAL = frozenset({"copy", "reshape"})
#: Precisions a host CPU's peak is looked up in, after the model's own.
HOST_PRECISIONS = ("fp32", "fp16", "int8")


def placement(graph: CostGraph, ops: RuntimeOps | None) -> list[bool] | None:
    """Per op of ``graph``: True where ``ops``'s runtime leaves it to the host (None: none is)."""
    if ops is None:
        return None
    out, cut = [], False
    for op in graph.ops:
        fam = family(op)
        # an op that reads no activation (a frozen norm's rsqrt of its buffers) is folded away at compile time
        works = bool(op.act_read_elems) and bool(op.flops or op.act_write_elems)
        host = cut or (works and fam not in NEUTRAL and not ops.on_accelerator(fam))
        cut = cut or (host and ops.partition == "once")
        out.append(host)
    return out if any(out) else None


def _cpu_unit(record: ChipRecord, exclude: str | None = None) -> Unit | None:
    return next((u for u in record.chip.compute_units() if u.efficiency_class == "cpu" and u.id != exclude), None)


def own_cpu(record: ChipRecord, unit: Unit) -> bool:
    """Whether the chip has a CPU unit besides ``unit`` to run what ``unit``'s runtime leaves it."""
    return _cpu_unit(record, exclude=unit.id) is not None


def host_cpu(host: str, chips_files: Iterable[str] = ()) -> tuple[ChipRecord, Unit]:
    """The chip ``host`` names and its CPU unit; one sentence when it has none."""
    hrec, hunit = database(chips_files).get(host)
    if hunit is None or hunit.efficiency_class != "cpu":
        hunit = _cpu_unit(hrec)
    if hunit is None:
        raise ChipfitError(f"`host` {host} has no CPU unit in the database: name a chip of category cpu, or "
                           "one that lists a CPU unit")
    return hrec, hunit


def host_rate(record: ChipRecord, unit: Unit, precision: Precision, host: str | None = None,
              chips_files: Iterable[str] = ()) -> HostRate | None:
    """The CPU that runs what ``unit``'s runtime leaves to the host: ``host`` when given (a chip
    with a CPU unit), else a CPU unit of ``record`` other than ``unit``; None when there is none."""
    if host is not None:
        hrec, hunit = host_cpu(host, chips_files)
    else:
        hrec, hunit = record, _cpu_unit(record, exclude=unit.id)
        if hunit is None:
            return None
    peaks = hunit.peaks(False)
    key = next((p for p in (precision.compute, *HOST_PRECISIONS) if p in peaks), None)
    if key is None:
        raise ChipfitError(f"host {unit_ref(hrec.id, hunit.id)} has no dense peak in the database")
    bw = hrec.chip.memory_bandwidth_gbps
    return HostRate(unit_ref(hrec.id, hunit.id), peaks[key].value * 1e12, bw.value * 1e9 if bw else 0.0,
                    for_unit(hunit, chip=hrec.id))


@dataclass
class Fallback:
    """What a runtime leaves to the host CPU in one roofline, for reports."""

    runtime: str
    rules: RuntimeOps
    roof: Roofline
    families: dict[str, int]        # family -> ops of it that run on the host and do work
    first_op: str                   # the first of them (for ``once``: where the graph is cut)
    first_family: str

    @property
    def ops(self) -> int:
        return sum(self.families.values())

    @property
    def flops(self) -> int:
        return sum(o.flops for o in self.roof.host_ops)

    def to_dict(self) -> dict:
        host = self.roof.host
        return {"runtime": self.runtime, "partition": self.rules.partition, "ops": self.ops,
                "families": self.families, "first_op": self.first_op, "first_family": self.first_family,
                "flops": self.flops, "host": host.name if host else None,
                "host_s": self.roof.host_s if host else None, "priced": self.roof.host_priced,
                "host_class": host.efficiency.efficiency_class if host else None,
                "source": self.rules.source}


def fallback_of(runtime: str, graph: CostGraph, roof: Roofline) -> Fallback | None:
    """What ``runtime`` leaves to the host in ``roof`` (priced from ``graph``); None when every
    op runs on the accelerator."""
    rules = runtime_ops(runtime)
    if rules is None:
        return None
    moved = [(op, fam) for op, t in zip(graph.ops, roof.ops)
             if t.on_host and (t.flops or t.bytes) and (fam := family(op)) not in NEUTRAL]
    if not moved:
        return None
    first, fam = moved[0]
    return Fallback(runtime, rules, roof, dict(Counter(f for _, f in moved)), first.name or first.op, fam)


def placement_for(graph: CostGraph, runtime: str) -> list[bool] | None:
    """:func:`placement` under ``runtime``'s op support."""
    return placement(graph, runtime_ops(runtime))


def fallback_note(f: Fallback) -> str:
    """One sentence: what the runtime leaves to the host CPU, and what it costs."""
    roof = f.roof
    where = (f"the compiler cuts the graph at the first op it cannot map, {f.first_op} ({f.first_family}), and "
             "runs it and every op after it on the CPU" if f.rules.partition == "once" else
             f"each runs on the CPU and the next op returns to the accelerator; first {f.first_op} ({f.first_family})")
    fams = ", ".join(f"{n} {fam}" for fam, n in sorted(f.families.items(), key=lambda kv: -kv[1]))
    if roof.host is None:
        cost = ("not priced: the chip has no CPU unit in the database; give `host` (a chip with a CPU unit, "
                "e.g. raspberry-pi-5) to price them")
    else:
        share = roof.host_s / roof.latency_s if roof.latency_s else 0.0
        cost = f"{_t(roof.host_s)} of the {_t(roof.latency_s)} latency ({share:.0%}) on {roof.host.name}"
    return (f"runtime {f.runtime} leaves {f.ops} ops ({si(f.flops)}FLOPs) to the host CPU ({fams}); {where}: {cost}")
