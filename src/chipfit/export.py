"""Real modules to run, and their ONNX export, for ``chipfit measure``.

Counting never allocates weights (it traces on meta); measuring must run the model, so here a
MODEL is built with random weights on a real device (nothing is downloaded: timing does not
depend on the values) and fed inputs of the counted shapes. The ONNX export is then what
onnxruntime runs *and* what the prediction counts, so the two always describe the same graph.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from .errors import ChipfitError, first_line


def real_module(model: str, *, input_shape: list[str] | None = None, seq_len: int | None = None,
                batch: int = 1, device: str = "cpu") -> tuple[Any, tuple, dict]:
    """(module in eval mode with random weights on ``device``, args, kwargs) for one forward pass
    of MODEL at ``batch``, as ``chipfit count`` would feed it."""
    import torch

    from . import modelspec, zoo
    from .modelspec import InputShape, _build_on, _from_callable, _torchvision_builder, parse_shape

    shapes = [parse_shape(s) for s in (input_shape or [])]
    if shapes and batch != 1:
        raise ChipfitError("give the batch inside --input-shape or with --batch, not both")
    text = str(model).strip()
    entry = zoo.find(text)
    config = None
    if entry is not None and entry.frontend in ("hf", "config"):
        config, seq, inputs = entry.config, seq_len or entry.seq_len or 128, entry.inputs
    elif entry is None and (cm := modelspec.config_model(text)) is not None:
        config, seq, inputs = cm.config, seq_len or 128, None
    if config is not None:
        from .frontends import hf

        if shapes:
            raise ChipfitError(f"'{text}' is a Hugging Face model: set --seq-len and --batch, not --input-shape")
        try:
            module = hf.build(config, device=device)
        except ChipfitError:
            raise
        except Exception as exc:
            raise ChipfitError(f"transformers could not build '{text}': {first_line(exc)}") from exc
        meta = hf.example_inputs(module, batch, seq, inputs, [])
        kwargs = {k: _like(v, device) for k, v in meta.items()}
        if "input_ids" in kwargs and not getattr(module.config, "is_encoder_decoder", False):
            kwargs["attention_mask"] = torch.ones_like(kwargs["input_ids"])
        if "use_cache" in _params(module):
            kwargs["use_cache"] = False
        return module, (), kwargs
    if entry is not None:
        if seq_len is not None:
            raise ChipfitError(f"'{entry.name}' takes images: use --input-shape, not --seq-len")
        module = _build_on(device, _torchvision_builder(entry.builder), f"'{entry.name}'").eval()
        shapes = shapes or [InputShape((batch, *entry.input_shape[1:]))]
    elif ":" in text:
        module = _from_callable(text, device).eval()
        if not shapes:
            raise ChipfitError(f"'{text}': give its input with --input-shape (e.g. 1,3,224,224)")
    else:
        zoo.lookup(text)  # raises with the closest names
        raise ChipfitError(f"'{text}' cannot be measured")  # pragma: no cover
    args = tuple(_random(s.shape, s.dtype, device) for s in shapes)
    return module, args, {}


def _params(module) -> set[str]:
    import inspect

    return set(inspect.signature(module.forward).parameters)


def _random(shape, dtype: str, device: str):
    import torch

    t = getattr(torch, dtype)
    if t.is_floating_point:
        return torch.randn(shape, dtype=t, device=device)
    return torch.zeros(shape, dtype=t, device=device)


def _like(value, device: str):
    import torch

    if isinstance(value, torch.Tensor):
        return _random(tuple(value.shape), str(value.dtype).removeprefix("torch."), device)
    return value


def _tensors(out) -> tuple:
    """The tensors of a forward's output (a transformers ModelOutput, tuple or tensor)."""
    import torch

    if isinstance(out, torch.Tensor):
        return (out,)
    values = out.values() if hasattr(out, "values") else out
    return tuple(v for v in values if isinstance(v, torch.Tensor))


def to_onnx(model: str, folder: str | Path, *, input_shape: list[str] | None = None,
            seq_len: int | None = None, batch: int = 1) -> Path:
    """MODEL exported to ``folder`` (TorchScript exporter, opset 17, weights inline), reused
    when a file for the same MODEL and inputs is already there."""
    import torch

    key = f"{model}|{input_shape}|{seq_len}|{batch}|{torch.__version__}"
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(model).split("/")[-1])[:60]
    path = Path(folder) / f"{stem}-{hashlib.sha1(key.encode()).hexdigest()[:10]}.onnx"
    if path.exists():
        return path
    module, args, kwargs = real_module(model, input_shape=input_shape, seq_len=seq_len, batch=batch)
    names = list(kwargs)

    class Forward(torch.nn.Module):  # positional tensors in, tensors out: what the exporter takes
        def __init__(self):
            super().__init__()
            self.inner = module

        def forward(self, *tensors):
            kw = dict(kwargs)
            tensor_names = [k for k in names if isinstance(kwargs[k], torch.Tensor)]
            kw.update(zip(tensor_names, tensors[len(args):]))
            return _tensors(self.inner(*tensors[:len(args)], **kw))

    feed = args + tuple(v for v in kwargs.values() if isinstance(v, torch.Tensor))
    input_names = [f"input{i}" for i in range(len(args))] + [k for k in names if isinstance(kwargs[k], torch.Tensor)]
    Path(folder).mkdir(parents=True, exist_ok=True)
    torch.backends.mha.set_fastpath_enabled(False)  # the exporter cannot take MHA's fused path
    with tempfile.TemporaryDirectory(dir=folder) as tmp:  # a crash leaves no half-written file
        part = Path(tmp) / path.name
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                torch.onnx.export(Forward().eval(), feed, str(part), dynamo=False, opset_version=17,
                                  input_names=input_names)
        except Exception as exc:
            raise ChipfitError(f"exporting '{model}' to ONNX failed: {first_line(exc)}") from exc
        os.replace(part, path)
    return path
