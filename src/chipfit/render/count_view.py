"""Rich rendering of a :class:`~chipfit.counting.CountResult`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from .units import human_bytes, si

if TYPE_CHECKING:
    from ..counting import CountResult


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
    unsupported = result.unsupported_ops
    t.add_row("unsupported ops",
              Text(", ".join(f"{k} ×{v}" for k, v in unsupported.items()), style="bold red")
              if unsupported else Text("none", style="green"))
    for note in result.notes:
        t.add_row("note", note)
    return t


def count_table(result: "CountResult", depth: int = 1, per_layer: bool = False) -> Group:
    p = result.precision
    total = result.macs
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("#" if per_layer else "module", overflow="fold")
    table.add_column("op" if per_layer else "type")
    if per_layer:
        table.add_column("output shape")
    for col in ("MACs", "FLOPs", "params", f"weights@{p.name}", f"act@{p.name}", "% MACs"):
        table.add_column(col, justify="right")
    if per_layer:
        for i, op in enumerate(result.layers):
            shape = "×".join(map(str, op.output_shapes[0])) if op.output_shapes else ""
            table.add_row(
                f"{i} {op.name or '(root)'}", Text(op.op, style="red" if not op.supported else ""),
                shape, si(op.macs), si(op.flops), si(op.params), human_bytes(op.weight_bytes(p)),
                human_bytes(op.activation_bytes(p)), _pct(op.macs, total),
            )
    else:
        for row in result.graph.module_tree(depth):
            indent = "  " * max(row.depth - 1, 0)
            table.add_row(
                indent + (row.name.rsplit(".", 1)[-1] if row.depth > 1 else row.name or "(root)"), row.module_type, si(row.macs), si(row.flops),
                si(row.params), human_bytes(p.weight_bytes(row.weight_elems)),
                human_bytes(p.activation_bytes(row.act_read_elems + row.act_write_elems)),
                _pct(row.macs, total),
            )
    table.add_section()
    table.add_row("total", "", *([""] if per_layer else []), si(result.macs), si(result.flops),
                  si(result.params), human_bytes(result.weight_bytes),
                  human_bytes(result.activation_bytes), "100%" if total else "-")
    return Group(summary(result), Text(""), table)
