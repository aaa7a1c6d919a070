"""The CLIP, TinyCLIP and SigLIP image encoders written in
chipfit/frontends/pytorch/nets/hailo_clip.py, counted against the figures the Hailo Model Zoo
publishes and against hand counts of the transformer.

Sources:
  * https://github.com/hailo-ai/hailo_model_zoo commit c83fc030,
    ``docs/public_models/HAILO10H/HAILO10H_zero_shot_classification.rst`` and
    ``hailo_model_zoo/cfg/networks/<id>.yaml`` (``info.parameters`` / ``info.operations``):
    "Params (M)" and "OPS (G)" per network, OPS about two per multiply-accumulate.
  * Tower dimensions: openai/CLIP ``clip/model.py``; wkcn/TinyCLIP
    ``src/open_clip/model_configs/TinyCLIP-ViT-*.json``; the google/siglip* configs.

Hailo's parameter figures leave out the positional table and class token (constant inputs of the
compiled graph): chipfit's count less those must round to the printed digits. TinyCLIP's figures
are the whole millions in the model names, compared to the full count; ViT-L/14's 304.16M (printed
for both the 224 px and the 336 px tower) is held within 0.25 %. OPS are held within 1 % of twice
chipfit's MACs, except ViT-L/14@336px whose published OPS are the 224 px model's.
"""

import pytest

torch = pytest.importorskip("torch", reason="needs torch")

from chipfit.data import zoo  # noqa: E402

#: Hailo id -> (input side, Hailo Params (M) as printed, Hailo OPS (G))
HAILO = {
    "clip_vit_b_32_image_encoder": (224, "87.8", 8.8),
    "clip_vit_b_16_image_encoder": (224, "86", 35.1),
    "clip_vit_l_14_laion2B_image_encoder": (224, "304.16", 162.36),
    "clip_vit_l_14_336_image_encoder": (336, "304.16", 162.36),
    "tinyclip_vit_8m_16_text_3m_yfcc15m_image_encoder": (224, "8", 3.6),
    "tinyclip_vit_39m_16_text_19m_yfcc15m_image_encoder": (224, "39", 16.02),
    "tinyclip_vit_40m_32_text_19m_laion400m_image_encoder": (224, "40", 4.0),
    "tinyclip_vit_61m_32_text_29m_laion400m_image_encoder": (224, "61", 6.18),
    "siglip_b_16_image_encoder": (224, "92.1", 35.5),
    "siglip2_b_32_256_image_encoder": (256, "93.9", 11.5),
    "siglip_l_16_256_image_encoder": (256, "315", 163.1),
}

#: Hailo id -> (kind, patch, width, layers, embedding width) from the upstream configs
DIMS = {
    "clip_vit_b_32_image_encoder": ("clip", 32, 768, 12, 512),
    "clip_vit_b_16_image_encoder": ("clip", 16, 768, 12, 512),
    "clip_vit_l_14_laion2B_image_encoder": ("clip", 14, 1024, 24, 768),
    "clip_vit_l_14_336_image_encoder": ("clip", 14, 1024, 24, 768),
    "tinyclip_vit_8m_16_text_3m_yfcc15m_image_encoder": ("clip", 16, 256, 10, 512),
    "tinyclip_vit_39m_16_text_19m_yfcc15m_image_encoder": ("clip", 16, 512, 12, 512),
    "tinyclip_vit_40m_32_text_19m_laion400m_image_encoder": ("clip", 32, 512, 12, 512),
    "tinyclip_vit_61m_32_text_29m_laion400m_image_encoder": ("clip", 32, 640, 12, 512),
    "siglip_b_16_image_encoder": ("siglip", 16, 768, 12, 768),
    "siglip2_b_32_256_image_encoder": ("siglip", 32, 768, 12, 768),
    "siglip_l_16_256_image_encoder": ("siglip", 16, 1024, 24, 1024),
}

#: OPS checked against the hand count only (Hailo repeats ViT-L/14's 224 px figure at 336 px)
OPS_NOT_FOR_THIS_INPUT = {"clip_vit_l_14_336_image_encoder"}


def hand_count(name: str) -> tuple[int, int]:
    """(parameters, MACs) of a pre-LN ViT tower written out: per block 4 W^2 attention and 8 W^2
    MLP weights (+ 9 W biases, 4 W LayerNorm), and per token 12 W^2 MACs plus 2 N W for the
    attention scores and weighted sum."""
    kind, p, w, layers, embed = DIMS[name]
    side = HAILO[name][0]
    patches = (side // p) ** 2
    block_params = 12 * w * w + 13 * w
    if kind == "clip":
        n = patches + 1  # class token
        params = (3 * p * p * w            # bias-free patch conv
                  + w + n * w + 2 * w      # class token, positions, ln_pre
                  + layers * block_params
                  + 2 * w + w * embed)     # ln_post, bias-free projection
        macs = (patches * 3 * p * p * w
                + layers * (n * 12 * w * w + 2 * n * n * w)
                + w * embed)
    else:
        n = patches  # no class token
        head_params = (w                     # the constant query
                       + 3 * (w * w + w)     # k, v, out linears
                       + 2 * w               # LayerNorm
                       + 8 * w * w + 5 * w)  # MLP
        params = (3 * p * p * w + w + n * w + layers * block_params + 2 * w + head_params)
        macs = (patches * 3 * p * p * w
                + layers * (n * 12 * w * w + 2 * n * n * w)
                + 2 * n * w * w + 2 * n * w  # k/v of the tokens, one query's attention
                + 9 * w * w)                 # output linear and MLP on one token
    return params, macs


@pytest.mark.parametrize("hailo_id", sorted(HAILO))
def test_zoo_entry(hailo_id):
    entry = zoo.find(hailo_id)
    assert entry is not None, hailo_id
    assert entry.builder.startswith("chipfit.frontends.pytorch.nets.hailo_clip:")
    side = HAILO[hailo_id][0]
    assert entry.input_shape == [1, 3, side, side]


@pytest.mark.parametrize("hailo_id", sorted(HAILO))
def test_counts_match_the_hand_formula(hailo_id, counts):
    r = counts(hailo_id)
    params, macs = hand_count(hailo_id)
    assert r.params == params
    # chipfit also counts LayerNorm, softmax and activations, a small share of the work
    assert macs <= r.macs <= 1.01 * macs, (r.macs, macs)
    assert tuple(r.graph.ops[-1].output_shapes[0])[-1] == DIMS[hailo_id][4]


def constant_tables(name: str) -> int:
    """The positional table (and CLIP's class token): the compiled graph feeds them in as
    constant inputs (``const_input`` layers in Hailo's scripts) rather than as layer weights."""
    kind, p, w, _, _ = DIMS[name]
    patches = (HAILO[name][0] // p) ** 2
    return (patches + 1) * w + w if kind == "clip" else patches * w


@pytest.mark.parametrize("hailo_id", sorted(HAILO))
def test_parameters_match_hailo(hailo_id, counts):
    printed = HAILO[hailo_id][1]
    params = counts(hailo_id).params
    if hailo_id.startswith("tinyclip"):
        # whole millions: the image tower's size in the model's name
        assert f"{params / 1e6:.0f}" == printed, params
        return
    ours = (params - constant_tables(hailo_id)) / 1e6
    digits = len(printed.split(".")[1]) if "." in printed else 0
    if hailo_id.startswith("clip_vit_l_14"):
        # one figure, 304.16M, for the 224 px and the 336 px tower (same weights)
        assert abs(ours - float(printed)) <= 0.0025 * float(printed), ours
    else:
        assert f"{ours:.{digits}f}" == printed, ours


@pytest.mark.parametrize("hailo_id", sorted(set(HAILO) - OPS_NOT_FOR_THIS_INPUT))
def test_ops_match_hailo(hailo_id, counts):
    ops = HAILO[hailo_id][2]
    ours = 2 * counts(hailo_id).macs / 1e9
    assert abs(ours - ops) <= 0.01 * ops, ours


def test_vit_l_14_at_336_px_does_the_work_of_577_tokens(counts):
    """Hailo prints ViT-L/14's 224 px OPS for the 336 px model too: the 336 px tower has the
    same weights (but 320 more positions) and 577 / 257 = 2.25 times the tokens."""
    big = counts("clip_vit_l_14_336_image_encoder")
    small = counts("clip_vit_l_14_laion2B_image_encoder")
    assert big.params - small.params == (577 - 257) * 1024
    assert 2.25 < big.macs / small.macs < 2.45
