"""Rich rendering and explanation of ``chipfit llm`` results."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from chipfit.analysis.params import cli_words
from chipfit.core.units import duration as _t
from chipfit.core.units import human_bytes, num, si, unit_ref
from chipfit.data.chips import ChipRef
from chipfit.render.terminal.explain import explain_table

if TYPE_CHECKING:
    from chipfit.analysis.llm import LLMResult, LLMSweep


def _where(r: "LLMResult") -> str:
    name = unit_ref(r.chip, r.unit.id)
    return f"{r.chips_count} × {name}" if r.chips_count > 1 else name


def headline(r: "LLMResult") -> Text:
    head = Text("FITS" if r.memory_fits else "DOES NOT FIT", style="bold green" if r.memory_fits else "bold red")
    head.append(f"  {r.model} on {_where(r)}, {r.precision.name} weights, {r.kv_precision.name} KV cache, "
                f"{r.engine} engine: batch {r.batch} × ({r.prompt:,} prompt + {r.output:,} output tokens)",
                style="bold")
    return head


def rows_of(chips: tuple[str, ...], chip: str, shown: int = 4) -> str:
    """Whose measurements an error band comes from: `` of rtx-4090, h100-sxm`` or, when the chip
    priced is not among them, `` of other chips (apple-m1-max, ...): none of rtx-4060``."""
    if not chips:
        return ""
    names = ", ".join(chips[:shown]) + (f" and {len(chips) - shown} more" if len(chips) > shown else "")
    base = ChipRef.parse(chip).name   # a memory size or power mode of a measured chip is still that chip
    return f" of {names}" if base in chips else f" of other chips ({names}): none of {base}"


def _band(value: float, band) -> str:
    if band is None:
        return "(no measurements of this engine: no error band)"
    return f"({_t(value * band.low)}-{_t(value * band.high)}, median error {band.median_abs_pct:.3g} %)"


def llm_view(r: "LLMResult", explain: bool = False) -> Group:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    t.add_row("time to first token", f"{_t(r.ttft_s)} {_band(r.ttft_s, r.ttft_band)} (prefill "
              f"{num(r.prefill_tokens_per_s)} tokens/s, {r.prefill.bound}-bound)")
    t.add_row("time per output token", f"{_t(r.tpot_s)} {_band(r.tpot_s, r.tpot_band)} (decode, {r.decode.bound}-bound; "
              f"{_t(r.first_step_s)} at {r.prompt:,} cached tokens → {_t(r.last_step_s)} at "
              f"{r.prompt + max(r.output - 1, 1) - 1:,})")
    rate = f"{num(r.decode_tokens_per_s)} tokens/s per sequence"
    if r.batch > 1:
        rate += f", {num(r.decode_tokens_per_s_total)} tokens/s over the batch"
    t.add_row("decode rate", rate)
    t.add_row("end to end", f"{_t(r.e2e_latency_s)} for {r.output:,} tokens; "
              f"{num(r.throughput_tokens_per_s)} output tokens/s with the prefill")
    if r.energy_per_token_j is not None:
        t.add_row("energy", f"≤ {r.energy_per_token_j:.3g} J per output token at {r.power_w:g} W"
                  + (f" × {r.chips_count}" if r.chips_count > 1 else ""))
    t.add_row("", "")
    mem = r.memory
    per = " per chip" if r.chips_count > 1 else ""
    cap = human_bytes(mem.capacity) if mem.capacity else "unknown"
    if mem.capacity and mem.reserved:
        cap += f" usable ({human_bytes(mem.capacity + mem.reserved)} less {human_bytes(mem.reserved)} the OS keeps)"
    t.add_row("memory" + per, Text(
        f"{human_bytes(mem.total)} of {cap}: weights {human_bytes(mem.weights)} + KV cache "
        f"{human_bytes(mem.kv_cache)} ({r.batch} × {r.context + r.image_tokens:,} tokens × "
        f"{human_bytes(r.kv_bytes_per_token)}) "
        f"+ activations {human_bytes(mem.activations)} + runtime {human_bytes(mem.overhead)}",
        style="" if r.memory_fits else "bold red"))
    if mem.capacity:
        limit = "the model's context" if r.max_context_limit == "model" else "memory"
        t.add_row("largest fit", f"batch {r.max_batch:,} at {r.context:,} tokens; context {r.max_context:,} "
                  f"tokens at batch {r.batch} (limited by {limit})")
    t.add_row("", "")
    t.add_row("model", f"{r.model}: {si(r.params)} params, {r.layers} layers; "
              f"{r.precision.describe()}")
    bw = f"{r.bandwidth_gbps:g} GB/s" if r.bandwidth_gbps else "bandwidth unknown"
    t.add_row("chip", f"{r.record.chip.name}: {r.peak_tops:g} TFLOPS dense {r.precision.compute}, {bw}")
    e = r.efficiency
    t.add_row("efficiency", f"{e.fit}: memory {e.decode_memory:.3g}, matrix {e.prefill_gemm:.3g}, "
              f"{e.layer_overhead_s * 1e6:.3g} µs per layer per step ({cli_words(e.basis)})")
    t.add_row("per-layer cost", cli_words(e.overhead_derivation))
    for label, res in (("decode error", e.decode_residual), ("prefill error", e.prefill_residual)):
        if res:
            cv = f"; cross-validated {res.cv_median_abs_pct:g} %" if res.cv_median_abs_pct is not None else ""
            t.add_row(label, f"median {res.median_abs_pct:g} %, p90 {res.p90_abs_pct:g} % over {res.n} "
                      f"measured rows{rows_of(e.chips, r.record.id)}{cv}")
    for note in r.notes:
        t.add_row("note", cli_words(note))
    parts: list = [headline(r), t]
    if explain:
        parts += [Text(""), explain_table(r.explain())]
    return Group(*parts)


def sweep_view(s: "LLMSweep") -> Group:
    first = s.points[0]
    head = Text(f"{first.model} on {_where(first)}, {first.precision.name}, {first.engine} engine: "
                f"sweep of {s.key}", style="bold")
    table = Table(show_edge=False, header_style="bold", pad_edge=False, box=box.SIMPLE_HEAD, padding=(0, 1),
                  collapse_padding=True)
    for col in (s.key, "TTFT", "TPOT", "tok/s/seq", "tok/s all", "e2e", "decode", "memory", "fits"):
        table.add_column(col, justify="right" if col not in ("decode", "fits") else "left", no_wrap=True)
    for p in s.points:
        table.add_row(f"{getattr(p, s.key):,}", _t(p.ttft_s), _t(p.tpot_s), num(p.decode_tokens_per_s),
                      num(p.decode_tokens_per_s_total), _t(p.e2e_latency_s), p.decode.bound,
                      human_bytes(p.memory.total),
                      Text("yes" if p.memory_fits else "no", style="" if p.memory_fits else "bold red"))
    return Group(head, table)
