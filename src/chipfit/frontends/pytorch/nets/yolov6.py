"""YOLOv6 3.0 detectors (N, S), written here from their published architecture definitions
(configs, channel widths, depth and width multiples), for the zoo.

Sources (facts only; the YOLOv6 code is GPL-3.0 and is neither imported nor copied):

- Li et al. 2023, "YOLOv6 v3.0: A Full-Scale Reloading", arXiv:2301.05586 (the bi-directional
  concatenation neck, anchor-aided training, self-distillation) and Li et al. 2022, "YOLOv6: A
  Single-Stage Object Detection Framework for Industrial Applications", arXiv:2209.02976
  (EfficientRep, RepVGG-style blocks, the efficient decoupled head).
- https://github.com/meituan/YOLOv6 at commit 55d80c317edd0fb5847e599a1802d394f34a3141 (the commit
  Qualcomm AI Hub pins; the network is that of tags 0.3.0 and 0.4.0): ``configs/yolov6{n,s}.py``
  (depth 0.33, width 0.25 / 0.50; backbone ``EfficientRep`` with repeats [1, 6, 12, 18, 6] and
  widths [64, 128, 256, 512, 1024], ``fuse_P2`` and ``cspsppf``; neck ``RepBiFPANNeck`` with repeats
  [12, 12, 12, 12] and widths [256, 128, 128, 256, 256, 512]; head ``EffiDeHead``, one anchor point
  per cell, ``reg_max`` 0), ``yolov6/models/yolo.py`` (``build_network``: widths ``ceil(c × width
  / 8) × 8``, repeats ``max(round(n × depth), 1)``), ``yolov6/models/efficientrep.py``,
  ``yolov6/models/reppan.py``, ``yolov6/layers/common.py`` (``RepVGGBlock``, ``RepBlock``,
  ``BiFusion``, ``SimCSPSPPF``, ``ConvBNReLU``, ``ConvBNSiLU``, ``Transpose``),
  ``yolov6/models/effidehead.py`` and ``yolov6/models/heads/effidehead_distill_ns.py`` (the
  deployed head), ``deploy/ONNX/export_onnx.py`` (the export: checkpoint loaded with
  ``fuse=True``, every RepVGG block switched to deploy), and the README's table of release 3.0
  (YOLOv6-N: 4.7M parameters, 11.4 GFLOPs at 640; YOLOv6-S: 18.5M, 45.3; "Params and FLOPs of
  YOLOv6 are estimated on deployed models").
- Qualcomm AI Hub Models v0.46.1 (https://github.com/quic/ai-hub-models, commit 52c080d2):
  ``qai_hub_models/models/yolov6/model.py`` (weights ``yolov6n.pt`` of YOLOv6 release 0.4.0, loaded
  fused, RepVGG blocks in deploy form; the forward is the detector's decoded output, then
  ``detect_postprocess`` of ``qai_hub_models/models/_shared/yolo/utils.py``) and ``info.yaml``
  (640x640, 4.68M parameters).

Blocks, as those definitions describe them (N widths in brackets):

- ``RepVGGBlock`` in its deploy form: one 3x3 convolution with bias, then ReLU. (Trained as a 3x3
  conv-BN, a 1x1 conv-BN and, when the shape is kept, an identity BN, summed: all linear, so they
  fold into the one 3x3 kernel; ``fused=False`` builds that training form.)
- ``RepBlock(n)``: n RepVGG blocks in a chain, the first one changing the width.
- Backbone: stem RepVGG 3x3/2 (16); per stage a RepVGG 3x3/2 then a RepBlock: P2 (32, 2 blocks), P3
  (64, 4), P4 (128, 6), P5 (256, 2), then ``SimCSPSPPF`` (ConvBNReLU throughout, hidden width half
  the output: two 1x1 branches; one goes 3x3, 1x1, three chained 5x5 max pools concatenated, 1x1,
  3x3; the two branches concatenated and a 1x1 to the output width).
- Neck (``RepBiFPANNeck``): a 1x1 ConvBNReLU reduces P5 (64); ``BiFusion`` upsamples it with a 2x2
  stride-2 transposed convolution (with bias), takes P4 through a 1x1 and P3 through a 1x1 and a
  3x3/2, concatenates the three and fuses them with a 1x1 (64); a RepBlock (4); again a 1x1 (32)
  and a BiFusion with P3 and P2 (32); a RepBlock (4): the P3 output. Bottom-up: 3x3/2 ConvBNReLU,
  concatenation with the 32-wide reduced map, RepBlock to 64 (P4 output); 3x3/2, concatenation
  with the 64-wide reduced map, RepBlock to 128 (P5 output). ConvBNReLU is a bias-free convolution,
  BatchNorm (eps 1e-5) and ReLU.
- Head, per level of width c (32, 64, 128): a 1x1 ConvBNSiLU stem, then a class branch (3x3
  ConvBNSiLU, 1x1 convolution with bias to 80 logits, sigmoid) and a box branch (3x3 ConvBNSiLU,
  1x1 convolution with bias to the 4 distances left, top, right, bottom). The checkpoints are
  trained with self-distillation and anchor-aided training, whose extra branches (distribution
  bins, anchor-based outputs) the deployed forward does not run; they are not built.

What is counted is the deployed network: RepVGG blocks fused. The zoo entry ends at the head's
per-level outputs, ``[sigmoid(class logits), box distances]`` (84 channels at strides 8, 16, 32),
YOLOv6's own export-mode head output and the form the edge runtimes' ports keep; box decoding and
NMS are post-processing and are not counted, as for the other detectors of the zoo.
``postprocess="decode"`` adds YOLOv6's decoding (anchor points, distances to centre/size boxes
times the stride, a constant objectness of 1: ``[1, 8400, 85]`` at 640, the output of the
repository's ONNX export), ``postprocess="aihub"`` also AI Hub's ``detect_postprocess`` (boxes to
corners, scores times objectness, the best class and its index): the graph AI Hub compiles. Both
add only element-wise work, about 0.01 % of the MACs.

Counted here at 640: YOLOv6-N 4,646,940 parameters with BatchNorm folded (the table's 4.7M and AI
Hub's 4.68M are 1.1 % and 0.7 % above it, probably modules of the self-distilled checkpoints that the
deployed forward never runs) and 5.66 GMACs (11.32 GFLOPs; the table's 11.4 counts the two 2x2 transposed
convolutions 4 times over, as thop does); YOLOv6-S 18.54M and 44.97 GFLOPs (table 18.5M, 45.3).

BatchNorm stays a separate layer after each convolution that has one, as in the other YOLO
builders of the zoo (the deployed checkpoint folds it into the convolution's bias).

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn

from chipfit.frontends.pytorch.nets.yolo import LayerGraph, Scale, cat_row

__all__ = ["ConvBNAct", "RepConv", "RepBlock", "SimCSPSPPF", "BiFusion", "V6Head", "V6Decode",
           "V6_SCALES", "yolov6", "yolov6n", "yolov6s"]

NUM_CLASSES = 80
STRIDES = (8, 16, 32)


class ConvBNAct(nn.Module):
    """Bias-free convolution with 'same' padding, BatchNorm, then ReLU (``ConvBNReLU``) or SiLU
    (``ConvBNSiLU``)."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, act: str = "relu"):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = nn.ReLU() if act == "relu" else nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class RepConv(nn.Module):
    """RepVGG block. Deployed (``fused``): a 3x3 convolution with bias, ReLU. Training form: 3x3
    conv-BN + 1x1 conv-BN (+ an identity BatchNorm when ``c1 == c2`` and stride 1), summed, ReLU."""

    def __init__(self, c1: int, c2: int, s: int = 1, fused: bool = True):
        super().__init__()
        self.fused = fused
        self.act = nn.ReLU()
        if fused:
            self.conv = nn.Conv2d(c1, c2, 3, s, 1, bias=True)
        else:
            self.dense = nn.Sequential(nn.Conv2d(c1, c2, 3, s, 1, bias=False), nn.BatchNorm2d(c2))
            self.one = nn.Sequential(nn.Conv2d(c1, c2, 1, s, 0, bias=False), nn.BatchNorm2d(c2))
            self.identity = nn.BatchNorm2d(c2) if c1 == c2 and s == 1 else None

    def forward(self, x):
        if self.fused:
            return self.act(self.conv(x))
        y = self.dense(x) + self.one(x)
        if self.identity is not None:
            y = y + self.identity(x)
        return self.act(y)


class RepBlock(nn.Sequential):
    """``n`` RepVGG blocks in a chain, the first from ``c1`` to ``c2``."""

    def __init__(self, c1: int, c2: int, n: int = 1, fused: bool = True):
        super().__init__(*(RepConv(c1 if i == 0 else c2, c2, 1, fused) for i in range(n)))


class SimCSPSPPF(nn.Module):
    """CSP spatial pyramid pooling (fast), ConvBNReLU throughout, hidden width ``c2 / 2``."""

    def __init__(self, c1: int, c2: int, k: int = 5):
        super().__init__()
        c_ = c2 // 2
        self.cv1, self.cv2 = ConvBNAct(c1, c_, 1), ConvBNAct(c1, c_, 1)
        self.cv3, self.cv4 = ConvBNAct(c_, c_, 3), ConvBNAct(c_, c_, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)
        self.cv5, self.cv6 = ConvBNAct(4 * c_, c_, 1), ConvBNAct(c_, c_, 3)
        self.cv7 = ConvBNAct(2 * c_, c2, 1)

    def forward(self, x):
        x1 = self.cv4(self.cv3(self.cv1(x)))
        y1 = self.m(x1)
        y2 = self.m(y1)
        y3 = self.cv6(self.cv5(torch.cat((x1, y1, y2, self.m(y2)), 1)))
        return self.cv7(torch.cat((self.cv2(x), y3), 1))


class BiFusion(nn.Module):
    """Bi-directional concatenation: the coarser map upsampled by a 2x2 stride-2 transposed
    convolution (with bias), the same-level map through a 1x1, the finer map through a 1x1 and a
    3x3/2; concatenated, then a 1x1. Inputs ``[coarser, same, finer]``; the coarser one already has
    the output width."""

    def __init__(self, c_same: int, c_fine: int, c2: int):
        super().__init__()
        self.upsample = nn.ConvTranspose2d(c2, c2, 2, 2, bias=True)
        self.cv1 = ConvBNAct(c_same, c2, 1)
        self.cv2 = ConvBNAct(c_fine, c2, 1)
        self.downsample = ConvBNAct(c2, c2, 3, 2)
        self.cv3 = ConvBNAct(3 * c2, c2, 1)

    def forward(self, xs):
        up, same, fine = xs
        return self.cv3(torch.cat((self.upsample(up), self.cv1(same), self.downsample(self.cv2(fine))), 1))


class V6Head(nn.Module):
    """The deployed efficient decoupled head: per level a 1x1 ConvBNSiLU stem, a class branch (3x3
    ConvBNSiLU, 1x1 to 80 logits, sigmoid) and a box branch (3x3 ConvBNSiLU, 1x1 to 4 distances).
    Returns per level ``cat(sigmoid(classes), boxes)``: 84 channels."""

    def __init__(self, chs: list[int]):
        super().__init__()
        self.stems = nn.ModuleList(ConvBNAct(c, c, 1, act="silu") for c in chs)
        self.cls_convs = nn.ModuleList(ConvBNAct(c, c, 3, act="silu") for c in chs)
        self.reg_convs = nn.ModuleList(ConvBNAct(c, c, 3, act="silu") for c in chs)
        self.cls_preds = nn.ModuleList(nn.Conv2d(c, NUM_CLASSES, 1) for c in chs)
        self.reg_preds = nn.ModuleList(nn.Conv2d(c, 4, 1) for c in chs)

    def forward(self, xs):
        outs = []
        for i, x in enumerate(xs):
            x = self.stems[i](x)
            cls = torch.sigmoid(self.cls_preds[i](self.cls_convs[i](x)))
            outs.append(torch.cat((cls, self.reg_preds[i](self.reg_convs[i](x))), 1))
        return outs


class V6Decode(nn.Module):
    """YOLOv6's decoding of the per-level outputs: anchor points at the cell centres, boxes from
    the distances (centre and size, times the stride), a constant objectness of 1 and the class
    scores: ``[batch, cells, 85]``. With ``aihub`` also Qualcomm AI Hub's ``detect_postprocess``:
    boxes to corners, scores times objectness, the best class score and its index."""

    def __init__(self, aihub: bool = False):
        super().__init__()
        self.aihub = aihub

    def forward(self, outs):
        points, strides = [], []
        for out, s in zip(outs, STRIDES):
            h, w = out.shape[2:]
            ys = torch.arange(h, device=out.device, dtype=out.dtype) + 0.5
            xs = torch.arange(w, device=out.device, dtype=out.dtype) + 0.5
            gy, gx = torch.meshgrid(ys, xs, indexing="ij")
            points.append(torch.stack((gx, gy), -1).reshape(-1, 2))
            strides.append(torch.full((h * w, 1), float(s), device=out.device, dtype=out.dtype))
        anchor, stride = torch.cat(points), torch.cat(strides)
        flat = torch.cat([o.flatten(2) for o in outs], 2).permute(0, 2, 1)   # [b, cells, 84]
        cls, lt, rb = flat[..., :NUM_CLASSES], flat[..., NUM_CLASSES:NUM_CLASSES + 2], flat[..., NUM_CLASSES + 2:]
        x1y1, x2y2 = anchor - lt, anchor + rb
        boxes = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), -1) * stride
        obj = torch.ones_like(boxes[..., :1])
        pred = torch.cat((boxes, obj, cls), -1)
        if not self.aihub:
            return pred
        xy, wh, conf, scores = pred[..., :2], pred[..., 2:4], pred[..., 4:5], pred[..., 5:]
        corners = torch.cat((xy - wh / 2, xy + wh / 2), -1)
        best, idx = torch.max(scores * conf, -1)
        return corners, best, idx.to(torch.uint8)


# [depth, width] of each scale (configs/yolov6{n,s}.py of release 3.0)
V6_SCALES = {"n": (0.33, 0.25), "s": (0.33, 0.50)}


def yolov6(scale: str = "n", fused: bool = True, postprocess: str = "none") -> nn.Module:
    """YOLOv6 3.0 at ``scale`` (n, s), deployed (RepVGG blocks fused) by default; ``fused=False``
    builds the training-form RepVGG blocks. ``postprocess``: ``none`` (the per-level head outputs),
    ``decode`` (YOLOv6's box decoding) or ``aihub`` (decoding and AI Hub's detect_postprocess)."""
    if postprocess not in ("none", "decode", "aihub"):
        raise ValueError(f"postprocess must be none, decode or aihub, not {postprocess!r}")
    sc = Scale(*V6_SCALES[scale])

    def rep(c2, s=2):
        return sc.block(c2, lambda c1, c: RepConv(c1, c, s, fused))

    def repblock(c2, n):
        return sc.block(c2, lambda c1, c: RepBlock(c1, c, sc.n(n), fused))

    def cbr(c2, k, s=1):
        return sc.block(c2, lambda c1, c: ConvBNAct(c1, c, k, s))

    def bifusion(c2):
        c = sc.ch(c2)
        return lambda cs: (BiFusion(cs[1], cs[2], c), c)

    def head(cs):
        det = V6Head(cs)
        return (det if postprocess == "none" else nn.Sequential(det, V6Decode(postprocess == "aihub"))), 0

    spec = [(-1, rep(64)),                                                   # 0 stem, P1
            (-1, rep(128)), (-1, repblock(128, 6)),                          # 2 P2
            (-1, rep(256)), (-1, repblock(256, 12)),                         # 4 P3
            (-1, rep(512)), (-1, repblock(512, 18)),                         # 6 P4
            (-1, rep(1024)), (-1, repblock(1024, 6)),
            (-1, sc.block(1024, SimCSPSPPF)),                                # 9 P5
            (-1, cbr(256, 1)),                                               # 10 reduce P5
            ([10, 6, 4], bifusion(256)), (-1, repblock(256, 12)),            # 12
            (-1, cbr(128, 1)),                                               # 13 reduce
            ([13, 4, 2], bifusion(128)), (-1, repblock(128, 12)),            # 15 P3 out
            (-1, cbr(128, 3, 2)), ([-1, 13], cat_row), (-1, repblock(256, 12)),   # 18 P4 out
            (-1, cbr(256, 3, 2)), ([-1, 10], cat_row), (-1, repblock(512, 12)),   # 21 P5 out
            ([15, 18, 21], head)]
    return LayerGraph(spec).eval()


def yolov6n() -> nn.Module:
    """YOLOv6-N 3.0, deployed: the zoo's ``yolov6n``."""
    return yolov6("n")


def yolov6s() -> nn.Module:
    """YOLOv6-S 3.0, deployed."""
    return yolov6("s")
