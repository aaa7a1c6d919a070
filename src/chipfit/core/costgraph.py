"""The cost graph: what every frontend produces and every analysis consumes.

A :class:`CostGraph` is a flat, ordered list of :class:`Op` records. Each op carries its
hierarchical name (the module path, ``layer1.0.conv1``), its kind, its multiply-accumulates
(``macs``), its other floating-point operations (``nonmac_flops``), the parameter elements
it is the first to use, the weight elements and activation elements it reads, the activation
elements it writes, and its shapes. Precision is not baked in: bytes are computed on demand
from a :class:`~chipfit.core.precision.Precision`, except where the model itself fixes the storage
of an op (a quantized ONNX graph stores int8 weights whatever precision the user asks):
``weight_bits`` / ``act_bits`` then override the precision's bits for that op.

Counting conventions (docs/architecture.md): ``flops = 2 * macs + nonmac_flops``; one MAC is two
operations, as in every chip's TOPS rating. Ops no formula covers are kept in the graph with
``supported=False`` and summarised in :attr:`CostGraph.unsupported`; they are never silently
counted as zero.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from math import prod

from chipfit.core.precision import Precision, get_precision, weight_role
from chipfit.core.precision import nbytes as _nbytes

Shape = tuple[int, ...]

#: Op kinds, the coarse classes reports colour and group by.
KINDS = (
    "conv",         # convolutions, transposed and grouped included
    "linear",       # matrix product with a weight operand (nn.Linear, projections)
    "matmul",       # matrix product of two activations
    "attention",    # fused attention (QK^T, softmax, AV) of any SDPA kernel
    "norm",         # batch/layer/group/instance/RMS normalisation
    "activation",   # ReLU, GELU, SiLU, sigmoid, ...
    "softmax",
    "pool",
    "elementwise",  # add, mul, div, pow, comparisons, ...
    "reduction",    # sum, mean, max over dimensions
    "embedding",
    "resize",       # interpolation / upsampling
    "data",         # copies that move bytes but do no arithmetic (cat, clone, gather, ...)
    "unsupported",  # no formula: listed, never silently zero
)


@dataclass(slots=True)
class Op:
    """One operation of the model, with everything analysis needs and no precision."""

    name: str                 # module path of the innermost module ('' for the root)
    kind: str                 # one of KINDS
    op: str                   # the concrete op, e.g. 'aten.convolution'
    macs: int = 0
    nonmac_flops: int = 0
    params: int = 0           # unique parameter elements this op is the first to use
    weight_elems: int = 0     # weight (parameter/buffer) elements read
    act_read_elems: int = 0   # activation elements read
    act_write_elems: int = 0  # activation elements written
    input_shapes: tuple[Shape, ...] = ()
    output_shapes: tuple[Shape, ...] = ()
    module_type: str = ""     # class name of the innermost module
    supported: bool = True
    weight_bits: int | None = None  # storage fixed by the model (quantized), else the precision's
    act_bits: int | None = None
    node: str = ""            # the frontend's own name of the op (an ONNX node name)
    cache_read_elems: int = 0   # of act_read_elems: read from a KV cache
    cache_write_elems: int = 0  # of act_write_elems: written to a KV cache

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.nonmac_flops

    @property
    def weight_role(self) -> str:
        """What its weights are to a weight format: see :func:`chipfit.core.precision.weight_role`."""
        return weight_role(self.kind, self.name)

    def weight_bits_at(self, precision: Precision) -> float:
        """Bits per weight element: fixed by the model, else the format's for the op's role."""
        return self.weight_bits or precision.bits_for(self.weight_role)

    def act_bits_at(self, precision: Precision) -> int:
        return self.act_bits or precision.activation_bits

    def weight_bytes(self, precision: str | Precision = "fp32") -> int:
        return _nbytes(self.weight_elems, self.weight_bits_at(get_precision(precision)))

    def activation_bytes(self, precision: str | Precision = "fp32") -> int:
        bits = self.act_bits_at(get_precision(precision))
        return _nbytes(self.act_read_elems + self.act_write_elems, bits)

    def bytes(self, precision: str | Precision = "fp32") -> int:
        """Bytes moved by this op run alone: weights read + activations read and written."""
        return self.weight_bytes(precision) + self.activation_bytes(precision)

    def to_dict(self, precision: str | Precision = "fp32") -> dict:
        return {
            "name": self.name,
            "node": self.node,
            "kind": self.kind,
            "op": self.op,
            "module_type": self.module_type,
            "macs": self.macs,
            "flops": self.flops,
            "params": self.params,
            "weight_bytes": self.weight_bytes(precision),
            "activation_bytes": self.activation_bytes(precision),
            "weight_bits": self.weight_bits_at(get_precision(precision)),
            "activation_bits": self.act_bits_at(get_precision(precision)),
            "input_shapes": [list(s) for s in self.input_shapes],
            "output_shapes": [list(s) for s in self.output_shapes],
            "supported": self.supported,
        }


@dataclass(slots=True)
class ModuleRow:
    """Ops summed over one module at a chosen depth of the module tree."""

    name: str
    depth: int
    module_type: str
    n_ops: int = 0
    macs: int = 0
    nonmac_flops: int = 0
    params: int = 0
    weight_elems: int = 0
    act_read_elems: int = 0
    act_write_elems: int = 0
    # elements by the bits the model fixes for them (None: the precision's)
    _weight_by_bits: dict = field(default_factory=dict)
    _act_by_bits: dict = field(default_factory=dict)

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.nonmac_flops

    def add(self, op: Op) -> None:
        self.n_ops += 1
        self.macs += op.macs
        self.nonmac_flops += op.nonmac_flops
        self.params += op.params
        self.weight_elems += op.weight_elems
        self.act_read_elems += op.act_read_elems
        self.act_write_elems += op.act_write_elems
        w, a = self._weight_by_bits, self._act_by_bits
        key = (op.weight_bits, op.weight_role)
        w[key] = w.get(key, 0) + op.weight_elems
        a[op.act_bits] = a.get(op.act_bits, 0) + op.act_read_elems + op.act_write_elems

    def weight_bytes(self, precision: str | Precision = "fp32") -> int:
        p = get_precision(precision)
        return sum(_nbytes(n, bits or p.bits_for(role)) for (bits, role), n in self._weight_by_bits.items())

    def activation_bytes(self, precision: str | Precision = "fp32") -> int:
        p = get_precision(precision)
        return sum(_nbytes(n, bits or p.activation_bits) for bits, n in self._act_by_bits.items())

    def to_dict(self, precision: str | Precision = "fp32") -> dict:
        return {
            "name": self.name,
            "depth": self.depth,
            "module_type": self.module_type,
            "ops": self.n_ops,
            "macs": self.macs,
            "flops": self.flops,
            "params": self.params,
            "weight_bytes": self.weight_bytes(precision),
            "activation_bytes": self.activation_bytes(precision),
        }


@dataclass
class CostGraph:
    """An ordered list of ops plus model-level facts a frontend knows."""

    model: str
    ops: list[Op] = field(default_factory=list)
    params: int = 0                      # unique parameter elements of the whole model
    inputs: dict[str, Shape] = field(default_factory=dict)
    module_types: dict[str, str] = field(default_factory=dict)  # module path -> class name
    frontend: str = ""
    notes: list[str] = field(default_factory=list)
    kv_cache_elems: int = 0              # KV-cache elements held after this pass (generative phases)

    # -- as data --------------------------------------------------------------------------
    def to_data(self) -> dict:
        """The graph as plain JSON data (every op a row of :data:`OP_FIELDS` values), which
        :meth:`from_data` reads back to an equal graph: how the built-in networks ship, traced."""
        return {"model": self.model, "params": self.params, "inputs": {k: list(v) for k, v in self.inputs.items()},
                "module_types": self.module_types, "frontend": self.frontend, "notes": list(self.notes),
                "kv_cache_elems": self.kv_cache_elems, "op_fields": list(OP_FIELDS),
                "ops": [[_plain(getattr(op, f)) for f in OP_FIELDS] for op in self.ops]}

    @classmethod
    def from_data(cls, data: dict) -> "CostGraph":
        if data.get("op_fields") != list(OP_FIELDS):
            raise ValueError("the stored graph was written with other op fields")
        ops = [Op(**{f: _shapes(v) if f in ("input_shapes", "output_shapes") else v for f, v in zip(OP_FIELDS, row)})
               for row in data["ops"]]
        return cls(model=data["model"], ops=ops, params=data["params"],
                   inputs={k: tuple(v) for k, v in data["inputs"].items()}, module_types=data["module_types"],
                   frontend=data["frontend"], notes=list(data["notes"]), kv_cache_elems=data["kv_cache_elems"])

    # -- totals -----------------------------------------------------------------------
    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)

    @property
    def nonmac_flops(self) -> int:
        return sum(op.nonmac_flops for op in self.ops)

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.nonmac_flops

    @property
    def io_elements(self) -> int:
        """Elements of the network's inputs and of its last op's output: what a host hands an
        accelerator and takes back for one pass."""
        return sum(prod(shape) for shape in self.inputs.values()) + (self.ops[-1].act_write_elems if self.ops else 0)

    @property
    def unsupported(self) -> dict[str, int]:
        """Ops without a cost formula, with how often each occurred, in first-seen order."""
        return dict(Counter(op.op for op in self.ops if not op.supported))

    def weight_storage(self, precision: str | Precision = "fp32") -> dict[tuple[str, float], int]:
        """Unique parameter elements by (role, bits per weight): at ``precision`` (a format may
        store the LM head, embeddings and norms at other widths than the matrices), or at the
        bits the model fixes for the ops that first use them."""
        p = get_precision(precision)
        out: dict[tuple[str, float], int] = {}
        for op in self.ops:
            if op.params:
                key = (op.weight_role, op.weight_bits_at(p))
                out[key] = out.get(key, 0) + op.params
        # parameters no op claims (held but unused by this input) are stored as matrices
        rest = self.params - sum(out.values())
        if rest > 0:
            key = ("matrix", p.bits_per_weight)
            out[key] = out.get(key, 0) + rest
        return out

    def weight_bytes(self, precision: str | Precision = "fp32") -> int:
        """Bytes to store every unique parameter once (:meth:`weight_storage`)."""
        return sum(_nbytes(n, bits) for (_, bits), n in self.weight_storage(precision).items())

    def activation_bytes(self, precision: str | Precision = "fp32") -> int:
        """Activation traffic: elements every op reads and writes, summed, unfused."""
        p = get_precision(precision)
        return sum(op.activation_bytes(p) for op in self.ops)

    def weight_traffic_bytes(self, precision: str | Precision = "fp32") -> int:
        """Weight bytes read by all ops (a weight used twice is read twice)."""
        p = get_precision(precision)
        return sum(op.weight_bytes(p) for op in self.ops)

    @property
    def kv_cache_read_elems(self) -> int:
        return sum(op.cache_read_elems for op in self.ops)

    @property
    def kv_cache_write_elems(self) -> int:
        return sum(op.cache_write_elems for op in self.ops)

    def peak_activation_bytes(self, precision: str | Precision = "fp32") -> int:
        """Activation bytes one op needs resident at once (its inputs and outputs), at
        the largest op: a lower bound on peak activation memory, since tensors kept for later
        ops (residuals, skip connections, a KV cache) add to it."""
        p = get_precision(precision)
        return max((op.activation_bytes(p) for op in self.ops), default=0)

    # -- views --------------------------------------------------------------------------
    def by_module(self, depth: int = 1) -> list[ModuleRow]:
        """Sum ops per module, cutting module paths at ``depth`` (0 = whole model).

        Rows are returned in the order their first op ran; every op lands in exactly one
        row, so the rows add up to the totals.
        """
        rows: dict[str, ModuleRow] = {}
        for op in self.ops:
            parts = op.name.split(".") if op.name else []
            key = ".".join(parts[:depth])
            row = rows.get(key)
            if row is None:
                row = rows[key] = ModuleRow(
                    name=key,
                    depth=min(depth, len(parts)),
                    module_type=self.module_types.get(key, ""),
                )
            row.add(op)
        return list(rows.values())

    def module_tree(self, depth: int = 2) -> list[ModuleRow]:
        """Rows for every module down to ``depth``, parents before their children.

        Each row sums the ops inside that module (at any depth below it), so a parent's
        row equals the sum of its children plus the ops it runs itself.
        """
        rows: dict[str, ModuleRow] = {}
        for op in self.ops:
            parts = op.name.split(".") if op.name else []
            for d in range(0, min(depth, len(parts)) + 1):
                if d == 0 and parts:
                    continue  # the root row only holds ops run by the root module itself
                key = ".".join(parts[:d])
                row = rows.get(key)
                if row is None:
                    row = rows[key] = ModuleRow(key, d, self.module_types.get(key, ""))
                row.add(op)
        order = {key: i for i, key in enumerate(rows)}

        def tree_key(row: ModuleRow) -> tuple[int, ...]:
            parts = row.name.split(".") if row.name else []
            return tuple(order[".".join(parts[:d])] for d in range(0 if not parts else 1, len(parts) + 1))

        return sorted(rows.values(), key=tree_key)

    def by_kind(self) -> dict[str, ModuleRow]:
        rows: dict[str, ModuleRow] = {}
        for op in self.ops:
            rows.setdefault(op.kind, ModuleRow(name=op.kind, depth=0, module_type="")).add(op)
        return rows


#: The fields of an op, in the order :meth:`CostGraph.to_data` writes them.
OP_FIELDS = tuple(f.name for f in fields(Op))


def _plain(value):
    return [list(x) for x in value] if isinstance(value, tuple) else value


def _shapes(value) -> tuple:
    return tuple(tuple(x) for x in value)
