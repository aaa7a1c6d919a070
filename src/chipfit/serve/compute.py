"""The web API's work: run a command and return the object ``chipfit CMD --json`` prints.

Each query runs through :func:`chipfit.analysis.commands.run`, as the CLI does, so a page, a
script and the terminal agree. The functions here run in a worker process (:mod:`.worker`) and
return plain data; results of identical queries are cached in the server (:class:`ResultCache`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chipfit.analysis import commands
from chipfit.analysis.check import check
from chipfit.analysis.count import count
from chipfit.analysis.explain import with_explain
from chipfit.analysis.llm import parse_sweep
from chipfit.analysis.rank import rank
from chipfit.analysis.scenario import loads
from chipfit.core.errors import ChipfitError
from chipfit.serve.params import PlanParams, WebParams, bounded_scenario, builtin_model
from chipfit.serve.worker import WorkError

#: Points of an LLM sweep one query may ask for.
MAX_SWEEP_POINTS = 64


class ResultCache:
    """Least-recently-used results by query; errors are not cached. Two identical queries at once
    may both compute; the cache only keeps one answer."""

    def __init__(self, size: int = 128):
        self.size = size
        self._items: OrderedDict[Any, dict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, compute: Callable[[], dict]) -> dict:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def run(name: str, p: WebParams) -> dict:
    """``chipfit NAME ... --json`` for a validated query."""
    if name == "llm" and p.sweep is not None:
        values = parse_sweep(p.sweep)[1]
        if len(values) > MAX_SWEEP_POINTS:
            raise ChipfitError(f"a sweep takes at most {MAX_SWEEP_POINTS} values, got {len(values)}")
    ran = commands.run(name, p)
    return {"command": ran.kind, **ran.data()}


def scenario(text: str):
    """A scenario from YAML text (safe loading), every stage's model a built-in name and every
    number within the web API's bounds."""
    sc = loads(text, "scenario")
    for i, s in enumerate(sc.stages):
        if s.process is not None:   # host work: no model to resolve; its numbers are bounded by the schema
            continue
        field = "model" if s.model else "llm"
        try:
            builtin_model(s.model or s.llm)
        except ChipfitError as exc:
            raise sc.problem(("stages", i, field), str(exc)) from None
    bounded_scenario(sc)
    return sc


def plan(text: str, p: PlanParams) -> dict:
    ran = commands.run("plan", p, scenario=scenario(text))
    return {"command": ran.kind, **ran.data()}


def upload(path: Path, filename: str, p: Any) -> dict:
    """Count (then check or rank) an uploaded ONNX file, as the CLI does with a path; ``p`` is
    :data:`.params.UploadParams`. A file that is not ONNX is a 400 naming the client's file name."""
    precision = p.precision or ("fp32" if p.view == "count" else "int8")
    try:
        # check and rank price one inference: a free batch dimension is bound to 1 (as the CLI does)
        counted = count(str(path), precision=precision, batch=p.batch if p.view == "count" else 1,
                        dims=p.dims or None, input_shape=p.input_shape or None, name=filename)
    except ChipfitError as exc:
        raise WorkError(str(exc).replace(str(path), filename).replace(str(path.parent), ""), 400) from None
    if p.view == "count":
        return {"command": "count", **counted.to_dict(per_layer=p.per_layer, depth=p.depth)}
    if p.view == "check":
        r = check(counted, p.chip, fps=p.fps, precision=precision, batch=p.batch or 1,
                  utilization=p.utilization, sparse=p.sparse, fuse=p.fuse)
        return {"command": "check", **with_explain(r.to_dict(per_layer=p.per_layer), r, p.explain)}
    r = rank(counted, fps=p.fps, precision=precision, by=p.by, batch=p.batch or 1, utilization=p.utilization,
             category=p.category, max_power=p.max_power, min_memory_gb=p.min_memory_gb)
    return {"command": "rank", **with_explain(r.to_dict(), r, p.explain)}
