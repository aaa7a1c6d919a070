"""The chip database: built-in vendor files plus the user's own chip files.

Built-in files live in ``chipfit/data/chips/vendors/<vendor>.yaml``. Users add chips (or replace a
built-in one with the same id) in files of the same schema, either named with
``--chips-file`` or dropped into the config folder: ``$CHIPFIT_CHIPS_DIR`` if set, else
``$XDG_CONFIG_HOME/chipfit/chips`` (``~/.config/chipfit/chips``). Every ``*.yaml`` there is read.

A chip is addressed by id or alias; ``ID:UNIT`` picks one compute unit of a chip that has
several (``jetson-agx-orin-64gb:dla``), ``ID:16gb`` one of the memory sizes it is sold with
(``apple-m4:16gb``) and ``ID@MODE`` one of its power modes (``jetson-orin-nano-8gb@15W``);
they combine as ``ID:SIZE@MODE:UNIT``.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable, get_args

from chipfit.core.datafile import load, load_path
from chipfit.core.errors import ChipfitError
from chipfit.core.precision import get_precision
from chipfit.data.chips.schema import Category, Chip, ChipFile, Figure, Source, Unit
from chipfit.data.efficiency import efficiency_classes, runtimes_of

__all__ = ["Chip", "ChipDB", "ChipRecord", "ChipRef", "Figure", "Source", "Unit", "check_category", "chips",
           "config_dir", "database", "select", "split_unit", "with_mode"]


@dataclass(frozen=True)
class ChipRecord:
    """A chip with the vendor and sources of the file it came from."""

    chip: Chip
    vendor: str
    sources: dict[str, Source]
    origin: str  # 'built-in: nvidia.yaml' or the user file's path

    @property
    def id(self) -> str:
        return self.chip.id

    def source_of(self, fig: Figure) -> Source:
        return self.sources[fig.source]

    def ridge_points(self) -> list[dict]:
        """FLOP:byte ridge point (dense peak / DRAM bandwidth) per unit and precision: an op
        with fewer FLOPs per byte than this is memory-bound on the chip."""
        bw = self.chip.memory_bandwidth_gbps
        if bw is None:
            return []
        out = []
        for unit in self.chip.compute_units():
            for key, fig in unit.dense.items():
                out.append({"unit": unit.id, "precision": key, "peak_tops": fig.value,
                            "bandwidth_gbps": bw.value, "flop_per_byte": fig.value * 1e3 / bw.value})
        return out

    def summary(self) -> dict:
        """The headline numbers of the default unit, for tables and JSON lists."""
        c = self.chip
        units = c.compute_units()
        dense = units[0].dense if units else {}
        return {
            "id": c.id, "name": c.name, "vendor": self.vendor, "category": c.category,
            "units": [u.id for u in units],
            "dense_tops": {k: f.value for k, f in dense.items()},
            "sparse_tops": {k: f.value for k, f in (units[0].peaks(sparse=True) if units else {}).items()},
            "memory_bandwidth_gbps": c.memory_bandwidth_gbps.value if c.memory_bandwidth_gbps else None,
            "memory_gb": c.memory_gb.value if c.memory_gb else None,
            "memory_options_gb": sorted(o.memory_gb.value for o in c.memory_options),
            "usable_memory_gb": c.usable_memory_gb,
            "power_mode": c.power_mode,
            "power_modes": [{"id": m.id, "power_w": m.power_w.value} for m in c.power_modes],
            "power_w": c.power_w.value if c.power_w else None,
            "power_min_w": c.power_w.min if c.power_w else None,
            "onchip_memory_mb": c.onchip_memory_mb.value if c.onchip_memory_mb else None,
            "host_link": ({"name": c.host_link.name, "bandwidth_gbps": c.host_link.bandwidth_gbps.value}
                          if c.host_link else None),
            "runtimes": [{"unit": u.id, "runtimes": runtimes_of(u)} for u in units],
            "origin": self.origin,
            "figures": [{"field": name, "value": fig.value, "min": fig.min, "flag": fig.flag, "formula": fig.formula,
                         "note": fig.note, "source": self.sources[fig.source].model_dump(exclude_none=True)}
                        for name, fig in c.figures()],
        }


def config_dir() -> Path:
    env = os.environ.get("CHIPFIT_CHIPS_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "chipfit" / "chips"


def schema_context() -> dict:
    return {"efficiency_classes": set(efficiency_classes())}


@lru_cache(maxsize=1)
def _builtin() -> tuple[ChipRecord, ...]:
    out: list[ChipRecord] = []
    folder = resources.files(__package__).joinpath("vendors")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        cf = load(ChipFile, entry.read_text(encoding="utf-8"), f"built-in chips/{entry.name}", schema_context())
        out += [ChipRecord(c, cf.vendor, dict(cf.sources), f"built-in: {entry.name}") for c in cf.chips]
    return tuple(out)


def _user_files(extra: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    folder = config_dir()
    if folder.is_dir():
        files += sorted(p for p in folder.glob("*.yaml") if p.is_file())
    for f in extra:
        p = Path(f)
        if p.is_dir():
            raise ChipfitError(f"{p}: is a folder; `chips_files` takes YAML files")
        files.append(p)
    return files


class ChipDB:
    """Chips by id, in file order; later files replace earlier chips of the same id."""

    def __init__(self, records: Iterable[ChipRecord]):
        self.records: dict[str, ChipRecord] = {}
        for rec in records:
            self.records[rec.id] = rec
        self._index: dict[str, str] = {}
        for rec in self.records.values():
            for name in (rec.id, *rec.chip.aliases):
                self._index.setdefault(_key(name), rec.id)

    def __iter__(self):
        return iter(self.records.values())

    def __len__(self) -> int:
        return len(self.records)

    def get(self, ref: str) -> tuple[ChipRecord, Unit | None]:
        """The chip named ``ref`` (``ID[:SIZE][@MODE][:UNIT]``, ID an id or alias) and the unit
        picked, if any."""
        parsed = ChipRef.parse(ref)
        name, unit_id = parsed.name, parsed.unit
        rec_id = self._index.get(_key(name))
        if rec_id is None:
            close = difflib.get_close_matches(_key(name), list(self._index), n=4, cutoff=0.6)
            ids = sorted({self._index[c] for c in close})
            hint = f"; did you mean {', '.join(ids)}?" if ids else "; run 'chipfit chips' to list them"
            raise ChipfitError(f"unknown chip '{ref}'{hint}")
        rec = self.records[rec_id]
        try:
            if parsed.size:
                rec = replace(rec, chip=rec.chip.with_memory(parsed.size))
            if parsed.mode:
                rec = replace(rec, chip=rec.chip.at_mode(parsed.mode))
        except ValueError as e:
            raise ChipfitError(str(e)) from None
        units = rec.chip.compute_units()
        if not unit_id:
            return rec, (units[0] if units else None)
        for u in units:
            if u.id == unit_id:
                return rec, u
        have = ", ".join(u.id for u in units) or "none"
        raise ChipfitError(f"chip '{rec.id}' has no unit '{unit_id}'; its units: {have}")


_SIZE = re.compile(r"^\d+(?:\.\d+)?gb$", re.IGNORECASE)


@dataclass(frozen=True)
class ChipRef:
    """A chip reference taken apart: ``ID[:SIZE][@MODE][:UNIT]``."""

    name: str
    size: str | None = None
    mode: str | None = None
    unit: str = ""

    @classmethod
    def parse(cls, ref: str) -> "ChipRef":
        mode = None
        if "@" in ref:
            head, _, tail = ref.partition("@")
            mode, sep, rest = tail.partition(":")
            ref = head + (":" + rest if sep else "")
            if not mode.strip():
                raise ChipfitError(f"'{head}@' names no power mode: write ID@MODE, e.g. jetson-orin-nano-8gb@15W")
        name, *rest = ref.split(":")
        size = rest.pop(0) if rest and _SIZE.match(rest[0].strip()) else None
        return cls(name, size, mode, ":".join(rest))

    @property
    def chip(self) -> str:
        """The reference without its unit: the chip, its memory size and its power mode."""
        return self.name + (f":{self.size}" if self.size else "") + (f"@{self.mode}" if self.mode else "")

    def __str__(self) -> str:
        return self.chip + (f":{self.unit}" if self.unit else "")


def with_mode(ref: str, mode: str | None) -> str:
    """``ref`` in power mode ``mode`` (``--power-mode``); ``ref`` itself without one."""
    if mode is None:
        return ref
    r = ChipRef.parse(ref)
    if r.mode and r.mode.lower() != mode.lower():
        raise ChipfitError(f"'{ref}' names power mode {r.mode}, but `power_mode` asks for {mode}: give one")
    return str(replace(r, mode=mode))


def split_unit(ref: str) -> tuple[str, str]:
    """``ref`` as (the chip with its size and mode, the unit part: '', 'dla', 'all', 'gpu+dla')."""
    r = ChipRef.parse(ref)
    return r.chip, r.unit


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-")


def check_category(category: str | None) -> str | None:
    """``category`` in lower case, or a one-sentence error naming the valid ones."""
    if category is None:
        return None
    valid = get_args(Category)
    if category.lower() not in valid:
        raise ChipfitError(f"unknown category '{category}'; use {', '.join(valid)}")
    return category.lower()


def select(records: Iterable[ChipRecord], category: str | None = None, vendor: str | None = None,
           precision: str | None = None, max_power: float | None = None,
           min_memory_gb: float | None = None, power_mode: str | None = None) -> list[ChipRecord]:
    """The records that pass every filter given (power and memory must be known to pass).

    A chip sold with several memory sizes passes ``min_memory_gb`` at the smallest size that
    meets it (``ID:SIZE``); a chip with power modes passes ``max_power`` once per mode within
    the budget (``ID@MODE``), so its modes are ranked against each other. ``power_mode`` puts
    the chips that have that mode into it first."""
    category = check_category(category)
    compute = get_precision(precision).compute if precision else None
    out = []
    for rec in records:
        c = rec.chip
        if category and c.category != category:
            continue
        if vendor and vendor.lower() not in rec.vendor.lower():
            continue
        if compute and c.unit_with(compute) is None:
            continue
        if min_memory_gb is not None:
            if c.memory_gb is None:
                continue
            if c.memory_gb.value < min_memory_gb:
                sizes = sorted((o for o in c.memory_options if o.memory_gb.value >= min_memory_gb),
                               key=lambda o: o.memory_gb.value)
                if not sizes:
                    continue
                rec = replace(rec, chip=c.with_memory(sizes[0].id))
        if power_mode is not None and any(m.id.lower() == power_mode.lower() for m in c.power_modes):
            rec = replace(rec, chip=rec.chip.at_mode(power_mode))
        elif max_power is not None and c.power_modes:
            out += [replace(rec, chip=rec.chip.at_mode(m.id)) for m in c.power_modes if m.power_w.value <= max_power]
            continue
        if max_power is not None and (rec.chip.power_w is None or rec.chip.power_w.value > max_power):
            continue
        out.append(rec)
    return out


def chips(category: str | None = None, vendor: str | None = None, precision: str | None = None,
          max_power: float | None = None, min_memory_gb: float | None = None,
          chips_files: Iterable[str | Path] = ()) -> list[ChipRecord]:
    """The chips of the database that pass the filters (all given filters must hold)."""
    return select(database(chips_files), category, vendor, precision, max_power, min_memory_gb)


def database(chips_files: Iterable[str | Path] = ()) -> ChipDB:
    """Built-in chips, then the config folder's files, then ``chips_files``."""
    records = list(_builtin())
    ctx = schema_context()
    for path in _user_files(chips_files):
        cf = load_path(ChipFile, path, ctx)
        records += [ChipRecord(c, cf.vendor, dict(cf.sources), str(path)) for c in cf.chips]
    return ChipDB(records)
