"""Hybrid convolution / attention classifiers and CLIP image encoders as the Hailo Model Zoo
compiles them, for the zoo. The Hailo Model Zoo is https://github.com/hailo-ai/hailo_model_zoo
(commit c83fc030); each network's ``hailo_model_zoo/cfg/networks/<id>.yaml`` gives its input shape,
``info.source``, ``info.parameters`` and ``info.operations`` (OPS: two per multiply-accumulate).

cas_vit_s, cas_vit_m, cas_vit_t
    Zhang et al. 2024, "CAS-ViT: Convolutional Additive Self-attention Vision Transformers",
    arXiv:2408.07680, and https://github.com/Tianfang-Zhang/CAS-ViT ``classification/model/rcvit.py``
    (``rcvit_s`` / ``_m`` / ``_t``): a stem of two 3x3 stride-2 convs (BatchNorm, ReLU) to a quarter
    of the grid, 3, 3, 6, 3 additive blocks at widths 48/64/128/256 (S), 64/96/192/384 (M),
    96/128/256/512 (T), stages joined by a 3x3 stride-2 conv + BatchNorm. A block: a residual
    local integration (1x1 conv, BatchNorm, 3x3 depthwise conv, GELU, 1x1 conv); a residual
    additive token mixer after BatchNorm (a bias-free 1x1 conv to q, k, v; q and k each pass a
    spatial gate (3x3 depthwise conv, BatchNorm, ReLU, 1x1 conv to one channel, sigmoid) and a
    channel gate (global pooling, 1x1 conv, sigmoid); then a 3x3 depthwise conv of q + k, times
    v, and a 3x3 depthwise projection); a residual MLP (ratio 4, GELU) after BatchNorm. The head
    is BatchNorm, global pooling, and the mean of the classifier and the distillation classifier
    (both kept, as in the released evaluation model). Hailo compiles them at 384x384.
    ``MODEL_ZOO.md``: S 5.76M, M 12.42M, T 21.76M parameters. Hailo: 5.5M / 5.4G OPS,
    12.42M / 10.89G, 21.76M / 20.85G (its 5.5M for S is the count with one classifier).

davit_tiny
    Ding et al. 2022, "DaViT: Dual Attention Vision Transformers", arXiv:2204.03645, as timm
    builds it (https://github.com/huggingface/pytorch-image-models ``timm/models/davit.py``,
    ``davit_tiny``; Hailo's source is timm's ``davit_tiny.msft_in1k``): a 7x7 stride-4 conv and
    a channels-first LayerNorm, stages of 1, 1, 3, 1 pairs of blocks at 96, 192, 384, 768 channels
    (3, 6, 12, 24 heads), joined by LayerNorm and a 2x2 stride-2 conv. Each pair is a spatial block
    (7x7 window attention) then a channel block (attention among the channels of each head,
    ``softmax(k^T v) q``); each of their two sub-layers is preceded by a residual 3x3 depthwise
    conv (the conditional position encoding) and is a pre-LayerNorm residual (attention with qkv
    bias, then an MLP of ratio 4 with GELU). The head is global pooling, LayerNorm and the
    classifier. Paper Table: 28.3M parameters, 4.5G FLOPs (multiply-adds). Hailo: 28.36M, 9.1G OPS.

nextvit_small, nextvit_base
    Li et al. 2022, "Next-ViT: Next Generation Vision Transformer for Efficient Deployment in
    Realistic Industrial Scenarios", arXiv:2207.05501, and https://github.com/bytedance/Next-ViT
    ``classification/nextvit.py`` (Hailo compiles timm's port): a stem of four 3x3 convs (64, 32,
    64, 64 channels, stride 2 in the first and last; BatchNorm, ReLU), then blocks of 3, 4, 10
    (small) or 20 (base), 3 at stride 1, 2, 2, 2. A next convolution block (NCB): a patch
    embedding (2x2 average pool + 1x1 conv + BatchNorm when it downsamples, a 1x1 conv + BatchNorm
    when the width changes), a residual multi-head convolutional attention (3x3 grouped conv of
    32-channel groups, BatchNorm, ReLU, 1x1 conv) and a residual BatchNorm + MLP (ratio 3, ReLU).
    A next transformer block (NTB, the last of each stage from the second, and every fifth of
    stage 3) first runs efficient multi-head self attention on 3/4 of its width (head width 32;
    keys and values average-pooled over 8^2, 4^2, 2^2, 1 flattened tokens in stages 1-4, then
    BatchNorm), then a 1x1 projection + grouped-conv attention for the remaining quarter,
    concatenates both and ends with a residual BatchNorm + MLP (ratio 2). Widths: stage 1 96;
    stage 2 192 and a 256 NTB; stage 3 384 with a 512 NTB at every fifth block; stage 4 768 and a
    1024 NTB. The head is BatchNorm, global pooling and the classifier. Paper Table: Next-ViT-S
    31.7M / 5.8G FLOPs, Next-ViT-B 44.8M / 8.3G. Hailo: 31.7M / 11.6G OPS and 44.8M / 16.6G.

clip_resnet_50_image_encoder, clip_resnet_50x4_image_encoder
    Radford et al. 2021, "Learning Transferable Visual Models From Natural Language Supervision",
    arXiv:2103.00020, and https://github.com/openai/CLIP ``clip/model.py`` (``ModifiedResNet``,
    ``AttentionPool2d``): a stem of three 3x3 convs (half the width at stride 2, half, full) with
    BatchNorm and ReLU, then a 2x2 average pool; ResNet bottlenecks (blocks 3, 4, 6, 3 at width 64
    for RN50; 4, 6, 10, 6 at width 80 for RN50x4) whose stride-2 units downsample with a 2x2
    average pool after the 3x3 conv and, on the shortcut, a 2x2 average pool before the 1x1
    projection; then attention pooling: the grid's mean is prepended as a token, a learnt
    position embedding added, and multi-head attention (heads of width 64, separate q, k, v and
    output projections) is run with that mean token as the only query, its result projected to
    the embedding (1024 for RN50, 640 for RN50x4). Hailo's output is that embedding (1x1x1024 and
    1x1x640), at 224 and 288 px. Hailo: 38.72M / 11.62G OPS and 87.0M / 41.3G OPS.

No input normalisation is built in (Hailo's scripts put it in the compiled graph). The code is
chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn

from chipfit.frontends.pytorch.nets.hailo_clip import merge_heads, split_heads
from chipfit.frontends.pytorch.nets.lite_nets import LayerNorm2d


def _conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
             act: nn.Module | None = None, bias: bool = False) -> nn.Sequential:
    """A k x k conv ("same" padding), BatchNorm and an optional activation."""
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=bias),
              nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act)
    return nn.Sequential(*layers)


# ------------------------------------------------------------------------------------ CAS-ViT

class _SpatialGate(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.gate = nn.Sequential(nn.Conv2d(dim, dim, 3, 1, 1, groups=dim), nn.BatchNorm2d(dim), nn.ReLU(),
                                  nn.Conv2d(dim, 1, 1, bias=False), nn.Sigmoid())

    def forward(self, x):
        return x * self.gate(x)


class _ChannelGate(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, dim, 1, bias=False), nn.Sigmoid())

    def forward(self, x):
        return x * self.gate(x)


class AdditiveTokenMixer(nn.Module):
    """CAS-ViT's convolutional additive attention: proj(dwconv(gate(q) + gate(k)) * v)."""

    def __init__(self, dim: int):
        super().__init__()
        self.qkv = nn.Conv2d(dim, 3 * dim, 1, bias=False)
        self.gate_q = nn.Sequential(_SpatialGate(dim), _ChannelGate(dim))
        self.gate_k = nn.Sequential(_SpatialGate(dim), _ChannelGate(dim))
        self.dwconv = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)
        self.proj = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=1)
        return self.proj(self.dwconv(self.gate_q(q) + self.gate_k(k)) * v)


class AdditiveBlock(nn.Module):
    """Local integration, additive attention and MLP, each residual."""

    def __init__(self, dim: int, mlp_ratio: int = 4):
        super().__init__()
        self.local = nn.Sequential(nn.Conv2d(dim, dim, 1), nn.BatchNorm2d(dim),
                                   nn.Conv2d(dim, dim, 3, 1, 1, groups=dim), nn.GELU(), nn.Conv2d(dim, dim, 1))
        self.norm1 = nn.BatchNorm2d(dim)
        self.attn = AdditiveTokenMixer(dim)
        self.norm2 = nn.BatchNorm2d(dim)
        self.mlp = nn.Sequential(nn.Conv2d(dim, mlp_ratio * dim, 1), nn.GELU(), nn.Conv2d(mlp_ratio * dim, dim, 1))

    def forward(self, x):
        x = x + self.local(x)
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class CASViT(nn.Module):
    """CAS-ViT (RCViT) classifier with its distillation head (the two classifiers averaged)."""

    def __init__(self, depths: tuple[int, ...], widths: tuple[int, ...], num_classes: int = 1000):
        super().__init__()
        w0 = widths[0]
        layers: list[nn.Module] = [_conv_bn(3, w0 // 2, 3, 2, act=nn.ReLU(), bias=True),
                                   _conv_bn(w0 // 2, w0, 3, 2, act=nn.ReLU(), bias=True)]
        for i, (n, w) in enumerate(zip(depths, widths)):
            if i:
                layers.append(_conv_bn(widths[i - 1], w, 3, 2, bias=True))
            layers += [AdditiveBlock(w) for _ in range(n)]
        self.features = nn.Sequential(*layers)
        self.norm = nn.BatchNorm2d(widths[-1])
        self.head = nn.Linear(widths[-1], num_classes)
        self.dist_head = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        x = self.norm(self.features(x)).flatten(2).mean(-1)
        return (self.head(x) + self.dist_head(x)) / 2


CAS_VIT_WIDTHS = {"s": (48, 64, 128, 256), "m": (64, 96, 192, 384), "t": (96, 128, 256, 512)}


def cas_vit_s() -> CASViT:
    """CAS-ViT-S (rcvit_s), 1000 classes."""
    return CASViT((3, 3, 6, 3), CAS_VIT_WIDTHS["s"])


def cas_vit_m() -> CASViT:
    """CAS-ViT-M (rcvit_m), 1000 classes."""
    return CASViT((3, 3, 6, 3), CAS_VIT_WIDTHS["m"])


def cas_vit_t() -> CASViT:
    """CAS-ViT-T (rcvit_t), 1000 classes."""
    return CASViT((3, 3, 6, 3), CAS_VIT_WIDTHS["t"])


# ------------------------------------------------------------------------------------ DaViT

class _ConvPosEnc(nn.Module):
    """x + depthwise 3x3 conv(x)."""

    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(dim, dim, 3, 1, 1, groups=dim)

    def forward(self, x):
        return x + self.proj(x)


def _mlp(dim: int, ratio: int = 4) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, ratio * dim), nn.GELU(), nn.Linear(ratio * dim, dim))


class _DaViTBlock(nn.Module):
    """A DaViT spatial (window) or channel attention block on an NCHW map."""

    def __init__(self, dim: int, heads: int, window: int, channel: bool):
        super().__init__()
        self.heads, self.window, self.channel = heads, window, channel
        self.cpe1 = _ConvPosEnc(dim)
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.cpe2 = _ConvPosEnc(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = _mlp(dim)

    def _window_attention(self, t: torch.Tensor, h: int, w: int) -> torch.Tensor:
        b, _, c = t.shape
        ws = self.window
        t = t.reshape(b, h // ws, ws, w // ws, ws, c).transpose(2, 3).reshape(-1, ws * ws, c)
        q, k, v = (split_heads(y, self.heads) for y in self.qkv(t).chunk(3, dim=-1))
        attn = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
        y = self.proj(merge_heads(attn.softmax(-1) @ v))
        return y.reshape(b, h // ws, w // ws, ws, ws, c).transpose(2, 3).reshape(b, h * w, c)

    def _channel_attention(self, t: torch.Tensor) -> torch.Tensor:
        q, k, v = (split_heads(y, self.heads) for y in self.qkv(t).chunk(3, dim=-1))
        attn = (k * k.shape[-1] ** -0.5).transpose(-2, -1) @ v  # (B, heads, d, d)
        y = (attn.softmax(-1) @ q.transpose(-2, -1)).transpose(-2, -1)
        return self.proj(merge_heads(y))

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.cpe1(x).flatten(2).transpose(1, 2)
        y = self.norm1(t)
        t = t + (self._channel_attention(y) if self.channel else self._window_attention(y, h, w))
        t = self.cpe2(t.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
        t = t + self.mlp(self.norm2(t))
        return t.transpose(1, 2).reshape(b, c, h, w)


class DaViT(nn.Module):
    """DaViT classifier (input sides a multiple of 32 times the window)."""

    def __init__(self, depths: tuple[int, ...], widths: tuple[int, ...], heads: tuple[int, ...],
                 window: int = 7, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 7, 4, 3), LayerNorm2d(widths[0])]
        for i, (n, w, nh) in enumerate(zip(depths, widths, heads)):
            if i:
                layers += [LayerNorm2d(widths[i - 1]), nn.Conv2d(widths[i - 1], w, 2, 2)]
            for _ in range(n):
                layers += [_DaViTBlock(w, nh, window, channel=False), _DaViTBlock(w, nh, window, channel=True)]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.norm = nn.LayerNorm(widths[-1])
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        return self.fc(self.norm(self.pool(self.features(x)).flatten(1)))


def davit_tiny() -> DaViT:
    """DaViT-Tiny, 1000 classes, at 224 px."""
    return DaViT((1, 1, 3, 1), (96, 192, 384, 768), (3, 6, 12, 24))


# ------------------------------------------------------------------------------------ Next-ViT

def _make_divisible(v: float, divisor: int) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class _PatchEmbed(nn.Sequential):
    """Next-ViT's patch embedding: [2x2 avg pool] + 1x1 conv + BatchNorm, or nothing."""

    def __init__(self, cin: int, cout: int, stride: int):
        layers: list[nn.Module] = []
        if stride == 2:
            layers.append(nn.AvgPool2d(2, 2, ceil_mode=True, count_include_pad=False))
        if stride == 2 or cin != cout:
            layers += [nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        super().__init__(*layers)


def _mhca(dim: int, head_dim: int = 32) -> nn.Sequential:
    """Multi-head convolutional attention: grouped 3x3 conv, BatchNorm, ReLU, 1x1 conv."""
    return nn.Sequential(nn.Conv2d(dim, dim, 3, 1, 1, groups=dim // head_dim, bias=False), nn.BatchNorm2d(dim),
                         nn.ReLU(), nn.Conv2d(dim, dim, 1, bias=False))


def _conv_mlp(dim: int, ratio: int) -> nn.Sequential:
    hidden = _make_divisible(dim * ratio, 32)
    return nn.Sequential(nn.Conv2d(dim, hidden, 1), nn.ReLU(), nn.Conv2d(hidden, dim, 1))


class NCB(nn.Module):
    """Next convolution block."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.patch_embed = _PatchEmbed(cin, cout, stride)
        self.mhca = _mhca(cout)
        self.norm = nn.BatchNorm2d(cout)
        self.mlp = _conv_mlp(cout, 3)

    def forward(self, x):
        x = self.patch_embed(x)
        x = x + self.mhca(x)
        return x + self.mlp(self.norm(x))


class _EfficientMHSA(nn.Module):
    """Self attention whose keys and values are average-pooled over sr^2 flattened tokens."""

    def __init__(self, dim: int, sr_ratio: int, head_dim: int = 32):
        super().__init__()
        self.heads = dim // head_dim
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.sr = None
        if sr_ratio > 1:
            self.sr = nn.Sequential(nn.AvgPool1d(sr_ratio ** 2, sr_ratio ** 2), nn.BatchNorm1d(dim))

    def forward(self, x):
        kv = x if self.sr is None else self.sr(x.transpose(1, 2)).transpose(1, 2)
        q, k, v = split_heads(self.q(x), self.heads), split_heads(self.k(kv), self.heads), split_heads(self.v(kv), self.heads)
        attn = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
        return self.proj(merge_heads(attn.softmax(-1) @ v))


class NTB(nn.Module):
    """Next transformer block: attention on 3/4 of the width, convolutional attention on the rest."""

    def __init__(self, cin: int, cout: int, stride: int, sr_ratio: int):
        super().__init__()
        mhsa = _make_divisible(int(cout * 0.75), 32)
        self.patch_embed = _PatchEmbed(cin, mhsa, stride)
        self.norm1 = nn.BatchNorm2d(mhsa)
        self.attn = _EfficientMHSA(mhsa, sr_ratio)
        self.projection = _PatchEmbed(mhsa, cout - mhsa, 1)
        self.mhca = _mhca(cout - mhsa)
        self.norm2 = nn.BatchNorm2d(cout)
        self.mlp = _conv_mlp(cout, 2)

    def forward(self, x):
        x = self.patch_embed(x)
        b, c, h, w = x.shape
        y = self.attn(self.norm1(x).flatten(2).transpose(1, 2))
        x = x + y.transpose(1, 2).reshape(b, c, h, w)
        y = self.projection(x)
        x = torch.cat([x, y + self.mhca(y)], dim=1)
        return x + self.mlp(self.norm2(x))


class NextViT(nn.Module):
    """Next-ViT classifier; ``stage3`` is the number of blocks of the third stage (a multiple of 5)."""

    def __init__(self, stage3: int, num_classes: int = 1000):
        super().__init__()
        widths = ([96] * 3, [192] * 3 + [256], [384, 384, 384, 384, 512] * (stage3 // 5), [768] * 2 + [1024])
        ntb = ([False] * 3, [False] * 3 + [True], [False, False, False, False, True] * (stage3 // 5),
               [False] * 2 + [True])
        layers: list[nn.Module] = [_conv_bn(3, 64, 3, 2, act=nn.ReLU()), _conv_bn(64, 32, 3, act=nn.ReLU()),
                                   _conv_bn(32, 64, 3, act=nn.ReLU()), _conv_bn(64, 64, 3, 2, act=nn.ReLU())]
        cin = 64
        for stage, (ws, kinds, sr) in enumerate(zip(widths, ntb, (8, 4, 2, 1))):
            for j, (w, is_ntb) in enumerate(zip(ws, kinds)):
                stride = 2 if stage > 0 and j == 0 else 1
                layers.append(NTB(cin, w, stride, sr) if is_ntb else NCB(cin, w, stride))
                cin = w
        self.features = nn.Sequential(*layers)
        self.norm = nn.BatchNorm2d(cin)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.norm(self.features(x))).flatten(1))


def nextvit_small() -> NextViT:
    """Next-ViT-S, 1000 classes."""
    return NextViT(10)


def nextvit_base() -> NextViT:
    """Next-ViT-B, 1000 classes."""
    return NextViT(20)


# ------------------------------------------------------------------------------------ CLIP ResNets

class _ClipBottleneck(nn.Module):
    """CLIP's ResNet bottleneck: the stride is a 2x2 average pool after the 3x3 conv, and on the
    shortcut a 2x2 average pool before the 1x1 projection."""

    def __init__(self, cin: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = _conv_bn(cin, planes, 1, act=nn.ReLU())
        self.conv2 = _conv_bn(planes, planes, 3, act=nn.ReLU())
        self.pool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = _conv_bn(planes, 4 * planes, 1)
        self.shortcut: nn.Module = nn.Identity()
        if stride > 1 or cin != 4 * planes:
            self.shortcut = nn.Sequential(nn.AvgPool2d(stride) if stride > 1 else nn.Identity(),
                                          _conv_bn(cin, 4 * planes, 1))
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.conv3(self.pool(self.conv2(self.conv1(x)))) + self.shortcut(x))


class AttentionPool2d(nn.Module):
    """CLIP's attention pooling: the grid's mean token (plus a position embedding) queries the grid."""

    def __init__(self, grid: int, dim: int, heads: int, out_dim: int):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.zeros(grid * grid + 1, dim))
        self.q_proj, self.k_proj, self.v_proj = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.c_proj = nn.Linear(dim, out_dim)
        self.heads = heads

    def forward(self, x):
        t = x.flatten(2).transpose(1, 2)
        t = torch.cat([t.mean(dim=1, keepdim=True), t], dim=1) + self.positional_embedding
        q = split_heads(self.q_proj(t[:, :1]), self.heads)
        k, v = split_heads(self.k_proj(t), self.heads), split_heads(self.v_proj(t), self.heads)
        attn = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
        return self.c_proj(merge_heads(attn.softmax(-1) @ v))[:, 0]


class ClipModifiedResNet(nn.Module):
    """CLIP's ModifiedResNet image encoder, returning the image embedding."""

    def __init__(self, layers: tuple[int, ...], width: int, out_dim: int, resolution: int):
        super().__init__()
        self.stem = nn.Sequential(_conv_bn(3, width // 2, 3, 2, act=nn.ReLU()),
                                  _conv_bn(width // 2, width // 2, 3, act=nn.ReLU()),
                                  _conv_bn(width // 2, width, 3, act=nn.ReLU()), nn.AvgPool2d(2))
        blocks, cin = [], width
        for i, n in enumerate(layers):
            for j in range(n):
                blocks.append(_ClipBottleneck(cin, width * 2 ** i, 2 if i > 0 and j == 0 else 1))
                cin = 4 * width * 2 ** i
        self.layers = nn.Sequential(*blocks)
        self.attnpool = AttentionPool2d(resolution // 32, 32 * width, 32 * width // 64, out_dim)

    def forward(self, x):
        return self.attnpool(self.layers(self.stem(x)))


def clip_resnet_50_image_encoder() -> ClipModifiedResNet:
    """CLIP RN50 image encoder at 224 px: a 1024-wide embedding."""
    return ClipModifiedResNet((3, 4, 6, 3), 64, 1024, 224)


def clip_resnet_50x4_image_encoder() -> ClipModifiedResNet:
    """CLIP RN50x4 image encoder at 288 px: a 640-wide embedding."""
    return ClipModifiedResNet((4, 6, 10, 6), 80, 640, 288)
