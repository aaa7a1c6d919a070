"""The TFLite frontend: counts against PyTorch and hand arithmetic, and every bad file one sentence.

Models are written in-test with :mod:`tflite_writer` (the flatbuffers Builder and the
``tflite`` package's generated builders): no TensorFlow, no downloads.

* MobileNetV2 written as TFLite from torchvision's own module (each convolution with its
  BatchNorm folded into a bias, as the TFLite converter does) counts the MACs chipfit's
  PyTorch frontend counts for ``mobilenet_v2``, layer by layer, and its parameters minus the
  folded BatchNorm channels (weight and bias 2C become the convolution's bias C).
* Each op's formula is checked against arithmetic written out in the test.
* Hostile files (truncated, random, absurd shapes, offsets out of range, a million operators,
  byte and structure mutations under hypothesis) give one ChipfitError sentence, exit code 2.
"""

from __future__ import annotations

import math
import os
import struct
import sys
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("tflite")
pytest.importorskip("flatbuffers")
from fuzzing import FUZZ_MEMORY, apply_mutations, fuzz_settings, memory_limit, time_limit  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from tflite_writer import ModelWriter, Net  # noqa: E402

import chipfit  # noqa: E402
from chipfit import ChipfitError  # noqa: E402
from chipfit.core.limits import LIMITS  # noqa: E402
from chipfit.frontends.tflite import ops as tfl_ops  # noqa: E402


@pytest.fixture(autouse=True)
def _default_caps():
    """The command line leaves the caps it was given set: every test starts from the defaults."""
    LIMITS.reset()
    yield
    LIMITS.reset()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def count(tmp_path, data: bytes, name: str = "m.tflite", **kwargs):
    return chipfit.count(str(write(tmp_path / name, data)), **kwargs)


def raises(path, *words, **kwargs) -> str:
    with pytest.raises(ChipfitError) as info:
        chipfit.count(str(path), **kwargs)
    message = str(info.value)
    assert message and "\n" not in message and "Traceback" not in message, repr(message)
    for w in words:
        assert w.lower() in message.lower(), f"{w!r} not in {message!r}"
    return message


def one_sentence(result) -> str:
    rc, out, err = result
    assert rc == 2, (rc, out, err)
    assert out == "" and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("chipfit: "), err
    return lines[0]


def single(op: str, in_shapes, out_shape, options=None, consts=(), dtype="float32", out_dtype=None):
    """One operator over graph inputs (``consts``: indices of inputs that are constants)."""
    w = ModelWriter()
    ins = [w.tensor(f"in{i}", s, dtype, const=i in consts) if s is not None else -1
           for i, s in enumerate(in_shapes)]
    y = w.tensor("block/op/y", out_shape, out_dtype or dtype)
    w.op(op, ins, [y], options)
    return w.finish([i for k, i in enumerate(ins) if i != -1 and k not in consts], [y])


# --------------------------------------------------------------------------------------
# MobileNetV2 against the PyTorch frontend
# --------------------------------------------------------------------------------------
def mobilenet_v2_tflite(dtype: str = "float32", pool: str = "MEAN") -> tuple[bytes, int]:
    """torchvision's MobileNetV2 as a TFLite file: (bytes, BatchNorm channels folded away)."""
    torch = pytest.importorskip("torch")
    tvm = pytest.importorskip("torchvision.models")
    from torchvision.models.mobilenetv2 import InvertedResidual
    from torchvision.ops.misc import Conv2dNormActivation

    model = tvm.mobilenet_v2().eval()
    shapes: dict[str, tuple] = {}
    hooks = [m.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape)))
             for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    for h in hooks:
        h.remove()
    folded = sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))

    net = Net((1, 224, 224, 3), dtype=dtype, name="input")
    if dtype != "float32":  # an integer model takes float input and quantizes it
        net.w.tensors[net.input].dtype = "float32"
        net.unary("quant", "QUANTIZE")

    def conv(name: str, module, act):
        n, c, h, w = shapes[name]
        depthwise = module.groups == module.in_channels and module.groups > 1
        assert depthwise or module.groups == 1
        net.conv(name.replace(".", "/"), (n, h, w, c), module.kernel_size, module.out_channels,
                 depthwise=depthwise, stride=module.stride[0], act=act)

    def emit(module, prefix: str):
        for child_name, child in module.named_children():
            path = f"{prefix}.{child_name}" if prefix else child_name
            if isinstance(child, InvertedResidual):
                start = net.x
                emit(child.conv, f"{path}.conv")
                if child.use_res_connect:
                    net.add(f"{path}/add".replace(".", "/"), start, net.x)
            elif isinstance(child, Conv2dNormActivation):
                assert isinstance(child[2], torch.nn.ReLU6)
                conv(f"{path}.0", child[0], "relu6")
            elif isinstance(child, torch.nn.Conv2d):
                conv(path, child, None)
            elif isinstance(child, torch.nn.BatchNorm2d):
                continue  # folded into the convolution before it
            else:
                emit(child, path)

    emit(model.features, "features")
    if pool == "MEAN":
        net.mean("pool", (1, 2), (1, 1280))
    else:
        net.pool("pool", pool, (7, 7), 1, (1, 1, 1, 1280))
        net.reshape("flatten", (1, 1280))
    net.fully_connected("classifier/1", model.classifier[1].out_features)
    if dtype != "float32":
        net.unary("dequant", "DEQUANTIZE", out_dtype="float32")
    return net.finish(), folded


@pytest.fixture(scope="module")
def torch_mobilenet():
    pytest.importorskip("torchvision")
    return chipfit.count("mobilenet_v2")


@pytest.mark.parametrize("dtype,pool", [("float32", "MEAN"), ("int8", "AVERAGE_POOL_2D")])
def test_mobilenet_v2_counts_what_pytorch_counts(tmp_path, torch_mobilenet, dtype, pool):
    data, folded = mobilenet_v2_tflite(dtype, pool)
    r = count(tmp_path, data)
    ref = torch_mobilenet
    assert r.macs == ref.macs == 300_774_272
    assert r.params == ref.params - folded == 3_504_872 - 17_056
    assert r.unsupported_ops == {}
    # layer by layer: every convolution and the classifier, under the module path of its scope
    tfl = {op.name: op for op in r.layers if op.kind in ("conv", "linear")}
    torch_ops = {op.name: op for op in ref.layers if op.kind in ("conv", "linear")}
    assert len(tfl) == 53 and set(tfl) == set(torch_ops)
    for name, op in tfl.items():
        assert op.macs == torch_ops[name].macs, name
    # a fused ReLU6 costs what PyTorch's separate hardtanh costs; the folded bias one per output
    acts = {op.name.rsplit(".", 1)[0]: op for op in ref.layers if op.kind == "activation"}
    fused = 0
    for name, op in tfl.items():
        scope = name.rsplit(".", 1)[0]
        act = acts[scope].nonmac_flops if scope in acts else 0
        fused += scope in acts
        assert op.nonmac_flops == act + math.prod(op.output_shapes[0]), name
    assert fused == 35
    assert sum(op.kind == "elementwise" and op.op == "ADD" for op in r.layers) == 10
    if dtype == "int8":
        assert any("quantized graph: 100% of MACs run on 8-bit" in n for n in r.notes), r.notes
        assert r.weight_bytes == r.params            # 8-bit weights whatever the precision asked
        assert all(op.act_bits == 8 for op in r.layers if op.kind == "conv")
    else:
        assert not any("quantized" in n for n in r.notes), r.notes
        assert r.weight_bytes == 4 * r.params        # fp32, the precision asked
        assert all(op.weight_bits is None for op in r.layers)


def test_mobilenet_v2_convolutions_run_at_the_classes_pytorchs_do(tmp_path, torch_mobilenet):
    # TFLite is channels-last: a 1x1 CONV_2D (filter (O, 1, 1, C)) is a matrix product, and a
    # DEPTHWISE_CONV_2D is depthwise; the roofline and the runtime op lists read them as the
    # PyTorch network's (17 depthwise, 35 others)
    from chipfit.analysis.roofline import op_class
    from chipfit.core.opfamily import family

    r = count(tmp_path, mobilenet_v2_tflite("int8", "AVERAGE_POOL_2D")[0])
    torch_ops = {op.name: op for op in torch_mobilenet.graph.ops if op.kind == "conv"}
    tfl = [op for op in r.graph.ops if op.kind == "conv"]
    assert len(tfl) == len(torch_ops) == 52
    for op in tfl:
        assert op_class(op) == op_class(torch_ops[op.name]), op.name
        assert family(op) == family(torch_ops[op.name]), op.name
    assert sum(op_class(op) == "depthwise" for op in tfl) == 17


def test_a_small_network_counts_what_pytorch_counts(tmp_path):
    """conv (bias, stride 2) → ReLU → depthwise conv ×2 channels → 1×1 conv → mean → linear, in
    PyTorch and in TFLite: MACs and parameters equal (no BatchNorm here, biases in both)."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class Small(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.dw = nn.Conv2d(8, 16, 5, padding=2, groups=8)
            self.pw = nn.Conv2d(16, 12, 1)
            self.fc = nn.Linear(12, 10)

        def forward(self, x):
            x = self.pw(self.dw(torch.relu(self.conv(x))))
            return self.fc(x.mean((2, 3)))

    ref = chipfit.count(Small(), input_shape=(2, 3, 32, 32))
    net = Net((2, 32, 32, 3))
    net.conv("conv", (2, 16, 16, 8), (3, 3), 8, stride=2, act="relu")
    net.conv("dw", (2, 16, 16, 16), (5, 5), 16, depthwise=True)
    net.conv("pw", (2, 16, 16, 12), (1, 1), 12)
    net.mean("mean", (1, 2), (2, 12))
    net.fully_connected("fc", 10)
    r = count(tmp_path, net.finish())
    assert r.macs == ref.macs == 2 * (16 * 16 * 8 * 27 + 16 * 16 * 16 * 25 + 16 * 16 * 12 * 16 + 12 * 10)
    assert r.params == ref.params == 8 * 27 + 8 + 16 * 25 + 16 + 12 * 16 + 12 + 120 + 10
    by_name = {op.name: op.macs for op in r.layers if op.macs}
    assert by_name == {op.name: op.macs for op in ref.layers if op.macs}


# --------------------------------------------------------------------------------------
# One formula per op, against hand arithmetic
# --------------------------------------------------------------------------------------
def only_op(tmp_path, data: bytes):
    r = count(tmp_path, data)
    assert len(r.layers) == 1, [op.op for op in r.layers]
    return r, r.layers[0]


def test_conv2d_grouped_with_bias_and_fused_relu6(tmp_path):
    # input 1×10×10×8, 2 groups: filter (6, 3, 3, 4), output 1×8×8×6
    data = single("CONV_2D", [(1, 10, 10, 8), (6, 3, 3, 4), (6,)], (1, 8, 8, 6),
                  ("Conv2DOptions", {"FusedActivationFunction": 3}), consts=(1, 2))
    r, op = only_op(tmp_path, data)
    assert (op.kind, op.op, op.name) == ("conv", "CONV_2D", "block.op")
    assert op.macs == 8 * 8 * 6 * 3 * 3 * 4
    assert op.nonmac_flops == 384 + 2 * 384          # bias 1 + relu6 2 per output
    assert op.params == r.params == 6 * 3 * 3 * 4 + 6
    assert op.weight_elems == 216 + 6
    assert (op.act_read_elems, op.act_write_elems) == (800, 384)


def test_conv2d_channels_not_a_multiple_of_the_filter_are_malformed(tmp_path):
    data = single("CONV_2D", [(1, 10, 10, 7), (6, 3, 3, 4), (6,)], (1, 8, 8, 6), consts=(1, 2))
    raises(write(tmp_path / "m.tflite", data), "malformed", "CONV_2D", "7 input channels")


def test_depthwise_with_depth_multiplier(tmp_path):
    # 4 channels × multiplier 2 = 8, 5×5 kernel, stride 2: 1×16×16×4 -> 1×8×8×8
    data = single("DEPTHWISE_CONV_2D", [(1, 16, 16, 4), (1, 5, 5, 8), (8,)], (1, 8, 8, 8),
                  ("DepthwiseConv2DOptions", {"DepthMultiplier": 2, "StrideW": 2, "StrideH": 2,
                                              "FusedActivationFunction": 1}), consts=(1, 2))
    _, op = only_op(tmp_path, data)
    assert op.macs == 8 * 8 * 8 * 25
    assert op.nonmac_flops == 512 + 512                # bias + relu
    assert op.params == 200 + 8


def test_fully_connected(tmp_path):
    data = single("FULLY_CONNECTED", [(4, 256), (100, 256), (100,)], (4, 100), consts=(1, 2))
    _, op = only_op(tmp_path, data)
    assert (op.kind, op.macs, op.nonmac_flops, op.params) == ("linear", 4 * 256 * 100, 400, 25_600 + 100)


def test_fully_connected_without_bias_and_of_two_activations(tmp_path):
    data = single("FULLY_CONNECTED", [(3, 64), (32, 64), None], (3, 32), consts=(1,))
    _, op = only_op(tmp_path, data)
    assert (op.macs, op.nonmac_flops, op.params) == (3 * 64 * 32, 0, 2048)
    data = single("FULLY_CONNECTED", [(3, 64), (32, 64)], (3, 32))
    _, op = only_op(tmp_path, data)
    assert (op.kind, op.macs, op.params) == ("matmul", 3 * 64 * 32, 0)


def test_transpose_conv_counts_from_the_input_side(tmp_path):
    # output shape (constant), filter (Cout 4, 3, 3, Cin 6), input 1×5×5×6, bias: stride 2 -> 1×11×11×4
    data = single("TRANSPOSE_CONV", [(4,), (4, 3, 3, 6), (1, 5, 5, 6), (4,)], (1, 11, 11, 4),
                  ("TransposeConvOptions", {"StrideW": 2, "StrideH": 2}), consts=(0, 1, 3))
    _, op = only_op(tmp_path, data)
    assert op.macs == 5 * 5 * 6 * 4 * 3 * 3
    assert op.nonmac_flops == 11 * 11 * 4              # bias
    assert op.params == 4 * 3 * 3 * 6 + 4              # not the output-shape constant


def test_batch_matmul_reads_adj_x(tmp_path):
    data = single("BATCH_MATMUL", [(2, 3, 7, 5), (2, 3, 7, 9)], (2, 3, 5, 9),
                  ("BatchMatMulOptions", {"AdjX": True}))
    _, op = only_op(tmp_path, data)
    assert (op.kind, op.macs) == ("matmul", 2 * 3 * 5 * 9 * 7)
    data = single("BATCH_MATMUL", [(2, 5, 7), (7, 9)], (2, 5, 9), consts=(1,))
    _, op = only_op(tmp_path, data)
    assert (op.kind, op.macs, op.params) == ("linear", 2 * 5 * 9 * 7, 63)


@pytest.mark.parametrize("op,options,per_elem", [
    ("ADD", ("AddOptions", {"FusedActivationFunction": 3}), 1 + 2),
    ("SUB", ("SubOptions", {"FusedActivationFunction": 1}), 1 + 1),
    ("MUL", ("MulOptions", {"FusedActivationFunction": 4}), 1 + 1),
    ("MUL", None, 1),
])
def test_binary_elementwise_with_fused_activation(tmp_path, op, options, per_elem):
    _, rec = only_op(tmp_path, single(op, [(1, 6, 6, 4), (1, 6, 6, 4)], (1, 6, 6, 4), options))
    assert (rec.kind, rec.macs, rec.nonmac_flops) == ("elementwise", 0, 144 * per_elem)
    assert (rec.act_read_elems, rec.act_write_elems) == (288, 144)


def test_an_unknown_fused_activation_is_malformed(tmp_path):
    data = single("ADD", [(1, 4), (1, 4)], (1, 4), ("AddOptions", {"FusedActivationFunction": 42}))
    raises(write(tmp_path / "m.tflite", data), "malformed", "fused activation 42")


@pytest.mark.parametrize("op,per_elem,kind", [
    ("RELU", 1, "activation"), ("RELU6", 2, "activation"), ("LOGISTIC", 4, "activation"),
    ("TANH", 1, "activation"), ("HARD_SWISH", 5, "activation"), ("SOFTMAX", 5, "softmax"),
    ("QUANTIZE", 4, "elementwise"), ("DEQUANTIZE", 2, "elementwise"),
])
def test_unary_per_element(tmp_path, op, per_elem, kind):
    dtype = "int8" if op == "DEQUANTIZE" else "float32"
    out_dtype = "int8" if op == "QUANTIZE" else "float32"
    data = single(op, [(2, 10, 3)], (2, 10, 3), dtype=dtype, out_dtype=out_dtype)
    _, rec = only_op(tmp_path, data)
    assert (rec.kind, rec.macs, rec.nonmac_flops) == (kind, 0, 60 * per_elem)
    assert (rec.act_read_elems, rec.act_write_elems) == (60, 60)


def test_pools(tmp_path):
    opts = ("Pool2DOptions", {"FilterWidth": 3, "FilterHeight": 2, "StrideW": 1, "StrideH": 2})
    _, op = only_op(tmp_path, single("AVERAGE_POOL_2D", [(1, 8, 8, 5)], (1, 4, 6, 5), opts))
    assert (op.kind, op.nonmac_flops) == ("pool", 4 * 6 * 5 * 6)
    _, op = only_op(tmp_path, single("MAX_POOL_2D", [(1, 8, 8, 5)], (1, 4, 6, 5), opts))
    assert op.nonmac_flops == 4 * 6 * 5 * 5
    raises(write(tmp_path / "nopts.tflite", single("MAX_POOL_2D", [(1, 8, 8, 5)], (1, 4, 6, 5))),
           "malformed", "filter size")


def test_mean_and_its_axes(tmp_path):
    _, op = only_op(tmp_path, single("MEAN", [(1, 7, 7, 32), (2,)], (1, 32), consts=(1,), out_dtype="float32"))
    assert (op.kind, op.nonmac_flops, op.params, op.weight_elems) == ("reduction", 7 * 7 * 32 + 32, 0, 0)


@pytest.mark.parametrize("op,out,per_elem", [
    ("RESIZE_BILINEAR", (1, 8, 8, 3), 7),              # 2 taps on each of 2 axes: 2×4 − 1
    ("RESIZE_BILINEAR", (1, 8, 4, 3), 3),              # one axis resized: 2×2 − 1
    ("RESIZE_NEAREST_NEIGHBOR", (1, 8, 8, 3), 0),      # a copy
])
def test_resize(tmp_path, op, out, per_elem):
    _, rec = only_op(tmp_path, single(op, [(1, 4, 4, 3), (2,)], out, consts=(1,)))
    assert (rec.kind, rec.nonmac_flops) == ("resize", per_elem * out[1] * out[2] * 3)
    assert rec.act_write_elems == out[1] * out[2] * 3


@pytest.mark.parametrize("op,ins,out,consts,read", [
    ("CONCATENATION", [(1, 4, 4, 3), (1, 4, 4, 5)], (1, 4, 4, 8), (), 128),
    ("PAD", [(1, 4, 4, 3), (4, 2)], (1, 6, 6, 3), (1,), 48),
    ("TRANSPOSE", [(2, 3, 5), (3,)], (5, 3, 2), (1,), 30),
    ("STRIDED_SLICE", [(1, 10, 10, 4), (4,), (4,), (4,)], (1, 5, 5, 4), (1, 2, 3), 100),
])
def test_data_movement_moves_bytes_only(tmp_path, op, ins, out, consts, read):
    _, rec = only_op(tmp_path, single(op, ins, out, consts=consts))
    assert (rec.kind, rec.macs, rec.nonmac_flops, rec.params, rec.weight_elems) == ("data", 0, 0, 0, 0)
    assert rec.act_read_elems == read
    assert rec.act_write_elems == out[0] * out[1] * out[2] * (out[3] if len(out) > 3 else 1)


def test_reshape_and_squeeze_are_ignored(tmp_path):
    w = ModelWriter()
    x = w.tensor("x", (1, 1, 1, 64))
    s = w.tensor("s", (2,), "int32", data=struct.pack("<2i", 1, 64))
    a = w.tensor("a", (1, 64))
    b = w.tensor("b", (64,))
    y = w.tensor("y", (64,))
    w.op("RESHAPE", [x, s], [a])
    w.op("SQUEEZE", [a], [b])
    w.op("RELU", [b], [y])
    r = count(tmp_path, w.finish([x], [y]))
    assert [op.op for op in r.layers] == ["RELU"] and r.flops == 64


def test_float16_weights_dequantized_once_are_folded(tmp_path):
    """The converter's float16 models store fp16 weights and DEQUANTIZE them: the DEQUANTIZE
    runs once, not per inference; the weight is one parameter, analysed at the precision asked."""
    w = ModelWriter()
    x = w.tensor("x", (1, 16))
    w16 = w.tensor("fc/w16", (8, 16), "float16", const=True)
    w32 = w.tensor("fc/w32", (8, 16))
    y = w.tensor("fc/MatMul", (1, 8))
    w.op("DEQUANTIZE", [w16], [w32])
    w.op("FULLY_CONNECTED", [x, w32, -1], [y])
    r = count(tmp_path, w.finish([x], [y]))
    assert [op.op for op in r.layers] == ["FULLY_CONNECTED"]
    op = r.layers[0]
    assert (op.macs, op.params, op.weight_elems, op.weight_bits) == (128, 128, 128, None)


def test_a_weight_shared_by_two_ops_is_one_parameter(tmp_path):
    w = ModelWriter()
    x = w.tensor("x", (1, 16))
    wt = w.tensor("w", (16, 16), const=True)
    h = w.tensor("h", (1, 16))
    y = w.tensor("y", (1, 16))
    w.op("FULLY_CONNECTED", [x, wt, -1], [h])
    w.op("FULLY_CONNECTED", [h, wt, -1], [y])
    r = count(tmp_path, w.finish([x], [y]))
    assert r.params == 256 and [op.params for op in r.layers] == [256, 0]
    assert r.graph.weight_traffic_bytes("fp32") == 2 * 256 * 4


def test_hybrid_int8_weights_with_float_activations(tmp_path):
    data = single("FULLY_CONNECTED", [(1, 64), (32, 64), (32,)], (1, 32), consts=(1, 2))
    w = ModelWriter()
    x = w.tensor("x", (1, 64))
    wt = w.tensor("w", (32, 64), "int8", const=True)
    y = w.tensor("y", (1, 32))
    w.op("FULLY_CONNECTED", [x, wt, -1], [y])
    r = count(tmp_path, w.finish([x], [y]))
    op = r.layers[0]
    assert (op.weight_bits, op.act_bits) == (8, None)
    assert any("weight-only" in n for n in r.notes), r.notes
    assert r.weight_bytes == 2048 and count(tmp_path, data, "f.tflite").weight_bytes == (2048 + 32) * 4


def test_int16_activations_with_int8_weights(tmp_path):
    """The converter's 16×8 mode: int8 weights, int16 activations, int64 biases."""
    w = ModelWriter()
    x = w.tensor("x", (1, 8, 8, 4), "int16")
    f = w.tensor("c/w", (6, 1, 1, 4), "int8", const=True)
    b = w.tensor("c/b", (6,), "int64", const=True)
    y = w.tensor("c/Conv2D", (1, 8, 8, 6), "int16")
    w.op("CONV_2D", [x, f, b], [y])
    r = count(tmp_path, w.finish([x], [y]))
    op = r.layers[0]
    assert (op.macs, op.weight_bits, op.act_bits) == (8 * 8 * 6 * 4, 8, 16)
    assert op.activation_bytes("fp32") == 2 * (256 + 384)
    assert any("8-bit weights and 16-bit activations" in n for n in r.notes), r.notes


def test_a_variable_tensor_is_state_not_a_weight(tmp_path):
    def model(variable: bool) -> bytes:
        w = ModelWriter()
        x = w.tensor("x", (1, 32))
        state = w.tensor("state", (1, 32), const=True)
        w.tensors[state].variable = variable  # the converter's LSTM/RNN states: a buffer of initial values
        y = w.tensor("y", (1, 32))
        w.op("ADD", [x, state], [y])
        return w.finish([x], [y])

    assert count(tmp_path, model(False), "const.tflite").params == 32
    r = count(tmp_path, model(True), "variable.tflite")
    assert r.params == 0 and r.layers[0].act_read_elems == 64


def test_registry_covers_the_common_builtins():
    for op in """CONV_2D DEPTHWISE_CONV_2D FULLY_CONNECTED ADD SUB MUL AVERAGE_POOL_2D MAX_POOL_2D MEAN
                 SOFTMAX LOGISTIC TANH RELU RELU6 HARD_SWISH QUANTIZE DEQUANTIZE BATCH_MATMUL STRIDED_SLICE
                 RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR TRANSPOSE_CONV""".split():
        assert tfl_ops.lookup(op) is not None, op
    for op in ("RESHAPE", "SQUEEZE"):
        assert op in tfl_ops.SHAPE_ONLY
    for op in ("CONCATENATION", "PAD", "TRANSPOSE"):
        assert op in tfl_ops.DATA_MOVEMENT
    with pytest.raises(ValueError, match="already registered"):
        tfl_ops.register("CONV_2D", kind="conv")(lambda n: None)


# --------------------------------------------------------------------------------------
# Custom ops, dynamic shapes, the MODEL string, a missing package
# --------------------------------------------------------------------------------------
def test_edgetpu_custom_op_is_one_opaque_unsupported_op(tmp_path, run_cli):
    blob = bytes(range(256)) * 40                      # 10,240 bytes of "compiled code and weights"
    w = ModelWriter()
    x = w.tensor("x", (1, 224, 224, 3), "float32")
    q = w.tensor("xq", (1, 224, 224, 3), "uint8")
    e = w.tensor("edgetpu/out", (1, 1001), "uint8")
    y = w.tensor("y", (1, 1001), "float32")
    w.op("QUANTIZE", [x], [q])
    w.op("edgetpu-custom-op", [q], [e], custom_options=blob)
    w.op("DEQUANTIZE", [e], [y])
    path = write(tmp_path / "m_edgetpu.tflite", w.finish([x], [y]))
    r = chipfit.count(str(path))
    assert r.unsupported_ops == {"edgetpu-custom-op": 1}
    op = next(op for op in r.layers if op.op == "edgetpu-custom-op")
    assert (op.kind, op.supported, op.macs) == ("unsupported", False, 0)
    assert op.input_shapes == ((1, 224, 224, 3),) and op.output_shapes == ((1, 1001),)
    assert (op.weight_elems, op.weight_bits, op.params) == (10_240, 8, 10_240)
    assert op.weight_bytes("fp32") == 10_240 and r.weight_bytes == 10_240
    assert any("Edge TPU" in n and "10,240 bytes" in n for n in r.notes), r.notes
    rc, out, err = run_cli("count", str(path), "--json")
    assert rc == 0, err
    assert '"edgetpu-custom-op"' in out


def test_other_custom_ops_are_listed_as_unsupported(tmp_path):
    w = ModelWriter()
    x = w.tensor("x", (1, 10, 4))
    a = w.tensor("anchors", (10, 4), const=True)
    y = w.tensor("y", (1, 10, 4))
    w.op("TFLite_Detection_PostProcess", [x, a], [y], custom_options=b"\x00" * 12)
    z = w.tensor("z", (1, 10, 4))
    w.op("NOT_A_REAL_OP_BUT_CUSTOM", [y], [z])
    r = count(tmp_path, w.finish([x], [z]))
    assert r.unsupported_ops == {"TFLite_Detection_PostProcess": 1, "NOT_A_REAL_OP_BUT_CUSTOM": 1}
    assert r.params == 40  # its constant input, like an unknown ONNX op's initializer
    assert any("TFLite_Detection_PostProcess" in n for n in r.notes)


def test_a_builtin_without_formula_and_control_flow_are_unsupported(tmp_path):
    r = count(tmp_path, single("LSTM", [(1, 4, 8)], (1, 4, 8)))
    assert r.unsupported_ops == {"LSTM": 1}
    r = count(tmp_path, single("WHILE", [(1, 4)], (1, 4)), "while.tflite")
    assert r.unsupported_ops == {"WHILE": 1}
    assert any("control flow (WHILE) is not costed" in n for n in r.notes), r.notes


def test_dynamic_batch_counts_at_one_and_says_so(tmp_path):
    net = Net((1, 8, 8, 3), signature=(-1, 8, 8, 3))
    net.conv("c", (1, 8, 8, 4), (3, 3), 4)
    r = count(tmp_path, net.finish())
    assert r.macs == 8 * 8 * 4 * 27
    assert r.graph.inputs == {"input": (1, 8, 8, 3)}
    assert any("dynamic batch dimension" in n and "1×8×8×3" in n for n in r.notes), r.notes


def test_shapes_are_fixed_in_the_file(tmp_path):
    net = Net((2, 8, 8, 3))
    net.conv("c", (2, 8, 8, 4), (3, 3), 4)
    path = write(tmp_path / "m.tflite", net.finish())
    assert chipfit.count(str(path), batch=2).macs == 2 * 8 * 8 * 4 * 27
    raises(path, "fixed in the file", "batch 2", batch=4)
    raises(path, "fixed in the file", input_shape="1,8,8,3")


def test_cli_count_and_check_take_a_tflite_path(tmp_path, run_cli):
    net = Net((1, 16, 16, 3))
    net.conv("c", (1, 16, 16, 8), (3, 3), 8, act="relu")
    path = write(tmp_path / "Model.TFLITE", net.finish())
    rc, out, err = run_cli("count", str(path), "--json")
    assert rc == 0, err
    assert f'"macs": {16 * 16 * 8 * 27}' in out
    rc, out, err = run_cli("check", str(path), "--chip", "hailo-8", "--fps", "30")
    assert rc in (0, 1), err
    assert "Traceback" not in err


def test_a_tflite_name_is_never_a_zoo_name_or_built(tmp_path):
    from chipfit.frontends.resolve import config_model, is_tflite, resolve

    assert is_tflite(" x.TFLite ") and not is_tflite("x.onnx")
    raises(tmp_path / "mobilenet_v2.tflite", "does not exist")
    with pytest.raises(ChipfitError, match="TFLite frontend"):
        resolve("mobilenet_v2.tflite")
    (tmp_path / "d.tflite").mkdir()
    assert config_model(str(tmp_path / "d.tflite")) is None
    raises(tmp_path / "d.tflite", "not a file")


def test_missing_tflite_package_is_one_sentence(tmp_path, monkeypatch):
    path = write(tmp_path / "m.tflite", single("RELU", [(1, 4)], (1, 4)))
    monkeypatch.setitem(sys.modules, "tflite", None)
    monkeypatch.setitem(sys.modules, "tflite.BuiltinOperator", None)
    raises(path, "needs the optional package 'tflite'", "pip install 'chipfit[tflite]'")


# --------------------------------------------------------------------------------------
# Hostile files
# --------------------------------------------------------------------------------------
def small_model() -> bytes:
    net = Net((1, 8, 8, 3))
    net.conv("net/c", (1, 4, 4, 8), (3, 3), 8, stride=2, act="relu6")
    net.pool("net/p", "MAX_POOL_2D", (2, 2), 2, (1, 2, 2, 8))
    net.reshape("net/r", (1, 32))
    net.fully_connected("net/fc", 5)
    x = net.x
    net.unary("net/sm", "SOFTMAX")
    net.w.op("edgetpu-custom-op", [x], [net.w.tensor("tpu", (1, 5), "uint8")], custom_options=b"\x01" * 64)
    return net.finish()


SMALL_MACS = 4 * 4 * 8 * 27 + 32 * 5


def test_the_fuzz_target_counts(tmp_path):
    r = count(tmp_path, small_model())
    assert r.macs == SMALL_MACS and r.unsupported_ops == {"edgetpu-custom-op": 1}


@pytest.mark.parametrize("data,words", [
    (b"", "empty"),
    (b"\x00" * 7, "too short"),
    (b"\x10\x00\x00\x00ONNXsomething else entirely" * 4, "TFL3"),
    (b"\x08\x00\x00\x00TFL3" + b"\xff" * 64, "not a readable TFLite model"),
    (b"\x04\x00\x00\x00TFL3", "not a readable TFLite model"),   # the root table is where its vtable is not
    (b"\xf0\xff\xff\x7fTFL3" + b"\x00" * 32, "outside the file"),
])
def test_bad_bytes(tmp_path, run_cli, data, words):
    path = write(tmp_path / "bad.tflite", data)
    raises(path, words)
    one_sentence(run_cli("count", str(path)))


def test_random_bytes_and_truncations(tmp_path, run_cli):
    import random

    rng = random.Random(7)
    good = small_model()
    for i in range(30):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(8, 400)))
        blob = blob[:4] + b"TFL3" + blob[8:] if i % 2 else blob
        path = write(tmp_path / f"r{i}.tflite", blob)
        with pytest.raises(ChipfitError):
            chipfit.count(str(path))
    for cut in (9, 40, len(good) // 3, len(good) // 2, len(good) - 9):
        path = write(tmp_path / f"t{cut}.tflite", good[:cut])
        raises(path)
    one_sentence(run_cli("count", str(tmp_path / f"t{len(good) // 2}.tflite")))


def test_a_self_referencing_root_and_a_vtable_loop(tmp_path):
    # the root offset 0 makes the root table start at byte 0, its vtable offset is 0 (itself)
    raises(write(tmp_path / "a.tflite", b"\x00\x00\x00\x00TFL3" + b"\x00" * 16), "malformed field table")
    # root at 8, vtable at 8 - (-4) = 12, whose size field says 4 and table size 0: no fields at all
    raises(write(tmp_path / "b.tflite", b"\x08\x00\x00\x00TFL3\xfc\xff\xff\xff\x04\x00\x00\x00"), "no subgraph")


def test_absurd_declared_shapes(tmp_path, run_cli):
    for shape, words in [((1, 2**31 - 1, 2**31 - 1, 2**31 - 1, 2**31 - 1, 2**31 - 1), "absurd number of elements"),
                         ((1, -5, 4), "absurd dimension (-5)"),
                         (tuple([2] * 65), "absurd rank (65")]:
        data = single("RELU", [shape], (1,))
        path = write(tmp_path / "absurd.tflite", data)
        raises(path, words)
        one_sentence(run_cli("count", str(path)))


def test_names_with_control_characters_or_invalid_utf8_stay_on_one_line(tmp_path, run_cli):
    w = ModelWriter()
    x = w.tensor("x", (1, 4))
    w.tensor("two\nlines\x1b[31m", (1, -4))
    w.op("RELU", [x], [1])
    path = write(tmp_path / "m.tflite", w.finish([x], [1]).replace(b"two", b"\xff\xfe\xfd"))
    message = raises(path, "absurd dimension (-4)")
    assert "\ufffd\ufffd\ufffdlines\ufffd[31m" in message, message
    one_sentence(run_cli("count", str(path)))


def test_a_weight_declaring_more_than_its_buffer(tmp_path):
    w = ModelWriter()
    x = w.tensor("x", (1, 16))
    wt = w.tensor("fc/w", (2**20, 16), data=b"\x00" * 64)
    y = w.tensor("y", (1, 2**20))
    w.op("FULLY_CONNECTED", [x, wt, -1], [y])
    raises(write(tmp_path / "m.tflite", w.finish([x], [y])), "'fc/w'", "16,777,216 elements", "64-byte")


def test_indices_out_of_range(tmp_path):
    w = ModelWriter()
    x = w.tensor("x", (1, 4))
    w.op("RELU", [x], [57])
    raises(write(tmp_path / "t.tflite", w.finish([x], [x])), "tensor 57", "not among its 1 tensors")
    w = ModelWriter()
    x = w.tensor("x", (1, 4))
    w.tensors[0].buffer = 9
    w.op("RELU", [x], [x])
    raises(write(tmp_path / "b.tflite", w.finish([x], [x])), "buffer 9")
    w = ModelWriter()
    x = w.tensor("x", (1, 4))
    w.op("RELU", [x], [x])
    w.ops[0].code = 3
    raises(write(tmp_path / "c.tflite", w.finish([x], [x])), "operator code 3")


def _patch_vector_length(data: bytes, old: int, new: int) -> bytes:
    """``data`` with the one uint32 vector length ``old`` (unique in it) set to ``new``."""
    needle = struct.pack("<I", old)
    assert data.count(needle) == 1, data.count(needle)
    return data.replace(needle, struct.pack("<I", new))


def test_a_million_operators_declared(tmp_path, run_cli, monkeypatch):
    w = ModelWriter()
    x = w.tensor("x", (1, 4))
    for _ in range(777):
        w.op("RELU", [x], [x])
    data = w.finish([x], [x])
    # the operator list claims a million entries in a file of a few kilobytes
    path = write(tmp_path / "claims.tflite", _patch_vector_length(data, 777, 1_000_000))
    raises(path, "1,000,000 elements, more than the file holds")
    one_sentence(run_cli("count", str(path)))
    # a real list longer than the cap: refused before any operator is read, naming the cap
    path = write(tmp_path / "many.tflite", data)
    assert chipfit.count(str(path)).flops == 777 * 4
    with time_limit(10):
        err = one_sentence(run_cli("--max-onnx-nodes", "500", "count", str(path)))
    assert "777 operators" in err and "--max-onnx-nodes" in err, err
    LIMITS.reset()
    monkeypatch.setattr(LIMITS, "max_onnx_nodes", 500)
    raises(path, "777 operators", "max_onnx_nodes")


def test_operators_sharing_one_huge_operand_list_are_bounded(tmp_path, monkeypatch):
    """Operators of a hostile file may all point at one long input list, so the file's size does
    not bound the operands read: their total is capped (8 per operator the cap allows)."""
    w = ModelWriter()
    x = w.tensor("x", (1, 4))
    w.op("ADD_N", [x] * 60_000, [x])
    data = w.finish([x], [x])
    monkeypatch.setattr(LIMITS, "max_onnx_nodes", 5_000)
    with time_limit(30):
        raises(write(tmp_path / "m.tflite", data), "operands", "max_onnx_nodes")


# -- fuzzing ----------------------------------------------------------------------------------
def count_or_chipfit_error(path: Path) -> None:
    with time_limit(10):
        try:
            r = chipfit.count(str(path))
        except ChipfitError as exc:
            message = str(exc)
            assert message and "\n" not in message and "Traceback" not in message, repr(message)
            return
    assert isinstance(r.macs, int) and r.macs >= 0
    assert isinstance(r.flops, int) and r.flops >= 0
    assert isinstance(r.params, int) and r.params >= 0


def fuzz_one(folder: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".tflite", delete=False) as f:
        f.write(data)
    try:
        count_or_chipfit_error(Path(f.name))
    finally:
        os.unlink(f.name)


_position = st.integers(min_value=0, max_value=2**31)
_word = st.sampled_from([0, 1, 3, 4, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 10**6])
byte_mutations = st.lists(
    st.one_of(
        st.tuples(st.just("flip"), _position, st.integers(0, 7)),
        st.tuples(st.just("overwrite"), _position, st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("overwrite"), _position, _word.map(lambda v: struct.pack("<I", v))),
        st.tuples(st.just("truncate"), _position, st.none()),
        st.tuples(st.just("insert"), _position, st.binary(min_size=1, max_size=16)),
    ),
    min_size=1, max_size=4,
)


def test_fuzz_bytes(tmp_path):
    original = small_model()
    assert chipfit.count(str(write(tmp_path / "valid.tflite", original))).macs == SMALL_MACS

    @fuzz_settings
    @given(mutations=byte_mutations)
    def run(mutations):
        fuzz_one(tmp_path, apply_mutations(original, mutations, keep_head=8))

    with memory_limit(FUZZ_MEMORY):
        run()


_int32 = st.sampled_from([-(2**31), -7, -1, 0, 1, 2, 3, 5, 64, 1000, 2**20, 2**31 - 1])
_ops = st.sampled_from(["CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL",
                        "ADD", "AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN", "RESHAPE", "CONCATENATION",
                        "RESIZE_BILINEAR", "GATHER", "STRIDED_SLICE", "DEQUANTIZE", "WHILE",
                        "edgetpu-custom-op", "SomeCustomOp"])
_tensor = st.tuples(st.lists(_int32 | st.integers(0, 9), max_size=6), st.sampled_from(["float32", "int8", "int32",
                                                                                        "float16", 99]),
                    st.booleans())
_operator = st.tuples(_ops, st.lists(st.integers(-2, 12), max_size=5), st.lists(st.integers(-2, 12), max_size=2),
                      st.booleans(), _int32)


@fuzz_settings
@given(tensors=st.lists(_tensor, min_size=1, max_size=8), operators=st.lists(_operator, max_size=6),
       inputs=st.lists(st.integers(-2, 9), max_size=3))
def test_fuzz_structure(tensors, operators, inputs):
    """Well-formed flatbuffers with wrong contents: absurd shapes, unknown types, indices out of
    range, options with any values, constants of every type."""
    w = ModelWriter()
    for i, (shape, dtype, const) in enumerate(tensors):
        data = bytes(4 * min(sum(abs(d) for d in shape), 64)) if const else None
        w.tensor(f"scope/t{i}", shape, dtype, data=data)
    for op, ins, outs, with_options, value in operators:
        options = None
        if with_options:
            options = {"CONV_2D": ("Conv2DOptions", {"StrideW": value, "FusedActivationFunction": value % 128}),
                       "AVERAGE_POOL_2D": ("Pool2DOptions", {"FilterWidth": value, "FilterHeight": 3}),
                       "MAX_POOL_2D": ("Pool2DOptions", {"FilterWidth": value, "FilterHeight": value}),
                       "BATCH_MATMUL": ("BatchMatMulOptions", {"AdjX": bool(value % 2)})}.get(op)
        w.op(op, ins, outs, options, custom_options=b"\x00" * (value % 50) if op[0].islower() else None)
    data = w.finish(inputs, [])
    with tempfile.TemporaryDirectory() as folder, memory_limit(FUZZ_MEMORY):
        fuzz_one(Path(folder), data)
