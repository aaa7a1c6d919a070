"""Write TFLite flatbuffers in tests, without TensorFlow: the ``flatbuffers`` Builder driven by
the ``tflite`` package's generated builder functions (``ModelStart``, ``TensorAddShape`` ...).

A :class:`ModelWriter` collects tensors and operators; :meth:`ModelWriter.finish` returns the
bytes of a ``.tflite`` file. Constant tensors get a buffer of the size their shape and type
need (zeros: nothing reads weight values), or the ``data`` given. :class:`Net` adds layers on
top (a convolution with its filter and bias, a fully connected layer ...) from a layer list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import flatbuffers
import tflite

TYPES = {"float32": 0, "float16": 1, "int32": 2, "uint8": 3, "int64": 4, "bool": 6, "int16": 7, "int8": 9}
BITS = {"float32": 32, "float16": 16, "int32": 32, "uint8": 8, "int64": 64, "bool": 8, "int16": 16, "int8": 8}
#: activation name -> ActivationFunctionType
ACTIVATIONS = {None: 0, "relu": 1, "relu_n1_to_1": 2, "relu6": 3, "tanh": 4}


@dataclass
class _Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str | int
    buffer: int = 0
    signature: tuple[int, ...] | None = None
    variable: bool = False


@dataclass
class _Op:
    code: int                       # index into the operator codes
    inputs: list[int]
    outputs: list[int]
    options: tuple[str, dict] | None = None
    custom_options: bytes | None = None


@dataclass
class ModelWriter:
    tensors: list[_Tensor] = field(default_factory=list)
    buffers: list[bytes] = field(default_factory=lambda: [b""])  # buffer 0: the empty sentinel
    ops: list[_Op] = field(default_factory=list)
    codes: list[tuple[int, str]] = field(default_factory=list)  # (builtin code, custom name)

    def tensor(self, name: str, shape, dtype: str | int = "float32", const: bool = False, data: bytes | None = None,
               signature=None) -> int:
        """Add a tensor; a constant one (``const`` or ``data``) gets its own buffer."""
        buffer = 0
        if const or data is not None:
            if data is None:
                data = bytes(-(-math.prod(shape) * BITS.get(dtype, 8) // 8))
            buffer = len(self.buffers)
            self.buffers.append(data)
        self.tensors.append(_Tensor(name, tuple(shape), dtype, buffer, tuple(signature) if signature else None))
        return len(self.tensors) - 1

    def op(self, name: str, inputs, outputs, options: tuple[str, dict] | None = None,
           custom_options: bytes | None = None) -> None:
        """Add an operator: a builtin (``CONV_2D``) or, for any other name, a custom op.
        ``options``: (option table name, {field: value}) as the generated builders spell them,
        e.g. ``("Conv2DOptions", {"StrideW": 2, "FusedActivationFunction": 3})``."""
        builtin = getattr(tflite.BuiltinOperator, name, None)
        key = (builtin, "") if builtin is not None else (tflite.BuiltinOperator.CUSTOM, name)
        if key not in self.codes:
            self.codes.append(key)
        self.ops.append(_Op(self.codes.index(key), list(inputs), list(outputs), options, custom_options))

    # -- serialisation -------------------------------------------------------------------
    def finish(self, inputs, outputs, description: str = "chipfit test") -> bytes:
        b = flatbuffers.Builder(1024)
        buffers = []
        for data in self.buffers:
            vec = b.CreateByteVector(data) if data else None
            tflite.BufferStart(b)
            if vec is not None:
                tflite.BufferAddData(b, vec)
            buffers.append(tflite.BufferEnd(b))
        tensors = []
        for t in self.tensors:
            name = b.CreateString(t.name)
            shape = _int_vector(b, tflite.TensorStartShapeVector, t.shape)
            sig = _int_vector(b, tflite.TensorStartShapeSignatureVector, t.signature) if t.signature else None
            tflite.TensorStart(b)
            tflite.TensorAddShape(b, shape)
            tflite.TensorAddType(b, TYPES.get(t.dtype, t.dtype))  # a number: any type code
            tflite.TensorAddBuffer(b, t.buffer)
            tflite.TensorAddName(b, name)
            if sig is not None:
                tflite.TensorAddShapeSignature(b, sig)
            if t.variable:
                tflite.TensorAddIsVariable(b, True)
            tensors.append(tflite.TensorEnd(b))
        ops = []
        for op in self.ops:
            ins = _int_vector(b, tflite.OperatorStartInputsVector, op.inputs)
            outs = _int_vector(b, tflite.OperatorStartOutputsVector, op.outputs)
            opts = _options(b, *op.options) if op.options else None
            custom = b.CreateByteVector(op.custom_options) if op.custom_options else None
            tflite.OperatorStart(b)
            tflite.OperatorAddOpcodeIndex(b, op.code)
            tflite.OperatorAddInputs(b, ins)
            tflite.OperatorAddOutputs(b, outs)
            if opts is not None:
                tflite.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, op.options[0]))
                tflite.OperatorAddBuiltinOptions(b, opts)
            if custom is not None:
                tflite.OperatorAddCustomOptions(b, custom)
            ops.append(tflite.OperatorEnd(b))
        graph_tensors = _offset_vector(b, tflite.SubGraphStartTensorsVector, tensors)
        graph_ins = _int_vector(b, tflite.SubGraphStartInputsVector, inputs)
        graph_outs = _int_vector(b, tflite.SubGraphStartOutputsVector, outputs)
        graph_ops = _offset_vector(b, tflite.SubGraphStartOperatorsVector, ops)
        graph_name = b.CreateString("main")
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, graph_tensors)
        tflite.SubGraphAddInputs(b, graph_ins)
        tflite.SubGraphAddOutputs(b, graph_outs)
        tflite.SubGraphAddOperators(b, graph_ops)
        tflite.SubGraphAddName(b, graph_name)
        graph = tflite.SubGraphEnd(b)
        codes = []
        for builtin, custom in self.codes:
            custom_name = b.CreateString(custom) if custom else None
            tflite.OperatorCodeStart(b)
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(builtin, 127))  # 127: see builtin_code
            tflite.OperatorCodeAddBuiltinCode(b, builtin)
            if custom_name is not None:
                tflite.OperatorCodeAddCustomCode(b, custom_name)
            tflite.OperatorCodeAddVersion(b, 1)
            codes.append(tflite.OperatorCodeEnd(b))
        code_vec = _offset_vector(b, tflite.ModelStartOperatorCodesVector, codes)
        graphs = _offset_vector(b, tflite.ModelStartSubgraphsVector, [graph])
        buffer_vec = _offset_vector(b, tflite.ModelStartBuffersVector, buffers)
        desc = b.CreateString(description)
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddOperatorCodes(b, code_vec)
        tflite.ModelAddSubgraphs(b, graphs)
        tflite.ModelAddDescription(b, desc)
        tflite.ModelAddBuffers(b, buffer_vec)
        b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def _int_vector(b, start, values):
    start(b, len(values))
    for v in reversed(list(values)):
        b.PrependInt32(v)
    return b.EndVector()


def _offset_vector(b, start, offsets):
    start(b, len(offsets))
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def _options(b, table: str, values: dict):
    getattr(tflite, f"{table}Start")(b)
    for name, value in values.items():
        getattr(tflite, f"{table}Add{name}")(b, value)
    return getattr(tflite, f"{table}End")(b)


# --------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------
class Net:
    """A feed-forward network written layer by layer, NHWC. ``dtype`` is the activations' and
    weights' type (int8 models keep int32 biases, as the converter writes them)."""

    def __init__(self, input_shape, dtype: str = "float32", name: str = "input", signature=None):
        self.w = ModelWriter()
        self.dtype = dtype
        self.bias_dtype = "int32" if dtype in ("int8", "uint8") else dtype
        self.x = self.input = self.w.tensor(name, input_shape, dtype, signature=signature)
        self.n = 0

    def shape(self, t: int) -> tuple[int, ...]:
        return self.w.tensors[t].shape

    def _out(self, scope: str, op: str, shape) -> int:
        self.n += 1
        return self.w.tensor(f"{scope}/{op}" if scope else f"t{self.n}", shape, self.dtype)

    def conv(self, scope: str, out_shape, kernel, cout: int, *, depthwise: bool = False, groups: int = 1,
             stride: int = 1, act: str | None = None, bias: bool = True, x: int | None = None) -> int:
        x = self.x if x is None else x
        cin = self.shape(x)[3]
        kh, kw = kernel
        filt = (1, kh, kw, cout) if depthwise else (cout, kh, kw, cin // groups)
        w = self.w.tensor(f"{scope}/weights", filt, self.dtype, const=True)
        b = self.w.tensor(f"{scope}/bias", (cout,), self.bias_dtype, const=True) if bias else -1
        y = self._out(scope, "DepthwiseConv2D" if depthwise else "Conv2D", out_shape)
        if depthwise:
            opts = ("DepthwiseConv2DOptions", {"StrideW": stride, "StrideH": stride, "DepthMultiplier": cout // cin,
                                               "FusedActivationFunction": ACTIVATIONS[act]})
        else:
            opts = ("Conv2DOptions", {"StrideW": stride, "StrideH": stride, "FusedActivationFunction": ACTIVATIONS[act]})
        self.w.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [x, w, b], [y], opts)
        self.x = y
        return y

    def fully_connected(self, scope: str, cout: int, act: str | None = None, bias: bool = True) -> int:
        x = self.x
        k = self.shape(x)[-1]
        w = self.w.tensor(f"{scope}/weights", (cout, k), self.dtype, const=True)
        b = self.w.tensor(f"{scope}/bias", (cout,), self.bias_dtype, const=True) if bias else -1
        y = self._out(scope, "MatMul", (math.prod(self.shape(x)) // k, cout))
        self.w.op("FULLY_CONNECTED", [x, w, b], [y],
                  ("FullyConnectedOptions", {"FusedActivationFunction": ACTIVATIONS[act]}))
        self.x = y
        return y

    def add(self, scope: str, a: int, b: int, act: str | None = None) -> int:
        y = self._out(scope, "add", self.shape(a))
        self.w.op("ADD", [a, b], [y], ("AddOptions", {"FusedActivationFunction": ACTIVATIONS[act]}))
        self.x = y
        return y

    def pool(self, scope: str, kind: str, filt, stride: int, out_shape) -> int:
        y = self._out(scope, "pool", out_shape)
        self.w.op(kind, [self.x], [y], ("Pool2DOptions", {"FilterWidth": filt[1], "FilterHeight": filt[0],
                                                          "StrideW": stride, "StrideH": stride}))
        self.x = y
        return y

    def mean(self, scope: str, axes, out_shape) -> int:
        axes_t = self.w.tensor(f"{scope}/axes", (len(axes),), "int32",
                               data=b"".join(int(a).to_bytes(4, "little") for a in axes))
        y = self._out(scope, "Mean", out_shape)
        self.w.op("MEAN", [self.x, axes_t], [y])
        self.x = y
        return y

    def reshape(self, scope: str, out_shape) -> int:
        shape_t = self.w.tensor(f"{scope}/shape", (len(out_shape),), "int32",
                                data=b"".join(int(d).to_bytes(4, "little", signed=True) for d in out_shape))
        y = self._out(scope, "Reshape", out_shape)
        self.w.op("RESHAPE", [self.x, shape_t], [y])
        self.x = y
        return y

    def unary(self, scope: str, op: str, out_dtype: str | None = None) -> int:
        self.n += 1
        y = self.w.tensor(f"{scope}/{op.lower()}", self.shape(self.x), out_dtype or self.dtype)
        self.w.op(op, [self.x], [y])
        self.x = y
        return y

    def finish(self, outputs=None) -> bytes:
        return self.w.finish([self.input], outputs or [self.x])
