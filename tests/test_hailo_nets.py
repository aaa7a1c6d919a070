"""The Hailo Model Zoo classifiers written in chipfit/frontends/pytorch/nets/hailo_nets.py, counted
against the figures Hailo and the original authors publish.

Sources:
  * https://github.com/hailo-ai/hailo_model_zoo commit c83fc030,
    ``docs/public_models/HAILO8/HAILO8_classification.rst``: "Params (M)" and "OPS (G)" per network
    (also in ``hailo_model_zoo/cfg/networks/<id>.yaml``, ``info.parameters`` / ``info.operations``).
  * Touvron et al. 2021, arXiv:2012.12877, Table 1: DeiT-S 22M / 4.6G, DeiT-B 86M / 17.6G
    (parameters / FLOPs counted as multiply-adds).
  * tensorflow/models ``research/slim/nets/mobilenet/README.md``: MobilenetEdgeTPU dm=1, 990M MACs.
  * PingoLH/Pytorch-HarDNet README: HarDNet68 4.3 GMACs, HarDNet39DS 0.44 GMACs.
  * osmr/imgclsmob ``resnext.py`` test: resnext26_32x4d has 15,389,480 parameters.

Hailo's parameter counts are those of the compiled graph, BatchNorm folded into the convolutions
(one bias per channel where chipfit, counting the unfolded network, has BatchNorm's scale and
shift): the folded count is compared to Hailo's printed digits. Hailo's OPS are a little above
twice the MACs (it counts some non-multiply work too): held within 1.5 %. DeiT's parameters in
Hailo's table are 7 % below the architecture's (whatever its compiled graph leaves out), so DeiT is
held to the paper instead.
"""

import pytest

torch = pytest.importorskip("torch", reason="needs torch")
pytest.importorskip("torchvision", reason="needs torchvision (pip install 'chipfit[vision]')")

from chipfit.data import zoo  # noqa: E402

#: chipfit network -> (Hailo id, Hailo Params (M), Hailo OPS (G)); Hailo's ResNet-18/34 are torchvision's,
#: and its "mobilenet_v3" is MobileNet-EdgeTPU (the edge-row extractor maps those three ids)
HAILO = {
    "resnet18": ("resnet_v1_18", "11.68", 3.64),
    "resnet34": ("resnet_v1_34", "21.79", 7.34),
    "resnet_v1_50": ("resnet_v1_50", "25.53", 6.98),
    "repvgg_a1": ("repvgg_a1", "12.79", 4.7),
    "repvgg_a2": ("repvgg_a2", "25.5", 10.2),
    "inception_v1": ("inception_v1", "6.62", 3.0),
    "mobilenet_edgetpu": ("mobilenet_v3", "4.07", 2.0),
    "deit_small": ("deit_small", "20.52", 9.4),
    "deit_base": ("deit_base", "80.26", 35.22),
    "hardnet68": ("hardnet68", "17.56", 8.5),
    "hardnet39ds": ("hardnet39ds", "3.48", 0.86),
    "resnext26_32x4d": ("resnext26_32x4d", "15.37", 4.96),
}

#: published multiply-accumulates (G) from the architecture's own source, and the tolerance
REFERENCE_GMACS = {
    "deit_small": (4.6, 0.01),
    "deit_base": (17.6, 0.01),
    "mobilenet_edgetpu": (0.990, 0.002),
    "hardnet68": (4.3, 0.02),
    "hardnet39ds": (0.44, 0.03),
}


def _count(counts, name: str):
    """chipfit's count of a zoo network, or of torchvision's network of that name."""
    return counts(name if zoo.find(name) is not None else f"torchvision.models:{name}")


def _bn_channels(name: str) -> int:
    from chipfit.frontends.pytorch.build import build_module
    from chipfit.frontends.pytorch.nets import hailo_nets

    entry = zoo.find(name)
    if entry is not None and entry.builder.startswith("chipfit.frontends.pytorch.nets.hailo_nets:"):
        model = build_module(getattr(hailo_nets, entry.builder.rsplit(":", 1)[1]))
    else:  # a torchvision network
        import torchvision

        model = torchvision.models.get_model(name, weights=None)
    return sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_every_hailo_id_finds_its_network():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "edge"))
    from extract_hailo_model_zoo import MODEL_REFS

    for name, (hailo_id, _, _) in HAILO.items():
        if hailo_id in MODEL_REFS:  # the extractor maps Hailo's id to chipfit's network
            assert MODEL_REFS[hailo_id][0] == name, hailo_id
            assert zoo.find(hailo_id) is None or zoo.find(hailo_id).name == name, hailo_id
            continue
        entry = zoo.find(hailo_id)
        assert entry is not None and entry.name == name, hailo_id
        assert hailo_id in entry.aliases
        assert entry.builder.startswith("chipfit.frontends.pytorch.nets.hailo_nets:")


@pytest.mark.parametrize("name", sorted(HAILO))
def test_input_and_output_shape(name, counts):
    r = _count(counts, name)
    assert list(r.graph.inputs.values())[0] == (1, 3, 224, 224)
    # the last op is the 1000-way classifier
    assert tuple(r.graph.ops[-1].output_shapes[0]) == (1, 1000)


@pytest.mark.parametrize("name", sorted(set(HAILO) - {"deit_small", "deit_base"}))
def test_folded_parameters_match_hailo(name, counts):
    printed = HAILO[name][1]
    digits = len(printed.split(".")[1])
    folded = _count(counts, name).params - _bn_channels(name)
    assert f"{folded / 1e6:.{digits}f}" == printed, folded


@pytest.mark.parametrize("name", sorted(HAILO))
def test_ops_match_hailo(name, counts):
    ops = HAILO[name][2]
    ours = 2 * _count(counts, name).macs / 1e9
    tol = 0.03 if name == "deit_small" else 0.015  # Hailo's 9.4G for DeiT-S is 2.2 % above 2 x 4.6G
    assert abs(ours - ops) <= tol * ops, ours


@pytest.mark.parametrize("name", sorted(REFERENCE_GMACS))
def test_macs_match_the_architecture_papers(name, counts):
    published, rel = REFERENCE_GMACS[name]
    assert abs(_count(counts, name).macs / 1e9 - published) <= rel * published


def test_deit_parameters_match_the_paper(counts):
    assert abs(counts("deit_small").params / 1e6 - 22) <= 0.01 * 22
    assert abs(counts("deit_base").params / 1e6 - 86) <= 0.01 * 86


def test_resnext26_matches_imgclsmob_exactly(counts):
    assert counts("resnext26_32x4d").params == 15_389_480


def _repvgg_macs(a: float, b: float) -> int:
    widths = (min(64, int(64 * a)), int(64 * a), int(128 * a), int(256 * a), int(512 * b))
    macs, cin, hw = 0, 3, 224
    for n, w in zip((1, 2, 4, 14, 1), widths):
        hw //= 2
        macs += 9 * cin * w * hw * hw + (n - 1) * 9 * w * w * hw * hw
        cin = w
    return macs + cin * 1000


def test_repvgg_is_the_fused_deploy_form(counts):
    # one 3x3 conv per block, nothing else: 2.364 / 5.117 GMACs (paper: 2.37G / 5.12G)
    assert counts("repvgg_a1").macs == _repvgg_macs(1.0, 2.5) == 2_363_967_488
    assert counts("repvgg_a2").macs == _repvgg_macs(1.5, 2.75)
    assert abs(_repvgg_macs(1.5, 2.75) / 1e9 - 5.12) <= 0.005


def _slim_resnet50_macs() -> int:
    """TF-slim resnet_v1_50: each block's stride 2 in its last unit's 3x3 conv."""
    macs, cin, hw = 7 * 7 * 3 * 64 * 112 * 112, 64, 56
    for i, n in enumerate((3, 4, 6, 3)):
        depth = 256 * 2 ** i
        width = depth // 4
        for j in range(n):
            stride = 2 if j == n - 1 and i < 3 else 1
            macs += cin * width * hw * hw + (cin * depth * hw * hw if cin != depth else 0)
            hw //= stride
            macs += 9 * width * width * hw * hw + width * depth * hw * hw
            cin = depth
    return macs + 2048 * 1000


def test_resnet_v1_50_has_slims_stride_placement(counts):
    assert counts("resnet_v1_50").macs == _slim_resnet50_macs()
    # torchvision's ResNet-50 (stride in the first unit) would be 4.09 GMACs, 8.2G OPS: not Hailo's 6.98G
    assert counts("resnet_v1_50").macs < 0.9 * 4.09e9
