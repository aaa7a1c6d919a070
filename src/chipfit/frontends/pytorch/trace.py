"""PyTorch frontend: trace any ``nn.Module`` at the aten level into a :class:`CostGraph`.

How it counts
    * A ``TorchDispatchMode`` sees every aten op after autograd and composite
      decomposition and prices it with the shape-only formulas of :mod:`.torch_ops`.
    * A ``TorchFunctionMode`` catches ``F.scaled_dot_product_attention`` before it picks a
      kernel (math, flash, efficient, cuDNN or the CPU flash kernel) and records one
      ``attention`` op, so attention counts the same on every device and backend.
    * ``nn.MultiheadAttention`` / ``nn.TransformerEncoderLayer`` fast paths are switched off
      during the trace (``torch.backends.mha``), so ``no_grad``/``inference_mode`` trace the
      same ops as training mode; their fused kernels also have formulas, for direct calls.
    * Global module hooks name each op by the innermost module running it.
    * Weights are told apart from activations by provenance: parameters and buffers, and
      whatever is derived from them alone (``weight.t()``, a dtype cast), are weights.
      An element-wise op on weights alone that rewrites a parameter into a tensor of its own
      shape (``torch.nn.utils.prune``'s ``weight = weight_orig * weight_mask`` before each
      call, a cast) is folded, as exporters fold constants: it is not counted, and its result
      is the weight of the op that uses it. So a pruned module costs what the module with the
      pruned weight costs. (Other computation on weights alone, such as Swin V2's position-bias
      MLP over a constant table, is counted, as torchvision's own counts do.)
    * Dynamically quantized modules (``torch.ao.quantization.quantize_dynamic``) hold their
      weights packed, outside ``nn.Parameter``: their ops carry those weights' elements as
      parameters, stored at 8 bits (run with ``device="cpu"``: they cannot be built on meta).

By default the model runs on the ``meta`` device: no weight is allocated and no arithmetic
is done. A module that already holds real weights is called with meta stand-ins through
``torch.func.functional_call``; the caller's module is never modified.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_map
from torch.utils.weak import WeakIdKeyDictionary

from chipfit.core.costgraph import CostGraph, Op
from chipfit.core.errors import ChipfitError, first_line
from chipfit.frontends.pytorch.ops import (
    DATA_MOVEMENT,
    PACKED_WEIGHT_OPS,
    REGISTRY,
    SHAPE_ONLY,
    Cost,
    TShape,
    display_name,
)

_SDPA_FUNCTIONS = {torch.nn.functional.scaled_dot_product_attention}


# aten arguments and outputs are tensors, scalars and (nested) tuples, lists and dicts; these
# two walkers replace torch's generic pytree, which was the tracer's largest overhead.
def _shapes(x: Any) -> Any:
    """``x`` with every tensor replaced by its :class:`TShape`."""
    if isinstance(x, torch.Tensor):
        return TShape(x.shape)
    if isinstance(x, (tuple, list)):
        return type(x)(_shapes(v) for v in x) if type(x) in (tuple, list) else x
    if isinstance(x, dict):
        return {k: _shapes(v) for k, v in x.items()}
    return x


def _tensors(x: Any, found: list | None = None) -> list[torch.Tensor]:
    """Every tensor inside ``x``, in order."""
    if found is None:
        found = []
    if isinstance(x, torch.Tensor):
        found.append(x)
    elif isinstance(x, (tuple, list)):
        for v in x:
            _tensors(v, found)
    elif isinstance(x, dict):
        for v in x.values():
            _tensors(v, found)
    return found


class _Recorder:
    """Collects ops while the model runs."""

    def __init__(self, weights: Mapping[int, tuple[torch.Tensor, bool]], names: dict[int, str]):
        self.ops: list[Op] = []
        self.names = names                       # id(module) -> module path
        self.stack: list[tuple[str, str]] = [("", "")]  # (module path, class name)
        self.suppress = 0
        # tensor -> ids of the parameters/buffers it derives from (weights only)
        self.roots: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self.root_params: dict[int, int] = {}    # root id -> parameter elements (0: buffer)
        self.seen_roots: set[int] = set()
        self.param_tensors: set[int] = set()     # ids of the parameters themselves (not derived)
        for rid, (tensor, is_param) in weights.items():
            self.roots[tensor] = frozenset((rid,))
            self.root_params[rid] = tensor.numel() if is_param else 0
            if is_param:
                self.param_tensors.add(id(tensor))

    # -- module naming -------------------------------------------------------------------
    def enter(self, module: torch.nn.Module, *_: Any) -> None:
        name = self.names.get(id(module))
        if name is None:  # a module built inside forward: attribute to its caller
            self.stack.append(self.stack[-1])
        else:
            self.stack.append((name, type(module).__name__))

    def leave(self, *_: Any) -> None:
        if len(self.stack) > 1:
            self.stack.pop()

    # -- recording -----------------------------------------------------------------------
    def _weight_roots(self, tensors: Sequence[torch.Tensor]) -> tuple[frozenset, int, int]:
        roots: set[int] = set()
        weight_elems = act_elems = 0
        for t in tensors:
            r = self.roots.get(t)
            if r is None:
                act_elems += t.numel()
            else:
                roots |= r
                weight_elems += t.numel()
        return frozenset(roots), weight_elems, act_elems

    def _rewrites_a_parameter(self, kind, cost, inputs, outputs) -> bool:
        """An element-wise op that turns a parameter into a same-shaped weight (a mask, a cast)."""
        if kind not in ("elementwise", "data") or (cost is not None and cost.macs) or len(outputs) != 1:
            return False
        shape = outputs[0].shape
        return any(id(t) in self.param_tensors and t.shape == shape for t in inputs)

    def record(self, name: str, kind: str | None, cost: Cost | None, args: Any, kwargs: Any,
               out: Any) -> None:
        inputs = _tensors((args, kwargs))
        outputs = _tensors(out)
        roots, weight_elems, act_read = self._weight_roots(inputs)
        if roots and act_read == 0:  # computed from weights alone: still a weight
            for t in outputs:
                self.roots[t] = roots
            if self._rewrites_a_parameter(kind, cost, inputs, outputs):
                return
        if kind is None:  # a view or creation op: nothing to record
            return
        new_roots = roots - self.seen_roots
        self.seen_roots |= new_roots
        supported = kind != "unsupported"
        if cost is None:
            cost = Cost()
        if kind == "matmul" and weight_elems:
            kind = "linear"
        path, module_type = self.stack[-1]
        self.ops.append(
            Op(
                name=path,
                kind=kind,
                op=name,
                macs=int(cost.macs),
                nonmac_flops=int(cost.nonmac),
                params=sum(self.root_params[r] for r in new_roots) + (cost.params or 0),
                weight_elems=int(weight_elems if cost.weight_elems is None else cost.weight_elems),
                act_read_elems=int(act_read if cost.act_read_elems is None else cost.act_read_elems),
                act_write_elems=(sum(t.numel() for t in outputs) if cost.act_write_elems is None
                                 else int(cost.act_write_elems)),
                input_shapes=tuple(tuple(t.shape) for t in inputs),
                output_shapes=tuple(tuple(t.shape) for t in outputs),
                module_type=module_type,
                supported=supported,
                weight_bits=cost.weight_bits,
            )
        )

    def attention(self, sdpa, args: tuple, kwargs: dict) -> Any:
        """Run SDPA with its kernel's own ops hidden, and record it as one attention op."""
        if self.suppress:
            return sdpa(*args, **kwargs)
        q = args[0] if len(args) > 0 else kwargs["query"]
        v = args[2] if len(args) > 2 else kwargs["value"]
        self.suppress += 1  # the kernel's own ops, and on meta the empty output, are not recorded
        try:
            if q.device.type == "meta" and v.device.type == "meta":
                # on meta only the shape matters: skip running the kernel's decomposition (the output
                # is the attention's, not a tensor made from the query alone, which may be a weight)
                out = q.new_empty((*q.shape[:-1], v.shape[-1]))
            else:
                out = sdpa(*args, **kwargs)
        finally:
            self.suppress -= 1
        kind, cost = self.price("aten::scaled_dot_product_attention", args, kwargs, out)
        self.record("scaled_dot_product_attention", kind, cost, args, kwargs, out)
        return out

    def price(self, name: str, args: Any, kwargs: Any, out: Any) -> tuple[str | None, Cost | None]:
        """(kind, cost) of an op by its full name (``aten::mm``); kind None for ops that are ignored."""
        if name in SHAPE_ONLY:
            return None, None
        entry = REGISTRY.get(name)
        if entry is None:
            return ("data", Cost()) if name in DATA_MOVEMENT else ("unsupported", None)
        return entry.kind, entry.formula(*_shapes(args), out=_shapes(out), **_shapes(kwargs))


class _DispatchCounter(TorchDispatchMode):
    def __init__(self, rec: _Recorder):
        super().__init__()
        self.rec = rec

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        rec = self.rec
        if not rec.suppress:
            name = func._schema.name   # namespace::op, e.g. aten::convolution
            kind, cost = rec.price(name, args, kwargs, out)
            rec.record(display_name(name), kind, cost, args, kwargs, out)
        return out


class _FunctionCounter(TorchFunctionMode):
    """Counts SDPA called through any name bound to the builtin, before it picks a kernel."""

    def __init__(self, rec: _Recorder):
        super().__init__()
        self.rec = rec

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in _SDPA_FUNCTIONS:
            return self.rec.attention(func, args, kwargs or {})
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def _sdpa_counted(rec: _Recorder) -> Iterator[None]:
    """Swap ``torch.nn.functional.scaled_dot_product_attention`` for a counting wrapper.

    A TorchFunctionMode is switched off while it handles a call, so it cannot see SDPA
    nested in another Python-level torch function (``F.multi_head_attention_forward``);
    callers that look SDPA up at call time (torch.nn.functional itself, transformers, timm)
    reach this wrapper instead. Restored on exit.
    """
    functional = torch.nn.functional
    original = functional.scaled_dot_product_attention

    def scaled_dot_product_attention(*args, **kwargs):
        return rec.attention(original, args, kwargs)

    functional.scaled_dot_product_attention = scaled_dot_product_attention
    try:
        yield
    finally:
        functional.scaled_dot_product_attention = original


@contextlib.contextmanager
def _mha_fastpath_disabled() -> Iterator[None]:
    mha = getattr(torch.backends, "mha", None)
    if mha is None:
        yield
        return
    before = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        mha.set_fastpath_enabled(before)


@contextlib.contextmanager
def _eval_mode(model: torch.nn.Module) -> Iterator[None]:
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, training in flags:
            m.training = training


def _module_names(model: torch.nn.Module) -> tuple[dict[int, str], dict[str, str]]:
    names: dict[int, str] = {}
    types: dict[str, str] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        names.setdefault(id(module), name)
        types.setdefault(name, type(module).__name__)
    return names, types


def _on_meta(model: torch.nn.Module) -> bool:
    return all(t.device.type == "meta" for t in (*model.parameters(), *model.buffers()))


def _move(tree: Any, device: torch.device) -> Any:
    return tree_map(lambda x: x.to(device) if isinstance(x, torch.Tensor) else x, tree)


def trace(
    model: torch.nn.Module,
    args: tuple = (),
    kwargs: dict | None = None,
    *,
    device: str | torch.device = "meta",
    name: str | None = None,
) -> CostGraph:
    """Run ``model(*args, **kwargs)`` once in eval mode and return its cost graph.

    ``device="meta"`` (default) counts without allocating weights; any other device runs the
    model where its weights already are (they must be on that device).
    """
    kwargs = dict(kwargs or {})
    device = torch.device(device)
    names, types = _module_names(model)
    params = {id(p): p for p in model.parameters()}
    buffers = {id(b): b for b in model.buffers()}
    total_params = sum(p.numel() for p in params.values())

    call_model = model
    if device.type == "meta" and not _on_meta(model):
        # Call the module with meta stand-ins for its weights, without touching the module.
        stand_in = {id(t): torch.empty_like(t, device="meta") for t in (*params.values(), *buffers.values())}
        state = {
            n: stand_in[id(t)]
            for n, t in (*model.named_parameters(remove_duplicate=False),
                         *model.named_buffers(remove_duplicate=False))
        }
        weights = {id(t): (stand_in[id(t)], id(t) in params) for t in (*params.values(), *buffers.values())}

        def call_model(*a, **k):  # noqa: E306
            return torch.func.functional_call(model, state, a, k, tie_weights=True, strict=False)
    else:
        weights = {id(t): (t, id(t) in params) for t in (*params.values(), *buffers.values())}

    rec = _Recorder(weights, names)
    hooks = [
        torch.nn.modules.module.register_module_forward_pre_hook(rec.enter),
        torch.nn.modules.module.register_module_forward_hook(rec.leave, always_call=True),
    ]
    try:
        # inference_mode(False): under an outer inference_mode, composite ops (linear, matmul,
        # layer_norm, ...) would reach the dispatch mode undecomposed; no_grad keeps it cheap.
        with _eval_mode(model), _mha_fastpath_disabled(), torch.inference_mode(False), \
                torch.no_grad():
            if device.type == "meta":
                args, kwargs = _move((args, kwargs), device)
            with _sdpa_counted(rec), _FunctionCounter(rec), _DispatchCounter(rec):
                call_model(*args, **kwargs)
    except ChipfitError:
        raise
    except Exception as exc:  # the model itself failed: say so in one sentence
        where = "on the meta device; try `device` cpu" if device.type == "meta" else f"on {device}"
        raise ChipfitError(f"running the model failed {where}: {first_line(exc)}") from exc
    finally:
        for h in hooks:
            h.remove()

    # packed (quantized) weights are no nn.Parameter: their ops counted them
    total_params += sum(o.params for o in rec.ops if o.op in PACKED_WEIGHT_OPS)
    return CostGraph(
        model=name or type(model).__name__,
        ops=rec.ops,
        params=total_params,
        inputs={f"arg{i}": tuple(a.shape) for i, a in enumerate(args) if isinstance(a, torch.Tensor)}
        | {k: tuple(v.shape) for k, v in kwargs.items() if isinstance(v, torch.Tensor)},
        module_types=types,
        frontend="torch",
    )


__all__ = ["trace"]
