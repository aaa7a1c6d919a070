"""Qualcomm AI Hub networks written in chipfit/frontends/pytorch/nets/qcom_nets.py (FaceMap 3DMM,
FootTrackNet, GearGuardNet, FaceAttribNet, Lightweight-Face-Detection), counted against the parameter
counts AI Hub publishes for its exports and against the MACs written out layer by layer below.

Sources:
  * https://github.com/quic/ai-hub-models v0.46.1 (commit 52c080d2),
    ``qai_hub_models/models/{facemap_3dmm,foot_track_net,gear_guard_net,face_attrib_net,
    face_det_lite}/info.yaml``: "Number of parameters" 5.42M, 2.53M, 6.19M, 12.1M, 878K; "Input
    resolution" 128x128, 640x480, 320x192, 128x128, 480x640. The input each export runs is the one
    ``get_input_spec`` defaults to (height, width): 128x128, 480x640, 320x192, 128x128, and 480x640
    with one grey channel for face_det_lite.

AI Hub's counts are those of the exported graph, where every BatchNorm is folded into the convolution
before it (c biases per BN instead of chipfit's 2c scale and shift) and where a module the forward
never calls (face_det_lite's ``bridge`` conv) is absent. FootTrackNet (2,536,145 unfolded, 2.54M;
2,530,598 folded, the card's 2.53M), GearGuardNet (6.20M unfolded, 6.19M folded, the card) and
face_det_lite (880K unfolded; 877,743 folded, the card's 878K) tell the two apart, so the folded count
is the one compared.

FaceAttribNet's card (12.1M, "Model checkpoint: multitask_FR_state_dict.pt") describes the earlier
multitask network, which AI Hub replaced by the detection-only one (checkpoint
``detection_only_05302025.pt``) without updating the card: the earlier one adds a face-recognition
embedding block (8x8 grouped conv and 1x1 conv at 512 channels), a liveness head in place of one eye
head and a 3->1 input conv, 12.14M folded. The detection-only network v0.46.1 exports has 10.81M
(folded), held here to the formula below.

No MAC or FLOP figure is published for these networks, so the MACs are held to the layer-by-layer
formula below (convolutions and linear layers; pools, element-wise ops and upsampling count none).
"""

import pytest

torch = pytest.importorskip("torch", reason="needs torch")
pytest.importorskip("torchvision", reason="needs torchvision (pip install 'chipfit[vision]')")

#: zoo name -> (AI Hub id, card "Number of parameters", the exported input (C, H, W))
AIHUB = {
    "facemap-3dmm": ("facemap_3dmm", 5.42e6, (3, 128, 128)),
    "foot-track-net": ("foot_track_net", 2.53e6, (3, 480, 640)),
    "gear-guard-net": ("gear_guard_net", 6.19e6, (3, 320, 192)),
    "face-attrib-net": ("face_attrib_net", 12.1e6, (3, 128, 128)),
    "face-det-lite": ("face_det_lite", 878e3, (1, 480, 640)),
}
#: the card's rounding: 3 significant figures
ROUND = {"facemap-3dmm": 0.005e6, "foot-track-net": 0.005e6, "gear-guard-net": 0.005e6,
         "face-det-lite": 0.5e3}


def _out(n, k, s, p):
    return (n + 2 * p - k) // s + 1


class Tally:
    """MACs and folded parameters: conv weights plus one bias per output channel for every conv with a
    bias or a BatchNorm after it (folded into a bias), linear layers, PReLU slopes."""

    def __init__(self):
        self.macs = 0
        self.params = 0

    def conv(self, c1, c2, k, h, w, s=1, p=None, g=1, bias=True):
        p = k // 2 if p is None else p
        ho, wo = _out(h, k, s, p), _out(w, k, s, p)
        self.macs += k * k * (c1 // g) * c2 * ho * wo
        self.params += k * k * (c1 // g) * c2 + (c2 if bias else 0)
        return ho, wo

    def linear(self, c1, c2):
        self.macs += c1 * c2
        self.params += c1 * c2 + c2

    def prelu(self, n=1):
        self.params += n


def facemap(h, w):
    t = Tally()
    t.conv(3, 1, 1, h, w)                                  # RGB -> grey, with bias
    h, w = t.conv(1, 32, 7, h, w, 2)
    h, w = (h + 1 - 3) // 2 + 1, (w + 1 - 3) // 2 + 1      # zero pad right/bottom, 3x3/2 max pool
    c = 32
    for i, stage in enumerate(((32, 32), (64, 64), (128, 128), (256, 512))):
        for j, c2 in enumerate(stage):
            s = 2 if (j == 0 and i) else 1
            ho, wo = t.conv(c, c2, 3, h, w, s)
            t.conv(c2, c2, 3, ho, wo)
            if c != c2 or s != 1:
                t.conv(c, c2, 1, h, w, s)
            h, w, c = ho, wo, c2
    assert (h, w) == (4, 4)                                # the 4x4 average pool leaves 1x1
    t.linear(512, 265)
    return t, [(1, 265)]


#: backbone blocks, (kernel, in, expanded, out, squeeze-excitation, stride), from the two ``layers.py``
FOOT_BACKBONE = (
    (3, 16, 16, 16, False, 1), (3, 16, 64, 16, False, 2), (3, 16, 64, 16, False, 1),
    (5, 16, 96, 32, True, 2), (5, 32, 96, 32, True, 1), (5, 32, 128, 32, True, 1),
    (3, 32, 128, 64, False, 2), (3, 64, 128, 64, False, 1), (3, 64, 160, 64, False, 1),
    (3, 64, 160, 64, False, 1), (3, 64, 256, 64, True, 1), (3, 64, 320, 64, True, 1),
    (5, 64, 320, 64, True, 1), (5, 64, 320, 96, True, 2), (5, 96, 480, 96, True, 1),
)
FACE_DET_BACKBONE = (
    (3, 16, 16, 16, False, 2), (3, 16, 64, 32, False, 2), (3, 32, 96, 32, False, 1),
    (5, 32, 96, 32, True, 2), (5, 32, 224, 32, True, 1), (5, 32, 224, 32, True, 1),
    (5, 32, 128, 64, True, 1), (5, 64, 160, 64, True, 1), (5, 64, 256, 96, True, 2),
)


def mb_backbone(t, cin, cfg, taps, h, w):
    h, w = t.conv(cin, 16, 3, h, w, 2)
    outs = []
    for i, (k, c1, e, c2, se, s) in enumerate(cfg):
        t.conv(c1, e, 1, h, w)
        ho, wo = t.conv(e, c2, 3, h, w, s if k == 3 else 1)
        if k == 5:
            ho, wo = t.conv(c2, c2, 3, ho, wo, s)
        if se:
            t.conv(c2, c2 // 4, 1, 1, 1)
            t.conv(c2 // 4, c2, 1, 1, 1)
        if s == 1 and c1 != c2:
            t.conv(c1, c2, 1, h, w)
        h, w = ho, wo
        if i in taps:
            outs.append((c2, h, w))
    outs.append((cfg[-1][3], h, w))
    return outs


def detect_context(t, c, h, w):
    t.conv(c, c // 2, 3, h, w)
    t.conv(c, c // 4, 3, h, w)
    for _ in range(3):
        t.conv(c // 4, c // 4, 3, h, w)


def foot_track(h, w):
    t = Tally()
    t.conv(3, 3, 1, h, w)                                  # the input conv with its BatchNorm folded
    (c4, h4, w4), (c8, _, _), (c16, _, _), (c32, h32, w32) = mb_backbone(t, 3, FOOT_BACKBONE, (2, 5, 12), h, w)
    assert (c4, c8, c16, c32) == (16, 32, 64, 96) and (h4 * 4, h32 * 32) == (h, h)
    t.conv(96, 64, 1, h32, w32)
    for c, f in ((64, 2), (32, 4), (16, 8)):               # upsample + 3x3, and the 1x1 lateral
        t.conv(64, 64, 3, h32 * f, w32 * f)
        t.conv(c, 64, 1, h32 * f, w32 * f)
    detect_context(t, 64, h4, w4)
    for n in (1, 4, 1, 4, 1, 4, 34, 17):                   # each head: 3x3 conv-BN-ReLU, 1x1 conv
        t.conv(64, 64, 3, h4, w4)
        t.conv(64, n, 1, h4, w4)
    return t, [(1, 3, h4, w4), (1, 12, h4, w4), (1, 34, h4, w4), (1, 17, h4, w4)]


def face_det(h, w):
    t = Tally()
    (c8, h8, w8), (c16, _, _), (c32, h32, w32) = mb_backbone(t, 1, FACE_DET_BACKBONE, (2, 7), h, w)
    assert (c8, c16, c32) == (32, 64, 96) and (h8 * 8, h32 * 32) == (h, h)
    t.conv(96, 32, 1, h32, w32)
    for c, f in ((64, 2), (32, 4)):
        t.conv(32, 32, 3, h32 * f, w32 * f)
        t.conv(c, 32, 1, h32 * f, w32 * f)
    detect_context(t, 32, h8, w8)
    for n in (1, 4, 10):
        t.conv(32, n, 1, h8, w8)
    return t, [(1, 1, h8, w8), (1, 4, h8, w8), (1, 10, h8, w8)]


def gear_guard(h, w):
    t = Tally()

    def blaze(c1, c2, h, w):
        mid = max(c1, c2) // 2
        t.conv(c1, c1, 5, h, w, g=c1)
        t.conv(c1, mid, 1, h, w)
        t.conv(mid, mid, 5, h, w, g=mid)
        t.conv(mid, c2, 1, h, w)
        if c1 != c2:
            t.conv(c1, c2, 1, h, w)                        # the "channel pad" 1x1 conv, with bias

    h, w = t.conv(3, 32, 6, h, w, 2, 2)
    h, w = t.conv(32, 64, 3, h, w, 2)
    blaze(64, 64, h, w)
    h3, w3 = t.conv(64, 128, 3, h, w, 2)
    blaze(128, 128, h3, w3)
    h4, w4 = t.conv(128, 256, 3, h3, w3, 2)
    for _ in range(3):
        blaze(256, 256, h4, w4)
    h5, w5 = t.conv(256, 512, 3, h4, w4, 2)
    blaze(512, 512, h5, w5)
    t.conv(512, 512, 3, h5, w5)
    t.conv(512, 256, 1, h5, w5)
    blaze(512, 256, h4, w4)
    t.conv(256, 128, 1, h4, w4)
    blaze(256, 128, h3, w3)
    t.conv(128, 128, 3, h3, w3, 2)
    blaze(256, 256, h4, w4)
    t.conv(256, 256, 3, h4, w4, 2)
    blaze(512, 512, h5, w5)
    for c, (hh, ww) in zip((128, 256, 512), ((h3, w3), (h4, w4), (h5, w5))):
        t.conv(c, 21, 1, hh, ww)                           # 3 anchors x (4 box + 1 objectness + 2 classes)
    n = 3 * (h3 * w3 + h4 * w4 + h5 * w5)
    return t, [(1, n, 4), (1, n), (1, n)]


def face_attrib(h, w):
    t = Tally()
    t.conv(3, 64, 3, h, w)
    t.prelu()
    ho, wo = t.conv(64, 64, 3, h, w, 2, g=2, bias=False)   # stem branch 1
    t.conv(64, 64, 1, ho, wo)
    t.prelu()
    t.conv(64, 64, 3, ho, wo, g=2, bias=False)
    t.conv(64, 64, 1, ho, wo)
    t.conv(64, 64, 3, h, w, 2, g=2, bias=False)            # stem branch 2
    t.conv(64, 64, 1, ho, wo)
    t.prelu()
    h, w, c = ho, wo, 64
    feats = []
    for n in (2, 6, 3):
        g = c // 32
        ho, wo = t.conv(c, 2 * c, 3, h, w, 2, g=g, bias=False)
        t.conv(2 * c, 2 * c, 1, ho, wo)
        t.conv(c, 4 * c, 3, h, w, 2, g=g, bias=False)
        t.conv(4 * c, 2 * c, 1, ho, wo)
        t.conv(2 * c, 4 * c, 3, ho, wo, g=g, bias=False)
        t.conv(4 * c, 2 * c, 1, ho, wo)
        t.prelu(3)
        c, h, w = 2 * c, ho, wo
        for _ in range(n - 1):
            for _ in range(2):
                t.conv(c, 2 * c, 3, h, w, g=c // 32, bias=False)
                t.conv(2 * c, c, 1, h, w)
            t.prelu(2)
        feats.append((c, h, w))
    (c3, h3, w3), (c4, h4, w4) = feats[1], feats[2]
    assert (c3, c4, h4, w4) == (256, 512, 8, 8)
    for _ in range(5):
        ho, wo = t.conv(256, 128, 3, h3, w3, 2, g=8, bias=False)
        t.conv(128, 128, 1, ho, wo)
        ho, wo = t.conv(640, 320, 3, h4, w4, 2, g=20, bias=False)
        t.conv(320, 128, 1, ho, wo)
        t.prelu(2)
        assert (ho, wo) == (4, 4)                          # the 4x4 average pool leaves 1x1
        t.linear(128, 2)
    return t, [(1, 5)]


FORMULA = {"facemap-3dmm": facemap, "foot-track-net": foot_track, "gear-guard-net": gear_guard,
           "face-attrib-net": face_attrib, "face-det-lite": face_det}


def _model(name):
    from chipfit.frontends.pytorch.nets import qcom_nets

    return getattr(qcom_nets, AIHUB[name][0])().eval()


def _bn(model):
    return sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


@pytest.mark.parametrize("name", sorted(AIHUB))
def test_qcom_net_matches_the_parameter_and_mac_formula(name, counts):
    r = counts(name)
    t, _ = FORMULA[name](*AIHUB[name][2][1:])
    assert r.params - _bn(_model(name)) == t.params, (name, r.params, t.params)
    assert r.macs == t.macs, (name, r.macs, t.macs)


@pytest.mark.parametrize("name", sorted(ROUND))
def test_qcom_net_matches_the_ai_hub_card(name):
    t, _ = FORMULA[name](*AIHUB[name][2][1:])
    assert abs(t.params - AIHUB[name][1]) <= ROUND[name], (name, t.params)


def test_face_attrib_net_is_the_detection_only_network():
    """The card's 12.1M is the earlier multitask network's; the exported one has 10.81M (folded). The
    difference is mostly the face-recognition embedding block the earlier network had (an 8x8 conv in
    16 groups and a 1x1 conv, both 512 -> 512, each with a folded BN, and a PReLU)."""
    t, _ = face_attrib(128, 128)
    assert t.params == 10_813_296
    embed = 8 * 8 * 32 * 512 + 512 + 512 * 512 + 512 + 1
    assert abs(t.params + embed - AIHUB["face-attrib-net"][1]) < 0.06e6


@pytest.mark.parametrize("name", sorted(AIHUB))
def test_qcom_net_default_input_and_output(name):
    from chipfit.data import zoo

    c, h, w = AIHUB[name][2]
    assert list(zoo.lookup(name).input_shape) == [1, c, h, w]
    assert zoo.find(AIHUB[name][0]).name == name
    _, shapes = FORMULA[name](h, w)
    with torch.no_grad():
        y = _model(name)(torch.rand(1, c, h, w))
    y = y if isinstance(y, tuple) else (y,)
    assert [tuple(o.shape) for o in y] == [tuple(s) for s in shapes]


def test_gear_guard_net_outputs_decoded_boxes():
    """The export ends in the box decoding and the split, not in raw feature maps: 3,780 candidates at
    320x192 (3 anchors on 40x24, 20x12 and 10x6), class indices as uint8, scores in [0, 1]."""
    with torch.no_grad():
        boxes, scores, cls = _model("gear-guard-net")(torch.rand(1, 3, 320, 192))
    assert boxes.shape == (1, 3780, 4) and cls.dtype == torch.uint8
    assert float(scores.min()) >= 0 and float(scores.max()) <= 1
    assert bool((boxes[..., 2:] >= boxes[..., :2]).all())
