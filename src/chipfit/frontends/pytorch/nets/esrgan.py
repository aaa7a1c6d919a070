"""Real-ESRGAN's two x4 generators, Real-ESRGAN-General-x4v3 (SRVGGNetCompact) and Real-ESRGAN-x4plus
(RRDBNet), as Qualcomm AI Hub exports them, written here from their published definitions, for the zoo.

Sources (facts only: layer types, channels, kernel sizes, the order of the ops):

- Qualcomm AI Hub Models v0.46.1 (https://github.com/quic/ai-hub-models, commit 52c080d2, BSD-3-Clause):
  ``qai_hub_models/models/real_esrgan_general_x4v3/model.py`` (``SRVGGNetCompact(num_in_ch=3, num_out_ch=3,
  num_feat=64, num_conv=32, upscale=4, act_type="prelu")`` with the realesr-general-x4v3 weights; the
  wrapper's forward is the network itself), ``qai_hub_models/models/real_esrgan_x4plus/model.py``
  (``RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=4)`` with the
  RealESRGAN_x4plus weights; the wrapper's forward clamps the output to [0, 1]),
  ``qai_hub_models/models/_shared/super_resolution/model.py`` (``SuperResolutionModel``: one input
  ``image`` of ``1x3x128x128``, RGB in [0, 1]; export traces it with ``torch.jit.trace``), the two
  ``info.yaml`` (input resolution 128x128; 1.21M and 16.7M parameters) and ``perf.yaml`` (layer counts).
- The architectures AI Hub imports, ``qai_hub_models/extern/basicsr/archs/srvgg_arch.py`` and
  ``rrdbnet_arch.py``, copies of https://github.com/XPixelGroup/BasicSR (Apache-2.0) commit
  8d56e3a045f9fb3e1d8872f92ee4a4f07f886b0a ``basicsr/archs/rrdbnet_arch.py`` (``ResidualDenseBlock``,
  ``RRDB``, ``RRDBNet``) and ``basicsr/archs/srvgg_arch.py``; the same ``SRVGGNetCompact`` is in
  https://github.com/xinntao/Real-ESRGAN (BSD-3-Clause) ``realesrgan/archs/srvgg_arch.py`` at commit
  5ca1078535923d485892caee7d7804380bfc87fd, the commit AI Hub pins.
- Papers: ESRGAN, Wang et al. 2018, arXiv:1809.00219 (RRDB); Real-ESRGAN, Wang et al. 2021,
  arXiv:2107.10833.

What is counted is what the AI Hub export runs, scale x4 (output 3x512x512):

- Real-ESRGAN-General-x4v3: a 3x3 convolution 3 -> 64 and 32 more 3x3 convolutions 64 -> 64, each
  followed by a PReLU with one slope per channel; a last 3x3 convolution to 3 * 4 * 4 = 48 channels;
  the depth-to-space (pixel shuffle) to 3x512x512; the input, upsampled x4 by nearest neighbour, added.
  No clip. Traced: 70 ops; the QNN rows count 73 layers (the +3 of the other AI Hub super-resolution
  networks).
- Real-ESRGAN-x4plus: a 3x3 convolution 3 -> 64; 23 RRDBs, each three residual dense blocks (five
  3x3 convolutions, the k-th reading the block input and all k-1 earlier outputs concatenated,
  64 + 32 (k-1) channels in, 32 out and 64 for the fifth; LeakyReLU(0.2) after the first four;
  output ``x5 * 0.2 + x``) and ``out * 0.2 + x`` over the three; a 3x3 convolution 64 -> 64 and the
  long residual; two (nearest x2 upsampling, 3x3 convolution 64 -> 64, LeakyReLU); a 3x3 convolution
  64 -> 64 and LeakyReLU at 512x512; a 3x3 convolution 64 -> 3; then AI Hub's clamp to [0, 1]. Traced:
  1094 ops; the TFLite rows count 1025 layers (one fewer per residual dense block, 69: the ``* 0.2``
  folded into the fifth convolution) and the QNN rows 1028 (1025 + 3).

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

SCALE = 4  # both AI Hub exports are the x4 networks


def _conv3(c1: int, c2: int) -> nn.Conv2d:
    return nn.Conv2d(c1, c2, 3, 1, 1)


# ------------------------------------------------------------------------ Real-ESRGAN-General-x4v3

class SRVGGNetCompact(nn.Module):
    """A VGG-like stack at the input resolution: ``num_conv + 2`` 3x3 convolutions with PReLU between
    them, the last to ``3 * scale**2`` channels, then a depth-to-space; the input, upsampled by nearest
    neighbour, is added so that the network predicts the residual."""

    def __init__(self, num_feat: int = 64, num_conv: int = 32, scale: int = SCALE, in_channels: int = 3,
                 out_channels: int = 3):
        super().__init__()
        self.scale = scale
        layers: list[nn.Module] = [_conv3(in_channels, num_feat), nn.PReLU(num_feat)]
        for _ in range(num_conv):
            layers += [_conv3(num_feat, num_feat), nn.PReLU(num_feat)]
        layers.append(_conv3(num_feat, out_channels * scale * scale))
        self.body = nn.Sequential(*layers)
        self.depth_to_space = nn.PixelShuffle(scale)

    def forward(self, x):
        residual = self.depth_to_space(self.body(x))
        return residual + F.interpolate(x, scale_factor=self.scale, mode="nearest")


# ------------------------------------------------------------------------------ Real-ESRGAN-x4plus

class DenseBlock(nn.Module):
    """ESRGAN's residual dense block: five 3x3 convolutions, each reading the block input and every
    earlier output; LeakyReLU(0.2) after the first four; the fifth's output scaled by 0.2 and added."""

    def __init__(self, num_feat: int = 64, growth: int = 32):
        super().__init__()
        self.convs = nn.ModuleList(_conv3(num_feat + i * growth, growth) for i in range(4))
        self.fuse = _conv3(num_feat + 4 * growth, num_feat)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):
        features = [x, self.act(self.convs[0](x))]
        for conv in self.convs[1:]:
            features.append(self.act(conv(torch.cat(features, 1))))
        return self.fuse(torch.cat(features, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Residual in residual dense block: three dense blocks, their output scaled by 0.2 and added."""

    def __init__(self, num_feat: int = 64, growth: int = 32):
        super().__init__()
        self.blocks = nn.Sequential(*(DenseBlock(num_feat, growth) for _ in range(3)))

    def forward(self, x):
        return self.blocks(x) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN's generator at scale x4: a first convolution, ``num_block`` RRDBs and a convolution under
    a long residual, two nearest-x2-upsampling convolution stages, two convolutions at the output size."""

    def __init__(self, num_feat: int = 64, num_block: int = 23, growth: int = 32, in_channels: int = 3,
                 out_channels: int = 3):
        super().__init__()
        self.conv_first = _conv3(in_channels, num_feat)
        self.trunk = nn.Sequential(*(RRDB(num_feat, growth) for _ in range(num_block)))
        self.conv_trunk = _conv3(num_feat, num_feat)
        self.conv_up1 = _conv3(num_feat, num_feat)
        self.conv_up2 = _conv3(num_feat, num_feat)
        self.conv_hr = _conv3(num_feat, num_feat)
        self.conv_last = _conv3(num_feat, out_channels)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):
        feat = self.conv_first(x)
        feat = feat + self.conv_trunk(self.trunk(feat))
        feat = self.act(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.act(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.act(self.conv_hr(feat)))


class Clamped(nn.Module):
    """AI Hub's Real-ESRGAN-x4plus wrapper: the network's output clamped to [0, 1]."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).clamp(0.0, 1.0)


# ---------------------------------------------------------------------------------------- builders

def real_esrgan_general_x4v3() -> nn.Module:
    return SRVGGNetCompact(num_feat=64, num_conv=32)


def real_esrgan_x4plus() -> nn.Module:
    return Clamped(RRDBNet(num_feat=64, num_block=23, growth=32))
