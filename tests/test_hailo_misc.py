"""The assorted Hailo Model Zoo networks written in chipfit/frontends/pytorch/nets/hailo_misc.py,
counted against the figures Hailo and the original authors publish.

Sources:
  * https://github.com/hailo-ai/hailo_model_zoo commit c83fc030,
    ``hailo_model_zoo/cfg/networks/<id>.yaml``: ``info.input_shape``, ``info.output_shape``,
    ``info.parameters`` and ``info.operations`` (two operations per multiply-accumulate); the
    HAILO10H tables in ``docs/public_models`` print the same Params (M) and OPS (G).
  * Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB ``vision/nn/mb_tiny.py``: the trunk's
    layer plan written out below.
  * Li-Chongyi/Zero-DCE_extension ``Zero-DCE++/model.py`` (Zero-DCE++, arXiv:2103.00860): seven
    depthwise-separable convs of 32 channels, 10,561 parameters (written out below).
  * hailo-ai/yolact branch Model-Zoo-1.5 ``data/config.py``: YOLACT's head is one module shared by
    the five FPN levels; Hailo's parameter count holds it five times.
  * ultralytics' YOLOv8s-seg (chipfit's ``yolov8s-seg``): FastSAM-s is that network with one class.
  * PaddlePaddle/PaddleOCR ``configs/rec/PP-OCRv5/PP-OCRv5_mobile_rec.yml`` and
    ``ppocr/modeling/necks/rnn.py``: the SVTR neck and CTC head written out below;
    ``configs/det/PP-OCRv5/PP-OCRv5_mobile_det.yml`` and ``ppocr/modeling/backbones/rec_lcnetv3.py``:
    the detector's widths checked below.

Hailo's parameter counts are those of the compiled graph, BatchNorm folded into the convolutions
(one bias per channel where chipfit, counting the unfolded network, has BatchNorm's scale and
shift). Hailo's OPS are held within the tolerance given per network; for CenterPose, YOLACT and FastSAM
Hailo counts each transposed conv at its output resolution (as for the CenterNet networks), four
times the multiply-accumulates chipfit counts.
"""

import pytest

torch = pytest.importorskip("torch", reason="needs torch")
pytest.importorskip("torchvision", reason="needs torchvision (pip install 'chipfit[vision]')")

from chipfit.data import zoo  # noqa: E402

#: zoo name -> (input H, W, Hailo parameters (M) as printed, Hailo OPS (G), OPS tolerance)
HAILO = {
    # Hailo's 0.16G is printed to two digits: 2 x 0.0814G is 0.163G
    "lightface_slim": ((240, 320), "0.26", 0.16, 0.02),
    "zero_dce_pp": ((400, 600), "0.02", 4.84, 0.002),
    "real_esrgan_x2": ((512, 512), "16.7", 2350.0, 0.001),
    "centerpose_regnetx_800mf": ((512, 512), "12.31", 86.12, 0.05),
    "yolact_regnetx_800mf": ((512, 512), "28.3", 116.75, 0.002),
    "yolact_regnetx_1.6gf": ((512, 512), "30.09", 125.34, 0.002),
    "fast_sam_s": ((640, 640), "11.1", 42.4, 0.002),
    # Hailo's 1.5G is printed to two digits: 2 x 0.759G is 1.518G
    "paddle_ocr_v5_mobile_recognition": ((48, 320), "4.1", 1.5, 0.015),
    # counted Hailo's way 6.40G, 1.6 % below its 6.5G (Hailo's OPS run above 2 x MACs for depthwise nets)
    "paddle_ocr_v5_mobile_detection": ((544, 960), "1.2", 6.5, 0.02),
}

#: networks whose transposed convs Hailo counts at output resolution
TRANSPOSED = ("centerpose_regnetx_800mf", "yolact_regnetx_800mf", "yolact_regnetx_1.6gf", "fast_sam_s",
              "paddle_ocr_v5_mobile_detection")
YOLACT = ("yolact_regnetx_800mf", "yolact_regnetx_1.6gf")


def _module(name: str):
    from chipfit.frontends.pytorch.build import build_module
    from chipfit.frontends.pytorch.nets import hailo_misc

    return build_module(getattr(hailo_misc, zoo.find(name).builder.rsplit(":", 1)[1]))


def _bn(model) -> int:
    return sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def _transposed_macs(result) -> int:
    return sum(op.macs for op in result.graph.ops if "transpose" in str(op.op).lower()
               or "ConvTranspose" in str(op.module_type))


def test_zoo_entries_use_this_module():
    for name, (side, _, _, _) in HAILO.items():
        entry = zoo.find(name)
        assert entry is not None and entry.name == name
        assert entry.builder.startswith("chipfit.frontends.pytorch.nets.hailo_misc:")
        assert tuple(entry.input_shape) == (1, 3, *side)


@pytest.mark.parametrize("name", sorted(set(HAILO) - {"zero_dce_pp", "fast_sam_s", *YOLACT}))
def test_folded_parameters_match_hailo(name, counts):
    printed = HAILO[name][1]
    digits = len(printed.split(".")[1])
    folded = counts(name).params - _bn(_module(name))
    assert f"{folded / 1e6:.{digits}f}" == printed, folded


@pytest.mark.parametrize("name", sorted(set(HAILO) - set(TRANSPOSED)))
def test_ops_match_hailo(name, counts):
    _, _, ops, tol = HAILO[name]
    ours = 2 * counts(name).macs / 1e9
    assert abs(ours - ops) <= tol * ops, ours


# ------------------------------------------------------------------------------------ LightFace

def test_lightface_outputs_are_the_eight_head_convs(counts):
    r = counts("lightface_slim")
    shapes = {tuple(s) for op in r.graph.ops for s in op.output_shapes}
    # scores / boxes for 3, 2, 2, 3 anchors at 1/8, 1/16, 1/32, 1/64 of 240x320 (ceil division)
    for anchors, (h, w) in zip((3, 2, 2, 3), ((30, 40), (15, 20), (8, 10), (4, 5))):
        assert (1, anchors * 2, h, w) in shapes
        assert (1, anchors * 4, h, w) in shapes


def test_lightface_trunk_matches_the_hand_count(counts):
    # trunk MACs by hand: the stride-2 stem, then per separable unit 9 * cin + cin * cout per pixel
    plan = [(16, 32, 1), (32, 32, 2), (32, 32, 1), (32, 64, 2), (64, 64, 1), (64, 64, 1), (64, 64, 1),
            (64, 128, 2), (128, 128, 1), (128, 128, 1), (128, 256, 2), (256, 256, 1)]
    h, w = 120, 160
    macs = 27 * 16 * h * w
    for cin, cout, s in plan:
        h, w = -(-h // s), -(-w // s)
        macs += (9 * cin + cin * cout) * h * w
    total = counts("lightface_slim").macs
    assert macs < total < 1.25 * macs  # the heads and the extra level add the rest


# ------------------------------------------------------------------------------------ Zero-DCE++

def _dce_pp_per_pixel() -> tuple[int, int]:
    """(MACs per pixel, parameters) of Zero-DCE++'s seven separable convs with biases."""
    macs = params = 0
    for cin, cout in ((3, 32), (32, 32), (32, 32), (32, 32), (64, 32), (64, 32), (64, 3)):
        macs += 9 * cin + cin * cout
        params += 9 * cin + cin + cin * cout + cout
    return macs, params


def test_zero_dce_pp_matches_the_hand_count(counts):
    per_pixel, params = _dce_pp_per_pixel()
    r = counts("zero_dce_pp")
    assert per_pixel == 10_075
    assert r.params == params == 10_561
    assert r.macs == per_pixel * 400 * 600
    assert tuple(r.graph.ops[-1].output_shapes[0]) == (1, 3, 400, 600)
    # Hailo's 4.84G OPS is the full-resolution curve estimator: a 1/4 downscaled one would be 16x less
    assert abs(2 * per_pixel * 400 * 600 / 4.84e9 - 1) < 0.002


def test_zero_dce_pp_parameters_are_hailos_rounded_up():
    # Hailo prints 0.02M; the architecture's 10,561 is 0.01M at two digits: Hailo's figure is an upper bound
    assert _dce_pp_per_pixel()[1] < 0.02e6


# ------------------------------------------------------------------------------ Real-ESRGAN x2

def _rrdb_x2_macs(side: int = 512) -> int:
    lo, mid, hi = side // 2, side, 2 * side
    dense = 9 * sum((64 + 32 * k) * 32 for k in range(4)) + 9 * (64 + 4 * 32) * 64
    trunk = (9 * 12 * 64 + 23 * 3 * dense + 9 * 64 * 64) * lo * lo
    return trunk + 9 * 64 * 64 * (mid * mid + 2 * hi * hi) + 9 * 64 * 3 * hi * hi


def test_real_esrgan_x2_matches_the_hand_count(counts):
    r = counts("real_esrgan_x2")
    assert r.macs == _rrdb_x2_macs()
    assert tuple(r.graph.ops[-1].output_shapes[0]) == (1, 3, 1024, 1024)
    assert abs(r.params / 16.7e6 - 1) < 0.001


# ------------------------------------------------------------------------------------ CenterPose

def test_centerpose_heads_and_deconvs(counts):
    r = counts("centerpose_regnetx_800mf")
    shapes = {tuple(s) for op in r.graph.ops for s in op.output_shapes}
    for channels in (1, 2, 34, 17):
        assert (1, channels, 128, 128) in shapes
    # three 4x4 stride-2 transposed convs, 672 -> 256 at 16x16, 256 -> 256 at 32x32 and 64x64 inputs
    deconv = 16 * (672 * 256 * 16 * 16 + 256 * 256 * 32 * 32 + 256 * 256 * 64 * 64)
    assert _transposed_macs(r) == deconv


def test_centerpose_ops_count_transposed_convs_at_output_resolution(counts):
    r = counts("centerpose_regnetx_800mf")
    deconv = _transposed_macs(r)
    plain = 2 * r.macs / 1e9
    # the real multiply-accumulates fall 42 % short of Hailo's figure; counted Hailo's way
    # (test_ops_match_hailo_with_transposed_convs_at_output_resolution) they come within 5 %
    # (4.7 % below; the rest is not accounted for)
    assert plain < 0.6 * HAILO["centerpose_regnetx_800mf"][2]
    assert 2 * (r.macs + 3 * deconv) / 1e9 > 0.95 * HAILO["centerpose_regnetx_800mf"][2]


# ---------------------------------------------------------------------------------------- YOLACT

@pytest.mark.parametrize("name", YOLACT)
def test_yolact_outputs_are_hailos(name, counts):
    r = counts(name)
    shapes = {tuple(s) for op in r.graph.ops for s in op.output_shapes}
    # Hailo's output_shape: 128x128x32 prototypes, then per level 9 x 4, 9 x 32, 9 x 81 channels
    assert tuple(r.graph.ops[0].input_shapes[0]) == (1, 3, 512, 512)
    assert (1, 32, 128, 128) in shapes
    for side in (64, 32, 16, 8, 4):
        for channels in (36, 288, 729):
            assert (1, channels, side, side) in shapes


@pytest.mark.parametrize("name", YOLACT)
def test_yolact_parameters_match_hailo_with_the_head_per_level(name, counts):
    from chipfit.frontends.pytorch.nets.hailo_misc import YolactHead

    model = _module(name)
    folded = counts(name).params - _bn(model)
    head = sum(p.numel() for m in model.modules() if isinstance(m, YolactHead) for p in m.parameters())
    # the shared head by hand: 3x3 256 -> 256, then 3x3 convs to 9 x (4 + 81 + 32), all with bias
    assert head == 9 * 256 * 256 + 256 + 9 * 256 * 9 * (4 + 81 + 32) + 9 * (4 + 81 + 32)
    # counted once (as chipfit does) the network falls far short of Hailo's figure; once per level it is Hailo's
    printed = HAILO[name][1]
    digits = len(printed.split(".")[1])
    assert abs(folded / (float(printed) * 1e6) - 1) > 0.3
    assert f"{(folded + 4 * head) / 1e6:.{digits}f}" == printed, folded


def test_yolact_trunks_differ_only_in_the_backbone(counts):
    # same FPN widths but the 1.6GF's laterals read 168, 408, 912 channels instead of 128, 288, 672
    lateral = 256 * ((168 + 408 + 912) - (128 + 288 + 672))
    import torchvision

    trunk = [sum(p.numel() for n, p in torchvision.models.get_model(b).named_parameters() if not n.startswith("fc"))
             for b in ("regnet_x_800mf", "regnet_x_1_6gf")]
    diff = counts("yolact_regnetx_1.6gf").params - counts("yolact_regnetx_800mf").params
    assert diff == trunk[1] - trunk[0] + lateral


@pytest.mark.parametrize("name", TRANSPOSED)
def test_ops_match_hailo_with_transposed_convs_at_output_resolution(name, counts):
    r = counts(name)
    deconv = _transposed_macs(r)
    assert deconv > 0
    ops, tol = HAILO[name][2:]
    hailo_way = 2 * (r.macs + 3 * deconv) / 1e9
    assert abs(hailo_way - ops) <= tol * ops, hailo_way


# ------------------------------------------------------------------------------------- FastSAM

def test_fast_sam_s_is_yolov8s_seg_with_one_class(counts):
    fast, v8 = counts("fast_sam_s"), counts("yolov8s-seg")
    # three 1x1 class convs 128 -> 1 instead of 128 -> 80: 79 weights + 1 bias fewer per channel dropped
    assert v8.params - fast.params == 3 * 79 * (128 + 1)
    assert v8.macs - fast.macs == 79 * 128 * (80 * 80 + 40 * 40 + 20 * 20)
    shapes = {tuple(s) for op in fast.graph.ops for s in op.output_shapes}
    assert (1, 32, 160, 160) in shapes  # the prototypes
    for side in (80, 40, 20):
        assert (1, 64 + 1, side, side) in shapes  # box bins and the one class logit
        assert (1, 32, side, side) in shapes  # mask coefficients


def test_fast_sam_s_parameters_against_hailo(counts):
    folded = counts("fast_sam_s").params - _bn(_module("fast_sam_s"))
    # Hailo's 11.1M is 6 % below the architecture (its yolov8s_seg, 11.8M, is not): held to that gap
    assert 0.05 < folded / 11.1e6 - 1 < 0.07, folded


# ---------------------------------------------------------------------------------- PP-OCRv5 rec

def test_ppocr_v5_rec_output_and_backbone_widths(counts):
    from chipfit.frontends.pytorch.nets.hailo_misc import _divisible

    r = counts("paddle_ocr_v5_mobile_recognition")
    assert tuple(r.graph.ops[-1].output_shapes[0]) == (1, 40, 18385)  # Hailo's output_shape 1x40x18385
    # PP-LCNet's rounding of the 0.95-scaled widths
    assert [_divisible(c * 0.95) for c in (16, 32, 64, 128, 256, 512)] == [16, 32, 64, 128, 240, 480]
    shapes = {tuple(s) for op in r.graph.ops for s in op.output_shapes}
    assert (1, 480, 1, 40) in shapes  # the backbone's output after the 3x2 average pool
    assert (1, 40, 120) in shapes  # the SVTR sequence: 40 columns of width 120
    # real normalisation layers are kept: 2 per SVTR block and the final one
    assert sum(op.module_type == "LayerNorm" or "layer_norm" in str(op.op) for op in r.graph.ops) == 5


def test_ppocr_v5_rec_head_and_neck_by_hand(counts):
    model = _module("paddle_ocr_v5_mobile_recognition")
    head = 120 * 18385 + 18385
    block = (120 * 360 + 360) + (120 * 120 + 120) + (120 * 240 + 240) + (240 * 120 + 120) + 2 * 2 * 120
    neck_convs = 480 * 60 * 3 + 60 * 120 + 120 * 480 + 960 * 60 * 3 + 60 * 120  # bias-free, BatchNorm after each
    neck_bn = 2 * (60 + 120 + 480 + 60 + 120)
    assert sum(p.numel() for p in model.fc.parameters()) == head
    assert sum(p.numel() for p in model.neck.parameters()) == neck_convs + neck_bn + 2 * block + 2 * 120
    folded = counts("paddle_ocr_v5_mobile_recognition").params - _bn(model)
    # the CTC head is more than half of Hailo's 4.1M
    assert head > 0.5 * 4.1e6 and abs(folded / 4.1e6 - 1) < 0.005


# ---------------------------------------------------------------------------------- PP-OCRv5 det

def test_ppocr_v5_det_shapes_and_widths(counts):
    from chipfit.frontends.pytorch.nets.hailo_misc import _divisible

    r = counts("paddle_ocr_v5_mobile_detection")
    assert tuple(r.graph.ops[-1].output_shapes[0]) == (1, 1, 544, 960)  # Hailo's output_shape 544x960x1
    assert [_divisible(c * 0.75) for c in (16, 32, 64, 128, 256, 512)] == [16, 32, 48, 96, 192, 384]
    shapes = {tuple(s) for op in r.graph.ops for s in op.output_shapes}
    # the backbone's reduced outputs at strides 4-32 and the neck's 96-channel concatenation at 1/4
    for c, stride in zip((12, 18, 42, 360), (4, 8, 16, 32)):
        assert (1, c, 544 // stride, 960 // (stride)) in shapes
    assert (1, 96, 136, 240) in shapes


def test_ppocr_v5_det_neck_and_head_by_hand():
    model = _module("paddle_ocr_v5_mobile_detection")

    def se(c):
        return c * (c // 4) + c // 4 + (c // 4) * c + c

    neck = sum(w * 96 + se(96) for w in (12, 18, 42, 360)) + 4 * (9 * 96 * 24 + se(24))
    head = 9 * 96 * 24 + 2 * 24 + (24 * 24 * 4 + 24) + 2 * 24 + (24 * 4 + 1)
    assert sum(p.numel() for p in model.neck.parameters()) == neck
    assert sum(p.numel() for p in model.head.parameters()) == head
