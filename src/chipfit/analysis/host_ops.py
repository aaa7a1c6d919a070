"""Pre- and post-processing on the host CPU, counted from the algorithm: plain data, no chip.

A camera pipeline does work around the model that no accelerator runs: the frame is converted
and letterboxed into the model's input before the detector, and the detector's boxes go
through non-maximum suppression (NMS) after it. This module turns each such step into the ops
of a :class:`~chipfit.core.costgraph.CostGraph` (every op's arithmetic in ``nonmac_flops``, no
MACs: there is no tensor contraction; its DRAM traffic in bytes, stored as one-byte elements),
so it is priced on the host by the same per-op roofline as any model
(:mod:`chipfit.analysis.roofline`, at the efficiency class of the host's unit, ``cpu``).
Every op is element-wise or a scan: each byte fetched is used for a few operations, so on a CPU
these ops run at its vector efficiency and are memory-bound or close to it (vector-bound).

One operation is one add, subtract, multiply, divide, compare, min, max or round of one value
(a fused multiply-add is two, as in a chip's FLOPS rating). Bytes are DRAM traffic of one frame.

**Letterbox** (``op: letterbox``; ``op: resize`` stretches to the input size with no padding).
A W×H frame becomes a w×h model input of c channels (3; 1 for ``gray``). Letterboxing keeps
the aspect ratio: scale s = min(w / W, h / H), the picture fills rw × rh = round(W·s) × round(H·s)
pixels and the rest, w·h − rw·rh pixels, is padding. Two passes:

1. ``format: nv12`` only, **colour conversion** NV12 → RGB over the whole frame (the usual CPU
   path converts the frame with one library call, then resizes it; converting only the pixels the
   resize reads would cost less, so this is the upper end). BT.601 limited range, per pixel::

       R = 1.164·(Y − 16) + 1.596·(V − 128)
       G = 1.164·(Y − 16) − 0.392·(U − 128) − 0.813·(V − 128)
       B = 1.164·(Y − 16) + 2.017·(U − 128)

   2 ops for 1.164·(Y − 16), 2 for U − 128 and V − 128, 4 chroma multiplies, 4 adds (R 1, G 2,
   B 1) and a clamp to [0, 255] (a min and a max) per channel, 6: **18 ops per pixel** (the chroma
   terms are not shared across the 2×2 pixels that share a chroma sample). Bytes: read the Y plane
   (W·H) and the interleaved UV plane (2·⌈W/2⌉·⌈H/2⌉), write W·H·3 bytes of RGB.
2. **Bilinear resize, pad and normalise**, one pass writing the model input. Per output pixel of
   the picture: the 4 tap weights (1 − fx)(1 − fy), fx(1 − fy), (1 − fx)fy, fx·fy take 2
   subtractions and 4 multiplies, **6 ops shared by the channels**; per channel the weighted sum
   of the 4 taps is 4 multiplies and 3 adds, **7 ops** (the fractions fx, fy are computed once per
   column and row, not counted). Then per channel value, by the input's ``dtype``: ``float32`` /
   ``float16``: (x − mean) / std folded into one multiply-add, **2 ops**; ``int8``: that, a round
   and a clamp (min, max), **5 ops**; ``uint8`` (the normalisation is folded into the model's first
   layer): a round, **1 op** (a weighted mean of uint8 values needs no clamp). Padding pixels are
   written with the pad value, 0 ops. Ops = rw·rh·(6 + 7c) + rw·rh·c·n_dtype.
   Bytes read: each output row reads 2 source rows, so min(H, 2·rh) rows are touched, and each
   touched row is read whole (its two taps per output pixel lie W / rw pixels apart, under one
   64-byte cache line for any downscale up to 21× of RGB), at most 2 cache lines per output pixel:
   min(H, 2·rh) × min(W·b, 2·rw·64) with b = 3 bytes per pixel (RGB, or NV12 once converted; 1 for
   gray). Bytes written: w·h·c × the dtype's width (4, 2, 1, 1).

**NMS** (``op: nms``) over a detector's output of A rows (``anchors``: 4 box values + C class
scores each, float32, class activation already applied by the model), N of which (``candidates``)
pass the score threshold:

1. **Score scan** of every row: best of C scores (C − 1 compares) and the threshold compare,
   **C ops per row**, A·C ops. Reads A·(4 + C)·4 bytes, writes N candidates of 6 float32
   (4 corners, score, class): 24·N bytes.
2. **Decode, sort and suppress**: centre/size → corners (w/2 and h/2: 2 multiplies; 4 adds and
   subtractions) and the box area ((x2 − x1)·(y2 − y1): 3 ops), **9 ops per candidate**; sorting by
   score, N·⌈log₂ N⌉ compares; IoU of box pairs, **13 ops per pair**: the intersection corners
   (2 max, 2 min: 4), its width and height max(0, x2 − x1), max(0, y2 − y1) (4), their product (1),
   the union area_a + area_b − inter (2), inter / union (1) and the compare with the IoU threshold
   (1). Pairs: **N·(N − 1) / 2, the worst case**: greedy NMS compares every kept box with every
   later box still alive, and when few boxes overlap (a scene of many distinct objects, the load
   the host must still carry) almost every box is kept, so every pair is compared; a vectorised
   NMS computes the whole IoU matrix whatever the overlap; N·kept would need the kept count,
   which depends on the scene. Reads the 24·N bytes of candidates, writes at most 24·N bytes of
   kept boxes (the pairs' work stays in cache: N boxes of 24 bytes).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from chipfit.core.costgraph import CostGraph, Op

#: Operations per value, written out in the module docstring.
NV12_OPS_PER_PIXEL = 18          # BT.601 limited range NV12 → RGB, clamp included
BILINEAR_WEIGHT_OPS = 6          # per output pixel, shared by the channels
BILINEAR_TAP_OPS = 7             # per output pixel and channel: 4 multiplies + 3 adds
NORMALISE_OPS = {"float32": 2, "float16": 2, "int8": 5, "uint8": 1}
DTYPE_BYTES = {"float32": 4, "float16": 2, "int8": 1, "uint8": 1}
FORMAT_CHANNELS = {"rgb": 3, "bgr": 3, "nv12": 3, "gray": 1}
CACHE_LINE = 64                  # bytes (Arm Cortex-A and x86 cores)
BOX_DECODE_OPS = 9               # per candidate: corners 6 + area 3
IOU_OPS = 13                     # per pair of boxes
BOX_BYTES = 24                   # 4 corners + score + class, float32
OPS = ("letterbox", "resize", "nms")

_SIZE = re.compile(r"^\s*(\d+)\s*[x×X]\s*(\d+)\s*$")


def parse_size(text: str) -> tuple[int, int]:
    """(width, height) of ``"1920x1080"``; ValueError with the sentence to show otherwise."""
    m = _SIZE.match(str(text))
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise ValueError(f"'{text}' is not a size: give WIDTHxHEIGHT in pixels, e.g. 1920x1080")
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class Step:
    """One pass of host work over memory: its operations and DRAM bytes, with the formula."""

    name: str
    kind: str          # a cost-graph kind (elementwise, resize, reduction)
    flops: int
    read_bytes: int
    write_bytes: int
    formula: str       # the ops and bytes with the numbers substituted

    @property
    def bytes(self) -> int:
        return self.read_bytes + self.write_bytes

    def op(self) -> Op:
        # bytes as one-byte elements: the roofline prices act_read + act_write at 8 bits
        return Op(self.name, self.kind, f"host.{self.name}", nonmac_flops=self.flops,
                  act_read_elems=self.read_bytes, act_write_elems=self.write_bytes, act_bits=8,
                  module_type="host")


@dataclass(frozen=True)
class HostWork:
    """Every pass of one host stage, per frame (one run)."""

    label: str
    steps: tuple[Step, ...]

    @property
    def flops(self) -> int:
        return sum(s.flops for s in self.steps)

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.steps)

    def graph(self) -> CostGraph:
        return CostGraph(model=self.label, ops=[s.op() for s in self.steps], frontend="host")


def letterbox_region(frame: tuple[int, int], size: tuple[int, int], pad: bool = True) -> tuple[int, int]:
    """(rw, rh): the pixels of the model input the picture fills (the whole input for a resize)."""
    (fw, fh), (w, h) = frame, size
    if not pad:
        return w, h
    s = min(w / fw, h / fh)
    return max(1, min(w, round(fw * s))), max(1, min(h, round(fh * s)))


def letterbox(frame: tuple[int, int], size: tuple[int, int], fmt: str = "rgb", dtype: str = "float32",
              pad: bool = True) -> HostWork:
    """The passes that turn one W×H frame into a w×h model input (module docstring)."""
    (fw, fh), (w, h) = frame, size
    c = FORMAT_CHANNELS[fmt]
    rw, rh = letterbox_region(frame, size, pad)
    steps = []
    if fmt == "nv12":
        px = fw * fh
        uv = 2 * math.ceil(fw / 2) * math.ceil(fh / 2)
        steps.append(Step("nv12_to_rgb", "elementwise", px * NV12_OPS_PER_PIXEL, px + uv, px * 3,
                          f"{fw}×{fh} px × {NV12_OPS_PER_PIXEL} ops = {px * NV12_OPS_PER_PIXEL:,} ops; "
                          f"reads Y {px:,} + UV {uv:,} B, writes RGB {fw}×{fh}×3 = {px * 3:,} B"))
    src_bpp = 1 if fmt == "gray" else 3
    rows = min(fh, 2 * rh)
    row_bytes = min(fw * src_bpp, 2 * rw * CACHE_LINE)
    n_norm = NORMALISE_OPS[dtype]
    region = rw * rh
    ops = region * (BILINEAR_WEIGHT_OPS + BILINEAR_TAP_OPS * c) + region * c * n_norm
    write = w * h * c * DTYPE_BYTES[dtype]
    what = "letterbox" if pad else "resize"
    padding = f", {w * h - region:,} px of padding" if w * h > region else ""
    steps.append(Step("resize_normalise", "resize", ops, rows * row_bytes, write,
                      f"{rw}×{rh} px × ({BILINEAR_WEIGHT_OPS} + {BILINEAR_TAP_OPS}×{c} bilinear + "
                      f"{c}×{n_norm} {dtype}) = {ops:,} ops{padding}; reads {rows} rows × {row_bytes:,} B = "
                      f"{rows * row_bytes:,} B, writes {w}×{h}×{c}×{DTYPE_BYTES[dtype]} = {write:,} B"))
    label = f"{what} {fw}x{fh} {fmt} → {w}x{h} {dtype}"
    return HostWork(label, tuple(steps))


def nms(candidates: int, classes: int, anchors: int | None = None) -> HostWork:
    """Score scan, decode, sort and greedy NMS of ``candidates`` boxes (module docstring)."""
    n, cl = candidates, classes
    a = anchors or n
    scan_ops = a * cl
    read = a * (4 + cl) * 4
    log_n = math.ceil(math.log2(n)) if n > 1 else 0
    pairs = n * (n - 1) // 2
    ops = n * BOX_DECODE_OPS + n * log_n + pairs * IOU_OPS
    boxes = BOX_BYTES * n
    steps = (
        Step("score_scan", "reduction", scan_ops, read, boxes,
             f"{a:,} rows × {cl} classes = {scan_ops:,} ops; reads {a:,} × (4 + {cl}) × 4 = {read:,} B, "
             f"writes {n} × {BOX_BYTES} = {boxes:,} B"),
        Step("suppress", "elementwise", ops, boxes, boxes,
             f"{n} × {BOX_DECODE_OPS} decode + {n} × ⌈log₂ {n}⌉ = {n} × {log_n} sort + {n}·{n - 1}/2 = "
             f"{pairs:,} pairs × {IOU_OPS} IoU = {ops:,} ops; reads and writes {boxes:,} B"),
    )
    return HostWork(f"nms {n} boxes, {cl} classes", steps)
