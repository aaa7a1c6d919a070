"""chipfit.whatif: the levers priced on one chip (the library; the command comes with issue 10)."""

from __future__ import annotations

import pytest

pytest.importorskip("torchvision")

import chipfit.whatif as wi  # noqa: E402
from chipfit.errors import ChipfitError  # noqa: E402


@pytest.fixture(scope="module")
def resnet50_rk3588():
    return wi.whatif("resnet50", "rk3588", fps=60, precision="int8", batches=(2, 4), lighter=False)


def test_resnet50_at_60_fps_on_rk3588(resnet50_rk3588):
    r = resnet50_rk3588
    rows = {(o.lever, o.setting): o for o in r.options}
    base = rows[("as given", "int8, batch 1")].result
    # by hand, the seeds' way: torchvision's 4.089 GMACs × 2 × 60 FPS = 0.49 TOPS of a 6 TOPS int8 NPU
    assert base.required_tops == pytest.approx(2 * 4.089e9 * 60 / 1e12, rel=0.01)
    assert base.required_tops < 6 * 0.6           # fits even at the seeds' 60 % utilization
    # the RK3588 lists int8 only: no other precision step, and no 2:4 sparse peak
    assert not [o for o in r.options if o.lever == "precision"]
    assert rows[("2:4 sparsity", "not on this chip")].result is None
    # every priced option: verdict = throughput ≥ 60 FPS and the memory fits
    for o in r.options:
        if o.result is not None:
            c = o.result
            assert c.sufficient == (c.throughput_fps >= 60 and c.memory_fits)
            assert c.required_tops == pytest.approx(c.count.flops * 60 / 1e12)
    # unstructured pruning changes nothing on dense hardware
    assert rows[("unstructured pruning", "50% zeros")].result.latency_s == base.latency_s
    # batching: more throughput, longer latency (a batch plus the wait to fill it)
    b2, b4 = rows[("batch", "2")], rows[("batch", "4")]
    assert base.throughput_fps < b2.result.throughput_fps < b4.result.throughput_fps
    assert b4.latency_s == pytest.approx(b4.result.roof.latency_s + 3 / 60)


def test_channel_pruning_recounts_the_rebuilt_network(resnet50_rk3588):
    rows = {(o.lever, o.setting): o for o in resnet50_rk3588.options}
    half = rows[("channel pruning", "50% of channels")].result.count
    base = rows[("as given", "int8, batch 1")].result.count
    # by hand: every internal channel halved, so each conv does 1/4 of its MACs, except the stem conv
    # (3 input channels kept: 1/2) and the classifier (1000 outputs kept: 1/2)
    stem, fc = 7 * 7 * 3 * 64 * 112 * 112, 2048 * 1000
    assert half.macs == (base.macs - stem - fc) // 4 + (stem + fc) // 2
    assert half.params < base.params / 3


def test_lighter_models_carry_published_accuracy():
    r = wi.whatif("resnet50", "rk3588", fps=60, batches=(2,), prune_ratios=(0.5,), scales=(0.5,))
    light = [o for o in r.options if o.lever == "lighter model" and o.result is not None]
    names = {o.setting for o in light}
    assert {"mobilenet_v2", "efficientnet_b0", "resnet18"} <= names
    mv2 = next(o for o in light if o.setting == "mobilenet_v2")
    assert mv2.accuracy_top1 == pytest.approx(72.154) and "MobileNet_V2_Weights" in mv2.accuracy_source
    assert all(o.result.count.macs < 4.09e9 for o in light)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(prune_ratios=(1.2,)), "in (0, 1)"),
    (dict(prune_ratios=(0,)), "in (0, 1)"),
    (dict(scales=(1.5,)), "in (0, 1)"),
    (dict(batches=(1,)), "at least 2"),
    (dict(fps=0), "must be positive"),
])
def test_bad_levers_are_one_sentence(kwargs, fragment):
    args = dict(fps=30)
    args.update(kwargs)
    with pytest.raises(ChipfitError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        wi.whatif("resnet18", "rk3588", **args)
