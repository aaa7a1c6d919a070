"""Schema of chip files (docs/architecture.md, "Data files"): one YAML file per vendor.

A file names its documents once under ``sources`` and every number cites one of them::

    vendor: NVIDIA
    sources:
      h100-ds: {title: "NVIDIA H100 Tensor Core GPU datasheet", url: "https://...", date: "2023-07"}
    chips:
      - id: h100-sxm
        name: NVIDIA H100 SXM5 80GB
        category: datacenter
        efficiency_class: nvidia-gpu
        dense:                      # dense peak per arithmetic, in TOPS (= TFLOPS for floats)
          fp16: {value: 989.4, source: h100-ds, flag: derived, formula: "1978.9 sparse / 2"}
        sparse:
          fp16: {value: 1978.9, source: h100-ds, flag: datasheet}
        memory_bandwidth_gbps: {value: 3350, source: h100-ds, flag: datasheet}
        memory_gb: {value: 80, source: h100-ds, flag: datasheet}
        power_w: {value: 700, source: h100-ds, flag: datasheet}

``flag`` says how the number was obtained: ``datasheet`` (quoted from the vendor's own
document), ``third-party`` (quoted by someone else), ``derived`` (arithmetic on sourced
numbers; ``formula`` is then required) or ``measured`` (by ``chipfit probe`` or a benchmark).

``efficiency`` (written by ``chipfit calibrate``) holds efficiency factors fitted to
measurements of this very chip; they replace its efficiency class's factors in predictions.

A chip sold with several memory sizes lists them under ``memory_options`` (``apple-m4:16gb``
picks one; the chip's own ``memory_gb`` is the default and must be one of them). A chip with
vendor power modes (a Jetson's nvpmodel modes) lists them under ``power_modes``: each mode's
power, and the ratio of its clocks to the clocks the chip's peaks are listed at, per unit
(``jetson-orin-nano-8gb@15W``); ``memory_reserved_gb`` is what the OS and firmware keep of a
unified memory, so an application can use ``memory_gb - memory_reserved_gb``.

``clock_mhz`` (a unit's, or the chip's when it has no units) is the maximum (boost) clock the
unit's peaks are listed at. It prices what scales with the clock and not with the peak: the fixed
per-layer cost of an LLM engine (kernel launches, small kernels) in :mod:`chipfit.analysis.llm`.
A power mode scales it by the unit's ``clock_scale``, as it scales the peaks.

A chip whose vendor splits the compute into separately programmed units (a Jetson's GPU and
its DLAs) lists them under ``units``; the first unit is the default one. A single-unit chip
may give ``dense``/``sparse``/``efficiency_class`` at the chip level instead.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from chipfit.core.datafile import At
from chipfit.data.efficiency import Residual

#: Arithmetic a chip rates its peak in; the ``compute`` of a workload precision.
ComputeKey = Literal["fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4"]
Flag = Literal["datasheet", "third-party", "derived", "measured"]
Category = Literal["edge", "mobile", "desktop", "datacenter", "cpu"]

ID_PATTERN = r"^[a-z0-9][a-z0-9.+-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Source(_Strict):
    title: str = Field(min_length=3)
    url: str | None = None
    date: str | None = None  # publication or access date: YYYY, YYYY-MM or YYYY-MM-DD


#: no figure of any chip (TOPS, GB/s, GB, W) comes near this; a larger one is a typo or an attack
MAX_FIGURE = 1e9


class Figure(_Strict):
    """One sourced number."""

    value: float = Field(gt=0, le=MAX_FIGURE)
    min: float | None = Field(default=None, gt=0, le=MAX_FIGURE)  # lower end of a range (e.g. power modes)
    source: str
    flag: Flag
    formula: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _derived_has_formula(self) -> "Figure":
        if self.flag == "derived" and not self.formula:
            raise ValueError("a derived number needs its formula")
        if self.min is not None and self.min > self.value:
            raise ValueError(f"min {self.min} is above value {self.value}")
        return self


class Headline(_Strict):
    """The vendor's marketing figure, kept with what it really measures."""

    value: float = Field(gt=0, le=MAX_FIGURE)
    unit: str = "TOPS"
    definition: str = Field(min_length=3)  # e.g. "INT8 sparse, GPU + 2 DLA, MAXN"
    source: str
    flag: Flag


class Calibration(_Strict):
    """Efficiency factors fitted to measurements of this chip (``chipfit calibrate``)."""

    gemm: float = Field(gt=0, le=1)
    depthwise: float = Field(gt=0, le=1)
    vector: float = Field(gt=0, le=1)
    memory: float = Field(gt=0, le=1)
    basis: str = Field(min_length=3)       # what was fitted, on what, in one sentence
    date: str | None = None
    rows: list[str] = Field(min_length=1)  # the measurements: 'model batch precision: measured s'
    residual: Residual


class HostLink(_Strict):
    """The bus between a coprocessor and its host (USB, PCIe, M.2): weights that do not fit in
    the chip's on-chip memory cross it on every inference."""

    name: str = Field(min_length=3)  # e.g. "USB 3.0 (5 Gb/s)", "PCIe Gen2 x1"
    bandwidth_gbps: Figure            # usable data rate in GB/s (after line coding)


class MemoryOption(_Strict):
    """One memory size a chip is sold with, and its bandwidth where that differs."""

    memory_gb: Figure
    memory_bandwidth_gbps: Figure | None = None

    @property
    def id(self) -> str:
        return f"{self.memory_gb.value:g}gb"


class PowerMode(_Strict):
    """A vendor power mode: its power budget and its clocks relative to the listed peaks'."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # '15W', 'MAXN'
    power_w: Figure
    clock_scale: dict[str, Figure] = Field(default_factory=dict)  # unit id ('main': chip-level) -> clock ratio
    memory_bandwidth_gbps: Figure | None = None  # at the mode's memory clock, where it is lowered

    @field_validator("clock_scale")
    @classmethod
    def _ratios(cls, scale: dict[str, Figure]) -> dict[str, Figure]:
        for unit, fig in scale.items():
            if fig.value > 4:
                raise ValueError(f"clock_scale of unit '{unit}' is {fig.value:g}: a clock ratio, not a clock")
        return scale


class Unit(_Strict):
    """A compute unit the vendor describes separately (GPU, DLA, NPU, CPU cluster)."""

    id: str = Field(pattern=ID_PATTERN)
    name: str
    count: int = Field(default=1, ge=1, le=4096)  # identical instances (2 DLAs); peaks are per instance
    efficiency_class: str
    runtimes: list[str] = Field(default_factory=list)  # other runtimes (efficiency classes) it runs
    dense: dict[ComputeKey, Figure] = Field(min_length=1)
    sparse: dict[ComputeKey, Figure] = Field(default_factory=dict)
    # dense peaks with FP16 accumulation where faster than the listed (FP32-accumulate) ones: GeForce
    fp16_accumulate: dict[ComputeKey, Figure] = Field(default_factory=dict)
    power_w: Figure | None = None
    efficiency: Calibration | None = None
    clock_mhz: Figure | None = None  # max (boost) clock the peaks are listed at, MHz

    def peaks(self, sparse: bool = False) -> dict[str, Figure]:
        """Peak per arithmetic: the 2:4-sparsity table with ``sparse``, else the dense one."""
        return self.sparse if sparse else self.dense

    @model_validator(mode="after")
    def _faster_accumulate(self) -> "Unit":
        _check_accumulate(self.dense, self.fp16_accumulate)
        return self


def _check_accumulate(dense: dict[str, Figure], acc: dict[str, Figure]) -> None:
    for key, fig in acc.items():
        if key not in dense or fig.value <= dense[key].value:
            raise ValueError(f"fp16_accumulate.{key} must be above the dense {key} peak it speeds up")


class Chip(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str
    category: Category
    aliases: list[str] = Field(default_factory=list)
    headline: Headline | None = None
    efficiency_class: str | None = None
    runtimes: list[str] = Field(default_factory=list)  # other runtimes (efficiency classes) it runs
    dense: dict[ComputeKey, Figure] = Field(default_factory=dict)
    sparse: dict[ComputeKey, Figure] = Field(default_factory=dict)
    # dense peaks with FP16 accumulation where faster than the listed (FP32-accumulate) ones: GeForce
    fp16_accumulate: dict[ComputeKey, Figure] = Field(default_factory=dict)
    efficiency: Calibration | None = None
    clock_mhz: Figure | None = None  # chips without units: max (boost) clock the peaks are listed at, MHz
    units: list[Unit] = Field(default_factory=list)
    memory_bandwidth_gbps: Figure | None = None
    memory_gb: Figure | None = None
    onchip_memory_mb: Figure | None = None  # SRAM of chips without (or besides) DRAM
    host_link: HostLink | None = None  # coprocessors: the bus weights stream over when SRAM is full
    power_w: Figure | None = None  # TDP / typical board power; `min` for configurable ranges
    memory_options: list[MemoryOption] = Field(default_factory=list)  # sizes sold; memory_gb is the default
    memory_reserved_gb: Figure | None = None  # kept by the OS / firmware of a unified memory
    power_mode: str | None = None  # the mode the listed peaks, bandwidth and power are at
    power_modes: list[PowerMode] = Field(default_factory=list)
    notes: str | None = None

    @model_validator(mode="after")
    def _units_or_peaks(self) -> "Chip":
        if self.units and (self.dense or self.sparse or self.fp16_accumulate or self.efficiency_class
                           or self.efficiency or self.runtimes or self.clock_mhz):
            raise ValueError("give either units or chip-level dense/sparse/efficiency_class/runtimes/efficiency/"
                             "clock_mhz, not both")
        if not self.units and self.dense and not self.efficiency_class:
            raise ValueError("a chip with dense peaks needs efficiency_class")
        _check_accumulate(self.dense, self.fp16_accumulate)
        ids = [u.id for u in self.units]
        for k, uid in enumerate(ids):
            if uid in ids[:k]:
                raise At(("units", k, "id"), f"unit id '{uid}' is already used by an earlier unit")
        if self.memory_options:
            sizes = [o.id for o in self.memory_options]
            for k, size in enumerate(sizes):
                if size in sizes[:k]:
                    raise At(("memory_options", k, "memory_gb"), f"memory_options repeat a size: {sizes}")
            if self.memory_gb is None or f"{self.memory_gb.value:g}gb" not in sizes:
                raise At(("memory_gb",), "memory_gb (the default size) must be one of memory_options")
        if self.memory_reserved_gb is not None and (
                self.memory_gb is None or self.memory_reserved_gb.value >= min(
                    [self.memory_gb.value] + [o.memory_gb.value for o in self.memory_options])):
            raise At(("memory_reserved_gb",), "memory_reserved_gb must be below every memory size of the chip")
        if self.power_modes:
            modes = [m.id for m in self.power_modes]
            for k, mode in enumerate(modes):
                if mode in modes[:k]:
                    raise At(("power_modes", k, "id"), f"power mode ids repeat: {modes}")
            if self.power_mode not in modes:
                raise At(("power_mode",), f"power_mode (the mode the listed figures are at) must be one of {modes}")
            units = {u.id for u in self.compute_units()}
            for k, m in enumerate(self.power_modes):
                unknown = sorted(set(m.clock_scale) - units)
                if unknown:
                    raise At(("power_modes", k, "clock_scale", unknown[0]),
                             f"power mode {m.id} scales unknown units {unknown}; units: {sorted(units)}")
        elif self.power_mode is not None:
            raise At(("power_mode",), "power_mode names a mode, but the chip lists no power_modes")
        return self

    def compute_units(self) -> list[Unit]:
        """The units, the chip-level peaks making one unit ``main``; empty if no peak is known."""
        if self.units:
            return list(self.units)
        if not self.dense:
            return []
        return [Unit(id="main", name=self.name, efficiency_class=self.efficiency_class or "",
                     runtimes=self.runtimes, dense=self.dense, sparse=self.sparse,
                     fp16_accumulate=self.fp16_accumulate, power_w=self.power_w,
                     efficiency=self.efficiency, clock_mhz=self.clock_mhz)]

    def unit_with(self, compute: str, sparse: bool = False) -> Unit | None:
        """The first unit with a peak for ``compute`` (dense, or sparse with ``sparse``)."""
        return next((u for u in self.compute_units() if compute in u.peaks(sparse)), None)

    @property
    def usable_memory_gb(self) -> float | None:
        """What an application can use: the memory less the OS / firmware reserve."""
        if self.memory_gb is None:
            return None
        return self.memory_gb.value - (self.memory_reserved_gb.value if self.memory_reserved_gb else 0.0)

    def with_memory(self, size: str) -> "Chip":
        """This chip with the memory option ``size`` ('16gb'); its bandwidth if that option has its own."""
        option = next((o for o in self.memory_options if o.id == size.lower()), None)
        if option is None:
            if self.memory_options:
                have = ", ".join(o.id for o in self.memory_options)
            else:
                have = f"only {self.memory_gb.value:g}gb" if self.memory_gb else "none in the database"
            raise ValueError(f"chip '{self.id}' is not sold with {size}; its sizes: {have}")
        update: dict = {"id": f"{self.id}:{option.id}", "memory_gb": option.memory_gb,
                        "name": f"{self.name} ({option.memory_gb.value:g} GB)"}
        if option.memory_bandwidth_gbps is not None:
            update["memory_bandwidth_gbps"] = option.memory_bandwidth_gbps
        return self.model_copy(update=update)

    def at_mode(self, mode_id: str) -> "Chip":
        """This chip in power mode ``mode_id``: every peak of a unit times that unit's clock ratio
        (sparse too), the mode's power and, where the mode lowers it, its memory bandwidth."""
        mode = next((m for m in self.power_modes if m.id.lower() == mode_id.lower()), None)
        if mode is None:
            have = ", ".join(m.id for m in self.power_modes) or "none"
            raise ValueError(f"chip '{self.id}' has no power mode '{mode_id}'; its modes: {have}")
        if mode.id == self.power_mode:
            return self.model_copy(update={"id": f"{self.id}@{mode.id}"})

        def scaled(peaks: dict[str, Figure], unit: str) -> dict[str, Figure]:
            ratio = mode.clock_scale.get(unit)
            if ratio is None:
                return peaks
            return {k: f.model_copy(update={
                "value": f.value * ratio.value, "flag": "derived", "source": ratio.source, "note": None,
                "formula": f"{f.value:g} at {self.power_mode} x {ratio.value:.3g} clock ratio of mode {mode.id}"
                           + (f" ({ratio.formula})" if ratio.formula else "")}) for k, f in peaks.items()}

        def clock(fig: Figure | None, unit: str) -> Figure | None:
            return None if fig is None else scaled({"clock": fig}, unit)["clock"]

        update: dict = {"id": f"{self.id}@{mode.id}", "name": f"{self.name} at {mode.id}",
                        "power_w": mode.power_w, "power_mode": mode.id}
        if self.units:
            update["units"] = [u.model_copy(update={"dense": scaled(u.dense, u.id), "sparse": scaled(u.sparse, u.id),
                                                    "fp16_accumulate": scaled(u.fp16_accumulate, u.id),
                                                    "clock_mhz": clock(u.clock_mhz, u.id),
                                                    "power_w": None}) for u in self.units]
        else:
            update["dense"], update["sparse"] = scaled(self.dense, "main"), scaled(self.sparse, "main")
            update["fp16_accumulate"] = scaled(self.fp16_accumulate, "main")
            update["clock_mhz"] = clock(self.clock_mhz, "main")
        if mode.memory_bandwidth_gbps is not None:
            update["memory_bandwidth_gbps"] = mode.memory_bandwidth_gbps
        return self.model_copy(update=update)

    def figures(self) -> list[tuple[str, Figure]]:
        """Every sourced number with its dotted field name."""
        return [(name, fig) for name, _, fig in self.located_figures()]

    def located_figures(self) -> list[tuple[str, tuple, Figure]]:
        """Every sourced number with its dotted field name (list items named by their id) and its
        place in the chip's data (list items by index), for an error that points at its line."""
        out: list[tuple[str, tuple, Figure]] = []
        for name in ("memory_bandwidth_gbps", "memory_gb", "onchip_memory_mb", "power_w"):
            fig = getattr(self, name)
            if fig is not None:
                out.append((name, (name,), fig))
        if self.host_link is not None:
            out.append(("host_link.bandwidth_gbps", ("host_link", "bandwidth_gbps"), self.host_link.bandwidth_gbps))
        if self.memory_reserved_gb is not None:
            out.append(("memory_reserved_gb", ("memory_reserved_gb",), self.memory_reserved_gb))
        for i, o in enumerate(self.memory_options):
            at = ("memory_options", i)
            out.append((f"memory_options.{o.id}.memory_gb", (*at, "memory_gb"), o.memory_gb))
            if o.memory_bandwidth_gbps is not None:
                out.append((f"memory_options.{o.id}.memory_bandwidth_gbps", (*at, "memory_bandwidth_gbps"),
                            o.memory_bandwidth_gbps))
        for i, m in enumerate(self.power_modes):
            at = ("power_modes", i)
            out.append((f"power_modes.{m.id}.power_w", (*at, "power_w"), m.power_w))
            out += [(f"power_modes.{m.id}.clock_scale.{u}", (*at, "clock_scale", u), f)
                    for u, f in m.clock_scale.items()]
            if m.memory_bandwidth_gbps is not None:
                out.append((f"power_modes.{m.id}.memory_bandwidth_gbps", (*at, "memory_bandwidth_gbps"),
                            m.memory_bandwidth_gbps))
        for prefix, at, unit_dense, unit_sparse, acc, power, clock in (
            [("", (), self.dense, self.sparse, self.fp16_accumulate, None, self.clock_mhz)]
            + [(f"units.{u.id}.", ("units", i), u.dense, u.sparse, u.fp16_accumulate, u.power_w, u.clock_mhz)
               for i, u in enumerate(self.units)]
        ):
            for table, peaks in (("dense", unit_dense), ("sparse", unit_sparse), ("fp16_accumulate", acc)):
                out += [(f"{prefix}{table}.{k}", (*at, table, k), f) for k, f in peaks.items()]
            if power is not None:
                out.append((f"{prefix}power_w", (*at, "power_w"), power))
            if clock is not None:
                out.append((f"{prefix}clock_mhz", (*at, "clock_mhz"), clock))
        return out


class ChipFile(_Strict):
    vendor: str
    sources: dict[str, Source] = Field(min_length=1)
    chips: list[Chip] = Field(min_length=1)

    @model_validator(mode="after")
    def _sources_exist(self) -> "ChipFile":
        for i, chip in enumerate(self.chips):
            cited = [((*at, "source"), fig.source) for _, at, fig in chip.located_figures()]
            if chip.headline is not None:
                cited.append((("headline", "source"), chip.headline.source))
            for at, key in cited:
                if key not in self.sources:
                    raise At(("chips", i, *at), f"{chip.id} cites source '{key}', which the file's sources do not "
                             f"list ({', '.join(self.sources)})")
        seen: set[str] = set()
        for i, chip in enumerate(self.chips):
            if chip.id in seen:
                raise At(("chips", i, "id"), f"chip id '{chip.id}' is already used earlier in the file")
            seen.add(chip.id)
        return self

    @field_validator("chips")
    @classmethod
    def _known_classes(cls, chips: list[Chip], info: ValidationInfo) -> list[Chip]:
        known = (info.context or {}).get("efficiency_classes")
        if known:
            for i, chip in enumerate(chips):
                for k, unit in enumerate(chip.compute_units()):
                    at = (i, "units", k) if chip.units else (i,)  # no units: the chip's own fields
                    named = [(("efficiency_class",), unit.efficiency_class)]
                    named += [(("runtimes", j), r) for j, r in enumerate(unit.runtimes)]
                    for field, name in named:
                        if name not in known:
                            raise At((*at, *field), f"{chip.id}: '{name}' is not one of {', '.join(sorted(known))}")
        return chips
