"""What every command takes: one pydantic model per command, the single declaration of its
parameters — names (the Python API's), types, bounds, defaults and help.

* the command line builds its options from these models (:mod:`chipfit.cli`), spelling each
  name as a flag (``min_memory_gb`` → ``--min-memory``, see :class:`Cli`);
* the web API validates its queries with them (:mod:`chipfit.serve.params`), leaving out the
  parameters marked :data:`LOCAL` (they read local files);
* each function of the Python API checks its arguments against them (:func:`validate`), and a
  test holds the functions' defaults to the models'.

Parameters marked :data:`VIEW` say how a result is shown (every op, the formulas), not what is
computed. Errors name a parameter in backquotes, as the Python API spells it (```fps``
must be greater than 0``); each front end shows it in its own words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal, Optional, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticUseDefault

from chipfit.core.errors import ChipfitError, render_fields
from chipfit.core.precision import PRECISIONS
from chipfit.data.chips.schema import Category as ChipCategory
from chipfit.data.llm_efficiency import ENGINES

MAX_BATCH = 65_536
MAX_TOKENS = 1 << 20
MAX_RATE = 1e9
MAX_VALUES = 8           # values of a list parameter (what-if ratios, batch sizes): each is a recount


@dataclass(frozen=True)
class Cli:
    """How the command line spells a parameter, when not ``--name-with-dashes``."""

    flag: str | None = None       # '--min-memory', or '--fuse/--no-fuse' for a switch that defaults on
    short: str | None = None      # '-f'
    argument: bool = False        # a positional argument


@dataclass(frozen=True)
class Role:
    name: str


#: How the result is shown, not what is computed: not passed to the analysis function.
VIEW = Role("view")
#: Reads local files or runs local code: the web API never takes it.
LOCAL = Role("local")


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _listed(value: Any) -> Any:
    """``"a,b"`` or ``["a,b", "c"]`` → ``["a", "b", "c"]``; one number → a list of it; an empty
    list → the parameter's default."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        value = [w.strip() for v in value for w in v.split(",") if w.strip()]
    if isinstance(value, (list, tuple)) and not value:
        raise PydanticUseDefault()
    return value


def _repeated(value: Any) -> Any:
    """One string is a list of one (a shape holds commas of its own: it is never split); a tuple a list."""
    return [value] if isinstance(value, str) else list(value) if isinstance(value, tuple) else value


def _shapes(value: Any) -> Any:
    """Input shapes as the Python API also takes them: ``(1, 3, 224, 224)`` is one shape, a list
    may mix ``"1,3,224,224"`` with tuples of ints."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
        return [",".join(map(str, value))]
    if isinstance(value, (list, tuple)):
        return [",".join(map(str, v)) if isinstance(v, (list, tuple)) else v for v in value]
    return _repeated(value)


PrecisionName = Annotated[Literal[tuple(PRECISIONS)], BeforeValidator(_lower)]  # type: ignore[valid-type]
KVPrecision = Annotated[Literal["fp32", "fp16", "bf16", "fp8", "int8", "int4"], BeforeValidator(_lower)]
Engine = Annotated[Literal[("auto", *ENGINES)], BeforeValidator(_lower)]  # type: ignore[valid-type]
Category = Annotated[ChipCategory, BeforeValidator(_lower)]
Shapes = Annotated[Optional[list[str]], BeforeValidator(_shapes)]
PositiveInt = Annotated[int, Field(ge=1)]
Rate = Annotated[float, Field(gt=0, le=MAX_RATE, allow_inf_nan=False)]
def _fraction(x: float) -> float:
    if not 0 < x < 1:
        raise ValueError("must be in (0, 1)")
    return x


def _share(x: float) -> float:
    if not 0 < x <= 1:
        raise ValueError("must be in (0, 1]")
    return x


Fraction = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_fraction)]
Share = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_share)]

PRECISION_HELP = ", ".join(PRECISIONS)


def _p(default: Any = ..., help: str = "", **constraints: Any) -> Any:
    """A parameter: pydantic's Field with its help text."""
    return Field(default, description=help, **constraints)


class Params(BaseModel):
    """Base of every command's parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def roles(cls, name: str) -> set[str]:
        return {m.name for m in cls.model_fields[name].metadata if isinstance(m, Role)}

    @classmethod
    def cli(cls, name: str) -> Cli:
        return next((m for m in cls.model_fields[name].metadata if isinstance(m, Cli)), Cli())

    def api(self) -> dict[str, Any]:
        """The arguments of the analysis function (every field but the views)."""
        return {k: getattr(self, k) for k in type(self).model_fields if "view" not in self.roles(k)}

    @classmethod
    def parse(cls, values: dict[str, Any]) -> "Params":
        """Validate ``values``; the first problem becomes one sentence naming its parameter."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise _sentence(exc) from None


# -- count ------------------------------------------------------------------------------------
MODEL_HELP = "Built-in name or Hugging Face id, .onnx or .tflite file, config.json / model folder, or module:callable."
INPUT_SHAPE_HELP = ("Input shape such as 1,3,224,224 (repeat for several inputs; append :int64 for token ids); "
                    "for an ONNX model NAME=SHAPE, e.g. input_ids=1,128.")


class ModelInput(Params):
    """What the model is and how it is fed."""

    model: Annotated[str, Cli(argument=True)] = _p(help=MODEL_HELP, min_length=1, max_length=4096)
    input_shape: Annotated[Shapes, Cli(short="-i")] = _p(None, INPUT_SHAPE_HELP, max_length=32)
    seq_len: Annotated[Optional[int], Cli(short="-s")] = _p(None, "Tokens per sequence (text models).", ge=1,
                                                            le=MAX_TOKENS)
    dims: Annotated[Shapes, Cli(flag="--dim")] = _p(
        None, "Bind a free dimension of an ONNX model, NAME=VALUE such as batch=1 (repeatable).", max_length=32)
    device: Annotated[Literal["meta", "cpu", "cuda"], LOCAL] = _p(
        "meta", "Where a PyTorch model is built and traced: meta (no weights, default), cpu or cuda.")
    trace: Annotated[bool, LOCAL] = _p(False, "Build a config model with transformers and trace it instead of "
                                              "the analytic builder.")


class CountParams(ModelInput):
    """``chipfit count``: MACs, FLOPs, parameters and bytes of one forward pass (or one LLM phase)."""

    batch: Annotated[Optional[int], Cli(short="-b")] = _p(None, "Batch size (built-in and config models; binds "
                                                          "a free batch dimension of an ONNX model).", ge=1,
                                                          le=MAX_BATCH)
    precision: Annotated[PrecisionName, Cli(short="-p")] = _p(
        "fp32", f"Precision of the bytes (the counts never change): {PRECISION_HELP}.")
    phase: Literal["forward", "prefill", "decode"] = _p(
        "forward", "Language models: forward (all logits), prefill (prompt, KV cache written, last logits) or "
                   "decode (one token).")
    context: Optional[int] = _p(None, "Decode: tokens already in the KV cache (default: the sequence length).",
                                ge=0, le=MAX_TOKENS)
    causal_discount: bool = _p(False, "Count only unmasked attention scores (default: dense, as kernels "
                                      "compute them).")
    depth: Annotated[int, Cli(short="-d"), VIEW] = _p(1, "Module tree depth of the table.", ge=0, le=64)
    per_layer: Annotated[bool, VIEW] = _p(False, "List every op.")


# -- check, rank -----------------------------------------------------------------------------
UTILIZATION_HELP = ("One efficiency factor U in (0, 1] for compute and memory instead of the fitted per-class "
                    "factors.")
CHIPS_FILE_HELP = "Extra chip file(s) of the database schema (repeatable)."
POWER_MODE_HELP = "Power mode the chip runs in (chipfit chips ID lists them), e.g. 15W; the same as ID@MODE."


def _power_mode(help: str = POWER_MODE_HELP) -> Any:
    return _p(None, help, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ChipsFiles(Params):
    chips_files: Annotated[list[str], BeforeValidator(_repeated), Cli(flag="--chips-file"), LOCAL] = _p(
        [], CHIPS_FILE_HELP, max_length=64)


class CheckParams(ModelInput, ChipsFiles):
    """``chipfit check``: will this chip run the model at this rate?"""

    chip: Annotated[str, Cli(short="-c")] = _p(help="Chip id or alias (chipfit chips); ID:UNIT picks a unit; "
                                                    "ID:all or ID:gpu+dla runs copies on several at once.",
                                               min_length=1, max_length=200)
    fps: Annotated[Rate, Cli(short="-f")] = _p(help="Target rate: inferences (frames, requests) per second.")
    precision: Annotated[PrecisionName, Cli(short="-p")] = _p("int8", f"Workload precision: {PRECISION_HELP}.")
    batch: Annotated[int, Cli(short="-b")] = _p(1, "Inferences per batch on the chip.", ge=1, le=MAX_BATCH)
    utilization: Annotated[Optional[Share], Cli(short="-u")] = _p(None, UTILIZATION_HELP)
    runtime: Optional[str] = _p(None, "Runtime the chip runs the model with (chipfit chips ID lists them); "
                                      "default: the vendor's own.", min_length=1, max_length=60)
    host: Optional[str] = _p(None, "Chip whose CPU runs the ops the runtime leaves to the host (an Edge TPU's "
                                   "or Hailo's host, e.g. raspberry-pi-5); default: the chip's own CPU unit.",
                             min_length=1, max_length=200)
    power_mode: Optional[str] = _power_mode()
    sparse: bool = _p(False, "Use the 2:4 structured-sparsity peak.")
    fuse: Annotated[bool, Cli(flag="--fuse/--no-fuse")] = _p(True, "Assume point-wise ops are fused into the op "
                                                                   "before them (as deployment runtimes do).")
    explain: Annotated[bool, VIEW] = _p(False, "Write every formula with its numbers.")
    per_layer: Annotated[bool, VIEW] = _p(False, "Per-op roofline table.")


class ChipFilter(Params):
    category: Optional[Category] = _p(None, "Only chips of this category: edge, mobile, desktop, datacenter or "
                                            "cpu.")
    max_power: Optional[float] = _p(None, "Only chips rated at most this many watts.", gt=0, le=1e6,
                                    allow_inf_nan=False)
    min_memory_gb: Annotated[Optional[float], Cli(flag="--min-memory")] = _p(
        None, "Only chips with at least this many GB of memory.", ge=0, le=1e6, allow_inf_nan=False)


class RankParams(ModelInput, ChipFilter, ChipsFiles):
    """``chipfit rank``: every chip that meets the target, best first."""

    fps: Annotated[Rate, Cli(short="-f")] = _p(help="Target rate: inferences (frames, requests) per second.")
    precision: Annotated[PrecisionName, Cli(short="-p")] = _p("int8", f"Workload precision: {PRECISION_HELP}.")
    by: Literal["power", "margin", "energy", "latency"] = _p("power", "Sort by power, margin, energy or latency.")
    batch: Annotated[int, Cli(short="-b")] = _p(1, "Inferences per batch on the chip.", ge=1, le=MAX_BATCH)
    utilization: Annotated[Optional[Share], Cli(short="-u")] = _p(None, UTILIZATION_HELP)
    runtime: Optional[str] = _p(None, "Price the chips that run this runtime with it (the others with their "
                                      "vendor's own).", min_length=1, max_length=60)
    host: Optional[str] = _p(None, "Chip whose CPU runs the ops a runtime leaves to the host, for chips with no "
                                   "CPU of their own (an Edge TPU's or Hailo's host, e.g. raspberry-pi-5).",
                             min_length=1, max_length=200)
    power_mode: Optional[str] = _power_mode("Price the chips that have this power mode in it (the others as "
                                            "listed); with --max-power every mode within the budget is ranked.")
    show_all: Annotated[bool, Cli(flag="--all"), VIEW] = _p(False, "Also list the chips that fall short.")
    explain: Annotated[bool, VIEW] = _p(False, "Write the formulas with the best chip's numbers, and each chip's "
                                               "efficiency source and validation error.")


# -- llm ----------------------------------------------------------------------------------
class LLMParams(ChipsFiles):
    """``chipfit llm``: time to first token, time per output token, tokens/s and memory of an LLM."""

    model: Annotated[str, Cli(argument=True)] = _p(help="A decoder language model: a built-in name or a "
                                                        "config.json.", min_length=1, max_length=4096)
    chip: Annotated[str, Cli(short="-c")] = _p(help="Chip id or alias (chipfit chips); ID:UNIT picks a unit.",
                                               min_length=1, max_length=200)
    prompt: int = _p(512, "Prompt tokens per sequence.", ge=1, le=MAX_TOKENS)
    output: int = _p(128, "Output tokens per sequence.", ge=1, le=MAX_TOKENS)
    batch: Annotated[int, Cli(short="-b")] = _p(1, "Sequences decoded together.", ge=1, le=MAX_BATCH)
    precision: Annotated[PrecisionName, Cli(short="-p")] = _p(
        "fp16", "Weight format: fp32, fp16, bf16, fp8, int8 (w8a8), w8a16, w4a16, or q4_0, q8_0, q4_k_m "
                "(llama.cpp), q4f16_1 (MLC).")
    kv_precision: Optional[KVPrecision] = _p(
        None, "KV cache: fp32, fp16, bf16, fp8, int8 or int4 (default: fp16, or fp32 or bf16 with such weights).")
    group_size: Optional[int] = _p(None, "Weights per scale of a group-quantized format (w4a16 default 128).",
                                   ge=1, le=1 << 20)
    context: Optional[int] = _p(None, "KV cache tokens reserved per sequence (default: prompt + output).", ge=1,
                                le=MAX_TOKENS)
    power_mode: Optional[str] = _power_mode()
    chips_count: Annotated[int, Cli(short="-n")] = _p(1, "Identical chips in tensor parallelism.", ge=1, le=1024)
    link_gbps: Optional[float] = _p(None, "Chip-to-chip bandwidth per direction, GB/s (default: PCIe 4.0 x16, "
                                          "32).", gt=0, le=1e6, allow_inf_nan=False)
    engine: Engine = _p("auto", f"Whose fitted efficiency to use: {', '.join(ENGINES)}; auto (default): the "
                                f"engine of the weight format (q4_k_m, q4_0, q8_0: llama.cpp; q4f16_1: mlc), "
                                f"else generic.")
    overhead_gb: Optional[float] = _p(None, "Runtime memory per chip, GB (default 0.5).", ge=0, le=1e4,
                                      allow_inf_nan=False)
    sweep: Optional[str] = _p(None, "One parameter over values: batch=1,4,16,64 (or prompt, output, context, "
                                    "chips_count).", max_length=200)
    explain: Annotated[bool, VIEW] = _p(False, "Write every formula with its numbers.")


# -- plan -----------------------------------------------------------------------------------
class PlanParams(ChipFilter, ChipsFiles):
    """``chipfit plan``: several models at once — demand, utilization, memory and latency."""

    scenario: Annotated[str, Cli(argument=True), LOCAL] = _p(
        help="Scenario file (YAML): stages, rates, dependencies, budget; see examples/.", min_length=1,
        max_length=4096)
    chip: Annotated[Optional[str], Cli(short="-c")] = _p(
        None, "Chip for every stage that does not name its own (replaces the scenario's chip).", min_length=1,
        max_length=200)
    power_mode: Optional[str] = _power_mode("Power mode of the scenario's chip (chipfit chips ID lists them), "
                                            "e.g. 15W; with rank, of every chip that has it.")
    rank: bool = _p(False, "Run the scenario on every chip and rank those that carry it.")
    load_factor: Annotated[float, Cli(flag="--load")] = _p(1.0, "Multiply every rate (2: twice the traffic).",
                                                            gt=0, le=1e6, allow_inf_nan=False)
    by: Literal["power", "utilization", "latency"] = _p("power", "With rank: sort by power, utilization or "
                                                                 "latency.")
    show_all: Annotated[bool, Cli(flag="--all"), VIEW] = _p(False, "With rank: also list the chips that fall "
                                                                   "short.")
    allow_code: Annotated[bool, LOCAL] = _p(False, "Let stages name module:callable models (Python code that is "
                                                   "imported and run): only for a scenario you trust.")
    explain: Annotated[bool, VIEW] = _p(False, "Write every formula with its numbers.")


# -- whatif ---------------------------------------------------------------------------------
LEVERS = ("precision", "batch", "input", "sparsity", "unstructured", "prune", "lighter")
Lever = Literal[LEVERS]  # type: ignore[valid-type]


class WhatIfParams(ChipsFiles):
    """``chipfit whatif``: which lever closes the gap on this chip."""

    model: Annotated[str, Cli(argument=True)] = _p(help=MODEL_HELP, min_length=1, max_length=4096)
    chip: Annotated[str, Cli(short="-c")] = _p(help="Chip id or alias (chipfit chips); ID:UNIT picks a unit.",
                                               min_length=1, max_length=200)
    fps: Annotated[Rate, Cli(short="-f")] = _p(help="Target rate: inferences (frames, requests) per second.")
    precision: Annotated[PrecisionName, Cli(short="-p")] = _p("int8", "The precision the model runs at now.")
    precisions: Annotated[Optional[list[PrecisionName]], BeforeValidator(_listed), Cli(flag="--to-precision")] = _p(
        None, "Precisions to try, e.g. fp16,int4 (default: every narrower one the chip has a dense peak for); one "
              "the chip lacks is an error.", max_length=len(PRECISIONS))
    levers: Annotated[Optional[list[Lever]], BeforeValidator(_listed), Cli(flag="--lever")] = _p(
        None, f"Only these levers: {', '.join(LEVERS)} (comma-separated or repeated; default all). Asking for "
              "sparsity on a chip without a sparse peak is an error.", max_length=len(LEVERS))
    prune_ratios: Annotated[list[Fraction], BeforeValidator(_listed), Cli(flag="--prune")] = _p(
        [0.25, 0.5], "Channel-pruning ratios in (0, 1), comma-separated.", min_length=1, max_length=MAX_VALUES)
    scales: Annotated[list[Fraction], BeforeValidator(_listed), Cli(flag="--scale")] = _p(
        [0.75, 0.5], "Input size (or sequence length) factors in (0, 1), comma-separated.", min_length=1,
        max_length=MAX_VALUES)
    batches: Annotated[list[Annotated[int, Field(ge=2, le=1024)]], BeforeValidator(_listed),
                       Cli(flag="--batch", short="-b")] = _p(
        [2, 4, 8, 16], "Batch sizes to try, 2 to 1024, comma-separated.", min_length=1, max_length=MAX_VALUES)
    input_shape: Annotated[Shapes, Cli(short="-i")] = _p(None, INPUT_SHAPE_HELP, max_length=32)
    seq_len: Annotated[Optional[int], Cli(short="-s")] = _p(None, "Tokens per sequence (text models).", ge=1,
                                                            le=MAX_TOKENS)
    device: Annotated[Literal["meta", "cpu", "cuda"], LOCAL] = _p(
        "meta", "Where a PyTorch model is built and traced: meta (no weights, default), cpu or cuda.")
    runtime: Optional[str] = _p(None, "Runtime the chip runs every option with (chipfit chips ID lists them); "
                                      "default: the vendor's own.", min_length=1, max_length=60)
    power_mode: Optional[str] = _power_mode()


# -- chips, measure, calibrate -----------------------------------------------------------------
class ChipsParams(ChipFilter, ChipsFiles):
    """``chipfit chips``: the chip database, or one chip with every number and its source."""

    chip: Annotated[Optional[str], Cli(argument=True)] = _p(None, "A chip id: show every number with its source.",
                                                            min_length=1, max_length=200)
    vendor: Optional[str] = _p(None, "Vendor name (substring).", max_length=100)
    precision: Annotated[Optional[PrecisionName], Cli(short="-p")] = _p(None, "Only chips with a dense peak for "
                                                                              "it.")


class MeasureParams(ChipsFiles):
    """``chipfit measure``: time real inference and compare it with the prediction."""

    model: Annotated[str, Cli(argument=True), LOCAL] = _p(help=MODEL_HELP, min_length=1, max_length=4096)
    runtime: Annotated[Literal["onnxruntime", "torch"], Cli(short="-r")] = _p(
        "onnxruntime", "onnxruntime (exports the model to ONNX first) or torch.")
    device: Literal["cpu", "cuda"] = _p("cpu", "cpu or cuda.")
    batch: Annotated[int, Cli(short="-b")] = _p(1, "Inferences per run.", ge=1, le=MAX_BATCH)
    precision: Annotated[PrecisionName, Cli(short="-p")] = _p("fp32", "fp32 (onnxruntime); fp32, bf16 or fp16 "
                                                                      "(torch).")
    threads: Optional[int] = _p(None, "Intra-op threads (default: all cores).", ge=1, le=4096)
    chip: Annotated[Optional[str], Cli(short="-c")] = _p(None, "Chip to predict on (default: this-machine, "
                                                               "written by 'chipfit probe'); '' for none.",
                                                         max_length=200)
    input_shape: Annotated[Shapes, Cli(short="-i")] = _p(None, INPUT_SHAPE_HELP, max_length=32)
    dims: Annotated[Shapes, Cli(flag="--dim")] = _p(None, "Bind a free dimension of an ONNX model, NAME=VALUE "
                                                          "such as batch=1 (repeatable).", max_length=32)
    seq_len: Annotated[Optional[int], Cli(short="-s")] = _p(None, "Tokens per sequence.", ge=1, le=MAX_TOKENS)
    min_runs: int = _p(10, "Timed runs, at least.", ge=3, le=1_000_000)
    min_time_s: Annotated[float, Cli(flag="--min-time")] = _p(3.0, "Seconds of timed runs, at least.", ge=0,
                                                              le=86_400, allow_inf_nan=False)
    max_time_s: Annotated[float, Cli(flag="--max-time")] = _p(60.0, "Stop timing after this many seconds.", gt=0,
                                                              le=86_400, allow_inf_nan=False)
    explain: Annotated[bool, VIEW] = _p(False, "Show how every number is computed.")


class CalibrateParams(ChipsFiles):
    """``chipfit calibrate``: fit a chip's efficiencies to measurements."""

    chip: Annotated[str, Cli(argument=True)] = _p(help="Chip id (or ID:UNIT) to fit.", min_length=1,
                                                  max_length=200)
    measurements: Annotated[str, Cli(flag="--from"), LOCAL] = _p(
        help="CSV of measurements ('chipfit measure --save' writes one; see the docs for the columns).",
        min_length=1, max_length=4096)
    allow_code: Annotated[bool, LOCAL] = _p(False, "Let rows name module:callable models (Python code that is "
                                                   "imported and run): only for a file you trust.")


#: The command each model describes.
COMMANDS: dict[str, type[Params]] = {
    "count": CountParams, "check": CheckParams, "rank": RankParams, "llm": LLMParams, "plan": PlanParams,
    "whatif": WhatIfParams, "chips": ChipsParams, "measure": MeasureParams, "calibrate": CalibrateParams,
}


def flag(name: str) -> str:
    """How the command line spells parameter ``name`` (the same in every command): ``--min-memory``."""
    return _flags().get(name) or "--" + name.replace("_", "-")


def cli_words(text: str) -> str:
    """``text`` as the command line says it: each ```parameter``` of a command as its flag
    (``--seq-len``); a name that is no option (a Python-only argument) stays as it is."""
    flags = _flags()
    return render_fields(text, lambda name: flags.get(name, name))


@lru_cache(maxsize=1)
def _flags() -> dict[str, str]:
    out: dict[str, str] = {}
    for model in COMMANDS.values():
        for name in model.model_fields:
            cli = model.cli(name)
            out[name] = cli.flag.split("/")[0] if cli.flag else "--" + name.replace("_", "-")
    return out


# -- checking the Python API's arguments ---------------------------------------------------------
def _plain(value: Any) -> bool:
    """A value a command line or a web query could carry (the Python API also takes objects —
    a Precision, an nn.Module, a CountResult — which are checked where they are used)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    return isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float, list, tuple)) for v in value)


@lru_cache(maxsize=None)
def _adapter(model: type[Params], name: str) -> TypeAdapter:
    field = model.model_fields[name]
    return TypeAdapter(Annotated[field.annotation, field])


def validate(model: type[Params], **values: Any) -> None:
    """Check each plain value against its parameter of ``model`` (unknown names are skipped):
    one sentence naming the first parameter that is out of bounds."""
    for name, value in values.items():
        if name not in model.model_fields or not _plain(value):
            continue
        if isinstance(value, tuple):
            value = list(value)
        try:
            _adapter(model, name).validate_python(value)
        except ValidationError as exc:
            raise _sentence(exc, name, value) from None


def _sentence(exc: ValidationError, name: str | None = None, value: Any = None) -> ChipfitError:
    """The first problem of ``exc`` as one sentence: ```fps` must be positive, got -1``."""
    return sentence(exc.errors()[0], name, value)


def sentence(err: dict, name: str | None = None, value: Any = None) -> ChipfitError:
    """One pydantic error (``ValidationError.errors()[0]``) as one sentence naming its parameter;
    ``name``: the parameter, when ``err`` comes from checking that parameter alone."""
    loc = [str(x) for x in err.get("loc", ())]
    field = name or (loc[0] if loc else "")
    inner = loc[1:] if name is None else loc
    item = f" item {int(inner[-1]) + 1}" if inner and inner[-1].isdigit() else ""
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if "input" in err and (name is None or item):
        value = err["input"]
    if kind == "sentence":   # a validator's own sentence (PydanticCustomError("sentence", ...))
        return ChipfitError(str(err.get("msg", "")))
    if kind == "missing":
        return ChipfitError(f"`{field}` is required")
    if kind == "extra_forbidden":
        return ChipfitError(f"unknown parameter `{field}`")
    if kind == "literal_error":
        choices = ", ".join(x.strip("'") for x in str(ctx.get("expected", "")).replace(" or ", ", ").split(", "))
        msg = f"must be one of {choices}"
    elif kind == "finite_number" or (isinstance(value, float) and not math.isfinite(value)):
        msg = "must be a finite number"
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(ctx.values()))
        msg = {"greater_than": "must be positive" if bound == 0 else f"must be greater than {bound}",
               "greater_than_equal": f"must be at least {bound}", "less_than": f"must be less than {bound}",
               "less_than_equal": f"must be at most {bound}"}[kind]
    elif kind in ("too_long", "too_short"):
        n = ctx.get("max_length" if kind == "too_long" else "min_length")
        msg = f"must have at {'most' if kind == 'too_long' else 'least'} {n} value{'s' * (n != 1)}"
        value = None
    elif kind in ("string_too_long", "string_too_short"):
        n = ctx.get("max_length" if kind == "string_too_long" else "min_length")
        msg = f"must be at {'most' if kind == 'string_too_long' else 'least'} {n} characters long"
        value = None
    elif kind in ("float_parsing", "float_type"):
        msg = "must be a number"
    elif kind in ("int_parsing", "int_type", "int_from_float"):
        msg = "must be a whole number"
    else:
        msg = str(err.get("msg", "is not valid")).replace("Value error, ", "")
        msg = msg.replace("Input should be", "must be").replace("Input ", "")
    got = "" if value is None or isinstance(value, (list, dict)) else f", got {value}"
    return ChipfitError(f"`{field}`{item} {msg}{got}")


def literal_values(model: type[Params], name: str) -> tuple[str, ...]:
    """The choices of a Literal parameter (for help texts and the web page's pickers)."""
    ann = model.model_fields[name].annotation
    for arg in (ann, *get_args(ann)):
        if getattr(arg, "__origin__", None) is Literal:
            return get_args(arg)
        inner = get_args(arg)
        if inner and getattr(inner[0], "__origin__", None) is Literal:
            return get_args(inner[0])
    return ()
