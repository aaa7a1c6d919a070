"""The YOLOv5 and YOLOv8 instance-segmentation networks of the zoo (chipfit/frontends/pytorch/nets/yolo.py),
counted against the parameters and GFLOPs their authors publish, and their heads checked by hand.

Sources:
  * YOLOv5 v7.0: https://github.com/ultralytics/yolov5 (tag v7.0, commit 915bbf2)
    models/segment/yolov5{n,s,m,l,x}-seg.yaml, models/yolo.py (Segment), models/common.py (Proto)
    and the README segmentation table: n 2.0M / 7.1 GFLOPs, s 7.6M / 26.4, m 22.0M / 70.8,
    l 47.9M / 147.7, x 88.8M / 265.7 at 640.
  * YOLOv8: https://github.com/ultralytics/ultralytics ultralytics/cfg/models/v8/yolov8-seg.yaml,
    ultralytics/nn/modules/head.py (Segment), block.py (Proto) and the segmentation table of
    docs/en/models/yolov8.md: n 3.4M / 12.6 GFLOPs, s 11.8M / 42.6, m 27.3M / 110.2, l 46.0M / 220.5,
    x 71.8M / 344.1 at 640.
  * The published FLOPs are thop's (https://github.com/ultralytics/thop, thop/profile.py maps
    nn.ConvTranspose2d to the ordinary convolution hook; thop/vision/calc_func.py
    calculate_conv2d_flops counts output elements × input channels × kernel taps, the
    ``transpose`` case that counts from the input side came later). For a 2x2 stride-2 transposed
    convolution that is 4× its multiply-accumulates: each output pixel receives one kernel tap, not
    four. YOLOv8-seg's prototype branch upsamples with such a convolution, so its published GFLOPs
    hold 3 × that layer's MACs (×2) more than the network computes; YOLOv5-seg upsamples by nearest
    neighbour and its published GFLOPs are 2 × MACs exactly. chipfit counts transposed convolutions
    from the input side (the true MACs), so for v8 the test adds the over-count back and pins the gap.
"""

import pytest

from chipfit import count

torch = pytest.importorskip("torch", reason="needs torch")
pytest.importorskip("torchvision", reason="needs torchvision (pip install 'chipfit[vision]')")

from chipfit.data import zoo  # noqa: E402

# parameters (millions), GFLOPs at 640x640, 80 classes, 32 prototypes
SEG_PUBLISHED = {
    "yolov5n-seg": (2.0, 7.1), "yolov5s-seg": (7.6, 26.4), "yolov5m-seg": (22.0, 70.8),
    "yolov5l-seg": (47.9, 147.7), "yolov5x-seg": (88.8, 265.7),
    "yolov8n-seg": (3.4, 12.6), "yolov8s-seg": (11.8, 42.6), "yolov8m-seg": (27.3, 110.2),
    "yolov8l-seg": (46.0, 220.5), "yolov8x-seg": (71.8, 344.1),
}

# prototype channels: 256 scaled by the width multiple (v8: min(256, max_channels) x width)
PROTO_CHANNELS = {"yolov5n-seg": 64, "yolov5s-seg": 128, "yolov5m-seg": 192, "yolov5l-seg": 256, "yolov5x-seg": 320,
                  "yolov8n-seg": 64, "yolov8s-seg": 128, "yolov8m-seg": 192, "yolov8l-seg": 256, "yolov8x-seg": 320}


def _close(value: float, published: float) -> bool:
    """Within the table's rounding to 0.1, or 1 %."""
    return abs(value - published) <= max(0.05, 0.01 * published)


def _upsample_macs(result) -> int:
    return sum(op.macs for op in result.layers if op.name.endswith("proto.upsample"))


@pytest.fixture(scope="module")
def counted():
    return {name: count(name) for name in SEG_PUBLISHED}


@pytest.mark.parametrize("name", sorted(SEG_PUBLISHED))
def test_params_match_the_published_table(counted, name):
    r = counted[name]
    assert r.graph.inputs and list(r.graph.inputs.values())[0] == (1, 3, 640, 640)
    assert _close(r.params / 1e6, SEG_PUBLISHED[name][0]), r.params


@pytest.mark.parametrize("name", sorted(n for n in SEG_PUBLISHED if n.startswith("yolov5")))
def test_yolov5_seg_gflops_are_twice_the_macs(counted, name):
    r = counted[name]
    assert _upsample_macs(r) == 0  # nearest-neighbour upsampling: no multiply-accumulates
    assert _close(2 * r.macs / 1e9, SEG_PUBLISHED[name][1]), r.macs


@pytest.mark.parametrize("name", sorted(n for n in SEG_PUBLISHED if n.startswith("yolov8")))
def test_yolov8_seg_gflops_count_the_transposed_conv_from_its_output(counted, name):
    r = counted[name]
    c = PROTO_CHANNELS[name]
    up = _upsample_macs(r)
    assert up == c * c * 2 * 2 * 80 * 80  # 2x2 stride-2 transposed conv, 80x80 (P3) input: true MACs
    published = SEG_PUBLISHED[name][1]
    # thop counts that layer 4x: the published figure is the network's 2 x MACs plus 3 x that layer's
    assert _close(2 * (r.macs + 3 * up) / 1e9, published), r.macs
    # and the network as it runs is between 4 % and 6 % below the published figure (that over-count)
    assert 0.04 < 1 - 2 * r.macs / 1e9 / published < 0.06


def test_detectors_are_unchanged():
    """Adding the segmentation heads left the detectors' graphs as they were."""
    assert (count("yolov5s").params, count("yolov5s").macs) == (7235389, 8216780800)
    assert (count("yolov8n").params, count("yolov8n").macs) == (3157184, 4371456000)
    assert (count("yolo11n").params, count("yolo11n").macs) == (2624064, 3270713600)


def _bn(*channels: int) -> int:
    # chipfit counts a BatchNorm's scale and shift (2 per channel); the convolutions before it have no bias
    return 2 * sum(channels)


def test_yolov8n_seg_head_by_hand(counted):
    """yolov8n-seg = yolov8n + Proto(64 -> 64 -> 32) on P3 + per level Conv3x3(c, 32), Conv3x3(32, 32),
    Conv1x1(32, 32) with bias, for the P3/P4/P5 widths 64/128/256 (c4 = max(64 / 4, 32) = 32)."""
    c_, nm, c4, chs = 64, 32, 32, (64, 128, 256)
    proto = (64 * c_ * 9 + _bn(c_)) + (c_ * c_ * 4 + c_) + (c_ * c_ * 9 + _bn(c_)) + (c_ * nm + _bn(nm))
    coeffs = sum(c * c4 * 9 + c4 * c4 * 9 + _bn(c4, c4) + c4 * nm + nm for c in chs)
    assert counted["yolov8n-seg"].params - count("yolov8n").params == proto + coeffs
    det_head = sum(op.macs for op in count("yolov8n").layers if op.name.startswith("layers.22."))
    seg_head = sum(op.macs for op in counted["yolov8n-seg"].layers if op.name.startswith("layers.22."))
    proto_macs = (64 * c_ * 9 * 80 * 80 + c_ * c_ * 4 * 80 * 80 + c_ * c_ * 9 * 160 * 160 + c_ * nm * 160 * 160)
    coeff_macs = sum((c * c4 * 9 + c4 * c4 * 9 + c4 * nm) * s * s for c, s in zip(chs, (80, 40, 20)))
    assert seg_head - det_head == proto_macs + coeff_macs


def test_yolov5n_seg_head_by_hand(counted):
    """yolov5n-seg = yolov5n + Proto(64 -> 64 -> 32, nearest x2) on P3 + 3 anchors x 32 coefficients more
    in each level's 1x1 output convolution (with bias), for the widths 64/128/256."""
    c_, nm, chs = 64, 32, (64, 128, 256)
    proto = (64 * c_ * 9 + _bn(c_)) + (c_ * c_ * 9 + _bn(c_)) + (c_ * nm + _bn(nm))
    coeffs = sum(3 * nm * (c + 1) for c in chs)
    assert counted["yolov5n-seg"].params - count("yolov5n").params == proto + coeffs


def test_outputs_are_the_raw_levels_and_the_prototypes():
    from chipfit.frontends.pytorch.nets import yolo

    x = torch.zeros(1, 3, 256, 320)
    with torch.no_grad():
        v5 = yolo.yolov5n_seg()(x)
        v8 = yolo.yolov8n_seg()(x)
    grids = [(32, 40), (16, 20), (8, 10)]
    # v5: per level 3 anchors x (4 box + 1 object + 80 classes + 32 coefficients), then the prototypes
    assert [tuple(t.shape) for t in v5] == [(1, 3 * 117, h, w) for h, w in grids] + [(1, 32, 64, 80)]
    # v8: per level 64 box bins + 80 logits, per level 32 coefficients, then the prototypes at stride 4
    assert [tuple(t.shape) for t in v8] == ([(1, 144, h, w) for h, w in grids] + [(1, 32, h, w) for h, w in grids]
                                            + [(1, 32, 64, 80)])


def test_counts_scale_with_the_pixels(counted):
    half = count("yolov8n-seg", input_shape="1x3x320x320")
    assert counted["yolov8n-seg"].macs == 4 * half.macs and counted["yolov8n-seg"].params == half.params


@pytest.mark.parametrize("name", sorted(SEG_PUBLISHED))
def test_entries_and_aliases(name):
    entry = zoo.find(name)
    assert entry is not None and entry.name == name and entry.task == "vision"
    family, scale = name[:6], name[6]
    for alias in (name.replace("-", "_"), f"{family}-{scale}-seg", f"yolo-v{family[5]}{scale}-seg", name.upper()):
        assert zoo.find(alias) is entry, alias
    assert zoo.stored_graph(name) is not None
