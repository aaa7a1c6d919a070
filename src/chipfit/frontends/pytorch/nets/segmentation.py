"""torchvision semantic-segmentation networks for the zoo, built without weights.

torchvision's builders load ImageNet backbone weights unless told not to, and their
``forward`` returns a dict. These wrappers build each network as its COCO-with-VOC-labels
weights ship it (21 classes; DeepLabV3 with the auxiliary head those weights hold, which
runs in ``forward`` too) and return the logits, upsampled to the input size as torchvision
does. torchvision's ``_ops`` and ``num_params`` metadata count the same network, but for
FCN-ResNet50, built without its auxiliary head (as its published edge measurements were priced):
the metadata counts it with the head.
"""

from __future__ import annotations


def _network(build, **kwargs):
    import torch

    class SegmentationNetwork(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, images):
            return self.model(images)["out"]

    return SegmentationNetwork(build(weights=None, weights_backbone=None, num_classes=21, **kwargs))


def deeplabv3_mobilenet_v3_large():
    """DeepLabV3 (Chen et al. 2017) on a MobileNetV3-Large backbone, with its auxiliary FCN head."""
    from torchvision.models.segmentation import deeplabv3_mobilenet_v3_large as build

    return _network(build, aux_loss=True)


def lraspp_mobilenet_v3_large():
    """LR-ASPP (Howard et al. 2019) on a MobileNetV3-Large backbone."""
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large as build

    return _network(build)


def fcn_resnet50():
    """FCN (Long et al. 2014) on a ResNet-50 backbone (dilated last two stages), without the auxiliary
    head: the network Qualcomm AI Hub's FCN-ResNet50 measurements were priced as."""
    from torchvision.models.segmentation import fcn_resnet50 as build

    return _network(build)
