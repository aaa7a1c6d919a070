"""Qualcomm AI Hub's super-resolution networks (chipfit/frontends/pytorch/nets/sr_nets.py and esrgan.py), counted
against the parameter counts Qualcomm AI Hub publishes for its exports and against the MACs written
out layer by layer below.

Sources:
  * https://github.com/quic/ai-hub-models v0.46.1 (commit 52c080d2),
    ``qai_hub_models/models/{quicksrnetsmall,quicksrnetmedium,quicksrnetlarge,xlsr,sesr_m5}/info.yaml``:
    "Input resolution: 128x128" and "Number of parameters": 33.3K, 61.0K, 436K, 28.0K, 343K (the
    x4 networks: ``from_pretrained`` defaults to ``DEFAULT_SCALE_FACTOR = 4``; the cards' "Model
    checkpoint: *_3x_checkpoint" lines are stale -- at x3 QuickSRNet-Small would have 27.2K).
    The same cards' float model sizes (133 KB, 243 KB, 1.67 MB, 115 KB, 1.32 MB) are about 4 bytes
    a parameter, which for SESR-M5 again means the expanded 343K (collapsed: 0.13 MB).
  * https://github.com/quic/aimet-model-zoo d09d2b04 (the architectures AI Hub loads).
  * https://github.com/ARM-software/sesr README (commit 26dd7279): "For the SESR-M5 network and a
    batch of 32 [64x64] images, training in expanded space takes 41.77B MACs for a single forward
    pass" -- ARM's x2 network on the luminance channel (1 channel in, 4 before depth-to-space),
    whose input is added back by broadcasting, not by a 1x1 anchor convolution.

  * ``qai_hub_models/models/{real_esrgan_general_x4v3,real_esrgan_x4plus}/info.yaml``: 1.21M and 16.7M
    parameters (float sizes 4.65 MB, 63.9 MB: 4 bytes a parameter); ``perf.yaml`` ``layer_counts``:
    General-x4v3 73 (qnn_dlc), 74 (tflite); x4plus 1028 (qnn_dlc), 1025 (tflite). The architectures AI Hub
    imports: BasicSR 8d56e3a0 ``basicsr/archs/rrdbnet_arch.py`` and ``srvgg_arch.py`` (the latter also in
    xinntao/Real-ESRGAN 5ca10785 ``realesrgan/archs/``).

Neither AI Hub nor the networks' authors publish a MAC or FLOP figure for these networks at this input,
so the MACs are held to the formulas.
"""

import pytest

from chipfit import count
from chipfit.data import zoo

torch = pytest.importorskip("torch", reason="needs torch")
pytest.importorskip("torchvision", reason="needs torchvision (pip install 'chipfit[vision]')")

from chipfit.frontends.pytorch.nets.esrgan import RRDBNet  # noqa: E402
from chipfit.frontends.pytorch.nets.sr_nets import SESR, QuickSRNet  # noqa: E402

H = W = 128          # AI Hub's input resolution (SuperResolutionModel.get_input_spec)
S = 4                # AI Hub's DEFAULT_SCALE_FACTOR
OUT = 3 * S * S      # channels before the depth-to-space

#: AI Hub model cards, "Number of parameters", and the rounding they are printed with (K)
AIHUB_PARAMS_K = {
    "quicksrnetsmall": (33.3, 0.05), "quicksrnetmedium": (61.0, 0.05), "quicksrnetlarge": (436, 0.5),
    "xlsr": (28.0, 0.05), "sesr-m5": (343, 0.5),
    "real-esrgan-general-x4v3": (1210, 5), "real-esrgan-x4plus": (16700, 50),
}


def _conv(c1: int, c2: int, k: int, groups: int = 1, bias: bool = True) -> tuple[int, int]:
    """(MACs per input pixel, parameters) of a stride-1 'same' k x k convolution."""
    macs = k * k * (c1 // groups) * c2
    return macs, macs + (c2 if bias else 0)


def _total(*convs: tuple[int, int]) -> tuple[int, int]:
    return sum(c[0] for c in convs), sum(c[1] for c in convs)


def quicksrnet_formula(c: int, layers: int, ito: bool) -> tuple[int, int]:
    """3x3 conv 3->c, ``layers`` 3x3 convs c->c, 3x3 conv c->3s^2, (Large) the 1x1 anchor 3->3s^2."""
    convs = [_conv(3, c, 3), *[_conv(c, c, 3)] * layers, _conv(c, OUT, 3)]
    return _total(*convs, *([_conv(3, OUT, 1)] if ito else []))


def xlsr_formula() -> tuple[int, int]:
    """residual 3x3 3->16; 3x3 3->32, 1x1 32->32; 3 x (3x3 32->32 in 4 groups, 1x1 32->32);
    1x1 48->32, 3x3 32->3s^2."""
    gblock = [_conv(32, 32, 3, groups=4), _conv(32, 32, 1)]
    return _total(_conv(3, 16, 3), _conv(3, 32, 3), _conv(32, 32, 1), *gblock * 3, _conv(48, 32, 1),
                  _conv(32, OUT, 3))


def sesr_formula(m: int = 5, f: int = 16, e: int = 256, cin: int = 3, out: int = OUT, collapsed: bool = False,
                 anchor: bool = True) -> tuple[int, int]:
    """Expanded: each linear block is a k x k conv to e channels (no bias) and a 1x1 conv back;
    collapsed: one k x k conv with bias. 5x5 input block, m 3x3 blocks, 5x5 output block, anchor."""
    def block(c1, c2, k):
        return [_conv(c1, c2, k)] if collapsed else [_conv(c1, e, k, bias=False), _conv(e, c2, 1)]
    convs = [*block(cin, f, 5), *[c for _ in range(m) for c in block(f, f, 3)], *block(f, out, 5)]
    return _total(*convs, *([_conv(cin, out, 1)] if anchor else []))


def general_formula(f: int = 64, n: int = 32) -> tuple[int, int]:
    """Real-ESRGAN General-x4v3: 3x3 conv 3->f, n 3x3 convs f->f, 3x3 conv f->3s^2, all at the input
    size; a PReLU (f slopes) after each of the first n + 1."""
    macs, params = _total(_conv(3, f, 3), *[_conv(f, f, 3)] * n, _conv(f, OUT, 3))
    return macs, params + (n + 1) * f


def rrdbnet_formula(f: int = 64, g: int = 32, blocks: int = 23) -> tuple[int, int]:
    """Real-ESRGAN x4plus. At the input size: 3x3 conv 3->f; ``blocks`` RRDBs of three dense blocks
    (3x3 convs f+ig -> g for i = 0..3, f+4g -> f); 3x3 conv f->f. Then 3x3 conv f->f at 2x (4 pixels
    per input pixel), and at 4x (16): 3x3 conv f->f twice and 3x3 conv f->3."""
    dense = [_conv(f + i * g, g, 3) for i in range(4)] + [_conv(f + 4 * g, f, 3)]
    low = _total(_conv(3, f, 3), *dense * 3 * blocks, _conv(f, f, 3))
    up = [(4, _conv(f, f, 3)), (16, _conv(f, f, 3)), (16, _conv(f, f, 3)), (16, _conv(f, 3, 3))]
    return low[0] + sum(k * c[0] for k, c in up), low[1] + sum(c[1] for _, c in up)


FORMULA = {
    "quicksrnetsmall": quicksrnet_formula(32, 2, ito=False),
    "quicksrnetmedium": quicksrnet_formula(32, 5, ito=False),
    "quicksrnetlarge": quicksrnet_formula(64, 11, ito=True),
    "xlsr": xlsr_formula(),
    "sesr-m5": sesr_formula(),
    "real-esrgan-general-x4v3": general_formula(),
    "real-esrgan-x4plus": rrdbnet_formula(),
}


@pytest.mark.parametrize("name", sorted(AIHUB_PARAMS_K))
def test_params_match_the_ai_hub_model_card(name):
    published_k, rounding = AIHUB_PARAMS_K[name]
    r = count(name)
    assert not r.unsupported_ops
    assert list(r.graph.inputs.values())[0] == (1, 3, H, W)
    assert abs(r.params / 1e3 - published_k) <= rounding, r.params


@pytest.mark.parametrize("name", sorted(FORMULA))
def test_params_and_macs_match_the_formula(name):
    macs_per_pixel, params = FORMULA[name]
    r = count(name)
    assert r.params == params
    assert r.macs == macs_per_pixel * H * W


def test_the_counts_in_figures():
    """The formulas themselves, as numbers (x4, 128x128 in): what the zoo entries count."""
    expected = {  # name: (parameters, MACs)
        "real-esrgan-general-x4v3": (1_213_296, 19_808_649_216), "real-esrgan-x4plus": (16_697_987, 293_713_477_632),
        "quicksrnetsmall": (33_264, 542_638_080), "quicksrnetmedium": (61_008, 995_622_912),
        "quicksrnetlarge": (435_888, 7_127_433_216), "xlsr": (28_016, 453_246_976),
        "sesr-m5": (343_120, 5_618_532_352),
    }
    for name, (params, macs) in expected.items():
        assert (FORMULA[name][1], FORMULA[name][0] * H * W) == (params, macs), name


def test_the_exported_graph_ends_in_clip_and_depth_to_space():
    """QuickSRNet clips to [0, 1] before the depth-to-space, XLSR after it, SESR does not clip;
    every one ends at a 3 x 512 x 512 image."""
    for name, clip in (("quicksrnetsmall", "before"), ("quicksrnetlarge", "before"), ("xlsr", "after"),
                       ("sesr-m5", None)):
        ops = count(name).layers
        assert ops[-1].output_shapes[0] == (1, 3, S * H, S * W), name
        kinds = [(op.op, op.kind) for op in ops[-2:]]
        shuffle = ("pixel_shuffle", "data")
        clips = [op for op in ops if op.op == "hardtanh"]
        if clip == "before":
            assert kinds[-1] == shuffle and ops[-2].op == "hardtanh", (name, kinds)
        elif clip == "after":
            assert kinds[-2] == shuffle and ops[-1].op == "hardtanh", (name, kinds)
        else:
            assert kinds[-1] == shuffle and not clips, (name, kinds)


def test_quicksrnet_clips_every_hidden_layer():
    assert sum(op.op == "hardtanh" for op in count("quicksrnetmedium").layers) == 6 + 1   # 6 convs + output


def test_sesr_m5_as_deployed_is_the_expanded_form():
    """AI Hub loads the uncollapsed checkpoint and never collapses it: its 343K parameters are the
    expanded form's; the collapsed form (the paper's inference network) is 10.6x smaller."""
    deployed = count("sesr-m5")
    collapsed = count(SESR(collapsed=True), input_shape=f"1x3x{H}x{W}")
    macs_pp, params = sesr_formula(collapsed=True)
    assert (collapsed.params, collapsed.macs) == (params, macs_pp * H * W) == (32_256, 525_336_576)
    assert abs(deployed.params / 1e3 - 343) <= 0.5 and not abs(collapsed.params / 1e3 - 343) <= 0.5
    assert sum(op.kind == "conv" for op in deployed.layers) == 2 * 7 + 1
    assert sum(op.kind == "conv" for op in collapsed.layers) == 7 + 1


#: perf.yaml (v0.46.1), float, qnn_dlc: ``layer_counts: total`` of the compiled QNN graph (every device)
AIHUB_QNN_LAYERS = {"quicksrnetsmall": 12, "quicksrnetmedium": 18, "quicksrnetlarge": 32, "xlsr": 22, "sesr-m5": 32}


def test_the_traced_graphs_track_ai_hubs_qnn_layer_counts():
    """Each compiled QNN graph has the same few layers more than chipfit's trace (a constant, the
    same for all five), so the traced graph is the one AI Hub compiles -- SESR-M5's expanded one:
    collapsed, it would trace to 12 ops fewer."""
    extra = {AIHUB_QNN_LAYERS[n] - len(count(n).layers) for n in AIHUB_QNN_LAYERS}
    assert len(extra) == 1, extra
    collapsed = count(SESR(collapsed=True), input_shape=f"1x3x{H}x{W}")
    # collapsing drops one convolution from each of the 7 linear blocks and the add from each of the 5 residual ones
    assert len(count("sesr-m5").layers) - len(collapsed.layers) == 7 + 5


def test_sesr_m5_matches_arms_expanded_macs():
    """ARM's README: SESR-M5 (x2, luminance only) on 32 images of 64x64 takes 41.77B MACs expanded.
    ARM adds the input back by broadcasting; AIMET's (and so chipfit's) 1x1 anchor convolution is
    taken off. The exact count is 41,775,267,840 (the README's two decimals look truncated)."""
    arm = SESR(scale=2, in_channels=1, out_channels=1)
    r = count(arm, input_shape="32x1x64x64")
    anchor = next(op for op in r.layers if op.name == "anchor.conv")
    pixels = 32 * 64 * 64
    macs_pp, _ = sesr_formula(cin=1, out=4, anchor=False)
    assert r.macs - anchor.macs == macs_pp * pixels == 41_775_267_840
    assert abs((r.macs - anchor.macs) / 1e9 - 41.77) < 0.01


def test_any_input_size_scales_with_the_pixels():
    for name in ("quicksrnetsmall", "xlsr", "sesr-m5"):
        assert count(name, input_shape="1x3x256x256").macs == 4 * count(name).macs


def test_a_non_ito_quicksrnet_has_no_anchor():
    small, large = QuickSRNet(32, 2, ito=False), QuickSRNet(64, 11, ito=True)
    assert small.anchor is None and large.anchor is not None


def test_entries_and_aliases():
    for alias, name in (("quicksrnet-small", "quicksrnetsmall"), ("QuickSRNetSmall", "quicksrnetsmall"),
                        ("quicksrnet_medium", "quicksrnetmedium"), ("quicksrnet-large", "quicksrnetlarge"),
                        ("XLSR", "xlsr"), ("sesr_m5", "sesr-m5"), ("SESR-M5", "sesr-m5"),
                        ("real_esrgan_general_x4v3", "real-esrgan-general-x4v3"),
                        ("real_esrgan_x4plus", "real-esrgan-x4plus"), ("Real-ESRGAN-x4plus", "real-esrgan-x4plus")):
        entry = zoo.lookup(alias)
        assert entry.name == name and entry.task == "vision" and entry.input_shape == [1, 3, H, W]
        module = "esrgan" if "esrgan" in name else "sr_nets"
        assert entry.builder.startswith(f"chipfit.frontends.pytorch.nets.{module}:")


def test_real_esrgan_exports_end_at_a_512x512_image():
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


def test_real_esrgan_traced_graphs_track_ai_hubs_layer_counts():
    """The compiled QNN graphs of AI Hub's other super-resolution networks have 3 layers more than
    chipfit's trace (above); General-x4v3's does too (70 + 3 = 73). x4plus's TFLite
    graph has 69 layers fewer than the trace, one per residual dense block (23 x 3: the ``* 0.2`` on
    the fifth convolution folds into its weights; the RRDB's own ``* 0.2`` follows an add and stays),
    and its QNN graph again 3 more than that: 1094 - 69 + 3 = 1028. Without AI Hub's clamp both would
    be one fewer."""
    assert len(count("real-esrgan-general-x4v3").layers) + 3 == 73
    traced = len(count("real-esrgan-x4plus").layers)
    assert traced == 1094
    assert traced - 23 * 3 == 1025 and traced - 23 * 3 + 3 == 1028


def test_rrdbnet_without_the_clamp_is_the_same_network():
    bare = count(RRDBNet(), input_shape=f"1x3x{H}x{W}")
    plus = count("real-esrgan-x4plus")
    assert (bare.params, bare.macs) == (plus.params, plus.macs)
    assert len(plus.layers) == len(bare.layers) + 1
