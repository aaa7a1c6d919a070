"""The formulas behind a verdict, with the numbers substituted (``--explain``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .units import duration as _t, human_bytes, num, si

if TYPE_CHECKING:
    from ..verdict import CheckResult


def with_explain(out: dict, result, explain: bool) -> dict:
    """A result's JSON object (``--json``, the web API) with the formulas under ``"explain"`` when asked."""
    if explain:
        out["explain"] = [{"quantity": q, "formula": f} for q, f in result.explain()]
    return out


def explain_table(rows: list[tuple[str, str]]):
    """The --explain table: one row per quantity, its formula with the numbers substituted."""
    from rich.table import Table

    ex = Table(show_edge=False, header_style="bold", title="how these numbers are computed",
               title_justify="left", title_style="bold")
    ex.add_column("quantity", style="bold", no_wrap=True)
    ex.add_column("formula", overflow="fold")
    for q, f in rows:
        ex.add_row(q, f)
    return ex


def efficiency_basis(e) -> str:
    """Where an efficiency came from, and how far its class's predictions were from measurements."""
    if e.residual is not None:
        return (f"{e.basis}; validation on {e.residual.n} rows: median |error| {e.residual.median_abs_pct:.1f} %, "
                f"p90 {e.residual.p90_abs_pct:.1f} %")
    return f"{e.basis}; not validated: no measured rows of this class (see VALIDATION.md)"


def rank_explanation(res) -> list[tuple[str, str]]:
    """The shared requirement, then per chip: its latency and max FPS formula, efficiency and validation."""
    c = res.count
    lines = [("required TOPS", f"FLOPs × fps = 2 × {si(c.macs)} MACs + {si(c.graph.nonmac_flops)} other = "
              f"{si(c.flops)} × {res.fps:g}/s = {num(c.flops * res.fps / 1e12)} TOPS"),
             ("each chip", "latency = Σ_i max(flops_i / (peak × eff_class), bytes_i / (bandwidth × eff_memory)); "
              "max FPS = 1 / latency; sufficient when max FPS ≥ target and the memory fits")]
    for r in list(res.ranked) + list(res.failing):
        e = r.efficiency
        name = r.chip if r.unit.id == "main" else f"{r.chip}:{r.unit.id}"
        bw = f"{r.bandwidth_gbps:g} GB/s × {e.memory:.3g}" if r.bandwidth_gbps else "bandwidth unknown"
        lines.append((name, f"peak {r.peak_tops:g} TOPS × gemm {e.gemm:.3g} (depthwise {e.depthwise:.3g}, "
                      f"vector {e.vector:.3g}), {bw}: latency {_t(r.latency_s)} ({r.bound}-bound) → max FPS "
                      f"1 / {_t(r.latency_s)} = {num(r.max_fps)} {'≥' if r.max_fps >= res.fps else '<'} "
                      f"{res.fps:g}; class {e.efficiency_class}: {efficiency_basis(e)}"))
    return lines


def check_explanation(r: "CheckResult") -> list[tuple[str, str]]:
    c, e, p = r.count, r.efficiency, r.precision
    lines: list[tuple[str, str]] = []
    other = c.graph.nonmac_flops
    lines.append(("ops per inference",
                  f"FLOPs = 2 × MACs + other ops = 2 × {si(c.macs)} + {si(other)} = {si(c.flops)}"))
    lines.append(("required TOPS",
                  f"FLOPs × fps = {si(c.flops)} × {r.fps:g}/s = {num(r.required_tops)} TOPS"))
    peak_kind = "sparse" if r.sparse else "dense"
    lines.append(("effective TOPS",
                  f"{peak_kind} {p.compute} peak × efficiency = {r.peak_tops:g} × {e.gemm:.3g} = "
                  f"{num(r.effective_tops)} TOPS"))
    lines.append(("margin",
                  f"effective − required = {num(r.effective_tops)} − {num(r.required_tops)} = "
                  f"{num(r.margin_tops)} TOPS"))
    roof = r.roof1
    w_traffic = c.graph.weight_traffic_bytes(p)
    lines.append(("bytes per inference",
                  f"weights read {human_bytes(w_traffic)} + activations {human_bytes(roof.bytes - w_traffic)}"
                  f" ({'point-wise ops fused into the op before them' if roof.fused else 'unfused'}) = "
                  f"{human_bytes(roof.bytes)} at {p.name}"))
    lines.append(("required bandwidth",
                  f"bytes × fps = {human_bytes(roof.bytes)} × {r.fps:g}/s = {num(r.required_bandwidth_gbps)} GB/s"
                  + (f" (chip: {r.bandwidth_gbps:g} GB/s × {e.memory:.3g} = {num(r.effective_bandwidth_gbps)} usable)"
                     if r.bandwidth_gbps else " (chip bandwidth unknown)")))
    by = r.roof1.time_by_bound()
    n_mem = sum(1 for o in roof.ops if o.bound == "memory" and o.time_s > 0)
    n_cmp = sum(1 for o in roof.ops if o.bound == "compute" and o.time_s > 0)
    lines.append(("per-op roofline",
                  f"time_i = max(flops_i / (peak × eff_class), bytes_i / (bandwidth × {e.memory:.3g})); "
                  f"eff_class: gemm {e.gemm:.3g}, depthwise {e.depthwise:.3g}, vector {e.vector:.3g}"))
    lines.append(("latency (batch 1)",
                  f"Σ time_i = {_t(by['compute'])} in {n_cmp} compute-bound ops + {_t(by['memory'])} in "
                  f"{n_mem} memory-bound ops = {_t(r.latency_s)}"))
    lines.append(("max FPS", f"1 / latency = 1 / {_t(r.latency_s)} = {num(r.max_fps)} FPS"
                  + (f"; with batching up to {num(r.max_fps_batched)} FPS at batch {r.best_batch}"
                     if r.best_batch > 1 else "")))
    if r.batch > 1:
        lines.append(("throughput", f"batch / latency of a batch = {r.batch} / {_t(r.roof.latency_s)} = "
                      f"{num(r.throughput_fps)} FPS"))
    lines.append(("utilization", f"fps / throughput = {r.fps:g} / {num(r.throughput_fps)} = {r.utilization:.1%}"))
    cap = f"{human_bytes(r.capacity_bytes)}" if r.capacity_bytes else "unknown (host memory)"
    lines.append(("memory",
                  f"weights {si(c.params)} params × {p.weight_bits} bit = {human_bytes(r.weight_bytes)} + "
                  f"largest op working set {human_bytes(r.peak_activation_bytes)} = "
                  f"{human_bytes(r.memory_required_bytes)} vs {cap}"))
    if r.power_w:
        lines.append(("energy", f"power × latency = {r.power_w:g} W × {_t(r.latency_s)} = "
                      f"{num(r.energy_per_inference_j)} J per inference (upper bound: rated power)"))
        lines.append(("TOPS/W", f"peak / power = {r.peak_tops:g} / {r.power_w:g} = {r.tops_per_w:.3g}"))
    lines.append(("efficiency source", f"class {e.efficiency_class}: {efficiency_basis(e)}"))
    verdict = "sufficient" if r.sufficient else "NOT sufficient"
    lines.append(("verdict", f"throughput {num(r.throughput_fps)} FPS {'≥' if r.throughput_fps >= r.fps else '<'} "
                  f"{r.fps:g} FPS and memory {'fits' if r.memory_fits else 'does not fit'} → {verdict}"))
    return lines
