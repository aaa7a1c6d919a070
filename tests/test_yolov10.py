"""YOLOv10 detectors of the zoo (chipfit/frontends/pytorch/nets/yolov10.py), counted against the table
their authors publish.

Sources:
  * https://github.com/THU-MIG/yolov10 at commit 453c6e38a51e9d1d5a2aa5fb7f1014a711913397: README
    model table (at 640: N 2.3M params 6.7 GFLOPs, S 7.2M 21.6, M 15.4M 59.1, B 19.1M 92.0, L 24.4M
    120.3, X 29.5M 160.4; the same as arXiv:2405.14458, Table 1) and ``flops.py``, the authors' own
    way to those figures: the one-to-many head deleted, then ``fuse()`` (BatchNorm folded into each
    convolution, which gains a bias; ``RepVGGDW`` merged into one 7x7 depthwise convolution), then
    the parameters and thop's count × 2.
  * ultralytics/ultralytics pull request 20193 (ultralytics 8.3.111), which prints the fused
    YOLOv10n both ways: both heads "2,762,608 parameters, 8.6 GFLOPs", the one-to-one head only
    "2,299,264 parameters, 6.7 GFLOPs".

What the figures count, and so what the zoo counts, is the exported network: the THU-MIG exporter
also calls ``fuse()`` and runs the head in export mode, where only the one-to-one head is
computed, so the exported ONNX model (what the edge runtimes run) holds one head, with RepVGGDW
fused. The one-to-many head is a second copy of the head that only trains the shared features.

Two differences of form, both exact:
  * chipfit keeps BatchNorm as a layer (2 parameters per channel; the fused convolution has 1 bias
    per channel) and leaves out the 16-weight DFL convolution of the box decoding, so the fused
    count is ``params - BatchNorm channels + 16``: it equals the pull request's figures to the unit.
  * thop counts the convolution modules, not the two matrix products of PSA's self-attention (at
    640 that is 0.06-0.15 GFLOPs, about 1 %), so the published GFLOPs are 2 × the convolutions'
    MACs; chipfit's total, which includes the attention, is held to them within 1 %.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs torch")

import chipfit  # noqa: E402
from chipfit.data import zoo  # noqa: E402
from chipfit.frontends.pytorch.nets import yolov10  # noqa: E402

# name: (params in M, GFLOPs at 640), THU-MIG README
YOLOV10_PUBLISHED = {
    "yolov10n": (2.3, 6.7), "yolov10s": (7.2, 21.6), "yolov10m": (15.4, 59.1), "yolov10b": (19.1, 92.0),
    "yolov10l": (24.4, 120.3), "yolov10x": (29.5, 160.4),
}
DFL_WEIGHTS = 16  # the box decoding's fixed 1x1 convolution (16 bins -> 1), a parameter in their count


@pytest.fixture(scope="module")
def counts():
    cache = {}

    def count(model, **kwargs):
        key = (model if isinstance(model, str) else repr(sorted(model.items())), tuple(sorted(kwargs.items())))
        if key not in cache:
            net = model if isinstance(model, str) else yolov10.yolov10(**model)
            kwargs.setdefault("input_shape", None if isinstance(model, str) else "1x3x640x640")
            cache[key] = chipfit.count(net, **kwargs)
        return cache[key]

    return count


def _fused_params(r) -> int:
    """Parameters with BatchNorm folded (scale and shift -> one bias), plus the DFL convolution."""
    bn_channels = sum(op.params for op in r.graph.ops if op.kind == "norm") // 2
    return r.params - bn_channels + DFL_WEIGHTS


def _conv_macs(r) -> int:
    return sum(op.macs for op in r.graph.ops if op.kind == "conv")


@pytest.mark.parametrize("name", sorted(YOLOV10_PUBLISHED))
def test_yolov10_matches_the_published_size_and_flops(name, counts):
    params_m, gflops = YOLOV10_PUBLISHED[name]
    r = counts(name)  # the zoo entry: 1x3x640x640
    assert list(r.graph.inputs.values()) == [(1, 3, 640, 640)]
    # within the table's rounding to 0.1, or 1 %
    assert abs(r.params / 1e6 - params_m) <= max(0.05, 0.01 * params_m), r.params
    assert abs(2 * r.macs / 1e9 - gflops) <= max(0.05, 0.01 * gflops), r.macs


@pytest.mark.parametrize("name", sorted(YOLOV10_PUBLISHED))
def test_the_published_figures_are_the_fused_one_to_one_network_as_thop_counts_it(name, counts):
    params_m, gflops = YOLOV10_PUBLISHED[name]
    r = counts(name)
    assert round(_fused_params(r) / 1e6, 1) == params_m, _fused_params(r)
    assert round(2 * _conv_macs(r) / 1e9, 1) == gflops, _conv_macs(r)
    attention = r.macs - _conv_macs(r)  # the only other MACs: PSA's two matrix products
    assert attention == sum(op.macs for op in r.graph.ops if op.kind == "matmul") > 0


def test_yolov10n_is_the_fused_one_to_one_network_to_the_unit(counts):
    """Pull request 20193: fused YOLOv10n, one-to-one head only: 2,299,264 parameters, 6.7 GFLOPs."""
    r = counts("yolov10n")
    assert _fused_params(r) == 2_299_264
    assert r.params == 2_307_792 and r.macs == 3_378_182_400


def test_the_one_to_many_head_is_training_only_and_not_counted(counts):
    """With both heads the same count gives the pull request's other figure (2,762,608 parameters,
    8.6 GFLOPs): the published 2.3M / 6.7 GFLOPs, and the zoo entry, hold the one-to-one head only."""
    one, both = counts("yolov10n"), counts({"scale": "n", "one2many": True})
    assert _fused_params(both) == 2_762_608
    assert round(2 * _conv_macs(both) / 1e9, 1) == 8.6
    assert round(_fused_params(both) / 1e6, 1) != YOLOV10_PUBLISHED["yolov10n"][0]
    head = sum(p.numel() for p in yolov10.yolov10("n").layers[-1].parameters())
    assert both.params - one.params == head  # the second head is a copy of the first
    # the zoo network's outputs: one head, per level 64 box bins + 80 class logits
    with torch.no_grad():
        outs = yolov10.yolov10n()(torch.zeros(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 144, 8, 8), (1, 144, 4, 4), (1, 144, 2, 2)]


def test_repvggdw_is_counted_in_its_fused_deploy_form(counts):
    """YOLOv10-S has two large-kernel CIB rows (8 and 22, both at P5: 20x20, CIB width 512). Its
    training form adds a 3x3 depthwise branch (9 weights + a BatchNorm of 2 per channel) to each; with
    it the fused count would round to 7.3M, not the published 7.2M: the table counts the fused form."""
    deploy, train = counts("yolov10s"), counts({"scale": "s", "fused": False})
    h, pixels = 512, 20 * 20
    assert train.params - deploy.params == 2 * (9 * h + 2 * h)
    assert train.macs - deploy.macs == 2 * 9 * h * pixels
    assert round(_fused_params(deploy) / 1e6, 1) == 7.2 and round(_fused_params(train) / 1e6, 1) == 7.3


def test_the_fused_repvggdw_computes_what_the_two_branches_do():
    """Both branches are linear (convolution + BatchNorm) before the SiLU, so the 3x3 kernel added
    to the 7x7 kernel's centre gives the same output: the fusion is exact."""
    torch.manual_seed(0)
    c = 8
    train, fused = yolov10.RepDW(c, fused=False).eval(), yolov10.RepDW(c, fused=True).eval()
    with torch.no_grad():
        for m in (train.conv.bn, train.conv1.bn):
            m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-1, 1)
            m.running_mean.uniform_(-1, 1), m.running_var.uniform_(0.5, 2)

        def folded(conv):
            s = conv.bn.weight / (conv.bn.running_var + conv.bn.eps).sqrt()
            return conv.conv.weight * s[:, None, None, None], conv.bn.bias - conv.bn.running_mean * s

        w7, b7 = folded(train.conv)
        w3, b3 = folded(train.conv1)
        fused.conv.conv.weight.copy_(w7 + torch.nn.functional.pad(w3, [2, 2, 2, 2]))
        bn = fused.conv.bn  # identity but for eps: scale 1/sqrt(1 + eps), shift the summed bias
        bn.running_mean.zero_(), bn.running_var.fill_(1.0)
        bn.weight.fill_((1 + bn.eps) ** 0.5), bn.bias.copy_(b7 + b3)
        x = torch.randn(2, c, 16, 16)
        assert torch.allclose(train(x), fused(x), atol=1e-5)


def test_psa_attends_over_the_p5_pixels(counts):
    """Convolutions scale with the pixels; PSA's attention (q·k over key_dim, then ·v over head_dim:
    1.5 × c MACs per pixel pair, c = 128 at N) with their square: at 640 the P5 map has 400 pixels,
    at 320 it has 100."""
    full, half = counts("yolov10n"), counts("yolov10n", input_shape="1x3x320x320")
    c = 128
    assert full.macs - 4 * half.macs == int(1.5 * c) * (400 ** 2 - 4 * 100 ** 2)


def test_scdown_and_cib_by_hand():
    # SCDown 64 -> 128: pointwise 64*128 + depthwise 9*128, each Conv with a BatchNorm (2 per channel)
    assert sum(p.numel() for p in yolov10.SCDown(64, 128).parameters()) == 64 * 128 + 9 * 128 + 2 * 2 * 128
    # CIB 32 -> 32: dw3 (32), pw 32->64, dw3 (64), pw 64->32, dw3 (32); BatchNorms 2 per channel
    weights = 9 * 32 + 32 * 64 + 9 * 64 + 64 * 32 + 9 * 32
    assert sum(p.numel() for p in yolov10.CIB(32, 32).parameters()) == weights + 2 * (32 + 64 + 64 + 32 + 32)
    lk = yolov10.CIB(32, 32, lk=True)
    assert sum(p.numel() for p in lk.parameters()) == weights + 40 * 64 + 2 * (32 + 64 + 64 + 32 + 32)


@pytest.mark.parametrize("alias", ["yolov10n", "yolov10-n", "yolo-v10n", "YOLOv10-N", "jameslahm/yolov10n"])
def test_aliases(alias):
    assert zoo.lookup(alias).name == "yolov10n"
    assert {zoo.lookup(f"yolo-v10{s}").name for s in "nsmblx"} == {f"yolov10{s}" for s in "nsmblx"}
