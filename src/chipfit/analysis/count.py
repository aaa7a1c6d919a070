"""``chipfit.count``: the cost of one forward pass, at a precision, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from chipfit.analysis.params import CountParams, validate
from chipfit.core.costgraph import CostGraph, ModuleRow, Op
from chipfit.core.errors import ChipfitError, MissingDependency
from chipfit.core.precision import Precision, get_precision
from chipfit.data import zoo
from chipfit.frontends.arch import Phase, from_config
from chipfit.frontends.arch.build import takes_tokens
from chipfit.frontends.onnx.walk import read
from chipfit.frontends.pytorch.sparsity import sparsity_note, weight_sparsity
from chipfit.frontends.resolve import (
    config_model,
    is_onnx,
    is_tflite,
    make_inputs,
    names_code,
    parse_shape,
    resolve,
    shape_list,
)
from chipfit.frontends.tflite.walk import read as read_tflite


@dataclass
class CountResult:
    """MACs, FLOPs, parameters and bytes of one model at one precision.

    ``macs``/``flops``/``params`` never depend on the precision; ``weight_bytes`` is every
    unique parameter stored once, ``activation_bytes`` is the activation traffic of all ops
    run one after another without fusion (each op reads its inputs and writes its outputs).
    """

    graph: CostGraph
    precision: Precision
    notes: list[str] = field(default_factory=list)
    phase: str | None = None      # forward / prefill / decode of a language model, else None
    sparse_weights: list[dict] = field(default_factory=list)  # zeros of pruned/sparse weights (torch)

    def at(self, precision: "str | Precision") -> "CountResult":
        """The same count priced at another precision (precision never changes the ops)."""
        return replace(self, precision=get_precision(precision), notes=list(self.notes))

    @property
    def model(self) -> str:
        return self.graph.model

    @property
    def macs(self) -> int:
        return self.graph.macs

    @property
    def flops(self) -> int:
        return self.graph.flops

    @property
    def params(self) -> int:
        return self.graph.params

    @property
    def weight_bytes(self) -> int:
        return self.graph.weight_bytes(self.precision)

    @property
    def activation_bytes(self) -> int:
        return self.graph.activation_bytes(self.precision)

    @property
    def kv_cache_bytes(self) -> int:
        """KV cache held after this pass, stored at the precision's activation width."""
        return -(-self.graph.kv_cache_elems * self.precision.activation_bits // 8)

    @property
    def kv_cache_read_bytes(self) -> int:
        return -(-self.graph.kv_cache_read_elems * self.precision.activation_bits // 8)

    @property
    def kv_cache_write_bytes(self) -> int:
        return -(-self.graph.kv_cache_write_elems * self.precision.activation_bits // 8)

    @property
    def layers(self) -> list[Op]:
        """Every op in execution order."""
        return self.graph.ops

    @property
    def unsupported_ops(self) -> dict[str, int]:
        return self.graph.unsupported

    def modules(self, depth: int = 1) -> list[ModuleRow]:
        return self.graph.by_module(depth)

    def to_dict(self, per_layer: bool = False, depth: int | None = None) -> dict[str, Any]:
        """The JSON object of ``chipfit count --json`` (keys fixed by the contract in docs/architecture.md)."""
        out: dict[str, Any] = {
            "model": self.model,
            "precision": self.precision.name,
            "inputs": {k: list(v) for k, v in self.graph.inputs.items()},
            "macs": self.macs,
            "flops": self.flops,
            "nonmac_flops": self.graph.nonmac_flops,
            "params": self.params,
            "weight_bytes": self.weight_bytes,
            "activation_bytes": self.activation_bytes,
            "weight_traffic_bytes": self.graph.weight_traffic_bytes(self.precision),
            "unsupported_ops": [{"op": k, "count": v} for k, v in self.unsupported_ops.items()],
            "by_kind": {k: {"macs": r.macs, "flops": r.flops, "ops": r.n_ops}
                        for k, r in self.graph.by_kind().items()},
            "sparse_weights": self.sparse_weights,
            "notes": list(self.notes),
        }
        if self.phase is not None:
            out["phase"] = self.phase
            out["kv_cache_bytes"] = self.kv_cache_bytes
            out["kv_cache_read_bytes"] = self.kv_cache_read_bytes
            out["kv_cache_write_bytes"] = self.kv_cache_write_bytes
        if depth is not None:
            out["modules"] = [r.to_dict(self.precision) for r in self.modules(depth)]
        if per_layer:
            out["layers"] = [op.to_dict(self.precision) for op in self.layers]
        return out

    def to_pandas(self):
        """One row per op (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise MissingDependency("pandas", "pandas", "to_pandas()") from None
        return pd.DataFrame([op.to_dict(self.precision) for op in self.layers])

    def __repr__(self) -> str:
        return (f"CountResult(model={self.model!r}, macs={self.macs:,}, flops={self.flops:,}, "
                f"params={self.params:,}, precision={self.precision.name!r})")


def count(
    model: Any,
    *,
    input_shape: Any = None,
    inputs: Any = None,
    seq_len: int | None = None,
    batch: int | None = None,
    precision: str | Precision = "fp32",
    device: str = "meta",
    name: str | None = None,
    dims: dict[str, int] | list[str] | None = None,
    phase: str = "forward",
    context: int | None = None,
    causal_discount: bool = False,
    trace: bool = False,
) -> CountResult:
    """Count MACs, FLOPs, parameters and bytes of one forward pass.

    ``model`` is a MODEL string (built-in name, ``.onnx`` path, ``config.json`` path,
    ``module:callable``) or an ``nn.Module``. For a module give ``inputs`` (a tensor, a tuple
    of tensors or a dict of keyword tensors) or ``input_shape`` (one shape or a list of
    shapes). Counting runs on the meta device unless ``device`` says otherwise. For an ONNX
    file, ``dims`` binds free dimensions by name (``{"batch": 1}`` or ``["batch=1"]``),
    ``input_shape`` gives whole input shapes (``"input_ids=1,128"``) and ``batch`` binds a free
    leading dimension; its weights are never read.

    A model given by an architecture config (a built-in language, speech or multimodal model,
    or a ``config.json``) is built analytically, without torch, unless ``trace`` asks for
    transformers' own model traced by the PyTorch frontend. ``phase`` is ``forward`` (one pass,
    every token's logits), ``prefill`` (the prompt: KV cache written, last logits only) or
    ``decode`` (one token per sequence at ``context`` cached tokens, default ``seq_len``);
    ``causal_discount`` counts only the unmasked attention scores.
    """
    validate(CountParams, input_shape=input_shape, seq_len=seq_len, batch=batch, precision=precision, device=device,
             dims=dims, phase=phase, context=context)
    prec = get_precision(precision)
    shapes = shape_list(input_shape)
    notes: list[str] = []

    if isinstance(model, str) and is_onnx(model):
        if inputs is not None or seq_len is not None:
            raise ChipfitError("an ONNX model takes `dims` (NAME=VALUE) or `input_shape` (NAME=SHAPE), "
                               "not `inputs` or `seq_len`")
        graph = read(model, input_shapes=shapes, dims=dims, batch=batch, name=name)
        return CountResult(graph, prec, notes=list(graph.notes))
    if isinstance(model, str) and is_tflite(model):
        if inputs is not None or seq_len is not None or dims or shapes:
            raise ChipfitError("a TFLite model's shapes are fixed in the file: it takes no `inputs`, `seq_len`, "
                               "`dims` or `input_shape`")
        graph = read_tflite(model, batch=batch, name=name)
        return CountResult(graph, prec, notes=list(graph.notes))
    if dims:
        raise ChipfitError("`dims` binds dimensions of an ONNX model; this model is not one")
    cm = config_model(model) if isinstance(model, str) else None
    if context is not None and phase != "decode":
        raise ChipfitError("`context` sets the cache position of the decode phase; set `phase` to decode")
    if cm is None and phase != "forward":
        raise ChipfitError("`phase` and `context` apply to language models (built-in or config.json)")
    if causal_discount and (cm is None or trace):
        raise ChipfitError("`causal_discount` applies to models built from a config (not traced)")
    if phase == "decode" and context is None:
        context = seq_len or cm.seq_len or 128   # decode after as many tokens as a forward pass
    variant = zoo.variant_note(model) if isinstance(model, str) else None
    if cm is not None and not trace:
        result = _count_config(cm, prec, input_shape=shapes, seq_len=seq_len, batch=batch, phase=phase,
                               context=context, causal_discount=causal_discount, device=device)
        result.notes[:0] = [variant] if variant else []
        return result
    if isinstance(model, str):
        if inputs is not None:
            raise ChipfitError("give `inputs` only with an nn.Module; for a MODEL string use `input_shape`")
        key = (model, tuple(str(parse_shape(s)) for s in shapes or ()), seq_len, batch, device, phase, context or 0)
        if zoo.find(model) is not None or model.startswith("torchvision.models:"):
            graph, notes, sparse = _traced_builtin(*key)   # a library network: traced once per process
            if name is not None:
                graph = replace(graph, model=name)
        else:
            graph, notes, sparse = _traced(*key, name=name)
    else:
        module, args, kwargs = _module_inputs(model, inputs, shapes, device)
        graph = trace_module(module, args, kwargs, device=device, name=name)
        sparse, unread = weight_sparsity(module, plain=True)  # the zeros of the user's own weights
        note = sparsity_note(sparse, unread)
        notes = [note] if note else []
    return CountResult(graph, prec, notes=([variant] if variant else []) + list(notes),
                       phase=phase if cm is not None else None, sparse_weights=[dict(s) for s in sparse])


def _traced(model: str, shapes: tuple, seq_len, batch, device, phase, context,
            name: str | None = None) -> tuple[CostGraph, tuple[str, ...], tuple[dict, ...]]:
    """Resolve a MODEL string to a module with example inputs and trace it: (graph, notes, zeros)."""
    resolved = resolve(model, input_shapes=list(shapes), seq_len=seq_len, batch=batch, device=device,
                       phase=phase, context=context)
    graph = trace_module(resolved.module, resolved.args, resolved.kwargs, device=device, name=name or resolved.name)
    # the zeros of weights the user made (module:callable), not of chipfit's random ones
    users = names_code(model)
    sparse, unread = weight_sparsity(resolved.module, plain=users)
    note = sparsity_note(sparse, unread)
    return graph, tuple(resolved.notes + ([note] if note else [])), tuple(sparse)


@lru_cache(maxsize=32)
def _traced_builtin(model: str, shapes: tuple, seq_len, batch, device, phase, context):
    """:func:`_traced` for a built-in or torchvision network, kept: the same network at the same
    inputs always traces to the same graph (graphs are never changed once built). A zoo network
    at its default input is not traced at all: it ships traced (:func:`chipfit.data.zoo.stored_graph`)."""
    entry = zoo.find(model)
    default = entry is not None and entry.input_shape is not None and (
        shapes in ((), (str(parse_shape(entry.input_shape)),)) and seq_len is None
        and batch in (None, entry.input_shape[0]) and device == "meta" and phase == "forward" and not context)
    stored = zoo.stored_graph(model) if default else None
    if stored is not None:
        return stored
    return _traced(model, shapes, seq_len, batch, device, phase, context)


def fresh_trace(name: str) -> tuple[CostGraph, tuple[str, ...], tuple[dict, ...]]:
    """A built-in network traced now at its default input (what its stored graph must equal)."""
    return _traced(name, (), None, None, "meta", "forward", 0)


def trace_module(module, args, kwargs, *, device: str, name: str | None):
    """The PyTorch frontend's trace (imported here: it loads torch)."""
    from chipfit.frontends.pytorch.trace import trace

    return trace(module, args, kwargs, device=device, name=name)


def _count_config(cm, prec: Precision, *, input_shape, seq_len, batch, phase, context, causal_discount,
                  device) -> CountResult:
    """An architecture config, built analytically (:mod:`chipfit.frontends.arch`)."""
    if input_shape:
        raise ChipfitError(f"'{cm.name}' is built from its config: set `seq_len` and `batch`, not `input_shape`")
    if device != "meta":
        raise ChipfitError(f"'{cm.name}' is built from its config, on no device: `device` applies "
                           f"with `trace`")
    notes = []
    tokens = seq_len or cm.seq_len
    ph = Phase(phase, tokens or 128, context or 0, 1 if batch is None else batch, causal_discount)
    graph = from_config(cm.config, ph, cm.name, cm.where)
    if tokens is None and takes_tokens(graph):
        notes.append("sequence length 128 (default; set `seq_len`)")
    return CountResult(graph, prec, notes=graph.notes + notes, phase=phase)


def _module_inputs(module, inputs, shapes, device):
    import torch

    if not isinstance(module, torch.nn.Module):
        raise ChipfitError(f"expected a MODEL string or a torch.nn.Module, got {type(module).__name__}")
    if inputs is None and not shapes:
        raise ChipfitError("give the module's inputs or input_shape")
    if inputs is None:
        return module, make_inputs([parse_shape(s) for s in shapes], device), {}
    if isinstance(inputs, dict):
        return module, (), inputs
    if isinstance(inputs, torch.Tensor):
        return module, (inputs,), {}
    return module, tuple(inputs), {}
