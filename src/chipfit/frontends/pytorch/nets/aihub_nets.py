"""Segmentation and depth networks as Qualcomm AI Hub exports them, written here from their
published architecture definitions, for the zoo.

Every network here is the module that AI Hub's ``model.py`` wraps and exports (Qualcomm AI Hub
Models, https://github.com/quic/ai-hub-models, BSD-3-Clause, tag v0.46.1, commit
52c080d245d2d20c634459208ff2548ce10b3c9f, ``qai_hub_models/models/<name>/``), counted at the input
shape its ``get_input_spec`` defaults to and with whatever pre/post-processing its ``forward`` does.

UNet (AI Hub ``unet_segmentation``)
    ``model.py`` loads ``unet_carvana`` from https://github.com/milesial/Pytorch-UNet through
    torch.hub (GPL-3.0; facts only, read at commit 21d7850f2af30a9695bbeea75f3136aa538cfc4a:
    ``hubconf.py``, ``unet/unet_model.py``, ``unet/unet_parts.py``) with the
    ``unet_carvana_scale1.0_epoch2`` checkpoint of release v3.0, and its forward is the bare network
    on a [0, 1] image (no normalisation). ``hubconf.py`` builds ``UNet(n_channels=3, n_classes=2,
    bilinear=False)``: upsampling by 2x2 stride-2 transposed convolutions (with bias) that halve the
    channels, so the bottleneck has 1024 channels. Ronneberger et al. 2015, arXiv:1505.04597, with
    'same' 3x3 convolutions: a double conv (3x3 conv without bias, BatchNorm, ReLU, twice) at 64
    channels, four 2x2 max-pool + double conv steps to 128/256/512/1024, four transposed-conv up
    steps each concatenated with the skip (skip first) and a double conv to 512/256/128/64, and a
    1x1 convolution (with bias) to 2 class logits at full resolution. ``get_input_spec`` defaults to
    height 640, width 1280 (``info.yaml`` says "Input resolution: 224x224"; the export, and so the
    profiled model, uses the 640x1280 default). ``info.yaml``: 31.0M parameters.

DeepLabV3+ with a MobileNetV2 backbone (AI Hub ``deeplabv3_plus_mobilenet``)
    ``model.py`` builds ``modeling.deeplab.DeepLab(backbone="mobilenet", sync_bn=False,
    num_classes=21)`` from https://github.com/jfzhang95/pytorch-deeplab-xception (MIT) at commit
    9135e104a7a51ea9effa9c6676a2fcffe6a6a2e6 (facts from ``modeling/deeplab.py``, ``aspp.py``,
    ``decoder.py``, ``backbone/mobilenet.py``); Chen et al. 2018, arXiv:1802.02611. Output stride 16.
    The backbone is MobileNetV2's ``features`` (Sandler et al. 2018, arXiv:1801.04381: a 3x3
    stride-2 conv to 32, then the 17 inverted residual blocks t/c/n/s 1/16/1/1, 6/24/2/2, 6/32/3/2,
    6/64/4/2, 6/96/3/1, 6/160/3/2, 6/320/1/1, ReLU6) without the last 1x1 conv to 1280; once the
    stride reaches 16 the later strides become 1 and the 320-channel block is dilated by 2. Each
    block zero-pads its input for the 3x3 depthwise conv *before* the block ("fixed padding"), so the
    1x1 expansion runs on the padded map; the convs themselves use no padding. Low-level features
    are the output of ``features[0:4]`` (24 channels, stride 4). ASPP on the 320-channel map: a 1x1
    and three 3x3 convs of dilation 6/12/18 to 256, image pooling (global average pool, 1x1 conv to
    256, bilinear upsampling), all without bias and with BatchNorm + ReLU, concatenated (1280) and a
    1x1 conv to 256 (BN, ReLU). Decoder: a 1x1 conv of the low-level features to 48 (BN, ReLU), the
    ASPP output bilinearly upsampled to stride 4 and concatenated (304), two 3x3 convs to 256 (no
    bias, BN, ReLU) and a 1x1 conv (with bias) to 21 classes; the logits are bilinearly upsampled to
    the input size. AI Hub's wrapper (``models/_shared/deeplab/model.py``, ``DeepLabV3Model``)
    normalises the [0, 1] input with the torchvision ImageNet mean/std first and returns
    ``argmax`` over the classes as uint8; both are counted. ``get_input_spec`` defaults to 520x520
    (``info.yaml`` says 513x513, the source repository's crop size). ``info.yaml``: 5.80M parameters.

MiDaS v2.1 small (AI Hub ``midas``)
    ``model.py`` builds ``hubconf.MiDaS_small`` from https://github.com/isl-org/MiDaS (MIT) at commit
    bdc4ed64c095e026dc0a2f17cabb14d58263decb (facts from ``hubconf.py``,
    ``midas/midas_net_custom.py``, ``midas/blocks.py``; Ranftl et al. 2020, arXiv:1907.01341) with the
    ``midas_v21_small_256`` checkpoint: ``MidasNet_small(features=64, backbone="efficientnet_lite3",
    non_negative=True, blocks={"expand": True})``. The encoder is ``tf_efficientnet_lite3`` of
    https://github.com/rwightman/gen-efficientnet-pytorch (Apache-2.0; ``geffnet/gen_efficientnet.py``
    ``_gen_efficientnet_lite``, commit 771ce082b2ce6d033f55b3d47c1f77389ad3c180): width 1.2, depth 1.4,
    stem and first/last stage repeats fixed, ReLU6, no squeeze-and-excitation, TF 'same' padding
    (AI Hub turns it into a fixed zero pad), built here from
    :mod:`chipfit.frontends.pytorch.nets.lite_nets`. Its stem and stages 0-1 (32 channels, stride 4),
    stage 2 (48, stride 8), stages 3-4 (136, stride 16) and stages 5-6 (384, stride 32) feed the
    decoder; the 1x1 head to 1280 and the classifier are not used. Decoder: 3x3 convs without bias
    from the four taps to 64/128/256/512 channels; four fusion blocks (``FeatureFusionBlock_custom``,
    no BatchNorm): the deeper path plus a residual conv unit (ReLU, 3x3 conv, ReLU, 3x3 conv, biases,
    skip add) on the tap, a second residual conv unit, x2 bilinear upsampling (align_corners) and a
    1x1 conv (bias) halving the channels (64 kept in the last). The deepest block has no tap to
    fuse: its first residual conv unit exists in the module but never runs, so the exported graph
    (and this count) leaves out its 4.72M parameters. Head: 3x3 conv 64->32, x2 bilinear upsampling,
    3x3 conv 32->32, ReLU, 1x1 conv to 1, ReLU (non-negative inverse depth); AI Hub returns it as
    [1, 1, H, W] without the squeeze. Its wrapper normalises the [0, 1] input with the torchvision
    ImageNet mean/std first (counted). 256x256. ``info.yaml``: 16.6M parameters; the MiDaS README
    lists 21M, the PyTorch module with the unused residual unit.

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from chipfit.frontends.pytorch.nets.common import Normalize
from chipfit.frontends.pytorch.nets.lite_nets import LITE_SCALES, LITE_STEM, LiteMBConv, lite_stages

# --------------------------------------------------------------------------- UNet


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
    )


class UNetUp(nn.Module):
    """2x2 stride-2 transposed conv halving the channels, concatenation after the skip, double conv."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cin // 2, 2, stride=2)
        self.conv = _double_conv(cin, cout)

    def forward(self, x, skip):
        x = self.up(x)
        dy, dx = skip.shape[2] - x.shape[2], skip.shape[3] - x.shape[3]
        if dy or dx:  # odd sizes: centre the upsampled map on the skip
            x = F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([skip, x], dim=1))


class UNet(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 2, widths=(64, 128, 256, 512, 1024)):
        super().__init__()
        self.inc = _double_conv(in_channels, widths[0])
        self.down = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), _double_conv(a, b)) for a, b in zip(widths[:-1], widths[1:]))
        self.up = nn.ModuleList(UNetUp(a, b) for a, b in zip(widths[:0:-1], widths[-2::-1]))
        self.outc = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x):
        skips = [self.inc(x)]
        for down in self.down:
            skips.append(down(skips[-1]))
        x = skips.pop()
        for up in self.up:
            x = up(x, skips.pop())
        return self.outc(x)


def unet_segmentation() -> UNet:
    """AI Hub ``unet_segmentation``: milesial's UNet (Carvana, 2 classes, transposed-conv upsampling)."""
    return UNet()


# --------------------------------------------------------------------------- DeepLabV3+ MobileNetV2


def _cbr(cin: int, cout: int, k: int = 1, stride: int = 1, padding: int = 0, dilation: int = 1,
         groups: int = 1, act: type[nn.Module] | None = nn.ReLU) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, padding, dilation, groups=groups, bias=False),
                               nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class PaddedInvertedResidual(nn.Module):
    """MobileNetV2 block that pads its input for the 3x3 depthwise conv before the whole block:
    1x1 expansion (omitted at t=1) and depthwise conv see the padded map, the convs use no padding."""

    def __init__(self, cin: int, cout: int, stride: int, dilation: int, expand: int):
        super().__init__()
        mid = round(cin * expand)
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_cbr(cin, mid, act=nn.ReLU6))
        layers.append(_cbr(mid, mid, 3, stride, 0, dilation, groups=mid, act=nn.ReLU6))
        layers.append(_cbr(mid, cout, act=None))
        self.conv = nn.Sequential(*layers)
        self.pad = (dilation * 2) // 2, dilation * 2 - (dilation * 2) // 2
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = self.conv(F.pad(x, [self.pad[0], self.pad[1], self.pad[0], self.pad[1]]))
        return x + y if self.skip else y


# t, c, n, s (MobileNetV2 Table 2)
MOBILENET_V2_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1))


def _mobilenet_v2_features(output_stride: int = 16) -> nn.Sequential:
    layers: list[nn.Module] = [_cbr(3, 32, 3, 2, 1, act=nn.ReLU6)]
    cin, stride_now, rate = 32, 2, 1
    for t, c, n, s in MOBILENET_V2_BLOCKS:
        if stride_now == output_stride:  # keep the resolution: stride 1, dilate the later blocks
            stride, dilation, rate = 1, rate, rate * s
        else:
            stride, dilation, stride_now = s, 1, stride_now * s
        for i in range(n):
            layers.append(PaddedInvertedResidual(cin, c, stride if i == 0 else 1, dilation, t))
            cin = c
    return nn.Sequential(*layers)


class ASPP(nn.Module):
    def __init__(self, cin: int = 320, c: int = 256, dilations=(1, 6, 12, 18)):
        super().__init__()
        self.branches = nn.ModuleList(
            _cbr(cin, c, 1 if d == 1 else 3, padding=0 if d == 1 else d, dilation=d) for d in dilations)
        self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), _cbr(cin, c))
        self.project = _cbr(c * (len(dilations) + 1), c)

    def forward(self, x):
        outs = [b(x) for b in self.branches]
        outs.append(F.interpolate(self.image_pool(x), size=x.shape[2:], mode="bilinear", align_corners=True))
        return self.project(torch.cat(outs, dim=1))


class DeepLabV3PlusMobileNet(nn.Module):
    def __init__(self, num_classes: int = 21, output_stride: int = 16, normalize: bool = True,
                 argmax: bool = True):
        super().__init__()
        self.normalize = Normalize() if normalize else nn.Identity()
        features = _mobilenet_v2_features(output_stride)
        self.low_level = features[:4]
        self.high_level = features[4:]
        self.aspp = ASPP(320, 256, (1, 6, 12, 18) if output_stride == 16 else (1, 12, 24, 36))
        self.reduce = _cbr(24, 48)
        self.head = nn.Sequential(_cbr(256 + 48, 256, 3, padding=1), _cbr(256, 256, 3, padding=1),
                                  nn.Conv2d(256, num_classes, 1))
        self.argmax = argmax

    def forward(self, image):
        x = self.normalize(image)
        low = self.low_level(x)
        x = self.aspp(self.high_level(low))
        low = self.reduce(low)
        x = F.interpolate(x, size=low.shape[2:], mode="bilinear", align_corners=True)
        x = self.head(torch.cat([x, low], dim=1))
        x = F.interpolate(x, size=image.shape[2:], mode="bilinear", align_corners=True)
        return x.argmax(1).to(torch.uint8) if self.argmax else x


def deeplabv3_plus_mobilenet() -> DeepLabV3PlusMobileNet:
    """AI Hub ``deeplabv3_plus_mobilenet``: DeepLabV3+ (MobileNetV2, output stride 16, 21 VOC classes)
    with input normalisation and the argmax over the classes."""
    return DeepLabV3PlusMobileNet()


# --------------------------------------------------------------------------- MiDaS v2.1 small


class ResidualConvUnit(nn.Module):
    """ReLU, 3x3 conv (bias), ReLU, 3x3 conv (bias), plus the input (no BatchNorm)."""

    def __init__(self, c: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, x):
        return x + self.conv2(self.act(self.conv1(self.act(x))))


class FeatureFusion(nn.Module):
    """Adds the residual-refined skip (if any), refines, upsamples x2 (bilinear, align_corners) and
    projects with a 1x1 conv (bias) to ``cout``."""

    def __init__(self, c: int, cout: int, fuse: bool = True):
        super().__init__()
        self.rcu1 = ResidualConvUnit(c) if fuse else None
        self.rcu2 = ResidualConvUnit(c)
        self.out_conv = nn.Conv2d(c, cout, 1)

    def forward(self, x, skip=None):
        if skip is not None:
            x = x + self.rcu1(skip)
        x = F.interpolate(self.rcu2(x), scale_factor=2, mode="bilinear", align_corners=True)
        return self.out_conv(x)


class MidasSmall(nn.Module):
    def __init__(self, features: int = 64, normalize: bool = True):
        super().__init__()
        self.normalize = Normalize() if normalize else nn.Identity()
        stages = lite_stages(*LITE_SCALES[3][:2])
        self.stem = _cbr(3, LITE_STEM, 3, 2, 1, act=nn.ReLU6)
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in stages:
            blocks.append(nn.Sequential(*(LiteMBConv(cin if i == 0 else cout, cout, kernel, stride if i == 0 else 1,
                                                     expand) for i in range(repeats))))
        # the encoder taps: after stages 0-1 (stride 4), 2 (8), 3-4 (16), 5-6 (32); conv_head is unused
        self.layer1, self.layer2, self.layer3, self.layer4 = (
            nn.Sequential(*blocks[0:2]), blocks[2], nn.Sequential(*blocks[3:5]), nn.Sequential(*blocks[5:7]))
        taps = [stages[1][-1], stages[2][-1], stages[4][-1], stages[6][-1]]
        widths = [features, features * 2, features * 4, features * 8]
        self.rn = nn.ModuleList(nn.Conv2d(a, b, 3, padding=1, bias=False) for a, b in zip(taps, widths))
        self.refine4 = FeatureFusion(widths[3], widths[2], fuse=False)
        self.refine3 = FeatureFusion(widths[2], widths[1])
        self.refine2 = FeatureFusion(widths[1], widths[0])
        self.refine1 = FeatureFusion(widths[0], widths[0])
        self.head1 = nn.Conv2d(features, features // 2, 3, padding=1)
        self.head2 = nn.Sequential(nn.Conv2d(features // 2, 32, 3, padding=1), nn.ReLU(),
                                   nn.Conv2d(32, 1, 1), nn.ReLU())

    def forward(self, image):
        x1 = self.layer1(self.stem(self.normalize(image)))
        x2 = self.layer2(x1)
        x3 = self.layer3(x2)
        x4 = self.layer4(x3)
        r1, r2, r3, r4 = (rn(x) for rn, x in zip(self.rn, (x1, x2, x3, x4)))
        x = self.refine1(self.refine2(self.refine3(self.refine4(r4), r3), r2), r1)
        x = F.interpolate(self.head1(x), scale_factor=2, mode="bilinear", align_corners=False)
        return self.head2(x)


def midas() -> MidasSmall:
    """AI Hub ``midas``: MiDaS v2.1 small (EfficientNet-Lite3 encoder) with input normalisation, 256x256."""
    return MidasSmall()
