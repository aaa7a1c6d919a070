"""Every torchvision classification weights entry: MACs equal ``meta["_ops"]`` (torchvision's
"GFLOPS" are MACs, rounded to 3 decimals) at the crop size of the weights' transforms, and
parameters equal ``meta["num_params"]`` exactly."""

import warnings

import pytest

torch = pytest.importorskip("torch", reason="needs torch")
torchvision = pytest.importorskip("torchvision", reason="needs torchvision (pip install 'chipfit[vision]')")
from torchvision import models  # noqa: E402

from chipfit.frontends.pytorch.build import build_module  # noqa: E402
from chipfit.frontends.pytorch.trace import trace  # noqa: E402

CASES = [
    (name, weights)
    for name in models.list_models(module=models)
    for weights in models.get_model_weights(name)
]


def test_the_sweep_is_not_empty():
    assert len(CASES) > 100  # about 120 entries in torchvision 0.29


@pytest.mark.slow
@pytest.mark.parametrize("name,weights", CASES, ids=[f"{n}-{w.name}" for n, w in CASES])
def test_macs_and_params_match_torchvision_metadata(name, weights):
    crop = weights.transforms().crop_size
    crop = crop[0] if isinstance(crop, (list, tuple)) else crop
    # the keyword arguments torchvision's own builder sets when it loads these weights
    kwargs = {"num_classes": len(weights.meta["categories"] or range(1000))}
    if name.startswith("vit_"):
        kwargs["image_size"] = crop
    if name in ("inception_v3", "googlenet"):
        kwargs.update(transform_input=True, init_weights=False)
    if name == "googlenet":
        kwargs["aux_logits"] = False  # dropped after loading the ImageNet weights
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_module(lambda: models.get_model(name, **kwargs))
    graph = trace(model, (torch.zeros(1, 3, crop, crop, device="meta"),))
    assert graph.unsupported == {}
    assert graph.params == weights.meta["num_params"]
    assert round(graph.macs / 1e9, 3) == pytest.approx(weights.meta["_ops"], abs=1e-9)
