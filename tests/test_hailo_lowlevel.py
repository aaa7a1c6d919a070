"""The Hailo Model Zoo image-restoration networks written in
chipfit/frontends/pytorch/nets/hailo_lowlevel.py (ESPCN, DnCNN, Zero-DCE), counted against the
figures Hailo publishes and against their layer arithmetic written out by hand.

Sources:
  * https://github.com/hailo-ai/hailo_model_zoo commit c83fc030,
    ``hailo_model_zoo/cfg/networks/<id>.yaml`` (``info.input_shape``, ``info.output_shape``,
    ``info.parameters``, ``info.operations``), also in ``docs/public_models/HAILO15H/*.rst``.
  * Lornatang/ESPCN-PyTorch ``model.py``; cszn/KAIR ``models/network_dncnn.py`` and
    ``main_test_dncnn.py`` (20 layers for dncnn3 and dncnn_color_blind); Li-Chongyi/Zero-DCE
    ``Zero-DCE_code/model.py``: the layer widths behind the hand-written formulas.

None of these networks has BatchNorm (KAIR's DnCNN weights have it merged), so the parameters are
compared as counted. Hailo prints two decimals of millions; for DnCNN its "0.66" is the count
truncated (665,921 and 668,227), so a printed figure is matched by the count rounded or truncated.
Hailo's OPS are twice the MACs for DnCNN to the last digit; ESPCN and Zero-DCE are held within
1.5 %. Hailo's 0.21M parameters for Zero-DCE do not fit its own operation count (see the module
docstring): Zero-DCE's parameters are held to the upstream network instead.
"""

import math

import pytest

torch = pytest.importorskip("torch", reason="needs torch")

from chipfit.data import zoo  # noqa: E402

#: Hailo id -> (input (C, H, W), output (C, H, W), Hailo Params (M) as printed, Hailo OPS (G))
HAILO = {
    "espcn_x2": ((1, 156, 240), (1, 312, 480), "0.02", 1.6),
    "espcn_x3": ((1, 104, 160), (1, 312, 480), "0.02", 0.76),
    "espcn_x4": ((1, 78, 120), (1, 312, 480), "0.02", 0.46),
    "dncnn3": ((1, 321, 481), (1, 321, 481), "0.66", 205.26),
    "dncnn_color_blind": ((3, 321, 481), (3, 321, 481), "0.66", 205.97),
    "zero_dce": ((3, 400, 600), (3, 400, 600), "0.21", 38.2),
}


def _espcn(scale: int, h: int, w: int) -> tuple[int, int]:
    """(parameters, MACs) of ESPCN: 5x5 1->64, 3x3 64->32, 3x3 32->r*r, all with bias."""
    convs = [(25, 1, 64), (9, 64, 32), (9, 32, scale * scale)]
    params = sum(k * cin * cout + cout for k, cin, cout in convs)
    return params, h * w * sum(k * cin * cout for k, cin, cout in convs)


def _dncnn(c: int, h: int, w: int) -> tuple[int, int]:
    """(parameters, MACs) of 20-layer DnCNN: 3x3 C->64, 18 x 64->64, 64->C, all with bias."""
    params = (c * 64 * 9 + 64) + 18 * (64 * 64 * 9 + 64) + (64 * c * 9 + c)
    return params, h * w * (c * 64 * 9 + 18 * 64 * 64 * 9 + 64 * c * 9)


def _zero_dce(h: int, w: int) -> tuple[int, int]:
    """(parameters, MACs) of DCE-Net: 3x3 convs 3->32, 3 x 32->32, 2 x 64->32, 64->24, with bias."""
    convs = [(3, 32)] + [(32, 32)] * 3 + [(64, 32)] * 2 + [(64, 24)]
    params = sum(9 * cin * cout + cout for cin, cout in convs)
    return params, h * w * sum(9 * cin * cout for cin, cout in convs)


def _by_hand(name: str) -> tuple[int, int]:
    (c, h, w), _, _, _ = HAILO[name]
    if name.startswith("espcn_x"):
        return _espcn(int(name[-1]), h, w)
    if name.startswith("dncnn"):
        return _dncnn(c, h, w)
    return _zero_dce(h, w)


def test_every_hailo_id_is_a_zoo_vision_network():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "edge"))
    from extract_hailo_model_zoo import MODEL_REFS

    for hailo_id, ((c, h, w), _, _, _) in HAILO.items():
        assert hailo_id not in MODEL_REFS  # the edge rows name the network by Hailo's id
        entry = zoo.find(hailo_id)
        assert entry is not None and entry.name == hailo_id
        assert entry.task == "vision" and hailo_id in entry.aliases
        assert entry.builder == f"chipfit.frontends.pytorch.nets.hailo_lowlevel:{hailo_id}"
        assert entry.input_shape == [1, c, h, w]


@pytest.mark.parametrize("name", sorted(HAILO))
def test_input_and_output_shape(name, counts):
    r = counts(name)
    (c, h, w), out, _, _ = HAILO[name]
    assert list(r.graph.inputs.values())[0] == (1, c, h, w)
    assert tuple(r.graph.ops[-1].output_shapes[0]) == (1, *out)


@pytest.mark.parametrize("name", sorted(HAILO))
def test_counts_match_the_layer_arithmetic(name, counts):
    params, macs = _by_hand(name)
    r = counts(name)
    assert r.params == params
    assert r.macs == macs


@pytest.mark.parametrize("name", sorted(set(HAILO) - {"zero_dce"}))
def test_parameters_match_hailo(name, counts):
    printed = HAILO[name][2]
    p = counts(name).params / 1e6
    assert printed in (f"{p:.2f}", f"{math.floor(p * 100) / 100:.2f}"), p


def test_zero_dce_parameters_match_the_upstream_network(counts):
    # DCE-Net as Zero-DCE_code/model.py builds it; Hailo's 0.21M would need ~2.6x its own OPS
    assert counts("zero_dce").params == 79_416
    per_pixel_macs = counts("zero_dce").macs / (400 * 600)
    assert per_pixel_macs == pytest.approx(79_416 - (6 * 32 + 24), rel=1e-12)  # weights without biases


@pytest.mark.parametrize("name", sorted(HAILO))
def test_ops_match_hailo(name, counts):
    ops = HAILO[name][3]
    ours = 2 * counts(name).macs / 1e9
    if name.startswith("dncnn"):  # Hailo's two decimals are exactly twice the conv MACs
        assert f"{ours:.2f}" == f"{ops:.2f}", ours
    else:
        assert abs(ours - ops) <= 0.015 * ops, ours


def test_graphs_hold_the_pixel_shuffle_residual_and_curves(counts):
    # ESPCN: three convs then a data-movement op (depth-to-space) from r*r channels to the image
    esp = counts("espcn_x3").graph.ops
    assert [op.kind for op in esp if op.kind != "activation"] == ["conv", "conv", "conv", "data"]
    assert tuple(esp[-1].input_shapes[0]) == (1, 9, 104, 160)
    # DnCNN: the last op subtracts the predicted noise from the input image
    dn = counts("dncnn3").graph.ops
    assert dn[-1].kind == "elementwise" and dn[-2].kind == "conv"
    assert sum(op.kind == "conv" for op in dn) == 20
    # Zero-DCE: eight curve iterations of elementwise work after the seven convs
    zd = counts("zero_dce").graph.ops
    last_conv = max(i for i, op in enumerate(zd) if op.kind == "conv")
    assert sum(op.kind == "conv" for op in zd) == 7
    assert sum(op.kind == "elementwise" for op in zd[last_conv:]) == 8 * 4  # x*x, -x, *A, +x


def test_other_input_sizes_scale_linearly(counts):
    # fully convolutional: MACs follow the pixel count
    base = counts("dncnn3").macs
    assert counts("dncnn3", input_shape="1x1x160x240").macs * 321 * 481 == base * 160 * 240
