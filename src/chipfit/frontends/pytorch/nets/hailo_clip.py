"""CLIP, TinyCLIP and SigLIP image encoders as the Hailo Model Zoo compiles them, for the zoo. The
Hailo Model Zoo is https://github.com/hailo-ai/hailo_model_zoo (commit c83fc030); each network's
``hailo_model_zoo/cfg/networks/<id>.yaml`` names its source and gives ``info.parameters`` and
``info.operations`` (operations: about two per multiply-accumulate), also listed in
``docs/public_models/HAILO10H/HAILO10H_zero_shot_classification.rst``. Every one is a Vision
Transformer image tower ending in one embedding vector (Hailo's output 1x1xD); the text towers are
separate networks.

CLIP image towers (``ClipVisionTower``)
    Radford et al. 2021, "Learning Transferable Visual Models From Natural Language Supervision",
    arXiv:2103.00020, and https://github.com/openai/CLIP ``clip/model.py``
    (``VisionTransformer``): a bias-free P x P stride-P patch conv to width W, a class token and
    learned positional embeddings, a LayerNorm (``ln_pre``), L pre-LN residual blocks (LayerNorm,
    multi-head self-attention with one packed q/k/v linear and an output linear, residual;
    LayerNorm, MLP W-4W-W, residual), a LayerNorm on the class token (``ln_post``) and a bias-free
    linear projection to the embedding width. Hailo's compiled graph ends with the class-token
    slice and the projection (its ``.alls`` name ``slice1`` and the last conv).

    * ``clip_vit_b_32_image_encoder``: ViT-B/32 (W 768, L 12, 12 heads, 512-d), 224 px, QuickGELU.
      Hailo: 87.8M / 8.8G OPS.
    * ``clip_vit_b_16_image_encoder``: ViT-B/16 (768, 12, 12 heads, 512-d), 224 px, QuickGELU.
      Hailo: 86M / 35.1G OPS.
    * ``clip_vit_l_14_336_image_encoder``: OpenAI's ViT-L/14@336px (W 1024, L 24, 16 heads,
      768-d, https://huggingface.co/openai/clip-vit-large-patch14-336), 336 px (577 tokens),
      QuickGELU. Hailo: 304.16M / 162.36G OPS; the OPS figure is the 224 px ViT-L/14's (below)
      repeated: at 336 px the tower does 2.36 times that work (and Hailo's own table gives it
      2.3 times lower throughput), so it is checked against the hand count instead.
    * ``clip_vit_l_14_laion2B_image_encoder``: OpenCLIP's ViT-L-14 trained on LAION-2B
      (https://huggingface.co/laion/CLIP-ViT-L-14-laion2B-s32B-b82K, the ONNX "with projection"):
      the same tower at 224 px (257 tokens) with exact GELU. Hailo: 304.16M / 162.36G OPS.

TinyCLIP image towers
    Wu et al. 2023, "TinyCLIP: CLIP Distillation via Affinity Mimicking and Weight Inheritance",
    arXiv:2309.12314, and https://github.com/wkcn/TinyCLIP
    ``src/open_clip/model_configs/TinyCLIP-ViT-*.json``: OpenCLIP towers of the CLIP layout above
    (64-wide heads, exact GELU, 512-d projection):

    * ``tinyclip_vit_8m_16_text_3m_yfcc15m_image_encoder``: W 256, L 10, patch 16. Hailo: 8M / 3.6G.
    * ``tinyclip_vit_39m_16_text_19m_yfcc15m_image_encoder``: W 512, L 12, patch 16. Hailo: 39M /
      16.02G.
    * ``tinyclip_vit_40m_32_text_19m_laion400m_image_encoder``: W 512, L 12, patch 32. Hailo: 40M /
      4G.
    * ``tinyclip_vit_61m_32_text_29m_laion400m_image_encoder``: W 640, L 12, patch 32. Hailo: 61M /
      6.18G.

SigLIP image towers (``SiglipVisionTower``)
    Zhai et al. 2023, "Sigmoid Loss for Language Image Pre-Training", arXiv:2303.15343; Tschannen
    et al. 2025, "SigLIP 2", arXiv:2502.14786; as Hugging Face transformers builds them
    (``models/siglip/modeling_siglip.py``: ``SiglipVisionEmbeddings``, ``SiglipEncoderLayer``,
    ``SiglipMultiheadAttentionPoolingHead``) from the configs of
    https://huggingface.co/google/siglip-base-patch16-224, ``google/siglip2-base-patch32-256`` and
    ``google/siglip-large-patch16-256``: a P x P stride-P patch conv with bias, learned positional
    embeddings and no class token, L pre-LN blocks (separate q, k, v, output linears; MLP W-4W-W
    with tanh-approximated GELU), a final LayerNorm, then the multi-head attention-pooling (MAP)
    head: one learned probe token attends over all tokens (k/v linears, output linear), then
    LayerNorm and an MLP W-4W-W with a residual. Hailo compiles the head (its output is the pooled
    1x1xW vector). The probe's query, ``q_proj(probe)``, does not depend on the image, so the
    compiled graph holds it as one constant vector: built here that way, one W-wide query instead
    of the probe and a W x W query linear (Hailo's parameter counts are W^2 below the full head's).

    * ``siglip_b_16_image_encoder``: B/16 (W 768, L 12, 12 heads), 224 px (196 tokens). Hailo:
      92.1M / 35.5G OPS.
    * ``siglip2_b_32_256_image_encoder``: SigLIP 2 B/32 (768, 12, 12 heads), 256 px (64 tokens).
      Hailo: 93.9M / 11.5G OPS.
    * ``siglip_l_16_256_image_encoder``: L/16 (1024, 24, 16 heads), 256 px (256 tokens). Hailo:
      315M / 163.1G OPS.

Hailo's parameter figures leave out the positional table and CLIP's class token, which its
compiled graphs feed in as constant inputs: chipfit's counts, which include them, are that much
higher (0.04M to 0.6M). TinyCLIP's figures are the whole millions of the model names.

LayerNorms are kept as LayerNorm modules; attention runs through
``torch.nn.functional.scaled_dot_product_attention``. No input normalisation is built in (Hailo
puts it on the chip as a per-channel affine). The code is chipfit's own; only the architecture
facts come from the sources above.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class QuickGELU(nn.Module):
    """OpenAI CLIP's GELU approximation, x * sigmoid(1.702 x)."""

    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, N, C) -> (B, heads, N, C / heads)."""
    b, n, d = x.shape
    return x.view(b, n, heads, d // heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, heads, N, d) -> (B, N, heads * d)."""
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)


class SelfAttention(nn.Module):
    """Multi-head self-attention: q/k/v linears (one packed linear, or three), scaled dot-product
    attention, an output linear; all with bias."""

    def __init__(self, dim: int, heads: int, packed: bool = True):
        super().__init__()
        self.heads, self.packed = heads, packed
        if packed:
            self.qkv = nn.Linear(dim, 3 * dim)
        else:
            self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x):
        if self.packed:
            q, k, v = self.qkv(x).chunk(3, dim=-1)
        else:
            q, k, v = self.q(x), self.k(x), self.v(x)
        q, k, v = (split_heads(t, self.heads) for t in (q, k, v))
        return self.out(merge_heads(F.scaled_dot_product_attention(q, k, v)))


def mlp(dim: int, hidden: int, act: nn.Module) -> nn.Sequential:
    return nn.Sequential(nn.Linear(dim, hidden), act, nn.Linear(hidden, dim))


class Block(nn.Module):
    """A pre-LN transformer block: x + attn(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, dim: int, heads: int, act: nn.Module, packed: bool, eps: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = SelfAttention(dim, heads, packed)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = mlp(dim, 4 * dim, act)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def _act(name: str) -> nn.Module:
    return {"quick_gelu": QuickGELU(), "gelu": nn.GELU(),
            "gelu_tanh": nn.GELU(approximate="tanh")}[name]


class ClipVisionTower(nn.Module):
    """CLIP's ViT image tower: bias-free patch conv, class token, positional embeddings, ln_pre,
    ``layers`` pre-LN blocks, ln_post on the class token, bias-free projection to ``embed``."""

    def __init__(self, image_size: int, patch: int, width: int, layers: int, embed: int,
                 act: str = "gelu", head_width: int = 64):
        super().__init__()
        tokens = (image_size // patch) ** 2 + 1
        self.conv = nn.Conv2d(3, width, patch, patch, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(1, 1, width))
        self.positional_embedding = nn.Parameter(torch.zeros(1, tokens, width))
        self.ln_pre = nn.LayerNorm(width)
        self.blocks = nn.Sequential(*(Block(width, width // head_width, _act(act), True, 1e-5)
                                      for _ in range(layers)))
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Linear(width, embed, bias=False)

    def forward(self, x):
        x = self.conv(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_embedding.expand(x.shape[0], -1, -1), x], dim=1)
        x = self.blocks(self.ln_pre(x + self.positional_embedding))
        return self.proj(self.ln_post(x[:, 0]))


class AttentionPoolingHead(nn.Module):
    """SigLIP's MAP head in its compiled form: a constant query (the probe already through the
    query linear) attends over the tokens (k/v linears, output linear); then x + MLP(LN(x))."""

    def __init__(self, dim: int, heads: int, eps: float):
        super().__init__()
        self.heads = heads
        self.query = nn.Parameter(torch.zeros(1, 1, dim))
        self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.mlp = mlp(dim, 4 * dim, nn.GELU(approximate="tanh"))

    def forward(self, x):
        q = split_heads(self.query.expand(x.shape[0], -1, -1), self.heads)
        k, v = split_heads(self.k(x), self.heads), split_heads(self.v(x), self.heads)
        x = self.out(merge_heads(F.scaled_dot_product_attention(q, k, v)))
        x = x + self.mlp(self.norm(x))
        return x[:, 0]


class SiglipVisionTower(nn.Module):
    """SigLIP's ViT image tower: patch conv with bias, positional embeddings (no class token),
    ``layers`` pre-LN blocks (tanh GELU), a final LayerNorm and the attention-pooling head."""

    def __init__(self, image_size: int, patch: int, width: int, layers: int, heads: int):
        super().__init__()
        eps = 1e-6
        self.conv = nn.Conv2d(3, width, patch, patch)
        self.positional_embedding = nn.Parameter(
            torch.zeros(1, (image_size // patch) ** 2, width))
        self.blocks = nn.Sequential(*(Block(width, heads, _act("gelu_tanh"), False, eps)
                                      for _ in range(layers)))
        self.post_norm = nn.LayerNorm(width, eps=eps)
        self.head = AttentionPoolingHead(width, heads, eps)

    def forward(self, x):
        x = self.conv(x).flatten(2).transpose(1, 2) + self.positional_embedding
        return self.head(self.post_norm(self.blocks(x)))


# ------------------------------------------------------------------------------------ CLIP

def clip_vit_b_32_image_encoder() -> ClipVisionTower:
    """OpenAI CLIP ViT-B/32 image tower (width 768, 12 layers, QuickGELU, 512-d), 224 px."""
    return ClipVisionTower(224, 32, 768, 12, 512, act="quick_gelu")


def clip_vit_b_16_image_encoder() -> ClipVisionTower:
    """OpenAI CLIP ViT-B/16 image tower (width 768, 12 layers, QuickGELU, 512-d), 224 px."""
    return ClipVisionTower(224, 16, 768, 12, 512, act="quick_gelu")


def clip_vit_l_14_336_image_encoder() -> ClipVisionTower:
    """OpenAI CLIP ViT-L/14@336px image tower (width 1024, 24 layers, QuickGELU, 768-d), 336 px."""
    return ClipVisionTower(336, 14, 1024, 24, 768, act="quick_gelu")


def clip_vit_l_14_laion2b_image_encoder() -> ClipVisionTower:
    """OpenCLIP ViT-L-14 (LAION-2B) image tower (width 1024, 24 layers, GELU, 768-d), 224 px."""
    return ClipVisionTower(224, 14, 1024, 24, 768, act="gelu")


# ------------------------------------------------------------------------------------ TinyCLIP

def tinyclip_vit_8m_16_image_encoder() -> ClipVisionTower:
    """TinyCLIP-ViT-8M/16 image tower (width 256, 10 layers, GELU, 512-d), 224 px."""
    return ClipVisionTower(224, 16, 256, 10, 512)


def tinyclip_vit_39m_16_image_encoder() -> ClipVisionTower:
    """TinyCLIP-ViT-39M/16 image tower (width 512, 12 layers, GELU, 512-d), 224 px."""
    return ClipVisionTower(224, 16, 512, 12, 512)


def tinyclip_vit_40m_32_image_encoder() -> ClipVisionTower:
    """TinyCLIP-ViT-40M/32 image tower (width 512, 12 layers, GELU, 512-d), 224 px."""
    return ClipVisionTower(224, 32, 512, 12, 512)


def tinyclip_vit_61m_32_image_encoder() -> ClipVisionTower:
    """TinyCLIP-ViT-61M/32 image tower (width 640, 12 layers, GELU, 512-d), 224 px."""
    return ClipVisionTower(224, 32, 640, 12, 512)


# ------------------------------------------------------------------------------------ SigLIP

def siglip_b_16_image_encoder() -> SiglipVisionTower:
    """SigLIP B/16 image tower (width 768, 12 layers, MAP head), 224 px."""
    return SiglipVisionTower(224, 16, 768, 12, 12)


def siglip2_b_32_256_image_encoder() -> SiglipVisionTower:
    """SigLIP 2 B/32 image tower (width 768, 12 layers, MAP head), 256 px."""
    return SiglipVisionTower(256, 32, 768, 12, 12)


def siglip_l_16_256_image_encoder() -> SiglipVisionTower:
    """SigLIP L/16 image tower (width 1024, 24 layers, MAP head), 256 px."""
    return SiglipVisionTower(256, 16, 1024, 24, 16)
