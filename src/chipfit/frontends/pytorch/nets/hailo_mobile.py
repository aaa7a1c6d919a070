"""Mobile detection, segmentation and depth networks as the Hailo Model Zoo compiles them, for the
zoo. The Hailo Model Zoo is https://github.com/hailo-ai/hailo_model_zoo (commit c83fc030); each
network's ``hailo_model_zoo/cfg/networks/<id>.yaml`` names the source it was taken from, the input
and output shapes, ``info.parameters`` and ``info.operations`` (two per multiply-accumulate).
Hailo's parameter counts are those of the compiled graph, BatchNorm folded into the convolutions.

ssd_mobilenet_v1, ssd_mobilenet_v2
    SSD (Liu et al. 2016, arXiv:1512.02325) as the TensorFlow Object Detection API builds it,
    https://github.com/tensorflow/models ``research/object_detection`` (``ssd_mobilenet_v1_coco`` and
    ``ssd_mobilenet_v2_coco`` of its TF1 detection zoo; ``models/ssd_mobilenet_v1_feature_extractor.py``,
    ``ssd_mobilenet_v2_feature_extractor.py``, ``feature_map_generators.py``,
    ``convolutional_box_predictor.py``), 300x300 input, 90 COCO classes plus background. Hailo's
    graph ends at the twelve box-predictor convs (its cfg's parser end nodes); anchor decoding and
    NMS run after it. Feature maps: for MobileNetV1, ``Conv2d_11_pointwise`` (19x19x512) and
    ``Conv2d_13_pointwise`` (10x10x1024); for MobileNetV2, the expansion output of the first 160-channel
    (stride-2) bottleneck, TF's ``expanded_conv_13`` (``layer_15/expansion_output``, 19x19x576), and the final 1x1 conv (10x10x1280). Four
    extra layers of depths 512, 256, 256, 128 follow (5x5, 3x3, 2x2, 1x1), each a 1x1 conv to half
    the depth and a 3x3 stride-2 conv ("SAME" padding), a regular conv for v1 and a depthwise 3x3 +
    1x1 pair for v2 (``use_depthwise: true`` in its feature extractor config); every conv has
    BatchNorm and ReLU6. The box predictor on each of the six maps is a pair of 1x1 convs with bias:
    4 and 91 outputs per anchor, 3 anchors on the first map and 6 on the others (the anchor config
    of Hailo's ``base/ssd.yaml`` and its ``mobilenet_v2_ssd_nms_postprocess_config.json``).
    Hailo: 6.79M parameters / 2.5G OPS (v1), 4.46M / 1.52G OPS (v2).

deeplab_v3_mobilenet_v2
    Hailo's ONNX of https://github.com/bonlime/keras-deeplab-v3-plus (``model.py``, backbone
    ``mobilenetv2``, alpha 1, output stride 8), a Keras port of TensorFlow's DeepLab
    (https://github.com/tensorflow/models ``research/deeplab``; Chen et al. 2017, "Rethinking
    Atrous Convolution for Semantic Image Segmentation", arXiv:1706.05587). MobileNetV2 without its
    final 1x1 conv (320 channels out); the stages that would pass stride 8 run at stride 1 with
    dilated depthwise convs (rate 2 for the 64- and 96-channel stages and the first 160-channel
    block, rate 4 after). For this backbone there are no atrous ASPP branches and no decoder: an
    image-pooling branch (global average pool, 1x1 conv to 256) and a 1x1 conv to 256 are
    concatenated and projected to 256 by a 1x1 conv (BatchNorm and ReLU on each), then a 1x1 logits
    conv with bias to the 21 Pascal VOC classes and a bilinear resize to the 513x513 input (Hailo's
    graph ends at that resize). Hailo: 2.10M parameters, 17.65G OPS.

deeplab_v3_mobilenet_v2_wo_dilation
    Hailo's ONNX of TensorFlow DeepLab's MobileNetV2 model (``research/deeplab``, the same head):
    here the backbone keeps all its strides (output stride 32, 17x17 features for a 513x513 input;
    Hailo's 3.21G OPS fit this and not output stride 16, which would be 5.5G), and the graph ends in
    the per-pixel argmax over the upsampled logits (a 513x513x1 output). Hailo: 2.10M parameters,
    3.21G OPS.

unet_mobilenet_v2
    Hailo's TFLite of the U-Net in TensorFlow's image segmentation tutorial,
    https://www.tensorflow.org/tutorials/images/segmentation (Oxford-IIIT Pet, 3 classes), at
    256x256: a Keras MobileNetV2 encoder (alpha 1) tapped at ``block_1_expand_relu`` (96 channels,
    1/2), ``block_3_expand_relu`` (144, 1/4), ``block_6_expand_relu`` (192, 1/8),
    ``block_13_expand_relu`` (576, 1/16) and ``block_16_project`` (320, 1/32); an up stack of
    ``pix2pix.upsample`` blocks to 512, 256, 128, 64 channels (a stride-2 "same" transposed conv
    without bias, BatchNorm, ReLU), each followed by concatenation with the next tap; a last
    stride-2 transposed conv with bias to the 3 classes (Hailo's ``deconv5``). The tutorial writes
    3x3 kernels, which give 6.46M parameters; Hailo's 10.08M parameters (10,078,499 folded) are
    those of 4x4 kernels in all five transposed convs, as built here. Hailo counts a stride-2
    transposed conv's operations on its output grid (four times chipfit's count, which is taken from
    the input side): its 28.88G OPS is 2 x (3.88 GMACs + 3 x the 3.58 GMACs of the transposed
    convs) here.

fast_depth
    Wofk et al. 2019, "FastDepth: Fast Monocular Depth Estimation on Embedded Systems",
    arXiv:1903.03273, and https://github.com/dwofk/fast-depth (``models.py``, ``MobileNetSkipAdd``;
    ``imagenet/mobilenet.py``): the released model ``mobilenet-nnconv5dw-skipadd-pruned``, which
    Hailo compiles (its RMSE 0.604 is the paper's). A MobileNetV1 encoder (a 3x3 stride-2 conv and
    13 depthwise-separable layers, BatchNorm, ReLU6); a decoder of five layers, each a 5x5 depthwise
    conv and a 1x1 conv (BatchNorm, ReLU) followed by 2x nearest upsampling, with the outputs of
    encoder layers 1, 3 and 5 added after decoder layers 4, 3 and 2; a 1x1 conv (BatchNorm, ReLU) to
    one depth channel at 224x224. NetAdapt pruning changed the layer widths, which ``models.py``
    does not hold; they are read from the layer shapes in the repository's TVM tuning logs
    (``tvm_compile/tuning/*skipadd-pruned*.log``): stem 16; encoder 56, 88, 120, 144, 256, 408, 376,
    272, 288, 296, 328, 480, 512; decoder 200, 256, 120, 56, 16. Paper: 0.37 GMACs. Hailo: 1.35M
    parameters, 0.74G OPS.

efficientdet_lite0, efficientdet_lite1, efficientdet_lite2
    Tan et al. 2020, "EfficientDet: Scalable and Efficient Object Detection", arXiv:1911.09070, in
    the Lite form of https://github.com/google/automl ``efficientdet`` (``hparams_config.py``
    ``efficientdet_lite_param_dict``, ``efficientdet_keras.py``, ``backbone/efficientnet_lite_builder.py``),
    the TFLite models Hailo compiles at 320, 384 and 448 px, 90 COCO classes, 9 anchors a place.
    Backbones EfficientNet-Lite0/1/2 (chipfit's ``lite_nets`` tables: no squeeze-excite, ReLU6, the
    32-channel stem kept), whose stage-3, -5 and -7 outputs (strides 8, 16, 32) feed the BiFPN;
    the head conv to 1280 is not used. P6 is a 1x1 conv + BatchNorm of P5 then a 3x3 stride-2 max
    pool, P7 a max pool of P6. BiFPN cells (64 x 3, 88 x 4, 112 x 5 for Lite0/1/2): eight nodes
    (top-down P6, P5, P4, P3, then bottom-up P4, P5, P6, P7), each an unweighted sum of its inputs
    (nearest upsampling, 3x3 stride-2 max-pool downsampling, a 1x1 conv + BatchNorm in front of a
    backbone input of another width), then ReLU6, a 3x3 depthwise-separable conv and BatchNorm.
    Class and box nets: three 3x3 separable convs (BatchNorm, ReLU6) and a 3x3 separable prediction
    conv with bias to 9 x 90 and 9 x 4 outputs, the weights shared by the five levels and the
    BatchNorm per level. Hailo's graph ends at the ten prediction convs. Hailo counts each level's
    head as its own layers (the folded weights differ per level); with that, the folded count here
    is 0.1-0.2 % below Hailo's 3.56M / 4.73M / 5.93M parameters (about the zero bias a TFLite
    depthwise conv carries). Here the convs that BatchNorm follows are built without a bias (the
    TF separable and 1x1 convs have one; folded, the count is the same). Hailo: 1.94G / 4G /
    6.84G OPS.

stdc1
    Fan et al. 2021, "Rethinking BiSeNet For Real-time Semantic Segmentation", arXiv:2104.13188, as
    https://github.com/open-mmlab/mmsegmentation builds it (``configs/_base_/models/stdc.py`` and
    ``configs/stdc/stdc1_*_cityscapes.py``; ``mmseg/models/backbones/stdc.py``: ``STDCModule``,
    ``AttentionRefinementModule``, ``FeatureFusionModule``, ``StdcNet``, ``STDCContextPathNet``;
    ``decode_heads/fcn_head.py``), Hailo's ONNX at 1024x1920, 19 Cityscapes classes. STDCNet813: two
    3x3 stride-2 convs (32, 64), then three stages of two STDC modules ("cat" fusion, 4 convs; the
    first at stride 2) to 256, 512, 1024 channels. Context path: the global average of the 1/32
    features through a 1x1 conv to 128; attention refinement modules on the 1/32 and 1/16 features,
    each added to the upsampled context, nearest-upsampled and passed through a 3x3 conv (128);
    feature fusion of the 1/8 stage output with that (384 -> 256). FCN head (one 3x3 conv, 256) and a
    1x1 conv to the classes; the auxiliary heads do not run at inference. The logits are resized
    bilinearly to the input and the argmax taken (a 1024x1920x1 output, as Hailo lists). Hailo:
    8.27M parameters, 126.47G OPS.

No input normalisation is built in (Hailo folds it into the first conv). The code is chipfit's own;
only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn

from chipfit.frontends.pytorch.nets.lite_nets import (
    LITE_SCALES,
    LITE_STEM,
    MOBILENET_V1_BLOCKS,
    LiteMBConv,
    lite_stages,
)


def _conv_bn_act(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
                 dilation: int = 1, act: type[nn.Module] | None = nn.ReLU6) -> nn.Sequential:
    """A bias-free k x k conv ("same" padding), BatchNorm and an optional activation."""
    pad = dilation * (kernel // 2)
    layers = [nn.Conv2d(cin, cout, kernel, stride, pad, dilation=dilation, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


def _separable(cin: int, cout: int, stride: int = 1, act: type[nn.Module] = nn.ReLU6) -> nn.Sequential:
    """A 3x3 depthwise conv and a 1x1 conv, each with BatchNorm and the activation."""
    return nn.Sequential(_conv_bn_act(cin, cin, 3, stride, groups=cin, act=act),
                         _conv_bn_act(cin, cout, 1, act=act))


# ---------------------------------------------------------------------------------------- SSD

#: the TF Object Detection API's SSD extra feature maps on MobileNet
SSD_EXTRA_DEPTHS = (512, 256, 256, 128)
SSD_ANCHORS = (3, 6, 6, 6, 6, 6)


class SSDMobileNetV1Trunk(nn.Module):
    """MobileNetV1 up to ``Conv2d_13_pointwise``; returns the outputs of layers 11 and 13."""

    def __init__(self):
        super().__init__()
        layers, cin = [_conv_bn_act(3, 32, 3, 2)], 32
        for cout, stride in MOBILENET_V1_BLOCKS:
            layers.append(_separable(cin, cout, stride))
            cin = cout
        self.head = nn.Sequential(*layers[:12])  # Conv2d_0 .. Conv2d_11
        self.tail = nn.Sequential(*layers[12:])
        self.channels = (512, 1024)

    def forward(self, x):
        a = self.head(x)
        return [a, self.tail(a)]


class SSDMobileNetV2Trunk(nn.Module):
    """MobileNetV2 (torchvision's layers) to its final 1x1 conv; returns the expansion output of
    the first 160-channel bottleneck (TF's ``expanded_conv_13``) and the final conv's output."""

    def __init__(self):
        super().__init__()
        from torchvision.models import mobilenet_v2

        features = mobilenet_v2(weights=None).features
        block = features[14]  # 96 -> 160, stride 2; its expansion is TF's layer_15/expansion_output
        self.head = nn.Sequential(*features[:14], block.conv[0])
        self.tail = nn.Sequential(*block.conv[1:], *features[15:])
        self.channels = (576, 1280)

    def forward(self, x):
        a = self.head(x)
        return [a, self.tail(a)]


class SSD(nn.Module):
    """A two-map trunk, four extra layers, and a 1x1 box / class conv pair on each of the six maps;
    returns the twelve raw predictor outputs (before anchor decoding and NMS)."""

    def __init__(self, trunk: nn.Module, depthwise_extras: bool, num_classes: int = 91):
        super().__init__()
        self.trunk = trunk
        extras, cin, channels = [], trunk.channels[-1], list(trunk.channels)
        for depth in SSD_EXTRA_DEPTHS:
            down = (_separable(depth // 2, depth, 2) if depthwise_extras
                    else _conv_bn_act(depth // 2, depth, 3, 2))
            extras.append(nn.Sequential(_conv_bn_act(cin, depth // 2, 1), down))
            channels.append(depth)
            cin = depth
        self.extras = nn.ModuleList(extras)
        self.box = nn.ModuleList(nn.Conv2d(c, 4 * a, 1) for c, a in zip(channels, SSD_ANCHORS))
        self.cls = nn.ModuleList(nn.Conv2d(c, num_classes * a, 1)
                                 for c, a in zip(channels, SSD_ANCHORS))

    def forward(self, x):
        maps = self.trunk(x)
        for extra in self.extras:
            maps.append(extra(maps[-1]))
        out = []
        for m, box, cls in zip(maps, self.box, self.cls):
            out += [box(m), cls(m)]
        return tuple(out)


def ssd_mobilenet_v1() -> SSD:
    """TF Object Detection API ssd_mobilenet_v1_coco (300x300, 91 classes), up to the box predictors."""
    return SSD(SSDMobileNetV1Trunk(), depthwise_extras=False)


def ssd_mobilenet_v2() -> SSD:
    """TF Object Detection API ssd_mobilenet_v2_coco (300x300, 91 classes), up to the box predictors."""
    return SSD(SSDMobileNetV2Trunk(), depthwise_extras=True)


# ------------------------------------------------------------------------- DeepLabV3 MobileNetV2

#: MobileNetV2 inverted bottlenecks: (expansion, output channels, repeats, stride)
MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))


class InvertedResidual(nn.Module):
    """MobileNetV2's block: a 1x1 expansion (absent at factor 1), a 3x3 depthwise conv (which may
    be dilated), a linear 1x1 projection, a residual when stride is 1 and the widths match."""

    def __init__(self, cin: int, cout: int, expand: int, stride: int, dilation: int = 1):
        super().__init__()
        inner = cin * expand
        layers = [_conv_bn_act(cin, inner, 1)] if expand != 1 else []
        layers += [_conv_bn_act(inner, inner, 3, stride, groups=inner, dilation=dilation),
                   _conv_bn_act(inner, cout, 1, act=None)]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


def mobilenet_v2_trunk(output_stride: int = 32) -> nn.Sequential:
    """MobileNetV2's 3x3 stem and 17 inverted bottlenecks (no final 1x1 conv). Below output stride
    32, a stage that would go past it keeps stride 1 and dilates its depthwise convs instead (the
    first block of the stage at the old rate, the others at the new one, as DeepLab does)."""
    layers, cin, stride_so_far, rate = [_conv_bn_act(3, 32, 3, 2)], 32, 2, 1
    for expand, cout, repeats, stride in MOBILENET_V2:
        first_rate = rate
        if stride > 1 and stride_so_far * stride > output_stride:
            rate, stride = rate * stride, 1
        else:
            stride_so_far *= stride
        for i in range(repeats):
            layers.append(InvertedResidual(cin, cout, expand, stride if i == 0 else 1,
                                           first_rate if i == 0 else rate))
            cin = cout
    return nn.Sequential(*layers)


class DeepLabV3MobileNetV2(nn.Module):
    """DeepLabV3 on MobileNetV2 as TensorFlow's DeepLab builds it for this backbone: no atrous ASPP
    branches, only image pooling (global average, 1x1 conv) and a 1x1 conv, concatenated and
    projected by a 1x1 conv (each with BatchNorm and ReLU), a 1x1 logits conv with bias, and the
    bilinear upsampling of the logits to the input size."""

    def __init__(self, output_stride: int, argmax: bool = False, num_classes: int = 21):
        super().__init__()
        self.argmax = argmax
        self.backbone = mobilenet_v2_trunk(output_stride)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), _conv_bn_act(320, 256, 1, act=nn.ReLU))
        self.aspp0 = _conv_bn_act(320, 256, 1, act=nn.ReLU)
        self.project = _conv_bn_act(512, 256, 1, act=nn.ReLU)
        self.logits = nn.Conv2d(256, num_classes, 1)

    def forward(self, x):
        f = self.backbone(x)
        pooled = nn.functional.interpolate(self.pool(f), size=f.shape[-2:], mode="bilinear",
                                           align_corners=False)
        y = self.logits(self.project(torch.cat([pooled, self.aspp0(f)], 1)))
        y = nn.functional.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return y.argmax(1, keepdim=True) if self.argmax else y


def deeplab_v3_mobilenet_v2() -> DeepLabV3MobileNetV2:
    """DeepLabV3 MobileNetV2 at output stride 8 (dilated), 21 Pascal VOC classes."""
    return DeepLabV3MobileNetV2(output_stride=8)


def deeplab_v3_mobilenet_v2_wo_dilation() -> DeepLabV3MobileNetV2:
    """DeepLabV3 MobileNetV2 without dilation (output stride 32), 21 Pascal VOC classes, ending in
    the per-pixel argmax."""
    return DeepLabV3MobileNetV2(output_stride=32, argmax=True)


# ----------------------------------------------------------------------------- U-Net MobileNetV2

class UNetMobileNetV2(nn.Module):
    """The TensorFlow segmentation tutorial's U-Net: a MobileNetV2 encoder (torchvision's layers)
    tapped at the expansion outputs of blocks 1, 3, 6 and 13 and at block 16's projection, four
    stride-2 transposed convs (no bias; BatchNorm, ReLU) each followed by concatenation with the
    next skip, and a final stride-2 transposed conv with bias to the class channels."""

    def __init__(self, kernel: int = 4, last_kernel: int = 4, num_classes: int = 3):
        super().__init__()
        from torchvision.models import mobilenet_v2

        f = mobilenet_v2(weights=None).features
        # each tap is the expansion (1x1 conv, BatchNorm, ReLU6) of a stride-2 block
        self.down = nn.ModuleList([
            nn.Sequential(*f[:2], f[2].conv[0]),                   # block_1_expand_relu, 96
            nn.Sequential(*f[2].conv[1:], f[3], f[4].conv[0]),     # block_3_expand_relu, 144
            nn.Sequential(*f[4].conv[1:], *f[5:7], f[7].conv[0]),  # block_6_expand_relu, 192
            nn.Sequential(*f[7].conv[1:], *f[8:14], f[14].conv[0]),  # block_13_expand_relu, 576
            nn.Sequential(*f[14].conv[1:], *f[15:18]),             # block_16_project, 320
        ])
        pad = (kernel - 1) // 2
        ups, cin = [], 320
        for cout, skip in ((512, 576), (256, 192), (128, 144), (64, 96)):
            ups.append(nn.Sequential(
                nn.ConvTranspose2d(cin, cout, kernel, 2, pad, output_padding=kernel % 2, bias=False),
                nn.BatchNorm2d(cout), nn.ReLU()))
            cin = cout + skip
        self.up = nn.ModuleList(ups)
        self.last = nn.ConvTranspose2d(cin, num_classes, last_kernel, 2, (last_kernel - 1) // 2,
                                       output_padding=last_kernel % 2)

    def forward(self, x):
        skips = []
        for stage in self.down:
            x = stage(x)
            skips.append(x)
        x = skips.pop()
        for up in self.up:
            x = torch.cat([up(x), skips.pop()], 1)
        return self.last(x)


def unet_mobilenet_v2() -> UNetMobileNetV2:
    """U-Net with a MobileNetV2 encoder and 4x4 stride-2 transposed-conv upsampling, 3 classes."""
    return UNetMobileNetV2()


# ----------------------------------------------------------------------------------- FastDepth

#: FastDepth after NetAdapt pruning: the stem's width, then (output channels, stride) of the 13
#: depthwise-separable encoder layers, and the output widths of the five decoder layers
FAST_DEPTH_STEM = 16
FAST_DEPTH_ENCODER = ((56, 1), (88, 2), (120, 1), (144, 2), (256, 1), (408, 2), (376, 1), (272, 1),
                      (288, 1), (296, 1), (328, 1), (480, 2), (512, 1))
FAST_DEPTH_DECODER = (200, 256, 120, 56, 16)


class FastDepth(nn.Module):
    """FastDepth (MobileNet-NNConv5, depthwise decoder, additive skips): a MobileNetV1 encoder
    (3x3 convs, BatchNorm, ReLU6), five decoder layers of a 5x5 depthwise conv and a 1x1 conv
    (BatchNorm, ReLU) each followed by 2x nearest upsampling, the outputs of encoder layers 1, 3
    and 5 added after decoder layers 4, 3 and 2, and a 1x1 conv (BatchNorm, ReLU) to depth."""

    def __init__(self, stem: int = FAST_DEPTH_STEM, encoder=FAST_DEPTH_ENCODER,
                 decoder=FAST_DEPTH_DECODER):
        super().__init__()
        layers, cin = [_conv_bn_act(3, stem, 3, 2)], stem
        for cout, stride in encoder:
            layers.append(_separable(cin, cout, stride))
            cin = cout
        self.encoder = nn.ModuleList(layers)
        dec = []
        for cout in decoder:
            dec.append(nn.Sequential(_conv_bn_act(cin, cin, 5, groups=cin, act=nn.ReLU),
                                     _conv_bn_act(cin, cout, 1, act=nn.ReLU)))
            cin = cout
        self.decoder = nn.ModuleList(dec)
        self.head = _conv_bn_act(cin, 1, 1, act=nn.ReLU)

    def forward(self, x):
        skips = {}
        for i, layer in enumerate(self.encoder):
            x = layer(x)
            if i in (1, 3, 5):
                skips[i] = x
        for i, layer in enumerate(self.decoder, start=1):
            x = nn.functional.interpolate(layer(x), scale_factor=2, mode="nearest")
            if i in (2, 3, 4):  # decoder 2 + encoder 5, 3 + 3, 4 + 1
                x = x + skips[9 - 2 * i]
        return self.head(x)


def fast_depth() -> FastDepth:
    """FastDepth (pruned MobileNet-NNConv5 with depthwise decoder and additive skips), 224x224."""
    return FastDepth()


# ---------------------------------------------------------------------------- EfficientDet-Lite

#: EfficientDet-Lite scales: (EfficientNet-Lite backbone, BiFPN width, BiFPN cells, head repeats)
EFFICIENTDET_LITE = {0: (0, 64, 3, 3), 1: (1, 88, 4, 3), 2: (2, 112, 5, 3)}


class EfficientNetLiteFeatures(nn.Module):
    """EfficientNet-Lite's stem and blocks (no head conv); returns the outputs at strides 8, 16
    and 32 (the ends of stages 3, 5 and 7)."""

    def __init__(self, n: int):
        super().__init__()
        width, depth, _ = LITE_SCALES[n]
        stages = lite_stages(width, depth)
        self.stem = _conv_bn_act(3, LITE_STEM, 3, 2)
        groups, blocks = [], []
        for i, (repeats, kernel, stride, expand, cin, cout) in enumerate(stages):
            for j in range(repeats):
                blocks.append(LiteMBConv(cin if j == 0 else cout, cout, kernel,
                                         stride if j == 0 else 1, expand))
            if i in (2, 4, 6):
                groups.append(nn.Sequential(*blocks))
                blocks = []
        self.stages = nn.ModuleList(groups)
        self.channels = tuple(stages[i][-1] for i in (2, 4, 6))

    def forward(self, x):
        x, out = self.stem(x), []
        for stage in self.stages:
            x = stage(x)
            out.append(x)
        return out


def _max_down(x):
    """3x3 stride-2 max pooling with "same" padding."""
    return nn.functional.max_pool2d(x, 3, 2, 1)


class BiFPNCell(nn.Module):
    """One BiFPN cell on levels 3-7: a top-down pass (P6', P5', P4', P3 out) and a bottom-up
    pass (P4, P5, P6, P7 out). Each node sums its inputs (nearest upsampling, max-pool
    downsampling; a 1x1 conv + BatchNorm first for an input of another width), then applies the
    activation, a 3x3 depthwise-separable conv and BatchNorm."""

    #: (inputs by index into [P3, P4, P5, P6, P7, node 0, node 1, ...], output level)
    NODES = ((3, 4), (2, 5), (1, 6), (0, 7), (1, 7, 8), (2, 6, 9), (3, 5, 10), (4, 11))
    NODE_LEVELS = (6, 5, 4, 3, 4, 5, 6, 7)

    def __init__(self, channels: tuple[int, ...], width: int):
        super().__init__()
        self.resample = nn.ModuleDict()
        for n, inputs in enumerate(self.NODES):
            for i in inputs:
                if i < len(channels) and channels[i] != width:
                    self.resample[f"{n}_{i}"] = _conv_bn_act(channels[i], width, 1, act=None)
        self.ops = nn.ModuleList(
            nn.Sequential(nn.ReLU6(), nn.Conv2d(width, width, 3, 1, 1, groups=width, bias=False),
                          nn.Conv2d(width, width, 1, bias=False), nn.BatchNorm2d(width))
            for _ in self.NODES)

    def forward(self, feats):
        feats, levels = list(feats), [3, 4, 5, 6, 7]
        for n, (inputs, level) in enumerate(zip(self.NODES, self.NODE_LEVELS)):
            target = feats[level - 3]
            total = 0
            for i in inputs:
                x = feats[i]
                if f"{n}_{i}" in self.resample:
                    x = self.resample[f"{n}_{i}"](x)
                if levels[i] > level:
                    x = nn.functional.interpolate(x, size=target.shape[-2:], mode="nearest")
                elif levels[i] < level:
                    x = _max_down(x)
                total = total + x
            feats.append(self.ops[n](total))
            levels.append(level)
        return feats[8:]  # the outputs of nodes 3-7: P3 to P7


class EfficientDetHead(nn.Module):
    """The class or box net: ``repeats`` 3x3 separable convs (weights shared by the five levels,
    BatchNorm per level, ReLU6) and a 3x3 separable prediction conv with bias."""

    def __init__(self, width: int, repeats: int, outputs: int, levels: int = 5):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(width, width, 3, 1, 1, groups=width, bias=False),
                          nn.Conv2d(width, width, 1, bias=False)) for _ in range(repeats))
        self.bns = nn.ModuleList(nn.ModuleList(nn.BatchNorm2d(width) for _ in range(repeats))
                                 for _ in range(levels))
        self.predict = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1, groups=width, bias=False),
                                     nn.Conv2d(width, outputs, 1))
        self.act = nn.ReLU6()

    def forward(self, feats):
        out = []
        for x, bns in zip(feats, self.bns):
            for conv, bn in zip(self.convs, bns):
                x = self.act(bn(conv(x)))
            out.append(self.predict(x))
        return out


class EfficientDetLite(nn.Module):
    """EfficientDet-Lite up to the class and box predictions of levels 3-7 (9 anchors a place,
    90 classes), before anchor decoding and NMS."""

    def __init__(self, n: int, num_classes: int = 90, anchors: int = 9):
        super().__init__()
        backbone, width, cells, repeats = EFFICIENTDET_LITE[n]
        self.backbone = EfficientNetLiteFeatures(backbone)
        c5 = self.backbone.channels[-1]
        self.p6 = _conv_bn_act(c5, width, 1, act=None)
        channels = (*self.backbone.channels, width, width)
        fpn = []
        for _ in range(cells):
            fpn.append(BiFPNCell(channels, width))
            channels = (width,) * 5
        self.fpn = nn.ModuleList(fpn)
        self.class_net = EfficientDetHead(width, repeats, num_classes * anchors)
        self.box_net = EfficientDetHead(width, repeats, 4 * anchors)

    def forward(self, x):
        feats = self.backbone(x)
        p6 = _max_down(self.p6(feats[-1]))
        feats = [*feats, p6, _max_down(p6)]
        for cell in self.fpn:
            feats = cell(feats)
        out = []
        for c, b in zip(self.class_net(feats), self.box_net(feats)):
            out += [b, c]
        return tuple(out)


def efficientdet_lite0() -> EfficientDetLite:
    """EfficientDet-Lite0 (EfficientNet-Lite0, BiFPN 64 x 3, 90 classes), up to the predictions."""
    return EfficientDetLite(0)


def efficientdet_lite1() -> EfficientDetLite:
    """EfficientDet-Lite1 (EfficientNet-Lite1, BiFPN 88 x 4, 90 classes), up to the predictions."""
    return EfficientDetLite(1)


def efficientdet_lite2() -> EfficientDetLite:
    """EfficientDet-Lite2 (EfficientNet-Lite2, BiFPN 112 x 5, 90 classes), up to the predictions."""
    return EfficientDetLite(2)


# ---------------------------------------------------------------------------------------- STDC1

def _cbr(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
         act: type[nn.Module] | None = nn.ReLU) -> nn.Sequential:
    return _conv_bn_act(cin, cout, kernel, stride, groups, act=act)


class STDCModule(nn.Module):
    """An STDC module with concatenation: a 1x1 conv to half the width, then 3x3 convs to a
    quarter, an eighth and an eighth, all concatenated. At stride 2 the second conv reads a
    stride-2 3x3 depthwise conv (BatchNorm) of the first's output and that output joins the
    concatenation through a 3x3 stride-2 average pool."""

    def __init__(self, cin: int, cout: int, stride: int, num_convs: int = 4):
        super().__init__()
        self.conv0 = _cbr(cin, cout // 2, 1)
        self.down = _cbr(cout // 2, cout // 2, 3, 2, groups=cout // 2, act=None) if stride == 2 else None
        self.convs = nn.ModuleList(
            _cbr(cout // 2 ** i, cout // (2 ** (i + 1) if i != num_convs - 1 else 2 ** i), 3)
            for i in range(1, num_convs))

    def forward(self, x):
        x0 = self.conv0(x)
        x = x0 if self.down is None else self.down(x0)
        outs = [x0 if self.down is None else nn.functional.avg_pool2d(x0, 3, 2, 1)]
        for conv in self.convs:
            x = conv(x)
            outs.append(x)
        return torch.cat(outs, 1)


class AttentionRefinement(nn.Module):
    """3x3 conv + BatchNorm, scaled per channel by a sigmoid gate (global average, 1x1 conv,
    BatchNorm)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = _cbr(cin, cout, 3, act=None)
        self.attn = _cbr(cout, cout, 1, act=nn.Sigmoid)

    def forward(self, x):
        x = self.conv(x)
        return x * self.attn(nn.functional.adaptive_avg_pool2d(x, 1))


class FeatureFusion(nn.Module):
    """Concatenation, 1x1 conv + BatchNorm + ReLU, and a squeeze-excite style gate (1x1 convs
    without bias or BatchNorm, ReLU then sigmoid) applied as ``x * gate + x``."""

    def __init__(self, cin: int, cout: int, scale: int = 4):
        super().__init__()
        self.conv0 = _cbr(cin, cout, 1)
        self.gate = nn.Sequential(nn.Conv2d(cout, cout // scale, 1, bias=False), nn.ReLU(),
                                  nn.Conv2d(cout // scale, cout, 1, bias=False), nn.Sigmoid())

    def forward(self, spatial, context):
        x = self.conv0(torch.cat([spatial, context], 1))
        return x * self.gate(nn.functional.adaptive_avg_pool2d(x, 1)) + x


class STDC1Seg(nn.Module):
    """mmsegmentation's STDC1 segmentor in inference: STDCNet813 with its context path, the
    FCN head on the fused 1/8 features, logits resized to the input and the per-pixel argmax."""

    def __init__(self, num_classes: int = 19, ctx: int = 128):
        super().__init__()
        ch = (32, 64, 256, 512, 1024)
        stages = [_cbr(3, ch[0], 3, 2), _cbr(ch[0], ch[1], 3, 2)]
        for i in range(2, 5):
            stages.append(nn.Sequential(STDCModule(ch[i - 1], ch[i], 2), STDCModule(ch[i], ch[i], 1)))
        self.stages = nn.ModuleList(stages)
        self.conv_avg = _cbr(ch[4], ctx, 1)
        self.arm16, self.arm32 = AttentionRefinement(ch[3], ctx), AttentionRefinement(ch[4], ctx)
        self.conv16, self.conv32 = _cbr(ctx, ctx, 3), _cbr(ctx, ctx, 3)
        self.ffm = FeatureFusion(ch[2] + ctx, 256)
        self.head = _cbr(256, 256, 3)
        self.cls = nn.Conv2d(256, num_classes, 1)

    def forward(self, image):
        x, outs = image, []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        x8, x16, x32 = outs[2:]
        up = self.conv_avg(nn.functional.adaptive_avg_pool2d(x32, 1))
        up = nn.functional.interpolate(up, size=x32.shape[-2:], mode="nearest")
        up = self.conv32(nn.functional.interpolate(self.arm32(x32) + up, size=x16.shape[-2:], mode="nearest"))
        up = self.conv16(nn.functional.interpolate(self.arm16(x16) + up, size=x8.shape[-2:], mode="nearest"))
        y = self.cls(self.head(self.ffm(x8, up)))
        y = nn.functional.interpolate(y, size=image.shape[-2:], mode="bilinear", align_corners=True)
        return y.argmax(1, keepdim=True)


def stdc1() -> STDC1Seg:
    """STDC1 semantic segmentation (mmsegmentation, 19 Cityscapes classes)."""
    return STDC1Seg()
