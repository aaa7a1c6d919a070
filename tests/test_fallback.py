"""Ops a runtime leaves to the host CPU: the op families of every frontend, the placement rules
(an allow-list cut once, a deny-list per op), the host's roofline against hand arithmetic, and the
verdict and report of check."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chipfit import check
from chipfit.analysis.fallback import placement
from chipfit.analysis.roofline import HostRate, roofline
from chipfit.core.costgraph import CostGraph, Op
from chipfit.core.datafile import load
from chipfit.core.errors import ChipfitError
from chipfit.core.opfamily import FAMILIES, family
from chipfit.core.precision import get_precision
from chipfit.data.efficiency import Efficiency
from chipfit.data.runtime_ops import RuntimeOps, RuntimeOpsFile, runtime_ops, runtime_ops_file

INT8 = get_precision("int8")


def _op(op: str, kind: str, ins=(), outs=(), weights: int = 0, macs: int = 0, flops: int = 0) -> Op:
    return Op(name=op, kind=kind, op=op, macs=macs, nonmac_flops=flops, weight_elems=weights,
              act_read_elems=1, act_write_elems=1, input_shapes=tuple(ins), output_shapes=tuple(outs))


@pytest.mark.parametrize("op, expected", [
    (_op("convolution", "conv", [(1, 32, 8, 8), (32, 1, 3, 3)]), "depthwise_conv"),
    (_op("DEPTHWISE_CONV_2D", "conv", [(1, 8, 8, 32), (1, 3, 3, 32)]), "depthwise_conv"),
    (_op("Conv", "conv", [(1, 32, 8, 8), (64, 32, 3, 3)]), "conv"),
    (_op("ConvTranspose", "conv", [(1, 32, 8, 8), (32, 16, 2, 2)]), "transposed_conv"),
    (_op("addmm", "linear", weights=100), "fully_connected"),
    (_op("FULLY_CONNECTED", "linear", weights=100), "fully_connected"),
    (_op("bmm", "matmul"), "batch_matmul"),
    (_op("BATCH_MATMUL", "matmul"), "batch_matmul"),
    (_op("scaled_dot_product_attention", "attention"), "attention"),
    (_op("native_layer_norm", "norm"), "layer_norm"),
    (_op("LayerNormalization", "norm"), "layer_norm"),
    (_op("native_batch_norm", "norm"), "batch_norm"),
    (_op("hardswish_", "activation"), "hardswish"),
    (_op("HARD_SWISH", "activation"), "hardswish"),
    (_op("HardSwish", "activation"), "hardswish"),
    (_op("LOGISTIC", "activation"), "sigmoid"),
    (_op("max_pool2d_with_indices", "pool"), "max_pool"),
    # a mean over all of H×W to one value per channel is global average pooling (NCHW and NHWC)
    (_op("mean", "reduction", [(1, 64, 7, 7)], [(1, 64, 1, 1)]), "global_pool"),
    (_op("MEAN", "reduction", [(1, 7, 7, 64)], [(1, 64)]), "global_pool"),
    (_op("mean", "reduction", [(1, 197, 768)], [(1, 197, 1)]), "mean"),
    (_op("max", "elementwise"), "maximum"),
    (_op("max", "reduction"), "reduce_max"),
    (_op("TopK", "reduction"), "topk"),
    (_op("TOPK_V2", "reduction"), "topk"),
    (_op("NonMaxSuppression", "unsupported"), "nms"),
    (_op("upsample_nearest2d", "resize"), "resize_nearest"),
    (_op("RESIZE_BILINEAR", "resize"), "resize_bilinear"),
    (_op("cat", "data"), "concat"),
    # by a constant (one activation read, no larger than the output) a converter multiplies
    (_op("div", "elementwise", [(1, 8), ()], [(1, 8)]), "mul"),
    (Op(name="d", kind="elementwise", op="Div", act_read_elems=16, act_write_elems=8,
        input_shapes=((1, 8), (1, 8)), output_shapes=((1, 8),)), "div"),
    (_op("pixel_shuffle", "data"), "space_to_depth"),
    (_op("com.example.Frobnicate", "unsupported"), "other"),
])
def test_every_frontends_name_maps_to_one_family(op, expected):
    assert family(op) == expected
    assert expected in FAMILIES


def _rules(runs: str, partition: str, families: list[str]) -> RuntimeOps:
    return RuntimeOps(description="t", source="t", runs=runs, partition=partition, families=families)


def _graph(*ops: Op) -> CostGraph:
    return CostGraph(model="g", ops=list(ops), params=0, inputs={"x": (1, 8)})


def test_an_allow_list_cut_once_sends_everything_after_the_first_gap_to_the_host():
    conv = _op("Conv", "conv", [(1, 8, 4, 4), (8, 8, 3, 3)], macs=10)
    ln = _op("native_layer_norm", "norm", flops=10)
    g = _graph(conv, ln, conv, _op("clone", "data"))
    allow = _rules("listed", "once", ["conv"])
    assert placement(g, allow) == [False, True, True, True]
    deny = _rules("all_but_listed", "per_op", ["layer_norm"])
    assert placement(g, deny) == [False, True, False, False]
    # a copy or reshape is removed by the compiler: it never cuts the graph
    assert placement(_graph(conv, _op("clone", "data"), conv), allow) is None
    assert placement(g, None) is None


def _linear(name: str, n: int) -> Op:
    return Op(name=name, kind="linear", op="linear", macs=n * n, params=n * n, weight_elems=n * n,
              act_read_elems=n, act_write_elems=n, input_shapes=((1, n),), output_shapes=((1, n),))


def _eff(**kw) -> Efficiency:
    return Efficiency(**{**dict(gemm=1.0, depthwise=1.0, vector=1.0, memory=1.0, efficiency_class="t",
                                basis="test"), **kw})


def test_host_ops_run_on_the_hosts_roofline():
    g = _graph(_linear("a", 1000), _linear("b", 1000), _linear("c", 1000))
    where = [False, True, False]
    host = HostRate("cpu-chip", 1e8, 0.0, _eff(gemm=0.5, efficiency_class="cpu"))
    # accelerator 1e9 ops/s, no DRAM time: a and c take 2e6 / 1e9 = 2 ms each; b on the host
    # takes 2e6 / (1e8 × 0.5) = 40 ms
    r = roofline(g, INT8, 1e9, 0.0, _eff(), on_host=where, host=host)
    assert [o.on_host for o in r.ops] == where
    assert r.ops[1].compute_s == pytest.approx(0.040)
    assert r.host_s == pytest.approx(0.040) and r.host_priced
    assert r.latency_s == pytest.approx(0.002 + 0.040 + 0.002)
    # no host named: its ops are listed but take no time, and the roofline says so
    bare = roofline(g, INT8, 1e9, 0.0, _eff(), on_host=where)
    assert bare.latency_s == pytest.approx(0.004) and not bare.host_priced
    # behind a 1 MB/s host link, b's 1000 int8 inputs cross to the host (1 ms) and c's 1000
    # inputs cross back (1 ms) before each starts; no weight streams (a's and c's 2 MB fit the 8 MB)
    link = roofline(g, INT8, 1e9, 0.0, _eff(), on_host=where, host=host, onchip_bytes=8e6, link_bandwidth=1e6)
    assert [o.transfer_s for o in link.ops] == pytest.approx([0, 1e-3, 1e-3])
    assert link.streamed_bytes == 0
    assert link.latency_s == pytest.approx(0.004 + 0.040 + 0.002)


def test_a_vision_transformer_on_an_edge_tpu_runs_from_its_first_layer_norm_on_the_host():
    r = check("vit_b_16", "coral-edge-tpu", fps=1)
    f = r.to_dict()["fallback"]
    assert f["partition"] == "once" and f["first_family"] == "layer_norm"
    assert f["first_op"] == "encoder.layers.encoder_layer_0.ln_1"
    assert not f["priced"] and f["host"] is None
    assert r.verdict == "UNCERTAIN"  # the accelerator alone would say SUFFICIENT at 1 FPS
    assert r.sufficient
    hosted = check("vit_b_16", "coral-edge-tpu", fps=1, host="raspberry-pi-5")
    g = hosted.to_dict()["fallback"]
    assert g["priced"] and g["host"] == "raspberry-pi-5" and g["host_class"] == "cpu"
    # everything from the first layer norm on: the host's time is all but the patch embedding
    assert g["host_s"] > 0.95 * hosted.latency_s
    assert hosted.latency_s > 10 * r.latency_s
    assert "host CPU" in hosted.limiting


def test_a_network_of_listed_ops_stays_on_the_edge_tpu_and_hard_swish_does_not():
    assert check("mobilenet_v2", "coral-edge-tpu", fps=1).fallback is None
    v3 = check("mobilenet_v3_large", "coral-edge-tpu", fps=1).fallback
    assert v3.first_family == "hardswish" and v3.first_op == "features.0.2"


def test_a_deny_list_moves_only_the_ops_it_names():
    # RT-DETR's decoder selects its queries with TopK: the RK3588's NPU does not run it; each such
    # op alone runs on the CPU (its four Cortex-A76, a unit of the chip)
    r = check("rtdetr-r18", "rk3588", fps=1)
    f = r.fallback
    assert f.rules.partition == "per_op"
    on_host = [o for o in r.roof1.ops if o.on_host]
    assert {family(op) for op, t in zip(r.count.graph.ops, r.roof1.ops) if t.on_host} <= \
        set(runtime_ops("rknn").families) | {"copy", "reshape"}
    assert f.families["topk"] == 1 and 0 < len(on_host) < len(r.roof1.ops) / 2
    assert r.roof1.host.name == "rk3588:cpu" and r.roof1.host_priced
    # a frozen batch norm's rsqrt of its own buffers reads no activation: folded, never moved
    assert "rsqrt" not in f.families


def test_the_runtime_ops_file_is_sourced_and_checked():
    for name, rules in runtime_ops_file().runtimes.items():
        assert rules.source and rules.families, name
    bad = "runtimes:\n  x:\n    description: d\n    source: s\n    runs: listed\n    partition: once\n" \
          "    families: [conv, warp_drive]\n"
    with pytest.raises(ChipfitError, match=r"t\.yaml, line 7: runtimes\.x\.families: unknown op family warp_drive"):
        load(RuntimeOpsFile, bad, "t.yaml")


@pytest.mark.parametrize("host, words", [
    ("rk3576", "--host rk3576 has no CPU unit in the database"),
    ("no-such-chip", "unknown chip"),
])
def test_a_host_without_a_cpu_is_one_sentence_and_exit_2(host, words):
    p = subprocess.run([sys.executable, "-m", "chipfit", "check", "vit_b_16", "--chip", "coral", "--fps", "1",
                        "--host", host, "--json"], capture_output=True, text=True)
    assert p.returncode == 2, p.stderr
    out = json.loads(p.stdout)
    assert words in out["error"] and "Traceback" not in p.stderr


def test_the_hosts_band_weighs_by_its_share_of_the_time():
    r = check("mobilenet_v3_large", "coral-edge-tpu", fps=1, host="raspberry-pi-5")
    acc, cpu = r.efficiency.band, r.roof1.host.efficiency.band
    share = r.roof1.host_s / r.latency_s
    assert 0.9 < share < 1
    assert r.band == pytest.approx(((1 - share) * acc.low + share * cpu.low, (1 - share) * acc.high + share * cpu.high))


def test_rank_prices_a_coprocessors_host_ops_on_the_host_it_is_given():
    from chipfit import rank

    def coral(res):
        return next(r for r in [*res.ranked, *res.failing] if r.chip == "coral-edge-tpu")

    bare = coral(rank("vit_b_16", fps=1, category="edge"))
    hosted = coral(rank("vit_b_16", fps=1, category="edge", host="raspberry-pi-5"))
    assert not bare.roof1.host_priced and hosted.roof1.host_priced
    assert hosted.latency_s > 10 * bare.latency_s


def test_an_onnx_files_op_names_place_it_as_the_traced_network_is(tmp_path):
    # Conv → Relu → LayerNormalization → Conv, as an ONNX file: the Edge TPU runs the first two
    # and cuts the graph at the layer norm; RKNN runs all four on its NPU
    onnx = pytest.importorskip("onnx")
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((8, 8, 3, 3), np.float32), "w")
    g = numpy_helper.from_array(np.ones(8, np.float32), "g")
    nodes = [helper.make_node("Conv", ["x", "w"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["b"]),
             helper.make_node("LayerNormalization", ["b", "g"], ["c"], axis=1),
             helper.make_node("Conv", ["c", "w"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 16, 16])], [w, g])
    path = tmp_path / "ln.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    tpu = check(str(path), "coral-edge-tpu", fps=1).fallback
    assert tpu.first_family == "layer_norm" and tpu.families == {"layer_norm": 1, "conv": 1}
    assert check(str(path), "rk3588", fps=1).fallback is None


def test_a_runtime_that_takes_one_image_per_call_runs_a_batch_as_that_many_calls():
    """The Edge TPU compiler takes tensors whose dimensions beyond the 3 innermost are 1: a compiled
    network takes one image per call. A batch of 4 is 4 calls of one: 4 times the latency of one, the
    same throughput, and batching gains nothing; a runtime without that limit still gains from it."""
    from chipfit.data.runtime_ops import runtime_ops

    assert runtime_ops("edgetpu").one_image and not runtime_ops("rknn").one_image
    one, four = check("resnet50", "coral-edge-tpu", fps=30), check("resnet50", "coral-edge-tpu", fps=30, batch=4)
    assert four.roof.latency_s == pytest.approx(4 * one.roof1.latency_s)
    assert four.roof.flops == 4 * one.roof1.flops and four.roof.batch == 4
    assert four.throughput_fps == pytest.approx(one.max_fps) and four.roof1.latency_s == one.roof1.latency_s
    assert list(one.batched) == [1] and one.best_batch == 1 and one.max_fps_batched == one.max_fps
    assert any("a batch of 4 is 4 calls" in n for n in four.notes)
    assert not any("calls, one after the other" in n for n in one.notes)
    assert check("resnet50", "rk3588", fps=30).best_batch > 1


def test_repeating_a_roofline_multiplies_every_time_and_count():
    """``repeated(3)``: three calls of a batch, each op's FLOPs, bytes and times three times, and the
    per-call costs too; the weights held are the network's."""
    g = _graph(_linear("fc", 64), _linear("fc2", 64))
    r = roofline(g, INT8, 1e12, 1e9, _eff(op_overhead_s=1e-5, call_overhead_s=2e-4), batch=1)
    t = r.repeated(3)
    assert t.batch == 3 and t.flops == 3 * r.flops and t.bytes == 3 * r.bytes
    assert t.latency_s == pytest.approx(3 * r.latency_s) and t.call_overhead_s == pytest.approx(3 * r.call_overhead_s)
    assert t.weight_bytes == r.weight_bytes and t.throughput == pytest.approx(r.throughput)
