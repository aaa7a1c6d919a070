"""YOLOX detectors (Nano, Tiny, S, M, L, X), written here from their published architecture
definitions, for the zoo.

Sources (architecture facts and published figures; YOLOX is Apache-2.0, its code is not copied):

- https://github.com/Megvii-BaseDetection/YOLOX at commit 6ddff4824372906469a7fae2dc3206c7aa4bbaee
  (0.3.0 plus later fixes): ``yolox/models/darknet.py`` (``CSPDarknet``: Focus stem, dark2..dark5,
  base width ``int(64 × width)``, base depth ``max(round(3 × depth), 1)``, 3× that in dark3 and
  dark4, SPP before dark5's CSP layer which has no shortcuts), ``yolox/models/yolo_pafpn.py`` (the
  PAN neck, ``round(3 × depth)`` bottlenecks per CSP layer, widths ``int(c × width)``),
  ``yolox/models/yolo_head.py`` (the decoupled head), ``yolox/models/network_blocks.py``
  (``BaseConv``, ``DWConv``, ``Bottleneck``, ``CSPLayer``, ``SPPBottleneck``, ``Focus``),
  ``exps/default/yolox_{nano,tiny,s,m,l,x}.py`` (depth / width: nano 0.33 / 0.25 with depthwise
  convolutions, tiny 0.33 / 0.375, s 0.33 / 0.50, m 0.67 / 0.75, l 1.0 / 1.0, x 1.33 / 1.25; test
  size 416 for nano and tiny, 640 otherwise) and the README model tables (s 9.0M params 26.8
  GFLOPs, m 25.3M 73.8, l 54.2M 155.6, x 99.1M 281.9 at 640; Nano 0.91M 1.08, Tiny 5.06M 6.45 at
  416). Those figures come from ``yolox/utils/model_utils.py:get_model_info``: thop on the unfused
  model (BatchNorm affine parameters included), MACs × 2.
- Ge et al., "YOLOX: Exceeding YOLO Series in 2021", arXiv:2107.08430.

Building blocks: ``BaseConv`` is a bias-free convolution with 'same' padding, BatchNorm and SiLU;
``DWConv`` (Nano only) is a depthwise BaseConv followed by a pointwise one; ``Focus`` is the
published stem: a space-to-depth (the four pixel phases of each 2×2 cell stacked as channels, 3 →
12) then a 3×3 BaseConv; ``CSPLayer`` is YOLOv5's C3 (two 1×1 branches, bottlenecks of 1×1 then
3×3 on one, a 1×1 after the concatenation); ``SPPBottleneck`` concatenates parallel 5, 9 and 13
max pools. The head has, per level, a 1×1 stem to ``int(256 × width)`` channels, then a class
branch (two 3×3 convs, 80 logits) and a box branch (two 3×3 convs, then 4 box values and 1
objectness logit).

The network ends at the head's raw outputs: per level (strides 8, 16, 32) reg 4 + obj 1 + cls 80
= 85 channels. Grid decoding and NMS are post-processing and not counted, as for the other
detectors of the zoo (YOLOX's own ONNX export also applies the sigmoids and flattens the levels;
those are element-wise or data movement, no MACs).

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn

from chipfit.frontends.pytorch.nets.yolo import NUM_CLASSES, Conv


def _conv(c1: int, c2: int, k: int, s: int, dw: bool) -> nn.Module:
    """YOLOX's ``Conv``: a BaseConv, or for the depthwise (Nano) model a depthwise + pointwise pair."""
    if dw:
        return nn.Sequential(Conv(c1, c1, k, s, g=c1), Conv(c1, c2, 1))
    return Conv(c1, c2, k, s)


class Focus(nn.Module):
    """Space-to-depth (2×2 pixel phases to channels) then a BaseConv."""

    def __init__(self, c1: int, c2: int, k: int = 3):
        super().__init__()
        self.conv = Conv(4 * c1, c2, k, 1)

    def forward(self, x):
        return self.conv(torch.cat((x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]), 1))


class Bottleneck(nn.Module):
    def __init__(self, c: int, shortcut: bool, dw: bool):
        super().__init__()
        self.cv1 = Conv(c, c, 1)
        self.cv2 = _conv(c, c, 3, 1, dw)
        self.add = shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class CSPLayer(nn.Module):
    def __init__(self, c1: int, c2: int, n: int, shortcut: bool, dw: bool):
        super().__init__()
        c_ = int(c2 * 0.5)
        self.cv1 = Conv(c1, c_, 1)
        self.cv2 = Conv(c1, c_, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c_, shortcut, dw) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class SPP(nn.Module):
    """YOLOX's SPPBottleneck: 1×1 halving, parallel 5/9/13 max pools concatenated, 1×1."""

    def __init__(self, c1: int, c2: int, ks: tuple[int, ...] = (5, 9, 13)):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1)
        self.m = nn.ModuleList(nn.MaxPool2d(k, 1, k // 2) for k in ks)
        self.cv2 = Conv(c_ * (len(ks) + 1), c2, 1)

    def forward(self, x):
        x = self.cv1(x)
        return self.cv2(torch.cat([x] + [m(x) for m in self.m], 1))


class CSPDarknet(nn.Module):
    def __init__(self, depth: float, width: float, dw: bool):
        super().__init__()
        c = int(width * 64)
        n = max(round(depth * 3), 1)
        self.stem = Focus(3, c, 3)
        self.dark2 = nn.Sequential(_conv(c, 2 * c, 3, 2, dw), CSPLayer(2 * c, 2 * c, n, True, dw))
        self.dark3 = nn.Sequential(_conv(2 * c, 4 * c, 3, 2, dw), CSPLayer(4 * c, 4 * c, 3 * n, True, dw))
        self.dark4 = nn.Sequential(_conv(4 * c, 8 * c, 3, 2, dw), CSPLayer(8 * c, 8 * c, 3 * n, True, dw))
        self.dark5 = nn.Sequential(_conv(8 * c, 16 * c, 3, 2, dw), SPP(16 * c, 16 * c),
                                   CSPLayer(16 * c, 16 * c, n, False, dw))

    def forward(self, x):
        x3 = self.dark3(self.dark2(self.stem(x)))
        x4 = self.dark4(x3)
        return x3, x4, self.dark5(x4)


class PAFPN(nn.Module):
    """CSPDarknet and YOLOX's PAN neck (top-down then bottom-up), outputs at strides 8, 16, 32."""

    def __init__(self, depth: float, width: float, dw: bool):
        super().__init__()
        self.backbone = CSPDarknet(depth, width, dw)
        c3, c4, c5 = (int(c * width) for c in (256, 512, 1024))
        n = round(3 * depth)
        self.up = nn.Upsample(scale_factor=2.0, mode="nearest")
        self.lateral_conv0 = Conv(c5, c4, 1)
        self.c3_p4 = CSPLayer(2 * c4, c4, n, False, dw)
        self.reduce_conv1 = Conv(c4, c3, 1)
        self.c3_p3 = CSPLayer(2 * c3, c3, n, False, dw)
        self.bu_conv2 = _conv(c3, c3, 3, 2, dw)
        self.c3_n3 = CSPLayer(2 * c3, c4, n, False, dw)
        self.bu_conv1 = _conv(c4, c4, 3, 2, dw)
        self.c3_n4 = CSPLayer(2 * c4, c5, n, False, dw)

    def forward(self, x):
        x3, x4, x5 = self.backbone(x)
        fpn0 = self.lateral_conv0(x5)
        f4 = self.c3_p4(torch.cat((self.up(fpn0), x4), 1))
        fpn1 = self.reduce_conv1(f4)
        p3 = self.c3_p3(torch.cat((self.up(fpn1), x3), 1))
        p4 = self.c3_n3(torch.cat((self.bu_conv2(p3), fpn1), 1))
        p5 = self.c3_n4(torch.cat((self.bu_conv1(p4), fpn0), 1))
        return p3, p4, p5


class YOLOXHead(nn.Module):
    """The decoupled head: per level a 1×1 stem, a class branch and a box branch of two 3×3
    convs each; outputs reg 4 + obj 1 + cls 80 raw values per cell."""

    def __init__(self, width: float, dw: bool):
        super().__init__()
        h = int(256 * width)
        levels = range(3)
        self.stems = nn.ModuleList(Conv(int(c * width), h, 1) for c in (256, 512, 1024))
        self.cls_convs = nn.ModuleList(nn.Sequential(_conv(h, h, 3, 1, dw), _conv(h, h, 3, 1, dw)) for _ in levels)
        self.reg_convs = nn.ModuleList(nn.Sequential(_conv(h, h, 3, 1, dw), _conv(h, h, 3, 1, dw)) for _ in levels)
        self.cls_preds = nn.ModuleList(nn.Conv2d(h, NUM_CLASSES, 1) for _ in levels)
        self.reg_preds = nn.ModuleList(nn.Conv2d(h, 4, 1) for _ in levels)
        self.obj_preds = nn.ModuleList(nn.Conv2d(h, 1, 1) for _ in levels)

    def forward(self, xs):
        outs = []
        for k, x in enumerate(xs):
            x = self.stems[k](x)
            reg = self.reg_convs[k](x)
            outs.append(torch.cat((self.reg_preds[k](reg), self.obj_preds[k](reg),
                                   self.cls_preds[k](self.cls_convs[k](x))), 1))
        return outs


class YOLOX(nn.Module):
    def __init__(self, depth: float, width: float, dw: bool = False):
        super().__init__()
        self.backbone = PAFPN(depth, width, dw)
        self.head = YOLOXHead(width, dw)

    def forward(self, x):
        return self.head(self.backbone(x))


#: (depth, width, depthwise) of ``exps/default/yolox_*.py``
SCALES = {"nano": (0.33, 0.25, True), "tiny": (0.33, 0.375, False), "s": (0.33, 0.50, False),
          "m": (0.67, 0.75, False), "l": (1.0, 1.0, False), "x": (1.33, 1.25, False)}


def yolox(scale: str = "s") -> nn.Module:
    return YOLOX(*SCALES[scale]).eval()


def _named(scale):
    def build() -> nn.Module:
        return yolox(scale)
    build.__name__ = f"yolox_{scale}"
    return build


yolox_nano = _named("nano")
yolox_tiny = _named("tiny")
yolox_s = _named("s")
yolox_m = _named("m")
yolox_l = _named("l")
yolox_x = _named("x")
