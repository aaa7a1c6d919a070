"""YOLOv10 detectors (N, S, M, B, L, X), written here from their published architecture
definitions (layer tables, channel widths, depth and width multiples), for the zoo.

Sources (facts only; the code of both repositories is AGPL and is neither imported nor copied):

- Wang et al. 2024, "YOLOv10: Real-Time End-to-End Object Detection", arXiv:2405.14458 (NeurIPS
  2024): the blocks (spatial-channel decoupled downsampling, compact inverted block with an
  optional large-kernel depthwise convolution, partial self-attention) and the dual
  one-to-many / one-to-one heads.
- https://github.com/THU-MIG/yolov10 at commit 453c6e38a51e9d1d5a2aa5fb7f1014a711913397 (the
  architecture is unchanged since tag v1.1): ``ultralytics/cfg/models/v10/yolov10{n,s,m,b,l,x}.yaml``
  (layer tables and the [depth, width, max_channels] scale of each), the block definitions
  ``SCDown``, ``CIB``, ``C2fCIB``, ``RepVGGDW``, ``PSA`` and ``v10Detect`` for their layer shapes,
  and the README model table (#Params, FLOPs at 640). Its ``flops.py`` is how those figures were
  counted: the one-to-many head deleted, then ``fuse()`` (BatchNorm folded, ``RepVGGDW`` merged
  into one 7x7 depthwise convolution), then parameters and thop FLOPs. Its
  ``ultralytics/engine/exporter.py`` exports the same form: ``fuse()``, then the head in export
  mode, which runs the one-to-one head only.
- https://github.com/ultralytics/ultralytics ``ultralytics/cfg/models/v10/yolov10{n,s}.yaml``: the
  same layer tables; its pull request 20193 (ultralytics 8.3.111) prints the fused YOLOv10n with
  both heads (2,762,608 parameters, 8.6 GFLOPs) and with the one-to-one head only (2,299,264, 6.7).

Blocks, as those definitions describe them: ``SCDown`` is a pointwise Conv to the output width
then a stride-2 depthwise 3x3 Conv without activation; ``CIB`` is depthwise 3x3, pointwise to twice
the width, depthwise 3x3 (or, with ``lk``, 7x7), pointwise back, depthwise 3x3, with a residual;
``C2fCIB`` is a C2f whose inner blocks are CIBs; ``PSA`` splits the channels in two halves and runs
one half through multi-head self-attention (a depthwise 3x3 positional convolution on the values)
and a 1x1 feed-forward pair, which is YOLO11's ``C2PSA`` with one block; ``v10Detect`` is the
YOLO11-style decoupled head (depthwise-separable class branch) held twice.

What is counted is the network the edge runtimes run, the exported one:

- the one-to-one head only: the one-to-many head (a second copy of the head) only trains the
  shared features and is skipped at export, so it is not built (``one2many=True`` adds it, for the
  tests that show what the published figures count);
- ``RepVGGDW`` (the ``lk`` CIB's 7x7 + 3x3 depthwise pair, summed) in its re-parameterised deploy
  form, one 7x7 depthwise Conv (``fused=False`` builds the two-branch training form);
- the head's raw outputs per level (64 box-distribution bins + 80 class logits): the box decoding
  and the top-k selection the export appends are post-processing and are not counted, as for the
  other detectors of the zoo. 80 classes (COCO).

BatchNorm stays a separate layer after each convolution, as in the other YOLO builders of the zoo.

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn

from chipfit.frontends.pytorch.nets.yolo import C2f, Conv, DetectV8, LayerGraph, PSABlock, Scale, cat_row, upsample_row

__all__ = ["SCDown", "RepDW", "CIB", "C2fCIB", "PSA", "V10Head", "V10_SCALES", "yolov10"]


class SCDown(nn.Module):
    """Spatial-channel decoupled downsampling: pointwise to ``c2``, then depthwise ``k`` x ``k``
    with stride ``s`` (no activation)."""

    def __init__(self, c1: int, c2: int, k: int = 3, s: int = 2):
        super().__init__()
        self.cv1 = Conv(c1, c2, 1)
        self.cv2 = Conv(c2, c2, k, s, g=c2, act=False)

    def forward(self, x):
        return self.cv2(self.cv1(x))


class RepDW(nn.Module):
    """The large-kernel depthwise layer of an ``lk`` CIB. Deployed (``fused``): one 7x7 depthwise
    Conv with SiLU. Training form: a 7x7 and a 3x3 depthwise Conv (no activation) summed, then SiLU;
    both branches are linear, so the 3x3 one folds into the 7x7 kernel's centre."""

    def __init__(self, c: int, fused: bool = True):
        super().__init__()
        self.fused = fused
        if fused:
            self.conv = Conv(c, c, 7, g=c)
        else:
            self.conv = Conv(c, c, 7, g=c, act=False)
            self.conv1 = Conv(c, c, 3, g=c, act=False)
            self.act = nn.SiLU()

    def forward(self, x):
        if self.fused:
            return self.conv(x)
        return self.act(self.conv(x) + self.conv1(x))


class CIB(nn.Module):
    """Compact inverted block: depthwise 3x3, pointwise to ``2 * c2``, depthwise 3x3 (``lk``: the
    7x7 RepDW), pointwise to ``c2``, depthwise 3x3; residual when ``shortcut`` and ``c1 == c2``."""

    def __init__(self, c1: int, c2: int, shortcut: bool = True, lk: bool = False, fused: bool = True):
        super().__init__()
        h = 2 * c2
        self.cv1 = nn.Sequential(
            Conv(c1, c1, 3, g=c1),
            Conv(c1, h, 1),
            RepDW(h, fused) if lk else Conv(h, h, 3, g=h),
            Conv(h, c2, 1),
            Conv(c2, c2, 3, g=c2),
        )
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv1(x)
        return x + y if self.add else y


class C2fCIB(C2f):
    """A C2f (split in two halves, ``n`` chained inner blocks, all outputs concatenated, 1x1 Conv)
    whose inner blocks are CIBs at the half width."""

    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = False, lk: bool = False,
                 fused: bool = True):
        super().__init__(c1, c2, n, shortcut)
        self.m = nn.ModuleList(CIB(self.c, self.c, shortcut, lk, fused) for _ in range(n))


class PSA(nn.Module):
    """Partial self-attention: a 1x1 Conv, one half of its channels through a PSABlock (multi-head
    self-attention with ``c // 64`` heads, then the feed-forward pair, each with a residual), the
    two halves concatenated and a 1x1 Conv back to ``c1``."""

    def __init__(self, c1: int):
        super().__init__()
        self.c = c1 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv(2 * self.c, c1, 1)
        self.m = PSABlock(self.c, self.c // 64)

    def forward(self, x):
        a, b = self.cv1(x).split((self.c, self.c), dim=1)
        return self.cv2(torch.cat((a, self.m(b)), 1))


class V10Head(nn.Module):
    """v10Detect as trained: the one-to-many head and the one-to-one head, two heads of the same
    shape on the same features; returns the one-to-one outputs followed by the one-to-many ones.
    Only for comparing with the published counts: the zoo builds the one-to-one head alone."""

    def __init__(self, chs: list[int]):
        super().__init__()
        self.one2one = DetectV8(chs, lite_cls=True)
        self.one2many = DetectV8(chs, lite_cls=True)

    def forward(self, xs):
        return self.one2one(xs) + self.one2many(xs)


# -- layer tables ---------------------------------------------------------------------------
# [depth, width, max_channels] of each scale (yolov10{n,s,m,b,l,x}.yaml)
V10_SCALES = {"n": (0.33, 0.25, 1024), "s": (0.33, 0.50, 1024), "m": (0.67, 0.75, 768),
              "b": (0.67, 1.00, 512), "l": (1.00, 1.00, 512), "x": (1.00, 1.25, 512)}
# the rows (layer indices of the tables) that are C2fCIB instead of C2f; all with shortcuts
_CIB_ROWS = {"n": {22}, "s": {8, 22}, "m": {8, 19, 22}, "b": {8, 13, 19, 22}, "l": {8, 13, 19, 22},
             "x": {6, 8, 13, 19, 22}}
_LK_SCALES = "ns"  # their C2fCIB rows use the large-kernel (7x7 RepVGGDW) CIB


def yolov10(scale: str = "n", one2many: bool = False, fused: bool = True) -> nn.Module:
    """YOLOv10 at ``scale`` (n, s, m, b, l, x): the deployed network by default (one-to-one head,
    RepVGGDW fused); ``one2many`` adds the training-only head, ``fused=False`` the training-form
    RepVGGDW."""
    sc = Scale(*V10_SCALES[scale])
    conv = sc.conv
    cib_rows, lk = _CIB_ROWS[scale], scale in _LK_SCALES

    def csp(row, c2, n, shortcut):
        if row in cib_rows:
            return sc.block(c2, lambda c1, c: C2fCIB(c1, c, sc.n(n), True, lk, fused))
        return sc.block(c2, lambda c1, c: C2f(c1, c, sc.n(n), shortcut))

    def scdown(c2):
        return sc.block(c2, lambda c1, c: SCDown(c1, c, 3, 2))

    head = V10Head if one2many else (lambda cs: DetectV8(cs, lite_cls=True))
    spec = [(-1, conv(64, 3, 2)), (-1, conv(128, 3, 2)), (-1, csp(2, 128, 3, True)), (-1, conv(256, 3, 2)),
            (-1, csp(4, 256, 6, True)), (-1, scdown(512)), (-1, csp(6, 512, 6, True)), (-1, scdown(1024)),
            (-1, csp(8, 1024, 3, True)), (-1, sc.sppf()), (-1, lambda c1: (PSA(c1), c1)),
            (-1, upsample_row), ([-1, 6], cat_row), (-1, csp(13, 512, 3, False)),
            (-1, upsample_row), ([-1, 4], cat_row), (-1, csp(16, 256, 3, False)),
            (-1, conv(256, 3, 2)), ([-1, 13], cat_row), (-1, csp(19, 512, 3, False)),
            (-1, scdown(512)), ([-1, 10], cat_row), (-1, csp(22, 1024, 3, False)),
            ([16, 19, 22], lambda cs: (head(cs), 0))]
    return LayerGraph(spec).eval()


def _named(scale):
    def build() -> nn.Module:
        return yolov10(scale)
    build.__name__ = f"yolov10{scale}"
    return build


yolov10n, yolov10s, yolov10m = _named("n"), _named("s"), _named("m")
yolov10b, yolov10l, yolov10x = _named("b"), _named("l"), _named("x")
