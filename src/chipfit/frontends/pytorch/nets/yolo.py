"""YOLOv5, YOLOv8 and YOLO11 detectors and the YOLOv5 / YOLOv8 instance-segmentation variants,
written here from their published architecture definitions (layer tables, channel widths, depth and
width multiples), for the zoo.

Sources (facts only; the Ultralytics package is AGPL and is neither imported nor copied):

- YOLOv5 v7.0: https://github.com/ultralytics/yolov5 ``models/yolov5{n,s,m,l,x}.yaml`` (backbone
  and head layer tables, depth_multiple / width_multiple) and the README model table (parameters
  and FLOPs at 640).
- YOLOv8: https://github.com/ultralytics/ultralytics ``ultralytics/cfg/models/v8/yolov8.yaml``
  (layer table and the n/s/m/l/x scales [depth, width, max_channels]) and the documented model
  table (parameters and FLOPs at 640).
- YOLO11: the same repository's ``ultralytics/cfg/models/11/yolo11.yaml`` and its model table.
- YOLOv5 v7.0 instance segmentation (tag v7.0, commit 915bbf294bb74c859f0b41f1c23bc395014ea679):
  ``models/segment/yolov5{n,s,m,l,x}-seg.yaml`` (the detectors' layer tables ending in
  ``Segment [nc, anchors, 32, 256]``), ``models/yolo.py`` (``Segment``: 32 mask coefficients more per
  anchor; ``parse_model`` scales the 256 prototype channels by width_multiple), ``models/common.py``
  (``Proto``) and the README segmentation table (parameters and FLOPs at 640).
- YOLOv8 instance segmentation: https://github.com/ultralytics/ultralytics
  ``ultralytics/cfg/models/v8/yolov8-seg.yaml`` (commit 023641f5f0a4249fd5e6e069758c1d5ebe80ce4f;
  the detector's layer table ending in ``Segment [nc, 32, 256]``), ``ultralytics/nn/modules/head.py``
  (``Segment``), ``ultralytics/nn/modules/block.py`` (``Proto``), ``ultralytics/nn/tasks.py``
  (``parse_model`` scales the prototype channels to ``min(256, max_channels) × width``) and the
  documented YOLOv8 segmentation table in ``docs/en/models/yolov8.md`` (commit
  0059318aebf8cec7d72d30b9be003d63cae78323; parameters and FLOPs at 640). Those FLOPs come from thop
  (https://github.com/ultralytics/thop), which counted a transposed convolution from its output side,
  4× the multiply-accumulates of the prototype branch's 2x2 stride-2 one; the count here is the true
  one, about 5 % below the table (tests/test_yolo_seg.py pins the gap).

Building blocks, as those definitions describe them: ``Conv`` is a bias-free convolution with
'same' padding, BatchNorm and SiLU; ``C3`` (v5) and ``C2f`` (v8) are cross-stage partial blocks of
bottlenecks; ``C3k2`` (11) is a C2f whose inner blocks are bottlenecks or, for the m/l/x scales,
small C3 blocks with 3x3 bottlenecks; ``SPPF`` is three chained 5x5 max pools concatenated;
``C2PSA`` (11) is a partial block of position-sensitive attention (multi-head self-attention over
the P5 feature map with a depthwise positional convolution, then a 1x1 feed-forward pair). Widths
are ``ceil(min(c, max_channels) × width / 8) × 8`` and repeats ``max(round(n × depth), 1)``.

The network ends at the detection head's raw outputs (per level: v5's 3 anchors × 85 values;
v8/11's 64 box-distribution bins + 80 class logits): box decoding and NMS are post-processing and
are not counted, as for the other detectors of the zoo. 80 classes (COCO).

The ``-seg`` variants add an instance-segmentation head of YOLACT's form (Bolya et al. 2019,
arXiv:1904.02689): a mask prototype branch
``Proto`` on the P3 features (3x3 Conv, ×2 upsampling, 3x3 Conv, 1x1 Conv to 32 prototypes at
stride 4; v5 upsamples by nearest neighbour, v8 by a 2x2 stride-2 transposed convolution with bias),
and 32 mask coefficients per prediction (v5: 32 more channels per anchor in the 1x1 output
convolution; v8: a third branch per level, two 3x3 Conv of ``max(c_P3 / 4, 32)`` channels and a 1x1
convolution to 32). The network ends at the raw per-level outputs and the prototypes; assembling
the masks (coefficients × prototypes after NMS), box decoding and NMS are post-processing.

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import math

import torch
from torch import nn

NUM_CLASSES = 80


def _ch(c: int, width: float, max_channels: int = 1 << 30) -> int:
    return int(math.ceil(min(c, max_channels) * width / 8) * 8)


def _n(n: int, depth: float) -> int:
    return max(round(n * depth), 1) if n > 1 else n


class Conv(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, p: int | None = None, g: int = 1,
                 act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2 if p is None else p, groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3)
        self.act = nn.SiLU() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c1: int, c2: int, shortcut: bool = True, k: tuple[int, int] = (3, 3), e: float = 0.5):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, k[0])
        self.cv2 = Conv(c_, c2, k[1])
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3(nn.Module):
    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = True, e: float = 0.5,
                 k: tuple[int, int] = (1, 3)):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1)
        self.cv2 = Conv(c1, c_, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, k, e=1.0) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class C2f(nn.Module):
    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = False, e: float = 0.5,
                 inner: str = "bottleneck"):
        super().__init__()
        self.c = int(c2 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        if inner == "bottleneck":      # YOLOv8's C2f: 3x3-3x3 bottlenecks at full width
            blocks = [Bottleneck(self.c, self.c, shortcut, (3, 3), e=1.0) for _ in range(n)]
        elif inner == "c3k2":          # YOLO11's C3k2 (n/s): 3x3-3x3 bottlenecks at half width
            blocks = [Bottleneck(self.c, self.c, shortcut, (3, 3), e=0.5) for _ in range(n)]
        else:                          # YOLO11's C3k2 with C3k (m/l/x): C3 of two 3x3-3x3 bottlenecks
            blocks = [C3(self.c, self.c, 2, shortcut, e=0.5, k=(3, 3)) for _ in range(n)]
        self.m = nn.ModuleList(blocks)

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 5):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1)
        self.cv2 = Conv(c_ * 4, c2, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class Attention(nn.Module):
    """Multi-head self-attention over the pixels of a feature map, with a depthwise 3x3
    positional convolution on the values (YOLO11's PSA)."""

    def __init__(self, dim: int, num_heads: int, attn_ratio: float = 0.5):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.key_dim = int(self.head_dim * attn_ratio)
        self.scale = self.key_dim ** -0.5
        self.qkv = Conv(dim, dim + 2 * self.key_dim * num_heads, 1, act=False)
        self.proj = Conv(dim, dim, 1, act=False)
        self.pe = Conv(dim, dim, 3, 1, g=dim, act=False)

    def forward(self, x):
        b, c, h, w = x.shape
        n = h * w
        q, k, v = self.qkv(x).view(b, self.num_heads, 2 * self.key_dim + self.head_dim, n).split(
            [self.key_dim, self.key_dim, self.head_dim], dim=2)
        attn = ((q.transpose(-2, -1) @ k) * self.scale).softmax(dim=-1)
        y = (v @ attn.transpose(-2, -1)).view(b, c, h, w) + self.pe(v.reshape(b, c, h, w))
        return self.proj(y)


class PSABlock(nn.Module):
    def __init__(self, c: int, num_heads: int):
        super().__init__()
        self.attn = Attention(c, num_heads, 0.5)
        self.ffn = nn.Sequential(Conv(c, 2 * c, 1), Conv(2 * c, c, 1, act=False))

    def forward(self, x):
        x = x + self.attn(x)
        return x + self.ffn(x)


class C2PSA(nn.Module):
    def __init__(self, c1: int, c2: int, n: int = 1):
        super().__init__()
        self.c = int(c1 * 0.5)
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv(2 * self.c, c1, 1)
        self.m = nn.Sequential(*(PSABlock(self.c, self.c // 64) for _ in range(n)))

    def forward(self, x):
        a, b = self.cv1(x).split((self.c, self.c), dim=1)
        return self.cv2(torch.cat((a, self.m(b)), 1))


class DetectV5(nn.Module):
    """YOLOv5's head: one 1x1 convolution per level to 3 anchors × (4 box + 1 object + 80 classes)."""

    def __init__(self, chs: list[int]):
        super().__init__()
        self.m = nn.ModuleList(nn.Conv2d(c, 3 * (NUM_CLASSES + 5), 1) for c in chs)

    def forward(self, xs):
        return [m(x) for m, x in zip(self.m, xs)]


class Proto(nn.Module):
    """The mask prototype branch on the P3 features: 3x3 Conv, ×2 upsampling (v5: nearest; v8: a
    2x2 stride-2 transposed convolution with bias), 3x3 Conv, then a 1x1 Conv to ``nm`` prototypes."""

    def __init__(self, c1: int, c_: int, nm: int = 32, transposed: bool = False):
        super().__init__()
        self.cv1 = Conv(c1, c_, 3)
        self.upsample = nn.ConvTranspose2d(c_, c_, 2, 2, 0, bias=True) if transposed else \
            nn.Upsample(scale_factor=2.0, mode="nearest")
        self.cv2 = Conv(c_, c_, 3)
        self.cv3 = Conv(c_, nm, 1)

    def forward(self, x):
        return self.cv3(self.cv2(self.upsample(self.cv1(x))))


class SegmentV5(nn.Module):
    """YOLOv5's segmentation head: per level one 1x1 convolution to 3 anchors × (85 + 32 mask
    coefficients), and the prototypes from P3. Outputs: the three levels, then the prototypes."""

    def __init__(self, chs: list[int], npr: int, nm: int = 32):
        super().__init__()
        self.m = nn.ModuleList(nn.Conv2d(c, 3 * (NUM_CLASSES + 5 + nm), 1) for c in chs)
        self.proto = Proto(chs[0], npr, nm)

    def forward(self, xs):
        return [m(x) for m, x in zip(self.m, xs)] + [self.proto(xs[0])]


class DetectV8(nn.Module):
    """The anchor-free decoupled head of YOLOv8 / YOLO11: per level a box branch (two 3x3 Conv,
    then 64 distribution bins) and a class branch (v8: two 3x3 Conv; 11: two depthwise 3x3 +
    pointwise pairs), then 80 logits."""

    def __init__(self, chs: list[int], lite_cls: bool = False):
        super().__init__()
        reg = 16
        c2, c3 = max(16, chs[0] // 4, 4 * reg), max(chs[0], min(NUM_CLASSES, 100))
        self.box = nn.ModuleList(nn.Sequential(Conv(c, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * reg, 1))
                                 for c in chs)
        if lite_cls:
            self.cls = nn.ModuleList(nn.Sequential(
                nn.Sequential(Conv(c, c, 3, g=c), Conv(c, c3, 1)),
                nn.Sequential(Conv(c3, c3, 3, g=c3), Conv(c3, c3, 1)),
                nn.Conv2d(c3, NUM_CLASSES, 1)) for c in chs)
        else:
            self.cls = nn.ModuleList(nn.Sequential(Conv(c, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, NUM_CLASSES, 1))
                                     for c in chs)

    def forward(self, xs):
        return [torch.cat((b(x), c(x)), 1) for b, c, x in zip(self.box, self.cls, xs)]


class SegmentV8(nn.Module):
    """YOLOv8's segmentation head: the detection head, a mask-coefficient branch per level (two 3x3
    Conv of ``max(c_P3 / 4, 32)`` channels, then a 1x1 convolution to 32) and the prototypes from P3.
    Outputs: per level box bins + class logits, per level the coefficients, then the prototypes."""

    def __init__(self, chs: list[int], npr: int, nm: int = 32):
        super().__init__()
        self.detect = DetectV8(chs)
        c4 = max(chs[0] // 4, nm)
        self.cv4 = nn.ModuleList(nn.Sequential(Conv(c, c4, 3), Conv(c4, c4, 3), nn.Conv2d(c4, nm, 1)) for c in chs)
        self.proto = Proto(chs[0], npr, nm, transposed=True)

    def forward(self, xs):
        return self.detect(xs) + [m(x) for m, x in zip(self.cv4, xs)] + [self.proto(xs[0])]


class LayerGraph(nn.Module):
    """A backbone + PAN neck + head graph given as layers with 'from' indices (the published
    layer tables' form): ``spec`` rows are (from, module builder taking the input channels)."""

    def __init__(self, spec):
        super().__init__()
        self.froms, chans, layers = [], [3], []
        for src, build in spec:
            cin = [chans[-1] if s == -1 else chans[s + 1] for s in src] if isinstance(src, list) else \
                chans[-1] if src == -1 else chans[src + 1]
            module, cout = build(cin)
            layers.append(module)
            self.froms.append(src)
            chans.append(cout)
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        outs: list = []
        for src, layer in zip(self.froms, self.layers):
            last = outs[-1] if outs else x
            if isinstance(src, list):
                inp = [last if s == -1 else outs[s] for s in src]
            else:
                inp = last if src == -1 else outs[src]
            outs.append(layer(inp))
        return outs[-1]


class _Concat(nn.Module):
    def forward(self, xs):
        return torch.cat(xs, 1)


def upsample_row(c):
    return nn.Upsample(scale_factor=2.0, mode="nearest"), c


def cat_row(cs):
    return _Concat(), sum(cs)


class Scale:
    """One scale of a family (depth and width multiples, channel cap): builds the layer-table
    rows, each a function of the input channels returning (module, output channels)."""

    def __init__(self, depth: float, width: float, max_channels: int = 1 << 30):
        self.depth, self.width, self.max_channels = depth, width, max_channels

    def ch(self, c: int) -> int:
        return _ch(c, self.width, self.max_channels)

    def n(self, n: int) -> int:
        return _n(n, self.depth)

    def block(self, c2: int, make):
        """A row whose module ``make(c1, c)`` maps the input channels to ``c2`` scaled."""
        c = self.ch(c2)
        return lambda c1: (make(c1, c), c)

    def conv(self, c2: int, k: int, s: int, p: int | None = None):
        return self.block(c2, lambda c1, c: Conv(c1, c, k, s, p))

    def sppf(self):
        return self.block(1024, SPPF)


# -- YOLOv5 v7.0 ----------------------------------------------------------------------------
V5_SCALES = {"n": (0.33, 0.25), "s": (0.33, 0.50), "m": (0.67, 0.75), "l": (1.0, 1.0), "x": (1.33, 1.25)}


def yolov5(scale: str = "s", seg: bool = False) -> nn.Module:
    sc = Scale(*V5_SCALES[scale])
    conv = sc.conv

    def c3(c2, n, shortcut=True):
        return sc.block(c2, lambda c1, c: C3(c1, c, sc.n(n), shortcut))

    spec = [(-1, conv(64, 6, 2, 2)), (-1, conv(128, 3, 2)), (-1, c3(128, 3)), (-1, conv(256, 3, 2)),
            (-1, c3(256, 6)), (-1, conv(512, 3, 2)), (-1, c3(512, 9)), (-1, conv(1024, 3, 2)), (-1, c3(1024, 3)),
            (-1, sc.sppf()),
            (-1, conv(512, 1, 1)), (-1, upsample_row), ([-1, 6], cat_row), (-1, c3(512, 3, False)),
            (-1, conv(256, 1, 1)), (-1, upsample_row), ([-1, 4], cat_row), (-1, c3(256, 3, False)),
            (-1, conv(256, 3, 2)), ([-1, 14], cat_row), (-1, c3(512, 3, False)),
            (-1, conv(512, 3, 2)), ([-1, 10], cat_row), (-1, c3(1024, 3, False)),
            ([17, 20, 23], lambda cs: (SegmentV5(cs, sc.ch(256)) if seg else DetectV5(cs), 0))]
    return LayerGraph(spec).eval()


# -- YOLOv8 ---------------------------------------------------------------------------------
V8_SCALES = {"n": (0.33, 0.25, 1024), "s": (0.33, 0.50, 1024), "m": (0.67, 0.75, 768), "l": (1.0, 1.0, 512),
             "x": (1.0, 1.25, 512)}


def yolov8(scale: str = "n", seg: bool = False) -> nn.Module:
    sc = Scale(*V8_SCALES[scale])
    conv = sc.conv

    def c2f(c2, n, shortcut):
        return sc.block(c2, lambda c1, c: C2f(c1, c, sc.n(n), shortcut))

    spec = [(-1, conv(64, 3, 2)), (-1, conv(128, 3, 2)), (-1, c2f(128, 3, True)), (-1, conv(256, 3, 2)),
            (-1, c2f(256, 6, True)), (-1, conv(512, 3, 2)), (-1, c2f(512, 6, True)), (-1, conv(1024, 3, 2)),
            (-1, c2f(1024, 3, True)), (-1, sc.sppf()),
            (-1, upsample_row), ([-1, 6], cat_row), (-1, c2f(512, 3, False)),
            (-1, upsample_row), ([-1, 4], cat_row), (-1, c2f(256, 3, False)),
            (-1, conv(256, 3, 2)), ([-1, 12], cat_row), (-1, c2f(512, 3, False)),
            (-1, conv(512, 3, 2)), ([-1, 9], cat_row), (-1, c2f(1024, 3, False)),
            ([15, 18, 21], lambda cs: (SegmentV8(cs, sc.ch(256)) if seg else DetectV8(cs), 0))]
    return LayerGraph(spec).eval()


# -- YOLO11 ---------------------------------------------------------------------------------
V11_SCALES = {"n": (0.50, 0.25, 1024), "s": (0.50, 0.50, 1024), "m": (0.50, 1.00, 512), "l": (1.0, 1.0, 512),
              "x": (1.0, 1.50, 512)}


def yolo11(scale: str = "n") -> nn.Module:
    sc = Scale(*V11_SCALES[scale])
    conv = sc.conv
    big = scale in "mlx"  # the m/l/x scales use C3k inner blocks everywhere

    def c3k2(c2, n, c3k, e=0.5):
        inner = "c3k" if (c3k or big) else "c3k2"
        return sc.block(c2, lambda c1, c: C2f(c1, c, sc.n(n), True, e, inner))

    spec = [(-1, conv(64, 3, 2)), (-1, conv(128, 3, 2)), (-1, c3k2(256, 2, False, 0.25)), (-1, conv(256, 3, 2)),
            (-1, c3k2(512, 2, False, 0.25)), (-1, conv(512, 3, 2)), (-1, c3k2(512, 2, True)),
            (-1, conv(1024, 3, 2)), (-1, c3k2(1024, 2, True)), (-1, sc.sppf()),
            (-1, lambda c1: (C2PSA(c1, c1, sc.n(2)), c1)),
            (-1, upsample_row), ([-1, 6], cat_row), (-1, c3k2(512, 2, False)),
            (-1, upsample_row), ([-1, 4], cat_row), (-1, c3k2(256, 2, False)),
            (-1, conv(256, 3, 2)), ([-1, 13], cat_row), (-1, c3k2(512, 2, False)),
            (-1, conv(512, 3, 2)), ([-1, 10], cat_row), (-1, c3k2(1024, 2, True)),
            ([16, 19, 22], lambda cs: (DetectV8(cs, lite_cls=True), 0))]
    return LayerGraph(spec).eval()


def _named(fn, scale, seg: bool = False):
    def build() -> nn.Module:
        return fn(scale, seg=True) if seg else fn(scale)
    build.__name__ = f"{fn.__name__}{scale}" + ("_seg" if seg else "")
    return build


for _s in "nsmlx":
    globals()[f"yolov5{_s}"] = _named(yolov5, _s)
    globals()[f"yolov8{_s}"] = _named(yolov8, _s)
    globals()[f"yolo11{_s}"] = _named(yolo11, _s)
    globals()[f"yolov5{_s}_seg"] = _named(yolov5, _s, seg=True)
    globals()[f"yolov8{_s}_seg"] = _named(yolov8, _s, seg=True)
