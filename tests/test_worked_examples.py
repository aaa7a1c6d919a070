"""The worked examples of a widely shared hand estimate, with the arithmetic written out."""

import pytest

pytest.importorskip("torchvision", reason="needs torchvision")

import chipfit  # noqa: E402


def test_resnet18_1_82_gmacs_is_3_64_gflops():
    r = chipfit.count("resnet18")
    first_conv = 7 * 7 * 3 * 64 * 112 * 112                     # K*K*Cin*Cout*Hout*Wout
    assert r.layers[0].macs == first_conv == 118_013_952
    assert r.macs == 1_814_073_344                               # torchvision _ops: 1.814
    assert r.macs / 1e9 == pytest.approx(1.82, abs=0.01)
    assert r.flops / 1e9 == pytest.approx(3.64, abs=0.005)       # 2 x MACs + BN/ReLU/pool/add


def test_vit_b_16_17_56_gmacs_is_35_1_gflops():
    r = chipfit.count("vit_b_16")
    tokens, d, mlp, layers = 197, 768, 3072, 12
    patch = d * 3 * 16 * 16 * 196
    per_layer = 4 * tokens * d * d + 2 * tokens * d * mlp + 2 * tokens * tokens * d
    assert r.macs == patch + layers * per_layer + d * 1000 == 17_563_828_224
    assert round(r.macs / 1e9, 2) == 17.56        # the "17.6 GFLOPs" often quoted is MACs
    assert round(2 * r.macs / 1e9, 1) == 35.1     # FLOPs of the tensor contractions
    assert r.flops > 2 * r.macs                    # plus LayerNorm, GELU, softmax, adds
