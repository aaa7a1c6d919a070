"""FFNet ("fuss-free network") Cityscapes segmentation networks -- FFNet-40S, -54S, -78S, -78S-LowRes
and -122NS-LowRes -- as Qualcomm AI Hub exports them, written here from their published definitions,
for the zoo.

Sources (facts only: layer types, channels, kernel sizes, strides, repeats, the order of the ops):

- Qualcomm AI Hub Models v0.46.1 (https://github.com/quic/ai-hub-models, commit 52c080d2, BSD-3-Clause):
  ``qai_hub_models/models/ffnet_{40s,54s,78s,78s_lowres,122ns_lowres}/model.py`` (which FFNet variant
  each wraps: ``segmentation_ffnet{40,54,78}S_dBBB_mobile``, ``segmentation_ffnet78S_BCC_mobile_pre_down``
  and ``segmentation_ffnet122NS_CCC_mobile_pre_down``), their ``info.yaml`` (input resolution
  2048x1024 or 1024x512, written width x height; parameters 13.9M, 18.0M, 27.5M, 26.8M, 32.1M),
  ``qai_hub_models/models/_shared/ffnet/model.py`` (``FFNet``, ``FFNetLowRes``: input spec
  ``1x3x512x1024``) and ``qai_hub_models/models/_shared/cityscapes_segmentation/model.py``
  (``CityscapesSegmentor``: the exported forward is ``model(normalize_image_torchvision(image))`` on
  a ``1x3x1024x2048`` RGB image in [0, 1]; it pins the FFNet repository at commit 0887620d), with
  ``qai_hub_models/utils/image_processing.py`` (``normalize_image_torchvision``: subtract the ImageNet
  mean and divide by its standard deviation, per channel).
- FFNet, https://github.com/Qualcomm-AI-research/FFNet commit 0887620d3d570b0848c40ce6db6f048a128ee58a
  (BSD-3-Clause): ``models/ffnet_S_mobile.py`` and ``models/ffnet_NS_mobile.py`` (the variants),
  ``models/resnet.py`` (``BasicBlock``, ``ResNetS``, ``ResNetNarrow`` and the ``Resnet40S_D``,
  ``Resnet54S_D``, ``Resnet78S_D``, ``Resnet78S``, ``Resnet122NS`` depth and stride tables),
  ``models/ffnet_blocks.py`` (``FFNet``, ``FFNetUpHead``, ``AdapterConv``, ``UpBranch``,
  ``UpsampleCat``, ``SegmentationHead_NoSigmoid_3x3`` / ``_1x1``, ``GaussianConv2D``) and the README's
  table of mobile models (input and output sizes).
- Paper: Mehta et al., "Simple and Efficient Architectures for Semantic Segmentation", CVPR 2022
  Efficient Deep Learning for Computer Vision workshop, arXiv:2206.08236.

What is counted is what the AI Hub export runs:

- Input normalisation: ``(x - mean) / std`` per channel (two broadcast element-wise ops).
- LowRes variants only: the ``_pre_down`` networks AI Hub wraps keep their anti-aliased downsampling of
  the input, a reflection pad of one row top and bottom and a fixed 5x5 depthwise Gaussian (sigma 0.7,
  a buffer, not a parameter) with stride 2 and no padding: 512x1024 becomes 255x510.
- Backbone, basic-block ResNets (3x3 conv, BN, ReLU, 3x3 conv, BN, + shortcut (1x1 conv and BN when
  the shape changes), ReLU). "S" (slim): stem 3x3/2 conv 3->32, 3x3/2 conv 32->64, then four stages
  of 64, 128, 192, 320 channels; the ``_D`` backbones of 40S/54S/78S stride all four stages by 2
  (output stride 8 at the first stage), 78S-LowRes's strides them 1, 2, 2, 2. Blocks per stage:
  40S [4, 5, 6, 4], 54S [5, 8, 8, 5], 78S [6, 12, 12, 8]. "NS" (narrow slim, three stages): stem
  3x3/2 conv 3->64, 3x3/2 conv 64->64, 3x3 conv 64->64 (the first branch), then three stages of 64,
  128, 256 channels each strided by 2, 122NS [16, 24, 20] blocks.
- Head ("up-head"): a 1x1 conv-BN-ReLU adapter per branch (head B: 64, 128, 128, 256 channels;
  head C: 128 each); a top-down path: per branch a 3x3 conv-BN-ReLU to the branch output (B: 96, 96,
  64, 32 from the finest; C: 128, 16, 16, 16) and a 1x1 conv-BN-ReLU to the next finer adapter width,
  upsampled by nearest neighbour and added to it; the four outputs upsampled (nearest) to the finest
  and concatenated; then the segmentation head: 3x3 conv (with bias) to 256 (B) or 128 (C), BN, ReLU,
  and a 3x3 (B) or 1x1 (C) conv (with bias) to the 19 Cityscapes classes. The output is these raw
  logits at 1/8 of the input: 128x256 for 1024x2048, 64x128 for the LowRes networks at 512x1024.
  No upsampling of the logits and no argmax: the AI Hub app does those outside the exported graph.

The BatchNorms are kept as modules here (AI Hub's parameter counts include them); a compiler folds
them into the convolutions.

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from chipfit.frontends.pytorch.nets.common import Normalize, stage_outputs

NUM_CLASSES = 19                      # Cityscapes


class ConvBNReLU(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 3, s: int = 1, act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = nn.ReLU(inplace=True) if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 conv-BN, the shortcut added, ReLU."""

    def __init__(self, c1: int, c2: int, s: int = 1):
        super().__init__()
        self.a = ConvBNReLU(c1, c2, 3, s)
        self.b = ConvBNReLU(c2, c2, 3, 1, act=False)
        self.short = ConvBNReLU(c1, c2, 1, s, act=False) if (c1 != c2 or s != 1) else nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.short(x) + self.b(self.a(x)))


def _stage(c1: int, c2: int, n: int, s: int) -> nn.Sequential:
    return nn.Sequential(BasicBlock(c1, c2, s), *[BasicBlock(c2, c2) for _ in range(n - 1)])


class SlimResNet(nn.Module):
    """Four-stage slim backbone: two strided 3x3 stem convs, stages of 64, 128, 192, 320 channels."""

    widths = (64, 128, 192, 320)

    def __init__(self, blocks: tuple[int, int, int, int], strides: tuple[int, int, int, int]):
        super().__init__()
        self.stem = nn.Sequential(ConvBNReLU(3, 32, 3, 2), ConvBNReLU(32, 64, 3, 2))
        chans = (64, *self.widths)
        self.stages = nn.ModuleList(_stage(chans[i], chans[i + 1], blocks[i], strides[i]) for i in range(4))

    def forward(self, x):
        feats = stage_outputs(self.stages, self.stem(x))
        return feats


class NarrowSlimResNet(nn.Module):
    """Three-stage narrow slim backbone: the third stem conv gives the first (finest) branch."""

    widths = (64, 64, 128, 256)

    def __init__(self, blocks: tuple[int, int, int]):
        super().__init__()
        self.stem = nn.Sequential(ConvBNReLU(3, 64, 3, 2), ConvBNReLU(64, 64, 3, 2), ConvBNReLU(64, 64, 3, 1))
        w = self.widths
        self.stages = nn.ModuleList(_stage(w[i], w[i + 1], blocks[i], 2) for i in range(3))

    def forward(self, x):
        x = self.stem(x)
        feats = [x]
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


#: head type -> (adapter widths, branch output widths), finest branch first
HEADS = {
    "B": ((64, 128, 128, 256), (96, 96, 64, 32)),
    "C": ((128, 128, 128, 128), (128, 16, 16, 16)),
}
#: segmentation head -> (middle width, kernel of the last conv)
SEG_HEADS = {"B": (256, 3), "C": (128, 1)}


def _up_to(x, ref):
    return F.interpolate(x, size=ref.shape[-2:], mode="nearest")


class UpHead(nn.Module):
    """FFNet's mobile up-head: adapters, the top-down path (nearest upsampling), the concatenation of
    the four branch outputs at the finest scale, and the segmentation head."""

    def __init__(self, in_chans, head: str, seg: str, num_classes: int = NUM_CLASSES):
        super().__init__()
        base, outs = HEADS[head]
        self.adapters = nn.ModuleList(ConvBNReLU(c, b, 1) for c, b in zip(in_chans, base))
        self.smooth = nn.ModuleList(ConvBNReLU(base[i], outs[i], 3) for i in range(4))
        self.lateral = nn.ModuleList(ConvBNReLU(base[i + 1], base[i], 1) for i in range(3))
        mid, k = SEG_HEADS[seg]
        self.seg = nn.Sequential(
            nn.Conv2d(sum(outs), mid, 3, 1, 1), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
            nn.Conv2d(mid, num_classes, k, 1, k // 2),
        )

    def forward(self, feats):
        f = [a(x) for a, x in zip(self.adapters, feats)]
        x = f[3]
        outs = [self.smooth[3](x)]
        for i in (2, 1, 0):
            x = _up_to(self.lateral[i](x), f[i]) + f[i]
            outs.insert(0, self.smooth[i](x))
        cat = torch.cat([outs[0], *[_up_to(o, outs[0]) for o in outs[1:]]], dim=1)
        return self.seg(cat)


class GaussianDown(nn.Module):
    """Anti-aliased 2x downsampling of the input: reflection pad of one row top and bottom, then a
    fixed depthwise 5x5 Gaussian (sigma 0.7) with stride 2 and no padding. The kernel is a buffer (not
    trained, not a parameter); its exact values (the source builds them with scipy) do not change the
    count."""

    def __init__(self, channels: int = 3, k: int = 5, sigma: float = 0.7):
        super().__init__()
        t = torch.arange(k, dtype=torch.float32) - (k - 1) / 2
        g = torch.exp(-t * t / (2 * sigma * sigma))
        g = g / g.sum()
        self.register_buffer("weight", (g[:, None] * g[None, :]).expand(channels, 1, k, k).contiguous())
        self.channels = channels

    def forward(self, x):
        x = F.pad(x, (0, 0, 1, 1), mode="reflect")
        return F.conv2d(x, self.weight, stride=2, groups=self.channels)


class FFNet(nn.Module):
    """AI Hub's exported FFNet: ImageNet normalisation, (LowRes) Gaussian pre-downsampling, backbone,
    up-head; raw 19-class logits at 1/8 of the input."""

    def __init__(self, backbone: nn.Module, head: str, seg: str, pre_down: bool = False):
        super().__init__()
        self.normalize = Normalize()
        self.pre_down = GaussianDown() if pre_down else nn.Identity()
        self.backbone = backbone
        self.head = UpHead(backbone.widths, head, seg)

    def forward(self, image):
        x = self.normalize(image)
        return self.head(self.backbone(self.pre_down(x)))


def ffnet_40s() -> FFNet:
    """``segmentation_ffnet40S_dBBB_mobile``: slim backbone [4, 5, 6, 4], all stages strided, head B."""
    return FFNet(SlimResNet((4, 5, 6, 4), (2, 2, 2, 2)), "B", "B")


def ffnet_54s() -> FFNet:
    """``segmentation_ffnet54S_dBBB_mobile``: slim backbone [5, 8, 8, 5], all stages strided, head B."""
    return FFNet(SlimResNet((5, 8, 8, 5), (2, 2, 2, 2)), "B", "B")


def ffnet_78s() -> FFNet:
    """``segmentation_ffnet78S_dBBB_mobile``: slim backbone [6, 12, 12, 8], all stages strided, head B."""
    return FFNet(SlimResNet((6, 12, 12, 8), (2, 2, 2, 2)), "B", "B")


def ffnet_78s_lowres() -> FFNet:
    """``segmentation_ffnet78S_BCC_mobile_pre_down``: Gaussian pre-downsampling, slim backbone
    [6, 12, 12, 8] with strides 1, 2, 2, 2, head C."""
    return FFNet(SlimResNet((6, 12, 12, 8), (1, 2, 2, 2)), "C", "C", pre_down=True)


def ffnet_122ns_lowres() -> FFNet:
    """``segmentation_ffnet122NS_CCC_mobile_pre_down``: Gaussian pre-downsampling, narrow slim
    three-stage backbone [16, 24, 20], head C."""
    return FFNet(NarrowSlimResNet((16, 24, 20)), "C", "C", pre_down=True)


__all__ = ["FFNet", "ffnet_40s", "ffnet_54s", "ffnet_78s", "ffnet_78s_lowres", "ffnet_122ns_lowres"]
