"""The Hailo Model Zoo YOLO networks written in chipfit/frontends/pytorch/nets/hailo_yolo.py, counted
against the figures Hailo publishes.

Sources:
  * https://github.com/hailo-ai/hailo_model_zoo commit c83fc030,
    ``hailo_model_zoo/cfg/networks/<id>.yaml``: ``info.input_shape``, ``info.parameters`` and
    ``info.operations`` per network (also the "Params (M)" and "OPS (G)" columns of
    ``docs/public_models/HAILO8/HAILO8_object_detection.rst`` and ``..._pose_estimation.rst``).
  * meituan/YOLOv6 tag 0.2.1 README: YOLOv6-N 4.3M parameters, 11.1 GFLOPs at 640.
  * AlexeyAB/darknet's counts for cfg/yolov3.cfg: 140.69 BFLOPs at 608 (two per multiply-accumulate).
  * Wang et al. 2022, arXiv:2207.02696, Table 2: YOLOv7-X 71.3M parameters, 189.9 GFLOPs.

Hailo's parameter counts are those of the compiled graph, BatchNorm folded into the convolutions
(one bias per channel where chipfit, counting the unfolded network, has BatchNorm's scale and
shift): the folded count is compared to Hailo's printed digits. Hailo's OPS are a little above
twice the multiply-accumulates (it counts some non-multiply work too): held within 0.5 %.
"""

import pytest

torch = pytest.importorskip("torch", reason="needs torch")

from chipfit.data import zoo  # noqa: E402

#: Hailo id -> (input side, Hailo Params (M) as printed, Hailo OPS (G), output channels per level)
HAILO = {
    "yolov5s_wo_spp": (640, "7.85", 17.74, [255] * 3),
    "yolov5s_2.0": (640, "7.46", 17.44, [255] * 3),  # Hailo's id: yolov5s (cfg yolov5s.yaml)
    "yolov5m_wo_spp": (640, "22.67", 52.88, [255] * 3),
    "yolov5xs_wo_spp": (512, "7.85", 11.36, [255] * 3),
    "yolov5m_6.1": (640, "21.17", 48.96, [255] * 3),
    "yolov5m6_6.1": (1280, "35.70", 200.04, [255] * 4),
    "yolox_s_leaky": (640, "8.96", 26.74, [85] * 3),
    "yolox_l_leaky": (640, "54.17", 155.3, [85] * 3),
    "yolox_s_wide_leaky": (640, "20.12", 59.46, [85] * 3),
    "yolov8s_pose": (640, "11.6", 30.2, [64 + 1 + 51] * 3),
    "yolov8m_pose": (640, "26.4", 81.02, [64 + 1 + 51] * 3),
    "yolov6n_0.2.1": (640, "4.33", 11.06, [80 + 4] * 3),
    "yolov3_416": (416, "61.92", 65.94, [255] * 3),
    "yolov3_gluon_416": (416, "61.92", 65.94, [255] * 3),
    "yolov4_leaky": (512, "64.33", 91.04, [255] * 3),
    "tiny_yolov3": (416, "8.85", 5.58, [255] * 2),
    "tiny_yolov4": (416, "6.05", 6.92, [255] * 2),
    "yolov7x": (640, "71.46", 189.68, [255] * 3),
    "yolov9c": (640, "25.3", 102.1, [64 + 80] * 3),
}

#: networks whose folded parameters are held to a relative tolerance instead of Hailo's printed digits
PARAMS_REL = {
    # the release-0.2.1 network as its configs define it has 4.317M (README: 4.3M); Hailo prints 4.33M
    "yolov6n_0.2.1": 0.005,
    # the deployed network has 71.31M (the paper's Table 2: YOLOv7-X 71.3M); Hailo prints 71.46M
    "yolov7x": 0.005,
    # release v2.0's YOLOv5s with SPP has 7.447M folded; Hailo prints 7.46M
    "yolov5s_2.0": 0.005,
}


def _build(name: str):
    from chipfit.frontends.pytorch.build import build_module
    from chipfit.frontends.pytorch.nets import hailo_yolo

    return build_module(getattr(hailo_yolo, zoo.find(name).builder.rsplit(":", 1)[1]))


def _bn_channels(name: str) -> int:
    return sum(m.num_features for m in _build(name).modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_every_hailo_id_is_a_zoo_name():
    for name, (side, *_rest) in HAILO.items():
        entry = zoo.find(name)
        assert entry is not None and (entry.name == name or name in entry.aliases), name
        assert entry.builder.startswith("chipfit.frontends.pytorch.nets.hailo_yolo:")
        assert entry.input_shape == [1, 3, side, side]


@pytest.mark.parametrize("name", sorted(HAILO))
def test_outputs_are_the_raw_head_levels(name, counts):
    side, _, _, chans = HAILO[name]
    assert list(counts(name).graph.inputs.values())[0] == (1, 3, side, side)
    # run on a small (meta) input: one output per level, raw channels, strides 8, 16, 32 (and 64 for
    # P6; the tiny Darknet networks: 16 and 32)
    strides = [16, 32] if name.startswith("tiny") else [8, 16, 32, 64][: len(chans)]
    small = 2 * strides[-1]
    with torch.no_grad():
        outs = _build(name)(torch.zeros(1, 3, small, small, device="meta"))
    shapes = sorted((tuple(o.shape) for o in outs), key=lambda s: -s[-1])  # Darknet's YOLOv3 lists P5 first
    assert shapes == [(1, c, small // s, small // s) for c, s in zip(chans, strides)]


@pytest.mark.parametrize("name", sorted(HAILO))
def test_folded_parameters_match_hailo(name, counts):
    printed = HAILO[name][1]
    digits = len(printed.split(".")[1])
    folded = counts(name).params - _bn_channels(name)
    if name in PARAMS_REL:
        assert abs(folded / 1e6 - float(printed)) <= PARAMS_REL[name] * float(printed), folded
    else:
        assert f"{folded / 1e6:.{digits}f}" == printed, folded


@pytest.mark.parametrize("name", sorted(HAILO))
def test_ops_match_hailo(name, counts):
    ops = HAILO[name][2]
    ours = 2 * counts(name).macs / 1e9
    assert ops * 0.995 <= ours <= ops * 1.001, ours


def test_yolov5xs_is_yolov5s_wo_spp_at_512(counts):
    s, xs = counts("yolov5s_wo_spp"), counts("yolov5xs_wo_spp")
    assert xs.params == s.params
    # all layers are convolutions on maps that scale with the input area
    assert xs.macs == pytest.approx(s.macs * (512 / 640) ** 2, rel=1e-6)


def test_wo_spp_replaces_spp_by_one_3x3_conv():
    """yolov5s_wo_spp's layer 8: a 3x3 conv 512 -> 256 (bias-free, BatchNorm), not SPP's
    1x1 512 -> 256, pools, 1x1 1024 -> 512; its parameter count written out."""
    model = _build("yolov5s_wo_spp")
    layer8 = model.layers[8]
    convs = [m for m in layer8.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [(512, 256, (3, 3))]
    assert sum(p.numel() for p in layer8.parameters()) == 512 * 256 * 9 + 2 * 256
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in model.modules())


def test_v2_yolov5s_keeps_the_spp_block():
    """Hailo's yolov5s (zoo yolov5s_2.0) is release v2.0's network with its SPP block at layer 8: a
    1x1 512 -> 256, max pools of 5, 9 and 13, a 1x1 1024 -> 512 (each with BatchNorm), where the
    ``_wo_spp`` variant has one 3x3 conv; its parameter count written out."""
    layer8 = _build("yolov5s_2.0").layers[8]
    convs = [m for m in layer8.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [(512, 256, (1, 1)),
                                                                                (1024, 512, (1, 1))]
    assert [m.kernel_size for m in layer8.modules() if isinstance(m, torch.nn.MaxPool2d)] == [5, 9, 13]
    assert sum(p.numel() for p in layer8.parameters()) == 512 * 256 + 2 * 256 + 1024 * 512 + 2 * 512


def test_leaky_variants_have_no_silu():
    for name in ("yolov5s_wo_spp", "yolox_s_leaky"):
        acts = {type(m) for m in _build(name).modules() if isinstance(m, (torch.nn.SiLU, torch.nn.LeakyReLU))}
        assert acts == {torch.nn.LeakyReLU}, name


def test_wide_yolox_is_s_depth_at_m_width():
    """"wide": YOLOX-M's convolution shapes (width 0.75), YOLOX-S's number of them (depth 0.33)."""
    from chipfit.frontends.pytorch.nets import yolox

    def shapes(model):
        return [(m.in_channels, m.out_channels, m.kernel_size, m.stride)
                for m in model.modules() if isinstance(m, torch.nn.Conv2d)]

    wide, s, m = shapes(_build("yolox_s_wide_leaky")), shapes(yolox.yolox_s()), shapes(yolox.yolox_m())
    assert len(wide) == len(s) < len(m)
    assert set(wide) == set(m)
    assert wide[0] == (12, 48, (3, 3), (1, 1))  # Focus: 4 x 3 channels, then int(64 x 0.75)


def test_pose_head_over_detector(counts):
    """YOLOv8s-pose minus the YOLOv8s detector: the class branch keeps its width (max(128, 80) =
    max(128, 1) = 128) but predicts 1 class instead of 80, and the keypoint branch adds per level
    two 3x3 convs of max(128 / 4, 51) = 51 channels (with BatchNorm scale and shift) and a 1x1
    conv with bias to 17 x 3 = 51."""
    pose, det = counts("yolov8s_pose"), counts("yolov8s")
    chs = (128, 256, 512)
    kpt = sum(c * 51 * 9 + 2 * 51 + 51 * 51 * 9 + 2 * 51 + 51 * 51 + 51 for c in chs)
    cls_diff = 3 * (128 * 80 + 80 - (128 * 1 + 1))  # the 1x1 class outputs, 80 -> 1
    assert pose.params - det.params == kpt - cls_diff


def test_yolov6n_0_2_1_readme_figures_and_neck(counts):
    """README of release 0.2.1: YOLOv6-N 4.3M parameters, 11.1 GFLOPs at 640 (deployed model); the
    neck upsamples by 2x2 stride-2 transposed convolutions with bias (64 and 32 channels)."""
    r = counts("yolov6n_0.2.1")
    assert f"{r.params / 1e6:.1f}" == "4.3"
    # the README's thop count adds BatchNorm work and counts each transposed convolution 4x: within 1 %
    assert abs(2 * r.macs / 1e9 - 11.1) <= 0.01 * 11.1
    ups = [m for m in _build("yolov6n_0.2.1").modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [sum(p.numel() for p in m.parameters()) for m in ups] == [64 * 64 * 4 + 64, 32 * 32 * 4 + 32]


def test_yolov3_at_608_matches_gluon_and_darknet(counts):
    """At 608x608: Hailo's yolov3_gluon 140.7G OPS, and Darknet's own count for cfg/yolov3.cfg at
    608 (140.69 BFLOPs, two per multiply-accumulate). (Hailo's yolov3 and yolov3_gluon rows print
    68.79M parameters, the 416 rows 61.92M for the same layers; the 608 figure is not used.)"""
    r = counts("yolov3")
    assert list(r.graph.inputs.values())[0] == (1, 3, 608, 608)
    assert zoo.find("yolov3_gluon").name == "yolov3"
    assert abs(2 * r.macs / 1e9 - 140.7) <= 0.001 * 140.7
    assert r.macs == pytest.approx(counts("yolov3_416").macs * (608 / 416) ** 2, rel=1e-6)


def test_darknet53_hand_count():
    """Darknet-53 (yolov3's layers 0-74) written out: a 3x3 conv to 32, then five stages, each a
    3x3/2 conv doubling the width and n residual blocks (1x1 halving, 3x3 back), n = 1, 2, 8, 8, 4;
    every conv bias-free with BatchNorm (scale and shift)."""
    from chipfit.frontends.pytorch.nets import hailo_yolo

    def conv(c1, c2, k):
        return c1 * c2 * k * k + 2 * c2

    total, c = conv(3, 32, 3), 32
    for n in (1, 2, 8, 8, 4):
        total += conv(c, 2 * c, 3) + n * (conv(2 * c, c, 1) + conv(c, 2 * c, 3))
        c *= 2
    backbone = hailo_yolo.Darknet(hailo_yolo.yolov3_layers()[:75])
    assert sum(p.numel() for p in backbone.parameters()) == total


def test_tiny_yolov4_route_takes_half_the_channels():
    """yolov4-tiny's ``route groups=2 group_id=1``: the 3x3 convs after it read half the width
    (64 -> 32 in the first CSP block); the first block's convs written out."""
    from chipfit.frontends.pytorch.nets import hailo_yolo

    convs = [m for m in hailo_yolo.tiny_yolov4().modules() if isinstance(m, torch.nn.Conv2d)]
    shapes = [(m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0]) for m in convs[:6]]
    assert shapes == [(3, 32, 3, 2), (32, 64, 3, 2), (64, 64, 3, 1), (32, 32, 3, 1), (32, 32, 3, 1),
                      (64, 64, 1, 1)]


def test_yolov7x_matches_the_paper(counts):
    """YOLOv7 paper, Table 2: YOLOv7-X 71.3M parameters (fused), 189.9 GFLOPs at 640."""
    r = counts("yolov7x")
    assert f"{(r.params - _bn_channels('yolov7x')) / 1e6:.1f}" == "71.3"
    assert abs(2 * r.macs / 1e9 - 189.9) <= 0.005 * 189.9


def test_yolov9c_adown_hand_count():
    """ADown(256 -> 256) written out: half the channels (128) through a 3x3/2 Conv to 128, half
    through a max pool and a 1x1 Conv to 128, each conv bias-free with BatchNorm."""
    model = _build("yolov9c")
    adown = model.layers[3]
    assert sum(p.numel() for p in adown.parameters()) == (128 * 128 * 9 + 2 * 128) + (128 * 128 + 2 * 128)
    # RepConvN is deployed fused: no 1x1 branch, one 3x3 conv with bias
    rep = [m for m in model.modules() if type(m).__name__ == "RepConvN"]
    assert rep and all(m.conv.kernel_size == (3, 3) and m.conv.bias is not None for m in rep)
