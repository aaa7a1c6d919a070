"""Walk a TFLite model's main subgraph through the op registry into a :class:`CostGraph`.

* **Order.** Operators are walked in the order the file stores them, which is the order the
  interpreter runs them.
* **Constants fold.** An operator that reads only constant tensors (a DEQUANTIZE of float16
  weights, a RESHAPE of a weight) runs once, not per inference: it is not an op, and its
  output is a constant that remembers the weights it came from.
* **Parameters** are the constant tensors (float, quantized integer and int32 bias types,
  more than one element) that ops read through their parameter inputs, each counted once
  however many ops share it. Shapes, axes and paddings are read but are not parameters.
* **Precision read from the file.** An op whose weight is stored as int8 (uint8, int16, int4)
  stores it at that width; an op whose activation input is such a tensor reads activations at
  that width. Everything else is analysed at the precision the user asks.
* **Custom ops** are listed as unsupported under their name. The Edge TPU compiler's
  ``edgetpu-custom-op`` holds the compiled part of the model (code and weights) in its
  options: it is one opaque op whose bytes count as 8-bit weights, its MACs unknown.
* **Names.** Ops are grouped by the scope in their output tensor's name
  (``model/block_1/conv/Conv2D`` → ``model.block_1.conv``).
"""

from __future__ import annotations

from chipfit.core.costgraph import CostGraph, Op
from chipfit.core.errors import ChipfitError
from chipfit.frontends.costs import Cost, numel, quantization_notes
from chipfit.frontends.tflite.model import (
    BOOL,
    EDGETPU_OP,
    FLOAT_TYPES,
    INT32,
    INT64,
    QUANTIZED_BITS,
    LoadedModel,
    Operator,
    load,
)
from chipfit.frontends.tflite.ops import (
    CONTROL_FLOW,
    DATA_INPUTS,
    DATA_MOVEMENT,
    SHAPE_ONLY,
    OpShapes,
    fused_activation,
    lookup,
)

#: tensor types a parameter can have: floats, quantized integers and int32 (quantized biases)
PARAM_TYPES = FLOAT_TYPES | set(QUANTIZED_BITS) | {INT32}


def scope(name: str) -> str:
    """The module path a converter encoded in a tensor name: its first ``;``-separated part,
    without the last ``/`` segment, dotted."""
    first = name.split(";", 1)[0]
    parts = [p for p in first.split("/")[:-1] if p]
    return ".".join(parts)


class _Walker:
    def __init__(self, loaded: LoadedModel):
        self.tensors = loaded.tensors
        # constant tensors -> the constants (weights) they were computed from
        self.const: dict[int, frozenset[int]] = {i: frozenset([i]) for i, t in self.tensors.items() if t.constant}
        self.qbits: dict[int, int] = {}
        self.counted: set[int] = set()
        self.ops: list[Op] = []
        self.custom: dict[str, int] = {}
        self.control: set[str] = set()
        self.edgetpu_bytes = 0

    def shape(self, i: int):
        return self.tensors[i].shape if i != -1 else None

    def is_param(self, i: int) -> bool:
        t = self.tensors[i]
        return t.type in PARAM_TYPES and numel(t.shape) > 1

    def storage_bits(self, i: int) -> int | None:
        origins = self.const.get(i, ())
        if not origins:
            return None
        biggest = max(origins, key=lambda o: (numel(self.tensors[o].shape), o))
        return QUANTIZED_BITS.get(self.tensors[biggest].type)

    def act_bits(self, i: int) -> int | None:
        return self.qbits.get(i) or QUANTIZED_BITS.get(self.tensors[i].type)

    def param_inputs(self, op: Operator, params: tuple[int, ...] | None) -> list[int]:
        idx = params if params is not None else DATA_INPUTS.get(op.op)
        ins = op.inputs
        return [ins[k] for k in (idx if idx is not None else range(len(ins))) if k < len(ins) and ins[k] != -1]

    # -- the walk ------------------------------------------------------------------------
    def visit(self, op: Operator) -> None:
        ins = [i for i in op.inputs if i != -1]
        entry = None if op.custom else lookup(op.op)
        if not op.custom and op.op not in CONTROL_FLOW and all(i in self.const for i in ins):
            origin = frozenset().union(*(self.const[i] for i in self.param_inputs(op, entry.params if entry else None)
                                         if i in self.const))
            for o in op.outputs:
                if o != -1:
                    self.const.setdefault(o, origin)
            return
        if not op.custom and op.op in SHAPE_ONLY:
            bits = self.act_bits(ins[0]) if ins else None
            for o in op.outputs:
                if bits and o != -1:
                    self.qbits[o] = bits
            return
        self.record(op, entry, ins)

    def record(self, op: Operator, entry, ins: list[int]) -> None:
        outs = [o for o in op.outputs if o != -1]
        ns = OpShapes(op.op, tuple(self.shape(i) for i in op.inputs), tuple(self.shape(o) for o in outs), op.options)
        params_idx = entry.params if entry is not None else None
        weights = [i for i in self.param_inputs(op, params_idx) if i in self.const and self.const[i]]
        has_weight = any(self.is_param(o) for w in weights for o in self.const[w])
        cost = Cost()
        if entry is None:
            kind = "data" if not op.custom and op.op in DATA_MOVEMENT else "unsupported"
            if op.custom:
                self.custom[op.op] = self.custom.get(op.op, 0) + 1
            elif op.op in CONTROL_FLOW:
                self.control.add(op.op)
        else:
            kind = entry.kind
            if kind == "embedding" and not has_weight:
                kind = "data"   # GATHER from an activation: a copy of the gathered rows
            try:
                cost = entry.formula(ns)
                act = fused_activation(ns)
            except (ValueError, IndexError, KeyError, TypeError, ZeroDivisionError) as exc:
                raise ChipfitError(f"operator {op.index} ({op.op}, writing '{self._out_name(outs)}') is "
                                   f"malformed: {exc}") from None
            cost = Cost(macs=cost.macs, nonmac=cost.nonmac + act, weight_elems=cost.weight_elems,
                        act_read_elems=cost.act_read_elems, act_write_elems=cost.act_write_elems)
            if kind == "data" and entry.kind == "embedding":
                cost = Cost(act_read_elems=(cost.weight_elems or 0) + (cost.act_read_elems or 0))
        if kind == "matmul" and has_weight:
            kind = "linear"

        params = 0
        for i in self.param_inputs(op, params_idx):
            for origin in self.const.get(i, ()):
                if origin not in self.counted and self.is_param(origin):
                    self.counted.add(origin)
                    params += numel(self.tensors[origin].shape)
        weight_elems = sum(numel(self.shape(w)) for w in weights if self.tensors[w].type not in (INT64, BOOL))
        wbits = self.storage_bits(max(weights, key=lambda w: numel(self.shape(w)))) if weights else None
        if op.custom and op.op == EDGETPU_OP:
            # the compiled subgraph: its code and weights are one blob in the op's options
            self.edgetpu_bytes += op.custom_bytes
            params += op.custom_bytes
            weight_elems += op.custom_bytes
            wbits = 8
        acts = [i for i in ins if i not in self.const]
        act_read = sum(numel(self.shape(i)) for i in acts)
        act_write = sum(numel(self.shape(o)) for o in outs)
        abits = next((b for b in (self.act_bits(i) for i in acts) if b), None)
        if abits is None and op.custom:
            abits = next((b for b in (self.act_bits(o) for o in outs) if b), None)
        out_name = self._out_name(outs)
        self.ops.append(Op(
            name=scope(out_name),
            kind=kind,
            op=op.op,
            macs=int(cost.macs),
            nonmac_flops=int(cost.nonmac),
            params=params,
            weight_elems=int(weight_elems if cost.weight_elems is None else cost.weight_elems),
            act_read_elems=int(act_read if cost.act_read_elems is None else cost.act_read_elems),
            act_write_elems=int(act_write if cost.act_write_elems is None else cost.act_write_elems),
            input_shapes=tuple(self.shape(i) for i in ins),
            output_shapes=tuple(self.shape(o) for o in outs),
            supported=kind != "unsupported",
            weight_bits=wbits,
            act_bits=abits,
            node=out_name,
        ))

    def _out_name(self, outs: list[int]) -> str:
        return self.tensors[outs[0]].name if outs else ""


def walk(loaded: LoadedModel, name: str | None = None) -> CostGraph:
    w = _Walker(loaded)
    for op in loaded.operators:
        w.visit(op)
    notes = list(loaded.notes)
    if EDGETPU_OP in w.custom:
        notes.append(f"{w.custom[EDGETPU_OP]} Edge TPU op(s) '{EDGETPU_OP}' hold the part of the model the Edge TPU "
                     f"compiler compiled ({w.edgetpu_bytes:,} bytes of code and weights, counted as 8-bit weights): "
                     f"their MACs are not counted; count the model as it was before compilation for them")
    others = {k: v for k, v in w.custom.items() if k != EDGETPU_OP}
    if others:
        notes.append(f"custom op(s) {', '.join(sorted(others))} have no cost formula (listed as unsupported)")
    if w.control:
        notes.append(f"control flow ({', '.join(sorted(w.control))}) is not costed: listed as unsupported")
    notes += quantization_notes(w.ops)
    return CostGraph(
        model=name or loaded.path.name,
        ops=w.ops,
        params=sum(op.params for op in w.ops),
        inputs=dict(loaded.inputs),
        frontend="tflite",
        notes=notes,
    )


def read(path, *, batch: int | None = None, name: str | None = None) -> CostGraph:
    """The cost graph of a ``.tflite`` file (weights never read). Its shapes are the ones the
    file stores: ``batch`` may only repeat the batch it was converted for."""
    loaded = load(path)
    if batch is not None:
        stored = {s[0] for s in loaded.inputs.values() if s}
        if stored != {batch}:
            raise ChipfitError(f"'{loaded.path}': a TFLite model's shapes are fixed in the file (batch "
                               f"{', '.join(map(str, sorted(stored))) or 'none'}); convert it again for `batch` {batch}")
    return walk(loaded, name)
