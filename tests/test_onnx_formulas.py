"""ONNX op formulas against hand arithmetic, on one-node graphs built with onnx.helper.

Each expected value is written out from the op's definition, independent of the registry.
"""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from chipfit.core.errors import ChipfitError  # noqa: E402
from chipfit.frontends.onnx.walk import read  # noqa: E402

F = TensorProto.FLOAT


def _write(tmp_path, nodes, inputs, outputs, inits=(), opset=17, domains=(), name="m.onnx"):
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in dict(inits).items()],
    )
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]
    model = helper.make_model(graph, opset_imports=opsets)
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def _w(*shape, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


def _single(graph):
    ops = [op for op in graph.ops if op.kind not in ("data",)]
    assert len(ops) == 1, [(o.op, o.kind) for o in graph.ops]
    return ops[0]


def test_conv_grouped_with_bias(tmp_path):
    # N=2, C=8 -> M=16, groups 2, 3x3, pad 1: each output element does (C/g)·3·3 = 36 MACs
    path = _write(tmp_path, [helper.make_node("Conv", ["x", "w", "b"], ["y"], kernel_shape=[3, 3],
                                              pads=[1, 1, 1, 1], group=2)],
                  [("x", F, [2, 8, 10, 10])], [("y", F, None)], {"w": _w(16, 4, 3, 3), "b": _w(16)})
    op = _single(read(path))
    out = 2 * 16 * 10 * 10
    assert op.macs == out * 4 * 9
    assert op.nonmac_flops == out            # the bias add
    assert op.params == 16 * 4 * 9 + 16
    assert op.kind == "conv"


def test_conv_transpose_counts_from_the_input_side(tmp_path):
    # X (1, 8, 10, 10), W (8, 4, 4, 4), stride 2 -> Y (1, 4, 22, 22) without padding.
    # Every input element is multiplied into a 4x4 window of each of the 4 output channels:
    # MACs = 1·8·10·10 · 4·4·4 = 51,200. Counting from the output side (out elements × C_in ×
    # k²) would give 1·4·22·22 · 8·16 = 247,808, over by about stride² = 4.
    path = _write(tmp_path, [helper.make_node("ConvTranspose", ["x", "w"], ["y"], kernel_shape=[4, 4],
                                              strides=[2, 2])],
                  [("x", F, [1, 8, 10, 10])], [("y", F, None)], {"w": _w(8, 4, 4, 4)})
    g = read(path)
    op = _single(g)
    assert op.output_shapes[0] == (1, 4, 22, 22)
    assert op.macs == 8 * 10 * 10 * 4 * 4 * 4 == 51_200
    assert g.params == 8 * 4 * 4 * 4


@pytest.mark.parametrize("trans_a,trans_b", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_gemm_transposes(tmp_path, trans_a, trans_b):
    m, k, n = 5, 7, 3
    a_shape = [k, m] if trans_a else [m, k]
    b = _w(n, k) if trans_b else _w(k, n)
    path = _write(tmp_path, [helper.make_node("Gemm", ["a", "b", "c"], ["y"], transA=trans_a, transB=trans_b)],
                  [("a", F, a_shape)], [("y", F, None)], {"b": b, "c": _w(n)})
    op = _single(read(path))
    assert op.macs == m * k * n
    assert op.nonmac_flops == m * n
    assert op.kind == "linear"


def test_matmul_broadcast_and_activation_operands(tmp_path):
    # (2, 1, 4, 6) @ (3, 6, 5) -> (2, 3, 4, 5): 120 outputs × K=6
    path = _write(tmp_path, [helper.make_node("MatMul", ["a", "b"], ["y"])],
                  [("a", F, [2, 1, 4, 6]), ("b", F, [3, 6, 5])], [("y", F, None)])
    op = _single(read(path))
    assert op.macs == 2 * 3 * 4 * 5 * 6
    assert op.kind == "matmul" and op.params == 0


@pytest.mark.parametrize("equation,shapes,macs", [
    ("bij,bjk->bik", ([2, 3, 4], [2, 4, 5]), 2 * 3 * 4 * 5),
    ("bhqd,bhkd->bhqk", ([1, 2, 8, 16], [1, 2, 10, 16]), 2 * 8 * 10 * 16),
    ("...ij,...jk", ([6, 3, 4], [6, 4, 2]), 6 * 3 * 4 * 2),
    # three operands contracted left to right: (i,j)x(j,k) = i·j·k, then (i,k)x(k,l) = i·k·l
    ("ij,jk,kl->il", ([3, 4], [4, 5], [5, 6]), 3 * 4 * 5 + 3 * 5 * 6),
])
def test_einsum(tmp_path, equation, shapes, macs):
    names = [f"x{i}" for i in range(len(shapes))]
    path = _write(tmp_path, [helper.make_node("Einsum", names, ["y"], equation=equation)],
                  [(n, F, s) for n, s in zip(names, shapes)], [("y", F, None)], opset=12)
    assert _single(read(path)).macs == macs


def test_lstm_fifty_steps(tmp_path):
    # seq 50, batch 2, input 16, hidden 32, bidirectional with biases:
    #   MACs = steps · dirs · batch · 4H · (I + H) = 50·2·2·128·48
    #   non-MAC = steps · dirs · batch · H · (22 + 8 for the two biases)
    seq, batch, i, h, dirs = 50, 2, 16, 32, 2
    path = _write(tmp_path, [helper.make_node("LSTM", ["x", "w", "r", "b"], ["y", "yh", "yc"], hidden_size=h,
                                              direction="bidirectional")],
                  [("x", F, [seq, batch, i])], [("y", F, None), ("yh", F, None), ("yc", F, None)],
                  {"w": _w(dirs, 4 * h, i), "r": _w(dirs, 4 * h, h), "b": _w(dirs, 8 * h)})
    g = read(path)
    op = _single(g)
    assert op.macs == seq * dirs * batch * 4 * h * (i + h) == 1_228_800
    assert op.nonmac_flops == seq * dirs * batch * h * (22 + 8)
    assert g.params == dirs * (4 * h * i + 4 * h * h + 8 * h)
    assert op.output_shapes[0] == (seq, dirs, batch, h)


def test_lstm_initial_state_is_not_a_parameter(tmp_path):
    seq, batch, i, h = 50, 1, 8, 8
    path = _write(tmp_path, [helper.make_node("LSTM", ["x", "w", "r", "", "", "h0", "c0"], ["y"], hidden_size=h)],
                  [("x", F, [seq, batch, i])], [("y", F, None)],
                  {"w": _w(1, 4 * h, i), "r": _w(1, 4 * h, h), "h0": _w(1, batch, h), "c0": _w(1, batch, h)})
    g = read(path)
    assert g.params == 4 * h * i + 4 * h * h
    assert g.macs == seq * batch * 4 * h * (i + h)


def test_gru_batch_first(tmp_path):
    # layout=1: X is (batch, seq, I). MACs = seq · batch · 3H · (I + H); non-MAC 17 per unit
    batch, seq, i, h = 3, 20, 10, 12
    path = _write(tmp_path, [helper.make_node("GRU", ["x", "w", "r"], ["y"], hidden_size=h, layout=1)],
                  [("x", F, [batch, seq, i])], [("y", F, None)], {"w": _w(1, 3 * h, i), "r": _w(1, 3 * h, h)},
                  opset=14)
    op = _single(read(path))
    assert op.macs == seq * batch * 3 * h * (i + h) == 47_520
    assert op.nonmac_flops == seq * batch * h * 17


def test_rnn(tmp_path):
    seq, batch, i, h = 7, 2, 5, 4
    path = _write(tmp_path, [helper.make_node("RNN", ["x", "w", "r", "b"], ["y"], hidden_size=h)],
                  [("x", F, [seq, batch, i])], [("y", F, None)],
                  {"w": _w(1, h, i), "r": _w(1, h, h), "b": _w(1, 2 * h)})
    op = _single(read(path))
    assert op.macs == seq * batch * h * (i + h)
    assert op.nonmac_flops == seq * batch * h * (2 + 2)


def test_opset23_attention_with_gqa_and_past(tmp_path):
    # Q (B=1, Hq=8, S=4, E=16), K/V (1, Hkv=2, S=4, 16), past (1, 2, P=60, 16): Lk = 64.
    # MACs = B·Hq·S·Lk·(E + Ev) = 1·8·4·64·32; scores 8·4·64 at 6 + 1 (causal)
    b, hq, hkv, s, p, e = 1, 8, 2, 4, 60, 16
    path = _write(tmp_path, [helper.make_node("Attention", ["q", "k", "v", "", "pk", "pv"], ["y", "ok", "ov"],
                                              is_causal=1)],
                  [("q", F, [b, hq, s, e]), ("k", F, [b, hkv, s, e]), ("v", F, [b, hkv, s, e]),
                   ("pk", F, [b, hkv, p, e]), ("pv", F, [b, hkv, p, e])],
                  [("y", F, None), ("ok", F, None), ("ov", F, None)], opset=23)
    op = _single(read(path))
    assert op.macs == b * hq * s * (s + p) * 2 * e
    assert op.nonmac_flops == b * hq * s * (s + p) * 7
    assert op.kind == "attention"


def test_contrib_attention_includes_qkv_projection(tmp_path):
    # input (2, 10, 64), fused QKV weight (64, 192), 4 heads of 16:
    # projection 2·10·64·192 + attention 2·4·10·10·(16 + 16)
    path = _write(tmp_path, [helper.make_node("Attention", ["x", "w", "b"], ["y"], domain="com.microsoft",
                                              num_heads=4)],
                  [("x", F, [2, 10, 64])], [("y", F, [2, 10, 64])], {"w": _w(64, 192), "b": _w(192)},
                  domains=["com.microsoft"])
    op = _single(read(path))
    assert op.macs == 2 * 10 * 64 * 192 + 2 * 4 * 10 * 10 * 32
    assert op.params == 64 * 192 + 192


def test_group_query_attention(tmp_path):
    # query (1, 1, 32·64) decode step, key/value (1, 1, 8·64), past (1, 8, 99, 64): Lk = 100
    path = _write(tmp_path, [helper.make_node("GroupQueryAttention", ["q", "k", "v", "pk", "pv"], ["y", "ok", "ov"],
                                              domain="com.microsoft", num_heads=32, kv_num_heads=8)],
                  [("q", F, [1, 1, 2048]), ("k", F, [1, 1, 512]), ("v", F, [1, 1, 512]),
                   ("pk", F, [1, 8, 99, 64]), ("pv", F, [1, 8, 99, 64])],
                  [("y", F, [1, 1, 2048]), ("ok", F, [1, 8, 100, 64]), ("ov", F, [1, 8, 100, 64])],
                  domains=["com.microsoft"])
    assert _single(read(path)).macs == 32 * 1 * 100 * 128


def test_norms_softmax_resize_pool(tmp_path):
    x = [1, 8, 16, 16]
    n = 8 * 16 * 16
    nodes = [
        helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["bn"]),
        helper.make_node("InstanceNormalization", ["bn", "s", "b"], ["inn"]),
        helper.make_node("Softmax", ["inn"], ["sm"], axis=1),
        helper.make_node("Resize", ["sm", "", "scales"], ["up"], mode="linear"),
        helper.make_node("MaxPool", ["up"], ["mp"], kernel_shape=[3, 3], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["mp"], ["y"]),
    ]
    path = _write(tmp_path, nodes, [("x", F, x)], [("y", F, None)],
                  {"s": _w(8), "b": _w(8), "m": _w(8), "v": _w(8),
                   "scales": np.array([1, 1, 2, 2], dtype=np.float32)})
    g = read(path)
    by = {op.op: op for op in g.ops}
    assert by["BatchNormalization"].nonmac_flops == n * (2 + 2)
    assert by["InstanceNormalization"].nonmac_flops == n * (5 + 2)
    assert by["Softmax"].nonmac_flops == n * 5
    assert by["Resize"].nonmac_flops == 4 * n * 7           # bilinear: 4 taps, 2·4 − 1
    assert by["MaxPool"].output_shapes[0] == (1, 8, 15, 15)
    assert by["MaxPool"].nonmac_flops == 8 * 15 * 15 * 8   # 3x3 window: 8 comparisons
    assert by["GlobalAveragePool"].nonmac_flops == 8 * 15 * 15 + 8
    # BatchNorm's scale and bias are parameters; its running mean and variance are not;
    # the Resize scales are not
    assert g.params == 8 + 8


def test_embedding_gather_reads_only_looked_up_rows(tmp_path):
    path = _write(tmp_path, [helper.make_node("Gather", ["table", "ids"], ["y"])],
                  [("ids", TensorProto.INT64, [2, 5])], [("y", F, None)], {"table": _w(1000, 64)})
    op = _single(read(path))
    assert op.kind == "embedding" and op.flops == 0
    assert op.weight_elems == 2 * 5 * 64 and op.params == 1000 * 64


def test_shape_only_ops_are_free_and_copies_move_bytes(tmp_path):
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"]),
             helper.make_node("Transpose", ["r"], ["t"], perm=[1, 0]),
             helper.make_node("Relu", ["t"], ["y"])]
    path = _write(tmp_path, nodes, [("x", F, [4, 6])], [("y", F, None)],
                  {"shape": np.array([6, 4], dtype=np.int64)})
    g = read(path)
    assert [op.op for op in g.ops] == ["Transpose", "Relu"]   # Reshape: metadata only
    tr = g.ops[0]
    assert tr.kind == "data" and tr.flops == 0 and tr.act_read_elems == 24 and tr.act_write_elems == 24
    assert g.params == 0                                    # the int64 shape is not a parameter


def test_shared_initializer_counted_once(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("MatMul", ["h", "w"], ["y"])]
    path = _write(tmp_path, nodes, [("x", F, [3, 8])], [("y", F, None)], {"w": _w(8, 8)})
    g = read(path)
    assert g.params == 64
    assert g.weight_traffic_bytes("fp32") == 2 * 64 * 4    # read twice, stored once


def test_symbolic_dims_bound_by_name_or_shape(tmp_path):
    path = _write(tmp_path, [helper.make_node("MatMul", ["x", "w"], ["y"])],
                  [("x", F, ["batch", "seq", 16])], [("y", F, None)], {"w": _w(16, 4)})
    with pytest.raises(ChipfitError, match=r"unbound dimensions: 'batch' \(input 'x', axis 0\), 'seq'.* dims "):
        read(path)
    assert read(path, dims={"batch": 2, "seq": 10}).macs == 2 * 10 * 16 * 4
    assert read(path, dims=["batch=2", "seq=10"]).macs == 2 * 10 * 16 * 4
    assert read(path, input_shapes=["x=3,5,16"]).macs == 3 * 5 * 16 * 4
    assert read(path, input_shapes=["3,5,16"]).macs == 3 * 5 * 16 * 4   # the only input
    assert read(path, batch=1, dims={"seq": 7}).macs == 7 * 16 * 4
    with pytest.raises(ChipfitError, match="no input 'y'"):
        read(path, input_shapes=["y=1,2,16"])
    with pytest.raises(ChipfitError, match="no dimension 'sequence'.*batch, seq"):
        read(path, dims={"sequence": 3, "batch": 1})


def test_control_flow_is_listed_not_zero(tmp_path):
    then = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [], [helper.make_tensor_value_info("t", F, [4])])
    other = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [], [helper.make_tensor_value_info("e", F, [4])])
    path = _write(tmp_path, [helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)],
                  [("c", TensorProto.BOOL, []), ("x", F, [4])], [("y", F, [4])])
    g = read(path)
    assert g.unsupported == {"If": 1}
    assert any("control flow" in n for n in g.notes)


U8, I8, I32 = TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32


def test_qlinear_conv_and_matmul_are_int8(tmp_path):
    # QOperator format: integer kernels with scales and zero points as inputs
    scalar = {"xs": np.float32(0.1), "xz": np.uint8(128), "ws": np.float32(0.2), "wz": np.int8(0),
              "ys": np.float32(0.3), "yz": np.uint8(128)}
    nodes = [
        helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["c"],
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Flatten", ["c"], ["f"]),
        helper.make_node("QLinearMatMul", ["f", "ys", "yz", "m", "ws", "wz", "ys", "yz"], ["y"]),
    ]
    path = _write(tmp_path, nodes, [("x", U8, [1, 4, 8, 8])], [("y", U8, None)],
                  {**scalar, "w": _w(6, 4, 3, 3, dtype=np.int8), "b": _w(6, dtype=np.int32),
                   "m": _w(6 * 64, 10, dtype=np.int8)})
    g = read(path)
    conv, mm = g.ops
    assert conv.macs == 6 * 8 * 8 * 4 * 9 and conv.nonmac_flops == 2 * 6 * 64   # requantise + bias
    assert mm.macs == 6 * 64 * 10 and mm.kind == "linear"
    assert g.params == 6 * 4 * 9 + 6 + 6 * 64 * 10        # scales and zero points are not parameters
    assert all(op.weight_bits == 8 and op.act_bits == 8 for op in (conv, mm))
    # 8-bit whatever the precision asked (the int32 bias is counted with its op's weights)
    assert g.weight_bytes("fp32") == g.params
    assert conv.activation_bytes("fp32") == 4 * 64 + 6 * 64


def test_qdq_pairs_mark_the_conv_int8_and_weight_only_stays_float_activations(tmp_path):
    s, z = np.float32(0.05), np.int8(0)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
        helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
        helper.make_node("DequantizeLinear", ["wq", "s", "z"], ["wd"]),     # folded into the weight
        helper.make_node("Conv", ["xd", "wd"], ["c"], kernel_shape=[1, 1]),
        helper.make_node("DequantizeLinear", ["mq", "s", "z"], ["md"]),
        helper.make_node("Flatten", ["c"], ["f"]),
        helper.make_node("MatMul", ["f", "md"], ["y"]),                     # int8 weight, float input
    ]
    path = _write(tmp_path, nodes, [("x", F, [1, 4, 5, 5])], [("y", F, None)],
                  {"s": s, "z": z, "wq": _w(8, 4, 1, 1, dtype=np.int8), "mq": _w(200, 3, dtype=np.int8)})
    g = read(path)
    assert [op.op for op in g.ops] == ["Conv", "MatMul"]      # Q/DQ cost nothing of their own
    conv, mm = g.ops
    assert conv.macs == 8 * 25 * 4 and (conv.weight_bits, conv.act_bits) == (8, 8)
    assert mm.macs == 200 * 3 and (mm.weight_bits, mm.act_bits) == (8, None)
    assert g.params == 8 * 4 + 200 * 3
    assert g.weight_bytes("fp16") == g.params
    assert any("weight-only" in n for n in g.notes)


def test_matmul_integer_dynamic_quantization(tmp_path):
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
             helper.make_node("MatMulInteger", ["xq", "w", "xz"], ["y32"])]
    path = _write(tmp_path, nodes, [("x", F, [4, 16])], [("y32", I32, None)],
                  {"w": _w(16, 8, dtype=np.int8)})
    g = read(path)
    dq, mm = g.ops
    assert dq.nonmac_flops == 6 * 64                   # min, max, then quantise each element
    assert mm.macs == 4 * 16 * 8 and (mm.weight_bits, mm.act_bits) == (8, 8)
