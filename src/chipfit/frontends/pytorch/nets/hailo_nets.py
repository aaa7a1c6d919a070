"""ImageNet classifiers as the Hailo Model Zoo compiles them (224x224 input, 1000 classes), for
the zoo. The Hailo Model Zoo is https://github.com/hailo-ai/hailo_model_zoo (commit c83fc030); each
network's ``hailo_model_zoo/cfg/networks/<id>.yaml`` names the framework and the source it was taken
from, and ``docs/public_models/HAILO8/HAILO8_classification.rst`` lists its "Params (M)" and
"OPS (G)" (operations: two per multiply-accumulate). Hailo's parameter counts are those of the
compiled graph, BatchNorm folded into the convolutions.

resnet_v1_18, resnet_v1_34
    Hailo's ResNet-18 (ONNX from https://github.com/yhhhli/BRECQ, PyTorch) and ResNet-34 (TFLite)
    have the standard layout (stride 2 in the first unit of stages 2-4, in the 3x3 conv): they are
    torchvision's ``resnet18`` and ``resnet34`` (Hailo: 11.68M / 3.64G OPS and 21.79M / 7.34G OPS),
    so no network is written here for them.

resnet_v1_50
    Hailo's TFLite of TF-slim's ResNet-v1-50, https://github.com/tensorflow/models
    ``research/slim/nets/resnet_v1.py`` (``bottleneck``, ``resnet_v1_block``, ``resnet_v1_50``):
    a 7x7 stride-2 conv and 3x3 stride-2 max-pool, then blocks of 3, 4, 6, 3 bottleneck units
    (base depth 64, 128, 256, 512, output 4x) where a block's stride (2, 2, 2, 1) sits in its
    *last* unit, in the 3x3 conv, with a stride-2 1x1 subsampling as that unit's shortcut; the first
    unit of each block has a 1x1 projection shortcut at stride 1. This puts less work at the higher
    resolutions than torchvision's ResNet-50 (4.1G MACs). Global average pooling and a 1x1 conv
    classifier. Hailo: 25.53M parameters, 6.98G OPS.

repvgg_a1, repvgg_a2
    Ding et al. 2021, "RepVGG: Making VGG-style ConvNets Great Again", arXiv:2101.03697, and
    https://github.com/DingXiaoH/RepVGG ``repvgg.py`` (commit aca4a9fe; ``create_RepVGG_A1`` /
    ``_A2``): 1, 2, 4, 14, 1 blocks at widths min(64, 64a), 64a, 128a, 256a, 512b with
    (a, b) = (1, 2.5) for A1 and (1.5, 2.75) for A2, the first block of every stage at stride 2,
    global average pooling, a linear classifier. Built in the deploy form Hailo compiles: each
    block's 3x3, 1x1 and identity branches fused into one 3x3 conv with bias, then ReLU. Paper
    Table 2: A1 12.78M / 2.37G FLOPs (multiply-adds), A2 25.49M / 5.12G. Hailo: 12.79M / 4.7G OPS
    and 25.5M / 10.2G OPS.

inception_v1
    Hailo's TFLite of TF-slim's Inception-v1, https://github.com/tensorflow/models
    ``research/slim/nets/inception_v1.py`` (GoogLeNet, Szegedy et al. 2014, arXiv:1409.4842, with
    BatchNorm after every conv and the "5x5" branch built as a 3x3 conv, as slim has it). That is
    the layer structure of torchvision's GoogLeNet without its auxiliary heads. Hailo's export
    keeps slim's 1001 classes; this one has 1000. Hailo: 6.62M parameters, 3G OPS.

mobilenet_edgetpu
    Hailo's ``mobilenet_v3``, its id for ``mobilenet_v3_edgetpu.tflite``: TF-slim's MobileNet-EdgeTPU,
    https://github.com/tensorflow/models ``research/slim/nets/mobilenet/mobilenet_v3.py``
    (``V3_EDGETPU``) and ``conv_blocks.py`` (``expanded_conv``): a 3x3 stride-2 conv to 32, four
    stages of fused inverted bottlenecks (a k x k expansion conv in place of 1x1 + depthwise) at
    16/32/48 channels, then inverted bottlenecks with depthwise 3x3/5x5 convs at 96, 160, 192,
    a 1x1 conv to 1280, global pooling and the classifier; ReLU throughout, no squeeze-excite.
    An expansion is built only when it widens (the first block, factor 1, is a bare 1x1
    projection), residuals where stride is 1 and widths match (not in the one ``residual=False``
    block). The slim README lists 990M MACs and 4.0M parameters. Hailo (1001 classes): 4.07M
    parameters, 2G OPS.

deit_small, deit_base
    Touvron et al. 2021, "Training data-efficient image transformers & distillation through
    attention", arXiv:2012.12877, Table 1, and https://github.com/facebookresearch/deit
    ``models.py``: ViT-S/16 (width 384, 6 heads) and ViT-B/16 (768, 12 heads), 12 layers, MLP
    ratio 4, class token, 16x16 patches at 224 px; 22M / 86M parameters, 4.6G / 17.6G FLOPs
    (multiply-adds). Built with torchvision's VisionTransformer class. Hailo: 20.52M / 9.4G OPS and
    80.26M / 35.22G OPS (its parameter counts fall below the architecture's).

hardnet68, hardnet39ds
    Chao et al. 2019, "HarDNet: A Low Memory Traffic Network", arXiv:1909.00948, and
    https://github.com/PingoLH/Pytorch-HarDNet ``hardnet.py`` (commit 3555448e): harmonic dense
    blocks in which layer L reads the outputs of layers L - 2^i (for every 2^i dividing L) and
    has growth x multiplier^(links - 1) channels rounded to an even number; a block outputs the
    concatenation of its odd layers and its last one, followed by a 1x1 transition conv.
    HarDNet-68: a 3x3 stride-2 conv to 32, a 3x3 conv to 64, a max-pool, blocks of 8, 16, 16, 16,
    4 layers (growth 14, 16, 20, 40, 160, multiplier 1.7) with transitions to 128, 256, 320, 640,
    1024 and 2x2 max-pools after the first, third and fourth; 3x3 conv layers, BatchNorm, ReLU6.
    HarDNet-39DS: a 3x3 stride-2 conv to 24, a 1x1 conv to 48, a 3x3 stride-2 depthwise conv, blocks
    of 4, 16, 8, 4 layers (growth 16, 20, 64, 160, multiplier 1.6) of 1x1 conv + 3x3 depthwise conv,
    transitions to 96, 320, 640, 1024, stride-2 depthwise convs after the first three. README:
    HarDNet68 17.6M parameters, 4.3 GMACs; HarDNet39DS 3.5M, 0.44 GMACs. Hailo: 17.56M / 8.5G OPS
    and 3.48M / 0.86G OPS.

resnext26_32x4d
    Xie et al. 2017, "Aggregated Residual Transformations for Deep Neural Networks",
    arXiv:1611.05431, as https://github.com/osmr/imgclsmob builds it (``resnext.py``,
    ``resnext26_32x4d``: two bottleneck units per stage, cardinality 32, width 4 per group, i.e.
    grouped 3x3 convs of 128, 256, 512, 1024 channels; 15,389,480 parameters): torchvision's ResNet
    with those settings. Hailo: 15.37M parameters, 4.96G OPS.

No input normalisation is built in (as for the other zoo classifiers). The code is chipfit's
own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn


def conv_bn_act(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                 act: nn.Module | None = None) -> nn.Sequential:
    """A bias-free k x k conv ("same" padding), BatchNorm and an optional activation."""
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)


# ------------------------------------------------------------------------------------ ResNets

class SlimBottleneck(nn.Module):
    """TF-slim's ResNet-v1 bottleneck: 1x1 -> 3x3 (carrying the stride) -> 1x1 x4, each with
    BatchNorm; a 1x1 projection shortcut when the width changes, else the input subsampled."""

    def __init__(self, cin: int, depth: int, stride: int):
        super().__init__()
        width = depth // 4
        self.body = nn.Sequential(
            conv_bn_act(cin, width, 1, act=nn.ReLU()),
            conv_bn_act(width, width, 3, stride, act=nn.ReLU()),
            conv_bn_act(width, depth, 1),
        )
        if cin != depth:
            self.shortcut = conv_bn_act(cin, depth, 1, stride)
        else:
            self.shortcut = nn.MaxPool2d(1, stride) if stride > 1 else nn.Identity()
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.body(x) + self.shortcut(x))


class SlimResNetV1(nn.Module):
    """TF-slim ResNet v1: root block, bottleneck blocks with the stride in each block's last unit,
    global average pooling, a classifier."""

    def __init__(self, units: tuple[int, ...], num_classes: int = 1000):
        super().__init__()
        self.stem = nn.Sequential(conv_bn_act(3, 64, 7, 2, act=nn.ReLU()), nn.MaxPool2d(3, 2, 1))
        layers, cin = [], 64
        for i, n in enumerate(units):
            depth, last_stride = 256 * 2 ** i, 2 if i < len(units) - 1 else 1
            for j in range(n):
                layers.append(SlimBottleneck(cin, depth, last_stride if j == n - 1 else 1))
                cin = depth
        self.blocks = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))


def resnet_v1_50() -> SlimResNetV1:
    """Hailo's resnet_v1_50: TF-slim ResNet-v1-50 (3, 4, 6, 3 units), 1000 classes."""
    return SlimResNetV1((3, 4, 6, 3))


# ------------------------------------------------------------------------------------ RepVGG

class RepVGG(nn.Module):
    """RepVGG in deploy form: every block one 3x3 conv (with bias) and ReLU."""

    def __init__(self, blocks: tuple[int, ...], a: float, b: float, num_classes: int = 1000):
        super().__init__()
        widths = (min(64, int(64 * a)), int(64 * a), int(128 * a), int(256 * a), int(512 * b))
        layers, cin = [], 3
        for n, w in zip(blocks, widths):
            for j in range(n):
                layers += [nn.Conv2d(cin, w, 3, 2 if j == 0 else 1, 1), nn.ReLU()]
                cin = w
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


def repvgg_a1() -> RepVGG:
    """RepVGG-A1 (deploy form), 1000 classes."""
    return RepVGG((1, 2, 4, 14, 1), 1.0, 2.5)


def repvgg_a2() -> RepVGG:
    """RepVGG-A2 (deploy form), 1000 classes."""
    return RepVGG((1, 2, 4, 14, 1), 1.5, 2.75)


# ------------------------------------------------------------------------------ Inception v1

def inception_v1() -> nn.Module:
    """Hailo's inception_v1 (TF-slim Inception-v1 = torchvision GoogLeNet's layers, no auxiliary
    heads), 1000 classes."""
    from torchvision.models import GoogLeNet

    return GoogLeNet(num_classes=1000, aux_logits=False, transform_input=False, init_weights=False)


# ------------------------------------------------------------------------- MobileNet-EdgeTPU

class EdgeTPUBlock(nn.Module):
    """slim ``expanded_conv``: an expansion (a k x k strided conv when ``fused``, else 1x1) only
    when it widens, a k x k depthwise conv when not fused, a linear 1x1 projection, a residual
    when the stride is 1 and the widths match."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: float, fused: bool,
                 residual: bool = True):
        super().__init__()
        inner = int(cin * expand)
        layers = []
        if inner > cin:
            layers.append(conv_bn_act(cin, inner, kernel if fused else 1, stride if fused else 1,
                                       act=nn.ReLU()))
        else:
            inner = cin
        if not fused:
            layers.append(conv_bn_act(inner, inner, kernel, stride, groups=inner, act=nn.ReLU()))
        layers.append(conv_bn_act(inner, cout, 1))
        self.body = nn.Sequential(*layers)
        self.residual = residual and stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


#: slim V3_EDGETPU: (fused, kernel, stride, expansion, out channels, residual allowed)
EDGETPU_BLOCKS = (
    (True, 3, 1, 1, 16, True),
    (True, 3, 2, 8, 32, True), (True, 3, 1, 4, 32, True), (True, 3, 1, 4, 32, True),
    (True, 3, 1, 4, 32, True),
    (True, 3, 2, 8, 48, True), (True, 3, 1, 4, 48, True), (True, 3, 1, 4, 48, True),
    (True, 3, 1, 4, 48, True),
    (False, 3, 2, 8, 96, True), (False, 3, 1, 4, 96, True), (False, 3, 1, 4, 96, True),
    (False, 3, 1, 4, 96, True), (False, 3, 1, 8, 96, False), (False, 3, 1, 4, 96, True),
    (False, 3, 1, 4, 96, True), (False, 3, 1, 4, 96, True),
    (False, 5, 2, 8, 160, True), (False, 5, 1, 4, 160, True), (False, 5, 1, 4, 160, True),
    (False, 5, 1, 4, 160, True),
    (False, 3, 1, 8, 192, True),
)


class MobileNetEdgeTPU(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers, cin = [conv_bn_act(3, 32, 3, 2, act=nn.ReLU())], 32
        for fused, k, s, e, cout, res in EDGETPU_BLOCKS:
            layers.append(EdgeTPUBlock(cin, cout, k, s, e, fused, res))
            cin = cout
        layers.append(conv_bn_act(cin, 1280, 1, act=nn.ReLU()))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(1280, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


def mobilenet_edgetpu() -> MobileNetEdgeTPU:
    """Hailo's mobilenet_v3: MobileNet-EdgeTPU (slim V3_EDGETPU, multiplier 1.0), 1000 classes."""
    return MobileNetEdgeTPU()


# -------------------------------------------------------------------------------------- DeiT

def _deit(width: int, heads: int) -> nn.Module:
    from torchvision.models.vision_transformer import VisionTransformer

    return VisionTransformer(image_size=224, patch_size=16, num_layers=12, num_heads=heads,
                             hidden_dim=width, mlp_dim=4 * width, num_classes=1000)


def deit_small() -> nn.Module:
    """DeiT-S (ViT-S/16: width 384, 6 heads, 12 layers), 224 px, 1000 classes."""
    return _deit(384, 6)


def deit_base() -> nn.Module:
    """DeiT-B (ViT-B/16: width 768, 12 heads, 12 layers), 224 px, 1000 classes."""
    return _deit(768, 12)


# ------------------------------------------------------------------------------------ HarDNet

def _relu6_conv(cin: int, cout: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return conv_bn_act(cin, cout, kernel, stride, act=nn.ReLU6())


def _dw(ch: int, stride: int = 1) -> nn.Sequential:
    """HarDNet's depthwise 3x3 conv + BatchNorm (no activation)."""
    return conv_bn_act(ch, ch, 3, stride, groups=ch)


def hardnet_links(layer: int, base: int, growth: int, mult: float) -> tuple[int, int, list[int]]:
    """(output channels, input channels, linked layers) of layer ``layer`` (1-based) of a
    harmonic dense block whose input (layer 0) has ``base`` channels."""
    if layer == 0:
        return base, 0, []
    links = [layer - 2 ** i for i in range(10) if layer % 2 ** i == 0 and layer - 2 ** i >= 0]
    out = growth * mult ** (len(links) - 1)
    out = int(int(out + 1) / 2) * 2
    cin = sum(hardnet_links(k, base, growth, mult)[0] for k in links)
    return out, cin, links


class HarDBlock(nn.Module):
    """A harmonic dense block; outputs the concatenation of its odd layers and its last layer."""

    def __init__(self, cin: int, growth: int, mult: float, n_layers: int, depthwise: bool):
        super().__init__()
        self.links, layers, self.out_channels = [], [], 0
        for i in range(1, n_layers + 1):
            cout, lin, links = hardnet_links(i, cin, growth, mult)
            self.links.append(links)
            layers.append(nn.Sequential(_relu6_conv(lin, cout, 1), _dw(cout)) if depthwise
                          else _relu6_conv(lin, cout, 3))
            if i % 2 == 1 or i == n_layers:
                self.out_channels += cout
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        outs = [x]
        for links, layer in zip(self.links, self.layers):
            inp = [outs[k] for k in links]
            outs.append(layer(inp[0] if len(inp) == 1 else torch.cat(inp, 1)))
        n = len(outs)
        return torch.cat([o for i, o in enumerate(outs) if i % 2 == 1 or i == n - 1], 1)


class HarDNet(nn.Module):
    def __init__(self, stem: tuple[int, int], stages: tuple, mult: float, depthwise: bool,
                 num_classes: int = 1000):
        super().__init__()
        c0, c1 = stem
        layers = [_relu6_conv(3, c0, 3, 2), _relu6_conv(c0, c1, 1 if depthwise else 3),
                  _dw(c1, 2) if depthwise else nn.MaxPool2d(3, 2, 1)]
        ch = c1
        for growth, n_layers, out, down in stages:
            block = HarDBlock(ch, growth, mult, n_layers, depthwise)
            layers += [block, _relu6_conv(block.out_channels, out, 1)]
            ch = out
            if down:
                layers.append(_dw(ch, 2) if depthwise else nn.MaxPool2d(2, 2))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(ch, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


def hardnet68() -> HarDNet:
    """HarDNet-68, 1000 classes."""
    stages = ((14, 8, 128, True), (16, 16, 256, False), (20, 16, 320, True), (40, 16, 640, True),
              (160, 4, 1024, False))
    return HarDNet((32, 64), stages, 1.7, depthwise=False)


def hardnet39ds() -> HarDNet:
    """HarDNet-39DS (depthwise-separable), 1000 classes."""
    stages = ((16, 4, 96, True), (20, 16, 320, True), (64, 8, 640, True), (160, 4, 1024, False))
    return HarDNet((24, 48), stages, 1.6, depthwise=True)


# ------------------------------------------------------------------------------------ ResNeXt

def resnext26_32x4d() -> nn.Module:
    """ResNeXt-26 32x4d (two bottleneck units per stage), 1000 classes."""
    from torchvision.models.resnet import Bottleneck, ResNet

    return ResNet(Bottleneck, [2, 2, 2, 2], groups=32, width_per_group=4)
