"""The Hailo Model Zoo classifiers written in chipfit/frontends/pytorch/nets/hailo_cls.py, counted
against the figures Hailo and the original authors publish.

Sources:
  * https://github.com/hailo-ai/hailo_model_zoo commit c83fc030, ``hailo_model_zoo/cfg/networks/<id>.yaml``:
    ``info.parameters`` and ``info.operations`` (OPS, two per multiply-accumulate).
  * Touvron et al. 2021, arXiv:2012.12877, Table 1: DeiT-Ti 5M parameters, 1.3G FLOPs (multiply-adds).
  * Touvron et al. 2021, "ResMLP", arXiv:2105.03404: ResMLP-S12 15M parameters, 3.0G FLOPs.
  * Yu et al. 2022, arXiv:2111.11418: PoolFormer-S12 12M parameters, 1.8G MACs.
  * Li et al. 2022, arXiv:2206.01191: EfficientFormer-L1 12.3M parameters, 1.3G MACs.
  * Graham et al. 2021, arXiv:2104.01136: LeViT-128/192/256/384 9.2M / 406M, 10.9M / 658M, 18.9M / 1120M,
    39.1M / 2353M (parameters / multiply-adds).
  * ChengpengChen/RepGhost readme: RepGhostNet 1.0x 4.1M / 142M FLOPs, 2.0x 9.8M / 516M (conv and fc
    layers only, multiply-adds).

Hailo's figures for its ViTs are not all of one kind: ``vit_base_bn`` (86.5M / 35.188G) is the
whole ViT-B/16, but ``vit_tiny`` (2.2G) and ``vit_small`` (8.62G) are twice the MACs of the linear
layers and the patch embedding alone (the attention matmuls left out), its ``_bn`` variants repeat
those figures, and ``deit_tiny``'s 5.3M parameters is 7 % below the architecture's (as for
deit_small and deit_base). Each figure is held to what it matches, the rest to the paper and to a
hand count of the architecture.
"""

import pytest

torch = pytest.importorskip("torch", reason="needs torch")
pytest.importorskip("torchvision", reason="needs torchvision (pip install 'chipfit[vision]')")

from chipfit.data import zoo  # noqa: E402

#: Hailo id -> (chipfit network, Hailo parameters (M), Hailo OPS (G))
HAILO = {
    "deit_tiny": ("deit_tiny", 5.3, 2.57),
    "vit_tiny": ("deit_tiny", 5.73, 2.2),
    "vit_small": ("deit_small", 21.12, 8.62),
    "vit_tiny_bn": ("vit_tiny_bn", 5.73, 2.2),
    "vit_small_bn": ("vit_small_bn", 21.12, 8.62),
    "vit_base_bn": ("vit_base_bn", 86.5, 35.188),
}

#: ViT widths and whether the MLP holds a norm
VIT = {"deit_tiny": (192, False), "deit_small": (384, False), "vit_tiny_bn": (192, True),
       "vit_small_bn": (384, True), "vit_base_bn": (768, False)}


def _vit_params(d: int, mlp_norm: bool) -> int:
    """ViT-x/16 at 224 px: patch embedding, class token and 197 positions, 12 layers of two norms
    (2d each), qkv (3d^2 + 3d), output projection (d^2 + d), MLP (8d^2 + 5d, plus 8d for a norm
    inside it), the final norm and a 1000-way classifier."""
    layer = 4 * d + 12 * d * d + 4 * d + 5 * d + (8 * d if mlp_norm else 0)
    return 3 * 256 * d + d + 198 * d + 12 * layer + 2 * d + 1000 * d + 1000


def _vit_macs(d: int) -> tuple[int, int]:
    """(all MACs, MACs of the attention matmuls) of ViT-x/16 at 224 px (196 patches + class token)."""
    attention = 12 * 2 * 197 * 197 * d
    return 196 * 768 * d + 12 * 197 * 12 * d * d + attention + 1000 * d, attention


def _attention_macs(result) -> int:
    return sum(op.macs for op in result.graph.ops if op.kind == "attention")


def test_every_hailo_id_finds_its_network():
    for hailo_id, (name, _, _) in HAILO.items():
        entry = zoo.find(hailo_id)
        assert entry is not None and entry.name == name, hailo_id
        assert hailo_id in entry.aliases
        assert entry.input_shape == [1, 3, 224, 224]


@pytest.mark.parametrize("name", sorted(VIT))
def test_vit_counts_match_the_hand_count(name, counts):
    d, mlp_norm = VIT[name]
    r = counts(name)
    assert r.params == _vit_params(d, mlp_norm)
    macs, attention = _vit_macs(d)
    assert r.macs == macs
    assert _attention_macs(r) == attention
    assert list(r.graph.inputs.values())[0] == (1, 3, 224, 224)
    assert tuple(r.graph.ops[-1].output_shapes[0]) == (1, 1000)


def test_bn_variants_have_no_layernorm(counts):
    for name in ("vit_tiny_bn", "vit_small_bn", "vit_base_bn"):
        ops = counts(name).graph.ops
        assert not any("layer_norm" in op.op for op in ops), name
        norms = sum(op.kind == "norm" for op in ops)
        assert norms == (37 if VIT[name][1] else 25), name  # 2 per layer (+1 in the MLP), 1 final
    assert any(op.op == "relu" for op in counts("vit_small_bn").graph.ops)
    assert not any(op.op == "gelu" for op in counts("vit_small_bn").graph.ops)


def test_deit_tiny_matches_the_paper(counts):
    r = counts("deit_tiny")
    assert round(r.params / 1e6) in (5, 6)  # the paper prints "5M" for 5.7M
    assert abs(r.macs / 1e9 - 1.3) <= 0.04 * 1.3


@pytest.mark.parametrize("hailo_id", ["vit_base_bn", "deit_tiny"])
def test_ops_match_hailo_whole_network(hailo_id, counts):
    name, _, ops = HAILO[hailo_id]
    ours = 2 * counts(name).macs / 1e9
    assert abs(ours - ops) <= 0.03 * ops, ours


@pytest.mark.parametrize("hailo_id", ["vit_tiny", "vit_small", "vit_tiny_bn", "vit_small_bn"])
def test_ops_match_hailo_without_attention_matmuls(hailo_id, counts):
    name, _, ops = HAILO[hailo_id]
    r = counts(name)
    ours = 2 * (r.macs - _attention_macs(r)) / 1e9
    assert abs(ours - ops) <= 0.025 * ops, ours
    # with the attention matmuls the network is 6-14 % above Hailo's figure
    assert 2 * r.macs / 1e9 > 1.05 * ops


@pytest.mark.parametrize("hailo_id", ["vit_tiny", "vit_tiny_bn", "vit_base_bn"])
def test_parameters_match_hailo(hailo_id, counts):
    name, params, _ = HAILO[hailo_id]
    assert abs(counts(name).params / 1e6 - params) <= 0.005 * params


def test_hailo_parameter_figures_below_the_architecture(counts):
    # deit_tiny 7 % and vit_small(_bn) 4 % below the architecture's count: held loosely, so a
    # network that grew or lost a layer would still fail
    for hailo_id, lo, hi in (("deit_tiny", 0.06, 0.09), ("vit_small", 0.03, 0.05),
                             ("vit_small_bn", 0.03, 0.05)):
        name, params, _ = HAILO[hailo_id]
        gap = 1 - params * 1e6 / counts(name).params
        assert lo <= gap <= hi, (hailo_id, gap)


# ------------------------------------------------------------------ CNNs and ResMLP against Hailo

#: chipfit network -> (input size, Hailo Params (M) as printed, Hailo OPS (G), classes in Hailo's export)
HAILO_CNN = {
    "resmlp12_relu": (224, "15.77", 6.04, 1000),
    "repghost_1_0x": (224, "4.1", 0.28, 1000),
    "repghost_2_0x": (224, "9.8", 1.04, 1000),
    "efficientnet_s": (224, "5.41", 4.72, 1001),
    "efficientnet_m": (240, "6.87", 7.32, 1001),
    "efficientnet_l": (300, "10.55", 19.4, 1001),
    "poolformer_s12": (224, "11.93", 3.67, 1000),
    "efficientformer_l1": (224, "12.3", 2.6, 1000),
    "levit128": (224, "9.2", 0.8, 1000),
    "levit192": (224, "10.9", 1.3, 1000),
    "levit256": (224, "18.9", 2.3, 1000),
    "levit384": (224, "39.1", 4.7, 1000),
}


def _bn_channels(name: str) -> int:
    from chipfit.frontends.pytorch.build import build_module
    from chipfit.frontends.pytorch.nets import hailo_cls

    model = build_module(getattr(hailo_cls, zoo.find(name).builder.rsplit(":", 1)[1]))
    return sum(m.num_features for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))


@pytest.mark.parametrize("name", sorted(HAILO_CNN))
def test_cnn_zoo_entry_and_shapes(name, counts):
    size = HAILO_CNN[name][0]
    entry = zoo.find(name)
    assert entry.name == name and name in entry.aliases
    assert entry.builder.startswith("chipfit.frontends.pytorch.nets.hailo_cls:")
    assert entry.input_shape == [1, 3, size, size]
    r = counts(name)
    assert list(r.graph.inputs.values())[0] == (1, 3, size, size)
    assert tuple(r.graph.ops[-1].output_shapes[0]) == (1, 1000)


@pytest.mark.parametrize("name", ["repghost_1_0x", "repghost_2_0x", "efficientnet_s", "efficientnet_m",
                                  "efficientnet_l"])
def test_folded_parameters_match_hailo(name, counts):
    _, printed, _, classes = HAILO_CNN[name]
    digits = len(printed.split(".")[1])
    folded = counts(name).params - _bn_channels(name)
    head = counts(name).graph.ops[-1].input_shapes[1][-1]  # addmm(bias, features, weight)
    folded += (classes - 1000) * (head + 1)  # Hailo's TFLite keeps TF's 1001 classes
    assert f"{folded / 1e6:.{digits}f}" == printed, folded


@pytest.mark.parametrize("name", sorted(HAILO_CNN))
def test_cnn_ops_match_hailo(name, counts):
    ops = HAILO_CNN[name][2]
    ours = 2 * counts(name).macs / 1e9
    # Hailo prints 0.28G for RepGhost's 0.285G, 0.8G / 1.3G / 2.3G for LeViT-128/192/256's 0.811G /
    # 1.314G / 2.255G; its PoolFormer figure counts the pooling too (+1.3 %)
    loose = ("repghost_1_0x", "poolformer_s12", "levit128", "levit192", "levit256")
    tol = 0.021 if name in loose else 0.01
    assert abs(ours - ops) <= tol * ops, ours


def test_repghost_matches_its_readme(counts):
    for name, params, mflops in (("repghost_1_0x", 4.1, 142), ("repghost_2_0x", 9.8, 516)):
        r = counts(name)
        assert round(r.params / 1e6, 1) == params, name
        assert abs(r.macs / 1e6 - mflops) <= 0.005 * mflops, name


def test_repghost_is_the_deploy_form(counts):
    # each RepGhost module's cheap branch is one 3x3 depthwise conv with a bias (its BatchNorm and
    # identity branches fused in): 9C + C parameters, two modules in each of the 16 bottlenecks;
    # the stride-2 and shortcut depthwise convs keep a BatchNorm and have no bias; no concatenation
    ops = counts("repghost_1_0x").graph.ops
    assert not any(op.op == "cat" for op in ops)
    fused = [op for op in ops if op.op == "convolution" and op.input_shapes[1][1:] == (1, 3, 3)
             and op.params == 10 * op.input_shapes[1][0]]
    assert len(fused) == 32


def _resmlp_counts(dim: int = 384, depth: int = 12, patches: int = 196) -> tuple[int, int]:
    """ResMLP params and MACs by hand: patch embedding, per layer two norms (2 x dim each), the
    cross-patch linear (p^2 + p), two layer scales, the MLP (8 dim^2 + 5 dim); a norm and the
    classifier."""
    layer = 4 * dim + patches * patches + patches + 2 * dim + 8 * dim * dim + 5 * dim
    params = 768 * dim + dim + depth * layer + 2 * dim + 1000 * dim + 1000
    macs = patches * 768 * dim + depth * (dim * patches * patches + 8 * patches * dim * dim) + 1000 * dim
    return params, macs


def test_resmlp_matches_the_hand_count_and_the_paper(counts):
    r = counts("resmlp12_relu")
    params, macs = _resmlp_counts()
    assert r.params == params and r.macs == macs
    assert round(r.params / 1e6) == 15 and abs(r.macs / 1e9 - 3.0) <= 0.01 * 3.0
    # Hailo's 15.77M is 2.7 % above the architecture's count (its compiled graph holds more)
    assert 0.02 <= float(HAILO_CNN["resmlp12_relu"][1]) * 1e6 / r.params - 1 <= 0.035
    assert any(op.op == "relu" for op in r.graph.ops)


def test_efficientnet_edgetpu_s_first_block_expands_the_stated_width(counts):
    # efficientnet_edgetpu_builder.py: "r1_k3_s11_e4_i24_o24_c1_noskip" after a 32-channel stem: a 3x3
    # conv 32 -> 96 at 112 x 112, then a 1x1 conv 96 -> 24, no skip
    convs = [op for op in counts("efficientnet_s").graph.ops if op.op == "convolution"]
    assert convs[1].input_shapes[1] == (96, 32, 3, 3)
    assert tuple(convs[1].output_shapes[0]) == (1, 96, 112, 112)
    assert convs[2].input_shapes[1] == (24, 96, 1, 1)
    # the fused blocks put the stride in the 1x1 projection: the next 3x3 conv still runs at 112 x 112
    assert convs[3].input_shapes[1] == (192, 24, 3, 3)
    assert tuple(convs[3].output_shapes[0]) == (1, 192, 112, 112)
    assert tuple(convs[4].output_shapes[0]) == (1, 32, 56, 56)


def _poolformer_counts() -> tuple[int, int]:
    """PoolFormer-S12 by hand: stem, per stage a 3x3 stride-2 embedding and blocks of two
    GroupNorms (2d each), two layer scales and the MLP (8 d^2 + 5 d), a GroupNorm and the classifier."""
    params, macs, cin, hw = 3 * 49 * 64 + 64, 56 * 56 * 64 * 147, 64, 56
    for i, (n, d) in enumerate(zip((2, 2, 6, 2), (64, 128, 320, 512))):
        if i:
            hw //= 2
            params += cin * 9 * d + d
            macs += hw * hw * d * cin * 9
        params += n * (8 * d * d + 11 * d)
        macs += n * hw * hw * 8 * d * d
        cin = d
    return params + 2 * 512 + 513_000, macs + 512_000


def test_poolformer_matches_the_hand_count_and_the_paper(counts):
    r = counts("poolformer_s12")
    assert (r.params, r.macs) == _poolformer_counts()
    assert round(r.params / 1e6) == 12 and abs(r.macs / 1e9 - 1.8) <= 0.01 * 1.8
    assert abs(r.params / 1e6 - float(HAILO_CNN["poolformer_s12"][1])) <= 0.002 * r.params / 1e6
    assert sum(op.kind == "norm" for op in r.graph.ops) == 2 * 12 + 1


def test_efficientformer_l1_matches_the_paper_and_its_layout(counts):
    r = counts("efficientformer_l1")
    assert round(r.params / 1e6, 1) == 12.3 and abs(r.macs / 1e9 - 1.3) <= 0.01 * 1.3
    # one attention block on the 7 x 7 tokens: q k^T and attn v per head, 8 x 49 x 49 x (32 + 128)
    assert sum(op.macs for op in r.graph.ops if op.op in ("bmm", "matmul")) == 8 * 49 * 49 * (32 + 128)
    # its linear layers: qkv 448 -> 1536, projection 1024 -> 448, MLP 448 -> 1792 -> 448 on 49 tokens,
    # and the two classifiers
    linear = 49 * (448 * 1536 + 1024 * 448 + 2 * 448 * 1792) + 2 * 448 * 1000
    assert sum(op.macs for op in r.graph.ops if op.op == "addmm") == linear
    assert sum(op.op == "native_layer_norm" for op in r.graph.ops) == 3


#: LeViT: published parameters (M) and multiply-adds (M) from the paper
LEVIT = {"levit128": (9.2, 406), "levit192": (10.9, 658), "levit256": (18.9, 1120), "levit384": (39.1, 2353)}


@pytest.mark.parametrize("name", sorted(LEVIT))
def test_levit_matches_the_paper(name, counts):
    params, mmacs = LEVIT[name]
    r = counts(name)
    assert round(r.params / 1e6, 1) == params
    assert round((r.params - _bn_channels(name)) / 1e6, 1) == params  # BatchNorm folded, as Hailo compiles it
    assert abs(r.macs / 1e6 - mmacs) <= 0.007 * mmacs


def test_levit128_attention_by_hand(counts):
    # 14x14, 7x7 and 4x4 token grids; per stage four attentions of h heads (q k^T with key size 16,
    # attn v with values of 32), and the two stride-2 attentions (queries on the smaller grid, key size
    # 16, values of 64, 8 and 16 heads)
    macs = sum(4 * h * n * n * (16 + 32) for h, n in ((4, 196), (8, 49), (12, 16)))
    macs += 8 * 49 * 196 * (16 + 64) + 16 * 16 * 49 * (16 + 64)
    assert sum(op.macs for op in counts("levit128").graph.ops if op.op in ("bmm", "matmul")) == macs
