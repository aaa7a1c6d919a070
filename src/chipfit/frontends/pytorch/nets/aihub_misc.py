"""PoseNet (MobileNet v1) and DeepLabV3+ (Xception-65) as Qualcomm AI Hub exports them, written here
from their published definitions, for the zoo.

Sources (facts only: layer types, channels, kernel sizes, strides, dilations, the order of the ops):

- Qualcomm AI Hub Models v0.46.1 (https://github.com/quic/ai-hub-models, commit 52c080d2,
  BSD-3-Clause):

  * ``qai_hub_models/models/posenet_mobilenet/model.py`` (``PosenetMobilenet``: posenet-pytorch
    pinned at commit 6f7376d4, ``load_model(101)`` at output stride 16; the exported forward is
    ``model(image * 2 - 1)`` on an RGB image in [0, 1], returning the heatmaps, offsets, forward
    and backward displacements and ``max_pool2d(heatmaps, 3, stride 1, padding 1)``; input spec
    height 513, width 257) and ``info.yaml`` (input "513x257", 3.31M parameters).
  * ``qai_hub_models/models/deeplab_xception/model.py`` (``DeeplabXception``: SegmenTron pinned at
    commit 4bc605ee, ``configs/pascal_voc_deeplabv3_plus.yaml``; the exported forward is
    ``(image - 0.5) / 0.5``, the network, its first output, then ``argmax`` over the classes as
    bytes; input spec height 480, width 520) and ``info.yaml`` (input "480x520", 41.26M parameters).

- posenet-pytorch, https://github.com/rwightman/posenet-pytorch commit
  6f7376d47683553b99d6b67734bc8b368dbcda73 (Apache-2.0): ``posenet/models/mobilenet_v1.py``
  (``MOBILE_NET_V1_100``, used for model id 101; ``_to_output_strided_layers``: once the output
  stride is reached, later strides become dilations; ``InputConv``, ``SeperableConv``, the four 1x1
  heads) and ``posenet/models/model_factory.py``. PoseNet itself: Papandreou et al. 2018, "PersonLab",
  arXiv:1803.08225; MobileNet v1: Howard et al. 2017, arXiv:1704.04861.

- SegmenTron, https://github.com/LikeLy-Journey/SegmenTron commit
  4bc605eedde7d680314f63d329277b73f83b1c5f (Apache-2.0): ``configs/pascal_voc_deeplabv3_plus.yaml``
  (DeepLabV3_Plus, backbone xception65, Pascal VOC: 21 classes), ``segmentron/config/settings.py``
  (output stride 16, ASPP and decoder on, no auxiliary head), ``segmentron/models/deeplabv3_plus.py``
  (``DeepLabV3Plus``, ``_DeepLabHead``), ``segmentron/models/backbones/xception.py``
  (``Xception65``, ``XceptionBlock``), ``segmentron/modules/basic.py`` (``SeparableConv2d``,
  ``_ConvBNReLU``) and ``segmentron/modules/module.py`` (``_ASPP``). Paper: Chen et al. 2018,
  "Encoder-Decoder with Atrous Separable Convolution for Semantic Image Segmentation",
  arXiv:1802.02611.

PoseNet MobileNet v1 (``posenet_mobilenet``), what AI Hub's export runs:

- ``x * 2 - 1`` (two element-wise ops);
- MobileNet v1 at width 1.0 without BatchNorm (the TF.js checkpoint's convolutions carry biases):
  a 3x3/2 convolution 3->32 with ReLU6, then 13 depthwise-separable layers (3x3 depthwise with bias,
  ReLU6, 1x1 pointwise with bias, ReLU6) to 64, 128/2, 128, 256/2, 256, 512/2, 512 ×5, 1024/2,
  1024; at output stride 16 the last stride-2 layer runs at stride 1 and the last layer's depthwise
  convolution is dilated by 2 (padding 2);
- four 1x1 heads with bias on the 1024 features: 17 keypoint heatmaps (sigmoid), 34 offsets, 32
  forward and 32 backward displacements; 33x17 each for a 513x257 input;
- a 3x3 stride-1 max pool of the heatmaps (the local maxima the pose decoder reads).
  The decoding of poses from these maps runs outside the exported graph.

DeepLabV3+ Xception-65 (``deeplab_xception``), what AI Hub's export runs:

- ``(x - 0.5) / 0.5`` per channel;
- Xception-65 at output stride 16: a 3x3/2 conv 3->32 and a 3x3 conv 32->64 (each BN, ReLU); entry
  blocks [64->128 ×3, /2], [128->256 ×3, /2], [256->728 ×3, /2], each three separable convolutions
  (ReLU first: ReLU, 3x3 depthwise, BN, 1x1 pointwise, BN; the third strided) plus a 1x1/stride
  conv-BN shortcut, added; 16 middle blocks of three 728-wide separable convolutions with an
  identity shortcut; exit block [728, 1024, 1024] (stride 1, conv shortcut) and [1024, 1536, 1536,
  2048] (dilation 2, no shortcut, separable convolutions in the other order: depthwise, BN, ReLU,
  pointwise, BN, ReLU). Separable convolutions pad by their dilation and have no bias. The
  low-level features are the second separable convolution of the second entry block (256 channels,
  stride 4);
- ASPP on the 2048-wide stride-16 features: image pooling (global average, 1x1 conv-BN-ReLU to 256,
  bilinear back with ``align_corners``), a 1x1 conv-BN-ReLU and three separable convolutions
  (depthwise, BN, ReLU, pointwise, BN, ReLU) with dilations 6, 12, 18, all to 256; concatenated,
  1x1 conv-BN-ReLU to 256 (dropout: identity at inference);
- decoder: the ASPP output upsampled bilinearly (``align_corners``) to stride 4, the low-level
  features through a 1x1 conv-BN-ReLU to 48, concatenated (304), two separable convolutions to 256
  and a 1x1 convolution with bias to 21 classes; bilinear upsampling (``align_corners``) to the
  input size;
- ``argmax`` over the 21 classes, as bytes: the output is the 480x520 class map.

BatchNorms are kept as modules (the checkpoints and AI Hub's PyTorch models hold them); a compiler
folds them into the convolutions.

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["PoseNetMobileNet", "posenet_mobilenet", "SeparableConv", "XceptionBlock", "Xception65",
           "ASPP", "DeepLabV3PlusXception", "deeplab_xception"]


# -- PoseNet MobileNet v1 -------------------------------------------------------------------------
#: (output channels, stride) of MobileNet v1 (width 1.0) after its 3x3/2 input convolution (32)
MOBILENET_V1 = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
                (512, 1), (512, 1), (1024, 2), (1024, 1))
POSE_KEYPOINTS = 17


class _DwSep(nn.Module):
    """3x3 depthwise (with bias), ReLU6, 1x1 pointwise (with bias), ReLU6."""

    def __init__(self, c1: int, c2: int, s: int, d: int):
        super().__init__()
        self.depthwise = nn.Conv2d(c1, c1, 3, s, d, dilation=d, groups=c1)
        self.pointwise = nn.Conv2d(c1, c2, 1)

    def forward(self, x):
        return F.relu6(self.pointwise(F.relu6(self.depthwise(x))))


class PoseNetMobileNet(nn.Module):
    """AI Hub's exported PoseNet: ``x * 2 - 1``, MobileNet v1 at ``output_stride``, the four heads,
    and the heatmaps' 3x3 max pool. Returns (heatmaps, offsets, displacements forward, backward,
    pooled heatmaps)."""

    def __init__(self, output_stride: int = 16):
        super().__init__()
        layers = [nn.Conv2d(3, 32, 3, 2, 1), nn.ReLU6()]
        c, stride, rate = 32, 2, 1
        for c2, s in MOBILENET_V1:
            if stride == output_stride:   # output stride reached: strides turn into dilation
                layers.append(_DwSep(c, c2, 1, rate))
                rate *= s
            else:
                layers.append(_DwSep(c, c2, s, 1))
                stride *= s
            c = c2
        self.features = nn.Sequential(*layers)
        self.heatmap = nn.Conv2d(c, POSE_KEYPOINTS, 1)
        self.offset = nn.Conv2d(c, 2 * POSE_KEYPOINTS, 1)
        self.displacement_fwd = nn.Conv2d(c, 2 * (POSE_KEYPOINTS - 1), 1)
        self.displacement_bwd = nn.Conv2d(c, 2 * (POSE_KEYPOINTS - 1), 1)

    def forward(self, image):
        x = self.features(image * 2.0 - 1.0)
        heatmap = torch.sigmoid(self.heatmap(x))
        peaks = F.max_pool2d(heatmap, 3, stride=1, padding=1)
        return heatmap, self.offset(x), self.displacement_fwd(x), self.displacement_bwd(x), peaks


def posenet_mobilenet() -> PoseNetMobileNet:
    """AI Hub ``posenet_mobilenet``: PoseNet on MobileNet v1 (checkpoint 101), output stride 16."""
    return PoseNetMobileNet(16).eval()


# -- DeepLabV3+ Xception-65 -----------------------------------------------------------------------
VOC_CLASSES = 21


class SeparableConv(nn.Module):
    """3x3 depthwise (padding = dilation, no bias), BN, 1x1 pointwise (no bias), BN. ``relu_first``:
    a ReLU before the depthwise convolution; otherwise a ReLU after each BN."""

    def __init__(self, c1: int, c2: int, s: int = 1, d: int = 1, relu_first: bool = True, eps: float = 1e-5):
        super().__init__()
        dw = nn.Conv2d(c1, c1, 3, s, d, dilation=d, groups=c1, bias=False)
        pw = nn.Conv2d(c1, c2, 1, bias=False)
        if relu_first:
            self.block = nn.Sequential(nn.ReLU(), dw, nn.BatchNorm2d(c1, eps), pw, nn.BatchNorm2d(c2, eps))
        else:
            self.block = nn.Sequential(dw, nn.BatchNorm2d(c1, eps), nn.ReLU(), pw, nn.BatchNorm2d(c2, eps), nn.ReLU())

    def forward(self, x):
        return self.block(x)


class XceptionBlock(nn.Module):
    """Three separable convolutions (the third strided) and a shortcut: ``conv`` (1x1/stride conv-BN),
    ``sum`` (identity) or ``none``. ``low_feat`` also returns the second convolution's output."""

    def __init__(self, chs: tuple[int, int, int, int], s: int = 1, d: int = 1, skip: str = "conv",
                 relu_first: bool = True, low_feat: bool = False):
        super().__init__()
        eps = 1e-3  # the config's BN_EPS_FOR_ENCODER
        self.skip, self.low_feat = skip, low_feat
        if skip == "conv":
            self.shortcut = nn.Sequential(nn.Conv2d(chs[0], chs[3], 1, s, bias=False), nn.BatchNorm2d(chs[3], eps))
        self.sep1 = SeparableConv(chs[0], chs[1], 1, d, relu_first, eps)
        self.sep2 = SeparableConv(chs[1], chs[2], 1, d, relu_first, eps)
        self.sep3 = SeparableConv(chs[2], chs[3], s, d, relu_first, eps)

    def forward(self, x):
        low = self.sep2(self.sep1(x))
        y = self.sep3(low)
        if self.skip == "conv":
            y = y + self.shortcut(x)
        elif self.skip == "sum":
            y = y + x
        return (y, low) if self.low_feat else y


class Xception65(nn.Module):
    """Xception-65 at output stride 16; returns (low-level features at stride 4, features at 16)."""

    def __init__(self):
        super().__init__()
        eps = 1e-3
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32, eps), nn.ReLU(),
                                  nn.Conv2d(32, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64, eps), nn.ReLU())
        self.block1 = XceptionBlock((64, 128, 128, 128), s=2)
        self.block2 = XceptionBlock((128, 256, 256, 256), s=2, low_feat=True)
        self.block3 = XceptionBlock((256, 728, 728, 728), s=2)
        self.middle = nn.Sequential(*(XceptionBlock((728,) * 4, skip="sum") for _ in range(16)))
        self.exit1 = XceptionBlock((728, 728, 1024, 1024), s=1, d=1)
        self.exit2 = XceptionBlock((1024, 1536, 1536, 2048), d=2, skip="none", relu_first=False)

    def forward(self, x):
        x, low = self.block2(self.block1(self.stem(x)))
        x = self.middle(self.block3(x))
        return low, self.exit2(self.exit1(x))


def _conv_bn_relu(c1: int, c2: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c1, c2, 1, bias=False), nn.BatchNorm2d(c2), nn.ReLU())


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling with separable branches (dilations 6, 12, 18 at stride 16)."""

    def __init__(self, c1: int = 2048, c2: int = 256, dilations=(6, 12, 18)):
        super().__init__()
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), _conv_bn_relu(c1, c2))
        self.branch0 = _conv_bn_relu(c1, c2)
        self.branches = nn.ModuleList(SeparableConv(c1, c2, 1, d, relu_first=False) for d in dilations)
        self.project = _conv_bn_relu(c2 * (2 + len(dilations)), c2)

    def forward(self, x):
        pool = F.interpolate(self.pool(x), size=x.shape[2:], mode="bilinear", align_corners=True)
        return self.project(torch.cat([pool, self.branch0(x), *(b(x) for b in self.branches)], 1))


class DeepLabV3PlusXception(nn.Module):
    """AI Hub's exported DeepLabV3+ Xception-65: ``(x - 0.5) / 0.5``, backbone, ASPP, decoder, logits
    upsampled to the input, then the class map (``argmax`` as bytes); ``argmax=False`` returns the
    logits."""

    def __init__(self, num_classes: int = VOC_CLASSES, argmax: bool = True):
        super().__init__()
        self.argmax = argmax
        self.encoder = Xception65()
        self.aspp = ASPP(2048, 256)
        self.low_block = _conv_bn_relu(256, 48)
        self.block = nn.Sequential(SeparableConv(256 + 48, 256, relu_first=False),
                                   SeparableConv(256, 256, relu_first=False),
                                   nn.Conv2d(256, num_classes, 1))

    def forward(self, image):
        size = image.shape[2:]
        low, x = self.encoder((image - 0.5) / 0.5)
        x = F.interpolate(self.aspp(x), size=low.shape[2:], mode="bilinear", align_corners=True)
        x = self.block(torch.cat([x, self.low_block(low)], 1))
        logits = F.interpolate(x, size=size, mode="bilinear", align_corners=True)
        return logits.argmax(1).byte() if self.argmax else logits


def deeplab_xception() -> DeepLabV3PlusXception:
    """AI Hub ``deeplab_xception``: DeepLabV3+ Xception-65 (Pascal VOC, 21 classes), output stride 16."""
    return DeepLabV3PlusXception().eval()
