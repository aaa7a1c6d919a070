"""Assorted Hailo Model Zoo networks (face detection, low-light enhancement, super-resolution, pose,
instance segmentation, text detection and recognition),
for the zoo. The Hailo Model Zoo is https://github.com/hailo-ai/hailo_model_zoo (commit c83fc030);
each network's ``hailo_model_zoo/cfg/networks/<id>.yaml`` gives ``info.input_shape``,
``info.parameters``, ``info.operations`` (two per multiply-accumulate) and the source it was taken
from; ``parser.nodes`` and ``cfg/alls/generic/<id>.alls`` tell which layers are compiled. Hailo's
parameter counts are those of the compiled graph, BatchNorm folded into the convolutions.

lightface_slim
    The "version-slim" detector of https://github.com/Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB
    (``vision/nn/mb_tiny.py``, ``vision/ssd/mb_tiny_fd.py``): a MobileNet-like trunk of a 3x3
    stride-2 conv to 16 channels and 12 depthwise-separable units (3x3 depthwise + BatchNorm + ReLU,
    1x1 + BatchNorm + ReLU) widening 32, 32, 32, 64, 64, 64, 64, 128, 128, 128, 256, 256 with stride 2
    in the 2nd, 4th, 8th and 11th; SSD heads on the 64-, 128- and 256-channel maps (1/8, 1/16, 1/32)
    and on an extra 1x1 conv to 64 + separable stride-2 conv to 256 (1/64). Each head is a separable
    3x3 (depthwise with bias, ReLU, 1x1 with bias; a plain 3x3 conv on the extra level) to anchors x 4
    box offsets and anchors x 2 scores, with 3, 2, 2, 3 anchors. Hailo compiles up to the eight head
    convs (no softmax, no box decoding). Input 240x320. Hailo: 0.26M parameters, 0.16G OPS.

zero_dce_pp
    Zero-DCE++ (Li, Guo and Loy 2021, "Learning to Enhance Low-Light Image via Zero-Reference Deep
    Curve Estimation", arXiv:2103.00860, and https://github.com/Li-Chongyi/Zero-DCE_extension
    ``model.py``): seven depthwise-separable 3x3 convs (depthwise with bias, 1x1 with bias) of 32
    channels, ReLU, the 5th, 6th and 7th reading the concatenation of the 4th/3rd, 5th/2nd and
    6th/1st outputs, the 7th to 3 channels with tanh: one curve map applied eight times,
    ``x = x + r * (x * x - x)``. Hailo's network source is internal; it runs at the full 400x600
    input (no downscaling before the curve estimator), which is what its 4.84G OPS give (2 x 10,075
    MACs per pixel). Hailo prints 0.02M parameters; the architecture has 10,561.

real_esrgan_x2
    Real-ESRGAN x2 as https://github.com/ai-forever/Real-ESRGAN exports it (``RealESRGAN_x2``:
    ``RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=2)``, as
    in BasicSR's ``rrdbnet_arch.py``): a 2x2 space-to-depth (pixel unshuffle) of the 512x512 input to
    12 channels at 256x256, then ESRGAN's RRDB generator (the same trunk as Real-ESRGAN-x4plus, see
    ``esrgan.py``), whose two nearest-x2 upsampling stages give 1024x1024x3. The whole network is
    compiled. Hailo: 16.7M parameters, 2350G OPS.

centerpose_regnetx_800mf
    CenterNet multi-person pose (Zhou et al. 2019, "Objects as Points", arXiv:1904.07850) as
    https://github.com/hailo-ai/centerpose builds it (fork of tensorboy/centerpose;
    ``lib/models/backbones/regnet_msra.py``, ``lib/models/heads/keypoint.py``): pycls's RegNetX-800MF
    (torchvision's ``regnet_x_800mf`` layout) without its head, three 4x4 stride-2 transposed convs
    to 256 channels (BatchNorm, ReLU) to 1/4 of the input, and six heads, each a 3x3 conv to 64 with
    bias, ReLU and a 1x1 conv to 1 (centre heatmap), 2 (size), 34 (keypoint offsets), 2 (centre
    offset), 17 (keypoint heatmaps) and 2 (keypoint offset) channels. Hailo's compiled graph has the
    backbone's 53 convs, then the heads' 3x3 and 1x1 convs (conv54-conv65). Hailo: 12.31M
    parameters, 86.12G OPS at 512x512.

yolact_regnetx_800mf, yolact_regnetx_1.6gf
    YOLACT (Bolya et al. 2019, "YOLACT: Real-time Instance Segmentation", arXiv:1904.02689) as
    Hailo's fork builds it (https://github.com/hailo-ai/yolact branch Model-Zoo-1.5, ``data/config.py``
    ``yolact_regnetx_800MF_config`` / ``yolact_regnetx_1600MF_config`` on ``yolact_base_config``,
    ``yolact.py`` ``FPN`` / ``PredictionModule``, ``utils/functions.py`` ``make_net``): pycls's
    RegNetX-800MF / -1.6GF (torchvision's ``regnet_x_800mf`` / ``regnet_x_1_6gf`` layouts), its last
    three stages (strides 8, 16, 32) into an FPN of 256 channels (1x1 lateral convs with bias, nearest
    upsampling and sums, a 3x3 conv with bias + ReLU per level, two 3x3 stride-2 convs for P6 and
    P7); one prediction head shared by the five levels (a 3x3 conv + ReLU, then 3x3 convs to
    9 anchors x 4 box offsets, x 81 class scores and x 32 mask coefficients, tanh on the last); and
    the protonet on P3: three 3x3 convs + ReLU, a 4x4 stride-2 transposed conv + ReLU, a 3x3 conv
    + ReLU and a 1x1 conv to 32 prototypes with ReLU (128x128x32 for a 512x512 input). Hailo's
    parser ends at the protonet's ReLU and the 15 head convs; the semantic-segmentation conv of
    training is not in the graph. Hailo counts the shared head once per level (its compiled graph
    holds five copies): 28.3M / 30.09M parameters, 116.75G / 125.34G OPS, the transposed conv
    counted at output resolution as for CenterNet.

fast_sam_s
    FastSAM-s (Zhao et al. 2023, "Fast Segment Anything", arXiv:2306.12156, and
    https://github.com/CASIA-IVA-Lab/FastSAM): YOLOv8s-seg trained on SA-1B with one class, i.e.
    chipfit's ``yolov8s-seg`` (``yolo.py``) with the three class convs reduced to one logit (the
    class branch keeps its 128 channels, ``max(c_P3, min(classes, 100))``). Hailo compiles the box,
    class and mask-coefficient convs of the three levels and the prototypes (the last Conv + SiLU,
    160x160x32). Hailo: 11.1M parameters, 42.4G OPS at 640x640 (the OPS count the prototype
    branch's 2x2 transposed conv at output resolution, as for ``yolov8s-seg``'s 42.6G; the
    parameters are 6 % below the architecture's 11.78M, which no part of the network accounts for).

paddle_ocr_v5_mobile_recognition
    PP-OCRv5 mobile text recognition, https://github.com/PaddlePaddle/PaddleOCR
    (``configs/rec/PP-OCRv5/PP-OCRv5_mobile_rec.yml``: ``PPLCNetV3`` scale 0.95, ``MultiHead`` whose
    inference branch is the CTC head behind an ``svtr`` neck of dims 120, depth 2, hidden 120,
    kernel (1, 3); ``ppocr/modeling/backbones/rec_lcnetv3.py``, ``necks/rnn.py``
    ``EncoderWithSVTR``, ``heads/rec_ctc_head.py``). PP-LCNetV3 in its deploy form (each
    reparameterisable layer one conv with bias, then hard-swish; the learnable scalar affines
    folded): a 3x3 stride-2 conv to 16, 14 depthwise-separable blocks (widths 32, 64, 64, 128, 128,
    240 x5, 480 x4 after the 0.95 scaling rounded to multiples of 16; strides (2, 1), (1, 2), (2, 1),
    (2, 1) in blocks 4, 6, 11, 13; squeeze-excite in blocks 11 and 12) and a 3x2 average pool:
    480 x 1 x 40 for a 48x320 line. The SVTR neck: (1 x 3) conv to 60 and 1x1 conv to 120 (BatchNorm,
    Swish), two global self-attention blocks (8 heads, MLP ratio 2, Swish, LayerNorm before each
    part), a LayerNorm, a 1x1 conv back to 480, the concatenation with the neck input, a (1 x 3)
    conv to 60 and a 1x1 conv to 120; then a linear layer to the 18,385 symbols of the v5
    dictionary (with blank and space) and the softmax Hailo keeps on the chip (output 1x40x18385).
    Hailo: 4.1M parameters, 1.5G OPS.

paddle_ocr_v5_mobile_detection
    PP-OCRv5 mobile text detection (DB, Liao et al. 2020, arXiv:1911.08947),
    https://github.com/PaddlePaddle/PaddleOCR ``configs/det/PP-OCRv5/PP-OCRv5_mobile_det.yml``:
    ``PPLCNetV3`` scale 0.75 with ``det: True`` (``rec_lcnetv3.py``: the detection layout, stride 2 in
    the first block of stages 3-6, no activation after a plain stride-2 layer; widths 32, 48, 96,
    192, 384; each stage's output through a 1x1 conv with bias to 12, 18, 42, 360), ``RSEFPN`` of
    96 channels with shortcut (``necks/db_fpn.py``: per level a 1x1 RSE layer to 96 and, after the
    top-down nearest-upsampling sums, a 3x3 RSE layer to 24, where an RSE layer is a bias-free conv
    plus its squeeze-excited self with a hard-sigmoid gate; the four levels upsampled to 1/4 and
    concatenated) and ``DBHead``'s probability branch (``heads/det_db_head.py``: 3x3 conv to 24 +
    BatchNorm + ReLU, two 2x2 stride-2 transposed convs, sigmoid), the only one run at inference:
    a 544x960x1 map. PP-LCNetV3 in its deploy form as for the recogniser. Hailo: 1.2M parameters,
    6.5G OPS (its OPS count the two transposed convs at output resolution).

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn

from chipfit.frontends.pytorch.nets.esrgan import RRDBNet
from chipfit.frontends.pytorch.nets.hailo_nets import conv_bn_act

# ----------------------------------------------------------------------------------- LightFace


def _dw_unit(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """3x3 depthwise conv + BatchNorm + ReLU, 1x1 conv + BatchNorm + ReLU (no biases)."""
    return nn.Sequential(conv_bn_act(cin, cin, 3, stride, groups=cin, act=nn.ReLU()),
                         conv_bn_act(cin, cout, 1, act=nn.ReLU()))


def _separable(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """The SSD heads' separable conv: 3x3 depthwise with bias, ReLU, 1x1 with bias."""
    return nn.Sequential(nn.Conv2d(cin, cin, 3, stride, 1, groups=cin), nn.ReLU(), nn.Conv2d(cin, cout, 1))


class LightFaceSlim(nn.Module):
    """Ultra-Light-Fast face detector, version-slim: box offsets and two-class scores per anchor at
    1/8, 1/16, 1/32 and 1/64 of the input, eight raw head outputs."""

    def __init__(self, base: int = 16, anchors=(3, 2, 2, 3), classes: int = 2):
        super().__init__()
        b = base
        plan = [(b, 2 * b, 1), (2 * b, 2 * b, 2), (2 * b, 2 * b, 1), (2 * b, 4 * b, 2), (4 * b, 4 * b, 1),
                (4 * b, 4 * b, 1), (4 * b, 4 * b, 1), (4 * b, 8 * b, 2), (8 * b, 8 * b, 1), (8 * b, 8 * b, 1),
                (8 * b, 16 * b, 2), (16 * b, 16 * b, 1)]
        units = [conv_bn_act(3, b, 3, 2, act=nn.ReLU())] + [_dw_unit(*p) for p in plan]
        # the trunk is split where the SSD heads read it: after units 8, 11 and 13
        self.stages = nn.ModuleList([nn.Sequential(*units[:8]), nn.Sequential(*units[8:11]),
                                     nn.Sequential(*units[11:])])
        self.extra = nn.Sequential(nn.Conv2d(16 * b, 4 * b, 1), nn.ReLU(), _separable(4 * b, 16 * b, 2), nn.ReLU())
        widths = (4 * b, 8 * b, 16 * b)
        self.boxes = nn.ModuleList([*(_separable(c, a * 4) for c, a in zip(widths, anchors)),
                                    nn.Conv2d(16 * b, anchors[3] * 4, 3, 1, 1)])
        self.scores = nn.ModuleList([*(_separable(c, a * classes) for c, a in zip(widths, anchors)),
                                     nn.Conv2d(16 * b, anchors[3] * classes, 3, 1, 1)])

    def forward(self, x):
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        feats.append(self.extra(x))
        out = []
        for f, box, score in zip(feats, self.boxes, self.scores):
            out += [score(f), box(f)]
        return out


def lightface_slim() -> LightFaceSlim:
    """Ultra-Light-Fast-Generic-Face-Detector version-slim (0.26M parameters), raw head outputs."""
    return LightFaceSlim()


# ------------------------------------------------------------------------------------ Zero-DCE++


def _dsconv(cin: int, cout: int) -> nn.Sequential:
    """Zero-DCE++'s depthwise-separable 3x3 conv: depthwise with bias, then 1x1 with bias."""
    return nn.Sequential(nn.Conv2d(cin, cin, 3, 1, 1, groups=cin), nn.Conv2d(cin, cout, 1))


class ZeroDCEpp(nn.Module):
    """DCE-Net of Zero-DCE++ at the input resolution and its eight curve iterations."""

    def __init__(self, width: int = 32, iterations: int = 8):
        super().__init__()
        self.iterations = iterations
        self.convs = nn.ModuleList([_dsconv(3, width), _dsconv(width, width), _dsconv(width, width),
                                    _dsconv(width, width), _dsconv(2 * width, width), _dsconv(2 * width, width),
                                    _dsconv(2 * width, 3)])
        self.act = nn.ReLU()

    def forward(self, x):
        c = self.convs
        x1 = self.act(c[0](x))
        x2 = self.act(c[1](x1))
        x3 = self.act(c[2](x2))
        x4 = self.act(c[3](x3))
        x5 = self.act(c[4](torch.cat([x3, x4], 1)))
        x6 = self.act(c[5](torch.cat([x2, x5], 1)))
        r = torch.tanh(c[6](torch.cat([x1, x6], 1)))
        for _ in range(self.iterations):
            x = x + r * (x * x - x)
        return x


def zero_dce_pp() -> ZeroDCEpp:
    """Zero-DCE++ low-light enhancement: curve estimation at full resolution, eight iterations."""
    return ZeroDCEpp()


# ------------------------------------------------------------------------------ Real-ESRGAN x2


class RealESRGANx2(nn.Module):
    """Real-ESRGAN's x2 generator: a 2x2 pixel unshuffle to 12 channels at half resolution, then the
    x4 RRDB generator, so the output is twice the input size."""

    def __init__(self):
        super().__init__()
        self.unshuffle = nn.PixelUnshuffle(2)
        self.net = RRDBNet(num_feat=64, num_block=23, growth=32, in_channels=12)

    def forward(self, x):
        return self.net(self.unshuffle(x))


def real_esrgan_x2() -> RealESRGANx2:
    """Real-ESRGAN x2 (RRDBNet, 23 RRDBs): 512x512 in, 1024x1024 out."""
    return RealESRGANx2()


# ------------------------------------------------------------------------------------ CenterPose


class CenterPoseRegNet(nn.Module):
    """CenterNet pose on a RegNetX backbone: three 4x4 stride-2 deconvolutions to 256 channels and
    six 3x3 (to ``head_conv``) + 1x1 heads at 1/4 of the input."""

    HEADS = (1, 2, 34, 2, 17, 2)  # hm, wh, hps, reg, hm_hp, hp_offset

    def __init__(self, backbone: str = "regnet_x_800mf", head_conv: int = 64, width: int = 256):
        super().__init__()
        import torchvision

        net = torchvision.models.get_model(backbone, weights=None)
        self.stem, self.trunk = net.stem, net.trunk_output
        cin = net.fc.in_features
        layers: list[nn.Module] = []
        for _ in range(3):
            layers += [nn.ConvTranspose2d(cin, width, 4, 2, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            cin = width
        self.deconv = nn.Sequential(*layers)
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Conv2d(width, head_conv, 3, 1, 1), nn.ReLU(), nn.Conv2d(head_conv, n, 1))
            for n in self.HEADS)

    def forward(self, x):
        x = self.deconv(self.trunk(self.stem(x)))
        return [head(x) for head in self.heads]


def centerpose_regnetx_800mf() -> CenterPoseRegNet:
    """CenterPose with a RegNetX-800MF backbone: 17-keypoint pose at 1/4 of a 512x512 input."""
    return CenterPoseRegNet("regnet_x_800mf")


# -------------------------------------------------------------------------------------- YOLACT


def _conv3_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.ReLU())


class YolactFPN(nn.Module):
    """YOLACT's FPN: lateral 1x1 convs, nearest upsampling and sums from the coarsest level, a 3x3
    conv + ReLU per level, and ``extra`` 3x3 stride-2 convs (no ReLU) on the coarsest output."""

    def __init__(self, widths, features: int = 256, extra: int = 2):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, features, 1) for c in widths)
        self.smooth = nn.ModuleList(_conv3_relu(features, features) for _ in widths)
        self.down = nn.ModuleList(nn.Conv2d(features, features, 3, 2, 1) for _ in range(extra))

    def forward(self, feats):
        out = [None] * len(feats)
        x = None
        for i in reversed(range(len(feats))):
            y = self.lateral[i](feats[i])
            if x is not None:
                y = y + nn.functional.interpolate(x, size=feats[i].shape[2:], mode="nearest")
            x = out[i] = y
        out = [smooth(o) for smooth, o in zip(self.smooth, out)]
        for down in self.down:
            out.append(down(out[-1]))
        return out


class YolactHead(nn.Module):
    """YOLACT's prediction head (one module shared by every level): a 3x3 conv + ReLU, then 3x3
    convs to box offsets, class scores and mask coefficients (tanh) for each anchor."""

    def __init__(self, features: int = 256, anchors: int = 9, classes: int = 81, mask_dim: int = 32):
        super().__init__()
        self.upfeature = _conv3_relu(features, features)
        self.box = nn.Conv2d(features, anchors * 4, 3, 1, 1)
        self.cls = nn.Conv2d(features, anchors * classes, 3, 1, 1)
        self.mask = nn.Conv2d(features, anchors * mask_dim, 3, 1, 1)

    def forward(self, x):
        x = self.upfeature(x)
        return [self.box(x), self.cls(x), torch.tanh(self.mask(x))]


class Yolact(nn.Module):
    """YOLACT on a RegNetX trunk: FPN P3-P7, the shared head on each level, the protonet on P3."""

    def __init__(self, backbone: str, features: int = 256, mask_dim: int = 32):
        super().__init__()
        import torchvision

        net = torchvision.models.get_model(backbone, weights=None)
        self.stem = net.stem
        self.stages = nn.ModuleList(net.trunk_output.children())
        widths = [stage[-1].f.c.out_channels for stage in self.stages][1:]
        self.fpn = YolactFPN(widths, features)
        self.head = YolactHead(features, mask_dim=mask_dim)
        self.proto = nn.Sequential(
            _conv3_relu(features, features), _conv3_relu(features, features), _conv3_relu(features, features),
            nn.ConvTranspose2d(features, features, 4, 2, 1), nn.ReLU(),
            _conv3_relu(features, features), nn.Conv2d(features, mask_dim, 1), nn.ReLU())

    def forward(self, x):
        x, feats = self.stem(x), []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        levels = self.fpn(feats[1:])
        out = [self.proto(levels[0])]
        for level in levels:
            out += self.head(level)
        return out


def yolact_regnetx_800mf() -> Yolact:
    """YOLACT with a RegNetX-800MF trunk: 81-class instance segmentation at 512x512."""
    return Yolact("regnet_x_800mf")


def yolact_regnetx_1_6gf() -> Yolact:
    """YOLACT with a RegNetX-1.6GF trunk: 81-class instance segmentation at 512x512."""
    return Yolact("regnet_x_1_6gf")


# ------------------------------------------------------------------------------------ FastSAM


def fast_sam_s() -> nn.Module:
    """FastSAM-s: YOLOv8s-seg with a single class (one logit per anchor point), 640x640."""
    from chipfit.frontends.pytorch.nets import yolo

    net = yolo.yolov8s_seg()
    for branch in net.modules():
        if isinstance(branch, yolo.DetectV8):
            for cls in branch.cls:
                cls[-1] = nn.Conv2d(cls[-1].in_channels, 1, 1)
    return net


# ----------------------------------------------------------------------------- PP-OCRv5 (rec)


def _divisible(v: float, divisor: int = 16) -> int:
    """PP-LCNet's channel rounding: to the nearest multiple of 16, never more than 10 % down."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


class _RepConv(nn.Sequential):
    """A reparameterised PP-LCNetV3 layer in its deploy form: one conv with bias, then hard-swish
    (the learnable scalar scale-and-shift after the conv and the activation folded away)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride=1, groups: int = 1):
        conv = nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups)
        # PP-LCNetV3 leaves the activation out after a plain stride-2 layer (not a (2, 1) one)
        super().__init__(conv) if stride == 2 else super().__init__(conv, nn.Hardswish())


class _SE(nn.Module):
    """PP-LCNet's squeeze-excite: global average, 1x1 conv to c/4 + ReLU, 1x1 conv + hard-sigmoid."""

    def __init__(self, c: int):
        super().__init__()
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c // 4, 1), nn.ReLU(),
                                  nn.Conv2d(c // 4, c, 1), nn.Hardsigmoid())

    def forward(self, x):
        return x * self.gate(x)


#: PP-LCNetV3 recognition layout: (kernel, in, out, stride, squeeze-excite) per block
def lcnet_blocks(plan: list[tuple], scale: float) -> list[nn.Module]:
    """PP-LCNetV3 layers of one plan, in deploy form: per row (kernel, in, out, stride, squeeze-excite)
    a k x k depthwise conv, an optional squeeze-excite, then a 1x1 conv (widths times ``scale``)."""
    layers: list[nn.Module] = []
    for k, cin, cout, stride, se in plan:
        cin, cout = _divisible(cin * scale), _divisible(cout * scale)
        layers.append(_RepConv(cin, cin, k, stride, groups=cin))
        if se:
            layers.append(_SE(cin))
        layers.append(_RepConv(cin, cout, 1))
    return layers


LCNETV3_REC = [
    (3, 16, 32, 1, False),
    (3, 32, 64, 1, False), (3, 64, 64, 1, False),
    (3, 64, 128, (2, 1), False), (3, 128, 128, 1, False),
    (3, 128, 256, (1, 2), False), (5, 256, 256, 1, False), (5, 256, 256, 1, False), (5, 256, 256, 1, False),
    (5, 256, 256, 1, False),
    (5, 256, 512, (2, 1), True), (5, 512, 512, 1, True), (5, 512, 512, (2, 1), False), (5, 512, 512, 1, False),
]


class PPLCNetV3Rec(nn.Sequential):
    """PP-LCNetV3 for text lines (deploy form): a 3x3 stride-2 conv, 14 depthwise-separable blocks
    (k x k depthwise, optional squeeze-excite, 1x1), then a 3x2 average pool (48x320 -> 1x40)."""

    def __init__(self, scale: float = 0.95):
        super().__init__(nn.Conv2d(3, _divisible(16 * scale), 3, 2, 1), *lcnet_blocks(LCNETV3_REC, scale),
                         nn.AvgPool2d((3, 2)))
        self.out_channels = _divisible(512 * scale)


def _conv_bn_swish(cin: int, cout: int, kernel=(1, 1)) -> nn.Sequential:
    pad = (kernel[0] // 2, kernel[1] // 2)
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, 1, pad, bias=False), nn.BatchNorm2d(cout), nn.SiLU())


class _SvtrBlock(nn.Module):
    """SVTR's global mixing block (post-norm off): LayerNorm, multi-head self-attention, residual;
    LayerNorm, MLP (ratio 2, Swish), residual."""

    def __init__(self, dim: int, heads: int = 8, mlp_ratio: float = 2.0):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-5), nn.LayerNorm(dim, eps=1e-5)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = torch.softmax(q @ k.transpose(-2, -1) * (c // self.heads) ** -0.5, dim=-1)
        x = x + self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))
        return x + self.mlp(self.norm2(x))


class EncoderWithSVTR(nn.Module):
    """PP-OCR's SVTR neck: a (1 x 3) conv to c/8 and a 1x1 conv to ``hidden`` (BatchNorm, Swish),
    ``depth`` global SVTR blocks over the sequence and a LayerNorm, a 1x1 conv back to c, the
    concatenation with the input, a (1 x 3) conv to c/8 and a 1x1 conv to ``dims``."""

    def __init__(self, cin: int, dims: int = 120, depth: int = 2, hidden: int = 120, kernel=(1, 3)):
        super().__init__()
        self.conv1 = _conv_bn_swish(cin, cin // 8, kernel)
        self.conv2 = _conv_bn_swish(cin // 8, hidden)
        self.blocks = nn.Sequential(*(_SvtrBlock(hidden) for _ in range(depth)))
        self.norm = nn.LayerNorm(hidden, eps=1e-6)
        self.conv3 = _conv_bn_swish(hidden, cin)
        self.conv4 = _conv_bn_swish(2 * cin, cin // 8, kernel)
        self.conv1x1 = _conv_bn_swish(cin // 8, dims)

    def forward(self, x):
        z = self.conv2(self.conv1(x))
        b, c, h, w = z.shape
        z = self.norm(self.blocks(z.flatten(2).transpose(1, 2)))
        z = self.conv3(z.transpose(1, 2).reshape(b, c, h, w))
        return self.conv1x1(self.conv4(torch.cat([x, z], 1)))


class PPOCRv5MobileRec(nn.Module):
    """PP-OCRv5 mobile text recogniser (inference: the CTC branch): PP-LCNetV3 (scale 0.95), the
    SVTR neck and a linear CTC head with softmax over 18,385 symbols, one per column (40 for 320)."""

    def __init__(self, classes: int = 18385):
        super().__init__()
        self.backbone = PPLCNetV3Rec(0.95)
        self.neck = EncoderWithSVTR(self.backbone.out_channels)
        self.fc = nn.Linear(120, classes)

    def forward(self, x):
        x = self.neck(self.backbone(x))
        return torch.softmax(self.fc(x.squeeze(2).transpose(1, 2)), dim=-1)


def paddle_ocr_v5_mobile_recognition() -> PPOCRv5MobileRec:
    """PP-OCRv5 mobile recognition, 48x320 text line in, 40 x 18,385 character probabilities out."""
    return PPOCRv5MobileRec()


# ----------------------------------------------------------------------------- PP-OCRv5 (det)

#: PP-LCNetV3 detection layout: (kernel, in, out, stride, squeeze-excite) per block, stages 2-6
LCNETV3_DET = [
    [(3, 16, 32, 1, False)],
    [(3, 32, 64, 2, False), (3, 64, 64, 1, False)],
    [(3, 64, 128, 2, False), (3, 128, 128, 1, False)],
    [(3, 128, 256, 2, False), (5, 256, 256, 1, False), (5, 256, 256, 1, False), (5, 256, 256, 1, False),
     (5, 256, 256, 1, False)],
    [(5, 256, 512, 2, True), (5, 512, 512, 1, True), (5, 512, 512, 1, False), (5, 512, 512, 1, False)],
]


class PPLCNetV3Det(nn.Module):
    """PP-LCNetV3 for detection (deploy form): stages at strides 4, 8, 16, 32, each output through
    a 1x1 conv with bias to ``scale`` x (16, 24, 56, 480) channels."""

    def __init__(self, scale: float = 0.75):
        super().__init__()
        self.stem = nn.Conv2d(3, _divisible(16 * scale), 3, 2, 1)
        self.stages = nn.ModuleList(nn.Sequential(*lcnet_blocks(plan, scale)) for plan in LCNETV3_DET)
        widths = [_divisible(plan[-1][2] * scale) for plan in LCNETV3_DET[1:]]
        self.out_channels = [int(c * scale) for c in (16, 24, 56, 480)]
        self.reduce = nn.ModuleList(nn.Conv2d(c, o, 1) for c, o in zip(widths, self.out_channels))

    def forward(self, x):
        x = self.stages[0](self.stem(x))
        feats = []
        for stage, reduce in zip(self.stages[1:], self.reduce):
            x = stage(x)
            feats.append(reduce(x))
        return feats


class _SEHardsig(nn.Module):
    """The DB neck's squeeze-excite: global average, 1x1 conv to c/4 + ReLU, 1x1 conv, hard-sigmoid
    (slope 0.2, offset 0.5), scaling the input."""

    def __init__(self, c: int):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(c, c // 4, 1), nn.Conv2d(c // 4, c, 1)

    def forward(self, x):
        g = self.conv2(torch.relu(self.conv1(x.mean((2, 3), keepdim=True))))
        return x * torch.clamp(0.2 * g + 0.5, 0.0, 1.0)


class _RSELayer(nn.Module):
    """A bias-free k x k conv, then its output plus its squeeze-excited self."""

    def __init__(self, cin: int, cout: int, kernel: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, 1, kernel // 2, bias=False)
        self.se = _SEHardsig(cout)

    def forward(self, x):
        x = self.conv(x)
        return x + self.se(x)


class RSEFPN(nn.Module):
    """PP-OCR's residual-SE FPN: 1x1 RSE layers to ``c`` per level, a top-down sum with nearest
    upsampling, 3x3 RSE layers to c/4 per level, all upsampled to 1/4 and concatenated (c channels)."""

    def __init__(self, widths, c: int = 96):
        super().__init__()
        self.ins = nn.ModuleList(_RSELayer(w, c, 1) for w in widths)
        self.inp = nn.ModuleList(_RSELayer(c, c // 4, 3) for _ in widths)

    def forward(self, feats):
        lat = [m(f) for m, f in zip(self.ins, feats)]
        for i in range(len(lat) - 2, -1, -1):
            lat[i] = lat[i] + nn.functional.interpolate(lat[i + 1], scale_factor=2, mode="nearest")
        outs = [m(x) for m, x in zip(self.inp, lat)]
        outs = [nn.functional.interpolate(o, scale_factor=2 ** i, mode="nearest") if i else o
                for i, o in enumerate(outs)]
        return torch.cat(outs[::-1], 1)


class DBHead(nn.Module):
    """DB's probability branch (the only one run at inference): 3x3 conv to c/4 + BatchNorm + ReLU,
    2x2 stride-2 transposed conv + BatchNorm + ReLU, 2x2 stride-2 transposed conv to 1, sigmoid."""

    def __init__(self, c: int = 96):
        super().__init__()
        q = c // 4
        self.body = nn.Sequential(
            nn.Conv2d(c, q, 3, 1, 1, bias=False), nn.BatchNorm2d(q), nn.ReLU(),
            nn.ConvTranspose2d(q, q, 2, 2), nn.BatchNorm2d(q), nn.ReLU(),
            nn.ConvTranspose2d(q, 1, 2, 2), nn.Sigmoid())

    def forward(self, x):
        return self.body(x)


class PPOCRv5MobileDet(nn.Module):
    """PP-OCRv5 mobile text detector (DB): PP-LCNetV3 x0.75, RSE-FPN of 96 channels and the DB
    probability map at the input resolution."""

    def __init__(self):
        super().__init__()
        self.backbone = PPLCNetV3Det(0.75)
        self.neck = RSEFPN(self.backbone.out_channels, 96)
        self.head = DBHead(96)

    def forward(self, x):
        return self.head(self.neck(self.backbone(x)))


def paddle_ocr_v5_mobile_detection() -> PPOCRv5MobileDet:
    """PP-OCRv5 mobile text detection: a text-probability map the size of the (544x960) input."""
    return PPOCRv5MobileDet()
