"""Scenario files: several models running at once, what feeds what, and a latency budget.

A scenario is YAML (read with ``yaml.safe_load`` semantics: no tag ever constructs an object)
validated by the pydantic models below; every error is one sentence naming the file, the line
and the field (:mod:`chipfit.core.datafile`). Example::

    name: camera box
    chip: jetson-orin-nano-8gb        # default chip of every stage (--chip overrides it)
    precision: int8                   # default precision (per stage: precision:)
    latency_budget_s: 0.1             # end-to-end, along the longest path of `after` links
    stages:
      - name: detector
        model: ssdlite320_mobilenet_v3_large
        rate: {per_s: 30}             # or a bare number: runs per second per stream
        streams: 4
      - name: classifier
        model: mobilenet_v3_small
        after: [detector]
        rate: {per_input: 5}          # 5 runs for every detector run (one per detection)
        batch: 5

Rates (exactly one form per stage; runs per second of one stream):

- ``per_s: R``: R runs per second (frames, requests);
- ``every_s: T``: once per window of T seconds (``every_s: 30``: Whisper's 30 s windows);
- ``realtime: X`` with the stage's ``covers_s: S``: X seconds of audio or video per second, each
  run covering S seconds (``realtime: 1`` is real time);
- ``per_input: K``: K runs for every run of the stage(s) in ``after`` (fan-out; a stage with
  ``after`` and no rate runs once per input).

A stage is a ``model`` (anything ``chipfit count`` takes, with ``input_shape``, ``seq_len``,
``phase``, ``context``) or an ``llm`` (``chipfit llm``: ``prompt``, ``output``, ``engine``,
``kv_precision``). ``repeat: N`` runs it N times in sequence per trigger (e.g. decode steps).
``stream: true`` lets a stage start on the first output of the stage(s) in ``after`` (an LLM's
first token, a detector's first batch) instead of their last: speech synthesis that speaks while
the language model still writes.

A third kind of stage is work on the **host CPU** around the models, ``process`` (the formulas:
:mod:`chipfit.analysis.host_ops`)::

    host: raspberry-pi-5              # the CPU that runs process stages (a chip with a cpu unit)
    stages:
      - name: letterbox
        process: {op: letterbox, frame: 1920x1080, format: nv12, input: 320x320, dtype: float32}
        rate: {per_s: 30}
        streams: 4
      - name: detector
        model: ssdlite320_mobilenet_v3_large
        after: [letterbox]
      - name: nms
        process: {op: nms, anchors: 3234, classes: 91, candidates: 300}
        after: [detector]

A process stage runs on its own ``chip`` if it names one, else on the scenario's ``host``, else
on the CPU unit of the scenario's chip when the chip database lists one. The ``host`` also runs
the ops a model stage's runtime leaves to the CPU on a chip with no CPU of its own (an Edge TPU,
a Hailo module: :mod:`chipfit.analysis.fallback`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from chipfit.analysis import host_ops
from chipfit.core import datafile
from chipfit.core.errors import ChipfitError
from chipfit.core.limits import LIMITS

_STRICT = ConfigDict(extra="forbid", frozen=True)

RATE_FORMS = ("per_s", "every_s", "realtime", "per_input")
MODEL_KEYS = ("input_shape", "seq_len", "phase", "context")
LLM_KEYS = ("prompt", "output", "engine", "kv_precision")
IMAGE_KEYS = ("frame", "format", "input", "dtype")
NMS_KEYS = ("candidates", "classes", "anchors")
#: Largest side of a frame or model input a process stage takes, pixels (16K video is 15,360).
MAX_SIDE = 32_768


class Rate(BaseModel):
    """Runs per second of one stream, in exactly one of four forms."""

    model_config = _STRICT

    per_s: Optional[float] = Field(None, gt=0, description="runs per second")
    every_s: Optional[float] = Field(None, gt=0, description="once per window of this many seconds")
    realtime: Optional[float] = Field(None, gt=0, description="seconds of media per second (needs covers_s)")
    per_input: Optional[float] = Field(None, gt=0, description="runs per run of the stages in `after`")

    @model_validator(mode="after")
    def _one(self) -> "Rate":
        given = [k for k in RATE_FORMS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(RATE_FORMS)} "
                             f"({'none' if not given else ' and '.join(given)} given)")
        return self

    @property
    def form(self) -> str:
        return next(k for k in RATE_FORMS if getattr(self, k) is not None)

    @property
    def value(self) -> float:
        return getattr(self, self.form)

    def describe(self, covers_s: float | None = None) -> str:
        v = f"{self.value:g}"
        return {"per_s": f"{v}/s", "every_s": f"1 per {v} s",
                "realtime": f"{v}× real time" + (f" ({covers_s:g} s per run)" if covers_s else ""),
                "per_input": f"{v} per input"}[self.form]


class Process(BaseModel):
    """Pre- or post-processing on the host CPU: ``letterbox`` / ``resize`` (a camera frame into
    the model's input) or ``nms`` (the detector's boxes)."""

    model_config = _STRICT

    op: Literal["letterbox", "resize", "nms"]
    # letterbox / resize
    frame: Optional[str] = Field(None, description="camera frame, WIDTHxHEIGHT")
    format: Optional[Literal["rgb", "bgr", "nv12", "gray"]] = Field(None, description="pixel format of the frame")
    input: Optional[str] = Field(None, description="model input, WIDTHxHEIGHT")
    dtype: Optional[Literal["float32", "float16", "int8", "uint8"]] = Field(None, description="model input type")
    # nms
    candidates: Optional[int] = Field(None, ge=1, le=100_000, description="boxes above the score threshold")
    classes: Optional[int] = Field(None, ge=1, le=100_000, description="class scores per box")
    anchors: Optional[int] = Field(None, ge=1, le=10_000_000, description="rows of the detector output scanned")

    @field_validator("frame", "input", mode="before")
    @classmethod
    def _size(cls, v: Any) -> Any:
        if v is None:
            return v
        w, h = host_ops.parse_size(v)
        if max(w, h) > MAX_SIDE:
            raise ValueError(f"{w}x{h}: a side over {MAX_SIDE:,} pixels is not a camera frame or a model input")
        return f"{w}x{h}"

    @model_validator(mode="after")
    def _keys(self) -> "Process":
        image = self.op in ("letterbox", "resize")
        need = ("frame", "input") if image else ("candidates", "classes")
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{self.op} needs {' and '.join(missing)} ("
                             + ("frame and input as WIDTHxHEIGHT, e.g. frame: 1920x1080, input: 320x320)" if image
                                else "candidates: boxes above the score threshold, classes: scores per box)"))
        wrong = NMS_KEYS if image else IMAGE_KEYS
        bad = [k for k in wrong if getattr(self, k) is not None]
        if bad:
            raise ValueError(f"{', '.join(bad)} {'does' if len(bad) == 1 else 'do'} not apply to {self.op} "
                             f"(it takes {', '.join(IMAGE_KEYS if image else NMS_KEYS)})")
        if not image and self.anchors is not None and self.anchors < self.candidates:
            raise ValueError(f"anchors ({self.anchors:,}) are the rows the candidates ({self.candidates:,}) are "
                             f"picked from: there cannot be fewer")
        return self

    def work(self) -> "host_ops.HostWork":
        """The ops and bytes of one run (:mod:`chipfit.analysis.host_ops`)."""
        if self.op == "nms":
            return host_ops.nms(self.candidates, self.classes, self.anchors)
        return host_ops.letterbox(host_ops.parse_size(self.frame), host_ops.parse_size(self.input),
                                  self.format or "rgb", self.dtype or "float32", pad=self.op == "letterbox")

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class Stage(BaseModel):
    model_config = _STRICT

    name: str = Field(min_length=1)
    model: Optional[str] = Field(None, min_length=1)
    llm: Optional[str] = Field(None, min_length=1)
    process: Optional[Process] = None   # pre- / post-processing on the host CPU
    rate: Optional[Rate] = None
    streams: int = Field(1, ge=1)
    after: list[str] = Field(default_factory=list)
    precision: Optional[str] = None
    chip: Optional[str] = Field(None, min_length=1)
    unit: Optional[str] = Field(None, min_length=1)
    batch: int = Field(1, ge=1)
    repeat: int = Field(1, ge=1)
    covers_s: Optional[float] = Field(None, gt=0)
    stream: bool = False      # start on the producers' first output, not their last
    # model stages
    input_shape: Optional[list[int]] = None
    runtime: Optional[str] = Field(None, min_length=1, max_length=60)  # a runtime the chip lists (default its own)
    seq_len: Optional[int] = Field(None, ge=1)
    phase: Optional[Literal["forward", "prefill", "decode"]] = None
    context: Optional[int] = Field(None, ge=0)
    # llm stages
    prompt: Optional[int] = Field(None, ge=1)
    output: Optional[int] = Field(None, ge=1)
    engine: Optional[str] = None
    kv_precision: Optional[str] = None
    note: str = ""            # free text, carried into the JSON

    @field_validator("rate", mode="before")
    @classmethod
    def _bare_number(cls, v: Any) -> Any:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return {"per_s": v}
        return v

    @field_validator("after", mode="before")
    @classmethod
    def _one_name(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("input_shape")
    @classmethod
    def _shape(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (not v or any(d < 1 for d in v)):
            raise ValueError("every dimension must be a positive integer")
        return v

    @model_validator(mode="after")
    def _kind(self) -> "Stage":
        if sum(x is not None for x in (self.model, self.llm, self.process)) != 1:
            raise ValueError("give exactly one of model (any MODEL chipfit count takes), llm (a decoder "
                             "language model, priced as chipfit llm) or process (work on the host CPU: "
                             "letterbox, resize or nms)")
        wrong = {"model": LLM_KEYS, "llm": MODEL_KEYS,
                 "process": MODEL_KEYS + LLM_KEYS + ("runtime", "unit")}[self.kind]
        bad = [k for k in wrong if getattr(self, k) is not None]
        if bad:
            kind = {"model": "a model", "llm": "an llm", "process": "a process"}[self.kind]
            raise ValueError(f"{', '.join(bad)} {'does' if len(bad) == 1 else 'do'} not apply to {kind} stage"
                             + (" (it runs on the host CPU: the scenario's host, or the stage's chip)"
                                if self.process and ("runtime" in bad or "unit" in bad) else ""))
        if self.chip and self.unit:
            raise ValueError("give chip (ID or ID:UNIT) or unit, not both")
        return self

    @property
    def kind(self) -> str:
        return "llm" if self.llm else "process" if self.process else "model"


class Scenario(BaseModel):
    model_config = _STRICT

    name: str = Field(min_length=1)
    description: str = ""
    chip: Optional[str] = Field(None, min_length=1)
    host: Optional[str] = Field(None, min_length=1, description="chip (ID or ID:UNIT) whose CPU runs process stages")
    precision: Optional[str] = None
    latency_budget_s: Optional[float] = Field(None, gt=0)
    overhead_gb: float = Field(0.5, ge=0, description="runtime memory allowance per chip, GB")
    stages: list[Stage] = Field(min_length=1)
    source: str = ""          # where the rates and sizes come from (free text)
    _origin: str = PrivateAttr("<scenario>")
    _root: Any = PrivateAttr(None)

    def problem(self, loc: tuple, msg: str) -> ChipfitError:
        """One sentence naming this scenario's file, the line of ``loc`` and the field."""
        return datafile.problem(self._origin, self._root, loc, msg)

    def order(self) -> list[Stage]:
        """The stages, every one after those in its ``after`` (the file's order otherwise)."""
        done: dict[str, Stage] = {}
        pending = list(self.stages)
        while pending:
            ready = [s for s in pending if all(a in done for a in s.after)]
            for s in ready:
                done[s.name] = s
            pending = [s for s in pending if s.name not in done]
        return list(done.values())


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file; the cross-stage rules (unique names, known and
    acyclic ``after`` links, a rate where nothing feeds the stage) are checked here too."""
    return loads(datafile.read_text(path), str(path))


def loads(text: str, origin: str = "<scenario>") -> Scenario:
    scenario, root = datafile.load_tree(Scenario, text, origin)

    def fail(loc: tuple, msg: str) -> ChipfitError:
        return datafile.problem(origin, root, loc, msg)

    if len(scenario.stages) > LIMITS.max_stages:
        raise fail(("stages",), f"{len(scenario.stages):,} stages: chipfit plans at most {LIMITS.max_stages:,} "
                   f"(raise the cap with `max_stages`)")
    seen: dict[str, int] = {}
    for i, s in enumerate(scenario.stages):
        if s.name in seen:
            raise fail(("stages", i, "name"), f"'{s.name}' is already the name of stages[{seen[s.name]}]")
        seen[s.name] = i
    for i, s in enumerate(scenario.stages):
        for j, a in enumerate(s.after):
            if a not in seen:
                raise fail(("stages", i, "after", j), f"no stage is named '{a}' (stages: {', '.join(seen)})")
            if a == s.name:
                raise fail(("stages", i, "after", j), f"stage '{a}' cannot feed itself")
        if s.rate is None and not s.after:
            raise fail(("stages", i), f"stage '{s.name}' needs a rate (per_s, every_s, realtime or "
                       f"per_input), or an `after` link to the stage that feeds it")
        if s.rate is not None and s.rate.form == "per_input" and not s.after:
            raise fail(("stages", i, "rate", "per_input"), "per_input counts runs per run of the stages "
                       "in `after`, and this stage has none")
        if s.rate is not None and s.rate.form == "realtime" and s.covers_s is None:
            raise fail(("stages", i, "rate", "realtime"), "a realtime rate needs covers_s: the seconds "
                       "of audio or video one run covers")
    cycle = _cycle(scenario)
    if cycle:
        i = seen[cycle[0]]
        raise fail(("stages", i, "after"), f"the `after` links form a cycle: {' after '.join(cycle + [cycle[0]])}")
    scenario._origin, scenario._root = origin, root
    return scenario


def _cycle(scenario: Scenario) -> list[str] | None:
    """A cycle of ``after`` links (as stage names), if any (iterative: no depth limit to hit)."""
    feeds = {s.name: s.after for s in scenario.stages}
    state: dict[str, int] = {}  # 1 on the path, 2 done
    for s in scenario.stages:
        if s.name in state:
            continue
        path, stack = [s.name], [iter(feeds[s.name])]
        state[s.name] = 1
        while stack:
            m = next(stack[-1], None)
            if m is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(m) == 1:
                return path[path.index(m):]
            elif m not in state:
                state[m] = 1
                path.append(m)
                stack.append(iter(feeds[m]))
    return None
