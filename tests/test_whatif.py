"""chipfit.whatif and ``chipfit whatif``: the levers priced on one chip, checked by hand."""

from __future__ import annotations

import json
import math
import re

import pytest

pytest.importorskip("torchvision")

from chipfit.analysis.whatif import whatif  # noqa: E402
from chipfit.core.errors import ChipfitError  # noqa: E402


@pytest.fixture(scope="module")
def resnet50_rk3588():
    return whatif("resnet50", "rk3588", fps=60, precision="int8", batches=(2, 4), lighter=False)


def test_resnet50_at_60_fps_on_rk3588(resnet50_rk3588):
    r = resnet50_rk3588
    rows = {(o.lever, o.setting): o for o in r.options}
    base = rows[("as given", "int8, batch 1")].result
    # by hand: torchvision's 4.089 GMACs × 2 × 60 FPS = 0.49 TOPS of a 6 TOPS int8 NPU
    assert base.required_tops == pytest.approx(2 * 4.089e9 * 60 / 1e12, rel=0.01)
    assert base.required_tops < 6 * 0.6           # fits even at the hand estimate's 60 % utilization
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
    r = whatif("resnet50", "rk3588", fps=60, batches=(2,), prune_ratios=(0.5,), scales=(0.5,))
    light = [o for o in r.options if o.lever == "lighter model" and o.result is not None]
    names = {o.setting for o in light}
    assert {"mobilenet_v2", "efficientnet_b0", "resnet18"} <= names
    mv2 = next(o for o in light if o.setting == "mobilenet_v2")
    assert mv2.accuracy_top1 == pytest.approx(72.154) and "MobileNet_V2_Weights" in mv2.accuracy_source
    assert all(o.result.count.macs < 4.09e9 for o in light)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(prune_ratios=(1.2,)), "prune_ratios item 1 must be in (0, 1), got 1.2"),
    (dict(prune_ratios=(0,)), "prune_ratios item 1 must be in (0, 1), got 0"),
    (dict(scales=(1.5,)), "scales item 1 must be in (0, 1), got 1.5"),
    (dict(batches=(1,)), "batches item 1 must be at least 2, got 1"),
    (dict(fps=0), "must be positive"),
])
def test_bad_levers_are_one_sentence(kwargs, fragment):
    args = dict(fps=30)
    args.update(kwargs)
    with pytest.raises(ChipfitError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        whatif("resnet18", "rk3588", **args)


def _hand_latency_bounds(c):
    """The roofline by hand from the totals: compute time C = Σ over op classes of FLOPs / (peak ×
    that class's efficiency; a convolution or linear layer with its channels per group rounded up to
    whole tiles of the class's channel tile), memory time M = bytes / (bandwidth × memory
    efficiency), of the ops whose bytes exceed the on-chip buffer. Summing max(compute, memory) op
    by op lies between max(C, M) and C + M, plus the staging time S of a runtime fitted with one and
    the runtime's fixed costs."""
    from chipfit.analysis.roofline import op_class

    tile = c.efficiency.channel_tile  # a MAC array's channel tile: matrix ops pay for whole tiles

    def padded(op) -> float:  # PyTorch layouts: conv weight (O, C/groups, kh, kw), linear output (..., N)
        if not tile or cls(op) != "gemm":
            return 1.0
        if op.kind == "conv":
            cin_g, cout = op.input_shapes[1][1], op.input_shapes[1][0]
            groups = op.input_shapes[0][1] // cin_g
            dims = (cin_g, cout // groups)
        else:
            n = op.output_shapes[0][-1]
            dims = (op.macs // (op.act_write_elems or 1), n)
        return math.prod(math.ceil(d / tile) * tile / d for d in dims)

    # activations evaluated by table (PyTorch names: SiLU, sigmoid, hard swish, GELU, ...) run at the
    # class's activation factor when it has one; the ReLU family stays at vector
    table = {"silu", "sigmoid", "hardswish", "hardsigmoid", "gelu", "tanh", "mish", "softplus", "elu", "selu", "celu"}
    norms = {"native_layer_norm", "layer_norm", "native_group_norm", "group_norm", "softmax", "log_softmax"}

    def cls(op) -> str:
        # a product of two activations (attention's QKᵀ and AV) runs at the class's attention factor
        if op.kind in ("matmul", "attention") and not op.weight_elems and c.efficiency.attention is not None:
            return "attention"
        k = op_class(op)
        if k == "vector" and c.efficiency.activation is not None and op.op.rstrip("_") in table:
            return "activation"
        # layer, group norms and softmax (ATen names) run at the class's norm factor when it has one
        if k == "vector" and c.efficiency.norm is not None and op.op.split(".")[-1].lstrip("_") in norms:
            return "norm"
        return k

    flops = {"gemm": 0, "depthwise": 0, "vector": 0, "activation": 0, "attention": 0, "norm": 0}
    prev = None
    for op in c.count.layers:
        # a batch norm right after a convolution is folded into its weights (no time) by a class fitted so
        folded = op.op == "native_batch_norm" and prev is not None and prev.kind == "conv"
        if not (folded and c.efficiency.folds_batch_norm):
            flops[cls(op)] += op.flops * padded(op)
        prev = op
    speed = c.efficiency.speed  # a measured chip's speed relative to its class (1 otherwise)
    peak = c.peak_tops * 1e12 * speed
    C = sum(f / (peak * getattr(c.efficiency, k)) for k, f in flops.items() if f)
    # only an op whose bytes exceed the runtime's on-chip buffer moves them through DRAM
    dram = sum(o.bytes for o in c.roof1.ops if o.bytes > c.efficiency.buffer_bytes)
    M = dram / (c.effective_bandwidth_gbps * 1e9 * speed)
    # the fixed costs of an edge runtime: per op started, per data move (a concat, a shuffle copy)
    # and per call, at the chip's speed for fixed costs (its compute speed when it has none of its own)
    # a runtime fitted with a staging rate also moves every op's bytes at that multiple of the rated
    # bandwidth, not overlapped with anything (0: none)
    staging = c.efficiency.staging * c.bandwidth_gbps * 1e9 * speed
    S = sum(o.bytes for o in c.roof1.ops) / staging if staging else 0.0
    fixed_speed = c.efficiency.fixed_speed or speed
    fixed = (c.efficiency.op_overhead_s * sum(1 for o in c.roof1.ops if o.flops and not o.fused)
             + c.efficiency.data_overhead_s * sum(1 for o in c.roof1.ops if o.kind == "data" and o.bytes)
             + c.efficiency.call_overhead_s) / fixed_speed
    return max(C, M) + S + fixed, C + M + S + fixed


@pytest.mark.parametrize("fps", [60, 300])
def test_verdicts_agree_with_hand_roofline_bounds(fps):
    r = whatif("resnet50", "rk3588", fps=fps, batches=(2,), scales=(0.5,), prune_ratios=(0.5,))
    decided = 0
    for o in r.options:
        c = o.result
        if c is None or c.batch > 1 or c.roof1.host_ops:  # the hand bounds price the accelerator only
            continue
        lo, hi = _hand_latency_bounds(c)
        assert lo * (1 - 1e-9) <= c.latency_s <= hi * (1 + 1e-9)
        if 1 / hi >= fps:          # even with no overlap of compute and memory it keeps up
            assert c.sufficient, o.setting
            decided += 1
        elif 1 / lo < fps:         # even with perfect overlap it cannot
            assert not c.sufficient, o.setting
            decided += 1
    assert decided >= 5
    best = r.choice()
    if fps == 60:
        # by hand: 0.494 TOPS of 6, and 1 / (C + M) ≥ 60 FPS: the model as given is the choice
        assert best.lever == "as given" and r.baseline.sufficient
    else:
        # 300 FPS: the model as given falls short; the choice is an option that fits, and no
        # option of a less intrusive lever (batching before input size before pruning) fits
        assert not r.baseline.sufficient
        assert best in r.fitting() and best.result.throughput_fps >= 300
        order = ["batch", "input size", "channel pruning", "lighter model"]
        if best.lever in order:
            before = order[:order.index(best.lever)]
            assert all(not o.result.sufficient for o in r.options if o.lever in before)


def test_whatif_command_json_and_table(run_cli):
    rc, out, err = run_cli("whatif", "resnet50", "--chip", "rk3588", "--fps", "60", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["command"] == "whatif" and d["sufficient"] is True and d["choice"] == "as given: int8, batch 1"
    rows = {(o["lever"], o["setting"]): o for o in d["options"]}
    assert rows[("2:4 sparsity", "not on this chip")]["sufficient"] is None
    assert rows[("unstructured pruning", "50% zeros")]["latency_s"] == rows[("as given", "int8, batch 1")]["latency_s"]
    # the fitting list is exactly the priced options whose throughput meets 60 FPS (memory fits here)
    fits = [f"{o['lever']}: {o['setting']}" for o in d["options"]
            if o["sufficient"] and o["lever"] != "unstructured pruning"]
    assert d["fitting"] == fits
    assert all(o["max_fps"] >= 60 for o in d["options"] if o["sufficient"])
    lighter = [o for o in d["options"] if o["lever"] == "lighter model"]
    assert lighter and all(o["accuracy_top1"] and o["accuracy_source"] for o in lighter)
    lite0 = next(o for o in lighter if o["setting"] == "efficientnet_lite0")   # the zoo entry's published top-1
    assert lite0["accuracy_top1"] == 75.1 and "tensorflow/tpu" in lite0["accuracy_source"]
    v1 = next((o for o in lighter if o["setting"] == "mobilenet_v1"), None)      # the paper's top-1
    assert v1 is None or (v1["accuracy_top1"] == 70.6 and "1704.04861" in v1["accuracy_source"])
    from chipfit.data import zoo

    for o in lighter:  # a zoo network's own published top-1, else torchvision's weights
        entry = zoo.find(o["setting"])
        source = entry.top1_source if entry is not None and entry.top1_source else "torchvision"
        assert source in o["accuracy_source"], o
    assert rows[("as given", "int8, batch 1")]["accuracy_top1"] == pytest.approx(80.858)  # ResNet50 V2 weights

    rc, out, err = run_cli("whatif", "resnet18", "--chip", "rk3588", "--fps", "30", "--lever", "batch,input",
                           "--batch", "2")
    assert rc == 0, err
    assert out.startswith("SUFFICIENT AS GIVEN  resnet18 on rk3588:npu at 30 FPS, int8")
    assert "batch: 2" in out and "input size: 160×160" in out and "lighter" not in out


@pytest.mark.parametrize("args, sentence", [
    (["--to-precision", "int4"], "rk3588:npu has no dense int4 peak, so int4 is not an option on this chip"),
    (["--lever", "sparsity"], "rk3588:npu lists no sparse int8 peak: 2:4 sparsity is not accelerated on this chip"),
    (["--prune", "1.5"], "--prune item 1 must be in (0, 1), got 1.5"),
    (["--prune", "0"], "--prune item 1 must be in (0, 1), got 0"),
    (["--prune", "half"], "--prune item 1 must be a number, got half"),
    (["--scale", "2"], "--scale item 1 must be in (0, 1), got 2"),
    (["--batch", "1"], "--batch item 1 must be at least 2, got 1"),
    (["--lever", "quantum"], "--lever item 1 must be one of precision, batch, input, sparsity, unstructured, prune, lighter, got quantum"),
    (["--precision", "int3"], "int3"),
])
def test_whatif_bad_input_is_one_sentence(run_cli, args, sentence):
    rc, out, err = run_cli("whatif", "resnet18", "--chip", "rk3588", "--fps", "30", *args)
    assert rc == 2 and out == ""
    assert sentence in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_whatif_report_and_formats(run_cli, tmp_path):
    page = tmp_path / "w.html"
    rc, out, err = run_cli("whatif", "resnet18", "--chip", "jetson-orin-nano-8gb", "--fps", "2000", "--lever",
                           "precision,batch,sparsity", "--report", str(page), "--format", "csv")
    assert rc == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("lever,setting,macs,required_tops,latency_s,max_fps")
    assert any(line.startswith("2:4 sparsity,int8 sparse peak,") for line in lines)
    html = page.read_text()
    assert 'data-kind="whatif"' in html and 'data-chart="options"' in html
    assert re.search(r"(SUFFICIENT|UNCERTAIN|INSUFFICIENT) AS GIVEN", html)
    from chipfit.render.html.page import kind_of

    data = json.loads(html.split('id="chipfit-result">')[1].split("</script>")[0])
    assert kind_of(data) == "whatif"
    # energy = rated power × latency, where the chip lists its power (the Orin Nano does); a batch's
    # option: power × the time of one batch (its latency less the wait to fill it, (b - 1) / 2000 s) per image
    for o in data["options"]:
        if o["sufficient"] is not None and o["lever"] != "batch":
            assert o["energy_per_inference_j"] == pytest.approx(15 * o["latency_s"], rel=1e-9)
        elif o["sufficient"] is not None:
            b = int(o["setting"])
            assert o["energy_per_inference_j"] == pytest.approx(15 * (o["latency_s"] - (b - 1) / 2000) / b, rel=1e-9)


def test_every_option_is_priced_with_the_runtime_asked_for():
    r = whatif("resnet18", "qcs6490", fps=300, runtime="tflite-qnn", levers=["batch", "precision"])
    classes = {o.result.efficiency.efficiency_class for o in r.options if o.result is not None}
    assert r.baseline.efficiency.efficiency_class == "tflite-qnn" and classes == {"tflite-qnn"}
    with pytest.raises(ChipfitError, match="hailort is not one this chip runs"):
        whatif("resnet18", "qcs6490", fps=300, runtime="hailort", levers=["batch"])
