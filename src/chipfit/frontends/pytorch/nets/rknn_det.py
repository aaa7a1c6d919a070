"""Detectors as the Rockchip RKNN model zoo exports them, for the zoo.

The RKNN model zoo is https://github.com/airockchip/rknn_model_zoo (commit bad6c733); each
``examples/<name>/README.md`` names the upstream project and the optimised ONNX export, and the
python demo ``examples/<name>/python/<name>.py`` shows the exported graph's outputs. Rockchip
moves the box decoding (and, for the DFL heads, the distribution softmax) out of the graph into the
host's post-processing: the networks here end where the exported graph ends. RKNN publishes no
parameter counts, so each network is held to its upstream project's published figures.

yolov5s_relu
    ``examples/yolov5`` (upstream https://github.com/airockchip/yolov5, Rockchip's fork of
    YOLOv5): YOLOv5s with ReLU in place of every SiLU (the fork's ``Conv`` activation). The same
    example ships ``yolov5n.onnx``, a scale that exists from release v6.0 on, so the layer table is
    that of v6.0 / v7.0 (6x6 stride-2 stem Conv, C3 blocks, SPPF; the ``yolo.py`` blocks). The
    export keeps the three raw 1x1 head outputs ``[1, 255, 80, 80]`` etc.; the sigmoid and anchor
    decoding run on the host (README: "we delete a subgraph ... and put it in post-processing").
    ReLU changes no count: YOLOv5s v7.0 README, 7.2M parameters, 16.5 GFLOPs at 640.

yolov6m
    ``examples/yolov6`` (upstream https://github.com/airockchip/yolov6, Rockchip's fork of
    https://github.com/meituan/YOLOv6 release 3.0): ``configs/yolov6m.py`` (depth 0.60, width
    0.75; ``CSPBepBackbone`` with repeats [1, 6, 12, 18, 6], widths [64, 128, 256, 512, 1024],
    ``csp_e`` 2/3, ``fuse_P2``, no ``cspsppf``: ``SimSPPF``; neck ``CSPRepBiFPANNeck`` repeats [12,
    12, 12, 12] widths [256, 128, 128, 256, 256, 512]; head ``EffiDeHead`` with ``use_dfl`` and
    ``reg_max`` 16), ``yolov6/models/yolo.py`` (repeats ``max(round(n × depth), 1)``, widths
    ``ceil(c × width / 8) × 8``), ``yolov6/layers/common.py`` (``BepC3``: 1x1 ConvBNReLU to
    ``c2 × 2/3`` on two branches, one through a ``RepBlock`` of ``n / 2`` ``BottleRep`` (two
    RepVGG blocks and a residual scaled by a learned scalar ``alpha``), concatenated, a 1x1
    ConvBNReLU to ``c2``), ``yolov6/models/reppan.py`` (``BiFusion`` as in ``yolov6.py``) and
    ``yolov6/models/effidehead.py`` (per level a 1x1 ConvBNSiLU stem, 3x3 ConvBNSiLU class and box
    convs, 1x1 convolutions to 80 class logits and to ``4 × (reg_max + 1)`` = 68 distance bins).
    The RKNN export (README and demo) keeps per level the box-bin convolution's output (68 channels;
    the demo's ``dfl`` takes the softmax over the 17 bins), ``sigmoid`` of the class logits and a
    ``reducesum`` + ``clip`` of the class scores (one channel). Deployed: RepVGG blocks fused (one
    3x3 convolution with bias). README of release 3.0: YOLOv6-M 34.9M parameters, 85.8 GFLOPs
    ("estimated on deployed models").

yolov8n_pose
    ``examples/yolov8_pose`` (upstream https://github.com/airockchip/ultralytics_yolov8, weights
    ``yolov8n-pose.pt`` of Ultralytics v8.2.0): YOLOv8n (``yolo.py``) with the pose head of
    ``hailo_yolo.py`` (one class, 17 keypoints × 3). The demo reads three outputs of 65 channels
    (64 box bins and the class logit per level; the sigmoid and DFL run on the host) and a fourth
    ``[1, 17, 3, 8400]``: the keypoints decoded in the graph (``x, y = (2 × raw + cell - 0.5) ×
    stride``, a sigmoid on the visibility). Ultralytics' model table: YOLOv8n-pose 3.3M parameters,
    9.2 GFLOPs at 640.

yolov8n_obb
    ``examples/yolov8_obb`` (same fork, weights ``yolov8n-obb.pt`` v8.2.0; DOTA v1, 15 classes):
    ``ultralytics/cfg/models/v8/yolov8-obb.yaml`` is the YOLOv8n layer table ending in ``OBB``,
    the detection head for 15 classes (class branch ``max(c_P3, 15)`` = 64 wide) plus, per level,
    an angle branch of two 3x3 Conv of ``max(c_P3 / 4, 1)`` = 16 channels and a 1x1 convolution to
    one value. The demo reads three outputs of 79 channels (64 box bins + 15 class logits) and a
    fourth ``[1, 1, 8400]``: the angle logits of all levels, through a sigmoid in the graph (the host
    maps them to ``(a - 0.25) × π``). Ultralytics' model table: YOLOv8n-obb 3.1M parameters, 23.3
    GFLOPs at 1024 (this entry runs at 640, as RKNN measures it: 9.1 GFLOPs).

ppyoloe_s, ppyoloe_m
    ``examples/ppyoloe`` (upstream https://github.com/PaddlePaddle/PaddleDetection release/2.6
    ``configs/ppyoloe``; ``patch_for_model_export`` exports ``ppyoloe_plus_crn_{s,m}_80e_coco``,
    PP-YOLOE+): ``configs/ppyoloe/_base_/ppyoloe_plus_crn.yml`` (``CSPResNet`` layers [3, 6, 6, 3],
    channels [64, 128, 256, 512, 1024], large stem, ``use_alpha``, return levels 1-3;
    ``CustomCSPPAN`` out channels [768, 384, 192], one stage of 3 blocks, SPP; ``PPYOLOEHead``
    strides [32, 16, 8], ``reg_max`` 16), the s / m multiples (depth 0.33 / 0.67, width 0.50 /
    0.75; widths ``round(c × width)``, repeats ``max(round(n × depth), 1)``),
    ``ppdet/modeling/backbones/cspresnet.py`` (``ConvBNLayer``: bias-free conv, BatchNorm, swish;
    stem: three 3x3 ConvBN, the first stride 2, to ``c0 / 2``, ``c0 / 2``, ``c0``; ``CSPResStage``:
    a 3x3/2 ConvBN to ``(c_in + c_out) / 2``, two 1x1 halves, one through ``BasicBlock``s (3x3
    ConvBN, ``RepVggBlock``, residual), concatenated, ``EffectiveSELayer`` (mean, 1x1 conv with bias,
    hard sigmoid, product), 1x1 ConvBN; ``RepVggBlock``: 3x3 conv-BN + alpha × 1x1 conv-BN, swish,
    fused for deployment into one 3x3 convolution with bias), ``ppdet/modeling/necks/custom_pan.py``
    (``CSPStage``: two 1x1 halves of ``c_out / 2``, one through blocks without residual and, in the
    first FPN stage, an SPP of 5/9/13 max pools and a 1x1 after the middle block; top-down: 1x1
    route to half width, nearest ×2 upsampling, concatenation; bottom-up: 3x3/2 ConvBN,
    concatenation) and ``ppdet/modeling/heads/ppyoloe_head.py`` (per level ``ESEAttn`` stems for the
    class and box branches: 1x1 conv with bias on the global mean, sigmoid, product, 1x1 ConvBN; the
    class logits are a 3x3 convolution of ``stem(x) + x``, the box bins a 3x3 convolution to ``4 ×
    17``). Rockchip's export patch returns, per level, the box bins (the DFL softmax and projection
    move to the host), ``sigmoid`` of the class logits and their sum clipped to [0, 1].
    PaddleDetection's PP-YOLOE+ table: s 7.93M parameters, 17.36 GFLOPs; m 23.43M, 49.91 GFLOPs
    (at 640, deployed: they match the fused RepVgg blocks, not the training form's 8.08M / 24.13M).

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn

from chipfit.frontends.pytorch.nets import yolov6 as _v6
from chipfit.frontends.pytorch.nets.common import stage_outputs
from chipfit.frontends.pytorch.nets.hailo_yolo import PoseV8, SimSPPF
from chipfit.frontends.pytorch.nets.yolo import Conv, LayerGraph, Scale, cat_row, yolov5, yolov8

__all__ = ["yolov5s_relu", "yolov6m", "yolov8n_pose", "yolov8n_obb", "ppyoloe", "ppyoloe_s", "ppyoloe_m"]

STRIDES = (8, 16, 32)


def _relu(model: nn.Module) -> nn.Module:
    """Every SiLU of ``model`` replaced by ReLU."""
    for name, child in model.named_children():
        if isinstance(child, nn.SiLU):
            setattr(model, name, nn.ReLU())
        else:
            _relu(child)
    return model


# -- YOLOv5s with ReLU -----------------------------------------------------------------------
def yolov5s_relu() -> nn.Module:
    """Rockchip's YOLOv5s: release v7.0's layer table with ReLU, ending at the raw 1x1 outputs."""
    return _relu(yolov5("s")).eval()


# -- YOLOv6-M 3.0 ----------------------------------------------------------------------------
class BottleRep(nn.Module):
    """Two RepVGG blocks (deployed: 3x3 conv with bias, ReLU) and, when the width is kept, a
    residual scaled by a learned scalar."""

    def __init__(self, c1: int, c2: int):
        super().__init__()
        self.conv1, self.conv2 = _v6.RepConv(c1, c2), _v6.RepConv(c2, c2)
        self.shortcut = c1 == c2
        self.alpha = nn.Parameter(torch.ones(1))

    def forward(self, x):
        y = self.conv2(self.conv1(x))
        return y + self.alpha * x if self.shortcut else y


class BepC3(nn.Module):
    """CSPStackRep block: two 1x1 ConvBNReLU branches of ``c2 × e`` channels, one through
    ``n // 2`` BottleReps (at least one), concatenated, a 1x1 ConvBNReLU to ``c2``."""

    def __init__(self, c1: int, c2: int, n: int, e: float = 2 / 3):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1, self.cv2 = _v6.ConvBNAct(c1, c_, 1), _v6.ConvBNAct(c1, c_, 1)
        self.cv3 = _v6.ConvBNAct(2 * c_, c2, 1)
        self.m = nn.Sequential(*(BottleRep(c_, c_) for _ in range(max(n // 2, 1))))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class V6DflHead(nn.Module):
    """YOLOv6 3.0's efficient decoupled head with distance bins, as the RKNN export ends it: per
    level the box-bin convolution's output (``4 × (reg_max + 1)``), the class scores (sigmoid) and
    their sum clipped to [0, 1]."""

    def __init__(self, chs: list[int], reg_max: int = 16, nc: int = 80):
        super().__init__()
        self.stems = nn.ModuleList(_v6.ConvBNAct(c, c, 1, act="silu") for c in chs)
        self.cls_convs = nn.ModuleList(_v6.ConvBNAct(c, c, 3, act="silu") for c in chs)
        self.reg_convs = nn.ModuleList(_v6.ConvBNAct(c, c, 3, act="silu") for c in chs)
        self.cls_preds = nn.ModuleList(nn.Conv2d(c, nc, 1) for c in chs)
        self.reg_preds = nn.ModuleList(nn.Conv2d(c, 4 * (reg_max + 1), 1) for c in chs)

    def forward(self, xs):
        outs = []
        for i, x in enumerate(xs):
            x = self.stems[i](x)
            cls = torch.sigmoid(self.cls_preds[i](self.cls_convs[i](x)))
            outs += [self.reg_preds[i](self.reg_convs[i](x)), cls, torch.clamp(cls.sum(1, keepdim=True), 0, 1)]
        return outs


def yolov6_csp(depth: float = 0.60, width: float = 0.75, csp_e: float = 2 / 3) -> nn.Module:
    """YOLOv6 3.0 with CSP stages (the M / L layout; default multiples: M), deployed, ending where
    the RKNN export ends."""
    sc = Scale(depth, width)

    def rep(c2):
        return sc.block(c2, lambda c1, c: _v6.RepConv(c1, c, 2))

    def bep(c2, n):
        return sc.block(c2, lambda c1, c: BepC3(c1, c, sc.n(n), csp_e))

    def cbr(c2, k, s=1):
        return sc.block(c2, lambda c1, c: _v6.ConvBNAct(c1, c, k, s))

    def bifusion(c2):
        c = sc.ch(c2)
        return lambda cs: (_v6.BiFusion(cs[1], cs[2], c), c)

    spec = [(-1, rep(64)),                                                   # 0 stem, P1
            (-1, rep(128)), (-1, bep(128, 6)),                               # 2 P2
            (-1, rep(256)), (-1, bep(256, 12)),                              # 4 P3
            (-1, rep(512)), (-1, bep(512, 18)),                              # 6 P4
            (-1, rep(1024)), (-1, bep(1024, 6)),
            (-1, sc.block(1024, SimSPPF)),                                   # 9 P5
            (-1, cbr(256, 1)),                                               # 10 reduce P5
            ([10, 6, 4], bifusion(256)), (-1, bep(256, 12)),                 # 12
            (-1, cbr(128, 1)),                                               # 13 reduce
            ([13, 4, 2], bifusion(128)), (-1, bep(128, 12)),                 # 15 P3 out
            (-1, cbr(128, 3, 2)), ([-1, 13], cat_row), (-1, bep(256, 12)),   # 18 P4 out
            (-1, cbr(256, 3, 2)), ([-1, 10], cat_row), (-1, bep(512, 12)),   # 21 P5 out
            ([15, 18, 21], lambda cs: (V6DflHead(cs), 0))]
    return LayerGraph(spec).eval()


def yolov6m() -> nn.Module:
    """YOLOv6-M 3.0 as the RKNN model zoo exports it."""
    return yolov6_csp(0.60, 0.75)


# -- YOLOv8n pose and oriented boxes ---------------------------------------------------------
def _cells(outs, strides=STRIDES):
    """Cell centres (x, y) and strides of all levels, flattened in the heads' order."""
    pts, sts = [], []
    for out, s in zip(outs, strides):
        h, w = out.shape[2:]
        ys = torch.arange(h, device=out.device, dtype=out.dtype) + 0.5
        xs = torch.arange(w, device=out.device, dtype=out.dtype) + 0.5
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        pts.append(torch.stack((gx.reshape(-1), gy.reshape(-1))))
        sts.append(torch.full((1, h * w), float(s), device=out.device, dtype=out.dtype))
    return torch.cat(pts, 1), torch.cat(sts, 1)


class RknnPoseV8(PoseV8):
    """YOLOv8's pose head as Rockchip's export ends it: per level ``cat(box bins, class logit)``,
    then the keypoints of all levels decoded, ``[batch, 17, 3, cells]``."""

    def forward(self, xs):
        dets = [torch.cat((b(x), c(x)), 1) for b, c, x in zip(self.box, self.cls, xs)]
        b = xs[0].shape[0]
        kpt = torch.cat([k(x).view(b, 17, 3, -1) for k, x in zip(self.kpt, xs)], -1)
        anchor, stride = _cells(xs)
        xy = (kpt[:, :, :2] * 2.0 + (anchor - 0.5)) * stride
        return dets + [torch.cat((xy, kpt[:, :, 2:3].sigmoid()), 2)]


def _yolov8n_with(head: type[nn.Module]) -> nn.Module:
    """YOLOv8n with its detection head replaced by ``head`` (built on the same three levels)."""
    model = yolov8("n")
    model.layers[-1] = head([seq[0].conv.in_channels for seq in model.layers[-1].box])
    return model.eval()


def yolov8n_pose() -> nn.Module:
    """YOLOv8n pose (one class, 17 keypoints) as the RKNN model zoo exports it."""
    return _yolov8n_with(RknnPoseV8)


class RknnObbV8(nn.Module):
    """YOLOv8's oriented-box head as Rockchip's export ends it: per level ``cat(box bins, class
    logits)``, then the angle logits of all levels through a sigmoid, ``[batch, 1, cells]``."""

    def __init__(self, chs: list[int], nc: int = 15, ne: int = 1):
        super().__init__()
        reg = 16
        c2, c3, c4 = max(16, chs[0] // 4, 4 * reg), max(chs[0], min(nc, 100)), max(chs[0] // 4, ne)
        self.box = nn.ModuleList(nn.Sequential(Conv(c, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * reg, 1))
                                 for c in chs)
        self.cls = nn.ModuleList(nn.Sequential(Conv(c, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for c in chs)
        self.angle = nn.ModuleList(nn.Sequential(Conv(c, c4, 3), Conv(c4, c4, 3), nn.Conv2d(c4, ne, 1)) for c in chs)

    def forward(self, xs):
        dets = [torch.cat((b(x), c(x)), 1) for b, c, x in zip(self.box, self.cls, xs)]
        b = xs[0].shape[0]
        angle = torch.cat([a(x).view(b, 1, -1) for a, x in zip(self.angle, xs)], -1)
        return dets + [angle.sigmoid()]


def yolov8n_obb() -> nn.Module:
    """YOLOv8n oriented boxes (DOTA v1, 15 classes) as the RKNN model zoo exports it."""
    return _yolov8n_with(RknnObbV8)


# -- PP-YOLOE+ -------------------------------------------------------------------------------
class ConvBN(nn.Module):
    """PaddleDetection's ``ConvBNLayer``: bias-free convolution with 'same' padding, BatchNorm, an
    activation (swish = SiLU by default)."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = nn.SiLU() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class RepVgg(nn.Module):
    """PP-YOLOE's ``RepVggBlock``. Deployed (``fused``): one 3x3 convolution with bias, swish.
    Training form: a 3x3 conv-BN plus ``alpha`` times a 1x1 conv-BN, swish."""

    def __init__(self, c: int, fused: bool = True):
        super().__init__()
        self.fused = fused
        self.act = nn.SiLU()
        if fused:
            self.conv = nn.Conv2d(c, c, 3, 1, 1, bias=True)
        else:
            self.conv1, self.conv2 = ConvBN(c, c, 3, act=False), ConvBN(c, c, 1, act=False)
            self.alpha = nn.Parameter(torch.ones(1))

    def forward(self, x):
        if self.fused:
            return self.act(self.conv(x))
        return self.act(self.conv1(x) + self.alpha * self.conv2(x))


class ResBlock(nn.Module):
    """PP-YOLOE's ``BasicBlock``: a 3x3 ConvBN and a RepVgg block, with a residual in the backbone."""

    def __init__(self, c: int, shortcut: bool, fused: bool = True):
        super().__init__()
        self.conv1, self.conv2 = ConvBN(c, c, 3), RepVgg(c, fused)
        self.shortcut = shortcut

    def forward(self, x):
        y = self.conv2(self.conv1(x))
        return x + y if self.shortcut else y


class EffectiveSE(nn.Module):
    """Effective squeeze-excitation: the global mean, a 1x1 convolution with bias, a hard sigmoid,
    times the input."""

    def __init__(self, c: int):
        super().__init__()
        self.fc = nn.Conv2d(c, c, 1)
        self.act = nn.Hardsigmoid()

    def forward(self, x):
        return x * self.act(self.fc(x.mean((2, 3), keepdim=True)))


class CSPResStage(nn.Module):
    """A CSPRepResNet stage: a 3x3/2 ConvBN to ``(c1 + c2) / 2``, two 1x1 halves (one through ``n``
    residual blocks), concatenated, effective SE, a 1x1 ConvBN to ``c2``."""

    def __init__(self, c1: int, c2: int, n: int, fused: bool = True):
        super().__init__()
        mid = (c1 + c2) // 2
        self.conv_down = ConvBN(c1, mid, 3, 2)
        self.conv1, self.conv2 = ConvBN(mid, mid // 2), ConvBN(mid, mid // 2)
        self.blocks = nn.Sequential(*(ResBlock(mid // 2, True, fused) for _ in range(n)))
        self.attn = EffectiveSE(mid)
        self.conv3 = ConvBN(mid, c2)

    def forward(self, x):
        x = self.conv_down(x)
        return self.conv3(self.attn(torch.cat((self.conv1(x), self.blocks(self.conv2(x))), 1)))


class PaddleSPP(nn.Module):
    """SPP of the neck: the input and its 5/9/13 max pools (stride 1) concatenated, a 1x1 ConvBN."""

    def __init__(self, c1: int, c2: int):
        super().__init__()
        self.pools = nn.ModuleList(nn.MaxPool2d(k, 1, k // 2) for k in (5, 9, 13))
        self.conv = ConvBN(c1, c2)

    def forward(self, x):
        return self.conv(torch.cat([x] + [p(x) for p in self.pools], 1))


class CSPStage(nn.Module):
    """The neck's CSP stage: two 1x1 ConvBN halves of ``c2 / 2``, one through ``n`` blocks without
    residual (and SPP after the middle one when ``spp``), concatenated, a 1x1 ConvBN to ``c2``."""

    def __init__(self, c1: int, c2: int, n: int, spp: bool = False, fused: bool = True):
        super().__init__()
        mid = c2 // 2
        self.conv1, self.conv2 = ConvBN(c1, mid), ConvBN(c1, mid)
        convs = []
        for i in range(n):
            convs.append(ResBlock(mid, False, fused))
            if spp and i == (n - 1) // 2:
                convs.append(PaddleSPP(4 * mid, mid))
        self.convs = nn.Sequential(*convs)
        self.conv3 = ConvBN(2 * mid, c2)

    def forward(self, x):
        return self.conv3(torch.cat((self.conv1(x), self.convs(self.conv2(x))), 1))


class ESEAttn(nn.Module):
    """The ET-head's stem: ``ConvBN1x1(x × sigmoid(fc(mean(x))))``."""

    def __init__(self, c: int):
        super().__init__()
        self.fc = nn.Conv2d(c, c, 1)
        self.conv = ConvBN(c, c)

    def forward(self, x, avg):
        return self.conv(x * torch.sigmoid(self.fc(avg)))


class PPYOLOEHead(nn.Module):
    """The efficient task-aligned head as Rockchip's export ends it: per level (strides 32, 16, 8)
    the 3x3 box-bin convolution's output ``4 × (reg_max + 1)``, the class scores (sigmoid of a 3x3
    convolution on ``stem(x) + x``) and their sum clipped to [0, 1]."""

    def __init__(self, chs: list[int], nc: int = 80, reg_max: int = 16):
        super().__init__()
        self.stem_cls = nn.ModuleList(ESEAttn(c) for c in chs)
        self.stem_reg = nn.ModuleList(ESEAttn(c) for c in chs)
        self.pred_cls = nn.ModuleList(nn.Conv2d(c, nc, 3, 1, 1) for c in chs)
        self.pred_reg = nn.ModuleList(nn.Conv2d(c, 4 * (reg_max + 1), 3, 1, 1) for c in chs)

    def forward(self, xs):
        outs = []
        for i, x in enumerate(xs):
            avg = x.mean((2, 3), keepdim=True)
            cls = torch.sigmoid(self.pred_cls[i](self.stem_cls[i](x, avg) + x))
            outs += [self.pred_reg[i](self.stem_reg[i](x, avg)), cls, torch.clamp(cls.sum(1, keepdim=True), 0, 1)]
        return outs


class PPYOLOE(nn.Module):
    """PP-YOLOE+ (CSPRepResNet backbone, CustomCSPPAN neck, ET-head) at ``depth`` / ``width``."""

    def __init__(self, depth: float, width: float, fused: bool = True):
        super().__init__()
        ch = [max(round(c * width), 1) for c in (64, 128, 256, 512, 1024)]
        layers = [max(round(n * depth), 1) for n in (3, 6, 6, 3)]
        self.stem = nn.Sequential(ConvBN(3, ch[0] // 2, 3, 2), ConvBN(ch[0] // 2, ch[0] // 2, 3),
                                  ConvBN(ch[0] // 2, ch[0], 3))
        self.stages = nn.ModuleList(CSPResStage(ch[i], ch[i + 1], layers[i], fused) for i in range(4))
        outs = [max(round(c * width), 1) for c in (768, 384, 192)]
        n = max(round(3 * depth), 1)
        ins = ch[2:][::-1]                                    # P5, P4, P3 widths of the backbone
        self.fpn_stages, self.fpn_routes = nn.ModuleList(), nn.ModuleList()
        pre = 0
        for i, (c_in, c_out) in enumerate(zip(ins, outs)):
            self.fpn_stages.append(CSPStage(c_in + pre // 2, c_out, n, spp=i == 0, fused=fused))
            if i < 2:
                self.fpn_routes.append(ConvBN(c_out, c_out // 2))
            pre = c_out
        self.pan_routes = nn.ModuleList(ConvBN(outs[i + 1], outs[i + 1], 3, 2) for i in range(2))
        self.pan_stages = nn.ModuleList(CSPStage(outs[i] + outs[i + 1], outs[i], n, fused=fused) for i in range(2))
        self.up = nn.Upsample(scale_factor=2.0, mode="nearest")
        self.head = PPYOLOEHead(outs)

    def forward(self, x):
        feats = stage_outputs(self.stages, self.stem(x))
        blocks = feats[1:][::-1]                              # P5, P4, P3
        fpn, route = [], None
        for i, block in enumerate(blocks):
            if i > 0:
                block = torch.cat((route, block), 1)
            route = self.fpn_stages[i](block)
            fpn.append(route)
            if i < 2:
                route = self.up(self.fpn_routes[i](route))
        pan, route = [fpn[-1]], fpn[-1]
        for i in (1, 0):
            route = self.pan_stages[i](torch.cat((self.pan_routes[i](route), fpn[i]), 1))
            pan.append(route)
        return self.head(pan[::-1])                           # strides 32, 16, 8


def ppyoloe(depth: float = 0.33, width: float = 0.50, fused: bool = True) -> nn.Module:
    """PP-YOLOE+ as the RKNN model zoo exports it, deployed (RepVgg blocks fused) by default."""
    return PPYOLOE(depth, width, fused).eval()


def ppyoloe_s() -> nn.Module:
    return ppyoloe(0.33, 0.50)


def ppyoloe_m() -> nn.Module:
    return ppyoloe(0.67, 0.75)
