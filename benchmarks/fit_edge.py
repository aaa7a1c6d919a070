"""Fit the edge runtime classes of src/chipfit/data/efficiency.yaml on published edge measurements.

    python benchmarks/edge/build.py        # sources/*.csv -> rows.csv (once)
    python benchmarks/fit_edge.py          # fit, write efficiency.yaml, predictions.csv, VALIDATION.md block
    python benchmarks/fit_edge.py --dry-run
    python benchmarks/fit_edge.py --cv qnn     # one class's error cross-validated by model, nothing written
    python benchmarks/edge/published.py    # then: the scored rows chipfit check shows as published measurements

**Rows used.** Every row of ``benchmarks/edge/rows.csv`` that chipfit can price: an NPU row
whose chip is in chipfit's database with an int8 peak, whose model is a torchvision network or a
vision network of chipfit's zoo (``model_ref``: the YOLO detectors, EfficientNet-Lite0; video
networks are left out: the sources give no frame count),
run in int8 with every layer on the NPU (AI Hub's "layers on NPU a/b" with a = b), by a runtime
of :data:`RUNTIME_CLASS`. An int8 row slower than the same build in float on the same device
(:data:`NOT_INTEGER`) is set aside: never fitted on, scored apart. Each row is priced as
``chipfit check`` prices it: the model's cost graph at the row's input size, fused, on the chip's NPU.

**Model per runtime class** (see ``chipfit.analysis.roofline``): per op,
``max(flops / (peak × e_class × speed), dram / (bandwidth × e_memory × speed)) + overhead / fixed_speed``,
plus ``call_overhead_us / fixed_speed`` per batch, with compute factors ``gemm``, ``depthwise``,
``vector``, ``attention`` (matrix products of two activations) and ``activation`` (the activation
functions an NPU evaluates by table or polynomial: SiLU, GELU, sigmoid, hard swish, …; the ReLU
family's clamps stay ``vector``), whether a batch norm right after a convolution or linear layer
is folded into it (no time) or charged at ``vector`` (``fold``, the one of the two that fits the
class's rows better), the memory factor, a fixed cost per op ``op_overhead_us``, per
data-movement op (concat, copy) ``data_overhead_us`` and per call ``call_overhead_us``, and two
speeds per measured chip (each of geometric mean 1 over the class's chips; per runtime release for
a chip measured in several, see :func:`speed_keys`): ``speed`` divides what grows with the batch
(compute and DRAM time) and ``fixed_speed`` what is paid once per batch (op starts, data moves,
the call, a context reload), which runs on the chip's control processor and its host CPU, not on
its MAC arrays, so it need not follow the compute speed.
A convolution's or linear layer's FLOPs are charged with its input and output channels per group
rounded up to whole tiles of ``tile`` channels (:data:`TILE_GRID`, 0 = none): a MAC array takes a
fixed number of channels at a time, so a 3-channel image or a grouped convolution of 4 channels
per group leaves most of it idle.
``dram`` is the op's bytes (weights and activations after fusion) when they exceed the class's
on-chip buffer ``buffer_mb`` (fitted on :data:`BUFFER_GRID`, 0 = every op), else 0: an op that fits
the NPU's on-chip memory moves its tensors while it computes; a larger one is tiled through DRAM.
``staging`` (fitted on :data:`STAGING_GRID`, 0 = none) adds each op's bytes at that multiple of the
DRAM bandwidth to its time, whatever the buffer: a runtime that stages every op's tensors in and out
of the NPU's local memory without overlapping the move with the op's compute.
A published build may run some layers at another precision than 8 bits: a Hailo compile script
says which (:mod:`hailo_layers`). A MAC of a layer at 16-bit activations and weights costs
``sixteen`` 8-bit MACs (fitted on :data:`SIXTEEN_GRID`; 16 x 8 bits: its square root), and a
layer's weights count toward its network's one-context need and reload at the bits the build
stores them in. chipfit prices the user's network as an 8-bit build, so the factor describes the
rows, not a prediction.

**Input and output** (:data:`IO_CLASSES`): ``io_ns`` per element of the network's input and of its
last op's output, per image, paid at the chip's fixed-cost speed (the host copies and converts
them), fitted on :data:`IO_GRID` after the rest: the first fit's whole search runs without it, then
one descent of every factor with it, from that optimum.

**Dataflow classes** (:data:`DATAFLOW`: Hailo). A network that fits the chip runs in one context,
its layers all at once: no fixed cost per op. One that does not fit is split into contexts: it pays
the per-op costs and reloads its weights once per batch at ``context_link_gbps`` (fitted). Whether
a network fits is decided per measured chip by ``context_mb`` against the network's need (int8
weights + largest op working set + ``context_mb_per_layer`` per layer: every layer takes a part of
the chip, whatever its weights), set before the descent from the fit rows alone: a model's batch-8
time per image is its batch-1 time when it runs in one context (the pipeline is full either way)
and clearly less when it is split (the reload is shared by 8); ``context_mb`` is the need that best
separates the two groups (:func:`context_capacity`), with the allowance per layer from
:data:`LAYER_GRID` that misjudges fewest networks (:func:`contexts`), and a network with attention
always splits (every such pair measured
on Hailo-8 and -8L splits). The on-chip memory of these chips is not published, hence the fit.
A network in one context runs its depthwise convolutions and table activations at rates of their
own, ``one_context_depthwise`` and ``one_context_activation`` times the class's (fitted on
:data:`ONE_CONTEXT_GRID`, capped at the rated peak): the one-context rows' residuals follow those
two ops' share of the time where the split rows' do not, so one rate for both ways misprices one.
The chips without DRAM of their own (:data:`NO_DRAM`) have a one-context activation rate of their
own (a chip's ``one_context_activation`` in the class's ``chips``); a chip never measured runs at
the class's.

**Held-out rows, decided before fitting**: every row of a model whose
``zlib.crc32(model_ref) % 4 == 0`` (a fixed quarter of the models, the same for every class)
is never fitted on. A class is fitted on its other rows by coordinate descent on log grids (the
lowest loss of a descent from the defaults and one at each on-chip buffer size of its grid, then
restarts with the fixed costs set elsewhere, then one at each staging rate, kept when they lower
the loss), minimising the mean
absolute log error (the target is a median error, and one network a runtime handles
pathologically must not pull every other prediction), alternating with the chip speeds
(closed form: each chip's median log ratio at each fixed-cost speed of a grid). Reported per
class: in-sample error, leave-one-model-out error, held-out error (with chip speeds: a measured
chip, a new model) and leave-one-chip-out error (refit without the chip, predicted at speed 1: a
chip never measured). Classes with fewer than ``MIN_ROWS`` fit rows are not fitted: they borrow
the pooled ``npu`` class (fitted on every row of the fitted classes, without chip speeds) and
their rows check it. ``--cv CLASS`` prints a class's error cross-validated by model
(:func:`cross_validated`: four folds of its fit models, each predicted by the whole search run
without it), which tests the optimum the search chooses where leave-one-model-out does not; a change
to the model is kept only when both errors fall. The pooled class is also refitted without each
fitted runtime's rows in turn (leave-one-runtime-out): that error is the band of every chip priced
with the pooled factors, whose runtime no fit has seen.
"""

from __future__ import annotations

import argparse
import copy
import csv
import datetime
import gzip
import json
import math
import multiprocessing
import os
import re
import sys
import zlib
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import hailo_layers
import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EDGE = HERE / "edge"
ROWS = EDGE / "rows.csv"
CACHE = EDGE / ".graphs"
PREDICTIONS = EDGE / "predictions.csv"
EFFICIENCY = ROOT / "src" / "chipfit" / "data" / "efficiency.yaml"
VALIDATION = ROOT / "VALIDATION.md"
BLOCK = ("<!-- edge:start (written by benchmarks/fit_edge.py) -->", "<!-- edge:end -->")

from chipfit.analysis.fallback import placement_for  # noqa: E402
from chipfit.analysis.roofline import NEAR_CAPACITY, channel_padding, roofline  # noqa: E402
from chipfit.core.costgraph import CostGraph  # noqa: E402
from chipfit.core.precision import get_precision  # noqa: E402
from chipfit.core.stats import percentile  # noqa: E402
from chipfit.data.chips import database  # noqa: E402
from chipfit.data.efficiency import Efficiency, efficiency_file, runtimes_of  # noqa: E402

#: the runtime of a data row -> the efficiency class that prices it
RUNTIME_CLASS = {"qnn": "qnn", "qnn-context-binary": "qnn", "tflite": "tflite-qnn",
                 "onnxruntime-qnn": "onnxruntime-qnn", "hailort": "hailort", "rknn": "rknn", "cann": "cann",
                 "tflite-npu": "tflite-npu", "axengine": "axengine",
                 "tensorrt": None}  # Jetson GPU rows: priced by the chip's GPU class, a check, never fitted here
DESCRIPTIONS = {
    "qnn": "Qualcomm AI Engine Direct (QNN) on the Hexagon NPU",
    "tflite-qnn": "TensorFlow Lite with the QNN delegate on the Hexagon NPU",
    "onnxruntime-qnn": "ONNX Runtime with the QNN execution provider on the Hexagon NPU",
    "hailort": "HailoRT on Hailo-8/8L/10H/15 accelerators",
    "rknn": "RKNN runtime on Rockchip NPUs",
    "cann": "Huawei CANN (ATC-built OM models) on Ascend NPUs",
    "tflite-npu": "TensorFlow Lite NPU delegates (NXP VX / Ethos-U)",
    "axengine": "Axera axengine on Axera NPUs",
    "edgetpu": "Google Edge TPU runtime (libedgetpu) on the Coral Edge TPU",
    "npu": "any other NPU (pooled over the measured edge runtimes, without chip speeds)",
}
VIDEO = {"r3d_18", "r2plus1d_18", "mc3_18", "s3d", "mvit_v1_b", "mvit_v2_s", "swin3d_t", "swin3d_s", "swin3d_b"}
#: Inputs the source table states wrongly, corrected from the source's own code: AI Hub's
#: info.yaml gives 224x224 for FCN-ResNet50 and 513x513 for DeepLabV3+ MobileNet, but their models
#: (qai_hub_models/models/_shared/deeplab/model.py, get_input_spec: height = width = 520, commit
#: 7f338c01; still so at v0.46.1) run at 520x520; and 224x224 for UNet, whose get_input_spec
#: (models/unet_segmentation/model.py, v0.46.1) defaults to 640x1280 (height x width).
INPUT_FIX = {("github:quic/ai-hub-models", "fcn_resnet50"): (520, 520),
             ("github:quic/ai-hub-models", "deeplabv3_plus_mobilenet"): (520, 520),
             ("github:quic/ai-hub-models", "unet_segmentation"): (640, 1280)}
MIN_ROWS = 40
HELD_OUT_MODULUS = 4
#: classes whose chips run a network as a dataflow pipeline, split into contexts when it does not fit
DATAFLOW = {"hailort"}
#: dataflow chips without DRAM of their own (PCIe accelerators: weights and activations live on chip;
#: the later Hailo chips have a DRAM interface): a network in one context on them runs its table
#: activations at a rate of its own, ``Params.act_one_no_dram`` (with one rate for every chip, these
#: chips' one-context rows were still predicted slower the more time their activations took)
NO_DRAM = {"hailo-8", "hailo-8l"}
#: batch-1 / (batch-8 per image) time above which a measured pair counts as split into contexts
SPLIT_RATIO = 1.15
#: classes that pay a cost per element of the network's input and output (``Params.io_ns``): where
#: the term lowered both the leave-one-model-out and the cross-validated error (mean |log| and p90).
#: TFLite with the QNN delegate: leave-one-model-out 0.2743 to 0.2652 (p90 57.6 to 54.3 %),
#: cross-validated 0.3132 to 0.2901 (p90 65.1 to 63.9 %). Not QNN (cross-validated p90 70.04 to
#: 70.17 %), ONNX Runtime or RKNN (leave-one-model-out p90 rose); the dataflow chips' errors do not
#: follow the input's size. Fitted inside the whole search, the term moved it to another optimum that
#: predicted left-out networks worse, hence the second stage (:func:`fit`).
IO_CLASSES = {"tflite-qnn"}


def held_out(model_ref: str) -> bool:
    return zlib.crc32(model_ref.encode()) % HELD_OUT_MODULUS == 0


# ----------------------------------------------------------------------------- rows and costs
@dataclass
class Row:
    id: str
    chip: str
    runtime: str
    cls: str
    model: str
    hw: tuple[int, int]
    batch: int
    measured_s: float        # latency of one batch
    heldout: bool
    precision: str = "int8"
    peak: float = 0.0        # ops/s
    bandwidth: float = 0.0   # bytes/s
    feats: tuple | None = None  # (class index per op, flops, bytes, launches)
    release: str = ""        # the runtime release measured (rows.csv runtime_version)
    speed_of: str = ""       # whose speed the row runs at: its chip, or its chip in another release
    layers: tuple = ()       # (precision mode, layers) lines of the build's compile script (Hailo)


def speed_keys(rows: list[Row], also: list[Row] = ()) -> None:
    """Set each row's ``speed_of`` (and that of the rows ``also``, which are not counted). A runtime
    release changes how fast a chip runs every network (the same chip and network measured in two
    releases of a runtime differ), so a chip measured in several releases of its class's runtime
    has a speed per release. Its plain speed, the one chipfit predicts with, is that of the class's
    reference release (the one most of the class's rows were measured in), else of the chip's most
    measured release; the others are named ``chip (release)``."""
    by_class: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_class[r.cls].append(r)
    for crows in by_class.values():
        reference = Counter(r.release for r in crows).most_common(1)[0][0]
        per_chip: dict[str, Counter] = defaultdict(Counter)
        for r in crows:
            per_chip[r.chip][r.release] += 1
        for r in crows + [x for x in also if x.cls == crows[0].cls]:
            releases = per_chip[r.chip]
            own = reference if reference in releases or not releases else releases.most_common(1)[0][0]
            r.speed_of = r.chip if r.release == own else f"{r.chip} ({r.release})"


def _hw(text: str) -> tuple[int, int] | None:
    dims = [int(x) for x in re.findall(r"\d+", text)]
    if len(dims) == 2:
        return dims[0], dims[1]
    if len(dims) == 3 and dims[2] == 3:
        return dims[0], dims[1]
    if len(dims) == 4 and dims[1] == 3:
        return dims[2], dims[3]
    if len(dims) == 4 and dims[3] in (1, 3):  # channels last
        return dims[1], dims[2]
    return None


def zoo_entry(model_ref: str):
    """The zoo entry a row's model names by its name or an alias, never as a fine-tuned variant
    (``segformer_base`` is not the zoo's ``segformer``); None when there is none."""
    from chipfit.data import zoo

    return zoo.find(model_ref) if zoo.variant_note(model_ref) is None else None


@lru_cache(maxsize=None)
def countable(model_ref: str) -> bool:
    """A torchvision network, or a zoo vision network."""
    import torchvision.models as tvm

    entry = zoo_entry(model_ref)
    return model_ref in tvm.list_models() or (entry is not None and entry.task == "vision")


def oriented(model_ref: str, hw: tuple[int, int]) -> tuple[int, int]:
    """A source that writes width x height (Qualcomm AI Hub's "2048x1024" for a 1024-high Cityscapes
    image) is read in the zoo entry's orientation when the entry's default input is the same two
    sides the other way round."""
    entry = zoo_entry(model_ref)
    if entry is not None and entry.input_shape and len(entry.input_shape) == 4:
        h, w = entry.input_shape[2:]
        if (w, h) == hw and h != w:
            return h, w
    return hw


#: why an int8 row that runs slower than the same build in float on the same device is not fitted on:
#: an NPU's int8 path has at least twice its float rate and moves half the bytes, so such a build runs
#: something else (requantisation between layers, a float path), which no op-cost model of the graph sees
NOT_INTEGER = "int8 build slower than its float build on the same device (not the integer path)"


def float_twin(row_id: str) -> str | None:
    """The id of the same network, runtime, release and device measured in float (Qualcomm AI Hub's
    rows name their precision in the id), or None."""
    return row_id.replace("/int8/", "/float/", 1) if "/int8/" in row_id else None


def row_unit(rec, cls: str, gpu: bool, precision: str):
    """The unit of chipfit's chip ``rec`` a row of runtime class ``cls`` ran on, and the class it is
    priced with: a Jetson GPU row (``gpu``) the GPU's own; an NPU row the unit that runs ``cls``."""
    if gpu:
        unit = rec.chip.unit_with(precision)
        return unit, unit.efficiency_class if unit is not None else None
    return next((u for u in rec.chip.compute_units() if cls in runtimes_of(u)), None) or \
        rec.chip.unit_with(precision), cls


def select_rows(db) -> tuple[list[Row], dict[str, int], list[Row]]:
    """The rows chipfit can price, a count of the rest by reason, and the priced rows set aside as
    :data:`NOT_INTEGER` (scored apart, never fitted on)."""
    left: dict[str, int] = defaultdict(int)
    out = []
    with open(ROWS, newline="", encoding="utf-8") as fh:
        raw = list(csv.DictReader(fh))
    latency = {r["id"]: (r["metric"], float(r["value"]), int(r["batch"])) for r in raw}
    set_aside = []
    compiled = hailo_layers.compile_lines()
    for r in raw:
        gpu = r["runtime"] == "tensorrt" and r["unit"] == "gpu"
        if r["unit"] != "npu" and not gpu:
            left["not an NPU row"] += 1
            continue
        if r["runtime"] not in RUNTIME_CLASS:
            left[f"runtime {r['runtime']} has no class"] += 1
            continue
        cls = RUNTIME_CLASS[r["runtime"]]
        precision = "fp16" if gpu else "int8"
        if not countable(r["model_ref"]):
            left["model is not a network chipfit counts"] += 1
            continue
        if r["model_ref"] in VIDEO:
            left["video network (the source gives no frame count)"] += 1
            continue
        if r["precision"] != precision:
            left[f"precision {r['precision']} (NPU rows: int8 only)"] += 1
            continue
        m = re.search(r"layers on NPU (\d+)/(\d+)", r["notes"])
        if m and m.group(1) != m.group(2):
            left["some layers fall back to the CPU"] += 1
            continue
        try:
            rec, _ = db.get(r["chip"])
        except Exception:
            left["chip not in chipfit's database"] += 1
            continue
        unit, cls = row_unit(rec, cls, gpu, precision)
        if unit is None or precision not in unit.dense:
            left[f"chip has no {precision} peak"] += 1
            continue
        hw = INPUT_FIX.get((r["source"], r["model_ref"])) or _hw(r["input"])
        if hw is None:
            left["input shape not an image size"] += 1
            continue
        hw = oriented(r["model_ref"], hw)
        batch = int(r["batch"])
        value = float(r["value"])
        measured = value / 1e3 if r["metric"] == "latency_ms" else batch / value
        bw = rec.chip.memory_bandwidth_gbps.value * 1e9 if rec.chip.memory_bandwidth_gbps else 0.0
        row = Row(r["id"], rec.id, r["runtime"], cls, r["model_ref"], hw, batch, measured,
                  held_out(r["model_ref"]), precision, unit.dense[precision].value * 1e12, bw,
                  release=r["runtime_version"],
                  layers=tuple(compiled.get((r["chip"], r["runtime_version"], r["model"]), ())))
        twin = latency.get(float_twin(r["id"]))
        if twin is not None and twin[0] == r["metric"] and twin[2] == batch and \
                (value >= twin[1] if r["metric"] == "latency_ms" else value <= twin[1]):
            left[NOT_INTEGER] += 1
            set_aside.append(row)
            continue
        out.append(row)
    speed_keys(out, also=set_aside)
    return out, dict(left), set_aside


def graph_of(model: str, hw: tuple[int, int]) -> CostGraph:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{model}_{hw[0]}x{hw[1]}.json.gz"
    if path.exists():
        return CostGraph.from_data(json.loads(gzip.decompress(path.read_bytes())))
    import torchvision.models as tvm

    from chipfit.analysis.count import count
    from chipfit.data import zoo

    shape = f"1x3x{hw[0]}x{hw[1]}"
    entry = zoo.find(model)
    if entry:
        channels = entry.input_shape[1] if entry.input_shape and len(entry.input_shape) == 4 else 3
        g = count(model, input_shape=f"1x{channels}x{hw[0]}x{hw[1]}").graph  # a grey-scale network takes 1
    else:  # built here without any pretrained weights (a segmentation net would fetch its backbone's)
        builder = tvm.get_model_builder(model)
        extra = {"weights_backbone": None} if ".segmentation." in builder.__module__ else {}
        g = count(builder(weights=None, **extra).eval(), input_shape=shape, name=model).graph
    path.write_bytes(gzip.compress(json.dumps(g.to_data()).encode()))
    return g


CLASS_INDEX = {"gemm": 0, "depthwise": 1, "vector": 2, "attention": 3, "activation": 4, "norm": 5}
#: channel tiles tried (0: no padding): NPU MAC arrays take 8 to 64 channels at a time
TILE_GRID = [0, 4, 8, 16, 32, 64]
_UNIT = Efficiency(1.0, 1.0, 1.0, 1.0, "unit", "unit", attention=1.0, op_overhead_s=1.0, data_overhead_s=1e-3,
                   activation=1.0, norm=1.0)
_UNIT_FOLDED = replace(_UNIT, folds_batch_norm=True)  # a batch norm right after a layer with weights: no time


def features(graph: CostGraph, batch: int, precision: str = "int8", layers: tuple = ()) -> tuple:
    """Per op: class index, FLOPs, bytes (after fusion); per graph: the ops that pay the fixed
    cost, the data-movement ops that pay theirs, weight bytes, one-context need (MB), whether it
    has attention; per channel tile the ops' padding (compute cost over FLOPs); per op, whether
    a class that folds batch norms into the layer before them folds it; per op, how many times a
    16-bit MAC (:attr:`Params.sixteen`) one of its MACs costs in the build ``layers`` describe
    (:mod:`hailo_layers`: 1 for a 16 x 16-bit product, 0.5 for 16 x 8, 0 at 8 bits), whose weight
    bytes (and one-context need) count its weights at the bits the build stores them in; per image,
    the elements of the network's input and output."""
    r = roofline(graph, get_precision(precision), 1.0, 1.0, _UNIT, batch=batch, fuse=True)
    folded = roofline(graph, get_precision(precision), 1.0, 1.0, _UNIT_FOLDED, batch=batch, fuse=True)
    assert len(r.ops) == len(graph.ops)
    cls = np.array([CLASS_INDEX[o.op_class] for o in r.ops], dtype=np.int8)
    # per tile of TILE_GRID: what each op's compute costs over its FLOPs (channels padded to whole tiles)
    padding = {t: np.array([channel_padding(op, t) for op in graph.ops]) for t in TILE_GRID if t}
    flops = np.array([o.flops for o in r.ops], dtype=float)
    nbytes = np.array([o.bytes for o in r.ops], dtype=float)
    launches = sum(1 for o in r.ops if o.overhead_s == 1.0)
    moves = sum(1 for o in r.ops if o.overhead_s == 1e-3)
    act, wts = hailo_layers.precisions(graph, list(layers))
    # partial 8 x 8-bit products per MAC (4 for 16 x 16 bits), as a power of four
    wide = np.log(np.maximum(1.0, act / 8 * np.maximum(wts, 8) / 8)) / np.log(4.0)
    extra = float(sum(op.weight_elems * (w / 8 - 1) for op, w in zip(graph.ops, wts) if w != 8))
    return (cls, flops, nbytes, launches, moves, r.weight_bytes + extra, (r.context_need_bytes + extra) / 1e6,
            r.has_attention, padding,
            np.array([bool(o.flops) and not f.compute_s for o, f in zip(r.ops, folded.ops)]), wide,
            graph.io_elements)


# ----------------------------------------------------------------------------- the model
@dataclass
class Params:
    gemm: float = 0.5
    depthwise: float = 0.1
    vector: float = 0.1
    memory: float = 0.5
    overhead_us: float = 10.0
    call_us: float = 0.0
    attention: float = 0.05
    data_us: float = 0.0
    link_gbps: float = 4.0                   # dataflow classes: weight reload rate of a split network
    context_mb: dict | None = None           # dataflow classes: per chip, what fits one context
    layer_mb: float = 0.0                    # dataflow classes: what each layer takes of a context besides weights
    buffer_mb: float = 0.0                   # an op whose bytes are at most this pays no DRAM time (0: every op)
    tile: int = 0                            # channels the MAC array takes at a time (0: no padding)
    activation: float = 0.1                  # table activations (SiLU, GELU, sigmoid, hard swish, ...)
    fold: bool = False                       # a batch norm right after a layer with weights takes no time
    staging: float = 0.0                     # each op's bytes also move at this × the DRAM bandwidth (0: none)
    norm: float | None = None                # layer, group, RMS norms and softmax (None: at vector)
    sixteen: float = 1.0                     # a MAC at 16-bit activations and weights, in 8-bit MACs' time
    dw_one: float = 1.0                      # dataflow classes: depthwise rate in one context, × depthwise
    act_one: float = 1.0                     # dataflow classes: table-activation rate in one context, × activation
    act_one_no_dram: float = 1.0             # the same on the chips of NO_DRAM
    io_ns: float = 0.0                       # per element of the network's input and output, per image (ns)


class Batch:
    """The rows of one fit, flattened so a prediction of all of them is a few numpy operations."""

    def __init__(self, rows: list[Row], chip_rates: bool = True):
        """``chip_rates``: the rows' chips run at the rates of their kind (:data:`NO_DRAM`); false:
        at the class's, as chipfit prices a chip the class never measured."""
        self.rows = rows
        idx, cls, fl, by, pk, bw = [], [], [], [], [], []
        for i, r in enumerate(rows):
            c, f, b = r.feats[:3]
            idx.append(np.full(len(c), i))
            cls.append(c)
            fl.append(f)
            by.append(b)
            pk.append(np.full(len(c), r.peak))
            bw.append(np.full(len(c), r.bandwidth))
        self.idx = np.concatenate(idx)
        self.cls = np.concatenate(cls)
        self.flops_per_peak = np.concatenate(fl) / np.concatenate(pk)
        # per channel tile: FLOPs / peak with each op's channels padded to whole tiles
        self.padded = {t: self.flops_per_peak * np.concatenate(
            [r.feats[8][t] if len(r.feats) > 8 else np.ones(len(r.feats[0])) for r in rows])
            for t in TILE_GRID if t}
        self.padded[0] = self.flops_per_peak
        # per op: 0 for a batch norm a class that folds them folds into the layer before, else 1
        self.unfolded = 1.0 - np.concatenate([r.feats[9] if len(r.feats) > 9 else np.zeros(len(r.feats[0]))
                                              for r in rows])
        self.padded_folded = {t: v * self.unfolded for t, v in self.padded.items()}  # (not per loss evaluation)
        # per op: its MACs' cost in 16-bit MACs as a power of Params.sixteen (0: an 8-bit build's layer)
        self.wide = np.concatenate([r.feats[10] if len(r.feats) > 10 else np.zeros(len(r.feats[0])) for r in rows])
        self.has_wide = bool(np.any(self.wide > 0))
        bws = np.concatenate(bw)
        self.bytes = np.concatenate(by)
        self.bytes_per_bw = np.where(bws > 0, self.bytes / np.where(bws > 0, bws, 1), 0.0)
        self._dram: dict[float, np.ndarray] = {}
        #: per op class present: its ops (the model's time is a sum over classes, each computed apart)
        self.ops_of = {k: np.flatnonzero(self.cls == k) for k in sorted(set(self.cls.tolist()))}
        self._slices: dict[tuple, np.ndarray] = {}
        self._work: dict[tuple, np.ndarray] = {}
        self._bases: dict[tuple, tuple] = {}
        self.dataflow = bool(rows) and all(r.cls in DATAFLOW for r in rows)
        self.no_dram = np.array([chip_rates and self.dataflow and r.chip in NO_DRAM for r in rows], dtype=bool)
        # a dataflow chip streams a batch through each layer one image at a time: its ops' bytes per
        # image are what must fit the on-chip buffer (as the roofline prices a dataflow class)
        batch = np.array([r.batch for r in rows], dtype=float)
        self.fits_bytes = self.bytes / batch[self.idx] if self.dataflow else self.bytes
        self.launches = np.array([r.feats[3] for r in rows], dtype=float)
        self.moves = np.array([r.feats[4] for r in rows], dtype=float)
        #: per row: the input and output elements of its batch (none outside a class of IO_CLASSES)
        io_class = bool(rows) and len({r.cls for r in rows}) == 1 and rows[0].cls in IO_CLASSES
        self.io = np.array([(r.feats[11] if io_class and len(r.feats) > 11 else 0.0) * r.batch for r in rows])
        self.weights = np.array([r.feats[5] for r in rows], dtype=float)
        self.need_mb = np.array([r.feats[6] for r in rows], dtype=float)
        self.attention = np.array([r.feats[7] for r in rows], dtype=bool)
        #: the networks with normalising ops (layer, group, RMS norms, softmax)
        self.norm_networks = len({r.model for r in rows if np.any(r.feats[0] == CLASS_INDEX["norm"])})
        self.measured = np.array([r.measured_s for r in rows])
        self.chips = sorted({r.chip for r in rows})
        self.chip_of = np.array([self.chips.index(r.chip) for r in rows])
        self.speeds = sorted({r.speed_of or r.chip for r in rows})  # a chip, or a chip in another release
        self.speed_idx = np.array([self.speeds.index(r.speed_of or r.chip) for r in rows])

    def without_io(self) -> Batch:
        """The same rows without the input-and-output cost (what the first fit's search sees)."""
        plain = copy.copy(self)
        plain.io = np.zeros(len(self.rows))
        return plain

    def _capacity(self, p: Params) -> np.ndarray:
        """Per row: its chip's one-context capacity, MB (0: none set)."""
        return np.array([(p.context_mb or {}).get(c) or 0.0 for c in self.chips])[self.chip_of]

    def split(self, p: Params) -> np.ndarray:
        """Dataflow classes: the rows whose network is split into contexts on their chip."""
        if not self.dataflow or not p.context_mb:
            return np.zeros(len(self.rows), dtype=bool)
        cap = self._capacity(p)
        return (cap > 0) & (self.attention | (self.need_mb + p.layer_mb * self.launches > cap))

    def near(self, p: Params) -> np.ndarray:
        """Dataflow classes: the rows whose one-context need is within a factor :data:`NEAR_CAPACITY`
        of their chip's capacity (no attention), which a prediction also prices the other way."""
        if not self.dataflow or not p.context_mb:
            return np.zeros(len(self.rows), dtype=bool)
        cap = self._capacity(p)
        need = self.need_mb + p.layer_mb * self.launches
        return (cap > 0) & ~self.attention & (need * NEAR_CAPACITY >= cap) & (need <= cap * NEAR_CAPACITY)

    def dram(self, buffer_mb: float) -> np.ndarray:
        """Per op: bytes / bandwidth, 0 for an op whose bytes fit the on-chip buffer."""
        if buffer_mb not in self._dram:
            self._dram[buffer_mb] = np.where(self.fits_bytes > buffer_mb * 1e6, self.bytes_per_bw, 0.0)
        return self._dram[buffer_mb]

    def _slice(self, full: np.ndarray, name: tuple, k: int) -> np.ndarray:
        """The ops of class ``k`` of the per-op array ``full`` (``name`` says which one), kept."""
        got = self._slices.get((name, k))
        if got is None:
            got = self._slices[(name, k)] = full[self.ops_of[k]]
        return got

    def _class_base(self, p: Params, k: int) -> tuple:
        """What the time of class ``k``'s ops depends on besides the class's factor and the memory
        rate, kept per value of the rest: per row, the compute of its ops that never wait on DRAM
        (their bytes fit the on-chip buffer: their time is that over the factor, so a row's sum of
        it is too) and its staging time; the ops that may wait on DRAM, as arrays."""
        key = (k, p.tile, p.fold, p.sixteen if self.has_wide else 1.0, p.buffer_mb, p.staging)
        got = self._bases.get(key)
        if got is None:
            padded = self.padded_folded if p.fold else self.padded
            compute = self._slice(padded[p.tile], ("padded", p.fold, p.tile), k)
            if self.has_wide and p.sixteen != 1.0:
                compute = compute * p.sixteen ** self._slice(self.wide, ("wide",), k)
            dram = self._slice(self.dram(p.buffer_mb), ("dram", p.buffer_mb), k)
            idx = self._slice(self.idx, ("idx",), k)
            waits = dram > 0
            free = np.bincount(idx[~waits], weights=compute[~waits], minlength=len(self.rows))
            # every op stages its bytes, on chip or not, before or after it computes
            staged = (np.bincount(idx, weights=self._slice(self.bytes_per_bw, ("staged",), k) / p.staging,
                                  minlength=len(self.rows)) if p.staging else None)
            if len(self._bases) >= 256:
                self._bases.clear()
            got = self._bases[key] = (free, compute[waits], dram[waits], idx[waits], staged)
        return got

    def _class_work(self, p: Params, k: int, eff: float) -> np.ndarray:
        """Per row at speed 1: the compute and DRAM time of its ops of class ``k``, kept per value of
        what that time depends on, so a descent over one class's factor recomputes that class only
        (and, of it, only the ops that may wait on DRAM)."""
        key = (k, eff, p.tile, p.fold, p.sixteen if self.has_wide else 1.0, p.buffer_mb, p.memory, p.staging)
        got = self._work.get(key)
        if got is None:
            free, compute, dram, idx, staged = self._class_base(p, k)
            got = free / eff
            if len(idx):
                got = got + np.bincount(idx, weights=np.maximum(compute / eff, dram / p.memory),
                                        minlength=len(self.rows))
            if staged is not None:
                got = got + staged
            if len(self._work) >= 4096:
                self._work.clear()
            self._work[key] = got
        return got

    def parts(self, p: Params, other: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Per row at speed 1: the time that grows with the batch (the ops' compute and DRAM time)
        and the time paid once per batch (op starts, data moves, the call, a context reload);
        ``other``: a row near its chip's capacity priced the other way (split if it was not)."""
        effs = (p.gemm, p.depthwise, p.vector, p.attention, p.activation, p.vector if p.norm is None else p.norm)
        split = (self.split(p) ^ self.near(p) if other else self.split(p)) if self.dataflow else None
        one_context = {CLASS_INDEX["depthwise"]: p.dw_one, CLASS_INDEX["activation"]: p.act_one}
        work = np.zeros(len(self.rows))
        for k in self.ops_of:
            w = self._class_work(p, k, effs[k])
            if split is not None:  # its own rate in one context
                one = w if one_context.get(k, 1.0) == 1.0 else self._class_work(p, k, min(1.0, effs[k] * one_context[k]))
                if k == CLASS_INDEX["activation"] and self.no_dram.any() and p.act_one_no_dram != p.act_one:
                    one = np.where(self.no_dram, self._class_work(p, k, min(1.0, effs[k] * p.act_one_no_dram)), one)
                w = np.where(split, w, one)
            work = work + w
        fixed = (self.launches * p.overhead_us + self.moves * p.data_us) * 1e-6
        if self.dataflow:  # one context: a pipeline, no fixed cost per op; split: those and the reload
            fixed = np.where(split, fixed + self.weights / (p.link_gbps * 1e9), 0.0)
        return work, fixed + p.call_us * 1e-6 + p.io_ns * 1e-9 * self.io

    def predict(self, p: Params, speed: dict[str, tuple[float, float]] | None = None,
                other: bool = False) -> np.ndarray:
        work, fixed = self.parts(p, other)
        if not speed:
            return work + fixed
        s = np.array([speed.get(c, (1.0, 1.0)) for c in self.speeds])[self.speed_idx]
        return work / s[:, 0] + fixed / s[:, 1]


#: dataflow classes: a one-context network's depthwise and table-activation rates as multiples of
#: the class's (the rate capped at the rated peak)
ONE_CONTEXT_GRID = [0.125, 0.18, 0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6]
FACTOR_GRID = [round(0.001 * 1.1 ** i, 6) for i in range(80) if 0.001 * 1.1 ** i < 1.0] + [1.0]
#: normalising ops (layer, group, RMS norms, softmax): a streaming NPU runs their reductions far below
#: its other rates, so their grid reaches two decades lower
NORM_GRID = [round(1e-5 * 1.1 ** i, 8) for i in range(49)] + FACTOR_GRID
#: a class fits its own rate for normalising ops only when at least this many of its fit networks
#: have them (else they run at ``vector``): one or two networks would set it to their own error
NORM_MIN_NETWORKS = 3
#: a 16 x 16-bit MAC in 8 x 8-bit MACs: 4 partial products on an 8-bit array, more where the wider
#: layer also takes more of a dataflow chip's resources
SIXTEEN_GRID = [1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0]
OVERHEAD_GRID = [0.0] + [round(0.5 * 1.2 ** i, 3) for i in range(52)]  # 0 and 0.5 us .. ~6 ms
LINK_GRID = [round(0.25 * 1.15 ** i, 3) for i in range(45)]  # 0.25 .. ~118 GB/s
BUFFER_GRID = [0.0, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]  # MB; 0: every op's bytes go to DRAM
#: staging rates tried, as multiples of the chip's DRAM bandwidth (0: no staging term)
STAGING_GRID = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
#: the cost per element of a network's input and output tried (ns; 0: none): the host copies and
#: converts them for every image, whatever the accelerator does
IO_GRID = [0.0] + [round(0.01 * 1.2 ** i, 5) for i in range(40)]


#: dataflow classes: the allowance per layer (MB) tried; the one whose capacities misjudge fewest fit
#: networks (split or not) is kept, the smallest on a tie
LAYER_GRID = [0.0, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 1.5, 2.0, 3.0]


def context_capacity(b: Batch, layer_mb: float = 0.0) -> tuple[dict[str, float], int]:
    """Per chip of a dataflow class: the one-context capacity (MB of int8 weights + largest
    op working set + ``layer_mb`` per layer) that best separates its measured networks that ran in
    one context from those split into contexts (batch-1 time over batch-8 time per image above
    :data:`SPLIT_RATIO`), the smallest such on a tie: the largest need measured in one context.
    Networks with attention split anyway and are left out. On a chip where every measured network
    split: half the smallest need. Also returns how many networks the capacities misjudge."""
    out, wrong = {}, 0
    measured = measured_splits(b, layer_mb)
    for chip in b.chips:
        pts = [v for k, v in measured.items() if k[0] == chip]
        if not pts:
            continue
        cands = sorted({n for n, _ in pts})
        cands.insert(0, cands[0] / 2)  # below every network measured: all of them split
        cap = min(cands, key=lambda m: (sum((n > m) != s for n, s in pts), m))
        out[chip] = round(cap, 2)
        wrong += sum((n > round(cap, 2)) != s for n, s in pts)
    return out, wrong


def measured_splits(b: Batch, layer_mb: float) -> dict[tuple[str, str], tuple[float, bool]]:
    """Per (chip, network) measured at batch 1 and 8, without attention: its one-context need (MB,
    with ``layer_mb`` per layer) and whether it ran split (batch-1 time over batch-8 time per image
    above :data:`SPLIT_RATIO`)."""
    pairs: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    need = {}
    for r, n, k, a in zip(b.rows, b.need_mb, b.launches, b.attention):
        if not a:
            pairs[(r.chip, r.model)][r.batch] = r.measured_s
            need[(r.chip, r.model)] = float(n + layer_mb * k)
    return {k: (need[k], v[1] / (v[8] / 8) > SPLIT_RATIO) for k, v in pairs.items() if 1 in v and 8 in v}


def context_choices(rows: list[Row], p: Params) -> dict[str, dict[str, int]]:
    """Dataflow: of the measured networks (batch-1 / batch-8 pairs, no attention) on chips with a
    capacity, how many the capacities misjudge (one context or split) and how many there are, near the
    capacity (the need within a factor :data:`NEAR_CAPACITY` of it, where a prediction shows the
    other price too) and away from it: ``{"near": {"misjudged": m, "pairs": n}, "far": {...}}``."""
    out = {"near": {"misjudged": 0, "pairs": 0}, "far": {"misjudged": 0, "pairs": 0}}
    if not rows:
        return out
    for (chip, _), (need, split) in measured_splits(Batch(rows), p.layer_mb).items():
        cap = (p.context_mb or {}).get(chip)
        if not cap:
            continue
        where = out["near"] if cap / NEAR_CAPACITY <= need <= cap * NEAR_CAPACITY else out["far"]
        where["misjudged"] += int((need > cap) != split)
        where["pairs"] += 1
    return out


def contexts(b: Batch) -> tuple[dict[str, float], float]:
    """The per-chip capacities and the allowance per layer that misjudge fewest networks."""
    best = min(LAYER_GRID, key=lambda k: (context_capacity(b, k)[1], k))
    return context_capacity(b, best)[0], best


def _loss(b: Batch, p: Params, speed) -> float:
    return float(np.mean(np.abs(np.log(b.predict(p, speed) / b.measured))))


#: a chip's fixed-cost speed tried, as a multiple of its compute speed (1 first: it is kept on a tie)
FIXED_RATIO_GRID = sorted((2 ** (k / 2) for k in range(-8, 9)), key=lambda r: abs(math.log(r)))


def _speeds(b: Batch, p: Params) -> dict[str, tuple[float, float]]:
    """Per chip (per release when a chip was measured in several), its two speeds for the parameters:
    for each fixed-cost speed of :data:`FIXED_RATIO_GRID` times the compute speed, the compute speed
    in closed form (the chip's median log ratio, the minimiser of the absolute log error); the pair
    with the lowest loss. Each speed is normalised to a geometric mean of 1 over the chips."""
    work, fixed = b.parts(p)
    per = {}
    for i, c in enumerate(b.speeds):
        m = b.speed_idx == i
        best = None
        for ratio in FIXED_RATIO_GRID:
            logr = np.log((work[m] + fixed[m] / ratio) / b.measured[m])
            med = float(np.median(logr))
            loss = float(np.mean(np.abs(logr - med)))
            if best is None or loss < best[0] - 1e-12:
                best = (loss, med, med + math.log(ratio))
        per[c] = best[1:]
    mean_w = float(np.mean([v[0] for v in per.values()]))
    mean_f = float(np.mean([v[1] for v in per.values()]))
    return {c: (math.exp(w - mean_w), math.exp(f - mean_f)) for c, (w, f) in per.items()}


def fit(b: Batch, with_speeds: bool, start: Params | None = None,
        orders: int = 1) -> tuple[Params, dict[str, tuple[float, float]]]:
    """The factors minimising the loss over ``b``: coordinate descent from ``start`` (a refit) or,
    for a first fit, the lowest loss of :func:`_search` in each of ``orders`` coordinate orders
    (:func:`_ordered`; the first on a tie), without the input-and-output cost, then a descent with it
    from there (a class of :data:`IO_CLASSES`)."""
    if start is not None:
        return _descend(b, with_speeds, start)
    plain = b.without_io()
    p, speed = min((_search(plain, with_speeds, k) for k in range(orders)), key=lambda ps: _loss(plain, *ps))
    return _descend(b, with_speeds, p, speed=speed) if np.any(b.io > 0) else (p, speed)


def _search(b: Batch, with_speeds: bool, order: int) -> tuple[Params, dict[str, tuple[float, float]]]:
    """A first fit, every descent in coordinate order ``order``: the best of a descent of all the
    factors and a profile over the on-chip buffer (a descent of the other factors at each value of its
    grid), then a descent of all of them from the lowest loss, then :func:`_hop`; all of it once with
    batch norms folded and once not; then a profile over the staging rate from the best. The descent
    alone stops at whichever buffer it reaches first (a large buffer with a slow memory and a small one
    with a fast memory can both be local minima). Coordinate descent ends in a local minimum that
    depends on the order of its coordinates."""
    best = None
    # folded batch norms or not: a switch the descent rarely flips once the factors have settled, so
    # the whole search runs on each side (only one when no op would fold), the lower loss kept
    for fold in (False, True) if np.any(b.unfolded < 1) else (False,):
        fits = [_descend(b, with_speeds, Params(fold=fold), fixed=("fold",), order=order)]
        if np.any(b.bytes_per_bw > 0):
            fits += [_descend(b, with_speeds, Params(buffer_mb=mb, fold=fold), fixed=("buffer_mb", "fold"),
                              order=order) for mb in BUFFER_GRID]
        p, speed = min(fits, key=lambda ps: _loss(b, *ps))
        found = _hop(b, with_speeds, *_descend(b, with_speeds, p, speed=speed, order=order), order=order)
        if best is None or _loss(b, *found) < _loss(b, *best) - 1e-12:
            best = found
    if np.any(b.bytes_per_bw > 0):
        # a staging term changes how compute and memory factors trade, so the descent seldom reaches
        # it from none: a profile over its grid from the best fit, then a descent from the lowest
        p, speed = best
        fits = [_descend(b, with_speeds, Params(**{**vars(p), "staging": x}), fixed=("staging",), speed=speed,
                         order=order) for x in STAGING_GRID if x != p.staging]
        q, qs = min(fits, key=lambda ps: _loss(b, *ps))
        found = _descend(b, with_speeds, q, speed=qs, order=order)
        if _loss(b, *found) < _loss(b, *best) - 1e-12:
            best = found
    return best


#: fixed costs tried as new starting points once the descent has settled (a per-call cost and a
#: per-op cost can trade against each other and against the factors, which leaves local minima)
HOPS = {name: [min(OVERHEAD_GRID, key=lambda g: abs(g - us)) for us in targets]
        for name, targets in (("call_us", (0, 50, 200, 800)), ("overhead_us", (0, 20, 100)))}


def _hop(b: Batch, with_speeds: bool, p: Params, speed: dict, order: int = 0) -> tuple[Params, dict]:
    """From a settled fit, set each of :data:`HOPS` to each of its values, descend with it held there,
    then with it free; keep any lower loss and repeat until none is found."""
    best = _loss(b, p, speed)
    for _ in range(4):
        improved = False
        for name, values in HOPS.items():
            for v in values:
                q, t = _descend(b, with_speeds, Params(**{**vars(p), name: v}), fixed=(name,), speed=speed,
                                order=order)
                q, t = _descend(b, with_speeds, q, speed=t, order=order)
                loss = _loss(b, q, t)
                if loss < best - 1e-6:
                    best, p, speed, improved = loss, q, t, True
        if not improved:
            break
    return p, speed


def _ordered(names: list[str], order: int) -> list[str]:
    """The coordinates in order ``order``: 0 as listed, 1 reversed, k > 1 a fixed shuffle (seed k)."""
    if order == 0:
        return names
    if order == 1:
        return names[::-1]
    return [names[i] for i in np.random.default_rng(order).permutation(len(names))]


def _descend(b: Batch, with_speeds: bool, p: Params, fixed: tuple[str, ...] = (),
             speed: dict | None = None, order: int = 0) -> tuple[Params, dict[str, tuple[float, float]]]:
    speed = speed or {}
    best = _loss(b, p, speed)
    has_dw = bool(np.any(b.cls == 1))
    has_attn = bool(np.any(b.cls == 3))
    has_act = bool(np.any(b.cls == 4))
    has_norm = b.norm_networks >= NORM_MIN_NETWORKS
    if b.dataflow:
        caps, layer_mb = contexts(b)
        p = Params(**{**vars(p), "context_mb": caps, "layer_mb": layer_mb})
        best = _loss(b, p, speed)
    names = (["gemm", "vector", "memory", "overhead_us", "call_us", "data_us"] + (["depthwise"] if has_dw else [])
             + (["attention"] if has_attn else []) + (["activation"] if has_act else [])
             + (["norm"] if has_norm else []) + (["sixteen"] if b.has_wide else [])
             + (["link_gbps"] if b.dataflow else [])
             + (["dw_one"] if b.dataflow and has_dw else []) + (["act_one"] if b.dataflow and has_act else [])
             + (["act_one_no_dram"] if b.dataflow and has_act and b.no_dram.any() else [])
             + (["buffer_mb", "staging"] if np.any(b.bytes_per_bw > 0) else []) + ["tile"]
             + (["fold"] if np.any(b.unfolded < 1) else []) + (["io_ns"] if np.any(b.io > 0) else []))
    names = _ordered([n for n in names if n not in fixed], order)
    for _ in range(12):
        improved = False
        for name in names:
            grid = (OVERHEAD_GRID if name in ("overhead_us", "call_us", "data_us") else
                    LINK_GRID if name == "link_gbps" else BUFFER_GRID if name == "buffer_mb" else
                    ONE_CONTEXT_GRID if name in ("dw_one", "act_one", "act_one_no_dram") else
                    STAGING_GRID if name == "staging" else IO_GRID if name == "io_ns" else
                    TILE_GRID if name == "tile" else (False, True) if name == "fold" else
                    NORM_GRID if name == "norm" else SIXTEEN_GRID if name == "sixteen" else FACTOR_GRID)
            for v in grid:
                cand = Params(**{**vars(p), name: v})
                loss = _loss(b, cand, speed)
                if loss < best - 1e-12:
                    best, p, improved = loss, cand, True
        if with_speeds:
            new = _speeds(b, p)
            loss = _loss(b, p, new)
            if loss < best - 1e-12:
                best, speed, improved = loss, new, True
        if not improved:
            break
    if not has_dw:
        p = Params(**{**vars(p), "depthwise": p.vector})
    if not has_attn:  # nothing measured: attention runs at gemm
        p = Params(**{**vars(p), "attention": p.gemm})
    if not has_act:  # nothing measured: table activations run at vector
        p = Params(**{**vars(p), "activation": p.vector})
    if not has_norm:  # too few networks measured: normalising ops run at vector
        p = Params(**{**vars(p), "norm": None})
    return p, speed


# ----------------------------------------------------------------------------- validation
def stats(pred: np.ndarray, measured: np.ndarray) -> dict:
    err = sorted(np.abs(pred / measured - 1) * 100)
    ratio = sorted(measured / pred)
    return {"n": len(err), "median_abs_pct": round(float(np.median(err)), 2),
            "p90_abs_pct": round(float(percentile(err, 90)), 2),
            "band_low": round(float(percentile(ratio, 5)), 4), "band_high": round(float(percentile(ratio, 95)), 4)}


def leave_one_out(rows: list[Row], key, with_speeds: bool, start: Params, speeds_for_test: bool) -> np.ndarray:
    """Refit without each group of rows (``key``: model or chip) and predict that group."""
    pred = np.zeros(len(rows))
    groups = defaultdict(list)
    for i, r in enumerate(rows):
        groups[key(r)].append(i)
    for _, idx in groups.items():
        rest = [r for i, r in enumerate(rows) if i not in set(idx)]
        if not rest:
            continue
        p, speed = fit(Batch(rest), with_speeds, start)
        # a chip never measured (no speeds) also runs at the class's rates, not those of its kind
        pred[idx] = Batch([rows[i] for i in idx], chip_rates=speeds_for_test).predict(
            p, speed if speeds_for_test else None)
    return pred


#: folds of :func:`cross_validated`
CV_FOLDS = 4


def cv_fold(model: str) -> int:
    """A fit model's fold in :func:`cross_validated`: a fixed rule, drawn apart from the held-out one."""
    return (zlib.crc32(model.encode()) // HELD_OUT_MODULUS) % CV_FOLDS


#: the rows :func:`cross_validated` fits (read by its worker processes, forked with them)
_CV_ROWS: list[Row] = []


def _cv_fit(job: tuple[int, bool, int]) -> tuple[Params, dict] | None:
    """The whole search on the rows of the folds other than ``job``'s (None: no such rows)."""
    k, with_speeds, orders = job
    train = [r for r in _CV_ROWS if cv_fold(r.model) != k]
    return fit(Batch(train), with_speeds, orders=orders) if train else None


def cross_validated(rows: list[Row], with_speeds: bool, orders: int = 1) -> np.ndarray:
    """Each row predicted by a first fit, the whole search (:func:`fit`), of the rows of the other
    folds' models (:func:`cv_fold`). Leave-one-model-out refits descend from the class's fit, so they
    do not test which optimum the search chooses; a change to the model that moves it (another
    per-op cost, batch norms folded or not) can lower the leave-one-model-out error and still predict
    new networks worse. A change is kept only when both errors fall. The folds' searches run in
    parallel processes."""
    global _CV_ROWS
    _CV_ROWS = rows
    folds = {cv_fold(r.model) for r in rows}
    jobs = [(k, with_speeds, orders) for k in range(CV_FOLDS) if k in folds]  # a fold with no rows: no fit
    with ProcessPoolExecutor(max_workers=min(CV_FOLDS, os.cpu_count() or 1),
                             mp_context=multiprocessing.get_context("fork")) as ex:
        fits = list(ex.map(_cv_fit, jobs))
    pred = np.full(len(rows), np.nan)
    for (k, _, _), found in zip(jobs, fits):
        idx = [i for i, r in enumerate(rows) if cv_fold(r.model) == k]
        if idx and found is not None:
            pred[idx] = Batch([rows[i] for i in idx]).predict(*found)
    return pred


@dataclass
class ClassResult:
    name: str
    params: Params
    speeds: dict[str, tuple[float, float]]   # per chip: compute speed, fixed-cost speed
    fit_rows: list[Row]
    test_rows: list[Row]
    fit_pred: np.ndarray
    test_pred: np.ndarray
    loo_model: np.ndarray | None
    loo_chip: np.ndarray | None
    borrowed: bool = False
    loo_runtime: np.ndarray | None = None    # a pooled fit: each runtime's rows predicted by a refit without them


def fit_class(name: str, rows: list[Row], with_speeds: bool, orders: int = 1) -> ClassResult:
    fit_rows = [r for r in rows if not r.heldout]
    test_rows = [r for r in rows if r.heldout]
    p, speed = fit(Batch(fit_rows), with_speeds, orders=orders)
    loo_model = leave_one_out(fit_rows, lambda r: r.model, with_speeds, p, True)
    loo_chip = None
    if len({r.chip for r in rows}) > 1:
        # a chip never measured: refit without all of its rows, predict them all at speed 1
        loo_chip = leave_one_out(fit_rows + test_rows, lambda r: r.chip, with_speeds, p, False)
    loo_runtime = None
    if len({r.cls for r in rows}) > 1:
        # a pooled fit lends its factors to runtimes never measured: refit without all of a runtime's
        # rows, predict them all at speed 1
        loo_runtime = leave_one_out(fit_rows + test_rows, lambda r: r.cls, with_speeds, p, False)
    return ClassResult(name, p, speed, fit_rows, test_rows, Batch(fit_rows).predict(p, speed),
                       Batch(test_rows).predict(p, speed) if test_rows else np.array([]), loo_model, loo_chip,
                       loo_runtime=loo_runtime)


#: coordinate orders each class's first fit tries by default (``--orders``): the order a descent takes
#: decides which local minimum it ends in, and three orders find a lower loss than one on two classes
ORDERS = 3


#: per fit job (a class, or the pooled "npu"): its rows, whether chip speeds are fitted and how many
#: coordinate orders its first fit tries (``--orders``); set before the worker processes fork, so the
#: rows and their features are not sent to them
_JOBS: dict[str, tuple[list[Row], bool, int]] = {}


def _fit_job(name: str) -> ClassResult:
    return fit_class(name, *_JOBS[name])


# ----------------------------------------------------------------------------- output
def class_entry(res: ClassResult, lender: ClassResult | None = None) -> dict:
    src = lender or res
    p = src.params
    meas = lambda rows: np.array([r.measured_s for r in rows])  # noqa: E731
    entry = {"description": DESCRIPTIONS[res.name], "gemm": p.gemm, "depthwise": p.depthwise,
             "vector": p.vector, "memory": p.memory, "folds_batch_norm": p.fold}
    if any(np.any(r.feats[0] == 3) for r in src.fit_rows):  # fitted on networks with attention
        entry["attention"] = p.attention
    if any(np.any(r.feats[0] == 4) for r in src.fit_rows):  # fitted on networks with table activations
        entry["activation"] = p.activation
    if p.norm is not None:  # fitted on enough networks with normalising ops
        entry["norm"] = p.norm
    if any(len(r.feats) > 10 and np.any(r.feats[10] > 0) for r in src.fit_rows):  # builds with 16-bit layers
        entry["sixteen_bit_cost"] = p.sixteen
    entry["data_overhead_us"] = p.data_us
    if p.buffer_mb:
        entry["buffer_mb"] = p.buffer_mb
    if p.staging:
        entry["staging"] = p.staging
    if p.tile:
        entry["channel_tile"] = p.tile
    if p.io_ns:
        entry["io_ns_per_element"] = p.io_ns
    if lender is not None:
        checked = res.fit_rows + res.test_rows
        entry["basis"] = (f"too few measured rows to fit ({len(checked)} of {MIN_ROWS} needed): borrows the pooled "
                          f"{lender.name} fit; its {len(checked)} rows check that fit" if checked else
                          f"no measured rows of this runtime: borrows the pooled {lender.name} fit")
        entry["fitted_on"] = []
        entry["op_overhead_us"] = p.overhead_us
        entry["call_overhead_us"] = p.call_us
        entry["borrows"] = lender.name
        if checked:
            entry["heldout"] = stats(Batch(checked).predict(p), meas(checked))
        return entry
    chips = sorted({r.chip for r in res.fit_rows + res.test_rows})
    entry["basis"] = (f"fitted by benchmarks/fit_edge.py on {len(res.fit_rows)} published int8 rows of "
                      f"benchmarks/edge/rows.csv ({len(chips)} chips: {', '.join(chips)}); "
                      f"{len(res.test_rows)} rows of held-out models never fitted on"
                      + ("; the layers a build's compile script sets to 16 bits priced at sixteen_bit_cost"
                         if "sixteen_bit_cost" in entry else "")
                      + ("; dataflow: each chip's context_mb is set from the batch-1 / batch-8 pairs of its fit rows "
                         "(its on-chip memory is not published), context_link_gbps and the one-context depthwise and "
                         "activation rates are fitted"
                         if res.name in DATAFLOW else "")
                      + (f"; at the edge of the fit's grid: {', '.join(edges(p))}" if edges(p) else ""))
    entry["fitted_on"] = [r.id for r in res.fit_rows]  # ids of benchmarks/edge/rows.csv
    entry["residual"] = stats(res.fit_pred, meas(res.fit_rows))
    entry["residual"]["loo_median_abs_pct"] = stats(res.loo_model, meas(res.fit_rows))["median_abs_pct"]
    entry["op_overhead_us"] = p.overhead_us
    entry["call_overhead_us"] = p.call_us
    if res.name in DATAFLOW:
        entry["dataflow"] = True
        entry["context_link_gbps"] = p.link_gbps
        entry["context_mb_per_layer"] = p.layer_mb
        if p.dw_one != 1.0:
            entry["one_context_depthwise"] = p.dw_one
        if p.act_one != 1.0:
            entry["one_context_activation"] = p.act_one
        fit, held = context_choices(res.fit_rows, p), context_choices(res.test_rows, p)
        entry["context_choices"] = {"factor": NEAR_CAPACITY, "fit_near": fit["near"], "fit_far": fit["far"],
                                    "heldout_near": held["near"], "heldout_far": held["far"]}
    if res.speeds:
        counts = defaultdict(int)
        for r in res.fit_rows:
            counts[r.chip] += 1
        entry["chips"] = {c: {"speed": round(s, 4), "fixed_speed": round(f, 4), "rows": counts[c]}
                          for c, (s, f) in sorted(res.speeds.items()) if counts[c]}
        own = {r.chip: r.release for r in res.fit_rows if r.speed_of == r.chip}
        for r in res.fit_rows:
            if r.speed_of != r.chip and r.speed_of in res.speeds:  # the chip measured in another release too
                chip = entry["chips"][r.chip]
                chip["release"] = own[r.chip]
                chip.setdefault("other_releases", {})[r.release] = round(res.speeds[r.speed_of][0], 4)
        for c, mb in (p.context_mb or {}).items():
            if c in entry["chips"]:
                entry["chips"][c]["context_mb"] = mb
        if res.name in DATAFLOW and p.act_one_no_dram != p.act_one:  # the chips without DRAM of their own
            for c in NO_DRAM & set(entry["chips"]):
                entry["chips"][c]["one_context_activation"] = p.act_one_no_dram
    if res.test_rows:
        entry["heldout"] = stats(res.test_pred, meas(res.test_rows))
    entry["out_of_sample"] = stats(np.concatenate([res.loo_model, res.test_pred]),
                                   meas(res.fit_rows + res.test_rows))
    if res.loo_chip is not None:
        entry["unmeasured_chip"] = stats(res.loo_chip, meas(res.fit_rows + res.test_rows))
    if res.speeds:  # a class with chip speeds: what carrying a network's measurements between its chips is worth
        rule = here_rule(res.fit_rows, res.loo_model)[0]
        every = res.fit_rows + res.test_rows
        scaled, measured, _ = measured_elsewhere(every, np.concatenate([res.loo_model, res.test_pred]),
                                                 own=rule == "own")
        if len(scaled):
            entry["measured_elsewhere"] = stats(scaled, measured)
            if rule == "own":
                entry["carry_includes_chip"] = True
        if rule == "here":
            entry["measured_here"] = stats(*measured_here(every)[:2])
    if res.loo_runtime is not None:
        entry["unmeasured_runtime"] = stats(res.loo_runtime, meas(res.fit_rows + res.test_rows))
    return entry


def measured_elsewhere(rows: list[Row], pred: np.ndarray, own: bool = False) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """What a network's measurements on other chips of a class are worth, as ``chipfit check`` uses
    them: each row whose network (at its input size) was measured on another chip of the class,
    predicted at ``pred`` (the row without its network in the fit) times the network's median measured
    / ``pred`` ratio over its rows on the other chips at the row's batch (``own``: and its other rows on
    the row's chip, another release's or source's); those rows' measured latencies; and their indices
    in ``rows``."""
    groups = defaultdict(list)
    for i, r in enumerate(rows):
        groups[(r.model, r.hw)].append(i)
    scaled, measured, carried = [], [], []
    for idx in groups.values():
        for i in idx:
            others = [math.log(rows[j].measured_s / pred[j]) for j in idx
                      if j != i and (own or rows[j].chip != rows[i].chip) and rows[j].batch == rows[i].batch]
            if others:
                scaled.append(pred[i] * math.exp(float(np.median(others))))
                measured.append(rows[i].measured_s)
                carried.append(i)
    return np.array(scaled), np.array(measured), carried


def measured_here(rows: list[Row]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """What a network's published measurement on the chip asked is worth, as ``chipfit check`` uses it:
    each row with another row of its network, input size and batch on its chip (another release or
    source), predicted as those rows' median measured latency (geometric); those rows' measured
    latencies; and their indices in ``rows``."""
    groups = defaultdict(list)
    for i, r in enumerate(rows):
        groups[(r.model, r.hw, r.batch, r.chip)].append(i)
    scaled, measured, here = [], [], []
    for idx in groups.values():
        for i in idx:
            others = [math.log(rows[j].measured_s) for j in idx if j != i]
            if others:
                scaled.append(math.exp(float(np.median(others))))
                measured.append(rows[i].measured_s)
                here.append(i)
    return np.array(scaled), np.array(measured), here


#: the fit rows a class needs, measured again on their own chip and on other chips, for the fit to let a
#: published measurement on the chip asked change what the verdict rests on (:func:`here_rule`)
HERE_ROWS = 20


def here_rule(rows: list[Row], pred: np.ndarray) -> tuple[str, dict[str, dict]]:
    """What a published measurement of the network on the chip asked does to the verdict, decided on a
    class's fit rows (``pred``: each predicted without its network in the fit) that were measured again
    on their chip (another release or source) and on other chips at their batch. Each such row is
    predicted three ways: ``here`` (the other measurements on its chip), ``carry`` (the network's ratio
    on the other chips, :func:`measured_elsewhere`) and ``own`` (the ratio over its other rows, its
    chip's included). ``here`` when it beats ``carry`` in both median and p90 |error| (the verdict rests
    on the chip's own measurements), else ``own`` when that does (the carry takes the chip's rows in),
    else "" (the carry leaves them out); "" with fewer than :data:`HERE_ROWS` such rows. Returns the
    choice and each way's errors over those rows."""
    here_s, _, here_i = measured_here(rows)
    carry_s, _, carry_i = measured_elsewhere(rows, pred)
    own_s, _, own_i = measured_elsewhere(rows, pred, own=True)
    both = sorted(set(here_i) & set(carry_i))
    if not both:
        return "", {}
    pick = lambda s, idx: np.array([s[idx.index(i)] for i in both])  # noqa: E731
    m = np.array([rows[i].measured_s for i in both])
    ways = {"here": stats(pick(here_s, here_i), m), "carry": stats(pick(carry_s, carry_i), m),
            "own": stats(pick(own_s, own_i), m)}
    beats = lambda a: all(ways[a][k] < ways["carry"][k] for k in ("median_abs_pct", "p90_abs_pct"))  # noqa: E731
    if len(both) < HERE_ROWS:
        return "", ways
    return ("here" if beats("here") else "own" if beats("own") else ""), ways


def edges(p: Params) -> list[str]:
    out = []
    for name in ("gemm", "depthwise", "vector", "memory", "attention", "activation", "norm"):
        v, low = getattr(p, name), NORM_GRID[0] if name == "norm" else FACTOR_GRID[0]
        if v is None:
            continue
        if v >= FACTOR_GRID[-1]:
            out.append(f"{name} at the grid's upper end 1.0 (the rated peak)")
        elif v <= low:
            out.append(f"{name} at the grid's lower end {low}")
    for name, v in (("op_overhead_us", p.overhead_us), ("call_overhead_us", p.call_us),
                    ("data_overhead_us", p.data_us)):
        if v >= OVERHEAD_GRID[-1]:
            out.append(f"{name} at the grid's upper end {OVERHEAD_GRID[-1]}")
    if p.context_mb is not None and p.link_gbps in (LINK_GRID[0], LINK_GRID[-1]):
        out.append(f"context_link_gbps at the grid's end {p.link_gbps}")
    for name, v in (("one_context_depthwise", p.dw_one), ("one_context_activation", p.act_one),
                    (f"one_context_activation of {', '.join(sorted(NO_DRAM))}", p.act_one_no_dram)):
        if v in (ONE_CONTEXT_GRID[0], ONE_CONTEXT_GRID[-1]):
            out.append(f"{name} at the grid's end {v}")
    if p.buffer_mb >= BUFFER_GRID[-1]:
        out.append(f"buffer_mb at the grid's upper end {BUFFER_GRID[-1]}")
    if p.io_ns >= IO_GRID[-1]:
        out.append(f"io_ns_per_element at the grid's upper end {IO_GRID[-1]}")
    if p.staging >= STAGING_GRID[-1]:
        out.append(f"staging at the grid's upper end {STAGING_GRID[-1]}")
    if p.sixteen >= SIXTEEN_GRID[-1]:
        out.append(f"sixteen_bit_cost at the grid's upper end {SIXTEEN_GRID[-1]}")
    if p.tile >= TILE_GRID[-1]:
        out.append(f"channel_tile at the grid's upper end {TILE_GRID[-1]}")
    return out


def pct(x: float) -> str:
    return f"{x:.1f}%"


def errors(res: dict | None) -> str:
    """'median / p90' of a residual, or a dash."""
    return f"{pct(res['median_abs_pct'])} / {pct(res['p90_abs_pct'])}" if res else "–"


def band(res: dict | None) -> str:
    """The 5-95 % band of a residual as multipliers of the prediction, or a dash."""
    return f"×{res['band_low']:.2f}–×{res['band_high']:.2f}" if res else "–"


#: redraws of the held-out networks behind the ranges of the held-out median and p90
RESAMPLES = 2000


def redrawn(rows: list[Row], pred: np.ndarray) -> tuple[tuple[float, float], tuple[float, float]]:
    """The 5th and 95th percentile of the held-out median and of the p90 |error| (%) over
    :data:`RESAMPLES` redraws of the held-out networks (whole networks, with replacement, random seed 0)."""
    err = np.abs(pred / np.array([r.measured_s for r in rows]) - 1) * 100
    models = sorted({r.model for r in rows})
    per = [err[[i for i, r in enumerate(rows) if r.model == m]] for m in models]
    rng = np.random.default_rng(0)
    meds, p90s = [], []
    for _ in range(RESAMPLES):
        e = np.concatenate([per[k] for k in rng.integers(0, len(models), len(models))])
        meds.append(float(np.median(e)))
        p90s.append(percentile(list(e), 90))
    return ((percentile(meds, 5), percentile(meds, 95)), (percentile(p90s, 5), percentile(p90s, 95)))


def covered(res: ClassResult) -> tuple[int, int, tuple[float, float]]:
    """How many of the held-out rows fall inside the band the class's fit rows give without them (the
    5th-95th percentile of measured / predicted over the fit rows, each predicted by the refit that
    left its model out): a band that means what it says holds about 90 % of them. Also the rows and
    that band."""
    ratio = [r.measured_s / x for r, x in zip(res.fit_rows, res.loo_model)]
    lo, hi = percentile(ratio, 5), percentile(ratio, 95)
    inside = sum(lo <= r.measured_s / x <= hi for r, x in zip(res.test_rows, res.test_pred))
    return int(inside), len(res.test_rows), (lo, hi)


def validation_block(results: dict[str, ClassResult], entries: dict, left: dict[str, int], n_rows: int,
                     pooled: ClassResult, checks: dict[str, ClassResult], aside: dict) -> str:
    lines = [BLOCK[0], "## Edge NPUs (published measurements, `benchmarks/edge/`)", "",
             f"Regenerated by `python benchmarks/fit_edge.py` ({datetime.date.today().isoformat()}). "
             f"Of the {n_rows} published edge rows in `benchmarks/edge/rows.csv`, "
             f"{sum(len(r.fit_rows) + len(r.test_rows) for r in [*results.values(), *checks.values()])} over "
             f"{len({x.chip for r in [*results.values(), *checks.values()] for x in r.fit_rows + r.test_rows})} chips "
             "can be priced by chipfit (an int8 NPU row, or a TensorRT fp16 row of a Jetson GPU, of a chip in the "
             "database, a network chipfit counts, every layer on the accelerator). "
             "Rows of a quarter of the models, chosen by a fixed rule before fitting "
             f"(`crc32(model) % {HELD_OUT_MODULUS} == 0`), are **held out**: never fitted on. Errors are "
             "|predicted − measured| / measured of the latency of one batch. "
             "*Models left out* pools every row predicted without its model in the fit: the held-out rows and "
             "each fit row predicted by a refit without its model (leave-one-model-out). The band a prediction "
             "shows (5th-95th percentile of measured / predicted) comes from these rows: the held-out quarter "
             "alone can be easier or harder than a new network.", "",
             "| class | fit rows | chips | in-sample median / p90 | leave-one-model-out median | "
             "held-out rows | **held-out median / p90** | models left out: rows, median / p90 | band (5-95 %) | "
             "new chip: median / p90 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, res in results.items():
        e = entries[name]
        if res.borrowed:
            h = e.get("heldout")
            lines.append(f"| {name} (borrows {e['borrows']}) | 0 | {len({r.chip for r in res.test_rows})} | – | – | "
                         f"{h['n'] if h else 0} | {errors(h)} | – | {band(h)} | – |")
            continue
        r, h, o, u = e["residual"], e.get("heldout"), e["out_of_sample"], e.get("unmeasured_chip")
        lines.append(
            f"| {name} | {r['n']} | {len({x.chip for x in res.fit_rows + res.test_rows})} | {errors(r)} | "
            f"{pct(r['loo_median_abs_pct'])} | {h['n'] if h else 0} | **{errors(h)}** | {o['n']}, {errors(o)} | "
            f"{band(o)} | {errors(u)} |")
    e = entries["npu"]
    r, h, o, u = e["residual"], e.get("heldout"), e["out_of_sample"], e.get("unmeasured_chip")
    lines.append(f"| npu (pooled, one set of factors, no chip speeds) | {r['n']} | "
                 f"{len({x.chip for x in pooled.fit_rows + pooled.test_rows})} | {errors(r)} | "
                 f"{pct(r['loo_median_abs_pct'])} | {h['n'] if h else 0} | {errors(h)} | {o['n']}, {errors(o)} | "
                 f"{band(o)} | {errors(u)} |")
    for name, res in checks.items():
        h = stats(res.test_pred, np.array([r.measured_s for r in res.test_rows]))
        lines.append(f"| {name} (fitted on other rows, checked here) | 0 | {len({r.chip for r in res.test_rows})} | "
                     f"– | – | {h['n']} | {errors(h)} | – | {band(h)} | – |")
    if pooled.loo_runtime is not None:
        every = pooled.fit_rows + pooled.test_rows
        by = defaultdict(list)
        for r, x in zip(every, pooled.loo_runtime):
            by[r.cls].append((r, x))
        u = entries["npu"]["unmeasured_runtime"]
        lines += ["", "The pooled `npu` fit on a runtime it never saw, the case of every chip priced with it (its own "
                  "and those of the classes that borrow it): each fitted runtime's rows left out of the pooled "
                  "fit in turn and predicted at speed 1. "
                  f"{u['n']} rows, median {pct(u['median_abs_pct'])}, p90 {pct(u['p90_abs_pct'])}, band {band(u)} "
                  "(the band those chips show); per runtime left out: "
                  + ", ".join(f"{c} {errors(stats(np.array([x for _, x in rx]), np.array([r.measured_s for r, _ in rx])))}"
                              for c, rx in sorted(by.items())) + "."]
    lines += ["", "A network measured on other chips of its class: `chipfit check`, `rank`, `whatif` and `plan` carry "
              "the published measurements of the network asked, on the class's other chips, to the chip asked (a "
              "chip the class measured): its prediction times the network's median measured / predicted ratio "
              "there, over its rows at the batch asked; the verdict rests on that prediction. The error of that, "
              "over every row whose network was measured on another chip at its batch: each row predicted without "
              "its network in the fit, times the ratio over the network's rows on the other chips at the row's "
              "batch, predicted the same way. The last columns are the held-out rows alone (every held-out "
              "network was measured on other chips of its class).", "",
              "| class | rows | networks | median / p90 | band (5-95 %) | the same rows, predicted alone: median / p90 "
              "| held-out rows | held-out, carried: median / p90 | held-out, predicted alone |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, res in results.items():
        m = entries[name].get("measured_elsewhere")
        if res.borrowed or m is None:
            continue
        every, pred = res.fit_rows + res.test_rows, np.concatenate([res.loo_model, res.test_pred])
        scaled, measured, carried = measured_elsewhere(every, pred, own=entries[name].get("carry_includes_chip", False))
        held = [k for k, i in enumerate(carried) if i >= len(res.fit_rows)]
        lines.append(f"| {name} | {m['n']} | {len({(every[i].model, every[i].hw) for i in carried})} | "
                     f"{errors(m)} | {band(m)} | {errors(stats(pred[carried], measured))} | {len(held)} | "
                     + (f"{errors(stats(scaled[held], measured[held]))} | "
                        f"{errors(stats(pred[carried][held], measured[held]))} |" if held else "– | – |"))
    choices = {"here": "the verdict rests on the chip's own measurements", "own": "the carry takes the chip's rows in",
               "": "the carry leaves the chip's rows out"}
    lines += ["", "A network published on the chip asked: what should its measurement there do to the verdict? A user's "
              "run is another run, so the fit asks it of the rows measured again on their own chip (another runtime "
              "release or source) and also on other chips at their batch, each predicted three ways: by the other "
              "measurements on its chip (their median), by the carry above, and by the carry over the network's "
              "other rows with its chip's included. The fit decides on its fit rows: the chip's own measurements "
              "when they beat the carry in both median and p90, else the carry with the chip's rows when that "
              f"does, else the carry as above; a class with fewer than {HERE_ROWS} such rows keeps the carry. The "
              "band of the chip's own measurements (5-95 %) is over every row measured again on its chip.", "",
              "| class | fit rows | the chip's other measurements | carry | carry, the chip's rows in | choice | band |",
              "|---|---|---|---|---|---|---|"]
    for name, res in results.items():
        if res.borrowed or not res.speeds:
            continue
        choice, ways = here_rule(res.fit_rows, res.loo_model)
        if ways:
            lines.append(f"| {name} | {ways['here']['n']} | {errors(ways['here'])} | {errors(ways['carry'])} | {errors(ways['own'])} "
                         f"| {choices[choice]} | {band(entries[name].get('measured_here'))} |")
    lines += ["", f"How firm the held-out figures are: a handful of held-out networks decide them, so the held-out "
              f"networks were drawn again with replacement {RESAMPLES:,} times (a fixed random seed) and the median and "
              "p90 recomputed each time; the 5th-95th percentile of each is shown. This measures the luck of "
              "which networks were held out, not a band on a prediction. Whether the band means what it says: "
              "the band of the fit rows alone (each predicted by the refit that left its model out) should hold "
              "about 90 % of the held-out rows, which none of those refits saw.", "",
              "| class | held-out networks | held-out median (5-95 % over redraws) | held-out p90 (5-95 % over redraws) "
              "| held-out rows inside the fit rows' band |",
              "|---|---|---|---|---|"]
    for name, res in results.items():
        if res.borrowed or not res.test_rows:
            continue
        h = entries[name]["heldout"]
        (m_lo, m_hi), (q_lo, q_hi) = redrawn(res.test_rows, res.test_pred)
        inside, n, (lo, hi) = covered(res)
        lines.append(f"| {name} | {len({r.model for r in res.test_rows})} | {pct(h['median_abs_pct'])} "
                     f"({pct(m_lo)}–{pct(m_hi)}) | {pct(h['p90_abs_pct'])} ({pct(q_lo)}–{pct(q_hi)}) | "
                     f"{inside} of {n} ({pct(100 * inside / n)}) in ×{lo:.2f}–×{hi:.2f} |")
    lines += ["", "Fitted factors (compute factors are fractions of the rated dense int8 peak; chip speeds are a "
              "measured chip's speed relative to its class, for the work that grows with the batch / for what is "
              "paid once per batch (op starts, data moves, the call, a context reload); `on-chip buffer`: an op "
              "whose working set, weights and activations after fusion, is at most this pays no DRAM time; "
              "`staging`: every op also moves its bytes at this multiple of the chip's DRAM bandwidth, on top of "
              "its compute or DRAM time (none: no such term); "
              "`input and output`: a cost per element of the network's input and of its last op's output, per "
              "image, paid at the chip's fixed-cost speed (the host copies and converts them; fitted for "
              f"{', '.join(sorted(IO_CLASSES))}, where it lowered both the leave-one-model-out and the "
              "cross-validated error); "
              "`channel tile`: a convolution or linear layer is charged its channels per group rounded up to "
              "whole tiles; `table activations`: SiLU, GELU, sigmoid, hard swish and the like, which an NPU "
              "evaluates by table or polynomial (the ReLU family runs at `vector`); `norms and softmax`: layer, "
              "group and RMS norms and softmax, each a reduction over a feature axis (fitted where at least "
              f"{NORM_MIN_NETWORKS} of the class's fit networks have them, else at `vector`); "
              "`16-bit MAC`: how many 8-bit MACs' time a multiply-accumulate costs in a layer a published build's "
              "compile script sets to 16-bit activations and weights (fitted where the class's rows have such "
              "layers; chipfit predicts 8-bit builds); "
              "`batch norm after a layer`: "
              "folded into the convolution or linear layer before it (no time) or charged at `vector`, "
              "whichever fits the class's rows better):", "",
              "| class | gemm | depthwise | vector | table activations | norms and softmax | attention | 16-bit MAC | "
              "batch norm after a layer | memory | on-chip buffer | staging | channel tile | per op | per data op | "
              "per call | input and output | chip speeds | at a grid edge |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, res in results.items():
        if res.borrowed:
            continue
        p = res.params
        sp = ", ".join(f"{c} {s:.2f} / {f:.2f}" for c, (s, f) in sorted(res.speeds.items())) or "–"
        att = f"{p.attention:g}" if "attention" in entries[name] else "(gemm)"
        act = f"{p.activation:g}" if "activation" in entries[name] else "(vector)"
        norm = f"{p.norm:g}" if "norm" in entries[name] else "(vector)"
        wide = f"×{p.sixteen:g}" if "sixteen_bit_cost" in entries[name] else "–"
        buf = f"{p.buffer_mb:g} MB" if p.buffer_mb else "none"
        lines.append(f"| {name} | {p.gemm:g} | {p.depthwise:g} | {p.vector:g} | {act} | {norm} | {att} | {wide} | "
                     f"{'folded' if p.fold else 'at vector'} | {p.memory:g} | {buf} | "
                     f"{f'×{p.staging:g} DRAM' if p.staging else 'none'} | "
                     f"{p.tile or 'none'} | "
                     f"{p.overhead_us:g} µs | {p.data_us:g} µs | {p.call_us:g} µs | "
                     f"{f'{p.io_ns:g} ns per element' if p.io_ns else 'none'} | {sp} | "
                     f"{'; '.join(edges(p)) or 'none'} |")
    lines += release_lines(results)
    for name, res in results.items():
        if name in DATAFLOW and not res.borrowed:
            p = res.params
            lines += ["", f"{name} is a dataflow class: a network runs in one context, with no fixed cost per op, "
                      f"when its int8 weights plus its largest op working set plus {p.layer_mb:g} MB per layer "
                      "(an op that computes and is not fused) fit the chip's one-context capacity "
                      "(MB, set from the fit rows' batch-1 / batch-8 pairs: "
                      + ", ".join(f"{c} {v:g}" for c, v in sorted((p.context_mb or {}).items()))
                      + "); a bigger one, or one with attention, is split into contexts: it pays the per-op "
                      f"costs and reloads its weights once per batch at {p.link_gbps:g} GB/s (fitted)."
                      + (f" In one context it runs depthwise convolutions at {p.dw_one:g} × and table activations "
                         f"at {p.act_one:g} × the class's rates (fitted, capped at the rated peak)"
                         + (f"; on the chips without DRAM of their own ({', '.join(sorted(NO_DRAM))}) table "
                            f"activations at {p.act_one_no_dram:g} × (fitted)"
                            if p.act_one_no_dram != p.act_one else "") + "."
                         if (p.dw_one, p.act_one, p.act_one_no_dram) != (1.0, 1.0, 1.0) else "")]
            lines += context_lines(res, entries[name]["context_choices"])
    per_chip = defaultdict(lambda: defaultdict(list))
    for name, res in results.items():
        preds = list(zip(res.test_rows, res.test_pred)) if not res.borrowed else []
        for row, pr in preds:
            per_chip[row.chip][name].append(abs(pr / row.measured_s - 1) * 100)
    lines += ["", "Held-out error per chip and class:", "", "| chip | class | held-out rows | median | p90 |",
              "|---|---|---|---|---|"]
    for chip in sorted(per_chip):
        for name, errs in sorted(per_chip[chip].items()):
            lines.append(f"| {chip} | {name} | {len(errs)} | {pct(float(np.median(errs)))} | "
                         f"{pct(percentile(sorted(errs), 90))} |")
    lines += ["", "Rows not priced, and why:", "", "| reason | rows |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(left.items(), key=lambda kv: -kv[1])]
    if aside:
        lines += ["", "The rows set aside because their int8 build ran slower than the same build in float on "
                  "the same device (an NPU's int8 path has at least twice its float rate and moves half the "
                  "bytes, so these builds run something no op-cost model of the network sees) are never fitted "
                  "on or scored above. Priced anyway, as their class prices a new network on their chip "
                  "(`predictions.csv`, role `set-aside`), they show what chipfit misses on such a build:", "",
                  "| class | rows | networks | median error | predicted too fast |", "|---|---|---|---|---|"]
        for name, (rs, pr) in aside.items():
            err = pr / np.array([r.measured_s for r in rs]) - 1
            lines.append(f"| {name} | {len(rs)} | {', '.join(sorted({r.model for r in rs}))} | "
                         f"{pct(float(np.median(np.abs(err)) * 100))} | {int(np.sum(err < 0))} of {len(rs)} |")
    lines += ["", "Every priced row, with its role and prediction, is in `benchmarks/edge/predictions.csv`.", BLOCK[1]]
    return "\n".join(lines)


def context_lines(res: ClassResult, c: dict) -> list[str]:
    """A dataflow class: how often its capacities misjudge one context against split, near the
    capacity and away from it, and whether the held-out rows near it fall inside the band alone and
    inside the band widened to cover the other price (as a prediction shows it)."""
    share = lambda k: f"{c[k]['misjudged']} of {c[k]['pairs']}"  # noqa: E731
    rate = lambda *ks: 100 * sum(c[k]["misjudged"] for k in ks) / max(1, sum(c[k]["pairs"] for k in ks))  # noqa: E731
    near, far = rate("fit_near", "heldout_near"), rate("fit_far", "heldout_far")
    f = c["factor"]
    out = ["", f"Where the capacities misjudge one context against split (a network's batch-1 / batch-8 pair "
           f"measured on its chip, networks with attention left out): with the need within a factor {f:g} of "
           f"the chip's capacity, {share('fit_near')} fit pairs and {share('heldout_near')} held-out pairs "
           f"({pct(near)}); further from it, {share('fit_far')} fit pairs and {share('heldout_far')} held-out pairs "
           f"({pct(far)}). A wrong choice costs more than the band (the per-op costs and the weight reload), and "
           f"near the capacity it happens {'more' if near > 5 else 'less'} often than the 5% either end of a band "
           "leaves out: there a prediction also prices the other choice, and its band runs from the faster "
           "price's fast end to the slower price's slow end."]
    held = Batch(res.test_rows)
    near = held.near(res.params)
    if not near.any():
        return out
    measured = held.measured[near]
    pred = res.test_pred[near]
    other = held.predict(res.params, res.speeds, other=True)[near]
    _, _, (lo, hi) = covered(res)
    plain = int(np.sum((measured >= lo * pred) & (measured <= hi * pred)))
    wide = int(np.sum((measured >= lo * np.minimum(pred, other)) & (measured <= hi * np.maximum(pred, other))))
    n = len(measured)
    out[-1] += (f" Of the {n} held-out rows near the capacity, {plain} ({pct(100 * plain / n)}) fall inside the fit "
                f"rows' band (×{lo:.2f}–×{hi:.2f}) of the price alone and {wide} ({pct(100 * wide / n)}) inside "
                "that band widened to both prices.")
    return out


def release_lines(results: dict[str, ClassResult]) -> list[str]:
    """What the speed per runtime release is, and how far apart the releases measured one network."""
    out = []
    for name, res in results.items():
        rows = res.fit_rows + res.test_rows
        others = sorted({(r.chip, r.release, r.speed_of) for r in rows if r.speed_of != r.chip})
        if res.borrowed or not others:
            continue
        own = {r.chip: r.release for r in rows if r.speed_of == r.chip}
        times = defaultdict(lambda: defaultdict(list))
        for r in rows:
            times[(r.chip, r.model, r.hw, r.batch)][r.release].append(r.measured_s)
        logs = defaultdict(list)  # per chip and other release: log(time in its own release / time in the other)
        for k, t in times.items():
            for x in t:
                if x != own[k[0]] and own[k[0]] in t:
                    logs[(k[0], x)].append(math.log(np.mean(t[own[k[0]]]) / np.mean(t[x])))
        gaps = [abs(v) for vs in logs.values() for v in vs]
        # what is left once each chip's shift between its releases (its two speeds) is taken out
        left = sorted(100 * (math.exp(abs(v - float(np.median(vs)))) - 1) for vs in logs.values() for v in vs)
        chips = "; ".join(f"{c} {res.speeds[c][0]:.2f} in {own[c]}, {res.speeds[key][0]:.2f} in {rel}"
                          for c, rel, key in others)
        out.append(f"{name}: a chip measured in two releases of the runtime has a speed per release ({chips}); "
                   f"chipfit predicts with the first, the release most of the class's rows were measured in. "
                   f"The same network on the same chip differs between the releases by a median "
                   f"{pct(100 * (math.exp(float(np.median(gaps))) - 1))} ({len(gaps)} networks measured in both); "
                   f"with each chip's shift between its releases taken out, by a median {pct(float(np.median(left)))} "
                   f"and a p90 of {pct(percentile(left, 90))}: the measurements' own spread, which no model of "
                   "the network can predict.")
    return ["", *out] if out else []


def write_validation(block: str) -> None:
    text = VALIDATION.read_text(encoding="utf-8")
    if BLOCK[0] in text:
        head, rest = text.split(BLOCK[0], 1)
        text = head + block + rest.split(BLOCK[1], 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    VALIDATION.write_text(text, encoding="utf-8")


def priced_rows() -> tuple[list[Row], dict[str, int], list[Row]]:
    """The rows the fit can price, with their features (see :func:`select_rows`), less those whose
    network has ops its runtime leaves to the host CPU (runtime_ops.yaml): such a row measures the CPU
    too, and the per-class factors are fitted on accelerator-only rows."""
    rows, left, set_aside = select_rows(database())
    graphs = {}
    for r in rows + set_aside:
        key = (r.model, r.hw)
        if key not in graphs:
            graphs[key] = graph_of(*key)
        r.feats = features(graphs[key], r.batch, r.precision, r.layers)
    hosted = {r.id for r in rows if placement_for(graphs[(r.model, r.hw)], r.cls) is not None}
    if hosted:
        left["some ops are left to the host CPU (runtime_ops.yaml)"] = len(hosted)
        rows = [r for r in rows if r.id not in hosted]
    return rows, left, [r for r in set_aside if r.id not in hosted]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="print, write nothing")
    ap.add_argument("--orders", type=int, default=ORDERS, metavar="N",
                    help=f"each class's first fit keeps the lowest loss of N coordinate orders (1: as listed; "
                         f"2 adds the reverse; more add fixed shuffles; default {ORDERS}); N times the search time")
    ap.add_argument("--cv", metavar="CLASS",
                    help="print CLASS's error cross-validated by model (see cross_validated), write nothing")
    args = ap.parse_args()
    if args.orders < 1:
        ap.error("--orders must be at least 1")
    if not ROWS.exists():
        sys.exit("benchmarks/edge/rows.csv is missing: run python benchmarks/edge/build.py first")
    rows, left, set_aside = priced_rows()
    with open(ROWS, encoding="utf-8") as fh:
        n_rows = sum(1 for _ in fh) - 1
    if args.cv:
        fit_rows = [r for r in rows if r.cls == args.cv and not r.heldout]
        if not fit_rows:
            ap.error(f"no fit rows of class {args.cv!r}")
        pred = cross_validated(fit_rows, True, args.orders)
        meas = np.array([r.measured_s for r in fit_rows])
        s = stats(pred, meas)
        print(f"{args.cv}: {len(fit_rows)} fit rows, {CV_FOLDS}-fold cross-validated by model: median "
              f"{s['median_abs_pct']} %, p90 {s['p90_abs_pct']} %, mean |log| {np.mean(np.abs(np.log(pred / meas))):.4f}")
        return
    by_class = defaultdict(list)
    for r in rows:
        by_class[r.cls].append(r)
    stored = {name: by_class.pop(name) for name in list(by_class) if name not in DESCRIPTIONS}
    by_size = sorted(by_class, key=lambda n: -len(by_class[n]))
    fitted = [name for name in by_size if sum(not r.heldout for r in by_class[name]) >= MIN_ROWS]
    small = [name for name in by_size if name not in fitted]
    # the fits are independent: one process each, the longest (the pooled fit) first
    jobs = ["npu", *fitted]
    _JOBS.update({name: (by_class[name], True, args.orders) for name in fitted})
    _JOBS["npu"] = ([r for name in fitted for r in by_class[name]], False, args.orders)
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=multiprocessing.get_context("fork")) as ex:
        done = dict(zip(jobs, ex.map(_fit_job, jobs)))
    pooled = done.pop("npu")
    results: dict[str, ClassResult] = done
    for name, res in results.items():
        print(f"{name}: {res.params} speeds {res.speeds}", flush=True)
    print(f"npu (pooled): {pooled.params}", flush=True)
    for name in small:
        results[name] = ClassResult(name, pooled.params, {}, [], by_class[name], np.array([]),
                                    Batch(by_class[name]).predict(pooled.params), None, None, borrowed=True)
    for name in DESCRIPTIONS:  # runtimes with no priced rows at all borrow too
        if name != "npu" and name not in results:
            results[name] = ClassResult(name, pooled.params, {}, [], [], np.array([]), np.array([]),
                                        None, None, borrowed=True)
    entries = {name: class_entry(res, pooled if res.borrowed else None) for name, res in results.items()}
    checks = {}  # classes fitted elsewhere (benchmarks/fit_efficiency.py), checked on edge rows as stored
    for name, crows in stored.items():
        fit = efficiency_file().classes[name]
        p = Params(fit.gemm, fit.depthwise, fit.vector, fit.memory, fit.op_overhead_us, fit.call_overhead_us,
                   fit.attention or fit.gemm, fit.data_overhead_us, activation=fit.activation or fit.vector,
                   fold=fit.folds_batch_norm, norm=fit.norm)
        checks[name] = ClassResult(name, p, {}, [], crows, np.array([]), Batch(crows).predict(p), None, None,
                                   borrowed=True)
    entries["npu"] = class_entry(pooled)
    entries["npu"]["basis"] = ("pooled fit of " + ", ".join(n for n, r in results.items() if not r.borrowed)
                               + " rows (" + entries["npu"]["basis"].split(" on ", 1)[1]
                               + "), one set of factors for every chip: its leave-one-runtime-out error is the "
                               "band of an NPU whose runtime was never measured")
    # the rows set aside, priced as their class prices a new network on their chip
    aside = {name: (rs, Batch(rs).predict(results[name].params, results[name].speeds))
             for name in results if not results[name].borrowed
             for rs in [[r for r in set_aside if r.cls == name]] if rs}
    for name, e in entries.items():
        print(f"{name:16s} " + json.dumps({k: v for k, v in e.items() if k in ("residual", "heldout", "out_of_sample", "unmeasured_chip")}))
    if args.dry_run:
        return
    # efficiency.yaml: replace the edge classes, keep the others
    doc = yaml.safe_load(EFFICIENCY.read_text(encoding="utf-8"))
    for name, e in entries.items():
        doc["classes"][name] = e
    doc["edge_method"] = ("benchmarks/fit_edge.py: per edge runtime class, coordinate descent on log grids of "
                          "(gemm, depthwise, vector, attention, activation, norm, memory, buffer_mb, staging, "
                          "channel_tile, folds_batch_norm, sixteen_bit_cost, op_overhead_us, data_overhead_us, "
                          "call_overhead_us; dataflow classes: context_link_gbps, one_context_depthwise, "
                          "one_context_activation (one more for the chips without DRAM of their own), after "
                          "per-chip context_mb from "
                          "batch-1 / batch-8 pairs; the lowest loss of a descent from the defaults and one at each "
                          "buffer_mb of its grid, with batch norms folded and not, then a descent from there and "
                          "restarts at other fixed costs, then a profile over staging"
                          + (f"; the lowest loss of {args.orders} coordinate orders" if args.orders > 1 else "")
                          + f"; for {', '.join(sorted(IO_CLASSES))} then a descent with io_ns_per_element from there) "
                          + "alternating with closed-form chip speeds (per chip and runtime release, a fixed-cost "
                          "speed from a grid and the compute speed as the chip's median log ratio at it), "
                          "minimising the mean absolute log error of latency over the class's fit rows; "
                          f"rows of models with crc32(model) % {HELD_OUT_MODULUS} == 0 are held out")
    from chipfit.data.efficiency import EfficiencyFile

    checked = EfficiencyFile.model_validate(doc)  # refuse to write a file chipfit cannot read
    text = ("# Written by benchmarks/fit_efficiency.py and benchmarks/fit_edge.py; do not edit by hand. "
            "Schema: chipfit/data/efficiency.py\n"
            + yaml.safe_dump(checked.model_dump(exclude_none=True), sort_keys=False, width=110))
    EFFICIENCY.write_text(text, encoding="utf-8")
    with open(PREDICTIONS, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        # left_out_s: the row predicted without its model in the fit (leave-one-model-out for a fit row)
        # speed_of: whose fitted speed the row ran at (its chip, or its chip in another runtime release)
        w.writerow(["id", "chip", "class", "model", "input", "batch", "role", "measured_s", "predicted_s", "error_pct",
                    "left_out_s", "speed_of"])
        for name, res in {**results, **checks}.items():
            loo = res.loo_model if res.loo_model is not None else res.fit_pred
            role_rows = ([("fit", r, p, q) for r, p, q in zip(res.fit_rows, res.fit_pred, loo)]
                         + [("heldout" if not res.borrowed else "check", r, p, p)
                            for r, p in zip(res.test_rows, res.test_pred)])
            role_rows += [("set-aside", r, p, p) for r, p in zip(*aside.get(name, ([], [])))]
            for role, r, p, q in role_rows:
                w.writerow([r.id, r.chip, name, r.model, f"{r.hw[0]}x{r.hw[1]}", r.batch, role,
                            f"{r.measured_s:.6g}", f"{p:.6g}", f"{100 * (p / r.measured_s - 1):+.1f}", f"{q:.6g}",
                            r.speed_of if not res.borrowed else ""])
    write_validation(validation_block(results, entries, left, n_rows, pooled, checks, aside))
    print(f"wrote {EFFICIENCY.relative_to(ROOT)}, {PREDICTIONS.relative_to(ROOT)}, {VALIDATION.name}")


if __name__ == "__main__":
    main()
