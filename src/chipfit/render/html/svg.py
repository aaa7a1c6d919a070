"""Charts as inline SVG strings, for the HTML report (and the web page).

Every chart is drawn here, in Python, from plain numbers: the page needs no script to show
it and no network to load one. Each data mark carries ``class="pt"`` and a ``data-tip`` text
(the page's small script shows it on hover; a ``<title>`` child does the same without script).

Charts: :func:`roofline` (log-log, ops as points under the chip's roofs), :func:`bars`
(horizontal bars, one or two series), :func:`stacked` (one bar split into parts, with a
limit marker) and :func:`line` (a curve).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from math import ceil, floor, log10

#: Colours of op kinds (roofline points), bounds and verdicts; anything else is grey.
KIND_COLORS = {
    "conv": "#1f77b4", "linear": "#ff7f0e", "matmul": "#2ca02c", "attention": "#d62728",
    "norm": "#9467bd", "activation": "#8c564b", "elementwise": "#e377c2", "pool": "#7f7f7f",
    "reduction": "#bcbd22", "softmax": "#17becf", "embedding": "#aec7e8", "resize": "#98df8a",
    "recurrent": "#ff9896", "data": "#c7c7c7",
}
GREY = "#9a9a9a"
BOUND_COLORS = {"compute": "#1f77b4", "memory": "#ff7f0e"}
OK, BAD = "#2ca02c", "#d62728"
PART_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")

FONT = 12
CHAR_W = 6.6  # average width of a 12 px sans-serif character, for layout


def kind_color(kind: str) -> str:
    return KIND_COLORS.get(kind, GREY)


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _tip(text: str) -> str:
    return f' data-tip="{escape(text)}"'


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>"


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" width="{_fmt(width)}" '
            f'height="{_fmt(height)}" viewBox="0 0 {_fmt(width)} {_fmt(height)}" role="img" '
            f'aria-label="{escape(label)}" font-family="sans-serif" font-size="{FONT}">' + "".join(body) + "</svg>")


def _text(x: float, y: float, s: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{_fmt(x)}" y="{_fmt(y)}" text-anchor="{anchor}"{extra}>{escape(s)}</text>'


def _decades(lo: float, hi: float) -> tuple[int, int]:
    a, b = floor(log10(lo)), ceil(log10(hi))
    return (a, b) if b > a else (a, a + 1)


def _pow10(e: int) -> str:
    return {-3: "0.001", -2: "0.01", -1: "0.1", 0: "1", 1: "10", 2: "100", 3: "1k", 4: "10k", 5: "100k",
            6: "1M"}.get(e, f"1e{e}")


@dataclass
class Point:
    """A mark on the roofline: x = FLOPs per byte, y = achieved ops/s."""

    x: float
    y: float
    color: str
    tip: str
    group: str = ""


@dataclass
class Roof:
    """A compute ceiling (ops/s) under a memory slope (bytes/s; 0 when unknown)."""

    label: str
    ops: float
    bandwidth: float
    dashed: bool = False


def roofline(points: list[Point], roofs: list[Roof], title: str, width: int = 760, height: int = 440,
             y_unit: float = 1e12, y_name: str = "TOPS") -> str:
    """A log-log roofline: attainable ops/s = min(ceiling, bandwidth × intensity) per roof, and the points."""
    pts = [p for p in points if p.x > 0 and p.y > 0 and p.x != float("inf")]
    xs = [p.x for p in pts]
    ys = [p.y / y_unit for p in pts] + [r.ops / y_unit for r in roofs]
    ridges = [r.ops / r.bandwidth for r in roofs if r.bandwidth]
    x0, x1 = _decades(min(xs + ridges + [1.0]) / 1.5, max(xs + ridges + [10.0]) * 1.5)
    y0, y1 = _decades(min(ys) / 1.5 if ys else 1e-3, max(ys) * 1.5 if ys else 1.0)
    left, right, top, bottom = 64, 170, 28, 46
    pw, ph = width - left - right, height - top - bottom

    def X(v: float) -> float:
        return left + (log10(v) - x0) / (x1 - x0) * pw

    def Y(v: float) -> float:
        return top + ph - (log10(v) - y0) / (y1 - y0) * ph

    body = [_text(left, 16, title, extra=' font-weight="bold"')]
    body.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    for e in range(x0, x1 + 1):
        body.append(f'<line x1="{_fmt(X(10.0 ** e))}" y1="{top}" x2="{_fmt(X(10.0 ** e))}" y2="{top + ph}" '
                    'stroke="#ddd"/>')
        body.append(_text(X(10.0 ** e), top + ph + 16, _pow10(e), "middle"))
    for e in range(y0, y1 + 1):
        body.append(f'<line x1="{left}" y1="{_fmt(Y(10.0 ** e))}" x2="{left + pw}" y2="{_fmt(Y(10.0 ** e))}" '
                    'stroke="#ddd"/>')
        body.append(_text(left - 6, Y(10.0 ** e) + 4, _pow10(e), "end"))
    body.append(_text(left + pw / 2, height - 8, "arithmetic intensity (FLOPs per byte moved)", "middle"))
    body.append(_text(14, top + ph / 2, f"attainable {y_name}", "middle",
                      f' transform="rotate(-90 14 {_fmt(top + ph / 2)})"'))
    lo_x, hi_x = 10.0 ** x0, 10.0 ** x1
    labels: list[list] = []  # [y, text, colour], pushed apart below
    for i, r in enumerate(roofs):
        color = "#333" if i == 0 else PART_COLORS[i % len(PART_COLORS)]
        ceiling = r.ops / y_unit
        if r.bandwidth:
            ridge = r.ops / r.bandwidth
            start = max(lo_x, 10.0 ** y0 * y_unit / r.bandwidth)
            path = [(start, r.bandwidth * start / y_unit), (min(ridge, hi_x), min(ceiling, r.bandwidth * hi_x / y_unit))]
            if ridge < hi_x:
                path.append((hi_x, ceiling))
        else:
            ridge = None
            path = [(lo_x, ceiling), (hi_x, ceiling)]
        d = " ".join(f"{'M' if j == 0 else 'L'}{_fmt(X(a))},{_fmt(Y(b))}" for j, (a, b) in enumerate(path))
        tip = f"{r.label}: {ceiling:.4g} {y_name}" + (f", ridge at {ridge:.3g} FLOPs/byte" if ridge else
                                                      ", memory bandwidth unknown")
        dash = ' stroke-dasharray="6 4"' if r.dashed else ""
        body.append(f'<path class="roof" d="{d}" fill="none" stroke="{color}" stroke-width="2"{dash}'
                    f'{_tip(tip)}>{_title(tip)}</path>')
        labels.append([Y(ceiling) + 4, r.label[:26], color])
    labels.sort(key=lambda t: t[0])
    for i in range(1, len(labels)):
        labels[i][0] = max(labels[i][0], labels[i - 1][0] + FONT + 2)
    for y, text, color in labels:
        body.append(_text(left + pw + 6, y, text, extra=f' fill="{color}"'))
    for p in pts:
        body.append(f'<circle class="pt" cx="{_fmt(X(p.x))}" cy="{_fmt(Y(p.y / y_unit))}" r="4" fill="{p.color}" '
                    f'fill-opacity="0.75" stroke="#222" stroke-width="0.5" data-group="{escape(p.group)}"'
                    f'{_tip(p.tip)}>{_title(p.tip)}</circle>')
    groups = sorted({(p.group, p.color) for p in pts if p.group})
    x, y = left, height + 8
    for g, c in groups:
        if x + 24 + len(g) * CHAR_W > width:
            x, y = left, y + 18
        body.append(f'<circle cx="{_fmt(x + 5)}" cy="{y - 4}" r="5" fill="{c}"/>')
        body.append(_text(x + 14, y, g))
        x += 28 + len(g) * CHAR_W
    height = y + 10 if groups else height
    return _svg(width, height, body, title)


@dataclass
class Bar:
    """One row of a bar chart: a label, one value per series, and the hover text."""

    label: str
    values: list[float]
    tip: str
    colors: list[str] = field(default_factory=list)


def bars(rows: list[Bar], title: str, series: list[str], fmt=None, log: bool = False,
         ref: float | None = None, ref_label: str = "", width: int = 760, row_h: int = 18) -> str:
    """Horizontal bars, one row per item, one bar per series (each series on its own scale)."""
    fmt = fmt or [lambda v: f"{v:.4g}"] * len(series)
    label_w = min(260, max([len(b.label) for b in rows] + [8]) * CHAR_W + 8)
    value_w = 80
    n = len(series)
    col_w = (width - label_w - 10 - n * value_w) / n
    top = 40
    height = top + row_h * len(rows) + 24
    body = [_text(0, 16, title, extra=' font-weight="bold"')]
    for s, name in enumerate(series):
        body.append(_text(label_w + s * (col_w + value_w), 34, name, extra=' fill="#555"'))
    for s in range(n):
        vals = [b.values[s] for b in rows if b.values[s] and b.values[s] > 0] + ([ref] if ref and s == 0 else [])
        vmax = max(vals + [1e-300])
        vmin = min(vals + [vmax])
        lo = 10.0 ** floor(log10(vmin)) if log else 0.0

        def W(v: float, vmax=vmax, lo=lo) -> float:
            if v is None or v <= 0:
                return 0.0
            if log:
                return max(1.0, (log10(v) - log10(lo)) / (log10(vmax * 1.05) - log10(lo)) * col_w)
            return max(1.0, v / vmax * col_w)

        x = label_w + s * (col_w + value_w)
        for i, b in enumerate(rows):
            y = top + i * row_h
            v = b.values[s]
            color = b.colors[s] if len(b.colors) > s else PART_COLORS[s]
            if s == 0:
                body.append(_text(label_w - 6, y + row_h - 5, b.label if len(b.label) <= 40 else b.label[:38] + "…",
                                  "end"))
            body.append(f'<rect class="pt" x="{_fmt(x)}" y="{_fmt(y + 2)}" width="{_fmt(W(v))}" '
                        f'height="{row_h - 4}" fill="{color}" data-series="{escape(series[s])}" data-value="{v!r}"'
                        f'{_tip(b.tip)}>{_title(b.tip)}</rect>')
            body.append(_text(x + W(v) + 4, y + row_h - 5, fmt[s](v) if v is not None else "-",
                              extra=' fill="#333"'))
        if ref and s == 0:
            rx = x + W(ref)
            body.append(f'<line class="ref" x1="{_fmt(rx)}" y1="{top - 4}" x2="{_fmt(rx)}" '
                        f'y2="{top + row_h * len(rows)}" stroke="#d62728" stroke-dasharray="4 3"/>')
            body.append(_text(rx, top + row_h * len(rows) + 14, ref_label, "middle", ' fill="#d62728"'))
    return _svg(width, height, body, title)


@dataclass
class Part:
    """One segment of a stacked bar."""

    label: str
    value: float
    tip: str
    color: str = ""


def stacked(rows: list[tuple[str, list[Part], float | None]], title: str, fmt, width: int = 760,
            limit_label: str = "limit") -> str:
    """One horizontal stacked bar per row (label, parts, limit or None), on a shared linear scale."""
    label_w = min(220, max([len(r[0]) for r in rows] + [6]) * CHAR_W + 8)
    top, row_h = 30, 30
    total_max = max([sum(p.value for p in parts) for _, parts, _ in rows]
                    + [lim for _, _, lim in rows if lim] + [1e-300])
    plot_w = width - label_w - 90
    legend: dict[str, str] = {}
    body = [_text(0, 16, title, extra=' font-weight="bold"')]
    for i, (label, parts, limit) in enumerate(rows):
        y = top + i * (row_h + 8)
        body.append(_text(label_w - 6, y + row_h / 2 + 4, label, "end"))
        x = label_w
        for j, p in enumerate(parts):
            color = p.color or PART_COLORS[j % len(PART_COLORS)]
            legend.setdefault(p.label, color)
            w = p.value / total_max * plot_w if p.value > 0 else 0.0
            body.append(f'<rect class="pt" x="{_fmt(x)}" y="{y}" width="{_fmt(w)}" height="{row_h}" '
                        f'fill="{color}" data-value="{p.value!r}"{_tip(p.tip)}>{_title(p.tip)}</rect>')
            x += w
        body.append(_text(x + 4, y + row_h / 2 + 4, fmt(sum(p.value for p in parts))))
        if limit:
            lx = label_w + limit / total_max * plot_w
            tip = f"{limit_label}: {fmt(limit)}"
            body.append(f'<line class="ref" x1="{_fmt(lx)}" y1="{y - 3}" x2="{_fmt(lx)}" y2="{y + row_h + 3}" '
                        f'stroke="#d62728" stroke-width="2"{_tip(tip)}>{_title(tip)}</line>')
    y = top + len(rows) * (row_h + 8) + 6
    x = label_w
    for name, color in legend.items():
        body.append(f'<rect x="{_fmt(x)}" y="{y}" width="10" height="10" fill="{color}"/>')
        body.append(_text(x + 14, y + 9, name))
        x += 24 + len(name) * CHAR_W
    return _svg(width, y + 20, body, title)


def line(xs: list[float], ys: list[float], title: str, x_name: str, y_name: str, tips: list[str],
         width: int = 760, height: int = 260) -> str:
    """A curve with a point per (x, y); linear axes, y from 0, x over the data's range."""
    left, right, top, bottom = 64, 20, 28, 40
    pw, ph = width - left - right, height - top - bottom
    xmin, xmax = min(xs), max(xs)
    xmax = xmax if xmax > xmin else xmin + 1
    ymax = max(ys + [1e-300]) * 1.1

    def X(v: float) -> float:
        return left + (v - xmin) / (xmax - xmin) * pw

    def Y(v: float) -> float:
        return top + ph - v / ymax * ph

    body = [_text(left, 16, title, extra=' font-weight="bold"'),
            f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>']
    for k in range(5):
        v = ymax * k / 4
        body.append(f'<line x1="{left}" y1="{_fmt(Y(v))}" x2="{left + pw}" y2="{_fmt(Y(v))}" stroke="#ddd"/>')
        body.append(_text(left - 6, Y(v) + 4, f"{v:.3g}", "end"))
    for k in range(5):
        v = xmin + (xmax - xmin) * k / 4
        body.append(_text(X(v), top + ph + 16, f"{v:,.0f}", "middle"))
    body.append(_text(left + pw / 2, height - 6, x_name, "middle"))
    body.append(_text(12, top + ph / 2, y_name, "middle", f' transform="rotate(-90 12 {_fmt(top + ph / 2)})"'))
    d = " ".join(f"{'M' if i == 0 else 'L'}{_fmt(X(a))},{_fmt(Y(b))}" for i, (a, b) in enumerate(zip(xs, ys)))
    body.append(f'<path d="{d}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
    for a, b, t in zip(xs, ys, tips):
        body.append(f'<circle class="pt" cx="{_fmt(X(a))}" cy="{_fmt(Y(b))}" r="3" fill="#1f77b4"'
                    f'{_tip(t)}>{_title(t)}</circle>')
    return _svg(width, height, body, title)
