"""Real modules to run, and their ONNX export, for ``chipfit measure``.

Counting never allocates weights (it traces on meta); measuring must run the model, so here a
MODEL is built with random weights on a real device (nothing is downloaded: timing does not
depend on the values) and fed inputs of the counted shapes. The ONNX export is then what
onnxruntime runs *and* what the prediction counts, so the two always describe the same graph.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from chipfit.core.errors import ChipfitError, first_line
from chipfit.frontends.resolve import resolve


def real_module(model: str, *, input_shape: list[str] | None = None, seq_len: int | None = None,
                batch: int = 1, device: str = "cpu") -> tuple[Any, tuple, dict]:
    """(module in eval mode with random weights on ``device``, args, kwargs) for one forward pass
    of MODEL at ``batch``, resolved as ``chipfit count`` resolves it; float inputs are random."""
    import torch

    resolved = resolve(model, input_shapes=input_shape, seq_len=seq_len, device=device,
                       batch=None if input_shape and batch == 1 else batch)
    module, kwargs = resolved.module.eval(), dict(resolved.kwargs)
    params = inspect.signature(module.forward).parameters
    for ids in ("input_ids", "decoder_input_ids"):
        # token inputs get an explicit mask: without one transformers builds it with aten::diff,
        # which the TorchScript exporter cannot export
        mask = ids.replace("input_ids", "attention_mask")
        if ids in kwargs and mask in params and mask not in kwargs:
            kwargs[mask] = torch.ones_like(kwargs[ids])
    if "use_cache" in params:
        kwargs["use_cache"] = False
    args = tuple(a.normal_() if a.is_floating_point() else a for a in resolved.args)
    kwargs = {k: v.normal_() if isinstance(v, torch.Tensor) and v.is_floating_point() else v
              for k, v in kwargs.items()}
    return module, args, kwargs


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
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # the exporter cannot take MHA's fused path
    try:
        with tempfile.TemporaryDirectory(dir=folder) as tmp:  # a crash leaves no half-written file
            part = Path(tmp) / path.name
            try:
                with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                        contextlib.redirect_stderr(io.StringIO()):  # a failed export prints its whole graph
                    warnings.simplefilter("ignore")
                    torch.onnx.export(Forward().eval(), feed, str(part), dynamo=False, opset_version=17,
                                      input_names=input_names)
            except Exception as exc:
                raise ChipfitError(f"exporting '{model}' to ONNX failed: {first_line(exc)}") from exc
            os.replace(part, path)
    finally:   # the caller's setting, whatever happened
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return path
