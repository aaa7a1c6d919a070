"""Rich rendering of ``whatif`` results: the verdict as given, then one row per option."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from chipfit.analysis.params import cli_words
from chipfit.core.units import duration, human_bytes, num, si, unit_ref

if TYPE_CHECKING:
    from chipfit.analysis.whatif import WhatIfResult


def verdict_word(o: dict, fps: float) -> Text:
    """fits / too slow / memory / not priced, for one option's dict; '°' where it rests on the network's
    measurements on other chips."""
    if o["sufficient"] is None:
        return Text("-", style="dim")
    mark = "°" if o.get("verdict_basis") not in (None, "class") else ""
    if o["sufficient"]:
        return Text("fits" + mark, style="bold green")
    return Text(("too slow" if (o["max_fps"] or 0) < fps else "no memory") + mark, style="bold red")


def whatif_view(r: "WhatIfResult") -> Group:
    d = r.to_dict()
    where = unit_ref(r.chip, r.unit)
    base = r.baseline
    from chipfit.render.terminal.check import VERDICT_STYLE

    head = Text(f"{base.verdict} AS GIVEN", style=VERDICT_STYLE[base.verdict])
    head.append(f"  {r.model} on {where} at {r.fps:g} FPS, {r.precision}", style="bold")
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    carried = (f", from {base.measured.source(base.chip)} (class prediction: {num(base.max_fps)} FPS, "
               f"{base.class_verdict})" if base.measured is not None else "")
    summary.add_row("as given", f"{si(base.count.macs)}MACs, needs {num(base.required_tops)} TOPS; max "
                    f"{num(base.verdict_fps[0])} FPS{carried} ({base.limiting})")
    fits = d["fitting"]
    summary.add_row("options that fit", f"{len(fits)} of {sum(o['sufficient'] is not None for o in d['options'])} "
                    "priced" + ("" if fits else ": none closes the gap on this chip"))
    if d["choice"]:
        summary.add_row("least change", d["choice"])
    if base.power_w is None:
        summary.add_row("energy", "the chip lists no power figure: no energy per inference")

    opts = d["options"]
    energy = any(o["energy_per_inference_j"] is not None for o in opts)
    acc = any(o["accuracy_top1"] is not None for o in opts)
    t = Table(show_edge=False, header_style="bold", pad_edge=False)
    t.add_column("option", overflow="fold", ratio=1, min_width=24)
    for col in ("MACs", "TOPS", "latency", "max FPS", "memory") + (("energy",) if energy else ()):
        t.add_column(col, justify="right", no_wrap=True)
    t.add_column("verdict", no_wrap=True)
    if acc:
        t.add_column("top-1", justify="right", no_wrap=True)
    for o in opts:
        priced = o["sufficient"] is not None
        label = Text(f"{o['lever']}: ", style="bold")
        label.append(o["setting"])
        if o["note"]:
            label.append(f"\n{cli_words(o['note'])}", style="dim")
        cells = [label, si(o["macs"]) if o["macs"] is not None else "-",
                 num(o["required_tops"], 3) if priced else "-", duration(o["latency_s"]) if priced else "-",
                 num(o["max_fps"]) if priced else "-", human_bytes(o["memory_bytes"]) if priced else "-"]
        if energy:
            cells.append(f"{o['energy_per_inference_j'] * 1e3:.3g} mJ" if o["energy_per_inference_j"] is not None
                         else "-")
        cells.append(verdict_word(o, r.fps))
        if acc:
            cells.append(f"{o['accuracy_top1']:.1f} %" if o["accuracy_top1"] is not None else "-")
        t.add_row(*cells)
    parts: list = [head, summary, Text(""), t]
    for note in r.notes:
        parts.append(Text(f"note: {cli_words(note)}", style="dim"))
    parts.append(Text("TOPS: needed at the target rate. Latency: one input (a batch adds the wait to fill it)."
                      + (" Energy: rated power × the time of a batch, per input." if energy else "")
                      + (" °: from the network's published measurements: on other chips of the runtime, carried to "
                         "this one, or on this chip where its runtime's fit found those closer."
                         if any(o.get("verdict_basis") not in (None, "class") for o in opts) else "")
                      + (" Top-1: ImageNet-1K, as published with the weights (--json gives each source)."
                         if acc else ""), style="dim"))
    return Group(*parts)
