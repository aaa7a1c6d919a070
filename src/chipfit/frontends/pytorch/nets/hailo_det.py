"""More detectors as the Hailo Model Zoo compiles them, for the zoo.

The Hailo Model Zoo is https://github.com/hailo-ai/hailo_model_zoo (commit c83fc030); each
network's ``hailo_model_zoo/cfg/networks/<id>.yaml`` gives its input shape, its source
(``info.source``), its parameter count (``info.parameters``, the compiled graph: BatchNorm folded
into the convolutions) and its operations (``info.operations``, about two per multiply-accumulate).
Hailo compiles these networks up to the raw per-level head outputs: the ``.alls`` scripts add box
decoding and NMS as ``nms_postprocess(..., engine=cpu)`` on the host, so neither is counted here.

yolov6n_0.1.0 (Hailo's ``yolov6n``)
    YOLOv6-N of release 0.1.0 (``info.source``), https://github.com/meituan/YOLOv6 tag 0.1.0:
    ``configs/yolov6n.py`` (depth 0.33, width 0.25, the backbone, neck and head widths and repeats
    of release 0.2.1), ``yolov6/models/efficientrep.py``, ``reppan.py`` (the same EfficientRep
    backbone with SimSPPF and RepPAN neck with 2x2 transposed-convolution upsampling as 0.2.1) and
    ``effidehead.py``: the head of 0.1.0 also predicts an objectness per cell, a 1x1 convolution
    with bias from the box branch's 3x3 features to one channel (``obj_preds``). Hailo's cfg lists
    the outputs per level as 4 box values, 1 objectness, 80 classes. Built deployed (RepVGG blocks
    as one 3x3 convolution with bias). Hailo: 4.32M / 11.12G OPS; the count here is 11.04G (two per
    multiply-accumulate): Hailo's figure counts the neck's two 2x2 stride-2 transposed convolutions
    from their output side, four times their multiply-accumulates, as thop does.

yolov7e6
    https://github.com/WongKinYiu/yolov7 ``cfg/deploy/yolov7-e6.yaml`` (rows 0-140) and
    ``models/common.py``: ``ReOrg`` (space-to-depth: the four 2x2 pixel phases stacked as channels),
    ``DownC(c1, c2)`` (a 1x1 Conv to ``c1`` then a 3x3/2 Conv to ``c2 / 2``, beside a 2x2/2 max
    pool and a 1x1 Conv to ``c2 / 2``, concatenated), ELAN blocks of two 1x1 branches and six
    chained 3x3 convs (backbone: concatenation ``[-1, -3, -5, -7, -8]``; head: all eight), SPPCSPC
    to 640 at stride 64, a four-level PAN neck, 3x3 Conv (320, 640, 960, 1280) and the deployed
    detection head (YOLOv5's 1x1 outputs, 3 anchors × 85 per level at strides 8, 16, 32, 64); SiLU.
    Paper (arXiv:2207.02696, Table 2): YOLOv7-E6 97.2M parameters, 515.2G FLOPs at 1280. Hailo:
    97.20M / 515.12G OPS at 1280x1280.

nanodet_repvgg, nanodet_repvgg_a1_640
    NanoDet (``info.source`` RangiLyu/nanodet) as Hailo's fork https://github.com/hailo-ai/nanodet
    (the one the model zoo's retraining docker clones) defines it:
    ``config/legacy_v0.x_configs/RepVGG/nanodet-RepVGG-A0_416.yml`` (RepVGG-A0 backbone, stages 2-4
    out, ReLU, ``last_channel`` 512; PAN of 128 channels; ``NanoDetHead`` with ``share_cls_reg``,
    two stacked 3x3 convs of 128, ``reg_max`` 10), ``nanodet/model/backbone/repvgg.py`` (RepVGG-A0:
    blocks [2, 4, 14, 1], width multipliers [0.75, 0.75, 0.75, 2.5]; A1: [1, 1, 1, 2.5]; stem
    3x3/2 to ``min(64, 64 × a)``), ``nanodet/model/fpn/fpn.py`` and ``pan.py`` (1x1 lateral
    convolutions with bias and no normalisation or activation; top-down ×2 upsampling and sums; the
    fork's bottom-up path sums 2x2/2 average-pooled maps; no other convolutions) and
    ``nanodet/model/head/nanodet_head.py`` (per level its own two 3x3 conv-BN-ReLU, then one 1x1
    convolution to 80 + 4 × 11 = 124 channels; the unused ``gfl_reg`` convolutions are not in the
    exported graph). The model zoo's NMS configs give ``regression_length`` 11 for both networks.
    nanodet_repvgg is that network at 416x416, nanodet_repvgg_a1_640 the same with RepVGG-A1 at
    640x640 (Hailo's 10.79M parameters are that backbone with ``last_channel`` 512). Deployed
    RepVGG blocks (one 3x3 convolution with bias). Hailo: 6.74M / 11.28G and 10.79M / 42.8G OPS.

yolov12n
    YOLOv12 (``info.source`` https://github.com/sunsmarterjie/yolov12; Tian et al. 2025,
    arXiv:2502.12524), release v1.0, the first one: tag v1.0's ``ultralytics/cfg/models/v12/yolov12.yaml``
    (scale n: depth 0.50, width 0.25; plain 3x3/2 Conv downsampling; C3k2 blocks at P2 and P3,
    A2C2f blocks with area attention at P4 (4 areas) and P5 (1 area), A2C2f blocks without attention
    (C3k stages) in the neck, a C3k2 with C3k stages at P5, YOLO11's detection head with depthwise
    class branches) and ``ultralytics/nn/modules/block.py`` (``AAttn``: one 1x1 Conv to queries,
    keys and values, heads of 32 channels, attention within each area, a 7x7 depthwise Conv of the
    values, a 1x1 projection; ``ABlock``: attention and a 1x1 feed-forward pair of twice the width,
    both residual; ``A2C2f``: a 1x1 Conv to half the width, n stages of two ABlocks or one C3k, all
    concatenated, a 1x1 Conv). The README's v1.0 table: YOLO12n 2.6M parameters, 6.5 GFLOPs, a count
    of the convolutions only (thop leaves out the attention's matrix products, here 0.98 GFLOPs more).
    Hailo (2.6M / 7.5G OPS, COCO 40.46 mAP against v1.0's 40.6 and the later "turbo" release's 40.4,
    which has 2.5M parameters) compiles v1.0 with the attention products, up to the per-level box
    bins and class logits.

damoyolo_tinynasL20_T, damoyolo_tinynasL25_S, damoyolo_tinynasL35_M
    DAMO-YOLO (``info.source`` https://github.com/tinyvision/DAMO-YOLO; Xu et al. 2022,
    arXiv:2211.15444) of the first release (commit 44c3506; Hailo's ONNX files date from December
    2022): ``configs/damoyolo_tinynasL{20_T,25_S,35_M}.py``, the TinyNAS structures
    ``damo/base_models/backbones/nas_backbones/tinynas_L20_k1kx.txt``, ``tinynas_L25_k1kx.txt``,
    ``tinynas_L35_kxkx.txt``, ``backbones/tinynas_res.py`` (T, S: a Focus stem, a 3x3 Conv over the
    space-to-depth input; stages of residual blocks, a 1x1 (k1kx) or 3x3 (kxkx) conv-BN to the
    bottleneck width, the activation, a RepConv to the output width with the stage's stride, the
    input added unless the block downsamples (through a 1x1 conv-BN when the width changes), the
    activation; an SPP bottleneck after the first block of the last stage), ``tinynas_csp.py`` (M:
    each stage a 3x3/2 conv-BN-ReLU, the blocks between a 1x1 split and a 1x1 fuse of a CSP layout),
    ``necks/giraffe_fpn_btn.py`` (``GiraffeNeckV2``, the efficient RepGFPN: CSP stages at five
    nodes, 3x3/2 Conv downsampling, nearest upsampling; each CSP stage two 1x1 halves, ``round(3 ×
    depth)`` blocks of a RepConv and a 3x3 Conv with a residual, a 1x1 fuse), ``core/ops.py`` and
    ``heads/zero_head.py`` (``ZeroHead`` with no stacked convolutions: per level a 3x3 convolution to
    4 × 17 box bins, times a learned scale, and one to 80 + 1 class scores, sigmoid; Hailo's graph
    ends at those ``Mul`` and ``Sigmoid`` nodes). RepConv is counted deployed: its 3x3 and 1x1
    conv-BN branches fused into one 3x3 convolution with bias. T and S use ReLU in backbone and
    neck, M SiLU (its CSP stage convolutions ReLU). README: T 8.5M / 18.1G, S 16.3M / 37.8G, M 28.2M
    / 61.8G FLOPs. Hailo: 11.35M / 18.02G, 16.25M / 37.64G, 33.98M / 61.64G OPS: every OPS figure and
    S's parameters are matched here; T's and M's parameter figures are 34 % and 21 % above the
    architecture's (which the README's 8.5M and 28.2M confirm) and are not matched.

yolo_world_v2s
    YOLO-World v2 (``info.source`` https://github.com/AILab-CVC/YOLO-World; Cheng et al. 2024,
    arXiv:2401.17270) at the S scale: ``configs/pretrain/yolo_world_v2_s_vlpan_bn_*.py`` (mmyolo's
    YOLOv8-S backbone, deepen 0.33, widen 0.5; ``YOLOWorldPAFPN`` with
    ``MaxSigmoidCSPLayerWithTwoConv`` blocks, embed channels [128, 256, 512] and heads [4, 8, 16]
    before widening (64 / 128 / 128 / 256 channels and 2 / 4 / 4 / 8 heads for the four blocks);
    ``YOLOWorldHeadModule`` with ``use_bn_head``, 512-channel text embeddings),
    ``yolo_world/models/layers/yolo_bricks.py`` (``MaxSigmoidAttnBlock``: a linear layer from the text
    embeddings to the embed width, per pixel and head the maximum over classes of the dot product with
    the image features, divided by the square root of the head width, plus a bias, sigmoid, times a
    3x3 conv-BN of the features; the C2f block concatenates that as one more piece),
    ``necks/yolo_world_pafpn.py`` (YOLOv8's PAN with those blocks) and
    ``dense_heads/yolo_world_head.py`` (YOLOv8's head; the class branch ends in a 1x1 convolution to
    512 channels, then ``BNContrastiveHead``: BatchNorm, dot products with the L2-normalised text
    embeddings, times exp(logit scale) plus a bias). Hailo's ``cfg/base/yolo_world.yaml`` ends the
    graph at ``reg_preds.*.2/Conv`` (4 × 16 box bins, ``regression_length`` 16 in its NMS config)
    and ``cls_contrasts.*/Add`` (80 class logits): the CLIP text encoder is not in it, its output
    (80 × 512) is a second input of the compiled network. Here those embeddings are a constant buffer
    of the module (the compute on them, the attention blocks' linear layers and the normalisation,
    stays in the graph), so the network has the one image input of the edge rows. Hailo: 9.3M /
    32.7G OPS; the OPS are matched; its parameter figure is 27 % below the architecture's 12.75M
    (BatchNorm folded) and is not matched.

The code is chipfit's own; only the architecture facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn

from chipfit.frontends.pytorch.nets import yolov6 as _v6
from chipfit.frontends.pytorch.nets import yolov7 as _v7
from chipfit.frontends.pytorch.nets.common import stage_outputs
from chipfit.frontends.pytorch.nets.hailo_yolo import YOLOv6Legacy
from chipfit.frontends.pytorch.nets.yolo import (
    C3,
    Bottleneck,
    C2f,
    Conv,
    DetectV5,
    DetectV8,
    LayerGraph,
    Scale,
    cat_row,
    upsample_row,
    yolov8,
)

NUM_CLASSES = 80


# -- YOLOv6-N of release 0.1.0 ---------------------------------------------------------------
class V6HeadObj(nn.Module):
    """YOLOv6 0.1.0's efficient decoupled head: per level a 1x1 stem, a 3x3 class conv and a 3x3 box
    conv (ConvBNSiLU), then 80 class logits, 4 box values and, from the box features, 1 objectness.
    Returns per level ``[boxes, sigmoid(objectness), sigmoid(classes)]`` (85 channels)."""

    def __init__(self, chs: list[int]):
        super().__init__()
        self.stems = nn.ModuleList(_v6.ConvBNAct(c, c, 1, act="silu") for c in chs)
        self.cls_convs = nn.ModuleList(_v6.ConvBNAct(c, c, 3, act="silu") for c in chs)
        self.reg_convs = nn.ModuleList(_v6.ConvBNAct(c, c, 3, act="silu") for c in chs)
        self.cls_preds = nn.ModuleList(nn.Conv2d(c, NUM_CLASSES, 1) for c in chs)
        self.reg_preds = nn.ModuleList(nn.Conv2d(c, 4, 1) for c in chs)
        self.obj_preds = nn.ModuleList(nn.Conv2d(c, 1, 1) for c in chs)

    def forward(self, xs):
        outs = []
        for i, x in enumerate(xs):
            x = self.stems[i](x)
            cls = torch.sigmoid(self.cls_preds[i](self.cls_convs[i](x)))
            reg = self.reg_convs[i](x)
            outs.append(torch.cat((self.reg_preds[i](reg), torch.sigmoid(self.obj_preds[i](reg)), cls), 1))
        return outs


def yolov6n_0_1_0() -> nn.Module:
    """YOLOv6-N of release 0.1.0, deployed: release 0.2.1's network with the objectness output."""
    model = YOLOv6Legacy(0.33, 0.25)
    chs = [m.in_channels for m in model.head.cls_preds]
    model.head = V6HeadObj(chs)
    return model.eval()


# -- YOLOv7-E6 -------------------------------------------------------------------------------
class ReOrg(nn.Module):
    """Space-to-depth: the four 2x2 pixel phases stacked as channels (4x the channels, half the side)."""

    def forward(self, x):
        return torch.cat((x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]), 1)


class DownC(nn.Module):
    """YOLOv7's DownC: a 1x1 Conv (width kept) then a 3x3/2 Conv to ``c2 / 2``, beside a 2x2/2 max
    pool then a 1x1 Conv to ``c2 / 2``; the two concatenated."""

    def __init__(self, c1: int, c2: int):
        super().__init__()
        self.cv1 = _v7.ConvBNAct(c1, c1, 1, 1, nn.SiLU())
        self.cv2 = _v7.ConvBNAct(c1, c2 // 2, 3, 2, nn.SiLU())
        self.cv3 = _v7.ConvBNAct(c1, c2 // 2, 1, 1, nn.SiLU())
        self.mp = nn.MaxPool2d(2, 2)

    def forward(self, x):
        return torch.cat((self.cv2(self.cv1(x)), self.cv3(self.mp(x))), 1)


def _elan_e6(r, c: int, c_mid: int, c_out: int, head: bool) -> None:
    """YOLOv7-E6's ELAN: two 1x1 branches of ``c``, six chained 3x3 convs of ``c_mid``; the backbone
    concatenates ``[-1, -3, -5, -7, -8]``, the head all eight; a 1x1 to ``c_out``."""
    r.conv(c, 1)
    r.conv(c, 1, f=-2)
    for _ in range(6):
        r.conv(c_mid, 3)
    r.cat(list(range(-1, -9, -1)) if head else [-1, -3, -5, -7, -8])
    r.conv(c_out, 1)


def _downc(r, c2: int) -> None:
    r.add(-1, lambda c1: (DownC(c1, c2), c2))


def yolov7e6() -> nn.Module:
    """``cfg/deploy/yolov7-e6.yaml``: SiLU everywhere, rows 0-140, four detection levels."""
    r = _v7._Rows(nn.SiLU)
    r.add(-1, lambda c1: (ReOrg(), 4 * c1))   # 0
    r.conv(80, 3, 1)                          # 1-P1/2
    for c2, c in ((160, 64), (320, 128), (640, 256), (960, 384), (1280, 512)):
        _downc(r, c2)                         # 2, 13, 24, 35, 46: P2/4 ... P6/64
        _elan_e6(r, c, c, c2, head=False)     # ... 12, 23, 34, 45, 56
    r.add(-1, lambda c1: (_v7.SPPCSPC(c1, 640, nn.SiLU), 640))  # 57
    for c_lat, skip, c, c_mid, c_out in ((480, 45, 384, 192, 480), (320, 34, 256, 128, 320),
                                         (160, 23, 128, 64, 160)):
        r.conv(c_lat, 1)
        r.up()
        r.conv(c_lat, 1, f=skip)              # route backbone P5, P4, P3
        r.cat([-1, -2])
        _elan_e6(r, c, c_mid, c_out, head=True)   # 71, 85, 99
    for c_down, skip, c, c_mid, c_out in ((320, 85, 256, 128, 320), (480, 71, 384, 192, 480),
                                          (640, 57, 512, 256, 640)):
        _downc(r, c_down)
        r.cat([-1, skip])
        _elan_e6(r, c, c_mid, c_out, head=True)   # 111, 123, 135
    for f, c in ((99, 320), (111, 640), (123, 960), (135, 1280)):
        r.conv(c, 3, f=f)                     # 136-139
    r.add([136, 137, 138, 139], lambda cs: (DetectV5(cs), 0))  # 140
    assert len(r.rows) == 141
    return LayerGraph(r.rows).eval()


# -- NanoDet with a RepVGG backbone ----------------------------------------------------------
class NanoPAN(nn.Module):
    """NanoDet's PAN as Hailo's NanoDet fork writes it: per level a 1x1 lateral convolution with
    bias (no normalisation, no activation) to one width; top-down, each coarser map upsampled ×2
    (nearest) and added to the finer one; bottom-up, each finer map average-pooled 2x2/2 and added
    to the coarser one. No further convolutions."""

    def __init__(self, chs: list[int], c: int):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(ci, c, 1) for ci in chs)
        self.up = nn.Upsample(scale_factor=2.0, mode="nearest")
        self.down = nn.AvgPool2d(2, 2)

    def forward(self, xs):
        lat = [m(x) for m, x in zip(self.lateral, xs)]
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + self.up(lat[i])
        for i in range(len(lat) - 1):
            lat[i + 1] = lat[i + 1] + self.down(lat[i])
        return lat


class NanoDetHead(nn.Module):
    """NanoDet's head with the class and box branches shared (``share_cls_reg``): per level its own
    ``stacked`` 3x3 convolutions (bias-free, BatchNorm, ReLU), then one 1x1 convolution with bias to
    80 class logits + 4 × (reg_max + 1) box-distribution bins."""

    def __init__(self, c: int, levels: int = 3, stacked: int = 2, reg_max: int = 10):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Sequential(*(_v7.ConvBNAct(c, c, 3, 1, nn.ReLU()) for _ in range(stacked))) for _ in range(levels))
        self.preds = nn.ModuleList(nn.Conv2d(c, NUM_CLASSES + 4 * (reg_max + 1), 1) for _ in range(levels))

    def forward(self, xs):
        return [p(m(x)) for m, p, x in zip(self.convs, self.preds, xs)]


#: RepVGG (Ding et al. 2021, arXiv:2101.03697) stage depths and width multipliers
REPVGG_ARCH = {"A0": ([2, 4, 14, 1], [0.75, 0.75, 0.75, 2.5]), "A1": ([2, 4, 14, 1], [1.0, 1.0, 1.0, 2.5])}


class NanoDetRepVGG(nn.Module):
    """NanoDet with a deployed RepVGG backbone (each block one 3x3 convolution with bias, ReLU;
    stem 3x3/2 to ``min(64, 64 × a)``, four stages whose first block has stride 2, the last one
    ``last_channel`` wide), the PAN at ``c`` channels on stages 2-4 and NanoDet's shared head."""

    def __init__(self, arch: str = "A0", last_channel: int = 512, c: int = 128, reg_max: int = 10):
        super().__init__()
        blocks, mult = REPVGG_ARCH[arch]
        widths = [int(64 * mult[0]), int(128 * mult[1]), int(256 * mult[2]), last_channel]
        cin = min(64, int(64 * mult[0]))
        self.stem = _v6.RepConv(3, cin, 2)
        stages = []
        for w, n in zip(widths, blocks):
            stages.append(nn.Sequential(*(_v6.RepConv(cin if i == 0 else w, w, 2 if i == 0 else 1) for i in range(n))))
            cin = w
        self.stages = nn.ModuleList(stages)
        self.fpn = NanoPAN(widths[1:], c)
        self.head = NanoDetHead(c, reg_max=reg_max)

    def forward(self, x):
        feats = stage_outputs(self.stages, self.stem(x))
        return self.head(self.fpn(feats[1:]))


def nanodet_repvgg() -> nn.Module:
    """Hailo's nanodet_repvgg: NanoDet-RepVGG-A0 (416x416)."""
    return NanoDetRepVGG("A0").eval()


def nanodet_repvgg_a1_640() -> nn.Module:
    """Hailo's nanodet_repvgg_a1_640: NanoDet with RepVGG-A1 (640x640)."""
    return NanoDetRepVGG("A1").eval()


# -- YOLOv12-N -------------------------------------------------------------------------------
class AAttn(nn.Module):
    """YOLOv12's area attention (release v1.0) over the pixels of a feature map: a 1x1 Conv
    (BatchNorm, no activation) to queries, keys and values, interleaved per head; the map's pixels,
    in row order, split into ``area`` equal groups that attend only among themselves; ``num_heads``
    heads of 32 channels; a 7x7 depthwise Conv of the values added as positional term; a 1x1 Conv
    projection."""

    def __init__(self, dim: int, num_heads: int, area: int = 1):
        super().__init__()
        self.area, self.num_heads, self.head_dim = area, num_heads, dim // num_heads
        self.qkv = Conv(dim, 3 * dim, 1, act=False)
        self.proj = Conv(dim, dim, 1, act=False)
        self.pe = Conv(dim, dim, 7, 1, 3, g=dim, act=False)

    def forward(self, x):
        b, c, h, w = x.shape
        n = h * w
        qkv = self.qkv(x).flatten(2).transpose(1, 2)                    # [b, n, 3c]
        bb, na = b * self.area, n // self.area
        qkv = qkv.reshape(bb, na, self.num_heads, 3 * self.head_dim)
        q, k, v = qkv.split([self.head_dim] * 3, dim=3)                 # [bb, n / area, heads, head_dim]
        q, k, v = q.permute(0, 2, 3, 1), k.permute(0, 2, 3, 1), v.permute(0, 2, 3, 1)
        attn = ((q.transpose(-2, -1) @ k) * self.head_dim ** -0.5).softmax(dim=-1)
        y = (v @ attn.transpose(-2, -1)).permute(0, 3, 1, 2)            # [bb, n / area, heads, head_dim]
        v = v.permute(0, 3, 1, 2)
        y = y.reshape(b, h, w, c).permute(0, 3, 1, 2)
        v = v.reshape(b, h, w, c).permute(0, 3, 1, 2)
        return self.proj(y + self.pe(v))


class ABlock(nn.Module):
    """Area attention and a 1x1 Conv feed-forward pair (``mlp_ratio`` × the width), each residual."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 2.0, area: int = 1):
        super().__init__()
        self.attn = AAttn(dim, num_heads, area)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(Conv(dim, hidden, 1), Conv(hidden, dim, 1, act=False))

    def forward(self, x):
        x = x + self.attn(x)
        return x + self.mlp(x)


class A2C2f(nn.Module):
    """YOLOv12's R-ELAN block (N/S/M form, no layer-scaled residual): a 1x1 Conv to half the output
    width, ``n`` chained stages (two ABlocks each with ``a2``, otherwise a C3k block of two 3x3
    bottlenecks), the first Conv's output and every stage's concatenated, a 1x1 Conv."""

    def __init__(self, c1: int, c2: int, n: int = 1, a2: bool = True, area: int = 1, mlp_ratio: float = 2.0):
        super().__init__()
        c_ = c2 // 2
        self.cv1 = Conv(c1, c_, 1)
        self.cv2 = Conv((1 + n) * c_, c2, 1)
        self.m = nn.ModuleList(
            nn.Sequential(*(ABlock(c_, c_ // 32, mlp_ratio, area) for _ in range(2))) if a2
            else C3(c_, c_, 2, True, e=0.5, k=(3, 3)) for _ in range(n))

    def forward(self, x):
        y = [self.cv1(x)]
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


def yolov12(scale: str = "n") -> nn.Module:
    """``ultralytics/cfg/models/v12/yolov12.yaml`` of sunsmarterjie/yolov12 release v1.0 (the first
    release, before the "turbo" configuration) at the N or S scale."""
    depth, width, cap = {"n": (0.50, 0.25, 1024), "s": (0.50, 0.50, 1024)}[scale]
    sc = Scale(depth, width, cap)
    conv = sc.conv

    def c3k2(c2, n, c3k, e=0.5):
        return sc.block(c2, lambda c1, c: C2f(c1, c, sc.n(n), True, e, "c3k" if c3k else "c3k2"))

    def a2c2f(c2, n, a2, area):
        return sc.block(c2, lambda c1, c: A2C2f(c1, c, sc.n(n), a2, area))

    spec = [(-1, conv(64, 3, 2)), (-1, conv(128, 3, 2)), (-1, c3k2(256, 2, False, 0.25)),
            (-1, conv(256, 3, 2)), (-1, c3k2(512, 2, False, 0.25)),
            (-1, conv(512, 3, 2)), (-1, a2c2f(512, 4, True, 4)),
            (-1, conv(1024, 3, 2)), (-1, a2c2f(1024, 4, True, 1)),
            (-1, upsample_row), ([-1, 6], cat_row), (-1, a2c2f(512, 2, False, -1)),
            (-1, upsample_row), ([-1, 4], cat_row), (-1, a2c2f(256, 2, False, -1)),
            (-1, conv(256, 3, 2)), ([-1, 11], cat_row), (-1, a2c2f(512, 2, False, -1)),
            (-1, conv(512, 3, 2)), ([-1, 8], cat_row), (-1, c3k2(1024, 2, True)),
            ([14, 17, 20], lambda cs: (DetectV8(cs, lite_cls=True), 0))]
    return LayerGraph(spec).eval()


def yolov12n() -> nn.Module:
    return yolov12("n")


# -- DAMO-YOLO -------------------------------------------------------------------------------
def _act(name: str) -> nn.Module:
    return nn.ReLU() if name == "relu" else nn.SiLU()


class _ConvBN(nn.Module):
    """A bias-free convolution with 'same' padding and BatchNorm, then ``act`` (or none)."""

    def __init__(self, c1: int, c2: int, k: int, s: int = 1, act: str | None = "relu"):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, (k - 1) // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2)
        self.act = _act(act) if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class _RepConv3(nn.Module):
    """DAMO-YOLO's RepConv deployed: its 3x3 and 1x1 conv-BN branches fused into one 3x3
    convolution with bias, then ``act`` (or none)."""

    def __init__(self, c1: int, c2: int, s: int = 1, act: str | None = "relu"):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, 3, s, 1, bias=True)
        self.act = _act(act) if act else nn.Identity()

    def forward(self, x):
        return self.act(self.conv(x))


class DamoFocus(nn.Module):
    """Space-to-depth (the four 2x2 pixel phases as channels), then a 3x3 Conv (stride 1)."""

    def __init__(self, c1: int, c2: int, act: str):
        super().__init__()
        self.conv = _ConvBN(4 * c1, c2, 3, 1, act)

    def forward(self, x):
        return self.conv(torch.cat((x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]), 1))


class DamoSPP(nn.Module):
    """SPP bottleneck: a 1x1 Conv halving, 5/9/13 max pools concatenated with it, a 1x1 Conv (SiLU)."""

    def __init__(self, c: int):
        super().__init__()
        self.conv1 = _ConvBN(c, c // 2, 1, act="silu")
        self.pools = nn.ModuleList(nn.MaxPool2d(k, 1, k // 2) for k in (5, 9, 13))
        self.conv2 = _ConvBN(4 * (c // 2), c, 1, act="silu")

    def forward(self, x):
        x = self.conv1(x)
        return self.conv2(torch.cat([x] + [p(x) for p in self.pools], 1))


class ResConvBlock(nn.Module):
    """TinyNAS's residual block: a conv-BN to ``btn`` (1x1 for 'k1kx', kxk for 'kxkx'), the
    activation, a deployed RepConv to ``c2`` (stride ``s``), plus the input (through a 1x1 conv-BN
    when the width changes) unless it downsamples, then the activation."""

    def __init__(self, c1: int, c2: int, btn: int, s: int, kxkx: bool, act: str):
        super().__init__()
        self.conv1 = _ConvBN(c1, btn, 3 if kxkx else 1, 1, act)
        self.conv2 = _RepConv3(btn, c2, s, act=None)
        self.down = s == 2
        self.proj = _ConvBN(c1, c2, 1, 1, act=None) if c1 != c2 and not self.down else None
        self.act = _act(act)

    def forward(self, x):
        y = self.conv2(self.conv1(x))
        if not self.down:
            y = y + (self.proj(x) if self.proj is not None else x)
        return self.act(y)


#: TinyNAS backbones (``damo/base_models/backbones/nas_backbones/*.txt``): stem width, then per
#: stage (in, out, bottleneck, stride, blocks); all 3x3 kernels
TINYNAS = {
    "L20_k1kx": (24, [(24, 64, 24, 2, 2), (64, 96, 64, 2, 2), (96, 192, 96, 2, 2), (192, 192, 152, 1, 2),
                      (192, 384, 192, 2, 1)]),
    "L25_k1kx": (32, [(32, 128, 24, 2, 1), (128, 128, 88, 2, 5), (128, 256, 128, 2, 3), (256, 256, 120, 1, 2),
                      (256, 512, 144, 2, 1)]),
}


class TinyNASRes(nn.Module):
    """DAMO-YOLO's TinyNAS_res backbone: Focus stem, stages of ResConvBlocks, an SPP bottleneck
    after the first block of the last stage; outputs of stages 2, 4 and 5 (strides 8, 16, 32)."""

    def __init__(self, structure: str, act: str = "relu"):
        super().__init__()
        stem, stages = TINYNAS[structure]
        self.stem = DamoFocus(3, stem, act)
        blocks = []
        for i, (c1, c2, btn, s, n) in enumerate(stages):
            mods = [ResConvBlock(c1 if j == 0 else c2, c2, btn, s if j == 0 else 1, False, act) for j in range(n)]
            if i == len(stages) - 1:
                mods.insert(1, DamoSPP(c2))
            blocks.append(nn.Sequential(*mods))
        self.stages = nn.ModuleList(blocks)

    def forward(self, x):
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in (1, 3, 4):
                outs.append(x)
        return outs


class _Reverse3x3(nn.Module):
    """BasicBlock_3x3_Reverse: a deployed RepConv to ``hidden``, a 3x3 Conv back, plus the input."""

    def __init__(self, c: int, hidden: int, act: str):
        super().__init__()
        self.conv2 = _RepConv3(c, hidden, 1, act)
        self.conv1 = _ConvBN(hidden, c, 3, 1, act)

    def forward(self, x):
        return x + self.conv1(self.conv2(x))


class CSPStage(nn.Module):
    """GiraffeNeckV2's CSP stage: two 1x1 Conv halves; ``n`` chained reverse 3x3 blocks on the
    second; the first half and every block's output concatenated, a 1x1 Conv to ``c2``."""

    def __init__(self, c1: int, c2: int, n: int, hidden_ratio: float, act: str):
        super().__init__()
        first = c2 // 2
        mid = c2 - first
        self.conv1 = _ConvBN(c1, first, 1, 1, act)
        self.conv2 = _ConvBN(c1, mid, 1, 1, act)
        self.convs = nn.ModuleList(_Reverse3x3(mid, int(mid * hidden_ratio), act) for _ in range(n))
        self.conv3 = _ConvBN(mid * n + first, c2, 1, 1, act)

    def forward(self, x):
        y = [self.conv1(x)]
        z = self.conv2(x)
        for m in self.convs:
            z = m(z)
            y.append(z)
        return self.conv3(torch.cat(y, 1))


class GiraffeNeckV2(nn.Module):
    """DAMO-YOLO's efficient RepGFPN: inputs ``[x2, x1, x0]`` (strides 8, 16, 32, widths ``ci``),
    outputs (strides 8, 16, 32, widths ``co``), CSP stages at every node, 3x3/2 Conv downsampling
    and nearest ×2 upsampling, concatenations as in the reference neck."""

    def __init__(self, ci: list[int], co: list[int], depth: float, hidden_ratio: float, act: str):
        super().__init__()
        n = round(3 * depth)

        def stage(c1, c2):
            return CSPStage(c1, c2, n, hidden_ratio, act)

        self.up = nn.Upsample(scale_factor=2.0, mode="nearest")
        self.bu_conv13 = _ConvBN(ci[1], ci[1], 3, 2, act)
        self.merge_3 = stage(ci[1] + ci[2], ci[2])
        self.bu_conv24 = _ConvBN(ci[0], ci[0], 3, 2, act)
        self.merge_4 = stage(ci[0] + ci[1] + ci[2], ci[1])
        self.merge_5 = stage(ci[1] + ci[0], co[0])
        self.bu_conv57 = _ConvBN(co[0], co[0], 3, 2, act)
        self.merge_7 = stage(co[0] + ci[1], co[1])
        self.bu_conv46 = _ConvBN(ci[1], ci[1], 3, 2, act)
        self.bu_conv76 = _ConvBN(co[1], co[1], 3, 2, act)
        self.merge_6 = stage(ci[1] + co[1] + ci[2], co[2])

    def forward(self, xs):
        x2, x1, x0 = xs
        x3 = self.merge_3(torch.cat((x0, self.bu_conv13(x1)), 1))
        x4 = self.merge_4(torch.cat((x1, self.bu_conv24(x2), self.up(x3)), 1))
        x5 = self.merge_5(torch.cat((x2, self.up(x4)), 1))
        x7 = self.merge_7(torch.cat((x4, self.bu_conv57(x5)), 1))
        x6 = self.merge_6(torch.cat((x3, self.bu_conv46(x4), self.bu_conv76(x7)), 1))
        return [x5, x7, x6]


class ZeroHead(nn.Module):
    """DAMO-YOLO's ZeroHead without stacked convolutions: per level a 3x3 convolution with bias to 4 ×
    (reg_max + 1) box bins, scaled by a learned scalar, and one to 81 class scores (80 + 1, kept for
    compatibility), sigmoid. Returns per level ``cat(box bins, scores)``."""

    def __init__(self, chs: list[int], reg_max: int = 16):
        super().__init__()
        self.gfl_reg = nn.ModuleList(nn.Conv2d(c, 4 * (reg_max + 1), 3, 1, 1) for c in chs)
        self.gfl_cls = nn.ModuleList(nn.Conv2d(c, NUM_CLASSES + 1, 3, 1, 1) for c in chs)
        self.scales = nn.ParameterList(nn.Parameter(torch.ones(1)) for _ in chs)

    def forward(self, xs):
        return [torch.cat((r(x) * s, torch.sigmoid(c(x))), 1)
                for r, c, s, x in zip(self.gfl_reg, self.gfl_cls, self.scales, xs)]


class DamoYOLO(nn.Module):
    def __init__(self, backbone: nn.Module, neck: nn.Module, chs: list[int]):
        super().__init__()
        self.backbone, self.neck, self.head = backbone, neck, ZeroHead(chs)

    def forward(self, x):
        return self.head(self.neck(self.backbone(x)))


def damoyolo_tinynasl20_t() -> nn.Module:
    """DAMO-YOLO-T (``configs/damoyolo_tinynasL20_T.py``)."""
    return DamoYOLO(TinyNASRes("L20_k1kx"), GiraffeNeckV2([96, 192, 384], [64, 128, 256], 1.0, 1.0, "relu"),
                    [64, 128, 256]).eval()


def damoyolo_tinynasl25_s() -> nn.Module:
    """DAMO-YOLO-S (``configs/damoyolo_tinynasL25_S.py``)."""
    return DamoYOLO(TinyNASRes("L25_k1kx"), GiraffeNeckV2([128, 256, 512], [128, 256, 512], 1.0, 0.75, "relu"),
                    [128, 256, 512]).eval()


class CSPWrapper(nn.Module):
    """A TinyNAS_csp stage: a 3x3/2 conv-BN-ReLU to ``c_down`` (an SPP bottleneck after it in the last
    stage), then a CSP split: a 1x1 conv-BN-ReLU to ``c_down / 2`` through the residual blocks beside a
    1x1 conv-BN-ReLU shortcut to ``c_out / 2``, concatenated and fused by a 1x1 conv-BN-ReLU."""

    def __init__(self, c1: int, c_down: int, c_out: int, btn: int, n: int, act: str, spp: bool = False):
        super().__init__()
        hidden = c_down // 2
        self.downsampler = _ConvBN(c1, c_down, 3, 2, "relu")
        self.spp = DamoSPP(c_down) if spp else nn.Identity()
        self.conv_start = _ConvBN(c_down, hidden, 1, 1, "relu")
        self.conv_shortcut = _ConvBN(c_down, c_out // 2, 1, 1, "relu")
        self.blocks = nn.Sequential(*(ResConvBlock(hidden, c_out // 2, btn, 1, True, act) for _ in range(n)))
        self.conv_fuse = _ConvBN(c_out, c_out, 1, 1, "relu")

    def forward(self, x):
        x = self.spp(self.downsampler(x))
        return self.conv_fuse(torch.cat((self.blocks(self.conv_start(x)), self.conv_shortcut(x)), 1))


class TinyNASCSP(nn.Module):
    """DAMO-YOLO's TinyNAS_csp backbone for ``tinynas_L35_kxkx``: Focus stem (32), four CSP stages
    of kxk residual blocks (128 / 64 bottleneck / 1 block, 128 / 64 / 3, 256 / 256 / 7, 512 / 256 / 2,
    the last with SPP); outputs of the last three (strides 8, 16, 32)."""

    def __init__(self, act: str = "silu"):
        super().__init__()
        self.stem = DamoFocus(3, 32, act)
        self.stages = nn.ModuleList([CSPWrapper(32, 128, 128, 64, 1, act), CSPWrapper(128, 128, 128, 64, 3, act),
                                     CSPWrapper(128, 256, 256, 256, 7, act),
                                     CSPWrapper(256, 512, 512, 256, 2, act, spp=True)])

    def forward(self, x):
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i >= 1:
                outs.append(x)
        return outs


def damoyolo_tinynasl35_m() -> nn.Module:
    """DAMO-YOLO-M (``configs/damoyolo_tinynasL35_M.py``)."""
    return DamoYOLO(TinyNASCSP(), GiraffeNeckV2([128, 256, 512], [128, 256, 512], 1.5, 1.0, "silu"),
                    [128, 256, 512]).eval()


# -- YOLO-World v2-S -------------------------------------------------------------------------
class MaxSigmoidAttn(nn.Module):
    """YOLO-World's max-sigmoid text-guided attention: the text embeddings through a linear layer to
    ``embed`` channels in ``heads`` heads; per pixel and head the largest dot product of the image
    features (through a 1x1 Conv when ``embed`` differs from ``c``) with any class's embedding,
    scaled, plus a per-head bias, sigmoid; that weight multiplies a 3x3 Conv (BatchNorm, no
    activation) of the input, head by head."""

    def __init__(self, c: int, embed: int, heads: int, guide: int = 512):
        super().__init__()
        self.heads, self.head_c = heads, embed // heads
        self.embed_conv = Conv(c, embed, 1, act=False) if embed != c else None
        self.guide_fc = nn.Linear(guide, embed)
        self.bias = nn.Parameter(torch.zeros(heads))
        self.project_conv = Conv(c, c, 3, act=False)

    def forward(self, x, text):
        b, _, h, w = x.shape
        n = text.shape[1]
        g = self.guide_fc(text).reshape(b, n, self.heads, self.head_c).permute(0, 2, 3, 1)  # [b, m, c, n]
        e = self.embed_conv(x) if self.embed_conv is not None else x
        e = e.reshape(b, self.heads, self.head_c, h * w).transpose(-1, -2)                 # [b, m, hw, c]
        attn = torch.amax(e @ g, dim=-1).reshape(b, self.heads, h, w)
        attn = torch.sigmoid(attn / self.head_c ** 0.5 + self.bias.view(1, -1, 1, 1))
        y = self.project_conv(x).reshape(b, self.heads, -1, h, w) * attn.unsqueeze(2)
        return y.reshape(b, -1, h, w)


class MaxSigmoidC2f(nn.Module):
    """YOLO-World's MaxSigmoidCSPLayerWithTwoConv: YOLOv8's C2f (no shortcuts) whose last piece also
    goes through the max-sigmoid attention, concatenated as one more piece before the 1x1 Conv."""

    def __init__(self, c1: int, c2: int, n: int, embed: int, heads: int):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, self.c, False, (3, 3), e=1.0) for _ in range(n))
        self.attn = MaxSigmoidAttn(self.c, embed, heads)
        self.cv2 = Conv((3 + n) * self.c, c2, 1)

    def forward(self, x, text):
        y = list(self.cv1(x).chunk(2, 1))
        for m in self.m:
            y.append(m(y[-1]))
        y.append(self.attn(y[-1], text))
        return self.cv2(torch.cat(y, 1))


class BNContrastiveHead(nn.Module):
    """YOLO-World v2's class scores: BatchNorm of the 512-channel image embeddings, dot products with
    the L2-normalised text embeddings, times exp(logit scale), plus a bias."""

    def __init__(self, dim: int = 512):
        super().__init__()
        self.norm = nn.BatchNorm2d(dim, eps=1e-3)
        self.bias = nn.Parameter(torch.zeros(()))
        self.logit_scale = nn.Parameter(-torch.ones(()))

    def forward(self, x, text):
        b, c, h, w = x.shape
        x = self.norm(x).flatten(2).transpose(1, 2)                                  # [b, hw, c]
        t = nn.functional.normalize(text, dim=-1).transpose(1, 2)                    # [b, c, n]
        y = (x @ t).transpose(1, 2).reshape(b, -1, h, w)
        return y * self.logit_scale.exp() + self.bias


class YOLOWorldV2(nn.Module):
    """YOLO-World v2 (``vlpan_bn``) at YOLOv8-S's scale, the text embeddings of 80 classes held as a
    constant input: YOLOv8-S backbone, YOLOv8 PAN neck of max-sigmoid C2f blocks, YOLOv8's head with
    the class branch ending in 512-channel embeddings and the contrastive head."""

    def __init__(self, classes: int = 80, text_dim: int = 512, reg_max: int = 16):
        super().__init__()
        self.register_buffer("text", torch.zeros(1, classes, text_dim))
        full = yolov8("s")
        self.backbone = nn.ModuleList(full.layers[:10])   # rows 0-9: P3 (4), P4 (6), SPPF (9)
        self.up = nn.Upsample(scale_factor=2.0, mode="nearest")
        self.td1 = MaxSigmoidC2f(512 + 256, 256, 1, 128, 4)
        self.td2 = MaxSigmoidC2f(256 + 128, 128, 1, 64, 2)
        self.down1 = Conv(128, 128, 3, 2)
        self.bu1 = MaxSigmoidC2f(128 + 256, 256, 1, 128, 4)
        self.down2 = Conv(256, 256, 3, 2)
        self.bu2 = MaxSigmoidC2f(256 + 512, 512, 1, 256, 8)
        chs, c_reg, c_cls = [128, 256, 512], 64, 128
        self.reg_preds = nn.ModuleList(nn.Sequential(Conv(c, c_reg, 3), Conv(c_reg, c_reg, 3),
                                                     nn.Conv2d(c_reg, 4 * reg_max, 1)) for c in chs)
        self.cls_preds = nn.ModuleList(nn.Sequential(Conv(c, c_cls, 3), Conv(c_cls, c_cls, 3),
                                                     nn.Conv2d(c_cls, text_dim, 1)) for c in chs)
        self.cls_contrasts = nn.ModuleList(BNContrastiveHead(text_dim) for _ in chs)

    def forward(self, x):
        text = self.text.expand(x.shape[0], -1, -1)
        feats = []
        for i, layer in enumerate(self.backbone):
            x = layer(x)
            if i in (4, 6, 9):
                feats.append(x)
        p3, p4, p5 = feats
        t4 = self.td1(torch.cat((self.up(p5), p4), 1), text)
        o3 = self.td2(torch.cat((self.up(t4), p3), 1), text)
        o4 = self.bu1(torch.cat((self.down1(o3), t4), 1), text)
        o5 = self.bu2(torch.cat((self.down2(o4), p5), 1), text)
        return [torch.cat((r(f), c(p(f), text)), 1)
                for f, r, p, c in zip((o3, o4, o5), self.reg_preds, self.cls_preds, self.cls_contrasts)]


def yolo_world_v2s() -> nn.Module:
    """Hailo's yolo_world_v2s: YOLO-World v2-S with 80 class embeddings (640x640)."""
    return YOLOWorldV2().eval()
