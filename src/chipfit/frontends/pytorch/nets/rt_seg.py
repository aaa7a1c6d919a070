"""Real-time semantic-segmentation networks (DDRNet-23-slim, PIDNet-S, BiSeNet with a ResNet-18
context path) as Qualcomm AI Hub exports them, written here from their published definitions, for
the zoo.

Sources (facts only: layer types, channels, kernel sizes, strides, the order of the ops):

- Qualcomm AI Hub Models v0.46.1 (https://github.com/quic/ai-hub-models, commit 52c080d2, BSD-3-Clause):
  ``qai_hub_models/models/{ddrnet23_slim,pidnet,bisenet}/model.py`` (which source network each one
  builds and with which arguments, and the input spec), their ``info.yaml`` (input resolution,
  number of parameters and float model size: 2048x1024 (width x height), 6.13M, 21.7 MB; 1024x2048,
  8.06M, 29.1 MB; 720x960, 12.0M, 45.7 MB -- the sizes are 4 bytes a parameter of the networks built
  here; the parameter lines count the constants of the compiled TFLite model, see tests) and
  ``qai_hub_models/models/_shared/cityscapes_segmentation/model.py`` (``CityscapesSegmentor``, the
  forward of the first two) and ``qai_hub_models/utils/image_processing.py``
  (``normalize_image_torchvision``: ``(x - mean) / std`` with the ImageNet constants).
- DDRNet-23-slim: https://github.com/chenjun2hao/DDRNet.pytorch commit bc0e193e87ead839dbc715c48e6bfb059cf21b27
  (the commit AI Hub pins), ``lib/models/ddrnet_23_slim.py`` (``DualResNet``, ``BasicBlock``,
  ``Bottleneck``, ``DAPPM``, ``segmenthead``), built by AI Hub as ``DualResNet(BasicBlock, [2, 2, 2, 2],
  num_classes=19, planes=32, spp_planes=128, head_planes=64, augment=False)``. Paper: Hong et al. 2021,
  "Deep Dual-resolution Networks for Real-time and Accurate Semantic Segmentation of Road Scenes",
  arXiv:2101.06085 (Table: DDRNet-23-slim 5.7M parameters, 36.3 GFLOPs at 1024x2048).
- PIDNet-S: https://github.com/XuJiacong/PIDNet commit fefa51716bddc13a4321af2c70a074367100645a (the
  commit AI Hub pins), ``models/pidnet.py`` (``PIDNet``, ``get_pred_model("pidnet-s", 19)``: m=2, n=3,
  planes=32, ppm_planes=96, head_planes=128, augment=False) and ``models/model_utils.py``
  (``BasicBlock``, ``Bottleneck``, ``segmenthead``, ``PAPPM``, ``PagFM``, ``Light_Bag``). Paper: Xu
  et al. 2023, "PIDNet: A Real-time Semantic Segmentation Network Inspired by PID Controllers",
  arXiv:2206.02066 (PIDNet-S: 7.6M parameters, 47.6 GFLOPs at 1024x2048).
- BiSeNet: https://github.com/ooooverflow/BiSeNet commit 284a8f6782c0418d1dbd12269432cb4f0eb92426 (the
  commit AI Hub pins), ``model/build_BiSeNet.py`` (``BiSeNet``, ``Spatial_path``, ``ConvBlock``,
  ``AttentionRefinementModule``, ``FeatureFusionModule``) and ``model/build_contextpath.py``
  (``resnet18``: torchvision's ResNet-18 up to layer4, returning the 1/16 and 1/32 features and
  their global mean), built by AI Hub as ``BiSeNet(12, "resnet18")`` (12 CamVid classes). Paper: Yu
  et al. 2018, arXiv:1808.00897.

What is counted is what the AI Hub export runs, in eval mode, on a ``[1, 3, H, W]`` RGB image in
[0, 1]:

- All three first normalise the image with the ImageNet mean and std (AI Hub's wrapper forward).
- DDRNet-23-slim and PIDNet-S return the 19 Cityscapes logits at 1/8 of the input resolution
  (128x256 at 1024x2048): neither the source networks (``augment=False``, no ``scale_factor`` in the
  final head) nor AI Hub's ``CityscapesSegmentor.forward`` upsample them. The auxiliary heads
  (``augment``) are not built.
- BiSeNet upsamples the fused 1/8 features by 8 (bilinear) and applies its last 1x1 convolution at
  full resolution: the output is 12x720x960. Its training-only parts are not in the export and not
  built here: the two supervision convolutions (used only when ``self.training``), the unused
  BatchNorm of each attention refinement module (its forward skips it) and ResNet-18's
  classifier (``fc``, held by the context path but never called).

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from chipfit.frontends.pytorch.nets.common import Normalize

CITYSCAPES_CLASSES = 19
CAMVID_CLASSES = 12


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c)


def _conv(c1: int, c2: int, k: int = 3, s: int = 1, bias: bool = False, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c1, c2, k, s, k // 2, groups=groups, bias=bias)


def _conv_bn(c1: int, c2: int, k: int = 3, s: int = 1) -> nn.Sequential:
    """Bias-free convolution and BatchNorm, no activation."""
    return nn.Sequential(_conv(c1, c2, k, s), _bn(c2))


def _bn_relu_conv(c1: int, c2: int, k: int = 1, groups: int = 1) -> nn.Sequential:
    """Pre-activation unit of the pyramid pooling modules: BatchNorm, ReLU, bias-free convolution."""
    return nn.Sequential(_bn(c1), nn.ReLU(), _conv(c1, c2, k, groups=groups))


def _resize(x, like):
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN with a ReLU between, plus the input (through a 1x1 conv-BN projection when
    the stride or width changes), then a ReLU unless ``relu`` is False (the last block of a stage)."""

    def __init__(self, c1: int, c2: int, s: int = 1, relu: bool = True):
        super().__init__()
        self.conv1 = _conv_bn(c1, c2, 3, s)
        self.conv2 = _conv_bn(c2, c2, 3)
        self.down = _conv_bn(c1, c2, 1, s) if s != 1 or c1 != c2 else None
        self.relu = relu

    def forward(self, x):
        out = self.conv2(F.relu(self.conv1(x)))
        out = out + (x if self.down is None else self.down(x))
        return F.relu(out) if self.relu else out


class Bottleneck(nn.Module):
    """1x1, 3x3 (stride ``s``) and 1x1 conv-BN with ReLUs between, widening ``c`` by 2, plus the
    input (projected by a 1x1 conv-BN when needed); no ReLU after the sum unless ``relu``."""

    def __init__(self, c1: int, c: int, s: int = 1, relu: bool = False):
        super().__init__()
        self.conv1 = _conv_bn(c1, c, 1)
        self.conv2 = _conv_bn(c, c, 3, s)
        self.conv3 = _conv_bn(c, 2 * c, 1)
        self.down = _conv_bn(c1, 2 * c, 1, s) if s != 1 or c1 != 2 * c else None
        self.relu = relu

    def forward(self, x):
        out = self.conv3(F.relu(self.conv2(F.relu(self.conv1(x)))))
        out = out + (x if self.down is None else self.down(x))
        return F.relu(out) if self.relu else out


def _stage(c1: int, c2: int, n: int, s: int = 1) -> nn.Sequential:
    """``n`` basic blocks, the first with stride ``s``; ReLU after each but the last."""
    return nn.Sequential(*[BasicBlock(c1 if i == 0 else c2, c2, s if i == 0 else 1, relu=i < n - 1)
                           for i in range(n)])


def _stem(c: int) -> nn.Sequential:
    """Two stride-2 3x3 convolutions (with bias) each followed by BatchNorm and ReLU: 1/4 resolution."""
    return nn.Sequential(_conv(3, c, 3, 2, bias=True), _bn(c), nn.ReLU(),
                         _conv(c, c, 3, 2, bias=True), _bn(c), nn.ReLU())


class SegHead(nn.Module):
    """BN, ReLU, 3x3 conv to ``c_mid``; BN, ReLU, 1x1 conv with bias to the classes (no upsampling)."""

    def __init__(self, c1: int, c_mid: int, classes: int):
        super().__init__()
        self.conv1 = _bn_relu_conv(c1, c_mid, 3)
        self.conv2 = nn.Sequential(_bn(c_mid), nn.ReLU(), nn.Conv2d(c_mid, classes, 1))

    def forward(self, x):
        return self.conv2(self.conv1(x))


class _PyramidPooling(nn.Module):
    """The pooled branches shared by DAPPM and PAPPM: the input itself and four average poolings
    (5x5/2, 9x9/4, 17x17/8, global), each through BN-ReLU-1x1 conv to ``c`` channels."""

    def __init__(self, c1: int, c: int, c2: int):
        super().__init__()
        self.pools = nn.ModuleList([nn.AvgPool2d(5, 2, 2), nn.AvgPool2d(9, 4, 4), nn.AvgPool2d(17, 8, 8),
                                    nn.AdaptiveAvgPool2d(1)])
        self.scale0 = _bn_relu_conv(c1, c)
        self.scales = nn.ModuleList([_bn_relu_conv(c1, c) for _ in range(4)])
        self.compression = _bn_relu_conv(5 * c, c2)
        self.shortcut = _bn_relu_conv(c1, c2)

    def _branches(self, x):
        return [_resize(scale(pool(x)), x) for pool, scale in zip(self.pools, self.scales)]


class DAPPM(_PyramidPooling):
    """Deep aggregation pyramid pooling (DDRNet): each upsampled branch is added to the previous
    level's output and refined by BN-ReLU-3x3 conv in turn; the five are concatenated, compressed
    by BN-ReLU-1x1 conv and added to a BN-ReLU-1x1 conv shortcut."""

    def __init__(self, c1: int, c: int, c2: int):
        super().__init__(c1, c, c2)
        self.process = nn.ModuleList([_bn_relu_conv(c, c, 3) for _ in range(4)])

    def forward(self, x):
        outs = [self.scale0(x)]
        for branch, process in zip(self._branches(x), self.process):
            outs.append(process(branch + outs[-1]))
        return self.compression(torch.cat(outs, 1)) + self.shortcut(x)


class PAPPM(_PyramidPooling):
    """Parallel aggregation pyramid pooling (PIDNet): every upsampled branch is added to the first
    (unpooled) one, the four sums are refined together by one BN-ReLU-3x3 conv in 4 groups, then
    concatenated with the first, compressed and added to the shortcut as in DAPPM."""

    def __init__(self, c1: int, c: int, c2: int):
        super().__init__(c1, c, c2)
        self.process = _bn_relu_conv(4 * c, 4 * c, 3, groups=4)

    def forward(self, x):
        x0 = self.scale0(x)
        scaled = self.process(torch.cat([b + x0 for b in self._branches(x)], 1))
        return self.compression(torch.cat([x0, scaled], 1)) + self.shortcut(x)


class DDRNet(nn.Module):
    """Deep dual-resolution network: a stem and two stages to 1/8, then a low-resolution branch
    (1/16, 1/32, 1/64 through a bottleneck, then DAPPM) and a high-resolution branch kept at 1/8,
    exchanging features twice (3x3 stride-2 conv-BN down, 1x1 conv-BN then bilinear up); the sum
    of both goes through the segmentation head at 1/8."""

    def __init__(self, planes: int = 32, spp_planes: int = 128, head_planes: int = 64,
                 classes: int = CITYSCAPES_CLASSES):
        super().__init__()
        p, hr = planes, 2 * planes
        self.normalize = Normalize()
        self.stem = _stem(p)
        self.layer1 = _stage(p, p, 2)
        self.layer2 = _stage(p, 2 * p, 2, 2)
        self.layer3 = _stage(2 * p, 4 * p, 2, 2)
        self.layer4 = _stage(4 * p, 8 * p, 2, 2)
        self.layer3_ = _stage(2 * p, hr, 2)
        self.layer4_ = _stage(hr, hr, 2)
        self.compression3 = _conv_bn(4 * p, hr, 1)
        self.compression4 = _conv_bn(8 * p, hr, 1)
        self.down3 = _conv_bn(hr, 4 * p, 3, 2)
        self.down4 = nn.Sequential(_conv_bn(hr, 4 * p, 3, 2), nn.ReLU(), _conv_bn(4 * p, 8 * p, 3, 2))
        self.layer5_ = Bottleneck(hr, hr)
        self.layer5 = Bottleneck(8 * p, 8 * p, 2)
        self.spp = DAPPM(16 * p, spp_planes, 4 * p)
        self.head = SegHead(4 * p, head_planes, classes)

    def forward(self, image):
        x = self.layer1(self.stem(self.normalize(image)))
        x2 = self.layer2(F.relu(x))                       # 1/8
        x3 = self.layer3(F.relu(x2))                      # 1/16
        h = self.layer3_(F.relu(x2))                      # high-resolution branch, 1/8
        low = x3 + self.down3(F.relu(h))
        h = h + _resize(self.compression3(F.relu(x3)), h)
        x4 = self.layer4(F.relu(low))                     # 1/32
        h = self.layer4_(F.relu(h))
        low = x4 + self.down4(F.relu(h))
        h = h + _resize(self.compression4(F.relu(x4)), h)
        h = self.layer5_(F.relu(h))
        low = _resize(self.spp(self.layer5(F.relu(low))), h)  # 1/64 -> 1/8
        return self.head(low + h)


class PagFM(nn.Module):
    """Pixel-attention-guided fusion: 1x1 conv-BN projections of both inputs to ``c`` channels,
    their per-pixel dot product through a sigmoid weighs the (upsampled) low-resolution input
    against the high-resolution one."""

    def __init__(self, c1: int, c: int):
        super().__init__()
        self.f_x = _conv_bn(c1, c, 1)
        self.f_y = _conv_bn(c1, c, 1)

    def forward(self, x, y):
        y_q = _resize(self.f_y(y), x)
        sim = torch.sigmoid(torch.sum(self.f_x(x) * y_q, dim=1).unsqueeze(1))
        return (1 - sim) * x + sim * _resize(y, x)


class LightBag(nn.Module):
    """Light boundary-attention-guided fusion: the sigmoid of the derivative branch weighs the
    integral and proportional branches; two 1x1 conv-BN, summed."""

    def __init__(self, c1: int, c2: int):
        super().__init__()
        self.conv_p = _conv_bn(c1, c2, 1)
        self.conv_i = _conv_bn(c1, c2, 1)

    def forward(self, p, i, d):
        edge = torch.sigmoid(d)
        return self.conv_p((1 - edge) * i + p) + self.conv_i(i + edge * p)


class PIDNet(nn.Module):
    """PIDNet with ``m`` = 2 (the S and M models): the integral branch (stem, stages to 1/64,
    PAPPM), the proportional branch at 1/8 (fed through PagFM twice) and the derivative branch at
    1/8 (fed by 3x3 conv-BN of the integral features), fused by LightBag into the head at 1/8."""

    def __init__(self, planes: int = 32, n: int = 3, ppm_planes: int = 96, head_planes: int = 128,
                 classes: int = CITYSCAPES_CLASSES):
        super().__init__()
        p, m = planes, 2
        self.normalize = Normalize()
        self.stem = _stem(p)
        self.layer1 = _stage(p, p, m)
        self.layer2 = _stage(p, 2 * p, m, 2)
        self.layer3 = _stage(2 * p, 4 * p, n, 2)
        self.layer4 = _stage(4 * p, 8 * p, n, 2)
        self.layer5 = nn.Sequential(Bottleneck(8 * p, 8 * p, 2), Bottleneck(16 * p, 8 * p))
        # P branch
        self.compression3 = _conv_bn(4 * p, 2 * p, 1)
        self.compression4 = _conv_bn(8 * p, 2 * p, 1)
        self.pag3 = PagFM(2 * p, p)
        self.pag4 = PagFM(2 * p, p)
        self.layer3_ = _stage(2 * p, 2 * p, m)
        self.layer4_ = _stage(2 * p, 2 * p, m)
        self.layer5_ = Bottleneck(2 * p, 2 * p)
        # D branch
        self.layer3_d = BasicBlock(2 * p, p, relu=False)
        self.layer4_d = Bottleneck(p, p)
        self.diff3 = _conv_bn(4 * p, p, 3)
        self.diff4 = _conv_bn(8 * p, 2 * p, 3)
        self.layer5_d = Bottleneck(2 * p, 2 * p)
        self.spp = PAPPM(16 * p, ppm_planes, 4 * p)
        self.dfm = LightBag(4 * p, 4 * p)
        self.head = SegHead(4 * p, head_planes, classes)

    def forward(self, image):
        x = self.layer1(self.stem(self.normalize(image)))
        x = F.relu(self.layer2(F.relu(x)))                 # 1/8
        p = self.layer3_(x)
        d = self.layer3_d(x)
        x = F.relu(self.layer3(x))                         # 1/16
        p = self.pag3(p, self.compression3(x))
        d = d + _resize(self.diff3(x), d)
        x = F.relu(self.layer4(x))                         # 1/32
        p = self.layer4_(F.relu(p))
        d = self.layer4_d(F.relu(d))
        p = self.pag4(p, self.compression4(x))
        d = d + _resize(self.diff4(x), d)
        p = self.layer5_(F.relu(p))
        d = self.layer5_d(F.relu(d))
        x = _resize(self.spp(self.layer5(x)), p)           # 1/64 -> 1/8
        return self.head(self.dfm(p, x, d))


class _ConvBNReLU(nn.Sequential):
    def __init__(self, c1: int, c2: int, k: int = 3, s: int = 2):
        super().__init__(_conv(c1, c2, k, s), _bn(c2), nn.ReLU())


class AttentionRefinement(nn.Module):
    """Global average pool, 1x1 conv with bias, sigmoid, times the input (no BatchNorm in the
    forward of the source)."""

    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.conv(F.adaptive_avg_pool2d(x, 1)))


class FeatureFusion(nn.Module):
    """Concatenation, 3x3 conv-BN-ReLU to the classes, then a squeeze-excitation style reweighting
    (global pool, 1x1 conv + ReLU, 1x1 conv + sigmoid) added to the features."""

    def __init__(self, c1: int, classes: int):
        super().__init__()
        self.block = _ConvBNReLU(c1, classes, 3, 1)
        self.conv1 = nn.Conv2d(classes, classes, 1)
        self.conv2 = nn.Conv2d(classes, classes, 1)

    def forward(self, a, b):
        feature = self.block(torch.cat((a, b), 1))
        w = torch.sigmoid(self.conv2(F.relu(self.conv1(F.adaptive_avg_pool2d(feature, 1)))))
        return feature * w + feature


class BiSeNet(nn.Module):
    """BiSeNet with a ResNet-18 context path: a spatial path of three stride-2 3x3 conv-BN-ReLU
    (64, 128, 256 channels, 1/8); the context path's 1/16 and 1/32 features through attention
    refinement (the 1/32 one also times the global mean of the 1/32 features), upsampled to 1/8;
    feature fusion to the classes, bilinear x8 upsampling, and a last 1x1 conv at full resolution."""

    def __init__(self, classes: int = CAMVID_CLASSES):
        super().__init__()
        from torchvision.models import resnet18

        self.normalize = Normalize()
        self.spatial = nn.Sequential(_ConvBNReLU(3, 64), _ConvBNReLU(64, 128), _ConvBNReLU(128, 256))
        r = resnet18(weights=None)
        self.context = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2)
        self.layer3, self.layer4 = r.layer3, r.layer4
        self.arm1 = AttentionRefinement(256)
        self.arm2 = AttentionRefinement(512)
        self.ffm = FeatureFusion(256 + 256 + 512, classes)
        self.conv = nn.Conv2d(classes, classes, 1)

    def forward(self, image):
        x = self.normalize(image)
        s = self.spatial(x)                                  # 1/8
        f3 = self.layer3(self.context(x))                    # 1/16
        f4 = self.layer4(f3)                                 # 1/32
        tail = f4.mean(3, keepdim=True).mean(2, keepdim=True)
        c1 = _resize(self.arm1(f3), s)
        c2 = _resize(self.arm2(f4) * tail, s)
        out = self.ffm(s, torch.cat((c1, c2), 1))
        out = F.interpolate(out, scale_factor=8, mode="bilinear", align_corners=False)
        return self.conv(out)


def ddrnet23_slim():
    """DDRNet-23-slim (Hong et al. 2021) for 19 Cityscapes classes, as AI Hub exports it."""
    return DDRNet(planes=32, spp_planes=128, head_planes=64)


def pidnet_s():
    """PIDNet-S (Xu et al. 2023) for 19 Cityscapes classes, as AI Hub exports it."""
    return PIDNet(planes=32, n=3, ppm_planes=96, head_planes=128)


def bisenet():
    """BiSeNet (Yu et al. 2018) with a ResNet-18 context path for 12 CamVid classes, as AI Hub exports it."""
    return BiSeNet(CAMVID_CLASSES)
