"""Low-level image-restoration networks as the Hailo Model Zoo compiles them (super-resolution,
denoising, low-light enhancement), for the zoo. The Hailo Model Zoo is
https://github.com/hailo-ai/hailo_model_zoo (commit c83fc030); each network's
``hailo_model_zoo/cfg/networks/<id>.yaml`` gives its input shape, the source it was taken from,
its "parameters" and its "operations" (two per multiply-accumulate), also listed in
``docs/public_models/HAILO15H/*.rst`` ("Params (M)", "OPS (G)"). These networks are fully
convolutional: each is built for Hailo's input size, and chipfit counts them at any other size the
same way.

What Hailo's exported graph holds is read from its configuration: the output shape in the cfg (an
upscaled image for ESPCN, an image of the input's size for DnCNN and Zero-DCE) and the host-side
postprocessing, which only clips (ESPCN, DnCNN) or passes the output through (Zero-DCE). So the
pixel shuffle, DnCNN's residual subtraction and Zero-DCE's eight curve iterations are in the graph,
and are built here; the final clamp to [0, 1] is not. The input scaling by 1/255 that Hailo folds
into the network is left out, as for the other zoo networks.

espcn_x2, espcn_x3, espcn_x4
    Shi et al. 2016, "Real-Time Single Image and Video Super-Resolution Using an Efficient
    Sub-Pixel Convolutional Neural Network", arXiv:1609.05158, as
    https://github.com/Lornatang/ESPCN-PyTorch ``model.py`` builds it (Hailo's source): on the
    luminance channel, a 5x5 conv to 64 and a 3x3 conv to 32 (tanh after each), a 3x3 conv to
    r x r channels and a pixel shuffle (depth-to-space) by the scale r; convs with bias. Hailo
    inputs 156x240, 104x160, 78x120 (output 312x480 for all three); 0.02M parameters each and
    1.6G, 0.76G, 0.46G OPS. Built exactly so: 21,284 / 22,729 / 24,752 parameters, 0.793 / 0.376 /
    0.231 GMACs (Hailo's 0.76G for x3 is 1 % above twice the MACs, its rounding or its extra
    non-multiply work).

dncnn3, dncnn_color_blind
    Zhang et al. 2017, "Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for Image
    Denoising", arXiv:1608.03981, as https://github.com/cszn/KAIR ``models/network_dncnn.py``
    (``DnCNN``) and ``main_test_dncnn.py`` configure it (Hailo's source): for the blind models
    (DnCNN-3 on grey images, the colour blind denoiser on RGB) 20 conv layers, all 3x3 with
    bias: C -> 64 with ReLU, 18 x (64 -> 64 with ReLU), 64 -> C, and the output is the input minus
    that predicted noise. The paper's BatchNorm is merged into the convs in KAIR's released
    weights, so none is built. Hailo: 321x481 inputs, 0.66M parameters, 205.26G / 205.97G OPS,
    which is exactly twice the MACs built here (102.63 / 102.99 GMACs). Built here: 665,921 and
    668,227 parameters; Hailo's "0.66" for both reads as the count truncated, not rounded.

zero_dce
    Guo et al. 2020, "Zero-Reference Deep Curve Estimation for Low-Light Image Enhancement",
    arXiv:2001.06826, and https://github.com/Li-Chongyi/Zero-DCE ``Zero-DCE_code/model.py``
    (Hailo lists its own source as internal): DCE-Net, seven 3x3 convs with bias at full
    resolution, 3 -> 32, 32 -> 32 three times, then 64 -> 32, 64 -> 32, 64 -> 24 each reading the
    concatenation of the previous output and a mirrored earlier one (conv4 with conv3, conv2,
    conv1), ReLU after the first six and tanh after the last; the 24 channels are eight
    3-channel curve maps A_n, applied to the image in turn as x <- x + A_n (x^2 - x). Hailo:
    400x600 input, 38.2G OPS, 0.21M parameters. Built here: 79,416 parameters and 19.01 GMACs
    (38.02G OPS at two per MAC, 0.5 % below Hailo's, which also counts the curve arithmetic and
    other non-multiply work). Hailo's 0.21M parameters are not reproduced: every DCE-Net conv
    runs at full resolution, so its MACs per pixel equal its weights, and 0.21M weights would mean
    about 2.6 times Hailo's operations. The MACs, which drive the speed, follow Hailo's figure;
    the parameter count is the upstream network's.

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn

# -------------------------------------------------------------------------------------- ESPCN


class ESPCN(nn.Module):
    """Efficient sub-pixel CNN: two tanh feature convs, a conv to ``scale**2 x channels`` and a
    pixel shuffle (no output clamp: that is done after the network)."""

    def __init__(self, scale: int, channels: int = 1, width: int = 64):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 5, padding=2), nn.Tanh(),
            nn.Conv2d(width, width // 2, 3, padding=1), nn.Tanh(),
        )
        self.upsample = nn.Sequential(
            nn.Conv2d(width // 2, channels * scale * scale, 3, padding=1), nn.PixelShuffle(scale),
        )

    def forward(self, x):
        return self.upsample(self.features(x))


def espcn_x2() -> ESPCN:
    """ESPCN, 2x super-resolution of a one-channel (luminance) image."""
    return ESPCN(2)


def espcn_x3() -> ESPCN:
    """ESPCN, 3x super-resolution of a one-channel (luminance) image."""
    return ESPCN(3)


def espcn_x4() -> ESPCN:
    """ESPCN, 4x super-resolution of a one-channel (luminance) image."""
    return ESPCN(4)


# -------------------------------------------------------------------------------------- DnCNN


class DnCNN(nn.Module):
    """DnCNN with BatchNorm merged: ``depth`` 3x3 convs with bias (ReLU after all but the last)
    predict the noise, which is subtracted from the input."""

    def __init__(self, channels: int, depth: int = 20, width: int = 64):
        super().__init__()
        layers = [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(width, channels, 3, padding=1))
        self.noise = nn.Sequential(*layers)

    def forward(self, x):
        return x - self.noise(x)


def dncnn3() -> DnCNN:
    """DnCNN-3 (20 layers, grey images): blind denoising, JPEG deblocking and super-resolution."""
    return DnCNN(1)


def dncnn_color_blind() -> DnCNN:
    """DnCNN colour blind denoiser (20 layers, RGB images)."""
    return DnCNN(3)


# ----------------------------------------------------------------------------------- Zero-DCE


class ZeroDCE(nn.Module):
    """DCE-Net (seven 3x3 convs with mirrored concatenations) estimating ``iterations``
    three-channel curve maps, then the curves applied to the input image in turn."""

    def __init__(self, width: int = 32, iterations: int = 8):
        super().__init__()
        self.iterations = iterations
        self.conv1 = nn.Conv2d(3, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.conv3 = nn.Conv2d(width, width, 3, padding=1)
        self.conv4 = nn.Conv2d(width, width, 3, padding=1)
        self.conv5 = nn.Conv2d(2 * width, width, 3, padding=1)
        self.conv6 = nn.Conv2d(2 * width, width, 3, padding=1)
        self.conv7 = nn.Conv2d(2 * width, 3 * iterations, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        x1 = self.relu(self.conv1(x))
        x2 = self.relu(self.conv2(x1))
        x3 = self.relu(self.conv3(x2))
        x4 = self.relu(self.conv4(x3))
        x5 = self.relu(self.conv5(torch.cat([x3, x4], 1)))
        x6 = self.relu(self.conv6(torch.cat([x2, x5], 1)))
        curves = torch.tanh(self.conv7(torch.cat([x1, x6], 1)))
        for a in torch.split(curves, 3, dim=1):
            x = x + a * (x * x - x)
        return x


def zero_dce() -> ZeroDCE:
    """Zero-DCE: DCE-Net and eight curve iterations on an RGB image."""
    return ZeroDCE()
