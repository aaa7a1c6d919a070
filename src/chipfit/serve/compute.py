"""The web API's work: call the chipfit API and return the object ``chipfit CMD --json`` prints.

Each function takes a validated parameter model (:mod:`.params`) and returns the same dict as
the CLI, ``"command"`` key and all, so a page, a script and the terminal agree. Results of
identical queries are cached (:class:`ResultCache`), and one computation runs at a time: the
PyTorch frontend traces on the meta device under dispatch modes that are not meant to be shared
between threads, and a local tool gains nothing from counting two models at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from chipfit.analysis.explain import with_explain
from chipfit.core.errors import ChipfitError
from chipfit.serve.params import (
    CheckParams,
    CountParams,
    LLMParams,
    PlanParams,
    RankParams,
    WhatIfParams,
    builtin_model,
)

#: The lock every computation holds (uploads too, which are never cached).
WORK_LOCK = threading.RLock()


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


def _shape(text: str | None) -> list[str] | None:
    return [text] if text else None


def count(p: CountParams) -> dict:
    from chipfit.analysis.count import count as run

    r = run(builtin_model(p.model), precision=p.precision, batch=p.batch, seq_len=p.seq_len,
            input_shape=_shape(p.input_shape), phase=p.phase, context=p.context, causal_discount=p.causal_discount)
    return {"command": "count", **r.to_dict(per_layer=p.per_layer, depth=p.depth)}


def check(p: CheckParams) -> dict:
    from chipfit.analysis.check import check as run

    r = run(builtin_model(p.model), p.chip, fps=p.fps, precision=p.precision, batch=p.batch,
            utilization=p.utilization, sparse=p.sparse, fuse=p.fuse, input_shape=_shape(p.input_shape),
            seq_len=p.seq_len)
    return {"command": "check", **with_explain(r.to_dict(per_layer=p.per_layer), r, p.explain)}


def rank(p: RankParams) -> dict:
    from chipfit.analysis.rank import rank as run

    r = run(builtin_model(p.model), fps=p.fps, precision=p.precision, by=p.by, batch=p.batch,
            utilization=p.utilization, category=p.category, max_power=p.max_power, min_memory_gb=p.min_memory_gb,
            input_shape=_shape(p.input_shape), seq_len=p.seq_len)
    return {"command": "rank", **with_explain(r.to_dict(), r, p.explain)}


def llm(p: LLMParams) -> dict:
    from chipfit.analysis.llm import fit_advice, parse_sweep, sweep
    from chipfit.analysis.llm import llm as run

    model = builtin_model(p.model)
    kwargs = dict(prompt=p.prompt, output=p.output, batch=p.batch, precision=p.precision,
                  kv_precision=p.kv_precision, group_size=p.group_size, context=p.context,
                  chips_count=p.chips_count, link_gbps=p.link_gbps, engine=p.engine, overhead_gb=p.overhead_gb)
    if p.sweep is not None:
        key, values = parse_sweep(p.sweep)
        if len(values) > 64:
            raise ChipfitError(f"a sweep takes at most 64 values, got {len(values)}")
        return {"command": "llm-sweep", **sweep(model, p.chip, key, values, **kwargs).to_dict()}
    r = run(model, p.chip, **kwargs)
    if not r.memory_fits:
        raise ChipfitError(fit_advice(r))
    return {"command": "llm", **with_explain(r.to_dict(), r, p.explain)}


def whatif(p: WhatIfParams) -> dict:
    """``chipfit whatif``: every lever priced on the chip (seconds: each lever recounts, and the
    lighter architectures are traced one by one). Empty lists are the CLI's defaults."""
    from chipfit.analysis.whatif import BATCHES, PRUNE_RATIOS, SCALES
    from chipfit.analysis.whatif import whatif as run

    r = run(builtin_model(p.model), p.chip, fps=p.fps, precision=p.precision,
            prune_ratios=p.prune_ratios or PRUNE_RATIOS, scales=p.scales or SCALES, batches=p.batches or BATCHES,
            levers=p.levers or None, precisions=p.to_precision or None, input_shape=_shape(p.input_shape),
            seq_len=p.seq_len)
    return {"command": "whatif", **r.to_dict()}


def scenario(text: str):
    """A scenario from YAML text (safe loading), every stage's model a built-in name."""
    from chipfit.analysis.scenario import loads

    sc = loads(text, "scenario")
    for i, s in enumerate(sc.stages):
        field = "model" if s.model else "llm"
        try:
            builtin_model(s.model or s.llm)
        except ChipfitError as exc:
            raise sc.problem(("stages", i, field), str(exc)) from None
    return sc


def plan(text: str, p: PlanParams) -> dict:
    from chipfit.analysis.plan import plan as run
    from chipfit.analysis.plan import rank_plan

    sc = scenario(text)
    if p.rank:
        if p.chip is not None:
            raise ChipfitError("rank tries every chip; leave out chip")
        ranked = rank_plan(sc, by=p.by, category=p.category, max_power=p.max_power,
                           min_memory_gb=p.min_memory_gb, load_factor=p.load)
        return {"command": "plan-rank", **ranked.to_dict()}
    r = run(sc, chip=p.chip, load_factor=p.load)
    return {"command": "plan", **with_explain(r.to_dict(), r, p.explain)}
