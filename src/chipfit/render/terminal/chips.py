"""Rich rendering of the chip database: the list, and one chip with every source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from chipfit.core.units import num
from chipfit.data.efficiency import runtimes_of
from chipfit.data.published import networks_on

if TYPE_CHECKING:
    from chipfit.data.chips import ChipRecord

PEAK_KEYS = ("int4", "int8", "fp8", "fp16", "bf16", "tf32", "fp32")
FLAG_STYLE = {"datasheet": "green", "third-party": "yellow", "derived": "cyan", "measured": "magenta"}


def chips_table(records: list["ChipRecord"]) -> Group:
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("id", no_wrap=True, min_width=max((len(r.id) for r in records), default=2))
    table.add_column("category", no_wrap=True, min_width=10)
    for k in ("int8", "fp16", "fp32"):
        table.add_column(k, justify="right", no_wrap=True, min_width=6)
    table.add_column("GB/s", justify="right", no_wrap=True, min_width=6)
    summaries = [rec.summary() for rec in records]
    table.add_column("memory", justify="right", no_wrap=True,
                     min_width=max((len(_memory(s)) for s in summaries), default=6))
    table.add_column("power", justify="right", no_wrap=True, min_width=9)
    table.add_column("name", overflow="ellipsis", no_wrap=True, max_width=48)
    for s in summaries:
        dense = s["dense_tops"]
        power = "-" if s["power_w"] is None else (
            f"{s['power_min_w']:g}-{s['power_w']:g} W" if s["power_min_w"] else f"{s['power_w']:g} W")
        units = s["units"]
        name = s["name"] + (f"  [{', '.join(units)}]" if len(units) > 1 else "")
        table.add_row(s["id"], s["category"], *(num(dense.get(k)) for k in ("int8", "fp16", "fp32")),
                      num(s["memory_bandwidth_gbps"]),
                      _memory(s), power, name)
    legend = Text(f"{len(records)} chips; int8/fp16/fp32: dense peak TOPS (= TFLOPS) of the first unit; "
                  "'chipfit chips ID' shows every number with its source", style="dim")
    return Group(table, legend)


def _memory(s: dict) -> str:
    """'16 GB', or every size a chip is sold with ('8/16 GB')."""
    if s["memory_gb"] is None:
        return "-"
    sizes = s["memory_options_gb"] or [s["memory_gb"]]
    return "/".join(f"{v:g}" for v in sizes) + " GB"


def chip_detail(rec: "ChipRecord") -> Group:
    c = rec.chip
    head = Text(f"{c.name}", style="bold")
    head.append(f"  ({c.id}; {rec.vendor}; {c.category}; {rec.origin})", style="dim")
    parts: list = [head]
    if c.aliases:
        parts.append(Text(f"aliases: {', '.join(c.aliases)}"))
    if c.headline:
        h = c.headline
        parts.append(Text(f"vendor headline: {h.value:g} {h.unit} = {h.definition} "
                          f"[{h.flag}: {rec.sources[h.source].title}]"))
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("field", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("flag", no_wrap=True)
    table.add_column("source, formula, note", overflow="fold")
    units = {"memory_bandwidth_gbps": "GB/s", "bandwidth_gbps": "GB/s", "memory_gb": "GB", "onchip_memory_mb": "MB",
             "power_w": "W", "memory_reserved_gb": "GB"}
    cited: list[str] = []
    for name, fig in c.figures():
        if fig.source not in cited:
            cited.append(fig.source)
        unit = "x" if ".clock_scale." in name else units.get(name.rsplit(".", 1)[-1], "TOPS")
        value = f"{fig.min:g}-{fig.value:g} {unit}" if fig.min else f"{fig.value:g} {unit}"
        detail = f"[{cited.index(fig.source) + 1}]"
        if fig.formula:
            detail += f" {fig.formula}"
        if fig.note:
            detail += f" — {fig.note}"
        table.add_row(name, value, Text(fig.flag, style=FLAG_STYLE[fig.flag]), detail)
    parts += [Text(""), table, Text("")]
    for i, key in enumerate(cited, 1):
        src = rec.sources[key]
        parts.append(Text(f"[{i}] {src.title}" + (f" <{src.url}>" if src.url else "")
                          + (f" ({src.date})" if src.date else ""), style="dim"))
    if c.host_link is not None:
        parts.append(Text(f"host link: {c.host_link.name}", style="dim"))
    for u in c.compute_units():
        n = f"{u.count} × " if u.count > 1 else ""
        rts = ", ".join(runtimes_of(u))
        parts.append(Text(f"unit {u.id}: {n}{u.name} (runtimes: {rts}; the first is the default, "
                          f"--runtime picks another)", style="dim"))
    for (unit, runtime), nets in networks_on(rec.id).items():
        shown = ", ".join(nets[:6]) + (", …" if len(nets) > 6 else "")
        parts.append(Text(f"published measurements on unit {unit} with {runtime}: {len(nets)} networks ({shown}); "
                          f"check shows them beside its prediction", style="dim"))
    for u in c.compute_units():
        e = u.efficiency
        if e is not None:
            where = "" if u.id == "main" else f" of unit {u.id}"
            parts.append(Text(f"calibrated efficiency{where}: gemm {e.gemm:.3g}, depthwise {e.depthwise:.3g}, "
                              f"vector {e.vector:.3g}, memory {e.memory:.3g}; median |error| "
                              f"{e.residual.median_abs_pct:g} % over {e.residual.n} rows ({e.basis})"))
    ridge = rec.ridge_points()
    if ridge:
        rt = Table(show_edge=False, header_style="bold", pad_edge=False,
                   title="FLOP:byte ridge point (dense peak / bandwidth): ops below it are memory-bound",
                   title_justify="left", title_style="bold")
        rt.add_column("unit")
        rt.add_column("precision")
        rt.add_column("peak TOPS", justify="right")
        rt.add_column("GB/s", justify="right")
        rt.add_column("FLOP/byte", justify="right")
        for r in ridge:
            rt.add_row(r["unit"], r["precision"], f"{r['peak_tops']:g}", f"{r['bandwidth_gbps']:g}",
                       f"{r['flop_per_byte']:.1f}")
        parts += [Text(""), rt]
    if c.notes:
        parts += [Text(""), Text(f"notes: {c.notes}")]
    return Group(*parts)
