"""Rich rendering of ``plan`` results: verdict first, then stages, chips and latency."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from chipfit.analysis.params import cli_words
from chipfit.core.units import duration, human_bytes, num, percent, unit_ref
from chipfit.render.terminal.explain import explain_table

if TYPE_CHECKING:
    from chipfit.analysis.plan import PlanRank, PlanResult


def plan_view(r: "PlanResult", explain: bool = False) -> Group:
    from chipfit.render.terminal.check import VERDICT_STYLE

    head = Text(r.verdict, style=VERDICT_STYLE[r.verdict])
    hosts = {c.chip for c in r.chips if all(u.host_stages == u.stages for u in c.units)}
    head.append(f"  {r.name}: {len(r.stages)} stages on "
                f"{', '.join(('host ' if c.chip in hosts else '') + c.chip for c in r.chips)}", style="bold")
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("limiting", cli_words(r.limiting))
    summary.add_row("needs", f"{num(r.required_tops)} TOPS, {num(r.required_bandwidth_gbps)} GB/s, "
                    f"{human_bytes(r.memory_bytes)} of memory")
    budget = f" (budget {duration(r.latency_budget_s)})" if r.latency_budget_s else ""
    low, high = r.path_band
    summary.add_row("latency", f"{duration(r.latency_s)} alone, {duration(r.latency_loaded_s)} under load "
                    f"({duration(r.latency_loaded_s * low)}-{duration(r.latency_loaded_s * high)} within the "
                    f"measured error of its stages){budget}: {' → '.join(r.critical_path)}")
    busiest = max((u for c in r.chips for u in c.units), key=lambda u: u.utilization)
    summary.add_row("busiest unit", f"{busiest.chip}:{busiest.unit} {percent(busiest.utilization)} "
                    f"({percent(busiest.utilization_low)}-{percent(busiest.utilization_high)})")
    for u in r.host_units:
        shared = len(u.host_stages) < len(u.stages)
        summary.add_row("host CPU", f"{unit_ref(u.chip, u.unit)} {percent(u.utilization)} "
                        f"({percent(u.utilization_low)}-{percent(u.utilization_high)}) with {', '.join(u.stages)}"
                        + ("" if shared else ": its own load, beside the accelerator")
                        + "; element-wise work, memory- or vector-bound (notes)")
    if any(st.stage.stream for st in r.stages):
        summary.add_row("first output", f"{duration(r.first_output_s)} alone, {duration(r.first_output_loaded_s)} "
                        f"under load, of {r.critical_path[-1]} (stages with stream start on their producers' first output)")

    stages = Table(show_edge=False, header_style="bold", pad_edge=False, title="stages", title_justify="left",
                   title_style="bold")
    for col, just in (("stage · model, precision", "left"), ("runs/s", "right"), ("TOPS", "right"),
                      ("GB/s", "right"), ("memory", "right"), ("latency", "right"), ("share", "right")):
        stages.add_column(col, justify=just, overflow="fold", no_wrap=col != "stage · model, precision")
    carried = {sp.name for sp in r.stages if not sp.stage.llm and sp.detail.measured is not None}
    for sp in r.stages:
        label = Text(sp.name, style="bold")
        label.append(f"\n{sp.weights_key[1]}, " + ("host CPU" if sp.is_host else sp.precision), style="dim")
        stages.add_row(label, num(sp.runs_per_s, 3), num(sp.required_tops, 3), num(sp.required_bandwidth_gbps, 3),
                       human_bytes(sp.weight_bytes + sp.working_bytes),
                       duration(sp.latency_s) + ("°" if sp.name in carried else ""), percent(sp.share))

    chips = Table(show_edge=False, header_style="bold", pad_edge=False, title="chips", title_justify="left",
                  title_style="bold")
    for col, just in (("chip / unit", "left"), ("busy", "right"), ("memory", "right"), ("bandwidth", "right"),
                      ("stages", "left")):
        chips.add_column(col, justify=just, overflow="fold")
    for c in r.chips:
        cap = human_bytes(c.capacity_bytes) if c.capacity_bytes else "?"
        mem = Text(f"{human_bytes(c.memory_bytes)} / {cap}", style="" if c.memory_fits else "bold red")
        bw = f"{num(c.bytes_per_s / 1e9, 3)} / {num(c.bandwidth_gbps)} GB/s" if c.bandwidth_gbps else "?"
        busiest = max(u.utilization for u in c.units)
        host = all(u.host_stages == u.stages for u in c.units)
        chips.add_row(c.chip + (" (host)" if host else ""), percent(busiest) if len(c.units) == 1 else "", mem, bw,
                      ", ".join(c.stages) if len(c.units) == 1 else "")
        if len(c.units) > 1:
            for u in c.units:
                chips.add_row(f"  :{u.unit}" + (" (host)" if u.host_stages and not host else ""),
                              percent(u.utilization), "", "", ", ".join(u.stages))
    parts: list = [head, summary, Text(""), stages]
    if carried:
        parts.append(Text("° from the network's published measurements: on other chips of the runtime, carried to "
                          "the chip with the band such a carry measured, or on the chip itself where its runtime's fit "
                          "found those closer (check shows them)", style="dim"))
    parts += [Text(""), chips]
    notes = r.notes
    if notes:
        nt = Table.grid(padding=(0, 2))
        nt.add_column(style="bold")
        nt.add_column()
        for n in notes:
            nt.add_row("note", cli_words(n))
        parts += [Text(""), nt]
    if explain:
        parts += [Text(""), explain_table(r.explain())]
    return Group(*parts)


def rank_plan_view(res: "PlanRank", show_all: bool = False) -> Group:
    head = Text(f"{res.scenario.name}: {len(res.ranked)} chips carry it (sorted by {res.by})", style="bold")
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for col, just in (("#", "right"), ("chip", "left"), ("busy", "right"), ("memory", "right"),
                      ("latency", "right"), ("power", "right"), ("limiting", "left")):
        table.add_column(col, justify=just, overflow="fold", no_wrap=col in ("#", "busy", "power"))
    rows = list(res.ranked) + (list(res.failing) if show_all else [])
    for i, p in enumerate(rows, 1):
        if i == len(res.ranked) + 1:
            table.add_section()
        c = p.chips[0]
        cap = human_bytes(c.capacity_bytes) if c.capacity_bytes else "?"
        limit = p.limiting.split(":")[0]
        name = c.chip + ("" if c.bandwidth_gbps else "*")
        table.add_row(str(i) if p.sufficient else "-", Text(name, style="" if p.sufficient else "dim"),
                      percent(p.utilization), f"{human_bytes(c.memory_bytes)} / {cap}", duration(p.latency_loaded_s),
                      f"{c.power_w:g} W" if c.power_w else "?", limit)
    tail = f"{len(res.failing)} chips fall short" + ("" if show_all else " (--all lists them)")
    if res.skipped:
        tail += f"; {len(res.skipped)} cannot run it (no peak at a stage's precision, or a unit missing)"
    if any(not p.chips[0].bandwidth_gbps for p in rows):
        tail += "\n* DRAM bandwidth unknown: memory time not modelled, an optimistic bound"
    return Group(head, table, Text(tail, style="dim"))
