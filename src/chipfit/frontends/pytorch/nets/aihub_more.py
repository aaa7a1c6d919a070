"""A classifier, a portrait segmenter and a camouflaged-object detector as Qualcomm AI Hub exports
them, written here from their published architecture definitions, for the zoo.

Every network here is the module that AI Hub's ``model.py`` wraps and exports (Qualcomm AI Hub
Models, https://github.com/quic/ai-hub-models, BSD-3-Clause, tag v0.46.1, commit
52c080d245d2d20c634459208ff2548ce10b3c9f, ``qai_hub_models/models/<name>/``), counted at the input
shape its ``get_input_spec`` defaults to and with the input normalisation its ``forward`` runs.

DLA-X-102 (AI Hub ``dla102x``)
    ``model.py`` builds ``timm.create_model("dla102x")`` (Apache-2.0;
    https://github.com/huggingface/pytorch-image-models ``timm/models/dla.py``, facts only) inside
    AI Hub's ImageNet classifier wrapper, which normalises the [0, 1] input with the torchvision
    ImageNet mean/std first (counted); 224x224. Yu et al. 2018, "Deep Layer Aggregation",
    arXiv:1707.06484. Stem: a 7x7 conv to 16 channels at stride 1, a 3x3 conv at 16 (level 0) and a
    3x3 stride-2 conv to 32 (level 1), each with BatchNorm and ReLU. Levels 2-5 are aggregation trees
    of depth 1, 3, 4, 1 at 128, 256, 512, 1024 channels, each halving the resolution. The leaves are
    ResNeXt bottlenecks (1x1 conv, grouped 3x3 conv of cardinality 32 carrying the stride, 1x1 conv;
    BatchNorm, ReLU after the sum) with ``floor(out * 4 / 64) * 32 / 2`` middle channels, i.e. as
    many as the output. A depth-1 tree runs two leaves and a root: a 1x1 conv (BatchNorm) over the
    concatenation of the second leaf, the first leaf and the tree's inherited children, plus the
    second leaf ("residual root", ``shortcut_root=True``), ReLU. A depth-n tree is a depth-(n-1)
    tree followed by another that receives the first one's output as a child, so its final root
    aggregates every intermediate output. The first leaf of a depth-1 tree takes as its residual the
    tree's input max-pooled by the stride (2x2) and, when the width changes, projected by a 1x1 conv
    with BatchNorm; levels 3-5 also hand that pooled input to their last root ("level root").
    Global average pooling and a 1x1 conv (with bias) to 1000 classes. timm ``dla102x``: 26.31M
    parameters; ``info.yaml``: 26.3M.

GPUNet-0 (AI Hub ``gpunet``)
    ``model.py`` builds ``GPUNet_Builder().get_model`` of the ``batch1/GV100/0.65ms.json`` config
    (GPUNet-0) from https://github.com/NVIDIA/DeepLearningExamples ``PyTorch/Classification/GPUNet``
    (Apache-2.0, commit 9dd9fcb9; ``configs/model_hub.py``, ``models/gpunet_builder.py``,
    ``models/gpunet_modules.py``), inside AI Hub's ImageNet classifier wrapper (input normalisation
    counted). Wang et al. 2022, "GPUNet: Searching the Deployable Convolution Neural Networks for
    GPUs", arXiv:2205.00841. The config's native resolution is 320; AI Hub exports at 224x224.
    Layers: a 3x3 stride-2 conv to 32 (BatchNorm, SiLU: the builder's default for the head); two 3x3
    convs at 32 (BatchNorm, ReLU, no skip); fused inverted residuals (a 3x3 expansion conv by 5,
    BatchNorm, ReLU, a 1x1 projection, BatchNorm, a skip where stride is 1 and widths match) 32->32
    (stride 2), 32->32, 32->64 (stride 2), 64->64 twice; inverted residuals (1x1 expansion by 5,
    3x3 depthwise conv, 1x1 projection, BatchNorm after each) 64->256 (stride 2) and 256->256 twice
    with SiLU, then 256->704 (stride 2) and 704->704 with ReLU and squeeze-and-excitation (a global
    mean, 1x1 conv with bias to 5 % of the expanded width, ReLU, 1x1 conv with bias back, sigmoid
    gate); a 1x1 conv to 1280 (BatchNorm, ReLU), global average pooling and a linear classifier to
    1000 classes. The fused blocks ask for TF 'same' padding, which the repository's own
    ``create_conv2d_pad`` turns into no padding at all for the stride-2 3x3 convs (the dynamic
    'same' pad is never applied), so at 224 the maps are 112, 55, 27, 14 and 7 wide (at 320: 160,
    79, 39, 20, 10). 11,885,432 parameters (11,865,144 with BatchNorm folded). ``info.yaml`` says
    10.49M parameters but also "Model size (float): 45.28MB", which as MiB of float32 values is
    11.87M, this network's count; no reading of the config gives 10.49M (leaving out the two
    squeeze-excite modules, 1.41M, would come closest).

SINet (AI Hub ``sinet``)
    ``model.py`` builds ``SINet(classes=2, p=2, q=8, config=..., chnn=1)`` from
    https://github.com/clovaai/ext_portrait_segmentation ``models/SINet.py`` (MIT, commit 9bc1bada)
    with the config of that file's ``__main__``, and normalises the input first (subtract a mean,
    divide by a std; counted). Park et al. 2019, "SINet: Extreme Lightweight Portrait Segmentation
    Networks with Spatial Squeeze Modules and Information Blocking Decoder", arXiv:1911.09099.
    Encoder: a 3x3 stride-2 conv to 12 (BatchNorm, PReLU); a stride-2 depthwise-separable conv to 16
    with a squeeze block (global mean, linear 12->12, PReLU, scaling) between its depthwise and
    pointwise convs; two S2 modules to 48; the concatenation with the stride-4 map (64, BatchNorm,
    PReLU); a stride-2 depthwise-separable conv to 48 with a squeeze block (64->32->64, PReLU); eight
    S2 modules to 96; the concatenation with their input (144, BatchNorm, PReLU) and a 1x1 conv to 2
    class logits at stride 8. An S2 module: a 1x1 conv with 2 groups to half the output width, a
    channel shuffle, and two S2 blocks on that same map whose outputs are concatenated (plus the
    input where the widths match), BatchNorm, PReLU. An S2 block: an optional k x k average pool
    (the "spatial squeeze"), a k x k depthwise conv with BatchNorm, PReLU, a 1x1 conv, bilinear
    upsampling back by the pool factor (align_corners) and BatchNorm; the (kernel, pool) pairs per
    module are (3,1)(5,1), (3,1)(3,1) in the first stage and (3,1)(5,1), (3,1)(3,1), (5,1)(3,2),
    (5,2)(3,4), (3,1)(3,1), (5,1)(5,1), (3,2)(3,4), (3,1)(5,2) in the second. Decoder (information
    blocking): the logits upsampled x2 (bilinear, align_corners) with BatchNorm; one minus the
    per-pixel maximum of their softmax gates a 1x1 conv (BatchNorm, PReLU) of the stride-4 features
    to 2 channels; the sum with the upsampled logits is upsampled x2 with BatchNorm, then upsampled
    x2 again and a 3x3 conv (no bias) gives the 2-class logits at full resolution. 224x224. The
    repository's README: 0.087M parameters, 0.064 G "Flop" (multiply-accumulates) at 224x224; this
    network: 86,910 and 0.0639G. ``info.yaml`` says 91.9K, 5.7 % above the module's own count (no
    parameter of the source is left out here; the difference is not explained by the source).

BGNet (AI Hub ``bgnet``)
    ``model.py`` builds ``net.bgnet.Net`` from https://github.com/thograce/BGNet (commit 337501a;
    ``net/bgnet.py``, ``net/Res2Net.py``; facts only) with the Res2Net-50-v1b-26w-4s backbone,
    normalises the input with the torchvision ImageNet mean/std (counted) and returns only the third
    output (the fine prediction), so the other predictions' heads never run and are not built here.
    Sun et al. 2022, "Boundary-Guided Camouflaged Object Detection", arXiv:2207.00794. Backbone
    (Gao et al. 2019, arXiv:1904.01169, v1b): a deep stem of three 3x3 convs (32, 32, 64; the first
    at stride 2), BatchNorm, ReLU, a 3x3 stride-2 max-pool, then 3, 4, 6, 3 Res2Net bottlenecks at
    planes 64, 128, 256, 512 (width 26 x planes / 64 per scale, 4 scales: a 1x1 conv to 4 x width,
    three hierarchical 3x3 convs on the splits, the first unit of a stage running them in parallel
    at the stride with a 3x3 average pool of the fourth split, a 1x1 conv to 4 x planes; shortcuts
    that change shape are a stride-sized average pool, a 1x1 conv and BatchNorm). Its classifier is
    not used. Head: an edge-aware module (1x1 convs 256->64 and 2048->256 with bias, BatchNorm,
    ReLU; the deep one upsampled to stride 4; two 3x3 convs to 256 and a 1x1 conv to 1 edge map);
    four edge-guided fusion modules (x * sigmoid(edge) + x, a 3x3 conv, then ECA channel attention:
    a global mean, a 1-D conv of kernel 5, 5, 5, 7 across channels, sigmoid); 1x1 reductions to 64,
    128, 256, 256; three context aggregation modules top-down (upsample, concatenate, 1x1 conv,
    four chunks through 3x3 convs of dilation 1-4 each fed the previous chunk's result, a 1x1 conv,
    a residual sum and a 3x3 conv); a 1x1 conv to one map and x4 bilinear upsampling. 416x416.
    ``info.yaml``: 77.8M parameters, the exported graph (this network: 77,803,328); the PyTorch
    module also holds the backbone's unused 2048->1000 classifier (2,049,000 more, 79.85M) and the
    two coarse predictors (386).

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from chipfit.frontends.pytorch.nets.common import Normalize, stage_outputs


def _conv_bn(cin: int, cout: int, k: int = 1, stride: int = 1, padding: int | None = None, groups: int = 1,
             dilation: int = 1, act: type[nn.Module] | None = nn.ReLU, bias: bool = False) -> nn.Sequential:
    """k x k conv, BatchNorm, and an activation unless ``act`` is None."""
    if padding is None:
        padding = dilation * (k - 1) // 2
    layers = [nn.Conv2d(cin, cout, k, stride, padding, dilation=dilation, groups=groups, bias=bias),
              nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------- DLA-X-102


class DlaXBottleneck(nn.Module):
    """ResNeXt bottleneck leaf of a DLA-X tree; the residual may come from outside."""

    def __init__(self, cin: int, cout: int, stride: int = 1, cardinality: int = 32, base_width: int = 4):
        super().__init__()
        mid = (cout * base_width // 64) * cardinality // 2
        self.body = nn.Sequential(
            _conv_bn(cin, mid, 1),
            _conv_bn(mid, mid, 3, stride, groups=cardinality),
            _conv_bn(mid, cout, 1, act=None),
        )

    def forward(self, x, residual=None):
        return F.relu(self.body(x) + (x if residual is None else residual))


class DlaRoot(nn.Module):
    """1x1 conv + BatchNorm over the concatenated children, plus the first child, ReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = _conv_bn(cin, cout, 1, act=None)

    def forward(self, children: list[torch.Tensor]):
        return F.relu(self.conv(torch.cat(children, 1)) + children[0])


class DlaTree(nn.Module):
    """An aggregation tree of the given depth (``levels``)."""

    def __init__(self, levels: int, cin: int, cout: int, stride: int = 1, level_root: bool = False,
                 root_dim: int = 0):
        super().__init__()
        root_dim = (root_dim or 2 * cout) + (cin if level_root else 0)
        self.levels, self.level_root = levels, level_root
        self.pool = nn.MaxPool2d(stride, stride) if stride > 1 else nn.Identity()
        self.project = nn.Identity()
        if levels == 1:
            self.tree1 = DlaXBottleneck(cin, cout, stride)
            self.tree2 = DlaXBottleneck(cout, cout)
            if cin != cout:
                self.project = _conv_bn(cin, cout, 1, act=None)
            self.root = DlaRoot(root_dim, cout)
        else:
            self.tree1 = DlaTree(levels - 1, cin, cout, stride)
            self.tree2 = DlaTree(levels - 1, cout, cout, root_dim=root_dim + cout)

    def forward(self, x, children: list[torch.Tensor] | None = None):
        children = [] if children is None else children
        if self.levels == 1 or self.level_root:
            bottom = self.pool(x)
            if self.level_root:
                children.append(bottom)
        if self.levels == 1:
            x1 = self.tree1(x, self.project(bottom))
            x2 = self.tree2(x1)
            return self.root([x2, x1, *children])
        x1 = self.tree1(x)
        children.append(x1)
        return self.tree2(x1, children)


class DLA(nn.Module):
    """Deep Layer Aggregation classifier (DLA-X: ResNeXt leaves, residual roots)."""

    def __init__(self, levels=(1, 1, 1, 3, 4, 1), channels=(16, 32, 128, 256, 512, 1024),
                 num_classes: int = 1000):
        super().__init__()
        self.normalize = Normalize()
        c = channels
        self.stem = nn.Sequential(
            _conv_bn(3, c[0], 7),
            *[_conv_bn(c[0], c[0], 3) for _ in range(levels[0])],
            *[_conv_bn(c[0] if i == 0 else c[1], c[1], 3, 2 if i == 0 else 1) for i in range(levels[1])],
        )
        self.trees = nn.ModuleList(
            DlaTree(levels[i], c[i - 1], c[i], 2, level_root=i > 2) for i in range(2, 6))
        self.fc = nn.Conv2d(c[5], num_classes, 1)

    def forward(self, x):
        x = self.stem(self.normalize(x))
        for tree in self.trees:
            x = tree(x)
        return torch.flatten(self.fc(F.adaptive_avg_pool2d(x, 1)), 1)


def dla102x() -> DLA:
    """AI Hub ``dla102x``: timm's DLA-X-102 (26.3M parameters) with input normalisation, 224x224."""
    return DLA()


# --------------------------------------------------------------------------- GPUNet-0


#: GPUNet-0 (``0.65ms.json``) after the head: (block, in, out, stride, activation, squeeze-excite);
#: every kernel is 3x3 and every expansion 5
GPUNET0_LAYERS = (
    ("conv", 32, 32, 1, "relu", False),
    ("conv", 32, 32, 1, "relu", False),
    ("fused", 32, 32, 2, "relu", False),
    ("fused", 32, 32, 1, "relu", False),
    ("fused", 32, 64, 2, "relu", False),
    ("fused", 64, 64, 1, "relu", False),
    ("fused", 64, 64, 1, "relu", False),
    ("irb", 64, 256, 2, "swish", False),
    ("irb", 256, 256, 1, "swish", False),
    ("irb", 256, 256, 1, "swish", False),
    ("irb", 256, 704, 2, "relu", True),
    ("irb", 704, 704, 1, "relu", True),
)
_ACTS = {"relu": nn.ReLU, "swish": nn.SiLU}


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduced: int, act: type[nn.Module]):
        super().__init__()
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.act = act()
        self.expand = nn.Conv2d(reduced, channels, 1)

    def forward(self, x):
        s = self.expand(self.act(self.reduce(x.mean((2, 3), keepdim=True))))
        return x * torch.sigmoid(s)


class GpuNetBlock(nn.Module):
    """A fused ("fused") or depthwise ("irb") inverted residual with expansion 5 and 3x3 kernels."""

    def __init__(self, kind: str, cin: int, cout: int, stride: int, act: str, se: bool, expansion: int = 5):
        super().__init__()
        a = _ACTS[act]
        mid = cin * expansion  # a multiple of 8 for every GPUNet-0 width, as the source rounds to
        if kind == "fused":  # 'same' padding that the source leaves out at stride 2
            layers = [_conv_bn(cin, mid, 3, stride, padding=1 if stride == 1 else 0, act=a)]
        else:
            layers = [_conv_bn(cin, mid, 1, act=a), _conv_bn(mid, mid, 3, stride, groups=mid, act=a)]
        if se:
            layers.append(SqueezeExcite(mid, round(mid * 0.25 / expansion), a))
        layers.append(_conv_bn(mid, cout, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return y + x if self.residual else y


class GPUNet(nn.Module):
    def __init__(self, layers=GPUNET0_LAYERS, head: int = 32, tail: int = 1280, num_classes: int = 1000):
        super().__init__()
        self.normalize = Normalize()
        blocks = [_conv_bn(3, head, 3, 2, act=nn.SiLU)]
        for kind, cin, cout, stride, act, se in layers:
            if kind == "conv":
                blocks.append(_conv_bn(cin, cout, 3, stride, act=_ACTS[act]))
            else:
                blocks.append(GpuNetBlock(kind, cin, cout, stride, act, se))
        blocks.append(_conv_bn(layers[-1][2], tail, 1))
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Linear(tail, num_classes)

    def forward(self, x):
        x = self.features(self.normalize(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def gpunet() -> GPUNet:
    """AI Hub ``gpunet``: NVIDIA GPUNet-0 with input normalisation, 224x224."""
    return GPUNet()


# --------------------------------------------------------------------------- SINet


def _bn_prelu(c: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(c), nn.PReLU(c))


class SqueezeBlock(nn.Module):
    """Global mean, a one- or two-layer perceptron with PReLUs, and scaling of the input by it."""

    def __init__(self, c: int, divide: int):
        super().__init__()
        if divide > 1:
            self.dense = nn.Sequential(nn.Linear(c, c // divide), nn.PReLU(c // divide),
                                       nn.Linear(c // divide, c), nn.PReLU(c))
        else:
            self.dense = nn.Sequential(nn.Linear(c, c), nn.PReLU(c))

    def forward(self, x):
        s = self.dense(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
        return x * s[:, :, None, None]


class SESeparable(nn.Module):
    """Stride-2 3x3 depthwise conv, squeeze block, 1x1 conv, BatchNorm, PReLU."""

    def __init__(self, cin: int, cout: int, divide: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(cin, cin, 3, 2, 1, groups=cin, bias=False), SqueezeBlock(cin, divide),
            nn.Conv2d(cin, cout, 1, bias=False), _bn_prelu(cout))

    def forward(self, x):
        return self.body(x)


class S2Block(nn.Module):
    """Optional avg-pool squeeze, depthwise k x k conv + BN, PReLU, 1x1 conv, upsampling, BN."""

    def __init__(self, cin: int, cout: int, k: int, pool: int):
        super().__init__()
        self.pool = pool
        self.body = nn.Sequential(
            nn.Conv2d(cin, cin, k, 1, k // 2, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.PReLU(cin),
            nn.Conv2d(cin, cout, 1, bias=False))
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        if self.pool > 1:
            x = F.avg_pool2d(x, self.pool)
        y = self.body(x)
        if self.pool > 1:
            y = F.interpolate(y, scale_factor=self.pool, mode="bilinear", align_corners=True)
        return self.bn(y)


class S2Module(nn.Module):
    """Grouped 1x1 conv, channel shuffle, two S2 blocks concatenated, optional residual, BN, PReLU."""

    def __init__(self, cin: int, cout: int, config, add: bool = True):
        super().__init__()
        groups = len(config)
        n = cout // groups
        self.groups = groups
        self.reduce = nn.Conv2d(cin, n, 1, bias=False, groups=groups)
        self.branches = nn.ModuleList(
            S2Block(n, n + (cout - groups * n if i == 0 else 0), k, p) for i, (k, p) in enumerate(config))
        self.add = add
        self.out = _bn_prelu(cout)

    def forward(self, x):
        y = self.reduce(x)
        b, c, h, w = y.shape
        y = y.view(b, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(b, c, h, w)
        y = torch.cat([branch(y) for branch in self.branches], 1)
        return self.out(x + y if self.add else y)


#: (kernel, average-pool factor) of the two S2 blocks of each S2 module, 2 in stage 1 then 8 in stage 2
SINET_CONFIG = (
    ((3, 1), (5, 1)), ((3, 1), (3, 1)),
    ((3, 1), (5, 1)), ((3, 1), (3, 1)), ((5, 1), (3, 2)), ((5, 2), (3, 4)),
    ((3, 1), (3, 1)), ((5, 1), (5, 1)), ((3, 2), (3, 4)), ((3, 1), (5, 2)),
)
#: the input normalisation of AI Hub's SINet wrapper (the repository's training-set statistics)
SINET_MEAN = tuple(v / 255 for v in (113.05697, 120.847824, 133.786))
SINET_STD = (65.05263, 65.393776, 67.238205)


class SINet(nn.Module):
    def __init__(self, classes: int = 2, p: int = 2, q: int = 8, config=SINET_CONFIG):
        super().__init__()
        dim1, dim2, dim3 = 16, 48, 96
        self.normalize = Normalize(SINET_MEAN, SINET_STD)
        self.level1 = nn.Sequential(nn.Conv2d(3, 12, 3, 2, 1, bias=False), _bn_prelu(12))
        self.level2_0 = SESeparable(12, dim1, divide=1)
        self.level2 = nn.Sequential(*[S2Module(dim1 if i == 0 else dim2, dim2, config[i], add=i > 0)
                                      for i in range(p)])
        self.br2 = _bn_prelu(dim1 + dim2)
        self.level3_0 = SESeparable(dim1 + dim2, dim2, divide=2)
        self.level3 = nn.Sequential(*[S2Module(dim2 if i == 0 else dim3, dim3, config[p + i], add=i > 0)
                                      for i in range(q)])
        self.br3 = _bn_prelu(dim2 + dim3)
        self.enc_classifier = nn.Conv2d(dim2 + dim3, classes, 1, bias=False)
        self.bn_3 = nn.BatchNorm2d(classes)
        self.level2_c = nn.Sequential(nn.Conv2d(dim2, classes, 1, bias=False), _bn_prelu(classes))
        self.bn_2 = nn.BatchNorm2d(classes)
        self.classifier = nn.Conv2d(classes, classes, 3, 1, 1, bias=False)

    @staticmethod
    def _up(x):
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)

    def forward(self, x):
        x = self.level1(self.normalize(x))
        x2_0 = self.level2_0(x)
        x2 = self.level2(x2_0)
        x3_0 = self.level3_0(self.br2(torch.cat([x2_0, x2], 1)))
        x3 = self.level3(x3_0)
        logits = self.enc_classifier(self.br3(torch.cat([x3_0, x3], 1)))
        stage1 = self.bn_3(self._up(logits))
        gate = 1 - torch.softmax(stage1, 1).max(1, keepdim=True)[0]
        stage2 = self.bn_2(self._up(self.level2_c(x2) * gate + stage1))
        return self.classifier(self._up(stage2))


def sinet() -> SINet:
    """AI Hub ``sinet``: SINet portrait segmentation (2 classes) with input normalisation, 224x224."""
    return SINet()


# --------------------------------------------------------------------------- BGNet


class Res2NetBottleneck(nn.Module):
    """Res2Net bottleneck (v1b): 4 scales, width 26 x planes / 64 each, expansion 4."""

    def __init__(self, cin: int, planes: int, stride: int = 1, first: bool = False, base_width: int = 26,
                 scale: int = 4):
        super().__init__()
        width = planes * base_width // 64
        self.width, self.first = width, first
        self.conv1 = _conv_bn(cin, width * scale, 1)
        self.convs = nn.ModuleList(_conv_bn(width, width, 3, stride) for _ in range(scale - 1))
        self.pool = nn.AvgPool2d(3, stride, 1) if first else nn.Identity()
        self.conv3 = _conv_bn(width * scale, planes * 4, 1, act=None)
        self.downsample = None
        if first:  # the first unit of every stage changes the shape
            self.downsample = nn.Sequential(
                nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False),
                _conv_bn(cin, planes * 4, 1, act=None))

    def forward(self, x):
        splits = torch.split(self.conv1(x), self.width, 1)
        outs: list[torch.Tensor] = []
        for i, conv in enumerate(self.convs):
            # each scale after the first also takes the previous scale's output (not in a first unit)
            outs.append(conv(splits[i] if i == 0 or self.first else outs[-1] + splits[i]))
        outs.append(self.pool(splits[-1]))
        y = self.conv3(torch.cat(outs, 1))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class Res2Net50(nn.Module):
    """Res2Net-50-v1b-26w-4s feature extractor: the four stage outputs (strides 4 to 32)."""

    def __init__(self, layers=(3, 4, 6, 3)):
        super().__init__()
        self.stem = nn.Sequential(
            _conv_bn(3, 32, 3, 2), _conv_bn(32, 32, 3), _conv_bn(32, 64, 3), nn.MaxPool2d(3, 2, 1))
        stages, cin = [], 64
        for i, n in enumerate(layers):
            planes = 64 * 2 ** i
            stages.append(nn.Sequential(*[
                Res2NetBottleneck(cin if j == 0 else planes * 4, planes, 2 if (j == 0 and i > 0) else 1, j == 0)
                for j in range(n)]))
            cin = planes * 4
        self.stages = nn.ModuleList(stages)

    def forward(self, x):
        feats = stage_outputs(self.stages, self.stem(x))
        return feats


def _conv1x1(cin: int, cout: int) -> nn.Sequential:
    """BGNet's ``Conv1x1``: a 1x1 conv with bias, BatchNorm, ReLU."""
    return _conv_bn(cin, cout, 1, bias=True)


def _resize(x, like):
    return F.interpolate(x, size=like.shape[2:], mode="bilinear", align_corners=False)


class EdgeAware(nn.Module):
    def __init__(self):
        super().__init__()
        self.reduce1 = _conv1x1(256, 64)
        self.reduce4 = _conv1x1(2048, 256)
        self.block = nn.Sequential(_conv_bn(256 + 64, 256, 3), _conv_bn(256, 256, 3), nn.Conv2d(256, 1, 1))

    def forward(self, x4, x1):
        x1 = self.reduce1(x1)
        return self.block(torch.cat([_resize(self.reduce4(x4), x1), x1], 1))


class EdgeFusion(nn.Module):
    """Edge-guided fusion: x * att + x, 3x3 conv, then ECA channel attention."""

    def __init__(self, c: int):
        super().__init__()
        t = int(abs((math.log2(c) + 1) / 2))
        k = t if t % 2 else t + 1
        self.conv = _conv_bn(c, c, 3)
        self.eca = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)

    def forward(self, c, att):
        if c.shape[2:] != att.shape[2:]:
            att = _resize(att, c)
        x = self.conv(c * att + c)
        w = self.eca(x.mean((2, 3))[:, None, :])  # [B, 1, C]: a 1-D conv across channels
        return x * torch.sigmoid(w)[:, 0, :, None, None]


class ContextAggregation(nn.Module):
    def __init__(self, hchannel: int, channel: int):
        super().__init__()
        q = channel // 4
        self.conv1_1 = _conv1x1(hchannel + channel, channel)
        self.dconvs = nn.ModuleList(_conv_bn(q, q, 3, dilation=d) for d in (1, 2, 3, 4))
        self.conv1_2 = _conv1x1(channel, channel)
        self.conv3_3 = _conv_bn(channel, channel, 3)

    def forward(self, lf, hf):
        if lf.shape[2:] != hf.shape[2:]:
            hf = _resize(hf, lf)
        x = self.conv1_1(torch.cat([lf, hf], 1))
        xc = torch.chunk(x, 4, 1)
        x0 = self.dconvs[0](xc[0] + xc[1])
        x1 = self.dconvs[1](xc[1] + x0 + xc[2])
        x2 = self.dconvs[2](xc[2] + x1 + xc[3])
        x3 = self.dconvs[3](xc[3] + x2)
        return self.conv3_3(x + self.conv1_2(torch.cat([x0, x1, x2, x3], 1)))


class BGNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.normalize = Normalize()
        self.backbone = Res2Net50()
        self.eam = EdgeAware()
        self.efms = nn.ModuleList(EdgeFusion(c) for c in (256, 512, 1024, 2048))
        self.reduces = nn.ModuleList(_conv1x1(c, r) for c, r in ((256, 64), (512, 128), (1024, 256), (2048, 256)))
        self.cam1 = ContextAggregation(128, 64)
        self.cam2 = ContextAggregation(256, 128)
        self.cam3 = ContextAggregation(256, 256)
        self.predictor1 = nn.Conv2d(64, 1, 1)

    def forward(self, x):
        feats = self.backbone(self.normalize(x))
        edge_att = torch.sigmoid(self.eam(feats[3], feats[0]))
        r1, r2, r3, r4 = (red(efm(f, edge_att)) for red, efm, f in zip(self.reduces, self.efms, feats))
        x1234 = self.cam1(r1, self.cam2(r2, self.cam3(r3, r4)))
        return F.interpolate(self.predictor1(x1234), scale_factor=4, mode="bilinear", align_corners=False)


def bgnet() -> BGNet:
    """AI Hub ``bgnet``: BGNet (Res2Net-50 backbone), the fine prediction only, 416x416."""
    return BGNet()
