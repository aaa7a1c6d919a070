"""``chipfit.llm``: prefill, decode, KV cache and memory of a language model on a chip.

Plain data, no printing. A request is ``batch`` sequences of ``prompt`` tokens each, answered
with ``output`` tokens each:

- **prefill** runs the prompt once (the analytic ``prefill`` graph: the KV cache written, the
  last logits only) and yields the first token: ``ttft_s`` is its time;
- **decode** then runs ``output − 1`` steps, step ``i`` reading a cache of ``prompt + i``
  tokens. Every step is timed by the per-op roofline at its own context (attention reads grow
  with the cache; a sliding window stops them growing). Between the contexts where an op's
  cost changes slope (the ends and each window) its compute and memory times are linear in
  the context, so the sum over all steps of ``max(compute, memory)`` is taken exactly, in
  closed form, op by op. ``tpot_s`` is the mean step.

Each step costs the roofline time at the engine's fitted efficiencies plus a fixed
``layer_overhead_s`` per layer (kernel launches, small kernels and host work): a fixed number of
clock cycles, so the fit's figure at its reference clock times reference clock / the unit's
clock, and never more than the cap the fastest fit row allows (see
:mod:`chipfit.data.llm_efficiency`). With ``chips_count = N`` (tensor parallelism) every op is
split evenly over N identical chips and each layer adds two all-reduces of the hidden state
(after attention and after the MLP), ring algorithm::

    all-reduce time = 2 (N − 1) / N × batch × tokens × hidden × bytes / link bandwidth + latency

Memory per chip = weights / N + KV cache (split by KV heads) + the largest prefill working set
+ a runtime allowance (``overhead_gb``: CUDA context, kernels, workspace; not the OS's share of
unified memory). The KV cache holds ``context`` tokens per sequence (default prompt + output).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

from chipfit.analysis.check import capacity_of
from chipfit.analysis.explain import llm_explanation
from chipfit.analysis.params import LLMParams, literal_values, validate
from chipfit.analysis.roofline import Roofline, roofline
from chipfit.core.costgraph import CostGraph
from chipfit.core.errors import ChipfitError
from chipfit.core.precision import PRECISIONS, Precision, get_precision
from chipfit.data import zoo
from chipfit.data.chips import ChipRecord, Unit, database, split_unit, with_mode
from chipfit.data.efficiency import Band, Efficiency, band_of, for_class
from chipfit.data.llm_efficiency import LLMEfficiency, engine_for, lookup, matrix_peak, on_chip
from chipfit.frontends.arch import Phase, build, read
from chipfit.frontends.arch.spec import Decoder, VisionLanguage
from chipfit.frontends.resolve import config_model

#: Default runtime allowance per chip (CUDA context, kernels, allocator workspace), GB.
DEFAULT_OVERHEAD_GB = 0.5
#: Default chip-to-chip bandwidth for tensor parallelism, GB/s per direction: PCIe 4.0 x16.
DEFAULT_LINK_GBPS = 32.0
#: Latency of one all-reduce (NCCL small-message latency on one node), seconds.
ALLREDUCE_LATENCY_S = 10e-6
#: KV cache precisions.
KV_PRECISIONS = literal_values(LLMParams, "kv_precision")
#: Lighter formats tried, in order, when a model does not fit.
_LIGHTER = ("fp16", "fp8", "int8", "w8a16", "w4a16", "q4_0")
#: Sweepable parameters.
SWEEP_KEYS = ("batch", "prompt", "output", "context", "chips_count")


@dataclass
class PhaseTime:
    """One phase (the prefill, or the decode steps summed) on one chip."""

    seconds: float      # roofline time + overhead + communication
    compute_s: float    # sum over ops of compute time (ignoring overlap)
    memory_s: float     # sum over ops of memory time
    roofline_s: float   # sum over ops of max(compute, memory)
    overhead_s: float   # layers × layer_overhead_s × steps
    comm_s: float       # all-reduces
    flops: float        # per chip
    bytes: float        # per chip
    steps: int = 1
    compute_bound_s: float = 0.0  # roofline time of the ops that are compute-bound

    @property
    def bound(self) -> str:
        """What most of the time is spent on: ``compute``, ``memory``, ``overhead`` or
        ``communication``."""
        parts = {"compute": self.compute_bound_s, "memory": self.roofline_s - self.compute_bound_s,
                 "overhead": self.overhead_s, "communication": self.comm_s}
        return max(parts, key=parts.get)

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "steps": self.steps, "bound": self.bound,
                "roofline_s": self.roofline_s, "compute_s": self.compute_s, "memory_s": self.memory_s,
                "overhead_s": self.overhead_s, "comm_s": self.comm_s, "flops": self.flops,
                "bytes": self.bytes}


@dataclass
class Memory:
    """Bytes one chip holds."""

    weights: int
    kv_cache: int
    activations: int
    overhead: int
    capacity: int | None         # what an application can use: the memory less the OS reserve
    reserved: int = 0            # kept by the OS / firmware of a unified memory


    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.activations + self.overhead

    @property
    def fits(self) -> bool:
        return self.capacity is None or self.total <= self.capacity

    def to_dict(self) -> dict[str, Any]:
        return {"weight_bytes": self.weights, "kv_cache_bytes": self.kv_cache,
                "activation_bytes": self.activations, "overhead_bytes": self.overhead,
                "total_bytes": self.total, "capacity_bytes": self.capacity, "reserved_bytes": self.reserved,
                "fits": self.fits}


@dataclass
class LLMResult:
    model: str
    record: ChipRecord
    unit: Unit
    precision: Precision
    kv_precision: Precision
    prompt: int
    output: int
    batch: int
    context: int
    chips_count: int
    link_gbps: float
    engine: str
    efficiency: LLMEfficiency
    peak_tops: float
    bandwidth_gbps: float | None
    layers: int
    hidden: int
    params: int
    max_positions: int | None
    prefill: PhaseTime
    decode: PhaseTime             # all output − 1 steps (one step at the prompt if output == 1)
    first_step_s: float
    last_step_s: float
    curve: list[tuple[int, float]]  # (context, step seconds) sampled along the decode
    memory: Memory
    kv_bytes_per_token: float     # per sequence, whole model (all chips)
    max_batch: int
    max_context: int
    max_context_limit: str        # 'memory' or 'model'
    power_w: float | None
    graph: CostGraph = field(repr=False)   # the prefill graph (weights per format)
    prepared: "_Prepared" = field(repr=False)  # rooflines to re-time at other efficiencies
    kv_heads: int = 1
    notes: list[str] = field(default_factory=list)
    kv_state_bytes: float = 0.0   # per sequence: fixed state of linear-attention layers, not per token
    image_tokens: int = 0         # a vision-language model: one image's tokens, prefilled with the prompt

    # -- timing -----------------------------------------------------------------------
    @property
    def chip(self) -> str:
        return self.record.id

    @property
    def ttft_s(self) -> float:
        return self.prefill.seconds

    @property
    def tpot_s(self) -> float:
        return self.decode.seconds / self.decode.steps

    @property
    def decode_tokens_per_s(self) -> float:
        """Tokens per second one sequence receives while decoding."""
        return 1 / self.tpot_s

    @property
    def ttft_band(self) -> Band | None:
        """Multipliers of the time to first token that 90 % of the prefill measurements fell in."""
        return band_of(self.efficiency.prefill_residual, "prefill rows")

    @property
    def tpot_band(self) -> Band | None:
        """Multipliers of the time per output token that 90 % of the decode measurements fell in."""
        return band_of(self.efficiency.decode_residual, "decode rows")

    @property
    def decode_tokens_per_s_total(self) -> float:
        """Tokens per second over the whole batch while decoding."""
        return self.batch / self.tpot_s

    @property
    def prefill_tokens_per_s(self) -> float:
        return self.batch * (self.prompt + self.image_tokens) / self.ttft_s

    @property
    def e2e_latency_s(self) -> float:
        """Prefill plus every decode step: the time to the last token."""
        return self.ttft_s + (self.decode.seconds if self.output > 1 else 0.0)

    @property
    def throughput_tokens_per_s(self) -> float:
        """Output tokens per second over the request (prefill included): static batching."""
        return self.batch * self.output / self.e2e_latency_s

    @property
    def energy_per_token_j(self) -> float | None:
        if not self.power_w:
            return None
        return self.power_w * self.chips_count * self.e2e_latency_s / (self.batch * self.output)

    @property
    def memory_fits(self) -> bool:
        return self.memory.fits

    @property
    def weight_bytes(self) -> int:
        """Weights of the whole model (all chips)."""
        return self.graph.weight_bytes(self.precision)

    @property
    def kv_cache_bytes(self) -> int:
        """KV cache of the whole batch at ``context`` tokens, with any fixed state (all chips)."""
        return math.ceil((self.kv_bytes_per_token * (self.context + self.image_tokens) + self.kv_state_bytes)
                         * self.batch)

    def to_dict(self) -> dict[str, Any]:
        e = self.efficiency
        return {
            "model": self.model, "chip": self.chip, "chip_name": self.record.chip.name, "unit": self.unit.id,
            "precision": self.precision.name, "precision_description": self.precision.describe(),
            "bits_per_weight": self.precision.bits_per_weight, "group_size": self.precision.group_size or None,
            "kv_precision": self.kv_precision.name, "engine": self.engine,
            "prompt": self.prompt, "image_tokens": self.image_tokens, "output": self.output, "batch": self.batch,
            "context": self.context,
            "chips_count": self.chips_count, "link_gbps": self.link_gbps if self.chips_count > 1 else None,
            "params": self.params, "layers": self.layers, "max_positions": self.max_positions,
            "chip_peak_tops": self.peak_tops, "chip_bandwidth_gbps": self.bandwidth_gbps,
            "ttft_s": self.ttft_s, "tpot_s": self.tpot_s,
            **_banded("ttft_s", self.ttft_s, self.ttft_band), **_banded("tpot_s", self.tpot_s, self.tpot_band),
            "decode_tokens_per_s": self.decode_tokens_per_s,
            "decode_tokens_per_s_total": self.decode_tokens_per_s_total,
            "prefill_tokens_per_s": self.prefill_tokens_per_s,
            "e2e_latency_s": self.e2e_latency_s, "throughput_tokens_per_s": self.throughput_tokens_per_s,
            "prefill_bound": self.prefill.bound, "decode_bound": self.decode.bound,
            "first_step_s": self.first_step_s, "last_step_s": self.last_step_s,
            "weight_bytes": self.weight_bytes, "kv_cache_bytes": self.kv_cache_bytes,
            "kv_bytes_per_token": self.kv_bytes_per_token,
            "memory_per_chip": self.memory.to_dict(), "memory_fits": self.memory_fits,
            "max_batch": self.max_batch, "max_context": self.max_context,
            "max_context_limit": self.max_context_limit,
            "power_w": self.power_w, "energy_per_token_j": self.energy_per_token_j,
            "prefill": self.prefill.to_dict(), "decode": self.decode.to_dict(),
            "decode_curve": [{"context": c, "step_s": s} for c, s in self.curve],
            "efficiency": {"class": e.efficiency_class, "engine": e.engine, "fit": e.fit,
                           "decode_memory": e.decode_memory, "prefill_gemm": e.prefill_gemm,
                           "layer_overhead_s": e.layer_overhead_s, "layer_overhead_fit_s": e.fit_overhead_s,
                           "reference_clock_mhz": e.reference_clock_mhz, "chip_clock_mhz": e.clock_mhz,
                           "layer_overhead_cap_s": e.overhead_cap_s,
                           "layer_overhead_derivation": e.overhead_derivation, "grid_edges": list(e.edges),
                           "basis": e.basis,
                           "decode_validation": e.decode_residual.model_dump() if e.decode_residual else None,
                           "prefill_validation": e.prefill_residual.model_dump() if e.prefill_residual else None,
                           "validated_on_chips": list(e.chips), "validated_on_this_chip": self.chip in e.chips},
            "notes": list(self.notes),
        }

    def explain(self) -> list[tuple[str, str]]:
        e = self.efficiency
        rows = llm_explanation(self) + [("per-layer cost", e.overhead_derivation)]
        rows += [("grid edge", edge) for edge in e.edges]
        return rows


def _banded(key: str, value: float, band: Band | None) -> dict[str, float | None]:
    """``key_low``/``key_high``: the value times its band (None without measurements)."""
    return {f"{key}_low": value * band.low if band else None, f"{key}_high": value * band.high if band else None}


@dataclass
class LLMSweep:
    key: str
    points: list[LLMResult]

    def to_dict(self) -> dict[str, Any]:
        return {"sweep": self.key, "values": [getattr(p, self.key) for p in self.points],
                "points": [p.to_dict() for p in self.points]}


# -- the model ------------------------------------------------------------------------------
@dataclass
class _Model:
    name: str
    spec: Any     # a Decoder, or a VisionLanguage: its language model with one image's tokens in the prompt
    where: str

    @property
    def text(self) -> Decoder:
        return self.spec.llm if isinstance(self.spec, VisionLanguage) else self.spec

    @property
    def image_tokens(self) -> int:
        return self.spec.image_tokens if isinstance(self.spec, VisionLanguage) else 0

    @property
    def layers(self) -> int:
        return len(self.text.stack.layers)

    @property
    def hidden(self) -> int:
        return self.text.stack.hidden

    @property
    def kv_heads(self) -> int:
        return min(layer.attn.kv_heads for layer in self.text.stack.layers)

    @property
    def windows(self) -> set[int]:
        return {layer.attn.window for layer in self.text.stack.layers if layer.attn.window}

    def state_elems(self) -> int:
        """Elements of the fixed state a sequence holds (linear-attention and short-convolution
        layers), whatever the context."""
        return sum(layer.attn.state_elems() for layer in self.text.stack.layers if hasattr(layer.attn, "state_elems"))

    def graph(self, kind: str, tokens: int, context: int, batch: int) -> CostGraph:
        """The graph of a phase; ``context`` counts text tokens (a decode step's cache also holds
        the image's)."""
        extra = self.image_tokens if kind == "decode" else 0
        return build(self.spec, Phase(kind, tokens, context + extra, batch), self.name)


def _decoder(model: str) -> _Model:
    cm = config_model(model) if isinstance(model, str) else None
    if cm is None:
        raise ChipfitError(f"chipfit llm needs a decoder language model given by a config (a built-in "
                           f"name such as llama-2-7b, or a config.json); '{model}' is not one")
    spec = read(cm.config, cm.where)
    text = spec.llm if isinstance(spec, VisionLanguage) else spec
    if not isinstance(text, Decoder) or text.head is None:
        raise ChipfitError(f"chipfit llm prices decoder-only language models (and vision-language models "
                           f"built on one); {cm.where} is a {type(spec).__name__}")
    return _Model(cm.name, spec, cm.where)


# -- arithmetic ------------------------------------------------------------------------------
def _sum_max(a: tuple[float, float], b: tuple[float, float], n: int) -> tuple[float, float]:
    """Sum over ``n`` equally spaced points from ``a`` to ``b`` (both included when n > 1) of
    ``max(compute, memory)`` where both are linear between the ends; returns (sum, the part
    where compute is the larger)."""
    if n <= 0:
        return 0.0, 0.0
    if n == 1:
        m = max(a)
        return m, (m if a[0] >= a[1] else 0.0)
    da, db = a[0] - a[1], b[0] - b[1]

    def run(lo: int, hi: int, k: int) -> float:  # sum of series k (0 compute, 1 memory), points lo..hi
        if hi < lo:
            return 0.0
        f = lambda i: a[k] + (b[k] - a[k]) * i / (n - 1)  # noqa: E731
        return (hi - lo + 1) * (f(lo) + f(hi)) / 2

    if da >= 0 and db >= 0:
        s = run(0, n - 1, 0)
        return s, s
    if da <= 0 and db <= 0:
        return run(0, n - 1, 1), 0.0
    x = (n - 1) * da / (da - db)        # where compute − memory crosses zero
    cut = math.floor(x)
    if da > 0:                          # compute first, then memory
        c = run(0, cut, 0)
        return c + run(cut + 1, n - 1, 1), c
    c = run(cut + 1, n - 1, 0)
    return run(0, cut, 1) + c, c


Times = list[tuple[float, float]]  # per op: (compute seconds, memory seconds)


def _scaled(roof: Roofline, gemm: float, memory: float) -> Times:
    """Per-op times of a roofline taken at unit gemm and memory efficiency, at ``gemm`` and
    ``memory`` (the other compute classes keep the efficiency they were timed at)."""
    return [(o.compute_s / gemm if o.op_class == "gemm" else o.compute_s, o.memory_s / memory) for o in roof.ops]


def _phase(times: list[Times], roofs: list[Roofline], ctxs: list[int], overhead_s: float,
           comm_s: float) -> PhaseTime:
    """Sum the steps at every integer context from ctxs[0] to ctxs[-1], given the per-op times
    at the breakpoints ``ctxs`` (a single breakpoint: one step)."""
    if len(times) == 1:
        t = times[0]
        roof_s = sum(max(c, m) for c, m in t)
        cb = sum(c for c, m in t if c >= m)
        return PhaseTime(roof_s + overhead_s + comm_s, sum(c for c, _ in t), sum(m for _, m in t), roof_s,
                         overhead_s, comm_s, roofs[0].flops, roofs[0].bytes, 1, cb)
    total = cb = comp = mem = flops = nbytes = 0.0
    steps = ctxs[-1] - ctxs[0] + 1
    for j in range(len(times) - 1):
        ta, tb = times[j], times[j + 1]
        last = j == len(times) - 2
        n = ctxs[j + 1] - ctxs[j] + (1 if last else 0)     # points in this segment
        span = ctxs[j + 1] - ctxs[j]
        if len(ta) != len(tb):
            raise AssertionError("decode graphs at two contexts differ in their ops")
        for (ca, ma), (cb_, mb) in zip(ta, tb):
            # values at the segment's own points: ctxs[j] .. ctxs[j] + n - 1
            end = (ca + (cb_ - ca) * (n - 1) / span, ma + (mb - ma) * (n - 1) / span)
            s, c = _sum_max((ca, ma), end, n)
            total += s
            cb += c
            comp += n * (ca + end[0]) / 2
            mem += n * (ma + end[1]) / 2
        ra, rb = roofs[j], roofs[j + 1]
        flops += n * (ra.flops + (rb.flops - ra.flops) * (n - 1) / span / 2)
        nbytes += n * (ra.bytes + (rb.bytes - ra.bytes) * (n - 1) / span / 2)
    return PhaseTime(total + steps * (overhead_s + comm_s), comp, mem, total, steps * overhead_s,
                     steps * comm_s, flops, nbytes, steps, cb)


def _curve(times: list[Times], ctxs: list[int], extra: float, points: int = 17) -> list[tuple[int, float]]:
    """Step time sampled at up to ``points`` contexts (linear between the breakpoints)."""
    if len(times) == 1:
        return [(ctxs[0], sum(max(c, m) for c, m in times[0]) + extra)]
    lo, hi = ctxs[0], ctxs[-1]
    out: list[tuple[int, float]] = []
    for k in range(points):
        c = round(lo + (hi - lo) * k / (points - 1))
        if out and out[-1][0] == c:
            continue
        j = max(i for i in range(len(ctxs) - 1) if ctxs[i] <= c) if c < hi else len(ctxs) - 2
        f = (c - ctxs[j]) / (ctxs[j + 1] - ctxs[j])
        t = sum(max(ca + (cb - ca) * f, ma + (mb - ma) * f)
                for (ca, ma), (cb, mb) in zip(times[j], times[j + 1]))
        out.append((c, t + extra))
    return out


@dataclass
class _Prepared:
    """Everything about one request that does not depend on the efficiency factors: the
    rooflines at unit gemm and memory efficiency, so a fit can re-time them cheaply."""

    layers: int
    pre: Roofline
    dec: list[Roofline]
    ctxs: list[int]
    comm_pre: float
    comm_dec: float


@dataclass
class Timing:
    prefill: PhaseTime
    decode: PhaseTime
    first_step_s: float
    last_step_s: float
    curve: list[tuple[int, float]]


def timing(prep: _Prepared, gemm: float, memory: float, layer_overhead_s: float, *,
           prefill: bool = True, decode: bool = True) -> Timing:
    """Prefill and decode times of a prepared request at the efficiencies given."""
    layer_s = prep.layers * layer_overhead_s
    pre = dec = None
    first = last = 0.0
    curve: list[tuple[int, float]] = []
    if prefill:
        pre = _phase([_scaled(prep.pre, gemm, memory)], [prep.pre], [0], layer_s, prep.comm_pre)
    if decode:
        times = [_scaled(r, gemm, memory) for r in prep.dec]
        dec = _phase(times, prep.dec, prep.ctxs, layer_s, prep.comm_dec)
        extra = layer_s + prep.comm_dec
        first = sum(max(c, m) for c, m in times[0]) + extra
        last = sum(max(c, m) for c, m in times[-1]) + extra
        curve = _curve(times, prep.ctxs, extra)
    return Timing(pre, dec, first, last, curve)


def _allreduce_s(n: int, nbytes: float, link_gbps: float) -> float:
    if n <= 1:
        return 0.0
    return 2 * (n - 1) / n * nbytes / (link_gbps * 1e9) + ALLREDUCE_LATENCY_S


# -- the entry point ------------------------------------------------------------------------
def llm(model: str, chip: str, *, prompt: int = 512, output: int = 128, batch: int = 1,
        precision: str | Precision = "fp16", kv_precision: str | None = None, context: int | None = None,
        chips_count: int = 1, link_gbps: float | None = None, engine: str = "auto",
        group_size: int | None = None, overhead_gb: float | None = None, power_mode: str | None = None,
        chips_files: Iterable[str] = ()) -> LLMResult:
    """Time to first token, time per output token and memory of ``model`` serving ``batch``
    sequences of ``prompt`` + ``output`` tokens on ``chips_count`` chips ``chip``."""
    validate(LLMParams, chip=chip, prompt=prompt, output=output, batch=batch, precision=precision,
             kv_precision=kv_precision, context=context, chips_count=chips_count, link_gbps=link_gbps,
             engine=engine, group_size=group_size, overhead_gb=overhead_gb, power_mode=power_mode,
             chips_files=chips_files)
    chip = with_mode(chip, power_mode)
    for name, v in (("prompt", prompt), ("output", output), ("batch", batch), ("chips_count", chips_count)):
        if not isinstance(v, int) or isinstance(v, bool):
            raise ChipfitError(f"`{name}` must be a positive integer, got {v!r}")
    if context is not None and context < prompt + output:
        raise ChipfitError(f"`context` {context} is shorter than `prompt` + `output` = {prompt + output:,} "
                           f"tokens: the KV cache must hold them all")
    if overhead_gb is None:
        overhead_gb = DEFAULT_OVERHEAD_GB
    prec = get_precision(precision)
    if group_size is not None:
        prec = prec.with_group_size(group_size)
    kv = _kv_precision(prec, kv_precision)
    m = _decoder(model)
    image, max_positions = m.image_tokens, m.text.max_positions
    needed = prompt + output
    if max_positions and needed + image > max_positions:
        with_image = f" + {image:,} image tokens" if image else ""
        raise ChipfitError(f"prompt {prompt:,}{with_image} + output {output:,} = {needed + image:,} tokens exceed "
                           f"the {max_positions:,}-token context of {m.name}")
    ctx = context or needed
    if max_positions and ctx + image > max_positions:
        raise ChipfitError(f"`context` {ctx:,} exceeds the {max_positions:,}-token context of {m.name}")

    record, unit = _unit(chip, prec, chips_files)
    engine, engine_note = engine_for(engine, prec.name)
    eff = on_chip(lookup(unit.efficiency_class, engine), unit.clock_mhz.value if unit.clock_mhz else None)
    base = for_class(unit.efficiency_class)
    n = chips_count
    link = link_gbps or DEFAULT_LINK_GBPS
    peak_tops, kernel_note = matrix_peak(unit, prec.compute, engine)
    bw_fig = record.chip.memory_bandwidth_gbps
    bw = bw_fig.value * 1e9 if bw_fig else 0.0
    variant = zoo.variant_note(model) if isinstance(model, str) else None
    notes: list[str] = [n for n in (variant, engine_note, kernel_note) if n]
    if not bw:
        notes.append("no DRAM bandwidth in the database for this chip: memory time is not modelled, "
                     "so decode is far too optimistic")
    if eff.fallback:
        notes.append(eff.fallback)

    # rooflines at unit gemm and memory efficiency: the engine's factors are applied by timing()
    unit_eff = Efficiency(1.0, base.depthwise, base.vector, 1.0, unit.efficiency_class, "unit")

    def run(g: CostGraph) -> Roofline:
        return roofline(g, prec, peak_tops * 1e12 * n, bw * n, unit_eff, batch=1, kv_bits=kv.activation_bits)

    act_bytes = prec.activation_bits / 8
    pre_graph = m.graph("prefill", prompt, 0, batch)
    # decode: steps at contexts prompt .. prompt + output - 2 (one step at the prompt if output == 1)
    c0, c1 = prompt, prompt + max(output - 1, 1) - 1
    ctxs = sorted({c0, c1} | {w - 1 - image for w in m.windows if c0 < w - 1 - image < c1})
    prep = _Prepared(m.layers, run(pre_graph), [run(m.graph("decode", 1, c, batch)) for c in ctxs], ctxs,
                     2 * m.layers * _allreduce_s(n, batch * (prompt + image) * m.hidden * act_bytes, link),
                     2 * m.layers * _allreduce_s(n, batch * m.hidden * act_bytes, link))
    t = timing(prep, eff.prefill_gemm, eff.decode_memory, eff.layer_overhead_s)

    # memory, per chip
    kv_seq_elems = m.graph("prefill", ctx, 0, 1).kv_cache_elems
    # a fixed state per sequence (linear-attention, short-convolution layers) does not grow with the context
    state_elems = m.state_elems()
    kv_token = (kv_seq_elems - state_elems) * kv.activation_bits / 8 / (ctx + image)
    kv_split = min(n, m.kv_heads)
    weights = math.ceil(pre_graph.weight_bytes(prec) / n)
    act_seq = pre_graph.peak_activation_bytes(prec) / batch
    overhead = int(overhead_gb * 1e9)
    capacity, _ = capacity_of(record.chip)
    reserved = record.chip.memory_reserved_gb
    mem = Memory(weights, math.ceil(kv_seq_elems * batch * kv.activation_bits / 8 / kv_split),
                 math.ceil(act_seq * batch), overhead, capacity, int(reserved.value * 1e9) if reserved else 0)
    kv_seq_chip = kv_seq_elems * kv.activation_bits / 8 / kv_split
    if capacity is None:
        max_batch, max_ctx, limit = 0, max_positions or 0, "model"
        notes.append("no memory capacity in the database for this chip: memory fit not checked")
    else:
        room = capacity - overhead - weights
        max_batch = max(0, int(room // (kv_seq_chip + act_seq))) if room > 0 else 0
        per_token = kv_token / kv_split * batch
        room_ctx = room - act_seq * batch - state_elems * kv.activation_bits / 8 / kv_split * batch
        mem_ctx = int(room_ctx // per_token) if room_ctx > 0 else 0
        if m.windows and all(layer.attn.window for layer in m.text.stack.layers):
            mem_ctx = max_positions or mem_ctx   # the cache stops growing at the window
        max_ctx, limit = mem_ctx, "memory"
        if max_positions and max_positions <= mem_ctx:
            max_ctx, limit = max_positions, "model"
    if m.windows:
        notes.append(f"sliding-window attention ({', '.join(f'{w:,}' for w in sorted(m.windows))} "
                     f"tokens): the cache of those layers stops growing at the window")
    if n > 1:
        notes.append(f"tensor parallelism over {n} chips: every op split evenly; 2 all-reduces per layer "
                     f"over {link:g} GB/s" + (" (default: PCIe 4.0 x16; set `link_gbps`)" if link_gbps is None else ""))
        if m.kv_heads < n:
            notes.append(f"{m.kv_heads} KV heads < {n} chips: each chip holds a copy of some KV heads")
    if max_positions and needed + image > 0.9 * max_positions:
        notes.append(f"{needed + image:,} tokens use most of the model's {max_positions:,}-token context")
    if image:
        h, w = m.spec.vision.front.image
        notes.append(f"one {h}×{w} image: its vision encoder and projector run in the prefill (priced with the "
                     f"engine's factors) and its {image:,} tokens join the {prompt:,} prompt tokens in the cache")
    power = (unit.power_w or record.chip.power_w)
    return LLMResult(
        model=m.name, record=record, unit=unit, precision=prec, kv_precision=kv, prompt=prompt, output=output,
        batch=batch, context=ctx, chips_count=n, link_gbps=link, engine=eff.engine, efficiency=eff,
        peak_tops=peak_tops, bandwidth_gbps=bw_fig.value if bw_fig else None, layers=m.layers, hidden=m.hidden,
        params=pre_graph.params, max_positions=max_positions, prefill=t.prefill, decode=t.decode,
        first_step_s=t.first_step_s, last_step_s=t.last_step_s, curve=t.curve, memory=mem, kv_bytes_per_token=kv_token,
        max_batch=max_batch, max_context=max_ctx, max_context_limit=limit,
        power_w=power.value if power else None, graph=pre_graph, prepared=prep,
        kv_heads=m.kv_heads, notes=notes, kv_state_bytes=state_elems * kv.activation_bits / 8, image_tokens=image)


def _kv_precision(prec: Precision, kv: str | None) -> Precision:
    if kv is None:
        name = {"fp32": "fp32", "tf32": "fp32", "bf16": "bf16"}.get(prec.name, "fp16")
        return PRECISIONS[name]
    key = str(kv).strip().lower()
    if key not in KV_PRECISIONS:
        raise ChipfitError(f"unknown KV cache precision '{kv}'; choose one of: {', '.join(KV_PRECISIONS)}")
    return PRECISIONS[key]


def _unit(chip: str, prec: Precision, chips_files: Iterable[str]) -> tuple[ChipRecord, Unit]:
    record, unit = database(chips_files).get(chip)
    if unit is None or prec.compute not in unit.peaks(False):
        other = None if split_unit(chip)[1] else record.chip.unit_with(prec.compute)
        if other is None:
            have = sorted({k for u in record.chip.compute_units() for k in u.peaks(False)})
            raise ChipfitError(f"{record.id} has no dense {prec.compute} peak in the database, which "
                               f"{prec.name} computes in (it lists {', '.join(have) or 'none'})")
        unit = other
    return record, unit


# -- when it does not fit -------------------------------------------------------------------
def fit_advice(result: LLMResult, chips_files: Iterable[str] = ()) -> str:
    """One sentence: how much too big the model is and what would fit."""
    r, mem = result, result.memory
    gb = lambda b: f"{b / 1e9:,.1f} GB"  # noqa: E731
    cap = mem.capacity or 0
    per = " per chip" if r.chips_count > 1 else ""
    text = (f"{r.model} does not fit on {r.chip} ({gb(cap)}{per}): {r.precision.name} needs {gb(mem.total)}{per} "
            f"(weights {gb(mem.weights)}, KV cache {gb(mem.kv_cache)} for {r.batch} × {r.context:,} tokens, "
            f"activations {gb(mem.activations)}, runtime {gb(mem.overhead)}), {gb(mem.total - cap)} too much")
    options = []
    if r.batch > 1 and r.max_batch >= 1:
        options.append(f"`batch` {r.max_batch}")
    if r.max_context >= r.prompt + r.output and r.max_context < r.context:
        options.append(f"`context` {r.max_context:,}")
    unit_peaks = r.unit.peaks(False)
    for name in _LIGHTER:
        p = PRECISIONS[name]
        if p.bits_per_weight >= r.precision.bits_per_weight or p.compute not in unit_peaks:
            continue
        w = math.ceil(r.graph.weight_bytes(p) / r.chips_count)
        if w + mem.kv_cache + mem.activations + mem.overhead <= cap:
            options.append(f"`precision` {name} ({gb(w + mem.kv_cache + mem.activations + mem.overhead)})")
            break
    room = cap - mem.overhead - mem.activations
    if room > 0:
        kv_total = mem.kv_cache * min(r.chips_count, r.kv_heads)
        for k in range(r.chips_count + 1, 65):
            if r.weight_bytes / k + kv_total / min(k, r.kv_heads) <= room:
                options.append(f"`chips_count` {k}")
                break
    if options:
        text += "; it would fit with " + " or ".join(options)
    else:
        text += "; no lighter setting on this chip holds it"
    return text


def sweep(model: str, chip: str, key: str, values: list[int], progress=None, **kwargs: Any) -> LLMSweep:
    """``llm`` at every value of one parameter (``batch``, ``prompt``, ``output``, ``context``
    or ``chips_count``); ``progress(label, done, total)`` is told of each point."""
    if key not in SWEEP_KEYS:
        raise ChipfitError(f"`sweep` takes one of {', '.join(SWEEP_KEYS)}, got '{key}'")
    if not values:
        raise ChipfitError("`sweep` needs at least one value, e.g. batch=1,4,16")
    points = []
    for i, v in enumerate(values):
        if progress:
            progress(f"{key}={v}", i, len(values))
        kw = dict(kwargs)
        kw[key] = v
        points.append(llm(model, chip, **kw))
    return LLMSweep(key, points)


def parse_sweep(text: str) -> tuple[str, list[int]]:
    """``'batch=1,4,16'`` → ``('batch', [1, 4, 16])``."""
    key, sep, vals = str(text).partition("=")
    key = key.strip().replace("-", "_")
    if not sep or key not in SWEEP_KEYS:
        raise ChipfitError(f"`sweep` must look like batch=1,4,16 (one of {', '.join(SWEEP_KEYS)}), "
                           f"got '{text}'")
    try:
        values = [int(v) for v in vals.split(",") if v.strip()]
    except ValueError:
        raise ChipfitError(f"`sweep` values must be integers, got '{vals}'") from None
    if not values:
        raise ChipfitError(f"`sweep` needs at least one value, got '{text}'")
    return key, values


__all__ = ["LLMResult", "LLMSweep", "fit_advice", "llm", "parse_sweep", "sweep"]
