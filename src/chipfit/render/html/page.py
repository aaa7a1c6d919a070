"""One self-contained HTML page from a result's JSON object (``--report``, ``chipfit report``).

The page is rendered from the same plain JSON object that ``--json`` prints, so a saved result
renders exactly as a fresh one. Everything is inline: the charts are SVG drawn by
:mod:`chipfit.render.html.svg`, the style and the one small script (hover tips, table sorting) are
embedded, and nothing is fetched from the network. The JSON itself is embedded too
(``<script type="application/json" id="chipfit-result">``).

Every headline figure sits in an element with ``data-key`` (its JSON key) and ``data-value``
(the exact JSON value), so a reader, or a test, can check the page against the JSON.
"""

from __future__ import annotations

import datetime as _dt
from html import escape
from typing import Any, Callable

from chipfit.core.errors import ChipfitError, render_fields
from chipfit.core.jsonio import dumps_json, script_json
from chipfit.core.units import duration, human_bytes, measured_where, num, percent, si, unit_ref
from chipfit.core.version import VERSION
from chipfit.render.html import svg

#: Most bars in a per-layer chart; the rest are summed into one row (the roofline shows every op).
MAX_LAYER_BARS = 150

KINDS = ("count", "check", "rank", "llm", "llm-sweep", "plan", "plan-rank", "whatif")


def kind_of(result: dict) -> str:
    """Which command produced ``result``: its ``command`` key, or else its characteristic keys."""
    if not isinstance(result, dict):
        raise ChipfitError("the result is not a JSON object")
    kind = result.get("command")
    if kind is not None:
        if kind not in KINDS:
            raise ChipfitError(f"unknown result kind {kind!r} (one of {', '.join(KINDS)})")
        return kind
    if "sweep" in result and "points" in result:
        return "llm-sweep"
    if "options" in result and "fitting" in result:
        return "whatif"
    if "scenario" in result:
        return "plan" if "stages" in result else "plan-rank"
    if "ttft_s" in result:
        return "llm"
    if "chips" in result and "required_tops" in result:
        return "rank"
    if "required_tops" in result and "chip" in result:
        return "check"
    if "macs" in result and "flops" in result:
        return "count"
    raise ChipfitError("this JSON is not a chipfit result (of count, check, rank, llm, plan or whatif)")


def render(result: dict, command_line: str | None = None) -> str:
    """The HTML page of one result."""
    kind, title, body = fragment(result)
    return _page(title, kind, body, result, command_line)


def fragment(result: dict) -> tuple[str, str, str]:
    """``(kind, title, body)`` of one result: the page's content (verdict, summary, charts,
    formulas) without the page around it, for ``chipfit serve``, which shows it inside its own
    page and brings the style and the hover/sort script itself."""
    kind = kind_of(result)
    try:
        title, body = _SECTIONS[kind](result)
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise ChipfitError(f"this {kind} result is missing or has a malformed field ({type(exc).__name__}: {exc}); "
                           "render the JSON that chipfit printed, unchanged") from None
    return kind, title, body


# ---------------------------------------------------------------------------------------------
# building blocks

def _v(value: Any) -> str:
    return escape(dumps_json(value, indent=None), quote=True)


def _kv(rows: list[tuple[str, str | None, Any, str]]) -> str:
    """A two-column table: (label, JSON key or None, raw value, shown text)."""
    out = ['<table class="kv">']
    for label, key, value, text in rows:
        attrs = f' data-key="{escape(key)}" data-value="{_v(value)}"' if key else ""
        out.append(f"<tr><th>{escape(label)}</th><td{attrs}>{escape(text)}</td></tr>")
    out.append("</table>")
    return "".join(out)


def _table(columns: list[str], rows: list[list[str]], cls: str = "data") -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls} sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _chart(name: str, caption: str, svg_text: str) -> str:
    return (f'<figure class="chart" data-chart="{escape(name)}">{svg_text}'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _verdict(ok: bool | None, headline: str, detail: str = "", words: tuple[str, str] = ("SUFFICIENT",
                                                                                         "INSUFFICIENT")) -> str:
    cls = "neutral" if ok is None else "ok" if ok else "bad"
    word = "" if ok is None else (words[0] if ok else words[1]) + " "
    value = "" if ok is None else f' data-value="{_v(ok)}"'
    return (f'<div id="verdict" class="verdict {cls}"{value}><span class="word">{escape(word)}</span>'
            f'{escape(headline)}<div class="detail">{escape(detail)}</div></div>')


def _verdict3(verdict: str, headline: str, detail: str = "") -> str:
    """The three-valued verdict of a prediction with an error band (SUFFICIENT, UNCERTAIN, INSUFFICIENT)."""
    cls = {"SUFFICIENT": "ok", "INSUFFICIENT": "bad"}.get(verdict.split()[0], "neutral")
    return (f'<div id="verdict" class="verdict {cls}" data-value="{_v(verdict)}"><span class="word">'
            f'{escape(verdict)} </span>{escape(headline)}<div class="detail">{escape(detail)}</div></div>')


def _span(r: dict, key: str) -> str:
    """'(low-high) ' of a figure with an error band, or a note that it has none."""
    low, high = r.get(f"{key}_low"), r.get(f"{key}_high")
    if low is None or high is None:
        return "(no measurements: no error band) " if f"{key}_low" in r else ""
    return f"({duration(low)}-{duration(high)}) "


def _section(title: str, *parts: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{''.join(parts)}</section>"


def _explain(result: dict) -> str:
    rows = result.get("explain")
    if not rows:
        return _section("How these numbers are computed",
                        '<p class="muted">This result was saved without its formulas: run the command with '
                        "<code>--explain --json</code> (or <code>--report</code>, which includes them).</p>")
    return _section("How these numbers are computed",
                    _table(["quantity", "formula"], [[r["quantity"], render_fields(r["formula"])] for r in rows], "explain"))


def _notes(result: dict) -> str:
    notes = [render_fields(n) for n in result.get("notes") or [] if n]
    if not notes:
        return ""
    return _section("Notes", "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>")


def _opt(x: float | None, f: Callable[[float], str]) -> str:
    return "unknown" if x is None else f(x)


def _efficiency(eff: dict | None) -> list[tuple[str, str | None, Any, str]]:
    if not eff:
        return []
    factors = ", ".join(f"{k} {eff[k]:.3g}" for k in ("gemm", "depthwise", "vector", "memory", "prefill_gemm",
                                                       "decode_memory") if eff.get(k) is not None)
    rows = [("efficiency", "efficiency", eff, f"class {eff.get('class')}: {factors}"),
            ("efficiency source", None, None, render_fields(eff.get("basis") or ""))]
    for key, label in (("validation", "validation error"), ("decode_validation", "decode validation error"),
                       ("prefill_validation", "prefill validation error")):
        val = eff.get(key)
        if key in eff and not val:
            rows.append((label, None, None, "not validated: no measured rows of this class"))
        elif val:
            rows.append((label, None, None, f"median |error| {val['median_abs_pct']:.3g} %, "
                         f"p90 {val['p90_abs_pct']:.3g} % over {val['n']} measured rows"))
    return rows


# ---------------------------------------------------------------------------------------------
# count

def _count(r: dict) -> tuple[str, str]:
    title = f"{r['model']}: {si(r['macs'])}MACs, {si(r['flops'])}FLOPs"
    inputs = ", ".join(f"{k} {'×'.join(map(str, v))}" for k, v in (r.get("inputs") or {}).items())
    unsupported = ", ".join(f"{u['op']} ×{u['count']}" for u in r.get("unsupported_ops") or []) or "none"
    kv = _kv([
        ("MACs", "macs", r["macs"], f"{r['macs']:,}"),
        ("FLOPs", "flops", r["flops"], f"{r['flops']:,} (2 × MACs + {r.get('nonmac_flops', 0):,} other)"),
        ("parameters", "params", r["params"], f"{r['params']:,}"),
        ("weights", "weight_bytes", r["weight_bytes"], f"{human_bytes(r['weight_bytes'])} at {r['precision']}"),
        ("activations", "activation_bytes", r["activation_bytes"], human_bytes(r["activation_bytes"])),
        ("inputs", None, None, inputs or "-"),
        ("unsupported ops", None, None, unsupported),
    ])
    parts = [_verdict(None, f"{r['model']}: {si(r['macs'])}MACs, {si(r['flops'])}FLOPs, "
                      f"{si(r['params'])} params", f"precision {r['precision']}"), _section("Totals", kv)]
    kinds = sorted((r.get("by_kind") or {}).items(), key=lambda kv: -kv[1]["flops"])
    if kinds:
        rows = [svg.Bar(k, [v["macs"], v["flops"]], f"{k}: {v['ops']} ops, {v['macs']:,} MACs, {v['flops']:,} FLOPs",
                        [svg.kind_color(k), svg.kind_color(k)]) for k, v in kinds]
        parts.append(_chart("by-kind", "MACs and FLOPs by op kind",
                            svg.bars(rows, "By op kind", ["MACs", "FLOPs"], [si, si])))
    if r.get("modules"):
        mods = r["modules"]
        rows = [svg.Bar(m["name"] or "(top)", [m["macs"], m["flops"]],
                        f"{m['name']}: {m['macs']:,} MACs, {m['flops']:,} FLOPs, {m.get('params', 0):,} params",
                        [svg.PART_COLORS[0], svg.PART_COLORS[1]]) for m in mods[:MAX_LAYER_BARS]]
        parts.append(_chart("modules", "MACs and FLOPs per module", svg.bars(rows, "Per module", ["MACs", "FLOPs"],
                                                                              [si, si])))
    if r.get("layers"):
        layers = r["layers"]
        shown = layers[:MAX_LAYER_BARS]
        rows = [svg.Bar(o["name"], [o["macs"], o["flops"]],
                        f"{o['name']} ({o['kind']}): {o['macs']:,} MACs, {o['flops']:,} FLOPs",
                        [svg.kind_color(o["kind"])] * 2) for o in shown]
        caption = "MACs and FLOPs of every op" + (f" (first {MAX_LAYER_BARS} of {len(layers)})"
                                                  if len(layers) > MAX_LAYER_BARS else "")
        parts.append(_chart("layers", caption, svg.bars(rows, "Per op", ["MACs", "FLOPs"], [si, si])))
    parts.append(_notes(r))
    return title, "".join(parts)


# ---------------------------------------------------------------------------------------------
# check

def _roofs_check(r: dict) -> list[svg.Roof]:
    peak = r["chip_peak_tops"] * 1e12
    bw = (r.get("chip_bandwidth_gbps") or 0) * 1e9
    eff = r.get("efficiency") or {}
    mem = eff.get("memory", 1.0)
    roofs = [svg.Roof(f"peak {r['chip_peak_tops']:g} TOPS", peak, bw, dashed=True)]
    by_factor: dict[float, list[str]] = {}
    for cls in ("gemm", "depthwise", "vector"):
        if eff.get(cls) is not None:
            by_factor.setdefault(eff[cls], []).append(cls)
    for factor, classes in by_factor.items():
        roofs.append(svg.Roof(f"{'/'.join(classes)} × {factor:.3g}", peak * factor, bw * mem))
    return roofs


def _layer_tip(o: dict) -> str:
    inten = "-" if o.get("intensity") is None else f"{o['intensity']:.4g}"
    fused = ", fused into the op before" if o.get("fused") else ""
    return (f"{o['name']} ({o['kind']}, {o['op']}{fused})\nMACs {o.get('macs', 0):,}\nFLOPs {o['flops']:,}\n"
            f"bytes {o['bytes']:,}\nintensity {inten} FLOPs/byte\ntime {duration(o['time_s'])} ({o['bound']}-bound)")


def _layers_charts(r: dict) -> list[str]:
    layers = r.get("layers")
    if not layers:
        return ['<p class="muted">Per-op charts need the per-op data: run the command with '
                "<code>--per-layer --json</code> (or <code>--report</code>, which includes it).</p>"]
    points = [svg.Point(o["intensity"], o["flops"] / o["time_s"], svg.kind_color(o["kind"]), _layer_tip(o), o["kind"])
              for o in layers if o.get("intensity") and o["time_s"] > 0]
    out = [_chart("roofline", f"Every op of one batch ({len(points)} points; ops that move no bytes are left out) "
                  "under the chip's roofs: attainable = min(peak × efficiency, bandwidth × efficiency × intensity)",
                  svg.roofline(points, _roofs_check(r), f"Roofline of {r['chip']} at {r['precision']}"))]
    keep = set(range(len(layers))) if len(layers) <= MAX_LAYER_BARS else set(
        sorted(range(len(layers)), key=lambda i: -layers[i]["time_s"])[:MAX_LAYER_BARS])
    shown = [o for i, o in enumerate(layers) if i in keep]
    rest = [o for i, o in enumerate(layers) if i not in keep]
    rows = [svg.Bar(o["name"], [o["time_s"], o.get("macs", 0)], _layer_tip(o),
                    [svg.BOUND_COLORS[o["bound"]], svg.GREY]) for o in shown]
    if rest:
        t, m = sum(o["time_s"] for o in rest), sum(o.get("macs", 0) for o in rest)
        rows.append(svg.Bar(f"{len(rest)} other ops", [t, m], f"{len(rest)} faster ops: {duration(t)}, {m:,} MACs",
                            [svg.GREY, svg.GREY]))
    caption = ("Predicted time (blue: compute-bound, orange: memory-bound) and MACs of every op, in graph order; "
               f"the bars sum to the latency {duration(r['latency_s'])}")
    if rest:
        caption += f" (the {MAX_LAYER_BARS} slowest ops, then the rest summed)"
    out.append(_chart("layers", caption, svg.bars(rows, "Per op", ["time", "MACs"], [duration, si])))
    by_kind: dict[str, float] = {}
    for o in layers:
        by_kind[o["kind"]] = by_kind.get(o["kind"], 0.0) + o["time_s"]
    parts = [svg.Part(k, t, f"{k}: {duration(t)} ({t / r['latency_s'] * 100:.3g} %)", svg.kind_color(k))
             for k, t in sorted(by_kind.items(), key=lambda kv: -kv[1])]
    out.append(_chart("time-by-kind", "Where the time goes, by op kind",
                      svg.stacked([("latency", parts, None)], "Time by op kind", duration)))
    return out


def _check(r: dict) -> tuple[str, str]:
    verdict = r.get("verdict") or ("SUFFICIENT" if r["sufficient"] else "INSUFFICIENT")
    title = f"{r['model']} on {r['chip']} at {r['fps']:g} FPS, {r['precision']}"
    bw = r.get("chip_bandwidth_gbps")
    cap = r.get("memory_capacity_bytes")
    kv = _kv([
        ("limiting", "limiting", r["limiting"], r["limiting"]),
        ("required TOPS", "required_tops", r["required_tops"], f"{num(r['required_tops'])} TOPS"),
        ("chip peak", "chip_peak_tops", r["chip_peak_tops"],
         f"{num(r['chip_peak_tops'])} TOPS {'sparse' if r.get('sparse') else 'dense'} {r['precision']}"),
        ("effective TOPS", "effective_tops", r["effective_tops"], f"{num(r['effective_tops'])} TOPS"),
        ("margin", "margin_tops", r["margin_tops"], f"{r['margin_tops']:+.4g} TOPS"),
        ("latency (batch 1)", "latency_s", r["latency_s"], duration(r["latency_s"])),
        ("max FPS", "max_fps", r["max_fps"], f"{num(r['max_fps'])} at batch 1; {num(r['max_fps_batched'])} "
         f"at batch {r['best_batch']}"),
        ("error band", "max_fps_low", r.get("max_fps_low"),
         f"max FPS {num(r['max_fps_low'])}-{num(r['max_fps_high'])}, latency {duration(r['latency_s_low'])}-"
         f"{duration(r['latency_s_high'])}"
         + (f" over both context choices (the other: {duration(r['other_context_latency_s'])} at batch 1)"
            if r.get("other_context_latency_s") is not None else "")
         + f" ({render_fields(r.get('band') or '')})" if r.get("max_fps_low") else "none"),
    ] + [
        (f"published, batch {m['batch']}", None, None,
         f"{duration(m['latency_s'])} measured = {num(m['throughput_fps'])} FPS; chipfit {duration(m['predicted_latency_s'])}"
         f" ({m['error_pct']:+.0f} %); {m['runtime']} {m['runtime_version']}, {m['source']} {m['source_path']} @ "
         f"{m['source_commit'][:7]}") for m in r.get("published") or []
    ] + _elsewhere(r) + [
        ("utilization", "utilization", r["utilization"], f"{percent(r['utilization'])} at {r['fps']:g} FPS"),
        ("bound", "bound", r["bound"], f"{r['bound']}-bound"),
        ("required bandwidth", "required_bandwidth_gbps", r["required_bandwidth_gbps"],
         f"{num(r['required_bandwidth_gbps'])} GB/s ({human_bytes(r['bytes_per_inference'])} per inference)"),
        ("chip bandwidth", "chip_bandwidth_gbps", bw,
         _opt(bw, lambda b: f"{num(b)} GB/s ({num(r['effective_bandwidth_gbps'])} usable)")),
        ("memory", "memory_required_bytes", r["memory_required_bytes"],
         f"{human_bytes(r['memory_required_bytes'])} of {_opt(cap, human_bytes)}"),
        ("energy per inference", "energy_per_inference_j", r.get("energy_per_inference_j"),
         _opt(r.get("energy_per_inference_j"), lambda e: f"≤ {e:.3g} J at {r['power_w']:g} W (rated power)")),
        ("model", "macs", r["macs"], f"{r['model']}: {si(r['macs'])}MACs, {si(r['flops'])}FLOPs, "
         f"{si(r['params'])} params"),
        ("chip", "chip", r["chip"], f"{r['chip_name']}, unit {r['unit']}"),
    ] + _efficiency(r.get("efficiency")))
    basis = (f"; from {_source(r)} (class prediction: {r['class_verdict']})"
             if r.get("verdict_basis") not in (None, "class") else "")
    body = [_verdict3(verdict, title, r["limiting"] + basis), _section("Summary", kv),
            _section("Roofline and per-op time", *_layers_charts(r)), _explain(r), _notes(r)]
    return title, "".join(body)


def _source(r: dict) -> str:
    """Whose measurements the verdict rests on, in a few words (as ``check`` says it; a result saved by an
    earlier version lacks ``here`` and ``chips``)."""
    e = r.get("measured_here") if r["verdict_basis"] == "measured_here" else r.get("measured_elsewhere")
    if not e:
        return "its published measurements"
    chips = e.get("chips") or sorted({m["chip"] for m in e["measurements"]})
    return measured_where(bool(e.get("here")), len(e["measurements"]), chips, r["chip"])


def _elsewhere(r: dict) -> list[tuple]:
    """The summary rows of the network's published measurements on this chip, where the verdict rests on
    them, and on the class's other chips, carried here."""
    out = []
    h = r.get("measured_here")
    if h:
        b = h["band"]
        out.append(("measured here", None, None,
                    f"{num(h['max_fps'])} FPS at batch {h['batch']} ({num(h['max_fps_low'])}-{num(h['max_fps_high'])}):"
                    + (f" the median of its {len(h['measurements'])} published rows on this chip"
                       if len(h["measurements"]) > 1 else " as published on this chip")
                    + "; a network measured "
                    f"again on its chip differed by a median {b['median_abs_pct']:.3g} %, p90 {b['p90_abs_pct']:.3g} % "
                    f"over {b['n']} {b['what']}; the verdict rests on it"))
    e = r.get("measured_elsewhere")
    if not e:
        return out
    b, chips = e["band"], sorted({m["chip"] for m in e["measurements"]})
    return out + [("measured elsewhere", None, None,
             f"{num(e['max_fps'])} FPS at batch {e['batch']} ({num(e['max_fps_low'])}-{num(e['max_fps_high'])}"
             + (" over both context choices" if e.get("both_contexts") else "") + "): "
             f"chipfit's prediction × {e['ratio']:.3g}, the median measured / predicted of its "
             f"{len(e['measurements'])} rows on {', '.join(chips)}; such a carry erred by a median "
             f"{b['median_abs_pct']:.3g} %, p90 {b['p90_abs_pct']:.3g} % over {b['n']} {b['what']}"
             + ("; the verdict rests on it" if r.get("verdict_basis") == "measured_elsewhere" else ""))]


# ---------------------------------------------------------------------------------------------
# rank

def _rank(r: dict) -> tuple[str, str]:
    chips = r["chips"] + r.get("insufficient", [])
    title = f"{r['model']} at {r['fps']:g} FPS, {r['precision']}: {len(r['chips'])} chips meet it"
    best = r["chips"][0]["chip"] if r["chips"] else None
    head = _verdict(bool(r["chips"]), title, f"best by {r['by']}: {best}" if best else "no chip meets the target")
    kv = _kv([("model", "macs", r["macs"], f"{r['model']}: {si(r['macs'])}MACs, {si(r['flops'])}FLOPs"),
              ("required TOPS", "required_tops", r["required_tops"], f"{num(r['required_tops'])} TOPS"),
              ("chips that meet it", None, len(r["chips"]), str(len(r["chips"]))),
              ("sorted by", "by", r["by"], r["by"])])
    rows = [svg.Bar(c["chip"], [c.get("verdict_max_fps", c["max_fps"]), c.get("power_w") or 0],
                    f"{c['chip_name']} ({c['unit']}): max {num(c['max_fps'])} FPS, latency {duration(c['latency_s'])}, "
                    f"{c['bound']}-bound, {percent(c['utilization'])} busy; {c['limiting']}",
                    [svg.OK if c["sufficient"] else svg.BAD, svg.GREY]) for c in chips]
    chart = _chart("chips", f"Max FPS per chip, on what its verdict rests on (the class prediction, or the "
                   f"network's published measurements; log scale; the line is the target {r['fps']:g} FPS; "
                   "green meets it) and rated power",
                   svg.bars(rows, "Chip comparison", ["max FPS", "power W"], [num, lambda w: f"{w:g} W" if w else "-"],
                            log=True, ref=r["fps"], ref_label=f"{r['fps']:g} FPS"))
    table = _table(["chip", "unit", "max FPS", "band", "measured (batch 1, published; ≈ carried from other chips)",
                    "latency", "utilization",
                    "bound", "power", "energy/inference", "verdict"],
                   [[c["chip"], c["unit"], num(c["max_fps"]),
                     f"{num(c['max_fps_low'])}-{num(c['max_fps_high'])}"
                     + (" (borrowed: the runtime has no rows of its own)" if c.get("band_borrowed") else "")
                     if c.get("validated", True) and c.get("max_fps_low") else "none (class not measured)",
                     ", ".join(num(m["throughput_fps"]) for m in c.get("published") or [] if m["batch"] == 1)
                     or (f"≈{num(c['measured_elsewhere']['max_fps'])}" if c.get("measured_elsewhere") else "-"),
                     duration(c["latency_s"]), percent(c["utilization"]),
                     c["bound"], f"{c['power_w']:g} W" if c.get("power_w") else "-",
                     f"{c['energy_per_inference_j']:.3g} J" if c.get("energy_per_inference_j") else "-",
                     (c.get("verdict") or ("SUFFICIENT" if c["sufficient"] else "INSUFFICIENT")).lower()
                     + (" (on its published measurements)" if c.get("verdict_basis") not in (None, "class") else "")
                     + ("" if c["sufficient"] else f": {c['limiting']}")] for c in chips])
    skipped = r.get("skipped") or []
    skip = _section("Skipped", "<ul>" + "".join(f"<li>{escape(s['chip'])}: {escape(s['reason'])}</li>"
                                                for s in skipped) + "</ul>") if skipped else ""
    return title, "".join([head, _section("Summary", kv), _section("Chips", chart, table), skip, _explain(r)])


# ---------------------------------------------------------------------------------------------
# llm

def _llm(r: dict) -> tuple[str, str]:
    mem = r["memory_per_chip"]
    title = f"{r['model']} on {r['chip']}, {r['precision']}, prompt {r['prompt']} + output {r['output']}, " \
            f"batch {r['batch']}"
    head = _verdict(bool(r["memory_fits"]), title,
                    f"TTFT {duration(r['ttft_s'])}, TPOT {duration(r['tpot_s'])}, "
                    f"{num(r['decode_tokens_per_s'])} tokens/s per sequence", ("FITS", "DOES NOT FIT"))
    cap = mem.get("capacity_bytes")
    kv = _kv([
        ("time to first token", "ttft_s", r["ttft_s"], f"{duration(r['ttft_s'])} {_span(r, 'ttft_s')}"
         f"({r['prefill_bound']}-bound)"),
        ("time per output token", "tpot_s", r["tpot_s"], f"{duration(r['tpot_s'])} {_span(r, 'tpot_s')}"
         f"({r['decode_bound']}-bound)"),
        ("decode tokens/s", "decode_tokens_per_s", r["decode_tokens_per_s"],
         f"{num(r['decode_tokens_per_s'])} per sequence, {num(r['decode_tokens_per_s_total'])} in all"),
        ("prefill tokens/s", "prefill_tokens_per_s", r["prefill_tokens_per_s"], num(r["prefill_tokens_per_s"])),
        ("end to end", "e2e_latency_s", r["e2e_latency_s"], duration(r["e2e_latency_s"])),
        ("weights", "weight_bytes", r["weight_bytes"], f"{human_bytes(r['weight_bytes'])} "
         f"({r['bits_per_weight']:g} bits per weight)"),
        ("KV cache", "kv_cache_bytes", r["kv_cache_bytes"],
         f"{human_bytes(r['kv_cache_bytes'])} ({human_bytes(r['kv_bytes_per_token'])} per token, {r['kv_precision']})"),
        ("memory per chip", "memory_fits", r["memory_fits"],
         f"{human_bytes(mem['total_bytes'])} of {_opt(cap, human_bytes)}: {'fits' if r['memory_fits'] else 'does not fit'}"),
        ("energy per token", "energy_per_token_j", r.get("energy_per_token_j"),
         _opt(r.get("energy_per_token_j"), lambda e: f"≤ {e:.3g} J (rated power)")),
        ("chip", "chip", r["chip"], f"{r['chip_name']}, unit {r['unit']}, {r['chip_peak_tops']:g} TOPS, "
         f"{_opt(r.get('chip_bandwidth_gbps'), lambda b: f'{b:g} GB/s')}"),
        ("precision", "precision", r["precision"], r.get("precision_description") or r["precision"]),
    ] + _efficiency(r.get("efficiency")))
    p, d = r["prefill"], r["decode"]
    time_parts = [svg.Part("prefill compute/memory", p["roofline_s"], f"prefill roofline: {duration(p['roofline_s'])} "
                           f"({p['bound']}-bound)", svg.PART_COLORS[0]),
                  svg.Part("prefill overhead", p["overhead_s"], f"prefill per-layer overhead: {duration(p['overhead_s'])}",
                           "#aec7e8"),
                  svg.Part("decode compute/memory", d["roofline_s"], f"decode roofline over {d['steps']} steps: "
                           f"{duration(d['roofline_s'])} ({d['bound']}-bound)", svg.PART_COLORS[1]),
                  svg.Part("decode overhead", d["overhead_s"], f"decode per-layer overhead: {duration(d['overhead_s'])}",
                           "#ffbb78"),
                  svg.Part("communication", p["comm_s"] + d["comm_s"],
                           f"tensor-parallel communication: {duration(p['comm_s'] + d['comm_s'])}", svg.PART_COLORS[2])]
    mem_parts = [svg.Part("weights", mem["weight_bytes"], f"weights {human_bytes(mem['weight_bytes'])}"),
                 svg.Part("KV cache", mem["kv_cache_bytes"], f"KV cache {human_bytes(mem['kv_cache_bytes'])}"),
                 svg.Part("activations", mem["activation_bytes"], f"activations {human_bytes(mem['activation_bytes'])}"),
                 svg.Part("runtime overhead", mem["overhead_bytes"], f"runtime {human_bytes(mem['overhead_bytes'])}")]
    charts = [_chart("phases", "One request: prefill, then decode, by cause",
                     svg.stacked([("request", time_parts, None)], "Time per request", duration)),
              _chart("memory", "Memory on one chip against its capacity (red line)",
                     svg.stacked([("per chip", mem_parts, cap)], "Memory", human_bytes, limit_label="capacity"))]
    eff = r.get("efficiency") or {}
    peak, bw = r["chip_peak_tops"] * 1e12, (r.get("chip_bandwidth_gbps") or 0) * 1e9
    roofs = [svg.Roof(f"peak {r['chip_peak_tops']:g} TOPS", peak, bw, dashed=True)]
    if eff.get("prefill_gemm") and eff.get("decode_memory"):
        roofs.append(svg.Roof(f"fitted ×{eff['prefill_gemm']:.3g}/×{eff['decode_memory']:.3g}",
                              peak * eff["prefill_gemm"], bw * eff["decode_memory"]))
    points = [svg.Point(ph["flops"] / ph["bytes"], ph["flops"] / ph["roofline_s"], color,
                        f"{name}: {ph['flops']:.4g} FLOPs, {ph['bytes']:.4g} bytes, intensity "
                        f"{ph['flops'] / ph['bytes']:.4g} FLOPs/byte, {duration(ph['roofline_s'])} "
                        f"({ph['bound']}-bound)", name)
              for name, ph, color in (("prefill", p, svg.PART_COLORS[0]), ("decode", d, svg.PART_COLORS[1]))
              if ph["bytes"] and ph["roofline_s"] > 0]
    if points:
        charts.append(_chart("roofline", "Prefill and decode as points on the chip's roofline (overheads left out)",
                             svg.roofline(points, roofs, f"Roofline of {r['chip']}")))
    curve = r.get("decode_curve") or []
    if len(curve) > 1:
        charts.append(_chart("decode-curve", "Time per decode step as the KV cache grows",
                             svg.line([c["context"] for c in curve], [c["step_s"] * 1e3 for c in curve],
                                      "Decode step time", "tokens in the KV cache", "ms per step",
                                      [f"context {c['context']}: {duration(c['step_s'])}" for c in curve])))
    return title, "".join([head, _section("Summary", kv), _section("Phases and memory", *charts), _explain(r),
                           _notes(r)])


def _llm_sweep(r: dict) -> tuple[str, str]:
    pts = r["points"]
    title = f"{pts[0]['model']} on {pts[0]['chip']}: sweep of {r['sweep']}" if pts else f"sweep of {r['sweep']}"
    rows = [svg.Bar(f"{r['sweep']}={v}", [p["decode_tokens_per_s_total"], p["ttft_s"]],
                    f"{r['sweep']}={v}: TTFT {duration(p['ttft_s'])}, TPOT {duration(p['tpot_s'])}, "
                    f"{num(p['decode_tokens_per_s_total'])} tokens/s in all, memory "
                    f"{human_bytes(p['memory_per_chip']['total_bytes'])} ({'fits' if p['memory_fits'] else 'does not fit'})",
                    [svg.OK if p["memory_fits"] else svg.BAD, svg.GREY]) for v, p in zip(r["values"], pts)]
    chart = _chart("sweep", f"Decode tokens/s (all sequences) and TTFT for each {r['sweep']}",
                   svg.bars(rows, f"Sweep of {r['sweep']}", ["tokens/s", "TTFT"], [num, duration]))
    table = _table([r["sweep"], "TTFT", "TPOT", "tokens/s", "memory", "fits"],
                   [[str(v), duration(p["ttft_s"]), duration(p["tpot_s"]), num(p["decode_tokens_per_s_total"]),
                     human_bytes(p["memory_per_chip"]["total_bytes"]), "yes" if p["memory_fits"] else "no"]
                    for v, p in zip(r["values"], pts)])
    return title, _verdict(None, title) + _section("Sweep", chart, table)


# ---------------------------------------------------------------------------------------------
# plan

def _plan(r: dict) -> tuple[str, str]:
    title = f"{r['scenario']}"
    verdict = r.get("verdict") or ("SUFFICIENT" if r["sufficient"] else "INSUFFICIENT")
    budget = r.get("latency_budget_s")
    loaded = r.get("latency_loaded_s")
    kv = _kv([
        ("limiting", "limiting", r["limiting"], r["limiting"]),
        ("required TOPS", "required_tops", r["required_tops"], f"{num(r['required_tops'])} TOPS"),
        ("required bandwidth", "required_bandwidth_gbps", r["required_bandwidth_gbps"],
         f"{num(r['required_bandwidth_gbps'])} GB/s"),
        ("memory", "memory_bytes", r["memory_bytes"], f"{human_bytes(r['memory_bytes'])} "
         f"({'fits' if r['memory_fits'] else 'does not fit'})"),
        ("busiest unit", "utilization", r["utilization"], percent(r["utilization"])
         + (f" ({percent(r['utilization_low'])}-{percent(r['utilization_high'])} within the measured error of "
            f"its stages)" if r.get("utilization_high") is not None else "")),
        ("latency", "latency_s", r["latency_s"], f"{duration(r['latency_s'])} alone along "
         f"{' → '.join(r['critical_path'])}"),
        ("latency under load", "latency_loaded_s", loaded, _opt(loaded, duration)
         + (f" ({duration(r['latency_loaded_s_low'])}-{duration(r['latency_loaded_s_high'])} within the measured "
            f"error of its stages)" if r.get("latency_loaded_s_high") is not None and loaded is not None else "")),
        ("first output", "first_output_s", r.get("first_output_s"),
         f"{duration(r['first_output_s'])} alone, {_opt(r.get('first_output_loaded_s'), duration)} under load "
         f"(stages with stream start on their producers' first output)"
         if r.get("first_output_s") and r["first_output_s"] < r["latency_s"] else "the end-to-end latency"),
        ("latency budget", "latency_budget_s", budget, _opt(budget, duration)),
    ])
    stages = r["stages"]
    by_name = {s["name"]: s for s in stages}
    unit_rows = []
    for c in r["chips"]:
        for u in c["units"]:
            parts = [svg.Part(n, by_name[n]["share"] * 100, f"{n}: {by_name[n]['share'] * 100:.3g} % of "
                              f"{u['chip']}:{u['unit']}", svg.PART_COLORS[i % len(svg.PART_COLORS)])
                     for i, n in enumerate(u["stages"])]
            unit_rows.append((f"{u['chip']}:{u['unit']}", parts, 100.0))
    charts = [_chart("utilization", "Share of each compute unit taken by each stage (the red line is 100 %)",
                     svg.stacked(unit_rows, "Unit utilization by stage", lambda v: f"{v:.3g} %", limit_label="100 %"))]
    rows = [svg.Bar(s["name"], [s["required_tops"], s["runs_per_s"]],
                    f"{s['name']} ({s['model']} on {s['chip']}:{s['unit']}, {s['precision']}): {s['runs_per_s']:g} runs/s "
                    f"× {si(s['flops_per_run'])}FLOPs = {num(s['required_tops'])} TOPS; {s['bound']}-bound",
                    [svg.BOUND_COLORS.get(s["bound"], svg.GREY), svg.GREY]) for s in stages]
    charts.append(_chart("stages", "Required TOPS and runs per second of each stage",
                         svg.bars(rows, "Stages", ["TOPS", "runs/s"], [num, num])))
    mem_rows = [(c["chip"], [svg.Part("weights", c["weight_bytes"], f"weights {human_bytes(c['weight_bytes'])}"),
                             svg.Part("working sets", c["working_bytes"], f"activations and KV caches "
                                      f"{human_bytes(c['working_bytes'])}"),
                             svg.Part("runtime overhead", c["overhead_bytes"],
                                      f"runtime {human_bytes(c['overhead_bytes'])}")],
                 c.get("memory_capacity_bytes")) for c in r["chips"]]
    charts.append(_chart("memory", "Memory per chip against its capacity (red line)",
                         svg.stacked(mem_rows, "Memory per chip", human_bytes, limit_label="capacity")))
    path = [svg.Part(n, by_name[n]["latency_s"], f"{n}: {duration(by_name[n]['latency_s'])}",
                     svg.PART_COLORS[i % len(svg.PART_COLORS)]) for i, n in enumerate(r["critical_path"])]
    charts.append(_chart("latency", "Latency along the critical path, alone (the red line is the budget)",
                         svg.stacked([("critical path", path, budget)], "End-to-end latency", duration,
                                     limit_label="budget")))
    table = _table(["stage", "model", "chip:unit", "precision", "runs/s", "TOPS", "share", "latency", "bound"],
                   [[s["name"], s["model"], f"{s['chip']}:{s['unit']}", s["precision"], f"{s['runs_per_s']:g}",
                     num(s["required_tops"]), percent(s["share"]), duration(s["latency_s"]), s["bound"]]
                    for s in stages])
    body = [_verdict3(verdict, title, r["limiting"]), _section("Summary", kv), _section("Stages", *charts, table),
            _explain(r), _notes(r)]
    return title, "".join(body)


def _plan_rank(r: dict) -> tuple[str, str]:
    chips = r["chips"] + r.get("insufficient", [])
    title = f"{r['scenario']}: {len(r['chips'])} chips carry it"
    rows = [svg.Bar(c["chip"], [c["utilization"] * 100, c.get("power_w") or 0],
                    f"{c['chip_name']}: busiest unit {percent(c['utilization'])}, latency {duration(c['latency_s'])}; "
                    f"{c['limiting']}", [svg.OK if c["sufficient"] else svg.BAD, svg.GREY]) for c in chips]
    chart = _chart("chips", "Busiest unit per chip (%; the line is 100 %) and rated power",
                   svg.bars(rows, "Chip comparison", ["utilization %", "power W"],
                            [lambda v: f"{v:.3g} %", lambda w: f"{w:g} W" if w else "-"], log=True, ref=100.0,
                            ref_label="100 %"))
    table = _table(["chip", "utilization", "memory", "latency", "power", "verdict"],
                   [[c["chip"], percent(c["utilization"]), human_bytes(c["memory_bytes"]), duration(c["latency_s"]),
                     f"{c['power_w']:g} W" if c.get("power_w") else "-",
                     "carries it" if c["sufficient"] else c["limiting"]] for c in chips])
    best = r["chips"][0]["chip"] if r["chips"] else None
    head = _verdict(bool(r["chips"]), title, f"best by {r['by']}: {best}" if best else "no chip carries it")
    return title, head + _section("Chips", chart, table)


# ---------------------------------------------------------------------------------------------
# whatif

def _whatif(r: dict) -> tuple[str, str]:
    fps = r["fps"]
    where = unit_ref(r["chip"], r["unit"])
    title = f"{r['model']} on {where} at {fps:g} FPS, {r['precision']}: what if"
    detail = f"{len(r['fitting'])} options fit; least change: {r['choice'] or 'none'}"
    head = (_verdict3(r["verdict"] + " AS GIVEN", title, detail) if r.get("verdict") else
            _verdict(r["sufficient"], title, detail, ("SUFFICIENT AS GIVEN", "NOT SUFFICIENT AS GIVEN")))
    kv = _kv([("model", "macs", r["macs"], f"{r['model']}: {si(r['macs'])}MACs"),
              ("required TOPS", "required_tops", r["required_tops"], f"{num(r['required_tops'])} TOPS"),
              ("options that fit", None, len(r["fitting"]), str(len(r["fitting"]))),
              ("least change that fits", "choice", r["choice"], r["choice"] or "none")])
    priced = [o for o in r["options"] if o["sufficient"] is not None]

    def label(o: dict) -> str:
        return f"{o['lever']}: {o['setting']}"

    energy = any(o["energy_per_inference_j"] for o in priced)
    rows = [svg.Bar(label(o), [o["max_fps"], o["energy_per_inference_j"] or 0][:1 + energy],
                    f"{label(o)}: max {num(o['max_fps'])} FPS, latency {duration(o['latency_s'])}, "
                    f"{num(o['required_tops'], 3)} TOPS needed, {human_bytes(o['memory_bytes'])}"
                    + (f", top-1 {o['accuracy_top1']:.1f} %" if o["accuracy_top1"] is not None else "")
                    + (f"; {o['note']}" if o["note"] else ""),
                    [svg.OK if o["sufficient"] else svg.BAD, svg.GREY]) for o in priced]
    chart = _chart("options", f"Max FPS per option (log scale; the line is the target {fps:g} FPS; green fits)"
                   + (" and energy per inference at the chip's rated power" if energy else
                      "; the chip lists no power, so no energy"),
                   svg.bars(rows, "Options on this chip", ["max FPS", "energy per inference"][:1 + energy],
                            [num, lambda j: f"{j * 1e3:.3g} mJ" if j else "-"][:1 + energy], log=True, ref=fps,
                            ref_label=f"{fps:g} FPS"))
    table = _table(["lever", "setting", "MACs", "TOPS", "latency", "max FPS", "memory", "energy", "verdict",
                    "top-1", "note"],
                   [[o["lever"], o["setting"], si(o["macs"]) if o["macs"] is not None else "-",
                     num(o["required_tops"], 3) if o["sufficient"] is not None else "-",
                     duration(o["latency_s"]) if o["sufficient"] is not None else "-",
                     num(o["max_fps"]) if o["sufficient"] is not None else "-",
                     human_bytes(o["memory_bytes"]) if o["sufficient"] is not None else "-",
                     f"{o['energy_per_inference_j'] * 1e3:.3g} mJ" if o["energy_per_inference_j"] else "-",
                     "-" if o["sufficient"] is None else "fits" if o["sufficient"] else "no",
                     f"{o['accuracy_top1']:.1f} %" if o["accuracy_top1"] is not None else "-", o["note"]]
                    for o in r["options"]])
    return title, "".join([head, _section("Summary", kv), _section("Options", chart, table), _notes(r)])


_SECTIONS: dict[str, Callable[[dict], tuple[str, str]]] = {
    "count": _count, "check": _check, "rank": _rank, "llm": _llm, "llm-sweep": _llm_sweep, "plan": _plan,
    "plan-rank": _plan_rank, "whatif": _whatif,
}


# ---------------------------------------------------------------------------------------------
# the page

_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1000px;padding:16px 24px;
color:#222;background:#fff}
h1{font-size:20px;margin:8px 0 4px}h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666;font-size:12px}.muted{color:#666}
.verdict{font-size:17px;padding:12px 16px;border-radius:6px;margin:12px 0;border:1px solid}
.verdict.ok{background:#eaf6ea;border-color:#2ca02c}.verdict.bad{background:#fbeaea;border-color:#d62728}
.verdict.neutral{background:#f3f5f8;border-color:#99a}.verdict .word{font-weight:bold}
.verdict .detail{font-size:13px;color:#444;margin-top:4px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{padding:3px 8px;text-align:left;vertical-align:top}
table.kv th{color:#555;font-weight:normal;white-space:nowrap}table.data th,table.explain th{background:#f3f5f8;
cursor:pointer}table.data td,table.explain td{border-top:1px solid #eee}
table.explain td:first-child{font-weight:bold;white-space:nowrap}
figure.chart{margin:16px 0;overflow-x:auto}figcaption{font-size:12px;color:#555;margin-top:4px}
#tip{position:fixed;pointer-events:none;background:#222;color:#fff;font-size:12px;padding:6px 8px;border-radius:4px;
white-space:pre;display:none;z-index:10;max-width:520px}
code{background:#f3f5f8;padding:0 3px}
"""

_SCRIPT = """
(function(){
  var tip=document.getElementById('tip');
  document.addEventListener('mousemove',function(e){
    var t=e.target.closest?e.target.closest('[data-tip]'):null;
    if(!t){tip.style.display='none';return;}
    tip.textContent=t.getAttribute('data-tip');tip.style.display='block';
    tip.style.left=Math.min(e.clientX+14,window.innerWidth-tip.offsetWidth-8)+'px';
    tip.style.top=(e.clientY+14)+'px';
  });
  document.querySelectorAll('table.sortable th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var tbody=th.closest('table').tBodies[0],rows=Array.prototype.slice.call(tbody.rows);
      var dir=th.getAttribute('data-dir')==='asc'?-1:1;th.setAttribute('data-dir',dir===1?'asc':'desc');
      var key=function(r){var s=r.cells[i].textContent,n=parseFloat(s.replace(/,/g,''));return isNaN(n)?s:n;};
      rows.sort(function(a,b){var x=key(a),y=key(b);return (x>y?1:x<y?-1:0)*dir;});
      rows.forEach(function(r){tbody.appendChild(r);});
    });
  });
  document.body.setAttribute('data-ready','1');
})();
"""


def _page(title: str, kind: str, body: str, result: dict, command_line: str | None) -> str:
    data = script_json(result)
    when = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    cmd = f"<div class=\"meta\">command: <code>{escape(command_line)}</code></div>" if command_line else ""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">"
        f"<title>chipfit {escape(kind)}: {escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body data-kind=\"{escape(kind)}\"><h1>chipfit {escape(kind)}</h1>"
        f"<div class=\"meta\">chipfit {escape(VERSION)}, {when}</div>{cmd}{body}"
        "<section><h2>Data</h2><p class=\"muted\">The full result is embedded in this page as JSON "
        "(element <code>#chipfit-result</code>); <code>chipfit report</code> renders a saved one.</p></section>"
        f"<div id=\"tip\"></div><script type=\"application/json\" id=\"chipfit-result\">{data}</script>"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )
