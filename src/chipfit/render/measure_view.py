"""Rich rendering of ``measure``, ``probe`` and ``calibrate`` results."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from .explain import explain_table
from .units import duration, human_bytes, num, si

if TYPE_CHECKING:
    from ..calibrate import CalibrationResult
    from ..measure import MeasureResult
    from ..probe import ProbeResult


def _grid() -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    return t


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f} %"


def measure_view(r: "MeasureResult", explain: bool = False) -> Group:
    head = Text(f"{r.model}", style="bold")
    head.append(f"  {r.runtime} {r.runtime_version} on {r.device} ({', '.join(r.providers)}), "
                f"{r.threads} threads, batch {r.batch}, {r.precision}")
    t = _grid()
    t.add_row("measured", f"median {duration(r.median_s)}, p90 {duration(r.p90_s)}, "
              f"min {duration(r.min_s)} over {r.runs} runs (cv {100 * r.cv:.1f} %)")
    t.add_row("throughput", f"{num(r.throughput_per_s)} inferences/s")
    t.add_row("work", f"{si(r.count.macs)}MACs, {si(r.flops_per_batch)}FLOPs, "
              f"{human_bytes(r.bytes_per_batch)} moved per run")
    t.add_row("achieved", f"{num(r.achieved_tops * 1e3)} GOPS ({num(r.achieved_tops)} TOPS), "
              f"{num(r.achieved_gbps)} GB/s")
    p = r.prediction
    if p is not None:
        e = p.efficiency
        t.add_row("predicted", f"{duration(r.predicted_s)} on {p.chip} ({p.roof.bound}-bound; "
                  f"efficiency {e.efficiency_class}: gemm {e.gemm:.3g}, depthwise {e.depthwise:.3g}, "
                  f"memory {e.memory:.3g})")
        t.add_row("error", f"{_pct(r.error)} (predicted / measured − 1)")
    parts: list = [head, t]
    if r.notes:
        parts.append(Text("\n".join(f"note: {n}" for n in r.notes), style="dim"))
    if explain:
        parts.append(explain_table(r.explain()))
    return Group(*parts)


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
                               f"− 1 = {_pct(r.error)}"))
    return lines


def probe_view(r: "ProbeResult", path: str | None) -> Group:
    parts: list = [Text(f"probed {r.host} on {r.date} (torch {r.torch_version})", style="bold")]
    for d in r.devices:
        t = Table(show_edge=False, header_style="bold", pad_edge=False,
                  title=f"{d.device}: {d.name}" + (f", {d.threads} threads" if d.threads else ""),
                  title_justify="left")
        t.add_column("measure")
        t.add_column("result", justify="right")
        t.add_column("how")
        for k, v in d.matmul_tops.items():
            t.add_row(f"matmul {k}", f"{num(v * 1e3)} G{'OPS' if k.startswith('int') else 'FLOP/s'}",
                      d.matmul_note[k])
        t.add_row("memory read", f"{num(d.read_gbps)} GB/s", "sum of a 256 MiB fp32 tensor")
        t.add_row("memory copy", f"{num(d.copy_gbps)} GB/s", "bytes read + written copying 256 MiB")
        if d.memory_gb:
            t.add_row("capacity", f"{num(d.memory_gb)} GB", "total RAM" if d.device == "cpu" else "GPU memory")
        parts.append(t)
    if path:
        parts.append(Text(f"wrote {path}: chip 'this-machine' (measured) for check, rank, plan and measure",
                          style="green"))
    return Group(*parts)


def calibrate_view(r: "CalibrationResult", path: str | None) -> Group:
    c = r.calibration
    head = Text(f"{r.chip}" + ("" if r.unit.id == "main" else f":{r.unit.id}"), style="bold")
    head.append(f"  gemm {c.gemm:.3g}, depthwise {c.depthwise:.3g}, vector {c.vector:.3g}, memory {c.memory:.3g}")
    t = Table(show_edge=False, header_style="bold", pad_edge=False)
    for col, just in (("row", "right"), ("model", "left"), ("batch", "right"), ("measured", "right"),
                      ("before", "right"), ("err", "right"), ("after", "right"), ("err", "right")):
        t.add_column(col, justify=just)
    for b, a in zip(r.before, r.after):
        star = "" if a.case.role == "fit" else "*"
        t.add_row(f"{a.case.row}{star}", a.case.model[:24], str(a.case.batch), duration(a.case.measured),
                  duration(b.predicted), _pct(b.error), duration(a.predicted), _pct(a.error))
    res = c.residual
    loo = f", leave-one-out median {res.loo_median_abs_pct:g} %" if res.loo_median_abs_pct is not None else ""
    summary = Text(f"fit rows: median |error| {res.median_abs_pct:g} %, p90 {res.p90_abs_pct:g} % over "
                   f"{res.n} rows{loo}" + ("; * = holdout row, not fitted on" if any(
                       p.case.role != "fit" for p in r.after) else ""))
    parts: list = [head, t, summary, Text(c.basis, style="dim")]
    if path:
        parts.append(Text(f"wrote the efficiency of {r.chip} into {path}", style="green"))
    return Group(*parts)
