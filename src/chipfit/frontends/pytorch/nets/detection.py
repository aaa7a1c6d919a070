"""Detection networks without their post-processing, for the zoo.

A torchvision detector's ``forward`` takes a list of images and ends in box decoding and
non-maximum suppression, whose work depends on the data (how many boxes survive) and cannot
run on the meta device. What a chip runs for every frame is the network: backbone and head
on the resized image. These wrappers hold exactly that (the detector's own modules, built
without weights) and return the head's raw outputs. torchvision's ``_ops`` metadata counts
the same network: 0.583 GMACs for SSDlite320-MobileNetV3-Large.
"""

from __future__ import annotations


def ssdlite320_mobilenet_v3_large():
    """SSDlite320 with a MobileNetV3-Large backbone (Liu et al. 2016; Howard et al. 2019): the
    backbone's feature maps and the SSDlite head, on a 320×320 image."""
    import torch
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large as build

    class SSDLiteNetwork(torch.nn.Module):
        def __init__(self, detector):
            super().__init__()
            self.backbone = detector.backbone
            self.head = detector.head

        def forward(self, images):
            out = self.head(list(self.backbone(images).values()))
            return out["bbox_regression"], out["cls_logits"]

    return SSDLiteNetwork(build(weights=None, weights_backbone=None))
