"""The Qualcomm AI Hub networks written in chipfit/frontends/pytorch/nets/aihub_nets.py, counted against
the parameter counts AI Hub publishes and against hand arithmetic of their layer tables.

Sources:
  * https://github.com/quic/ai-hub-models tag v0.46.1 (commit 52c080d2),
    ``qai_hub_models/models/{unet_segmentation,deeplabv3_plus_mobilenet,midas}/info.yaml``
    ("Number of parameters": 31.0M, 5.80M, 16.6M) and ``model.py`` (the input shapes the export
    uses: 640x1280, 520x520 through ``models/_shared/deeplab/model.py``, 256x256).
  * https://github.com/isl-org/MiDaS README model table: v2.1 Small_256, 21 (million parameters).

AI Hub publishes no FLOPs for these, so the multiply-accumulates are checked against the layer
arithmetic written out here from the architecture tables (see the module docstring for the sources).
AI Hub's parameter counts are those of the exported graph: modules that never run are absent (MiDaS's
unused residual unit) and, it appears, BatchNorm is folded into the convolutions (DeepLabV3+ counts
5,816,053 with BatchNorm's scale and shift, 5,798,181 folded: only the folded count rounds to 5.80M).
chipfit counts the unfolded network, so that one is checked within 1 %, the folded one to the digit.
"""

import pytest

torch = pytest.importorskip("torch", reason="needs torch")
pytest.importorskip("torchvision", reason="needs torchvision (pip install 'chipfit[vision]')")

from chipfit.analysis.count import count  # noqa: E402
from chipfit.data import zoo  # noqa: E402

AIHUB_PARAMS_M = {"unet-segmentation": 31.0, "deeplabv3-plus-mobilenet": 5.80, "midas": 16.6}
DEFAULT_INPUT = {"unet-segmentation": (1, 3, 640, 1280), "deeplabv3-plus-mobilenet": (1, 3, 520, 520),
                 "midas": (1, 3, 256, 256)}


def _bn_channels(name: str) -> int:
    from chipfit.frontends.pytorch.build import build_module
    from chipfit.frontends.pytorch.nets import aihub_nets

    model = build_module(getattr(aihub_nets, zoo.lookup(name).builder.rsplit(":", 1)[1]))
    return sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


@pytest.mark.parametrize("name", sorted(AIHUB_PARAMS_M))
def test_matches_the_aihub_parameter_count(name):
    r = count(name)
    assert list(r.graph.inputs.values())[0] == DEFAULT_INPUT[name]
    published = AIHUB_PARAMS_M[name]
    assert abs(r.params / 1e6 - published) <= 0.01 * published, r.params
    # the BatchNorm-folded graph (conv bias in place of scale and shift) to the published digits
    folded = r.params - _bn_channels(name)
    digits = 2 if published < 10 else 1
    assert round(folded / 1e6, digits) == published, folded


def test_aliases_resolve():
    for alias, name in (("unet_segmentation", "unet-segmentation"),
                        ("deeplabv3_plus_mobilenet", "deeplabv3-plus-mobilenet"),
                        ("midas_v21_small_256", "midas")):
        assert zoo.lookup(alias).name == name


# ---------------------------------------------------------------------------------------- UNet


def _unet_macs_per_pixel() -> int:
    """milesial UNet (bilinear=False, 3 -> 2 classes): double 3x3 convs at 64/128/256/512/1024
    channels on 1, 1/4, ..., 1/256 of the pixels, 2x2 stride-2 transposed convs (one tap per output
    pixel) and double convs on the way up, a 1x1 conv to 2."""
    w = (64, 128, 256, 512, 1024)
    down = 9 * (3 * 64 + 64 * 64) + sum(9 * (a * b + b * b) / 4 ** i for i, (a, b) in enumerate(zip(w, w[1:]), 1))
    up = sum((c * c // 2 + 9 * (c * c // 2 + c * c // 4)) / 4 ** (4 - i) for i, c in enumerate(w[:0:-1], 1))
    return int(down + up + 64 * 2)


def test_unet_macs_follow_the_layer_arithmetic():
    assert _unet_macs_per_pixel() == 735_040
    r = count("unet-segmentation")
    assert r.macs == 735_040 * 640 * 1280
    # AI Hub's info.yaml row resolution
    assert count("unet-segmentation", input_shape="1x3x224x224").macs == 735_040 * 224 * 224


# ------------------------------------------------------------------------------ DeepLabV3+ MobileNet


def _deeplab_macs(size: int) -> int:
    """DeepLabV3+ MobileNetV2 (jfzhang95), output stride 16, 21 classes, on a size x size input."""
    macs, h = 27 * 32 * ((size + 1) // 2) ** 2, (size + 1) // 2  # stem: 3x3 stride 2, pad 1
    cin, stride_now, rate, low = 32, 2, 1, None
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)):
        if stride_now == 16:
            stride, d, rate = 1, rate, rate * s
        else:
            stride, d, stride_now = s, 1, stride_now * s
        for i in range(n):
            st, mid, hp = stride if i == 0 else 1, cin * t, h + 2 * d  # padded before the block
            ho = (hp - 2 * d - 1) // st + 1
            macs += (cin * mid * hp * hp if t != 1 else 0) + 9 * mid * ho * ho + mid * c * ho * ho
            cin, h = c, ho
            if low is None and c == 24 and i == 1:
                low = h  # features[0:4]: the low-level tap
    aspp = 320 * 256 * h * h * (1 + 9 * 3) + 320 * 256 + 1280 * 256 * h * h
    decoder = (24 * 48 + 9 * 304 * 256 + 9 * 256 * 256 + 256 * 21) * low * low
    return macs + aspp + decoder


@pytest.mark.parametrize("size", [520, 513])
def test_deeplab_macs_follow_the_layer_arithmetic(size):
    r = count("deeplabv3-plus-mobilenet", input_shape=f"1x3x{size}x{size}")
    assert r.macs == _deeplab_macs(size)


def test_deeplab_ends_in_the_argmax_class_map():
    r = count("deeplabv3-plus-mobilenet")
    assert r.layers[-1].output_shapes[0] == (1, 520, 520)


# ---------------------------------------------------------------------------------------- MiDaS


def test_midas_encoder_is_efficientnet_lite3_without_its_head():
    r = count("midas")
    encoder = sum(op.macs for op in r.layers if op.name.startswith(("stem", "layer")))
    lite3 = count("efficientnet_lite3", input_shape="1x3x256x256")
    # the zoo's EfficientNet-Lite3 less its 1x1 head (384 -> 1280 on 8x8) and 1000-way classifier
    assert encoder == lite3.macs - 384 * 1280 * 8 * 8 - 1280 * 1000


def test_midas_decoder_macs_follow_the_layer_arithmetic():
    r = count("midas")
    decoder = sum(op.macs for op in r.layers if not op.name.startswith(("stem", "layer")))
    rn = 9 * (32 * 64 * 64 ** 2 + 48 * 128 * 32 ** 2 + 136 * 256 * 16 ** 2 + 384 * 512 * 8 ** 2)
    rcu = 2 * 9  # a residual conv unit: two 3x3 convs c -> c
    refine = (rcu * 512 ** 2 * 8 ** 2 + 512 * 256 * 16 ** 2  # deepest: one unit, no tap
              + 2 * rcu * 256 ** 2 * 16 ** 2 + 256 * 128 * 32 ** 2
              + 2 * rcu * 128 ** 2 * 32 ** 2 + 128 * 64 * 64 ** 2
              + 2 * rcu * 64 ** 2 * 64 ** 2 + 64 * 64 * 128 ** 2)
    head = 9 * 64 * 32 * 128 ** 2 + 9 * 32 * 32 * 256 ** 2 + 32 * 256 ** 2
    assert decoder == rn + refine + head
    assert r.layers[-1].output_shapes[0] == (1, 1, 256, 256)


def test_midas_readme_count_includes_the_unused_residual_unit():
    """The MiDaS README's 21M is the PyTorch module: the deepest fusion block's first residual unit
    (two 3x3 convs 512 -> 512 with bias) is built but never runs, so the export drops it."""
    unused = 2 * (9 * 512 * 512 + 512)
    assert round((count("midas").params + unused) / 1e6) == 21
