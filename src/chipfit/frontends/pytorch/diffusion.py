"""Diffusion models: a diffusers model class built from a zoo entry's config on the meta device.

The config is the published ``config.json`` of the model's folder (``unet/``, ``vae/``,
``transformer/``), whose ``_class_name`` names the diffusers class; no weights are read or
downloaded. What is counted is what a text-to-image pipeline runs per call:

  * ``UNet2DConditionModel``, ``FluxTransformer2DModel``, ``SD3Transformer2DModel``: ONE
    denoising step, one call of the denoiser at ``batch`` (1 by default). Classifier-free
    guidance runs it on a conditional and an unconditional prompt, so a guided step costs
    twice this (``batch`` 2); a whole image costs ``steps`` times it (``repeat`` in ``chipfit plan``);
  * ``AutoencoderKL``: the decode of one latent into the image (post-quant conv and decoder),
    run once per image; its encoder (image-to-image only) is not counted.

A zoo entry's ``inputs`` say how the model is fed: ``image_size`` (pixels, one side or two),
divided by ``vae_scale_factor`` (8 by default, the SD, SDXL and Flux VAEs) for the latent, and
``text_tokens``: the text encoder's hidden states cross-attended to, of the width the config
says (``cross_attention_dim`` or ``joint_attention_dim``); ``seq_len`` overrides the tokens and
``input_shape`` N,3,H,W (the image made, in pixels) the image size and the batch.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from chipfit.core.errors import ChipfitError, MissingDependency

DENOISERS = ("UNet2DConditionModel", "FluxTransformer2DModel", "SD3Transformer2DModel")
CLASSES = (*DENOISERS, "AutoencoderKL")
_INPUTS = {"image_size", "text_tokens", "vae_scale_factor"}


def require_diffusers():
    try:
        import diffusers
    except ImportError:
        raise MissingDependency("diffusers", "diffusion", "building a diffusion model") from None
    diffusers.utils.logging.set_verbosity_error()
    return diffusers


def _class(name: str, config: dict[str, Any] | None):
    """The diffusers class named by ``config['_class_name']``, the config's other keys checked
    against its constructor (a key diffusers would silently ignore is refused)."""
    cls_name = (config or {}).get("_class_name")
    if cls_name not in CLASSES:
        raise ChipfitError(f"'{name}': a diffusers config needs _class_name, one of {', '.join(CLASSES)}, "
                           f"not {cls_name!r}")
    cls = getattr(require_diffusers(), cls_name)
    known = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(k for k in config if not k.startswith("_") and k not in known)
    if unknown:
        raise ChipfitError(f"'{name}': {cls_name} takes no config key {', '.join(unknown)}")
    return cls


@functools.lru_cache(maxsize=1)
def _decode_class():
    import torch

    class AutoencoderKLDecode(torch.nn.Module):
        """The decode half of an ``AutoencoderKL``: latent → image (``AutoencoderKL._decode``
        without tiling or slicing)."""

        def __init__(self, vae):
            super().__init__()
            self.post_quant_conv = vae.post_quant_conv
            self.decoder = vae.decoder

        def forward(self, latent):
            if self.post_quant_conv is not None:
                latent = self.post_quant_conv(latent)
            return self.decoder(latent)

    return AutoencoderKLDecode


def factory(name: str, config: dict[str, Any]):
    """A no-argument builder of the model ``config`` describes (the VAE: its decode half)."""
    cls = _class(name, config)

    def build():
        model = cls.from_config(config)
        if config["_class_name"] == "AutoencoderKL":
            model = _decode_class()(model)
        return model.eval()

    return build


def _side(value: Any, what: str) -> tuple[int, int]:
    size = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
    if len(size) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
        raise ChipfitError(f"{what} must be a positive integer or two, not {value!r}")
    return size


def example_inputs(name: str, config: dict[str, Any], inputs: dict[str, Any] | None, batch: int,
                   seq_len: int | None, device: str, notes: list[str]) -> dict[str, Any]:
    """Zero tensors on ``device`` for one call of the model (see the module docstring); what was
    chosen is appended to ``notes``."""
    import torch

    given = dict(inputs or {})
    unknown = sorted(set(given) - _INPUTS)
    if unknown:
        raise ChipfitError(f"'{name}' takes inputs {', '.join(sorted(_INPUTS))}, not {', '.join(unknown)}")
    kind = config["_class_name"]
    scale = given.get("vae_scale_factor", 8)
    h, w = _side(given.get("image_size", config.get("sample_size", 64) * scale), f"'{name}': image_size")
    if not (isinstance(scale, int) and scale > 0 and h % scale == 0 and w % scale == 0):
        raise ChipfitError(f"'{name}': image_size {h}×{w} is not a multiple of vae_scale_factor {scale!r}")
    lh, lw = h // scale, w // scale
    tokens = seq_len or given.get("text_tokens", 77)
    zeros = functools.partial(torch.zeros, device=torch.device(device))
    guided = (f"; classifier-free guidance runs it twice per step (batch {2 * batch})" if kind in DENOISERS
              else "")

    if kind == "AutoencoderKL":
        if seq_len is not None:
            raise ChipfitError(f"'{name}' decodes a latent: it takes no text tokens (`seq_len`)")
        channels = config.get("latent_channels", 4)
        notes.append(f"one VAE decode: a {channels}×{lh}×{lw} latent → a {h}×{w} image, batch {batch}")
        return {"latent": zeros(batch, channels, lh, lw)}

    time = zeros(batch)
    if kind == "UNet2DConditionModel":
        width = config["cross_attention_dim"]
        channels = config.get("in_channels", 4)
        feed = {"sample": zeros(batch, channels, lh, lw), "timestep": time,
                "encoder_hidden_states": zeros(batch, tokens, width)}
        added = config.get("addition_embed_type")
        if added == "text_time":  # SDXL: pooled text embeds + 6 size/crop numbers, each embedded
            pooled = config["projection_class_embeddings_input_dim"] - 6 * config["addition_time_embed_dim"]
            feed["added_cond_kwargs"] = {"text_embeds": zeros(batch, pooled), "time_ids": zeros(batch, 6)}
        elif added is not None:
            raise ChipfitError(f"'{name}': chipfit cannot feed a UNet with addition_embed_type {added!r}")
        what = f"a {channels}×{lh}×{lw} latent"
    elif kind == "FluxTransformer2DModel":
        # the pipeline packs the latent into 2×2 patches: (H/16)·(W/16) tokens of 4·C channels
        if lh % 2 or lw % 2:
            raise ChipfitError(f"'{name}': image_size {h}×{w} must be a multiple of {2 * scale} (2×2 latent patches)")
        image_tokens = (lh // 2) * (lw // 2)
        channels = config["in_channels"]
        feed = {"hidden_states": zeros(batch, image_tokens, channels), "timestep": time,
                "encoder_hidden_states": zeros(batch, tokens, config["joint_attention_dim"]),
                "pooled_projections": zeros(batch, config["pooled_projection_dim"]),
                "img_ids": zeros(image_tokens, 3), "txt_ids": zeros(tokens, 3)}
        if config.get("guidance_embeds"):  # guidance distilled into the model: an input, not a second call
            feed["guidance"] = zeros(batch)
            guided = "; guidance is an input of the model (distilled): one call per step, no second batch"
        width = config["joint_attention_dim"]
        what = f"{image_tokens:,} image tokens of {channels} channels (2×2 patches of a {channels // 4}×{lh}×{lw} latent)"
    else:  # SD3Transformer2DModel: patchified inside the model
        channels = config["in_channels"]
        width = config["joint_attention_dim"]
        feed = {"hidden_states": zeros(batch, channels, lh, lw), "timestep": time,
                "encoder_hidden_states": zeros(batch, tokens, width),
                "pooled_projections": zeros(batch, config["pooled_projection_dim"])}
        what = f"a {channels}×{lh}×{lw} latent"
    notes.append(f"one denoising step at batch {batch}: a {h}×{w} image as {what}, {tokens} text tokens "
                 f"of width {width}{guided}")
    return feed
