"""The Hailo Model Zoo detection, segmentation and depth networks written in
chipfit/frontends/pytorch/nets/hailo_mobile.py, counted against the figures Hailo publishes.

Sources:
  * Wofk et al. 2019, "FastDepth", arXiv:1903.03273: FastDepth 0.37 GMACs; the pruned layer widths
    are those of https://github.com/dwofk/fast-depth ``tvm_compile/tuning`` (layer shapes).
  * Tan et al. 2020, "EfficientDet", arXiv:1911.09070, and https://github.com/google/automl
    ``efficientdet/hparams_config.py`` (Lite: BiFPN widths 64, 88, 112; 3, 4, 5 cells; 3 head
    convs).
  * https://github.com/hailo-ai/hailo_model_zoo commit c83fc030,
    ``hailo_model_zoo/cfg/networks/<id>.yaml``: ``info.input_shape``, ``info.parameters`` and
    ``info.operations`` per network (also "Params (M)" and "OPS (G)" in
    ``docs/public_models/HAILO8/*.rst``).

Hailo's parameter counts are those of the compiled graph, BatchNorm folded into the convolutions
(one bias per channel where chipfit, counting the unfolded network, has BatchNorm's scale and
shift): the folded count is compared to Hailo's printed digits, or held within a stated tolerance
where it misses them. Hailo's OPS are about twice the MACs (a little more: it counts some
non-multiply work too), held within a stated tolerance. For a stride-2 transposed conv Hailo
counts the operations on the output grid, four times what chipfit counts from the input side.
"""

import pytest

torch = pytest.importorskip("torch", reason="needs torch")
pytest.importorskip("torchvision", reason="needs torchvision (pip install 'chipfit[vision]')")

from chipfit.data import zoo  # noqa: E402

#: network -> (input H, W, Hailo parameters (M) as printed, parameter tolerance (None: the printed
#: digits must match), Hailo OPS (G), OPS tolerance)
HAILO = {
    "ssd_mobilenet_v1": (300, 300, "6.79", 0.005, 2.5, 0.015),
    "ssd_mobilenet_v2": (300, 300, "4.46", 0.015, 1.52, 0.03),
    "deeplab_v3_mobilenet_v2": (513, 513, "2.10", None, 17.65, 0.005),
    "deeplab_v3_mobilenet_v2_wo_dilation": (513, 513, "2.10", None, 3.21, 0.005),
    "unet_mobilenet_v2": (256, 256, "10.08", None, 28.88, None),  # OPS: see the U-Net tests
    "fast_depth": (224, 224, "1.35", None, 0.74, 0.015),
    # parameters: see the EfficientDet tests (Hailo counts each level's head separately)
    "efficientdet_lite0": (320, 320, "3.56", 0.005, 1.94, 0.01),
    "efficientdet_lite1": (384, 384, "4.73", 0.005, 4.0, 0.02),
    "efficientdet_lite2": (448, 448, "5.93", 0.005, 6.84, 0.02),
    "stdc1": (1024, 1920, "8.27", None, 126.47, 0.005),
}


def _module(name: str) -> torch.nn.Module:
    from chipfit.frontends.pytorch.build import build_module
    from chipfit.frontends.pytorch.nets import hailo_mobile

    return build_module(getattr(hailo_mobile, zoo.find(name).builder.rsplit(":", 1)[1]))


def _bn_channels(name: str) -> int:
    return sum(m.num_features for m in _module(name).modules() if isinstance(m, torch.nn.BatchNorm2d))


@pytest.mark.parametrize("name", sorted(HAILO))
def test_zoo_entry_matches_the_hailo_id_and_input(name, counts):
    entry = zoo.find(name)
    assert entry is not None and entry.name == name and name in entry.aliases
    assert entry.builder.startswith("chipfit.frontends.pytorch.nets.hailo_mobile:")
    h, w = HAILO[name][:2]
    assert tuple(entry.input_shape) == (1, 3, h, w)
    assert list(counts(name).graph.inputs.values())[0] == (1, 3, h, w)


@pytest.mark.parametrize("name", sorted(n for n in HAILO if not n.startswith("efficientdet")))
def test_folded_parameters_match_hailo(name, counts):
    printed, tol = HAILO[name][2], HAILO[name][3]
    folded = counts(name).params - _bn_channels(name)
    if tol is None:
        digits = len(printed.split(".")[1])
        assert f"{folded / 1e6:.{digits}f}" == printed, folded
    else:
        assert abs(folded / 1e6 - float(printed)) <= tol * float(printed), folded


@pytest.mark.parametrize("name", sorted(n for n in HAILO if HAILO[n][5] is not None))
def test_ops_match_hailo(name, counts):
    ops, tol = HAILO[name][4], HAILO[name][5]
    ours = 2 * counts(name).macs / 1e9
    assert abs(ours - ops) <= tol * ops, ours


# ----------------------------------------------------------------------------------------- SSD

MOBILENET_V1 = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
                (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))
ANCHORS = (3, 6, 6, 6, 6, 6)


def _ssd_v1_folded_params() -> int:
    """SSD-MobileNetV1 with BatchNorm folded (one bias per conv), by hand."""
    n, cin = 3 * 3 * 3 * 32 + 32, 32
    for cout, _ in MOBILENET_V1:  # depthwise 3x3 + bias, pointwise 1x1 + bias
        n += 9 * cin + cin + cin * cout + cout
        cin = cout
    for d in (512, 256, 256, 128):  # 1x1 to d/2, 3x3 stride 2 to d
        n += cin * d // 2 + d // 2 + 9 * d // 2 * d + d
        cin = d
    for c, a in zip((512, 1024, 512, 256, 256, 128), ANCHORS):  # box (4) and class (91) convs
        n += (c + 1) * a * (4 + 91)
    return n


def test_ssd_mobilenet_v1_hand_count(counts):
    assert counts("ssd_mobilenet_v1").params - _bn_channels("ssd_mobilenet_v1") == _ssd_v1_folded_params()


@pytest.mark.parametrize("name", ["ssd_mobilenet_v1", "ssd_mobilenet_v2"])
def test_ssd_ends_at_the_twelve_predictor_convs(name, counts):
    shapes = [tuple(s) for op in counts(name).graph.ops[-12:] for s in op.output_shapes]
    sizes = (19, 10, 5, 3, 2, 1)
    expected = [(1, k * a, s, s) for s, a in zip(sizes, ANCHORS) for k in (4, 91)]
    assert sorted(shapes) == sorted(expected)


# ----------------------------------------------------------------------------------- DeepLabV3

MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))


def _deeplab_conv_macs(output_stride: int) -> int:
    """MACs of DeepLabV3-MobileNetV2's convolutions on a 513x513 image (sizes as "same" padding
    gives them: 257, 129, 65, 33, 17), by hand; a stage past the output stride keeps its size."""
    hw, stride_so_far = 257, 2
    macs, cin = 9 * 3 * 32 * hw * hw, 32
    for t, c, n, s in MOBILENET_V2:
        for i in range(n):
            if i == 0 and s == 2 and stride_so_far < output_stride:
                stride_so_far *= 2
                out = (hw + 1) // 2
            else:
                out = hw
            inner = cin * t
            macs += (cin * inner * hw * hw if t != 1 else 0) + 9 * inner * out * out + inner * c * out * out
            hw, cin = out, c
    # image pooling 1x1 (on 1x1), aspp0 1x1, projection 1x1, logits 1x1
    return macs + 320 * 256 + (320 * 256 + 512 * 256 + 256 * 21) * hw * hw


@pytest.mark.parametrize("name, output_stride", [("deeplab_v3_mobilenet_v2", 8),
                                                 ("deeplab_v3_mobilenet_v2_wo_dilation", 32)])
def test_deeplab_hand_count(name, output_stride, counts):
    # the resizes, pooling and argmax carry no multiply-accumulates
    assert counts(name).macs == _deeplab_conv_macs(output_stride)


def test_deeplab_output_stride_decides_the_work(counts):
    # the same weights; output stride 16 would fit neither Hailo figure
    assert counts("deeplab_v3_mobilenet_v2").params == counts("deeplab_v3_mobilenet_v2_wo_dilation").params
    os16 = 2 * _deeplab_conv_macs(16) / 1e9
    assert abs(os16 - 3.21) > 0.3 * 3.21 and abs(os16 - 17.65) > 0.3 * 17.65
    assert tuple(counts("deeplab_v3_mobilenet_v2").graph.ops[-1].output_shapes[0]) == (1, 21, 513, 513)
    assert tuple(counts("deeplab_v3_mobilenet_v2_wo_dilation").graph.ops[-1].output_shapes[0])[-2:] == (513, 513)


# ------------------------------------------------------------------------------------- U-Net

def _mobilenet_v2_folded_params(blocks: int = 17) -> int:
    """MobileNetV2's stem and first ``blocks`` inverted bottlenecks, BatchNorm folded, by hand."""
    n, cin, done = 27 * 32 + 32, 32, 0
    for t, c, reps, _ in MOBILENET_V2:
        for _ in range(reps):
            if done == blocks:
                return n
            inner = cin * t
            n += (cin * inner + inner if t != 1 else 0) + 9 * inner + inner + inner * c + c
            cin, done = c, done + 1
    return n


#: U-Net decoder: (in channels, out channels, input size) of the five stride-2 transposed convs
UNET_UPS = ((320, 512, 8), (512 + 576, 256, 16), (256 + 192, 128, 32), (128 + 144, 64, 64),
            (64 + 96, 3, 128))


def test_unet_parameters_by_hand(counts):
    # 4x4 kernels; each transposed conv has a bias (BatchNorm folded into the first four)
    hand = _mobilenet_v2_folded_params() + sum(ci * co * 16 + co for ci, co, _ in UNET_UPS)
    assert counts("unet_mobilenet_v2").params - _bn_channels("unet_mobilenet_v2") == hand
    # the tutorial's 3x3 kernels would not give Hailo's 10.08M
    hand3 = _mobilenet_v2_folded_params() + sum(ci * co * 9 + co for ci, co, _ in UNET_UPS)
    assert abs(hand3 / 1e6 - 10.08) > 0.3 * 10.08


def test_unet_ops_match_hailo_on_the_output_grid(counts):
    deconv = sum(ci * co * 16 * h * h for ci, co, h in UNET_UPS)  # from the input side
    macs = counts("unet_mobilenet_v2").macs
    assert deconv < macs < deconv + 0.5e9  # the encoder is a MobileNetV2 at 256 px, ~0.36 GMACs
    hailo_style = 2 * (macs + 3 * deconv) / 1e9  # each transposed conv counted on its 2x output grid
    assert abs(hailo_style - 28.88) <= 0.005 * 28.88, hailo_style


def test_deeplab_parameters_by_hand(counts):
    head = 2 * 320 * 256 + 2 * 256 + 512 * 256 + 256 + 256 * 21 + 21
    for name in ("deeplab_v3_mobilenet_v2", "deeplab_v3_mobilenet_v2_wo_dilation"):
        assert counts(name).params - _bn_channels(name) == _mobilenet_v2_folded_params() + head


# ---------------------------------------------------------------------------------- FastDepth

#: the pruned widths: stem, the 13 encoder layers (width, stride), the five decoder layers
FD_STEM = 16
FD_ENCODER = ((56, 1), (88, 2), (120, 1), (144, 2), (256, 1), (408, 2), (376, 1), (272, 1),
              (288, 1), (296, 1), (328, 1), (480, 2), (512, 1))
FD_DECODER = (200, 256, 120, 56, 16)


def _fast_depth_macs() -> int:
    hw = 112
    macs, cin = 27 * FD_STEM * hw * hw, FD_STEM
    for cout, stride in FD_ENCODER:
        hw //= stride
        macs += (9 * cin + cin * cout) * hw * hw
        cin = cout
    for cout in FD_DECODER:  # 5x5 depthwise + 1x1 at the current size, then 2x upsampling
        macs += (25 * cin + cin * cout) * hw * hw
        hw, cin = 2 * hw, cout
    return macs + cin * 1 * hw * hw


def test_fast_depth_hand_count_and_paper(counts):
    macs = counts("fast_depth").macs
    assert macs == _fast_depth_macs()
    assert abs(macs / 1e9 - 0.37) <= 0.02 * 0.37  # the paper's FastDepth
    assert tuple(counts("fast_depth").graph.ops[-1].output_shapes[0]) == (1, 1, 224, 224)


# --------------------------------------------------------------------------- EfficientDet-Lite

#: Lite n: (BiFPN width, cells, head repeats, backbone widths at strides 8, 16, 32)
EFFDET = {0: (64, 3, 3, (40, 112, 320)), 1: (88, 4, 3, (40, 112, 320)), 2: (112, 5, 3, (48, 120, 352))}


def _effdet_neck_and_heads_folded(n: int) -> int:
    """Folded parameters after the backbone, each level's head counted on its own, by hand."""
    w, cells, repeats, (c3, c4, c5) = EFFDET[n]
    sep = 9 * w + w * w + w  # depthwise 3x3, pointwise 1x1, folded BatchNorm bias
    p6 = c5 * w + w
    # first cell: P5 and P4 each resampled for two nodes, P3 for one
    resample = 2 * (c5 * w + w) + 2 * (c4 * w + w) + (c3 * w + w)
    bifpn = cells * 8 * sep + resample
    heads = sum(5 * (repeats * sep + 9 * w + w * out + out) for out in (9 * 90, 9 * 4))
    return p6 + bifpn + heads


@pytest.mark.parametrize("n", sorted(EFFDET))
def test_efficientdet_parameters_match_hailo(n, counts):
    name = f"efficientdet_lite{n}"
    model = _module(name)
    backbone = model.backbone
    folded_backbone = sum(p.numel() for p in backbone.parameters()) - sum(
        m.num_features for m in backbone.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert tuple(backbone.channels) == EFFDET[n][3]
    # chipfit counts the head weights the five levels share once
    shared = sum(p.numel() for net in (model.class_net, model.box_net)
                 for p in [*net.convs.parameters(), *net.predict.parameters()])
    per_level = counts(name).params - _bn_channels(name) + 4 * shared
    assert per_level == folded_backbone + _effdet_neck_and_heads_folded(n)
    # Hailo's figure is a little higher (TFLite depthwise convs carry a bias, zero or not)
    printed, tol = float(HAILO[name][2]), HAILO[name][3]
    assert abs(per_level / 1e6 - printed) <= tol * printed, per_level


@pytest.mark.parametrize("n", sorted(EFFDET))
def test_efficientdet_ends_at_the_ten_prediction_convs(n, counts):
    size = HAILO[f"efficientdet_lite{n}"][0]
    ops = counts(f"efficientdet_lite{n}").graph.ops
    shapes = [tuple(op.output_shapes[0]) for op in ops if op.name.endswith("net.predict.1")]
    grid = [size // 8]
    for _ in range(4):  # 3x3 stride-2 "same" pooling
        grid.append((grid[-1] + 1) // 2)
    expected = [(1, k, g, g) for g in grid for k in (36, 810)]
    assert sorted(shapes) == sorted(expected)


# --------------------------------------------------------------------------------------- STDC1

def _stdc_module_folded(cin: int, c: int, stride: int) -> int:
    n = cin * c // 2 + c // 2  # 1x1 to c/2
    if stride == 2:
        n += 9 * c // 2 + c // 2  # stride-2 depthwise 3x3
    for a, b in ((c // 2, c // 4), (c // 4, c // 8), (c // 8, c // 8)):
        n += 9 * a * b + b
    return n


def test_stdc1_parameters_by_hand(counts):
    n = 27 * 32 + 32 + 9 * 32 * 64 + 64
    for cin, c in ((64, 256), (256, 512), (512, 1024)):
        n += _stdc_module_folded(cin, c, 2) + _stdc_module_folded(c, c, 1)
    n += 1024 * 128 + 128  # global context 1x1
    n += sum(9 * c * 128 + 128 + 128 * 128 + 128 for c in (512, 1024))  # attention refinement
    n += 2 * (9 * 128 * 128 + 128)  # the 3x3 convs after each upsampling
    n += 384 * 256 + 256 + 256 * 64 + 64 * 256  # feature fusion
    n += 9 * 256 * 256 + 256 + 256 * 19 + 19  # FCN head and classifier
    assert counts("stdc1").params - _bn_channels("stdc1") == n
    assert tuple(counts("stdc1").graph.ops[-1].output_shapes[0])[-2:] == (1024, 1920)
