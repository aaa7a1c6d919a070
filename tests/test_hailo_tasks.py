"""The Hailo Model Zoo task networks written in chipfit/frontends/pytorch/nets/hailo_tasks.py,
counted against the figures Hailo and the original authors publish.

Sources:
  * https://github.com/hailo-ai/hailo_model_zoo commit c83fc030,
    ``hailo_model_zoo/cfg/networks/<id>.yaml`` (``info.input_shape``, ``info.output_shape``,
    ``info.parameters``, ``info.operations``), the same figures as the "Params (M)" and "OPS (G)"
    columns of ``docs/public_models/HAILO8/HAILO8_<task>.rst``.
  * Ding et al. 2021, arXiv:2101.03697, Table 2: RepVGG-A0 8.30M parameters, 1.36G multiply-adds
    (224 px, 1000 classes).

Hailo's parameter counts are those of the compiled graph, BatchNorm folded into the convolutions
(one bias per channel where chipfit, counting the unfolded network, has BatchNorm's scale and
shift): the folded count is compared to Hailo's printed digits. Hailo's OPS are a little above
twice the MACs (it counts some non-multiply work too): held within 1.5 %.
"""

import pytest

torch = pytest.importorskip("torch", reason="needs torch")
pytest.importorskip("torchvision", reason="needs torchvision (pip install 'chipfit[vision]')")

from chipfit.data import zoo  # noqa: E402

#: Hailo id -> (input H, W, output shape, Hailo Params (M), Hailo OPS (G))
HAILO = {
    "person_attr_resnet_v1_18": (224, 224, (1, 35), "11.19", 3.64),
    "repvgg_a0_person_reid_512": (256, 128, (1, 512), "7.68", 1.78),
    "fcn8_resnet_v1_18": (1024, 1920, (1, 1, 1024, 1920), "11.20", 142.82),
}


def _bn_channels(name: str) -> int:
    from chipfit.frontends.pytorch.build import build_module
    from chipfit.frontends.pytorch.nets import hailo_tasks

    model = build_module(getattr(hailo_tasks, zoo.find(name).builder.rsplit(":", 1)[1]))
    return sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def _conv(cin: int, cout: int, k: int, hw: tuple[int, int]) -> int:
    return cin * cout * k * k * hw[0] * hw[1]


def _resnet18_trunk_macs(h: int, w: int) -> int:
    """torchvision ResNet-18 up to its last stage: 7x7/2 conv, 3x3/2 max-pool, four stages of two
    basic blocks (the first of stages 2-4 at stride 2 with a 1x1 stride-2 projection)."""
    def down(n):
        return (n + 1) // 2  # a stride-2 conv or pool with "same" padding

    h, w = down(h), down(w)
    macs = _conv(3, 64, 7, (h, w))
    h, w = down(h), down(w)
    cin = 64
    for i, width in enumerate((64, 128, 256, 512)):
        if i:
            h, w = down(h), down(w)
            macs += _conv(cin, width, 1, (h, w))
        macs += _conv(cin, width, 3, (h, w)) + 3 * _conv(width, width, 3, (h, w))
        cin = width
    return macs


def test_hailo_ids_are_zoo_names():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "edge"))
    from extract_hailo_model_zoo import MODEL_REFS

    for hailo_id in HAILO:
        assert hailo_id not in MODEL_REFS  # the edge rows carry Hailo's id unchanged
        entry = zoo.find(hailo_id)
        assert entry is not None and entry.name == hailo_id and entry.task == "vision"
        assert entry.builder == f"chipfit.frontends.pytorch.nets.hailo_tasks:{hailo_id}"


@pytest.mark.parametrize("name", sorted(HAILO))
def test_input_and_output_shape(name, counts):
    h, w, out, _, _ = HAILO[name]
    r = counts(name)
    assert list(r.graph.inputs.values())[0] == (1, 3, h, w)
    assert tuple(r.graph.ops[-1].output_shapes[0]) == out


@pytest.mark.parametrize("name", sorted(HAILO))
def test_folded_parameters_match_hailo(name, counts):
    printed = HAILO[name][3]
    digits = len(printed.split(".")[1])
    folded = counts(name).params - _bn_channels(name)
    assert f"{folded / 1e6:.{digits}f}" == printed, folded


@pytest.mark.parametrize("name", sorted(HAILO))
def test_ops_match_hailo(name, counts):
    ops = HAILO[name][4]
    ours = 2 * counts(name).macs / 1e9
    assert abs(ours - ops) <= 0.015 * ops, ours


def test_person_attr_is_resnet18_with_a_35_way_head(counts):
    assert counts("person_attr_resnet_v1_18").macs == _resnet18_trunk_macs(224, 224) + 512 * 35
    # the trunk is torchvision's ResNet-18 less its 1000-way classifier
    r18 = counts("torchvision.models:resnet18")
    assert counts("person_attr_resnet_v1_18").params == r18.params - 512 * 1000 - 1000 + 512 * 35 + 35


def _repvgg_a0_macs(h: int, w: int) -> int:
    macs, cin = 0, 3
    for n, width in zip((1, 2, 4, 14, 1), (48, 48, 96, 192, 1280)):
        h, w = h // 2, w // 2
        macs += _conv(cin, width, 3, (h, w)) + (n - 1) * _conv(width, width, 3, (h, w))
        cin = width
    return macs


def test_repvgg_a0_reid_is_the_deploy_form_with_a_512_embedding(counts):
    r = counts("repvgg_a0_person_reid_512")
    assert r.macs == _repvgg_a0_macs(256, 128) + 1280 * 512
    # the same trunk at 224 px with a 1000-way classifier is the paper's RepVGG-A0
    a0_macs = _repvgg_a0_macs(224, 224) + 1280 * 1000
    assert abs(a0_macs / 1e9 - 1.36) <= 0.01 * 1.36
    a0_params = r.params - (1280 * 512 + 512) + 1280 * 1000 + 1000
    assert abs(a0_params / 1e6 - 8.30) <= 0.005 * 8.30


def test_fcn8_head(counts):
    h, w = 1024, 1920
    trunk = _resnet18_trunk_macs(h, w)
    s8, s16, s32 = (h // 8, w // 8), (h // 16, w // 16), (h // 32, w // 32)
    scores = _conv(128, 19, 1, s8) + _conv(256, 19, 1, s16) + _conv(512, 19, 1, s32)
    # a 4x4 stride-2 transposed conv: every input pixel writes a 4x4 patch of every output channel
    deconvs = 19 * 19 * 16 * (s32[0] * s32[1] + s16[0] * s16[1])
    assert counts("fcn8_resnet_v1_18").macs == trunk + scores + deconvs
    # a dilated (output stride 8) trunk, as MMSegmentation's FCN head uses, would be far above Hailo's OPS
    assert 2 * trunk / 1e9 < 142.82 < 2 * 2 * trunk / 1e9
    head_params = (128 + 256 + 512 + 3) * 19 + 2 * (19 * 19 * 16 + 19)
    r18 = counts("torchvision.models:resnet18")
    assert counts("fcn8_resnet_v1_18").params == r18.params - 512 * 1000 - 1000 + head_params
