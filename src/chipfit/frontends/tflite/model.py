"""Read a ``.tflite`` file: its operators, tensor shapes and weight sizes, never its weights.

* The file is mapped, not read: only the tables the walk needs are touched, so the pages
  holding the weights are never read from disk, whatever the file's size.
* Every offset is checked before it is followed (:mod:`.flat`), every declared length against
  the bytes the file holds, every rank, dimension and element count against a cap, and the
  operators of the main subgraph against ``LIMITS.max_onnx_nodes``: a corrupt or hostile file
  gives one :class:`ChipfitError` sentence, never a traceback, a hang or a huge allocation.
* Shapes are the static ones the file stores. A ``-1`` in a graph input's ``shape_signature``
  (a dynamic dimension, usually the batch) is counted at the size the file stores (1), and a
  note says so.
* Weights are sized, never interpreted: a constant tensor's bytes are the length of its
  buffer, checked to hold the elements its shape declares.

The schema (operator codes, tensor types, option tables) is TensorFlow Lite's
``schema.fbs``; the op and type names come from the ``tflite`` package.
"""

from __future__ import annotations

import math
import mmap
import os
from dataclasses import dataclass, field
from pathlib import Path

from chipfit.core.errors import ChipfitError, MissingDependency
from chipfit.core.fileio import exists, is_file
from chipfit.core.limits import LIMITS
from chipfit.frontends.tflite.flat import Buffer, FlatError, Table, Vector

#: no tensor may have more dimensions than this, no dimension exceed MAX_DIM, no tensor hold MAX_ELEMS
MAX_RANK = 64
MAX_DIM = 2**40
MAX_ELEMS = 2**62
#: the most inputs or outputs one operator may name, and all operators together per node allowed
MAX_OPERANDS = 1 << 16
OPERANDS_PER_NODE = 8
#: the TFLite file identifier (bytes 4..8 of every file the converter writes)
IDENTIFIER = b"TFL3"
#: the custom op the Edge TPU compiler puts in place of the subgraph it compiled
EDGETPU_OP = "edgetpu-custom-op"

# TensorType codes (schema.fbs): bits per element; strings, resources and variants have none
FLOAT32, FLOAT16, INT32, UINT8, INT64, STRING, BOOL, INT16 = 0, 1, 2, 3, 4, 5, 6, 7
INT8, FLOAT64, INT4, BFLOAT16 = 9, 10, 17, 18
ELEMENT_BITS = {FLOAT32: 32, FLOAT16: 16, INT32: 32, UINT8: 8, INT64: 64, BOOL: 8, INT16: 16, 8: 64,
                INT8: 8, FLOAT64: 64, 11: 128, 12: 64, 15: 32, 16: 16, INT4: 4, BFLOAT16: 16}
FLOAT_TYPES = frozenset({FLOAT32, FLOAT16, FLOAT64, BFLOAT16})
#: storage bits of the quantized types
QUANTIZED_BITS = {INT8: 8, UINT8: 8, INT16: 16, INT4: 4}

#: option fields the cost formulas read: union type name -> {field: (slot, struct format)}
_FUSED = ("fused_activation_function", "b")
OPTION_FIELDS: dict[str, dict[str, tuple[int, str]]] = {
    "Conv2DOptions": {"stride_w": (1, "i"), "stride_h": (2, "i"), "fused_activation_function": (3, "b"),
                      "dilation_w_factor": (4, "i"), "dilation_h_factor": (5, "i")},
    "DepthwiseConv2DOptions": {"stride_w": (1, "i"), "stride_h": (2, "i"), "depth_multiplier": (3, "i"),
                               "fused_activation_function": (4, "b")},
    "Conv3DOptions": {"fused_activation_function": (4, "b")},
    "FullyConnectedOptions": {"fused_activation_function": (0, "b"), "keep_num_dims": (2, "?")},
    "Pool2DOptions": {"stride_w": (1, "i"), "stride_h": (2, "i"), "filter_width": (3, "i"),
                      "filter_height": (4, "i"), "fused_activation_function": (5, "b")},
    "TransposeConvOptions": {"stride_w": (1, "i"), "stride_h": (2, "i"), "fused_activation_function": (3, "b")},
    "AddOptions": {"fused_activation_function": (0, "b")},
    "SubOptions": {"fused_activation_function": (0, "b")},
    "MulOptions": {"fused_activation_function": (0, "b")},
    "DivOptions": {"fused_activation_function": (0, "b")},
    "L2NormOptions": {"fused_activation_function": (0, "b")},
    "ConcatenationOptions": {"axis": (0, "i"), "fused_activation_function": (1, "b")},
    "BatchMatMulOptions": {"adj_x": (0, "?"), "adj_y": (1, "?")},
    "GeluOptions": {"approximate": (0, "?")},
}


@dataclass
class Tensor:
    """What the walk knows of one tensor."""

    index: int
    name: str
    shape: tuple[int, ...]
    type: int
    constant_bytes: int = 0          # bytes of its buffer (a weight, a shape constant); 0: computed
    variable: bool = False
    dynamic: tuple[int, ...] = ()    # axes its shape signature marks -1 (counted at the stored size)

    @property
    def constant(self) -> bool:
        return self.constant_bytes > 0 and not self.variable  # a variable's buffer is its initial state


@dataclass
class Operator:
    """One operator of the main subgraph, its operands resolved."""

    index: int
    op: str                              # builtin name ('CONV_2D') or the custom code
    custom: bool
    inputs: tuple[int, ...]              # tensor indices, -1 for an absent optional input
    outputs: tuple[int, ...]
    options: dict = field(default_factory=dict)
    custom_bytes: int = 0                # length of a custom op's options (an Edge TPU op's compiled blob)


@dataclass
class LoadedModel:
    path: Path
    operators: list[Operator]
    tensors: dict[int, Tensor]           # every tensor an operator or the graph names
    inputs: dict[str, tuple[int, ...]]   # graph inputs by name
    subgraphs: int = 1
    notes: list[str] = field(default_factory=list)


def _schema():
    """(builtin op names by code, option union names by code) from the ``tflite`` package."""
    try:
        from tflite.BuiltinOperator import BuiltinOperator
        from tflite.BuiltinOptions import BuiltinOptions
    except ImportError:
        raise MissingDependency("tflite", "tflite", "reading .tflite files") from None
    ops = {v: k for k, v in vars(BuiltinOperator).items() if k.isupper() and isinstance(v, int)}
    options = {v: k for k, v in vars(BuiltinOptions).items() if not k.startswith("_") and isinstance(v, int)}
    return ops, options


def load(path: str | os.PathLike) -> LoadedModel:
    ops, options = _schema()
    path = Path(path).expanduser()
    if not is_file(path):
        raise ChipfitError(f"'{path}' does not exist" if not exists(path) else f"'{path}' is not a file")
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < 8:
                raise ChipfitError(f"'{path}' is not a TFLite model ({'it is empty' if not size else 'too short'})")
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                if data[4:8] != IDENTIFIER:
                    raise ChipfitError(f"'{path}' is not a TFLite model (it lacks the TFL3 file identifier)")
                return _Reader(Buffer(data), path, ops, options).read()
    except FlatError as exc:
        raise ChipfitError(f"'{path}' is not a readable TFLite model ({exc})") from None
    except (OSError, ValueError) as exc:  # mmap of a file that shrank, a file system without it
        raise ChipfitError(f"'{path}': cannot read it ({type(exc).__name__}: {str(exc)[:200]})") from None


class _Reader:
    def __init__(self, buf: Buffer, path: Path, ops: dict, options: dict):
        self.buf, self.path, self.op_names, self.option_names = buf, path, ops, options
        self.tensors: dict[int, Tensor] = {}
        self.notes: list[str] = []
        self.operands = 0  # operand indices read so far (operators may share one long list)

    def fail(self, what: str) -> ChipfitError:
        return ChipfitError(f"'{self.path}': {what}")

    def read(self) -> LoadedModel:
        model = self.buf.root()
        subgraphs = model.vector(2, 4, "the subgraph list")
        if subgraphs is None or len(subgraphs) == 0:
            raise self.fail("the model has no subgraph")
        self.codes = model.vector(1, 4, "the operator code list")
        self.buffers = model.vector(4, 4, "the buffer list")
        graph = subgraphs.table(0, "subgraph")
        self.tensor_table = graph.vector(0, 4, "the tensor list")
        operators = graph.vector(3, 4, "the operator list")
        count = len(operators) if operators is not None else 0
        if count > LIMITS.max_onnx_nodes:
            raise self.fail(f"its main subgraph declares {count:,} operators, more than the "
                            f"{LIMITS.max_onnx_nodes:,} chipfit reads (raise the cap with `max_onnx_nodes`)")
        inputs = self.indices(graph.vector(1, 4, "the subgraph's input list"), "the subgraph's inputs")
        self.indices(graph.vector(2, 4, "the subgraph's output list"), "the subgraph's outputs")
        code_cache: dict[int, tuple[str, bool]] = {}
        ops = [self.operator(operators.table(i, "operator"), i, code_cache) for i in range(count)]
        graph_inputs: dict[str, tuple[int, ...]] = {}
        for i in inputs:
            if i == -1:
                continue
            t = self.tensor(i)
            graph_inputs[t.name] = t.shape
            if t.dynamic:
                what = "batch dimension" if t.dynamic == (0,) else f"dimension(s) {', '.join(map(str, t.dynamic))}"
                self.notes.append(f"input '{t.name}' has a dynamic {what}: counted at the size the file stores "
                                  f"({'×'.join(map(str, t.shape)) or 'a scalar'})")
        if len(subgraphs) > 1:
            self.notes.append(f"the model has {len(subgraphs)} subgraphs: only the main one is counted "
                              f"(control-flow ops that run the others are listed as unsupported)")
        return LoadedModel(self.path, ops, self.tensors, graph_inputs, len(subgraphs), self.notes)

    # -- operands --------------------------------------------------------------------------
    def indices(self, vector: Vector | None, what: str) -> tuple[int, ...]:
        if vector is None:
            return ()
        if len(vector) > MAX_OPERANDS:
            raise self.fail(f"{what} name {len(vector):,} tensors, more than the {MAX_OPERANDS:,} chipfit reads")
        self.operands += len(vector)
        if self.operands > OPERANDS_PER_NODE * LIMITS.max_onnx_nodes:
            raise self.fail(f"its operators name more than {OPERANDS_PER_NODE * LIMITS.max_onnx_nodes:,} operands, "
                            f"the most chipfit reads (raise the cap with `max_onnx_nodes`)")
        values = vector.scalars("i", MAX_OPERANDS)
        for i in values:
            if i != -1:
                self.tensor(i)
        return values

    def tensor(self, index: int) -> Tensor:
        if index in self.tensors:
            return self.tensors[index]
        n = len(self.tensor_table) if self.tensor_table is not None else 0
        if not 0 <= index < n:
            raise self.fail(f"an operator names tensor {index}, which is not among its {n:,} tensors")
        t = self.tensor_table.table(index, "tensor")
        name = t.string(3, f"the name of tensor {index}") or f"tensor{index}"
        shape_vec = t.vector(0, 4, f"the shape of tensor '{name}'")
        if shape_vec is not None and len(shape_vec) > MAX_RANK:
            raise self.fail(f"tensor '{name}' has an absurd rank ({len(shape_vec):,} dimensions)")
        shape = shape_vec.scalars("i", MAX_RANK) if shape_vec is not None else ()
        for d in shape:
            if d < 0 or d > MAX_DIM:
                raise self.fail(f"tensor '{name}' has an absurd dimension ({d:,})")
        elems = math.prod(shape)
        if elems > MAX_ELEMS:
            raise self.fail(f"tensor '{name}' would hold an absurd number of elements ({elems:.3g})")
        ttype = t.scalar(1, "b")
        stored = self.buffer_bytes(t.scalar(2, "I"), name)
        bits = ELEMENT_BITS.get(ttype)
        if stored and bits and not t.has(6):  # a sparse tensor stores fewer values than its shape
            if stored < -(-elems * bits // 8):
                raise self.fail(f"tensor '{name}' declares {elems:,} elements, which its {stored:,}-byte "
                                f"buffer does not hold")
        sig_vec = t.vector(7, 4, f"the shape signature of tensor '{name}'")
        signature = sig_vec.scalars("i", MAX_RANK) if sig_vec is not None and len(sig_vec) == len(shape) else ()
        dynamic = tuple(axis for axis, d in enumerate(signature) if d < 0)
        tensor = Tensor(index, name, tuple(shape), ttype, stored, bool(t.scalar(5, "?", False)), dynamic)
        self.tensors[index] = tensor
        return tensor

    def buffer_bytes(self, index: int, tensor: str) -> int:
        if index == 0:
            return 0  # buffer 0 is the empty sentinel every computed tensor points to
        n = len(self.buffers) if self.buffers is not None else 0
        if index >= n:
            raise self.fail(f"tensor '{tensor}' refers to buffer {index:,}, which is not among its {n:,} buffers")
        b = self.buffers.table(index, "buffer")
        data = b.vector(0, 1, f"the data of buffer {index}")
        if data is not None and len(data):
            return len(data)
        offset, size = b.scalar(1, "Q"), b.scalar(2, "Q")
        if offset > 1 and size:  # a model over 2 GB keeps its weights after the flatbuffer
            if offset + size > self.buf.size:
                raise self.fail(f"buffer {index} of tensor '{tensor}' lies past the end of the file "
                                f"(the file is truncated)")
            return size
        return 0

    # -- operators -------------------------------------------------------------------------
    def opcode(self, index: int, cache: dict) -> tuple[str, bool]:
        if index in cache:
            return cache[index]
        n = len(self.codes) if self.codes is not None else 0
        if index >= n:
            raise self.fail(f"an operator uses operator code {index:,}, which is not among its {n:,} codes")
        code = self.codes.table(index, "operator code")
        builtin = max(code.scalar(0, "b"), code.scalar(3, "i"))  # the schema's rule for the two fields
        if builtin == 32:  # CUSTOM
            name = code.string(1, "a custom op's name", limit=128) or "(unnamed custom op)"
            cache[index] = (name, True)
        else:
            cache[index] = (self.op_names.get(builtin, f"BUILTIN_{builtin}"), False)
        return cache[index]

    def operator(self, table: Table, index: int, cache: dict) -> Operator:
        op, custom = self.opcode(table.scalar(0, "I"), cache)
        inputs = self.indices(table.vector(1, 4, f"the inputs of operator {index}"), f"operator {index}'s inputs")
        outputs = self.indices(table.vector(2, 4, f"the outputs of operator {index}"), f"operator {index}'s outputs")
        options: dict = {}
        kind = self.option_names.get(table.scalar(3, "B"))
        if kind in OPTION_FIELDS:
            opts = table.table(4, f"the options of operator {index}")
            if opts is not None:
                options = {name: opts.scalar(slot, fmt, None) for name, (slot, fmt) in OPTION_FIELDS[kind].items()}
                options = {k: v for k, v in options.items() if v is not None}
        custom_bytes = 0
        if custom:
            blob = table.vector(5, 1, f"the custom options of operator {index}")
            custom_bytes = len(blob) if blob is not None else 0
            if not custom_bytes:
                offset, size = table.scalar(9, "Q"), table.scalar(10, "Q")
                if offset and size:
                    if offset + size > self.buf.size:
                        raise self.fail(f"the custom options of operator {index} lie past the end of the file")
                    custom_bytes = size
        return Operator(index, op, custom, inputs, outputs, options, custom_bytes)
