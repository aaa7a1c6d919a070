"""Rich rendering of ``check`` and ``rank`` results: verdict first, then the details."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from chipfit.analysis.check import band_text
from chipfit.analysis.params import cli_words
from chipfit.core.units import duration as _t
from chipfit.core.units import human_bytes, num, si, unit_ref
from chipfit.render.terminal.explain import explain_table

if TYPE_CHECKING:
    from chipfit.analysis.check import CheckResult, Measured
    from chipfit.analysis.rank import RankResult


VERDICT_STYLE = {"SUFFICIENT": "bold green", "UNCERTAIN": "bold yellow", "INSUFFICIENT": "bold red"}


def band_words(r: "CheckResult") -> str:
    """'; low-high within the error measured for <class> (median …)' for the max FPS line."""
    host = r.roof1.host
    on_host = (f" and, for the {r.roof1.host_s / r.latency_s:.0%} of the time on the host, "
               f"{band_text(host.efficiency)}" if host is not None and r.latency_s else "")
    if r.efficiency.band is None and not on_host:
        return f"; {band_text(r.efficiency)}"
    return (f"; {num(r.max_fps_low)}-{num(r.max_fps_high)}{' over both context choices,' if r.both_contexts else ''}"
            f" within the error measured for {band_text(r.efficiency)}{on_host}")


def verdict_line(r: "CheckResult") -> Text:
    where = unit_ref(r.chip, r.unit.id) if r.together is None else \
        f"{r.chip}:{'+'.join(u for u, *_ in r.together.units)}"
    head = Text(r.verdict, style=VERDICT_STYLE[r.verdict])
    head.append(f"  {r.count.model} on {where} at {r.fps:g} FPS, {r.precision.name}"
                + (f", batch {r.batch}" if r.batch > 1 else ""), style="bold")
    if r.measured is not None:
        head.append(f"  from {r.measured.source(r.chip)} (class prediction: {r.class_verdict})")
    return head


def check_view(r: "CheckResult", explain: bool = False, per_layer: bool = False) -> Group:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    t.add_row("limiting", cli_words(r.limiting))
    t.add_row("margin", f"{r.margin_tops:+.4g} TOPS  (effective {num(r.effective_tops)} − required "
              f"{num(r.required_tops)})")
    t.add_row("max FPS", f"{num(r.max_fps)} at batch 1{band_words(r)}")
    t.add_row("latency", f"{_t(r.latency_s)} ({_t(r.latency_s_low)}-{_t(r.latency_s_high)}), {r.bound}-bound"
              + (f"; {num(r.max_fps_batched)} FPS at batch {r.best_batch}" if r.best_batch > 1 else ""))
    if r.batch > 1:
        fps, slow, fast = r.class_fps
        t.add_row(f"batch {r.batch}", f"{_t(r.roof.latency_s)} a batch = {num(fps)} FPS ({num(slow)}-{num(fast)})")
    for m in r.published:
        t.add_row("published", published_words(r, m))
    if r.here is not None:
        t.add_row("measured", here_words(r))
    if r.elsewhere is not None:
        t.add_row("elsewhere", elsewhere_words(r))
    if r.roof1.streamed_bytes:
        t.add_row("host link", f"{human_bytes(r.roof1.streamed_bytes)} of weights do not fit in the "
                  f"{human_bytes(r.roof1.onchip_bytes)} on-chip memory and cross the "
                  f"{r.record.chip.host_link.name} every inference: {_t(r.roof1.link_s)}")
    if r.roof1.overhead_s or r.roof1.call_overhead_s or r.roof1.io_s:
        t.add_row("fixed costs", f"{_t(r.roof1.overhead_s + r.roof1.call_overhead_s + r.roof1.io_s)} per batch "
                  f"({fixed_parts(r)})")
    if r.together is not None:
        tg = r.together
        parts = " + ".join(f"{n} × {u} {num(t)}" if n > 1 else f"{u} {num(t)}" for u, n, t, _ in tg.units)
        cap = (f", × {tg.dram_scale:.3g}: together they ask {num(tg.demand_gbps)} GB/s of the shared "
               f"{num(tg.bandwidth_gbps)} GB/s" if tg.dram_scale < 1 else "")
        t.add_row("together", f"{num(tg.throughput_fps)} FPS at batch {r.batch} = {parts}{cap}")
    t.add_row("utilization", f"{r.utilization:.1%} of the {'unit' if r.unit.id != 'main' else 'chip'}"
              f"{'s' if r.together else ''} at {r.fps:g} FPS")
    t.add_row("", "")
    t.add_row("model", f"{r.count.model}: {si(r.count.macs)}MACs, {si(r.count.flops)}FLOPs, "
              f"{si(r.count.params)} params")
    chip = r.record.chip
    unit = "" if r.unit.id == "main" else f", unit {r.unit.id} ({r.unit.name})"
    t.add_row("chip", f"{chip.name}{unit}")
    t.add_row("peak", f"{r.peak_tops:g} TOPS {'sparse' if r.sparse else 'dense'} {r.precision.compute}"
              f" × efficiency {r.efficiency.gemm:.3g} = {num(r.effective_tops)} effective")
    bw = (f"{r.bandwidth_gbps:g} GB/s × {r.efficiency.memory:.3g} = {num(r.effective_bandwidth_gbps)} usable"
          if r.bandwidth_gbps else "unknown")
    t.add_row("bandwidth", f"needs {num(r.required_bandwidth_gbps)} GB/s "
              f"({human_bytes(r.bytes_per_inference)} per inference); chip {bw}")
    cap = human_bytes(r.capacity_bytes) if r.capacity_bytes else "unknown (host memory)"
    t.add_row("memory", Text(f"{human_bytes(r.memory_required_bytes)} (weights {human_bytes(r.weight_bytes)} + "
              f"activations {human_bytes(r.peak_activation_bytes)}) of {cap}",
              style="" if r.memory_fits else "bold red"))
    if r.power_w:
        t.add_row("energy", f"≤ {r.energy_per_inference_j:.3g} J per inference"
                  + (f" (batch {r.batch})" if r.batch > 1 else "") + f" at {r.power_w:g} W; "
                  f"{r.tops_per_w:.3g} peak TOPS/W")
    for u in r.other_units:
        n = f"{u.count} × " if u.count > 1 else ""
        t.add_row("other unit", f"{u.unit} ({n}{u.name}): {u.peak_tops:g} TOPS, "
                  f"{num(u.max_fps)} FPS each at batch 1")
    eff = r.efficiency
    speed = f", chip speed {eff.speed:.3g}" if eff.speed != 1 else ""
    if eff.fixed_rate != eff.speed:
        speed += f" (fixed costs {eff.fixed_rate:.3g})"
    t.add_row("efficiency", f"{eff.efficiency_class}: gemm {eff.gemm:.3g}, depthwise {eff.depthwise:.3g}, "
              f"vector {eff.vector:.3g}"
              + (f", table activations {eff.activation:.3g}" if eff.activation is not None else "")
              + (f", norms and softmax {eff.norm:.3g}" if eff.norm is not None else "")
              + f", memory {eff.memory:.3g}"
              + (f", channel tile {eff.channel_tile}" if eff.channel_tile else "")
              + f"{speed} ({cli_words(eff.basis)})")
    for note in r.to_dict()["notes"]:
        t.add_row("note", cli_words(note))
    parts: list = [verdict_line(r), t]
    if explain:
        parts += [Text(""), explain_table(r.explain())]
    if per_layer:
        parts += [Text(""), layer_table(r)]
    return Group(*parts)


def published_words(r: "CheckResult", m: "Measured") -> str:
    """A published measurement of the network on this unit, against the rate asked and the prediction."""
    p = m.row
    meets = "meets" if p.throughput_fps >= r.fps else "misses"
    version = f" {p.runtime_version}" if p.runtime_version else ""
    return (f"batch {p.batch}: {_t(p.latency_s)} measured = {num(p.throughput_fps)} FPS ({meets} {r.fps:g} FPS); "
            f"chipfit {_t(m.predicted_s)} ({m.error_pct:+.0f} %); {p.runtime}{version}, {p.where}")


def elsewhere_words(r: "CheckResult") -> str:
    """The network's published measurements on the class's other chips (and this one's, where the class's
    fit chose that), carried to this one."""
    e, b = r.elsewhere, r.elsewhere.band
    return (f"{e.source(r.chip)} under {r.efficiency.efficiency_class} ({len(e.rows)} row{'s' if len(e.rows) > 1 else ''}) "
            f"at a median {e.ratio:.3g}× chipfit's prediction there: here {_t(e.latency_s)} ({_t(e.latency_s * e.low)}-"
            f"{_t(e.latency_s * e.high)}{' over both context choices' if e.both_contexts else ''}) = "
            f"{num(e.max_fps)} FPS at batch {e.batch} "
            f"({'meets' if e.max_fps >= r.fps else 'misses'} {r.fps:g} FPS); such a prediction erred by a median "
            f"{b.median_abs_pct:.3g} %, p90 {b.p90_abs_pct:.3g} % over {b.n} {b.what}")


def here_words(r: "CheckResult") -> str:
    """The network's published measurements on this chip at the batch asked, where the verdict rests on them."""
    e, b = r.here, r.here.band
    return (f"{_t(e.latency_s)} ({_t(e.latency_s * e.low)}-{_t(e.latency_s * e.high)}) = {num(e.max_fps)} FPS at "
            f"batch {e.batch}, " + (f"the median of its {len(e.rows)} published rows here" if len(e.rows) > 1
                                    else "as published here")
            + f" ({'meets' if e.max_fps >= r.fps else 'misses'} {r.fps:g} FPS); a network measured again on its "
            f"chip differed by a median {b.median_abs_pct:.3g} %, p90 {b.p90_abs_pct:.3g} % over {b.n} {b.what}")


def fixed_parts(r: "CheckResult") -> str:
    """What the fixed costs of one batch are made of, leaving out the kinds the runtime does not pay."""
    starts, moves = r.roof1.fixed_cost_ops()
    parts = ([f"{_t(r.efficiency.op_overhead_s / r.efficiency.fixed_rate)} to start each of {len(starts)} ops"]
             if starts else []) \
        + ([f"{_t(sum(o.overhead_s for o in moves))} for {len(moves)} data moves"] if moves else []) \
        + ([f"{_t(r.roof1.call_overhead_s)} per call"] if r.roof1.call_overhead_s else []) \
        + ([f"{_t(r.roof1.io_s)} for the input and output"] if r.roof1.io_s else [])
    return ", ".join(parts)


def layer_table(r: "CheckResult") -> Table:
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("module", overflow="fold", min_width=12)
    table.add_column("op", overflow="fold", max_width=18)
    for col in ("FLOPs", "bytes", "FLOP/B", "time", "bound", "%time"):
        table.add_column(col, justify="right", no_wrap=True)
    total = r.roof1.latency_s or 1.0
    for i, o in enumerate(r.roof1.ops):
        table.add_row(str(i), o.name or "(root)", o.op + (" (fused)" if o.fused else ""), si(o.flops),
                      human_bytes(o.bytes), "-" if not o.bytes else f"{o.intensity:.3g}", _t(o.time_s),
                      o.bound, f"{100 * o.time_s / total:.1f}%")
    return table


def _band_cell(r: "CheckResult") -> str:
    b = r.efficiency.band
    if b is None:
        return "none†"
    return f"{num(r.max_fps_low, 3)}-{num(r.max_fps_high, 3)}" + ("‡" if b.borrowed else "")


#: rank's columns, and the order they give way in on a terminal too narrow for all of them
RANK_COLUMNS = (("#", "right"), ("chip", "left"), ("peak TOPS", "right"), ("margin", "right"),
                ("max FPS", "right"), ("band", "right"), ("measured", "right"), ("verdict", "left"),
                ("latency", "right"), ("bound", "left"), ("power", "right"), ("J/inf", "right"),
                ("memory", "left"))
RANK_DROP_ORDER = ("J/inf", "memory", "bound", "margin", "peak TOPS", "latency", "measured")


def _measured_cell(r: "CheckResult") -> str:
    """The published batch-1 FPS of the network on the chip (a range over runtime releases), else its
    measurements on the class's other chips carried here ('≈', at the batch ranked), else ''."""
    fps = sorted(m.row.throughput_fps for m in r.published if m.row.batch == 1)
    if not fps:
        return f"≈{num(r.elsewhere.max_fps, 3)}" if r.elsewhere is not None else ""
    return num(fps[0], 3) if len(fps) == 1 or num(fps[0], 3) == num(fps[-1], 3) else \
        f"{num(fps[0], 3)}-{num(fps[-1], 3)}"


def rank_view(res: "RankResult", show_all: bool = False, explain: bool = False,
              width: int | None = None) -> Group:
    """The ranking table; with ``width`` (the terminal's), the least needed columns are left
    out until the rest fits, so the chip ids are never cut."""
    c = res.count
    head = Text(f"{c.model} at {res.fps:g} FPS, {c.precision.name}: needs "
                f"{c.flops * res.fps / 1e12:.4g} TOPS; {len(res.ranked)} chips meet it "
                f"(sorted by {res.by})", style="bold")
    rows = list(res.ranked) + (list(res.failing) if show_all else [])
    cells = []
    for i, r in enumerate(rows, 1):
        style = "" if r.sufficient else "dim"
        cells.append({
            "#": str(i) if r.sufficient else "-", "chip": Text(unit_ref(r.chip, r.unit.id), style=style),
            "peak TOPS": num(r.peak_tops), "margin": f"{r.margin_tops:+.3g}",
            "max FPS": num(r.max_fps) + ("§" if not r.roof1.host_priced else ""),
            "band": _band_cell(r), "measured": _measured_cell(r),
            "verdict": Text(r.verdict.lower() + ("°" if r.measured is not None else ""),
                            style=VERDICT_STYLE[r.verdict]),
            "latency": _t(r.latency_s), "bound": r.bound if r.bandwidth_gbps else "compute*",
            "power": f"{r.power_w:g} W" if r.power_w else "?",
            "J/inf": f"{r.energy_per_inference_j:.2g}" if r.energy_per_inference_j else "?",
            "memory": "fits" if r.memory_fits else "too small"})
    # the measured column only where some chip has a published rate
    available = [name for name, _ in RANK_COLUMNS if name != "measured" or any(row[name] for row in cells)]
    columns = list(available)
    if width:
        need = {name: max([len(name)] + [len(str(row[name])) for row in cells]) for name in columns}
        for name in RANK_DROP_ORDER:
            if sum(need[n] for n in columns) + 3 * (len(columns) - 1) <= width:
                break
            columns.remove(name)
    fits = not width or sum(need[n] for n in columns) + 3 * (len(columns) - 1) <= width
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for name, just in RANK_COLUMNS:
        if name == "chip" and not fits:   # still too narrow: the ids fold rather than vanish
            table.add_column(name, justify=just, overflow="fold",
                             min_width=max(8, width - sum(need[n] + 3 for n in columns if n != "chip")))
        elif name in columns:
            table.add_column(name, justify=just, no_wrap=True)
    for i, row in enumerate(cells, 1):
        if i == len(res.ranked) + 1:
            table.add_section()
        table.add_row(*(row[n] for n in columns))
    parts: list = [head, table]
    tail = f"{len(res.failing)} chips fall short" + ("" if show_all else " (--all lists them)")
    if res.skipped:
        tail += f"; {len(res.skipped)} not checked (no {c.precision.compute} peak in the database)"
    if any(not r.efficiency.validated for r in rows):
        tail += "\n† no measurements of this chip's runtime class: the prediction has no error band"
    if any(r.efficiency.band and r.efficiency.band.borrowed for r in rows):
        tail += "\n‡ no measurements of this chip's runtime: the band is another class's, borrowed with its factors"
    if any(not r.roof1.host_priced for r in rows):
        tail += ("\n§ its runtime leaves ops to a host CPU the chip does not have: the accelerator's part only "
                 "(--host prices the rest)")
    if "measured" in columns:
        tail += ("\nmeasured: the FPS a vendor published for this network on the chip at batch 1, with the "
                 "runtime ranked (check shows its source)")
        if any(c["measured"].startswith("≈") for c in cells):
            tail += f"; ≈: its measurements on the runtime's other chips, carried to the chip, at batch {rows[0].batch}"
    if any(r.measured is not None for r in rows):
        tail += ("\n° the verdict rests on the network's published measurements: on other chips of the runtime, "
                 "carried to the chip with the band such a carry measured, or on the chip itself where its runtime's "
                 "fit found those closer (check shows them)")
    if "bound" in columns and any(not r.bandwidth_gbps for r in rows):
        tail += "\n* DRAM bandwidth unknown (on-chip or host memory): memory time not modelled, an optimistic bound"
    left_out = [name for name in available if name not in columns]
    if left_out:
        tail += f"\n{', '.join(left_out)}: left out for the terminal's width (a wider one, or --json, has them)"
    parts.append(Text(tail, style="dim"))
    if explain:
        parts += [Text(""), explain_table(res.explain())]
    return Group(*parts)
