"""Per-op roofline of a cost graph on one compute unit: plain data, no printing.

For every op::

    compute_s = flops / (peak_ops_per_s × compute efficiency of the op's class)
    memory_s  = bytes / (bandwidth × memory efficiency)
    time_s    = max(compute_s, memory_s) + staging_s + overhead     bound = the larger of the two

and the model's latency is the sum over ops (ops run one after another), plus a fixed cost per
call. Batch ``B`` multiplies FLOPs and activation bytes by ``B``; weights are read once per batch.

**Fixed cost per op.** An edge runtime pays a fixed cost to start each op it runs (a kernel
launch, an NPU layer switch): ``efficiency.op_overhead_s`` per op that computes and is not fused
into the op before it, once per batch, and ``efficiency.call_overhead_s`` once per call (per batch).
This is why small models at batch 1 run slower than their roofline and why a batch of 8 costs less
per image. **Input and output**: a class with ``efficiency.io_s_per_element`` also pays that per
element of the network's input and of its last op's output, per image (the host copies and converts
them), at the fixed-cost speed. **Chip speed**: a measured chip's ``efficiency.speed`` multiplies its
compute rate and bandwidth, and its ``efficiency.fixed_rate`` divides the fixed costs (per op, per
data move, per call, a context reload, the input and output) (1 for a chip never measured).

**Attention and data movement.** A matrix product of two activations (attention's QKᵀ and AV:
no weights) runs at the class's ``attention`` efficiency when it has one (NPUs run these far
below their convolution rate), else at ``gemm``. A data-movement op that moves bytes (a concat,
a transpose or shuffle copy, a roll, a pad) pays ``efficiency.data_overhead_s``, once per batch.

**Dataflow chips and contexts** (``efficiency.dataflow``, Hailo). A network that fits the chip
runs in one *context*: every layer has its own part of the chip and they all run at once, as a
pipeline, so no op pays a fixed cost. What fits is ``efficiency.context_bytes`` (the chip's
measured one-context capacity), against the network's weights plus its largest op working set
(inputs and outputs of one op, one image: what ``check`` asks of a chip's memory) plus
``efficiency.context_bytes_per_layer`` for each layer (an op that computes and is not fused: every
layer takes a part of the chip, whatever its weights); a
network that needs more, or that has attention, is split into contexts that run one after
another: then every op pays its fixed cost and the weights reload once per batch
(``weight bytes / efficiency.context_link_bw``), which a larger batch amortises. A chip whose
capacity was never measured is priced as one context, and says so. In one context, depthwise
convolutions and table activations run at their one-context rates
(``efficiency.one_context_compute``: the class's rate times ``one_context_depthwise`` or
``one_context_activation``, at most the rated peak).

**On-chip memory and host link.** A coprocessor without DRAM of its own (an Edge TPU on USB or
PCIe) keeps weights in its on-chip memory (``onchip_bytes``) while they fit, filled in the
order the ops run; the weights of every later op cross the host link (``link_bandwidth``
bytes/s) on every batch, which adds ``streamed bytes / link_bandwidth`` to that op's memory time.

**On-chip buffer** (``efficiency.buffer_bytes``, a threshold fitted per edge runtime class). An op
whose working set (its bytes after fusion: weights and the activations it reads and writes) fits
it is charged no DRAM time (the NPU moves it while computing); a larger one (a high-resolution
feature map, tiled through DRAM) is charged all of its bytes. 0 (every other class): every op is.
A dataflow chip streams the images of a batch through each layer one at a time, so there an op's
bytes per image (its bytes over the batch) are what must fit.

**Staging** (``efficiency.staging``, fitted per edge runtime class; none where it does not help the
fit). A runtime that copies every op's tensors in and out of the accelerator's local memory without
overlapping the copy with the op's compute adds ``bytes / (bandwidth × staging)`` to each op's time
(``staging_s``), whether or not the op fits the buffer.

**Channel tiles** (``efficiency.channel_tile``, fitted per edge runtime class). An NPU's MAC array
takes a fixed number of input and output channels at a time; a convolution or linear layer whose
channels (per group) are not whole tiles pays for the padding: its compute time is that of its
channels rounded up to whole tiles (:func:`channel_padding`; a 3-channel image into 20 channels
at a tile of 16 costs 16/3 × 32/20 ≈ 8.5 times its MACs). The MACs reported stay the network's own.

**Ops left to the host CPU** (``on_host``, one flag per op: what the runtime's accelerator does
not run, :mod:`chipfit.analysis.fallback`). Such an op runs on the host's CPU unit (``host``: its
peak, DRAM bandwidth and efficiency class) by the same formula; it fuses with nothing across the
boundary, streams no weights, and on a coprocessor behind a host link the activations it reads
from the accelerator, and those the accelerator reads back from it, cross that link before the op
starts (``transfer_s``, added to its time: nothing overlaps a copy the next op waits for). Without a
``host`` such ops take no time and the roofline says so (``host_priced`` false).

**Weight-only formats** (``w4a16``, ``q4_0``, …) read narrow weights and pay for it on the
compute side: every weight element read is dequantized (``DEQUANT_OPS`` operations: scale
and offset) before the 16-bit matrix product; those operations are added to the op's FLOPs.
**KV cache**: the cache elements an op reads or writes move at ``kv_bits`` (default: the
activation width), so a quantized cache (``--kv-precision fp8``) is priced as such.

**Bytes and fusion.** Deployment runtimes (TensorRT, ONNX Runtime, RKNN, DLA and NPU
compilers) fuse point-wise ops (norms, activations, element-wise arithmetic) into the
convolution or matrix product before them, so the intermediate tensor never goes to DRAM.
With ``fuse=True`` (the default) a point-wise op that directly follows a compute op (or
another fused op) with an output of the same size is fused: the chain's intermediate is
neither written nor read again; only its other inputs (the residual of an ``add``) and its
final output move. A decomposed activation (an exporter's ``Sigmoid`` then ``Mul`` for SiLU, the
``Erf`` chain of GELU, ``tanh(softplus)`` of Mish) is fused as the single op it stands for: once
the chain holds a gate function (:data:`GATE_OPS`), an element-wise op that reads the chain's
starting tensor again reads it on chip, so a network priced from PyTorch and from its ONNX export
moves the same bytes. For a class fitted that way (``efficiency.folds_batch_norm``, chosen per edge
runtime class by its fit) a batch normalisation fused directly after a convolution or linear layer
is folded into that layer's weights and bias, as deployment compilers do: it takes no time (its
FLOPs still count in the totals). With ``fuse=False`` every op reads its inputs and writes its
outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from math import prod

from chipfit.core.costgraph import CostGraph, Op
from chipfit.core.opfamily import channel_dims, family, is_depthwise, is_normalising, is_table_activation
from chipfit.core.precision import Precision
from chipfit.core.units import duration, human_bytes
from chipfit.data.efficiency import Efficiency

#: Op kinds that run on the matrix engine.
MATRIX_KINDS = frozenset({"conv", "linear", "matmul", "attention"})
#: Point-wise kinds a runtime fuses into the op before them.
FUSIBLE_KINDS = frozenset({"norm", "activation", "elementwise"})
#: Point-wise functions that, followed by a multiply or an add with the tensor they were applied
#: to, make a decomposed activation (SiLU = x · sigmoid(x), GELU = x · (1 + erf(x/√2)) / 2,
#: Mish = x · tanh(softplus(x))): an exporter writes them as several ops, a runtime fuses them
#: into one, so the tensor they started from is still on chip.
GATE_OPS = ("sigmoid", "tanh", "erf", "hardsigmoid", "softplus")
#: Operations to dequantize one weight element of a weight-only format (multiply by the
#: group's scale, add its offset), run once per weight read.
DEQUANT_OPS = 2
#: Dataflow chips: a network whose one-context need is within this factor of the chip's capacity
#: is priced both ways (one context, split). The capacity is a threshold set between the measured
#: networks that ran in one context and those that were split, and the need is a sum of sizes, not
#: the compiler's own allocation: measured networks this close to it ran either way, so a
#: prediction's error band covers both prices.
NEAR_CAPACITY = 2.0


def op_class(op: Op) -> str:
    """``gemm``, ``depthwise`` or ``vector``: which compute efficiency the op runs at."""
    if is_depthwise(op):
        return "depthwise"
    if op.kind in MATRIX_KINDS:
        return "gemm"
    return "vector"


def channel_padding(op: Op, tile: int) -> float:
    """What a convolution (not depthwise) or a matrix product with a weight costs on a MAC array
    that takes ``tile`` input and ``tile`` output channels at a time, over its MACs: each group's
    channels rounded up to whole tiles (1 without a tile, and for every other op)."""
    dims = channel_dims(op) if tile else None
    if dims is None or not all(dims):
        return 1.0
    return prod(-(-c // tile) * tile / c for c in dims)


def is_activation_matmul(op: Op) -> bool:
    """A matrix product of two activations (attention's QKᵀ and AV): it reads no weights."""
    return op.kind in ("matmul", "attention") and not op.weight_elems


@dataclass(slots=True)
class OpTime:
    """One op on the chip: what it costs and how long it takes."""

    name: str
    kind: str
    op: str
    op_class: str
    flops: int
    bytes: int
    compute_s: float
    memory_s: float
    fused: bool = False  # folded into the op before it (its intermediate stays on chip)
    macs: int = 0        # multiply-accumulates of the op at this batch
    overhead_s: float = 0.0  # fixed cost to start the op (0 when fused)
    streamed_bytes: int = 0  # weight bytes that cross the host link (not held on chip)
    link_s: float = 0.0      # part of memory_s spent on the host link
    on_host: bool = False    # left to the host CPU by the runtime (see ``Roofline.host``)
    transfer_s: float = 0.0  # activations crossing the host link between accelerator and host, before it
    weight_part: float = 0.0  # of ``bytes``, the weights (read once per batch)
    fixed_flops: int = 0      # of ``flops``, the dequantization of weights (once per batch)
    dram_rate: float = 0.0    # bytes/s at which its bytes move to and from DRAM (0: not modelled)
    buffer: float = 0.0       # on-chip buffer: an op with at most this many bytes pays no DRAM time
    staging_rate: float = 0.0  # bytes/s at which every byte of the op is also staged (0: not modelled)

    @property
    def staging_s(self) -> float:
        """Time to stage the op's bytes in and out of the accelerator's local memory, not overlapped
        with its compute (the class's ``staging``; 0 for a class without one)."""
        return _rate_s(self.bytes, self.staging_rate)

    @property
    def time_s(self) -> float:
        return max(self.compute_s, self.memory_s) + self.staging_s + self.overhead_s + self.transfer_s

    def time_at(self, scale: float) -> float:
        """The op's time at ``scale`` times this batch: activations, their FLOPs and crossings scale,
        weights, their dequantization, streaming and the fixed cost do not."""
        compute = (self.compute_s * ((self.flops - self.fixed_flops) * scale + self.fixed_flops) / self.flops
                   if self.flops else 0.0)
        nbytes = self.weight_part + (self.bytes - self.weight_part) * scale
        memory = _dram_s(nbytes, self.dram_rate, self.buffer) + self.link_s
        return max(compute, memory) + _rate_s(nbytes, self.staging_rate) + self.overhead_s + self.transfer_s * scale

    @property
    def bound(self) -> str:
        return "compute" if self.compute_s >= self.memory_s else "memory"

    @property
    def intensity(self) -> float:
        """FLOPs per byte moved (arithmetic intensity)."""
        return self.flops / self.bytes if self.bytes else float("inf")

    def to_dict(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "op": self.op, "op_class": self.op_class,
            "macs": self.macs, "flops": self.flops, "bytes": self.bytes,
            "intensity": None if not self.bytes else round(self.intensity, 3),
            "compute_s": self.compute_s, "memory_s": self.memory_s, "time_s": self.time_s,
            "bound": self.bound, "fused": self.fused, "overhead_s": self.overhead_s,
            "streamed_bytes": self.streamed_bytes, "link_s": self.link_s, "on_host": self.on_host,
            "transfer_s": self.transfer_s, "staging_s": self.staging_s,
        }


@dataclass
class Roofline:
    """The per-op roofline of one batch on one unit."""

    ops: list[OpTime]
    batch: int
    peak_ops: float        # ops/s, dense peak of the unit at the precision
    bandwidth: float       # bytes/s, DRAM peak (0 when unknown: memory time not modelled)
    efficiency: Efficiency
    fused: bool
    notes: list[str] = field(default_factory=list)
    onchip_bytes: float = 0.0      # on-chip weight memory (0: not modelled)
    link_bandwidth: float = 0.0    # host link, bytes/s (0: not modelled)
    call_overhead_s: float = 0.0   # fixed cost of one call of the runtime (one batch)
    weight_bytes: float = 0.0      # weights at the precision (once per batch)
    max_act_bytes: float = 0.0     # the largest op working set (inputs + outputs), one image
    has_attention: bool = False    # the graph multiplies two activations (attention)
    split: bool | None = None      # dataflow chips: split into contexts (None: not a dataflow chip)
    context_bytes: float = 0.0     # dataflow: the chip's one-context capacity (0: not measured)
    context_s: float = 0.0         # dataflow, split: weights reloaded once per batch
    io_s: float = 0.0              # the host's copy and conversion of the input and output, the batch's
    other_latency_s: float | None = None  # dataflow, near the capacity: one batch priced the other way
    layers: int = 0                # dataflow: the ops that are layers of their own (compute, not fused)
    host: HostRate | None = None   # the CPU that runs the ops left to it (None: none named)
    host_priced: bool = True       # False: ops are left to a host CPU no chip figure prices (no time)

    @property
    def host_ops(self) -> list[OpTime]:
        """The ops the runtime leaves to the host CPU."""
        return [o for o in self.ops if o.on_host]

    @property
    def host_s(self) -> float:
        return sum(o.time_s for o in self.ops if o.on_host)


    @property
    def context_need_bytes(self) -> float:
        """What a dataflow chip must hold to run the network in one context: weights + the largest
        op working set (one image) + the class's allowance per layer times the layers."""
        return self.weight_bytes + self.max_act_bytes + self.layers * self.efficiency.context_bytes_per_layer

    @property
    def near_capacity(self) -> bool:
        """Dataflow: the one-context need is within a factor :data:`NEAR_CAPACITY` of the chip's
        measured capacity (and no attention forces a split): where the compiler's choice between one
        context and several is hardest to tell from the network's sizes."""
        return bool(self.split is not None and self.context_bytes and not self.has_attention
                    and 1 / NEAR_CAPACITY <= self.context_need_bytes / self.context_bytes <= NEAR_CAPACITY)

    @property
    def overhead_s(self) -> float:
        return sum(o.overhead_s for o in self.ops)

    def fixed_cost_ops(self) -> tuple[list[OpTime], list[OpTime]]:
        """The ops that pay a fixed cost: those that start a computation, and the data moves."""
        paid = [o for o in self.ops if o.overhead_s]
        return [o for o in paid if o.kind != "data"], [o for o in paid if o.kind == "data"]

    @property
    def staging_rate(self) -> float:
        """Bytes/s at which the accelerator's ops stage their bytes (0: its class stages nothing)."""
        return max((o.staging_rate for o in self.ops), default=0.0)

    @property
    def streamed_bytes(self) -> int:
        return sum(o.streamed_bytes for o in self.ops)

    @property
    def link_s(self) -> float:
        return sum(o.link_s for o in self.ops)

    @property
    def latency_s(self) -> float:
        return sum(o.time_s for o in self.ops) + self.call_overhead_s + self.context_s + self.io_s

    def latency_at(self, batch: int) -> float:
        """The latency of one batch of ``batch`` from this roofline, without pricing every op again
        (equal to ``roofline(..., batch=batch).latency_s``)."""
        scale = batch / self.batch
        return sum(o.time_at(scale) for o in self.ops) + self.call_overhead_s + self.context_s + self.io_s * scale

    def repeated(self, calls: int) -> "Roofline":
        """``calls`` runs of this batch one after the other, as one batch ``calls`` times larger: what a
        runtime that takes one image per call does with a batch. Every op's FLOPs, bytes and times, and
        the per-call costs, are ``calls`` times this batch's; the weights held stay the network's."""
        n = calls
        ops = [replace(o, flops=o.flops * n, bytes=o.bytes * n, compute_s=o.compute_s * n, memory_s=o.memory_s * n,
                       macs=o.macs * n, overhead_s=o.overhead_s * n, streamed_bytes=o.streamed_bytes * n,
                       link_s=o.link_s * n, transfer_s=o.transfer_s * n, weight_part=o.weight_part * n,
                       fixed_flops=o.fixed_flops * n) for o in self.ops]
        return replace(self, ops=ops, batch=self.batch * n, call_overhead_s=self.call_overhead_s * n,
                       context_s=self.context_s * n, io_s=self.io_s * n,
                       other_latency_s=None if self.other_latency_s is None else self.other_latency_s * n)

    def throughput_at(self, batch: int) -> float:
        """Inferences per second at ``batch`` (see :meth:`latency_at`)."""
        latency = self.latency_at(batch)
        return batch / latency if latency > 0 else float("inf")

    @property
    def flops(self) -> int:
        return sum(o.flops for o in self.ops)

    @property
    def bytes(self) -> int:
        return sum(o.bytes for o in self.ops)

    @property
    def compute_s(self) -> float:
        return sum(o.compute_s for o in self.ops)

    @property
    def memory_s(self) -> float:
        return sum(o.memory_s for o in self.ops)

    def time_by_bound(self) -> dict[str, float]:
        """Time of the ops limited by compute and by memory (fixed op costs not included)."""
        out = {"compute": 0.0, "memory": 0.0}
        for o in self.ops:
            out[o.bound] += o.time_s - o.overhead_s
        return out

    @property
    def bound(self) -> str:
        t = self.time_by_bound()
        return "compute" if t["compute"] >= t["memory"] else "memory"

    @property
    def throughput(self) -> float:
        """Inferences per second when batches run back to back."""
        return self.batch / self.latency_s if self.latency_s > 0 else float("inf")


@dataclass(frozen=True)
class HostRate:
    """The host CPU unit that runs the ops a runtime leaves to it."""

    name: str               # chip id and unit, as a user names it
    peak_ops: float         # ops/s at the precision it runs them in
    bandwidth: float        # bytes/s of its DRAM (0: unknown)
    efficiency: Efficiency


def roofline(graph: CostGraph, precision: Precision, peak_ops: float, bandwidth: float,
             efficiency: Efficiency, batch: int = 1, fuse: bool = True,
             kv_bits: float | None = None, onchip_bytes: float = 0.0,
             link_bandwidth: float = 0.0, on_host: Sequence[bool] | None = None,
             host: HostRate | None = None) -> Roofline:
    """Time every op of ``graph`` at ``batch`` on a unit with ``peak_ops`` ops/s and
    ``bandwidth`` bytes/s (0 = unknown), at the efficiencies given; with ``link_bandwidth``,
    weights beyond ``onchip_bytes`` stream over the host link; ops flagged in ``on_host`` run
    on ``host``."""
    if peak_ops <= 0:
        raise ValueError("peak_ops must be positive")
    times: list[OpTime] = []
    chain = 0  # elements of the tensor the previous (fusible-into) op produced, 0 if none
    gated = False  # the chain holds a gate function (a decomposed activation in progress)
    speed = efficiency.speed
    peak_ops = peak_ops * speed
    mem_rate = bandwidth * efficiency.memory * speed
    staging_rate = bandwidth * efficiency.staging * speed  # 0: the class stages nothing
    buffer = efficiency.buffer_bytes  # an op's bytes up to this stay on chip: no DRAM time
    if efficiency.dataflow:  # a pipeline holds one image of the batch in each layer at a time
        buffer *= batch
    overhead = efficiency.op_overhead_s / efficiency.fixed_rate
    data_overhead = efficiency.data_overhead_s / efficiency.fixed_rate
    weight_bytes, max_act, attention, layers = 0.0, 0.0, False, 0
    room = onchip_bytes if link_bandwidth else 0.0  # on-chip weight memory still free
    was_host = False
    after_weights = False  # the op before ran a convolution or linear layer on the accelerator
    for i, op in enumerate(graph.ops):
        out_elems = op.act_write_elems
        read = op.act_read_elems
        w_bits, a_bits = op.weight_bits_at(precision), op.act_bits_at(precision)
        here_host = bool(on_host is not None and on_host[i])
        crossing = here_host != was_host and i > 0
        was_host = here_host
        if crossing:  # nothing fuses across the boundary between the accelerator and the host
            chain, gated = 0, False
        fused = False
        if fuse and op.kind in FUSIBLE_KINDS and chain and _same_size(op, chain):
            fused = True
            read = max(0, read - chain)  # the chained input stays on chip
            if gated and op.kind == "elementwise" and read == chain:
                read = 0  # x · gate(x): x is the tensor the chain started from, still on chip
            gated = gated or any(g in op.op.lower() for g in GATE_OPS)
            # the producer's write of the intermediate is cancelled as well
            if times:
                prev = times[-1]
                cancel = chain * batch * a_bits / 8
                prev.bytes = int(max(0, prev.bytes - cancel))
                prev.memory_s = _dram_s(prev.bytes, prev.dram_rate, prev.buffer) + prev.link_s
        flops = op.flops * batch
        act_bits = (read + out_elems) * batch * a_bits
        if kv_bits is not None and (op.cache_read_elems or op.cache_write_elems):
            cache = op.cache_read_elems + op.cache_write_elems
            act_bits += cache * batch * (kv_bits - a_bits)
        nbytes = int((op.weight_elems * w_bits + act_bits) / 8)
        cls = op_class(op)
        if is_activation_matmul(op) and op.flops:
            attention = True
            if efficiency.attention is not None:
                cls = "attention"
        elif efficiency.activation is not None and cls == "vector" and is_table_activation(op):
            cls = "activation"
        elif efficiency.norm is not None and cls == "vector" and is_normalising(op):
            cls = "norm"
        max_act = max(max_act, (op.act_read_elems + out_elems) * a_bits / 8)  # the op's working set
        crossing_s = read * batch * a_bits / 8 / link_bandwidth if crossing and link_bandwidth else 0.0
        if here_host:
            times.append(_host_op(op, cls, flops, nbytes, batch, host, fused, crossing_s,
                                  op.weight_elems * w_bits / 8))
        else:
            weight_bytes += op.weight_elems * w_bits / 8  # what the accelerator holds, or reloads
            compute_s = flops * channel_padding(op, efficiency.channel_tile) / (peak_ops * efficiency.compute(cls))
            if efficiency.folds_batch_norm and fused and after_weights and family(op) == "batch_norm":
                compute_s = 0.0  # folded into the weights and bias of the layer before it
            dq = 0
            if w_bits < a_bits and op.weight_elems and cls != "vector":
                dq = DEQUANT_OPS * op.weight_elems
                flops += dq
                compute_s += dq / (peak_ops * efficiency.compute(cls))
            memory_s = _dram_s(nbytes, mem_rate, buffer)
            streamed, link_s = 0, 0.0
            if link_bandwidth and op.weight_elems:
                w_bytes = op.weight_elems * w_bits / 8
                held = min(w_bytes, room)
                room -= held
                streamed = int(w_bytes - held)
                link_s = streamed / link_bandwidth
                memory_s += link_s
            layers += bool(op.flops and not fused)
            fixed = overhead if op.flops and not fused else (data_overhead if op.kind == "data" and nbytes else 0.0)
            times.append(OpTime(op.name, op.kind, op.op, cls, flops, nbytes, compute_s, memory_s, fused,
                                op.macs * batch, fixed, streamed, link_s, transfer_s=crossing_s,
                                weight_part=op.weight_elems * w_bits / 8, fixed_flops=dq, dram_rate=mem_rate,
                                buffer=buffer, staging_rate=staging_rate))
        chain = out_elems if (op.kind in MATRIX_KINDS or op.kind in FUSIBLE_KINDS) and out_elems else 0
        gated = gated and fused
        after_weights = op.kind in ("conv", "linear") and bool(op.weight_elems) and not here_host
    notes = []
    if not bandwidth and not link_bandwidth:
        notes.append("no DRAM bandwidth in the database for this chip: memory time is not modelled")
    called = any(t.flops for t in times)  # a graph without work calls nothing
    r = Roofline(times, batch, peak_ops / speed, bandwidth, efficiency, fuse, notes, onchip_bytes,
                 link_bandwidth, efficiency.call_overhead_s / efficiency.fixed_rate if called else 0.0,
                 weight_bytes, max_act, attention, host=host,
                 host_priced=host is not None or not any(t.on_host and (t.flops or t.bytes) for t in times))
    if called and efficiency.io_s_per_element:  # the host moves the input and output of every image
        r.io_s = efficiency.io_s_per_element * graph.io_elements * batch / efficiency.fixed_rate
    if efficiency.dataflow:
        r.context_bytes = efficiency.context_bytes
        r.layers = layers
        r.split = bool(efficiency.context_bytes) and (attention or r.context_need_bytes > efficiency.context_bytes)
        rate = efficiency.context_link_bw * efficiency.fixed_rate
        reload_s = weight_bytes / rate if rate else 0.0
        fixed_s = sum(t.overhead_s for t in times if not t.on_host)
        # in one context, depthwise convolutions and table activations run at rates of their own
        scales = {c: efficiency.compute(c) / efficiency.one_context_compute(c) for c in efficiency.one_context_rates}
        rated = [(t, scales[t.op_class]) for t in times
                 if not t.on_host and t.compute_s and scales.get(t.op_class, 1.0) != 1.0]
        split_time = sum(t.time_s - t.overhead_s for t, _ in rated)  # those ops at their rates, without fixed costs
        if r.split:
            r.context_s = reload_s
        else:  # one context: the layers run at once, as a pipeline, with no fixed cost each
            for t in times:
                if not t.on_host:
                    t.overhead_s = 0.0
            for t, scale in rated:
                t.compute_s *= scale
            if not efficiency.context_bytes:
                notes.append("this chip's one-context capacity was never measured: priced as one context "
                             "(a network too big for the chip would be split and run slower)")
        if r.near_capacity:  # the other choice: one context drops the fixed costs and the reload
            one_time = sum(max(t.compute_s * (scale if r.split else 1), t.memory_s) + t.staging_s + t.transfer_s
                           for t, scale in rated)  # those ops in one context, without their fixed costs
            r.other_latency_s = r.latency_s + (-1 if r.split else 1) * (fixed_s + reload_s + split_time - one_time)
            seen = efficiency.context_misjudged
            notes.append(f"the network's one-context need, {human_bytes(r.context_need_bytes)}, is within a factor "
                         f"{NEAR_CAPACITY:g} of the chip's one-context capacity, {human_bytes(r.context_bytes)}"
                         + (f", where {seen[0]} of {seen[1]} measured networks ran the other way" if seen else "")
                         + f": priced {'split into contexts' if r.split else 'as one context'}; "
                         f"{'in one context' if r.split else 'split'}, a batch takes {duration(r.other_latency_s)}; "
                         "the error band covers both")
    return r


def _rate_s(nbytes: float, rate: float) -> float:
    """Time to move ``nbytes`` at ``rate`` bytes/s; none when there is no rate."""
    return nbytes / rate if rate else 0.0


def _dram_s(nbytes: float, rate: float, buffer: float) -> float:
    """DRAM time of an op's bytes at ``rate`` bytes/s: none when they fit the on-chip ``buffer``."""
    return _rate_s(nbytes, rate) if nbytes > buffer else 0.0


def _host_op(op: Op, cls: str, flops: int, nbytes: int, batch: int, host: HostRate | None, fused: bool,
             transfer_s: float, weight_part: float) -> OpTime:
    """An op the runtime leaves to the host CPU, on the host's roofline (no time without a host);
    entering the host from a coprocessor, its input crosses the host link."""
    compute_s = rate = fixed = 0.0
    if host is not None:
        e = host.efficiency
        compute_s = flops / (host.peak_ops * e.compute(cls))
        rate = host.bandwidth * e.memory
        fixed = e.op_overhead_s if op.flops and not fused else 0.0
    return OpTime(op.name, op.kind, op.op, cls, flops, nbytes, compute_s, _dram_s(nbytes, rate, 0.0), fused,
                  op.macs * batch, fixed, 0, 0.0, on_host=True, transfer_s=transfer_s, weight_part=weight_part,
                  dram_rate=rate)


def _same_size(op: Op, chain: int) -> bool:
    return op.act_write_elems == chain or any(prod(s) == chain for s in op.output_shapes)
