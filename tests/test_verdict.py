"""check / rank analysis: the hand estimate's worked example and the roofline against hand arithmetic."""

import pytest

from chipfit.analysis.roofline import op_class, roofline
from chipfit.core.costgraph import CostGraph, Op
from chipfit.core.errors import ChipfitError
from chipfit.core.precision import get_precision
from chipfit.data.efficiency import Efficiency

pytest.importorskip("torch", reason="needs torch")

import chipfit  # noqa: E402


@pytest.fixture(scope="module")
def resnet18():
    return chipfit.count("resnet18")


def test_worked_example_resnet18_int8_on_a_4_tops_chip(resnet18):
    # by hand: 1.814 GMACs x 2 ops/MAC x 30 FPS = 0.109 TOPS; a 4-TOPS chip at utilization
    # 0.6 has 2.4 effective TOPS, sufficient, margin 2.4 - 0.109 = 2.29 TOPS
    r = chipfit.check(resnet18, "coral-edge-tpu", fps=30, precision="int8", utilization=0.6)
    assert round(r.required_tops, 3) == 0.109
    assert r.peak_tops == 4
    assert r.effective_tops == pytest.approx(2.4)
    assert round(r.margin_tops, 2) == 2.29
    assert r.sufficient
    d = r.to_dict()
    assert d["chip_peak_tops"] == 4 and round(d["margin_tops"], 2) == 2.29 and d["sufficient"] is True


def test_required_tops_is_flops_times_rate(resnet18):
    r = chipfit.check(resnet18, "h100-sxm", fps=120, precision="fp16")
    assert r.required_tops == pytest.approx(resnet18.flops * 120 / 1e12)
    assert r.required_bandwidth_gbps == pytest.approx(r.bytes_per_inference * 120 / 1e9)
    assert r.max_fps == pytest.approx(1 / r.latency_s)
    assert r.utilization == pytest.approx(120 * r.latency_s)


def _graph(*ops):
    return CostGraph(model="synthetic", ops=list(ops), params=sum(o.params for o in ops))


def test_roofline_matches_hand_arithmetic():
    # op 1: a linear layer, 1e9 MACs, 1e6 weights, 1e5 activations in and out
    lin = Op("fc", "linear", "aten.mm", macs=10**9, params=10**6, weight_elems=10**6,
             act_read_elems=10**5, act_write_elems=10**5)
    # op 2: an element-wise op on a tensor of another size: not fused
    add = Op("add", "elementwise", "aten.add", nonmac_flops=10**6, act_read_elems=2 * 10**6,
             act_write_elems=10**6, output_shapes=((10**6,),))
    eff = Efficiency(gemm=0.5, depthwise=0.1, vector=0.25, memory=0.8, efficiency_class="x", basis="test")
    p = get_precision("fp16")  # 2 bytes per element
    r = roofline(_graph(lin, add), p, peak_ops=100e12, bandwidth=1e12, efficiency=eff)
    # fc: compute 2e9 / (100e12 * 0.5) = 40 us; memory (1e6 + 2e5) * 2 B / (1e12 * 0.8) = 3 us
    assert r.ops[0].compute_s == pytest.approx(2e9 / 50e12)
    assert r.ops[0].memory_s == pytest.approx(2.4e6 / 0.8e12)
    assert r.ops[0].bound == "compute"
    # add: compute 1e6 / (100e12 * 0.25) = 0.04 us; memory 3e6 * 2 B / 0.8e12 = 7.5 us
    assert r.ops[1].memory_s == pytest.approx(6e6 / 0.8e12)
    assert r.ops[1].bound == "memory"
    assert r.latency_s == pytest.approx(2e9 / 50e12 + 6e6 / 0.8e12)
    # batch 4: FLOPs and activations x4, weights once
    r4 = roofline(_graph(lin, add), p, peak_ops=100e12, bandwidth=1e12, efficiency=eff, batch=4)
    assert r4.ops[0].bytes == (10**6 + 4 * 2 * 10**5) * 2
    assert r4.flops == 4 * r.flops


def test_fusion_keeps_the_intermediate_on_chip():
    conv = Op("conv", "conv", "aten.convolution", macs=10**6, weight_elems=100,
              act_read_elems=1000, act_write_elems=5000, input_shapes=((1, 10, 10, 10), (50, 10, 1, 1)),
              output_shapes=((1, 50, 10, 10),))
    relu = Op("relu", "activation", "aten.relu", nonmac_flops=5000, act_read_elems=5000,
              act_write_elems=5000, output_shapes=((1, 50, 10, 10),))
    eff = Efficiency(1, 1, 1, 1, "x", "test")
    p = get_precision("int8")
    fused = roofline(_graph(conv, relu), p, 1e12, 1e9, eff, fuse=True)
    unfused = roofline(_graph(conv, relu), p, 1e12, 1e9, eff, fuse=False)
    assert unfused.bytes == 100 + 1000 + 5000 + 5000 + 5000
    # fused: conv reads input + weights, relu writes the output; the 5000-element intermediate never moves
    assert fused.bytes == 100 + 1000 + 5000
    assert fused.ops[1].fused and not fused.ops[0].fused


def test_depthwise_convolutions_get_their_own_class():
    dw = Op("dw", "conv", "aten.convolution", input_shapes=((1, 32, 56, 56), (32, 1, 3, 3)))
    grouped = Op("g", "conv", "aten.convolution", input_shapes=((1, 128, 56, 56), (128, 4, 3, 3)))
    assert op_class(dw) == "depthwise"
    assert op_class(grouped) == "gemm"


def test_memory_fit_and_the_limiting_resource(tmp_path, resnet18):
    chips = tmp_path / "tiny.yaml"
    chips.write_text("""
vendor: Test
sources:
  me: {title: "made up for a test"}
chips:
  - id: tiny-npu
    name: Tiny NPU
    category: edge
    efficiency_class: npu
    dense:
      int8: {value: 1, source: me, flag: measured}
    memory_bandwidth_gbps: {value: 1, source: me, flag: measured}
    memory_gb: {value: 0.005, source: me, flag: measured}
""")
    r = chipfit.check(resnet18, "tiny-npu", fps=30, precision="int8", chips_files=[str(chips)])
    # 11.7 M int8 weights do not fit in 5 MB
    assert not r.memory_fits and not r.sufficient
    assert r.limiting.startswith("memory capacity: needs")


def test_a_precision_the_chip_lacks_is_refused_with_the_units_that_have_it(resnet18):
    with pytest.raises(ChipfitError, match="no dense fp32 peak"):
        chipfit.check(resnet18, "coral-edge-tpu", fps=30, precision="fp32")
    with pytest.raises(ChipfitError, match="jetson-agx-orin-64gb:gpu has it"):
        chipfit.check(resnet18, "jetson-agx-orin-64gb:dla", fps=30, precision="fp32")


@pytest.mark.parametrize("kwargs, message", [
    (dict(fps=0), "fps must be positive, got 0"),
    (dict(fps=-5), "fps must be positive, got -5"),
    (dict(fps=30, utilization=0), r"utilization must be in \(0, 1\], got 0"),
    (dict(fps=30, utilization=1.5), r"utilization must be in \(0, 1\], got 1.5"),
])
def test_bad_rates_are_refused(resnet18, kwargs, message):
    with pytest.raises(ChipfitError, match=message):
        chipfit.check(resnet18, "h100-sxm", **kwargs)


def test_unknown_chip_suggests_close_ids(resnet18):
    with pytest.raises(ChipfitError, match="did you mean .*jetson-agx-orin-64gb"):
        chipfit.check(resnet18, "jetson-agx-orin-64", fps=30)


def test_batching_amortizes_weights(resnet18):
    r1 = chipfit.check(resnet18, "jetson-agx-orin-64gb", fps=30, precision="int8")
    r8 = chipfit.check(resnet18, "jetson-agx-orin-64gb", fps=30, precision="int8", batch=8)
    assert r8.throughput_fps > r1.max_fps
    assert r8.roof.latency_s < 8 * r1.latency_s
    assert r1.max_fps_batched >= r8.throughput_fps


def test_rank_lists_only_chips_that_meet_the_target_sorted(resnet18):
    res = chipfit.rank(resnet18, fps=30, precision="int8", by="power")
    assert res.ranked, "some chip runs resnet18 at 30 FPS"
    assert all(r.sufficient for r in res.ranked)
    assert all(not r.sufficient for r in res.failing)
    powers = [r.power_w for r in res.ranked if r.power_w]
    assert powers == sorted(powers)
    by_latency = chipfit.rank(resnet18, fps=30, precision="int8", by="latency")
    lat = [r.latency_s * r.verdict_scale for r in by_latency.ranked]  # on the verdict's basis
    assert lat == sorted(lat)
    edge = chipfit.rank(resnet18, fps=30, precision="int8", category="edge", max_power=30)
    assert all(r.record.chip.category == "edge" and r.power_w <= 30 for r in edge.ranked)
    # a rate no chip reaches leaves the ranking empty, never a false "sufficient"
    assert not chipfit.rank(resnet18, fps=1e9, precision="int8").ranked


def test_rank_refuses_unknown_sort_key(resnet18):
    with pytest.raises(ChipfitError, match="by must be one of power, margin, energy, latency"):
        chipfit.rank(resnet18, fps=30, by="price")


def test_without_a_unit_the_first_unit_with_the_precision_is_chosen(resnet18):
    # Apple M4: the GPU (first unit) has no int8 peak in the database, the Neural Engine has
    r = chipfit.check(resnet18, "apple-m4", fps=30, precision="int8")
    assert r.unit.id == "ane" and "unit ane chosen" in r.notes[0]
    with pytest.raises(ChipfitError, match="apple-m4:gpu has no dense int8 peak"):
        chipfit.check(resnet18, "apple-m4:gpu", fps=30, precision="int8")
