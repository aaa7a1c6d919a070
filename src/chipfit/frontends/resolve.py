"""Turn what a user typed as MODEL into a module plus example inputs (docs/architecture.md, the command line).

MODEL is one of
  * a path to an ``.onnx`` file (read by the ONNX frontend, see :func:`chipfit.analysis.count.count`)
    or a ``.tflite`` file (read by the TFLite frontend),
  * a built-in name (``resnet18``, ``llama-2-7b``; see ``chipfit zoo``),
  * a Hugging Face ``config.json`` or a folder holding one, or a Hub id (``Qwen/Qwen3-8B``)
    whose config is in the local Hugging Face cache (nothing is downloaded),
  * ``module:callable`` naming a function that returns an ``nn.Module``
    (``torchvision.models:resnet18``).
Every failure a user can cause becomes a one-sentence :class:`ChipfitError`.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chipfit.core.errors import ChipfitError, MissingDependency, first_line
from chipfit.core.fileio import exists, is_dir
from chipfit.data import zoo
from chipfit.frontends import hf_cache
from chipfit.frontends.pytorch import hf
from chipfit.frontends.pytorch.hf import read_config

DEFAULT_IMAGE_SHAPE = (1, 3, 224, 224)
_DTYPES = {"float": "float32", "float32": "float32", "fp32": "float32", "float16": "float16",
           "fp16": "float16", "half": "float16", "bfloat16": "bfloat16", "bf16": "bfloat16",
           "long": "int64", "int64": "int64", "int": "int64", "int32": "int32", "bool": "bool"}
_SHAPE_RE = re.compile(r"^\s*\d+(\s*[,x×]\s*\d+)*\s*$")


@dataclass
class InputShape:
    shape: tuple[int, ...]
    dtype: str = "float32"

    def __str__(self) -> str:
        text = "×".join(map(str, self.shape))
        return text if self.dtype == "float32" else f"{text}:{self.dtype}"


#: the largest input a shape may describe (far beyond any real input, small enough to price safely)
MAX_SHAPE_RANK = 8
MAX_SHAPE_DIM = 2**31
MAX_SHAPE_ELEMENTS = 2**40


def _number(n: int) -> str:
    return f"{n:,}" if n < 10**30 else f"a {len(str(n))}-digit number"


def parse_shape(text: str | InputShape | tuple | list) -> InputShape:
    """``'1,3,224,224'`` (or ``1x3x224x224``), optionally ``':int64'`` for the dtype."""
    if isinstance(text, InputShape):
        return text
    if isinstance(text, (tuple, list)):
        text = ",".join(str(d) for d in text)
    body, _, dtype = str(text).partition(":")
    if not _SHAPE_RE.match(body):
        raise ChipfitError(
            f"malformed input shape '{text}': expected comma-separated positive integers "
            f"such as 1,3,224,224 (optionally ':int64')"
        )
    dims = tuple(int(d) for d in re.split(r"[,x×]", body.replace(" ", "")))
    if any(d <= 0 for d in dims):
        raise ChipfitError(f"malformed input shape '{text}': every dimension must be positive")
    if len(dims) > MAX_SHAPE_RANK:
        raise ChipfitError(f"input shape '{str(text)[:80]}' is absurd: {len(dims)} dimensions, at most "
                           f"{MAX_SHAPE_RANK}")
    if max(dims) > MAX_SHAPE_DIM or math.prod(dims) > MAX_SHAPE_ELEMENTS:
        big = max(dims) if max(dims) > MAX_SHAPE_DIM else math.prod(dims)
        what = (f"dimension {_number(big)} is above {MAX_SHAPE_DIM:,}" if big == max(dims) > MAX_SHAPE_DIM
                else f"{_number(big)} elements are more than {MAX_SHAPE_ELEMENTS:,}")
        raise ChipfitError(f"input shape '{str(text)[:80]}' is absurd: {what}")
    dtype = dtype.strip().lower() or "float32"
    if dtype not in _DTYPES:
        raise ChipfitError(f"unknown input dtype '{dtype}' in '{text}'; use one of {', '.join(sorted(set(_DTYPES)))}")
    return InputShape(dims, _DTYPES[dtype])


def is_onnx(model: str) -> bool:
    return str(model).strip().lower().endswith(".onnx")


def is_tflite(model: str) -> bool:
    return str(model).strip().lower().endswith(".tflite")


def names_code(model: str) -> bool:
    """Whether the MODEL string ``model`` is ``module:callable``: Python code that counting it would
    import and run (not a built-in name, not a file)."""
    text = str(model).strip()
    return zoo.find(text) is None and ":" in text and not exists(Path(text).expanduser())


@dataclass
class ResolvedModel:
    """A module ready to trace, with its inputs, and what the user should be told."""

    name: str
    module: Any
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _torch():
    try:
        import torch
    except ImportError:
        raise MissingDependency("torch", "torch", "counting a PyTorch model") from None
    return torch


def make_inputs(shapes: list[InputShape], device: str) -> tuple:
    torch = _torch()
    return tuple(torch.zeros(s.shape, dtype=getattr(torch, s.dtype), device=device) for s in shapes)


@contextlib.contextmanager
def user_code(what: str):
    """Run a user's Python code (``module:callable``): what it prints goes to stderr, never into
    chipfit's output (``--json`` stays valid), and a call of ``sys.exit`` is one sentence."""
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    except SystemExit as exc:
        raise ChipfitError(f"{what} called exit({exc.code!r}) instead of returning a model") from None


def _build_on(device: str, factory, what: str, built_in: bool = False):
    """``factory()`` built on ``device``; a built-in network's builder is built without its warnings
    (torchvision's about how it would initialise weights that are never read)."""
    _torch()
    from chipfit.frontends.pytorch.build import build_module

    try:
        with user_code(what), warnings.catch_warnings():
            if built_in:
                warnings.simplefilter("ignore")
            return build_module(factory, device)
    except ChipfitError:
        raise
    except Exception as exc:
        hint = ("; a model that needs real weights to be built (a quantized one) counts with `device` cpu"
                if device == "meta" else "")
        raise ChipfitError(f"building {what} failed: {first_line(exc)}{hint}") from exc


def _from_callable(spec: str, device: str):
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ChipfitError(f"'{spec}' is not of the form module:callable")
    try:
        with user_code(f"importing module '{module_name}'"):
            mod = importlib.import_module(module_name)
    except ChipfitError:
        raise
    except ImportError as exc:
        if exc.name in ("torchvision",):
            raise MissingDependency("torchvision", "vision", f"importing '{module_name}'") from None
        raise ChipfitError(f"cannot import module '{module_name}': {exc}") from None
    except Exception as exc:
        raise ChipfitError(f"importing module '{module_name}' failed: {first_line(exc)}") from None
    obj = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ChipfitError(f"module '{module_name}' has no attribute '{attr}'")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ChipfitError(f"'{spec}' is not callable")
    torch = _torch()
    module = obj if isinstance(obj, torch.nn.Module) else _build_on(device, obj, f"'{spec}'")
    if not isinstance(module, torch.nn.Module):
        raise ChipfitError(f"'{spec}' returned {type(module).__name__}, not a torch.nn.Module")
    return module


def _torchvision_builder(builder: str):
    """``torchvision.models.<builder>``, or chipfit's ``module:function`` wrapper of one."""
    _torch()
    try:
        import torchvision.models as tvm
    except ImportError:
        raise MissingDependency("torchvision", "vision", f"the built-in model '{builder}'") from None
    if ":" in builder:
        module_name, _, attr = builder.partition(":")
        return getattr(importlib.import_module(module_name), attr)
    return getattr(tvm, builder)


def resolve(
    model: str,
    *,
    input_shapes: list | None = None,
    seq_len: int | None = None,
    batch: int | None = None,
    device: str = "meta",
    phase: str = "forward",
    context: int = 0,
) -> ResolvedModel:
    """Resolve a MODEL string into a module and example inputs on ``device``; a Hugging Face
    model is fed for ``phase`` (forward, prefill, or decode at ``context``)."""
    shapes = [parse_shape(s) for s in (input_shapes or [])]
    if batch is not None and batch <= 0:
        raise ChipfitError(f"batch must be a positive integer, not {batch}")
    if seq_len is not None and seq_len <= 0:
        raise ChipfitError(f"sequence length must be a positive integer, not {seq_len}")
    if batch is not None and shapes:
        raise ChipfitError("give the batch inside `input_shape` or as `batch`, not both")

    text = str(model).strip()
    path = Path(text).expanduser()
    if is_onnx(text):
        raise ChipfitError(f"'{text}' is an ONNX model: it is read by the ONNX frontend, not built as a module")
    if is_tflite(text):
        raise ChipfitError(f"'{text}' is a TFLite model: it is read by the TFLite frontend, not built as a module")

    entry = zoo.find(text)
    cached = None if entry is not None or exists(path) else hf_cache.cached_config(text)
    if cached is not None:
        path = cached
    if entry is None and (is_dir(path) or path.suffix == ".json" or path.name == "config.json"):
        return _resolve_hf(text, read_config(path), shapes, seq_len or 128, batch or 1, device,
                           notes=[] if seq_len else ["sequence length 128 (default; set `seq_len`)"],
                           phase=phase, context=context)
    if entry is None and ":" in text and not exists(path):
        module = _from_callable(text, device)
        notes = []
        if not shapes:
            shapes = [InputShape((batch or 1, *DEFAULT_IMAGE_SHAPE[1:]))]
            notes.append(f"input {shapes[0]} (default; set `input_shape`)")
        return ResolvedModel(text, module, make_inputs(shapes, device), notes=notes)
    if entry is None:
        if exists(path):
            raise ChipfitError(f"'{text}' is neither a Hugging Face config.json nor a model folder")
        entry = zoo.lookup(text)  # raises with the closest names

    if entry.frontend == "diffusers":  # one denoising step (or one VAE decode) of a diffusers model
        from chipfit.frontends.pytorch import diffusion

        _torch()
        diffusion.require_diffusers()
        inputs = dict(entry.inputs or {})
        if shapes:   # the image it makes, in pixels: N,3,H,W
            if len(shapes) != 1 or len(shapes[0].shape) != 4:
                raise ChipfitError(f"'{entry.name}' takes the size of the image it makes as `input_shape` "
                                   f"N,3,H,W in pixels (e.g. 1,3,768,768), one shape")
            batch, _, h, w = shapes[0].shape
            inputs["image_size"] = [h, w]
        module = _build_on(device, diffusion.factory(entry.name, entry.config), f"'{entry.name}'")
        notes: list[str] = []
        kwargs = diffusion.example_inputs(entry.name, entry.config, inputs, batch or 1, seq_len, device, notes)
        return ResolvedModel(entry.name, module, (), kwargs, notes=notes)
    if entry.frontend in ("hf", "config"):
        return _resolve_hf(entry.name, entry.config, shapes, seq_len or entry.seq_len, batch or 1, device,
                           inputs=entry.inputs, phase=phase, context=context)
    if seq_len is not None:
        what = "images" if entry.task == "vision" else f"a {'×'.join(map(str, entry.input_shape))} input"
        raise ChipfitError(f"'{entry.name}' takes {what}: use `input_shape`, not `seq_len`")
    module = _build_on(device, _torchvision_builder(entry.builder), f"'{entry.name}'", built_in=True)
    if not shapes:
        shapes = [InputShape((batch or entry.input_shape[0], *entry.input_shape[1:]))]
    return ResolvedModel(entry.name, module, make_inputs(shapes, device))


@dataclass
class ConfigModel:
    """A model given by an architecture config: built analytically unless traced."""

    name: str
    config: dict
    seq_len: int | None      # the entry's default tokens (None: 128, said in a note)
    where: str               # for error messages: the file or the zoo entry


def config_model(model: str) -> ConfigModel | None:
    """The config behind MODEL when it is a config-frontend zoo entry or a ``config.json``
    file or folder, else None."""
    text = str(model).strip()
    entry = zoo.find(text)
    if entry is not None:
        if entry.frontend != "config":
            return None
        return ConfigModel(entry.name, entry.config, entry.seq_len, f"the built-in model '{entry.name}'")
    path = Path(text).expanduser()
    if not exists(path):
        path = hf_cache.cached_config(text) or path
    if not is_onnx(text) and not is_tflite(text) and (is_dir(path) or path.suffix == ".json" or path.name == "config.json"):
        where = path / "config.json" if is_dir(path) else path
        return ConfigModel(text, read_config(path), None, f"'{where}'")
    return None


def _resolve_hf(name, config, shapes, seq_len, batch, device, notes=None, inputs=None,
                phase="forward", context=0) -> ResolvedModel:
    _torch()
    if shapes:
        raise ChipfitError(f"'{name}' is a Hugging Face model: set `seq_len` and `batch`, not `input_shape`")
    if device != "meta" and phase != "forward":
        raise ChipfitError(f"the {phase} phase is built on the meta device only (its KV cache holds no data)")
    try:
        module = hf.build(config, device=device)
    except ChipfitError:
        raise
    except Exception as exc:
        raise ChipfitError(f"transformers could not build '{name}': {first_line(exc)}") from exc
    notes = list(notes or [])
    kwargs = hf.example_inputs(module, batch, seq_len, inputs, notes, phase=phase, context=context)
    if device != "meta":  # the example inputs are meta tensors: give them storage (zeros, as make_inputs)
        torch = _torch()
        kwargs = {k: torch.zeros(v.shape, dtype=v.dtype, device=device) if isinstance(v, torch.Tensor) else v
                  for k, v in kwargs.items()}
    return ResolvedModel(name, module, (), kwargs, notes=notes)


def shape_list(input_shape: Any) -> list | None:
    if input_shape is None:
        return None
    if isinstance(input_shape, str):
        return [input_shape]
    items = list(input_shape)
    if items and all(isinstance(d, int) for d in items):
        return [tuple(items)]
    return items
