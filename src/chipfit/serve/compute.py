"""The web API's work: run a command and return the object ``chipfit CMD --json`` prints.

Each query runs through :func:`chipfit.analysis.commands.run`, as the CLI does, so a page, a
script and the terminal agree. Results of identical queries are cached (:class:`ResultCache`),
and one computation runs at a time: the PyTorch frontend traces on the meta device under
dispatch modes that are not meant to be shared between threads, and a local tool gains nothing
from counting two models at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from chipfit.analysis import commands
from chipfit.analysis.llm import parse_sweep
from chipfit.analysis.scenario import loads
from chipfit.core.errors import ChipfitError
from chipfit.serve.params import PlanParams, WebParams, builtin_model

#: The lock every computation holds (uploads too, which are never cached).
WORK_LOCK = threading.RLock()
#: Points of an LLM sweep one query may ask for.
MAX_SWEEP_POINTS = 64


class ResultCache:
    """Least-recently-used results by query; errors are not cached."""

    def __init__(self, size: int = 128):
        self.size = size
        self._items: OrderedDict[Any, dict] = OrderedDict()

    def get(self, key: Any, compute: Callable[[], dict]) -> dict:
        with WORK_LOCK:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            value = compute()
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
            return value

    def clear(self) -> None:
        with WORK_LOCK:
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
    """A scenario from YAML text (safe loading), every stage's model a built-in name."""
    sc = loads(text, "scenario")
    for i, s in enumerate(sc.stages):
        field = "model" if s.model else "llm"
        try:
            builtin_model(s.model or s.llm)
        except ChipfitError as exc:
            raise sc.problem(("stages", i, field), str(exc)) from None
    return sc


def plan(text: str, p: PlanParams) -> dict:
    ran = commands.run("plan", p, scenario=scenario(text))
    return {"command": ran.kind, **ran.data()}
