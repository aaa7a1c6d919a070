"""Each command once: its parameters (:mod:`.params`) in, its result and JSON object out.

The command line and the web API both call :func:`run`, so a terminal, a script reading
``--json`` and the web page get the same numbers under the same keys. ``Ran.data()`` is the
object ``--json`` prints (without its ``"command"`` key); ``Ran.full()`` is the same with every
op and every formula, which the HTML report draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from chipfit.analysis import params as P
from chipfit.analysis.check import check
from chipfit.analysis.count import count
from chipfit.analysis.explain import with_explain
from chipfit.analysis.llm import fit_advice, llm, parse_sweep, sweep
from chipfit.analysis.plan import plan, rank_plan
from chipfit.analysis.rank import rank
from chipfit.analysis.whatif import whatif
from chipfit.core.errors import ChipfitError, render_fields

Progress = Callable[[str, int, int], None]


@dataclass
class Ran:
    """A command's result: ``kind`` is the JSON's ``"command"`` (``llm-sweep``, ``plan-rank`` for
    the variants)."""

    kind: str
    result: Any
    data: Callable[[], dict]
    full: Callable[[], dict]
    #: the answer to the command's question (sufficient, fits, some chip carries it); None for
    #: commands that ask none (count, whatif, a sweep). The CLI's exit code: 0 yes, 1 no.
    answer: bool | None = None
    #: what to change when the answer is no (a sentence, parameters in backquotes)
    advice: str | None = None


def run(name: str, p: P.Params, *, scenario: Any = None, progress: Progress | None = None) -> Ran:
    """Run command ``name`` with validated parameters ``p``. ``scenario`` replaces ``p.scenario``
    for ``plan`` (the web API sends the YAML, already read); ``progress(stage, done, total)`` is
    told of each step of the slow commands."""
    return _RUNNERS[name](p, scenario=scenario, progress=progress)


def _count(p: P.CountParams, **_: Any) -> Ran:
    r = count(**p.api())
    return Ran("count", r, lambda: r.to_dict(per_layer=p.per_layer, depth=p.depth),
               lambda: r.to_dict(per_layer=True, depth=p.depth))


def _check(p: P.CheckParams, **_: Any) -> Ran:
    r = check(**p.api())
    return Ran("check", r, lambda: with_explain(r.to_dict(per_layer=p.per_layer), r, p.explain),
               lambda: with_explain(r.to_dict(per_layer=True), r, True), answer=r.verdict == "SUFFICIENT")


def _rank(p: P.RankParams, **_: Any) -> Ran:
    r = rank(**p.api())
    return Ran("rank", r, lambda: with_explain(r.to_dict(), r, p.explain), lambda: with_explain(r.to_dict(), r, True),
               answer=bool(r.ranked))


def _llm(p: P.LLMParams, progress: Progress | None = None, **_: Any) -> Ran:
    kwargs = p.api()
    text = kwargs.pop("sweep")
    if text is not None:
        key, values = parse_sweep(text)
        s = sweep(key=key, values=values, progress=progress, **kwargs)
        return Ran("llm-sweep", s, s.to_dict, s.to_dict)
    r = llm(**kwargs)
    advice = None if r.memory_fits else fit_advice(r, _files(p))

    def data(explain: bool) -> dict:
        d = with_explain(r.to_dict(), r, explain)
        return d if advice is None else {**d, "advice": render_fields(advice)}
    return Ran("llm", r, lambda: data(p.explain), lambda: data(True), answer=r.memory_fits, advice=advice)


def _plan(p: P.PlanParams, scenario: Any = None, progress: Progress | None = None) -> Ran:
    sc = p.scenario if scenario is None else scenario
    if p.rank:
        if p.chip is not None:
            raise ChipfitError("`rank` tries every chip; leave out `chip`")
        r = rank_plan(sc, by=p.by, category=p.category, max_power=p.max_power, min_memory_gb=p.min_memory_gb,
                      load_factor=p.load_factor, power_mode=p.power_mode, chips_files=_files(p), allow_code=getattr(p, "allow_code", False),
                      progress=progress)
        return Ran("plan-rank", r, r.to_dict, r.to_dict, answer=bool(r.ranked))
    if p.category or p.max_power is not None or p.min_memory_gb is not None or p.by != "power":
        raise ChipfitError("`by`, `category`, `max_power` and `min_memory_gb` choose chips to rank: set `rank`")
    r = plan(sc, chip=p.chip, load_factor=p.load_factor, power_mode=p.power_mode, chips_files=_files(p), allow_code=getattr(p, "allow_code", False))
    return Ran("plan", r, lambda: with_explain(r.to_dict(), r, p.explain), lambda: with_explain(r.to_dict(), r, True),
               answer=r.verdict == "SUFFICIENT")


def _whatif(p: P.WhatIfParams, progress: Progress | None = None, **_: Any) -> Ran:
    r = whatif(progress=progress, **p.api())
    return Ran("whatif", r, r.to_dict, r.to_dict)


def _files(p: P.Params) -> list[str]:
    """The user's chip files (the web API, which reads no local file, has none)."""
    return getattr(p, "chips_files", [])


_RUNNERS: dict[str, Callable[..., Ran]] = {
    "count": _count, "check": _check, "rank": _rank, "llm": _llm, "plan": _plan, "whatif": _whatif,
}
#: The commands :func:`run` knows.
NAMES = tuple(_RUNNERS)
