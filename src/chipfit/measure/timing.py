"""``chipfit measure``: time real inference and set it beside chipfit's prediction.

How a measurement runs:

1. The model is made runnable. onnxruntime: an ``.onnx`` MODEL runs as it is; any other MODEL is
   built with random weights (nothing downloaded) and exported to ONNX (opset 17) in the cache
   folder (``$XDG_CACHE_HOME/chipfit/onnx``), reused next time. torch: the module is built in the
   worker. The count is the one ``chipfit check`` prices: of the ONNX file for an ``.onnx`` MODEL,
   else of MODEL as ``chipfit count`` counts it (the export computes the same products; it may
   fold BatchNorm into the convolutions, a difference of a few point-wise ops).
2. The timing loop runs in a fresh process (:mod:`chipfit.measure.worker`): warm-up runs (at
   least 3 and ``warmup_s`` seconds), then timed runs until both ``min_runs`` and ``min_time_s``
   are reached (capped by ``max_time_s``), with ``threads`` intra-op threads and one inter-op
   thread.
3. Statistics: median, p90 (linear interpolation), min, mean and the coefficient of variation of
   the per-run seconds. Achieved TOPS = FLOPs of the batch / median seconds; achieved GB/s =
   bytes the roofline moves for the batch (weights once, activations per inference, point-wise
   ops fused for onnxruntime, not for torch eager) / median seconds.
4. The prediction is ``chipfit.check``'s roofline latency of the same count and batch on
   ``chip`` (default: ``this-machine``, written by ``chipfit probe``, when the database has it);
   error = predicted / measured median − 1.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from chipfit.analysis.check import pick_unit, predict
from chipfit.analysis.count import CountResult, count
from chipfit.analysis.params import MeasureParams, validate
from chipfit.analysis.roofline import roofline
from chipfit.core.errors import ChipfitError
from chipfit.core.precision import get_precision
from chipfit.core.stats import percentile
from chipfit.core.units import duration, human_bytes, num, si, signed_percent
from chipfit.data.chips import database
from chipfit.data.efficiency import Efficiency
from chipfit.frontends.resolve import is_onnx
from chipfit.measure.export import to_onnx
from chipfit.measure.probe import chip_id

TORCH_DTYPES = ("fp32", "bf16", "fp16")


@dataclass
class Plan:
    """What the worker runs (sent to it as JSON)."""

    runtime: str
    device: str
    threads: int
    batch: int
    warmup_runs: int = 3
    warmup_s: float = 1.0
    min_runs: int = 10
    min_time_s: float = 3.0
    max_time_s: float = 60.0
    max_runs: int = 10_000
    path: str | None = None          # onnxruntime: the file
    inputs: list[dict] = field(default_factory=list)  # onnxruntime: name, shape, dtype
    model: str | None = None         # torch: the MODEL to build
    input_shape: list[str] | None = None
    seq_len: int | None = None
    dtype: str = "fp32"


@dataclass
class MeasureResult:
    model: str
    runtime: str
    runtime_version: str
    device: str
    providers: list[str]
    precision: str
    batch: int
    threads: int
    times_s: list[float]
    count: CountResult              # the whole batch (one run), at the precision
    bytes_per_batch: int            # roofline bytes of one batch (fused as the runtime fuses)
    fused: bool
    onnx_path: str | None
    input_shape: list[str] | None = None
    seq_len: int | None = None
    prediction: Any = None          # CheckResult at this batch, or None
    notes: list[str] = field(default_factory=list)

    # -- statistics -------------------------------------------------------------------
    @property
    def runs(self) -> int:
        return len(self.times_s)

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    @property
    def p90_s(self) -> float:
        return percentile(self.times_s, 90)

    @property
    def min_s(self) -> float:
        return min(self.times_s)

    @property
    def max_s(self) -> float:
        return max(self.times_s)

    @property
    def mean_s(self) -> float:
        return statistics.fmean(self.times_s)

    @property
    def cv(self) -> float:
        """Coefficient of variation of the run times (stdev / mean)."""
        return statistics.stdev(self.times_s) / self.mean_s if self.runs > 1 else 0.0

    @property
    def flops_per_batch(self) -> int:
        return self.count.flops

    @property
    def achieved_tops(self) -> float:
        return self.flops_per_batch / self.median_s / 1e12

    @property
    def achieved_gbps(self) -> float:
        return self.bytes_per_batch / self.median_s / 1e9

    @property
    def throughput_per_s(self) -> float:
        return self.batch / self.median_s

    # -- prediction -------------------------------------------------------------------
    @property
    def predicted_s(self) -> float | None:
        return self.prediction.roof.latency_s if self.prediction is not None else None

    @property
    def error(self) -> float | None:
        """(predicted − measured median) / measured median."""
        return self.predicted_s / self.median_s - 1 if self.prediction is not None else None

    def to_dict(self) -> dict[str, Any]:
        p = self.prediction
        return {
            "model": self.model, "runtime": self.runtime, "runtime_version": self.runtime_version,
            "device": self.device, "providers": self.providers, "precision": self.precision,
            "batch": self.batch, "threads": self.threads, "runs": self.runs,
            "median_s": self.median_s, "p90_s": self.p90_s, "min_s": self.min_s, "max_s": self.max_s,
            "mean_s": self.mean_s, "cv": self.cv, "times_s": self.times_s,
            "macs_per_batch": self.count.macs, "params": self.count.params,
            "flops_per_batch": self.flops_per_batch, "bytes_per_batch": self.bytes_per_batch,
            "achieved_tops": self.achieved_tops, "achieved_gbps": self.achieved_gbps,
            "throughput_per_s": self.throughput_per_s, "fused": self.fused, "onnx": self.onnx_path,
            "chip": p.chip if p is not None else None,
            "predicted_s": self.predicted_s, "error": self.error,
            "predicted_bound": p.roof.bound if p is not None else None,
            "efficiency": p.to_dict()["efficiency"] if p is not None else None,
            "host": platform.node(), "machine": platform.machine(),
            "notes": self.notes,
        }

    def explain(self) -> list[tuple[str, str]]:
        return measure_explanation(self)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chipfit" / "onnx"


def onnx_inputs(path: str | Path, shapes: dict[str, tuple[int, ...]] | None) -> list[dict]:
    """name, shape (bound in ``shapes``, else the file's static one) and numpy dtype of every
    graph input that is not an initializer."""
    import onnx
    from onnx.helper import tensor_dtype_to_np_dtype

    model = onnx.load(str(path), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    out = []
    for i in model.graph.input:
        if i.name in inits:
            continue
        dtype = tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type).name
        shape = shapes[i.name] if shapes else [d.dim_value for d in i.type.tensor_type.shape.dim]
        out.append({"name": i.name, "shape": list(shape), "dtype": dtype})
    return out


def _check_args(runtime: str, precision: str) -> None:
    if runtime == "torch" and precision not in TORCH_DTYPES:
        raise ChipfitError(f"`runtime` torch runs {', '.join(TORCH_DTYPES)}, not '{precision}'")
    if runtime == "onnxruntime" and precision != "fp32":
        raise ChipfitError(f"`runtime` onnxruntime runs the exported fp32 graph: `precision` {precision} "
                           f"needs a model already quantized to it, measured as an .onnx file at fp32")


def default_chip(device: str, chips_files: Iterable[str] = ()) -> str | None:
    want = chip_id(device)
    return want if want in database(chips_files).records else None


def measure(model: str, *, runtime: str = "onnxruntime", device: str = "cpu", batch: int = 1,
            precision: str = "fp32", threads: int | None = None, chip: str | None = None,
            input_shape: list[str] | None = None, seq_len: int | None = None,
            dims: list[str] | None = None, chips_files: Iterable[str] = (),
            min_runs: int = 10, min_time_s: float = 3.0, max_time_s: float = 60.0, warmup_s: float = 1.0,
            progress: Callable[[str, int, int], None] = lambda stage, done, total: None) -> MeasureResult:
    """Measure MODEL (see the module docstring); ``chip=None`` predicts on ``this-machine`` when
    it is in the database, ``chip=''`` predicts nothing."""
    validate(MeasureParams, runtime=runtime, device=device, batch=batch, precision=precision, threads=threads,
             chip=chip, input_shape=input_shape, seq_len=seq_len, dims=dims, chips_files=chips_files,
             min_runs=min_runs, min_time_s=min_time_s, max_time_s=max_time_s)
    _check_args(runtime, get_precision(precision).name)
    chips_files = list(chips_files)
    prec = get_precision(precision)
    threads = threads or os.cpu_count() or 1
    notes: list[str] = []
    plan = Plan(runtime, device, threads, batch, min_runs=min_runs, min_time_s=min_time_s,
                max_time_s=max_time_s, warmup_s=warmup_s, dtype=precision)
    onnx_path, whole = None, None
    if runtime == "onnxruntime":
        if is_onnx(model):
            if not Path(model).is_file():
                raise ChipfitError(f"no ONNX file at '{model}'")
            onnx_path = str(model)
            whole = count(model, precision=prec, batch=batch, input_shape=input_shape, dims=dims)
        else:
            if dims:
                raise ChipfitError("`dims` binds dimensions of an ONNX model; this model is not one")
            progress("export to ONNX", 0, 1)
            onnx_path = str(to_onnx(model, cache_dir(), input_shape=input_shape, seq_len=seq_len, batch=batch))
            notes.append(f"ran the ONNX export of {model} (random weights): {onnx_path}")
            whole = None
        plan.path = onnx_path
        plan.inputs = onnx_inputs(onnx_path, whole.graph.inputs if whole else None)
    else:
        if is_onnx(model):
            raise ChipfitError("`runtime` torch runs PyTorch models; an .onnx file needs `runtime` onnxruntime")
        plan.model, plan.input_shape, plan.seq_len = model, input_shape, seq_len
    if whole is None:  # the count 'chipfit check MODEL' prices, so that the two predictions agree
        whole = count(model, precision=prec, input_shape=input_shape, seq_len=seq_len,
                      batch=None if input_shape else batch)
    fused = runtime == "onnxruntime"
    bytes_per_batch = roofline(whole.graph, prec, 1.0, 0.0, Efficiency.uniform(1.0), batch=1, fuse=fused).bytes

    times, info = _run_worker(plan, progress)
    result = MeasureResult(model=str(model), runtime=runtime, runtime_version=info["runtime_version"],
                           device=device, providers=info["providers"], precision=prec.name, batch=batch,
                           threads=threads, times_s=times, count=whole,
                           bytes_per_batch=bytes_per_batch, fused=fused, onnx_path=onnx_path,
                           input_shape=input_shape, seq_len=seq_len, notes=notes)
    chip = default_chip(device, chips_files) if chip is None else chip
    if chip:
        rec, unit, note = pick_unit(chip, prec, chips_files=chips_files)
        # the graph holds the whole batch: its batch-1 roofline is the batch's latency (weights
        # read once, activations of every inference)
        result.prediction = predict(whole, rec, unit, fps=1.0, batch=1, fuse=fused)
        if note:
            notes.append(note)
    elif chip is None:
        notes.append("no prediction: run 'chipfit probe' to describe this machine, or pass `chip`")
    return result


def _run_worker(plan: Plan, progress: Callable[[str, int, int], None]) -> tuple[list[float], dict]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])  # the folder that holds the chipfit package
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = str(plan.threads)
    cmd = [sys.executable, "-m", "chipfit.measure.worker"]
    progress("warm-up", 0, plan.min_runs)
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(asdict(plan)))
    proc.stdin.close()
    result = error = None
    for line in proc.stdout:
        kind, _, rest = line.rstrip("\n").partition(" ")
        if kind == "progress":
            done, total = map(int, rest.split())
            progress("timed runs", done, total)
        elif kind == "result":
            result = json.loads(rest)
        elif kind == "error":
            error = rest
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.wait()
    if error:
        raise ChipfitError(error)
    if result is None:
        last = next((ln for ln in reversed(stderr.strip().splitlines()) if ln.strip()), "no output")
        raise ChipfitError(f"the {plan.runtime} benchmark process failed (exit {proc.returncode}): {last}")
    return result["times"], result


def measure_explanation(r: "MeasureResult") -> list[tuple[str, str]]:
    lines = [
        ("timing", f"{r.runs} timed runs after warm-up, in a fresh process ({r.runtime}, {r.threads} "
                   f"threads); median of the per-run seconds = {duration(r.median_s)}"),
        ("p90", f"90th percentile, linear interpolation between the sorted runs = {duration(r.p90_s)}"),
        ("achieved TOPS", f"FLOPs of one run / median = {si(r.flops_per_batch)} / {duration(r.median_s)} = "
                          f"{num(r.achieved_tops)} TOPS"),
        ("achieved GB/s", f"bytes of one run / median = {human_bytes(r.bytes_per_batch)} / "
                          f"{duration(r.median_s)} = {num(r.achieved_gbps)} GB/s "
                          f"({'point-wise ops fused' if r.fused else 'unfused, as eager torch runs'})"),
    ]
    if r.prediction is not None:
        lines += [(f"prediction: {q}", f) for q, f in r.prediction.explain()
                  if q in ("per-op roofline", "latency (batch 1)", "efficiency source")]
        lines.append(("error", f"predicted / measured − 1 = {duration(r.predicted_s)} / {duration(r.median_s)} "
                               f"− 1 = {signed_percent(r.error)}"))
    return lines
