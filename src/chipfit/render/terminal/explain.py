"""The formulas behind a verdict, with the numbers substituted (``--explain``)."""

from __future__ import annotations

from chipfit.analysis.params import cli_words


def explain_table(rows: list[tuple[str, str]]):
    """The --explain table: one row per quantity, its formula with the numbers substituted."""
    from rich.table import Table

    ex = Table(show_edge=False, header_style="bold", title="how these numbers are computed",
               title_justify="left", title_style="bold")
    ex.add_column("quantity", style="bold", no_wrap=True)
    ex.add_column("formula", overflow="fold")
    for q, f in rows:
        ex.add_row(q, cli_words(f))
    return ex
