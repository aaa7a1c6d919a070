"""The edge model: fixed cost per op, chip speed, on-chip memory and host link, error bands,
the three-valued verdict and the runtime classes, each against hand arithmetic."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from chipfit import check
from chipfit.analysis.check import three_way
from chipfit.analysis.roofline import roofline
from chipfit.core.costgraph import CostGraph, Op
from chipfit.core.errors import ChipfitError
from chipfit.core.precision import get_precision
from chipfit.data.chips import database
from chipfit.data.efficiency import Efficiency, efficiency_classes, for_class

ROOT = Path(__file__).resolve().parent.parent
INT8 = get_precision("int8")


def _linear(name: str, n_in: int, n_out: int) -> Op:
    """A batch-1 linear layer: n_in·n_out MACs, n_in·n_out weights."""
    return Op(name=name, kind="linear", op="linear", macs=n_in * n_out, params=n_in * n_out,
              weight_elems=n_in * n_out, act_read_elems=n_in, act_write_elems=n_out,
              input_shapes=[(1, n_in)], output_shapes=[(1, n_out)])


def _graph() -> CostGraph:
    # two 1000x1000 linear layers: 1 MB of int8 weights each, 2 MFLOPs each
    return CostGraph(model="two-linear", ops=[_linear("a", 1000, 1000), _linear("b", 1000, 1000)],
                     params=2_000_000, inputs={"x": (1, 1000)})


def _eff(**kw) -> Efficiency:
    base = dict(gemm=1.0, depthwise=1.0, vector=1.0, memory=1.0, efficiency_class="t", basis="test")
    return Efficiency(**{**base, **kw})


def test_fixed_cost_per_op_is_paid_once_per_batch():
    g = _graph()
    # 1e9 ops/s, no DRAM time: compute 2e6 / 1e9 = 2 ms per op; 100 us to start each op
    r1 = roofline(g, INT8, 1e9, 0.0, _eff(op_overhead_s=100e-6), batch=1)
    assert r1.latency_s == pytest.approx(2 * (2e-3 + 100e-6))
    r8 = roofline(g, INT8, 1e9, 0.0, _eff(op_overhead_s=100e-6), batch=8)
    # batch 8: 8x the compute, the same two starts
    assert r8.latency_s == pytest.approx(2 * (8 * 2e-3 + 100e-6))
    assert r8.latency_s / 8 < r1.latency_s  # cheaper per inference at batch 8
    assert r1.overhead_s == pytest.approx(200e-6)


def test_an_op_that_fits_the_on_chip_buffer_pays_no_dram_time():
    # two linear layers of different sizes: 1000x1000 (1,000,000 weight bytes + 1000 in + 1000 out = 1.002 MB
    # at int8) and 3000x1000 (3,000,000 + 3000 + 1000 = 3.004 MB); 1e15 ops/s (compute ~0), 1 GB/s of DRAM
    g = CostGraph(model="two-sizes", ops=[_linear("small", 1000, 1000), _linear("big", 3000, 1000)],
                  params=4_000_000, inputs={"x": (1, 1000)})
    every = roofline(g, INT8, 1e15, 1e9, _eff(), fuse=False)
    assert [o.memory_s for o in every.ops] == pytest.approx([1.002e-3, 3.004e-3])
    held = roofline(g, INT8, 1e15, 1e9, _eff(buffer_bytes=2e6), fuse=False)  # a 2 MB buffer holds only the first
    assert [o.memory_s for o in held.ops] == pytest.approx([0.0, 3.004e-3])
    assert held.latency_s == pytest.approx(3.004e-3, rel=1e-3)
    assert roofline(g, INT8, 1e15, 1e9, _eff(buffer_bytes=4e6), fuse=False).memory_s == 0.0


def test_a_staging_class_adds_every_ops_bytes_at_its_rate_to_the_op_time():
    """Staging 2 on 1 GB/s of DRAM stages at 2 GB/s: the 1.002 MB and 3.004 MB layers add 0.501 ms and
    1.502 ms to their compute (2e6 and 6e6 FLOPs at 2e9 ops/s: 1 ms and 3 ms), though both fit the 16 MB
    buffer; with no staging they cost their compute alone. Batch 8 stages the activations 8 times and the
    weights once, as it moves them."""
    g = CostGraph(model="two-sizes", ops=[_linear("small", 1000, 1000), _linear("big", 3000, 1000)],
                  params=4_000_000, inputs={"x": (1, 1000)})
    plain = roofline(g, INT8, 2e9, 1e9, _eff(buffer_bytes=16e6), fuse=False)
    assert [o.time_s for o in plain.ops] == pytest.approx([1e-3, 3e-3])
    staged = roofline(g, INT8, 2e9, 1e9, _eff(buffer_bytes=16e6, staging=2.0), fuse=False)
    assert [o.staging_s for o in staged.ops] == pytest.approx([0.501e-3, 1.502e-3])
    assert [o.time_s for o in staged.ops] == pytest.approx([1.501e-3, 4.502e-3])
    assert staged.ops[0].to_dict()["staging_s"] == pytest.approx(0.501e-3)
    # batch 8: weights 1 MB + 3 MB once, activations (2000 + 4000) bytes × 8
    s8 = (4e6 + 8 * 6000) / 2e9
    assert sum(o.staging_s for o in roofline(g, INT8, 2e9, 1e9, _eff(staging=2.0), batch=8, fuse=False).ops) \
        == pytest.approx(s8)
    assert staged.latency_at(8) == pytest.approx(8 * 4e-3 + s8)
    # no DRAM bandwidth in the database: nothing to stage at
    assert roofline(g, INT8, 2e9, 0.0, _eff(staging=2.0), fuse=False).latency_s == pytest.approx(4e-3)


def _conv(name: str, x: tuple, w: tuple, y: tuple, op: str = "convolution") -> Op:
    """A convolution with input ``x``, weight ``w`` and output ``y`` (layouts as the frontend writes them)."""
    from math import prod
    return Op(name=name, kind="conv", op=op, macs=prod(y) * (prod(w) // w[0]),  # output × weights per output channel
              params=prod(w), weight_elems=prod(w),
              act_read_elems=prod(x), act_write_elems=prod(y), input_shapes=(x, w), output_shapes=(y,))


def test_a_mac_array_pays_for_channels_padded_to_whole_tiles():
    """At a tile of 16 channels: a 3-channel image into 20 channels costs (16/3)·(32/20) ≈ 8.53 times its
    MACs of compute; a grouped convolution of 4 channels per group (128 → 128, 32 groups) (16/4)·(16/4) = 16
    times; a 100 → 10 linear layer (112/100)·(16/10) = 1.792 times; a depthwise one is not a matrix op and
    pays nothing; the TFLite layouts give the same channels. The MACs reported stay the network's own."""
    from chipfit.analysis.roofline import channel_padding
    from chipfit.core.opfamily import channel_dims

    first = _conv("first", (1, 3, 8, 8), (20, 3, 3, 3), (1, 20, 8, 8))
    grouped = _conv("grouped", (1, 128, 8, 8), (128, 4, 3, 3), (1, 128, 8, 8))
    depthwise = _conv("dw", (1, 32, 8, 8), (32, 1, 3, 3), (1, 32, 8, 8))
    lin = _linear("fc", 100, 10)
    assert channel_padding(first, 16) == pytest.approx(16 / 3 * 32 / 20)
    assert channel_padding(grouped, 16) == pytest.approx(16.0)
    assert channel_padding(lin, 16) == pytest.approx(112 / 100 * 16 / 10)
    assert channel_padding(first, 0) == 1.0
    assert channel_padding(depthwise, 16) == 1.0
    assert channel_dims(_conv("t", (1, 8, 8, 3), (20, 3, 3, 3), (1, 8, 8, 20), op="CONV_2D")) == (3, 20)
    g = CostGraph(model="pads", ops=[first, grouped, depthwise, lin], params=0, inputs={"x": (1, 3, 8, 8)})
    plain = roofline(g, INT8, 1e9, 0.0, _eff(), fuse=False)
    tiled = roofline(g, INT8, 1e9, 0.0, _eff(channel_tile=16), fuse=False)
    ratios = [t.compute_s / p.compute_s for t, p in zip(tiled.ops, plain.ops)]
    assert ratios == pytest.approx([16 / 3 * 32 / 20, 16.0, 1.0, 112 / 100 * 16 / 10])
    assert [t.macs for t in tiled.ops] == [p.macs for p in plain.ops]


def _act(name: str, op: str, n: int, flops_per: int, kind: str = "activation") -> Op:
    return Op(name=name, kind=kind, op=op, nonmac_flops=n * flops_per, act_read_elems=n, act_write_elems=n,
              input_shapes=[(1, n)], output_shapes=[(1, n)])


def test_table_activations_run_at_their_own_factor():
    """SiLU (5 FLOPs an element), GELU, sigmoid (TFLite's LOGISTIC), hard swish and ONNX's Erf run at the
    ``activation`` factor when a class has one; ReLU, ReLU6 (hardtanh) and an add stay at ``vector``; without
    the factor every one of them runs at ``vector``. 1000 elements on a 1 GFLOP/s unit, fusion off."""
    ops = [_act("silu", "silu_", 1000, 5), _act("gelu", "gelu", 1000, 5), _act("sig", "LOGISTIC", 1000, 4),
           _act("hs", "hardswish", 1000, 5), _act("erf", "Erf", 1000, 1, kind="elementwise"),
           _act("relu", "relu", 1000, 1), _act("relu6", "hardtanh", 1000, 2),
           _act("add", "add", 1000, 1, kind="elementwise")]
    g = CostGraph(model="acts", ops=ops, params=0, inputs={"x": (1, 1000)})
    at = roofline(g, INT8, 1e9, 0.0, _eff(vector=0.5, activation=0.01), fuse=False)
    assert [o.op_class for o in at.ops] == ["activation"] * 5 + ["vector"] * 3
    assert [o.compute_s for o in at.ops] == pytest.approx([5e-4, 5e-4, 4e-4, 5e-4, 1e-4, 2e-6, 4e-6, 2e-6])
    plain = roofline(g, INT8, 1e9, 0.0, _eff(vector=0.5), fuse=False)
    assert {o.op_class for o in plain.ops} == {"vector"}
    assert [o.compute_s for o in plain.ops] == pytest.approx([1e-5, 1e-5, 8e-6, 1e-5, 2e-6, 2e-6, 4e-6, 2e-6])


def test_the_fitted_activation_factor_reaches_the_prediction():
    fitted = 0
    for name, fit in efficiency_classes().items():
        e = for_class(name)
        assert e.activation == fit.activation
        assert e.compute("activation") == (fit.activation if fit.activation is not None else fit.vector)
        fitted += fit.activation is not None
    assert fitted >= 1  # an edge class measured on networks with SiLU / sigmoid / hard swish fits its own


def test_normalising_ops_run_at_their_own_factor():
    """A layer norm (ATen's native_layer_norm), a group norm, an RMS norm (ONNX's SimplifiedLayerNormalization)
    and a softmax run at the ``norm`` factor when a class has one; a batch norm, an add and a mean stay at
    ``vector``; without the factor every one of them runs at ``vector``. 1000 elements on a 1 GFLOP/s unit,
    fusion off: 5 FLOPs an element at 0.001 is 5000 FLOPs / 1e6 FLOP/s = 5 ms; at 0.5, 10 µs."""
    ops = [_act("ln", "aten.native_layer_norm", 1000, 5, kind="norm"),
           _act("gn", "aten.native_group_norm", 1000, 5, kind="norm"),
           _act("rms", "SimplifiedLayerNormalization", 1000, 4, kind="norm"),
           _act("sm", "aten._softmax", 1000, 5, kind="softmax"),
           _act("bn", "aten.native_batch_norm", 1000, 2, kind="norm"),
           _act("add", "add", 1000, 1, kind="elementwise"),
           _act("mean", "aten.mean", 1000, 1, kind="pool")]
    g = CostGraph(model="norms", ops=ops, params=0, inputs={"x": (1, 1000)})
    at = roofline(g, INT8, 1e9, 0.0, _eff(vector=0.5, norm=0.001), fuse=False)
    assert [o.op_class for o in at.ops] == ["norm"] * 4 + ["vector"] * 3
    assert [o.compute_s for o in at.ops] == pytest.approx([5e-3, 5e-3, 4e-3, 5e-3, 4e-6, 2e-6, 2e-6])
    plain = roofline(g, INT8, 1e9, 0.0, _eff(vector=0.5), fuse=False)
    assert {o.op_class for o in plain.ops} == {"vector"}
    assert [o.compute_s for o in plain.ops] == pytest.approx([1e-5, 1e-5, 8e-6, 1e-5, 4e-6, 2e-6, 2e-6])


def test_the_fitted_norm_factor_reaches_the_prediction():
    """A class fitted with its own rate for normalising ops prices them at it; the others at vector."""
    for name, fit in efficiency_classes().items():
        e = for_class(name)
        assert e.norm == fit.norm
        assert e.compute("norm") == (fit.norm if fit.norm is not None else fit.vector)


def test_a_batch_norm_after_a_convolution_is_folded_by_a_class_fitted_so():
    """conv → batch norm → ReLU, then an add and a batch norm after it: with ``folds_batch_norm`` the first
    batch norm takes no time (folded into the convolution's weights and bias; its FLOPs still count), the
    second (after an add, nothing to fold into) runs at vector; without it, or unfused, both run."""
    n = 16 * 8 * 8
    conv = _conv("conv", (1, 16, 8, 8), (16, 16, 3, 3), (1, 16, 8, 8))
    ops = [conv, _act("bn", "native_batch_norm", n, 4, kind="norm"), _act("relu", "relu_", n, 1),
           _act("add", "add", n, 1, kind="elementwise"), _act("bn2", "native_batch_norm", n, 4, kind="norm")]
    g = CostGraph(model="bn", ops=ops, params=0, inputs={"x": (1, 16, 8, 8)})
    folded = roofline(g, INT8, 1e9, 0.0, _eff(vector=0.5, folds_batch_norm=True))
    charged = roofline(g, INT8, 1e9, 0.0, _eff(vector=0.5))
    assert [o.compute_s for o in folded.ops[1:]] == pytest.approx([0.0, n / 0.5e9, n / 0.5e9, 4 * n / 0.5e9])
    assert [o.compute_s for o in charged.ops[1:]] == pytest.approx([4 * n / 0.5e9, n / 0.5e9, n / 0.5e9, 4 * n / 0.5e9])
    assert folded.flops == charged.flops and folded.ops[1].flops == 4 * n
    unfused = roofline(g, INT8, 1e9, 0.0, _eff(vector=0.5, folds_batch_norm=True), fuse=False)
    assert unfused.ops[1].compute_s == pytest.approx(4 * n / 0.5e9)
    # whether a class folds is chosen by the edge fit; the NVIDIA and CPU classes were fitted charging it
    edge = {name for name, fit in efficiency_classes().items() if fit.folds_batch_norm}
    assert edge and not edge & {"nvidia-gpu", "nvidia-jetson-gpu", "nvidia-dla", "cpu"}
    assert all(for_class(name).folds_batch_norm == (name in edge) for name in efficiency_classes())


def test_the_fitted_channel_tile_reaches_the_prediction():
    for name, fit in efficiency_classes().items():
        assert for_class(name).channel_tile == (fit.channel_tile or 0)


def test_a_dataflow_chip_holds_an_op_per_image_in_its_buffer():
    """A pipeline streams the images of a batch through each layer one at a time, so on a dataflow
    chip an op's bytes per image, not per batch, must fit the buffer."""
    def relu(name: str, elems: int) -> Op:
        return Op(name=name, kind="elementwise", op="relu", nonmac_flops=elems, act_read_elems=elems,
                  act_write_elems=elems, input_shapes=[(1, elems)], output_shapes=[(1, elems)])
    # int8: 'small' reads and writes 0.5 M elements = 1 MB per image, 'big' 3 MB; 1 GB/s DRAM, compute ~0
    g = CostGraph(model="acts", ops=[relu("small", 500_000), relu("big", 1_500_000)], params=0,
                  inputs={"x": (1, 500_000)})
    plain = _eff(buffer_bytes=2e6)
    flow = _eff(buffer_bytes=2e6, dataflow=True)
    # batch 8: 8 MB and 24 MB per batch; an NPU that is not a pipeline tiles both through DRAM
    assert [o.memory_s for o in roofline(g, INT8, 1e15, 1e9, plain, batch=8, fuse=False).ops] == \
        pytest.approx([8e-3, 24e-3])
    # the dataflow chip holds the 1 MB image of 'small'; 'big' (3 MB an image) pays for all 24 MB
    assert [o.memory_s for o in roofline(g, INT8, 1e15, 1e9, flow, batch=8, fuse=False).ops] == \
        pytest.approx([0.0, 24e-3])
    # at batch 1 the two agree
    for eff in (plain, flow):
        assert [o.memory_s for o in roofline(g, INT8, 1e15, 1e9, eff, batch=1, fuse=False).ops] == \
            pytest.approx([0.0, 3e-3])


def test_the_fitted_on_chip_buffer_reaches_the_prediction():
    for name, fit in efficiency_classes().items():
        assert for_class(name).buffer_bytes == pytest.approx((fit.buffer_mb or 0.0) * 1e6)


@pytest.mark.parametrize("memory, buffer_mb", [(0.05, 16.0), (0.3, 2.0), (0.1, 0.0)])
def test_the_edge_fit_recovers_a_known_buffer_and_memory_factor(memory, buffer_mb):
    """Rows made by the fit's own model from known factors (gemm 0.5, 100 µs per call) plus 5 % noise:
    the fit finds the buffer and lands within 15 % of the memory and gemm factors. (With a memory at the
    rated bandwidth these op times cannot tell a buffer of a few MB from none: the cases have a slow one.)"""
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    rng = np.random.default_rng(7)
    rows = []
    for i in range(30):  # 30 networks of 4 ops: 10 MFLOP-10 GFLOP, 0.1-50 MB each
        r = fe.Row(f"r{i}", "chip", "rt", "c", f"m{i}", (224, 224), 1, 0.0, False, peak=1e12, bandwidth=10e9)
        r.feats = (np.zeros(4, dtype=np.int8), 10 ** rng.uniform(7, 10, 4), 10 ** rng.uniform(5, 7.7, 4),
                   0, 0, 0.0, 0.0, False)
        rows.append(r)
    true = fe.Params(gemm=0.5, memory=memory, buffer_mb=buffer_mb, overhead_us=0.0, call_us=100.0)
    for r, t in zip(rows, fe.Batch(rows).predict(true) * np.exp(rng.normal(0, 0.05, len(rows)))):
        r.measured_s = float(t)
    p, _ = fe.fit(fe.Batch(rows), with_speeds=False)
    assert p.buffer_mb == buffer_mb
    assert p.memory == pytest.approx(memory, rel=0.15)
    assert p.gemm == pytest.approx(0.5, rel=0.15)


def test_the_edge_fit_can_keep_the_lowest_loss_of_several_coordinate_orders():
    """Coordinate descent ends in a local minimum that depends on the order of its coordinates:
    ``fit(orders=N)`` runs the whole first-fit search in N orders (as listed, reversed, fixed
    shuffles) and keeps the lowest loss; one order is the search as listed."""
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    names = ["gemm", "vector", "memory", "call_us", "tile"]
    assert fe._ordered(names, 0) == names and fe._ordered(names, 1) == names[::-1]
    shuffled = fe._ordered(names, 2)
    assert sorted(shuffled) == sorted(names) and shuffled == fe._ordered(names, 2)
    rng = np.random.default_rng(3)
    rows = []
    for i in range(20):  # networks of a convolution and two vector ops, DRAM-bound above a 2 MB buffer
        r = fe.Row(f"r{i}", "chip", "rt", "c", f"m{i}", (224, 224), 1, 0.0, False, peak=1e12, bandwidth=10e9)
        r.feats = (np.array([0, 2, 2], dtype=np.int8), 10 ** rng.uniform(7, 10, 3), 10 ** rng.uniform(5, 7.5, 3),
                   3, 0, 0.0, 0.0, False)
        rows.append(r)
    true = fe.Params(gemm=0.4, vector=0.05, memory=0.3, buffer_mb=2.0, overhead_us=20.0, call_us=100.0)
    for r, t in zip(rows, fe.Batch(rows).predict(true) * np.exp(rng.normal(0, 0.1, len(rows)))):
        r.measured_s = float(t)
    b = fe.Batch(rows)
    searched = [fe._search(b, False, k) for k in range(2)]
    best = min(searched, key=lambda ps: fe._loss(b, *ps))
    assert fe.fit(b, False, orders=2)[0] == best[0]
    assert fe.fit(b, False)[0] == searched[0][0]


def test_the_fitted_staging_reaches_the_prediction():
    for name, fit in efficiency_classes().items():
        assert for_class(name).staging == (fit.staging or 0.0)


@pytest.mark.parametrize("staging", [0.0, 2.0])
def test_the_edge_fit_finds_a_staging_term_only_where_there_is_one(staging):
    """Rows made by the fit's own model (gemm 0.5, memory 0.3, an 8 MB buffer, 100 µs per call) with or
    without every op's bytes staged at twice the DRAM bandwidth, plus 5 % noise, on ops small enough to
    fit the buffer, whose staging time is of the order of their compute: the fit finds the staging rate,
    or none."""
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    rng = np.random.default_rng(11)
    rows = []
    for i in range(40):  # 40 networks of 4 ops: 3-300 MFLOP, 0.1-5 MB each (staged at 20 GB/s: 5-250 µs)
        r = fe.Row(f"r{i}", "chip", "rt", "c", f"m{i}", (224, 224), 1, 0.0, False, peak=1e12, bandwidth=10e9)
        r.feats = (np.zeros(4, dtype=np.int8), 10 ** rng.uniform(6.5, 8.5, 4), 10 ** rng.uniform(5, 6.7, 4),
                   0, 0, 0.0, 0.0, False)
        rows.append(r)
    true = fe.Params(gemm=0.5, memory=0.3, buffer_mb=8.0, overhead_us=0.0, call_us=100.0, staging=staging)
    for r, t in zip(rows, fe.Batch(rows).predict(true) * np.exp(rng.normal(0, 0.05, len(rows)))):
        r.measured_s = float(t)
    b = fe.Batch(rows)
    p, _ = fe.fit(b, with_speeds=False)
    assert p.staging == staging
    assert fe._loss(b, p, {}) < 1.5 * fe._loss(b, true, {})  # the noise's own loss: about 0.04


@pytest.mark.parametrize("fold", [True, False])
def test_the_edge_fit_finds_whether_batch_norms_are_folded(fold):
    """30 networks of a convolution, a batch norm and another element-wise op, 20 of them with the batch
    norm right after the convolution (foldable), made by the fit's own model with the batch norms folded
    or charged at vector (gemm 0.5, vector 0.01, 3 % noise): the fit says which."""
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    rng = np.random.default_rng(3)
    rows = []
    for i in range(30):
        r = fe.Row(f"r{i}", "chip", "rt", "c", f"m{i}", (224, 224), 1, 0.0, False, peak=1e12, bandwidth=0.0)
        conv = 10 ** rng.uniform(8, 10)
        r.feats = (np.array([0, 2, 2], dtype=np.int8), np.array([conv, conv * 10 ** rng.uniform(-3, -1.5),
                                                                  conv * 10 ** rng.uniform(-3.5, -2)]),
                   np.zeros(3), 0, 0, 0.0, 0.0, False, {t: np.ones(3) for t in fe.TILE_GRID if t},
                   np.array([False, i < 20, False]))
        rows.append(r)
    true = fe.Params(gemm=0.5, vector=0.01, overhead_us=0.0, call_us=0.0, fold=fold)
    for r, t in zip(rows, fe.Batch(rows).predict(true) * np.exp(rng.normal(0, 0.03, len(rows)))):
        r.measured_s = float(t)
    p, _ = fe.fit(fe.Batch(rows), with_speeds=False)
    assert p.fold == fold


def test_a_chip_measured_in_two_runtime_releases_has_a_speed_per_release():
    """The same networks on chip a, twice as fast in release "new" (the class's most measured) as in
    "old": each release gets its speed, the chip's own is the reference release's, and a chip measured
    only in "old" keeps a plain speed of its own."""
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    rows = []
    for chip, release, scale, n in (("a", "new", 1.0, 6), ("a", "old", 2.0, 6), ("b", "new", 1.0, 6),
                                    ("c", "old", 4.0, 6)):
        for i in range(n):
            r = fe.Row(f"{chip}{release}{i}", chip, "rt", "k", f"m{i}", (224, 224), 1, 0.0, False,
                       peak=1e12, release=release)
            r.feats = (np.zeros(1, dtype=np.int8), np.array([1e9 * (i + 1)]), np.zeros(1), 0, 0, 0.0, 0.0, False)
            r.measured_s = scale * 2e-3 * (i + 1)  # gemm 0.5 at speed 1 / scale
            rows.append(r)
    fe.speed_keys(rows)
    assert {r.speed_of for r in rows} == {"a", "a (old)", "b", "c"}
    b = fe.Batch(rows)
    speed = fe._speeds(b, fe.Params(gemm=0.5, overhead_us=0.0, call_us=0.0))
    assert speed["a"][0] / speed["a (old)"][0] == pytest.approx(2.0)
    assert speed["a"][0] / speed["c"][0] == pytest.approx(4.0)
    assert speed["a"][0] == pytest.approx(speed["b"][0])


def test_the_release_spread_left_after_each_chips_shift_is_reported():
    """Six networks on chip a in two releases: five run exactly twice as long in "old", one three
    times. The raw gap is a median 100 %; with the chip's shift (its median, 2x) taken out, five are
    left at 0 and one at 3/2 - 1 = 50 %, and the report gives that median and p90."""
    import math
    import sys

    import numpy as np

    from chipfit.core.stats import percentile

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    rows = []
    for release, scales in (("new", [1.0] * 6), ("new", [1.0] * 6), ("old", [2.0] * 5 + [3.0])):
        for i, scale in enumerate(scales):
            r = fe.Row(f"{release}{i}{len(rows)}", "a", "rt", "k", f"m{i}", (224, 224), 1, 1e-3 * scale, False,
                       peak=1e12, release=release)
            rows.append(r)
    fe.speed_keys(rows)
    res = fe.ClassResult("k", fe.Params(), {"a": (1.0, 1.0), "a (old)": (0.5, 0.5)}, rows, [], np.array([]),
                         np.array([]), None, None)
    (line,) = [x for x in fe.release_lines({"k": res}) if x]
    assert "by a median 100.0% (6 networks measured in both)" in line
    assert f"by a median 0.0% and a p90 of {fe.pct(percentile([0, 0, 0, 0, 0, 50.0], 90))}" in line
    assert math.isclose(percentile([0, 0, 0, 0, 0, 50.0], 90), 25.0)


def test_the_edge_fit_finds_a_chip_whose_fixed_costs_run_slower_than_its_compute():
    """Chip b computes as fast as chip a but pays its 200 µs call at half speed: the closed-form
    speeds give b the same compute speed and half the fixed-cost speed."""
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    rows = []
    for chip, fixed_speed in (("a", 1.0), ("b", 0.5)):
        for i in range(8):  # 0.1-12.8 ms of compute: the call cost weighs on the small ones
            r = fe.Row(f"{chip}{i}", chip, "rt", "k", f"m{i}", (224, 224), 1, 0.0, False, peak=1e12)
            r.feats = (np.zeros(1, dtype=np.int8), np.array([0.5e8 * 2 ** i]), np.zeros(1), 0, 0, 0.0, 0.0, False)
            r.measured_s = 1e-4 * 2 ** i + 2e-4 / fixed_speed
            rows.append(r)
    fe.speed_keys(rows)
    speed = fe._speeds(fe.Batch(rows), fe.Params(gemm=0.5, overhead_us=0.0, call_us=200.0))
    assert speed["a"][0] == pytest.approx(speed["b"][0])
    assert speed["a"][1] / speed["b"][1] == pytest.approx(2.0)


def test_an_int8_row_slower_than_its_float_build_is_set_aside(tmp_path, monkeypatch):
    """Of two AI Hub ResNet-18 pairs on the same device, the int8 build that ran slower than its float
    build (1.2 ms against 1.0 ms) is set aside, never fitted on; the one that ran faster is kept, as
    is an int8 row with no float twin."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    cols = ("id,chip,unit,runtime,runtime_version,model,model_ref,input,precision,batch,cores,metric,value,"
            "source,source_path,source_commit,source_table,notes").split(",")
    rows = []
    for release, int8_ms, float_ms in (("a", 1.2, 1.0), ("b", 0.4, 1.0), ("c", 0.4, None)):
        for precision, ms in (("int8", int8_ms), ("float", float_ms)):
            if ms is not None:
                rows.append({"id": f"hub-{release}/qcs8550/resnet18/{precision}/qnn/dev", "chip": "qcs8550",
                             "unit": "npu", "runtime": "qnn", "runtime_version": release, "model": "resnet18",
                             "model_ref": "resnet18", "input": "224x224", "precision": precision, "batch": "1",
                             "metric": "latency_ms", "value": str(ms), "source": "test"})
    path = tmp_path / "rows.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, cols, restval="")
        w.writeheader()
        w.writerows(rows)
    monkeypatch.setattr(fe, "ROWS", path)
    kept, left, aside = fe.select_rows(database())
    assert [r.release for r in kept] == ["b", "c"]
    assert [r.release for r in aside] == ["a"] and left[fe.NOT_INTEGER] == 1
    assert aside[0].measured_s == pytest.approx(1.2e-3)


def test_chip_speed_scales_compute_memory_and_op_cost():
    g = _graph()
    slow = roofline(g, INT8, 1e9, 1e9, _eff(op_overhead_s=1e-4), batch=1)
    fast = roofline(g, INT8, 1e9, 1e9, _eff(op_overhead_s=1e-4, speed=2.0), batch=1)
    assert fast.latency_s == pytest.approx(slow.latency_s / 2)
    assert fast.peak_ops == slow.peak_ops  # the rated peak is reported unscaled


def test_a_chip_pays_its_fixed_costs_at_its_own_fixed_cost_speed():
    """Two linear layers of 2 MFLOPs and 1 MB each at 1 GOPS and 1 GB/s: 2 ms of compute each (the
    roofline's larger side: 1 MB at 1 GB/s is 1 ms), 100 µs to start each op and 300 µs per call; at
    compute speed 2 and fixed-cost speed 0.5: 2 × 2 ms / 2 + (2 × 100 µs + 300 µs) / 0.5 = 3 ms."""
    g = _graph()
    e = _eff(op_overhead_s=1e-4, call_overhead_s=3e-4, speed=2.0, fixed_speed=0.5)
    assert roofline(g, INT8, 1e9, 1e9, e, batch=1).latency_s == pytest.approx(2 * 2e-3 / 2 + (2 * 1e-4 + 3e-4) / 0.5)
    assert _eff(speed=2.0).fixed_rate == 2.0  # no fixed-cost speed of its own: at the compute speed


def test_weights_that_fit_on_chip_stay_and_the_rest_cross_the_host_link():
    g = _graph()
    eff = _eff()
    # 1.5 MB on chip: op a's 1 MB stays, 0.5 MB of op b's stays, 0.5 MB crosses a 100 MB/s link
    r = roofline(g, INT8, 1e12, 0.0, eff, onchip_bytes=1.5e6, link_bandwidth=100e6)
    assert [o.streamed_bytes for o in r.ops] == [0, 500_000]
    assert r.link_s == pytest.approx(0.5e6 / 100e6)
    # compute is 2e6 / 1e12 = 2 us per op, the link 5 ms: op b is memory-bound on the link
    assert r.latency_s == pytest.approx(2e-6 + 5e-3)
    assert r.ops[1].bound == "memory"
    # everything fits: nothing streams
    fits = roofline(g, INT8, 1e12, 0.0, eff, onchip_bytes=4e6, link_bandwidth=100e6)
    assert fits.streamed_bytes == 0 and fits.latency_s == pytest.approx(4e-6)


def test_three_way_verdict():
    assert three_way(True, 30, 35, 80) == "SUFFICIENT"
    assert three_way(True, 30, 20, 80) == "UNCERTAIN"
    assert three_way(True, 30, 10, 40) == "UNCERTAIN"
    assert three_way(True, 30, 10, 25) == "INSUFFICIENT"
    assert three_way(False, 30, 35, 80) == "INSUFFICIENT"
    assert three_way(True, 30, 50, 50) == "SUFFICIENT" and three_way(True, 30, 20, 20) == "INSUFFICIENT"  # no band


def test_check_reports_the_band_of_its_class_and_the_verdict_follows_it():
    r = check("resnet18", "jetson-agx-orin-64gb:gpu", fps=30, precision="fp16")
    b = r.efficiency.band
    assert b is not None and b.low <= 1 <= b.high
    assert r.latency_s_low == pytest.approx(r.latency_s * b.low)
    assert r.max_fps_low == pytest.approx(r.max_fps / b.high)
    d = r.to_dict()
    assert d["verdict"] in ("SUFFICIENT", "UNCERTAIN", "INSUFFICIENT") and isinstance(d["sufficient"], bool)
    # at a rate between the ends of the band the answer is UNCERTAIN
    mid = (r.max_fps_low + r.max_fps_high) / 2
    assert check("resnet18", "jetson-agx-orin-64gb:gpu", fps=mid, precision="fp16").verdict == "UNCERTAIN"
    assert check("resnet18", "jetson-agx-orin-64gb:gpu", fps=r.max_fps_low * 0.9, precision="fp16").verdict == "SUFFICIENT"
    assert check("resnet18", "jetson-agx-orin-64gb:gpu", fps=r.max_fps_high * 1.1, precision="fp16").verdict == "INSUFFICIENT"


def test_every_edge_class_is_fitted_or_says_whose_factors_it_borrows():
    classes = efficiency_classes()
    for name in ("npu", "hailort", "edgetpu"):
        assert name in classes
    for name, fit in classes.items():
        if fit.borrows:
            assert fit.borrows in classes and "borrows" in fit.basis, name
            e = for_class(name)
            lender = classes[fit.borrows]
            assert (e.gemm, e.depthwise, e.memory) == (lender.gemm, lender.depthwise, lender.memory)
        if fit.heldout is not None:
            assert fit.heldout.band_low <= fit.heldout.band_high
            b = for_class(name).band  # the band a prediction shows always holds the prediction itself
            assert b.low <= 1.0 <= b.high


def test_the_fit_predictions_are_what_chipfit_predicts():
    """benchmarks/edge/predictions.csv holds the fit's own predictions; chipfit check must give
    the same for rows of networks whose graphs ship with chipfit (no tracing)."""
    rows = list(csv.DictReader(open(ROOT / "benchmarks" / "edge" / "predictions.csv", encoding="utf-8")))
    stored = {"resnet50", "resnet18", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "convnext_tiny"}
    per_class: dict[str, list[dict]] = {}
    for r in rows:  # a few rows of every class, a borrowing one included
        if r["model"] in stored and r["input"] == "224x224" and r["speed_of"] in ("", r["chip"]) \
                and len(per_class.setdefault(r["class"], [])) < 3:  # (not a chip's speed in an older release)
            per_class[r["class"]].append(r)
    picked = [r for rs in per_class.values() for r in rs]
    assert picked, "no predicted row of a shipped network"
    assert any(efficiency_classes()[c].borrows for c in per_class), "no row of a borrowing class"
    db = database()
    for r in picked:
        rec, unit = db.get(r["chip"])
        runtime = r["class"] if r["class"] != unit.efficiency_class else None
        precision = "fp16" if "/fp16/" in r["id"] else "int8"  # the Jetson GPU rows are TensorRT fp16
        got = check(r["model"], r["chip"], fps=1, precision=precision, batch=int(r["batch"]), runtime=runtime)
        assert got.roof.latency_s == pytest.approx(float(r["predicted_s"]), rel=2e-3), r["id"]


def test_the_stored_residuals_are_the_prediction_files_errors():
    rows = list(csv.DictReader(open(ROOT / "benchmarks" / "edge" / "predictions.csv", encoding="utf-8")))
    classes = efficiency_classes()
    from statistics import median
    for name, fit in classes.items():
        held = [abs(float(r["predicted_s"]) / float(r["measured_s"]) - 1) * 100 for r in rows
                if r["class"] == name and r["role"] == "heldout"]
        if fit.heldout is not None and held and not fit.borrows:
            assert fit.heldout.n == len(held)
            assert fit.heldout.median_abs_pct == pytest.approx(median(held), abs=0.2)
        left_out = [abs(float(r["left_out_s"]) / float(r["measured_s"]) - 1) * 100 for r in rows
                    if r["class"] == name and r["role"] in ("fit", "heldout")]
        if fit.out_of_sample is not None and not fit.borrows and left_out:  # (the pooled npu class has no rows)
            # every fit and held-out row of the class, each predicted without its model
            assert fit.out_of_sample.n == len(left_out) == fit.residual.n + (fit.heldout.n if fit.heldout else 0)
            assert fit.out_of_sample.median_abs_pct == pytest.approx(median(left_out), abs=0.2)


def test_a_measured_chip_shows_the_band_of_every_model_left_out_of_the_fit():
    """The band of a new network on a measured chip is the spread of every row predicted without its
    model in the fit (held-out rows and leave-one-model-out), not of the held-out quarter alone."""
    for name, fit in efficiency_classes().items():
        if fit.borrows or fit.out_of_sample is None or not fit.chips:
            continue
        b = for_class(name, chip=next(iter(fit.chips))).band
        assert (b.n, b.median_abs_pct, b.what) == (fit.out_of_sample.n, fit.out_of_sample.median_abs_pct,
                                                     "rows of models left out of the fit"), name
        assert b.n > (fit.heldout.n if fit.heldout else 0), name



def test_a_runtime_the_chip_does_not_run_is_one_sentence():
    with pytest.raises(ChipfitError, match="qnn is not one this chip runs; it has hailort"):
        check("resnet18", "hailo-8", fps=30, runtime="qnn")


CHIP = """
vendor: Me
sources:
  bench: {title: "my own measurement", date: "2026-11"}
chips:
  - id: my-stick
    name: My USB stick
    category: edge
    efficiency_class: npu
    runtimes: [edgetpu]
    dense:
      int8: {value: 4, source: bench, flag: measured}
    onchip_memory_mb: {value: 8, source: bench, flag: measured}
    host_link:
      name: "USB 3.0 (5 Gb/s)"
      bandwidth_gbps: {value: 0.5, source: bench, flag: measured}
"""


def test_a_user_chip_with_on_chip_memory_streams_what_does_not_fit(tmp_path):
    f = tmp_path / "stick.yaml"
    f.write_text(CHIP)
    r = check("resnet50", "my-stick", fps=30, chips_files=[str(f)])
    weights = r.weight_bytes
    assert weights > 8e6
    # everything beyond the 8 MB crosses the 0.5 GB/s link on every inference (within one op's weights)
    assert r.roof1.streamed_bytes == pytest.approx(weights - 8e6, rel=0.01)
    assert r.roof1.link_s == pytest.approx(r.roof1.streamed_bytes / 0.5e9)
    assert r.latency_s >= r.roof1.link_s
    small = check("mobilenet_v2", "my-stick", fps=30, chips_files=[str(f)])
    assert small.roof1.streamed_bytes == 0  # 3.5 MB of int8 weights fit in 8 MB


@pytest.mark.parametrize("edit, message", [
    # each names the line of the field itself (the chip file's lines: runtimes 10, onchip 13, host link 16)
    (("runtimes: [edgetpu]", "runtimes: [edgetpu, warp-drive]"),
     r"stick.yaml, line 10: chips\[0\].runtimes\[1\]: my-stick: 'warp-drive' is not one of"),
    (("efficiency_class: npu", "efficiency_class: npuu"),
     r"stick.yaml, line 9: chips\[0\].efficiency_class: my-stick: 'npuu' is not one of"),
    (("onchip_memory_mb: {value: 8", "onchip_memory_mb: {value: -8"),
     r"stick.yaml, line 13: chips\[0\].onchip_memory_mb.value: Input should be greater than 0"),
    (("bandwidth_gbps: {value: 0.5, source: bench", "bandwidth_gbps: {value: 0.5, source: nowhere"),
     r"stick.yaml, line 16: chips\[0\].host_link.bandwidth_gbps.source: my-stick cites source 'nowhere', which "
     r"the file's sources do not list \(bench\)"),
    ((CHIP.split("chips:\n", 1)[1].rstrip("\n"), CHIP.split("chips:\n", 1)[1].rstrip("\n")
      + "\n" + CHIP.split("chips:\n", 1)[1].rstrip("\n")),
     r"stick.yaml, line 17: chips\[1\].id: chip id 'my-stick' is already used earlier in the file"),
])
def test_bad_chip_data_is_one_sentence_naming_file_line_and_field(tmp_path, edit, message):
    f = tmp_path / "stick.yaml"
    f.write_text(CHIP.replace(*edit))
    with pytest.raises(ChipfitError, match=message):
        database([f])


# ----------------------------------------------------------------------------- attention, data moves, contexts
def _matmul_of_two_activations(name: str, n: int) -> Op:
    """Q·Kᵀ of an n×n by n×n product: n³ MACs, no weights."""
    return Op(name=name, kind="matmul", op="matmul", macs=n ** 3, act_read_elems=2 * n * n,
              act_write_elems=n * n, input_shapes=[(n, n), (n, n)], output_shapes=[(n, n)])


def _concat(name: str, elems: int) -> Op:
    """A concat: moves elems in and out, computes nothing."""
    return Op(name=name, kind="data", op="cat", act_read_elems=elems, act_write_elems=elems,
              input_shapes=[(1, elems)], output_shapes=[(1, elems)])


def test_a_product_of_two_activations_runs_at_the_attention_factor():
    g = CostGraph(model="attn", ops=[_linear("proj", 1000, 1000), _matmul_of_two_activations("qk", 100)],
                  params=1_000_000, inputs={"x": (1, 1000)})
    # 1e9 ops/s, no DRAM time: proj 2e6 FLOPs at gemm 0.5 = 4 ms; qk 2e6 FLOPs at attention 0.1 = 20 ms
    r = roofline(g, INT8, 1e9, 0.0, _eff(gemm=0.5, attention=0.1))
    assert [o.op_class for o in r.ops] == ["gemm", "attention"]
    assert [o.compute_s for o in r.ops] == [pytest.approx(4e-3), pytest.approx(20e-3)]
    assert r.has_attention
    # a class without an attention factor runs it at gemm, as before: 4 ms + 4 ms
    plain = roofline(g, INT8, 1e9, 0.0, _eff(gemm=0.5))
    assert plain.ops[1].op_class == "gemm" and plain.latency_s == pytest.approx(8e-3)


def test_a_data_move_pays_its_own_fixed_cost_once_per_batch():
    g = CostGraph(model="cat", ops=[_linear("a", 1000, 1000), _concat("cat", 1000)],
                  params=1_000_000, inputs={"x": (1, 1000)})
    eff = _eff(op_overhead_s=100e-6, data_overhead_s=30e-6)
    # compute 2e6 / 1e9 = 2 ms; the linear starts for 100 us, the concat for 30 us (it computes nothing)
    r1 = roofline(g, INT8, 1e9, 0.0, eff)
    assert [o.overhead_s for o in r1.ops] == [pytest.approx(100e-6), pytest.approx(30e-6)]
    assert r1.latency_s == pytest.approx(2e-3 + 130e-6)
    r8 = roofline(g, INT8, 1e9, 0.0, eff, batch=8)
    assert r8.latency_s == pytest.approx(8 * 2e-3 + 130e-6)
    # a data op that moves nothing (a view) costs nothing
    view = Op(name="v", kind="data", op="view", input_shapes=[(1, 1000)], output_shapes=[(1, 1000)])
    r = roofline(CostGraph(model="v", ops=[_linear("a", 1000, 1000), view], params=1_000_000,
                           inputs={"x": (1, 1000)}), INT8, 1e9, 0.0, eff)
    assert r.latency_s == pytest.approx(2e-3 + 100e-6)


def _dataflow(**kw) -> Efficiency:
    # a dataflow chip: 100 us per op and 30 us per data move when split, weights reload at 1 GB/s
    return _eff(dataflow=True, op_overhead_s=100e-6, data_overhead_s=30e-6, context_link_bw=1e9, **kw)


def test_a_network_that_fits_one_context_runs_as_a_pipeline_without_fixed_costs():
    g = _graph()  # 2 MB of int8 weights + largest op working set 1000 B in + 1000 B out: needs 2.002 MB
    r = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=4e6))
    assert r.context_need_bytes == pytest.approx(2_002_000)
    assert r.split is False and r.overhead_s == 0 and r.context_s == 0
    assert r.latency_s == pytest.approx(2 * 2e-3)  # compute only: 2 ops × 2e6 / 1e9
    r8 = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=4e6), batch=8)
    assert r8.latency_s / 8 == pytest.approx(r.latency_s)  # a full pipeline: batch changes nothing per image


def test_a_network_too_big_for_one_context_is_split_and_a_batch_amortises_the_reload():
    g = _graph()
    # 1.5 MB capacity < 2.002 MB: split. Per batch: 2 ops × 100 us + 2 MB / 1 GB/s = 2 ms reload
    r1 = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=1.5e6))
    assert r1.split is True
    assert r1.context_s == pytest.approx(2e-3)
    assert r1.latency_s == pytest.approx(4e-3 + 200e-6 + 2e-3)
    r8 = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=1.5e6), batch=8)
    assert r8.latency_s == pytest.approx(8 * 4e-3 + 200e-6 + 2e-3)
    # per image: 6.2 ms at batch 1, 4.275 ms at batch 8
    assert r8.latency_s / 8 == pytest.approx(4.275e-3) and r1.latency_s == pytest.approx(6.2e-3)
    # the chip's measured speed scales the reload too
    fast = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=1.5e6, speed=2.0))
    assert fast.latency_s == pytest.approx(r1.latency_s / 2)


def test_a_network_near_the_capacity_is_priced_the_other_way_too():
    g = _graph()  # needs 2.002 MB
    one = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=3e6))     # fits: 2.002 / 3 = 0.67
    split = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=1.5e6))  # split: 2.002 / 1.5 = 1.33
    assert one.split is False and split.split is True and one.near_capacity and split.near_capacity
    # one context: 2 ops x 2 ms = 4 ms; split: + 2 x 100 us + 2 MB / 1 GB/s reload = 6.2 ms
    assert one.latency_s == pytest.approx(4e-3) and split.latency_s == pytest.approx(6.2e-3)
    assert one.other_latency_s == pytest.approx(6.2e-3) and split.other_latency_s == pytest.approx(4e-3)
    assert any("within a factor 2" in n and "split, a batch takes 6.2 ms" in n for n in one.notes)
    assert any("in one context, a batch takes 4 ms" in n for n in split.notes)
    # a class that counted how often its capacities misjudged networks this close says so
    counted = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=3e6, context_misjudged=(3, 40)))
    assert any("where 3 of 40 measured networks ran the other way" in n for n in counted.notes)
    assert not any("measured networks ran" in n for n in one.notes)
    # at batch 8 the reload and the op costs are still paid once: 8 x 4 ms + 2.2 ms
    assert roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=3e6), batch=8).other_latency_s == pytest.approx(34.2e-3)
    # beyond a factor 2 either way, or a split forced by attention: one price, no note
    for far in (roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=5e6)),      # 0.40
                roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=0.9e6))):   # 2.22
        assert far.other_latency_s is None and not far.near_capacity
        assert not any("within a factor" in n for n in far.notes)
    attn = CostGraph(model="attn", ops=[_linear("proj", 1000, 1000), _matmul_of_two_activations("qk", 100)],
                     params=1_000_000, inputs={"x": (1, 1000)})
    assert roofline(attn, INT8, 1e9, 0.0, _dataflow(context_bytes=1.5e6)).other_latency_s is None


def test_near_the_capacity_the_band_runs_from_the_faster_price_to_the_slower():
    from chipfit.analysis.check import both_prices

    g = _graph()
    one = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=3e6))     # 4 ms; split 6.2 ms
    split = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=1.5e6))  # 6.2 ms; one context 4 ms
    far = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=5e6))     # 4 ms, one price
    # a band of x0.8 .. x1.5 of the price: one context 3.2 .. 6 ms, split 4.96 .. 9.3 ms
    lo, hi = both_prices((0.8, 1.5), [one])
    assert (lo * 4e-3, hi * 4e-3) == (pytest.approx(3.2e-3), pytest.approx(9.3e-3))
    lo, hi = both_prices((0.8, 1.5), [split])
    assert (lo * 6.2e-3, hi * 6.2e-3) == (pytest.approx(3.2e-3), pytest.approx(9.3e-3))
    assert both_prices((0.8, 1.5), [far]) == (0.8, 1.5)
    # at batch 8 the other price is 34.2 ms against 32 ms: the wider of batch 1 and the batch asked
    eight = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=3e6), batch=8)
    assert both_prices((0.8, 1.5), [one, eight]) == (0.8, pytest.approx(1.5 * 6.2 / 4))
    assert both_prices((0.8, 1.5), [eight]) == (0.8, pytest.approx(1.5 * 34.2 / 32))


def test_a_verdict_near_the_capacity_holds_for_both_context_choices():
    # arcface_r50 on hailo-8 is priced in one context, and split would take about 11x as long
    r = check("arcface_r50", "hailo-8", fps=30)
    other = r.roof1.other_latency_s
    assert other is not None and r.roof1.split is False and other > 5 * r.latency_s
    b = r.efficiency.band
    assert r.latency_s_low == pytest.approx(r.latency_s * b.low)
    assert r.latency_s_high == pytest.approx(other * b.high)
    assert r.max_fps_low == pytest.approx(1 / (other * b.high))
    # a rate the central price meets with room to spare, which split at the slow end misses
    fps = 2 / (other * b.high)
    assert fps < r.max_fps / b.high
    mid = check("arcface_r50", "hailo-8", fps=fps)
    assert mid.sufficient and mid.verdict == "UNCERTAIN"
    assert check("arcface_r50", "hailo-8", fps=0.5 / (other * b.high)).verdict == "SUFFICIENT"
    d = r.to_dict()
    assert any("error band covers both" in n for n in d["notes"]) and d["other_context_latency_s"] == other
    assert d["latency_s_high"] == pytest.approx(other * b.high)
    # far from the capacity (resnet18 needs over twice hailo-15l's) the band is the class's own
    far = check("resnet18", "hailo-15l", fps=30)
    assert far.roof1.split and far.roof1.other_latency_s is None
    assert far.latency_s_high == pytest.approx(far.latency_s * far.efficiency.band.high)
    assert far.to_dict()["other_context_latency_s"] is None


def test_the_hailo_fit_counts_its_context_choices_at_the_factor_predictions_use():
    from chipfit.analysis.roofline import NEAR_CAPACITY

    c = efficiency_classes()["hailort"].context_choices
    assert c is not None and c.factor == NEAR_CAPACITY
    near = (c.fit_near.misjudged + c.heldout_near.misjudged, c.fit_near.pairs + c.heldout_near.pairs)
    assert for_class("hailort", chip="hailo-8").context_misjudged == near
    # the reason the band covers both prices there: wrong more often than the 5 % a band's end leaves out
    assert near[0] / near[1] > 0.05
    far = c.fit_far.misjudged + c.heldout_far.misjudged, c.fit_far.pairs + c.heldout_far.pairs
    assert far[0] / far[1] < near[0] / near[1]


def test_the_fit_counts_the_networks_its_capacities_misjudge_near_and_far():
    """A chip of 10 MB capacity and six networks measured at batch 1 and 8: need 6 MB in one context
    (right), 8 MB split (wrong: 8 < 10), 15 MB split (right) are within a factor 2 of it; 30 MB in
    one context (wrong) and 2 MB in one context (right) are not; 12 MB with attention is left out."""
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    def net(model, need, split, attention=False, heldout=False):
        out = []
        for batch in (1, 8):
            t = (2e-3 if split else 1e-3) if batch == 1 else 8e-3  # split: batch 1 twice the per-image time
            r = fe.Row(f"{model}/{batch}", "c", "rt", "hailort", model, (224, 224), batch, t, heldout, peak=1e12)
            r.feats = (np.zeros(1, dtype=np.int8), np.ones(1), np.ones(1), 1, 0, 1e6, need, attention)
            out.append(r)
        return out

    rows = [r for args in [("a", 6, False), ("b", 8, True), ("c", 15, True), ("d", 30, False), ("e", 2, False),
                           ("f", 12, True, True)] for r in net(*args)]
    p = fe.Params(context_mb={"c": 10.0})
    got = fe.context_choices(rows, p)
    assert got == {"near": {"misjudged": 1, "pairs": 3}, "far": {"misjudged": 1, "pairs": 2}}
    # rows near the capacity, as the prediction prices them both ways (attention forces a split)
    assert fe.Batch(rows).near(p).tolist() == [True] * 6 + [False] * 4 + [False] * 2
    assert fe.context_choices([], p)["near"] == {"misjudged": 0, "pairs": 0}


def _dw_graph() -> CostGraph:
    """A 1000 → 1000 linear layer (2 MFLOPs, 1 MB of int8 weights), a 10×10 depthwise convolution of
    100 channels on a 10×10 map (2 MFLOPs, 10 kB of weights, 10 kB in and out) and a SiLU of 1000
    elements (5 FLOPs each): one-context need 1.01 MB of weights + 20 kB working set = 1.03 MB."""
    return CostGraph(model="dw", ops=[_linear("a", 1000, 1000), _conv("dw", (1, 100, 10, 10), (100, 1, 10, 10),
                                                                       (1, 100, 10, 10)),
                                      _act("silu", "silu_", 1000, 5)], params=1_010_000, inputs={"x": (1, 1000)})


def test_one_context_runs_depthwise_and_table_activations_at_rates_of_their_own():
    """At 1 GFLOP/s, depthwise 0.1 and activation 0.01; in one context the depthwise rate is 2 × (10 ms
    instead of 20) and the activation rate 0.5 × (1 ms instead of 0.5); split, each op pays 100 µs and the
    1.01 MB of weights reload at 1 GB/s. One context: 2 + 10 + 1 = 13 ms; split: 2 + 20 + 0.5 + 0.3 + 1.01
    = 23.81 ms, whichever way the chip chose, and near its capacity the other price is the other sum."""
    eff = dict(depthwise=0.1, activation=0.01, one_context_depthwise=2.0, one_context_activation=0.5)
    g = _dw_graph()
    one = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=4e6, **eff), fuse=False)   # 1.03 / 4: far
    assert one.split is False and one.context_need_bytes == pytest.approx(1_030_000)
    assert [o.compute_s for o in one.ops] == pytest.approx([2e-3, 10e-3, 1e-3])
    assert one.latency_s == pytest.approx(13e-3) and one.latency_at(8) == pytest.approx(8 * 13e-3)
    split = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=0.4e6, **eff), fuse=False)  # 1.03 / 0.4: far
    assert split.split is True and [o.compute_s for o in split.ops] == pytest.approx([2e-3, 20e-3, 0.5e-3])
    assert split.latency_s == pytest.approx(23.81e-3)
    near_one = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=1.5e6, **eff), fuse=False)
    near_split = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=0.9e6, **eff), fuse=False)
    assert (near_one.latency_s, near_one.other_latency_s) == (pytest.approx(13e-3), pytest.approx(23.81e-3))
    assert (near_split.latency_s, near_split.other_latency_s) == (pytest.approx(23.81e-3), pytest.approx(13e-3))
    # at batch 8 the other price of the one-context network: 8 × 22.5 ms of work + 0.3 ms + 1.01 ms
    near8 = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=1.5e6, **eff), batch=8, fuse=False)
    assert near8.other_latency_s == pytest.approx(8 * 22.5e-3 + 1.31e-3)
    # a rate is capped at the rated peak: depthwise 0.1 × 20 → 1.0, 2 ms
    capped = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=4e6, **{**eff, "one_context_depthwise": 20.0}),
                      fuse=False)
    assert capped.ops[1].compute_s == pytest.approx(2e-3)
    # without one-context rates, one context runs each op at its class's rate: 2 + 20 + 0.5 ms
    plain = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=4e6, depthwise=0.1, activation=0.01), fuse=False)
    assert plain.latency_s == pytest.approx(22.5e-3)


def test_the_edge_fit_prices_one_context_rows_at_their_own_rates():
    """The fit's own model agrees with the roofline on the network above: its ops as the fit's features
    (class, FLOPs / peak), priced one context and split (a 2 MB and a 0.6 MB chip)."""
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    rows = []
    for chip in ("big", "small"):
        r = fe.Row(f"dw/{chip}", chip, "rt", "hailort", "dw", (224, 224), 1, 1.0, False, peak=1e9)
        r.feats = (np.array([0, 1, 4], dtype=np.int8), np.array([2e6, 2e6, 5e3]), np.zeros(3),
                   3, 0, 1.01e6, 1.03, False)
        rows.append(r)
    p = fe.Params(gemm=1.0, depthwise=0.1, vector=1.0, activation=0.01, overhead_us=100.0, link_gbps=1.0,
                  context_mb={"big": 2.0, "small": 0.6}, dw_one=2.0, act_one=0.5)
    assert fe.Batch(rows).predict(p) == pytest.approx([13e-3, 23.81e-3])
    # near the capacity (1.03 within a factor 2 of both): each priced the other way
    assert fe.Batch(rows).predict(p, other=True) == pytest.approx([23.81e-3, 13e-3])
    # a chip without DRAM of its own runs its one-context activations at its own multiple: 0.25 × 0.01
    # of 1 GFLOP/s, 5 kFLOPs in 2 ms instead of 1: 14 ms; split, the class's rates (23.81 ms); as a chip
    # never measured (the class's rates): 13 ms
    own = fe.Row("dw/hailo-8", "hailo-8", "rt", "hailort", "dw", (224, 224), 1, 1.0, False, peak=1e9)
    own.feats = rows[0].feats
    q = fe.Params(**{**vars(p), "context_mb": {"big": 2.0, "small": 0.6, "hailo-8": 2.0}, "act_one_no_dram": 0.25})
    assert fe.Batch(rows + [own]).predict(q) == pytest.approx([13e-3, 23.81e-3, 14e-3])
    assert fe.Batch([own], chip_rates=False).predict(q) == pytest.approx([13e-3])


def test_the_fitted_one_context_rates_reach_the_prediction():
    for name, fit in efficiency_classes().items():
        e = for_class(name)
        assert e.one_context_depthwise == (fit.one_context_depthwise or 1.0)
        assert e.one_context_activation == (fit.one_context_activation or 1.0)
        assert fit.dataflow or (fit.one_context_depthwise is None and fit.one_context_activation is None)
        for chip, measured in fit.chips.items():  # a chip's own activation rate, else the class's
            got = for_class(name, chip=chip).one_context_activation
            assert got == (measured.one_context_activation or fit.one_context_activation or 1.0)
            assert fit.dataflow or measured.one_context_activation is None


def test_every_layer_takes_its_part_of_a_context_besides_its_weights():
    g = _graph()  # 2 layers, 2.002 MB of weights and working set
    # 0.5 MB per layer: 2.002 + 2 × 0.5 = 3.002 MB; a 2.5 MB context held the weights, not the layers
    r = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=2.5e6, context_bytes_per_layer=0.5e6))
    assert r.layers == 2 and r.context_need_bytes == pytest.approx(3_002_000)
    assert r.split is True and r.latency_s == pytest.approx(4e-3 + 200e-6 + 2e-3)
    # with no allowance the same network fits
    assert roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=2.5e6)).split is False


def test_attention_splits_a_network_that_would_fit_and_an_unmeasured_chip_is_one_context():
    g = CostGraph(model="attn", ops=[_linear("proj", 1000, 1000), _matmul_of_two_activations("qk", 100)],
                  params=1_000_000, inputs={"x": (1, 1000)})
    r = roofline(g, INT8, 1e9, 0.0, _dataflow(context_bytes=100e6))
    assert r.split is True and r.context_s == pytest.approx(1e6 / 1e9)
    # 2 ops × 2 ms compute + 2 × 100 us + 1 ms reload
    assert r.latency_s == pytest.approx(4e-3 + 200e-6 + 1e-3)
    never = roofline(_graph(), INT8, 1e9, 0.0, _dataflow())  # capacity 0: not measured
    assert never.split is False and never.latency_s == pytest.approx(4e-3)
    assert any("never measured" in n for n in never.notes)
    # not a dataflow chip: the split question does not arise
    assert roofline(_graph(), INT8, 1e9, 0.0, _eff()).split is None


def test_the_hailo_fit_prices_contexts_with_its_fitted_capacities():
    fit = efficiency_classes()["hailort"]
    assert fit.dataflow and fit.context_link_gbps
    caps = {c: s.context_mb for c, s in fit.chips.items()}
    assert all(v for v in caps.values()), caps
    # Hailo-8 ran networks up to ~26 MB in one context (its batch-1 and batch-8 rates are equal),
    # the smaller Hailo-8L and -15L far less
    assert caps["hailo-8"] > 20 and caps["hailo-8l"] < caps["hailo-8"] and caps["hailo-15l"] < caps["hailo-8l"]
    small = check("resnet18", "hailo-8", fps=30, precision="int8")
    assert small.roof.split is False and small.roof.overhead_s == 0
    assert small.roof.context_need_bytes < caps["hailo-8"] * 1e6
    # the need counts an allowance (fitted) per layer: each convolution with its BN and ReLU fused,
    # the pooling, the classifier
    per_layer = (fit.context_mb_per_layer or 0) * 1e6
    assert small.roof.context_need_bytes == pytest.approx(
        small.roof.weight_bytes + small.roof.max_act_bytes + small.roof.layers * per_layer)
    big = check("mobilenet_v2", "hailo-15l", fps=30, precision="int8")
    e = big.efficiency
    assert big.roof.split is True
    # the reload is paid once per batch: at the chip's speed for fixed costs
    assert big.roof.context_s == pytest.approx(big.roof.weight_bytes / (fit.context_link_gbps * 1e9 * e.fixed_speed))
    assert e.fixed_speed == fit.chips["hailo-15l"].fixed_speed
    b8 = check("mobilenet_v2", "hailo-15l", fps=30, precision="int8", batch=8)
    assert b8.roof.latency_s / 8 < big.roof.latency_s  # the reload is shared by the batch


@pytest.mark.parametrize("model, chip, precision, host", [
    ("resnet18", "rk3588", "int8", None),                                  # fixed cost per op and per call
    ("mobilenet_v3_large", "coral-edge-tpu", "int8", "raspberry-pi-5"),    # host link, host CPU, crossings
    ("resnet50", "coral-edge-tpu", "int8", None),                          # weights streamed every batch
    ("yolov8s", "hailo-8l", "int8", None),                                 # dataflow, split into contexts
    ("yolov8n", "jetson-orin-nano-8gb", "w4a16", None),                    # weights dequantized once per batch
])
def test_a_batch_priced_from_the_batch_1_roofline_equals_its_own_roofline(model, chip, precision, host):
    # activations, their FLOPs and their crossings scale with the batch; weights, their streaming and
    # dequantization and the fixed costs do not: scaling the batch-1 roofline gives each batch's own
    # (priced by the roofline itself: check prices a batch on a runtime that takes one image per call,
    # the Edge TPU's, as that many calls of one)
    from chipfit.analysis.check import BATCHES, predict
    from chipfit.analysis.count import count

    counted = count(model, precision=precision)
    rec, unit = database().get(chip)
    one = predict(counted, rec, unit, fps=1, host=host).roof1
    for b in BATCHES[1:]:
        own = roofline(counted.graph, counted.precision, one.peak_ops, one.bandwidth, one.efficiency, batch=b,
                       fuse=one.fused, onchip_bytes=one.onchip_bytes, link_bandwidth=one.link_bandwidth,
                       on_host=[o.on_host for o in one.ops], host=one.host)
        assert one.latency_at(b) == pytest.approx(own.latency_s, rel=1e-6), b


@pytest.mark.parametrize("networks_with_norms", [6, 2])
def test_the_edge_fit_finds_a_norm_rate_only_where_enough_networks_have_norms(networks_with_norms):
    """Rows made by the fit's own model (gemm 0.5, vector 0.1, normalising ops at 0.002, 100 µs per call)
    plus 5 % noise, 30 networks of a gemm, a vector op and a third op that is a layer norm in some of
    them: with six such networks the fit finds the norm rate; with two (fewer than the fit's minimum)
    it fits none and those ops run at vector."""
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    rng = np.random.default_rng(5)
    rows = []
    for i in range(30):  # 100 MFLOP-1 GFLOP of gemm; 0.1-1 MFLOP in each of the other two ops
        cls = [0, 2, 5 if i < networks_with_norms else 2]
        r = fe.Row(f"r{i}", "chip", "rt", "c", f"m{i}", (224, 224), 1, 0.0, False, peak=1e12, bandwidth=0.0)
        r.feats = (np.array(cls, dtype=np.int8), np.array([10 ** rng.uniform(8, 9), *10 ** rng.uniform(5, 6, 2)]),
                   np.zeros(3), 0, 0, 0.0, 0.0, False)
        rows.append(r)
    true = fe.Params(gemm=0.5, vector=0.1, norm=0.002, overhead_us=0.0, call_us=100.0)
    for r, t in zip(rows, fe.Batch(rows).predict(true) * np.exp(rng.normal(0, 0.05, len(rows)))):
        r.measured_s = float(t)
    p, _ = fe.fit(fe.Batch(rows), with_speeds=False)
    if networks_with_norms >= fe.NORM_MIN_NETWORKS:
        assert p.norm == pytest.approx(0.002, rel=0.15)
    else:
        assert p.norm is None
    assert p.gemm == pytest.approx(0.5, rel=0.15)


def test_the_edge_fit_reads_image_sizes_in_either_layout():
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    assert fe._hw("1x3x480x640") == (480, 640)  # NCHW
    assert fe._hw("1x513x513x3") == (513, 513)  # NHWC
    assert fe._hw("1x513x513x1") == (513, 513)  # NHWC, one channel as the source prints it
    assert fe._hw("224x224x3") == (224, 224)
    assert fe._hw("640x480") == (640, 480)
    assert fe._hw("1x1x22x1125") is None  # not an image


def test_the_held_out_rows_inside_the_fit_rows_band_are_counted():
    """21 fit rows whose measured / leave-one-model-out prediction is 1.00, 1.05, ..., 2.00: their
    5th percentile is the 2nd value, 1.05, and their 95th the 20th, 1.95 (linear interpolation at
    20 x 0.05 = 1 and 20 x 0.95 = 19). Of five held-out rows at 1.0, 1.05, 1.5, 1.95 and 2.0, the three
    from 1.05 to 1.95 are inside."""
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    def rows(ratios, tag):
        out = [fe.Row(f"{tag}{i}", "a", "rt", "k", f"{tag}{i}", (224, 224), 1, 1e-3 * x, tag == "h", peak=1e12)
               for i, x in enumerate(ratios)]
        return out, np.full(len(out), 1e-3)

    fit_rows, loo = rows([1 + i / 20 for i in range(21)], "f")
    test_rows, test_pred = rows([1.0, 1.05, 1.5, 1.95, 2.0], "h")
    res = fe.ClassResult("k", fe.Params(), {}, fit_rows, test_rows, loo, test_pred, loo, None)
    inside, n, (lo, hi) = fe.covered(res)
    assert (inside, n) == (3, 5)
    assert (lo, hi) == (pytest.approx(1.05), pytest.approx(1.95))


def test_a_borrowing_class_and_the_pooled_class_show_the_band_of_a_runtime_never_seen():
    """A runtime with too few rows to fit (the Edge TPU's, say) borrows the pooled npu factors: its
    band is the pooled fit's error on each fitted runtime's rows when that runtime was left out of
    the pooled fit, not the error of a chip left out (whose runtime the fit still saw)."""
    classes = efficiency_classes()
    lender = classes["npu"]
    assert lender.unmeasured_runtime is not None
    borrowers = [name for name, fit in classes.items() if fit.borrows == "npu"]
    assert "edgetpu" in borrowers
    for name in borrowers:
        b = for_class(name).band
        assert (b.n, b.median_abs_pct, b.p90_abs_pct) == (lender.unmeasured_runtime.n,
                                                          lender.unmeasured_runtime.median_abs_pct,
                                                          lender.unmeasured_runtime.p90_abs_pct), name
        assert b.borrowed and "runtimes left out of the npu fit" in b.what, name
    # a chip priced with the pooled class itself runs a runtime no fit has seen: the same band, its own
    own = for_class("npu").band
    assert (own.n, own.median_abs_pct, own.borrowed) == (lender.unmeasured_runtime.n,
                                                         lender.unmeasured_runtime.median_abs_pct, False)
    assert own.what == "rows of runtimes left out of the fit in turn"
    # every row of the pooled fit is predicted once, by the refit that left its runtime out
    assert lender.unmeasured_runtime.n == lender.residual.n + lender.heldout.n == lender.unmeasured_chip.n


def test_the_edge_fit_cross_validates_by_model_with_the_whole_search():
    """``cross_validated``: four folds of whole models (every row of a model in one fold, the held-out
    rule's quarter drawn apart); each row predicted by a fit searched without its fold. On rows the
    model makes from known factors with 5 % noise, every prediction lands within 25 % of its row."""
    import sys
    import zlib

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    rng = np.random.default_rng(11)
    rows = []
    for i in range(24):  # 24 networks of 3 ops, each measured at batch 1 and 8
        feats = (np.array([0, 0, 2], dtype=np.int8), 10 ** rng.uniform(8, 10, 3), 10 ** rng.uniform(5, 6.5, 3),
                 3, 0, 0.0, 0.0, False)
        for batch in (1, 8):
            r = fe.Row(f"r{i}/{batch}", "chip", "rt", "c", f"m{i}", (224, 224), batch, 0.0, False, peak=1e12,
                       bandwidth=10e9)
            r.feats = (feats[0], feats[1] * batch, feats[2] * batch, *feats[3:])
            rows.append(r)
    true = fe.Params(gemm=0.5, vector=0.05, memory=0.5, overhead_us=20.0, call_us=100.0)
    for r, t in zip(rows, fe.Batch(rows).predict(true) * np.exp(rng.normal(0, 0.05, len(rows)))):
        r.measured_s = float(t)
    folds = {r.model: fe.cv_fold(r.model) for r in rows}
    assert all(folds[r.model] == (zlib.crc32(r.model.encode()) // 4) % 4 for r in rows)
    assert set(folds.values()) == {0, 1, 2, 3}
    pred = fe.cross_validated(rows, with_speeds=False)
    assert not np.any(np.isnan(pred))
    assert np.all(np.abs(np.log(pred / np.array([r.measured_s for r in rows]))) < np.log(1.25))
    # fold 0's rows are priced by a fit that never saw them
    idx = [i for i, r in enumerate(rows) if folds[r.model] == 0]
    p, _ = fe.fit(fe.Batch([r for r in rows if folds[r.model] != 0]), False)
    assert pred[idx] == pytest.approx(fe.Batch([rows[i] for i in idx]).predict(p))


def test_the_fits_op_times_are_the_rooflines_sum_whatever_it_kept_from_an_earlier_evaluation():
    """The fit keeps, per class, what does not depend on the class's factor (the ops that fit the buffer
    are summed once); every prediction is still Σ max(FLOPs / (peak × factor), bytes / (bandwidth ×
    memory), 0 for an op within the buffer) + bytes / (bandwidth × staging) + the fixed costs, written
    out here per op, for parameters visited in any order."""
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    # two networks: a convolution, a depthwise one and an add, and two convolutions; op bytes 0.5-40 MB
    cls = [np.array([0, 1, 2], dtype=np.int8), np.array([0, 0], dtype=np.int8)]
    flops = [np.array([4e9, 1e8, 2e7]), np.array([1e9, 3e9])]
    nbytes = [np.array([40e6, 0.5e6, 3e6]), np.array([2e6, 10e6])]
    rows = []
    for i in range(2):
        r = fe.Row(f"r{i}", "chip", "rt", "c", f"m{i}", (224, 224), 1, 1.0, False, peak=1e12, bandwidth=10e9)
        r.feats = (cls[i], flops[i], nbytes[i], len(cls[i]), 0, 0.0, 0.0, False)
        rows.append(r)
    b = fe.Batch(rows)

    def by_hand(p):
        out = []
        for i in range(2):
            eff = np.array([(p.gemm, p.depthwise, p.vector)[k] for k in cls[i]])
            dram = np.where(nbytes[i] > p.buffer_mb * 1e6, nbytes[i] / 10e9 / p.memory, 0.0)
            t = np.maximum(flops[i] / 1e12 / eff, dram).sum() + len(cls[i]) * p.overhead_us * 1e-6 + p.call_us * 1e-6
            out.append(t + (nbytes[i].sum() / 10e9 / p.staging if p.staging else 0.0))
        return np.array(out)

    base = fe.Params(gemm=0.5, depthwise=0.05, vector=0.02, memory=0.4, overhead_us=10.0, call_us=50.0)
    for change in ({}, {"gemm": 0.25}, {"buffer_mb": 4.0}, {"gemm": 0.125, "buffer_mb": 4.0}, {"memory": 0.1},
                   {"buffer_mb": 4.0, "staging": 2.0}, {"vector": 0.5, "staging": 2.0}, {"buffer_mb": 100.0}, {}):
        p = fe.Params(**{**vars(base), **change})
        assert b.predict(p) == pytest.approx(by_hand(p), rel=1e-12), change


def test_a_class_with_an_input_and_output_cost_pays_it_per_element_and_image():
    """The two-linear network: 1,000 input elements and 1,000 output elements (the last op's). At
    2 ns each, at a fixed-cost speed of 4: 2,000 × 2 ns / 4 = 1 µs per image, on top of the ops."""
    g = _graph()
    assert g.io_elements == 2000
    plain = roofline(g, INT8, 1e12, 1e12, _eff())
    r = roofline(g, INT8, 1e12, 1e12, _eff(io_s_per_element=2e-9, fixed_speed=4.0))
    assert r.io_s == pytest.approx(1e-6)
    assert r.latency_s == pytest.approx(plain.latency_s + 1e-6)
    # it grows with the batch, as the ops' work does, and a batch priced from batch 1 agrees
    r8 = roofline(g, INT8, 1e12, 1e12, _eff(io_s_per_element=2e-9, fixed_speed=4.0), batch=8)
    assert r8.io_s == pytest.approx(8e-6)
    assert r.latency_at(8) == pytest.approx(r8.latency_s)


def _io_row(fe, cls: str, batch: int, i: int = 0, gflop: float = 1e-3, io: float = 3000):
    """A fit row of one gemm op of ``gflop`` GFLOP per image on a 1e12 ops/s chip, ``io`` elements in and out."""
    import numpy as np

    r = fe.Row(f"x/{cls}/{batch}/{i}", "c", "rt", cls, f"m{i}", (224, 224), batch, 1.0, False, peak=1e12)
    r.feats = (np.array([0], dtype=np.int8), np.array([gflop * 1e9 * batch]), np.zeros(1), 1, 0, 0.0, 0.0, False,
               {t: np.ones(1) for t in fe.TILE_GRID if t}, np.zeros(1), np.zeros(1), io)
    return r


def test_the_edge_fit_prices_the_input_and_output_of_its_classes_only():
    """The fit's model: 3,000 elements in and out at 0.5 ns: 1.5 µs per image, on a row of a class of
    IO_CLASSES; a row of another class (or of a pooled fit of several) pays none."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    p = fe.Params(gemm=1.0, overhead_us=0.0, io_ns=0.5)
    (io_class,) = sorted(fe.IO_CLASSES)
    # 1 MFLOP at 1e12 ops/s: 1 µs per image
    assert fe.Batch([_io_row(fe, io_class, 1), _io_row(fe, io_class, 8)]).predict(p) == pytest.approx(
        [1e-6 + 1.5e-6, 8e-6 + 12e-6])
    assert "rknn" not in fe.IO_CLASSES
    assert fe.Batch([_io_row(fe, "rknn", 1)]).predict(p) == pytest.approx([1e-6])
    assert fe.Batch([_io_row(fe, io_class, 1), _io_row(fe, "rknn", 1)]).predict(p) == pytest.approx([1e-6, 1e-6])


def test_the_edge_fit_adds_the_input_and_output_cost_after_the_search():
    """Rows made by the fit's own model with 0.5 ns per element of input and output, over networks whose
    inputs differ 100-fold: the first fit's search runs without the term (on ``without_io``), the
    descent after it finds it, and a fit of rows of a class without the term never has one."""
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    (io_class,) = sorted(fe.IO_CLASSES)
    rng = np.random.default_rng(5)
    rows = [_io_row(fe, io_class, 1, i, gflop=10 ** rng.uniform(-1, 1), io=10 ** rng.uniform(4, 6)) for i in range(20)]
    true = fe.Params(gemm=0.5, overhead_us=0.0, call_us=0.0, io_ns=0.5)
    for r, t in zip(rows, fe.Batch(rows).predict(true)):
        r.measured_s = float(t)
    b = fe.Batch(rows)
    assert not np.any(b.without_io().io) and np.all(b.io > 0) and b.without_io().rows is b.rows
    p, _ = fe.fit(b, with_speeds=False)
    assert p.io_ns == pytest.approx(0.5, rel=0.25)
    assert fe._loss(b, p, {}) < fe._loss(b, fe.fit(b.without_io(), with_speeds=False)[0], {})
    other = [_io_row(fe, "rknn", 1, i, io=r.feats[11]) for i, r in enumerate(rows)]
    for r, m in zip(other, rows):
        r.measured_s = m.measured_s
    assert fe.fit(fe.Batch(other), with_speeds=False)[0].io_ns == 0.0


def test_the_fitted_input_and_output_cost_reaches_the_prediction():
    fitted = {name for name, fit in efficiency_classes().items() if fit.io_ns_per_element}
    for name, fit in efficiency_classes().items():
        assert for_class(name).io_s_per_element == pytest.approx((fit.io_ns_per_element or 0.0) * 1e-9)
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    assert fitted <= fe.IO_CLASSES


def test_check_prices_and_explains_the_input_and_output_cost_of_its_runtime():
    """resnet50 on a Snapdragon under TFLite (a class with the cost): 3·224·224 input elements and 1,000
    output elements, at the class's cost per element over the chip's fixed-cost speed; under QNN (no
    such cost) none."""
    from chipfit.analysis.explain import check_explanation

    (io_class,) = sorted(n for n, fit in efficiency_classes().items() if fit.io_ns_per_element)
    r = check("resnet50", "qcs8550", fps=30, runtime=io_class)
    e = r.efficiency
    assert r.count.graph.io_elements == 3 * 224 * 224 + 1000
    assert r.roof1.io_s == pytest.approx(e.io_s_per_element * (3 * 224 * 224 + 1000) / e.fixed_rate)
    assert r.roof1.latency_s == pytest.approx(sum(o.time_s for o in r.roof1.ops) + r.roof1.call_overhead_s
                                              + r.roof1.io_s)
    fixed = dict(check_explanation(r))["fixed costs"]
    assert "152 k elements of input and output" in fixed and "ns each" in fixed
    assert check("resnet50", "qcs8550", fps=30, runtime="qnn").roof1.io_s == 0.0


def test_the_edge_fit_scores_a_network_carried_from_its_other_chips():
    """Three rows of one network on chips a, b, c and one of another network on a alone. Row a's carried
    prediction is its prediction times the median of b's and c's measured / predicted (2 and 0.5: the
    median of their logs is 0, a ratio of 1); row b's times the median of 1.25 and 0.5. The network on
    one chip has nothing to carry."""
    import math
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    def row(model: str, chip: str, measured: float):
        return fe.Row(f"{model}/{chip}", chip, "rt", "c", model, (224, 224), 1, measured, False)

    rows = [row("n", "a", 1.0), row("n", "b", 2.0), row("n", "c", 1.0), row("m", "a", 3.0)]
    pred = np.array([0.8, 1.0, 2.0, 1.0])
    scaled, measured, carried = fe.measured_elsewhere(rows, pred)
    assert list(measured) == [1.0, 2.0, 1.0] and carried == [0, 1, 2]
    assert scaled == pytest.approx([0.8 * 1.0, 1.0 * math.sqrt(1.25 * 0.5), 2.0 * math.sqrt(1.25 * 2.0)])


def test_the_edge_fit_carries_a_networks_ratio_from_rows_of_the_same_batch():
    """A network measured at batch 1 and 8 on chips a and b, at batch 1 alone on c and at batch 4 alone on
    d: a's batch-8 row carries b's batch-8 ratio only (4), a's batch-1 row the median of b's and c's
    batch-1 ratios (2 and 0.5: 1); c's batch-1 row the median of a's and b's batch-1 ratios (1 and 2),
    not their batch-8 ones; d's row, with no other chip at its batch, carries nothing."""
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    def row(chip: str, batch: int, measured: float):
        return fe.Row(f"n/{chip}/{batch}", chip, "rt", "c", "n", (224, 224), batch, measured, False)

    rows = [row("a", 1, 1.0), row("a", 8, 4.0), row("b", 1, 2.0), row("b", 8, 8.0), row("c", 1, 0.5),
            row("d", 4, 3.0)]
    pred = np.ones(6)
    scaled, measured, carried = fe.measured_elsewhere(rows, pred)
    assert list(measured) == [1.0, 4.0, 2.0, 8.0, 0.5] and carried == [0, 1, 2, 3, 4]
    assert scaled == pytest.approx([1.0, 8.0, 0.5 ** 0.5, 4.0, 2.0 ** 0.5])


def test_the_edge_fit_chooses_what_a_measurement_on_the_chip_asked_does_to_the_verdict():
    """Networks measured twice on chip a (two releases) and once on chip b. Each a row is predicted
    three ways: by a's other row (``here``), by b's ratio (the carry), by the median ratio over a's other
    row and b's (the carry, a's rows in). (1) a's two releases measure alike (1 and 1), b measures 2 on a
    prediction of 1: here errs 0 %, the carry 100 %: the verdict rests on a's own rows. (2) a's releases
    measure 1 and 2 where the fit predicts 1 and 2, b 1.5 on 1: here errs 100 % and 50 %, the carry 50 %
    on both, the carry with a's rows in sqrt(1.5) - 1 = 22.5 % on both: the carry takes the chip's rows
    in. Below HERE_ROWS such rows the fit keeps the carry as it is."""
    import math
    import sys

    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import fit_edge as fe

    def rows_of(n: int, a1: float, a2: float, b: float):
        rows = []
        for k in range(n):
            rows += [fe.Row(f"n{k}/a/1", "a", "rt", "c", f"n{k}", (224, 224), 1, a1, False),
                     fe.Row(f"n{k}/a/2", "a", "rt", "c", f"n{k}", (224, 224), 1, a2, False),
                     fe.Row(f"n{k}/b", "b", "rt", "c", f"n{k}", (224, 224), 1, b, False)]
        return rows

    rows = rows_of(10, 1.0, 1.0, 2.0)
    scaled, measured, here = fe.measured_here(rows)
    assert here == [i for i in range(30) if i % 3 != 2] and list(scaled) == list(measured) == [1.0] * 20
    choice, ways = fe.here_rule(rows, np.ones(30))
    assert choice == "here" and ways["here"]["median_abs_pct"] == 0 and ways["carry"]["median_abs_pct"] == 100
    rows = rows_of(10, 1.0, 2.0, 1.5)
    pred = np.array([1.0, 2.0, 1.0] * 10)
    scaled, _, carried = fe.measured_elsewhere(rows, pred, own=True)
    assert carried == list(range(30))
    assert scaled[:3] == pytest.approx([math.sqrt(1.5), 2 * math.sqrt(1.5), 1.0])  # b: a's two ratios of 1
    choice, ways = fe.here_rule(rows, pred)
    assert choice == "own" and ways["own"]["n"] == 20
    assert (ways["here"]["median_abs_pct"], ways["carry"]["median_abs_pct"]) == (75.0, 50.0)
    assert ways["own"]["p90_abs_pct"] == pytest.approx(100 * (math.sqrt(1.5) - 1), abs=0.01)
    assert fe.here_rule(rows_of(9, 1.0, 2.0, 1.5), np.array([1.0, 2.0, 1.0] * 9))[0] == ""


def test_check_carries_a_batch_from_the_same_batch_measured_elsewhere():
    """yolov8n on a Hailo-8 at batch 8: the Hailo model zoo's batch-8 rows of it on the class's chips
    (this one's too where the class's fit chose to carry the chip's own rows), each priced by check at
    batch 8 there, carried to check's batch-8 latency here; the carried rate is 8 images per carried
    latency."""
    import math
    import statistics

    r = check("yolov8n", "hailo-8", fps=30, batch=8)
    e = r.elsewhere
    assert e is not None and {m.row.batch for m in e.rows} == {8} and len(e.chips) >= 3
    assert ("hailo-8" in e.chips) == efficiency_classes()["hailort"].carry_includes_chip
    logs = [math.log(m.row.latency_s / check("yolov8n", f"{m.row.chip}:{m.row.unit}", fps=30,
                                             batch=8).roof.latency_s) for m in e.rows]
    assert e.ratio == pytest.approx(math.exp(statistics.median(logs)))
    assert e.latency_s == pytest.approx(r.roof.latency_s * e.ratio)
    assert e.max_fps == pytest.approx(8 / e.latency_s)
    assert {m.row.batch for m in check("yolov8n", "hailo-8", fps=30).elsewhere.rows} == {1}
    # no row of it at batch 2 on another chip: nothing carried, the verdict is the class prediction's
    r2 = check("yolov8n", "hailo-8", fps=30, batch=2)
    assert r2.elsewhere is None and r2.verdict_basis == "class" and r2.verdict == r2.class_verdict


def test_the_verdict_rests_on_the_networks_measurements_elsewhere_where_there_are_some():
    """yolov8n on a Snapdragon under QNN at 500 FPS: the class prediction's band straddles the rate
    (UNCERTAIN), the carry's narrower band does not. The verdict, ``sufficient`` and the JSON follow the
    carry: SUFFICIENT when its slow end (max FPS / the band's high end) meets the rate; rank and whatif
    give the chip the same verdict; at a batch no other chip measured it rests on the class."""
    import json

    from chipfit.analysis.check import three_way
    from chipfit.analysis.rank import rank
    from chipfit.analysis.whatif import whatif

    r = check("yolov8n", "qcs8550", fps=500, runtime="qnn")
    e = r.elsewhere
    slow, fast = e.max_fps / e.band.high, e.max_fps / e.band.low
    assert r.verdict_basis == "measured_elsewhere" and r.verdict_fps == pytest.approx((e.max_fps, slow, fast))
    assert r.verdict == three_way(r.memory_fits, 500, slow, fast) == "SUFFICIENT"
    assert r.class_verdict == three_way(r.memory_fits, 500, r.max_fps_low, r.max_fps_high) == "UNCERTAIN"
    assert r.sufficient == (e.max_fps >= 500)
    d = json.loads(json.dumps(r.to_dict()))
    assert (d["verdict"], d["verdict_basis"], d["class_verdict"]) == ("SUFFICIENT", "measured_elsewhere", "UNCERTAIN")
    assert d["measured_elsewhere"]["max_fps_low"] == pytest.approx(slow)
    ranked = {x.chip: x for x in rank("yolov8n", fps=500, runtime="qnn", category="edge").ranked}
    assert ranked["qcs8550"].verdict == "SUFFICIENT" and ranked["qcs8550"].elsewhere.ratio == pytest.approx(e.ratio)
    w = whatif("yolov8n", "qcs8550", fps=500, runtime="qnn", levers=["batch"])
    assert w.baseline.verdict == "SUFFICIENT" and w.to_dict()["options"][0]["max_fps"] == pytest.approx(e.max_fps)
    # the class's verdict where nothing is carried
    assert check("yolov8n", "qcs8550", fps=500, runtime="qnn", batch=2).verdict_basis == "class"


def test_the_verdict_rests_on_the_chips_own_measurements_where_the_fit_chose_them():
    """TFLite with the QNN delegate: the fit found a network's other measurements on its own chip closer
    than the carry, so yolov8n on a QCS6490, published there under two AI Hub releases, is judged on
    those: their median latency (the geometric mean of two), with the band rows measured again on their
    chip showed; at 200 FPS the class prediction straddles the rate, the measurements do not. rank,
    whatif and plan give the same basis; under QNN on the same chip (the fit chose the carry) and at a
    batch not published here, the verdict rests elsewhere."""
    import json
    import math

    from chipfit.analysis.check import three_way
    from chipfit.analysis.rank import rank
    from chipfit.analysis.whatif import whatif

    fit = efficiency_classes()["tflite-qnn"].measured_here
    r = check("yolov8n", "qcs6490", fps=200, runtime="tflite-qnn")
    rows = [m.row for m in r.published if m.row.batch == 1]
    assert len(rows) == 2 and fit is not None
    h = r.here
    latency = math.sqrt(rows[0].latency_s * rows[1].latency_s)
    assert h.latency_s == pytest.approx(latency) and (h.low, h.high) == (fit.band_low, fit.band_high)
    slow, fast = 1 / latency / fit.band_high, 1 / latency / fit.band_low
    assert r.verdict_basis == "measured_here" and r.verdict_fps == pytest.approx((1 / latency, slow, fast))
    assert r.verdict == three_way(True, 200, slow, fast) == "SUFFICIENT" and r.class_verdict == "UNCERTAIN"
    assert r.verdict_scale == pytest.approx(latency / r.roof.latency_s)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["measured_here"]["here"] and d["measured_here"]["max_fps_low"] == pytest.approx(slow)
    assert d["verdict_max_fps"] == pytest.approx(1 / latency) and d["measured_elsewhere"] is not None
    ranked = {x.chip: x for x in rank("yolov8n", fps=200, runtime="tflite-qnn", category="edge").ranked}
    assert ranked["qcs6490"].verdict_basis == "measured_here"
    w = whatif("yolov8n", "qcs6490", fps=200, runtime="tflite-qnn", levers=["batch"])
    assert w.baseline.verdict_basis == "measured_here" and w.to_dict()["options"][0]["max_fps"] == pytest.approx(1 / latency)
    assert check("yolov8n", "qcs6490", fps=200, runtime="qnn").verdict_basis == "measured_elsewhere"
    assert check("yolov8n", "qcs6490", fps=200, runtime="tflite-qnn", batch=2).here is None


def test_a_carry_near_a_dataflow_chips_capacity_covers_both_context_choices():
    """arcface_r50 on a Hailo-8 sits near the chip's one-context capacity: chipfit prices one context,
    the model zoo measured it split (8.85 ms at batch 1). Its carry from the other Hailo chips keeps its
    central figure but widens its band as the class's is widened, by the other choice's price over this
    one, so at 100 FPS the verdict is UNCERTAIN, not a SUFFICIENT that the measured 113 FPS barely meets."""
    from chipfit.analysis.check import both_prices

    r = check("arcface_r50", "hailo-8", fps=100)
    e = r.elsewhere
    assert r.roof1.other_latency_s is not None and e.both_contexts
    assert (e.low, e.high) == pytest.approx(both_prices((e.band.low, e.band.high), (r.roof1, r.roof)))
    assert e.high == pytest.approx(e.band.high * r.roof1.other_latency_s / r.roof1.latency_s)
    assert r.verdict_fps[1] == pytest.approx(e.max_fps / e.high) and r.verdict_fps[1] < 100 < e.max_fps
    assert r.verdict == "UNCERTAIN"


def test_check_carries_the_networks_measurements_on_the_classes_other_chips():
    """resnet50 under QNN on a Snapdragon the class measured: each published measurement of it on the
    class's other chips priced there by check itself; the prediction here times the median of their
    measured / predicted ratios, with the band the class's rows measured for such a carry; the chip's
    own rows count among them where the class's fit chose that."""
    import json
    import math
    import statistics

    from chipfit.data.published import published_elsewhere, published_for

    r = check("resnet50", "qcs8550", fps=30, runtime="qnn")
    rows = published_elsewhere(r.count.graph, "qcs8550", "int8", "qnn")
    assert len({p.chip for p in rows}) >= 3 and "qcs8550" not in {p.chip for p in rows}
    own = published_for(r.count.graph, "qcs8550", "main", "int8", "qnn")
    assert own and efficiency_classes()["qnn"].carry_includes_chip
    rows += own
    logs = [math.log(p.latency_s / check("resnet50", f"{p.chip}:{p.unit}", fps=30, runtime="qnn",
                                         batch=p.batch).latency_s) for p in rows]
    e = r.elsewhere
    assert e.ratio == pytest.approx(math.exp(statistics.median(logs)))
    assert e.latency_s == pytest.approx(r.latency_s * e.ratio)
    fit = efficiency_classes()["qnn"].measured_elsewhere
    assert (e.band.low, e.band.high, e.band.n) == (min(fit.band_low, 1.0), max(fit.band_high, 1.0), fit.n)
    out = json.loads(json.dumps(r.to_dict()))["measured_elsewhere"]
    assert out["latency_s"] == pytest.approx(e.latency_s) and len(out["measurements"]) == len(rows)
    # nothing to carry: another input size (no published rows), a uniform factor, a chip the class never measured
    assert check("resnet50", "qcs8550", fps=30, runtime="qnn", input_shape="1x3x256x256").elsewhere is None
    assert check("resnet50", "qcs8550", fps=30, runtime="qnn", utilization=0.5).elsewhere is None
    assert "qrb5165" not in efficiency_classes()["qnn"].chips
    assert check("resnet50", "qrb5165", fps=30, runtime="qnn").elsewhere is None
