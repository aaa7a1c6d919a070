"""The RKNN model zoo networks written in chipfit/frontends/pytorch/nets/rknn_misc.py, counted
against the figures their upstream projects publish (RKNN publishes none).

Sources:
  * biubug6/Face-Detector-1MB-with-landmark README, "Parameter and flop": Retinaface-Mobilenet-0.25
    (biubug6/Pytorch_Retinaface's cfg_mnet with other anchor sizes) 0.426M parameters, 193.921M
    FLOPs (multiply-adds, with a counter that adds BatchNorm and activation work) at 320x240.
  * OpenVINO Open Model Zoo ``models/public/retinaface-resnet50-pytorch/README.md``
    (biubug6/Pytorch_Retinaface's Resnet50 model, 640x640): 27.2646 MParams (the exported graph,
    BatchNorm folded), 88.8627 GFLOPs (two per multiply-accumulate), outputs 1 x 16800 x {2, 4, 10}.
  * tensorflow/models ``research/deeplab/g3doc/model_zoo.md``: mobilenetv2_coco_voc_trainaug
    2.75B multiply-adds at 513x513, output stride 16, single scale.
  * sirius-ai/LPRNet_Pytorch README: a 1.7M model file (float32 weights).
  * Fan et al. 2021 (arXiv:2104.13188) and MichaelFan01/STDC-Seg: the STDC1 ImageNet network is
    STDCNet813, 813M FLOPs (multiply-adds) at 224x224.
  * He et al. 2016 (arXiv:1603.05027) and gluon-cv ``ResNetV2``: ResNet-50 v2 has the convolutions
    of torchvision's ResNet-50 with pre-activation BatchNorm placement.
"""

import pytest

torch = pytest.importorskip("torch", reason="needs torch")

from chipfit.data import zoo  # noqa: E402

NAMES = {
    "retinaface_mobilenet": [1, 3, 320, 320],
    "retinaface_resnet50": [1, 3, 320, 320],
    "resnet50_v2": [1, 3, 224, 224],
    "lprnet": [1, 3, 24, 94],
    "deeplabv3_plus_mobilenet_v2": [1, 3, 513, 513],
    "pp_liteseg": [1, 3, 512, 512],
}


def _build(name: str, device: str = "meta"):
    from chipfit.frontends.pytorch.build import build_module
    from chipfit.frontends.pytorch.nets import rknn_misc

    return build_module(getattr(rknn_misc, zoo.find(name).builder.rsplit(":", 1)[1]), device)


def _meta(factory, *args, **kwargs):
    with torch.device("meta"):
        return factory(*args, **kwargs)


def _params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def _bn_channels(model) -> int:
    return sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d) and m.affine)


def _count(model, shape):
    import chipfit

    return chipfit.count(model, input_shape=tuple(shape))


def _conv(cin, cout, kh, kw=None, bias=False, bn=False):
    kw = kh if kw is None else kw
    return cin * cout * kh * kw + (cout if bias else 0) + (2 * cout if bn else 0)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_zoo_entries(name):
    entry = zoo.find(name)
    assert entry is not None and entry.name == name
    assert entry.builder.startswith("chipfit.frontends.pytorch.nets.rknn_misc:")
    assert entry.input_shape == NAMES[name]


def test_retinaface_outputs_are_concatenated_priors():
    """2 anchors per position at strides 8, 16, 32: 2 x (40^2 + 20^2 + 10^2) = 4200 priors at 320;
    the class scores are softmax probabilities."""
    with torch.no_grad():
        loc, conf, landmarks = _build("retinaface_mobilenet", "cpu").eval()(torch.randn(1, 3, 320, 320))
    assert (loc.shape, conf.shape, landmarks.shape) == ((1, 4200, 4), (1, 4200, 2), (1, 4200, 10))
    assert torch.allclose(conf.sum(-1), torch.ones(1, 4200))


def test_retinaface_mobilenet_parameters_and_macs():
    """0.25-width MobileNetV1 and width-64 FPN / SSH / heads written out; the total against 0.426M,
    and the MACs at 320x240 against the published 193.9M (a counter that also counts BatchNorm,
    activation and upsampling work: ours, convolutions only, up to 5 % below)."""
    model = _build("retinaface_mobilenet")

    def dw(cin, cout):
        return _conv(1, cin, 3, bn=True) + _conv(cin, cout, 1, bn=True)

    body = (_conv(3, 8, 3, bn=True) + dw(8, 16) + dw(16, 32) + dw(32, 32) + dw(32, 64) + dw(64, 64)
            + dw(64, 128) + 5 * dw(128, 128) + dw(128, 256) + dw(256, 256))
    w = 64
    fpn = sum(_conv(c, w, 1, bn=True) for c in (64, 128, 256)) + 2 * _conv(w, w, 3, bn=True)
    ssh = (_conv(w, w // 2, 3, bn=True) + _conv(w, w // 4, 3, bn=True) + 3 * _conv(w // 4, w // 4, 3, bn=True))
    heads = sum(_conv(w, 2 * v, 1, bias=True) for v in (4, 2, 10))
    assert _params(model) == body + fpn + 3 * ssh + 3 * heads
    assert abs(_params(model) / 1e6 - 0.426) <= 0.002 * 0.426
    macs = _count(model, (1, 3, 240, 320)).macs / 1e6
    assert 0.95 * 193.921 <= macs <= 193.921, macs


def test_retinaface_resnet50_matches_open_model_zoo():
    """At 640x640: the folded parameter count prints as 27.2646M, 2 x MACs within 0.5 % of
    88.8627 GFLOPs, and 16800 priors."""
    model = _build("retinaface_resnet50")
    folded = _params(model) - _bn_channels(model)
    assert f"{folded / 1e6:.4f}" == "27.2646"
    r = _count(model, (1, 3, 640, 640))
    assert abs(2 * r.macs / 1e9 - 88.8627) <= 0.005 * 88.8627
    with torch.no_grad():
        outs = model.eval()(torch.zeros(1, 3, 64, 64, device="meta"))
    # the prior count scales with the area: 2 x (8^2 + 4^2 + 2^2) at 64
    assert [tuple(o.shape) for o in outs] == [(1, 168, 4), (1, 168, 2), (1, 168, 10)]
    assert 2 * ((640 // 8) ** 2 + (640 // 16) ** 2 + (640 // 32) ** 2) == 16800


def test_retinaface_resnet50_head_over_torchvision_body():
    """Total minus torchvision's ResNet-50 without its classifier: width-256 FPN, three SSH modules
    and the three 1x1 head convs per level, written out."""
    from torchvision.models import resnet50

    tv = _meta(resnet50)
    body = _params(tv) - _params(tv.fc)
    w = 256
    fpn = sum(_conv(c, w, 1, bn=True) for c in (512, 1024, 2048)) + 2 * _conv(w, w, 3, bn=True)
    ssh = _conv(w, w // 2, 3, bn=True) + _conv(w, w // 4, 3, bn=True) + 3 * _conv(w // 4, w // 4, 3, bn=True)
    heads = sum(_conv(w, 2 * v, 1, bias=True) for v in (4, 2, 10))
    assert _params(_build("retinaface_resnet50")) == body + fpn + 3 * ssh + 3 * heads


def test_resnet50_v2_is_torchvision_convs_with_preactivation_norms(counts):
    """Conv and linear weights equal torchvision's ResNet-50's; the BatchNorms are the stem's, one
    before each of a unit's three convs (input width, then the bottleneck width twice) and a final
    one, none on the projection shortcuts; the MACs equal torchvision's (same convolutions)."""
    from torchvision.models import resnet50

    tv = _meta(resnet50)
    weights = sum(m.weight.numel() + (m.bias.numel() if m.bias is not None else 0)
                  for m in tv.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    bn = 64 + 2048
    cin = 64
    for i, n in enumerate((3, 4, 6, 3)):
        mid = 64 * 2 ** i
        for _ in range(n):
            bn += cin + 2 * mid
            cin = 4 * mid
    model = _build("resnet50_v2")
    assert _params(model) == weights + 2 * bn
    ours = counts("resnet50_v2")
    assert ours.params == _params(model)
    theirs = _count(tv, (1, 3, 224, 224))
    assert ours.macs == pytest.approx(theirs.macs, rel=1e-3)
    with torch.no_grad():
        assert model.eval()(torch.zeros(1, 3, 224, 224, device="meta")).shape == (1, 1000)


def test_lprnet_hand_count(counts):
    """LPRNet at 24x94 written out: map sizes 22x92 (valid 3x3 conv), 20x90 (3x3 pool), 18x44 and
    16x21 (3x3 pools of stride (1, 2)), 16x18 (1x4 conv), 4x18 (13x1 conv); parameters as float32
    make the published 1.7M (MiB) model file."""
    blk = lambda cin, cout: (_conv(cin, cout // 4, 1, bias=True) + _conv(cout // 4, cout // 4, 3, 1, bias=True)  # noqa: E731
                             + _conv(cout // 4, cout // 4, 1, 3, bias=True) + _conv(cout // 4, cout, 1, bias=True))
    params = (_conv(3, 64, 3, bias=True, bn=True) + blk(64, 128) + 2 * 128 + blk(64, 256) + 2 * 256
              + blk(256, 256) + 2 * 256 + _conv(64, 256, 1, 4, bias=True, bn=True)
              + _conv(256, 68, 13, 1, bias=True, bn=True) + _conv(64 + 128 + 256 + 68, 68, 1, bias=True))
    r = counts("lprnet")
    assert r.params == params
    assert f"{4 * params / 2 ** 20:.1f}" == "1.7"

    def blk_macs(hw, cin, cout):
        q = cout // 4
        return hw * (cin * q + 3 * q * q + 3 * q * q + q * cout)

    conv_macs = (22 * 92 * 64 * 27 + blk_macs(20 * 90, 64, 128) + blk_macs(18 * 44, 64, 256)
                 + blk_macs(18 * 44, 256, 256) + 16 * 18 * 64 * 256 * 4 + 4 * 18 * 256 * 68 * 13
                 + 4 * 18 * 516 * 68)
    assert conv_macs <= r.macs <= 1.02 * conv_macs
    with torch.no_grad():
        assert _build("lprnet", "cpu").eval()(torch.randn(1, 3, 24, 94)).shape == (1, 68, 18)


def test_deeplab_mobilenet_v2_model_zoo_figure():
    """At output stride 16 the checkpoint's published 2.75B multiply-adds (within 0.5 %); the
    exported output stride 8 gives 65x65 logits and about 3.2x the MACs (the last four stages at 4x
    the area)."""
    from chipfit.frontends.pytorch.nets.rknn_misc import DeepLabMobileNetV2

    os16 = _count(_meta(DeepLabMobileNetV2, output_stride=16), (1, 3, 513, 513)).macs / 1e9
    assert abs(os16 - 2.75) <= 0.005 * 2.75
    model = _build("deeplabv3_plus_mobilenet_v2")
    os8 = _count(model, (1, 3, 513, 513)).macs / 1e9
    assert 3.0 <= os8 / os16 <= 3.5
    with torch.no_grad():
        assert model.eval()(torch.zeros(1, 3, 129, 129, device="meta")).shape == (1, 21, 17, 17)


def test_deeplab_mobilenet_v2_has_no_aspp_atrous_branches_or_decoder():
    """Every non-depthwise conv is 1x1 except the stem; depthwise dilations 1, 2, 4 (output stride 8);
    MobileNetV2 to layer_18 has torchvision's mobilenet_v2 parameters less the 1x1 conv to 1280 and
    the classifier; the head adds two 1x1 branches of 256, the 512 -> 256 projection and the logits."""
    from torchvision.models import mobilenet_v2

    model = _build("deeplabv3_plus_mobilenet_v2")
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    full = [c for c in convs if c.groups == 1]
    assert [c.kernel_size for c in full if c.kernel_size != (1, 1)] == [(3, 3)]
    assert {c.dilation[0] for c in convs if c.groups > 1} == {1, 2, 4}
    tv = _meta(mobilenet_v2)
    backbone = _params(tv) - _params(tv.features[18]) - _params(tv.classifier)
    head = 2 * _conv(320, 256, 1, bn=True) + _conv(512, 256, 1, bn=True) + _conv(256, 21, 1, bias=True)
    assert _params(model) == backbone + head


def test_stdc1_is_stdcnet813():
    """PP-LiteSeg-T's backbone with STDC's ImageNet tail (1x1 conv 1024 -> 1024 at 7x7, a
    1024 x 1024 and a 1024 x 1000 linear layer, written out) within 1.5 % below 813M MACs."""
    from chipfit.frontends.pytorch.nets.rknn_misc import STDC1

    body = _count(_meta(STDC1), (1, 3, 224, 224)).macs
    total = body + 7 * 7 * 1024 * 1024 + 1024 * 1024 + 1024 * 1000
    assert 0.985 * 813e6 <= total <= 813e6, total


def test_pp_liteseg_hand_count():
    """STDC1 modules, pyramid pooling, fusion modules and the one inference head written out."""
    def stdc(cin, c, stride):
        p = (_conv(cin, c // 2, 1, bn=True) + _conv(c // 2, c // 4, 3, bn=True) + _conv(c // 4, c // 8, 3, bn=True)
             + _conv(c // 8, c // 8, 3, bn=True))
        return p + (c // 2 * 9 + 2 * (c // 2) if stride == 2 else 0)

    backbone = (_conv(3, 32, 3, bn=True) + _conv(32, 64, 3, bn=True) + stdc(64, 256, 2) + stdc(256, 256, 1)
                + stdc(256, 512, 2) + stdc(512, 512, 1) + stdc(512, 1024, 2) + stdc(1024, 1024, 1))
    sppm = 3 * _conv(1024, 128, 1, bias=True, bn=True) + _conv(128, 128, 3, bias=True, bn=True)

    def uafm(x, y, o):
        return (_conv(x, y, 3, bn=True) + _conv(y, o, 3, bn=True) + _conv(4, 2, 3, bn=True)
                + _conv(2, 1, 3, bn=True) + 1)

    arms = uafm(1024, 128, 128) + uafm(512, 128, 64) + uafm(256, 64, 32)
    head = _conv(32, 32, 3, bn=True) + _conv(32, 19, 1)
    model = _build("pp_liteseg")
    assert _params(model.backbone) == backbone
    assert _params(model) == backbone + sppm + arms + head
    with torch.no_grad():
        assert model.eval()(torch.zeros(1, 3, 512, 512, device="meta")).shape == (1, 19, 512, 512)
