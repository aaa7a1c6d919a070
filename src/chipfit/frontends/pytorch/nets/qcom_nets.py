"""Five networks Qualcomm developed and publishes on Qualcomm AI Hub -- FaceMap 3DMM
(Facial-Landmark-Detection), FootTrackNet (Person-Foot-Detection), GearGuardNet (PPE-Detection),
FaceAttribNet (Facial-Attribute-Detection) and Lightweight-Face-Detection -- as AI Hub exports them,
written here from their published definitions, for the zoo.

Every network here is the module that AI Hub's ``model.py`` exports (Qualcomm AI Hub Models,
https://github.com/quic/ai-hub-models, BSD-3-Clause, tag v0.46.1, commit
52c080d245d2d20c634459208ff2548ce10b3c9f, ``qai_hub_models/models/<id>/``), with the pre- and
post-processing its ``forward`` does, counted at the input its ``get_input_spec`` defaults to. Only
the architecture facts (layer types, channels, kernels, strides, the order of the ops) come from there.
"Number of parameters" is from each ``info.yaml``; AI Hub counts the exported graph, with every
BatchNorm folded into the convolution before it (the BatchNorms are kept as modules here; a compiler
folds them).

FaceMap 3DMM (AI Hub ``facemap_3dmm``; ``model.py``, ``resnet_score_rgb.py``; 5.42M parameters)
    ``resnet18_wd2`` on ``image * 255`` (a [0, 1] RGB face crop, 128x128): a 1x1 conv with bias from
    RGB to one grey channel, a 7x7 stride-2 conv-BN-ReLU to 32, a zero pad of one column right and
    one row bottom and a 3x3 stride-2 max pool; ResNet-18 basic units (3x3 conv-BN-ReLU, 3x3 conv-BN,
    the shortcut through a 1x1 conv-BN when the shape changes, ReLU), two per stage at 32, 64, 128
    and 256 channels (stages 2-4 strided), except that the width scaling of 0.5 spares the very last
    unit, which has 512 channels; a 4x4 average pool (stride 1) and a linear layer to 265 3DMM
    parameters.

FootTrackNet (AI Hub ``foot_track_net``; ``model.py``, ``layers.py``; 2.53M parameters)
    Input 480x640 (height x width; the card's "640x480" is width x height), RGB in [0, 1], scaled by
    255 (and by 1.0), then a 1x1 conv without bias and a BatchNorm (the learned input normalisation).
    Backbone ``Mbv3SmallFast``: a 3x3 stride-2 conv-BN-ReLU to 16 and fifteen blocks (kernel, in,
    expanded, out, SE, stride in ``FOOT_BACKBONE``) in which a 1x1 conv-BN-ReLU expands and a *full*
    (not depthwise) 3x3 conv-BN-ReLU goes from the expanded width to the output width; a "kernel 5"
    block has a second full 3x3 conv-BN-ReLU that takes the stride; squeeze-excitation (pool, 1x1 to
    c/4, BN, ReLU, 1x1, BN, sigmoid) on the output; at stride 1 the input is added (no block here
    needs a shortcut conv). Taps after blocks 2, 5, 12 and 14 (stride 4, 8, 16, 32; 16, 32, 64, 96
    channels). Neck (width 64): 1x1 conv-BN-ReLU of the stride-32 map and of each tap; three times
    nearest 2x upsampling, a 3x3 conv-BN-ReLU and the lateral added, down to stride 4. Detect module:
    a 3x3 conv-BN-ReLU to 32 concatenated with an SSH-style context module (3x3 conv-BN-ReLU to 16,
    then a branch of one and a branch of two 3x3 conv-BN-ReLU, 16 each). Eight heads, each a 3x3
    conv-BN-ReLU and a 1x1 conv with bias: three centre heatmaps (sigmoid, concatenated: 3 channels),
    three boxes (12), 34 landmark coordinates and 17 landmark visibilities (sigmoid), at 120x160.

GearGuardNet (AI Hub ``gear_guard_net``; ``model.py``, ``layers.py``, and
``qai_hub_models/models/_shared/yolo/utils.py`` for ``detect_postprocess``; 6.19M parameters)
    Input 320x192: ``get_input_spec`` is height 320, width 192 (the card writes "320x192"). A
    YOLOv5-style graph (depth 0.33, width 0.5, 2 classes, the COCO YOLOv5 anchors) whose C3 blocks are
    BlazeFace double blocks: 5x5 depthwise conv-BN, 1x1 conv-BN to max(in, out)/2, ReLU, 5x5
    depthwise conv-BN, 1x1 conv-BN, plus the input (through a 1x1 conv with bias when the width
    changes), ReLU; the other convs are conv-BN-ReLU (BN eps 1e-3). Backbone: 6x6/2 conv to 32, 3x3/2
    to 64, a block, 3x3/2 to 128, a block (stride 8), 3x3/2 to 256, three blocks (stride 16), 3x3/2
    to 512, a block, a 3x3 conv at 512. Head: 1x1 to 256, nearest 2x, concat with stride 16, block
    to 256, 1x1 to 128, nearest 2x, concat with stride 8, block to 128 (output P3); 3x3/2 conv to 128,
    concat, block to 256 (P4); 3x3/2 conv to 256, concat, block to 512 (P5); a 1x1 conv with bias to
    3 x 7 per scale. Inside the exported graph: the YOLOv5 decoding (sigmoid, xy * 2 - 0.5 plus the
    grid times the stride, 4 * sigmoid(wh)^2 times the anchor), the boxes turned to corners, the
    class scores multiplied by the objectness and their max and argmax (cast to uint8): boxes
    (1, 3780, 4), scores (1, 3780), class indices (1, 3780). No NMS.

FaceAttribNet (AI Hub ``face_attrib_net``; ``model.py``, ``layers.py``)
    The detection-only network (checkpoint ``detection_only_05302025.pt``), 128x128 RGB in [0, 1]:
    ``(x - 0.5) / 0.50196078``; a 3x3 conv-BN-PReLU to 64 and two stride-2 branches added, PReLU;
    three stages of a downsampling block (c -> 2c at stride 2, two branches of grouped 3x3 convs
    (groups c/32) and 1x1 conv-BN(-PReLU), added, PReLU) and 1, 5 and 2 residual blocks (grouped 3x3
    to 2c, 1x1-BN-PReLU to c, grouped 3x3 to 2c, 1x1-BN to c, plus the input, PReLU): 128, 256 and
    512 channels at 32x32, 16x16 and 8x8. Five attribute heads (left eye open, right eye open,
    eyeglasses, mask, sunglasses), each: grouped 3x3/2 conv 256->128 of the 16x16 features,
    1x1-BN-PReLU, concatenated with the 8x8 features (640), grouped 3x3/2 conv to 320, 1x1-BN-PReLU to
    128, a 4x4 average pool and a linear layer to 2 logits; the logits stacked, a softmax over each
    pair and the "present" probability: (1, 5). The card's 12.1M parameters (and its "Model
    checkpoint: multitask_FR_state_dict.pt") are those of the earlier multitask network with a
    face-recognition embedding and a liveness head; this one has 10.8M.

Lightweight-Face-Detection (AI Hub ``face_det_lite``; ``model.py``, ``layers.py``; 878K parameters)
    Input one grey channel, 480x640 (height x width), ``(x - 0.442) / 0.280``. The same kind of
    backbone as FootTrackNet with a 1-channel 3x3 stride-2 stem and nine blocks
    (``FACE_DET_BACKBONE``; block 6 goes from 32 to 64 channels at stride 1, so its shortcut is a 1x1
    conv-BN), taps after blocks 2 and 7 and the last (stride 8, 16, 32; 32, 64, 96 channels). Neck of
    width 32 down to stride 8, the same detect module (32 channels), three 1x1 heads with bias: the
    face centre heatmap (logits: the export runs the default "train" phase, without the sigmoid), the
    box (4) and 5 landmarks (10), at 60x80. The ``bridge`` 1x1 conv the source defines is never
    called and is not in the export (nor in the card's count), so it is left out here.

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ConvBNAct(nn.Module):
    """Convolution (no bias unless asked), BatchNorm, then ReLU / PReLU / nothing."""

    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, p: int | None = None, groups: int = 1,
                 act: str | None = "relu", bias: bool = False, bn: bool = True, eps: float = 1e-5):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2 if p is None else p, groups=groups, bias=bias)
        self.bn = nn.BatchNorm2d(c2, eps=eps) if bn else nn.Identity()
        self.act = {"relu": nn.ReLU(inplace=True), "prelu": nn.PReLU(), None: nn.Identity()}[act]

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


# --------------------------------------------------------------------------------------------------
# FaceMap 3DMM: ResNet-18 at half width on a learned grey channel, 265 3DMM parameters
# --------------------------------------------------------------------------------------------------

class ResUnit(nn.Module):
    """ResNet basic unit: 3x3 conv-BN-ReLU, 3x3 conv-BN, plus the shortcut (1x1 conv-BN when the
    shape changes), ReLU."""

    def __init__(self, c1: int, c2: int, s: int):
        super().__init__()
        self.body = nn.Sequential(ConvBNAct(c1, c2, 3, s), ConvBNAct(c2, c2, 3, act=None))
        self.identity = ConvBNAct(c1, c2, 1, s, act=None) if (c1 != c2 or s != 1) else nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.body(x) + self.identity(x))


class FaceMap3DMM(nn.Module):
    """AI Hub's ``facemap_3dmm`` export: ``x * 255``, a 1x1 conv (with bias) from RGB to one grey
    channel, ResNet-18 at width 0.5 (the last unit keeps 512 channels), a 4x4 average pool and a
    linear layer to the 265 3DMM parameters."""

    def __init__(self, num_outputs: int = 265):
        super().__init__()
        self.rgb2gray = nn.Conv2d(3, 1, 1, bias=True)
        self.stem = ConvBNAct(1, 32, 7, 2)
        self.pool = nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.MaxPool2d(3, 2))
        chans = ((32, 32), (64, 64), (128, 128), (256, 512))
        units, c = [], 32
        for i, stage in enumerate(chans):
            for j, c2 in enumerate(stage):
                units.append(ResUnit(c, c2, 2 if (j == 0 and i != 0) else 1))
                c = c2
        self.stages = nn.Sequential(*units)
        self.avg = nn.AvgPool2d(4, stride=1)
        self.fc = nn.Linear(c, num_outputs)

    def forward(self, image):
        x = self.rgb2gray(image * 255)
        x = self.avg(self.stages(self.pool(self.stem(x))))
        return self.fc(x.view(x.size(0), -1))


def facemap_3dmm() -> FaceMap3DMM:
    """Qualcomm AI Hub ``facemap_3dmm`` at 128x128: 265 3DMM parameters of a face crop."""
    return FaceMap3DMM()


# --------------------------------------------------------------------------------------------------
# FootTrackNet and Lightweight-Face-Detection: a modified MobileNetV3-small backbone, an FPN-like
# top-down path, an SSH-style context module and 1x1 heads on a single fine scale
# --------------------------------------------------------------------------------------------------

class SqueezeExcite(nn.Module):
    """Global average pool, 1x1 conv to c/4 (no bias), BN, ReLU, 1x1 conv back (no bias), BN,
    sigmoid; the input scaled by it."""

    def __init__(self, c: int, r: int = 4):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.se = nn.Sequential(ConvBNAct(c, c // r, 1), ConvBNAct(c // r, c, 1, act=None), nn.Sigmoid())

    def forward(self, x):
        return x * self.se(self.pool(x))


class MbBlock(nn.Module):
    """The backbone block of both detectors (a MobileNetV3 block with its depthwise conv replaced by
    full 3x3 convs): 1x1 expansion conv-BN-ReLU, a full 3x3 conv-BN-ReLU from the expanded width to
    the output width, for "kernel 5" a second 3x3 conv-BN-ReLU (the stride moves to it), optional
    squeeze-excitation, and at stride 1 the shortcut (1x1 conv-BN when the width changes)."""

    def __init__(self, k: int, c1: int, exp: int, c2: int, se: bool, s: int):
        super().__init__()
        layers = [ConvBNAct(c1, exp, 1), ConvBNAct(exp, c2, 3, s if k == 3 else 1)]
        if k == 5:
            layers.append(ConvBNAct(c2, c2, 3, s))
        if se:
            layers.append(SqueezeExcite(c2))
        self.body = nn.Sequential(*layers)
        self.residual = s == 1
        self.shortcut = ConvBNAct(c1, c2, 1, act=None) if (s == 1 and c1 != c2) else nn.Identity()

    def forward(self, x):
        out = self.body(x)
        return out + self.shortcut(x) if self.residual else out


class MbBackbone(nn.Module):
    """3x3 stride-2 conv-BN-ReLU to 16 channels, then the blocks; returns the outputs of the blocks
    listed in ``taps`` and of the last block."""

    def __init__(self, in_chans: int, cfg, taps):
        super().__init__()
        self.stem = ConvBNAct(in_chans, 16, 3, 2)
        self.blocks = nn.ModuleList(MbBlock(*c) for c in cfg)
        self.taps = tuple(taps)

    def forward(self, x):
        x = self.stem(x)
        outs = []
        for i, b in enumerate(self.blocks):
            x = b(x)
            if i in self.taps:
                outs.append(x)
        outs.append(x)
        return outs


#: (kernel, in, expanded, out, squeeze-excitation, stride)
FOOT_BACKBONE = (
    (3, 16, 16, 16, False, 1), (3, 16, 64, 16, False, 2), (3, 16, 64, 16, False, 1),
    (5, 16, 96, 32, True, 2), (5, 32, 96, 32, True, 1), (5, 32, 128, 32, True, 1),
    (3, 32, 128, 64, False, 2), (3, 64, 128, 64, False, 1), (3, 64, 160, 64, False, 1),
    (3, 64, 160, 64, False, 1), (3, 64, 256, 64, True, 1), (3, 64, 320, 64, True, 1),
    (5, 64, 320, 64, True, 1), (5, 64, 320, 96, True, 2), (5, 96, 480, 96, True, 1),
)
FACE_DET_BACKBONE = (
    (3, 16, 16, 16, False, 2), (3, 16, 64, 32, False, 2), (3, 32, 96, 32, False, 1),
    (5, 32, 96, 32, True, 2), (5, 32, 224, 32, True, 1), (5, 32, 224, 32, True, 1),
    (5, 32, 128, 64, True, 1), (5, 64, 160, 64, True, 1), (5, 64, 256, 96, True, 2),
)


class UpCBA(nn.Module):
    """Nearest 2x upsampling, then a 3x3 conv-BN-ReLU."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = ConvBNAct(c, c, 3)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DetectContext(nn.Module):
    """A 3x3 conv-BN-ReLU to c/2, concatenated with a context module (3x3 conv-BN-ReLU to c/4, then
    one 3x3 conv-BN-ReLU branch and one of two, each c/4, concatenated): c channels out."""

    def __init__(self, c: int):
        super().__init__()
        q = c // 4
        self.upconv = ConvBNAct(c, c // 2, 3)
        self.inconv = ConvBNAct(c, q, 3)
        self.ctx_a = ConvBNAct(q, q, 3)
        self.ctx_b = nn.Sequential(ConvBNAct(q, q, 3), ConvBNAct(q, q, 3))

    def forward(self, x):
        y = self.inconv(x)
        return torch.cat([self.upconv(x), self.ctx_a(y), self.ctx_b(y)], dim=1)


class Head(nn.Module):
    """Optional 3x3 conv-BN-ReLU, then a 1x1 conv (with bias)."""

    def __init__(self, c: int, n: int, ext: bool):
        super().__init__()
        self.ext = ConvBNAct(c, c, 3) if ext else nn.Identity()
        self.head = nn.Conv2d(c, n, 1)

    def forward(self, x):
        return self.head(self.ext(x))


class FootTrackNet(nn.Module):
    """AI Hub's ``foot_track_net`` export (Person-Foot-Detection): person/face centre heatmaps, boxes
    and 17 landmarks with their visibility, all at 1/4 of the input."""

    def __init__(self, wide: int = 64, n_lmk: int = 17):
        super().__init__()
        self.in_conv = nn.Conv2d(3, 3, 1, bias=False)       # the "conv norm": RGB->BGR and scaling
        self.in_bn = nn.BatchNorm2d(3)
        self.bb = MbBackbone(3, FOOT_BACKBONE, taps=(2, 5, 12))
        self.conv3 = ConvBNAct(96, wide, 1)
        self.connect = nn.ModuleList(ConvBNAct(c, wide, 1) for c in (16, 32, 64))   # s4, s8, s16
        self.up = nn.ModuleList(UpCBA(wide) for _ in range(3))
        self.detect = DetectContext(wide)
        self.heatmaps = nn.ModuleList(Head(wide, 1, True) for _ in range(3))
        self.boxes = nn.ModuleList(Head(wide, 4, True) for _ in range(3))
        self.landmark = Head(wide, 2 * n_lmk, True)
        self.landmark_vis = Head(wide, n_lmk, True)

    def forward(self, image):
        x = image * 255.0
        x = self.in_bn(self.in_conv(x * 1.0))
        s4, s8, s16, s32 = self.bb(x)
        x = self.conv3(s32)
        x = self.up[0](x) + self.connect[2](s16)
        x = self.up[1](x) + self.connect[1](s8)
        x = self.up[2](x) + self.connect[0](s4)
        x = self.detect(x)
        heat = torch.cat([h(x).sigmoid() for h in self.heatmaps], dim=1)
        box = torch.cat([b(x) for b in self.boxes], dim=1)
        return heat, box, self.landmark(x), self.landmark_vis(x).sigmoid()


def foot_track_net() -> FootTrackNet:
    """Qualcomm AI Hub ``foot_track_net`` at 480x640 (height x width)."""
    return FootTrackNet()


class FaceDetLite(nn.Module):
    """AI Hub's ``face_det_lite`` export (Lightweight-Face-Detection) on a grey image: face centre
    heatmap (logits), box and 5 landmarks at 1/8 of the input."""

    def __init__(self, wide: int = 32):
        super().__init__()
        self.bb = MbBackbone(1, FACE_DET_BACKBONE, taps=(2, 7))
        self.conv3 = ConvBNAct(96, wide, 1)
        self.connect = nn.ModuleList(ConvBNAct(c, wide, 1) for c in (32, 64))        # s8, s16
        self.up = nn.ModuleList(UpCBA(wide) for _ in range(2))
        self.detect = DetectContext(wide)
        self.center = Head(wide, 1, False)
        self.box = Head(wide, 4, False)
        self.landmark = Head(wide, 10, False)

    def forward(self, image):
        x = (image - 0.442) / 0.280
        s8, s16, s32 = self.bb(x)
        x = self.conv3(s32)
        x = self.up[0](x) + self.connect[1](s16)
        x = self.up[1](x) + self.connect[0](s8)
        x = self.detect(x)
        return self.center(x), self.box(x), self.landmark(x)


def face_det_lite() -> FaceDetLite:
    """Qualcomm AI Hub ``face_det_lite`` at 480x640 (height x width), one grey channel."""
    return FaceDetLite()


# --------------------------------------------------------------------------------------------------
# GearGuardNet (PPE-Detection): a YOLOv5-style detector built from DoubleBlaze blocks
# --------------------------------------------------------------------------------------------------

class DoubleBlaze(nn.Module):
    """BlazeFace's double block at stride 1: 5x5 depthwise conv-BN, 1x1 conv-BN to
    max(in, out)/2, ReLU, 5x5 depthwise conv-BN, 1x1 conv-BN to the output width; plus the input
    (through a 1x1 conv with bias when the width changes); ReLU."""

    def __init__(self, c1: int, c2: int, k: int = 5):
        super().__init__()
        mid = max(c1, c2) // 2
        eps = 1e-3
        self.body = nn.Sequential(
            ConvBNAct(c1, c1, k, groups=c1, act=None, eps=eps), ConvBNAct(c1, mid, 1, eps=eps),
            ConvBNAct(mid, mid, k, groups=mid, act=None, eps=eps), ConvBNAct(mid, c2, 1, act=None, eps=eps),
        )
        self.pad = nn.Conv2d(c1, c2, 1) if c1 != c2 else nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.body(x) + self.pad(x))


def _cbr(c1: int, c2: int, k: int, s: int = 1, p: int | None = None) -> ConvBNAct:
    return ConvBNAct(c1, c2, k, s, p, eps=1e-3)


GEAR_ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))
GEAR_STRIDES = (8, 16, 32)


class GearGuardNet(nn.Module):
    """AI Hub's ``gear_guard_net`` export: the detector, the YOLOv5 box decoding of its three scales
    and the split into boxes (x1, y1, x2, y2), scores (objectness x best class) and class indices."""

    def __init__(self, num_classes: int = 2):
        super().__init__()
        no = 3 * (num_classes + 5)
        self.b0 = nn.Sequential(_cbr(3, 32, 6, 2, 2), _cbr(32, 64, 3, 2), DoubleBlaze(64, 64),
                                _cbr(64, 128, 3, 2), DoubleBlaze(128, 128))                 # P3/8
        self.b1 = nn.Sequential(_cbr(128, 256, 3, 2), *[DoubleBlaze(256, 256) for _ in range(3)])  # P4/16
        self.b2 = nn.Sequential(_cbr(256, 512, 3, 2), DoubleBlaze(512, 512), _cbr(512, 512, 3, 1),
                                _cbr(512, 256, 1))                                          # P5/32
        self.td1 = nn.Sequential(DoubleBlaze(512, 256), _cbr(256, 128, 1))
        self.td2 = DoubleBlaze(256, 128)
        self.down1 = _cbr(128, 128, 3, 2)
        self.bu1 = DoubleBlaze(256, 256)
        self.down2 = _cbr(256, 256, 3, 2)
        self.bu2 = DoubleBlaze(512, 512)
        self.detect = nn.ModuleList(nn.Conv2d(c, no, 1) for c in (128, 256, 512))
        self.register_buffer("anchors", torch.tensor(GEAR_ANCHORS, dtype=torch.float32).view(3, 3, 2))

    @staticmethod
    def decode(out, anchors, stride: int):
        b, _, h, w = out.shape
        p = out.permute(0, 2, 3, 1).reshape(b, h, w, 3, -1)
        gy, gx = torch.meshgrid(torch.arange(h, device=out.device), torch.arange(w, device=out.device),
                                indexing="ij")
        gx = gx[None, :, :, None].expand(b, h, w, 3).reshape(b, -1)
        gy = gy[None, :, :, None].expand(b, h, w, 3).reshape(b, -1)
        obj = p[..., 4].sigmoid().reshape(b, -1)
        cls = p[..., 5:].sigmoid().reshape(b, h * w * 3, -1)
        p = p.reshape(b, h * w * 3, -1)
        a = anchors.repeat(h * w, 1)[None].expand(b, -1, -1)
        bx = (p[..., 0].sigmoid() * 2 - 0.5 + gx) * stride
        by = (p[..., 1].sigmoid() * 2 - 0.5 + gy) * stride
        bw = 4 * p[..., 2].sigmoid() ** 2 * a[..., 0]
        bh = 4 * p[..., 3].sigmoid() ** 2 * a[..., 1]
        return torch.cat([torch.stack([bx, by, bw, bh, obj], dim=2), cls], dim=2)

    def forward(self, image):
        p3 = self.b0(image)
        p4 = self.b1(p3)
        p5 = self.b2(p4)                                               # 256 channels at 1/32
        t4 = self.td1(torch.cat([F.interpolate(p5, scale_factor=2.0, mode="nearest"), p4], 1))
        o3 = self.td2(torch.cat([F.interpolate(t4, scale_factor=2.0, mode="nearest"), p3], 1))
        o4 = self.bu1(torch.cat([self.down1(o3), t4], 1))
        o5 = self.bu2(torch.cat([self.down2(o4), p5], 1))
        pred = torch.cat([self.decode(m(o), self.anchors[i], GEAR_STRIDES[i])
                          for i, (m, o) in enumerate(zip(self.detect, (o3, o4, o5)))], dim=1)
        xy, wh = pred[..., :2], pred[..., 2:4] * 0.5
        boxes = torch.cat([xy - wh, xy + wh], dim=-1)
        scores, cls = torch.max(pred[..., 5:] * pred[..., 4:5], -1)
        return boxes, scores, cls.to(torch.uint8)


def gear_guard_net() -> GearGuardNet:
    """Qualcomm AI Hub ``gear_guard_net`` at 320x192 (height x width)."""
    return GearGuardNet()


# --------------------------------------------------------------------------------------------------
# FaceAttribNet (Facial-Attribute-Detection): grouped-conv residual backbone, five 2-way heads
# --------------------------------------------------------------------------------------------------

def _gconv(c1: int, c2: int, s: int, groups: int) -> nn.Conv2d:
    return nn.Conv2d(c1, c2, 3, s, 1, groups=groups, bias=False)


class AttribStem(nn.Module):
    """3x3 conv-BN-PReLU 3->c, then two stride-2 branches added and a PReLU: (grouped 3x3, 1x1-BN-PReLU,
    grouped 3x3, 1x1-BN) and (grouped 3x3, 1x1-BN)."""

    def __init__(self, c: int, g: int):
        super().__init__()
        self.conv = ConvBNAct(3, c, 3, act="prelu")
        self.bran1 = nn.Sequential(_gconv(c, c, 2, g), ConvBNAct(c, c, 1, act="prelu"),
                                   _gconv(c, c, 1, g), ConvBNAct(c, c, 1, act=None))
        self.bran2 = nn.Sequential(_gconv(c, c, 2, g), ConvBNAct(c, c, 1, act=None))
        self.act = nn.PReLU()

    def forward(self, x):
        x = self.conv(x)
        return self.act(self.bran1(x) + self.bran2(x))


class AttribDown(nn.Module):
    """c -> 2c at stride 2: (grouped 3x3 to 2c, 1x1-BN-PReLU) plus (grouped 3x3 to 4c, 1x1-BN-PReLU to
    2c, grouped 3x3 to 4c, 1x1-BN to 2c), PReLU."""

    def __init__(self, c: int, g: int):
        super().__init__()
        self.bran1 = nn.Sequential(_gconv(c, 2 * c, 2, g), ConvBNAct(2 * c, 2 * c, 1, act="prelu"))
        self.bran2 = nn.Sequential(_gconv(c, 4 * c, 2, g), ConvBNAct(4 * c, 2 * c, 1, act="prelu"),
                                   _gconv(2 * c, 4 * c, 1, g), ConvBNAct(4 * c, 2 * c, 1, act=None))
        self.act = nn.PReLU()

    def forward(self, x):
        return self.act(self.bran1(x) + self.bran2(x))


class AttribNormal(nn.Module):
    """Residual block at c: grouped 3x3 to 2c, 1x1-BN-PReLU to c, grouped 3x3 to 2c, 1x1-BN to c; plus
    the input, PReLU."""

    def __init__(self, c: int, g: int):
        super().__init__()
        self.body = nn.Sequential(_gconv(c, 2 * c, 1, g), ConvBNAct(2 * c, c, 1, act="prelu"),
                                  _gconv(c, 2 * c, 1, g), ConvBNAct(2 * c, c, 1, act=None))
        self.act = nn.PReLU()

    def forward(self, x):
        return self.act(self.body(x) + x)


class AttribHead(nn.Module):
    """One attribute: grouped 3x3 stride-2 conv 4b->2b of the stride-8 features, 1x1-BN-PReLU,
    concatenated with the stride-16 features (8b), grouped 3x3 stride-2 conv 10b->5b, 1x1-BN-PReLU
    to 2b, 4x4 average pool, linear to 2 logits."""

    def __init__(self, b: int, group_size: int):
        super().__init__()
        self.bran1 = nn.Sequential(_gconv(4 * b, 2 * b, 2, 4 * b // group_size),
                                   ConvBNAct(2 * b, 2 * b, 1, act="prelu"))
        self.bran2 = nn.Sequential(_gconv(10 * b, 5 * b, 2, 10 * b // group_size),
                                   ConvBNAct(5 * b, 2 * b, 1, act="prelu"))
        self.pool = nn.AvgPool2d(4, stride=1)
        self.cls = nn.Linear(2 * b, 2)

    def forward(self, f3, f4):
        a = torch.cat([self.bran1(f3), f4], dim=1)
        return self.cls(self.pool(self.bran2(a)).flatten(1))


class FaceAttribNet(nn.Module):
    """AI Hub's ``face_attrib_net`` export: ``(x - 0.5) / 0.50196``, the backbone, five attribute
    heads (left eye open, right eye open, eyeglasses, mask, sunglasses), softmax over each pair of
    logits and the "present" probability: 5 values."""

    def __init__(self, chan: int = 64, blocks=(2, 6, 3), group_size: int = 32):
        super().__init__()
        self.head = AttribStem(chan, chan // group_size)
        stages, c = [], chan
        for n in blocks:
            stages.append(nn.Sequential(AttribDown(c, c // group_size),
                                        *[AttribNormal(2 * c, 2 * c // group_size) for _ in range(n - 1)]))
            c *= 2
        self.stages = nn.ModuleList(stages)
        self.attrs = nn.ModuleList(AttribHead(chan, group_size) for _ in range(5))

    def forward(self, image):
        x = self.head((image - 0.5) / 0.50196078)
        f2 = self.stages[0](x)
        f3 = self.stages[1](f2)
        f4 = self.stages[2](f3)
        logit = torch.stack([h(f3, f4) for h in self.attrs], dim=1)
        return torch.softmax(logit, dim=2)[:, :, 1]


def face_attrib_net() -> FaceAttribNet:
    """Qualcomm AI Hub ``face_attrib_net`` at 128x128."""
    return FaceAttribNet()


__all__ = [
    "FaceAttribNet", "FaceDetLite", "FaceMap3DMM", "FootTrackNet", "GearGuardNet",
    "face_attrib_net", "face_det_lite", "facemap_3dmm", "foot_track_net", "gear_guard_net",
]
