"""FFNet segmentation networks written in chipfit/frontends/pytorch/nets/ffnet.py, counted against the
parameter counts Qualcomm AI Hub publishes for its exports and against the MACs written out layer by
layer below.

Sources:
  * https://github.com/quic/ai-hub-models v0.46.1 (commit 52c080d2),
    ``qai_hub_models/models/ffnet_{40s,54s,78s,78s_lowres,122ns_lowres}/info.yaml``: "Input
    resolution" 2048x1024 / 1024x512 (width x height: ``CityscapesSegmentor.get_input_spec`` is
    height 1024, width 2048; ``FFNetLowRes`` height 512, width 1024) and "Number of parameters" 13.9M,
    18.0M, 27.5M, 26.8M, 32.1M.
  * https://github.com/Qualcomm-AI-research/FFNet commit 0887620d (the commit AI Hub pins): the README
    table of mobile models (1024x2048 in, 128x256 out for the dBBB networks).

AI Hub's counts are those of the exported graph, where every BatchNorm is folded into the convolution
before it (its scale into the weights, its shift into a bias): c values per BN, not the 2c (scale and
shift) chipfit counts for an unfolded BN. The two differ by 9K-20K here, inside the cards' rounding
for four of the networks, but FFNet-122NS-LowRes has 32,165,683 unfolded (32.2M) and 32,145,283
folded (32.1M, the card), so the folded count is the one compared.

The FFNet paper (arXiv:2206.08236) compares the mobile networks by latency and accuracy; no FLOP or
MAC figure for these exact AI Hub variants (with the LowRes pre-downsampling) is published with them,
so the MACs are held to the layer-by-layer formula below.
"""

import pytest

from chipfit.analysis.count import count

torch = pytest.importorskip("torch", reason="needs torch")
pytest.importorskip("torchvision", reason="needs torchvision (pip install 'chipfit[vision]')")

#: AI Hub model cards: "Number of parameters" (M, printed to 0.1M) and the input (height, width)
AIHUB = {
    "ffnet-40s": (13.9, (1024, 2048)),
    "ffnet-54s": (18.0, (1024, 2048)),
    "ffnet-78s": (27.5, (1024, 2048)),
    "ffnet-78s-lowres": (26.8, (512, 1024)),
    "ffnet-122ns-lowres": (32.1, (512, 1024)),
}

#: name -> (backbone kind, blocks per stage, stage strides, head type, pre-downsampling)
ARCH = {
    "ffnet-40s": ("S", (4, 5, 6, 4), (2, 2, 2, 2), "B", False),
    "ffnet-54s": ("S", (5, 8, 8, 5), (2, 2, 2, 2), "B", False),
    "ffnet-78s": ("S", (6, 12, 12, 8), (2, 2, 2, 2), "B", False),
    "ffnet-78s-lowres": ("S", (6, 12, 12, 8), (1, 2, 2, 2), "C", True),
    "ffnet-122ns-lowres": ("NS", (16, 24, 20), (2, 2, 2), "C", True),
}


def _out(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


class _Tally:
    """MACs and folded parameters (conv weights, plus one bias per output channel: every conv
    here has a bias or a BatchNorm folded into one)."""

    def __init__(self):
        self.macs = 0
        self.params = 0

    def conv(self, c1, c2, k, h, w, s=1, groups=1, param=True):
        ho, wo = _out(h, k, s, k // 2), _out(w, k, s, k // 2)
        self.macs += k * k * (c1 // groups) * c2 * ho * wo
        if param:
            self.params += k * k * (c1 // groups) * c2 + c2
        return ho, wo

    def stage(self, c1, c2, n, s, h, w):
        for i in range(n):
            ci, si = (c1, s) if i == 0 else (c2, 1)
            ho, wo = self.conv(ci, c2, 3, h, w, si)
            self.conv(c2, c2, 3, ho, wo)
            if ci != c2 or si != 1:
                self.conv(ci, c2, 1, h, w, si)
            h, w = ho, wo
        return h, w


def formula(name: str) -> tuple[int, int, tuple[int, int]]:
    kind, blocks, strides, head, pre_down = ARCH[name]
    h, w = AIHUB[name][1]
    t = _Tally()
    if pre_down:   # reflection pad of 1 row top and bottom, 5x5 depthwise Gaussian, stride 2, no padding
        h, w = _out(h + 2, 5, 2, 0), _out(w, 5, 2, 0)
        t.macs += 25 * 3 * h * w
    feats = []
    if kind == "S":
        h, w = t.conv(3, 32, 3, h, w, 2)
        h, w = t.conv(32, 64, 3, h, w, 2)
        chans = (64, 64, 128, 192, 320)
        for i in range(4):
            h, w = t.stage(chans[i], chans[i + 1], blocks[i], strides[i], h, w)
            feats.append((chans[i + 1], h, w))
    else:
        h, w = t.conv(3, 64, 3, h, w, 2)
        h, w = t.conv(64, 64, 3, h, w, 2)
        h, w = t.conv(64, 64, 3, h, w, 1)
        feats.append((64, h, w))
        chans = (64, 64, 128, 256)
        for i in range(3):
            h, w = t.stage(chans[i], chans[i + 1], blocks[i], strides[i], h, w)
            feats.append((chans[i + 1], h, w))
    base, outs = {"B": ((64, 128, 128, 256), (96, 96, 64, 32)), "C": ((128,) * 4, (128, 16, 16, 16))}[head]
    for (c, fh, fw), b in zip(feats, base):
        t.conv(c, b, 1, fh, fw)                                   # adapters
    for i in range(4):
        _, fh, fw = feats[i]
        t.conv(base[i], outs[i], 3, fh, fw)                       # 3x3 branch outputs
        if i < 3:
            _, gh, gw = feats[i + 1]
            t.conv(base[i + 1], base[i], 1, gh, gw)               # 1x1 top-down laterals
    _, fh, fw = feats[0]
    mid, k = {"B": (256, 3), "C": (128, 1)}[head]
    t.conv(sum(outs), mid, 3, fh, fw)
    t.conv(mid, 19, k, fh, fw)
    return t.macs, t.params, (fh, fw)


BUILDERS = {
    "ffnet-40s": "ffnet_40s", "ffnet-54s": "ffnet_54s", "ffnet-78s": "ffnet_78s",
    "ffnet-78s-lowres": "ffnet_78s_lowres", "ffnet-122ns-lowres": "ffnet_122ns_lowres",
}


def _model(name):
    from chipfit.frontends.pytorch.nets import ffnet

    return getattr(ffnet, BUILDERS[name])().eval()


@pytest.mark.parametrize("name", sorted(AIHUB))
def test_ffnet_matches_ai_hub_parameters_and_the_mac_formula(name):
    r = count(name)
    macs, folded, _ = formula(name)
    bn = sum(m.num_features for m in _model(name).modules() if isinstance(m, torch.nn.BatchNorm2d))
    mid = {"B": 256, "C": 128}[ARCH[name][3]]
    # unfolded BN: 2c (scale, shift); folded: c biases, merged with the bias of the segmentation
    # head's 3x3 conv (the one conv with both a bias and a BN after it)
    assert r.params - bn - mid == folded
    assert abs(folded / 1e6 - AIHUB[name][0]) <= 0.05 + 1e-9, (name, folded)
    assert r.macs == macs, (name, r.macs, macs)


@pytest.mark.parametrize("name", sorted(AIHUB))
def test_ffnet_default_input_and_output(name):
    from chipfit.data import zoo

    h, w = AIHUB[name][1]
    assert list(zoo.lookup(name).input_shape) == [1, 3, h, w]
    assert zoo.lookup(name.replace("-", "_")).name == name
    _, _, out_hw = formula(name)
    with torch.no_grad():
        y = _model(name)(torch.rand(1, 3, h, w))
    assert tuple(y.shape) == (1, 19, *out_hw) == (1, 19, h // 8, w // 8)


def test_ffnet_lowres_keeps_the_pre_downsampling():
    """AI Hub wraps the ``_pre_down`` variants and feeds them 512x1024: the fixed Gaussian (a buffer,
    not a parameter) takes the input to 255x510 before the backbone."""
    m = _model("ffnet-78s-lowres")
    assert not any(p.data_ptr() == m.pre_down.weight.data_ptr() for p in m.parameters())
    with torch.no_grad():
        assert tuple(m.pre_down(torch.rand(1, 3, 512, 1024)).shape) == (1, 3, 255, 510)
