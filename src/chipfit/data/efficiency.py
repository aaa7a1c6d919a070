"""Efficiency factors: the fraction of a chip's dense peak and bandwidth that real runs reach.

They are data (``efficiency.yaml``), fitted by ``benchmarks/fit_efficiency.py`` on the
measured rows of ``benchmarks/data/measured_public.csv`` per *efficiency class* of compute unit
(``nvidia-gpu``, ``nvidia-jetson-gpu``, ``nvidia-dla``, ``npu``, ``gpu``, ``cpu``) and per *op class*:

- ``gemm``: convolutions (groups < channels), linear layers, matrix products, attention;
- ``depthwise``: depthwise convolutions (one input channel per group), which reuse little data;
- ``vector``: everything else that computes (norms, activations, softmax, pooling, ...);
- ``memory``: the fraction of the DRAM bandwidth that ops stream at.

Each class records the rows it was fitted on and the residual error of that fit; a class with
no public measurements says so and borrows the pooled fit.

Edge runtimes (``qnn``, ``hailort``, ``rknn``, ``edgetpu``, …) are classes of their own, fitted by
``benchmarks/fit_edge.py`` on the published edge measurements of ``benchmarks/edge/``. Such a
class also has a fixed cost per op (``op_overhead_us``: kernel launch or layer switch, paid once
per batch, which makes small models slower than their roofline at batch 1) and per call of the
runtime (``call_overhead_us``: the host's side of one inference) and a speed factor
per measured chip (``chips``: how much faster or slower that chip runs than its class's rated
peaks predict); a chip never measured runs at speed 1, and its band is the class's
leave-one-chip-out error. Two more edge terms, both fitted on the same rows: ``attention``, the
efficiency of matrix products of two activations (attention's QKᵀ and AV, which NPUs run far
below their convolution rate; unset: they run at ``gemm``), and ``data_overhead_us``, a fixed
cost per data-movement op (a concat, a transpose copy) that the runtime runs as an op of its own.

**Table activations** (``activation``, fitted per edge class). An NPU applies the ReLU family's
clamps on the way out of a convolution at no cost, but evaluates SiLU, GELU, sigmoid, tanh, hard
swish and the like (:data:`chipfit.core.opfamily.TABLE_ACTIVATIONS`) with a lookup table or a
polynomial, at a rate of its own; unset, they run at ``vector``.

**Normalising ops** (``norm``, fitted per edge class where its rows have them). Layer, group and
RMS norms and softmax (:data:`chipfit.core.opfamily.NORMALISING`) each reduce over a feature axis
before they can write any output; a streaming accelerator runs them as reductions of their own, at
a rate of its own; unset, they run at ``vector``.

**Folded batch norms** (``folds_batch_norm``, chosen per edge class by its fit). Deployment
compilers fold a batch normalisation that directly follows a convolution or linear layer into that
layer's weights and bias; a class that folds prices it at no time. A class whose rows are better
explained charging it at ``vector`` does so (then it stands in for a cost per element of such
networks that the model has no term for); the NVIDIA and CPU classes were fitted charging it.

**Dataflow chips** (``dataflow: true``, Hailo): a network that fits the chip in one *context*
runs all its layers at once, as a pipeline, so it pays no per-op cost; one that does not fit is
split by the compiler into contexts that run one after another, and then pays the per-op costs
and reloads its weights once per batch at ``context_link_gbps``, which a batch of 8 amortises.
What fits is the chip's ``context_mb`` (per measured chip: the largest need, in MB, of a network
measured in one context on it: the on-chip memory is not published), against a network's need:
its int8 weights plus its largest op working set plus ``context_mb_per_layer`` for each layer (an
op that computes and is not fused: each takes a part of the chip, whatever its weights; fitted
with the capacities). A network with attention is always split. In one context, depthwise
convolutions and table activations run at ``one_context_depthwise`` and ``one_context_activation``
times the class's ``depthwise`` and ``activation`` (fitted: the one-context measurements price
those two ops differently from the split ones); a measured chip may have a one-context activation
rate of its own (the chips without DRAM of their own do).

**On-chip buffer** (``buffer_mb``, fitted per edge class). An NPU moves the tensors of an op that
fits its on-chip memory while it computes, and keeps intermediates there; one too big is tiled
through DRAM. So an op whose working set (weights plus the activations it reads and writes, after
fusion) is at most ``buffer_mb`` is charged no DRAM time, and a larger one (a high-resolution
feature map) all of its bytes at the ``memory`` factor. The buffer is a fitted threshold, not a
published SRAM size (none is published for these chips): weights are still read from DRAM, and the
required bandwidth ``check`` reports still counts every byte. A dataflow class (below) streams the
images of a batch through each layer one at a time, so its ops' bytes per image are what must fit.

**Staging** (``staging``, fitted per edge class; none where it does not help the fit). A runtime
that copies every op's tensors in and out of the NPU's local memory without overlapping the copy
with the op's compute pays for each op's bytes (weights and activations after fusion) at ``staging``
times the chip's DRAM bandwidth on top of its compute or DRAM time, whether or not the op fits the
buffer.

**Channel tiles** (``channel_tile``, fitted per edge class). A MAC array takes a fixed number of
input and output channels at a time; a convolution or linear layer whose channels per group are
not whole tiles (a 3-channel image, a grouped convolution of 4 channels per group) is charged its
channels rounded up to whole tiles.

**Input and output** (``io_ns_per_element``, fitted for the edge classes where it lowered both the
leave-one-model-out and the cross-validated error; none elsewhere). The host copies and converts the
network's input for the accelerator and its output back, for every image: a cost per element of the
input and of the last op's output, paid at the chip's fixed-cost speed. A 2048 x 1024 segmentation
network's input has 42 times the elements of a 224 x 224 classifier's.

**Error bands.** A class's ``out_of_sample`` residual pools every prediction of a row whose
model the fit never saw: the rows of the held-out models (``heldout``, chosen by a fixed rule
before fitting) and each fit row predicted by a refit without its model (leave-one-model-out).
It carries the 5th and 95th percentiles of measured / predicted latency (``band_low``,
``band_high``); a prediction's band is its latency times those. (The held-out rows alone are a
quarter of the models: a sample small enough to be luckier or unluckier than a new network.) A class with only an in-sample residual gets a
symmetric band of its p90 error; a class without measurements has no band of its own.

``--utilization U`` replaces all four factors by ``U`` (the single-factor mode of a widely shared
hand estimate). A chip calibrated by ``chipfit calibrate`` carries its own factors, which replace
its class's (:func:`for_unit`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from chipfit.core.datafile import load
from chipfit.core.errors import ChipfitError

OP_CLASSES = ("gemm", "depthwise", "vector")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Residual(_Strict):
    n: int = Field(ge=1)
    median_abs_pct: float = Field(ge=0)
    p90_abs_pct: float = Field(ge=0)
    loo_median_abs_pct: float | None = Field(default=None, ge=0)  # leave-one-out, when n > 2
    cv_median_abs_pct: float | None = Field(default=None, ge=0)   # k-fold cross-validation
    band_low: float | None = Field(default=None, gt=0)   # 5th percentile of measured / predicted latency
    band_high: float | None = Field(default=None, gt=0)  # 95th percentile of measured / predicted latency


class ChipSpeed(_Strict):
    """How fast one measured chip runs relative to its class's prediction from rated peaks."""

    speed: float = Field(gt=0, le=100)
    #: how fast it runs what is paid once per batch (op starts, data moves, the call, a context
    #: reload: the work of its control processor and host CPU); None: at ``speed``
    fixed_speed: float | None = Field(default=None, gt=0, le=100)
    rows: int = Field(ge=1)
    #: dataflow classes: the largest network (int8 weights + largest op working set, MB) measured
    #: running in one context on this chip; a bigger one is split into contexts (fitted, see
    #: benchmarks/fit_edge.py: the chip's on-chip memory is not published)
    context_mb: float | None = Field(default=None, gt=0)
    #: a chip measured in several releases of the class's runtime: ``release`` is the one ``speed``
    #: was fitted in (the class's reference release, the one most of its rows were measured in) and
    #: ``other_releases`` the speed fitted on each other release's rows; chipfit predicts with ``speed``
    release: str | None = None
    other_releases: dict[str, float] | None = None
    #: dataflow classes: this chip's one-context table-activation rate, where it differs from the
    #: class's ``one_context_activation`` (fitted: the chips without DRAM of their own run them apart)
    one_context_activation: float | None = Field(default=None, gt=0, le=100)


class ContextCount(_Strict):
    misjudged: int = Field(ge=0)
    pairs: int = Field(ge=0)


class ContextChoices(_Strict):
    """Dataflow classes: how many measured networks (a network's batch-1 / batch-8 pair on one chip)
    the capacities judge wrongly, one context against split, with the network's need within
    ``factor`` of its chip's capacity (``near``) and further from it (``far``)."""

    factor: float = Field(gt=1)
    fit_near: ContextCount
    fit_far: ContextCount
    heldout_near: ContextCount
    heldout_far: ContextCount

    @property
    def near(self) -> tuple[int, int]:
        """(misjudged, pairs) near the capacity, fit and held-out pairs together."""
        return (self.fit_near.misjudged + self.heldout_near.misjudged,
                self.fit_near.pairs + self.heldout_near.pairs)


class ClassFit(_Strict):
    description: str
    gemm: float = Field(gt=0, le=1)
    depthwise: float = Field(gt=0, le=1)
    vector: float = Field(gt=0, le=1)
    memory: float = Field(gt=0, le=1)
    basis: str  # how the numbers were obtained, in one sentence
    fitted_on: list[str] = Field(default_factory=list)  # row ids of measured_public.csv
    residual: Residual | None = None
    op_overhead_us: float = Field(default=0.0, ge=0, le=1e6)  # fixed cost per op and batch, microseconds
    call_overhead_us: float = Field(default=0.0, ge=0, le=1e7)  # fixed cost per inference call (batch), microseconds
    attention: float | None = Field(default=None, gt=0, le=1)  # matrix products of two activations (None: gemm)
    #: activation functions evaluated by table or polynomial (SiLU, GELU, sigmoid, hard swish, …; the
    #: ReLU family runs at ``vector``); None: at ``vector``
    activation: float | None = Field(default=None, gt=0, le=1)
    #: normalising ops (layer, group and RMS norms, softmax: a reduction over a feature axis before
    #: any output); None: at ``vector``
    norm: float | None = Field(default=None, gt=0, le=1)
    #: how the fit priced published builds that run some layers at 16-bit activations and weights
    #: (a vendor's compile script says which): one such MAC costs this many 8-bit MACs' time.
    #: chipfit predicts 8-bit builds, so a prediction does not use it; None: no such builds fitted
    sixteen_bit_cost: float | None = Field(default=None, ge=1)
    #: a batch norm right after a convolution or linear layer is folded into its weights (no time),
    #: as the class was fitted; false: it runs at ``vector`` (the classes fitted that way)
    folds_batch_norm: bool = False
    data_overhead_us: float = Field(default=0.0, ge=0, le=1e6)  # fixed cost per data-movement op (concat, copy)
    dataflow: bool = False  # layers run concurrently in one context: fixed op costs only when split
    context_link_gbps: float | None = Field(default=None, gt=0)  # dataflow: weight reload rate per batch, GB/s
    #: dataflow: what each layer (an op that computes and is not fused) takes of the one-context
    #: capacity besides its weights, MB (fitted with the capacities)
    context_mb_per_layer: float | None = Field(default=None, ge=0)
    context_choices: ContextChoices | None = None  # dataflow: one context or split, misjudged how often
    #: dataflow: a network in one context runs its depthwise convolutions and its table activations
    #: at these multiples of ``depthwise`` and ``activation`` (capped at the rated peak; None: at them)
    one_context_depthwise: float | None = Field(default=None, gt=0, le=100)
    one_context_activation: float | None = Field(default=None, gt=0, le=100)
    #: an op whose working set (weights and activations in and out, after fusion) is at most this
    #: stays in the accelerator's on-chip buffer and pays no DRAM time, MB (fitted; None: every op
    #: streams its bytes)
    buffer_mb: float | None = Field(default=None, gt=0)
    #: every op also moves its bytes (weights and activations after fusion) at this multiple of the
    #: chip's DRAM bandwidth, added to its compute or DRAM time, whatever the buffer (fitted; None:
    #: no such term)
    staging: float | None = Field(default=None, gt=0, le=1000)
    #: channels (input and output, per group) the MAC array takes at a time: a convolution or linear
    #: layer is charged its channels rounded up to whole tiles (fitted; None: no padding)
    channel_tile: int | None = Field(default=None, ge=1, le=1024)
    #: per element of the network's input and of its output, per image: the host's copy and conversion
    #: of the tensors it hands the accelerator and takes back, nanoseconds (fitted; None: no such term)
    io_ns_per_element: float | None = Field(default=None, gt=0, le=1e4)
    chips: dict[str, ChipSpeed] = Field(default_factory=dict)  # per measured chip (edge runtimes)
    heldout: Residual | None = None      # rows of models held out of the fit
    #: held-out rows plus leave-one-model-out predictions of the fit rows: every row predicted
    #: without its model in the fit (the band of a new network on a measured chip)
    out_of_sample: Residual | None = None
    unmeasured_chip: Residual | None = None  # leave-one-chip-out: a chip of the class never measured
    #: leave-one-runtime-out (a pooled class): a runtime never measured, the band of the class's own chips
    #: (they run runtimes it was not fitted on) and of a class that borrows it
    unmeasured_runtime: Residual | None = None
    #: a network measured on other chips of the class, predicted on one more of its chips as its
    #: prediction times its median measured / predicted ratio on the others (see ``chipfit check``)
    measured_elsewhere: Residual | None = None
    #: the carry takes in the network's other rows on the chip asked (another release or source): the fit
    #: chose it on its rows measured again on their chip
    carry_includes_chip: bool = False
    #: a network published on the chip asked, predicted as its measurements there (their median); present
    #: only where the fit chose it over the carry on its rows measured again on their chip
    measured_here: Residual | None = None
    borrows: str | None = None           # the class whose factors this one uses, when it has no rows


class EfficiencyFile(_Strict):
    generated_by: str
    date: str
    method: str
    edge_method: str | None = None  # how the edge runtime classes were fitted
    classes: dict[str, ClassFit] = Field(min_length=1)


@dataclass(frozen=True)
class Band:
    """Multipliers of a predicted latency that bound what was measured (5th-95th percentile of
    measured / predicted over ``n`` rows), and in words where they come from."""

    low: float
    high: float
    n: int
    median_abs_pct: float
    p90_abs_pct: float
    what: str  # the rows, after "over N": 'fit rows', 'rows of models held out of the fit', ...
    borrowed: bool = False  # measured on another class: this one has no measurements of its own


@dataclass(frozen=True)
class Efficiency:
    """The factors used for one prediction, and where they came from."""

    gemm: float
    depthwise: float
    vector: float
    memory: float
    efficiency_class: str
    basis: str
    residual: Residual | None = None
    op_overhead_s: float = 0.0   # fixed cost per op (launch / layer switch), per batch
    call_overhead_s: float = 0.0  # fixed cost per call of the runtime (one batch)
    speed: float = 1.0           # the chip's measured speed relative to its class (1 = not measured)
    band: Band | None = None     # None: nothing measured backs this class
    attention: float | None = None  # matrix products of two activations (QKᵀ, AV); None: at gemm
    data_overhead_s: float = 0.0    # fixed cost per data-movement op (concat, transpose copy), per batch
    dataflow: bool = False          # a dataflow chip: one context runs its layers concurrently (no op costs)
    context_bytes: float = 0.0      # dataflow: the chip's one-context capacity (0: not measured)
    context_bytes_per_layer: float = 0.0  # dataflow: what each layer takes of that capacity besides its weights
    context_link_bw: float = 0.0    # dataflow: bytes/s at which a split network's weights reload per batch
    #: dataflow: (misjudged, pairs) of the measured networks near a chip's capacity whose one context
    #: or split the capacities judged wrongly (None: not counted)
    context_misjudged: tuple[int, int] | None = None
    buffer_bytes: float = 0.0       # an op whose bytes are at most this pays no DRAM time (0: every op does)
    fixed_speed: float | None = None  # the chip's measured speed for the fixed costs; None: at ``speed``
    channel_tile: int = 0           # input / output channels the MAC array takes at a time (0: no padding)
    activation: float | None = None  # SiLU, GELU, sigmoid, hard swish, … (table activations); None: at vector
    folds_batch_norm: bool = False  # a batch norm right after a convolution or linear layer takes no time
    staging: float = 0.0            # every op also moves its bytes at this × the DRAM bandwidth (0: no such term)
    norm: float | None = None       # layer, group, RMS norms and softmax (normalising ops); None: at vector
    #: dataflow, one context: depthwise convolutions and table activations run at these multiples of
    #: their rates (capped at the rated peak)
    one_context_depthwise: float = 1.0
    one_context_activation: float = 1.0
    io_s_per_element: float = 0.0   # per element of the network's input and output, per image (0: no such term)
    #: a chip the class measured: the band of a prediction carried from the network's measurements on
    #: the class's other chips (None: not a measured chip, or nothing validates it)
    elsewhere: Band | None = None
    carry_own: bool = False         # the carry takes in the network's rows on the chip asked too
    #: a chip the class measured: the band of a network's published measurements on the chip asked, where
    #: the verdict rests on them (None: it rests on the carry)
    here: Band | None = None

    @property
    def fixed_rate(self) -> float:
        """What the fixed costs (per op, per data move, per call, a context reload) are divided by."""
        return self.fixed_speed if self.fixed_speed is not None else self.speed

    @property
    def one_context_rates(self) -> dict[str, float]:
        """Dataflow, one context: the op classes that run at rates of their own, with their multipliers."""
        return {c: m for c, m in (("depthwise", self.one_context_depthwise),
                                  ("activation", self.one_context_activation)) if m != 1.0}

    def one_context_compute(self, op_class: str) -> float:
        """The factor an op class runs at in a dataflow chip's one context."""
        rate = self.one_context_rates.get(op_class)
        return min(1.0, self.compute(op_class) * rate) if rate else self.compute(op_class)

    def compute(self, op_class: str) -> float:
        if op_class == "attention":
            return self.attention if self.attention is not None else self.gemm
        if op_class == "activation":
            return self.activation if self.activation is not None else self.vector
        if op_class == "norm":
            return self.norm if self.norm is not None else self.vector
        return getattr(self, op_class)

    @property
    def validated(self) -> bool:
        return self.band is not None

    @classmethod
    def uniform(cls, u: float, efficiency_class: str = "") -> "Efficiency":
        if not (0 < u <= 1):
            raise ChipfitError(f"utilization must be in (0, 1], got {u}")
        return cls(u, u, u, u, efficiency_class, f"single factor `utilization` {u:g} for compute and memory")


@lru_cache(maxsize=1)
def efficiency_file() -> EfficiencyFile:
    text = resources.files(__package__).joinpath("efficiency.yaml").read_text(encoding="utf-8")
    return load(EfficiencyFile, text, "built-in efficiency.yaml")


def efficiency_classes() -> dict[str, ClassFit]:
    return dict(efficiency_file().classes)


def runtimes_of(unit) -> list[str]:
    """The runtimes (efficiency classes) a unit can be priced with; the first is its default."""
    return list(dict.fromkeys([unit.efficiency_class, *getattr(unit, "runtimes", [])]))


def for_unit(unit, utilization: float | None = None, runtime: str | None = None,
             chip: str | None = None) -> Efficiency:
    """The factors a compute unit runs at: ``utilization`` when given, else the unit's own
    calibration (``chipfit calibrate``) when it has one (and no other runtime is asked for),
    else the class of ``runtime`` (default: the unit's own), at the measured speed of ``chip``."""
    if runtime is not None and runtime not in runtimes_of(unit):
        raise ChipfitError(f"`runtime` {runtime} is not one this chip runs; it has "
                           f"{', '.join(runtimes_of(unit))}")
    name = runtime or unit.efficiency_class
    cal = getattr(unit, "efficiency", None)
    if utilization is not None or cal is None or name != unit.efficiency_class:
        return for_class(name, utilization, chip)
    band = band_of(cal.residual, "rows of this chip")
    return Efficiency(cal.gemm, cal.depthwise, cal.vector, cal.memory, f"{unit.efficiency_class}, calibrated",
                      cal.basis, cal.residual, band=band)


def for_class(name: str, utilization: float | None = None, chip: str | None = None) -> Efficiency:
    """The factors of an efficiency class (at the measured speed of ``chip`` when the class has
    it), or the single ``utilization`` factor when given."""
    if utilization is not None:
        return Efficiency.uniform(utilization, name)
    classes = efficiency_classes()
    fit = classes.get(name)
    if fit is None:
        raise ChipfitError(f"unknown efficiency class '{name}'; known: {', '.join(classes)}")
    measured = fit.chips.get(chip) if chip else None
    if measured is None and fit.unmeasured_runtime is not None:  # a pooled class: its chips run other runtimes
        band = band_of(fit.unmeasured_runtime, "rows of runtimes left out of the fit in turn")
    elif measured is None and fit.unmeasured_chip is not None:  # a chip this class never measured
        band = band_of(fit.unmeasured_chip, "rows of chips left out of the fit in turn")
    elif fit.out_of_sample is not None and not fit.borrows:
        band = band_of(fit.out_of_sample, "rows of models left out of the fit")
    elif fit.heldout is not None and not fit.borrows:
        band = band_of(fit.heldout, "rows of models held out of the fit")
    else:
        band = band_of(fit.residual, "fit rows")
    if band is None and fit.borrows:
        lender = classes[fit.borrows]
        if lender.unmeasured_runtime is not None:  # what the lender's factors miss on a runtime it never saw
            band = band_of(lender.unmeasured_runtime, f"rows of runtimes left out of the {fit.borrows} fit in "
                           "turn, borrowed", borrowed=True)
        else:
            band = band_of(lender.unmeasured_chip or lender.heldout or lender.residual,
                           f"rows of chips left out of the {fit.borrows} fit, borrowed", borrowed=True)
    return Efficiency(fit.gemm, fit.depthwise, fit.vector, fit.memory, name, fit.basis, fit.residual,
                      op_overhead_s=fit.op_overhead_us * 1e-6, call_overhead_s=fit.call_overhead_us * 1e-6,
                      speed=measured.speed if measured else 1.0,
                      fixed_speed=measured.fixed_speed if measured else None,
                      band=band, attention=fit.attention, data_overhead_s=fit.data_overhead_us * 1e-6,
                      dataflow=fit.dataflow,
                      context_bytes=(measured.context_mb or 0.0) * 1e6 if measured else 0.0,
                      context_bytes_per_layer=(fit.context_mb_per_layer or 0.0) * 1e6,
                      context_link_bw=(fit.context_link_gbps or 0.0) * 1e9,
                      context_misjudged=fit.context_choices.near if fit.context_choices else None,
                      buffer_bytes=(fit.buffer_mb or 0.0) * 1e6, channel_tile=fit.channel_tile or 0,
                      activation=fit.activation, folds_batch_norm=fit.folds_batch_norm,
                      staging=fit.staging or 0.0, norm=fit.norm, io_s_per_element=(fit.io_ns_per_element or 0.0) * 1e-9,
                      one_context_depthwise=fit.one_context_depthwise or 1.0,
                      one_context_activation=(measured and measured.one_context_activation
                                              or fit.one_context_activation or 1.0),
                      elsewhere=band_of(fit.measured_elsewhere, "rows of networks measured on other chips of the "
                                        "class" + (" (and again on their own)" if fit.carry_includes_chip else ""))
                      if measured is not None and not fit.borrows else None,
                      carry_own=fit.carry_includes_chip,
                      here=band_of(fit.measured_here, "rows measured again on their chip (another release or source)")
                      if measured is not None and not fit.borrows else None)


def band_of(res: Residual | None, what: str, borrowed: bool = False) -> Band | None:
    if res is None:
        return None
    if res.band_low is not None and res.band_high is not None:
        low, high = res.band_low, res.band_high
    else:  # symmetric in the p90 error
        p = res.p90_abs_pct / 100
        low, high = max(1 - p, 0.05), 1 + p
    return Band(min(low, 1.0), max(high, 1.0), res.n, res.median_abs_pct, res.p90_abs_pct, what, borrowed)
