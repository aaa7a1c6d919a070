"""PoseNet MobileNet v1 and DeepLabV3+ Xception-65 (chipfit/frontends/pytorch/nets/aihub_misc.py),
counted against the parameter counts Qualcomm AI Hub publishes for its exports and against the MACs
written out layer by layer below.

Sources:
  * https://github.com/quic/ai-hub-models v0.46.1 (commit 52c080d2):
    ``qai_hub_models/models/posenet_mobilenet/info.yaml`` ("Input resolution" 513x257, "Number of
    parameters" 3.31M; ``get_input_spec``: height 513, width 257) and
    ``qai_hub_models/models/deeplab_xception/info.yaml`` (480x520, 41.26M; ``get_input_spec``:
    height 480, width 520).

PoseNet has no BatchNorm: its count is the weights and biases, 3,313,907 (3.31M). DeepLabV3+ has 146
BatchNorms: its weights are 41,055,413 (41.06M), and AI Hub's 41.26M is the PyTorch state dict, which
also holds each BatchNorm's running mean and variance (2 per channel) and its batch counter (1 per
layer): 41,258,359. Neither card publishes a FLOP or MAC figure, so the MACs are held to the formula.
"""

import pytest

torch = pytest.importorskip("torch", reason="needs torch")

from chipfit.data import zoo  # noqa: E402
from chipfit.frontends.pytorch.nets import aihub_misc  # noqa: E402

AIHUB = {"posenet_mobilenet": (3.31, (513, 257)), "deeplab_xception": (41.26, (480, 520))}


def _out(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


class _Tally:
    def __init__(self):
        self.macs = 0

    def conv(self, c1, c2, k, h, w, s=1, d=1, groups=1, p=None):
        p = d * (k // 2) if p is None else p
        ho, wo = _out(h, k, s, p, d), _out(w, k, s, p, d)
        self.macs += k * k * (c1 // groups) * c2 * ho * wo
        return ho, wo

    def sep(self, c1, c2, h, w, s=1, d=1):
        ho, wo = self.conv(c1, c1, 3, h, w, s, d, groups=c1)
        self.conv(c1, c2, 1, ho, wo)
        return ho, wo


def posenet_macs(h, w):
    t = _Tally()
    h, w = t.conv(3, 32, 3, h, w, 2)
    # (out, stride, dilation) at output stride 16: the 4th stride-2 layer and after run at stride 1
    plan = [(64, 1, 1), (128, 2, 1), (128, 1, 1), (256, 2, 1), (256, 1, 1), (512, 2, 1)] + [(512, 1, 1)] * 5 + \
        [(1024, 1, 1), (1024, 1, 2)]
    c = 32
    for c2, s, d in plan:
        h, w = t.sep(c, c2, h, w, s, d)
        c = c2
    t.conv(1024, 17 + 34 + 32 + 32, 1, h, w)
    return t.macs, (h, w)


def deeplab_macs(h0, w0):
    t = _Tally()
    h, w = t.conv(3, 32, 3, h0, w0, 2)
    h, w = t.conv(32, 64, 3, h, w)

    def block(chs, h, w, s=1, d=1, skip="conv"):
        if skip == "conv":
            t.conv(chs[0], chs[3], 1, h, w, s, p=0)
        h, w = t.sep(chs[0], chs[1], h, w, 1, d)
        h, w = t.sep(chs[1], chs[2], h, w, 1, d)
        return t.sep(chs[2], chs[3], h, w, s, d)

    h, w = block((64, 128, 128, 128), h, w, 2)
    lh, lw = h, w                                     # the low-level features (256) at stride 4
    h, w = block((128, 256, 256, 256), h, w, 2)
    h, w = block((256, 728, 728, 728), h, w, 2)
    for _ in range(16):
        block((728,) * 4, h, w, skip="sum")
    block((728, 728, 1024, 1024), h, w)
    block((1024, 1536, 1536, 2048), h, w, d=2, skip="none")
    t.conv(2048, 256, 1, 1, 1)                        # image pooling
    t.conv(2048, 256, 1, h, w)
    for d in (6, 12, 18):
        t.sep(2048, 256, h, w, 1, d)
    t.conv(5 * 256, 256, 1, h, w)
    t.conv(256, 48, 1, lh, lw)
    t.sep(304, 256, lh, lw)
    t.sep(256, 256, lh, lw)
    t.conv(256, 21, 1, lh, lw)
    return t.macs


@pytest.mark.parametrize("name", sorted(AIHUB))
def test_zoo_entry_input_is_the_aihub_input_spec(name, counts):
    r = counts(name)
    assert list(r.graph.inputs.values()) == [(1, 3, *AIHUB[name][1])]
    assert zoo.find(name).name == name


def test_posenet_parameters_and_macs(counts):
    r = counts("posenet_mobilenet")
    assert r.params == 3_313_907 and round(r.params / 1e6, 2) == AIHUB["posenet_mobilenet"][0]
    convs = sum(op.macs for op in r.graph.ops if op.kind == "conv")
    macs, hw = posenet_macs(513, 257)
    assert hw == (33, 17)
    assert convs == macs == 2_324_182_464
    assert r.macs == macs  # the normalisation, sigmoid and max pool are not multiply-accumulates


def test_posenet_outputs():
    with torch.no_grad():
        outs = aihub_misc.posenet_mobilenet()(torch.rand(1, 3, 513, 257))
    assert [tuple(o.shape) for o in outs] == [(1, 17, 33, 17), (1, 34, 33, 17), (1, 32, 33, 17),
                                             (1, 32, 33, 17), (1, 17, 33, 17)]
    heat, peaks = outs[0], outs[4]
    assert bool((peaks >= heat).all()) and 0 <= float(heat.min()) and float(heat.max()) <= 1


def test_posenet_output_stride_turns_the_last_stride_into_dilation():
    net = aihub_misc.posenet_mobilenet()
    dws = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
    assert [(m.stride[0], m.dilation[0]) for m in dws[-2:]] == [(1, 1), (1, 2)]
    assert sum(m.stride[0] == 2 for m in net.modules() if isinstance(m, torch.nn.Conv2d)) == 4


def test_deeplab_xception_parameters(counts):
    r = counts("deeplab_xception")
    net = aihub_misc.deeplab_xception()
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    bn_channels = sum(m.num_features for m in bns)
    assert r.params == 41_055_413 and len(bns) == 146
    state = r.params + 2 * bn_channels + len(bns)     # + running mean and variance, batch counter
    assert state == sum(v.numel() for v in net.state_dict().values()) == 41_258_359
    assert round(state / 1e6, 2) == AIHUB["deeplab_xception"][0]
    assert round(r.params / 1e6, 2) != AIHUB["deeplab_xception"][0]


def test_deeplab_xception_macs(counts):
    r = counts("deeplab_xception")
    convs = sum(op.macs for op in r.graph.ops if op.kind == "conv")
    assert convs == deeplab_macs(480, 520)
    assert 49e9 < r.macs < 50e9


def test_deeplab_xception_output_is_the_class_map():
    net = aihub_misc.deeplab_xception()
    with torch.no_grad():
        out = net(torch.rand(1, 3, 96, 112))
        logits = aihub_misc.DeepLabV3PlusXception(argmax=False).eval()(torch.rand(1, 3, 96, 112))
    assert tuple(out.shape) == (1, 96, 112) and out.dtype == torch.uint8 and int(out.max()) < 21
    assert tuple(logits.shape) == (1, 21, 96, 112)


def test_separable_conv_by_hand():
    # 3x3 depthwise + 1x1 pointwise, no bias; two BatchNorms (2 per channel)
    m = aihub_misc.SeparableConv(728, 1024)
    assert sum(p.numel() for p in m.parameters()) == 9 * 728 + 728 * 1024 + 2 * (728 + 1024)


@pytest.mark.parametrize("alias,name", [("posenet_mobilenet", "posenet_mobilenet"), ("posenet-mobilenet", "posenet_mobilenet"),
                                        ("deeplab_xception", "deeplab_xception"), ("deeplab-xception", "deeplab_xception")])
def test_aliases(alias, name):
    assert zoo.find(alias).name == name
