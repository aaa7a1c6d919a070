"""Rich rendering of a :class:`~chipfit.analysis.count.CountResult`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from chipfit.analysis.params import cli_words
from chipfit.core.units import human_bytes, si

if TYPE_CHECKING:
    from chipfit.analysis.count import CountResult


NODE_WIDTH = 22


def _left_trim(text: str, width: int) -> str:
    """The end of a long name, where node names keep the op (``…/layer1.0/conv1/Conv``)."""
    return text if len(text) <= width else "…" + text[-(width - 1):]


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def summary(result: "CountResult") -> Table:
    g, p = result.graph, result.precision
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    inputs = ", ".join(f"{k} {'×'.join(map(str, v))}" for k, v in g.inputs.items())
    t.add_row("model", f"{result.model}  ({inputs})" if inputs else result.model)
    t.add_row("MACs", f"{si(result.macs)}  ({result.macs:,})")
    t.add_row("FLOPs", f"{si(result.flops)}  (2 × MACs + {si(g.nonmac_flops)} other)")
    t.add_row("params", f"{si(result.params)}  ({result.params:,})")
    t.add_row(f"weights @ {p.name}", human_bytes(result.weight_bytes))
    t.add_row(f"activation traffic @ {p.name}", human_bytes(result.activation_bytes))
    if result.phase in ("prefill", "decode"):
        t.add_row(f"KV cache @ {p.name}", f"{human_bytes(result.kv_cache_bytes)} held after this step  "
                  f"(read {human_bytes(result.kv_cache_read_bytes)}, "
                  f"written {human_bytes(result.kv_cache_write_bytes)})")
    unsupported = result.unsupported_ops
    t.add_row("unsupported ops",
              Text(", ".join(f"{k} ×{v}" for k, v in unsupported.items()), style="bold red")
              if unsupported else Text("none", style="green"))
    for note in result.notes:
        t.add_row("note", cli_words(note))
    return t


def count_table(result: "CountResult", depth: int = 1, per_layer: bool = False) -> Group:
    p = result.precision
    total = result.macs
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    if per_layer:
        nodes = any(op.node for op in result.layers)  # ONNX: the node's own name as well
        table.add_column("#", justify="right")
        table.add_column("module", overflow="fold", min_width=12)
        if nodes:
            table.add_column("node", no_wrap=True, max_width=NODE_WIDTH)
        table.add_column("op", overflow="fold", min_width=8, max_width=18)
        table.add_column("output", overflow="fold", min_width=9, max_width=18)
        for col in ("MACs", "FLOPs", "bytes", "%MACs"):
            table.add_column(col, justify="right", no_wrap=True)
        for i, op in enumerate(result.layers):
            shape = "×".join(map(str, op.output_shapes[0])) if op.output_shapes else ""
            table.add_row(
                str(i), op.name or "(root)", *([_left_trim(op.node, NODE_WIDTH)] if nodes else []),
                Text(op.op, style="" if op.supported else "bold red"),
                shape, si(op.macs), si(op.flops), human_bytes(op.bytes(p)), _pct(op.macs, total),
            )
        table.add_section()
        table.add_row("", "total", *([""] if nodes else []), "", "", si(result.macs), si(result.flops),
                      human_bytes(result.graph.weight_traffic_bytes(p) + result.activation_bytes),
                      "100%" if total else "-")
        legend = Text(f"bytes: weights read + activations read and written, at {p.name}", style="dim")
        return Group(summary(result), Text(""), table, legend)

    table.add_column("module", no_wrap=True)
    table.add_column("type", overflow="ellipsis", max_width=16)
    for col in ("MACs", "FLOPs", "params", "weights", "act.", "%MACs"):
        table.add_column(col, justify="right", no_wrap=True)
    for row in result.graph.module_tree(depth):
        indent = "  " * max(row.depth - 1, 0)
        table.add_row(
            indent + (row.name.rsplit(".", 1)[-1] if row.depth > 1 else row.name or "(root)"),
            row.module_type, si(row.macs), si(row.flops), si(row.params),
            human_bytes(row.weight_bytes(p)),
            human_bytes(row.activation_bytes(p)),
            _pct(row.macs, total),
        )
    table.add_section()
    table.add_row("total", "", si(result.macs), si(result.flops), si(result.params),
                  human_bytes(result.weight_bytes), human_bytes(result.activation_bytes),
                  "100%" if total else "-")
    legend = Text(f"weights and act. (activations read + written) in bytes at {p.name}", style="dim")
    return Group(summary(result), Text(""), table, legend)
