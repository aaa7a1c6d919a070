"""Hugging Face configs: build a transformers model from ``config.json`` alone, on meta.

No weights are read or downloaded and no remote code runs: the config is plain JSON, the
architecture class comes from transformers itself (``architectures[0]`` when transformers
knows it, else the generic class for the ``model_type``). The model is then traced by the
PyTorch frontend like any other module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import ChipfitError, MissingDependency


def _transformers():
    try:
        import transformers
    except ImportError:
        raise MissingDependency("transformers", "hf", "building a Hugging Face model") from None
    transformers.logging.set_verbosity_error()
    return transformers


def read_config(path: str | Path) -> dict[str, Any]:
    """The JSON of a ``config.json`` file or of a model folder holding one."""
    p = Path(path)
    if p.is_dir():
        p = p / "config.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ChipfitError(f"no Hugging Face config at '{p}'") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ChipfitError(f"cannot read '{p}' as a Hugging Face config: {exc}") from None
    if not isinstance(data, dict) or "model_type" not in data:
        raise ChipfitError(f"'{p}' is not a Hugging Face config.json (it has no 'model_type')")
    return data


def build(config: dict[str, Any], attn_implementation: str = "sdpa"):
    """A transformers model for ``config`` with meta weights, in eval mode."""
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
    with torch.device("meta"):
        if cls is not None:
            model = cls._from_config(hf_config, attn_implementation=attn_implementation)
        else:
            model = transformers.AutoModel.from_config(hf_config, attn_implementation=attn_implementation)
    return model.eval()


def example_inputs(model, batch: int, seq_len: int) -> dict[str, Any]:
    """Meta-device inputs for one forward pass: ``seq_len`` tokens, or one image / 30 s clip."""
    import torch

    cfg = model.config
    main = getattr(model, "main_input_name", "input_ids")
    meta = torch.device("meta")
    inputs: dict[str, Any] = {}
    if main == "input_ids":
        inputs["input_ids"] = torch.zeros(batch, seq_len, dtype=torch.long, device=meta)
    elif main == "pixel_values":
        size = getattr(cfg, "image_size", 224)
        size = tuple(size) if isinstance(size, (list, tuple)) else (size, size)
        inputs["pixel_values"] = torch.zeros(batch, getattr(cfg, "num_channels", 3), *size, device=meta)
    elif main == "input_features":  # Whisper-style log-mel spectrogram (2 frames per position)
        frames = 2 * cfg.max_source_positions
        inputs["input_features"] = torch.zeros(batch, cfg.num_mel_bins, frames, device=meta)
    elif main == "input_values":    # raw waveform (wav2vec2): seq_len samples
        inputs["input_values"] = torch.zeros(batch, seq_len, device=meta)
    else:
        raise ChipfitError(f"chipfit does not know how to feed a '{main}' input to {type(model).__name__}")
    if getattr(cfg, "is_encoder_decoder", False):
        inputs["decoder_input_ids"] = torch.zeros(batch, seq_len, dtype=torch.long, device=meta)
    return inputs
