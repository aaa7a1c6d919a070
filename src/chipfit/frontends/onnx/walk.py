"""Walk a shape-inferred ONNX graph through the op registry into a :class:`CostGraph`.

* **Constants fold.** A node that reads only initializers, Constant outputs or shape
  metadata (``Shape``, ``Size``) is computed once by every runtime (weight transposes,
  DequantizeLinear of int8 weights, mask and position-id arithmetic): it is not an op, and
  its output is a constant that remembers the initializers it came from.
* **Parameters** are the initializer elements (float, quantized integer and int32 bias types,
  more than one element) that ops read through their parameter inputs, each counted once
  however many ops share it. Scales, zero points, shapes, axes and recurrent initial
  states are read but are not parameters.
* **Precision read from the graph.** An op whose weight comes from an int8 (int4, fp8)
  initializer stores its weights at that width; an op whose activation input is an integer
  tensor or a QuantizeLinear/DequantizeLinear-marked one reads activations at that width.
  Everything else is analysed at the precision the user asks.
* **Names.** Ops are grouped by the module path the exporter encoded: the dynamo exporter's
  ``pkg.torch.onnx.name_scopes`` metadata, or the scope in node names such as
  ``/layer1/layer1.0/conv1/Conv`` (TorchScript exporter and most others).
"""

from __future__ import annotations

import ast

from chipfit.core.costgraph import CostGraph, Op
from chipfit.core.errors import ChipfitError
from chipfit.frontends.costs import Cost, numel, quantization_notes
from chipfit.frontends.onnx.model import FLOAT_TYPES, QUANTIZED_BITS, LoadedModel, load
from chipfit.frontends.onnx.ops import (
    CONTROL_FLOW,
    DATA_INPUTS,
    DATA_MOVEMENT,
    QDQ,
    SHAPE_ONLY,
    NodeShapes,
    UnknownShape,
    lookup,
)

_INT32, _INT64, _BOOL = 6, 7, 9
#: element types a parameter can have: floats, quantized integers and int32 (quantized biases)
PARAM_TYPES = FLOAT_TYPES | set(QUANTIZED_BITS) | {_INT32}
_METADATA = frozenset({"Shape", "Size"})


def _attrs(node) -> dict:
    from onnx import helper

    out = {}
    for a in node.attribute:
        if a.HasField("g") or len(a.graphs):
            continue  # subgraphs: control flow is not costed
        try:
            value = helper.get_attribute_value(a)
        except Exception:
            continue
        out[a.name] = value.decode(errors="replace") if isinstance(value, bytes) else value
    return out


def scope(node, weight_names: list[str] = ()) -> tuple[str, str]:
    """(module path, module class name) the exporter encoded for ``node``.

    When onnxscript's rewriter fused two nodes (a BatchNorm into the Conv before it) the
    survivor carries the other's metadata; its weight's name (``conv1.weight``) then says
    which module it belongs to.
    """
    meta = {p.key: p.value for p in node.metadata_props}
    if "Fuse" in meta.get("pkg.onnxscript.rewriter.rule_name", ""):
        for w in weight_names:
            if w.endswith(".weight") and "::" not in w:
                return w[: -len(".weight")], ""
    scopes = meta.get("pkg.torch.onnx.name_scopes")
    if scopes:
        try:
            parts = ast.literal_eval(scopes)
            classes = ast.literal_eval(meta.get("pkg.torch.onnx.class_hierarchy", "[]"))
        except (ValueError, SyntaxError):
            parts, classes = [], []
        if isinstance(parts, list) and len(parts) >= 2:
            cls = classes[-2] if isinstance(classes, list) and len(classes) == len(parts) else ""
            return str(parts[-2]), str(cls).rsplit(".", 1)[-1]
    name = node.name
    if "/" not in name:
        return "", ""
    path: list[str] = []
    for seg in name.strip("/").split("/")[:-1]:
        if not seg:
            continue
        # the TorchScript exporter repeats the parent's name in a child's ('layer1/layer1.0')
        if path and seg.startswith(path[-1] + "."):
            path[-1] = seg
        else:
            path.append(seg)
    return ".".join(path), ""


class _Walker:
    def __init__(self, loaded: LoadedModel):
        self.values = loaded.values
        self.inits = loaded.initializers
        # constant tensors -> the initializers (Constant outputs) they were computed from
        self.const: dict[str, frozenset[str]] = {n: frozenset([n]) for n in self.inits}
        self.qbits: dict[str, int] = {}     # activations marked quantized (QDQ, integer types)
        self.counted: set[str] = set()
        self.ops: list[Op] = []
        self.module_types: dict[str, str] = {}
        self.unknown: list[str] = []

    # -- helpers -------------------------------------------------------------------------
    def shape(self, name: str):
        v = self.values.get(name)
        return v.shape if v is not None else None

    def is_param(self, init: str) -> bool:
        t = self.inits.get(init)
        return t is not None and t.elem_type in PARAM_TYPES and numel(t.shape) > 1

    def storage_bits(self, name: str) -> int | None:
        """Bits a constant is stored at when the model fixes them (quantized), else None."""
        origins = [o for o in self.const.get(name, ()) if o in self.inits]
        if not origins:
            return None
        biggest = max(origins, key=lambda o: numel(self.inits[o].shape))
        return QUANTIZED_BITS.get(self.inits[biggest].elem_type)

    def act_bits(self, name: str) -> int | None:
        if name in self.qbits:
            return self.qbits[name]
        v = self.values.get(name)
        return QUANTIZED_BITS.get(v.elem_type) if v is not None else None

    def param_inputs(self, node, params: tuple[int, ...] | None) -> list[str]:
        idx = params if params is not None else DATA_INPUTS.get(node.op_type)
        ins = list(node.input)
        return [ins[i] for i in (idx if idx is not None else range(len(ins))) if i < len(ins) and ins[i]]

    # -- the walk ------------------------------------------------------------------------
    def visit(self, node) -> None:
        ins = [i for i in node.input if i]
        outs = [o for o in node.output if o]
        entry = lookup(node.domain, node.op_type)
        default_domain = node.domain in ("", "ai.onnx")
        if node.op_type not in CONTROL_FLOW and all(i in self.const for i in ins):
            origin = frozenset().union(*(self.const[i] for i in self.param_inputs(
                node, entry.params if entry else None) if i in self.const))
            for o in outs:
                self.const.setdefault(o, origin)
            return
        if default_domain and node.op_type in _METADATA:
            for o in outs:
                self.const[o] = frozenset()
            return
        if node.op_type in QDQ and node.domain in ("", "ai.onnx", "com.microsoft"):
            for o in outs:  # runtimes fuse QDQ pairs into the integer kernel around them
                bits = self.act_bits(ins[0]) or self.act_bits(o)
                if bits:
                    self.qbits[o] = bits
            return
        if default_domain and node.op_type in SHAPE_ONLY and entry is None:
            if ins and ins[0] in self.qbits:
                for o in outs:
                    self.qbits[o] = self.qbits[ins[0]]
            return
        self.record(node, entry, ins, outs)

    def record(self, node, entry, ins: list[str], outs: list[str]) -> None:
        op_label = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        label = node.name or op_label
        raw_inputs = list(node.input)
        ns = NodeShapes(
            node.op_type,
            tuple(self.shape(i) if i else None for i in raw_inputs),
            tuple(self.shape(o) if o else None for o in node.output),
            _attrs(node),
            tuple(bool(i) for i in raw_inputs),
        )
        weights = [i for i in raw_inputs if i and i in self.const and self.const[i]]
        has_weight = any(self.is_param(o) for w in weights for o in self.const[w])
        cost = Cost()
        if entry is None:
            kind = "data" if node.domain in ("", "ai.onnx") and node.op_type in DATA_MOVEMENT else "unsupported"
        else:
            kind = entry.kind
            if kind == "embedding" and not has_weight:
                kind = "data"   # Gather from an activation: a copy of the gathered rows
            try:
                cost = entry.formula(ns)
            except UnknownShape as exc:
                kind = "unsupported"
                self.unknown.append(f"{label} ({op_label}): {exc}")
            except (ValueError, IndexError, KeyError, TypeError, ZeroDivisionError, AttributeError) as exc:
                raise ChipfitError(f"node '{label}' ({op_label}) is malformed: {exc}") from None
            if kind == "data" and entry.kind == "embedding":
                cost = Cost(act_read_elems=cost.weight_elems + (cost.act_read_elems or 0))
        if kind == "matmul" and has_weight:
            kind = "linear"

        params = 0
        for name in self.param_inputs(node, entry.params if entry else None):
            for origin in self.const.get(name, ()):
                if origin not in self.counted and self.is_param(origin):
                    self.counted.add(origin)
                    params += numel(self.inits[origin].shape)
        weight_elems = sum(numel(self.shape(w)) for w in weights
                           if self.shape(w) is not None and self.values[w].elem_type not in (_INT64, _BOOL))
        acts = [i for i in ins if i not in self.const]
        act_read = sum(numel(self.shape(i)) for i in acts if self.shape(i) is not None)
        act_write = sum(numel(self.shape(o)) for o in outs if self.shape(o) is not None)
        wbits = None
        if weights:
            wbits = self.storage_bits(max(weights, key=lambda w: numel(self.shape(w) or ())))
        abits = next((b for b in (self.act_bits(i) for i in acts) if b), None)

        path, module_type = scope(node, [o for w in weights for o in sorted(self.const[w])])
        if module_type:
            self.module_types.setdefault(path, module_type)
        self.ops.append(Op(
            name=path,
            kind=kind,
            op=op_label,
            macs=int(cost.macs),
            nonmac_flops=int(cost.nonmac),
            params=params,
            weight_elems=int(weight_elems if cost.weight_elems is None else cost.weight_elems),
            act_read_elems=int(act_read if cost.act_read_elems is None else cost.act_read_elems),
            act_write_elems=int(act_write if cost.act_write_elems is None else cost.act_write_elems),
            input_shapes=tuple(self.shape(i) or () for i in raw_inputs if i),
            output_shapes=tuple(self.shape(o) or () for o in outs),
            module_type=module_type,
            supported=kind != "unsupported",
            weight_bits=wbits,
            act_bits=abits,
            node=node.name,
        ))


def walk(loaded: LoadedModel, name: str | None = None) -> CostGraph:
    w = _Walker(loaded)
    for node in loaded.nodes:
        w.visit(node)
    notes = list(loaded.notes)
    if w.unknown:
        notes.append(f"{len(w.unknown)} op(s) have shapes onnx shape inference could not determine "
                     f"(listed as unsupported), first: {w.unknown[0]}")
    control = sorted({op.op for op in w.ops if op.op in CONTROL_FLOW})
    if control:
        notes.append(f"control flow ({', '.join(control)}) is not costed: its subgraphs are listed as unsupported")
    notes += quantization_notes(w.ops)
    return CostGraph(
        model=name or loaded.path.name,
        ops=w.ops,
        params=sum(op.params for op in w.ops),
        inputs=dict(loaded.inputs),
        module_types=w.module_types,
        frontend="onnx",
        notes=notes,
    )


def read(path, *, input_shapes=None, dims=None, batch=None, name: str | None = None) -> CostGraph:
    """The cost graph of an ``.onnx`` file (weights never read)."""
    return walk(load(path, input_shapes=input_shapes, dims=dims, batch=batch), name)
