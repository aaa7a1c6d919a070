"""Networks of the Rockchip RKNN model zoo (https://github.com/airockchip/rknn_model_zoo) as its
examples export them, for the zoo. Each ``examples/<name>/README.md`` names the upstream project
and the exported file; the ``python/`` demos show the exported graph's inputs and outputs. RKNN
publishes no parameter or operation counts: each network is held to its upstream project's.

retinaface_mobilenet, retinaface_resnet50
    Deng et al. 2019, "RetinaFace: Single-stage Dense Face Localisation in the Wild",
    arXiv:1905.00641, as https://github.com/biubug6/Pytorch_Retinaface builds it (``models/net.py``,
    ``models/retinaface.py``, ``data/config.py``), exported by RKNN at 320x320
    (``RetinaFace_mobile320.onnx``, ``RetinaFace_resnet50_320.onnx``). ``cfg_mnet``: the 0.25-width
    MobileNetV1 (``mobilenet0.25``: 8 to 256 channels, BatchNorm and LeakyReLU 0.1) whose stages end
    at strides 8, 16, 32 with 64, 128, 256 channels, an FPN of width 64 (1x1 laterals, nearest
    upsampling, 3x3 merge convs on the two finer levels; LeakyReLU 0.1) and an SSH context module
    per level. ``cfg_re50``: torchvision's ResNet-50 (``layer2``-``layer4``: 512, 1024, 2048
    channels), FPN and SSH of width 256 with ReLU. Per level 1x1 convs with bias to 2 anchors x (4
    box, 2 class, 10 landmark) values; the export permutes them to (positions x anchors, values),
    concatenates the three levels and applies the softmax over the two class scores (the
    ``phase='test'`` outputs; RKNN's demo reads ``loc, conf, landmarks`` and takes ``conf[:, 1]``
    as the face score). Prior-box decoding and NMS are not counted. The same layout at full
    MobileNetV1 width is the zoo's ``retinaface_mobilenet_v1``. Published:
    biubug6/Face-Detector-1MB-with-landmark (the mobilenet0.25 RetinaFace with other anchor sizes)
    lists 0.426M parameters and 193.921M FLOPs (multiply-adds) at 320x240; OpenVINO's Open Model
    Zoo ``retinaface-resnet50-pytorch`` (this repository's ResNet-50 model at 640x640) lists
    27.2646M parameters and 88.8627 GFLOPs.

resnet50_v2
    He et al. 2016, "Identity Mappings in Deep Residual Networks", arXiv:1603.05027, as the ONNX
    model zoo's ``resnet50-v2-7`` (converted from MXNet Gluon's ``resnet50_v2``; the same
    definition is https://github.com/dmlc/gluon-cv ``gluoncv/model_zoo/resnet.py``,
    ``ResNetV2`` / ``BottleneckV2``): a BatchNorm without scale or shift on the input, a 7x7
    stride-2 conv to 64, BatchNorm, ReLU, 3x3 stride-2 max-pool, then 3, 4, 6, 3 pre-activation
    bottleneck units (BatchNorm, ReLU, 1x1 conv; BatchNorm, ReLU, 3x3 conv carrying the stride;
    BatchNorm, ReLU, 1x1 conv to 4x; the first unit of each stage adds a 1x1 projection of the
    pre-activated input, without BatchNorm), a final BatchNorm and ReLU, global average pooling
    and a 2048 x 1000 linear layer (logits). All convs are bias-free. Its convolutions are those of
    torchvision's ResNet-50; only the BatchNorm placement differs.

lprnet
    Zherzdev and Gruzdev 2018, "LPRNet: License Plate Recognition via Deep Neural Networks",
    arXiv:1806.10447, as https://github.com/sirius-ai/LPRNet_Pytorch builds it (``model/LPRNet.py``,
    68 classes, 24x94 input) and RKNN's ``examples/LPRNet/python/export_onnx.py`` exports it: a 3x3
    conv to 64 (valid padding) with BatchNorm and ReLU, a 3x3 stride-1 max-pool, a "small basic
    block" to 128 (1x1 conv to c/4, 3x1 conv, 1x3 conv, 1x1 conv to c, ReLU between, convs with
    bias), BatchNorm, ReLU, a max-pool of 3x3 stride (1, 2) whose channel stride of 2 keeps every
    other channel (RKNN's export writes the 3-d pool as a 2-d pool, a transpose, a 1x1 pool of
    stride 2 along channels and a transpose back), blocks to 256 and 256 with BatchNorm and ReLU,
    the same pool with channel stride 4 (256 -> 64), a 1x4 conv to 256, BatchNorm, ReLU, a 13x1 conv
    to 68, BatchNorm, ReLU. Global context: the outputs after layers 2, 6, 13 and 22 average-pooled
    (5x5 stride 5, 5x5 stride 5, 4x10 stride (4, 2)) to 4x18, each divided by the mean of its
    squares, concatenated (64 + 128 + 256 + 68 channels), a 1x1 conv to 68 and the mean over the
    height: 68 x 18 class logits for CTC decoding (not counted). Dropout is inert. The repository
    lists a 1.7M model file (float32 weights).

deeplabv3_plus_mobilenet_v2
    TensorFlow DeepLab's ``mobilenetv2_coco_voc_trainaug`` (https://github.com/tensorflow/models
    ``research/deeplab``: ``g3doc/model_zoo.md``, ``core/feature_extractor.py``, ``model.py``),
    the frozen graph RKNN's ``deeplabv3`` example converts (``deeplab-v3-plus-mobilenet-v2.pb``,
    input ``sub_7`` at 513x513, output ``logits/semantic/BiasAdd``, 65x65x21). MobileNetV2 (depth
    multiplier 1) to its 320-channel ``layer_18`` at output stride 8 (the export's 65x65 output):
    from the 64-channel stage on, strides become dilations (2, then 4 from the 160-channel
    stage). No ASPP atrous branches and no decoder ("MobileNet-v2 based models do not employ ASPP
    and decoder modules"): an image-pooling branch (global average, 1x1 conv to 256, BatchNorm,
    ReLU, bilinear resize back) and a 1x1 conv branch to 256, concatenated, a 1x1 projection to
    256 with BatchNorm and ReLU, and a 1x1 conv with bias to 21 classes. This is not the zoo's
    ``deeplabv3_plus_mobilenet`` (jfzhang95's PyTorch DeepLabV3+: output stride 16, four-branch
    ASPP, a decoder over the stride-4 features). Published: the DeepLab model zoo lists 2.75B
    multiply-adds at 513x513 for this checkpoint evaluated at output stride 16.

pp_liteseg
    Peng et al. 2022, "PP-LiteSeg: A Superior Real-Time Semantic Segmentation Model",
    arXiv:2204.02681, as https://github.com/PaddlePaddle/PaddleSeg (release 2.8 and later) builds
    PP-LiteSeg-T for Cityscapes
    (``configs/pp_liteseg/pp_liteseg_stdc1_cityscapes_1024x512_scale0.5_160k.yml``,
    ``paddleseg/models/pp_liteseg.py``, ``backbones/stdcnet.py``, ``layers/tensor_fusion.py``), the ``pp_liteseg_cityscapes.onnx`` RKNN's ``ppseg`` example runs
    at 512x512. STDC1 (Fan et al. 2021, arXiv:2104.13188; base 64, two modules per stage): 3x3
    stride-2 convs to 32 and 64, then stages of two concatenating STDC modules at 256, 512, 1024
    channels (a 1x1 conv to c/2, 3x3 convs to c/4, c/8, c/8, outputs concatenated; in the first
    module a 3x3 stride-2 depthwise conv + BatchNorm before the second conv and a 3x3 stride-2
    average pool on the first output). A simple pyramid pooling module on the stride-32 features
    (pools to 1, 2, 4, 1x1 convs with bias to 128, bilinear upsampling, sum, 3x3 conv with bias);
    unified attention fusion modules with spatial attention (``UAFM_SpAtten``) at strides 32, 16,
    8 with 128, 64, 32 output channels (the low-level input through a 3x3 conv, the high-level one
    upsampled; channel means and maxes of both through 3x3 convs to 2 and 1 and a sigmoid weight
    ``a``; ``x a + y (1 - a)``; a 3x3 conv); in inference only the stride-8 segmentation head
    (3x3 conv to 32, 1x1 conv to 19 classes) runs, its logits bilinearly resized to the input
    (the argmax runs on the host). The two auxiliary heads used in training are not in the export.
    Published: the STDC1 ImageNet network (this backbone plus a 1x1 conv to 1024, pooling and two
    linear layers) is STDCNet813, 813M FLOPs (multiply-adds) at 224x224. PaddleSeg publishes no
    parameter count for PP-LiteSeg.

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models import resnet50

from chipfit.frontends.pytorch.nets.common import stage_outputs
from chipfit.frontends.pytorch.nets.hailo_face import SSH, RetinaMobileNet
from chipfit.frontends.pytorch.nets.hailo_nets import conv_bn_act

# ------------------------------------------------------------------------------- RetinaFace


class RetinaResNet50(nn.Module):
    """torchvision's ResNet-50 to ``layer4``, returning the ``layer2``-``layer4`` outputs."""

    def __init__(self):
        super().__init__()
        net = resnet50()
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1)
        self.layer2, self.layer3, self.layer4 = net.layer2, net.layer3, net.layer4
        self.out_channels = [512, 1024, 2048]

    def forward(self, x):
        c3 = self.layer2(self.stem(x))
        c4 = self.layer3(c3)
        return [c3, c4, self.layer4(c4)]


class RetinaFaceExport(nn.Module):
    """RetinaFace as exported for inference: per-level box, class and landmark 1x1 convs, each
    permuted to (positions x anchors, values) and concatenated over the levels; softmax over the
    two class scores."""

    def __init__(self, body: nn.Module, width: int, anchors: int = 2):
        super().__init__()
        self.body = body
        act = nn.LeakyReLU(0.1) if width <= 64 else nn.ReLU()
        self.laterals = nn.ModuleList(conv_bn_act(c, width, 1, act=act) for c in body.out_channels)
        self.merges = nn.ModuleList(conv_bn_act(width, width, 3, act=act) for _ in range(2))
        self.ssh = nn.ModuleList(SSH(width) for _ in range(3))
        self.values = (4, 2, 10)
        self.heads = nn.ModuleList(
            nn.ModuleList(nn.Conv2d(width, v * anchors, 1) for v in self.values) for _ in range(3))

    def forward(self, x):
        p1, p2, p3 = (lat(f) for lat, f in zip(self.laterals, self.body(x)))
        p2 = self.merges[1](p2 + F.interpolate(p3, size=p2.shape[2:], mode="nearest"))
        p1 = self.merges[0](p1 + F.interpolate(p2, size=p1.shape[2:], mode="nearest"))
        per_kind = [[], [], []]
        for ssh, heads, p in zip(self.ssh, self.heads, (p1, p2, p3)):
            f = ssh(p)
            for k, (head, v) in enumerate(zip(heads, self.values)):
                y = head(f).permute(0, 2, 3, 1).contiguous()
                per_kind[k].append(y.view(y.shape[0], -1, v))
        loc, conf, landmarks = (torch.cat(parts, 1) for parts in per_kind)
        return loc, F.softmax(conf, dim=-1), landmarks


def retinaface_mobilenet() -> RetinaFaceExport:
    """RetinaFace with the 0.25-width MobileNetV1 (``cfg_mnet``), exported at 320x320."""
    return RetinaFaceExport(RetinaMobileNet(mult=1), width=64)


def retinaface_resnet50() -> RetinaFaceExport:
    """RetinaFace with ResNet-50 (``cfg_re50``), exported at 320x320."""
    return RetinaFaceExport(RetinaResNet50(), width=256)


# ------------------------------------------------------------------------------- ResNet-50 v2

class PreActBottleneck(nn.Module):
    """Pre-activation bottleneck: (BN, ReLU, conv) x 3 with the stride in the 3x3 conv; the
    projection shortcut (first unit of a stage) takes the pre-activated input."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        mid = cout // 4
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, mid, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(mid), nn.Conv2d(mid, mid, 3, stride, 1, bias=False)
        self.bn3, self.conv3 = nn.BatchNorm2d(mid), nn.Conv2d(mid, cout, 1, bias=False)
        self.downsample = (nn.Conv2d(cin, cout, 1, stride, bias=False)
                           if stride != 1 or cin != cout else None)

    def forward(self, x):
        y = F.relu(self.bn1(x))
        shortcut = x if self.downsample is None else self.downsample(y)
        y = self.conv1(y)
        y = self.conv2(F.relu(self.bn2(y)))
        y = self.conv3(F.relu(self.bn3(y)))
        return y + shortcut


class ResNetV2(nn.Module):
    def __init__(self, layers=(3, 4, 6, 3), classes: int = 1000):
        super().__init__()
        self.data_bn = nn.BatchNorm2d(3, affine=False)
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        units, cin = [], 64
        for i, n in enumerate(layers):
            cout = 256 * 2 ** i
            for j in range(n):
                units.append(PreActBottleneck(cin, cout, 2 if (j == 0 and i > 0) else 1))
                cin = cout
        self.units = nn.Sequential(*units)
        self.post = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU())
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.post(self.units(self.stem(self.data_bn(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def resnet50_v2() -> ResNetV2:
    """ResNet-50 v2 (pre-activation, ONNX model zoo ``resnet50-v2-7``), 224x224, 1000 logits."""
    return ResNetV2()


# ------------------------------------------------------------------------------------ LPRNet

class SmallBasicBlock(nn.Module):
    """LPRNet's block: 1x1 conv to c/4, 3x1 conv, 1x3 conv, 1x1 conv to c (bias, ReLU between)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        q = cout // 4
        self.block = nn.Sequential(nn.Conv2d(cin, q, 1), nn.ReLU(),
                                   nn.Conv2d(q, q, (3, 1), padding=(1, 0)), nn.ReLU(),
                                   nn.Conv2d(q, q, (1, 3), padding=(0, 1)), nn.ReLU(),
                                   nn.Conv2d(q, cout, 1))

    def forward(self, x):
        return self.block(x)


class ChannelStridePool(nn.Module):
    """The export's form of a 1x3x3 max-pool with a channel stride: a 3x3 2-d pool with the
    spatial stride, then a 1x1 pool taking every ``cstride``-th channel (via transposes)."""

    def __init__(self, cstride: int, stride: tuple[int, int]):
        super().__init__()
        self.spatial = nn.MaxPool2d(3, stride)
        self.channel = nn.MaxPool2d(1, (1, cstride))

    def forward(self, x):
        x = self.spatial(x)
        return self.channel(x.transpose(1, 3)).transpose(1, 3)


class LPRNet(nn.Module):
    def __init__(self, classes: int = 68):
        super().__init__()
        self.backbone = nn.Sequential(
            nn.Conv2d(3, 64, 3), nn.BatchNorm2d(64), nn.ReLU(),                  # 0-2
            ChannelStridePool(1, (1, 1)),
            SmallBasicBlock(64, 128), nn.BatchNorm2d(128), nn.ReLU(),           # 4-6
            ChannelStridePool(2, (1, 2)),
            SmallBasicBlock(64, 256), nn.BatchNorm2d(256), nn.ReLU(),           # 8-10
            SmallBasicBlock(256, 256), nn.BatchNorm2d(256), nn.ReLU(),          # 11-13
            ChannelStridePool(4, (1, 2)),
            nn.Dropout(0.0),
            nn.Conv2d(64, 256, (1, 4)), nn.BatchNorm2d(256), nn.ReLU(),         # 16-18
            nn.Dropout(0.0),
            nn.Conv2d(256, classes, (13, 1)), nn.BatchNorm2d(classes), nn.ReLU())  # 20-22
        self.container = nn.Conv2d(64 + 128 + 256 + classes, classes, 1)

    def forward(self, x):
        keep = []
        for i, layer in enumerate(self.backbone):
            x = layer(x)
            if i in (2, 6, 13, 22):
                keep.append(x)
        ctx = []
        for i, f in enumerate(keep):
            if i < 2:
                f = F.avg_pool2d(f, 5, 5)
            elif i == 2:
                f = F.avg_pool2d(f, (4, 10), (4, 2))
            ctx.append(f / torch.mean(f * f))
        return torch.mean(self.container(torch.cat(ctx, 1)), dim=2)


def lprnet() -> LPRNet:
    """LPRNet (68 Chinese-plate classes), 24x94 input, 68 x 18 logits."""
    return LPRNet()


# ----------------------------------------------------------------- DeepLab (TF) MobileNetV2

#: MobileNetV2 inverted-residual stages: (expansion, channels, units, stride)
MOBILENETV2_STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                      (6, 160, 3, 2), (6, 320, 1, 1)]


class InvertedResidual(nn.Module):
    """1x1 expansion (BatchNorm, ReLU6; absent at expansion 1), 3x3 depthwise with stride and
    dilation (BatchNorm, ReLU6), linear 1x1 projection with BatchNorm; residual when shapes match."""

    def __init__(self, cin: int, cout: int, expansion: int, stride: int, dilation: int):
        super().__init__()
        mid = cin * expansion
        layers = [] if expansion == 1 else [conv_bn_act(cin, mid, 1, act=nn.ReLU6())]
        layers += [nn.Conv2d(mid, mid, 3, stride, dilation, dilation, groups=mid, bias=False),
                   nn.BatchNorm2d(mid), nn.ReLU6(), conv_bn_act(mid, cout, 1)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class DeepLabMobileNetV2(nn.Module):
    """TF DeepLab's MobileNetV2 model: MobileNetV2 to ``layer_18`` at ``output_stride``, image
    pooling + 1x1 branches, 1x1 projection, 1x1 logits (no resize to the input)."""

    def __init__(self, output_stride: int = 8, classes: int = 21, width: int = 256):
        super().__init__()
        layers, cin, stride, rate = [conv_bn_act(3, 32, 3, 2, act=nn.ReLU6())], 32, 2, 1
        for t, c, n, s in MOBILENETV2_STAGES:
            for j in range(n):
                unit_stride, unit_rate = (s if j == 0 else 1), rate
                if unit_stride > 1 and stride >= output_stride:
                    unit_stride, rate = 1, rate * unit_stride
                elif unit_stride > 1:
                    stride *= unit_stride
                layers.append(InvertedResidual(cin, c, t, unit_stride, unit_rate))
                cin = c
        self.features = nn.Sequential(*layers)
        self.image_pool = conv_bn_act(cin, width, 1, act=nn.ReLU())
        self.aspp0 = conv_bn_act(cin, width, 1, act=nn.ReLU())
        self.project = conv_bn_act(2 * width, width, 1, act=nn.ReLU())
        self.logits = nn.Conv2d(width, classes, 1)

    def forward(self, x):
        f = self.features(x)
        pooled = self.image_pool(F.adaptive_avg_pool2d(f, 1))
        pooled = F.interpolate(pooled, size=f.shape[2:], mode="bilinear", align_corners=True)
        return self.logits(self.project(torch.cat([pooled, self.aspp0(f)], 1)))


def deeplabv3_plus_mobilenet_v2() -> DeepLabMobileNetV2:
    """TF DeepLab MobileNetV2 (PASCAL VOC, 21 classes) at output stride 8: 513x513 in, 65x65 logits."""
    return DeepLabMobileNetV2(output_stride=8)


# ------------------------------------------------------------------------------- PP-LiteSeg

def _cbr(cin: int, cout: int, kernel: int = 3, stride: int = 1, bias: bool = False) -> nn.Sequential:
    """k x k conv ("same" padding), BatchNorm, ReLU; the conv with a bias where ``bias``."""
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=bias),
                         nn.BatchNorm2d(cout), nn.ReLU())


class STDCCatBlock(nn.Module):
    """STDC's concatenating module (four convs): a 1x1 conv to c/2, then 3x3 convs to c/4, c/8
    and c/8, each fed by the previous one; the four outputs concatenated (c channels). At stride 2
    a 3x3 stride-2 depthwise conv + BatchNorm sits before the second conv and the first output is
    average-pooled (3x3, stride 2) before the concat."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.convs = nn.ModuleList([_cbr(cin, cout // 2, 1), _cbr(cout // 2, cout // 4),
                                    _cbr(cout // 4, cout // 8), _cbr(cout // 8, cout // 8)])
        self.stride = stride
        if stride == 2:
            h = cout // 2
            self.avd = nn.Sequential(nn.Conv2d(h, h, 3, 2, 1, groups=h, bias=False), nn.BatchNorm2d(h))
            self.skip = nn.AvgPool2d(3, 2, 1)

    def forward(self, x):
        first = self.convs[0](x)
        y = self.avd(first) if self.stride == 2 else first
        outs = []
        for conv in self.convs[1:]:
            y = conv(y)
            outs.append(y)
        return torch.cat([self.skip(first) if self.stride == 2 else first, *outs], 1)


class STDC1(nn.Module):
    """STDC1 (base 64, two modules per stage): outputs at strides 8, 16, 32 (256, 512, 1024)."""

    def __init__(self, base: int = 64, layers=(2, 2, 2)):
        super().__init__()
        self.stem = nn.Sequential(_cbr(3, base // 2, 3, 2), _cbr(base // 2, base, 3, 2))
        stages, cin = [], base
        for i, n in enumerate(layers):
            cout = base * 4 * 2 ** i
            stages.append(nn.Sequential(*[STDCCatBlock(cin if j == 0 else cout, cout, 2 if j == 0 else 1)
                                          for j in range(n)]))
            cin = cout
        self.stages = nn.ModuleList(stages)
        self.out_channels = [base * 4 * 2 ** i for i in range(len(layers))]

    def forward(self, x):
        feats = stage_outputs(self.stages, self.stem(x))
        return feats


class SPPM(nn.Module):
    """PP-LiteSeg's simple pyramid pooling: average pools to 1x1, 2x2 and 4x4, each a 1x1 conv
    (with bias) + BatchNorm + ReLU, bilinearly upsampled and summed, then a 3x3 conv (with bias) +
    BatchNorm + ReLU."""

    def __init__(self, cin: int, c: int = 128, bins=(1, 2, 4)):
        super().__init__()
        self.bins = bins
        self.stages = nn.ModuleList(_cbr(cin, c, 1, bias=True) for _ in bins)
        self.conv_out = _cbr(c, c, 3, bias=True)

    def forward(self, x):
        out = None
        for b, stage in zip(self.bins, self.stages):
            y = F.interpolate(stage(F.adaptive_avg_pool2d(x, b)), size=x.shape[2:], mode="bilinear",
                              align_corners=False)
            out = y if out is None else out + y
        return self.conv_out(out)


class UAFMSpatial(nn.Module):
    """Unified attention fusion with spatial attention: the low-level input through a 3x3 conv to
    the high-level width, the high-level input bilinearly upsampled; channel mean and max of both
    (4 maps) through a 3x3 conv + BatchNorm + ReLU to 2 and a 3x3 conv + BatchNorm to 1, sigmoid:
    ``a``; ``x * a + y * (scale - a)`` (``scale`` a fixed 1) through a 3x3 conv to the output."""

    def __init__(self, x_ch: int, y_ch: int, out_ch: int):
        super().__init__()
        self.conv_x = _cbr(x_ch, y_ch)
        self.conv_out = _cbr(y_ch, out_ch)
        self.atten = nn.Sequential(_cbr(4, 2), nn.Conv2d(2, 1, 3, 1, 1, bias=False), nn.BatchNorm2d(1))
        self.scale = nn.Parameter(torch.ones(1), requires_grad=False)

    def forward(self, x, y):
        x = self.conv_x(x)
        y = F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False)
        stats = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True),
                           y.mean(1, keepdim=True), y.amax(1, keepdim=True)], 1)
        a = torch.sigmoid(self.atten(stats))
        return self.conv_out(x * a + y * (self.scale - a))


class PPLiteSeg(nn.Module):
    """PP-LiteSeg-T as exported for inference: STDC1, SPPM, three UAFMs (32, 64, 128 channels)
    and the stride-8 segmentation head only, logits resized to the input."""

    def __init__(self, classes: int = 19, arm_out=(32, 64, 128), head_mid: int = 32, cm: int = 128):
        super().__init__()
        self.backbone = STDC1()
        chans = self.backbone.out_channels
        self.cm = SPPM(chans[-1], cm)
        highs = list(arm_out[1:]) + [cm]
        self.arms = nn.ModuleList(UAFMSpatial(c, h, o) for c, h, o in zip(chans, highs, arm_out))
        self.head = nn.Sequential(_cbr(arm_out[0], head_mid), nn.Conv2d(head_mid, classes, 1, bias=False))

    def forward(self, x):
        feats = self.backbone(x)
        high = self.cm(feats[-1])
        for i in reversed(range(len(feats))):
            high = self.arms[i](feats[i], high)
        return F.interpolate(self.head(high), size=x.shape[2:], mode="bilinear", align_corners=False)


def pp_liteseg() -> PPLiteSeg:
    """PP-LiteSeg-T (STDC1, Cityscapes, 19 classes); RKNN's table runs it at 512x512."""
    return PPLiteSeg()
