"""YOLOv7-tiny and YOLOv7 detectors in their deploy form, written here from the published
architecture definitions, for the zoo.

Sources (facts only; the YOLOv7 repository is GPL-3.0 and is neither imported nor copied):

- https://github.com/WongKinYiu/yolov7 at commit a207844b1ce82d204ab36d87d496728d3d2348e7:
  ``cfg/deploy/yolov7-tiny.yaml`` and ``cfg/deploy/yolov7.yaml`` (the layer tables: from indices,
  channels, kernels, strides, activations) and ``models/common.py`` (what ``Conv``, ``MP``, ``SP``,
  ``SPPCSPC`` and ``RepConv`` are: layer types, widths, kernel sizes, pooling windows).
- Wang, Bochkovskiy, Liao 2022, "YOLOv7: Trainable bag-of-freebies sets new state-of-the-art for
  real-time object detectors", arXiv:2207.02696, Table 2: YOLOv7-tiny-SiLU 6.2M parameters and
  13.8 GFLOPs at 640, YOLOv7 36.9M parameters and 104.7 GFLOPs at 640 (Table 1: YOLOv7-tiny 6.2M
  parameters, 5.8 GFLOPs at 416). ``cfg/deploy/yolov7-tiny-silu.yaml`` is the same table as
  ``yolov7-tiny.yaml`` with SiLU instead of LeakyReLU(0.1), so the two have the same size and FLOPs.

The deploy form is the network that is exported and run on edge NPUs: the training-time
``RepConv`` (a 3x3 and a 1x1 convolution with BatchNorm, plus a BatchNorm identity branch) is
re-parameterised into one 3x3 convolution with bias, and ``IDetect``'s implicit layers (a learned
per-channel addition before and a multiplication after each output convolution) are folded into
that convolution, so the head is YOLOv5's plain ``Detect``: one 1x1 convolution per level to
3 anchors × (4 box + 1 object + 80 classes) = 255 channels. The paper's parameter counts are this
fused form (its "36.9M" is the repository's fused model summary, 36,905,341 parameters; the
unfused ``cfg/deploy/yolov7.yaml`` has 37.6M). As in the zoo's other YOLO builders, each ``Conv``
keeps its BatchNorm as a separate module (exporters fold it into the convolution's bias; counted
here it adds one parameter per channel and no MACs).

Building blocks, as those definitions describe them: ``Conv`` is a bias-free convolution with
'same' padding, BatchNorm and an activation — LeakyReLU(0.1) in YOLOv7-tiny, SiLU in YOLOv7;
``MP`` is a 2x2 max pool with stride 2; ``SP(k)`` a kxk max pool with stride 1 and 'same'
padding; ``SPPCSPC`` (YOLOv7) is a cross-stage partial spatial pyramid pool (1x1, 3x3, 1x1
convolutions, 5/9/13 max pools concatenated, 1x1 and 3x3 convolutions, concatenated with a 1x1
shortcut branch and mixed by a 1x1 convolution). The ELAN blocks are written out in the tables as
plain Conv and Concat rows and are built here row by row.

The network ends at the detection head's raw outputs; box decoding and NMS are post-processing
and are not counted, as for the other detectors of the zoo. 80 classes (COCO).

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn

from chipfit.frontends.pytorch.nets.yolo import DetectV5, LayerGraph, cat_row, upsample_row


class ConvBNAct(nn.Module):
    """A bias-free convolution with 'same' padding, BatchNorm and the given activation."""

    def __init__(self, c1: int, c2: int, k: int, s: int, act: nn.Module):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = act

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class RepConvDeploy(nn.Module):
    """``RepConv`` after re-parameterisation: its 3x3, 1x1 and identity branches merged into one
    3x3 convolution with bias, then SiLU."""

    def __init__(self, c1: int, c2: int):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, 3, 1, 1, bias=True)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.conv(x))


class SPPCSPC(nn.Module):
    """YOLOv7's cross-stage partial spatial pyramid pool (hidden width = output width)."""

    def __init__(self, c1: int, c2: int, act):
        super().__init__()
        c_ = c2
        self.cv1 = ConvBNAct(c1, c_, 1, 1, act())
        self.cv2 = ConvBNAct(c1, c_, 1, 1, act())
        self.cv3 = ConvBNAct(c_, c_, 3, 1, act())
        self.cv4 = ConvBNAct(c_, c_, 1, 1, act())
        self.pools = nn.ModuleList(nn.MaxPool2d(k, 1, k // 2) for k in (5, 9, 13))
        self.cv5 = ConvBNAct(4 * c_, c_, 1, 1, act())
        self.cv6 = ConvBNAct(c_, c_, 3, 1, act())
        self.cv7 = ConvBNAct(2 * c_, c2, 1, 1, act())

    def forward(self, x):
        a = self.cv4(self.cv3(self.cv1(x)))
        a = self.cv6(self.cv5(torch.cat([a] + [p(a) for p in self.pools], 1)))
        return self.cv7(torch.cat((a, self.cv2(x)), 1))


def _leaky():
    return nn.LeakyReLU(0.1)


class _Rows:
    """Collects layer-table rows as the YOLOv7 yaml writes them (relative 'from' indices such as
    -2 or -7 allowed) and hands ``LayerGraph`` absolute indices (it reads only -1 as relative)."""

    def __init__(self, act):
        self.act, self.rows = act, []

    def _from(self, f):
        i = len(self.rows)
        if isinstance(f, list):
            return [self._from1(x, i) for x in f]
        return self._from1(f, i)

    @staticmethod
    def _from1(f, i):
        return f if f == -1 or f >= 0 else i + f

    def add(self, f, build):
        self.rows.append((self._from(f), build))

    def conv(self, c2, k=1, s=1, f=-1):
        act = self.act
        self.add(f, lambda c1: (ConvBNAct(c1, c2, k, s, act()), c2))

    def cat(self, f):
        self.add(f, cat_row)

    def mp(self, f=-1):
        self.add(f, lambda c: (nn.MaxPool2d(2, 2), c))

    def sp(self, k, f=-1):
        self.add(f, lambda c: (nn.MaxPool2d(k, 1, k // 2), c))

    def up(self):
        self.add(-1, upsample_row)

    def elan_tiny(self, c, c_out):
        """YOLOv7-tiny's ELAN: two 1x1 branches, two chained 3x3, all four concatenated, 1x1."""
        self.conv(c, 1)
        self.conv(c, 1, f=-2)
        self.conv(c, 3)
        self.conv(c, 3)
        self.cat([-1, -2, -3, -4])
        self.conv(c_out, 1)

    def elan(self, c, c_mid, c_out, cat):
        """YOLOv7's ELAN (backbone: cat [-1, -3, -5, -6]) and ELAN-H (head: cat of all six)."""
        self.conv(c, 1)
        self.conv(c, 1, f=-2)
        for _ in range(4):
            self.conv(c_mid, 3)
        self.cat(cat)
        self.conv(c_out, 1)

    def mp_down(self, c, extra=()):
        """YOLOv7's down-sampling: a max-pool branch and a strided 3x3 branch, concatenated."""
        self.mp()
        self.conv(c, 1)
        self.conv(c, 1, f=-3)
        self.conv(c, 3, 2)
        self.cat([-1, -3, *extra])


def yolov7_tiny() -> nn.Module:
    """``cfg/deploy/yolov7-tiny.yaml``: LeakyReLU(0.1) everywhere, rows 0-77."""
    r = _Rows(_leaky)
    r.conv(32, 3, 2)                          # 0-P1/2
    r.conv(64, 3, 2)                          # 1-P2/4
    r.elan_tiny(32, 64)                       # 2-7
    r.mp()                                    # 8-P3/8
    r.elan_tiny(64, 128)                      # 9-14
    r.mp()                                    # 15-P4/16
    r.elan_tiny(128, 256)                     # 16-21
    r.mp()                                    # 22-P5/32
    r.elan_tiny(256, 512)                     # 23-28
    # head: SPP with a CSP shortcut
    r.conv(256, 1)                            # 29
    r.conv(256, 1, f=-2)                      # 30
    r.sp(5)                                   # 31
    r.sp(9, f=-2)                             # 32
    r.sp(13, f=-3)                            # 33
    r.cat([-1, -2, -3, -4])                   # 34
    r.conv(256, 1)                            # 35
    r.cat([-1, -7])                           # 36
    r.conv(256, 1)                            # 37
    r.conv(128, 1)                            # 38
    r.up()                                    # 39
    r.conv(128, 1, f=21)                      # 40: backbone P4
    r.cat([-1, -2])                           # 41
    r.elan_tiny(64, 128)                      # 42-47
    r.conv(64, 1)                             # 48
    r.up()                                    # 49
    r.conv(64, 1, f=14)                       # 50: backbone P3
    r.cat([-1, -2])                           # 51
    r.elan_tiny(32, 64)                       # 52-57
    r.conv(128, 3, 2)                         # 58
    r.cat([-1, 47])                           # 59
    r.elan_tiny(64, 128)                      # 60-65
    r.conv(256, 3, 2)                         # 66
    r.cat([-1, 37])                           # 67
    r.elan_tiny(128, 256)                     # 68-73
    r.conv(128, 3, f=57)                      # 74
    r.conv(256, 3, f=65)                      # 75
    r.conv(512, 3, f=73)                      # 76
    r.add([74, 75, 76], lambda cs: (DetectV5(cs), 0))  # 77
    assert len(r.rows) == 78
    return LayerGraph(r.rows).eval()


def yolov7() -> nn.Module:
    """``cfg/deploy/yolov7.yaml``: SiLU everywhere, rows 0-105, RepConv in its fused form."""
    r = _Rows(nn.SiLU)
    backbone_cat, head_cat = [-1, -3, -5, -6], [-1, -2, -3, -4, -5, -6]
    r.conv(32, 3, 1)                          # 0
    r.conv(64, 3, 2)                          # 1-P1/2
    r.conv(64, 3, 1)                          # 2
    r.conv(128, 3, 2)                         # 3-P2/4
    r.elan(64, 64, 256, backbone_cat)         # 4-11
    r.mp_down(128)                            # 12-16-P3/8
    r.elan(128, 128, 512, backbone_cat)       # 17-24
    r.mp_down(256)                            # 25-29-P4/16
    r.elan(256, 256, 1024, backbone_cat)      # 30-37
    r.mp_down(512)                            # 38-42-P5/32
    r.elan(256, 256, 1024, backbone_cat)      # 43-50
    # head
    r.add(-1, lambda c1: (SPPCSPC(c1, 512, nn.SiLU), 512))  # 51
    r.conv(256, 1)                            # 52
    r.up()                                    # 53
    r.conv(256, 1, f=37)                      # 54: backbone P4
    r.cat([-1, -2])                           # 55
    r.elan(256, 128, 256, head_cat)           # 56-63
    r.conv(128, 1)                            # 64
    r.up()                                    # 65
    r.conv(128, 1, f=24)                      # 66: backbone P3
    r.cat([-1, -2])                           # 67
    r.elan(128, 64, 128, head_cat)            # 68-75
    r.mp_down(128, extra=(63,))               # 76-80
    r.elan(256, 128, 256, head_cat)           # 81-88
    r.mp_down(256, extra=(51,))               # 89-93
    r.elan(512, 256, 512, head_cat)           # 94-101
    for f, c in ((75, 256), (88, 512), (101, 1024)):  # 102-104: RepConv, fused
        r.add(f, lambda c1, c=c: (RepConvDeploy(c1, c), c))
    r.add([102, 103, 104], lambda cs: (DetectV5(cs), 0))  # 105
    assert len(r.rows) == 106
    return LayerGraph(r.rows).eval()
