"""Hailo Model Zoo dense-prediction and detection transformers (pose heatmaps, depth, DETR), for
the zoo. The Hailo Model Zoo is https://github.com/hailo-ai/hailo_model_zoo (commit c83fc030);
each network's ``hailo_model_zoo/cfg/networks/<id>.yaml`` gives its input and output shape, the
framework, the source it was taken from, its parameters and its OPS (operations: two per
multiply-accumulate), as do the per-task tables in ``docs/public_models/``. Two counting habits of
Hailo's OPS matter here: a stride-2 transposed conv is counted on its output grid (four times the
multiply-accumulates chipfit counts from the input side), and for its ViTs the matrix products of
two activations (attention scores and their weighted sum) are left out.

vit_pose_small
    Xu et al. 2022, "ViTPose: Simple Vision Transformer Baselines for Human Pose Estimation",
    arXiv:2204.12484, and https://github.com/ViTAE-Transformer/ViTPose
    (``configs/body/2d_kpt_sview_rgb_img/topdown_heatmap/coco/ViTPose_small_coco_256x192.py``,
    ``mmpose/models/backbones/vit.py``): a 256x192 crop, a 16x16 stride-16 patch embedding with
    2 pixels of zero padding (16x12 tokens), the learned position embedding of the patches plus
    that of the (unused) class token, 12 pre-norm ViT layers (width 384, 12 heads, MLP ratio 4,
    qkv bias, GELU, LayerNorm) and a final LayerNorm; the "classic" decoder: two 4x4 stride-2
    transposed convs to 256 channels (no bias; BatchNorm, ReLU) and a 1x1 conv to the 17 COCO
    keypoint heatmaps at 64x48. Hailo: 24.29M parameters, 17.17G OPS (twice the MACs with the
    transposed convs counted on their output grid and the attention matmuls left out).

vit_pose_small_bn
    Hailo's BatchNorm variant of the same network (its changelog: "encoder based transformer with
    batchnorm"): built as Hailo's ``vit_small_bn`` classifier has it, a BatchNorm over the token
    features in place of every LayerNorm, another inside each MLP (after the activation, before
    the second linear layer) and ReLU in place of GELU. Hailo: 24.32M parameters, 17.17G OPS.

scdepthv3
    Sun et al. 2022, "SC-DepthV3: Robust Self-supervised Monocular Depth Estimation for Dynamic
    Scenes", arXiv:2211.03660, and https://github.com/JiawangBian/sc_depth_pl
    (``models/DepthNet.py``, ``models/resnet_encoder.py``): the Monodepth2 depth network, a
    ResNet-18 encoder (torchvision's layout; features after the stem's ReLU and after each stage,
    64, 64, 128, 256, 512 channels) and a decoder of five steps from stride 32 to stride 1, each a
    3x3 conv (reflection padding, bias, ELU) to 256, 128, 64, 32, 16 channels, a 2x bilinear
    upsampling, concatenation with the encoder feature of that stride (none at stride 1) and
    another 3x3 conv + ELU; a 3x3 conv to one channel, sigmoid, disparity 10 s + 0.01 and depth
    its reciprocal, at the input size (256x320 for NYU). Hailo's graph outputs only that
    full-resolution depth, so the decoder's three coarser depth convs are not built. Hailo:
    14.8M parameters, 10.7G OPS; its parameter figure also counts the 1000-way classifier that
    the encoder's torchvision ResNet-18 carries unused (513,000 parameters).

detr_resnet_v1_50
    Carion et al. 2020, "End-to-End Object Detection with Transformers", arXiv:2005.12872, and
    https://github.com/facebookresearch/detr (``models/detr.py``, ``models/transformer.py``,
    ``models/position_encoding.py``, ``main.py`` defaults): a ResNet-50 trunk (torchvision's
    layout, frozen BatchNorm) to stride 32, a 1x1 conv to 256 channels, fixed sine position
    encodings (128 per axis, temperature 10000, normalised coordinates), 6 post-norm encoder
    layers (8 heads, feed-forward 2048, ReLU; position added to queries and keys) and 6 post-norm
    decoder layers over 100 learned queries (self-attention, cross-attention to the encoder
    output, feed-forward), a final LayerNorm, a linear layer to 92 class logits and a 3-layer MLP
    to 4 sigmoid box coordinates. At 800x800: a 25x25 feature map. Hailo: 41.1M parameters,
    120.4G OPS (Hailo-8L table).

segformer_b0_bn
    Xie et al. 2021, "SegFormer: Simple and Efficient Design for Semantic Segmentation with
    Transformers", arXiv:2105.15203, and https://github.com/NVlabs/SegFormer
    (``mmseg/models/backbones/mix_transformer.py`` ``mit_b0``, ``mmseg/models/decode_heads/
    segformer_head.py``, ``local_configs/segformer/B0/segformer.b0.1024x1024.city.160k.py``): the
    MiT-B0 encoder, four stages of overlapping patch embeddings (7x7 stride 4, then 3x3 stride 2
    convs) to 32, 64, 160, 256 channels, two blocks each of efficient self-attention (1, 2, 5, 8
    heads; keys and values from a map reduced by a stride-8, 4, 2, 1 conv) and a Mix-FFN (linear to
    4x, 3x3 depthwise conv, GELU, linear back); the all-MLP decoder: each stage's map linearly
    projected to 256 channels and upsampled to stride 4, the four concatenated and fused by a 1x1
    conv + BatchNorm + ReLU, a 1x1 conv to the 19 Cityscapes classes. Hailo's output is the class
    map at the full 512x1024 input, so the 4x bilinear upsampling and the per-pixel argmax are built
    too. Hailo's "_bn" variant (its changelog: "encoder based transformer with batchnorm") is built
    with a BatchNorm over the channels in place of every LayerNorm (after each patch embedding,
    before attention and Mix-FFN, after each key/value reduction, at the end of each stage), which
    leaves the counts of the LayerNorm network unchanged. Hailo: 3.72M parameters, 35.76G OPS.

depth_anything_vits, depth_anything_v2_vits
    Yang et al. 2024, "Depth Anything", arXiv:2401.10891, and "Depth Anything V2",
    arXiv:2406.09414, as Hailo takes them from https://huggingface.co/LiheYoung/depth-anything-small-hf
    and https://huggingface.co/depth-anything/Depth-Anything-V2-Small-hf (their ``config.json``
    and transformers' ``modeling_depth_anything.py`` / ``modeling_dinov2.py``): a DINOv2 ViT-S/14
    encoder (14x14 patches, class token, 12 layers of width 384, 6 heads, MLP ratio 4, GELU,
    LayerNorm, LayerScale) whose outputs after four layers (the last four for V1; layers 3, 6, 9, 12
    for V2), each through the final LayerNorm and without the class token, go to the DPT neck:
    per tap a 1x1 conv to 48, 96, 192, 384 channels and a resampling by 4 (4x4 stride-4
    transposed conv), 2 (2x2 stride-2 transposed conv), 1, 1/2 (3x3 stride-2 conv), a 3x3 conv to
    64 channels, and four fusion steps from the coarsest (pre-activation residual units of two 3x3
    convs, 2x bilinear upsampling, a 1x1 conv); the head: a 3x3 conv to 32, bilinear upsampling to
    the input size, a 3x3 conv, ReLU, a 1x1 conv to one channel, ReLU. Hailo runs them at 224x224
    (16x16 patches): the position embedding is held at that grid (257 positions; the checkpoints'
    37x37 grid, interpolated at run time, would add 427,392 parameters), and the unused mask
    token is not built. The two differ only in which layers feed the neck, not in any count.
    Hailo: 24.2M parameters, 16.7G OPS each (its OPS count the transposed convs on their output
    grid: 16 and 4 times chipfit's count).

No input normalisation is built in (Hailo folds its into the compiled graph). The code is
chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F

from chipfit.frontends.pytorch.nets.hailo_cls import TokenBatchNorm

# ------------------------------------------------------------------------------------ ViTPose


def _deconv_bn_relu(cin: int, cout: int) -> list[nn.Module]:
    """A 4x4 stride-2 transposed conv (no bias, padding 1: doubles the size), BatchNorm, ReLU."""
    return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class ViTPose(nn.Module):
    """ViTPose: a plain ViT over the crop's 16x16 patches and the classic heatmap decoder."""

    def __init__(self, image_size: tuple[int, int] = (256, 192), width: int = 384, depth: int = 12,
                 heads: int = 12, keypoints: int = 17, bn: bool = False):
        super().__init__()
        from torchvision.models.vision_transformer import Encoder

        tokens = ((image_size[0] + 4 - 16) // 16 + 1) * ((image_size[1] + 4 - 16) // 16 + 1)
        self.patch = nn.Conv2d(3, width, 16, 16, padding=2)
        # ViTPose adds the class token's position embedding to every patch (the token is not used)
        self.cls_pos = nn.Parameter(torch.zeros(1, 1, width))
        norm = TokenBatchNorm if bn else partial(nn.LayerNorm, eps=1e-6)
        self.encoder = Encoder(tokens, depth, heads, width, 4 * width, 0.0, 0.0, norm)
        if bn:  # Hailo's BatchNorm ViTs: ReLU and a BatchNorm inside every MLP
            for layer in self.encoder.layers:
                layer.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.ReLU(), TokenBatchNorm(4 * width),
                                          nn.Linear(4 * width, width))
        self.head = nn.Sequential(*_deconv_bn_relu(width, 256), *_deconv_bn_relu(256, 256),
                                  nn.Conv2d(256, keypoints, 1))

    def forward(self, x):
        x = self.patch(x)
        b, c, h, w = x.shape
        x = self.encoder(x.flatten(2).transpose(1, 2) + self.cls_pos)
        return self.head(x.transpose(1, 2).reshape(b, c, h, w))


def vit_pose_small() -> ViTPose:
    """Hailo's vit_pose_small: ViTPose-S (ViT-S/16, LayerNorm, GELU), 17 heatmaps at 64x48."""
    return ViTPose()


def vit_pose_small_bn() -> ViTPose:
    """Hailo's vit_pose_small_bn: ViTPose-S with BatchNorms for the LayerNorms and in the MLP, ReLU."""
    return ViTPose(bn=True)


# --------------------------------------------------------------------------------- SC-DepthV3


class ReflectConvELU(nn.Module):
    """Reflection padding 1, a 3x3 conv with bias and (optionally) ELU, as Monodepth2's ConvBlock."""

    def __init__(self, cin: int, cout: int, elu: bool = True):
        super().__init__()
        self.pad = nn.ReflectionPad2d(1)
        self.conv = nn.Conv2d(cin, cout, 3)
        self.act = nn.ELU() if elu else nn.Identity()

    def forward(self, x):
        return self.act(self.conv(self.pad(x)))


class MonodepthNet(nn.Module):
    """A ResNet-18 encoder and Monodepth2's skip decoder, full-resolution depth out."""

    def __init__(self):
        super().__init__()
        from torchvision.models import resnet18

        r = resnet18(weights=None)
        self.stem = nn.Sequential(r.conv1, r.bn1, r.relu)
        self.stages = nn.ModuleList([nn.Sequential(r.maxpool, r.layer1), r.layer2, r.layer3, r.layer4])
        enc = [64, 64, 128, 256, 512]
        dec = [16, 32, 64, 128, 256]
        self.up0 = nn.ModuleList()
        self.up1 = nn.ModuleList()
        for i in range(4, -1, -1):
            self.up0.append(ReflectConvELU(enc[-1] if i == 4 else dec[i + 1], dec[i]))
            self.up1.append(ReflectConvELU(dec[i] + (enc[i - 1] if i > 0 else 0), dec[i]))
        self.disp = ReflectConvELU(dec[0], 1, elu=False)

    def forward(self, x):
        feats = [self.stem(x)]
        for stage in self.stages:
            feats.append(stage(feats[-1]))
        x = feats[-1]
        for step, i in enumerate(range(4, -1, -1)):
            x = F.interpolate(self.up0[step](x), scale_factor=2, mode="bilinear", align_corners=False)
            if i > 0:
                x = torch.cat([x, feats[i - 1]], 1)
            x = self.up1[step](x)
        disp = 10 * torch.sigmoid(self.disp(x)) + 0.01
        return 1.0 / disp


def scdepthv3() -> MonodepthNet:
    """Hailo's scdepthv3: SC-DepthV3's ResNet-18 Monodepth2 depth network, depth at the input size."""
    return MonodepthNet()


# --------------------------------------------------------------------------------------- DETR


def sine_position(h: int, w: int, dim: int = 256, temperature: float = 10000.0) -> torch.Tensor:
    """DETR's fixed sine position encoding of an h x w grid, (h * w, dim): dim / 2 features per axis,
    sin and cos interleaved, coordinates normalised to (0, 2 pi]."""
    half = dim // 2
    y = torch.arange(1, h + 1, dtype=torch.float32)[:, None].expand(h, w) / (h + 1e-6) * 2 * math.pi
    x = torch.arange(1, w + 1, dtype=torch.float32)[None, :].expand(h, w) / (w + 1e-6) * 2 * math.pi
    t = temperature ** (2 * (torch.arange(half, dtype=torch.float32) // 2) / half)
    py, px = y[..., None] / t, x[..., None] / t
    py = torch.stack([py[..., 0::2].sin(), py[..., 1::2].cos()], -1).flatten(2)
    px = torch.stack([px[..., 0::2].sin(), px[..., 1::2].cos()], -1).flatten(2)
    return torch.cat([py, px], -1).reshape(h * w, dim)


class DetrEncoderLayer(nn.Module):
    """Post-norm self-attention (position added to queries and keys) and a ReLU feed-forward."""

    def __init__(self, d: int, heads: int, ffn: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm1 = nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, ffn), nn.ReLU(), nn.Linear(ffn, d))
        self.norm2 = nn.LayerNorm(d)

    def forward(self, x, pos):
        q = x + pos
        x = self.norm1(x + self.attn(q, q, x, need_weights=False)[0])
        return self.norm2(x + self.ffn(x))


class DetrDecoderLayer(nn.Module):
    """Post-norm query self-attention, cross-attention to the memory, and a ReLU feed-forward."""

    def __init__(self, d: int, heads: int, ffn: int):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm1 = nn.LayerNorm(d)
        self.cross_attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, ffn), nn.ReLU(), nn.Linear(ffn, d))
        self.norm3 = nn.LayerNorm(d)

    def forward(self, t, query_pos, memory, pos):
        q = t + query_pos
        t = self.norm1(t + self.self_attn(q, q, t, need_weights=False)[0])
        t = self.norm2(t + self.cross_attn(t + query_pos, memory + pos, memory, need_weights=False)[0])
        return self.norm3(t + self.ffn(t))


class DETR(nn.Module):
    """DETR: a ResNet trunk, a 1x1 projection, a post-norm encoder-decoder transformer over a
    fixed number of learned queries, class logits and sigmoid boxes per query."""

    def __init__(self, trunk: nn.Module, channels: int, d: int = 256, heads: int = 8, ffn: int = 2048,
                 layers: int = 6, queries: int = 100, classes: int = 92, grid: tuple[int, int] = (25, 25)):
        super().__init__()
        self.trunk = trunk
        self.proj = nn.Conv2d(channels, d, 1)
        self.register_buffer("pos", sine_position(*grid, d)[None], persistent=False)
        self.query = nn.Parameter(torch.zeros(1, queries, d))
        self.encoder = nn.ModuleList(DetrEncoderLayer(d, heads, ffn) for _ in range(layers))
        self.decoder = nn.ModuleList(DetrDecoderLayer(d, heads, ffn) for _ in range(layers))
        self.norm = nn.LayerNorm(d)
        self.cls = nn.Linear(d, classes)
        self.box = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 4))

    def forward(self, x):
        f = self.proj(self.trunk(x))
        b, d, h, w = f.shape
        pos = self.pos if self.pos.shape[1] == h * w else sine_position(h, w, d)[None].to(f)
        memory = f.flatten(2).transpose(1, 2)
        for layer in self.encoder:
            memory = layer(memory, pos)
        query = self.query.expand(b, -1, -1)
        t = memory.new_zeros(query.shape)  # the decoder starts from zeros (made from the activations)
        for layer in self.decoder:
            t = layer(t, query, memory, pos)
        t = self.norm(t)
        return self.cls(t), self.box(t).sigmoid()


def _resnet_trunk(name: str) -> nn.Sequential:
    """A torchvision ResNet to its stride-32 features (no pooling, no classifier)."""
    import torchvision

    r = torchvision.models.get_model(name, weights=None)
    return nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool, r.layer1, r.layer2, r.layer3, r.layer4)


def detr_resnet_v1_50() -> DETR:
    """Hailo's detr_resnet_v1_50: DETR with a ResNet-50 trunk, 100 queries, 92 class logits, at 800 px."""
    return DETR(_resnet_trunk("resnet50"), 2048)


# ---------------------------------------------------------------------------------- SegFormer


class MixAttention(nn.Module):
    """SegFormer's efficient self-attention: keys and values from the map reduced by a stride-r
    conv (and a norm) when r > 1."""

    def __init__(self, dim: int, heads: int, reduction: int):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        if reduction > 1:
            self.sr = nn.Sequential(nn.Conv2d(dim, dim, reduction, reduction), nn.BatchNorm2d(dim))
        else:
            self.sr = None

    def forward(self, x, h: int, w: int):
        b, n, c = x.shape
        d = c // self.heads
        q = self.q(x).reshape(b, n, self.heads, d).transpose(1, 2)
        src = x
        if self.sr is not None:
            src = self.sr(x.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
        k, v = self.kv(src).reshape(b, -1, 2, self.heads, d).permute(2, 0, 3, 1, 4)
        attn = (q @ k.transpose(-2, -1) * d ** -0.5).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class MixFFN(nn.Module):
    """Linear to 4x, a 3x3 depthwise conv over the token map, GELU, linear back."""

    def __init__(self, dim: int, ratio: int = 4):
        super().__init__()
        hidden = ratio * dim
        self.fc1 = nn.Linear(dim, hidden)
        self.dw = nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x, h: int, w: int):
        b, n, _ = x.shape
        x = self.fc1(x)
        x = self.dw(x.transpose(1, 2).reshape(b, -1, h, w)).flatten(2).transpose(1, 2)
        return self.fc2(self.act(x))


class MixBlock(nn.Module):
    """A pre-norm SegFormer block (BatchNorm over the token features)."""

    def __init__(self, dim: int, heads: int, reduction: int):
        super().__init__()
        self.norm1 = TokenBatchNorm(dim)
        self.attn = MixAttention(dim, heads, reduction)
        self.norm2 = TokenBatchNorm(dim)
        self.ffn = MixFFN(dim)

    def forward(self, x, h: int, w: int):
        x = x + self.attn(self.norm1(x), h, w)
        return x + self.ffn(self.norm2(x), h, w)


class MixStage(nn.Module):
    """An overlapping patch embedding (conv + norm), blocks, and a final norm, map in, map out."""

    def __init__(self, cin: int, dim: int, kernel: int, stride: int, depth: int, heads: int, reduction: int):
        super().__init__()
        self.embed = nn.Sequential(nn.Conv2d(cin, dim, kernel, stride, kernel // 2), nn.BatchNorm2d(dim))
        self.blocks = nn.ModuleList(MixBlock(dim, heads, reduction) for _ in range(depth))
        self.norm = TokenBatchNorm(dim)

    def forward(self, x):
        x = self.embed(x)
        b, c, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)
        for block in self.blocks:
            x = block(x, h, w)
        return self.norm(x).transpose(1, 2).reshape(b, c, h, w)


class SegFormer(nn.Module):
    """A MiT encoder, SegFormer's all-MLP decoder, then the class map at the input size."""

    def __init__(self, widths=(32, 64, 160, 256), depths=(2, 2, 2, 2), heads=(1, 2, 5, 8),
                 reductions=(8, 4, 2, 1), decoder: int = 256, classes: int = 19):
        super().__init__()
        cins = (3,) + tuple(widths[:-1])
        self.stages = nn.ModuleList(
            MixStage(cin, dim, 7 if i == 0 else 3, 4 if i == 0 else 2, depth, head, r)
            for i, (cin, dim, depth, head, r) in enumerate(zip(cins, widths, depths, heads, reductions)))
        self.linears = nn.ModuleList(nn.Linear(dim, decoder) for dim in widths)
        self.fuse = nn.Sequential(nn.Conv2d(len(widths) * decoder, decoder, 1, bias=False),
                                  nn.BatchNorm2d(decoder), nn.ReLU())
        self.pred = nn.Conv2d(decoder, classes, 1)

    def forward(self, x):
        size = x.shape[2:]
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        h, w = feats[0].shape[2:]
        maps = []
        for f, linear in zip(feats, self.linears):
            b, _, fh, fw = f.shape
            m = linear(f.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(b, -1, fh, fw)
            if (fh, fw) != (h, w):
                m = F.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)
            maps.append(m)
        logits = self.pred(self.fuse(torch.cat(maps[::-1], 1)))
        logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        return logits.argmax(1, keepdim=True)


def segformer_b0_bn() -> SegFormer:
    """Hailo's segformer_b0_bn: SegFormer-B0 with BatchNorms, 19 Cityscapes classes, class map out."""
    return SegFormer()


# ----------------------------------------------------------------------------- Depth Anything


class Dinov2Layer(nn.Module):
    """A pre-norm DINOv2 layer: attention and a GELU MLP, each scaled per channel (LayerScale)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.scale1 = nn.Parameter(torch.ones(dim))
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.scale2 = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        b, n, c = x.shape
        y = self.norm1(x)
        q, k, v = (f(y).reshape(b, n, self.heads, c // self.heads).transpose(1, 2) for f in (self.q, self.k, self.v))
        y = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, c)
        x = x + self.proj(y) * self.scale1
        return x + self.mlp(self.norm2(x)) * self.scale2


class PreActResidual(nn.Module):
    """ReLU, 3x3 conv, ReLU, 3x3 conv (both with bias), plus the input."""

    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(ch, ch, 3, 1, 1), nn.ReLU(), nn.Conv2d(ch, ch, 3, 1, 1))

    def forward(self, x):
        return x + self.body(x)


class FusionStep(nn.Module):
    """DPT's feature fusion: add a residual unit of the skip, a residual unit, 2x bilinear (or to
    the next tap's size), a 1x1 conv."""

    def __init__(self, ch: int):
        super().__init__()
        self.res1 = PreActResidual(ch)
        self.res2 = PreActResidual(ch)
        self.proj = nn.Conv2d(ch, ch, 1)

    def forward(self, x, skip=None, size=None):
        if skip is not None:
            if skip.shape != x.shape:
                skip = F.interpolate(skip, size=x.shape[2:], mode="bilinear", align_corners=False)
            x = x + self.res1(skip)
        x = self.res2(x)
        if size is None:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
        else:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=True)
        return self.proj(x)


class DepthAnything(nn.Module):
    """A DINOv2 ViT encoder, the DPT neck over four of its layers, and the relative-depth head."""

    def __init__(self, taps: tuple[int, ...], image_size: int = 224, dim: int = 384, heads: int = 6,
                 depth: int = 12, neck=(48, 96, 192, 384), fusion: int = 64, head: int = 32):
        super().__init__()
        grid = image_size // 14
        self.taps = taps
        self.patch = nn.Conv2d(3, dim, 14, 14)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.zeros(1, grid * grid + 1, dim))
        self.layers = nn.ModuleList(Dinov2Layer(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.reassemble = nn.ModuleList(nn.Conv2d(dim, ch, 1) for ch in neck)
        self.resample = nn.ModuleList([nn.ConvTranspose2d(neck[0], neck[0], 4, 4),
                                       nn.ConvTranspose2d(neck[1], neck[1], 2, 2), nn.Identity(),
                                       nn.Conv2d(neck[3], neck[3], 3, 2, 1)])
        self.neck = nn.ModuleList(nn.Conv2d(ch, fusion, 3, 1, 1, bias=False) for ch in neck)
        self.fusion = nn.ModuleList(FusionStep(fusion) for _ in neck)
        self.head1 = nn.Conv2d(fusion, fusion // 2, 3, 1, 1)
        self.head2 = nn.Sequential(nn.Conv2d(fusion // 2, head, 3, 1, 1), nn.ReLU(), nn.Conv2d(head, 1, 1), nn.ReLU())

    def forward(self, x):
        size = x.shape[2:]
        x = self.patch(x)
        b, c, h, w = x.shape
        x = torch.cat([self.cls.expand(b, -1, -1), x.flatten(2).transpose(1, 2)], 1)
        x = x + self.pos
        feats = []
        for i, layer in enumerate(self.layers, 1):
            x = layer(x)
            if i in self.taps:
                feats.append(self.norm(x)[:, 1:].transpose(1, 2).reshape(b, c, h, w))
        maps = [conv(resample(proj(f))) for f, proj, resample, conv in
                zip(feats, self.reassemble, self.resample, self.neck)]
        maps = maps[::-1]
        fused = None
        for i, (m, step) in enumerate(zip(maps, self.fusion)):
            nxt = maps[i + 1].shape[2:] if i + 1 < len(maps) else None
            fused = step(m, size=nxt) if fused is None else step(fused, m, size=nxt)
        y = F.interpolate(self.head1(fused), size=size, mode="bilinear", align_corners=True)
        return self.head2(y)


def depth_anything_vits() -> DepthAnything:
    """Hailo's depth_anything_vits: Depth Anything (V1) Small, the last four layers to the neck, 224 px."""
    return DepthAnything((9, 10, 11, 12))


def depth_anything_v2_vits() -> DepthAnything:
    """Hailo's depth_anything_v2_vits: Depth Anything V2 Small, layers 3, 6, 9, 12 to the neck, 224 px."""
    return DepthAnything((3, 6, 9, 12))
