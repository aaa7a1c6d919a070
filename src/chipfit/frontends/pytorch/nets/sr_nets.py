"""Qualcomm's on-device super-resolution networks (QuickSRNet Small / Medium / Large, XLSR, SESR-M5)
as Qualcomm AI Hub exports them, written here from their published definitions, for the zoo.

Sources (facts only: layer types, channels, kernel sizes, the order of the ops):

- Qualcomm AI Hub Models v0.46.1 (https://github.com/quic/ai-hub-models, commit 52c080d2, BSD-3-Clause):
  ``qai_hub_models/models/{quicksrnetsmall,quicksrnetmedium,quicksrnetlarge,xlsr,sesr_m5}/model.py``
  (the variant widths and depths; ``from_pretrained`` builds the source network at
  ``DEFAULT_SCALE_FACTOR`` = 4 and loads its float checkpoint, nothing else), their ``info.yaml``
  (input resolution 128x128; number of parameters 33.3K, 61.0K, 436K, 28.0K and 343K) and
  ``qai_hub_models/models/_shared/super_resolution/model.py`` (the exported forward is the source
  network itself on a ``1x3x128x128`` RGB image in [0, 1]; export traces it with ``torch.jit.trace``).
- AIMET Model Zoo commit d09d2b04 (https://github.com/quic/aimet-model-zoo, BSD-3-Clause; the
  commit AI Hub pins in ``qai_hub_models/utils/aimet/repo.py``): ``aimet_zoo_torch/quicksrnet/model/
  models.py`` and ``blocks.py`` (``QuickSRNetBase``, ``AnchorOp``) and ``aimet_zoo_torch/common/
  super_resolution/models.py`` and ``blocks.py`` (``XLSRRelease``, ``GBlock``, ``SESRRelease``,
  ``CollapsibleLinearBlock``, ``ResidualCollapsibleLinearBlock``).
- Papers: QuickSRNet, Berger et al. 2023, arXiv:2303.04336; XLSR, Ayazoglu 2021, arXiv:2105.10288;
  SESR, Bhardwaj et al. 2022, arXiv:2103.09404, and its reference code https://github.com/ARM-software/sesr
  (commit 26dd7279, README: SESR-M5 on a batch of 32 64x64 images takes 41.77B MACs in expanded form).

What is counted is what the AI Hub export runs, scale x4 (output 3x512x512):

- QuickSRNet: 3x3 convolutions, each followed by a clip to [0, 1] (``Hardtanh(0, 1)``); a last 3x3
  convolution to ``3 * 4 * 4`` channels; Large also adds the input through a learned 1x1 "anchor"
  convolution (3 -> 48 channels, the input-to-output connection); then the clip to [0, 1] and the
  depth-to-space (pixel shuffle) -- both in the exported graph.
- XLSR: a 3x3 residual convolution (3 -> 16) beside the body (3x3 conv 3 -> 32, ReLU, 1x1 conv,
  three GBlocks: grouped 3x3 conv with 4 groups, ReLU, 1x1 conv); concatenation (48 channels), 1x1
  conv to 32, ReLU, 3x3 conv to 48; depth-to-space, then the clip to [0, 1].
- SESR-M5: five residual collapsible linear blocks between a 5x5 input block and a 5x5 output
  block, each block a k x k convolution to 256 channels (no bias) then a 1x1 convolution back
  (16 channels; 48 for the output block); the input comes back through a 1x1 anchor convolution
  (3 -> 48, nearest upsampling); depth-to-space, no clip. AI Hub exports the blocks EXPANDED:
  ``from_pretrained`` loads the float32 checkpoint into the uncollapsed network and never calls
  ``collapse()`` (in the AIMET zoo, ``aimet_zoo_torch/sesr/model/model_definition.py``, only the
  int8 checkpoint is loaded after ``collapse()``; AI Hub quantizes its float model itself, and its
  w8a8 rows show the same 32 QNN layers as the float ones). Its 343K parameters are the
  expanded form's 343,120 (collapsed it would have 32,256), and its perf.yaml QNN layer count (32)
  is, like those of the other four, its traced op count (29) plus 3 -- collapsed it would trace to
  17 ops. ``collapsed=True`` builds the inference form the paper intends: one k x k convolution
  with bias per block, the short residual folded in.

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn

SCALE = 4  # AI Hub's DEFAULT_SCALE_FACTOR: every published row is the x4 network


def _conv(c1: int, c2: int, k: int, bias: bool = True, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c1, c2, k, 1, k // 2, groups=groups, bias=bias)


def _clip() -> nn.Hardtanh:
    return nn.Hardtanh(0.0, 1.0)


class Anchor(nn.Module):
    """The input repeated ``scale**2`` times per channel, as a 1x1 convolution with bias (AIMET's
    ``AnchorOp``: nearest upsampling once the depth-to-space follows; learned in QuickSRNet-Large)."""

    def __init__(self, scale: int, channels: int = 3):
        super().__init__()
        self.conv = _conv(channels, channels * scale * scale, 1)

    def forward(self, x):
        return self.conv(x)


class QuickSRNet(nn.Module):
    """A plain stack of 3x3 convolutions with clipped activations, a last 3x3 convolution to
    ``3 * scale**2`` channels, an optional input-to-output anchor, a clip and a depth-to-space."""

    def __init__(self, channels: int, layers: int, ito: bool, scale: int = SCALE, in_channels: int = 3,
                 out_channels: int = 3):
        super().__init__()
        body: list[nn.Module] = [_conv(in_channels, channels, 3), _clip()]
        for _ in range(layers):
            body += [_conv(channels, channels, 3), _clip()]
        self.cnn = nn.Sequential(*body)
        self.conv_last = _conv(channels, out_channels * scale * scale, 3)
        self.anchor = Anchor(scale, in_channels) if ito else None
        self.clip = _clip()
        self.depth_to_space = nn.PixelShuffle(scale)

    def forward(self, x):
        y = self.conv_last(self.cnn(x))
        if self.anchor is not None:
            y = y + self.anchor(x)
        return self.depth_to_space(self.clip(y))


class GBlock(nn.Module):
    """XLSR's block: a 3x3 convolution in 4 groups, ReLU, a 1x1 convolution."""

    def __init__(self, channels: int = 32, groups: int = 4):
        super().__init__()
        self.grouped = _conv(channels, channels, 3, groups=groups)
        self.act = nn.ReLU()
        self.pointwise = _conv(channels, channels, 1)

    def forward(self, x):
        return self.pointwise(self.act(self.grouped(x)))


class XLSR(nn.Module):
    def __init__(self, scale: int = SCALE, in_channels: int = 3, out_channels: int = 3):
        super().__init__()
        self.residual = _conv(in_channels, 16, 3)
        self.head = nn.Sequential(_conv(in_channels, 32, 3), nn.ReLU(), _conv(32, 32, 1))
        self.gblocks = nn.Sequential(*(GBlock(32) for _ in range(3)))
        self.tail = nn.Sequential(_conv(48, 32, 1), nn.ReLU(), _conv(32, out_channels * scale * scale, 3))
        self.depth_to_space = nn.PixelShuffle(scale)
        self.clip = _clip()

    def forward(self, x):
        features = torch.cat([self.gblocks(self.head(x)), self.residual(x)], dim=1)
        return self.clip(self.depth_to_space(self.tail(features)))


class LinearBlock(nn.Module):
    """SESR's collapsible linear block. Expanded: a k x k convolution to ``expand`` channels (no
    bias), a 1x1 convolution back to ``c2`` (bias), the input added when ``residual``, then the
    activation. Collapsed: the one k x k convolution (with bias) the two make, residual included."""

    def __init__(self, c1: int, c2: int, k: int, expand: int = 256, residual: bool = False, act: bool = True,
                 collapsed: bool = False):
        super().__init__()
        self.collapsed = collapsed
        self.residual = residual and not collapsed
        if collapsed:
            self.conv = _conv(c1, c2, k)
        else:
            self.conv_expand = _conv(c1, expand, k, bias=False)
            self.conv_squeeze = _conv(expand, c2, 1)
        self.act = nn.ReLU() if act else nn.Identity()

    def forward(self, x):
        if self.collapsed:
            return self.act(self.conv(x))
        y = self.conv_squeeze(self.conv_expand(x))
        return self.act(x + y if self.residual else y)


class SESR(nn.Module):
    """SESR-M``m``: ``f`` feature channels, ``m`` residual 3x3 linear blocks between a 5x5 input and a
    5x5 output block, a long residual over the blocks and the anchored input added to the output."""

    def __init__(self, m: int = 5, f: int = 16, expand: int = 256, scale: int = SCALE, collapsed: bool = False,
                 in_channels: int = 3, out_channels: int = 3):
        super().__init__()
        self.anchor = Anchor(scale, in_channels)
        self.conv_first = LinearBlock(in_channels, f, 5, expand, collapsed=collapsed)
        self.blocks = nn.Sequential(*(LinearBlock(f, f, 3, expand, residual=True, collapsed=collapsed)
                                      for _ in range(m)))
        self.conv_last = LinearBlock(f, out_channels * scale * scale, 5, expand, act=False, collapsed=collapsed)
        self.depth_to_space = nn.PixelShuffle(scale)

    def forward(self, x):
        first = self.conv_first(x)
        y = self.conv_last(self.blocks(first) + first)
        return self.depth_to_space(y + self.anchor(x))


# ---------------------------------------------------------------------------------------- builders
# The AI Hub variants (``NUM_CHANNELS``, ``NUM_INTERMEDIATE_LAYERS``, ``use_ito_connection``,
# ``NUM_LBLOCKS``), all at scale x4.

def quicksrnetsmall() -> nn.Module:
    return QuickSRNet(channels=32, layers=2, ito=False)


def quicksrnetmedium() -> nn.Module:
    return QuickSRNet(channels=32, layers=5, ito=False)


def quicksrnetlarge() -> nn.Module:
    return QuickSRNet(channels=64, layers=11, ito=True)


def xlsr() -> nn.Module:
    return XLSR()


def sesr_m5() -> nn.Module:
    return SESR(m=5, f=16)
