"""YOLOX detectors of the zoo (chipfit/frontends/pytorch/nets/yolox.py), counted against the table
their authors publish and checked block by block by hand arithmetic.

Sources:
  * https://github.com/Megvii-BaseDetection/YOLOX at commit 6ddff4824372906469a7fae2dc3206c7aa4bbaee:
    README "Standard Models" (YOLOX-s 9.0M params 26.8 GFLOPs, m 25.3M 73.8, l 54.2M 155.6,
    x 99.1M 281.9, at 640) and "Light Models" (Nano 0.91M 1.08, Tiny 5.06M 6.45, at 416);
    exps/default/yolox_*.py (depth, width, depthwise, test size).
  * The README figures come from yolox/utils/model_utils.py:get_model_info: thop's profile of the
    training-form model (BatchNorm not folded), its count × 2. thop counts a BatchNorm with affine
    parameters as 2 operations per output element, so the published GFLOPs are the convolutions'
    2 × MACs plus 4 FLOPs per BatchNorm output element, and the published parameters include the
    BatchNorm scales and shifts.

What the zoo counts is the deployed graph: the same convolutions (the MACs), with BatchNorm
folded into them on export. Its 2 × MACs match the published GFLOPs within 1 % for s/m/l/x
and Tiny; for Nano, whose depthwise convolutions are cheap next to the per-element BatchNorm
work, the BatchNorm term is 3 % of the published figure, so the published number is held to the
MACs plus that term (which chipfit reports separately, as the norms' non-MAC FLOPs).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch")

from chipfit.data import zoo  # noqa: E402
from chipfit.frontends.pytorch.nets import yolox  # noqa: E402

# name: (params in M, GFLOPs, input side, decimals of the published figures)
YOLOX_PUBLISHED = {
    "yolox-nano": (0.91, 1.08, 416, 2), "yolox-tiny": (5.06, 6.45, 416, 2),
    "yolox-s": (9.0, 26.8, 640, 1), "yolox-m": (25.3, 73.8, 640, 1), "yolox-l": (54.2, 155.6, 640, 1),
    "yolox-x": (99.1, 281.9, 640, 1),
}


def _close(value: float, published: float, decimals: int) -> bool:
    """Within the published figure's rounding, or 1 %."""
    return abs(value - published) <= max(0.5 * 10 ** -decimals, 0.01 * published)


def _norm_flops(r) -> int:
    return sum(op.nonmac_flops for op in r.graph.ops if op.kind == "norm")


@pytest.mark.parametrize("name", sorted(YOLOX_PUBLISHED))
def test_yolox_matches_the_published_size_and_flops(name, counts):
    params_m, gflops, side, decimals = YOLOX_PUBLISHED[name]
    r = counts(name)
    assert list(r.graph.inputs.values())[0] == (1, 3, side, side)
    assert _close(r.params / 1e6, params_m, decimals), r.params
    # the published figure: convolutions plus thop's BatchNorm (4 FLOPs per output element)
    norm = _norm_flops(r)
    bn_elems = sum(op.act_write_elems for op in r.graph.ops if op.kind == "norm")
    assert norm == 4 * bn_elems
    assert _close((2 * r.macs + norm) / 1e9, gflops, decimals), (r.macs, norm)
    # the deployed graph (BatchNorm folded): within 1 % except Nano, whose gap is exactly that term
    if name != "yolox-nano":
        assert abs(2 * r.macs / 1e9 - gflops) <= 0.01 * gflops, r.macs
    else:
        assert 0.025 < norm / (2 * r.macs + norm) < 0.035


def test_aliases_and_default_inputs():
    for name in YOLOX_PUBLISHED:
        scale = name.split("-")[1]
        for alias in (name, f"yolox_{scale}", f"yolox{scale}", name.upper()):
            assert zoo.lookup(alias).name == name
        entry = zoo.lookup(name)
        assert entry.frontend == "torchvision" and entry.task == "vision"
        assert entry.builder == f"chipfit.frontends.pytorch.nets.yolox:yolox_{scale}"


def test_head_outputs_are_raw_per_level_maps():
    """Three levels (strides 8, 16, 32) of reg 4 + obj 1 + cls 80 = 85 channels: no decoding."""
    model = yolox.yolox_s()
    with torch.no_grad():
        outs = model(torch.zeros(1, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(1, 85, 8, 12), (1, 85, 4, 6), (1, 85, 2, 3)]


def _convs(model):
    return [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]


def test_widths_depths_and_depthwise_follow_the_exps():
    s = yolox.yolox_s()
    # Focus: 4 × 3 = 12 channels after space-to-depth, then a 3×3 conv to int(64 × 0.5) = 32
    stem = s.backbone.backbone.stem.conv.conv
    assert (stem.in_channels, stem.out_channels, stem.kernel_size, stem.stride) == (12, 32, (3, 3), (1, 1))
    # dark3 / dark4: 3 × max(round(3 × 0.33), 1) = 3 bottlenecks; the neck's CSP layers round(3 × 0.33) = 1
    assert len(s.backbone.backbone.dark3[1].m) == 3 and len(s.backbone.c3_p4.m) == 1
    x = yolox.yolox_x()  # depth 1.33: dark2 / dark5 4 bottlenecks, dark3 / dark4 12, the neck 4
    assert [len(x.backbone.backbone.dark2[1].m), len(x.backbone.backbone.dark3[1].m),
            len(x.backbone.c3_n4.m)] == [4, 12, 4]
    assert x.head.stems[0].conv.out_channels == 320  # int(256 × 1.25)
    tiny = yolox.yolox_tiny()  # width 0.375: 24, 48, 96, 192, 384 channels; head width 96
    assert tiny.backbone.backbone.dark5[0].conv.out_channels == 384 and tiny.head.stems[2].conv.out_channels == 96
    # only Nano is depthwise: every 3×3 except the Focus conv
    for model, depthwise in ((yolox.yolox_nano(), True), (tiny, False), (s, False)):
        grouped = [c for c in _convs(model) if c.groups > 1]
        threes = [c for c in _convs(model) if c.kernel_size == (3, 3)]
        if depthwise:
            assert all(c.groups == c.in_channels == c.out_channels for c in grouped)
            assert len(grouped) == len(threes) - 1
        else:
            assert not grouped


def test_hand_arithmetic_of_the_stem_and_head(counts):
    r = counts("yolox-s")
    stem = [op for op in r.graph.ops if op.kind == "conv" and op.name.startswith("backbone.backbone.stem")]
    assert sum(op.macs for op in stem) == 320 * 320 * 32 * 12 * 9
    # the head's three 1×1 predictors of one level (80 + 4 + 1 outputs from 128 channels, with bias)
    preds = [op for op in r.graph.ops if op.kind == "conv" and op.name.split(".")[1].endswith("_preds")
             and op.name.endswith(".0")]
    assert sum(op.macs for op in preds) == 80 * 80 * 128 * 85
    assert sum(op.params for op in preds) == 85 * 128 + 85


def test_counts_scale_with_the_pixels(counts):
    full, half = counts("yolox-s"), counts("yolox-s", input_shape="1x3x320x320")
    assert full.macs == 4 * half.macs and full.params == half.params
