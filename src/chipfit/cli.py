"""The ``chipfit`` command: a thin shell over the Python API.

Each analysis command's options are built from its parameter model
(:mod:`chipfit.analysis.params`): the names, bounds, defaults and help are declared there once,
and a value out of bounds is refused by the same check the Python API and the web page use.
Errors name parameters as flags (``--fps``). Bad input prints one sentence to stderr and exits
2; an internal failure exits 1. ``--json`` prints exactly one JSON object on stdout and
nothing else.
"""

from __future__ import annotations

import inspect
import os
import shlex
import sys
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, get_args, get_origin

import typer
from rich.console import Console

from chipfit.analysis import commands
from chipfit.analysis import params as P
from chipfit.analysis.explain import with_explain
from chipfit.core.errors import ChipfitError, first_line, render_fields
from chipfit.core.jsonio import dumps_json
from chipfit.core.limits import LIMITS
from chipfit.core.version import VERSION

app = typer.Typer(
    name="chipfit",
    help="How much compute and bandwidth does my neural network need, and will this chip run it?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _stdout() -> Console:
    """Piped output is not bound by a terminal's width: 120 columns unless COLUMNS says otherwise."""
    return Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS", "").strip() else 120)


def _say(message: str) -> None:
    Console(stderr=True).print(message, markup=False, highlight=False, soft_wrap=True)


#: Options of the commands declared here by hand (not from a parameter model).
_OWN = ("force", "output", "report", "json", "host", "port", "allow_remote", "max_upload_mb", "threads", "reps",
        "max_file_mb", "max_onnx_nodes", "max_onnx_depth", "onnx_memory_gb", "onnx_seconds", "max_layers",
        "max_stages", "allow_code", "debug")


def flag_of(name: str) -> str:
    """A parameter as the command line spells it (``fps`` → ``--fps``); an option the running
    command lacks is named with the command that has it (``chipfit count --device``); a name that
    is no option of any command (a Python-only argument) stays as it is."""
    if name not in _KNOWN:
        return name
    running, options = _RUNNING[0] or (None, None)
    if options is None or name in options:
        return P.flag(name)
    others = [c for c, model in P.COMMANDS.items() if name in model.model_fields and c != running]
    return f"chipfit {'count' if 'count' in others else others[0]} {P.flag(name)}" if others else P.flag(name)


#: the command running now and its options (None outside a command)
_RUNNING: list[tuple[str, set[str]] | None] = [None]


_KNOWN = {name for model in P.COMMANDS.values() for name in model.model_fields} | set(_OWN)


# -- output ---------------------------------------------------------------------------------
FORMATS = ("table", "json", "csv", "markdown")


@dataclass
class Output:
    """How a result leaves the command: table, JSON, CSV or Markdown, and maybe an HTML report."""

    fmt: str = "table"
    report: str | None = None
    force: bool = False

    def finish(self, kind: str, data: Callable[[], dict], view: Callable[[], Any],
               full: Callable[[], dict] | None = None) -> None:
        """Write the report (from ``full()``, else ``data()``), then print ``data()`` in the format
        asked or ``view()`` as a table."""
        if self.report is not None:
            from chipfit.render.report import write

            page = {"command": kind, **(full or data)()}
            write(self.report, page, self.force, " ".join(shlex.quote(a) for a in ["chipfit", *sys.argv[1:]]))
            _say(f"wrote {self.report}")
        if self.fmt == "table":
            _stdout().print(view())
            return
        out = {"command": kind, **data()}
        if self.fmt == "json":
            emit_json(out)
            return
        from chipfit.render.tabular import to_csv, to_markdown

        sys.stdout.write(to_csv(out) if self.fmt == "csv" else to_markdown(out))


def emit_json(obj: dict) -> None:
    """One JSON object on stdout: standard JSON (a value with no finite limit is null)."""
    sys.stdout.write(dumps_json(obj) + "\n")


def _output(values: dict) -> Output:
    """The output options (taken out of ``values``); refuses a report file that exists, before any work."""
    fmt = str(values.pop("fmt", "table")).lower()
    as_json = values.pop("as_json", False)
    page = values.pop("report", None)
    force = values.pop("force", False)
    if fmt not in FORMATS:
        raise ChipfitError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if as_json and fmt not in ("table", "json"):
        raise ChipfitError(f"--json and --format {fmt} ask for two formats: give one")
    if page is not None:
        from chipfit.render.report import check_target

        check_target(page, force, "report")
    return Output("json" if as_json else fmt, page, force)


_OUTPUT_OPTIONS = {
    "as_json": (bool, False, typer.Option("--json", help="Print one JSON object and nothing else.")),
    "fmt": (str, "table", typer.Option("--format", metavar="TEXT", help="table, json, csv or markdown.")),
    "report": (Optional[str], None, typer.Option("--report", metavar="FILE.html", help="Also write a "
                                                 "self-contained HTML report (charts, formulas) to this .html file.")),
    "force": (bool, False, typer.Option("--force", help="--report: replace the file if it exists.")),
}


def _busy(message: str):
    """A spinner on stderr while something slow runs (on a terminal only)."""
    err = Console(stderr=True)
    return err.status(message) if err.is_terminal else nullcontext()


def _progress():
    """A rich progress bar on stderr and its update callback; on a non-terminal, neither prints."""
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


# -- options from a parameter model -----------------------------------------------------------
def _option_type(annotation: Any) -> Any:
    """The command-line type of a parameter: a switch, repeatable text, or one text value (the
    model converts and checks it, so every bad value gets the same sentence)."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    args = [a for a in get_args(annotation) if a is not type(None)]
    if annotation is bool:
        return bool
    if get_origin(annotation) is list or any(get_origin(a) is list for a in args):
        return Optional[list[str]]
    return Optional[str]


def _metavar(annotation: Any) -> str:
    text = str(annotation)
    if "float" in text or "Rate" in text or "Fraction" in text:
        return "NUMBER"
    if "int" in text and "Literal" not in text:
        return "INTEGER"
    return "TEXT"


def _ordered(model: type[P.Params]) -> list[str]:
    """Arguments, then required options, then the command's own options, then the shared ones."""
    own = list(model.__annotations__)
    names = list(model.model_fields)
    return sorted(names, key=lambda n: (not model.cli(n).argument, not model.model_fields[n].is_required(),
                                        n not in own, own.index(n) if n in own else names.index(n)))


def _parameters(model: type[P.Params]) -> list[inspect.Parameter]:
    out = []
    for name in _ordered(model):
        field = model.model_fields[name]
        cli = model.cli(name)
        kind = _option_type(field.annotation)
        help_text = field.description or ""
        if cli.argument:
            info = typer.Argument(help=help_text, show_default=False)
            default = inspect.Parameter.empty if field.is_required() else None
            kind = str if field.is_required() else Optional[str]
        else:
            decls = [cli.flag or P.flag(name)] + ([cli.short] if cli.short else [])
            if kind is bool:
                info = typer.Option(*decls, help=help_text)
                default = field.default
            else:
                info = typer.Option(*decls, help=help_text, metavar=_metavar(field.annotation),
                                    show_default=not field.is_required() and field.default is not None)
                default = ... if field.is_required() else field.default
                if isinstance(default, list):
                    default = [str(v) for v in default]
                elif default is not None and default is not ...:
                    default = str(default)
        out.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                     annotation=Annotated[kind, info]))
    return out


def command(name: str, model: type[P.Params] | None = None, *, report: bool = True, formats: bool = True,
            extra: dict[str, tuple[Any, Any, Any]] | None = None, **typer_kwargs: Any):
    """Register ``handler(params, out, **extra)`` as ``chipfit NAME``: its options come from
    ``model`` (validated into an instance of it), the output options and ``extra`` CLI-only ones."""
    extra = extra or {}

    def deco(handler: Callable[..., None]) -> Callable[..., None]:
        sig = _parameters(model) if model is not None else []
        outputs = {k: v for k, v in _OUTPUT_OPTIONS.items()
                   if formats and (report or k not in ("report", "force"))}
        for key, (kind, default, info) in {**extra, **outputs}.items():
            sig.append(inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=default,
                                         annotation=Annotated[kind, info]))

        def run(**values: Any) -> None:
            _RUNNING[0] = (name, set(values))
            out = _output(values) if formats else Output()
            extras = {k: values.pop(k) for k in extra}
            given = {k: v for k, v in values.items() if v is not None and v != []}
            handler(model.parse(given) if model is not None else None, out, **extras)

        run.__signature__ = inspect.Signature(sig)  # type: ignore[attr-defined]
        run.__doc__ = handler.__doc__
        run.__name__ = handler.__name__
        app.command(name, **typer_kwargs)(run)
        return handler

    return deco


def _version(value: bool) -> None:
    if value:
        _stdout().print(f"chipfit {VERSION}")
        raise typer.Exit()


#: whether ``--debug`` was given (an internal error then shows its traceback)
_DEBUG = [False]

#: What the exit code says, for every command.
EXIT_CODES = {0: "the command ran and the answer is yes (sufficient, fits), or it asks no question",
              1: "the command ran and the answer is no or uncertain (insufficient, uncertain, does not fit); the result is printed",
              2: "bad input or usage: one sentence on stderr",
              3: "an internal error (a bug): one line on stderr, the traceback with --debug"}


@app.callback(epilog="Exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()) + ".")
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback of an internal error.")] = False,
    max_file_mb: Annotated[Optional[float], typer.Option(
        "--max-file-mb", help=f"Largest data file read (YAML, JSON, CSV), MB [default: {LIMITS.max_file_mb:g}].")] = None,
    max_onnx_nodes: Annotated[Optional[int], typer.Option(
        "--max-onnx-nodes", help=f"Most nodes of an ONNX graph, local functions inlined "
                                 f"[default: {LIMITS.max_onnx_nodes:,}].")] = None,
    max_onnx_depth: Annotated[Optional[int], typer.Option(
        "--max-onnx-depth", help=f"Deepest nesting of an ONNX model's functions and subgraphs "
                                 f"[default: {LIMITS.max_onnx_depth}].")] = None,
    onnx_memory_gb: Annotated[Optional[float], typer.Option(
        "--onnx-memory-gb", help=f"Memory reading one ONNX file may take, GiB [default: {LIMITS.onnx_memory_gb:g}].")] = None,
    onnx_seconds: Annotated[Optional[float], typer.Option(
        "--onnx-seconds", help=f"Time reading one ONNX file may take, s [default: {LIMITS.onnx_seconds:g}].")] = None,
    max_layers: Annotated[Optional[int], typer.Option(
        "--max-layers", help=f"Most layers of an architecture config [default: {LIMITS.max_layers:,}].")] = None,
    max_stages: Annotated[Optional[int], typer.Option(
        "--max-stages", help=f"Most stages of a scenario [default: {LIMITS.max_stages:,}].")] = None,
) -> None:
    """How much compute and bandwidth does my neural network need, and will this chip run it?

    The --max options raise the caps on what a file may ask (a file from someone else is data: the
    caps keep a small hostile one from filling the memory); give them before the command."""
    _DEBUG[0] = debug
    caps = dict(max_file_mb=max_file_mb, max_onnx_nodes=max_onnx_nodes, max_onnx_depth=max_onnx_depth,
                onnx_memory_gb=onnx_memory_gb, onnx_seconds=onnx_seconds, max_layers=max_layers,
                max_stages=max_stages)
    for name, value in caps.items():
        if value is not None and not (value > 0 and value < float("inf")):
            raise ChipfitError(f"`{name}` must be a positive number, got {value:g}")
    LIMITS.reset()  # each command line starts from the defaults (several may run in one process)
    LIMITS.set(**caps)


# -- the analysis commands ------------------------------------------------------------------
def _analyse(name: str, p: P.Params, out: Output, view: Callable[[Any], Any], busy: str | None = None) -> None:
    """Run an analysis command and print its result: ``view(result)`` for the table."""
    if busy is not None:
        with _busy(busy):
            ran = commands.run(name, p)
    else:
        bar, update = _progress()
        with bar:
            ran = commands.run(name, p, progress=update)
    out.finish(ran.kind, ran.data, lambda: view(ran.result), ran.full)
    if ran.advice:
        _say(f"chipfit: {render_fields(ran.advice, flag_of)}")
    if ran.answer is False:  # the analysis ran and the answer is no: the result is printed, exit 1
        raise typer.Exit(1)


@command("count", P.CountParams)
def count(p: P.CountParams, out: Output) -> None:
    """Count MACs, FLOPs, parameters and bytes of one forward pass (or one LLM phase)."""
    from chipfit.render.terminal.count import count_table

    _analyse("count", p, out, lambda r: count_table(r, depth=p.depth, per_layer=p.per_layer), f"counting {p.model}")


@command("check", P.CheckParams)
def check(p: P.CheckParams, out: Output) -> None:
    """Will this chip run the model at this rate? Verdict first, then the details."""
    from chipfit.render.terminal.check import check_view

    _analyse("check", p, out, lambda r: check_view(r, explain=p.explain, per_layer=p.per_layer),
             f"counting {p.model}")


@command("rank", P.RankParams)
def rank(p: P.RankParams, out: Output) -> None:
    """Every chip that meets the target, best first."""
    from chipfit.render.terminal.check import rank_view

    _analyse("rank", p, out, lambda r: rank_view(r, show_all=p.show_all, explain=p.explain,
                                                 width=_stdout().width),
             f"ranking chips for {p.model}")


@command("llm", P.LLMParams)
def llm(p: P.LLMParams, out: Output) -> None:
    """Time to first token, time per output token, tokens/s and memory of an LLM on a chip."""
    from chipfit.render.terminal.llm import llm_view, sweep_view

    if p.sweep is not None:
        _analyse("llm", p, out, sweep_view)
    else:
        _analyse("llm", p, out, lambda r: llm_view(r, explain=p.explain), f"pricing {p.model}")


@command("plan", P.PlanParams)
def plan(p: P.PlanParams, out: Output) -> None:
    """Several models at once: per-stage demand, chip utilization, memory and end-to-end latency."""
    from chipfit.render.terminal.plan import plan_view, rank_plan_view

    if p.rank:
        _analyse("plan", p, out, lambda r: rank_plan_view(r, show_all=p.show_all))
    else:
        _analyse("plan", p, out, lambda r: plan_view(r, explain=p.explain), f"planning {p.scenario}")


@command("whatif", P.WhatIfParams)
def whatif(p: P.WhatIfParams, out: Output) -> None:
    """Which lever closes the gap on this chip: precision, batch, input size, sparsity, pruning, a lighter model."""
    from chipfit.render.terminal.whatif import whatif_view

    _analyse("whatif", p, out, whatif_view)


@command("chips", P.ChipsParams, report=False)
def chips(p: P.ChipsParams, out: Output) -> None:
    """List the chip database, or show one chip with sources and FLOP:byte ridge points."""
    from chipfit.data.chips import chips as list_chips
    from chipfit.data.chips import database

    files = p.chips_files
    if p.chip is not None:
        if out.fmt in ("csv", "markdown"):
            raise ChipfitError(f"--format {out.fmt} lists chips; for one chip use --json or the table")
        rec, _ = database(files).get(p.chip)
        if out.fmt == "json":
            emit_json({"chip": rec.chip.model_dump(exclude_none=True), "vendor": rec.vendor, "origin": rec.origin,
                       "sources": {k: v.model_dump(exclude_none=True) for k, v in rec.sources.items()},
                       "ridge_points": rec.ridge_points()})
        else:
            from chipfit.render.terminal.chips import chip_detail

            _stdout().print(chip_detail(rec))
        return
    records = list_chips(category=p.category, vendor=p.vendor, precision=p.precision, max_power=p.max_power,
                         min_memory_gb=p.min_memory_gb, chips_files=files)
    listing = {"chips": [r.summary() for r in records]}
    if out.fmt == "json":
        emit_json(listing)
    elif out.fmt in ("csv", "markdown"):
        from chipfit.render.tabular import to_csv, to_markdown

        sys.stdout.write(to_csv(listing) if out.fmt == "csv" else to_markdown(listing))
    else:
        from chipfit.render.terminal.chips import chips_table

        _stdout().print(chips_table(records))


# -- measuring --------------------------------------------------------------------------------
@command("measure", P.MeasureParams, formats=False, extra={
    "save": (Optional[str], None, typer.Option("--save", help="Append the result as a row of this CSV (the input "
                                                              "of 'chipfit calibrate').")),
    "as_json": (bool, False, typer.Option("--json", help="Print one JSON object and nothing else.")),
})
def measure(p: P.MeasureParams, out: Output, save: str | None, as_json: bool) -> None:
    """Time real inference (warm-up, median, p90, fresh process) and compare with the prediction."""
    from chipfit.measure.timing import measure as run

    bar, update = _progress()
    with bar:
        result = run(progress=update, **p.api())
    if save:
        from chipfit.calibration.calibrate import append_row

        append_row(save, result)
    if as_json:
        emit_json(with_explain(result.to_dict(), result, p.explain))
        return
    from chipfit.render.terminal.measure import measure_view

    _stdout().print(measure_view(result, p.explain))
    if save:
        _stdout().print(f"appended to {save}")


@app.command()
def probe(
    output: Annotated[Optional[str], typer.Option("--output", "-o", help="Chip file to write (default: "
                                                  "this-machine.yaml in the chips config folder).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the file if it exists.")] = False,
    threads: Annotated[Optional[int], typer.Option("--threads", help="CPU threads (default: all cores).")] = None,
    reps: Annotated[int, typer.Option("--reps", min=1, help="Runs per micro-benchmark (the best counts).")] = 5,
    no_write: Annotated[bool, typer.Option("--no-write", help="Measure and print only.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object and nothing else.")] = False,
) -> None:
    """Measure this machine (matmul per precision, memory bandwidth) and write it as a chip file."""
    from chipfit.core.fileio import write_atomic
    from chipfit.data.chips import config_dir
    from chipfit.measure.probe import chip_file_dict, chip_file_text
    from chipfit.measure.probe import probe as run

    path = None if no_write else Path(output) if output else config_dir() / "this-machine.yaml"
    if path is not None and path.exists() and not force:
        raise ChipfitError(f"{path} already exists: pass --force to replace it (or --output elsewhere)")
    if threads is not None and threads < 1:
        raise ChipfitError(f"--threads must be at least 1, got {threads}")
    bar, update = _progress()
    with bar:
        result = run(threads=threads, reps=reps, step=lambda s: update(s, 0, 0))
    if path is not None:
        write_atomic(path, chip_file_text(result), overwrite=force)
    if as_json:
        emit_json({"path": str(path) if path else None, **chip_file_dict(result)})
        return
    from chipfit.render.terminal.measure import probe_view

    _stdout().print(probe_view(result, str(path) if path else None))


@command("calibrate", P.CalibrateParams, formats=False, extra={
    "output": (Optional[str], None, typer.Option("--output", "-o", help="For a built-in chip: the new chip file "
                                                                        "(default: CHIP.yaml in the chips config "
                                                                        "folder).")),
    "dry_run": (bool, False, typer.Option("--dry-run", help="Fit and print; write nothing.")),
    "as_json": (bool, False, typer.Option("--json", help="Print one JSON object and nothing else.")),
})
def calibrate(p: P.CalibrateParams, out: Output, output: str | None, dry_run: bool, as_json: bool) -> None:
    """Fit a chip's compute and memory efficiencies to measurements; store them in its chip file."""
    from chipfit.calibration.calibrate import calibrate as run
    from chipfit.calibration.calibrate import store

    result = run(p.chip, p.measurements, chips_files=p.chips_files, allow_code=p.allow_code)
    path = None if dry_run else str(store(result, output))
    if as_json:
        emit_json({"path": path, **result.to_dict()})
        return
    from chipfit.render.terminal.measure import calibrate_view

    _stdout().print(calibrate_view(result, path))


# -- reports, the web page, the zoo -----------------------------------------------------------
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
    check_target(path, force, "output")
    write(path, load(result), force)
    _stdout().print(f"wrote {path}")


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
    task: Annotated[Optional[str], typer.Option("--task", help="vision, language, speech, multimodal or diffusion.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object and nothing else.")] = False,
) -> None:
    """List the built-in models (the zoo): how each is built, its default input, its source."""
    from chipfit.data import zoo as zoo_data

    entries = zoo_data.entries(task)
    if as_json:
        emit_json({"models": [e.model_dump(exclude_none=True) for e in entries]})
        return
    from chipfit.render.terminal.zoo import zoo_table

    _stdout().print(zoo_table(entries))


app.command("models", hidden=True, help="Same as 'zoo'.")(zoo)


# -- the entry point ---------------------------------------------------------------------------
def run(argv: list[str] | None = None) -> int:
    """Run ``chipfit ARGV`` and return its exit code (see :data:`EXIT_CODES`): bad input is one
    sentence on stderr; an internal failure one line (the traceback with ``--debug``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _DEBUG[0] = False
    _RUNNING[0] = None
    saved = sys.argv
    sys.argv = ["chipfit", *argv]
    try:
        rv = app(args=argv, prog_name="chipfit", standalone_mode=False)
    except ChipfitError as exc:
        return _fail(2, exc.render(flag_of), argv)
    except typer.Exit as exc:
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        _say("chipfit: interrupted")
        return 130
    except Exception as exc:
        if isinstance(exc, typer.TyperException) and hasattr(exc, "show"):  # usage errors (typer's own click)
            exc.show()
            return _fail(2, None, argv, exc.format_message())
        if _DEBUG[0] or os.environ.get("CHIPFIT_DEBUG"):
            raise
        return _fail(3, f"internal error ({first_line(exc)}); this is a bug in chipfit: please report it with "
                        f"the command line (chipfit --debug ... shows the traceback)", argv)
    finally:
        sys.argv = saved
    return rv if isinstance(rv, int) else 0


def _fail(code: int, sentence: str | None, argv: list[str], usage: str | None = None) -> int:
    """Say why a command failed (``sentence`` on stderr; a usage error has already been shown);
    under ``--json`` stdout still gets one JSON object, ``{"error": ..., "exit_code": ...}``."""
    if sentence is not None:
        _say(f"chipfit: {sentence}")
    if "--json" in argv or any(a == "--format" and b == "json" for a, b in zip(argv, argv[1:])) \
            or "--format=json" in argv:
        emit_json({"error": sentence or usage or "bad usage", "exit_code": code})
    return code


def main() -> None:
    """Entry point of the ``chipfit`` script."""
    sys.exit(run())


if __name__ == "__main__":
    main()
