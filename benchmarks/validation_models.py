"""Models of the published measurements that are not in chipfit's zoo, built from torchvision
parts (no weights). Used by the validation cases as ``validation_models:NAME``.

- ``retinanet_resnext50_fpn``: MLPerf Inference's RetinaNet (ResNeXt-50 32x4d + FPN with
  P3-P7, 9 anchors, 264 OpenImages classes; MLCommons inference repo, vision/classification_and_
  detection) without the box decoding and NMS after the head.
- ``resnet34_backbone``: torchvision ResNet-34 without its pooling and classifier.
- ``vit_small_patch16_224``: ViT-S/16 (Touvron et al. 2021, DeiT-S: 12 layers, 6 heads,
  width 384, MLP 1536), the shape of timm's ``vit_small_patch16_224``.
- ``whisper_tiny_encoder``: the audio encoder of the zoo's whisper-tiny (measured on this machine
  by ``benchmarks/measure_local.py``).
"""

from __future__ import annotations

import torch
from torch import nn


class _BackboneAndHead(nn.Module):
    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor):
        out = self.head(list(self.backbone(x).values()))
        return out["cls_logits"], out["bbox_regression"]


def retinanet_resnext50_fpn() -> nn.Module:
    from torchvision.models import resnext50_32x4d
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.models.detection.retinanet import RetinaNetHead
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7

    backbone = _resnet_fpn_extractor(resnext50_32x4d(), 5, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(256, 256))
    return _BackboneAndHead(backbone, RetinaNetHead(256, 9, 264))


def resnet34_backbone() -> nn.Module:
    from torchvision.models import resnet34

    m = resnet34()
    return nn.Sequential(*(list(m.children())[:-2]))


def vit_small_patch16_224() -> nn.Module:
    from torchvision.models.vision_transformer import VisionTransformer

    return VisionTransformer(image_size=224, patch_size=16, num_layers=12, num_heads=6,
                             hidden_dim=384, mlp_dim=1536)


def whisper_tiny_encoder() -> nn.Module:
    """Whisper-tiny's audio encoder (the zoo's whisper-tiny config; random weights), fed a
    1x80x3000 log-mel spectrogram (30 s)."""
    from chipfit.data.zoo import lookup
    from chipfit.frontends.pytorch.hf import build

    return build(lookup("whisper-tiny").config, device=str(torch.get_default_device())).get_encoder()
