"""What the web API accepts: one pydantic model per endpoint, and the model-name guard.

The names follow the Python API (``chipfit.check(model, chip, fps=..., precision=...)``), and the
defaults are the CLI's. Every number has a range, so a query can neither ask for an infinite rate
nor a batch that would take the server down; anything out of range is a 422 with one sentence.

Only built-in model names (and their aliases) are taken as ``model``: the CLI's other MODEL forms
read local files (``config.json``, ``.onnx``) or import and run Python code (``module:callable``),
which a web page must never do. ONNX files come in through the upload endpoint instead, and
scenario YAML is checked stage by stage with the same guard (:func:`builtin_model`).
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chipfit.analysis.whatif import LEVERS
from chipfit.core.errors import ChipfitError
from chipfit.core.precision import PRECISIONS
from chipfit.data import zoo
from chipfit.data.chips.schema import Category
from chipfit.frontends.resolve import is_onnx

MAX_BATCH = 65_536
MAX_TOKENS = 1 << 20
MAX_RATE = 1e9

PrecisionName = Literal[tuple(PRECISIONS)]  # type: ignore[valid-type]
CountPhase = Literal["forward", "prefill", "decode"]
RankBy = Literal["power", "margin", "energy", "latency"]
PlanBy = Literal["power", "utilization", "latency"]
LeverName = Literal[tuple(LEVERS)]  # type: ignore[valid-type]
#: whatif: at most this many prune ratios, scale factors or batch sizes (each one is a recount).
MAX_WHATIF_VALUES = 8
MAX_WHATIF_BATCH = 1024
Fraction = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
WhatIfBatch = Annotated[int, Field(ge=2, le=MAX_WHATIF_BATCH)]


def _model_field():
    return Field(min_length=1, max_length=200, examples=["resnet18"],
                 description="A built-in model name or alias (GET /api/models); files and module:callable "
                             "are refused: send an ONNX file to POST /api/upload.")


def _chip_field(default=...):
    return Field(default, min_length=1, max_length=100, examples=["jetson-orin-nano-8gb"],
                 description="Chip id or alias (GET /api/chips); ID:UNIT picks a compute unit.")


def _rate_field():
    return Field(gt=0, le=MAX_RATE, allow_inf_nan=False, examples=[30],
                 description="Target rate: inferences (frames, requests) per second.")


def _positive(default, le, description, **kw):
    return Field(default, ge=1, le=le, description=description, **kw)


def _opt_float(description, *, gt=None, ge=None, le=1e6):
    return Field(None, gt=gt, ge=ge, le=le, allow_inf_nan=False, description=description)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CountParams(_Params):
    """``chipfit count MODEL --json``."""

    model: str = _model_field()
    precision: PrecisionName = Field("fp32", description="Precision for bytes (the counts never change).")
    batch: Optional[int] = _positive(None, MAX_BATCH, "Batch size.")
    seq_len: Optional[int] = _positive(None, MAX_TOKENS, "Tokens per sequence (text models).")
    input_shape: Optional[str] = Field(None, max_length=200, examples=["1,3,224,224"],
                                       description="Input shape of an image model, e.g. 1,3,224,224.")
    phase: CountPhase = Field("forward", description="Language models: forward, prefill or decode.")
    context: Optional[int] = Field(None, ge=0, le=MAX_TOKENS, description="Decode: tokens already cached.")
    causal_discount: bool = Field(False, description="Count only unmasked attention scores.")
    depth: int = Field(1, ge=0, le=64, description="Module tree depth of the 'modules' list.")
    per_layer: bool = Field(False, description="Include every op ('layers').")


class CheckParams(_Params):
    """``chipfit check MODEL --chip CHIP --fps FPS --json``."""

    model: str = _model_field()
    chip: str = _chip_field()
    fps: float = _rate_field()
    precision: PrecisionName = Field("int8", description="Workload precision.")
    batch: int = _positive(1, MAX_BATCH, "Inferences per batch on the chip.")
    utilization: Optional[float] = Field(None, gt=0, le=1, allow_inf_nan=False,
                                         description="One efficiency factor for compute and memory instead of the "
                                                     "fitted ones.")
    sparse: bool = Field(False, description="Use the 2:4 structured-sparsity peak.")
    fuse: bool = Field(True, description="Assume point-wise ops are fused (the CLI's --no-fuse is false).")
    seq_len: Optional[int] = _positive(None, MAX_TOKENS, "Tokens per sequence (text models).")
    input_shape: Optional[str] = Field(None, max_length=200, description="Input shape, e.g. 1,3,224,224.")
    per_layer: bool = Field(False, description="Include the per-op roofline ('layers').")
    explain: bool = Field(False, description="Include every formula with its numbers ('explain').")


class RankParams(_Params):
    """``chipfit rank MODEL --fps FPS --json``."""

    model: str = _model_field()
    fps: float = _rate_field()
    precision: PrecisionName = Field("int8", description="Workload precision.")
    by: RankBy = Field("power", description="Sort by power, margin, energy or latency.")
    category: Optional[Category] = Field(None, description="Only chips of this category.")
    max_power: Optional[float] = _opt_float("Only chips rated at most this many watts.", gt=0)
    min_memory_gb: Optional[float] = _opt_float("Only chips with at least this many GB of memory.", ge=0)
    batch: int = _positive(1, MAX_BATCH, "Inferences per batch on the chip.")
    utilization: Optional[float] = Field(None, gt=0, le=1, allow_inf_nan=False,
                                         description="One efficiency factor instead of the fitted ones.")
    seq_len: Optional[int] = _positive(None, MAX_TOKENS, "Tokens per sequence (text models).")
    input_shape: Optional[str] = Field(None, max_length=200, description="Input shape, e.g. 1,3,224,224.")
    explain: bool = Field(False, description="Include the formulas and each chip's efficiency source.")


class LLMParams(_Params):
    """``chipfit llm MODEL --chip CHIP --json`` (``--sweep`` too)."""

    model: str = Field(min_length=1, max_length=200, examples=["llama-2-7b"],
                       description="A built-in decoder language model (GET /api/models?task=language).")
    chip: str = _chip_field()
    prompt: int = _positive(512, MAX_TOKENS, "Prompt tokens per sequence.")
    output: int = _positive(128, MAX_TOKENS, "Output tokens per sequence.")
    batch: int = _positive(1, MAX_BATCH, "Sequences decoded together.")
    precision: PrecisionName = Field("fp16", description="Weight format.")
    kv_precision: Optional[PrecisionName] = Field(None, description="KV cache precision.")
    group_size: Optional[int] = _positive(None, 1 << 20, "Weights per scale of a group-quantized format.")
    context: Optional[int] = _positive(None, MAX_TOKENS, "KV cache tokens reserved per sequence.")
    chips_count: int = _positive(1, 1024, "Identical chips in tensor parallelism.")
    link_gbps: Optional[float] = _opt_float("Chip-to-chip bandwidth per direction, GB/s.", gt=0)
    engine: str = Field("generic", min_length=1, max_length=40, examples=["generic", "llama.cpp"],
                        description="Whose fitted efficiency to use: generic, hf, tinychat, tensorrt-llm, "
                                    "llama.cpp or mlc.")
    overhead_gb: Optional[float] = _opt_float("Runtime memory per chip, GB.", ge=0, le=1e4)
    sweep: Optional[str] = Field(None, max_length=200, examples=["batch=1,4,16"],
                                 description="One parameter over values, e.g. batch=1,4,16 (batch, prompt, "
                                             "output, context or chips_count).")
    explain: bool = Field(False, description="Include every formula with its numbers.")


class WhatIfParams(_Params):
    """``chipfit whatif MODEL --chip CHIP --fps FPS --json``.

    The list parameters take repeated values (``?levers=batch&levers=input``), a comma-separated
    string (``?levers=batch,input``, as the CLI's flags) or, in a JSON body, a list, such a string or
    one number; an empty one is the CLI's default."""

    model: str = _model_field()
    chip: str = _chip_field()
    fps: float = _rate_field()
    precision: PrecisionName = Field("int8", description="The precision the model runs at now.")
    levers: Optional[list[LeverName]] = Field(
        None, max_length=len(LEVERS), examples=[["batch", "input"]],
        description=f"Only these levers: {', '.join(LEVERS)} (default: all). Asking for sparsity on a chip "
                    "without a sparse peak is an error.")
    to_precision: Optional[list[PrecisionName]] = Field(
        None, max_length=len(PRECISIONS), examples=[["fp16"]],
        description="Precisions to try (default: every narrower one the chip has a dense peak for); one the chip "
                    "lacks is an error.")
    prune_ratios: Optional[list[Fraction]] = Field(
        None, max_length=MAX_WHATIF_VALUES, examples=[[0.25, 0.5]],
        description="Channel-pruning ratios in (0, 1) (default 0.25,0.5).")
    scales: Optional[list[Fraction]] = Field(
        None, max_length=MAX_WHATIF_VALUES, examples=[[0.75, 0.5]],
        description="Input size (or sequence length) factors in (0, 1) (default 0.75,0.5).")
    batches: Optional[list[WhatIfBatch]] = Field(
        None, max_length=MAX_WHATIF_VALUES, examples=[[2, 4]],
        description=f"Batch sizes to try, 2 to {MAX_WHATIF_BATCH} (default 2,4,8,16).")
    seq_len: Optional[int] = _positive(None, MAX_TOKENS, "Tokens per sequence (text models).")
    input_shape: Optional[str] = Field(None, max_length=200, description="Input shape, e.g. 1,3,224,224.")

    @field_validator("levers", "to_precision", "prune_ratios", "scales", "batches", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """``"batch,input"`` or ``["batch,input"]`` → ``["batch", "input"]``, ``2`` → ``[2]``; empty → None
        (the default)."""
        if isinstance(value, (str, int, float)):
            value = [value]
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            value = [w.strip() for v in value for w in v.split(",") if w.strip()]
            return value or None
        return value


class PlanParams(_Params):
    """``chipfit plan SCENARIO --json`` (the scenario is the request body)."""

    chip: Optional[str] = _chip_field(None)
    load: float = Field(1.0, gt=0, le=1e6, allow_inf_nan=False, description="Multiply every rate.")
    rank: bool = Field(False, description="Run the scenario on every chip and rank those that carry it.")
    by: PlanBy = Field("power", description="rank: sort by power, utilization or latency.")
    category: Optional[Category] = Field(None, description="rank: only chips of this category.")
    max_power: Optional[float] = _opt_float("rank: only chips rated at most this many watts.", gt=0)
    min_memory_gb: Optional[float] = _opt_float("rank: only chips with at least this many GB.", ge=0)
    explain: bool = Field(False, description="Include every formula with its numbers (not with rank).")


class UploadParams(_Params):
    """What to do with an uploaded ONNX file: count it, check it on a chip or rank chips for it."""

    view: Literal["count", "check", "rank"] = Field("count", description="count, check or rank.")
    filename: Optional[str] = Field(None, max_length=255, description="The file's name, for a raw "
                                    "(application/octet-stream) body; multipart uploads carry their own.")
    precision: Optional[PrecisionName] = Field(None, description="Default: fp32 for count, int8 otherwise.")
    chip: Optional[str] = _chip_field(None)
    fps: Optional[float] = Field(None, gt=0, le=MAX_RATE, allow_inf_nan=False, description="check, rank: "
                                 "the target rate.")
    batch: Optional[int] = _positive(None, MAX_BATCH, "count: binds a free batch dimension; check, rank: "
                                     "inferences per batch on the chip.")
    dim: list[str] = Field(default_factory=list, max_length=32, description="Bind a free dimension, "
                           "NAME=VALUE (repeatable).")
    input_shape: list[str] = Field(default_factory=list, max_length=32, description="Whole input shape, "
                                   "NAME=SHAPE such as input_ids=1,128 (repeatable).")
    utilization: Optional[float] = Field(None, gt=0, le=1, allow_inf_nan=False,
                                         description="One efficiency factor instead of the fitted ones.")
    sparse: bool = Field(False, description="check: use the 2:4 structured-sparsity peak.")
    fuse: bool = Field(True, description="check: assume point-wise ops are fused.")
    by: RankBy = Field("power", description="rank: sort key.")
    category: Optional[Category] = Field(None, description="rank: only chips of this category.")
    max_power: Optional[float] = _opt_float("rank: only chips rated at most this many watts.", gt=0)
    min_memory_gb: Optional[float] = _opt_float("rank: only chips with at least this many GB.", ge=0)
    depth: int = Field(1, ge=0, le=64, description="count: module tree depth.")
    per_layer: bool = Field(False, description="count, check: include every op.")
    explain: bool = Field(False, description="check, rank: include the formulas.")


def builtin_model(name: str) -> str:
    """The canonical name of the built-in model ``name`` names; a one-sentence refusal for
    anything else (a path, an ``.onnx`` or ``config.json`` file, ``module:callable``)."""
    text = str(name).strip()
    entry = zoo.find(text)
    if entry is not None and not is_onnx(entry.name):
        return entry.name
    if is_onnx(text) or text.lower().endswith(".json") or any(c in text for c in "/\\:~"):
        raise ChipfitError(f"'{text}' is not a built-in model name: the web app never reads local files or "
                           f"imports Python code; pick a name from /api/models or upload an ONNX file")
    names = {e.name.lower(): e.name for e in zoo.by_name().values()}
    close = difflib.get_close_matches(text.lower(), list(names), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(names[c] for c in close)}?" if close else "; /api/models lists them"
    raise ChipfitError(f"unknown model '{text}': not a built-in name{hint}")
