"""YOLO detectors and pose networks as the Hailo Model Zoo compiles them, for the zoo.

The Hailo Model Zoo is https://github.com/hailo-ai/hailo_model_zoo (commit c83fc030); each
network's ``hailo_model_zoo/cfg/networks/<id>.yaml`` gives its input shape, its source
(``info.source``), its parameter count (``info.parameters``, the compiled graph: BatchNorm folded
into the convolutions) and its operations (``info.operations``, about two per multiply-accumulate).
Hailo compiles the networks up to the raw per-level head outputs: the ``.alls`` scripts add box
decoding and NMS as ``nms_postprocess(..., engine=cpu)`` on the host, so neither is counted here.

yolov5s_wo_spp, yolov5m_wo_spp, yolov5xs_wo_spp
    YOLOv5 release v2.0 (``info.source``), as Hailo's fork https://github.com/hailo-ai/yolov5
    (branch v2.0.1, the one the model zoo's retraining docker clones) defines it:
    ``models/yolov5m_wo_spp.yaml`` is the v2.0 layer table with the SPP block (a 1x1 halving, 5/9/13
    max pools, a 1x1) replaced by one 3x3 ``Conv`` to 512 × width channels; ``models/common.py``
    (v2.0 blocks: ``Focus`` stem, a space-to-depth then a 3x3 Conv; ``BottleneckCSP``, whose
    bottleneck branch ends in a bare 1x1 convolution, a bare 1x1 convolution as the other branch, a
    BatchNorm and LeakyReLU over their concatenation, then a 1x1 Conv; ``Conv`` is a bias-free
    convolution, BatchNorm and LeakyReLU(0.1)); ``models/yolo.py`` (widths ``ceil(c × width / 8) ×
    8``, repeats ``max(round(n × depth), 1)``). yolov5s_wo_spp takes yolov5s's multiples (depth
    0.33, width 0.50) and yolov5m_wo_spp yolov5m's (0.67, 0.75). yolov5xs_wo_spp is Hailo's
    ``yolov5s512.onnx``: the same network at 512x512 (Hailo lists 7.85M parameters for both, and
    11.36G OPS = 17.74G × (512 / 640)², so its multiples are yolov5s's). Hailo: 7.85M / 17.74G,
    22.67M / 52.88G, 7.85M / 11.36G OPS.

yolov5s_2.0
    Hailo's ``yolov5s`` (cfg ``yolov5s.yaml``, ``info.source`` tag v2.0, model files ``yolov5s_spp``):
    the same v2.0 network with its SPP block kept (a 1x1 halving, 5/9/13 max pools concatenated, a
    1x1), not the current release's yolov5s (C3 blocks, SPPF, SiLU). Hailo: 7.46M / 17.44G OPS.

yolov5m_6.1, yolov5m6_6.1
    YOLOv5 release v6.1 (``info.source``), https://github.com/ultralytics/yolov5 tag v6.1:
    ``models/yolov5m.yaml`` is the layer table of v7.0 that ``yolo.py`` builds (6x6 stride-2 stem
    Conv, C3 blocks, SPPF, SiLU), so yolov5m_6.1 is that network; ``models/hub/yolov5m6.yaml`` is
    the P6 model: a fifth stage (Conv 3x3/2 to 1024, C3) before SPPF at stride 64, widths 768 at
    P5, a four-level PAN neck and four detection outputs (strides 8, 16, 32, 64), depth 0.67 and
    width 0.75. Hailo: 21.17M / 48.96G and 35.70M / 200.04G OPS (at 1280x1280).

yolox_s_leaky, yolox_l_leaky, yolox_s_wide_leaky
    YOLOX (``info.source`` Megvii-BaseDetection/YOLOX) as Hailo's fork https://github.com/hailo-ai/YOLOX
    trains it: ``exps/default/yolox_{s,l,s_wide}_leaky.py`` set ``act = 'lrelu'`` (LeakyReLU(0.1)
    in place of SiLU, no other change) and the depth / width multiples: s 0.33 / 0.50, l 1.0 /
    1.0, and "wide" is the S depth at the M width: 0.33 / 0.75. The network is otherwise YOLOX's
    (``yolox.py``). Hailo: 8.96M / 26.74G, 54.17M / 155.3G, 20.12M / 59.46G OPS.

yolov8s_pose, yolov8m_pose
    Ultralytics YOLOv8 pose (https://github.com/ultralytics/ultralytics
    ``ultralytics/cfg/models/v8/yolov8-pose.yaml``: the YOLOv8 detector's layer table, one class,
    ``kpt_shape [17, 3]``, ending in ``Pose``; ``ultralytics/nn/modules/head.py``: ``Pose`` is the
    detection head plus, per level, two 3x3 Conv of ``max(c_P3 / 4, 51)`` channels and a 1x1
    convolution to 17 × 3 keypoint values). With one class the class branch is ``c_P3`` wide.
    Hailo's graph ends at the per-level box bins, class logit and keypoints (decoding on the host).
    Hailo: 11.6M / 30.2G and 26.4M / 81.02G OPS.

yolov6n_0.2.1
    YOLOv6-N of release 0.2.1 (``info.source``), https://github.com/meituan/YOLOv6 tag 0.2.1:
    ``configs/yolov6n.py`` (depth 0.33, width 0.25; backbone ``EfficientRep`` repeats [1, 6, 12,
    18, 6], widths [64, 128, 256, 512, 1024]; neck ``RepPANNeck`` repeats [12, 12, 12, 12], widths
    [256, 128, 128, 256, 256, 512]; head ``EffiDeHead`` with one anchor and ``reg_max`` 0),
    ``yolov6/models/yolo.py`` (widths ``ceil(c × width / 8) × 8``, repeats ``max(round(n ×
    depth), 1)``), ``efficientrep.py`` (RepVGG stem and stages, ``SimSPPF`` at the end: 1x1 halving,
    three chained 5x5 max pools, 1x1, ReLU), ``reppan.py`` (1x1 ``SimConv`` reductions, 2x2 stride-2
    transposed-convolution upsampling with bias, RepBlocks after each concatenation, 3x3/2
    ``SimConv`` downsampling), ``effidehead.py`` (per level a 1x1 stem, a 3x3 class conv and a 3x3
    box conv, then 80 class logits and 4 box distances) and the README (YOLOv6-N 4.3M parameters,
    11.1 GFLOPs at 640, on deployed models). Built deployed: each RepVGG block one 3x3 conv with
    bias (the ``yolov6.py`` blocks). Hailo: 4.33M / 11.06G OPS (this network has 4.317M folded
    parameters, 0.3 % below Hailo's figure).

yolov3, yolov3_416 (and Hailo's yolov3_gluon, yolov3_gluon_416), yolov4_leaky, tiny_yolov3, tiny_yolov4
    Darknet's configurations, https://github.com/AlexeyAB/darknet ``cfg/yolov3.cfg``,
    ``cfg/yolov4.cfg``, ``cfg/yolov3-tiny.cfg``, ``cfg/yolov4-tiny.cfg`` (Hailo names that
    repository, its YOLOv4 model-zoo wiki, and https://github.com/Tianxiaomo/pytorch-YOLOv4, a port of
    the same cfg files, as sources; GluonCV's ``yolo3_darknet53_coco`` has YOLOv3's layers). Every
    convolution is bias-free with BatchNorm and LeakyReLU(0.1) and 'same' padding, except the 1x1
    output convolutions (bias, linear, 3 anchors × 85 = 255 channels). YOLOv3 (Redmon and Farhadi
    2018, arXiv:1804.02767): Darknet-53 (3x3 conv to 32, five stages of a 3x3/2 conv and 1, 2, 8, 8,
    4 residual blocks of 1x1 halving and 3x3), then per scale five alternating 1x1 / 3x3 convs, a 3x3
    and the output, a 1x1 halving and ×2 upsampling into the next scale. YOLOv4 (Bochkovskiy et al.
    2020, arXiv:2004.10934): CSPDarknet-53 (stages with a 1x1 branch and a 1x1 + residual blocks + 1x1
    branch, concatenated and merged by a 1x1), SPP (5/9/13 max pools), a PAN neck, three scales; the
    "leaky" variant uses LeakyReLU where the cfg has Mish (no change in the counts). The tiny
    versions: yolov3-tiny is seven 3x3 convs with max pools (the sixth at stride 1), two scales;
    yolov4-tiny has three CSP blocks whose residual path takes the second half of a 3x3 conv's
    channels (``route groups=2 group_id=1``). Darknet reports 65.879 / 140.69 BFLOPs for YOLOv3 at
    416 / 608, 128.46 for YOLOv4 at 608, 5.56 for yolov3-tiny and 6.9 for yolov4-tiny at 416. Hailo:
    yolov3_416 and yolov3_gluon_416 61.92M / 65.94G, yolov3_gluon 140.7G OPS at 608, yolov4_leaky
    64.33M / 91.04G at 512, tiny_yolov3 8.85M / 5.58G, tiny_yolov4 6.05M / 6.92G. (Hailo's yolov3 and
    yolov3_gluon rows at 608 print 68.79M parameters for the same layers, and the yolov3 row 158.1G
    OPS, 12 % above Darknet's count: those two figures are not matched.)

yolov7x
    https://github.com/WongKinYiu/yolov7 ``cfg/deploy/yolov7x.yaml`` (rows 0-121; the blocks of
    ``yolov7.py``): a 3x3 conv to 40 and two more convs to the stride-4 width 160, ELAN blocks of two
    1x1 branches and six chained 3x3 convs (concatenation ``[-1, -3, -5, -7, -8]``, then a 1x1) at
    64 / 128 / 256 / 256 channels with outputs 320 / 640 / 1280 / 1280, max-pool + strided-conv
    downsampling, SPPCSPC to 640, a PAN neck of the same ELAN blocks, and plain 3x3 Conv (320, 640,
    1280) before the deployed detection head (``IDetect``'s implicit layers folded: YOLOv5's 1x1
    outputs); SiLU. Paper (arXiv:2207.02696, Table 2): 71.3M parameters, 189.9 GFLOPs. Hailo:
    71.46M / 189.68G OPS.

yolov9c
    https://github.com/WongKinYiu/yolov9 (Wang et al. 2024, arXiv:2402.13616): the deployed
    ("converted") YOLOv9-C is ``models/detect/gelan-c.yaml``, the training-only auxiliary branch
    removed. ``models/common.py``: ``RepNCSPELAN4(c2, c3, c4)`` (a 1x1 Conv to c3 split in halves,
    two chained stages of a ``RepNCSP`` and a 3x3 Conv at c4 on the second half, all four pieces
    concatenated, a 1x1 Conv to c2), ``RepNCSP`` (a C3 block whose bottlenecks are a ``RepConvN`` and
    a 3x3 Conv with a residual), ``RepConvN`` (3x3 and 1x1 conv-BN branches, fused when deployed
    into one 3x3 convolution with bias), ``ADown`` (2x2 stride-1 average pool, half the channels
    through a 3x3/2 Conv, half through a 3x3/2 max pool and a 1x1 Conv), ``SPPELAN`` (a 1x1 Conv,
    three chained 5x5 max pools, a 1x1 Conv); ``models/yolo.py`` (``DDetect``: per level a box
    branch of a 3x3 Conv, a 4-group 3x3 Conv and a 4-group 1x1 to 64 distribution bins, and a class
    branch of two 3x3 Conv and a 1x1 to 80). README: YOLOv9-C 25.3M parameters, 102.1G FLOPs. Hailo:
    25.3M / 102.1G OPS, ending at the per-level bins and class logits (the distribution decoding and
    NMS on the host).

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from chipfit.frontends.pytorch.nets import yolov6 as _v6
from chipfit.frontends.pytorch.nets import yolov7 as _v7
from chipfit.frontends.pytorch.nets import yolox as _yolox
from chipfit.frontends.pytorch.nets.common import stage_outputs
from chipfit.frontends.pytorch.nets.yolo import (
    C3,
    SPPF,
    Bottleneck,
    Conv,
    DetectV5,
    DetectV8,
    LayerGraph,
    Scale,
    cat_row,
    upsample_row,
    yolov5,
    yolov8,
)


def _leaky(model: nn.Module) -> nn.Module:
    """Every SiLU of ``model`` replaced by LeakyReLU(0.1) (Hailo's leaky variants)."""
    for name, child in model.named_children():
        if isinstance(child, nn.SiLU):
            setattr(model, name, nn.LeakyReLU(0.1))
        else:
            _leaky(child)
    return model


# -- YOLOv5 v2.0 without SPP -----------------------------------------------------------------
class _Bottleneck(Bottleneck):
    """yolo.py's Bottleneck at one width, a 1x1 then a 3x3 Conv (its own name: the stored graphs
    record it)."""

    def __init__(self, c: int, shortcut: bool):
        super().__init__(c, c, shortcut, (1, 3), e=1.0)


class BottleneckCSP(nn.Module):
    """YOLOv5 v2.0's CSP block: Conv 1x1 → bottlenecks → bare 1x1 conv, in parallel a bare 1x1
    conv of the input; BatchNorm + activation over the concatenation, then a 1x1 Conv."""

    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = True):
        super().__init__()
        c_ = int(c2 * 0.5)
        self.cv1 = Conv(c1, c_, 1)
        self.cv2 = nn.Conv2d(c1, c_, 1, bias=False)
        self.cv3 = nn.Conv2d(c_, c_, 1, bias=False)
        self.cv4 = Conv(2 * c_, c2, 1)
        self.bn = nn.BatchNorm2d(2 * c_)
        self.act = nn.SiLU()  # made LeakyReLU with the rest of the network
        self.m = nn.Sequential(*(_Bottleneck(c_, shortcut) for _ in range(n)))

    def forward(self, x):
        return self.cv4(self.act(self.bn(torch.cat((self.cv3(self.m(self.cv1(x))), self.cv2(x)), 1))))


V5_V2_SCALES = {"s": (0.33, 0.50), "m": (0.67, 0.75)}


def yolov5_wo_spp(scale: str = "s", spp: bool = False) -> nn.Module:
    """YOLOv5 v2.0 with the SPP block replaced by a 3x3 Conv (Hailo's ``*_wo_spp``); with ``spp``,
    the release's own network (SPP: a 1x1 halving, 5/9/13 max pools concatenated, a 1x1)."""
    sc = Scale(*V5_V2_SCALES[scale])
    conv = sc.conv
    neck = sc.block(1024, lambda c1, c: _yolox.SPP(c1, c)) if spp else conv(512, 3, 1)

    def csp(c2, n, shortcut=True):
        return sc.block(c2, lambda c1, c: BottleneckCSP(c1, c, sc.n(n), shortcut))

    spec = [(-1, sc.block(64, lambda c1, c: _yolox.Focus(c1, c, 3))), (-1, conv(128, 3, 2)), (-1, csp(128, 3)),
            (-1, conv(256, 3, 2)), (-1, csp(256, 9)), (-1, conv(512, 3, 2)), (-1, csp(512, 9)),
            (-1, conv(1024, 3, 2)), (-1, neck), (-1, csp(1024, 3, False)),
            (-1, conv(512, 1, 1)), (-1, upsample_row), ([-1, 6], cat_row), (-1, csp(512, 3, False)),
            (-1, conv(256, 1, 1)), (-1, upsample_row), ([-1, 4], cat_row), (-1, csp(256, 3, False)),
            (-1, conv(256, 3, 2)), ([-1, 14], cat_row), (-1, csp(512, 3, False)),
            (-1, conv(512, 3, 2)), ([-1, 10], cat_row), (-1, csp(1024, 3, False)),
            ([17, 20, 23], lambda cs: (DetectV5(cs), 0))]
    return _leaky(LayerGraph(spec)).eval()


def yolov5s_wo_spp() -> nn.Module:
    return yolov5_wo_spp("s")


def yolov5s_v2() -> nn.Module:
    """Hailo's yolov5s: release v2.0's YOLOv5s with its SPP block (LeakyReLU, as the release)."""
    return yolov5_wo_spp("s", spp=True)


def yolov5m_wo_spp() -> nn.Module:
    return yolov5_wo_spp("m")


def yolov5xs_wo_spp() -> nn.Module:
    """Hailo's yolov5xs_wo_spp: yolov5s_wo_spp (the same weights' shape) run at 512x512."""
    return yolov5_wo_spp("s")


# -- YOLOv5 v6.1 -----------------------------------------------------------------------------
def yolov5m_6_1() -> nn.Module:
    """YOLOv5m of release v6.1: the same layer table as v7.0."""
    return yolov5("m")


def yolov5_p6(depth: float = 0.67, width: float = 0.75) -> nn.Module:
    """YOLOv5 v6.x P6 model (``models/hub/yolov5{n,s,m,l,x}6.yaml``; default multiples: m6)."""
    sc = Scale(depth, width)
    conv = sc.conv

    def c3(c2, n, shortcut=True):
        return sc.block(c2, lambda c1, c: C3(c1, c, sc.n(n), shortcut))

    spec = [(-1, conv(64, 6, 2, 2)), (-1, conv(128, 3, 2)), (-1, c3(128, 3)), (-1, conv(256, 3, 2)),
            (-1, c3(256, 6)), (-1, conv(512, 3, 2)), (-1, c3(512, 9)), (-1, conv(768, 3, 2)), (-1, c3(768, 3)),
            (-1, conv(1024, 3, 2)), (-1, c3(1024, 3)), (-1, sc.block(1024, SPPF)),
            (-1, conv(768, 1, 1)), (-1, upsample_row), ([-1, 8], cat_row), (-1, c3(768, 3, False)),
            (-1, conv(512, 1, 1)), (-1, upsample_row), ([-1, 6], cat_row), (-1, c3(512, 3, False)),
            (-1, conv(256, 1, 1)), (-1, upsample_row), ([-1, 4], cat_row), (-1, c3(256, 3, False)),
            (-1, conv(256, 3, 2)), ([-1, 20], cat_row), (-1, c3(512, 3, False)),
            (-1, conv(512, 3, 2)), ([-1, 16], cat_row), (-1, c3(768, 3, False)),
            (-1, conv(768, 3, 2)), ([-1, 12], cat_row), (-1, c3(1024, 3, False)),
            ([23, 26, 29, 32], lambda cs: (DetectV5(cs), 0))]
    return LayerGraph(spec).eval()


def yolov5m6_6_1() -> nn.Module:
    return yolov5_p6(0.67, 0.75)


# -- YOLOX with LeakyReLU --------------------------------------------------------------------
def yolox_leaky(depth: float, width: float) -> nn.Module:
    return _leaky(_yolox.YOLOX(depth, width)).eval()


def yolox_s_leaky() -> nn.Module:
    return yolox_leaky(0.33, 0.50)


def yolox_l_leaky() -> nn.Module:
    return yolox_leaky(1.0, 1.0)


def yolox_s_wide_leaky() -> nn.Module:
    return yolox_leaky(0.33, 0.75)


# -- YOLOv8 pose -----------------------------------------------------------------------------
class PoseV8(nn.Module):
    """YOLOv8's pose head for one class: the detection head's box and class branches, and per
    level a keypoint branch (two 3x3 Conv of ``max(c_P3 / 4, nk)`` channels, a 1x1 conv to nk)."""

    def __init__(self, chs: list[int], nk: int = 17 * 3):
        super().__init__()
        reg = 16
        c2, c3, c4 = max(16, chs[0] // 4, 4 * reg), max(chs[0], 1), max(chs[0] // 4, nk)
        self.box = nn.ModuleList(nn.Sequential(Conv(c, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * reg, 1))
                                 for c in chs)
        self.cls = nn.ModuleList(nn.Sequential(Conv(c, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, 1, 1)) for c in chs)
        self.kpt = nn.ModuleList(nn.Sequential(Conv(c, c4, 3), Conv(c4, c4, 3), nn.Conv2d(c4, nk, 1)) for c in chs)

    def forward(self, xs):
        return [torch.cat((b(x), c(x), k(x)), 1) for b, c, k, x in zip(self.box, self.cls, self.kpt, xs)]


def yolov8_pose(scale: str = "s") -> nn.Module:
    model = yolov8(scale)
    head = model.layers[-1]
    assert isinstance(head, DetectV8)
    chs = [seq[0].conv.in_channels for seq in head.box]
    model.layers[-1] = PoseV8(chs)
    return model.eval()


def yolov8s_pose() -> nn.Module:
    return yolov8_pose("s")


def yolov8m_pose() -> nn.Module:
    return yolov8_pose("m")


# -- YOLOv6-N of release 0.2.1 ---------------------------------------------------------------
class SimSPPF(SPPF):
    """YOLOv6 0.2's SimSPPF: SPPF (a 1x1 conv halving, three chained 5x5 max pools concatenated
    with it, a 1x1 conv) with ConvBNReLU convs."""

    def __init__(self, c1: int, c2: int, k: int = 5):
        super().__init__(c1, c2, k)
        c_ = c1 // 2
        self.cv1 = _v6.ConvBNAct(c1, c_, 1)
        self.cv2 = _v6.ConvBNAct(4 * c_, c2, 1)


class YOLOv6Legacy(nn.Module):
    """YOLOv6 of releases 0.1-0.2 (deployed: RepVGG blocks fused): the EfficientRep backbone with
    SimSPPF, the RepPAN neck (1x1 reductions, 2x2 stride-2 transposed-conv upsampling, RepBlocks,
    3x3/2 downsampling) and the efficient decoupled head without distribution bins."""

    def __init__(self, depth: float = 0.33, width: float = 0.25):
        super().__init__()
        sc = Scale(depth, width)
        b = [sc.ch(c) for c in (64, 128, 256, 512, 1024)]
        n = [sc.n(r) for r in (1, 6, 12, 18, 6)]
        c5, c6, c7, c8, c9, c10 = (sc.ch(c) for c in (256, 128, 128, 256, 256, 512))
        rn = sc.n(12)
        rep = _v6.RepConv
        self.stem = rep(3, b[0], 2)
        self.stages = nn.ModuleList(nn.Sequential(rep(b[i - 1], b[i], 2), _v6.RepBlock(b[i], b[i], n[i]))
                                    for i in range(1, 5))
        self.sppf = SimSPPF(b[4], b[4])
        self.reduce0 = _v6.ConvBNAct(b[4], c5, 1)
        self.up0 = nn.ConvTranspose2d(c5, c5, 2, 2, bias=True)
        self.rep_p4 = _v6.RepBlock(b[3] + c5, c5, rn)
        self.reduce1 = _v6.ConvBNAct(c5, c6, 1)
        self.up1 = nn.ConvTranspose2d(c6, c6, 2, 2, bias=True)
        self.rep_p3 = _v6.RepBlock(b[2] + c6, c6, rn)
        self.down2 = _v6.ConvBNAct(c6, c7, 3, 2)
        self.rep_n3 = _v6.RepBlock(c6 + c7, c8, rn)
        self.down1 = _v6.ConvBNAct(c8, c9, 3, 2)
        self.rep_n4 = _v6.RepBlock(c5 + c9, c10, rn)
        self.head = _v6.V6Head([c6, c8, c10])

    def forward(self, x):
        feats = stage_outputs(self.stages, self.stem(x))
        x2, x1, x0 = feats[1], feats[2], self.sppf(feats[3])
        fpn0 = self.reduce0(x0)
        f0 = self.rep_p4(torch.cat((self.up0(fpn0), x1), 1))
        fpn1 = self.reduce1(f0)
        p3 = self.rep_p3(torch.cat((self.up1(fpn1), x2), 1))
        p4 = self.rep_n3(torch.cat((self.down2(p3), fpn1), 1))
        p5 = self.rep_n4(torch.cat((self.down1(p4), fpn0), 1))
        return self.head([p3, p4, p5])


def yolov6n_0_2_1() -> nn.Module:
    return YOLOv6Legacy(0.33, 0.25).eval()


# -- Darknet YOLOv3 / YOLOv4 and their tiny versions -----------------------------------------
# A network is a list of Darknet-style layers, indexed as the cfg files index them:
#   ("conv", filters, size, stride)  bias-free conv, BatchNorm, LeakyReLU(0.1); 'same' padding
#   ("out", filters)                 1x1 conv with bias, linear (a detection output)
#   ("yolo",)                        marks the previous layer as a network output (no work)
#   ("route", [layers], half)        concatenation of earlier layers (negative: relative); with
#                                    ``half`` the second half of the channels of a single layer
#   ("shortcut", -3)                 residual addition of an earlier layer
#   ("maxpool", size, stride)        max pooling (size 2, stride 1 pads right and bottom by one)
#   ("upsample",)                    nearest-neighbour ×2
class _DarknetConv(_v7.ConvBNAct):
    """yolov7.py's ConvBNAct with LeakyReLU(0.1) (its own name: the stored graphs record it)."""

    def __init__(self, c1: int, c2: int, k: int, s: int):
        super().__init__(c1, c2, k, s, nn.LeakyReLU(0.1))


class _Route(nn.Module):
    def __init__(self, half: bool):
        super().__init__()
        self.half = half

    def forward(self, xs):
        if self.half:
            return xs[0].chunk(2, 1)[1]
        return torch.cat(xs, 1) if len(xs) > 1 else xs[0]


class _Add(nn.Module):
    def forward(self, xs):
        return xs[0] + xs[1]


class Darknet(nn.Module):
    """A Darknet layer list as a module; returns the outputs marked by ``("yolo",)`` layers."""

    def __init__(self, layers: list[tuple]):
        super().__init__()
        self.spec: list[tuple[str, list[int]]] = []
        mods, chans = [], []
        c = 3
        for i, layer in enumerate(layers):
            kind = layer[0]
            srcs: list[int] = []
            if kind == "conv":
                mod, c = _DarknetConv(c, layer[1], layer[2], layer[3]), layer[1]
            elif kind == "out":
                mod, c = nn.Conv2d(c, layer[1], 1), layer[1]
            elif kind == "route":
                srcs = [s if s >= 0 else i + s for s in layer[1]]
                half = len(layer) > 2 and layer[2]
                mod, c = _Route(half), (chans[srcs[0]] // 2 if half else sum(chans[s] for s in srcs))
            elif kind == "shortcut":
                srcs = [i - 1, i + layer[1]]
                mod = _Add()
            elif kind == "maxpool":
                k, s = layer[1], layer[2]
                mod = nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.MaxPool2d(2, 1)) if (k, s) == (2, 1) else \
                    nn.MaxPool2d(k, s, (k - 1) // 2)
            elif kind == "upsample":
                mod = nn.Upsample(scale_factor=2.0, mode="nearest")
            elif kind == "yolo":
                mod = nn.Identity()
            else:
                raise ValueError(kind)
            mods.append(mod)
            chans.append(c)
            self.spec.append((kind, srcs))
        self.layers = nn.ModuleList(mods)

    def forward(self, x):
        outs: list = []
        results = []
        for (kind, srcs), mod in zip(self.spec, self.layers):
            if srcs:
                x = mod([outs[s] for s in srcs])
            else:
                x = mod(x)
            outs.append(x)
            if kind == "yolo":
                results.append(x)
        return results


def _conv(f: int, k: int, s: int = 1) -> tuple:
    return ("conv", f, k, s)


_OUT = 3 * (80 + 5)  # 3 anchors × (4 box + 1 object + 80 classes) per cell


def _res(n: int, c: int, hidden: int) -> list[tuple]:
    return [x for _ in range(n) for x in (_conv(hidden, 1), _conv(c, 3), ("shortcut", -3))]


def yolov3_layers() -> list[tuple]:
    """``cfg/yolov3.cfg``: Darknet-53 (layers 0-74), then three detection scales (107 layers)."""
    ls = [_conv(32, 3), _conv(64, 3, 2), *_res(1, 64, 32), _conv(128, 3, 2), *_res(2, 128, 64),
          _conv(256, 3, 2), *_res(8, 256, 128), _conv(512, 3, 2), *_res(8, 512, 256),
          _conv(1024, 3, 2), *_res(4, 1024, 512)]
    for c, skip in ((512, 61), (256, 36), (128, None)):
        ls += [_conv(c, 1), _conv(2 * c, 3), _conv(c, 1), _conv(2 * c, 3), _conv(c, 1), _conv(2 * c, 3),
               ("out", _OUT), ("yolo",)]
        if skip is not None:
            ls += [("route", [-4]), _conv(c // 2, 1), ("upsample",), ("route", [-1, skip])]
    return ls


def _csp_stage(c: int, n: int, first: bool = False) -> list[tuple]:
    """A CSPDarknet-53 stage: 3x3/2 downsampling to ``c``, a 1x1 shortcut branch, a 1x1 into ``n``
    residual blocks and a 1x1 after them, the two concatenated, a 1x1 transition."""
    h = c if first else c // 2
    ls = [_conv(c, 3, 2), _conv(h, 1), ("route", [-2]), _conv(h, 1),
          *_res(n, h, c // 2 if first else h), _conv(h, 1)]
    return ls + [("route", [-1, -(3 * n + 4)]), _conv(c, 1)]


def yolov4_layers() -> list[tuple]:
    """``cfg/yolov4.cfg`` (activations aside): CSPDarknet-53 (layers 0-104), SPP, a PAN neck and
    three detection scales, small objects first (162 layers)."""
    ls = [_conv(32, 3), *_csp_stage(64, 1, True), *_csp_stage(128, 2), *_csp_stage(256, 8),
          *_csp_stage(512, 8), *_csp_stage(1024, 4)]
    ls += [_conv(512, 1), _conv(1024, 3), _conv(512, 1), ("maxpool", 5, 1), ("route", [-2]), ("maxpool", 9, 1),
           ("route", [-4]), ("maxpool", 13, 1), ("route", [-1, -3, -5, -6]),
           _conv(512, 1), _conv(1024, 3), _conv(512, 1)]                      # 116
    for c, skip in ((256, 85), (128, 54)):
        ls += [_conv(c, 1), ("upsample",), ("route", [skip]), _conv(c, 1), ("route", [-1, -3]),
               _conv(c, 1), _conv(2 * c, 3), _conv(c, 1), _conv(2 * c, 3), _conv(c, 1)]
    ls += [_conv(256, 3), ("out", _OUT), ("yolo",)]                            # 139
    for c, back in ((256, -16), (512, -37)):
        ls += [("route", [-4]), _conv(c, 3, 2), ("route", [-1, back]),
               _conv(c, 1), _conv(2 * c, 3), _conv(c, 1), _conv(2 * c, 3), _conv(c, 1), _conv(2 * c, 3),
               ("out", _OUT), ("yolo",)]
    return ls


def tiny_yolov3_layers() -> list[tuple]:
    """``cfg/yolov3-tiny.cfg``: seven 3x3 convs with six max pools, two detection scales."""
    ls = []
    for c in (16, 32, 64, 128, 256):
        ls += [_conv(c, 3), ("maxpool", 2, 2)]
    ls += [_conv(512, 3), ("maxpool", 2, 1), _conv(1024, 3), _conv(256, 1), _conv(512, 3), ("out", _OUT), ("yolo",),
           ("route", [-4]), _conv(128, 1), ("upsample",), ("route", [-1, 8]), _conv(256, 3), ("out", _OUT), ("yolo",)]
    return ls


def tiny_yolov4_layers() -> list[tuple]:
    """``cfg/yolov4-tiny.cfg``: two 3x3/2 convs, three CSP blocks (the second half of a 3x3 conv's
    channels through two 3x3 convs and a 1x1) with max pools, two detection scales."""
    ls = [_conv(32, 3, 2), _conv(64, 3, 2)]
    for c in (64, 128, 256):
        ls += [_conv(c, 3), ("route", [-1], True), _conv(c // 2, 3), _conv(c // 2, 3), ("route", [-1, -2]),
               _conv(c, 1), ("route", [-6, -1]), ("maxpool", 2, 2)]
    ls += [_conv(512, 3), _conv(256, 1), _conv(512, 3), ("out", _OUT), ("yolo",),
           ("route", [-4]), _conv(128, 1), ("upsample",), ("route", [-1, 23]), _conv(256, 3), ("out", _OUT), ("yolo",)]
    return ls


def yolov3() -> nn.Module:
    return Darknet(yolov3_layers()).eval()


def yolov4_leaky() -> nn.Module:
    return Darknet(yolov4_layers()).eval()


def tiny_yolov3() -> nn.Module:
    return Darknet(tiny_yolov3_layers()).eval()


def tiny_yolov4() -> nn.Module:
    return Darknet(tiny_yolov4_layers()).eval()


# -- YOLOv7x ---------------------------------------------------------------------------------
def _elan_x(r, c: int, c_out: int) -> None:
    """YOLOv7x's ELAN: two 1x1 branches, six chained 3x3 convs, the two branches and every second
    3x3 output concatenated (``[-1, -3, -5, -7, -8]``), a 1x1 to ``c_out``."""
    r.conv(c, 1)
    r.conv(c, 1, f=-2)
    for _ in range(6):
        r.conv(c, 3)
    r.cat([-1, -3, -5, -7, -8])
    r.conv(c_out, 1)


def yolov7x() -> nn.Module:
    """``cfg/deploy/yolov7x.yaml``: SiLU everywhere, rows 0-121; the head's output convs are plain
    3x3 Conv (no RepConv) and the deployed detection head is YOLOv5's."""
    r = _v7._Rows(nn.SiLU)
    r.conv(40, 3, 1)                          # 0
    r.conv(80, 3, 2)                          # 1-P1/2
    r.conv(80, 3, 1)                          # 2
    r.conv(160, 3, 2)                         # 3-P2/4
    _elan_x(r, 64, 320)                       # 4-13
    r.mp_down(160)                            # 14-18-P3/8
    _elan_x(r, 128, 640)                      # 19-28
    r.mp_down(320)                            # 29-33-P4/16
    _elan_x(r, 256, 1280)                     # 34-43
    r.mp_down(640)                            # 44-48-P5/32
    _elan_x(r, 256, 1280)                     # 49-58
    r.add(-1, lambda c1: (_v7.SPPCSPC(c1, 640, nn.SiLU), 640))  # 59
    r.conv(320, 1)                            # 60
    r.up()                                    # 61
    r.conv(320, 1, f=43)                      # 62: backbone P4
    r.cat([-1, -2])                           # 63
    _elan_x(r, 256, 320)                      # 64-73
    r.conv(160, 1)                            # 74
    r.up()                                    # 75
    r.conv(160, 1, f=28)                      # 76: backbone P3
    r.cat([-1, -2])                           # 77
    _elan_x(r, 128, 160)                      # 78-87
    r.mp_down(160, extra=(73,))               # 88-92
    _elan_x(r, 256, 320)                      # 93-102
    r.mp_down(320, extra=(59,))               # 103-107
    _elan_x(r, 512, 640)                      # 108-117
    r.conv(320, 3, f=87)                      # 118
    r.conv(640, 3, f=102)                     # 119
    r.conv(1280, 3, f=117)                    # 120
    r.add([118, 119, 120], lambda cs: (DetectV5(cs), 0))  # 121
    assert len(r.rows) == 122
    return LayerGraph(r.rows).eval()


# -- YOLOv9-C (GELAN-C, the deployed YOLOv9-C) ------------------------------------------------
class RepConvN(_v7.RepConvDeploy):
    """YOLOv9's RepConvN deployed: its 3x3 conv-BN and 1x1 conv-BN branches fused into one 3x3
    convolution with bias, then SiLU; the same as YOLOv7's deployed RepConv."""


class _RepNBottleneck(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.cv1 = RepConvN(c, c)
        self.cv2 = Conv(c, c, 3)

    def forward(self, x):
        return x + self.cv2(self.cv1(x))


class RepNCSP(nn.Module):
    """A C3 block whose bottlenecks start with a RepConvN."""

    def __init__(self, c1: int, c2: int, n: int = 1):
        super().__init__()
        c_ = c2 // 2
        self.cv1 = Conv(c1, c_, 1)
        self.cv2 = Conv(c1, c_, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(_RepNBottleneck(c_) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class RepNCSPELAN4(nn.Module):
    """GELAN's block: a 1x1 to ``c3`` split in halves; two chained (RepNCSP + 3x3 Conv) stages of
    ``c4`` on the second half; the two halves and both stage outputs concatenated, a 1x1 to ``c2``."""

    def __init__(self, c1: int, c2: int, c3: int, c4: int, n: int = 1):
        super().__init__()
        self.cv1 = Conv(c1, c3, 1)
        self.cv2 = nn.Sequential(RepNCSP(c3 // 2, c4, n), Conv(c4, c4, 3))
        self.cv3 = nn.Sequential(RepNCSP(c4, c4, n), Conv(c4, c4, 3))
        self.cv4 = Conv(c3 + 2 * c4, c2, 1)

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.append(self.cv2(y[-1]))
        y.append(self.cv3(y[-1]))
        return self.cv4(torch.cat(y, 1))


class ADown(nn.Module):
    """YOLOv9's downsampling: a 2x2 stride-1 average pool, then half the channels through a 3x3/2
    Conv and half through a 3x3/2 max pool and a 1x1 Conv, concatenated."""

    def __init__(self, c1: int, c2: int):
        super().__init__()
        self.cv1 = Conv(c1 // 2, c2 // 2, 3, 2, 1)
        self.cv2 = Conv(c1 // 2, c2 // 2, 1, 1, 0)
        self.avg = nn.AvgPool2d(2, 1, 0)
        self.pool = nn.MaxPool2d(3, 2, 1)

    def forward(self, x):
        a, b = self.avg(x).chunk(2, 1)
        return torch.cat((self.cv1(a), self.cv2(self.pool(b))), 1)


class SPPELAN(nn.Module):
    """A 1x1 Conv to ``c3``, three chained 5x5 max pools, all four concatenated, a 1x1 Conv."""

    def __init__(self, c1: int, c2: int, c3: int):
        super().__init__()
        self.cv1 = Conv(c1, c3, 1)
        self.m = nn.MaxPool2d(5, 1, 2)
        self.cv5 = Conv(4 * c3, c2, 1)

    def forward(self, x):
        y = [self.cv1(x)]
        for _ in range(3):
            y.append(self.m(y[-1]))
        return self.cv5(torch.cat(y, 1))


class DDetect(nn.Module):
    """YOLOv9's detection head: per level a box branch (3x3 Conv, grouped (4) 3x3 Conv, grouped (4)
    1x1 to 64 distribution bins) and a class branch (two 3x3 Conv, 1x1 to 80 logits)."""

    def __init__(self, chs: list[int], nc: int = 80, reg_max: int = 16):
        super().__init__()
        c2 = int(math.ceil(max(chs[0] // 4, 4 * reg_max, 16) / 4) * 4)
        c3 = max(chs[0], min(2 * nc, 128))
        self.box = nn.ModuleList(nn.Sequential(Conv(c, c2, 3), Conv(c2, c2, 3, g=4),
                                               nn.Conv2d(c2, 4 * reg_max, 1, groups=4)) for c in chs)
        self.cls = nn.ModuleList(nn.Sequential(Conv(c, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for c in chs)

    def forward(self, xs):
        return [torch.cat((b(x), c(x)), 1) for b, c, x in zip(self.box, self.cls, xs)]


def yolov9c() -> nn.Module:
    """``models/detect/gelan-c.yaml``: YOLOv9-C without its training-only auxiliary branch."""
    def elan(c2, c3, c4):
        return lambda c1: (RepNCSPELAN4(c1, c2, c3, c4, 1), c2)

    def adown(c2):
        return lambda c1: (ADown(c1, c2), c2)

    spec = [(-1, lambda c1: (Conv(c1, 64, 3, 2), 64)), (-1, lambda c1: (Conv(c1, 128, 3, 2), 128)),
            (-1, elan(256, 128, 64)), (-1, adown(256)), (-1, elan(512, 256, 128)), (-1, adown(512)),
            (-1, elan(512, 512, 256)), (-1, adown(512)), (-1, elan(512, 512, 256)),
            (-1, lambda c1: (SPPELAN(c1, 512, 256), 512)),
            (-1, upsample_row), ([-1, 6], cat_row), (-1, elan(512, 512, 256)),
            (-1, upsample_row), ([-1, 4], cat_row), (-1, elan(256, 256, 128)),
            (-1, adown(256)), ([-1, 12], cat_row), (-1, elan(512, 512, 256)),
            (-1, adown(512)), ([-1, 9], cat_row), (-1, elan(512, 512, 256)),
            ([15, 18, 21], lambda cs: (DDetect(cs), 0))]
    return LayerGraph(spec).eval()
