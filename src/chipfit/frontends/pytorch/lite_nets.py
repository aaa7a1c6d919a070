"""Lightweight edge networks that torchvision does not ship, written here from their published
architecture descriptions (layer tables, channel counts, kernel sizes), for the zoo.

EfficientNet-Lite0
    Google, https://github.com/tensorflow/tpu/blob/master/models/official/efficientnet/lite/README.md
    and ``lite/efficientnet_lite_builder.py`` next to it: the EfficientNet-B0 block table
    (Tan & Le 2019, arXiv:1905.11946, Table 1) with squeeze-and-excitation removed, swish
    replaced by ReLU6, stem (32) and head (1280) channels fixed; width 1.0, depth 1.0, 224 px,
    1000 classes. The README lists 4.7M parameters and 407M "MAdds".

MobileNet v1
    Howard et al. 2017, "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
    Applications", arXiv:1704.04861, Table 1 (the layer table: a 3x3 stride-2 conv to 32
    channels, 13 depthwise-separable blocks, global average pooling, a 1000-way fully connected
    layer; BatchNorm and ReLU after every convolution) and Table 8 (1.0 MobileNet-224: 569M
    mult-adds, 4.2M parameters, 70.6 % top-1).

NanoDet-Plus-m (320 and 416) and NanoDet-Plus-m-1.5x (416)
    RangiLyu, https://github.com/RangiLyu/nanodet (Apache-2.0), configs
    ``config/nanodet-plus-m_320.yml``, ``config/nanodet-plus-m_416.yml`` and
    ``config/nanodet-plus-m-1.5x_416.yml``; the layer structure follows the descriptions in
    ``nanodet/model/fpn/ghost_pan.py`` (GhostPAN), ``nanodet/model/backbone/ghostnet.py``
    (ghost module and ghost bottleneck, Han et al. 2020, arXiv:1911.11907),
    ``nanodet/model/module/conv.py`` (depthwise-separable conv module) and
    ``nanodet/model/head/nanodet_plus_head.py``. The backbone is torchvision's ShuffleNetV2
    (Ma et al. 2018, arXiv:1807.11164) up to stage 4, without its last 1x1 conv and classifier,
    with LeakyReLU(0.1) as the configs set. The auxiliary head and its FPN copy are used in
    training only and are not built. Like :mod:`chipfit.frontends.pytorch.detection`, the network ends
    at the head's raw outputs (80 class logits + 4 x (reg_max + 1) = 32 distance bins per
    point): box decoding and NMS are post-processing and are not counted.

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn

# --------------------------------------------------------------------------- EfficientNet-Lite

# The EfficientNet-B0 stages (tensorflow/tpu efficientnet_lite_builder.py, _DEFAULT_BLOCKS_ARGS,
# without the se0.25 part): (repeats, kernel, stride, expand ratio, in channels, out channels).
EFFICIENTNET_B0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
LITE_STEM, LITE_HEAD = 32, 1280


def _conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
             act: nn.Module | None = None) -> nn.Sequential:
    """Convolution without bias ('same' padding), BatchNorm, then ``act`` if given."""
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)


class LiteMBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-and-excitation: 1x1 expansion (omitted at
    expand ratio 1), k x k depthwise, linear 1x1 projection; identity skip when the shape is kept."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(_conv_bn(cin, mid, 1, act=nn.ReLU6()))
        layers.append(_conv_bn(mid, mid, kernel, stride, groups=mid, act=nn.ReLU6()))
        layers.append(_conv_bn(mid, cout, 1))
        self.block = nn.Sequential(*layers)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = self.block(x)
        return x + y if self.skip else y


class EfficientNetLite(nn.Module):
    def __init__(self, stages=EFFICIENTNET_B0_STAGES, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        self.stem = _conv_bn(3, LITE_STEM, 3, 2, act=nn.ReLU6())
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in stages:
            for i in range(repeats):
                blocks.append(LiteMBConv(cin if i == 0 else cout, cout, kernel, stride if i == 0 else 1, expand))
        self.blocks = nn.Sequential(*blocks)
        self.head = _conv_bn(stages[-1][-1], LITE_HEAD, 1, act=nn.ReLU6())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(LITE_HEAD, num_classes)

    def forward(self, x):
        x = self.head(self.blocks(self.stem(x)))
        return self.classifier(self.dropout(torch.flatten(self.pool(x), 1)))


def efficientnet_lite0() -> EfficientNetLite:
    """EfficientNet-Lite0: width 1.0, depth 1.0, 224 px, 1000 ImageNet classes."""
    return EfficientNetLite()


# ------------------------------------------------------------------------------ MobileNet v1

# (output channels, stride) of the 13 depthwise-separable blocks (arXiv:1704.04861, Table 1)
MOBILENET_V1_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
                       (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


class MobileNetV1(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 32, 3, 2, act=nn.ReLU())]
        cin = 32
        for cout, stride in MOBILENET_V1_BLOCKS:
            layers += [_conv_bn(cin, cin, 3, stride, groups=cin, act=nn.ReLU()), _conv_bn(cin, cout, 1, act=nn.ReLU())]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def mobilenet_v1() -> MobileNetV1:
    """MobileNet v1, width 1.0, 224 px, 1000 ImageNet classes."""
    return MobileNetV1()


# ------------------------------------------------------------------------------ NanoDet-Plus

def _leaky() -> nn.Module:
    return nn.LeakyReLU(0.1)  # nanodet's "LeakyReLU" activation (negative slope 0.1)


class DepthwiseSeparable(nn.Module):
    """k x k depthwise conv + BN + act, then 1x1 pointwise conv + BN + act (both bias-free)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1):
        super().__init__()
        self.depthwise = _conv_bn(cin, cin, kernel, stride, groups=cin, act=_leaky())
        self.pointwise = _conv_bn(cin, cout, 1, act=_leaky())

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class GhostModule(nn.Module):
    """Half the output channels from a 1x1 conv, the other half from a cheap 3x3 depthwise conv
    of those (ratio 2), concatenated."""

    def __init__(self, cin: int, cout: int, act: bool):
        super().__init__()
        primary = -(-cout // 2)
        self.primary = _conv_bn(cin, primary, 1, act=_leaky() if act else None)
        self.cheap = _conv_bn(primary, primary, 3, groups=primary, act=_leaky() if act else None)

    def forward(self, x):
        y = self.primary(x)
        return torch.cat([y, self.cheap(y)], 1)


class GhostBottleneck(nn.Module):
    """Stride-1 ghost bottleneck without SE: ghost module (with activation), ghost module
    (linear), plus a shortcut: identity, or k x k depthwise + BN + 1x1 + BN when channels change."""

    def __init__(self, cin: int, mid: int, cout: int, kernel: int):
        super().__init__()
        self.ghost1 = GhostModule(cin, mid, act=True)
        self.ghost2 = GhostModule(mid, cout, act=False)
        if cin == cout:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(_conv_bn(cin, cin, kernel, groups=cin), _conv_bn(cin, cout, 1))

    def forward(self, x):
        return self.ghost2(self.ghost1(x)) + self.shortcut(x)


class GhostPAN(nn.Module):
    """Path aggregation with ghost blocks (nanodet GhostPAN: expand 1, one block per merge, no
    residual reduce conv): 1x1 reduce of every input level, a top-down path (bilinear x2
    upsampling, concatenation, ghost bottleneck), a bottom-up path (stride-2 depthwise-separable
    downsampling, concatenation, ghost bottleneck), and one extra level: the sum of stride-2
    depthwise-separable convs of the top reduced input and of the top output."""

    def __init__(self, in_channels: list[int], channels: int, kernel: int = 5, extra_levels: int = 1):
        super().__init__()
        self.reduce = nn.ModuleList(_conv_bn(c, channels, 1, act=_leaky()) for c in in_channels)
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear")
        merges = len(in_channels) - 1
        self.top_down = nn.ModuleList(GhostBottleneck(2 * channels, channels, channels, kernel) for _ in range(merges))
        self.downsample = nn.ModuleList(DepthwiseSeparable(channels, channels, kernel, 2) for _ in range(merges))
        self.bottom_up = nn.ModuleList(GhostBottleneck(2 * channels, channels, channels, kernel) for _ in range(merges))
        self.extra_in = nn.ModuleList(DepthwiseSeparable(channels, channels, kernel, 2) for _ in range(extra_levels))
        self.extra_out = nn.ModuleList(DepthwiseSeparable(channels, channels, kernel, 2) for _ in range(extra_levels))

    def forward(self, feats):
        feats = [reduce(f) for reduce, f in zip(self.reduce, feats)]
        # top-down: from the coarsest level to the finest
        inner = [feats[-1]]
        for block, low in zip(self.top_down, reversed(feats[:-1])):
            inner.insert(0, block(torch.cat([self.upsample(inner[0]), low], 1)))
        # bottom-up: from the finest level back to the coarsest
        outs = [inner[0]]
        for down, block, high in zip(self.downsample, self.bottom_up, inner[1:]):
            outs.append(block(torch.cat([down(outs[-1]), high], 1)))
        for conv_in, conv_out in zip(self.extra_in, self.extra_out):
            outs.append(conv_in(feats[-1]) + conv_out(outs[-1]))
        return outs


class NanoDetPlusHead(nn.Module):
    """One unshared branch per level: ``stacked_convs`` depthwise-separable k x k conv modules,
    then a 1x1 conv (with bias) to num_classes + 4 x (reg_max + 1) outputs."""

    def __init__(self, levels: int, channels: int, num_classes: int = 80, stacked_convs: int = 2,
                 kernel: int = 5, reg_max: int = 7):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Sequential(*(DepthwiseSeparable(channels, channels, kernel) for _ in range(stacked_convs)))
            for _ in range(levels)
        )
        self.preds = nn.ModuleList(nn.Conv2d(channels, num_classes + 4 * (reg_max + 1), 1) for _ in range(levels))

    def forward(self, feats):
        outs = [pred(convs(f)).flatten(2) for f, convs, pred in zip(feats, self.convs, self.preds)]
        return torch.cat(outs, 2).permute(0, 2, 1)  # (batch, points, 80 class logits + 32 box bins)


class NanoDetPlus(nn.Module):
    def __init__(self, backbone_width: str = "1.0", channels: int = 96):
        super().__init__()
        import torchvision.models as tvm

        build = {"1.0": tvm.shufflenet_v2_x1_0, "1.5": tvm.shufflenet_v2_x1_5}[backbone_width]
        net = build(weights=None)
        for stage in (net.conv1, net.stage2, net.stage3, net.stage4):
            for parent in stage.modules():
                for name, child in parent.named_children():
                    if isinstance(child, nn.ReLU):
                        setattr(parent, name, _leaky())
        # stages 2, 3, 4 at strides 8, 16, 32; conv5 and the classifier are not part of NanoDet
        self.stem = nn.Sequential(net.conv1, net.maxpool)
        self.stages = nn.ModuleList([net.stage2, net.stage3, net.stage4])
        in_channels = list(net._stage_out_channels[1:4])  # 116, 232, 464 (1.0x); 176, 352, 704 (1.5x)
        self.fpn = GhostPAN(in_channels, channels, kernel=5, extra_levels=1)
        self.head = NanoDetPlusHead(levels=4, channels=channels)  # strides 8, 16, 32, 64

    def forward(self, images):
        x = self.stem(images)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return self.head(self.fpn(feats))


def nanodet_plus_m() -> NanoDetPlus:
    """NanoDet-Plus-m (ShuffleNetV2 1.0x, GhostPAN 96, 80 COCO classes); the zoo entries set the
    input, 320x320 or 416x416 (the network is the same)."""
    return NanoDetPlus("1.0", 96)


def nanodet_plus_m_1_5x_416() -> NanoDetPlus:
    """NanoDet-Plus-m-1.5x (ShuffleNetV2 1.5x, GhostPAN 128) on a 416x416 image."""
    return NanoDetPlus("1.5", 128)
