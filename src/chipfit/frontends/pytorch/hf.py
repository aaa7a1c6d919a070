"""Hugging Face configs: build a transformers model from ``config.json`` alone, on meta.

No weights are read or downloaded and no remote code runs: the config is plain JSON, the
architecture class comes from transformers itself (``architectures[0]`` when transformers
knows it, else the generic class for the ``model_type``). The model is then traced by the
PyTorch frontend like any other module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chipfit.core.errors import ChipfitError, MissingDependency
from chipfit.core.fileio import read_bounded
from chipfit.core.jsonio import loads_json
from chipfit.frontends.arch.checks import check
from chipfit.frontends.pytorch import hf_speech


def _transformers():
    try:
        import transformers
    except ImportError:
        raise MissingDependency("transformers", "hf", "building a Hugging Face model") from None
    transformers.logging.set_verbosity_error()
    return transformers


def read_config(path: str | Path) -> dict[str, Any]:
    """The JSON of a ``config.json`` file or of a model folder holding one, its fields checked
    (:func:`chipfit.frontends.arch.checks.check`: types, ranges, the layer cap)."""
    p = Path(path)
    if p.is_dir():
        p = p / "config.json"
    if not p.exists():
        raise ChipfitError(f"no Hugging Face config at '{p}'")
    data = loads_json(read_bounded(p, "a config.json"), str(p), "a Hugging Face config")
    if not isinstance(data, dict) or "model_type" not in data:
        raise ChipfitError(f"'{p}' is not a Hugging Face config.json (it has no 'model_type')")
    check(data, str(p))
    return data


def build(config: dict[str, Any], attn_implementation: str = "sdpa", device: str = "meta"):
    """A transformers model for ``config`` with weights on ``device`` (meta: none allocated;
    elsewhere randomly initialised, nothing downloaded), in eval mode. The config's fields are
    checked first (a layer count past the cap is refused before transformers builds a layer)."""
    check(config)
    import torch

    transformers = _transformers()
    cfg = dict(config)
    model_type = cfg.pop("model_type")
    try:
        hf_config = transformers.AutoConfig.for_model(model_type, **cfg)
    except (ValueError, KeyError) as exc:
        raise ChipfitError(f"transformers cannot build model_type '{model_type}': {exc}") from None

    cls = None
    for arch in config.get("architectures") or []:
        cls = getattr(transformers, arch, None)
        if cls is not None:
            break
    if cls is not None and attn_implementation == "sdpa" and not getattr(cls, "_supports_sdpa", True):
        attn_implementation = "eager"  # no SDPA path (FastSpeech2Conformer): its own attention code
    def make(attn: str):
        with torch.device(device):
            if cls is not None:
                return cls._from_config(hf_config, attn_implementation=attn)
            return transformers.AutoModel.from_config(hf_config, attn_implementation=attn)

    try:
        model = make(attn_implementation)
    except ValueError as exc:  # a sub-model without an SDPA path (RT-DETR's ResNet backbone)
        if attn_implementation != "sdpa" or "does not support an attention implementation" not in str(exc):
            raise
        model = make("eager")
    skip_value_checks_on_meta(model)
    return model.eval()


@contextlib.contextmanager
def _meta_value_checks_skipped() -> Iterator[None]:
    """For the length of a call: a check that all elements of a *meta* tensor are true passes.

    transformers checks values with ``torch_compilable_check`` (D-FINE: the feature maps' sizes
    against the encoder's length; VITS: its spline's inputs within the tail bound). On a tensor
    that has values the check runs as before; a meta tensor has none to read, so its check
    passes. The condition itself is computed (and counted) before the check is called.
    """
    import torch

    real = getattr(torch, "_check_tensor_all_with", None)
    if real is None:
        yield
        return

    def check(error_type, cond, message=None):
        if isinstance(cond, torch.Tensor) and cond.device.type == "meta":
            return None
        return real(error_type, cond, message)

    torch._check_tensor_all_with = check  # torch._check_tensor_all calls it too
    try:
        yield
    finally:
        torch._check_tensor_all_with = real


def skip_value_checks_on_meta(model) -> None:
    """Run every call of ``model`` with value checks on meta tensors passing
    (:func:`_meta_value_checks_skipped`): forward hooks, so that a replaced ``forward``
    (:func:`.hf_speech.fix_durations`) keeps them."""
    open_calls: list = []

    def enter(module, args):
        context = _meta_value_checks_skipped()
        context.__enter__()
        open_calls.append(context)

    def leave(module, args, output):
        if open_calls:
            open_calls.pop().__exit__(None, None, None)

    model.register_forward_pre_hook(enter)
    model.register_forward_hook(leave, always_call=True)


def example_inputs(model, batch: int, seq_len: int, inputs: dict[str, Any] | None = None,
                   notes: list[str] | None = None, *, phase: str = "forward", context: int = 0) -> dict[str, Any]:
    """Meta-device inputs for one pass: ``seq_len`` tokens, or one image / 30 s clip.

    Speech-synthesis models (and a zoo entry's ``inputs`` for any model not fed images) are
    fed by :mod:`.hf_speech`, which appends what it chose to ``notes``. An image model takes
    ``inputs: {image_size: [H, W]}`` (or one side) when the resolution it runs at is not its
    config's ``image_size`` (absent, or a pre-training size); a raw-waveform model takes
    ``inputs: {audio_samples: N}`` (an encoder-decoder then decodes ``seq_len`` tokens).

    ``phase`` ``prefill`` keeps only the last token's logits (``logits_to_keep=1``);
    ``decode`` feeds one token per sequence with a KV cache of ``context`` tokens (and, for an
    encoder-decoder, the encoder's output and a filled cross-attention cache).
    """
    import inspect

    import torch

    cfg = model.config
    main = getattr(model, "main_input_name", "input_ids")
    if hf_speech.handles(model) or (inputs and main not in ("pixel_values", "input_values")):
        if phase != "forward":
            raise ChipfitError(f"{type(model).__name__} is not a language model: it has no {phase} phase")
        return hf_speech.example_inputs(model, inputs, batch, seq_len, notes)
    meta = torch.device("meta")
    feed: dict[str, Any] = {}
    encdec = getattr(cfg, "is_encoder_decoder", False)
    if phase == "decode":
        return _decode_inputs(model, batch, context, encdec, seq_len)
    if main == "input_ids":
        feed["input_ids"] = torch.zeros(batch, seq_len, dtype=torch.long, device=meta)
    elif main == "pixel_values":
        size = _image_size(model, inputs)
        feed["pixel_values"] = torch.zeros(batch, getattr(cfg, "num_channels", 3), *size, device=meta)
    elif main == "input_features":  # Whisper-style log-mel spectrogram (2 frames per position)
        frames = 2 * cfg.max_source_positions
        feed["input_features"] = torch.zeros(batch, cfg.num_mel_bins, frames, device=meta)
    elif main == "input_values":    # raw waveform: a zoo entry's audio_samples, else seq_len samples (wav2vec2)
        feed["input_values"] = torch.zeros(batch, _given(model, inputs, "audio_samples") or seq_len, device=meta)
    else:
        raise ChipfitError(f"chipfit does not know how to feed a '{main}' input to {type(model).__name__}")
    if encdec and "decoder_input_ids" in inspect.signature(model.forward).parameters:  # not RT-DETR's queries
        feed["decoder_input_ids"] = torch.zeros(batch, seq_len, dtype=torch.long, device=meta)
    vision = getattr(cfg, "vision_config", None)
    if main == "input_ids" and vision is not None and "pixel_values" in inspect.signature(model.forward).parameters:
        if any(getattr(cfg, k, None) is not None for k in ("image_token_id", "image_token_index")):
            # where the image's tokens go in the sequence, and how many there are, is data
            raise ChipfitError(f"{type(model).__name__} places its image tokens in the text by their ids: "
                               f"chipfit cannot trace it on made-up inputs; count it without `trace` (the "
                               f"analytic count is held to transformers' own model in chipfit's tests)")
        size = vision.image_size  # a dual encoder (CLIP): one image per text
        size = tuple(size) if isinstance(size, (list, tuple)) else (size, size)
        feed["pixel_values"] = torch.zeros(batch, getattr(vision, "num_channels", 3), *size, device=meta)
    if phase == "prefill":
        if "logits_to_keep" not in inspect.signature(model.forward).parameters:
            raise ChipfitError(f"transformers' {type(model).__name__} cannot keep only the last logits: "
                               f"trace its forward phase instead")
        feed["logits_to_keep"] = 1
    return feed


def _given(model, inputs: dict[str, Any] | None, key: str) -> Any:
    """``inputs[key]`` (None when absent); any other key of ``inputs`` is refused in one sentence."""
    given = dict(inputs or {})
    unknown = sorted(set(given) - {key})
    if unknown:
        raise ChipfitError(f"{type(model).__name__} takes inputs {key}, not {', '.join(unknown)}")
    value = given.get(key)
    if value is not None and key != "image_size" and (not isinstance(value, int) or isinstance(value, bool)
                                                      or value <= 0):
        raise ChipfitError(f"{type(model).__name__}: {key} must be a positive integer, not {value!r}")
    return value


def _image_size(model, inputs: dict[str, Any] | None) -> tuple[int, int]:
    """(H, W) of the image fed to ``model``: ``inputs["image_size"]`` (one side or two), else
    its config's ``image_size``, else 224."""
    size = _given(model, inputs, "image_size") or getattr(model.config, "image_size", 224)
    size = tuple(size) if isinstance(size, (list, tuple)) else (size, size)
    if len(size) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
        raise ChipfitError(f"{type(model).__name__}: image_size must be a positive integer or two, not {size!r}")
    return size


def _config_value(config, name: str) -> Any:
    """A config attribute, or None where it is absent or only defined per layer (Gemma 4's
    ``num_key_value_heads`` and ``head_dim``)."""
    try:
        return getattr(config, name, None)
    except Exception:   # transformers refuses a global read of a per-layer attribute
        return None


def _decode_inputs(model, batch: int, context: int, encdec: bool, source: int) -> dict[str, Any]:
    """One new token per sequence after ``context`` cached ones (meta tensors); an
    encoder-decoder's cross-attention cache holds its fixed source length (Whisper) or
    ``source`` tokens."""
    import torch
    from transformers import DynamicCache, EncoderDecoderCache

    meta = torch.device("meta")
    cfg = model.config
    text = cfg if encdec else cfg.get_text_config(decoder=True)
    heads = getattr(text, "decoder_attention_heads", None) or text.num_attention_heads
    hidden = getattr(text, "d_model", None) or text.hidden_size
    layers = (getattr(text, "decoder_layers", None) or getattr(text, "num_decoder_layers", None)
              or text.num_hidden_layers)
    # each decoder layer's own config (Gemma 4's full-attention layers differ in head size and KV heads)
    per_layer = None if encdec else getattr(text, "per_layer_config", None)
    if per_layer is not None and len(per_layer) < layers:
        per_layer = None
    shared = getattr(text, "kv_sharing_modes", None) or [None] * layers

    def shape(i: int) -> tuple[int, int]:
        """(KV heads, head size) of decoder layer ``i``."""
        own = per_layer[i] if per_layer is not None else text
        kv = heads if encdec else (_config_value(own, "num_key_value_heads") or heads)
        hd = _config_value(own, "head_dim") or getattr(text, "d_kv", None) or hidden // heads
        return kv, hd

    recurrent = sorted(set(getattr(text, "layer_types", None) or ()) - {"full_attention", "sliding_attention",
                                                                       "chunked_attention"})
    if recurrent:
        raise ChipfitError(f"{type(model).__name__}'s '{recurrent[0]}' layers hold a recurrent state, not keys "
                           f"and values: chipfit traces its forward and prefill phases only (its decode is built "
                           f"analytically without `trace`, held to transformers in chipfit's tests)")
    cache = DynamicCache(config=text) if not encdec else DynamicCache()
    for i in range(layers):
        if shared[i] == "reuse":     # reads an earlier layer's keys and values: holds none
            continue
        kv, hd = shape(i)
        k = torch.zeros(batch, kv, context, hd, device=meta)
        cache.update(k, k.clone(), i)
    inputs: dict[str, Any] = {"decoder_input_ids" if encdec else "input_ids":
                              torch.zeros(batch, 1, dtype=torch.long, device=meta)}
    if encdec:
        src = getattr(cfg, "max_source_positions", None) or source
        _, hd = shape(0)
        cross = DynamicCache()
        for i in range(layers):
            k = torch.zeros(batch, heads, src, hd, device=meta)
            cross.update(k, k.clone(), i)
        cache = EncoderDecoderCache(cache, cross)
        inputs["encoder_outputs"] = (torch.zeros(batch, src, hidden, device=meta),)
    inputs["past_key_values"] = cache
    inputs["cache_position"] = torch.arange(context, context + 1, device=meta)
    return inputs
