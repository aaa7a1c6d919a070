"""Pieces several of the zoo's network families share."""

from __future__ import annotations

import torch
from torch import nn

#: torchvision's ImageNet mean and standard deviation (per RGB channel, for inputs in [0, 1])
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Normalize(nn.Module):
    """``(x - mean) / std`` per channel: the input normalisation Qualcomm AI Hub's exports run
    inside the network (its ``normalize_image_torchvision``)."""

    def __init__(self, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


def stage_outputs(stages, x: torch.Tensor) -> list[torch.Tensor]:
    """Run ``stages`` one after another from ``x``; every stage's output, in order (a backbone's
    feature pyramid)."""
    feats = []
    for stage in stages:
        x = stage(x)
        feats.append(x)
    return feats
