"""Real-ESRGAN's x4 generators written in chipfit/frontends/pytorch/nets/esrgan.py, counted against the
parameter counts Qualcomm AI Hub publishes for its exports and against the MACs written out layer by
layer below.

Sources:
  * https://github.com/quic/ai-hub-models v0.46.1 (commit 52c080d2),
    ``qai_hub_models/models/{real_esrgan_general_x4v3,real_esrgan_x4plus}/info.yaml``: "Input
    resolution: 128x128", "Number of parameters": 1.21M and 16.7M; the float model sizes (4.65 MB,
    63.9 MB) are 4 bytes a parameter (4.63 and 63.7 MiB). ``perf.yaml``: ``layer_counts`` of the
    compiled graphs (float; every device): General-x4v3 73 (qnn_dlc), 74 (tflite); x4plus 1028
    (qnn_dlc), 1025 (tflite).
  * The architectures AI Hub imports: BasicSR 8d56e3a0 ``basicsr/archs/rrdbnet_arch.py`` and
    ``srvgg_arch.py`` (the latter also in xinntao/Real-ESRGAN 5ca10785 ``realesrgan/archs/``).

Neither AI Hub nor the Real-ESRGAN / ESRGAN authors publish a MAC or FLOP figure for these networks
at this input, so the MACs are held to the formulas.
"""

import pytest

from chipfit import count
from chipfit.data import zoo

torch = pytest.importorskip("torch", reason="needs torch")
pytest.importorskip("torchvision", reason="needs torchvision (pip install 'chipfit[vision]')")

from chipfit.frontends.pytorch.nets.esrgan import RRDBNet  # noqa: E402

H = W = 128          # AI Hub's input resolution (SuperResolutionModel.get_input_spec)
S = 4                # both exports are x4

#: AI Hub model cards, "Number of parameters", and the rounding they are printed with (M)
AIHUB_PARAMS_M = {"real-esrgan-general-x4v3": (1.21, 0.005), "real-esrgan-x4plus": (16.7, 0.05)}


def _conv3(c1: int, c2: int) -> tuple[int, int]:
    """(MACs per output pixel, parameters) of a stride-1 'same' 3x3 convolution with bias."""
    return 9 * c1 * c2, 9 * c1 * c2 + c2


def general_formula(f: int = 64, n: int = 32) -> tuple[int, int]:
    """(MACs per input pixel, parameters): 3x3 conv 3->f, n 3x3 convs f->f, 3x3 conv f->3s^2, all at the
    input size; a PReLU (f slopes) after each of the first n + 1."""
    convs = [_conv3(3, f), *[_conv3(f, f)] * n, _conv3(f, 3 * S * S)]
    return sum(c[0] for c in convs), sum(c[1] for c in convs) + (n + 1) * f


def rrdbnet_formula(f: int = 64, g: int = 32, blocks: int = 23) -> tuple[int, int]:
    """(MACs per input pixel, parameters). At the input size: 3x3 conv 3->f; ``blocks`` RRDBs of three
    dense blocks (3x3 convs f+ig -> g for i = 0..3, f+4g -> f); 3x3 conv f->f. Then 3x3 conv f->f at
    2x (4 pixels per input pixel), and at 4x (16): 3x3 conv f->f twice and 3x3 conv f->3."""
    dense = [_conv3(f + i * g, g) for i in range(4)] + [_conv3(f + 4 * g, f)]
    low = [_conv3(3, f), *dense * 3 * blocks, _conv3(f, f)]
    up = [(4, _conv3(f, f)), (16, _conv3(f, f)), (16, _conv3(f, f)), (16, _conv3(f, 3))]
    macs = sum(c[0] for c in low) + sum(k * c[0] for k, c in up)
    return macs, sum(c[1] for c in low) + sum(c[1] for _, c in up)


FORMULA = {"real-esrgan-general-x4v3": general_formula(), "real-esrgan-x4plus": rrdbnet_formula()}


@pytest.mark.parametrize("name", sorted(AIHUB_PARAMS_M))
def test_params_match_the_ai_hub_model_card(name):
    published_m, rounding = AIHUB_PARAMS_M[name]
    r = count(name)
    assert not r.unsupported_ops
    assert list(r.graph.inputs.values())[0] == (1, 3, H, W)
    assert abs(r.params / 1e6 - published_m) <= rounding, r.params


@pytest.mark.parametrize("name", sorted(FORMULA))
def test_params_and_macs_match_the_formula(name):
    macs_per_pixel, params = FORMULA[name]
    r = count(name)
    assert r.params == params
    assert r.macs == macs_per_pixel * H * W


def test_the_counts_in_figures():
    """The formulas themselves, as numbers (x4, 128x128 in): what the zoo entries count."""
    expected = {  # name: (parameters, MACs)
        "real-esrgan-general-x4v3": (1_213_296, 19_808_649_216),
        "real-esrgan-x4plus": (16_697_987, 293_713_477_632),
    }
    for name, (params, macs) in expected.items():
        assert (FORMULA[name][1], FORMULA[name][0] * H * W) == (params, macs), name


def test_the_exported_graphs_end_at_a_512x512_image():
    """General-x4v3 ends with the nearest-upsampled input added after the depth-to-space (no clip);
    x4plus with AI Hub's clamp to [0, 1] after the last convolution."""
    general = count("real-esrgan-general-x4v3").layers
    assert [op.op for op in general[-3:]] == ["pixel_shuffle", "upsample_nearest2d", "add"]
    assert general[-1].output_shapes[0] == (1, 3, S * H, S * W)
    assert sum(op.op == "_prelu_kernel" for op in general) == 33
    plus = count("real-esrgan-x4plus").layers
    assert [op.op for op in plus[-2:]] == ["convolution", "clamp"]
    assert plus[-1].output_shapes[0] == (1, 3, S * H, S * W)
    assert sum(op.op == "upsample_nearest2d" for op in plus) == 2
    assert sum(op.op == "convolution" for op in plus) == 1 + 23 * 3 * 5 + 1 + 4


def test_the_traced_graphs_track_ai_hubs_layer_counts():
    """The compiled QNN graphs of AI Hub's other super-resolution networks have 3 layers more than
    chipfit's trace (tests/test_sr_nets.py); General-x4v3's does too (70 + 3 = 73). x4plus's TFLite
    graph has 69 layers fewer than the trace, one per residual dense block (23 x 3: the ``* 0.2`` on
    the fifth convolution folds into its weights; the RRDB's own ``* 0.2`` follows an add and stays),
    and its QNN graph again 3 more than that: 1094 - 69 + 3 = 1028. Without AI Hub's clamp both would
    be one fewer."""
    assert len(count("real-esrgan-general-x4v3").layers) + 3 == 73
    traced = len(count("real-esrgan-x4plus").layers)
    assert traced == 1094
    assert traced - 23 * 3 == 1025 and traced - 23 * 3 + 3 == 1028


def test_any_input_size_scales_with_the_pixels():
    for name in sorted(FORMULA):
        assert count(name, input_shape="1x3x256x256").macs == 4 * count(name).macs


def test_rrdbnet_without_the_clamp_is_the_same_network():
    bare = count(RRDBNet(), input_shape=f"1x3x{H}x{W}")
    plus = count("real-esrgan-x4plus")
    assert (bare.params, bare.macs) == (plus.params, plus.macs)
    assert len(plus.layers) == len(bare.layers) + 1


def test_entries_and_aliases():
    for alias, name in (("real_esrgan_general_x4v3", "real-esrgan-general-x4v3"),
                        ("real-esrgan-general-x4v3", "real-esrgan-general-x4v3"),
                        ("real_esrgan_x4plus", "real-esrgan-x4plus"), ("Real-ESRGAN-x4plus", "real-esrgan-x4plus")):
        entry = zoo.lookup(alias)
        assert entry.name == name and entry.task == "vision" and entry.input_shape == [1, 3, H, W]
        assert entry.builder.startswith("chipfit.frontends.pytorch.nets.esrgan:")
