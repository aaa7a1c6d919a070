"""``chipfit.plan``: several models running at once on one or more chips.

Plain data, no printing. Each stage of a :mod:`scenario <chipfit.analysis.scenario>` is priced by the
same analysis as its single-model command: a ``model`` stage by :func:`chipfit.check`'s
per-op roofline, an ``llm`` stage by :func:`chipfit.llm` (prefill plus every decode step). A
``process`` stage (letterbox, resize, NMS on the host CPU) is counted from its algorithm
(:mod:`chipfit.analysis.host_ops`) and priced by the same per-op roofline on the host's CPU unit
(efficiency class ``cpu``): its own unit, so its utilization is summed apart from the
accelerator's (they run in parallel), while its latency sits on the ``after`` chain like any
stage's. Then, with every stage running concurrently:

- **rate**: ``triggers/s`` = the stage's rate × ``streams`` (a ``per_input`` stage is started by
  each run of its slowest input); ``runs/s`` = triggers/s × fan-out (``per_input``) × ``repeat``;
- **demand**: ops/s = FLOPs per run × runs/s (required TOPS = ops/s / 1e12); GB/s = bytes moved
  per run × runs/s;
- **share of the unit** = runs/s × busy time per run, where busy time = the roofline latency of
  one batch / batch (an LLM request: prefill + all decode steps, ÷ batch). A unit keeps up when
  the shares of the stages on it sum to at most 1 (its *utilization*);
- **memory** per chip = the weights of each distinct (model, precision) once + every stage's
  working set (largest activation set at its batch; an LLM's KV cache and prefill activations;
  a process stage's frame buffers) + ``overhead_gb`` once per chip that runs a model or an LLM
  (runtime allowance; a host that only runs process stages has none);
- **bandwidth** per chip = the sum of the stages' GB/s against the chip's DRAM bandwidth (the
  units of a chip share it);
- **latency** of a stage per trigger = repeat × ⌈fan-out / batch⌉ × latency of one batch; the
  end-to-end latency is the longest path of ``after`` links; a ``stream`` stage starts on its
  producers' first output (an LLM's time to first token) and the plan also gives the time to the
  first output of the path's last stage. Under load the other stages on a
  stage's unit take their share of its time, so the *loaded* latency stretches each stage by
  1 / (1 − the others' utilization of its unit) (time slicing); a unit over 100 % makes it
  unbounded (the queue grows). The budget is checked against the loaded latency. Waiting to
  fill a batch is not counted (requests join a running batch as they arrive);
- **verdict**: sufficient when every unit's utilization ≤ 1, every chip's memory and
  bandwidth suffice, and the loaded end-to-end latency is within the budget. The limiting
  resource is the one closest to (or furthest past) its limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from chipfit.analysis.check import capacity_of, count_for, measured_elsewhere, pick_unit, predict
from chipfit.analysis.count import CountResult
from chipfit.analysis.explain import bound_words, plan_explanation
from chipfit.analysis.fallback import fallback_note, own_cpu
from chipfit.analysis.llm import llm
from chipfit.analysis.params import PlanParams, literal_values, validate
from chipfit.analysis.scenario import Scenario, Stage, load, loads
from chipfit.core.errors import ChipfitError
from chipfit.core.precision import get_precision
from chipfit.core.units import duration, num, unit_ref
from chipfit.data.chips import ChipRecord, Unit, database, select, split_unit, with_mode
from chipfit.frontends.resolve import names_code

#: Precision of a stage when neither it nor the scenario names one (as chipfit check / llm).
DEFAULT_PRECISION = {"model": "int8", "llm": "fp16", "process": "fp32"}
#: The efficiency class of the CPU units a process stage runs on.
HOST_CLASS = "cpu"
SORT_KEYS = literal_values(PlanParams, "by")


@dataclass
class StagePlan:
    """One stage on its chip unit: demand, share, memory and latency."""

    stage: Stage
    record: ChipRecord
    unit: Unit
    precision: str
    triggers_per_s: float     # starts per second (all streams)
    runs_per_s: float         # inferences / requests per second (× fan-out × repeat)
    flops: float              # per run
    bytes: float              # moved per run
    busy_s: float             # unit time per run (one batch's latency / batch)
    latency_s: float          # per trigger (repeat × batches of the fan-out)
    batch_latency_s: float    # one batch
    weight_bytes: int
    working_bytes: int        # activations (+ KV cache) at the stage's batch
    bound: str
    detail: Any = field(repr=False)   # the CheckResult or LLMResult behind it
    notes: list[str] = field(default_factory=list)
    first_s: float = 0.0      # per trigger, to the first output (an LLM's first token, a first batch)
    work: Any = field(default=None, repr=False)   # a process stage's HostWork (ops and bytes per run)

    @property
    def name(self) -> str:
        return self.stage.name

    @property
    def is_host(self) -> bool:
        """A process stage: work on the host CPU, beside the accelerator."""
        return self.work is not None

    @property
    def chip(self) -> str:
        return self.record.id

    @property
    def unit_key(self) -> str:
        return f"{self.record.id}:{self.unit.id}"

    @property
    def weights_key(self) -> tuple[str, str, str]:
        return (self.record.id, self.detail.model if self.stage.llm else self.detail.count.model, self.precision)

    @property
    def ops_per_s(self) -> float:
        return self.flops * self.runs_per_s

    @property
    def required_tops(self) -> float:
        return self.ops_per_s / 1e12

    @property
    def required_bandwidth_gbps(self) -> float:
        return self.bytes * self.runs_per_s / 1e9

    @property
    def share(self) -> float:
        """Fraction of its unit's time this stage takes."""
        return self.runs_per_s * self.busy_s

    @property
    def peak_tops(self) -> float:
        return self.detail.peak_tops

    @property
    def band(self) -> tuple[float, float]:
        """(low, high) multipliers of this stage's time from its class's measured error (or, where its
        time rests on the network's published measurements, their band: ``check``'s verdict band); an LLM
        stage takes the wider of its prefill and decode bands; (1, 1) without measurements."""
        if not self.stage.llm:
            return self.detail.verdict_band
        bands = [b for b in (self.detail.ttft_band, self.detail.tpot_band) if b is not None]
        return (min(b.low for b in bands), max(b.high for b in bands)) if bands else (1.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        s = self.stage
        out = {
            "name": s.name, "kind": s.kind, "model": self.weights_key[1], "chip": self.chip,
            "unit": self.unit.id, "precision": self.precision, "rate": s.rate.describe(s.covers_s) if s.rate
            else "1 per input", "streams": s.streams, "batch": s.batch, "repeat": s.repeat, "after": list(s.after),
            "stream": s.stream,
            "triggers_per_s": self.triggers_per_s, "runs_per_s": self.runs_per_s,
            "flops_per_run": self.flops, "bytes_per_run": self.bytes,
            "ops_per_s": self.ops_per_s, "required_tops": self.required_tops,
            "required_bandwidth_gbps": self.required_bandwidth_gbps, "chip_peak_tops": self.peak_tops,
            "busy_s_per_run": self.busy_s, "share": self.share, "latency_s": self.latency_s,
            "batch_latency_s": self.batch_latency_s, "bound": self.bound,
            "weight_bytes": self.weight_bytes, "working_bytes": self.working_bytes, "note": s.note,
            "notes": list(self.notes),
            "latency_basis": "class" if s.llm else self.detail.verdict_basis,
        }
        if s.llm:
            d = self.detail
            out.update({"prompt": d.prompt, "output": d.output, "ttft_s": d.ttft_s, "tpot_s": d.tpot_s,
                        "kv_cache_bytes": d.memory.kv_cache, "engine": d.engine})
        if self.is_host:
            out.update({"process": s.process.to_dict(), "steps": [
                {"name": st.name, "flops": st.flops, "read_bytes": st.read_bytes, "write_bytes": st.write_bytes,
                 "bytes": st.bytes, "time_s": o.time_s, "bound": o.bound, "formula": st.formula}
                for st, o in zip(self.work.steps, self.detail.roof1.ops)]})
        return out


@dataclass
class UnitLoad:
    chip: str
    unit: str
    name: str
    stages: list[str]
    utilization: float
    utilization_low: float = 0.0    # each stage's time at the fast end of its error band
    utilization_high: float = 0.0   # ... and at the slow end
    host_stages: list[str] = field(default_factory=list)   # of its stages, the process stages

    def to_dict(self) -> dict[str, Any]:
        return vars(self).copy()


@dataclass
class ChipLoad:
    """What all the stages placed on one chip ask of it."""

    record: ChipRecord
    stages: list[str]
    weight_bytes: int           # distinct (model, precision) weights
    working_bytes: int
    overhead_bytes: int
    ops_per_s: float
    bytes_per_s: float
    units: list[UnitLoad]

    @property
    def chip(self) -> str:
        return self.record.id

    @property
    def memory_bytes(self) -> int:
        return self.weight_bytes + self.working_bytes + self.overhead_bytes

    @property
    def capacity_bytes(self) -> int | None:
        return capacity_of(self.record.chip)[0]

    @property
    def memory_fits(self) -> bool:
        return self.capacity_bytes is None or self.memory_bytes <= self.capacity_bytes

    @property
    def bandwidth_gbps(self) -> float | None:
        bw = self.record.chip.memory_bandwidth_gbps
        return bw.value if bw else None

    @property
    def bandwidth_share(self) -> float | None:
        return self.bytes_per_s / 1e9 / self.bandwidth_gbps if self.bandwidth_gbps else None

    @property
    def power_w(self) -> float | None:
        p = self.record.chip.power_w
        return p.value if p else None

    def to_dict(self) -> dict[str, Any]:
        return {"chip": self.chip, "chip_name": self.record.chip.name, "stages": self.stages,
                "required_tops": self.ops_per_s / 1e12, "required_bandwidth_gbps": self.bytes_per_s / 1e9,
                "chip_bandwidth_gbps": self.bandwidth_gbps, "bandwidth_share": self.bandwidth_share,
                "weight_bytes": self.weight_bytes, "working_bytes": self.working_bytes,
                "overhead_bytes": self.overhead_bytes, "memory_bytes": self.memory_bytes,
                "memory_capacity_bytes": self.capacity_bytes, "memory_fits": self.memory_fits,
                "power_w": self.power_w, "units": [u.to_dict() for u in self.units]}


@dataclass
class PlanResult:
    scenario: Scenario
    stages: list[StagePlan]
    chips: list[ChipLoad]
    critical_path: list[str]
    latency_s: float              # along the critical path, every unit otherwise idle
    latency_loaded_s: float       # the same path, each stage slowed by the others on its unit
    notes: list[str] = field(default_factory=list)
    first_output_s: float = 0.0   # to the first output of the path's last stage (streaming stages)
    first_output_loaded_s: float = 0.0

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def latency_budget_s(self) -> float | None:
        return self.scenario.latency_budget_s

    @property
    def required_tops(self) -> float:
        return sum(s.ops_per_s for s in self.stages) / 1e12

    @property
    def required_bandwidth_gbps(self) -> float:
        return sum(s.required_bandwidth_gbps for s in self.stages)

    @property
    def memory_bytes(self) -> int:
        return sum(c.memory_bytes for c in self.chips)

    @property
    def memory_fits(self) -> bool:
        return all(c.memory_fits for c in self.chips)

    @property
    def utilization(self) -> float:
        """The busiest unit's utilization."""
        return max(u.utilization for c in self.chips for u in c.units)

    @property
    def host_units(self) -> list[UnitLoad]:
        """The units that run process stages (the host CPUs)."""
        return [u for c in self.chips for u in c.units if u.host_stages]

    @property
    def host_utilization(self) -> float | None:
        """The busiest host unit's utilization (None without process stages)."""
        return max((u.utilization for u in self.host_units), default=None)

    @property
    def accelerator_utilization(self) -> float | None:
        """The busiest unit that runs a model or an LLM (None when only process stages run)."""
        return max((u.utilization for c in self.chips for u in c.units if len(u.host_stages) < len(u.stages)),
                   default=None)

    @property
    def latency_ok(self) -> bool:
        return self.latency_budget_s is None or self.latency_loaded_s <= self.latency_budget_s

    @property
    def path_band(self) -> tuple[float, float]:
        """The widest error band of the stages on the critical path."""
        on = [s.band for s in self.stages if s.name in self.critical_path] or [(1.0, 1.0)]
        return min(b[0] for b in on), max(b[1] for b in on)

    @property
    def verdict(self) -> str:
        """SUFFICIENT when the plan holds with every stage at the slow end of its error band,
        INSUFFICIENT when it fails even at the fast end, else UNCERTAIN."""
        bw_ok = all((c.bandwidth_share or 0) <= 1 for c in self.chips)
        if not self.memory_fits:
            return "INSUFFICIENT"
        low, high = self.path_band
        budget = self.latency_budget_s

        def holds(util: float, lat_scale: float) -> bool:
            return util <= 1 and (budget is None or self.latency_loaded_s * lat_scale <= budget)
        if holds(max(u.utilization_high for c in self.chips for u in c.units), high) and bw_ok:
            return "SUFFICIENT"
        if holds(max(u.utilization_low for c in self.chips for u in c.units), low):
            return "UNCERTAIN"
        return "INSUFFICIENT"

    @property
    def sufficient(self) -> bool:
        return (self.memory_fits and self.utilization <= 1 and self.latency_ok
                and all((c.bandwidth_share or 0) <= 1 for c in self.chips))

    def pressures(self) -> list[tuple[float, str]]:
        """(demand / limit, what) for every limited resource, highest first."""
        out: list[tuple[float, str]] = []
        for c in self.chips:
            for u in c.units:
                where = unit_ref(u.chip, u.unit)
                host = " (host)" if u.host_stages and len(u.host_stages) == len(u.stages) else ""
                out.append((u.utilization, f"compute of {where}{host}: {100 * u.utilization:.3g} % busy with "
                            f"{', '.join(u.stages)}"))
            if c.capacity_bytes:
                out.append((c.memory_bytes / c.capacity_bytes, f"memory of {c.chip}: needs "
                            f"{num(c.memory_bytes / 1e9)} GB of {num(c.capacity_bytes / 1e9)} GB"))
            if c.bandwidth_share is not None:
                out.append((c.bandwidth_share, f"memory bandwidth of {c.chip}: needs "
                            f"{num(c.bytes_per_s / 1e9)} GB/s of {num(c.bandwidth_gbps)} GB/s"))
        if self.latency_budget_s:
            out.append((self.latency_loaded_s / self.latency_budget_s,
                        f"latency: {duration(self.latency_loaded_s)} under load along "
                        f"{' → '.join(self.critical_path)}, budget {duration(self.latency_budget_s)}"))
        return sorted(out, key=lambda p: -p[0])

    @property
    def limiting(self) -> str:
        return self.pressures()[0][1]

    def explain(self) -> list[tuple[str, str]]:
        """(quantity, formula with the numbers substituted) for every figure of the plan; a process
        stage adds the ops and bytes of each of its passes and what bounds it on the host."""
        return plan_explanation(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.name, "description": self.scenario.description, "source": self.scenario.source,
            "chips": [c.to_dict() for c in self.chips],
            "stages": [s.to_dict() for s in self.stages],
            "required_tops": self.required_tops, "required_bandwidth_gbps": self.required_bandwidth_gbps,
            "memory_bytes": self.memory_bytes, "memory_fits": self.memory_fits,
            "utilization": self.utilization, "critical_path": self.critical_path,
            "host_utilization": self.host_utilization, "accelerator_utilization": self.accelerator_utilization,
            "latency_s": self.latency_s, "latency_loaded_s": _finite(self.latency_loaded_s),
            "first_output_s": self.first_output_s, "first_output_loaded_s": _finite(self.first_output_loaded_s),
            "latency_budget_s": self.latency_budget_s, "latency_ok": self.latency_ok,
            "sufficient": self.sufficient, "verdict": self.verdict,
            "utilization_low": max(u.utilization_low for c in self.chips for u in c.units),
            "utilization_high": max(u.utilization_high for c in self.chips for u in c.units),
            "latency_loaded_s_low": _finite(self.latency_loaded_s * self.path_band[0]),
            "latency_loaded_s_high": _finite(self.latency_loaded_s * self.path_band[1]),
            "limiting": self.limiting,
            "notes": list(self.notes),
        }


@dataclass
class PlanRank:
    """The scenario on every chip (after the filters): those that carry it, best first."""

    scenario: Scenario
    by: str
    ranked: list[PlanResult]
    failing: list[PlanResult]
    skipped: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        def row(p: PlanResult) -> dict[str, Any]:
            main = p.chips[0]
            return {"chip": main.chip, "chip_name": main.record.chip.name, "utilization": p.utilization,
                    "memory_bytes": main.memory_bytes, "memory_capacity_bytes": main.capacity_bytes,
                    "bandwidth_share": main.bandwidth_share, "latency_s": p.latency_s,
                    "latency_loaded_s": _finite(p.latency_loaded_s), "power_w": main.power_w,
                    "sufficient": p.sufficient, "verdict": p.verdict, "limiting": p.limiting}

        return {"scenario": self.scenario.name, "by": self.by,
                "chips": [row(p) for p in self.ranked], "insufficient": [row(p) for p in self.failing],
                "skipped": [{"chip": k, "reason": v} for k, v in self.skipped.items()]}


# -- entry points -------------------------------------------------------------------------
def plan(scenario: str | Path | Scenario | dict, *, chip: str | None = None, load_factor: float = 1.0,
         power_mode: str | None = None, chips_files: Iterable[str] = (), allow_code: bool = False,
         _cache: dict | None = None) -> PlanResult:
    """Price every stage of ``scenario`` (a file path, a :class:`Scenario` or its dict) on its
    chip, all at once. ``chip`` replaces the scenario's default chip (stages that name their own
    chip keep it); ``load_factor`` multiplies every source rate (2: twice the traffic). A stage's
    model may be ``module:callable`` (Python code, imported and run) only with ``allow_code``:
    a scenario is data, often received from someone else."""
    validate(PlanParams, chip=chip, load_factor=load_factor, power_mode=power_mode, chips_files=chips_files)
    sc = as_scenario(scenario)
    refuse_code(sc, allow_code)
    cache = {} if _cache is None else _cache
    default_chip = chip or sc.chip
    if power_mode is not None:
        if default_chip is None:
            raise ChipfitError("`power_mode` applies to the scenario's chip, and there is none: give `chip`")
        default_chip = with_mode(default_chip, power_mode)
    triggers = _triggers(sc, load_factor)
    stages = [_stage(sc, i, s, default_chip, chip is not None, triggers[s.name], cache, chips_files)
              for i, s in enumerate(sc.stages)]
    by_name = {s.name: s for s in stages}
    chips = _chip_loads(stages, sc.overhead_gb)
    util = {u.chip + ":" + u.unit: u.utilization for c in chips for u in c.units}
    path, lat, first = _timeline(sc, {s.name: (s.first_s, s.latency_s) for s in stages})
    stretch = {s.name: _stretch(s, util[s.unit_key]) for s in stages}
    _, loaded, first_loaded = _timeline(sc, {s.name: (s.first_s and s.first_s * stretch[s.name],
                                                      s.latency_s and s.latency_s * stretch[s.name])
                                             for s in stages})
    notes = [f"{s.name}: {n}" for s in stages for n in s.notes]
    for c in chips:
        if c.capacity_bytes is None:
            notes.append(f"{c.chip}: no memory capacity in the database (host memory): memory fit not checked")
        elif (reserve := capacity_of(c.record.chip)[1]) is not None:
            notes.append(f"{c.chip}: {reserve}")
        if c.bandwidth_gbps is None:
            notes.append(f"{c.chip}: no DRAM bandwidth in the database: memory time not modelled, an "
                         f"optimistic bound")
    if load_factor != 1:
        notes.insert(0, f"every rate × {load_factor:g} (`load_factor`)")
    return PlanResult(sc, [by_name[s.name] for s in sc.order()], chips, path, lat, loaded, notes,
                      first_output_s=first, first_output_loaded_s=first_loaded)


def rank_plan(scenario: str | Path | Scenario | dict, *, by: str = "power", category: str | None = None,
              max_power: float | None = None, min_memory_gb: float | None = None, load_factor: float = 1.0,
              power_mode: str | None = None, chips_files: Iterable[str] = (), allow_code: bool = False,
              progress=None) -> PlanRank:
    """Run the scenario with each chip of the database as its chip; sort those that carry it.
    ``progress(chip, done, total)`` is told of each chip."""
    validate(PlanParams, by=by, category=category, max_power=max_power, min_memory_gb=min_memory_gb,
             load_factor=load_factor, power_mode=power_mode, chips_files=chips_files)
    sc = as_scenario(scenario)
    refuse_code(sc, allow_code)
    records = select(database(chips_files), category=category, max_power=max_power, min_memory_gb=min_memory_gb,
                     power_mode=power_mode)
    cache: dict = {}
    ranked, failing, skipped = [], [], {}
    for i, rec in enumerate(records):
        if progress:
            progress(rec.id, i, len(records))
        try:
            p = plan(sc, chip=rec.id, load_factor=load_factor, chips_files=chips_files, allow_code=allow_code,
                     _cache=cache)
        except ChipfitError as exc:
            skipped[rec.id] = _reason(str(exc))
            continue
        (ranked if p.sufficient else failing).append(p)
    inf = float("inf")
    key = {"power": lambda p: (p.chips[0].power_w or inf, p.utilization),
           "utilization": lambda p: (p.utilization,),
           "latency": lambda p: (p.latency_loaded_s, p.utilization)}[by]
    ranked.sort(key=key)
    failing.sort(key=lambda p: p.pressures()[0][0])
    return PlanRank(sc, by, ranked, failing, skipped)


def refuse_code(sc: Scenario, allow_code: bool) -> None:
    """One sentence for a stage whose model is ``module:callable`` unless ``allow_code``."""
    if allow_code:
        return
    for i, s in enumerate(sc.stages):
        if s.model and names_code(s.model):
            raise sc.problem(("stages", i, "model"), f"'{s.model}' names Python code (module:callable), which "
                             f"counting would import and run; a scenario is data and runs no code: give a "
                             f"built-in name or a model file, or allow it with `allow_code` if you trust "
                             f"this file")


def as_scenario(scenario: str | Path | Scenario | dict) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, dict):
        return loads(yaml.safe_dump(scenario, sort_keys=False), "<scenario>")
    return load(scenario)


# -- the pieces ---------------------------------------------------------------------------
def _triggers(sc: Scenario, load_factor: float) -> dict[str, float]:
    """Starts per second of every stage, all streams, in dependency order."""
    out: dict[str, float] = {}
    for s in sc.order():
        r = s.rate
        if r is None or r.form == "per_input":
            base = min(out[a] for a in s.after)
        else:
            base = load_factor * {"per_s": r.value, "every_s": 1 / r.value,
                                  "realtime": r.value / (s.covers_s or 1)}[r.form]
        out[s.name] = base * s.streams
    return out


def _fanout(s: Stage) -> float:
    return s.rate.per_input if s.rate is not None and s.rate.form == "per_input" else 1.0


def _stage(sc: Scenario, i: int, s: Stage, default_chip: str | None, chip_given: bool, triggers: float,
           cache: dict, chips_files: Iterable[str]) -> StagePlan:
    where = ("stages", i)
    if s.process is not None:
        chip_ref, chip_loc = _host_ref(sc, i, s, default_chip, chip_given, chips_files)
    elif s.chip:
        chip_ref, chip_loc = s.chip, where + ("chip",)
    elif default_chip:
        chip_ref = default_chip + (f":{s.unit}" if s.unit else "")
        chip_loc = where + ("unit",) if s.unit else (None if chip_given else ("chip",))
    else:
        raise sc.problem(where, f"stage '{s.name}' has no chip: give chip: in the scenario or the stage, "
                         f"or `chip`")
    prec_name = s.precision or (None if s.process else sc.precision) or DEFAULT_PRECISION[s.kind]
    prec_loc = where + ("precision",) if s.precision else ("precision",)

    def fail(loc: tuple | None, exc: ChipfitError) -> ChipfitError:
        if loc is None:  # from the chip argument: no line in the file
            return ChipfitError(f"`chip` {default_chip}: {exc.template}")
        return sc.problem(loc, str(exc))

    try:
        prec = get_precision(prec_name)
    except ChipfitError as exc:
        raise fail(prec_loc, exc) from None
    runs = triggers * _fanout(s) * s.repeat
    batches = math.ceil(_fanout(s) / s.batch)
    if s.process is not None:
        return _host_stage(s, chip_ref, chip_loc, prec, triggers, runs, batches, fail, chips_files)
    if s.llm:
        try:
            database(chips_files).get(chip_ref)
        except ChipfitError as exc:
            raise fail(chip_loc, exc) from None
        try:
            r = llm(s.llm, chip_ref, prompt=s.prompt or 512, output=s.output or 128, batch=s.batch,
                    precision=prec, kv_precision=s.kv_precision, engine=s.engine or "auto", overhead_gb=0,
                    chips_files=chips_files)
        except ChipfitError as exc:
            raise fail(where + ("llm",), exc) from None
        batch_s = r.e2e_latency_s
        flops = (r.prefill.flops + r.decode.flops) / s.batch
        nbytes = (r.prefill.bytes + r.decode.bytes) / s.batch
        notes = [] if (s.prompt and s.output) else [f"prompt {r.prompt} and output {r.output} tokens "
                                                    f"(defaults; set prompt: and output:)"]
        sp = StagePlan(s, r.record, r.unit, prec.name, triggers, runs, flops, nbytes, batch_s / s.batch,
                       s.repeat * batches * batch_s, batch_s, r.memory.weights,
                       r.memory.kv_cache + r.memory.activations, r.decode.bound, r, notes + r.notes,
                       first_s=r.ttft_s)
        return sp
    try:
        record, unit, note = pick_unit(chip_ref, prec, chips_files=chips_files)
    except ChipfitError as exc:
        raise fail(chip_loc, exc) from None
    try:
        count = _count(s, prec, cache)
        res = predict(count, record, unit, fps=runs, batch=s.batch, runtime=s.runtime,
                      host=None if own_cpu(record, unit) else sc.host, chips_files=chips_files)
    except ChipfitError as exc:
        raise fail(where + ("runtime" if s.runtime and "runtime" in str(exc) else "model",), exc) from None
    # as check does: the network's published measurements (here, or on the runtime's other chips carried here)
    res.elsewhere = measured_elsewhere(res, sparse=False, fuse=True, host=sc.host, chips_files=chips_files)
    batch_s = res.roof.latency_s * res.verdict_scale
    notes = ([note] if note else []) + list(count.notes) + ([fallback_note(res.fallback)] if res.fallback else [])
    return StagePlan(s, record, unit, prec.name, triggers, runs, res.roof.flops / s.batch,
                     res.roof.bytes / s.batch, batch_s / s.batch, s.repeat * batches * batch_s, batch_s,
                     res.weight_bytes, res.peak_activation_bytes, res.roof.bound, res, notes, first_s=batch_s)


def _host_ref(sc: Scenario, i: int, s: Stage, default_chip: str | None, chip_given: bool,
              chips_files: Iterable[str]) -> tuple[str, tuple | None]:
    """(the chip reference a process stage runs on, where the file names it): the stage's own
    chip, else the scenario's ``host``, else the CPU unit of the scenario's chip if it lists one."""
    where = ("stages", i)
    if s.chip:
        return s.chip, where + ("chip",)
    if sc.host:
        return sc.host, ("host",)
    lacking = ""
    if default_chip:
        try:
            record, _ = database(chips_files).get(default_chip)
        except ChipfitError as exc:
            if not chip_given:
                raise sc.problem(("chip",), str(exc)) from None
            raise ChipfitError(f"`chip` {default_chip}: {exc.template}") from None
        cpu = next((u for u in record.chip.compute_units() if u.efficiency_class == HOST_CLASS), None)
        if cpu is not None:
            return f"{split_unit(default_chip)[0]}:{cpu.id}", None if chip_given else ("chip",)
        lacking = f" ({record.id} lists no CPU unit)"
    raise sc.problem(where + ("process",), f"stage '{s.name}' runs on a host CPU and the scenario names "
                     f"none{lacking}: give host: <chip id> at the top of the scenario, a chip with a CPU unit "
                     f"such as raspberry-pi-5 (chipfit chips --category cpu lists CPUs)")


def _host_unit(ref: str, prec: Any, chips_files: Iterable[str]) -> tuple[ChipRecord, Unit]:
    """The CPU unit ``ref`` names (``ID`` picks the chip's CPU unit with a peak at ``prec``)."""
    record, unit = database(chips_files).get(ref)
    units = record.chip.compute_units()
    cpus = [u for u in units if u.efficiency_class == HOST_CLASS]
    if split_unit(ref)[1]:
        if unit.efficiency_class != HOST_CLASS:
            others = f"; its CPU unit is {record.id}:{cpus[0].id}" if cpus else ""
            raise ChipfitError(f"unit {unit.id} of {record.id} is priced as {unit.efficiency_class}, not as a "
                               f"CPU: process stages run on a CPU unit{others}")
        return record, unit
    if not cpus:
        have = (f"its units are {', '.join(f'{u.id} ({u.efficiency_class})' for u in units)}" if units
                else "it has no compute peak in the database")
        raise ChipfitError(f"{record.id} has no CPU unit to run process stages on ({have}); give the "
                           f"scenario a host: a chip of category cpu")
    return record, next((u for u in cpus if prec.compute in u.peaks(False)), cpus[0])


def _host_stage(s: Stage, chip_ref: str, chip_loc: tuple | None, prec: Any, triggers: float, runs: float,
                batches: int, fail, chips_files: Iterable[str]) -> StagePlan:
    """A process stage: its passes (host_ops) as a cost graph, priced by check's per-op roofline
    on the host's CPU unit."""
    work = s.process.work()
    try:
        record, unit = _host_unit(chip_ref, prec, chips_files)
        have = list(unit.peaks(False))
        if prec.compute not in have:
            listed = f"it lists {', '.join(have)}" if have else "it lists no peak"
            hint = f": give the stage precision: {have[0]} to price it at that peak" if have else ""
            raise ChipfitError(f"{unit_ref(record.id, unit.id)} has no dense {prec.compute} peak in the database "
                               f"({listed}); a process stage's element-wise arithmetic is priced at the CPU's "
                               f"{prec.compute} peak{hint}")
        res = predict(CountResult(work.graph(), prec), record, unit, fps=runs, batch=s.batch)
    except ChipfitError as exc:
        raise fail(chip_loc, exc) from None
    batch_s = res.roof.latency_s
    notes = [_host_note(work, res)] + list(res.notes)
    return StagePlan(s, record, unit, prec.name, triggers, runs, res.roof.flops / s.batch, res.roof.bytes / s.batch,
                     batch_s / s.batch, s.repeat * batches * batch_s, batch_s, 0, res.peak_activation_bytes,
                     res.roof.bound, res, notes, first_s=batch_s, work=work)


def _host_note(work: Any, res: Any) -> str:
    """What bounds a process stage on its CPU, in one sentence with the numbers."""
    eff, roof = res.efficiency, res.roof1
    where = unit_ref(res.record.id, res.unit.id)
    passes = ", ".join(f"{o.name} {bound_words(o.bound)}" for o in roof.ops)
    intensity = work.flops / work.bytes if work.bytes else float("inf")
    if not roof.bandwidth:
        return (f"element-wise work on the host CPU ({intensity:.2g} operations per byte), priced at the "
                f"{eff.efficiency_class} class's vector efficiency {eff.vector:g}; {where} has no DRAM bandwidth "
                f"in the database, so memory time is not modelled")
    ridge = res.peak_tops * 1e12 * eff.vector / (roof.bandwidth * eff.memory)
    return (f"element-wise work on the host CPU: {intensity:.2g} operations per byte against {where}'s ridge of "
            f"{ridge:.3g} ({res.precision.compute} peak × vector efficiency {eff.vector:g} / DRAM bandwidth): "
            f"{passes}")


def _count(s: Stage, prec: Any, cache: dict):
    """The stage's count at ``prec`` (chip-independent: computed once per plan or ranking)."""
    kwargs: dict[str, Any] = {}
    if s.input_shape:
        kwargs["input_shape"] = [",".join(map(str, s.input_shape))]
    if s.seq_len:
        kwargs["seq_len"] = s.seq_len
    if s.phase:
        kwargs["phase"] = s.phase
    if s.context is not None:
        kwargs["context"] = s.context
    key = (s.model, prec.name, tuple(sorted((k, str(v)) for k, v in kwargs.items())))
    if key not in cache:
        cache[key] = count_for(s.model, prec, kwargs)
    return cache[key]


def _chip_loads(stages: list[StagePlan], overhead_gb: float) -> list[ChipLoad]:
    """What the stages ask of each chip; chips that run a model or an LLM first (the first is
    the one a ranking names), hosts that only run process stages after them."""
    out: dict[str, ChipLoad] = {}
    weights: dict[tuple, int] = {}
    for sp in stages:
        c = out.get(sp.chip)
        if c is None:
            c = out[sp.chip] = ChipLoad(sp.record, [], 0, 0, 0, 0.0, 0.0, [])
        if not sp.is_host:
            c.overhead_bytes = int(overhead_gb * 1e9)
        c.stages.append(sp.name)
        c.working_bytes += sp.working_bytes
        c.ops_per_s += sp.ops_per_s
        c.bytes_per_s += sp.bytes * sp.runs_per_s
        weights[sp.weights_key] = max(weights.get(sp.weights_key, 0), sp.weight_bytes)
        u = next((u for u in c.units if u.unit == sp.unit.id), None)
        if u is None:
            u = UnitLoad(sp.chip, sp.unit.id, sp.unit.name, [], 0.0)
            c.units.append(u)
        u.stages.append(sp.name)
        if sp.is_host:
            u.host_stages.append(sp.name)
        u.utilization += sp.share
        u.utilization_low += sp.share * sp.band[0]
        u.utilization_high += sp.share * sp.band[1]
    for (chip, _, _), b in weights.items():
        out[chip].weight_bytes += b
    return sorted(out.values(), key=lambda c: all(u.host_stages == u.stages for u in c.units))


def _timeline(sc: Scenario, times: dict[str, tuple[float, float]]) -> tuple[list[str], float, float]:
    """(the critical path, the end-to-end latency, the time to its first output) from each
    stage's (time to first output, latency). A stage starts when the stages in its ``after``
    finish, or, with ``stream``, when they give their first output; a streaming stage cannot
    finish before its producers do. Without streaming this is the longest path of ``after`` links."""
    done: dict[str, tuple[float, list[str]]] = {}
    first: dict[str, float] = {}
    for s in sc.order():
        ready = [(first[a] if s.stream else done[a][0], a) for a in s.after]
        start, src = max(ready, default=(0.0, None))
        to_first, latency = times[s.name]
        end, via = start + latency, src
        if s.stream:
            last, producer = max(((done[a][0], a) for a in s.after), default=(0.0, None))
            if last >= end:   # finishes with its producer: the path runs through both
                end, via = last, producer
        first[s.name] = start + to_first
        done[s.name] = (end, (done[via][1] if via else []) + [s.name])
    end, path = max(reversed(list(done.values())), key=lambda b: b[0])   # a tie: the stage further down
    return path, end, first[path[-1]]


def _stretch(sp: StagePlan, unit_utilization: float) -> float:
    """How much the other stages on a stage's unit stretch its times: 1 / (1 − their
    utilization); unbounded when the unit cannot keep up at all."""
    if unit_utilization > 1:
        return float("inf")
    return 1 / (1 - (unit_utilization - sp.share))


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _reason(msg: str) -> str:
    """A scenario error reduced to what it says about the chip (for rank's skipped list)."""
    return msg.split(": ", 2)[-1] if ", line " in msg else msg
