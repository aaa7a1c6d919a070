"""count / check / rank on an .onnx file from the command line (no torch needed)."""

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from test_check_cli import CHECK_KEYS  # noqa: E402
from test_cli import assert_one_sentence_error  # noqa: E402


@pytest.fixture
def small_cnn(tmp_path):
    """Conv 3->16 3x3 (pad 1) + ReLU + global pool + Gemm 16->10, batch dimension 'N' free."""
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="/features/conv/Conv", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="/features/relu/Relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="/pool/GlobalAveragePool"),
        helper.make_node("Flatten", ["p"], ["f"], name="/Flatten"),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="/head/Gemm", transB=1),
    ]
    inits = {"w": np.ones((16, 3, 3, 3), np.float32), "b": np.ones(16, np.float32),
             "fw": np.ones((10, 16), np.float32), "fb": np.ones(10, np.float32)}
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    path = tmp_path / "cnn.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


CONV_MACS = 16 * 32 * 32 * 3 * 9
GEMM_MACS = 16 * 10


def test_count_json_binds_the_batch_by_name(run_cli, small_cnn):
    rc, out, err = run_cli("count", str(small_cnn), "--dim", "N=4", "--json", "--per-layer")
    assert rc == 0, err
    d = json.loads(out)
    assert d["macs"] == 4 * (CONV_MACS + GEMM_MACS)
    assert d["params"] == 16 * 27 + 16 + 160 + 10
    assert d["inputs"] == {"x": [4, 3, 32, 32]}
    assert d["weight_bytes"] == 4 * d["params"]
    assert [layer["node"] for layer in d["layers"]][:2] == ["/features/conv/Conv", "/features/relu/Relu"]
    assert [layer["name"] for layer in d["layers"]][:2] == ["features.conv", "features.relu"]


def test_count_table_with_an_input_shape(run_cli, small_cnn):
    rc, out, err = run_cli("count", str(small_cnn), "--input-shape", "x=2,3,32,32", "--depth", "1")
    assert rc == 0, err
    assert "features" in out and "head" in out and f"{2 * (CONV_MACS + GEMM_MACS):,}" in out


def test_unbound_batch_is_one_sentence_naming_it(run_cli, small_cnn):
    rc, out, err = run_cli("count", str(small_cnn))
    assert_one_sentence_error(rc, out, err)
    assert "'N' (input 'x', axis 0)" in err and "--dim" in err


def test_check_and_rank_bind_a_free_batch_to_one(run_cli, small_cnn):
    rc, out, err = run_cli("check", str(small_cnn), "--chip", "jetson-orin-nano-8gb", "--fps", "30", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert CHECK_KEYS <= set(d)
    assert d["macs"] == CONV_MACS + GEMM_MACS and d["sufficient"] is True
    rc, out, err = run_cli("rank", str(small_cnn), "--fps", "30", "--category", "edge", "--json")
    assert rc == 0, err
    assert json.loads(out)["macs"] == CONV_MACS + GEMM_MACS


def test_dim_on_a_pytorch_model_is_refused(run_cli):
    pytest.importorskip("torch")
    assert_one_sentence_error(*run_cli("count", "resnet18", "--dim", "batch=1"))
