"""Published measurements of built-in networks on edge chips (schema and lookup).

``published_edge.csv`` holds the measured latencies chipfit's edge runtime classes were fitted and
checked on: per chip, compute unit, runtime class, network (a built-in name, with the MACs and
parameters of chipfit's graph of it at the input size), input size, precision and batch, the latency
of one batch as its source published it, with the repository, file, commit and table it was copied
from. ``chipfit check`` shows the rows of the network, chip, unit, runtime, input size and precision
asked, beside its own prediction: a network is the measured one when it has its name (or an alias)
and its MACs and parameters within :data:`SAME` at the same input size (a model file exported from
it folds its batch norms into the convolutions, a few parameters fewer). Written by the benchmark
that fits the edge classes; nothing in it is measured or converted by chipfit.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources
from pathlib import PurePath

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chipfit.core.costgraph import CostGraph

COLUMNS = ["chip", "unit", "runtime", "runtime_version", "model", "height", "width", "macs", "params", "precision",
           "batch", "latency_s", "source", "source_path", "source_commit", "source_table"]
FILE = "published_edge.csv"
MODEL_FILES = (".onnx", ".tflite")
#: How close a graph's MACs and parameters must be to a published network's of its name to be that
#: network: an export's folded batch norms take 0.1-0.4 % of the parameters, a head's decoding a
#: fraction of a percent of the MACs; the networks of one name published at one input size never differ.
SAME = 0.02


class Published(BaseModel):
    """One published measurement: the latency of one batch."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    chip: str = Field(min_length=1)
    unit: str = Field(min_length=1)
    runtime: str = Field(min_length=1)
    runtime_version: str = ""
    model: str = Field(min_length=1)
    height: int = Field(gt=0)
    width: int = Field(gt=0)
    macs: int = Field(ge=0)     # of the network chipfit priced the row as, at this input
    params: int = Field(ge=0)
    precision: str = Field(min_length=1)
    batch: int = Field(ge=1)
    latency_s: float = Field(gt=0)
    source: str = Field(min_length=1)
    source_path: str = Field(min_length=1)
    source_commit: str = Field(pattern=r"^[0-9a-f]{40}$")
    source_table: str = ""

    @property
    def throughput_fps(self) -> float:
        return self.batch / self.latency_s

    @property
    def where(self) -> str:
        """The source in a few words: repository, file and commit."""
        return f"{self.source} {self.source_path} @ {self.source_commit[:7]}"


def parse(text: str, origin: str) -> tuple[Published, ...]:
    """The rows of a published-measurements CSV; a bad row is refused naming its line and field."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames != COLUMNS:
        raise ValueError(f"{origin}: the header must be {','.join(COLUMNS)}")
    out = []
    for line, raw in enumerate(reader, start=2):
        try:
            out.append(Published(**raw))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ValueError(f"{origin}, line {line}, field {err['loc'][0]}: {err['msg']}") from None
    return tuple(out)


@lru_cache(maxsize=1)
def published_rows() -> tuple[Published, ...]:
    return parse(resources.files(__package__).joinpath(FILE).read_text(encoding="utf-8"), FILE)


def _canonical(name: str) -> str:
    """A built-in network's own name for ``name`` (itself, or the entry an alias names); a callable's
    name for ``module:callable`` (``torchvision.models:resnet101``), a file's stem for a model file."""
    from chipfit.data import zoo

    name = PurePath(name.rsplit(":", 1)[-1]).stem if name.endswith(MODEL_FILES) else name.rsplit(":", 1)[-1]
    entry = zoo.find(name)
    return entry.name if entry is not None and zoo.variant_note(name) is None else name


@lru_cache(maxsize=1)
def _index() -> dict[tuple, list[Published]]:
    out: dict[tuple, list[Published]] = {}
    for p in published_rows():
        out.setdefault((_canonical(p.model), p.height, p.width, p.precision, p.runtime), []).append(p)
    return out


def _of_network(graph: CostGraph, precision: str, runtime: str) -> list[Published]:
    """The published measurements of the network ``graph`` is, at its input size and ``precision``,
    with ``runtime``, on any chip: those of the network of its name (a built-in name or alias, a
    callable's or a file's name) whose MACs and parameters it has, within :data:`SAME`; none for any
    other network (a name alone says nothing of the layers)."""
    if len(graph.inputs) != 1:
        return []
    shape = next(iter(graph.inputs.values()))
    if len(shape) != 4:
        return []
    rows = _index().get((_canonical(graph.model), shape[2], shape[3], precision, runtime), [])
    return [p for p in rows
            if abs(graph.macs - p.macs) <= SAME * p.macs and abs(graph.params - p.params) <= SAME * p.params]


def namesakes(graph: CostGraph, precision: str, runtime: str) -> list[Published]:
    """The published measurements, with ``runtime`` at ``precision``, of the network of ``graph``'s name
    at any input size, whatever its MACs and parameters: what a graph that is not that network, or not
    at a published input size, is told it was not matched with."""
    name = _canonical(graph.model)
    return [p for k, rows in _index().items() if (k[0], k[3], k[4]) == (name, precision, runtime) for p in rows]


def published_for(graph: CostGraph, chip: str, unit: str, precision: str, runtime: str) -> list[Published]:
    """The published measurements of the network ``graph`` is (:func:`_of_network`) on ``unit`` of ``chip``."""
    return [p for p in _of_network(graph, precision, runtime) if (p.chip, p.unit) == (chip, unit)]


def published_elsewhere(graph: CostGraph, chip: str, precision: str, runtime: str) -> list[Published]:
    """The published measurements of the network ``graph`` is (:func:`_of_network`) on every chip but ``chip``."""
    return [p for p in _of_network(graph, precision, runtime) if p.chip != chip]


def networks_on(chip: str) -> dict[tuple[str, str], list[str]]:
    """Per (unit, runtime) of ``chip``: the built-in networks a published measurement exists of, by name."""
    out: dict[tuple[str, str], set[str]] = {}
    for p in published_rows():
        if p.chip == chip:
            out.setdefault((p.unit, p.runtime), set()).add(p.model)
    return {k: sorted(v) for k, v in sorted(out.items())}
