"""Cost graph aggregation, precision bytes and the zoo schema (no torch needed)."""

import pytest

from chipfit import ChipfitError, CostGraph, Op, get_precision
from chipfit.data import zoo


def graph():
    ops = [
        Op("stem.conv", "conv", "convolution", macs=100, nonmac_flops=10, params=50, weight_elems=50,
           act_read_elems=30, act_write_elems=40),
        Op("body.0.fc", "linear", "addmm", macs=200, nonmac_flops=20, params=60, weight_elems=60,
           act_read_elems=40, act_write_elems=20),
        Op("body.1.fc", "linear", "addmm", macs=300, params=70, weight_elems=70, act_read_elems=20,
           act_write_elems=10),
        Op("", "elementwise", "add", nonmac_flops=5, act_read_elems=10, act_write_elems=5),
        Op("body.1", "unsupported", "fft_r2c", act_read_elems=10, act_write_elems=10, supported=False),
    ]
    return CostGraph("toy", ops, params=180, module_types={"stem": "Stem", "body": "Sequential"})


def test_totals_and_flops_convention():
    g = graph()
    assert g.macs == 600 and g.nonmac_flops == 35 and g.flops == 2 * 600 + 35
    assert g.unsupported == {"fft_r2c": 1}


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_rows_at_any_depth_add_up_to_the_totals(depth):
    g = graph()
    rows = g.by_module(depth)
    assert sum(r.macs for r in rows) == g.macs
    assert sum(r.flops for r in rows) == g.flops
    assert sum(r.params for r in rows) == 180


def test_module_tree_nests_parents_before_children():
    rows = graph().module_tree(depth=2)
    names = [r.name for r in rows]
    assert names.index("body") < names.index("body.0") < names.index("body.1")
    body = next(r for r in rows if r.name == "body")
    assert body.macs == 500 and body.module_type == "Sequential"


def test_precision_changes_bytes_only():
    g = graph()
    assert g.weight_bytes("fp32") == 720 and g.weight_bytes("int8") == 180
    # w4a16: 4 bits + an fp16 scale and a 4-bit zero per group of 128 = 4.15625 bits per weight
    assert g.weight_bytes("w4a16") == -(-180 * (4 + 20 / 128) // 8) == 94
    assert g.activation_bytes("w4a16") == 2 * 195
    assert g.weight_bytes("int4") == 90 and g.activation_bytes("int4") == (195 + 1) // 2
    with pytest.raises(ChipfitError, match="unknown precision"):
        get_precision("fp12")


def test_zoo_entries_are_schema_checked_and_sourced():
    entries = zoo.entries()
    assert len(entries) >= 14
    assert all(e.source for e in entries)
    assert {e.task for e in zoo.entries("speech")} == {"speech"}
    assert zoo.lookup("Llama-2-7b-hf").name == "llama-2-7b"
    with pytest.raises(ChipfitError, match="did you mean"):
        zoo.lookup("lama-2-7b")
    with pytest.raises(ValueError):
        zoo.ZooEntry(name="x", frontend="torchvision", source="s")  # no builder / input shape
