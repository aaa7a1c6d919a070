"""Hailo compile scripts' per-layer precision: naming, extraction and pricing in the edge fit."""
from __future__ import annotations

import csv
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from torch import nn

from chipfit.analysis.count import count

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "edge"))

import extract_hailo_model_zoo as hmz  # noqa: E402
import fit_edge as fe  # noqa: E402
import hailo_layers  # noqa: E402


class _Net(nn.Module):
    """conv 3x3 (3→8), depthwise 3x3, conv 1x1 (8→16), global pool, linear 16→10."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.c2 = nn.Conv2d(8, 16, 1, bias=False)
        self.fc = nn.Linear(16, 10, bias=False)

    def forward(self, x):
        x = self.c2(self.dw(self.c1(x)))
        return self.fc(x.mean((2, 3)))


@pytest.fixture(scope="module")
def graph():
    return count(_Net().eval(), input_shape="1x3x32x32", name="net").graph


def _mac_ops(graph):
    return [i for i, n in enumerate(hailo_layers.layer_names(graph)) if n]


def test_hailo_names_each_layer_by_type_and_count_in_graph_order(graph):
    names = [n for n in hailo_layers.layer_names(graph) if n]
    assert names == ["conv1", "dw1", "conv2", "fc1"]


def test_a_linear_layer_on_tokens_is_a_convolution_to_hailo():
    g = count(nn.Linear(16, 10).eval(), input_shape="1x49x16", name="tokens").graph
    assert [n for n in hailo_layers.layer_names(g) if n] == ["conv1"]


def test_a_compile_script_sets_layers_by_wildcard_list_and_scope_and_a_later_line_wins(graph):
    lines = [("a16_w16", "{conv*}"), ("a8_w8", "[net/conv2]"), ("a8_w4", "dw1"), ("a16_w8", "[fc1, output_layer1]")]
    act, wts = hailo_layers.precisions(graph, lines)
    idx = _mac_ops(graph)
    assert [(int(act[i]), int(wts[i])) for i in idx] == [(16, 16), (8, 4), (8, 8), (16, 8)]
    others = [i for i in range(len(graph.ops)) if i not in idx]
    assert all(act[i] == 8 and wts[i] == 8 for i in others)  # ops with no MACs take no precision here


def test_a_16_bit_mac_costs_the_fitted_multiple_and_16_bit_weights_take_two_bytes(graph):
    """Per op, the compute time is FLOPs / (peak x gemm) times sixteen_bit_cost to the power of the
    partial 8-bit products per MAC in fours: 12 for a 16 x 16-bit layer, sqrt(12) for 16 x 8 bits,
    1 for 4-bit weights (which only halve their bytes)."""
    lines = [("a16_w16", "conv1"), ("a8_w4", "dw1"), ("a16_w8", "conv2")]
    plain = fe.features(graph, 1)
    mixed = fe.features(graph, 1, layers=tuple(lines))
    i1, idw, i2, _ = _mac_ops(graph)
    assert mixed[10][i1] == 1.0 and mixed[10][idw] == 0.0 and mixed[10][i2] == pytest.approx(0.5)
    w = {i: graph.ops[i].weight_elems for i in (i1, idw)}
    assert w[i1] == 3 * 8 * 9 and w[idw] == 8 * 9
    # int8 weight bytes plus one more byte per 16-bit weight, half a byte fewer per 4-bit weight
    assert mixed[5] - plain[5] == pytest.approx(w[i1] - w[idw] / 2)
    assert mixed[6] - plain[6] == pytest.approx((w[i1] - w[idw] / 2) / 1e6)

    p = fe.Params(gemm=0.5, depthwise=0.5, vector=0.5, activation=0.5, overhead_us=0.0, call_us=0.0,
                  sixteen=12.0)
    rows = []
    for i, feats in enumerate((plain, mixed)):
        r = fe.Row(f"r{i}", "chip", "rt", "c", "net", (32, 32), 1, 1.0, False, peak=1e12, bandwidth=0.0)
        r.feats = feats
        rows.append(r)
    t_plain, t_mixed = fe.Batch(rows).predict(p)
    f1, f2 = graph.ops[i1].flops, graph.ops[i2].flops
    extra = (f1 * (12 - 1) + f2 * (math.sqrt(12) - 1)) / (1e12 * 0.5)
    assert t_mixed - t_plain == pytest.approx(extra, rel=1e-9)


@pytest.mark.parametrize("true_cost", [1.0, 4.0])
def test_the_edge_fit_recovers_a_known_sixteen_bit_cost(true_cost):
    """30 networks of two gemm ops, the first at 16 bits in 10 of them, made by the fit's own model
    (gemm 0.5, 100 µs per call, a 16-bit MAC at 1 or 4 times an 8-bit one) plus 5 % noise: the fit
    finds the cost."""
    rng = np.random.default_rng(13)
    rows = []
    for i in range(30):
        r = fe.Row(f"r{i}", "chip", "rt", "c", f"m{i}", (224, 224), 1, 0.0, False, peak=1e12, bandwidth=0.0)
        r.feats = (np.zeros(2, dtype=np.int8), 10 ** rng.uniform(8, 9.5, 2), np.zeros(2), 0, 0, 0.0, 0.0, False,
                   {t: np.ones(2) for t in fe.TILE_GRID if t}, np.zeros(2, dtype=bool),
                   np.array([1.0 if i < 10 else 0.0, 0.0]))
        rows.append(r)
    true = fe.Params(gemm=0.5, overhead_us=0.0, call_us=100.0, sixteen=true_cost)
    for r, t in zip(rows, fe.Batch(rows).predict(true) * np.exp(rng.normal(0, 0.05, len(rows)))):
        r.measured_s = float(t)
    p, _ = fe.fit(fe.Batch(rows), with_speeds=False)
    assert p.sixteen == true_cost
    assert p.gemm == pytest.approx(0.5, rel=0.15)


def test_the_extractor_reads_every_form_of_a_precision_line():
    text = "\n".join([
        "quantization_param({conv*}, precision_mode=a16_w16)",
        "quantization_param([conv1, conv2], precision_mode=a16_w16)",
        "quantization_param(fast_sam_s/conv37, precision_mode=a16_w16)",
        "quantization_param(conv45, bias_mode=double_scale_initialization, precision_mode=a8_w4)",
        "quantization_param([matmul3], force_range_in=[-200.96, 220.72], force_range_index=0)",
        "# quantization_param(conv9, precision_mode=a16_w16)",
    ])
    assert hmz.PRECISION_LINE.findall(text) == [
        ("{conv*}", "a16_w16"), ("[conv1, conv2]", "a16_w16"), ("fast_sam_s/conv37", "a16_w16"),
        ("conv45", "a8_w4")]


def test_the_compile_script_lines_are_sourced_and_name_known_modes():
    with open(hailo_layers.LAYERS, newline="", encoding="utf-8") as fh:
        lines = list(csv.DictReader(fh))
    assert len(lines) > 100
    for r in lines:
        assert r["chip"] in hmz.ALLS_ARCH
        assert re.fullmatch(r"a\d+_w\d+", r["precision_mode"])
        assert r["source_commit"] in hmz.RELEASE_COMMITS.values()
        assert r["source_path"].startswith("hailo_model_zoo/cfg/alls/")
    # Hailo-10H networks are compiled with the Hailo-15H scripts, Hailo-8 ones with their own or the generic
    assert {r["source_path"].split("/")[3] for r in lines if r["chip"] == "hailo-10h"} <= {"hailo15h", "generic"}
    assert {r["source_path"].split("/")[3] for r in lines if r["chip"] == "hailo-8"} <= {"hailo8", "generic"}


def test_the_hailort_fit_prices_published_16_bit_layers():
    from chipfit.data.efficiency import efficiency_file

    fit = efficiency_file().classes["hailort"]
    assert fit.sixteen_bit_cost is not None and fit.sixteen_bit_cost >= 1
    assert "16 bits" in fit.basis
