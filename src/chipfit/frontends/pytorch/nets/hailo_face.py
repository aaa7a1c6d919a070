"""Face, pose and assorted networks as the Hailo Model Zoo compiles them, for the zoo. The Hailo
Model Zoo is https://github.com/hailo-ai/hailo_model_zoo (commit c83fc030); each network's
``hailo_model_zoo/cfg/networks/<id>.yaml`` names the source it was taken from, its input and output
shapes, and its ``info.parameters`` and ``info.operations`` (operations: two per
multiply-accumulate). Hailo's parameter counts are those of the compiled graph, BatchNorm folded
into the convolutions.

arcface_mobilefacenet
    InsightFace's MobileFaceNet ("mbf"), https://github.com/deepinsight/insightface
    ``recognition/arcface_torch/backbones/mobilefacenet.py`` (``get_mbf``: blocks (1, 4, 6, 2),
    scale 2) at 112x112: a 3x3 stride-2 conv to 128, a 3x3 grouped conv (64 groups), then
    inverted-residual units (1x1 expansion, 3x3 depthwise, linear 1x1 projection; BatchNorm and
    PReLU) at 128 channels (expansion width 128; one stride-2 unit, four residual units), 256
    channels (one stride-2 unit of width 256, six residual units of width 256) and 256 channels
    (one stride-2 unit of width 512, two residual units of width 256); a 1x1 conv to 512, a 7x7
    depthwise "global depthwise conv", a bias-free 512 x 512 linear layer and BatchNorm giving the
    512-d embedding. The InsightFace README calls it "mobilefacenet-0.45G". Hailo: 2.04M
    parameters, 0.88G OPS.

arcface_r50
    InsightFace's IResNet-50, ``recognition/arcface_torch/backbones/iresnet.py`` (``iresnet50``):
    a 3x3 stride-1 conv to 64 with BatchNorm and PReLU at 112x112, then 3, 4, 14, 3 "improved"
    basic units at 64, 128, 256, 512 channels (BatchNorm, 3x3 conv, BatchNorm, PReLU, 3x3 conv
    carrying the stride, BatchNorm; the first unit of each stage at stride 2 with a 1x1 projection
    shortcut), BatchNorm, flatten of the 7x7x512 map, a 25088 x 512 linear layer and BatchNorm.
    The README lists 6.3 GFLOPs (multiply-adds). Hailo: 31.0M parameters, 12.6G OPS. Hailo's
    parameter figure falls 12.6M short of the architecture's 43.6M, by about the 12.8M weights of
    the embedding layer; its OPS match.

scrfd_500m, scrfd_2.5g, scrfd_10g
    Guo et al. 2021, "Sample and Computation Redistribution for Efficient Face Detection",
    arXiv:2105.04714, as https://github.com/deepinsight/insightface ``detection/scrfd`` builds
    its keypoint models (Hailo compiles ``scrfd_*_bnkps.onnx``; configs
    ``configs/scrfd/scrfd_{500m,2.5g,10g}_bnkps.py``, code ``mmdet/models/backbones/mobilenet.py``
    and ``resnet.py`` (``ResNetV1e``), ``necks/pafpn.py``, ``dense_heads/scrfd_head.py``).
    Backbones: SCRFD-0.5GF a MobileNetV1 (3x3 stride-2 conv to 16, depthwise-separable unit to
    16, stages of 2, 3, 2, 6 depthwise-separable units at 40, 72, 152, 288); SCRFD-2.5GF and -10GF
    a ResNet-D (deep 3x3 stem to 24 / 56 and a 2x2 max-pool, basic units 3, 5, 3, 2 at 24, 48,
    48, 80 and 3, 4, 2, 3 at 56, 88, 88, 224; strided shortcuts average-pool then 1x1 conv).
    The outputs at strides 8, 16, 32 feed a PAFPN of width 16 / 24 / 56 (plain convs with bias,
    no norms or activations), then per-stride heads (not shared) of 2 / 2 / 3 stacked 3x3 conv
    + BatchNorm + ReLU layers of width 64 / 64 / 80 (depthwise-separable for 0.5GF), shared by
    the class and box branches, and 3x3 convs to 2 class scores, 8 box distances and 20 keypoint
    offsets (2 anchors per position): the nine output maps Hailo lists. Anchor decoding and NMS
    are not counted. The insightface README lists 0.57M / 0.82M / 4.23M parameters for the
    _KPS models (at 640x480: 500M, 2.5G, 10G FLOPs, i.e. multiply-adds). Hailo: 0.63M / 1.5G
    OPS, 0.82M / 6.88G OPS, 4.23M / 26.74G OPS.

retinaface_mobilenet_v1
    Deng et al. 2019, "RetinaFace: Single-stage Dense Face Localisation in the Wild",
    arXiv:1905.00641, as https://github.com/biubug6/Pytorch_Retinaface builds it (``models/net.py``,
    ``models/retinaface.py``, ``data/config.py``): a MobileNetV1 (BatchNorm, LeakyReLU 0.1) whose
    stages end at strides 8, 16, 32, an FPN of width 64 (1x1 conv laterals, nearest upsampling
    and a 3x3 merge conv on the two finer levels; BatchNorm and LeakyReLU), an SSH context module
    per level (3x3 convs to 32 and to 16 -> 16 and 16 -> 16 -> 16, concatenated, ReLU), and 1x1
    convs to 8 box, 4 class and 20 landmark channels (2 anchors). Hailo's network (compiled from
    ``retinaface_mobilenet720p.tflite``, 736x1280) is that layout at full width (32-1024
    channels, ``in_channel`` 128), not the repository's 0.25-width ``cfg_mnet`` (0.43M
    parameters, 2.3 GMACs at that size): the full-width backbone gives Hailo's parameter count.
    Anchor decoding and NMS are not counted. Hailo: 3.49M parameters, 25.14G OPS.

tddfa_mobilenet_v1
    Guo et al. 2020, "Towards Fast, Accurate and Stable 3D Dense Face Alignment" (3DDFA-V2),
    arXiv:2009.09960, and https://github.com/cleardusk/3DDFA_V2 ``models/mobilenet_v1.py`` with
    ``configs/mb1_120x120.yml`` (widen factor 1.0, 62 outputs, 120x120): MobileNetV1 (a 3x3
    stride-2 conv to 32, thirteen depthwise-separable units to 1024 with BatchNorm and ReLU,
    global average pooling) and a 1024 x 62 linear layer giving the 3DMM pose, shape and
    expression parameters. Hailo: 3.26M parameters, 0.36G OPS.

face_landmarks_lite
    MediaPipe's face mesh landmark network (``face_landmark.tflite``; Kartynnik et al. 2019,
    "Real-time Facial Surface Geometry from Monocular Video on Mobile GPUs", arXiv:1907.06724) as
    https://github.com/zmurez/MediaPipePyTorch ``blazeface_landmark.py`` and ``blazebase.py``
    transcribe it (Qualcomm AI Hub's ``mediapipe_face`` FaceLandmarkDetector, 603K parameters):
    the 192x192 crop padded by one pixel right and bottom, a 3x3 stride-2 conv to 16 with PReLU,
    BlazeFace blocks (3x3 depthwise and 1x1 conv with bias, residual, PReLU; stride-2 blocks pool
    the shortcut and zero-pad its channels) at 16, 32, 64, 128 channels down to 6x6, then two
    branches: three more blocks at 128, a 1x1 conv to 32, a block and a 3x3 conv to the 1404
    landmark coordinates; one block, 1x1 conv to 32, a block and a 3x3 conv to the face score.
    These are the two outputs Hailo lists (1x1x1404, 1x1x1). Hailo: 0.6M parameters, 0.07G OPS.

lprnet_hailo (Hailo's id ``lprnet``)
    Hailo's own licence-plate recogniser, "based on LPRNet" (Zherzdev and Gruzdev 2018,
    arXiv:1806.10447) with a ResNet-like backbone: ``hailo_models/license_plate_recognition``
    in the Hailo Model Zoo (README: 7.14M parameters, 18.29 GMACs, 75x300 input, 5x19x11 output)
    and https://github.com/hailo-ai/LPRNet_Pytorch ``model/LPRNet.py`` (commit 0e9d451), with 11
    classes (10 digits and the CTC blank): a 7x7 conv to 64, residual units of two 3x3 convs
    (with bias, BatchNorm; 1x1 conv shortcuts where the shape changes) at 64, 128, 128 (stride
    2), 256; 256 (stride 2), 256; 256 (stride 2), 256 (stride 2) down to 5x19; a 1x5 and a 5x1
    conv to the 11 classes; the outputs of the first two stages brought to 5x19 by chains of
    three and two 1x1 stride-2 convs; the four maps concatenated (779 channels) and a 1x1 conv to
    11. The mean over the 5 rows and CTC decoding are post-processing, as on Hailo's chip. Not the
    original 24x94 LPRNet (0.48M parameters) other model zoos ship under the name ``lprnet``,
    hence the zoo name. Hailo: 7.14M parameters, 36.54G OPS.

osnet_x1_0
    Zhou et al. 2019, "Omni-Scale Feature Learning for Person Re-Identification",
    arXiv:1905.00953, and https://github.com/KaiyangZhou/deep-person-reid
    ``torchreid/models/osnet.py`` (``osnet_x1_0``: channels 64, 256, 384, 512, two OS blocks per
    stage): a 7x7 stride-2 conv and 3x3 stride-2 max-pool, then stages of two omni-scale blocks
    (1x1 conv to c/4; four streams of 1, 2, 3, 4 "lite 3x3" layers, each a linear 1x1 conv and a
    3x3 depthwise conv with BatchNorm and ReLU; one channel gate shared by the streams; summed,
    a linear 1x1 conv to c, a 1x1 projection shortcut where the width changes) with a 1x1 conv
    and 2x2 average pool after the first two stages, a 1x1 conv, global pooling and the 512-d
    feature layer (linear, BatchNorm1d, ReLU) that the network returns at inference (the
    training classifier is left out). ``docs/MODEL_ZOO.md``: 2.2M parameters, 0.98 GMACs.
    Hailo: 2.19M parameters, 1.98G OPS; chipfit's BatchNorm-folded count is 1.5 % under it
    (a copy of the shared gate per stream in the compiled graph would add 24,108, and a bias on
    each bias-free conv that no BatchNorm follows 5,760, which would give 2.19M, but the compiled
    graph is not published).

mspn_regnetx_800mf
    Li et al. 2019, "Rethinking on Multi-Stage Networks for Human Pose Estimation" (MSPN),
    arXiv:1901.00148, as Hailo's mmpose fork https://github.com/hailo-ai/mmpose builds it
    (``configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/regnetx_800mf_256x192.py``,
    ``mmpose/models/backbones/mspn_regnet.py``, ``rsn.py`` ``Upsample_unit``,
    ``heads/topdown_heatmap_multi_stage_head.py``): one stage, RegNetX-800MF (Radosavovic et al.
    2020, arXiv:2003.13678; torchvision's ``regnet_x_800mf`` layout: widths 64, 128, 288, 672,
    depths 1, 3, 7, 5, group width 16) with a 4-unit upsample module of width 256 (1x1 conv +
    BatchNorm per level, the coarser level upsampled bilinearly through a 1x1 conv + BatchNorm,
    summed, ReLU) and one heatmap predictor (1x1 conv + BatchNorm + ReLU, 3x3 conv + BatchNorm
    to 17) on the stride-4 level: the output Hailo's parser ends at (64x48x17); the predictors
    on the coarser units only serve training. Hailo: 7.17M parameters, 2.94G OPS.

centernet_resnet_v1_18_postprocess, centernet_resnet_v1_50_postprocess
    Zhou et al. 2019, "Objects as Points", arXiv:1904.07850, as GluonCV builds it
    (https://github.com/dmlc/gluon-cv ``gluoncv/model_zoo/center_net/center_net.py``
    ``center_net_resnet18_v1b_coco`` / ``center_net_resnet50_v1b_coco`` and ``deconv_resnet.py``):
    a ResNet-18 / ResNet-50 v1b trunk (torchvision's layout, stride in the 3x3 conv) to stride
    32, three upsampling stages of a 3x3 conv with bias + BatchNorm + ReLU and a 4x4 stride-2
    transposed conv + BatchNorm + ReLU (256, 128, 64 channels), and heads of a 3x3 conv to 64
    with bias, ReLU and a 1x1 conv for the 80-class heatmap (sigmoid), box size (2) and centre
    offset (2) at 128x128 for a 512x512 input. Hailo's "_postprocess" networks run the heatmap's
    3x3 max-pool peak finding on the chip, built here as well. Hailo: 14.22M / 31.21G OPS and
    30.07M / 56.92G OPS. Hailo's OPS count each transposed conv at its output resolution (every
    output pixel a full 4x4 window over the zero-interleaved input, four times the real
    multiply-accumulates chipfit counts): with that, chipfit's count comes within 1 % of both.

No input normalisation is built in (Hailo folds its into the compiled graph). The code is
chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from chipfit.frontends.pytorch.nets.hailo_nets import conv_bn_act
from chipfit.frontends.pytorch.nets.lite_nets import MOBILENET_V1_BLOCKS

# --------------------------------------------------------------------------------- ArcFace

class FaceUnit(nn.Module):
    """MobileFaceNet's unit: 1x1 conv to ``mid``, 3x3 depthwise (carrying the stride), linear 1x1
    projection; BatchNorm after each conv, PReLU after the first two; residual when asked."""

    def __init__(self, cin: int, cout: int, mid: int, stride: int, residual: bool):
        super().__init__()
        self.residual = residual
        self.body = nn.Sequential(conv_bn_act(cin, mid, 1, act=nn.PReLU(mid)),
                                  conv_bn_act(mid, mid, 3, stride, mid, act=nn.PReLU(mid)),
                                  conv_bn_act(mid, cout, 1))

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MobileFaceNet(nn.Module):
    def __init__(self, blocks: tuple[int, int, int, int] = (1, 4, 6, 2), scale: int = 2,
                 embedding: int = 512):
        super().__init__()
        c1, c2 = 64 * scale, 128 * scale
        layers = [conv_bn_act(3, c1, 3, 2, act=nn.PReLU(c1))]
        # blocks[0] == 1: a single 3x3 grouped conv (64 groups) rather than residual units
        layers.append(conv_bn_act(c1, c1, 3, groups=64, act=nn.PReLU(c1)))
        stages = ((c1, c1, 128, 128, blocks[1]), (c1, c2, 256, 256, blocks[2]),
                  (c2, c2, 512, 256, blocks[3]))
        for cin, cout, mid_down, mid, n in stages:
            layers.append(FaceUnit(cin, cout, mid_down, 2, residual=False))
            layers += [FaceUnit(cout, cout, mid, 1, residual=True) for _ in range(n)]
        layers.append(conv_bn_act(c2, 512, 1, act=nn.PReLU(512)))
        self.features = nn.Sequential(*layers)
        self.gdc = nn.Sequential(nn.Conv2d(512, 512, 7, groups=512, bias=False), nn.BatchNorm2d(512))
        self.fc = nn.Linear(512, embedding, bias=False)
        self.bn = nn.BatchNorm1d(embedding)

    def forward(self, x):
        return self.bn(self.fc(self.gdc(self.features(x)).flatten(1)))


class IResUnit(nn.Module):
    """IResNet's unit: BN, 3x3 conv, BN, PReLU, 3x3 conv (stride), BN, plus the shortcut."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(cin), conv_bn_act(cin, cout, 3, act=nn.PReLU(cout)),
                                  conv_bn_act(cout, cout, 3, stride))
        self.shortcut = (conv_bn_act(cin, cout, 1, stride) if stride != 1 or cin != cout
                         else nn.Identity())

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


class IResNet(nn.Module):
    def __init__(self, layers: tuple[int, ...], embedding: int = 512, input_size: int = 112):
        super().__init__()
        mods = [conv_bn_act(3, 64, 3, act=nn.PReLU(64))]
        cin = 64
        for n, width in zip(layers, (64, 128, 256, 512)):
            for i in range(n):
                mods.append(IResUnit(cin, width, 2 if i == 0 else 1))
                cin = width
        mods.append(nn.BatchNorm2d(cin))
        self.features = nn.Sequential(*mods)
        side = input_size // 16
        self.fc = nn.Linear(cin * side * side, embedding)
        self.bn = nn.BatchNorm1d(embedding)

    def forward(self, x):
        return self.bn(self.fc(self.features(x).flatten(1)))


def arcface_mobilefacenet() -> MobileFaceNet:
    """InsightFace's MobileFaceNet (mbf), 512-d embedding of a 112x112 face."""
    return MobileFaceNet()


def arcface_r50() -> IResNet:
    """InsightFace's IResNet-50, 512-d embedding of a 112x112 face."""
    return IResNet((3, 4, 14, 3))


# ------------------------------------------------------------------------------------ SCRFD

def _dw_sep(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """3x3 depthwise conv (carrying the stride) and 1x1 conv, each with BatchNorm and ReLU."""
    return nn.Sequential(conv_bn_act(cin, cin, 3, stride, cin, act=nn.ReLU()),
                         conv_bn_act(cin, cout, 1, act=nn.ReLU()))


class _ScrfdBackbone(nn.Module):
    """A ``stem`` then ``stages`` in a chain; returns the outputs of every stage but the first."""

    def forward(self, x):
        x, outs = self.stem(x), []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return outs[1:]


class ScrfdMobileNet(_ScrfdBackbone):
    """SCRFD's MobileNetV1 backbone: a 3x3 stride-2 conv and a depthwise-separable unit, then
    four stages of depthwise-separable units (the first at stride 2); the outputs at strides 8,
    16 and 32."""

    def __init__(self, planes: tuple[int, ...], blocks: tuple[int, int, int, int]):
        super().__init__()
        self.stem = nn.Sequential(conv_bn_act(3, planes[0], 3, 2, act=nn.ReLU()),
                                  _dw_sep(planes[0], planes[1]))
        self.stages = nn.ModuleList(
            nn.Sequential(*[_dw_sep(planes[i + 1] if j == 0 else planes[i + 2], planes[i + 2],
                                    2 if j == 0 else 1) for j in range(n)])
            for i, n in enumerate(blocks))
        self.out_channels = list(planes[3:])


class BasicUnit(nn.Module):
    """ResNet basic unit; a stride-2 or widening shortcut is ResNet-D's 2x2 average pool (when
    strided) then a 1x1 conv with BatchNorm."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(conv_bn_act(cin, cout, 3, stride, act=nn.ReLU()),
                                  conv_bn_act(cout, cout, 3))
        if stride == 1 and cin == cout:
            self.shortcut = nn.Identity()
        else:
            pool = [nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False)] if stride > 1 else []
            self.shortcut = nn.Sequential(*pool, conv_bn_act(cin, cout, 1))
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.body(x) + self.shortcut(x))


class ScrfdResNet(_ScrfdBackbone):
    """SCRFD's ResNetV1e backbone: a deep stem (3x3 stride-2 conv to c/2, 3x3 conv to c/2, 3x3
    conv to c) and a 2x2 max-pool, then four stages of basic units (strides 1, 2, 2, 2); the
    outputs at strides 8, 16 and 32."""

    def __init__(self, stem: int, planes: tuple[int, ...], blocks: tuple[int, ...]):
        super().__init__()
        self.stem = nn.Sequential(conv_bn_act(3, stem // 2, 3, 2, act=nn.ReLU()),
                                  conv_bn_act(stem // 2, stem // 2, 3, act=nn.ReLU()),
                                  conv_bn_act(stem // 2, stem, 3, act=nn.ReLU()), nn.MaxPool2d(2, 2))
        stages, cin = [], stem
        for i, (n, width) in enumerate(zip(blocks, planes)):
            units = []
            for j in range(n):
                units.append(BasicUnit(cin, width, 2 if j == 0 and i > 0 else 1))
                cin = width
            stages.append(nn.Sequential(*units))
        self.stages = nn.ModuleList(stages)
        self.out_channels = list(planes[1:])


class PAFPN(nn.Module):
    """Path-aggregation FPN without norms or activations (convs with bias): 1x1 laterals, a
    nearest-upsampling top-down sum, 3x3 output convs, then a bottom-up path of 3x3 stride-2
    convs added to the next level and 3x3 convs on every level but the finest."""

    def __init__(self, in_channels: list[int], width: int):
        super().__init__()
        n = len(in_channels)
        self.laterals = nn.ModuleList(nn.Conv2d(c, width, 1) for c in in_channels)
        self.fpn = nn.ModuleList(nn.Conv2d(width, width, 3, 1, 1) for _ in range(n))
        self.down = nn.ModuleList(nn.Conv2d(width, width, 3, 2, 1) for _ in range(n - 1))
        self.pafpn = nn.ModuleList(nn.Conv2d(width, width, 3, 1, 1) for _ in range(n - 1))

    def forward(self, feats):
        lat = [conv(f) for conv, f in zip(self.laterals, feats)]
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], size=lat[i - 1].shape[2:], mode="nearest")
        inter = [conv(x) for conv, x in zip(self.fpn, lat)]
        for i in range(len(inter) - 1):
            inter[i + 1] = inter[i + 1] + self.down[i](inter[i])
        return [inter[0]] + [conv(x) for conv, x in zip(self.pafpn, inter[1:])]


class ScrfdHead(nn.Module):
    """One level of SCRFD's head (towers not shared across strides, one tower shared by the
    class and box branches): ``stacked`` 3x3 conv + BatchNorm + ReLU layers (depthwise-separable
    when ``dw``), then 3x3 convs to the class score (1 per anchor), box (4 per anchor) and
    5 keypoints (10 per anchor), 2 anchors per position. The class score ends in the sigmoid
    Hailo compiles onto the chip; the box branch's learned scalar scale is taken as folded into
    its conv."""

    def __init__(self, cin: int, feat: int, stacked: int, dw: bool, anchors: int = 2):
        super().__init__()
        tower = []
        for i in range(stacked):
            c = cin if i == 0 else feat
            tower.append(_dw_sep(c, feat) if dw else conv_bn_act(c, feat, 3, act=nn.ReLU()))
        self.tower = nn.Sequential(*tower)
        self.cls = nn.Conv2d(feat, anchors, 3, 1, 1)
        self.box = nn.Conv2d(feat, 4 * anchors, 3, 1, 1)
        self.kps = nn.Conv2d(feat, 10 * anchors, 3, 1, 1)

    def forward(self, x):
        x = self.tower(x)
        return self.box(x), torch.sigmoid(self.cls(x)), self.kps(x)


class SCRFD(nn.Module):
    def __init__(self, backbone: nn.Module, width: int, feat: int, stacked: int, dw: bool):
        super().__init__()
        self.backbone = backbone
        self.neck = PAFPN(backbone.out_channels, width)
        self.heads = nn.ModuleList(ScrfdHead(width, feat, stacked, dw) for _ in range(3))

    def forward(self, x):
        outs = []
        for head, f in zip(self.heads, self.neck(self.backbone(x))):
            outs.extend(head(f))
        return tuple(outs)


def scrfd_500m() -> SCRFD:
    """SCRFD-0.5GF with keypoints (MobileNetV1 backbone), 640x640."""
    return SCRFD(ScrfdMobileNet((16, 16, 40, 72, 152, 288), (2, 3, 2, 6)), 16, 64, 2, dw=True)


def scrfd_2_5g() -> SCRFD:
    """SCRFD-2.5GF with keypoints (ResNet backbone), 640x640."""
    return SCRFD(ScrfdResNet(24, (24, 48, 48, 80), (3, 5, 3, 2)), 24, 64, 2, dw=False)


def scrfd_10g() -> SCRFD:
    """SCRFD-10GF with keypoints (ResNet backbone), 640x640."""
    return SCRFD(ScrfdResNet(56, (56, 88, 88, 224), (3, 4, 2, 3)), 56, 80, 3, dw=False)


# ------------------------------------------------------------------------------- RetinaFace

def _leaky_dw(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """3x3 depthwise conv and 1x1 conv, each with BatchNorm and LeakyReLU(0.1)."""
    return nn.Sequential(conv_bn_act(cin, cin, 3, stride, cin, act=nn.LeakyReLU(0.1)),
                         conv_bn_act(cin, cout, 1, act=nn.LeakyReLU(0.1)))


class RetinaMobileNet(nn.Module):
    """The ``mobilenet0.25`` layout of MobileNetV1 with its channels times ``mult`` (4: full
    width), in three stages ending at strides 8, 16 and 32."""

    def __init__(self, mult: int = 4):
        super().__init__()
        c = [8 * mult, 16 * mult, 32 * mult, 64 * mult, 128 * mult, 256 * mult]
        self.stage1 = nn.Sequential(conv_bn_act(3, c[0], 3, 2, act=nn.LeakyReLU(0.1)),
                                    _leaky_dw(c[0], c[1]), _leaky_dw(c[1], c[2], 2),
                                    _leaky_dw(c[2], c[2]), _leaky_dw(c[2], c[3], 2),
                                    _leaky_dw(c[3], c[3]))
        self.stage2 = nn.Sequential(_leaky_dw(c[3], c[4], 2), *[_leaky_dw(c[4], c[4]) for _ in range(5)])
        self.stage3 = nn.Sequential(_leaky_dw(c[4], c[5], 2), _leaky_dw(c[5], c[5]))
        self.out_channels = c[3:]

    def forward(self, x):
        s1 = self.stage1(x)
        s2 = self.stage2(s1)
        return [s1, s2, self.stage3(s2)]


class SSH(nn.Module):
    """SSH context module: a 3x3 conv to c/2, and 3x3 convs to c/4 chained to give 5x5 and 7x7
    receptive fields; concatenated, then ReLU."""

    def __init__(self, c: int):
        super().__init__()
        act = nn.LeakyReLU(0.1) if c <= 64 else nn.ReLU()
        self.conv3 = conv_bn_act(c, c // 2, 3)
        self.conv5_1 = conv_bn_act(c, c // 4, 3, act=act)
        self.conv5_2 = conv_bn_act(c // 4, c // 4, 3)
        self.conv7_2 = conv_bn_act(c // 4, c // 4, 3, act=act)
        self.conv7_3 = conv_bn_act(c // 4, c // 4, 3)

    def forward(self, x):
        y = self.conv5_1(x)
        z = self.conv7_2(y)
        return F.relu(torch.cat([self.conv3(x), self.conv5_2(y), self.conv7_3(z)], 1))


class RetinaFace(nn.Module):
    def __init__(self, mult: int = 4, width: int = 64, anchors: int = 2):
        super().__init__()
        self.body = RetinaMobileNet(mult)
        act = nn.LeakyReLU(0.1) if width <= 64 else nn.ReLU()
        self.laterals = nn.ModuleList(conv_bn_act(c, width, 1, act=act) for c in self.body.out_channels)
        self.merges = nn.ModuleList(conv_bn_act(width, width, 3, act=act) for _ in range(2))
        self.ssh = nn.ModuleList(SSH(width) for _ in range(3))
        self.heads = nn.ModuleList(
            nn.ModuleList([nn.Conv2d(width, 4 * anchors, 1), nn.Conv2d(width, 2 * anchors, 1),
                           nn.Conv2d(width, 10 * anchors, 1)]) for _ in range(3))

    def forward(self, x):
        p1, p2, p3 = (lat(f) for lat, f in zip(self.laterals, self.body(x)))
        p2 = self.merges[1](p2 + F.interpolate(p3, size=p2.shape[2:], mode="nearest"))
        p1 = self.merges[0](p1 + F.interpolate(p2, size=p1.shape[2:], mode="nearest"))
        outs = []
        for ssh, heads, p in zip(self.ssh, self.heads, (p1, p2, p3)):
            f = ssh(p)
            outs.extend(head(f) for head in heads)
        return tuple(outs)


def retinaface_mobilenet_v1() -> RetinaFace:
    """RetinaFace with a full-width MobileNetV1 backbone, 736x1280 (any multiple of 32 works)."""
    return RetinaFace(mult=4)


# ------------------------------------------------------------------------------------ 3DDFA

class MobileNetV1(nn.Module):
    """MobileNetV1 (Howard et al. 2017): a 3x3 stride-2 conv to 32, thirteen depthwise-separable
    units (BatchNorm, ReLU) to 1024, global average pooling and a linear layer."""

    def __init__(self, outputs: int):
        super().__init__()
        layers, cin = [conv_bn_act(3, 32, 3, 2, act=nn.ReLU())], 32
        for cout, stride in MOBILENET_V1_BLOCKS:
            layers.append(_dw_sep(cin, cout, stride))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, outputs)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


def tddfa_mobilenet_v1() -> MobileNetV1:
    """3DDFA-V2's MobileNetV1 regressing 62 3DMM parameters from a 120x120 face crop."""
    return MobileNetV1(62)


# ----------------------------------------------------------------------- MediaPipe face mesh

class BlazeUnit(nn.Module):
    """BlazeFace's block as TFLite runs it: a 3x3 depthwise conv and a 1x1 conv (both with
    bias), added to the input and through PReLU. At stride 2 the depthwise conv reads the input
    padded by 2 on the right and bottom, and the shortcut is a 2x2 max-pool; a wider output
    zero-pads the shortcut's channels."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.stride, self.extra = stride, cout - cin
        self.dw = nn.Conv2d(cin, cin, 3, stride, 1 if stride == 1 else 0, groups=cin)
        self.pw = nn.Conv2d(cin, cout, 1)
        self.pool = nn.MaxPool2d(2, 2) if stride == 2 else nn.Identity()
        self.act = nn.PReLU(cout)

    def forward(self, x):
        h = F.pad(x, (0, 2, 0, 2)) if self.stride == 2 else x
        y = self.pool(x)
        if self.extra:
            y = F.pad(y, (0, 0, 0, 0, 0, self.extra))
        return self.act(self.pw(self.dw(h)) + y)


class FaceMesh(nn.Module):
    """MediaPipe's face landmark network (468 3-D landmarks and a face-presence score)."""

    def __init__(self):
        super().__init__()
        layers = [nn.Conv2d(3, 16, 3, 2), nn.PReLU(16)]
        for cin, cout in ((16, 32), (32, 64), (64, 128), (128, 128)):
            layers += [BlazeUnit(cin, cin), BlazeUnit(cin, cin), BlazeUnit(cin, cout, 2)]
        layers += [BlazeUnit(128, 128), BlazeUnit(128, 128)]
        self.backbone = nn.Sequential(*layers)
        self.mesh = nn.Sequential(BlazeUnit(128, 128, 2), BlazeUnit(128, 128), BlazeUnit(128, 128),
                                  nn.Conv2d(128, 32, 1), nn.PReLU(32), BlazeUnit(32, 32),
                                  nn.Conv2d(32, 1404, 3))
        self.flag = nn.Sequential(BlazeUnit(128, 128, 2), nn.Conv2d(128, 32, 1), nn.PReLU(32),
                                  BlazeUnit(32, 32), nn.Conv2d(32, 1, 3))

    def forward(self, x):
        x = self.backbone(F.pad(x, (0, 1, 0, 1)))
        return self.mesh(x), self.flag(x)


def face_landmarks_lite() -> FaceMesh:
    """MediaPipe face mesh (face_landmark.tflite), 192x192 face crop."""
    return FaceMesh()


# ----------------------------------------------------------------------------------- LPRNet

class LprUnit(nn.Module):
    """Two 3x3 convs (with bias) and BatchNorm, the first carrying the stride, plus a shortcut
    (a 1x1 conv with bias where the stride or width changes); ReLU after the sum."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout), nn.ReLU(),
                                  nn.Conv2d(cout, cout, 3, 1, 1), nn.BatchNorm2d(cout))
        self.shortcut = (nn.Conv2d(cin, cout, 1, stride) if stride != 1 or cin != cout
                         else nn.Identity())
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.body(x) + self.shortcut(x))


def _strided_1x1s(n: int, c: int = 256) -> nn.Sequential:
    """``n`` 1x1 stride-2 convs (with bias) and BatchNorm, ReLU between them."""
    layers = []
    for i in range(n):
        layers += [nn.Conv2d(c, c, 1, 2), nn.BatchNorm2d(c)] + ([nn.ReLU()] if i < n - 1 else [])
    return nn.Sequential(*layers)


class HailoLPRNet(nn.Module):
    def __init__(self, classes: int = 11):
        super().__init__()
        self.stage1 = nn.Sequential(nn.Conv2d(3, 64, 7, 1, 3), nn.BatchNorm2d(64), nn.ReLU(),
                                    LprUnit(64, 64), LprUnit(64, 128), LprUnit(128, 128, 2),
                                    LprUnit(128, 256))
        self.stage2 = nn.Sequential(LprUnit(256, 256, 2), LprUnit(256, 256))
        self.stage3 = nn.Sequential(LprUnit(256, 256, 2), LprUnit(256, 256, 2))
        self.stage4 = nn.Sequential(nn.Conv2d(256, 256, (1, 5), 1, (0, 2)), nn.BatchNorm2d(256), nn.ReLU(),
                                    nn.Conv2d(256, classes, (5, 1), 1, (2, 0)), nn.BatchNorm2d(classes),
                                    nn.ReLU())
        self.skip1 = _strided_1x1s(3)
        self.skip2 = _strided_1x1s(2)
        self.container = nn.Conv2d(3 * 256 + classes, classes, 1)

    def forward(self, x):
        s1 = self.stage1(x)
        s2 = self.stage2(s1)
        s3 = self.stage3(s2)
        return self.container(torch.cat([self.skip1(s1), self.skip2(s2), s3, self.stage4(s3)], 1))


def lprnet_hailo() -> HailoLPRNet:
    """Hailo's LPRNet (10 digits + blank) on a 75x300 plate crop; output 11 x 5 x 19 logits."""
    return HailoLPRNet()


# ------------------------------------------------------------------------------------ OSNet

class LiteConv(nn.Module):
    """OSNet's "lite 3x3": a linear 1x1 conv, a 3x3 depthwise conv, BatchNorm and ReLU."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False),
                                  nn.BatchNorm2d(c), nn.ReLU())

    def forward(self, x):
        return self.body(x)


class OmniGate(nn.Module):
    """The channel gate shared by an OS block's four streams: global pooling, 1x1 conv to c/16,
    ReLU, 1x1 conv back to c, sigmoid, times the input."""

    def __init__(self, c: int):
        super().__init__()
        self.fc = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c // 16, 1), nn.ReLU(),
                                nn.Conv2d(c // 16, c, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.fc(x)


class OSBlock(nn.Module):
    """Omni-scale block: 1x1 conv to c/4, four streams of 1-4 lite 3x3 convs each gated by the
    shared gate and summed, a linear 1x1 conv to c, the (projected) input added, ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        mid = cout // 4
        self.reduce = conv_bn_act(cin, mid, 1, act=nn.ReLU())
        self.streams = nn.ModuleList(nn.Sequential(*[LiteConv(mid) for _ in range(t)]) for t in (1, 2, 3, 4))
        self.gate = OmniGate(mid)
        self.expand = conv_bn_act(mid, cout, 1)
        self.shortcut = conv_bn_act(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x):
        y = self.reduce(x)
        y = sum(self.gate(stream(y)) for stream in self.streams)
        return F.relu(self.expand(y) + self.shortcut(x))


class OSNet(nn.Module):
    def __init__(self, channels: tuple[int, int, int, int] = (64, 256, 384, 512), feature: int = 512):
        super().__init__()
        c0, c1, c2, c3 = channels
        self.features = nn.Sequential(
            conv_bn_act(3, c0, 7, 2, act=nn.ReLU()), nn.MaxPool2d(3, 2, 1),
            OSBlock(c0, c1), OSBlock(c1, c1), conv_bn_act(c1, c1, 1, act=nn.ReLU()), nn.AvgPool2d(2, 2),
            OSBlock(c1, c2), OSBlock(c2, c2), conv_bn_act(c2, c2, 1, act=nn.ReLU()), nn.AvgPool2d(2, 2),
            OSBlock(c2, c3), OSBlock(c3, c3), conv_bn_act(c3, c3, 1, act=nn.ReLU()))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(c3, feature), nn.BatchNorm1d(feature), nn.ReLU())

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


def osnet_x1_0() -> OSNet:
    """OSNet x1.0 person re-identification features (512-d) of a 256x128 crop."""
    return OSNet()


# ------------------------------------------------------------------------------------- MSPN

class MspnRegNet(nn.Module):
    """Single-stage MSPN on a RegNetX-800MF: torchvision's RegNetX-800MF stem and four stages
    (64, 128, 288, 672 channels, strides 4-32), a top-down upsample module (per stage a 1x1 conv
    + BatchNorm to 256, plus the coarser level upsampled bilinearly and through a 1x1 conv +
    BatchNorm, then ReLU), and the heatmap predictor on the finest level (1x1 conv + BatchNorm
    + ReLU, 3x3 conv + BatchNorm to the keypoints)."""

    def __init__(self, keypoints: int = 17, unit: int = 256):
        super().__init__()
        from torchvision.models import regnet_x_800mf

        net = regnet_x_800mf()
        self.stem = net.stem
        self.stages = nn.ModuleList(net.trunk_output.children())
        widths = (64, 128, 288, 672)  # RegNetX-800MF's stage widths
        self.skips = nn.ModuleList(conv_bn_act(c, unit, 1) for c in reversed(widths))
        self.ups = nn.ModuleList(conv_bn_act(unit, unit, 1) for _ in widths[1:])
        self.predict = nn.Sequential(conv_bn_act(unit, unit, 1, act=nn.ReLU()), conv_bn_act(unit, keypoints, 3))

    def forward(self, x):
        x, feats = self.stem(x), []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        out = None
        for i, (skip, f) in enumerate(zip(self.skips, reversed(feats))):
            y = skip(f)
            if out is not None:
                up = F.interpolate(out, size=f.shape[2:], mode="bilinear", align_corners=True)
                y = y + self.ups[i - 1](up)
            out = F.relu(y)
        return self.predict(out)


def mspn_regnetx_800mf() -> MspnRegNet:
    """MSPN (one stage) with a RegNetX-800MF backbone: 17 COCO keypoint heatmaps at 1/4 of a
    256x192 person crop."""
    return MspnRegNet()


# ---------------------------------------------------------------------------------- CenterNet

class CenterNetDeconv(nn.Module):
    """GluonCV's CenterNet on a ResNet-v1b: the trunk to stride 32, three upsampling stages (3x3
    conv with bias + BatchNorm + ReLU, 4x4 stride-2 transposed conv + BatchNorm + ReLU) to 256,
    128, 64 channels at stride 4, and three heads (3x3 conv to 64 with bias, ReLU, 1x1 conv) for
    the class heatmap (sigmoid), box size and centre offset. The heatmap's peaks are kept by a
    3x3 max-pool comparison (the max finder Hailo runs on the chip); top-k decoding is not
    counted."""

    def __init__(self, depth: int, classes: int = 80):
        super().__init__()
        from torchvision.models import resnet18, resnet50

        net = resnet18() if depth == 18 else resnet50()
        self.trunk = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2,
                                   net.layer3, net.layer4)
        layers, cin = [], net.fc.in_features
        for planes in (256, 128, 64):
            layers += [nn.Conv2d(cin, planes, 3, 1, 1), nn.BatchNorm2d(planes), nn.ReLU(),
                       nn.ConvTranspose2d(planes, planes, 4, 2, 1, bias=False), nn.BatchNorm2d(planes),
                       nn.ReLU()]
            cin = planes
        self.deconv = nn.Sequential(*layers)
        self.heads = nn.ModuleList(nn.Sequential(nn.Conv2d(64, 64, 3, 1, 1), nn.ReLU(), nn.Conv2d(64, n, 1))
                                   for n in (classes, 2, 2))
        self.peaks = nn.MaxPool2d(3, 1, 1)

    def forward(self, x):
        y = self.deconv(self.trunk(x))
        heat, wh, reg = (head(y) for head in self.heads)
        heat = torch.sigmoid(heat)
        return heat * (self.peaks(heat) == heat), wh, reg


def centernet_resnet_v1_18_postprocess() -> CenterNetDeconv:
    """GluonCV center_net_resnet18_v1b_coco, 80 COCO classes, 512x512."""
    return CenterNetDeconv(18)


def centernet_resnet_v1_50_postprocess() -> CenterNetDeconv:
    """GluonCV center_net_resnet50_v1b_coco, 80 COCO classes, 512x512."""
    return CenterNetDeconv(50)
