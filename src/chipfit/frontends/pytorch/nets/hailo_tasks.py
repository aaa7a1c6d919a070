"""Hailo Model Zoo networks for tasks other than ImageNet classification (person attributes,
person re-identification, semantic segmentation), for the zoo. The Hailo Model Zoo is
https://github.com/hailo-ai/hailo_model_zoo (commit c83fc030); each network's
``hailo_model_zoo/cfg/networks/<id>.yaml`` gives its input and output shape, the framework, the
source it was taken from, its parameters and its OPS (operations: two per multiply-accumulate),
as do the per-task tables in ``docs/public_models/HAILO8/``. Hailo's parameter counts are those of
the compiled graph, BatchNorm folded into the convolutions.

person_attr_resnet_v1_18
    PETA pedestrian attributes at 224x224, 35 outputs (one logit per attribute). Hailo names
    https://github.com/dangweili/pedestrian-attribute-recognition-pytorch as the source: its
    DeepMAR model (``baseline/model/DeepMAR.py``) is a ResNet trunk, global average pooling over
    the whole feature map and one linear layer to the 35 PETA attributes; Hailo's network has a
    ResNet-18 trunk in its place (torchvision's ``resnet18`` layout, the same trunk as Hailo's
    resnet_v1_18), so the head is a 512 -> 35 linear layer. Hailo: 11.19M parameters, 3.64G OPS.

repvgg_a0_person_reid_512
    Market-1501 person re-identification at 256x128 (height x width), a 512-d embedding. The
    source is https://github.com/DingXiaoH/RepVGG ``repvgg.py`` (``create_RepVGG_A0``; Ding et al.
    2021, arXiv:2101.03697, Table 2: 8.30M parameters, 1.36G multiply-adds at 224 px with 1000
    classes): 1, 2, 4, 14, 1 blocks at widths 48, 48, 96, 192, 1280 ((a, b) = (0.75, 2.5)), the
    first block of every stage at stride 2, in the deploy form (one 3x3 conv with bias and ReLU per
    block). The re-id head is not published with the source; Hailo's output (512) and parameter
    count pin it: global average pooling and a 1280 -> 512 linear layer (a BatchNorm on the
    embedding, if the trained network has one, folds into that layer). Hailo: 7.68M parameters,
    1.78G OPS.

fcn8_resnet_v1_18
    Cityscapes semantic segmentation at 1024x1920, 19 classes; Hailo names MMSegmentation as the
    source. FCN-8s (Long et al. 2015, "Fully Convolutional Networks for Semantic Segmentation",
    arXiv:1411.4038) on a ResNet-18 trunk (torchvision's layout, no dilation: Hailo's OPS are twice
    the trunk's multiply-accumulates at this size, where a dilated trunk would have several times
    as many): a 1x1 conv scores each of the stride-8, 16 and 32 feature maps (128, 256, 512
    channels) into 19 classes; the stride-32 scores are upsampled 2x by a learned transposed conv
    and added to the stride-16 scores, the sum upsampled 2x again the same way and added to the
    stride-8 scores. The two transposed convs (4x4 kernel, stride 2, padding 1, with bias, as in
    FCN's 2x upsampling layers) are named in Hailo's model script (``deconv1``, ``deconv2``) and
    make up Hailo's parameter count (2x2 kernels would leave 11.19M). Hailo runs the last 8x bilinear upsampling and the per-pixel
    argmax on the device (its output is 1024x1920x1), so both are built here. Hailo: 11.20M
    parameters, 142.82G OPS.

face_attr_resnet_v1_18 (CelebA, 218x178, 80 outputs) is not built here: its source
(https://github.com/d-li14/face-attribute-prediction) puts a 512-wide fully connected stem and
forty 512 -> 256 -> 2 heads on the trunk (16.7M parameters), which does not match Hailo's 11.74M,
and several smaller heads fit that count equally well.

No input normalisation is built in (as for the other zoo networks). The code is chipfit's own;
only the architecture facts come from the sources above.
"""

from __future__ import annotations

from torch import nn

from chipfit.frontends.pytorch.nets.hailo_nets import RepVGG


def _resnet18_trunk() -> nn.Sequential:
    """torchvision's ResNet-18 without its pooling and classifier, as stem + four stages."""
    from torchvision.models import resnet18

    r = resnet18(weights=None)
    return nn.Sequential(nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool),
                         r.layer1, r.layer2, r.layer3, r.layer4)


# ------------------------------------------------------------------------ attribute classifier

class PooledLinearHead(nn.Module):
    """A trunk, global average pooling and one linear layer."""

    def __init__(self, trunk: nn.Module, width: int, outputs: int):
        super().__init__()
        self.trunk = trunk
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, outputs)

    def forward(self, x):
        return self.fc(self.pool(self.trunk(x)).flatten(1))


def person_attr_resnet_v1_18() -> PooledLinearHead:
    """Hailo's person_attr_resnet_v1_18: ResNet-18 trunk, pooling, 35 PETA attribute logits."""
    return PooledLinearHead(_resnet18_trunk(), 512, 35)


# ------------------------------------------------------------------------------------ re-id

def repvgg_a0_person_reid_512() -> PooledLinearHead:
    """Hailo's repvgg_a0_person_reid_512: RepVGG-A0 (deploy form) trunk, pooling, a 512-d
    embedding."""
    trunk = RepVGG((1, 2, 4, 14, 1), 0.75, 2.5).features
    return PooledLinearHead(trunk, 1280, 512)


# ------------------------------------------------------------------------------ segmentation

class FCN8s(nn.Module):
    """FCN-8s on a ResNet-18 trunk: scores at strides 8, 16, 32 fused by two learned 2x
    upsamplings, then an 8x bilinear upsampling and the per-pixel argmax."""

    def __init__(self, num_classes: int = 19):
        super().__init__()
        self.stem, self.c2, self.c3, self.c4, self.c5 = _resnet18_trunk()
        self.score8 = nn.Conv2d(128, num_classes, 1)
        self.score16 = nn.Conv2d(256, num_classes, 1)
        self.score32 = nn.Conv2d(512, num_classes, 1)
        self.up32 = nn.ConvTranspose2d(num_classes, num_classes, 4, 2, 1)
        self.up16 = nn.ConvTranspose2d(num_classes, num_classes, 4, 2, 1)
        self.up8 = nn.Upsample(scale_factor=8, mode="bilinear", align_corners=False)

    def forward(self, x):
        f8 = self.c3(self.c2(self.stem(x)))
        f16 = self.c4(f8)
        f32 = self.c5(f16)
        s16 = self.score16(f16) + self.up32(self.score32(f32))
        s8 = self.score8(f8) + self.up16(s16)
        return self.up8(s8).argmax(1, keepdim=True)


def fcn8_resnet_v1_18() -> FCN8s:
    """Hailo's fcn8_resnet_v1_18: FCN-8s on ResNet-18, 19 Cityscapes classes, class map out."""
    return FCN8s(19)
