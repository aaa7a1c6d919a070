"""The ``chipfit`` command: a thin shell over the Python API (DESIGN.md, CLI contract).

Bad input prints one sentence to stderr and exits 2; an internal failure exits 1.
``--json`` prints exactly one JSON object on stdout and nothing else.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Optional

import typer
from rich.console import Console

from chipfit.analysis.explain import with_explain as _with_explain
from chipfit.core.errors import ChipfitError
from chipfit.core.version import VERSION

MODEL_HELP = "Built-in name, .onnx file, config.json / model folder, or module:callable."
INPUT_SHAPE_HELP = ("Input shape such as 1,3,224,224 (repeat for several inputs; append :int64 for token ids); "
                    "for an ONNX model NAME=SHAPE, e.g. input_ids=1,128.")
DIM_HELP = "Bind a free dimension of an ONNX model, NAME=VALUE such as batch=1 (repeatable)."

app = typer.Typer(
    name="chipfit",
    help="How much compute and bandwidth does my neural network need, and will this chip run it?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# Piped output is not bound by a terminal's width: use 120 columns unless COLUMNS (non-empty) says otherwise.
stdout = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS", "").strip() else 120)


def _fail(message: str, code: int) -> None:
    Console(stderr=True).print(f"chipfit: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


def _emit_json(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj, indent=2) + "\n")


FORMATS = ("table", "json", "csv", "markdown")


def _format(fmt: str, as_json: bool, report: str | None, force: bool) -> str:
    """The output format (--json is --format json); refuses a report file that exists, before any work."""
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ChipfitError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if as_json and fmt not in ("table", "json"):
        raise ChipfitError(f"--json and --format {fmt} ask for two formats: give one")
    if report is not None:
        from chipfit.render.report import check_target

        check_target(report, force, "--report")
    return "json" if as_json else fmt


def _busy(message: str):
    """A spinner on stderr while something slow runs (on a terminal only)."""
    from contextlib import nullcontext

    err = Console(stderr=True)
    return err.status(message) if err.is_terminal else nullcontext()


def _finish(kind: str, fmt: str, data, view, report: str | None = None, force: bool = False, full=None) -> None:
    """Emit a result: its report (from ``full()``, else ``data()``), then ``data()`` in ``fmt`` or ``view()``."""
    if report is not None:
        import shlex

        from chipfit.render.report import write

        page = {"command": kind, **(full or data)()}
        write(report, page, force, " ".join(shlex.quote(a) for a in ["chipfit", *sys.argv[1:]]))
        Console(stderr=True).print(f"wrote {report}", markup=False, highlight=False)
    if fmt == "table":
        stdout.print(view())
        return
    out = {"command": kind, **data()}
    if fmt == "json":
        _emit_json(out)
        return
    from chipfit.render.tabular import to_csv, to_markdown

    sys.stdout.write(to_csv(out) if fmt == "csv" else to_markdown(out))


def _version(value: bool) -> None:
    if value:
        stdout.print(f"chipfit {VERSION}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """How much compute and bandwidth does my neural network need, and will this chip run it?"""


ModelArg = Annotated[str, typer.Argument(help=MODEL_HELP)]
InputShapeOpt = Annotated[Optional[list[str]], typer.Option("--input-shape", "-i", help=INPUT_SHAPE_HELP)]
DimOpt = Annotated[Optional[list[str]], typer.Option("--dim", help=DIM_HELP)]
SeqLenOpt = Annotated[Optional[int], typer.Option("--seq-len", "-s", help="Tokens per sequence (text models).")]
FpsOpt = Annotated[float, typer.Option("--fps", "-f", help="Target rate: inferences (frames, requests) per second.")]
UtilOpt = Annotated[Optional[float], typer.Option(
    "--utilization", "-u", help="Use one efficiency factor U in (0, 1] for compute and memory instead of "
    "the fitted per-class factors (the seeds' mode).")]
ChipsFileOpt = Annotated[Optional[list[str]], typer.Option(
    "--chips-file", help="Extra chip file(s) of the database schema (repeatable); see README.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object and nothing else.")]
ReportOpt = Annotated[Optional[str], typer.Option("--report", help="Also write a self-contained HTML report "
                                                 "(charts, formulas) to this .html file.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="--report: replace the file if it exists.")]
FormatOpt = Annotated[str, typer.Option("--format", help="table (default), json, csv or markdown.")]


@app.command()
def count(
    model: ModelArg,
    input_shape: InputShapeOpt = None,
    dim: DimOpt = None,
    seq_len: SeqLenOpt = None,
    batch: Annotated[Optional[int], typer.Option("--batch", "-b", help="Batch size (built-in and config models).")] = None,
    precision: Annotated[str, typer.Option("--precision", "-p", help="Precision for bytes: fp32, fp16, bf16, "
                                           "fp8, int8, int4, w8a16, w4a16, q8_0, q4_0, q4_k_m, q4f16_1.")] = "fp32",
    depth: Annotated[int, typer.Option("--depth", "-d", min=0, help="Module tree depth of the table.")] = 1,
    per_layer: Annotated[bool, typer.Option("--per-layer", help="List every op.")] = False,
    device: Annotated[str, typer.Option("--device", help="meta (no weights, default), cpu or cuda.")] = "meta",
    phase: Annotated[str, typer.Option("--phase", help="Language models: forward (all logits), prefill "
                                       "(prompt, KV cache written, last logits) or decode (one token).")] = "forward",
    context: Annotated[Optional[int], typer.Option("--context", help="Decode: tokens already in the KV cache "
                                                   "(default: --seq-len).")] = None,
    causal_discount: Annotated[bool, typer.Option("--causal-discount", help="Count only unmasked attention "
                                                  "scores (default: dense, as kernels compute them).")] = False,
    trace: Annotated[bool, typer.Option("--trace", help="Build a config model with transformers and trace it "
                                        "instead of the analytic builder.")] = False,
    as_json: JsonOpt = False,
    fmt: FormatOpt = "table",
    report: ReportOpt = None,
    force: ForceOpt = False,
) -> None:
    """Count MACs, FLOPs, parameters and bytes of one forward pass (or one LLM phase)."""
    from chipfit.analysis.count import count as count_model
    from chipfit.render.terminal.count import count_table

    fmt = _format(fmt, as_json, report, force)
    with _busy(f"counting {model}"):
        result = count_model(model, input_shape=input_shape, seq_len=seq_len, batch=batch,
                             precision=precision, device=device, dims=dim, phase=phase, context=context,
                             causal_discount=causal_discount, trace=trace)
    _finish("count", fmt, lambda: result.to_dict(per_layer=per_layer, depth=depth),
            lambda: count_table(result, depth=depth, per_layer=per_layer), report, force,
            lambda: result.to_dict(per_layer=True, depth=depth))




@app.command()
def check(
    model: ModelArg,
    chip: Annotated[str, typer.Option("--chip", "-c", help="Chip id or alias (chipfit chips); ID:UNIT picks a unit.")],
    fps: FpsOpt,
    precision: Annotated[str, typer.Option("--precision", "-p", help="fp32, tf32, fp16, bf16, fp8, int8, int4, "
                                           "w8a16, w4a16, q8_0, q4_0, q4_k_m, q4f16_1.")] = "int8",
    batch: Annotated[int, typer.Option("--batch", "-b", help="Inferences per batch on the chip.")] = 1,
    utilization: UtilOpt = None,
    sparse: Annotated[bool, typer.Option("--sparse", help="Use the 2:4 structured-sparsity peak.")] = False,
    no_fuse: Annotated[bool, typer.Option("--no-fuse", help="Do not assume point-wise ops are fused.")] = False,
    input_shape: InputShapeOpt = None,
    seq_len: SeqLenOpt = None,
    dim: DimOpt = None,
    explain: Annotated[bool, typer.Option("--explain", help="Write every formula with its numbers.")] = False,
    per_layer: Annotated[bool, typer.Option("--per-layer", help="Per-op roofline table.")] = False,
    chips_file: ChipsFileOpt = None,
    as_json: JsonOpt = False,
    fmt: FormatOpt = "table",
    report: ReportOpt = None,
    force: ForceOpt = False,
) -> None:
    """Will this chip run the model at this rate? Verdict first, then the details."""
    from chipfit.analysis.check import check as check_model
    from chipfit.render.terminal.check import check_view

    fmt = _format(fmt, as_json, report, force)
    with _busy(f"counting {model}"):
        result = check_model(model, chip, fps=fps, precision=precision, batch=batch, utilization=utilization,
                             sparse=sparse, fuse=not no_fuse, chips_files=chips_file or (),
                             input_shape=input_shape, seq_len=seq_len, dims=dim)
    _finish("check", fmt, lambda: _with_explain(result.to_dict(per_layer=per_layer), result, explain),
            lambda: check_view(result, explain=explain, per_layer=per_layer), report, force,
            lambda: _with_explain(result.to_dict(per_layer=True), result, True))


@app.command()
def rank(
    model: ModelArg,
    fps: FpsOpt,
    precision: Annotated[str, typer.Option("--precision", "-p", help="Workload precision.")] = "int8",
    by: Annotated[str, typer.Option("--by", help="Sort by power, margin, energy or latency.")] = "power",
    category: Annotated[Optional[str], typer.Option("--category", help="edge, mobile, desktop, datacenter or cpu.")] = None,
    max_power: Annotated[Optional[float], typer.Option("--max-power", help="Only chips rated at most W watts.")] = None,
    min_memory: Annotated[Optional[float], typer.Option("--min-memory", help="Only chips with at least GB of memory.")] = None,
    batch: Annotated[int, typer.Option("--batch", "-b", help="Inferences per batch on the chip.")] = 1,
    utilization: UtilOpt = None,
    input_shape: InputShapeOpt = None,
    seq_len: SeqLenOpt = None,
    dim: DimOpt = None,
    show_all: Annotated[bool, typer.Option("--all", help="Also list the chips that fall short.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Write the formulas with the best chip's numbers, "
                                          "and each chip's efficiency source and validation error.")] = False,
    chips_file: ChipsFileOpt = None,
    as_json: JsonOpt = False,
    fmt: FormatOpt = "table",
    report: ReportOpt = None,
    force: ForceOpt = False,
) -> None:
    """Every chip that meets the target, best first."""
    from chipfit.analysis.rank import rank as rank_model
    from chipfit.render.terminal.check import rank_view

    fmt = _format(fmt, as_json, report, force)
    with _busy(f"ranking chips for {model}"):
        result = rank_model(model, fps=fps, precision=precision, by=by, batch=batch, utilization=utilization,
                            category=category, max_power=max_power, min_memory_gb=min_memory,
                            chips_files=chips_file or (), input_shape=input_shape, seq_len=seq_len, dims=dim)
    _finish("rank", fmt, lambda: _with_explain(result.to_dict(), result, explain),
            lambda: rank_view(result, show_all=show_all, explain=explain), report, force,
            lambda: _with_explain(result.to_dict(), result, True))


@app.command()
def llm(
    model: ModelArg,
    chip: Annotated[str, typer.Option("--chip", "-c", help="Chip id or alias (chipfit chips).")],
    prompt: Annotated[int, typer.Option("--prompt", help="Prompt tokens per sequence.")] = 512,
    output: Annotated[int, typer.Option("--output", help="Output tokens per sequence.")] = 128,
    batch: Annotated[int, typer.Option("--batch", "-b", help="Sequences decoded together.")] = 1,
    precision: Annotated[str, typer.Option("--precision", "-p", help="Weights: fp32, fp16, bf16, fp8, int8 (w8a8), "
                                           "w8a16, w4a16, or q4_0, q8_0, q4_k_m (llama.cpp), q4f16_1 (MLC).")] = "fp16",
    kv_precision: Annotated[Optional[str], typer.Option("--kv-precision", help="KV cache: fp32, fp16, bf16, fp8, "
                                                        "int8, int4 (default: fp16, fp32 or bf16 with the weights).")] = None,
    group_size: Annotated[Optional[int], typer.Option("--group-size", help="Weights per scale of a group-quantized "
                                                      "format (w4a16 default 128).")] = None,
    context: Annotated[Optional[int], typer.Option("--context", help="KV cache tokens reserved per sequence "
                                                   "(default: prompt + output).")] = None,
    chips_count: Annotated[int, typer.Option("--chips-count", "-n", help="Identical chips in tensor parallelism.")] = 1,
    link_gbps: Annotated[Optional[float], typer.Option("--link-gbps", help="Chip-to-chip bandwidth per direction, "
                                                       "GB/s (default: PCIe 4.0 x16, 32).")] = None,
    engine: Annotated[str, typer.Option("--engine", help="generic, hf, tinychat, tensorrt-llm, llama.cpp or mlc: "
                                        "whose fitted efficiency to use.")] = "generic",
    overhead_gb: Annotated[Optional[float], typer.Option("--overhead-gb", help="Runtime memory per chip, GB "
                                                         "(default 0.5).")] = None,
    sweep: Annotated[Optional[str], typer.Option("--sweep", help="One parameter over values: batch=1,4,16,64 "
                                                 "(or prompt, output, context, chips_count).")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Write every formula with its numbers.")] = False,
    chips_file: ChipsFileOpt = None,
    as_json: JsonOpt = False,
    fmt: FormatOpt = "table",
    report: ReportOpt = None,
    force: ForceOpt = False,
) -> None:
    """Time to first token, time per output token, tokens/s and memory of an LLM on a chip."""
    from chipfit.analysis.llm import fit_advice, parse_sweep
    from chipfit.analysis.llm import llm as run_llm
    from chipfit.analysis.llm import sweep as run_sweep
    from chipfit.render.terminal.llm import llm_view, sweep_view

    fmt = _format(fmt, as_json, report, force)
    kwargs = dict(prompt=prompt, output=output, batch=batch, precision=precision, kv_precision=kv_precision,
                  group_size=group_size, context=context, chips_count=chips_count, link_gbps=link_gbps,
                  engine=engine, overhead_gb=overhead_gb, chips_files=chips_file or ())
    if sweep is not None:
        key, values = parse_sweep(sweep)
        bar, update = _progress()
        with bar:
            swept = run_sweep(model, chip, key, values, progress=update, **kwargs)
        _finish("llm-sweep", fmt, swept.to_dict, lambda: sweep_view(swept), report, force)
        return
    with _busy(f"pricing {model}"):
        result = run_llm(model, chip, **kwargs)
    if not result.memory_fits:
        raise ChipfitError(fit_advice(result))
    _finish("llm", fmt, lambda: _with_explain(result.to_dict(), result, explain),
            lambda: llm_view(result, explain=explain), report, force,
            lambda: _with_explain(result.to_dict(), result, True))


@app.command()
def plan(
    scenario: Annotated[str, typer.Argument(help="Scenario file (YAML): stages, rates, dependencies, budget; "
                                            "see examples/.")],
    chip: Annotated[Optional[str], typer.Option("--chip", "-c", help="Chip for every stage that does not name "
                                                "its own (replaces the scenario's chip).")] = None,
    rank: Annotated[bool, typer.Option("--rank", help="Run the scenario on every chip and rank those that "
                                       "carry it.")] = False,
    load: Annotated[float, typer.Option("--load", help="Multiply every rate (2: twice the traffic).")] = 1.0,
    by: Annotated[str, typer.Option("--by", help="--rank: sort by power, utilization or latency.")] = "power",
    category: Annotated[Optional[str], typer.Option("--category", help="--rank: edge, mobile, desktop, "
                                                    "datacenter or cpu.")] = None,
    max_power: Annotated[Optional[float], typer.Option("--max-power", help="--rank: only chips rated at most "
                                                       "W watts.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="--rank: also list the chips that fall short.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Write every formula with its numbers.")] = False,
    chips_file: ChipsFileOpt = None,
    as_json: JsonOpt = False,
    fmt: FormatOpt = "table",
    report: ReportOpt = None,
    force: ForceOpt = False,
) -> None:
    """Several models at once: per-stage demand, chip utilization, memory and end-to-end latency."""
    from chipfit.analysis.plan import plan as run_plan
    from chipfit.analysis.plan import rank_plan
    from chipfit.render.terminal.plan import plan_view, rank_plan_view

    fmt = _format(fmt, as_json, report, force)
    if rank:
        if chip is not None:
            raise ChipfitError("--rank tries every chip; leave out --chip")
        bar, update = _progress()
        with bar:
            ranked = rank_plan(scenario, by=by, category=category, max_power=max_power, load_factor=load,
                               chips_files=chips_file or (), progress=update)
        _finish("plan-rank", fmt, ranked.to_dict, lambda: rank_plan_view(ranked, show_all=show_all), report, force)
        return
    with _busy(f"planning {scenario}"):
        result = run_plan(scenario, chip=chip, load_factor=load, chips_files=chips_file or ())
    _finish("plan", fmt, lambda: _with_explain(result.to_dict(), result, explain),
            lambda: plan_view(result, explain=explain), report, force,
            lambda: _with_explain(result.to_dict(), result, True))


def _split_floats(values: Optional[list[str]], flag: str) -> Optional[list[float]]:
    """``--prune 0.25,0.5 --prune 0.75`` → [0.25, 0.5, 0.75] (None when not given)."""
    if not values:
        return None
    out = []
    for part in ",".join(values).split(","):
        try:
            out.append(float(part))
        except ValueError:
            raise ChipfitError(f"{flag} takes numbers such as 0.25,0.5, got {part.strip()!r}") from None
    return out


def _split_words(values: Optional[list[str]]) -> Optional[list[str]]:
    return [w.strip() for v in values for w in v.split(",") if w.strip()] if values else None


@app.command()
def whatif(
    model: ModelArg,
    chip: Annotated[str, typer.Option("--chip", "-c", help="Chip id or alias (chipfit chips); ID:UNIT picks a unit.")],
    fps: FpsOpt,
    precision: Annotated[str, typer.Option("--precision", "-p", help="The precision the model runs at now "
                                           "(default int8).")] = "int8",
    to_precision: Annotated[Optional[list[str]], typer.Option(
        "--to-precision", help="Precisions to try (e.g. fp16,int4); default: every one the chip has a dense peak "
        "for. One the chip lacks is an error.")] = None,
    lever: Annotated[Optional[list[str]], typer.Option(
        "--lever", help="Only these levers: precision, batch, input, sparsity, unstructured, prune, lighter "
        "(comma-separated or repeated). Asking for sparsity on a chip without a sparse peak is an error.")] = None,
    prune: Annotated[Optional[list[str]], typer.Option("--prune", help="Channel-pruning ratios in (0, 1) "
                                                       "(default 0.25,0.5).")] = None,
    scale: Annotated[Optional[list[str]], typer.Option("--scale", help="Input size (or sequence length) factors "
                                                       "in (0, 1) (default 0.75,0.5).")] = None,
    batch: Annotated[Optional[list[str]], typer.Option("--batch", "-b", help="Batch sizes to try, ≥ 2 "
                                                       "(default 2,4,8,16).")] = None,
    input_shape: InputShapeOpt = None,
    seq_len: SeqLenOpt = None,
    chips_file: ChipsFileOpt = None,
    as_json: JsonOpt = False,
    fmt: FormatOpt = "table",
    report: ReportOpt = None,
    force: ForceOpt = False,
) -> None:
    """Which lever closes the gap on this chip: precision, batch, input size, sparsity, pruning, a lighter model."""
    from chipfit.analysis.whatif import BATCHES, PRUNE_RATIOS, SCALES
    from chipfit.analysis.whatif import whatif as run_whatif
    from chipfit.render.terminal.whatif import whatif_view

    fmt = _format(fmt, as_json, report, force)
    batches = _split_floats(batch, "--batch")
    if batches and any(b != int(b) for b in batches):
        raise ChipfitError(f"--batch takes whole numbers, got {','.join(f'{b:g}' for b in batches)}")
    bar, update = _progress()
    with bar:
        result = run_whatif(model, chip, fps=fps, precision=precision,
                            prune_ratios=_split_floats(prune, "--prune") or PRUNE_RATIOS,
                            scales=_split_floats(scale, "--scale") or SCALES,
                            batches=[int(b) for b in batches] if batches else BATCHES,
                            levers=_split_words(lever), precisions=_split_words(to_precision),
                            chips_files=chips_file or (), input_shape=input_shape, seq_len=seq_len,
                            progress=update)
    _finish("whatif", fmt, result.to_dict, lambda: whatif_view(result), report, force)


@app.command()
def chips(
    chip: Annotated[Optional[str], typer.Argument(help="A chip id: show every number with its source.")] = None,
    category: Annotated[Optional[str], typer.Option("--category", help="edge, mobile, desktop, datacenter or cpu.")] = None,
    vendor: Annotated[Optional[str], typer.Option("--vendor", help="Vendor name (substring).")] = None,
    precision: Annotated[Optional[str], typer.Option("--precision", "-p", help="Only chips with a dense peak for it.")] = None,
    max_power: Annotated[Optional[float], typer.Option("--max-power", help="Only chips rated at most W watts.")] = None,
    min_memory: Annotated[Optional[float], typer.Option("--min-memory", help="Only chips with at least GB of memory.")] = None,
    chips_file: ChipsFileOpt = None,
    as_json: JsonOpt = False,
    fmt: FormatOpt = "table",
) -> None:
    """List the chip database, or show one chip with sources and FLOP:byte ridge points."""
    from chipfit.data.chips import chips as list_chips
    from chipfit.data.chips import database

    fmt = _format(fmt, as_json, None, False)
    as_json = fmt == "json"
    if chip is not None:
        if fmt in ("csv", "markdown"):
            raise ChipfitError(f"--format {fmt} lists chips; for one chip use --json or the table")
        rec, _ = database(chips_file or ()).get(chip)
        if as_json:
            _emit_json({"chip": rec.chip.model_dump(exclude_none=True), "vendor": rec.vendor,
                        "origin": rec.origin,
                        "sources": {k: v.model_dump(exclude_none=True) for k, v in rec.sources.items()},
                        "ridge_points": rec.ridge_points()})
        else:
            from chipfit.render.terminal.chips import chip_detail

            stdout.print(chip_detail(rec))
        return
    records = list_chips(category=category, vendor=vendor, precision=precision, max_power=max_power,
                         min_memory_gb=min_memory, chips_files=chips_file or ())
    if fmt in ("csv", "markdown"):
        from chipfit.render.tabular import to_csv, to_markdown

        listing = {"chips": [r.summary() for r in records]}
        sys.stdout.write(to_csv(listing) if fmt == "csv" else to_markdown(listing))
    elif as_json:
        _emit_json({"chips": [r.summary() for r in records]})
    else:
        from chipfit.render.terminal.chips import chips_table

        stdout.print(chips_table(records))


def _progress():
    """A rich progress bar on stderr and its update callback; on a non-terminal, neither prints."""
    from contextlib import nullcontext

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err = Console(stderr=True)
    if not err.is_terminal:
        return nullcontext(), lambda *_: None
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=err, transient=True)
    task = bar.add_task("starting", total=None)

    def update(stage: str, done: int, total: int) -> None:
        bar.update(task, description=stage, completed=done, total=total or None)

    return bar, update


@app.command()
def measure(
    model: ModelArg,
    runtime: Annotated[str, typer.Option("--runtime", "-r", help="onnxruntime (exports MODEL to ONNX first) "
                                         "or torch.")] = "onnxruntime",
    device: Annotated[str, typer.Option("--device", help="cpu or cuda.")] = "cpu",
    batch: Annotated[int, typer.Option("--batch", "-b", help="Inferences per run.")] = 1,
    precision: Annotated[str, typer.Option("--precision", "-p", help="fp32 (onnxruntime); fp32, bf16 or fp16 "
                                           "(torch).")] = "fp32",
    threads: Annotated[Optional[int], typer.Option("--threads", help="Intra-op threads (default: all cores).")] = None,
    chip: Annotated[Optional[str], typer.Option("--chip", "-c", help="Chip to predict on (default: this-machine, "
                                                "written by 'chipfit probe'); '' for none.")] = None,
    chips_file: Annotated[Optional[list[str]], typer.Option("--chips-file", help="Extra chip file.")] = None,
    input_shape: InputShapeOpt = None,
    dim: DimOpt = None,
    seq_len: Annotated[Optional[int], typer.Option("--seq-len", "-s", help="Tokens per sequence.")] = None,
    min_runs: Annotated[int, typer.Option("--min-runs", help="Timed runs, at least.")] = 10,
    min_time: Annotated[float, typer.Option("--min-time", help="Seconds of timed runs, at least.")] = 3.0,
    max_time: Annotated[float, typer.Option("--max-time", help="Stop timing after this many seconds.")] = 60.0,
    save: Annotated[Optional[str], typer.Option("--save", help="Append the result as a row of this CSV "
                                                "(the input of 'chipfit calibrate').")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Show how every number is computed.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Time real inference (warm-up, median, p90, fresh process) and compare with the prediction."""
    from chipfit.measure.timing import measure as run_measure

    bar, update = _progress()
    with bar:
        result = run_measure(model, runtime=runtime, device=device, batch=batch, precision=precision,
                             threads=threads, chip=chip, input_shape=input_shape, seq_len=seq_len, dims=dim,
                             chips_files=chips_file or (), min_runs=min_runs, min_time_s=min_time,
                             max_time_s=max_time, progress=update)
    if save:
        from chipfit.calibration.calibrate import append_row

        append_row(save, result)
    if as_json:
        _emit_json(_with_explain(result.to_dict(), result, explain))
        return
    from chipfit.render.terminal.measure import measure_view

    stdout.print(measure_view(result, explain))
    if save:
        stdout.print(f"appended to {save}")


@app.command()
def probe(
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Chip file to write (default: "
                                                  "this-machine.yaml in the chips config folder).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
    threads: Annotated[Optional[int], typer.Option("--threads", help="CPU threads (default: all cores).")] = None,
    reps: Annotated[int, typer.Option("--reps", min=1, help="Runs per micro-benchmark (the best counts).")] = 5,
    no_write: Annotated[bool, typer.Option("--no-write", help="Measure and print only.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Measure this machine (matmul per precision, memory bandwidth) and write it as a chip file."""
    from pathlib import Path

    from chipfit.core.fileio import write_atomic
    from chipfit.data.chips import config_dir
    from chipfit.measure.probe import chip_file_dict, chip_file_text
    from chipfit.measure.probe import probe as run_probe

    path = None if no_write else Path(output) if output else config_dir() / "this-machine.yaml"
    if path is not None and path.exists() and not force:
        raise ChipfitError(f"{path} already exists: pass --force to replace it (or --output elsewhere)")
    if threads is not None and threads < 1:
        raise ChipfitError(f"--threads must be at least 1, got {threads}")
    bar, update = _progress()
    with bar:
        result = run_probe(threads=threads, reps=reps, step=lambda s: update(s, 0, 0))
    if path is not None:
        write_atomic(path, chip_file_text(result), overwrite=force)
    if as_json:
        _emit_json({"path": str(path) if path else None, **chip_file_dict(result)})
        return
    from chipfit.render.terminal.measure import probe_view

    stdout.print(probe_view(result, str(path) if path else None))


@app.command()
def calibrate(
    chip: Annotated[str, typer.Argument(help="Chip id (or ID:UNIT) to fit.")],
    measurements: Annotated[str, typer.Option("--from", help="CSV of measurements ('chipfit measure --save' "
                                              "writes one; see the README for the columns).")],
    chips_file: Annotated[Optional[list[str]], typer.Option("--chips-file", help="Extra chip file.")] = None,
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="For a built-in chip: the new chip file "
                                                  "(default: CHIP.yaml in the chips config folder).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Fit and print; write nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fit a chip's compute and memory efficiencies to measurements; store them in its chip file."""
    from chipfit.calibration.calibrate import calibrate as run_calibrate
    from chipfit.calibration.calibrate import store

    result = run_calibrate(chip, measurements, chips_files=chips_file or ())
    path = None if dry_run else str(store(result, output))
    if as_json:
        _emit_json({"path": path, **result.to_dict()})
        return
    from chipfit.render.terminal.measure import calibrate_view

    stdout.print(calibrate_view(result, path))


@app.command()
def report(
    result: Annotated[str, typer.Argument(help="A result saved with --json (count, check, rank, llm, plan or whatif); "
                                          "- reads stdin.")],
    output: Annotated[Optional[str], typer.Option("--output", "-o", "--html", help="The .html file to write "
                                                  "(default: RESULT.html beside RESULT.json).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
) -> None:
    """Render a saved JSON result as a self-contained HTML page (charts, formulas; opens offline)."""
    from chipfit.render.report import check_target, default_path, load, write

    path = output or str(default_path(result))
    check_target(path, force, "--output")
    write(path, load(result), force)
    stdout.print(f"wrote {path}")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (default: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help="Allow a --host other machines can reach "
                                               "(the server has no authentication).")] = False,
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", help="Largest ONNX upload, MiB.")] = 1024,
) -> None:
    """A local web page and JSON API: pick a model (or drop an ONNX file), chips, a rate, a precision."""
    from chipfit.serve.run import serve as run_server

    if not max_upload_mb > 0 or max_upload_mb == float("inf"):
        raise ChipfitError(f"--max-upload-mb must be a positive number, got {max_upload_mb:g}")
    run_server(host, port, allow_remote=allow_remote, max_upload_bytes=int(max_upload_mb * (1 << 20)))


@app.command()
def zoo(
    task: Annotated[Optional[str], typer.Option("--task", help="vision, language, speech or multimodal.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the built-in models (the zoo): how each is built, its default input, its source."""
    from chipfit.data import zoo as zoo_data

    entries = zoo_data.entries(task)
    if as_json:
        _emit_json({"models": [e.model_dump(exclude_none=True) for e in entries]})
        return
    from chipfit.render.terminal.zoo import zoo_table

    stdout.print(zoo_table(entries))


app.command("models", hidden=True, help="Same as 'zoo'.")(zoo)


def main() -> None:
    """Entry point: run the app, turning exceptions into one sentence and an exit code."""
    try:
        rv = app(standalone_mode=False)
    except ChipfitError as exc:
        _fail(str(exc), 2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", 130)
    except Exception as exc:  # click usage errors carry their own exit code
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if os.environ.get("CHIPFIT_DEBUG"):
            raise
        _fail(f"internal error ({type(exc).__name__}: {exc}); set CHIPFIT_DEBUG=1 for the traceback", 1)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
