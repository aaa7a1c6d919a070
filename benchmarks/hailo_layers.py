"""Which ops of a cost graph the layer names of a Hailo compile script point at, and at what precision.

Hailo's model zoo compiles most layers of a network at 8 bits, but its compile scripts (``cfg/alls``,
extracted to ``edge/layers/hailo_model_zoo.csv``) set some layers to another precision mode,
``a<activation bits>_w<weight bits>``: ``a16_w16`` for layers that lose accuracy at 8 bits (all the
convolutions of some transformers and OCR networks, the heads of others), ``a8_w4`` for layers whose
weights are stored in 4 bits. A published FPS is the speed of that mixed build.

Hailo's parser names each layer by its type and a running count in graph order (``conv1``,
``conv2``, ..., ``dw1``, ..., ``ew_add1``); a script names layers that way, one by one, in a
``[list]``, by a ``{wildcard*}``, or under the network's scope (``yolov8s/conv3``). chipfit's traced
graph runs the ops in the same order, so the k-th op of a type is the layer the script calls
``<type>k``. Where branches run side by side, Hailo's parser may number them in another order
than the trace (FastSAM's mask head comes before its detection head in Hailo's numbering, after it in
the trace); a layer named by number then marks a layer of the same type nearby, while a wildcard
marks exactly the layers it names. A later line overrides an earlier one for the same layer
(``{conv*}`` at 16 bits, then ``{conv_feature*}`` back at 8).

Only layers with multiply-accumulates take a precision here: a 16-bit activation or weight makes a
MAC dearer (a 16 x 16-bit product is four 8 x 8-bit ones on an 8-bit array); an element-wise layer
at 16 bits is left in its class's fitted rate.
"""
from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from chipfit.core.costgraph import CostGraph, Op
from chipfit.core.opfamily import family

LAYERS = Path(__file__).resolve().parent / "edge" / "layers" / "hailo_model_zoo.csv"
#: the Hailo layer type of each op family with MACs (a linear layer on one vector is "fc"; on a
#: feature map or tokens Hailo runs it as a 1x1 convolution)
_TYPES = {"conv": "conv", "depthwise_conv": "dw", "transposed_conv": "deconv", "batch_matmul": "matmul",
          "attention": "matmul"}
_MODE = re.compile(r"a(\d+)_w(\d+)")


def hailo_type(op: Op) -> str | None:
    """The type part of the name Hailo's parser gives the layer of ``op`` (None: no MACs)."""
    fam = family(op)
    if fam == "fully_connected":
        rows = int(np.prod(op.output_shapes[0][:-1])) if op.output_shapes else 1
        return "fc" if rows <= 1 else "conv"
    return _TYPES.get(fam)


def layer_names(graph: CostGraph) -> list[str | None]:
    """Per op, the name Hailo's parser gives its layer (``conv3``, ``dw1``, ...; None: no MACs)."""
    seen: dict[str, int] = defaultdict(int)
    names = []
    for op in graph.ops:
        t = hailo_type(op)
        if t is not None:
            seen[t] += 1
        names.append(f"{t}{seen[t]}" if t else None)
    return names


def _matches(spec: str, name: str) -> bool:
    spec = spec.rsplit("/", 1)[-1]
    if spec.endswith("*"):
        return re.fullmatch(re.escape(spec[:-1]) + r"\d+", name) is not None
    return spec == name


def precisions(graph: CostGraph, lines: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """Per op, its activation and weight bits in the build the script ``lines`` describe (each line
    ``(precision_mode, layers)`` in script order; 8 and 8 for every layer no line names)."""
    act = np.full(len(graph.ops), 8)
    wts = np.full(len(graph.ops), 8)
    if not lines:  # an all-8-bit build: no naming needed
        return act, wts
    names = layer_names(graph)
    for mode, layers in lines:
        a, w = (int(x) for x in _MODE.fullmatch(mode).groups())
        for spec in re.split(r"[\s,]+", layers.strip("[]{} ")):
            spec = spec.strip("{}")
            if not spec:
                continue
            for i, n in enumerate(names):
                if n is not None and _matches(spec, n):
                    act[i], wts[i] = a, w
    return act, wts


def compile_lines() -> dict[tuple[str, str, str], list[tuple[str, str]]]:
    """Per (chip, runtime release, Hailo network name): its compile script's precision lines, in order."""
    out: dict[tuple[str, str, str], list[tuple[str, str, int]]] = defaultdict(list)
    if not LAYERS.exists():
        return {}
    with open(LAYERS, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            out[(r["chip"], r["runtime_version"], r["model"])].append((r["precision_mode"], r["layers"], int(r["order"])))
    return {k: [(m, s) for m, s, _ in sorted(v, key=lambda x: x[2])] for k, v in out.items()}
