"""The chip database: built-in vendor files plus the user's own chip files.

Built-in files live in ``chipfit/data/chips/vendors/<vendor>.yaml``. Users add chips (or replace a
built-in one with the same id) in files of the same schema, either named with
``--chips-file`` or dropped into the config folder: ``$CHIPFIT_CHIPS_DIR`` if set, else
``$XDG_CONFIG_HOME/chipfit/chips`` (``~/.config/chipfit/chips``). Every ``*.yaml`` there is read.

A chip is addressed by id or alias; ``ID:UNIT`` picks one compute unit of a chip that has
several (``jetson-agx-orin-64gb:dla``).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterable, get_args

from chipfit.core.datafile import load, load_path
from chipfit.core.errors import ChipfitError
from chipfit.core.precision import get_precision
from chipfit.data.chips.schema import Category, Chip, ChipFile, Figure, Source, Unit
from chipfit.data.efficiency import efficiency_classes, runtimes_of

__all__ = ["Chip", "ChipDB", "ChipRecord", "Figure", "Source", "Unit", "check_category", "chips",
           "config_dir", "database", "select"]


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
        """The chip named ``ref`` (id, alias or ``ID:UNIT``) and the unit picked, if any."""
        name, _, unit_id = ref.partition(":")
        rec_id = self._index.get(_key(name))
        if rec_id is None:
            close = difflib.get_close_matches(_key(name), list(self._index), n=4, cutoff=0.6)
            ids = sorted({self._index[c] for c in close})
            hint = f"; did you mean {', '.join(ids)}?" if ids else "; run 'chipfit chips' to list them"
            raise ChipfitError(f"unknown chip '{ref}'{hint}")
        rec = self.records[rec_id]
        units = rec.chip.compute_units()
        if not unit_id:
            return rec, (units[0] if units else None)
        for u in units:
            if u.id == unit_id:
                return rec, u
        have = ", ".join(u.id for u in units) or "none"
        raise ChipfitError(f"chip '{rec.id}' has no unit '{unit_id}'; its units: {have}")


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
           min_memory_gb: float | None = None) -> list[ChipRecord]:
    """The records that pass every filter given (power and memory must be known to pass)."""
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
        if max_power is not None and (c.power_w is None or c.power_w.value > max_power):
            continue
        if min_memory_gb is not None and (c.memory_gb is None or c.memory_gb.value < min_memory_gb):
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
