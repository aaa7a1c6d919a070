"""Lightweight edge networks that torchvision does not ship, written here from their published
architecture descriptions (layer tables, channel counts, kernel sizes), for the zoo.

EfficientNet-Lite0
    Google, https://github.com/tensorflow/tpu/blob/master/models/official/efficientnet/lite/README.md
    and ``lite/efficientnet_lite_builder.py`` next to it: the EfficientNet-B0 block table
    (Tan & Le 2019, arXiv:1905.11946, Table 1) with squeeze-and-excitation removed, swish
    replaced by ReLU6, stem (32) and head (1280) channels fixed; width 1.0, depth 1.0, 224 px,
    1000 classes. The README lists 4.7M parameters and 407M "MAdds". Lite1-Lite4 scale it
    (``efficientnet_lite_params``: width / depth / resolution 1.0/1.1/240, 1.1/1.2/260,
    1.2/1.4/280, 1.4/1.8/300; channels rounded to multiples of 8, repeats rounded up, the first and
    last stages' repeats kept): 5.4M / 631M, 6.1M / 899M, 8.2M / 1.44B, 13.0M / 2.64B in the README.

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
    training only and are not built. Like :mod:`chipfit.frontends.pytorch.nets.detection`, the network ends
    at the head's raw outputs (80 class logits + 4 x (reg_max + 1) = 32 distance bins per
    point): box decoding and NMS are post-processing and are not counted.

Inception-v4
    Szegedy et al. 2016, "Inception-v4, Inception-ResNet and the Impact of Residual Connections
    on Learning", arXiv:1602.07261, Figures 3-9 (stem, 4 x Inception-A, Reduction-A with
    k=192, l=224, m=256, n=384 from Table 1, 7 x Inception-B, Reduction-B, 3 x Inception-C,
    average pooling, dropout keeping 0.8, a 1000-way classifier; 299 px) with BatchNorm and ReLU
    after every convolution (no bias), as in the TF-slim release. Table 2: 20.0 % top-1 error.

TinyViT and the MobileSAM image encoder
    Wu et al. 2022, "TinyViT: Fast Pretraining Distillation for Small Vision Transformers",
    arXiv:2207.10666 (TinyViT-5M: widths 64-128-160-320, depths 2-2-6-2, heads 2-4-5-10,
    windows 7-7-14-7, MBConv first stage with expansion 4, MLP ratio 4, a 3x3 depthwise conv
    between attention and MLP, GELU). MobileSAM: Zhang et al. 2023, "Faster Segment Anything",
    arXiv:2306.14289, and https://github.com/ChaoningZhang/MobileSAM (Apache-2.0),
    ``mobile_sam/modeling/tiny_vit_sam.py`` and ``build_sam.py`` (the vit_t encoder at
    1024x1024: the last patch merging at stride 1 so the output grid is 64x64; window attention
    on the grid zero-padded to a multiple of the window; SAM's neck, Kirillov et al. 2023,
    arXiv:2304.02643: 1x1 and 3x3 convs to 256 channels without bias, each followed by a
    LayerNorm over channels).

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from chipfit.frontends.pytorch.nets.common import stage_outputs

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


#: EfficientNet-Lite scales (efficientnet_lite_builder.py, efficientnet_lite_params): width, depth, resolution
LITE_SCALES = {0: (1.0, 1.0, 224), 1: (1.0, 1.1, 240), 2: (1.1, 1.2, 260), 3: (1.2, 1.4, 280), 4: (1.4, 1.8, 300)}


def round_filters(c: int, width: float, divisor: int = 8) -> int:
    """EfficientNet's channel rounding: the nearest multiple of 8, never below 90 % of the scaled width."""
    scaled = c * width
    out = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    return out + divisor if out < 0.9 * scaled else out


def lite_stages(width: float, depth: float) -> tuple:
    """The B0 stage table scaled: channels by ``width``, repeats by ``depth`` rounded up, except the
    first and last stages' repeats (the Lite builders' ``fix_head_stem``); the first block reads the
    fixed 32-channel stem."""
    last = len(EFFICIENTNET_B0_STAGES) - 1
    return tuple((r if i in (0, last) else math.ceil(depth * r), k, s, e,
                  LITE_STEM if i == 0 else round_filters(cin, width), round_filters(cout, width))
                 for i, (r, k, s, e, cin, cout) in enumerate(EFFICIENTNET_B0_STAGES))


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


def _lite(n: int):
    def build() -> EfficientNetLite:
        width, depth, _ = LITE_SCALES[n]
        return EfficientNetLite(lite_stages(width, depth))
    build.__name__ = f"efficientnet_lite{n}"
    build.__doc__ = "EfficientNet-Lite{}: width {}, depth {}, {} px, 1000 ImageNet classes.".format(n, *LITE_SCALES[n])
    return build


efficientnet_lite1, efficientnet_lite2, efficientnet_lite3, efficientnet_lite4 = (_lite(n) for n in (1, 2, 3, 4))


def mobilenet_v2_140() -> nn.Module:
    """MobileNetV2 at width 1.4 (torchvision's MobileNetV2 with ``width_mult=1.4``; Sandler et al.
    2018, arXiv:1801.04381, Table 6 / the TF-slim release: 6.06M parameters, 582M MACs at 224)."""
    from torchvision.models import mobilenet_v2

    return mobilenet_v2(weights=None, width_mult=1.4)


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
        feats = stage_outputs(self.stages, self.stem(images))
        return self.head(self.fpn(feats))


def nanodet_plus_m() -> NanoDetPlus:
    """NanoDet-Plus-m (ShuffleNetV2 1.0x, GhostPAN 96, 80 COCO classes); the zoo entries set the
    input, 320x320 or 416x416 (the network is the same)."""
    return NanoDetPlus("1.0", 96)


def nanodet_plus_m_1_5x_416() -> NanoDetPlus:
    """NanoDet-Plus-m-1.5x (ShuffleNetV2 1.5x, GhostPAN 128) on a 416x416 image."""
    return NanoDetPlus("1.5", 128)


# ------------------------------------------------------------------------------ Inception-v4

def _inception_conv(cin: int, cout: int, kernel: int | tuple[int, int], stride: int = 1,
                    valid: bool = False) -> nn.Sequential:
    """Convolution without bias, BatchNorm, ReLU. The paper's figures mark valid-padded
    convolutions with "V"; all the others keep the grid ('same' padding)."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    padding = (0, 0) if valid else (kh // 2, kw // 2)
    return nn.Sequential(nn.Conv2d(cin, cout, (kh, kw), stride, padding, bias=False),
                         nn.BatchNorm2d(cout, eps=1e-3), nn.ReLU())


def _chain(cin: int, *layers: tuple) -> nn.Sequential:
    """A tower of ``_inception_conv``: each layer is (out channels, kernel[, stride, valid])."""
    convs = []
    for cout, *rest in layers:
        convs.append(_inception_conv(cin, cout, *rest))
        cin = cout
    return nn.Sequential(*convs)


def _pool_branch(cin: int, cout: int) -> nn.Sequential:
    """3x3 average pooling (stride 1, 'same') followed by a 1x1 convolution."""
    return nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False), _inception_conv(cin, cout, 1))


class _Branches(nn.Module):
    """Parallel towers whose outputs are concatenated along the channels."""

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], 1)


class InceptionV4Stem(nn.Module):
    """Figure 3: 299x299x3 -> 35x35x384, three concatenations of parallel branches."""

    def __init__(self):
        super().__init__()
        self.convs = _chain(3, (32, 3, 2, True), (32, 3, 1, True), (64, 3))          # 147x147x64
        self.pool1 = nn.MaxPool2d(3, 2)                                               # 73x73x64
        self.conv1 = _inception_conv(64, 96, 3, 2, True)                              # 73x73x96
        self.tower_a = _chain(160, (64, 1), (96, 3, 1, True))                         # 71x71x96
        self.tower_b = _chain(160, (64, 1), (64, (7, 1)), (64, (1, 7)), (96, 3, 1, True))
        self.conv2 = _inception_conv(192, 192, 3, 2, True)                            # 35x35x192
        self.pool2 = nn.MaxPool2d(3, 2)

    def forward(self, x):
        x = self.convs(x)
        x = torch.cat([self.pool1(x), self.conv1(x)], 1)
        x = torch.cat([self.tower_a(x), self.tower_b(x)], 1)
        return torch.cat([self.conv2(x), self.pool2(x)], 1)


class InceptionA(_Branches):
    """Figure 4, on the 35x35 grid: 384 -> 96 + 96 + 96 + 96 channels."""

    def __init__(self, cin: int = 384):
        super().__init__()
        self.branches = nn.ModuleList([
            _pool_branch(cin, 96),
            _chain(cin, (96, 1)),
            _chain(cin, (64, 1), (96, 3)),
            _chain(cin, (64, 1), (96, 3), (96, 3)),
        ])


class ReductionA(_Branches):
    """Figure 7 with Inception-v4's filter counts (Table 1: k=192, l=224, m=256, n=384):
    35x35x384 -> 17x17x(384 + 384 + 256)."""

    def __init__(self, cin: int = 384, k: int = 192, l: int = 224, m: int = 256, n: int = 384):  # noqa: E741
        super().__init__()
        self.branches = nn.ModuleList([
            nn.MaxPool2d(3, 2),
            _chain(cin, (n, 3, 2, True)),
            _chain(cin, (k, 1), (l, 3), (m, 3, 2, True)),
        ])


class InceptionB(_Branches):
    """Figure 5, on the 17x17 grid: 1024 -> 128 + 384 + 256 + 256 channels, with 1x7 and 7x1
    factorized convolutions."""

    def __init__(self, cin: int = 1024):
        super().__init__()
        self.branches = nn.ModuleList([
            _pool_branch(cin, 128),
            _chain(cin, (384, 1)),
            _chain(cin, (192, 1), (224, (1, 7)), (256, (7, 1))),
            _chain(cin, (192, 1), (192, (7, 1)), (224, (1, 7)), (224, (7, 1)), (256, (1, 7))),
        ])


class ReductionB(_Branches):
    """Figure 8: 17x17x1024 -> 8x8x(1024 + 192 + 320)."""

    def __init__(self, cin: int = 1024):
        super().__init__()
        self.branches = nn.ModuleList([
            nn.MaxPool2d(3, 2),
            _chain(cin, (192, 1), (192, 3, 2, True)),
            _chain(cin, (256, 1), (256, (1, 7)), (320, (7, 1)), (320, 3, 2, True)),
        ])


class _SplitTower(nn.Module):
    """A tower whose last feature map feeds a 1x3 and a 3x1 convolution side by side."""

    def __init__(self, tower: nn.Sequential, cout: int):
        super().__init__()
        cin = tower[-1][0].out_channels
        self.tower = tower
        self.wide = _inception_conv(cin, cout, (1, 3))
        self.tall = _inception_conv(cin, cout, (3, 1))

    def forward(self, x):
        x = self.tower(x)
        return torch.cat([self.wide(x), self.tall(x)], 1)


class InceptionC(_Branches):
    """Figure 6, on the 8x8 grid: 1536 -> 256 + 256 + 2 x 256 + 2 x 256 channels."""

    def __init__(self, cin: int = 1536):
        super().__init__()
        self.branches = nn.ModuleList([
            _pool_branch(cin, 256),
            _chain(cin, (256, 1)),
            _SplitTower(_chain(cin, (384, 1)), 256),
            _SplitTower(_chain(cin, (384, 1), (448, (1, 3)), (512, (3, 1))), 256),
        ])


class InceptionV4(nn.Module):
    """Figure 9: stem, 4 x Inception-A, Reduction-A, 7 x Inception-B, Reduction-B,
    3 x Inception-C, average pooling, dropout (keep 0.8), a fully connected classifier."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.features = nn.Sequential(
            InceptionV4Stem(),
            *(InceptionA() for _ in range(4)),
            ReductionA(),
            *(InceptionB() for _ in range(7)),
            ReductionB(),
            *(InceptionC() for _ in range(3)),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.classifier = nn.Linear(1536, num_classes)

    def forward(self, x):
        return self.classifier(self.dropout(torch.flatten(self.pool(self.features(x)), 1)))


def inception_v4() -> InceptionV4:
    """Inception-v4, 299 px, 1000 ImageNet classes."""
    return InceptionV4()


# ------------------------------------------------------- TinyViT and the MobileSAM image encoder

class TinyViTMBConv(nn.Module):
    """Inverted bottleneck of TinyViT's first stage: 1x1 expansion (x4) + GELU, 3x3 depthwise +
    GELU, 1x1 projection, the input added back, then GELU. BatchNorm after every convolution."""

    def __init__(self, dim: int, expand: int = 4):
        super().__init__()
        mid = dim * expand
        self.expand = _conv_bn(dim, mid, 1, act=nn.GELU())
        self.depthwise = _conv_bn(mid, mid, 3, groups=mid, act=nn.GELU())
        self.project = _conv_bn(mid, dim, 1)
        self.act = nn.GELU()

    def forward(self, x):
        return self.act(x + self.project(self.depthwise(self.expand(x))))


class TinyViTMerge(nn.Module):
    """Patch merging between stages: 1x1 conv to the next width + GELU, 3x3 depthwise conv
    (stride 2, or 1 where MobileSAM keeps the 64x64 grid) + GELU, 1x1 conv."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.reduce = _conv_bn(cin, cout, 1, act=nn.GELU())
        self.depthwise = _conv_bn(cout, cout, 3, stride, groups=cout, act=nn.GELU())
        self.mix = _conv_bn(cout, cout, 1)

    def forward(self, x):
        return self.mix(self.depthwise(self.reduce(x)))


class WindowAttention(nn.Module):
    """Pre-norm multi-head self-attention inside one window of ``window`` x ``window`` tokens,
    with a learned bias per head for each (|row offset|, |column offset|) pair of two tokens."""

    def __init__(self, dim: int, heads: int, window: int):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.offset_bias = nn.Parameter(torch.zeros(heads, window * window))
        rows = torch.arange(window).repeat_interleave(window)
        cols = torch.arange(window).repeat(window)
        pair = (rows[:, None] - rows[None, :]).abs() * window + (cols[:, None] - cols[None, :]).abs()
        self.register_buffer("pair_offset", pair, persistent=False)

    def forward(self, x):  # (windows, tokens, dim)
        windows, tokens, dim = x.shape
        qkv = self.qkv(self.norm(x)).reshape(windows, tokens, 3, self.heads, dim // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-2, -1)) * self.scale + self.offset_bias[:, self.pair_offset]
        out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(windows, tokens, dim)
        return self.proj(out)


class TinyViTBlock(nn.Module):
    """Window attention on the grid zero-padded up to a multiple of the window (the padded
    tokens take part, as in the released model), a residual add, a 3x3 depthwise conv + BN, then
    a pre-norm MLP (ratio 4, GELU) with a residual add. Works on channels-last maps."""

    def __init__(self, dim: int, heads: int, window: int, mlp_ratio: int = 4):
        super().__init__()
        self.window = window
        self.attn = WindowAttention(dim, heads, window)
        self.local_conv = _conv_bn(dim, dim, 3, groups=dim)
        self.mlp = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, mlp_ratio * dim), nn.GELU(),
                                 nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x):  # (batch, height, width, dim)
        b, h, w, c = x.shape
        ws = self.window
        ph, pw = -h % ws, -w % ws
        y = nn.functional.pad(x, (0, 0, 0, pw, 0, ph)) if ph or pw else x
        nh, nw = (h + ph) // ws, (w + pw) // ws
        y = y.reshape(b, nh, ws, nw, ws, c).transpose(2, 3).reshape(b * nh * nw, ws * ws, c)
        y = self.attn(y).reshape(b, nh, nw, ws, ws, c).transpose(2, 3).reshape(b, h + ph, w + pw, c)
        x = x + y[:, :h, :w]
        x = self.local_conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return x + self.mlp(x)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an NCHW map (SAM's neck, eps 1e-6)."""

    def __init__(self, channels: int):
        super().__init__(channels, eps=1e-6)

    def forward(self, x):
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


# TinyViT-5M (arXiv:2207.10666, Table 1 / the MobileSAM "vit_t" encoder): per stage
# (width, blocks, attention heads, window); stage 0 is convolutional (MBConv), without heads.
TINYVIT_5M_STAGES = ((64, 2, 0, 0), (128, 2, 4, 7), (160, 6, 5, 14), (320, 2, 10, 7))


class TinyViT(nn.Module):
    """TinyViT (arXiv:2207.10666): a two-conv stem (3x3 stride 2 to half the first width + GELU,
    3x3 stride 2) to a quarter of the input grid, stage 0 of MBConv blocks, then patch merging and
    TinyViT blocks in each later stage. Patch merging halves the grid, except before the last
    stage when ``last_stride`` is 1 (MobileSAM's change for its 1024 input: a 64x64 grid, not
    32x32).

    With ``neck_channels`` the network ends with SAM's neck (arXiv:2304.02643: 1x1 conv without
    bias, LayerNorm2d, 3x3 conv without bias, LayerNorm2d) and returns the image embedding;
    otherwise with the ImageNet classifier (average over the grid, LayerNorm, linear)."""

    def __init__(self, stages=TINYVIT_5M_STAGES, last_stride: int = 2, num_classes: int = 1000,
                 neck_channels: int | None = None):
        super().__init__()
        first = stages[0][0]
        self.stem = nn.Sequential(_conv_bn(3, first // 2, 3, 2, act=nn.GELU()), _conv_bn(first // 2, first, 3, 2))
        self.stage0 = nn.Sequential(*(TinyViTMBConv(first) for _ in range(stages[0][1])))
        self.merges = nn.ModuleList()
        self.stages = nn.ModuleList()
        for i, (dim, blocks, heads, window) in enumerate(stages[1:], start=1):
            stride = last_stride if i == len(stages) - 1 else 2
            self.merges.append(TinyViTMerge(stages[i - 1][0], dim, stride))
            self.stages.append(nn.Sequential(*(TinyViTBlock(dim, heads, window) for _ in range(blocks))))
        last = stages[-1][0]
        if neck_channels:
            self.neck = nn.Sequential(
                nn.Conv2d(last, neck_channels, 1, bias=False), LayerNorm2d(neck_channels),
                nn.Conv2d(neck_channels, neck_channels, 3, padding=1, bias=False), LayerNorm2d(neck_channels),
            )
        else:
            self.norm = nn.LayerNorm(last)
            self.classifier = nn.Linear(last, num_classes)

    def forward(self, images):
        x = self.stage0(self.stem(images))
        for merge, stage in zip(self.merges, self.stages):
            x = stage(merge(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        if hasattr(self, "neck"):
            return self.neck(x)
        return self.classifier(self.norm(x.mean((2, 3))))


def tiny_vit_5m() -> TinyViT:
    """TinyViT-5M ImageNet classifier (224 px, 1000 classes)."""
    return TinyViT()


def mobilesam_encoder() -> TinyViT:
    """MobileSAM's image encoder: TinyViT-5M on a 1024x1024 image, last patch merging at stride
    1, SAM's neck to a 256 x 64 x 64 image embedding. TinyViT's ImageNet classifier (LayerNorm +
    320 x 1000 linear) is also in MobileSAM's checkpoint, but the encoder's forward never runs it,
    so it is not built here."""
    return TinyViT(last_stride=1, neck_channels=256)
