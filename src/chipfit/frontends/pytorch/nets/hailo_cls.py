"""More ImageNet classifiers as the Hailo Model Zoo compiles them (1000 classes), for the zoo. The
Hailo Model Zoo is https://github.com/hailo-ai/hailo_model_zoo (commit c83fc030); each network's
``hailo_model_zoo/cfg/networks/<id>.yaml`` names its source and gives ``info.parameters`` and
``info.operations`` (operations: two per multiply-accumulate, plus a little non-multiply work).

deit_tiny (Hailo's ``deit_tiny`` and ``vit_tiny``)
    ViT-Ti/16: Touvron et al. 2021, arXiv:2012.12877, Table 1 (DeiT-Ti: width 192, 3 heads, 12
    layers, MLP ratio 4, class token, 16x16 patches at 224 px; 5M parameters, 1.3G FLOPs counted as
    multiply-adds). Hailo's ``vit_tiny`` is timm's ``vit_tiny_patch16_224``
    (https://github.com/huggingface/pytorch-image-models ``vision_transformer.py``), the same
    architecture with other weights. Built with torchvision's VisionTransformer class. Hailo:
    deit_tiny 5.3M / 2.57G OPS, vit_tiny 5.73M / 2.2G OPS (two figures for one architecture).
    Hailo's ``vit_small`` (timm ``vit_small_patch16_224``) is likewise DeiT-S, ``deit_small``.

vit_tiny_bn, vit_small_bn, vit_base_bn
    Hailo's ViTs with every LayerNorm replaced by a per-channel normalisation, from Hailo's fork
    https://github.com/hailo-ai/pytorch-image-models (branch Hailo-0.x, ``vision_transformer.py``,
    ``layers/linear_bn.py``, ``layers/unified_normalization.py``), whose ONNX file names the
    model zoo cfgs give:

    * ``vit_tiny_bn`` = ``vit_tiny_un_patch16_224``: ViT-Ti/16 with "unified normalisation" (at
      inference a per-channel scale and shift of the token features, like BatchNorm) for the
      pre-attention, pre-MLP and final norms and inside the MLP (after the GELU, before the second
      linear layer).
    * ``vit_small_bn`` = ``vit_small_bn_ffnbn_relu_patch16_224``: ViT-S/16 (width 384; the fork
      registers it with 3 heads, which changes no count) with BatchNorm over the token features in
      place of every LayerNorm and inside the MLP, and ReLU in place of GELU.
    * ``vit_base_bn`` (file ``vit_base_patch16_224_unfilt``) = ``vit_base_un_patch16_224``:
      ViT-B/16 with unified normalisation for its LayerNorms, no norm inside the MLP, GELU.

    Built here with torchvision's VisionTransformer and a BatchNorm applied to the feature axis of
    the (batch, tokens, features) tensor. Hailo: 5.73M / 2.2G, 21.12M / 8.62G, 86.5M / 35.188G OPS
    (the first two copied from ``vit_tiny`` / ``vit_small``).

resmlp12_relu
    ResMLP-12: Touvron et al. 2021, "ResMLP: Feedforward networks for image classification with
    data-efficient training", arXiv:2105.03404 (ResMLP-S12: 15M parameters, 3.0G FLOPs), as timm
    builds it (``mlp_mixer.py``, ``resmlp_12_224``): a 16x16 patch embedding to 384 channels, 12
    layers of (norm, a linear map across the 196 patches, a per-channel layer scale, residual;
    norm, an MLP 384-1536-384, a layer scale, residual), a norm, average pooling over the patches,
    a classifier. Hailo's ONNX (``resmlp_12_224_bn_relu``) names BatchNorm and ReLU: built with a
    BatchNorm over the features in place of the Affine norms (the same two parameters per channel)
    and ReLU in place of GELU. Hailo: 15.77M / 6.04G OPS (its parameter figure 2.7 % above the
    architecture's 15.35M).

repghost_1_0x, repghost_2_0x
    Chen et al. 2022, "RepGhost: A Hardware-Efficient Ghost Module via Re-parameterization",
    arXiv:2211.06088, and https://github.com/ChengpengChen/RepGhost ``model/repghost.py``
    (``repghostnet``, width 1.0 and 2.0) in its deploy form: a RepGhost module is a 1x1 conv +
    BatchNorm (+ ReLU) followed by a 3x3 depthwise conv with bias (the BatchNorm branch fused in;
    no concatenation), then ReLU in the expanding module; a bottleneck is expand module, a k x k
    stride-2 depthwise conv + BatchNorm where it downsamples, a hard-sigmoid squeeze-excite in six
    of them, project module, residual (a depthwise conv + BN and 1x1 conv + BN where the shape
    changes). Channels are rounded to multiples of 4; a 1x1 conv to 960 x width ends the features;
    after global pooling a 1x1 conv with bias to 1280 + ReLU and the classifier. Readme: 1.0x
    4.1M / 142M FLOPs, 2.0x 9.8M / 516M (multiply-adds). Hailo: 4.1M / 0.28G and 9.8M / 1.04G OPS.

efficientnet_s, efficientnet_m, efficientnet_l
    Hailo's ids for EfficientNet-EdgeTPU S/M/L (TFLite, 1001 classes), from
    https://github.com/tensorflow/tpu ``models/official/efficientnet/edgetpu/
    efficientnet_edgetpu_builder.py`` (blocks ``r1_k3_s11_e4_i24_o24_c1_noskip``,
    ``r2_k3_s22_e8_i24_o32_c1``, ``r4_k3_s22_e8_i32_o48_c1``, ``r5_k5_s22_e8_i48_o96``,
    ``r4_k5_s11_e8_i96_o144``, ``r2_k5_s22_e8_i144_o192``; width / depth / resolution 1.0 / 1.0 /
    224, 1.0 / 1.1 / 240, 1.2 / 1.4 / 300; ReLU) and ``efficientnet_model.py``: a 3x3 stride-2 stem
    to 32 x width, ``c1`` blocks as ``MBConvBlockWithoutDepthwise`` (a 3x3 expansion conv at
    stride 1, then a 1x1 projection carrying the stride), the rest MBConv without squeeze-excite,
    channels rounded to multiples of 8, every stage's repeats scaled and rounded up, a 1x1 conv to
    1280 x width. A block expands its *stated* input width, so the first block reads the 32-channel
    stem but expands to 24 x 4 = 96. Built with 1000 classes. Hailo: 5.41M / 4.72G, 6.87M / 7.32G,
    10.55M / 19.4G OPS.

poolformer_s12
    Yu et al. 2022, "MetaFormer Is Actually What You Need for Vision", arXiv:2111.11418
    (PoolFormer-S12: 12M parameters, 1.8G MACs), and https://github.com/sail-sg/poolformer
    ``models/poolformer.py``: a 7x7 stride-4 conv embedding (padding 2), stages of 2, 2, 6, 2
    blocks at 64, 128, 320, 512 channels joined by 3x3 stride-2 conv embeddings; a block is
    GroupNorm(1 group), 3x3 average pooling (padding not counted) minus its input, a layer scale,
    residual, then GroupNorm, a 1x1 conv MLP (ratio 4, GELU), a layer scale, residual; GroupNorm,
    global average pooling, a classifier. Hailo: 11.93M / 3.67G OPS.

efficientformer_l1
    Li et al. 2022, "EfficientFormer: Vision Transformers at MobileNet Speed", arXiv:2206.01191
    (L1: 12.3M parameters, 1.3G MACs), and https://github.com/snap-research/EfficientFormer
    ``models/efficientformer.py`` (``efficientformer_l1``: widths 48, 96, 224, 448, depths 3, 2,
    6, 4, ``vit_num`` 1): a stem of two 3x3 stride-2 conv + BN + ReLU layers; Meta4D blocks
    (3x3 average pool minus the input, then a 1x1 conv MLP with BatchNorm after each conv and
    GELU, layer scales, residuals, no norm in front); 3x3 stride-2 conv + BN embeddings between
    stages; the last block a Meta3D block on the 49 flattened tokens (LayerNorm, attention with
    8 heads of key size 32 and value size 128 plus a learned bias per head and relative offset,
    LayerNorm, linear MLP with ratio 4); LayerNorm, mean over the tokens, and the average of the
    classifier and the distillation classifier, as at inference. Hailo: 12.3M / 2.6G OPS.

levit128, levit192, levit256, levit384
    Graham et al. 2021, "LeViT: a Vision Transformer in ConvNet's Clothing for Faster Inference",
    arXiv:2104.01136, and https://github.com/facebookresearch/LeViT ``levit.py`` (``specification``
    and ``model_factory``: widths C, key size D, heads N, four blocks per stage): a stem of four 3x3
    stride-2 conv + BN layers (Hardswish between) to 14x14 tokens; per stage four residual pairs of
    attention (Linear + BN to queries and keys of size D and values of 2 D per head, softmax of the
    scaled q k^T plus a learned bias per head and relative offset, Hardswish, Linear + BN) and MLP
    (Linear + BN to 2x, Hardswish, Linear + BN); between stages a stride-2 attention (keys and values
    from all tokens, queries from every other token of every other row, width / D heads, values of
    4 D, no residual) and an MLP; token mean; the average of a BN + linear classifier and a BN + linear
    distillation classifier. Paper: 9.2M / 406M, 10.9M / 658M, 18.9M / 1120M, 39.1M / 2353M
    multiply-adds. Hailo: 9.2M / 0.8G, 10.9M / 1.3G, 18.9M / 2.3G, 39.1M / 4.7G OPS.

No input normalisation is built in (as for the other zoo classifiers). The code is chipfit's
own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from chipfit.frontends.pytorch.nets.hailo_nets import conv_bn_act
from chipfit.frontends.pytorch.nets.lite_nets import round_filters

# ---------------------------------------------------------------------------------- ViT / DeiT

class TokenBatchNorm(nn.Module):
    """BatchNorm over the feature axis of a (batch, tokens, features) tensor: at inference a
    per-channel scale and shift, as Hailo's BatchNorm and unified-normalisation ViTs have it."""

    def __init__(self, features: int):
        super().__init__()
        self.bn = nn.BatchNorm1d(features)

    def forward(self, x):
        return self.bn(x.transpose(1, 2)).transpose(1, 2)


def _vit(width: int, heads: int, norm_layer=None) -> nn.Module:
    from torchvision.models.vision_transformer import VisionTransformer

    kwargs = {} if norm_layer is None else {"norm_layer": norm_layer}
    return VisionTransformer(image_size=224, patch_size=16, num_layers=12, num_heads=heads,
                             hidden_dim=width, mlp_dim=4 * width, num_classes=1000, **kwargs)


def deit_tiny() -> nn.Module:
    """DeiT-Ti / ViT-Ti/16 (width 192, 3 heads, 12 layers), 224 px, 1000 classes."""
    return _vit(192, 3)


def _vit_bn(width: int, heads: int, act: type[nn.Module], mlp_norm: bool) -> nn.Module:
    """ViT-x/16 with TokenBatchNorm for every LayerNorm; the MLP's activation ``act`` and, when
    ``mlp_norm``, a TokenBatchNorm between the activation and the second linear layer."""
    model = _vit(width, heads, TokenBatchNorm)
    for layer in model.encoder.layers:
        mlp = [nn.Linear(width, 4 * width), act()]
        if mlp_norm:
            mlp.append(TokenBatchNorm(4 * width))
        layer.mlp = nn.Sequential(*mlp, nn.Linear(4 * width, width))
    return model


def vit_tiny_bn() -> nn.Module:
    """Hailo's vit_tiny_bn: ViT-Ti/16 with per-channel norms (also inside the MLP), GELU."""
    return _vit_bn(192, 3, nn.GELU, mlp_norm=True)


def vit_small_bn() -> nn.Module:
    """Hailo's vit_small_bn: ViT-S/16 (3 heads) with BatchNorms (also inside the MLP), ReLU."""
    return _vit_bn(384, 3, nn.ReLU, mlp_norm=True)


def vit_base_bn() -> nn.Module:
    """Hailo's vit_base_bn: ViT-B/16 with per-channel norms in place of LayerNorm, GELU."""
    return _vit_bn(768, 12, nn.GELU, mlp_norm=False)


# ------------------------------------------------------------------------------------ ResMLP

class ResMLPBlock(nn.Module):
    """A ResMLP layer: norm, a linear map across the patches, a per-channel layer scale, residual;
    norm, a two-layer MLP across the channels, a layer scale, residual."""

    def __init__(self, dim: int, patches: int, act: type[nn.Module], norm: type[nn.Module]):
        super().__init__()
        self.norm1 = norm(dim)
        self.cross_patch = nn.Linear(patches, patches)
        self.ls1 = nn.Parameter(torch.ones(dim))
        self.norm2 = norm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), act(), nn.Linear(4 * dim, dim))
        self.ls2 = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        x = x + self.ls1 * self.cross_patch(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.ls2 * self.mlp(self.norm2(x))


class ResMLP(nn.Module):
    """ResMLP: 16x16 patch embedding, ``depth`` ResMLP layers, a norm, average pooling over the
    patches, a linear classifier."""

    def __init__(self, dim: int = 384, depth: int = 12, act: type[nn.Module] = nn.ReLU,
                 norm: type[nn.Module] = TokenBatchNorm, image_size: int = 224,
                 num_classes: int = 1000):
        super().__init__()
        patches = (image_size // 16) ** 2
        self.stem = nn.Conv2d(3, dim, 16, 16)
        self.blocks = nn.Sequential(*(ResMLPBlock(dim, patches, act, norm) for _ in range(depth)))
        self.norm = norm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        x = self.stem(x).flatten(2).transpose(1, 2)
        return self.head(self.norm(self.blocks(x)).mean(1))


def resmlp12_relu() -> ResMLP:
    """Hailo's resmlp12_relu: ResMLP-12 (width 384) with BatchNorm for its Affine norms and ReLU
    in its MLPs, 224 px, 1000 classes."""
    return ResMLP(384, 12, nn.ReLU, TokenBatchNorm)


# ---------------------------------------------------------------------------------- RepGhost

class RepGhostModule(nn.Module):
    """The RepGhost module in deploy form: a 1x1 conv + BatchNorm (+ ReLU), then a 3x3 depthwise
    conv with bias (its re-parameterised identity branch fused in), then ReLU when ``relu``."""

    def __init__(self, cin: int, cout: int, relu: bool):
        super().__init__()
        self.primary = conv_bn_act(cin, cout, 1, act=nn.ReLU() if relu else None)
        self.cheap = nn.Conv2d(cout, cout, 3, 1, 1, groups=cout)
        self.act = nn.ReLU() if relu else nn.Identity()

    def forward(self, x):
        return self.act(self.cheap(self.primary(x)))


class HardSigmoidSE(nn.Module):
    """Squeeze-excite: average pool, 1x1 conv to ``reduced`` + ReLU, 1x1 conv back, hard sigmoid
    (relu6(x + 3) / 6) gate."""

    def __init__(self, ch: int, reduced: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(ch, reduced, 1)
        self.expand = nn.Conv2d(reduced, ch, 1)

    def forward(self, x):
        s = self.expand(torch.relu(self.reduce(self.pool(x))))
        return x * (nn.functional.relu6(s + 3) / 6)


class RepGhostBottleneck(nn.Module):
    """RepGhost module (expand, ReLU); a k x k stride-s depthwise conv + BatchNorm when s > 1;
    optional squeeze-excite; RepGhost module (project, linear); a residual, through a k x k
    depthwise conv + BN and a 1x1 conv + BN when the shape changes."""

    def __init__(self, cin: int, mid: int, cout: int, kernel: int, stride: int, se: bool):
        super().__init__()
        layers = [RepGhostModule(cin, mid, relu=True)]
        if stride > 1:
            layers.append(conv_bn_act(mid, mid, kernel, stride, groups=mid))
        if se:
            layers.append(HardSigmoidSE(mid, round_filters(mid, 0.25, 4)))
        layers.append(RepGhostModule(mid, cout, relu=False))
        self.body = nn.Sequential(*layers)
        if cin == cout and stride == 1:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Sequential(conv_bn_act(cin, cin, kernel, stride, groups=cin),
                                          conv_bn_act(cin, cout, 1))

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


#: RepGhostNet 1.0x bottlenecks: (kernel, expansion width, output width, squeeze-excite, stride)
REPGHOST_BLOCKS = (
    (3, 8, 16, False, 1),
    (3, 24, 24, False, 2), (3, 36, 24, False, 1),
    (5, 36, 40, True, 2), (5, 60, 40, True, 1),
    (3, 120, 80, False, 2), (3, 100, 80, False, 1), (3, 120, 80, False, 1), (3, 120, 80, False, 1),
    (3, 240, 112, True, 1), (3, 336, 112, True, 1),
    (5, 336, 160, True, 2), (5, 480, 160, False, 1), (5, 480, 160, True, 1),
    (5, 480, 160, False, 1), (5, 480, 160, True, 1),
)


class RepGhostNet(nn.Module):
    """RepGhostNet at width multiplier ``width`` (deploy form): a 3x3 stride-2 conv, the
    bottlenecks, a 1x1 conv to 960 x width, global pooling, a 1x1 conv (with bias) to 1280 + ReLU,
    a linear classifier."""

    def __init__(self, width: float, num_classes: int = 1000):
        super().__init__()
        cin = round_filters(16, width, 4)
        layers = [conv_bn_act(3, cin, 3, 2, act=nn.ReLU())]
        for k, exp, c, se, s in REPGHOST_BLOCKS:
            cout = round_filters(c, width, 4)
            layers.append(RepGhostBottleneck(cin, round_filters(exp, width, 4), cout, k, s, se))
            cin = cout
        last = round_filters(REPGHOST_BLOCKS[-1][1] * 2, width, 4)
        layers.append(conv_bn_act(cin, last, 1, act=nn.ReLU()))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Conv2d(last, 1280, 1), nn.ReLU())
        self.fc = nn.Linear(1280, num_classes)

    def forward(self, x):
        return self.fc(self.head(self.pool(self.features(x))).flatten(1))


def repghost_1_0x() -> RepGhostNet:
    """RepGhostNet 1.0x (deploy form), 224 px, 1000 classes."""
    return RepGhostNet(1.0)


def repghost_2_0x() -> RepGhostNet:
    """RepGhostNet 2.0x (deploy form), 224 px, 1000 classes."""
    return RepGhostNet(2.0)


# --------------------------------------------------------------------- EfficientNet-EdgeTPU

class EdgeTPUMBConv(nn.Module):
    """EfficientNet's MBConv without squeeze-excite, ReLU: 1x1 expansion (none at ratio 1),
    k x k stride-s depthwise conv, linear 1x1 projection; or, ``fused``, a k x k expansion conv at
    stride 1 (to ``mid`` channels) and a 1x1 projection carrying the stride. BatchNorm after every
    conv; an identity skip when the stride is 1, the widths match and ``skip``."""

    def __init__(self, cin: int, mid: int, cout: int, kernel: int, stride: int, fused: bool,
                 skip: bool = True):
        super().__init__()
        layers = []
        if mid != cin or fused:
            layers.append(conv_bn_act(cin, mid, kernel if fused else 1, act=nn.ReLU()))
        if not fused:
            layers.append(conv_bn_act(mid, mid, kernel, stride, groups=mid, act=nn.ReLU()))
        layers.append(conv_bn_act(mid, cout, 1, stride if fused else 1))
        self.body = nn.Sequential(*layers)
        self.skip = skip and stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.skip else y


#: tensorflow/tpu efficientnet_edgetpu_builder.py blocks: (repeats, kernel, stride, expansion,
#: input filters, output filters, fused, skip)
EDGETPU_STAGES = (
    (1, 3, 1, 4, 24, 24, True, False),
    (2, 3, 2, 8, 24, 32, True, True),
    (4, 3, 2, 8, 32, 48, True, True),
    (5, 5, 2, 8, 48, 96, False, True),
    (4, 5, 1, 8, 96, 144, False, True),
    (2, 5, 2, 8, 144, 192, False, True),
)

#: efficientnet_edgetpu_params: width, depth, resolution
EDGETPU_SCALES = {"S": (1.0, 1.0, 224), "M": (1.0, 1.1, 240), "L": (1.2, 1.4, 300)}


class EfficientNetEdgeTPU(nn.Module):
    """EfficientNet-EdgeTPU: a 3x3 stride-2 conv to 32 x width, the stages (channels scaled by the
    width and rounded to multiples of 8, repeats by the depth rounded up), a 1x1 conv to
    1280 x width, global pooling, a linear classifier; ReLU throughout. A block's expansion width
    is its *stated* input filters x expansion (the first block reads the stem's 32 x width
    channels but expands to 24 x 4, as the TF builder has it)."""

    def __init__(self, size: str, num_classes: int = 1000):
        super().__init__()
        width, depth, _ = EDGETPU_SCALES[size]
        cin = round_filters(32, width)
        layers = [conv_bn_act(3, cin, 3, 2, act=nn.ReLU())]
        for repeats, k, s, e, i, o, fused, skip in EDGETPU_STAGES:
            i, o = round_filters(i, width), round_filters(o, width)
            for j in range(math.ceil(depth * repeats)):
                layers.append(EdgeTPUMBConv(cin, (i if j == 0 else o) * e, o, k, s if j == 0 else 1,
                                            fused, skip))
                cin = o
        head = round_filters(1280, width)
        layers.append(conv_bn_act(cin, head, 1, act=nn.ReLU()))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(head, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


def efficientnet_edgetpu_s() -> EfficientNetEdgeTPU:
    """EfficientNet-EdgeTPU-S (Hailo's efficientnet_s), 224 px, 1000 classes."""
    return EfficientNetEdgeTPU("S")


def efficientnet_edgetpu_m() -> EfficientNetEdgeTPU:
    """EfficientNet-EdgeTPU-M (Hailo's efficientnet_m), 240 px, 1000 classes."""
    return EfficientNetEdgeTPU("M")


def efficientnet_edgetpu_l() -> EfficientNetEdgeTPU:
    """EfficientNet-EdgeTPU-L (Hailo's efficientnet_l), 300 px, 1000 classes."""
    return EfficientNetEdgeTPU("L")


# -------------------------------------------------------------------------------- PoolFormer

class PoolFormerBlock(nn.Module):
    """GroupNorm(1), pooling mixer (3x3 average pool, padding not counted, minus the input), layer
    scale, residual; GroupNorm(1), 1x1 conv MLP (ratio 4, GELU), layer scale, residual."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm1 = nn.GroupNorm(1, dim)
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.ls1 = nn.Parameter(torch.ones(dim, 1, 1))
        self.norm2 = nn.GroupNorm(1, dim)
        self.mlp = nn.Sequential(nn.Conv2d(dim, 4 * dim, 1), nn.GELU(), nn.Conv2d(4 * dim, dim, 1))
        self.ls2 = nn.Parameter(torch.ones(dim, 1, 1))

    def forward(self, x):
        y = self.norm1(x)
        x = x + self.ls1 * (self.pool(y) - y)
        return x + self.ls2 * self.mlp(self.norm2(x))


class PoolFormer(nn.Module):
    """PoolFormer: a 7x7 stride-4 conv embedding, four stages of PoolFormer blocks joined by 3x3
    stride-2 conv embeddings, GroupNorm(1), global average pooling, a classifier."""

    def __init__(self, depths=(2, 2, 6, 2), dims=(64, 128, 320, 512), num_classes: int = 1000):
        super().__init__()
        layers, cin = [nn.Conv2d(3, dims[0], 7, 4, 2)], dims[0]
        for i, (n, d) in enumerate(zip(depths, dims)):
            if i:
                layers.append(nn.Conv2d(cin, d, 3, 2, 1))
            layers += [PoolFormerBlock(d) for _ in range(n)]
            cin = d
        self.features = nn.Sequential(*layers)
        self.norm = nn.GroupNorm(1, cin)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.head(self.norm(self.features(x)).mean((2, 3)))


def poolformer_s12() -> PoolFormer:
    """PoolFormer-S12 (2, 2, 6, 2 blocks at 64, 128, 320, 512 channels), 224 px, 1000 classes."""
    return PoolFormer()


# --------------------------------------------------------------------------- EfficientFormer

class ConvMlpBN(nn.Module):
    """EfficientFormer's 4-D MLP: 1x1 conv + BatchNorm, GELU, 1x1 conv + BatchNorm."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(dim, hidden, 1), nn.BatchNorm2d(hidden), nn.GELU(),
                                  nn.Conv2d(hidden, dim, 1), nn.BatchNorm2d(dim))

    def forward(self, x):
        return self.body(x)


class Meta4D(nn.Module):
    """Pooling mixer (3x3 average pool minus the input) and a conv MLP, each with a layer scale
    and a residual; no norm before either."""

    def __init__(self, dim: int):
        super().__init__()
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
        self.ls1 = nn.Parameter(torch.ones(dim, 1, 1))
        self.mlp = ConvMlpBN(dim, 4 * dim)
        self.ls2 = nn.Parameter(torch.ones(dim, 1, 1))

    def forward(self, x):
        x = x + self.ls1 * (self.pool(x) - x)
        return x + self.ls2 * self.mlp(x)


class BiasedAttention(nn.Module):
    """LeViT-style attention on a ``res`` x ``res`` grid: one linear to queries and keys
    (``key_dim`` per head) and values (``ratio`` x ``key_dim`` per head), softmax(q k^T / sqrt(key_dim)
    + a learned bias per head and relative offset) v, a linear projection."""

    def __init__(self, dim: int, key_dim: int = 32, heads: int = 8, ratio: int = 4, res: int = 7):
        super().__init__()
        self.heads, self.key_dim, self.d = heads, key_dim, ratio * key_dim
        self.qkv = nn.Linear(dim, heads * (2 * key_dim + self.d))
        self.proj = nn.Linear(heads * self.d, dim)
        points = [(i, j) for i in range(res) for j in range(res)]
        offsets: dict[tuple[int, int], int] = {}
        idx = [offsets.setdefault((abs(a[0] - b[0]), abs(a[1] - b[1])), len(offsets))
               for a in points for b in points]
        self.biases = nn.Parameter(torch.zeros(heads, len(offsets)))
        self.register_buffer("bias_idx", torch.tensor(idx).view(len(points), len(points)),
                             persistent=False)

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = self.qkv(x).view(b, n, self.heads, -1).split(
            [self.key_dim, self.key_dim, self.d], dim=3)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        attn = (q @ k.transpose(-2, -1)) * self.key_dim ** -0.5 + self.biases[:, self.bias_idx]
        x = (attn.softmax(-1) @ v).transpose(1, 2).reshape(b, n, self.heads * self.d)
        return self.proj(x)


class Meta3D(nn.Module):
    """LayerNorm, attention, layer scale, residual; LayerNorm, linear MLP (ratio 4, GELU), layer
    scale, residual, on (batch, tokens, channels)."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = BiasedAttention(dim)
        self.ls1 = nn.Parameter(torch.ones(dim))
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.ls2 = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        x = x + self.ls1 * self.attn(self.norm1(x))
        return x + self.ls2 * self.mlp(self.norm2(x))


class EfficientFormer(nn.Module):
    """EfficientFormer: two 3x3 stride-2 conv + BN + ReLU stem layers, four stages of Meta4D
    blocks joined by 3x3 stride-2 conv + BN embeddings, the last ``vit_num`` blocks Meta3D on
    the flattened tokens; LayerNorm, token mean, and the average of a classifier and a
    distillation classifier."""

    def __init__(self, depths=(3, 2, 6, 4), dims=(48, 96, 224, 448), vit_num: int = 1,
                 num_classes: int = 1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dims[0] // 2, 3, 2, 1), nn.BatchNorm2d(dims[0] // 2),
                                  nn.ReLU(), nn.Conv2d(dims[0] // 2, dims[0], 3, 2, 1),
                                  nn.BatchNorm2d(dims[0]), nn.ReLU())
        layers, cin = [], dims[0]
        for i, (n, d) in enumerate(zip(depths, dims)):
            if i:
                layers += [nn.Conv2d(cin, d, 3, 2, 1), nn.BatchNorm2d(d)]
            n4 = n - vit_num if i == len(depths) - 1 else n
            layers += [Meta4D(d) for _ in range(n4)]
            cin = d
        self.conv_stages = nn.Sequential(*layers)
        self.vit = nn.Sequential(*(Meta3D(cin) for _ in range(vit_num)))
        self.norm = nn.LayerNorm(cin)
        self.head = nn.Linear(cin, num_classes)
        self.dist_head = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.conv_stages(self.stem(x)).flatten(2).transpose(1, 2)
        x = self.norm(self.vit(x)).mean(1)
        return (self.head(x) + self.dist_head(x)) / 2


def efficientformer_l1() -> EfficientFormer:
    """EfficientFormer-L1 (3, 2, 6, 4 blocks at 48, 96, 224, 448; the last one Meta3D), 224 px,
    1000 classes."""
    return EfficientFormer()


# ------------------------------------------------------------------------------------- LeViT

def _linear_bn(cin: int, cout: int) -> nn.Sequential:
    """A bias-free linear layer and a BatchNorm over the token features."""
    return nn.Sequential(nn.Linear(cin, cout, bias=False), TokenBatchNorm(cout))


def _offset_index(res_q: int, res_k: int, stride: int) -> tuple[torch.Tensor, int]:
    """Index of each (query, key) pair's relative offset (|dx|, |dy|) on the grids, and the number
    of distinct offsets (one learned bias per head for each)."""
    queries = [(i * stride, j * stride) for i in range(res_q) for j in range(res_q)]
    keys = [(i, j) for i in range(res_k) for j in range(res_k)]
    offsets: dict[tuple[int, int], int] = {}
    idx = [offsets.setdefault((abs(q[0] - k[0]), abs(q[1] - k[1])), len(offsets))
           for q in queries for k in keys]
    return torch.tensor(idx).view(len(queries), len(keys)), len(offsets)


class LeViTAttention(nn.Module):
    """LeViT attention on a ``res`` x ``res`` token grid: queries and keys of ``key_dim``, values of
    ``ratio`` x ``key_dim`` per head (all Linear + BN), softmax(q k^T scaled + positional bias) v,
    Hardswish, Linear + BN back to ``cout``. With ``stride`` 2 the queries come from every other
    token of every other row (the output grid is halved) and the output width changes."""

    def __init__(self, cin: int, cout: int, key_dim: int, heads: int, ratio: int, res: int,
                 stride: int = 1):
        super().__init__()
        self.heads, self.key_dim, self.d = heads, key_dim, ratio * key_dim
        self.res, self.stride = res, stride
        if stride == 1:
            self.qkv = _linear_bn(cin, heads * (2 * key_dim + self.d))
        else:
            self.kv = _linear_bn(cin, heads * (key_dim + self.d))
            self.q = _linear_bn(cin, heads * key_dim)
        self.proj = nn.Sequential(nn.Hardswish(), _linear_bn(heads * self.d, cout))
        res_q = (res - 1) // stride + 1
        idx, n = _offset_index(res_q, res, stride)
        self.biases = nn.Parameter(torch.zeros(heads, n))
        self.register_buffer("bias_idx", idx, persistent=False)

    def forward(self, x):
        b, n, c = x.shape
        if self.stride == 1:
            q, k, v = self.qkv(x).view(b, n, self.heads, -1).split(
                [self.key_dim, self.key_dim, self.d], dim=3)
        else:
            k, v = self.kv(x).view(b, n, self.heads, -1).split([self.key_dim, self.d], dim=3)
            sub = x.view(b, self.res, self.res, c)[:, ::self.stride, ::self.stride].reshape(b, -1, c)
            q = self.q(sub).view(b, sub.shape[1], self.heads, self.key_dim)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        attn = (q @ k.transpose(-2, -1)) * self.key_dim ** -0.5 + self.biases[:, self.bias_idx]
        x = (attn.softmax(-1) @ v).transpose(1, 2).reshape(b, q.shape[2], self.heads * self.d)
        return self.proj(x)


class Residual(nn.Module):
    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


def _levit_mlp(dim: int) -> nn.Module:
    return Residual(nn.Sequential(_linear_bn(dim, 2 * dim), nn.Hardswish(), _linear_bn(2 * dim, dim)))


class LeViT(nn.Module):
    """LeViT: four 3x3 stride-2 conv + BN layers (Hardswish between) to the first width at 14 x 14,
    three stages of ``depth`` (attention, MLP ratio 2) residual pairs with ``heads`` heads of key
    size ``key_dim`` and value ratio 2, joined by a stride-2 attention (key size ``key_dim``,
    width / key_dim heads, value ratio 4) and an MLP; token mean, then the average of a
    BN + linear classifier and a BN + linear distillation classifier."""

    def __init__(self, dims: tuple[int, int, int], key_dim: int, heads: tuple[int, int, int],
                 depth: int = 4, num_classes: int = 1000):
        super().__init__()
        c = dims[0]
        stem = []
        for i, (a, b) in enumerate(((3, c // 8), (c // 8, c // 4), (c // 4, c // 2), (c // 2, c))):
            stem += [nn.Conv2d(a, b, 3, 2, 1, bias=False), nn.BatchNorm2d(b)]
            if i < 3:
                stem.append(nn.Hardswish())
        self.stem = nn.Sequential(*stem)
        blocks, res = [], 14
        for i, (d, h) in enumerate(zip(dims, heads)):
            for _ in range(depth):
                blocks += [Residual(LeViTAttention(d, d, key_dim, h, 2, res)), _levit_mlp(d)]
            if i < 2:
                blocks.append(LeViTAttention(d, dims[i + 1], key_dim, d // key_dim, 4, res, 2))
                res = (res - 1) // 2 + 1
                blocks.append(_levit_mlp(dims[i + 1]))
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.BatchNorm1d(dims[-1]), nn.Linear(dims[-1], num_classes))
        self.dist_head = nn.Sequential(nn.BatchNorm1d(dims[-1]), nn.Linear(dims[-1], num_classes))

    def forward(self, x):
        x = self.blocks(self.stem(x).flatten(2).transpose(1, 2)).mean(1)
        return (self.head(x) + self.dist_head(x)) / 2


def levit128() -> LeViT:
    """LeViT-128 (widths 128, 256, 384, key size 16, 4, 8, 12 heads), 224 px, 1000 classes."""
    return LeViT((128, 256, 384), 16, (4, 8, 12))


def levit192() -> LeViT:
    """LeViT-192 (widths 192, 288, 384, key size 32, 3, 5, 6 heads), 224 px, 1000 classes."""
    return LeViT((192, 288, 384), 32, (3, 5, 6))


def levit256() -> LeViT:
    """LeViT-256 (widths 256, 384, 512, key size 32, 4, 6, 8 heads), 224 px, 1000 classes."""
    return LeViT((256, 384, 512), 32, (4, 6, 8))


def levit384() -> LeViT:
    """LeViT-384 (widths 384, 512, 768, key size 32, 6, 9, 12 heads), 224 px, 1000 classes."""
    return LeViT((384, 512, 768), 32, (6, 9, 12))
