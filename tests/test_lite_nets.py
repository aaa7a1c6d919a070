"""The lightweight zoo networks written in chipfit/frontends/lite_nets.py, counted against the
figures their authors publish, and one block of each checked by hand arithmetic.

Published figures are rounded (4.7M, 0.9G, 1.17M...), so a count "agrees" when it rounds to
the published digits; where a published figure does not follow from the architecture the
test pins the gap and says why.

Sources:
  * EfficientNet-Lite0: https://github.com/tensorflow/tpu/blob/master/models/official/efficientnet/lite/README.md
    (4.7M params, 407M MAdds, top-1 75.1 %); timm's efficientnet_lite0 has 4,652,008 parameters
    (keras-hub preset efficientnet_lite0_ra_imagenet, "params": 4652008).
  * NanoDet-Plus: https://github.com/RangiLyu/nanodet README model table (0.9G / 1.52G / 2.97G
    "FLOPS", 1.17M / 2.44M params). Its FLOPs are 2 x MACs: tools/flops.py reports MACs and
    "the FLOPs of NanoDet in README.md has already been multiplied by 2"
    (RangiLyu, https://github.com/RangiLyu/nanodet/issues/141).
  * OpenVINO Open Model Zoo, models/public/nanodet-plus-m-1.5x-416/README.md: the released
    1.5x-416 model converted to IR (BatchNorm folded into the convs) has 2.4614 M parameters
    and outputs 1 x 3598 x 112.
"""

import json

import pytest

from chipfit import count

torch = pytest.importorskip("torch", reason="needs torch")
pytest.importorskip("torchvision", reason="needs torchvision (pip install 'chipfit[vision]')")

import chipfit  # noqa: E402
from chipfit.data import zoo  # noqa: E402


def _block_macs(result, prefix: str) -> int:
    return sum(op.macs for op in result.layers if op.name.startswith(prefix))


def _bn_channels(builder) -> int:
    from chipfit.frontends.pytorch.build import build_module

    model = build_module(builder)
    return sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


# ----------------------------------------------------------------------------- EfficientNet-Lite0

@pytest.fixture(scope="module")
def lite0():
    return chipfit.count("efficientnet_lite0")


def test_efficientnet_lite0_is_in_the_zoo_by_its_aliases():
    assert zoo.lookup("efficientnet-lite0").name == "efficientnet_lite0"
    assert zoo.lookup("EfficientNet-Lite0").builder == "chipfit.frontends.pytorch.lite_nets:efficientnet_lite0"


def test_efficientnet_lite0_parameters_match_published(lite0):
    assert not lite0.unsupported_ops
    # exact: timm's efficientnet_lite0 (the TF checkpoint's layers) has 4,652,008 parameters
    assert lite0.params == 4_652_008
    # the README's "4.7M" is rounded to 2 significant digits: 4.65M <= p < 4.75M
    assert round(lite0.params / 1e6, 1) == 4.7


def test_efficientnet_lite0_macs_are_b0_without_squeeze_excitation(lite0):
    """An independent check of the layer table: torchvision's EfficientNet-B0 (same blocks, stem
    and head at width 1.0, plus SE) minus its SE layers has exactly Lite0's MACs and parameters."""
    from torchvision.models import efficientnet_b0
    from torchvision.ops import SqueezeExcitation

    from chipfit.frontends.pytorch.build import build_module

    b0_model = build_module(lambda: efficientnet_b0(weights=None))
    se = [name for name, m in b0_model.named_modules() if isinstance(m, SqueezeExcitation)]
    se_params = sum(p.numel() for name in se for p in b0_model.get_submodule(name).parameters())
    b0 = chipfit.count("efficientnet_b0")
    se_macs = sum(_block_macs(b0, name + ".") for name in se)
    assert len(se) == 16 and se_macs > 0
    assert b0.macs - se_macs == lite0.macs == 385_187_552
    assert b0.params - se_params == lite0.params


def test_efficientnet_lite0_macs_vs_the_readme(lite0):
    # timm's model card rounds to "GMACs: 0.4"; the TF README says "407M MAdds", 5.4 % above
    # the MACs of this architecture. The layers are pinned by the exact parameter count and by
    # B0-minus-SE above, so the gap is how that figure was counted (it is not explained by the
    # convolutions and the classifier); the test keeps it visible rather than hiding it in a
    # loose tolerance.
    assert round(lite0.macs / 1e9, 1) == 0.4
    assert lite0.macs / 407e6 == pytest.approx(0.946, abs=0.002)


def test_efficientnet_lite0_one_block_by_hand(lite0):
    # stage 2, first block (blocks.1): 1x1 expand 16->96 at 112x112, 3x3 depthwise stride 2 to
    # 56x56, 1x1 project 96->24
    expand = 112 * 112 * 16 * 96
    depthwise = 56 * 56 * 96 * 3 * 3
    project = 56 * 56 * 96 * 24
    assert _block_macs(lite0, "blocks.1.") == expand + depthwise + project == 29_202_432
    # and the classifier: 1280 -> 1000
    assert _block_macs(lite0, "classifier") == 1280 * 1000


# ---------------------------------------------------------------------------------- NanoDet-Plus

@pytest.fixture(scope="module")
def nanodet320():
    return chipfit.count("nanodet-plus-m")


@pytest.fixture(scope="module")
def nanodet416():
    return chipfit.count("nanodet_plus_m_416")


@pytest.fixture(scope="module")
def nanodet15x():
    return chipfit.count("nanodet-plus-m-1.5x-416")


def test_nanodet_entries_and_aliases():
    assert zoo.lookup("nanodet-plus-m").name == zoo.lookup("nanodet-plus-m-320").name == "nanodet_plus_m_320"
    assert zoo.lookup("nanodet-plus-m-416").input_shape == [1, 3, 416, 416]
    assert zoo.lookup("nanodet-plus-m-1.5x-416").name == "nanodet_plus_m_1_5x_416"


@pytest.mark.parametrize("fixture,published_gflops", [
    ("nanodet320", 0.90), ("nanodet416", 1.52), ("nanodet15x", 2.97),
])
def test_nanodet_macs_match_the_readme(request, fixture, published_gflops):
    """README "FLOPS" = 2 x MACs (issue #141), printed to 2 decimals: the count must round to the
    same digits (±0.005 G, about ±0.5 %)."""
    r = request.getfixturevalue(fixture)
    assert not r.unsupported_ops
    assert round(2 * r.macs / 1e9, 2) == published_gflops


def test_nanodet_plus_m_parameters(nanodet320, nanodet416):
    from torchvision.models import ShuffleNet_V2_X1_0_Weights

    # by hand: torchvision's ShuffleNetV2 1.0x without conv5 (464->1024 + BN) and fc (1024->1000)
    backbone = ShuffleNet_V2_X1_0_Weights.DEFAULT.meta["num_params"] - (464 * 1024 + 2 * 1024) - (1024 * 1000 + 1000)
    assert backbone == 776_420
    c = 96
    dwsep = c * 25 + 2 * c + c * c + 2 * c                     # 5x5 depthwise + BN, 1x1 + BN
    ghost_block = ((2 * c) * (c // 2) + c + (c // 2) * 9 + c   # ghost1: 1x1 192->48, 3x3 dw 48
                   + c * (c // 2) + c + (c // 2) * 9 + c       # ghost2: 1x1 96->48, 3x3 dw 48
                   + (2 * c) * 25 + 4 * c + (2 * c) * c + 2 * c)  # shortcut: 5x5 dw 192, 1x1 192->96
    fpn = (116 + 232 + 464) * c + 3 * 2 * c + 4 * ghost_block + 4 * dwsep  # reduce, 2+2 blocks, 2 down + 2 extra
    head = 4 * (2 * dwsep + c * 112 + 112)                     # 4 levels: 2 dw-sep convs + 1x1 to 112 (bias)
    assert nanodet320.params == nanodet416.params == backbone + fpn + head == 1_197_924
    # The README says 1.17M, 2.4 % fewer. The released 1.5x model (OpenVINO, below) carries every
    # layer counted here, so that figure undercounts; it would match a GhostPAN without its two
    # extra-level convs (1,173,924 -> "1.17M"; 1.5x: 2,437,600 -> "2.44M"), which is a guess,
    # not a documented fact. Tolerance: 3 %.
    assert nanodet320.params == pytest.approx(1.17e6, rel=0.03)


def test_nanodet_plus_m_1_5x_parameters_match_the_released_model(nanodet15x):
    from chipfit.frontends.pytorch.lite_nets import nanodet_plus_m_1_5x_416

    # OpenVINO's IR of the released weights folds each BatchNorm (2 parameters per channel) into
    # a conv bias (1 per channel): 2.4614 M there, rounded to 4 decimals (±50 parameters) plus
    # a few hundred constants of the IR; 0.05 % tolerance.
    folded = nanodet15x.params - _bn_channels(nanodet_plus_m_1_5x_416)
    assert nanodet15x.params == 2_477_792
    assert folded == pytest.approx(2.4614e6, rel=5e-4)
    assert nanodet15x.params == pytest.approx(2.44e6, rel=0.03)  # README "2.44M", see above


def test_nanodet_outputs_are_the_head_points():
    from chipfit.frontends.pytorch.build import build_module
    from chipfit.frontends.pytorch.lite_nets import nanodet_plus_m

    model = build_module(nanodet_plus_m).eval()
    for size, points in ((320, 40 * 40 + 20 * 20 + 10 * 10 + 5 * 5), (416, 52 * 52 + 26 * 26 + 13 * 13 + 7 * 7)):
        out = model(torch.zeros(1, 3, size, size, device="meta"))
        assert tuple(out.shape) == (1, points, 80 + 4 * (7 + 1))
    assert points == 3598  # as OpenVINO documents for the 416 model


def test_nanodet_head_level_by_hand(nanodet320):
    # stride-8 level at 320 px (40x40): 2 x (5x5 depthwise 96 + 1x1 96->96), then 1x1 96->112
    hw = 40 * 40
    expected = 2 * (hw * 96 * 25 + hw * 96 * 96) + hw * 96 * 112
    assert _block_macs(nanodet320, "head.convs.0.") + _block_macs(nanodet320, "head.preds.0") == expected
    assert expected == 54_374_400


# ------------------------------------------------------------------------------------------ CLI

def test_cli_counts_efficientnet_lite0(run_cli):
    rc, out, err = run_cli("count", "efficientnet_lite0", "--json")
    assert rc == 0, err
    data = json.loads(out)
    assert data["model"] == "efficientnet_lite0"
    assert data["macs"] == 385_187_552 and data["params"] == 4_652_008
    assert data["unsupported_ops"] == []


# YOLO detectors: parameters (millions) and GFLOPs (= 2 x MACs) at 640x640 as the authors publish them
# (YOLOv5 v7.0 README table; the YOLOv8 and YOLO11 model tables), 80 classes.
YOLO_PUBLISHED = {
    "yolov5n": (1.9, 4.5), "yolov5s": (7.2, 16.5), "yolov5m": (21.2, 49.0), "yolov5l": (46.5, 109.1),
    "yolov5x": (86.7, 205.7),
    "yolov8n": (3.2, 8.7), "yolov8s": (11.2, 28.6), "yolov8m": (25.9, 78.9), "yolov8l": (43.7, 165.2),
    "yolov8x": (68.2, 257.8),
    "yolo11n": (2.6, 6.5), "yolo11s": (9.4, 21.5), "yolo11m": (20.1, 68.0), "yolo11l": (25.3, 86.9),
    "yolo11x": (56.9, 194.9),
}


@pytest.mark.parametrize("name", sorted(YOLO_PUBLISHED))
def test_yolo_matches_the_published_size_and_flops(name):
    params_m, gflops = YOLO_PUBLISHED[name]
    r = count(name)  # the zoo entry: 1x3x640x640
    assert r.graph.inputs and list(r.graph.inputs.values())[0] == (1, 3, 640, 640)
    # published figures are rounded to 0.1: within that rounding, or 1 %
    assert abs(r.params / 1e6 - params_m) <= max(0.05, 0.01 * params_m), r.params
    assert abs(2 * r.macs / 1e9 - gflops) <= max(0.05, 0.01 * gflops), r.macs


def test_yolo_counts_at_any_multiple_of_32():
    full, half = count("yolov8n"), count("yolov8n", input_shape="1x3x320x320")
    # every op of a fully convolutional net scales with the pixels, the attention-free v8 exactly
    assert full.macs == 4 * half.macs


def test_mobilenet_v1_matches_the_paper():
    """arXiv:1704.04861, Table 8: 1.0 MobileNet-224 has 569M mult-adds and 4.2M parameters."""
    r = count("mobilenet_v1")
    assert abs(r.macs / 1e6 - 569) <= 0.5 and abs(r.params / 1e6 - 4.2) <= 0.05
