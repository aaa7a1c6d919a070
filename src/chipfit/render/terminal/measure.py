"""Rich rendering of ``measure``, ``probe`` and ``calibrate`` results."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from chipfit.analysis.params import cli_words
from chipfit.core.units import duration, human_bytes, num, si, signed_percent, unit_ref
from chipfit.render.terminal.explain import explain_table

if TYPE_CHECKING:
    from chipfit.calibration.calibrate import CalibrationResult
    from chipfit.measure.probe import ProbeResult
    from chipfit.measure.timing import MeasureResult


def _grid() -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    return t


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
        t.add_row("error", f"{signed_percent(r.error)} (predicted / measured − 1)")
    parts: list = [head, t]
    if r.notes:
        parts.append(Text("\n".join(f"note: {cli_words(n)}" for n in r.notes), style="dim"))
    if explain:
        parts.append(explain_table(r.explain()))
    return Group(*parts)


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
    head = Text(unit_ref(r.chip, r.unit.id), style="bold")
    head.append(f"  gemm {c.gemm:.3g}, depthwise {c.depthwise:.3g}, vector {c.vector:.3g}, memory {c.memory:.3g}")
    t = Table(show_edge=False, header_style="bold", pad_edge=False)
    for col, just in (("row", "right"), ("model", "left"), ("batch", "right"), ("measured", "right"),
                      ("before", "right"), ("err", "right"), ("after", "right"), ("err", "right")):
        t.add_column(col, justify=just)
    for b, a in zip(r.before, r.after):
        star = "" if a.case.role == "fit" else "*"
        t.add_row(f"{a.case.row}{star}", a.case.model[:24], str(a.case.batch), duration(a.case.measured),
                  duration(b.predicted), signed_percent(b.error), duration(a.predicted), signed_percent(a.error))
    res = c.residual
    loo = f", leave-one-out median {res.loo_median_abs_pct:g} %" if res.loo_median_abs_pct is not None else ""
    summary = Text(f"fit rows: median |error| {res.median_abs_pct:g} %, p90 {res.p90_abs_pct:g} % over "
                   f"{res.n} rows{loo}" + ("; * = holdout row, not fitted on" if any(
                       p.case.role != "fit" for p in r.after) else ""))
    parts: list = [head, t, summary, Text(c.basis, style="dim")]
    if path:
        parts.append(Text(f"wrote the efficiency of {r.chip} into {path}", style="green"))
    return Group(*parts)
