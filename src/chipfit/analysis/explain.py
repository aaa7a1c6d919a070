"""The formulas behind every prediction, with the numbers substituted (``--explain``).

Each builder takes an analysis result and returns ``[(quantity, formula), ...]``: plain data
that the terminal, the JSON output, the HTML report and the web page all show as they like.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chipfit.analysis.roofline import NEAR_CAPACITY
from chipfit.core.units import duration, human_bytes, num, percent, si, unit_ref
from chipfit.core.units import duration as _t

if TYPE_CHECKING:
    from chipfit.analysis.check import CheckResult
    from chipfit.analysis.llm import LLMResult
    from chipfit.analysis.plan import PlanResult


def with_explain(out: dict, result, explain: bool) -> dict:
    """A result's JSON object (``--json``, the web API) with the formulas under ``"explain"`` when asked."""
    if explain:
        out["explain"] = [{"quantity": q, "formula": f} for q, f in result.explain()]
    return out


def efficiency_basis(e) -> str:
    """Where an efficiency came from, and how far its class's predictions were from measurements."""
    b = e.band
    if b is not None:
        return (f"{e.basis}; validation over {b.n} {b.what}: median |error| {b.median_abs_pct:.1f} %, "
                f"p90 {b.p90_abs_pct:.1f} %; 90 % of measured latencies were ×{b.low:.3g} to ×{b.high:.3g} "
                f"the prediction")
    return f"{e.basis}; not validated: no measured rows of this class, no error band"


def rank_explanation(res) -> list[tuple[str, str]]:
    """The shared requirement, then per chip: its latency and max FPS formula, efficiency and validation."""
    c = res.count
    lines = [("required TOPS", f"FLOPs × fps = 2 × {si(c.macs)} MACs + {si(c.graph.nonmac_flops)} other = "
              f"{si(c.flops)} × {res.fps:g}/s = {num(c.flops * res.fps / 1e12)} TOPS"),
             ("each chip", "latency = Σ_i max(flops_i / (peak × eff_class), bytes_i / (bandwidth × eff_memory)) "
              "[+ a fixed cost per op on edge runtimes]; max FPS = 1 / latency; ranked when max FPS ≥ target and "
              "the memory fits; the band is the class's measured error")]
    for r in list(res.ranked) + list(res.failing):
        e = r.efficiency
        name = unit_ref(r.chip, r.unit.id)
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
    peak_fig = r.unit.peaks(r.sparse).get(p.compute)
    if "@" in r.record.id and peak_fig is not None and peak_fig.formula:
        lines.append((f"peak at {r.record.chip.power_mode}", f"{peak_kind} {p.compute} peak = {peak_fig.formula}"))
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
    speed = f" × chip speed {e.speed:.3g}" if e.speed != 1 else ""
    staged = bool(roof.staging_rate)
    lines.append(("per-op roofline",
                  f"time_i = max(flops_i / (peak × eff_class{speed}), bytes_i / (bandwidth × {e.memory:.3g}{speed})"
                  + (" + streamed_i / host link" if roof.link_bandwidth else "") + ")"
                  + (f" + bytes_i / (bandwidth × staging {e.staging:g}{speed})" if staged else "")
                  + (" + op cost" if e.op_overhead_s else "")
                  + (f"; flops_i of a convolution or linear layer × its channels rounded up to whole tiles of "
                     f"{e.channel_tile} over its channels (fitted)" if e.channel_tile else "")
                  + f"; eff_class: gemm {e.gemm:.3g}, depthwise {e.depthwise:.3g}, vector {e.vector:.3g}"
                  + (f", attention (two activations multiplied) {e.attention:.3g}" if e.attention is not None else "")
                  + (f", table activations (SiLU, GELU, sigmoid, …) {e.activation:.3g}"
                     if e.activation is not None else "")
                  + (f", normalising ops (layer, group, RMS norms, softmax) {e.norm:.3g}" if e.norm is not None else "")
                  + ("; a batch norm right after a convolution or linear layer is folded into it (no time)"
                     if e.folds_batch_norm else "")))
    if e.buffer_bytes and r.bandwidth_gbps:
        held = [o for o in roof.ops if not o.on_host and o.bytes and o.bytes <= o.buffer]
        spilled = [o for o in roof.ops if not o.on_host and o.bytes > o.buffer]
        lines.append(("on-chip buffer",
                      f"bytes_i count only for ops whose working set exceeds the {e.efficiency_class} class's "
                      f"{human_bytes(e.buffer_bytes)} on-chip buffer (fitted): {len(spilled)} ops, "
                      f"{human_bytes(sum(o.bytes for o in spilled))}, are tiled through DRAM; {len(held)} fit it "
                      "and are charged no DRAM time"))
    if staged:
        lines.append(("staging",
                      f"the {e.efficiency_class} class stages every op's bytes in and out of the accelerator's local "
                      f"memory at {num(roof.staging_rate / 1e9)} GB/s ({e.staging:g} × the DRAM "
                      f"bandwidth{speed}, fitted), not overlapped with its compute: "
                      f"{_t(sum(o.staging_s for o in roof.ops))} per inference"))
    if roof.link_bandwidth:
        link = r.record.chip.host_link
        streamed = [o for o in roof.ops if o.streamed_bytes]
        first = f" from op {streamed[0].name or streamed[0].op} on ({len(streamed)} ops)" if streamed else ""
        lines.append(("host link",
                      f"weights {human_bytes(r.weight_bytes)} − on-chip {human_bytes(roof.onchip_bytes)} held "
                      f"(filled in op order) = {human_bytes(roof.streamed_bytes)} streamed{first} over the "
                      f"{link.name} at {num(roof.link_bandwidth / 1e9)} GB/s = {_t(roof.link_s)} per inference"))
    f = r.fallback
    if f is not None:
        h = roof.host
        rate = (f"on {h.name} at {num(h.peak_ops / 1e12)} TOPS × its {h.efficiency.efficiency_class} efficiencies"
                + (f", {num(h.bandwidth / 1e9)} GB/s" if h.bandwidth else "") + f" = {_t(roof.host_s)}"
                if h is not None else "not priced: no host CPU named")
        cut = (f"the graph is cut at {f.first_op} ({f.first_family}): it and every op after it"
               if f.rules.partition == "once" else f"each op of a family it does not run (first {f.first_op})")
        moved = sum(o.transfer_s for o in roof.ops)
        crossing = (f"; activations cross the {r.record.chip.host_link.name} between them: {_t(moved)}"
                    if moved else "")
        lines.append(("host CPU", f"runtime {f.runtime} ({f.rules.source}): {cut} runs on the host; "
                      f"{f.ops} ops, {si(f.flops)}FLOPs {rate}{crossing}"))
    if roof.split is not None:
        per_layer = e.context_bytes_per_layer
        need = (f"weights {human_bytes(roof.weight_bytes)} + largest op working set {human_bytes(roof.max_act_bytes)}"
                + (f" + {roof.layers} layers × {human_bytes(per_layer)}" if per_layer else "")
                + f" = {human_bytes(roof.context_need_bytes)}")
        names = {"depthwise": "depthwise convolutions", "activation": "table activations"}
        own_rates = "" if roof.split else "".join(  # what one context runs at rates of its own
            f"; its {names[c]} run at {e.one_context_compute(c):.3g}, {m:g} × the class's {e.compute(c):.3g}"
            for c, m in e.one_context_rates.items() if any(o.op_class == c and not o.on_host for o in roof.ops))
        if not roof.context_bytes:
            lines.append(("contexts", f"dataflow chip; {need}; its one-context capacity was never measured: "
                          "priced as one context (no fixed cost per op)" + own_rates))
        elif roof.split:
            why = "it has attention" if roof.has_attention else f"more than the chip's {human_bytes(roof.context_bytes)}"
            lines.append(("contexts", f"dataflow chip; {need}: {why}, so it is split into contexts: each op pays its "
                          f"fixed cost and the weights reload once per batch, {human_bytes(roof.weight_bytes)} / "
                          f"{num(e.context_link_bw * e.fixed_rate / 1e9)} GB/s = {_t(roof.context_s)}"))
        else:
            lines.append(("contexts", f"dataflow chip; {need} fits its {human_bytes(roof.context_bytes)} one-context "
                          "capacity: the layers run at once, as a pipeline, with no fixed cost per op" + own_rates))
        if roof.other_latency_s is not None:
            lines.append(("contexts", f"within a factor {NEAR_CAPACITY:g} of the capacity the compiler may choose "
                          f"the other way: {'one context' if roof.split else 'split'}, "
                          f"{_t(roof.other_latency_s)} a batch"))
    n_start, n_moves = (len(ops) for ops in roof.fixed_cost_ops())
    if n_start or n_moves or roof.call_overhead_s or roof.io_s:
        per_op = ([f"{n_start} ops (not fused) × {_t(e.op_overhead_s / e.fixed_rate)} to start each"] if n_start else []) \
            + ([f"{n_moves} data moves (concat, copy) × {_t(e.data_overhead_s / e.fixed_rate)}"] if n_moves else [])
        lines.append(("fixed costs", (" + ".join(per_op) + f" = {_t(roof.overhead_s)}, + " if per_op else "")
                      + f"{_t(roof.call_overhead_s)} per call of the runtime, per batch"
                      + (f", + {si(c.graph.io_elements * roof.batch)} elements of input and output × "
                         f"{e.io_s_per_element / e.fixed_rate * 1e9:.3g} ns each = {_t(roof.io_s)} (the host copies and "
                         "converts them)" if roof.io_s else "")
                      + (f" (at the chip's fixed-cost speed {e.fixed_rate:.3g})" if e.fixed_rate != 1 else "")))
    fixed = roof.overhead_s + roof.call_overhead_s + roof.context_s + roof.io_s
    lines.append(("latency (batch 1)",
                  f"Σ time_i = {_t(by['compute'])} in {n_cmp} compute-bound ops + {_t(by['memory'])} in "
                  f"{n_mem} memory-bound ops" + (f" + {_t(fixed)} fixed costs" if fixed else "")
                  + f" = {_t(r.latency_s)}"))
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
        per = (f"power × latency = {r.power_w:g} W × {_t(r.latency_s)}" if r.batch == 1 else
               f"power × latency of a batch / batch = {r.power_w:g} W × {_t(r.roof.latency_s)} / {r.batch}")
        lines.append(("energy", f"{per} = {num(r.energy_per_inference_j)} J per inference (upper bound: rated power)"))
        lines.append(("TOPS/W", f"peak / power = {r.peak_tops:g} / {r.power_w:g} = {r.tops_per_w:.3g}"))
    lines.append(("efficiency source", f"class {e.efficiency_class}: {efficiency_basis(e)}"))
    lo, hi = r.band
    lines.append(("error band", f"latency × (×{lo:.3g} … ×{hi:.3g}) = {_t(r.latency_s_low)} … {_t(r.latency_s_high)};"
                  f" max FPS {num(r.max_fps_low)} … {num(r.max_fps_high)}"
                  + (f" (the class's ×{e.band.low:.3g} … ×{e.band.high:.3g} around each context choice's price)"
                     if r.both_contexts else "") if e.band else
                  "none: this class has no measurements"))
    central, slow, fast = r.verdict_fps
    m = r.measured
    basis = "" if m is None else (
        f" on {m.source(r.chip)}: {num(m.max_fps)} FPS, {'their median' if len(m.rows) > 1 else 'as published'}, "
        f"within ×{m.low:.3g} … "
        f"×{m.high:.3g} (what a network measured again on its chip differed by)" if m.here else
        f" on {m.source(r.chip)}: {num(r.throughput_fps)} FPS ÷ {m.ratio:.3g} (their median measured / "
        f"predicted) within ×{m.low:.3g} … ×{m.high:.3g} (what such a carry erred by"
        + (", over both context choices)" if m.both_contexts else ")"))
    lines.append(("verdict", f"throughput {num(slow)} … {num(fast)} FPS (central {num(central)}){basis} against "
                  f"{r.fps:g} FPS, memory {'fits' if r.memory_fits else 'does not fit'} → {r.verdict} (SUFFICIENT "
                  f"when the slow end meets the rate, INSUFFICIENT when the fast end misses it, else UNCERTAIN)"
                  + (f"; the class prediction alone: {r.class_verdict}" if m is not None else "")))
    return lines


#: weight roles (:func:`chipfit.core.precision.weight_role`) in the words of a formula
_ROLES = {"matrix": "matrices", "matrix_more": "value/down matrices", "head": "LM head", "embedding": "embeddings",
          "other": "norms and biases"}


def _weight_terms(storage: dict[tuple[str, float], int]) -> str:
    """``matrices 4.57 G × 4.5 bits + LM head 545 M × 6.56 bits + ...`` (one term when every
    weight has the same width)."""
    if len({bits for _, bits in storage}) == 1:
        return f"{si(sum(storage.values()))} × {next(iter(storage))[1]:.3g} bits"
    return " + ".join(f"{_ROLES.get(role, role)} {si(n)} × {bits:.3g} bits"
                      for (role, bits), n in sorted(storage.items(), key=lambda kv: -kv[1]))


def llm_explanation(r: "LLMResult") -> list[tuple[str, str]]:
    """(quantity, formula with the numbers substituted)."""
    e, p, mem = r.efficiency, r.precision, r.memory
    n = r.chips_count
    split = f" / {n} chips" if n > 1 else ""
    bw = r.bandwidth_gbps or 0.0
    out = [
        ("weight bytes", f"{si(r.params)} params at {p.name}: " + _weight_terms(r.graph.weight_storage(p))
                         + (f" (matrices: {p.weight_bits} + ({p.scale_bits} + {p.zero_bits}) / {p.group_size} bits "
                            f"for the group scales)" if p.group_size else "")
                         + f" = {human_bytes(r.weight_bytes)}{split}"),
        ("KV cache", f"per token: 2 (K and V) × layers × KV heads × head dim × {r.kv_precision.activation_bits / 8:g} "
                     f"bytes = {human_bytes(r.kv_bytes_per_token)}; × {r.context:,} tokens × batch {r.batch} = "
                     f"{human_bytes(r.kv_cache_bytes)}"),
        ("prefill", f"Σ over ops max(FLOPs / ({r.peak_tops:g} T{split and ' × ' + str(n)} × {e.prefill_gemm:.3g}), "
                    f"bytes / ({bw:g} GB/s{split and ' × ' + str(n)} × {e.decode_memory:.3g})) = "
                    f"{_t(r.prefill.roofline_s)} ({si(r.prefill.flops)}FLOPs, {human_bytes(r.prefill.bytes)}"
                    f"{' per chip' if n > 1 else ''}) + {r.layers} layers × {e.layer_overhead_s * 1e6:.3g} µs"
                    + (f" + all-reduces {_t(r.prefill.comm_s)}" if n > 1 else "") + f" = {_t(r.ttft_s)} = TTFT"),
        ("decode step", f"at each context c the same roofline: {_t(r.first_step_s)} at c = {r.prompt:,}, "
                        f"{_t(r.last_step_s)} at the last step; bytes per step ≈ {human_bytes(r.decode.bytes / r.decode.steps)}"
                        f" (weights + KV cache read) / ({bw:g} GB/s × {e.decode_memory:.3g})"),
        ("TPOT", f"(Σ over {r.decode.steps:,} steps {_t(r.decode.roofline_s)} + overhead {_t(r.decode.overhead_s)}"
                 + (f" + all-reduces {_t(r.decode.comm_s)}" if n > 1 else "")
                 + f") / {r.decode.steps:,} = {_t(r.tpot_s)}; decode rate = 1 / TPOT = {num(r.decode_tokens_per_s)} tokens/s"),
        ("end to end", f"TTFT {_t(r.ttft_s)} + {r.decode.steps:,} × TPOT = {_t(r.e2e_latency_s)}"),
        ("memory", f"{human_bytes(mem.weights)} + {human_bytes(mem.kv_cache)} + {human_bytes(mem.activations)} "
                   f"+ {human_bytes(mem.overhead)} = {human_bytes(mem.total)}"
                   + (f" ≤ {human_bytes(mem.capacity)}: fits" if mem.capacity and mem.fits else
                      f" > {human_bytes(mem.capacity)}: does not fit" if mem.capacity else "")),
        ("efficiency", f"{e.fit}: {e.basis}"),
    ]
    return out


def bound_words(bound: str) -> str:
    """A host pass's bound in words: a CPU's compute limit for element-wise work is its vector units."""
    return "vector-bound" if bound == "compute" else "memory-bound"


def plan_explanation(r: "PlanResult") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for sp in r.stages:
        s = sp.stage
        form = s.rate.form if s.rate else "per_input"
        if form == "per_input":
            src = f"{num(sp.triggers_per_s / s.streams)} starts/s (slowest input)"
        else:
            src = f"{s.rate.describe(s.covers_s)} = {num(sp.triggers_per_s / s.streams)} starts/s"
        fan = f" × fan-out {s.rate.per_input:g}" if s.rate is not None and form == "per_input" else ""
        streams = f" × {s.streams} streams" if s.streams > 1 else ""
        repeat = f" × repeat {s.repeat}" if s.repeat > 1 else ""
        more = f"{streams}{fan}{repeat}"
        rows.append((f"{sp.name} runs/s", f"{src}{more} = {num(sp.runs_per_s)}" if more else src))
        rows.append((f"{sp.name} TOPS", f"{num(sp.flops / 1e9)} GFLOPs per run × {num(sp.runs_per_s)}/s "
                     f"= {num(sp.required_tops)} TOPS ({sp.precision}, peak {sp.peak_tops:g} on {unit_ref(sp.chip, sp.unit.id)})"))
        what = "prefill + decode of one batch" if s.llm else "roofline latency of one batch"
        rows.append((f"{sp.name} share", f"{num(sp.runs_per_s)}/s × {duration(sp.batch_latency_s)} ({what}) "
                     f"/ batch {s.batch} = {percent(sp.share)}"))
        if sp.is_host:   # a process stage: each pass's ops and bytes, and what bounds it on the host
            rows += [(f"{sp.name} {st.name}", f"{st.formula}; {bound_words(o.bound)} on the host "
                      f"({num(o.time_s * 1e6)} µs)") for st, o in zip(sp.work.steps, sp.detail.roof1.ops)]
    for c in r.chips:
        for u in c.units:
            parts = " + ".join(percent(sp.share) for sp in r.stages if sp.unit_key == f"{u.chip}:{u.unit}")
            rows.append((f"{u.chip}:{u.unit} busy", f"{parts} = {percent(u.utilization)} (≤ 100 % to keep up)"))
        cap = human_bytes(c.capacity_bytes) if c.capacity_bytes else "unknown"
        rows.append((f"{c.chip} memory", f"weights {human_bytes(c.weight_bytes)} (each model and precision once) "
                     f"+ working sets {human_bytes(c.working_bytes)} + runtime {human_bytes(c.overhead_bytes)} "
                     f"= {human_bytes(c.memory_bytes)} of {cap}"))
        if c.bandwidth_gbps:
            rows.append((f"{c.chip} bandwidth", f"Σ bytes per run × runs/s = {num(c.bytes_per_s / 1e9)} GB/s of "
                         f"{num(c.bandwidth_gbps)} GB/s = {percent(c.bandwidth_share)}"))
    by = {sp.name: sp for sp in r.stages}
    alone = " + ".join(duration(by[n].latency_s) for n in r.critical_path)
    rows.append(("latency", f"{alone} = {duration(r.latency_s)} along {' → '.join(r.critical_path)}"))
    util = {f"{u.chip}:{u.unit}": u.utilization for c in r.chips for u in c.units}
    loaded = " + ".join(f"{duration(by[n].latency_s)}/(1 − {util[by[n].unit_key] - by[n].share:.3g})"
                        for n in r.critical_path)
    rows.append(("under load", f"{loaded} = {duration(r.latency_loaded_s)} (each stage slowed by the "
                 f"others' share of its unit)"))
    return rows
