"""HRNet top-down human pose (HRNet-W32, 256x192, 17 COCO keypoints) and HRNetV2 face alignment
(HRNetV2-W18, 256x256, 29 COFW landmarks), as Qualcomm AI Hub exports them, written here from
their published architecture definitions for the zoo.

Sources (facts only):

- Qualcomm AI Hub models, https://github.com/quic/ai-hub-models (BSD-3-Clause), tag v0.46.1
  (commit 52c080d245d2d20c634459208ff2548ce10b3c9f):
  ``qai_hub_models/models/hrnet_pose/model.py`` (``HRNetPose``: ``PoseHighResolutionNet`` built
  from ``experiments/coco/hrnet/w32_256x192_adam_lr1e-3.yaml`` of the repository below at commit
  6f69e4676ad8d43d0d61b64b1b9726f0c369e7b1; the forward normalises the [0, 1] RGB image with the
  torchvision ImageNet mean / std, then returns the network's heatmaps; input spec 1x3x256x192,
  height 256, width 192) and ``hrnet_pose/info.yaml`` (28.5M parameters, input 256x192);
  ``qai_hub_models/models/hrnet_face/model.py`` (``HRNetFace``: ``get_face_alignment_net`` of
  HRNet-Facial-Landmark-Detection at commit f776dbe8eb6fec831774a47209dae5547ae2cda5 with
  ``experiments/cofw/face_alignment_cofw_hrnet_w18.yaml``, checkpoint HR18-COFW; the same input
  normalisation; heatmaps 1x29x64x64; input spec 1x3x256x256) and ``hrnet_face/info.yaml``
  (9.68M parameters, input 256x256); ``qai_hub_models/utils/image_processing.py``
  (``normalize_image_torchvision``: ``(x - mean) / std``).
- HRNet pose (MIT): https://github.com/leoxiaobin/deep-high-resolution-net.pytorch at commit
  6f69e4676ad8d43d0d61b64b1b9726f0c369e7b1: ``lib/models/pose_hrnet.py`` (stem, layer1 of four
  bottlenecks, transitions, ``HighResolutionModule`` with nearest-neighbour ``nn.Upsample`` in
  the fuse layers, the last module of stage 4 keeps only the high-resolution output, a 1x1
  ``final_layer`` with bias), ``experiments/coco/hrnet/w32_256x192_adam_lr1e-3.yaml`` (stage
  modules 1/4/3, four basic blocks per branch, widths 32/64/128/256, 17 joints, heatmap 48x64)
  and the README COCO val2017 table (pose_hrnet_w32, 256x192: 28.5M params, 7.1 GFLOPs,
  "GFLOPs is for convolution and linear layers only"). Paper: Sun et al., "Deep High-Resolution
  Representation Learning for Human Pose Estimation", CVPR 2019, arXiv:1902.09212.
- HRNet face (MIT): https://github.com/HRNet/HRNet-Facial-Landmark-Detection at commit
  f776dbe8eb6fec831774a47209dae5547ae2cda5: ``lib/models/hrnet.py`` (``HighResolutionNet``: the
  same stem / layer1 / stages, fuse layers upsample by bilinear interpolation to the target
  size, all four outputs of stage 4 kept, bilinearly upsampled to the 1/4 grid, concatenated
  (18+36+72+144 = 270 channels) and a head of 1x1 conv (bias) + BN + ReLU + 1x1 conv (bias) to
  the landmarks), ``experiments/cofw/face_alignment_cofw_hrnet_w18.yaml`` (widths 18/36/72/144,
  29 joints, 256x256 input, 64x64 heatmaps) and the README ("HRNetV2-W18 (#Params=9.3M,
  GFLOPs=4.3G)"). Paper: Wang et al., "Deep High-Resolution Representation Learning for Visual
  Recognition", TPAMI 2020, arXiv:1908.07919.

The network ends at the heatmaps, as AI Hub exports it; the arg-max / keypoint decoding of its
app is post-processing and is not counted. BatchNorm layers are kept as modules (exporters fold
them into the convolutions; their multiply-adds are a per-channel scale and shift).

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from chipfit.frontends.pytorch.nets.common import Normalize


def _conv_bn(c1: int, c2: int, k: int, s: int = 1, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(c1, c2, k, s, k // 2, bias=False), nn.BatchNorm2d(c2)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN, identity shortcut (or 1x1 conv-BN where the width changes), ReLU."""

    def __init__(self, c1: int, c2: int):
        super().__init__()
        self.body = nn.Sequential(_conv_bn(c1, c2, 3), _conv_bn(c2, c2, 3, relu=False))
        self.short = _conv_bn(c1, c2, 1, relu=False) if c1 != c2 else nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.body(x) + self.short(x))


class Bottleneck(nn.Module):
    """1x1 → 3x3 → 1x1 (×4 expansion) conv-BN, 1x1 conv-BN shortcut where the width changes."""

    def __init__(self, c1: int, planes: int):
        super().__init__()
        c2 = planes * 4
        self.body = nn.Sequential(_conv_bn(c1, planes, 1), _conv_bn(planes, planes, 3),
                                  _conv_bn(planes, c2, 1, relu=False))
        self.short = _conv_bn(c1, c2, 1, relu=False) if c1 != c2 else nn.Identity()
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.body(x) + self.short(x))


class _Down(nn.Module):
    """Fuse path from a higher-resolution branch j to a lower one i: i - j stride-2 3x3 conv-BN,
    ReLU between them (not after the last); the intermediate widths stay at branch j's."""

    def __init__(self, cj: int, ci: int, steps: int):
        super().__init__()
        self.body = nn.Sequential(*[_conv_bn(cj, ci if k == steps - 1 else cj, 3, 2, relu=k < steps - 1)
                                    for k in range(steps)])

    def forward(self, x):
        return self.body(x)


class HRModule(nn.Module):
    """One multi-resolution module: four basic blocks per branch, then every output branch i sums
    all branches (1x1 conv-BN and upsampling from lower resolutions, strided 3x3 convs from higher
    ones) and applies ReLU. ``bilinear`` selects the face network's upsampling (bilinear to the
    target size) over the pose network's nearest-neighbour ×2^(j-i)."""

    def __init__(self, widths: list[int], blocks: int, outputs: int, bilinear: bool):
        super().__init__()
        self.bilinear = bilinear
        self.branches = nn.ModuleList(
            nn.Sequential(*[BasicBlock(c, c) for _ in range(blocks)]) for c in widths)
        self.fuse = nn.ModuleList()
        for i in range(outputs):
            row = nn.ModuleList()
            for j, cj in enumerate(widths):
                if j > i:
                    row.append(_conv_bn(cj, widths[i], 1, relu=False))
                elif j == i:
                    row.append(nn.Identity())
                else:
                    row.append(_Down(cj, widths[i], i - j))
            self.fuse.append(row)
        self.act = nn.ReLU(inplace=True)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        out = []
        for i, row in enumerate(self.fuse):
            y = xs[i]
            for j, (f, x) in enumerate(zip(row, xs)):
                if j == i:
                    continue
                z = f(x)
                if j > i:
                    if self.bilinear:
                        z = F.interpolate(z, size=xs[i].shape[-2:], mode="bilinear", align_corners=False)
                    else:
                        z = F.interpolate(z, scale_factor=2 ** (j - i), mode="nearest")
                y = y + z
            out.append(self.act(y))
        return out


class HRNet(nn.Module):
    """Stem (two stride-2 3x3 conv-BN-ReLU, 64 channels), layer1 (four bottlenecks, 256
    channels), stages 2-4 with 1/4/3 modules of 2/3/4 branches of widths w, 2w, 4w, 8w, each
    preceded by a transition (3x3 conv-BN-ReLU to the new widths; a stride-2 one from the lowest
    branch opens the new branch). ``head``: ``"pose"`` (last module keeps only the 1/4 output,
    1x1 conv with bias to the joints) or ``"face"`` (all outputs, upsampled and concatenated,
    1x1 conv-BN-ReLU, 1x1 conv to the landmarks). The forward first normalises the [0, 1] RGB
    input with the ImageNet mean and std, as AI Hub's wrapper does."""

    def __init__(self, width: int, joints: int, head: str):
        super().__init__()
        self.head_kind = head
        bilinear = head == "face"
        self.normalize = Normalize()
        self.stem = nn.Sequential(_conv_bn(3, 64, 3, 2), _conv_bn(64, 64, 3, 2))
        self.layer1 = nn.Sequential(Bottleneck(64, 64), *[Bottleneck(256, 64) for _ in range(3)])
        modules_per_stage = {2: 1, 3: 4, 4: 3}
        prev = [256]
        self.transitions = nn.ModuleList()
        self.stages = nn.ModuleList()
        for stage, n_modules in modules_per_stage.items():
            widths = [width * 2 ** b for b in range(stage)]
            trans = nn.ModuleList()
            for b, c in enumerate(widths):
                if b < len(prev):
                    trans.append(_conv_bn(prev[b], c, 3) if prev[b] != c else nn.Identity())
                else:
                    trans.append(_conv_bn(prev[-1], c, 3, 2))
            self.transitions.append(trans)
            mods = []
            for m in range(n_modules):
                last = stage == 4 and m == n_modules - 1
                outputs = 1 if (last and head == "pose") else stage
                mods.append(HRModule(widths, 4, outputs, bilinear))
            self.stages.append(nn.Sequential(*mods))
            prev = widths
        if head == "pose":
            self.final = nn.Conv2d(width, joints, 1)
        else:
            c = sum(prev)
            self.final = nn.Sequential(nn.Conv2d(c, c, 1), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                                       nn.Conv2d(c, joints, 1))

    def forward(self, image):
        x = self.normalize(image)
        x = self.layer1(self.stem(x))
        xs = [x]
        for trans, stage in zip(self.transitions, self.stages):
            # new branches come from the lowest-resolution output of the previous stage
            xs = [t(xs[b] if b < len(xs) else xs[-1]) for b, t in enumerate(trans)]
            xs = stage(xs)
        if self.head_kind == "pose":
            return self.final(xs[0])
        size = xs[0].shape[-2:]
        ups = [F.interpolate(x, size=size, mode="bilinear", align_corners=False) for x in xs[1:]]
        return self.final(torch.cat([xs[0], *ups], 1))


def hrnet_pose() -> nn.Module:
    """AI Hub ``hrnet_pose``: HRNet-W32, 17 COCO keypoints, heatmaps at 1/4 of a 256x192 input."""
    return HRNet(32, 17, "pose")


def hrnet_face() -> nn.Module:
    """AI Hub ``hrnet_face``: HRNetV2-W18, 29 COFW landmarks, 64x64 heatmaps from 256x256."""
    return HRNet(18, 29, "face")
