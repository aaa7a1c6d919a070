"""Diffusion models of the zoo, built by diffusers from their published configs and priced per
denoising step: parameters against the published counts, MACs against hand arithmetic."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import chipfit
from chipfit.core.errors import ChipfitError, MissingDependency
from chipfit.data import zoo

pytest.importorskip("diffusers")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_diffusion_entries_are_in_the_zoo():
    names = {e.name for e in zoo.entries("diffusion")}
    assert names >= {"sd15-text-encoder", "sd15-unet", "sd15-vae-decoder", "sdxl-unet", "sdxl-vae-decoder",
                     "flux1-dev-transformer", "sd3-medium-transformer", "sd35-large-transformer", "sd3-vae-decoder"}
    assert all(e.task == "diffusion" for e in zoo.entries("diffusion"))
    assert zoo.lookup("sd1.5-unet").name == "sd15-unet"


@pytest.mark.parametrize("name, published, tolerance", [
    # Stable Diffusion v1 model card: "an 860M UNet and 123M text encoder"; 859,520,964 is the
    # element count of the published SD 1.5 unet weights
    ("sd15-unet", 859_520_964, 0),
    ("sd15-text-encoder", 123e6, 0.001),
    # SDXL 1.0 base UNet: 2.567B (Podell et al. 2023, arXiv:2307.01952, round it to 2.6B)
    ("sdxl-unet", 2.567e9, 0.001),
    # FLUX.1 [dev] model card: "a 12 billion parameter rectified flow transformer" (rounded)
    ("flux1-dev-transformer", 12e9, 0.01),
    # Stable Diffusion 3 Medium model card: a 2 billion parameter MMDiT (rounded)
    ("sd3-medium-transformer", 2e9, 0.025),
    # Stable Diffusion 3.5 Large model card: 8.1 billion parameters
    ("sd35-large-transformer", 8.1e9, 0.01),
])
def test_params_are_the_published_counts(name, published, tolerance):
    params = chipfit.count(name).params
    assert abs(params - published) <= tolerance * published, params


def test_the_vae_decoder_is_the_decode_half_of_the_published_vae():
    import torch
    from diffusers import AutoencoderKL

    config = dict(zoo.lookup("sd15-vae-decoder").config)
    with torch.device("meta"):
        vae = AutoencoderKL.from_config(config)
    total = sum(p.numel() for p in vae.parameters())
    assert abs(total - 83.65e6) <= 0.0001 * 83.65e6   # the SD VAE (KL-f8): 83.65M parameters
    encoder = sum(p.numel() for m in (vae.encoder, vae.quant_conv) for p in m.parameters())
    decoder = chipfit.count("sd15-vae-decoder").params
    assert decoder == total - encoder and abs(decoder - 49.5e6) <= 0.001 * 49.5e6
    assert chipfit.count("sdxl-vae-decoder").params == decoder   # the same architecture


def test_sd15_unet_macs_by_hand():
    r = chipfit.count("sd15-unet")
    conv_in = next(o for o in r.layers if o.name == "conv_in")
    assert conv_in.macs == 64 * 64 * 320 * 4 * 3 * 3   # 3×3 conv, 4 → 320 channels on the 64×64 latent
    # attention scores and weighted sums (Q·Kᵀ and A·V): self-attention over the N latent
    # positions and cross-attention to the 77 text tokens, in the 5 transformer blocks of each
    # level of width C (2 down + 3 up) and the 1 of the 8×8 middle
    blocks = {(64 * 64, 320): 5, (32 * 32, 640): 5, (16 * 16, 1280): 5, (8 * 8, 1280): 1}
    hand = sum(k * (2 * n * n * c + 2 * n * 77 * c) for (n, c), k in blocks.items())
    assert sum(o.macs for o in r.layers if o.kind == "attention") == hand == 63_026_135_040
    assert 400e9 < r.macs < 403e9


def test_classifier_free_guidance_is_twice_a_step():
    one, two = chipfit.count("sd15-unet"), chipfit.count("sd15-unet", batch=2)
    assert two.macs == 2 * one.macs and two.params == one.params
    assert any("twice per step" in n for n in one.notes)


def test_flux_step_macs_by_hand():
    # 1024×1024 → 16×128×128 latent → 64×64 = 4,096 tokens of 2×2 patches (64 channels), + 512 T5 tokens
    d, f, img, txt = 3072, 12288, 4096, 512
    n = img + txt
    embed = img * 64 * d + txt * 4096 * d + 2 * (256 * d + d * d) + (768 * d + d * d)
    double = 2 * 6 * d * d + 4 * (img + txt) * d * d + 2 * (img + txt) * d * f   # modulation, q k v out, MLP
    single = 3 * d * d + n * d * f + 3 * n * d * d + n * (d + f) * d           # modulation, MLP in, q k v, out
    attention = 2 * n * n * d                                                  # joint attention, every block
    head = 2 * d * d + img * d * 64
    hand = embed + 19 * double + 38 * single + 57 * attention + head
    r = chipfit.count("flux1-dev-transformer")
    assert r.macs == hand == 37_192_326_709_248
    assert any("distilled" in n for n in r.notes)
    assert chipfit.count("flux1-dev-transformer", seq_len=256).macs < r.macs   # fewer T5 tokens


def test_sdxl_unet_takes_the_pooled_text_and_size_conditioning():
    r = chipfit.count("sdxl-unet")
    add = [o for o in r.layers if o.name.startswith("add_embedding")]
    # 6 size/crop numbers × 256 sinusoidal channels + the 1280-wide pooled text → 1280 → 1280
    assert sum(o.macs for o in add) == (6 * 256 + 1280) * 1280 + 1280 * 1280
    assert 3.3e12 < r.macs < 3.5e12


def test_vae_decoder_macs_by_hand():
    r = chipfit.count("sd15-vae-decoder")
    conv_out = [o for o in r.layers if o.name == "decoder.conv_out"]
    assert [o.macs for o in conv_out] == [512 * 512 * 128 * 3 * 3 * 3]   # 3×3 conv, 128 → 3 channels
    scores = [o for o in r.layers if o.kind == "attention"]
    assert [(o.name, o.macs) for o in scores] == [("decoder.mid_block.attentions.0", 2 * 4096 ** 2 * 512)]  # 64×64, width 512
    assert chipfit.count("sdxl-vae-decoder").macs > 4 * r.macs   # 4× the pixels, attention quadratic


def test_the_16_channel_vae_decoder_by_hand():
    """The SD3 / FLUX.1 VAE decoder is the SD 1.5 one with a 16-channel latent: its first 3×3
    convolution takes 12 more input channels (12 × 512 × 9 weights) and it has no post-quant
    convolution (a 1×1 of 4 → 4 channels and its bias: 20 parameters)."""
    sd15 = chipfit.count("sd15-vae-decoder").params
    assert chipfit.count("sd3-vae-decoder").params == sd15 + 12 * 512 * 9 - (4 * 4 + 4)


def test_sd3_step_macs_by_hand():
    """SD3 Medium at 1024×1024: a 16×128×128 latent in 2×2 patches = 4,096 image tokens, joined
    by 333 text tokens in every block's attention (24 blocks, 24 heads of 64): QKᵀ and AV are
    2 × 4,429² × 64 MACs a head; the patch embedding is a 2×2 convolution, 16 → 1,536."""
    r = chipfit.count("sd3-medium")
    by_op: dict[str, int] = {}
    for o in r.graph.ops:
        by_op[o.op] = by_op.get(o.op, 0) + o.macs
    assert by_op["scaled_dot_product_attention"] == 24 * 24 * 2 * 4429 ** 2 * 64
    assert by_op["convolution"] == 4096 * 1536 * 16 * 2 * 2


def test_the_image_size_is_the_input_shape():
    """``input_shape`` N,3,H,W sets the image a denoiser step or a VAE decode makes: a 768×768
    SDXL step is 9/16 of the 1024×1024 latent (attention grows faster), a 2-image decode twice one."""
    base = chipfit.count("sdxl-unet")
    small = chipfit.count("sdxl-unet", input_shape="1,3,768,768")
    assert small.graph.inputs["sample"] == (1, 4, 96, 96)
    assert 0.4 < small.macs / base.macs < 9 / 16
    two = chipfit.count("sd15-vae-decoder", input_shape="2,3,512,768")
    assert two.graph.inputs["latent"] == (2, 4, 64, 96)
    assert "a 4×64×96 latent → a 512×768 image, batch 2" in " ".join(two.notes)
    with pytest.raises(ChipfitError, match="not a multiple of vae_scale_factor 8"):
        chipfit.count("sd3-medium", input_shape="1,3,100,100")
    with pytest.raises(ChipfitError, match="N,3,H,W in pixels"):
        chipfit.count("sd3-medium", input_shape="1,100")


def test_count_and_check_on_the_command_line(run_cli):
    rc, out, err = run_cli("count", "sd15-unet")
    assert rc == 0 and "Traceback" not in out + err and "859,520,964" in out, err
    rc, out, err = run_cli("check", "sd15-unet", "--chip", "rtx-4090", "--fps", "1", "--precision", "fp16", "--json")
    assert rc == 0, err
    assert json.loads(out)["verdict"] == "SUFFICIENT"


def test_wrong_inputs_are_one_sentence():
    with pytest.raises(ChipfitError, match="takes no text tokens"):
        chipfit.count("sd15-vae-decoder", seq_len=77)
    with pytest.raises(ChipfitError, match="N,3,H,W in pixels"):
        chipfit.count("sd15-unet", input_shape="1,4,64")
    from chipfit.frontends.pytorch import diffusion

    with pytest.raises(ChipfitError, match="takes no config key nonsense"):
        diffusion.factory("x", {**zoo.lookup("sd15-unet").config, "nonsense": 1})
    with pytest.raises(ChipfitError, match="_class_name"):
        diffusion.factory("x", {"in_channels": 4})


def test_a_missing_diffusers_is_one_sentence(monkeypatch):
    from chipfit.frontends.resolve import resolve

    monkeypatch.setitem(sys.modules, "diffusers", None)   # import diffusers raises ImportError
    with pytest.raises(MissingDependency) as info:
        resolve("sd15-vae-decoder")
    text = str(info.value)
    assert "\n" not in text and text.count(". ") == 0
    assert "diffusers" in text and "pip install 'chipfit[diffusion]'" in text


def test_a_whole_image_is_priced_by_the_plan_example():
    p = chipfit.plan(EXAMPLES / "text_to_image.yaml")
    by = {s.name: s for s in p.stages}
    assert by["unet"].runs_per_s == pytest.approx(0.1 * 2 * 25)   # 25 steps × 2 (guidance) per image, 1 / 10 s
    assert by["vae_decoder"].runs_per_s == pytest.approx(0.1)
    assert by["text_encoder"].runs_per_s == pytest.approx(0.2)   # prompt + negative prompt
    assert p.sufficient and p.latency_loaded_s <= 10
