"""Each cost formula against hand arithmetic written out here, through the real tracer."""

import pytest

torch = pytest.importorskip("torch", reason="the PyTorch frontend needs torch")
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from chipfit.frontends.pytorch.trace import trace  # noqa: E402


def count_fn(fn, *shapes, device="meta", **kw):
    """Trace a function of tensors wrapped as a module."""

    class Wrap(nn.Module):
        def forward(self, *xs):
            return fn(*xs)

    xs = [torch.randn(s, device=device) for s in shapes]
    return trace(Wrap(), tuple(xs), device=device, **kw)


def only(graph, kind):
    ops = [op for op in graph.ops if op.kind == kind]
    assert len(ops) == 1, [(o.op, o.kind) for o in graph.ops]
    return ops[0]


# -- recurrent layers ----------------------------------------------------------------------
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_counts_the_same_on_the_cpu_as_step_by_step(bidirectional, bias):
    # nn.LSTM runs as oneDNN's mkldnn_rnn_layer on the CPU and step by step on the meta device.
    # By hand, I = 16, H = 32, 4H = 128 gates, T·B = 10·3 = 30 positions, 2 layers:
    # layer 1: 30 × 128 × (16 + 32) = 184,320 MACs; layer 2 takes the first's output (H, or 2H
    # when bidirectional): 30 × 128 × (32·dirs + 32); each direction counts once more.
    dirs = 2 if bidirectional else 1
    macs = dirs * (30 * 128 * (16 + 32) + 30 * 128 * (32 * dirs + 32))
    # per position and hidden unit: 8 bias adds (if biased), 4 gate adds, 3 sigmoids of 4 FLOPs,
    # 2 tanh of 1, 3 products and the cell's add: 30 with biases, 22 without
    nonmac = 2 * dirs * 30 * 32 * (30 if bias else 22)
    counted = []
    for device in ("meta", "cpu"):
        lstm = nn.LSTM(16, 32, num_layers=2, batch_first=True, bidirectional=bidirectional, bias=bias).to(device)
        g = trace(lstm, (torch.randn(3, 10, 16, device=device),), device=device)
        assert not [o.op for o in g.ops if o.kind == "unsupported"]
        counted.append((sum(o.macs for o in g.ops), sum(o.nonmac_flops for o in g.ops)))
    assert counted[0] == counted[1] == (macs, nonmac)


# -- convolutions -------------------------------------------------------------------------
def test_resnet_first_conv_worked_example():
    # K*K*Cin*Cout*Hout*Wout = 7*7*3*64*112*112
    g = trace(nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), (torch.randn(1, 3, 224, 224),))
    assert g.macs == 7 * 7 * 3 * 64 * 112 * 112 == 118_013_952
    assert g.params == 7 * 7 * 3 * 64
    assert g.flops == 2 * 118_013_952  # no bias: no extra FLOPs


def test_conv_bias_adds_one_flop_per_output():
    g = trace(nn.Conv2d(8, 16, 3, padding=1), (torch.randn(2, 8, 10, 10),))
    out = 2 * 16 * 10 * 10
    assert g.macs == out * 8 * 9
    assert g.flops == 2 * g.macs + out


def test_grouped_and_depthwise_conv():
    g = trace(nn.Conv2d(32, 64, 3, padding=1, groups=4, bias=False), (torch.randn(1, 32, 8, 8),))
    assert g.macs == 64 * 8 * 8 * (32 // 4) * 9
    dw = trace(nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), (torch.randn(1, 32, 8, 8),))
    assert dw.macs == 32 * 8 * 8 * 1 * 9


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_transposed_conv_counted_from_the_input_side(dims):
    conv = [nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d][dims - 1](4, 6, 3, stride=2, bias=False)
    spatial = (5,) * dims
    g = trace(conv, (torch.randn(1, 4, *spatial),))
    # every input element is multiplied by Cout * K^d weights (not stride^d times more)
    assert g.macs == 4 * 5 ** dims * 6 * 3 ** dims


@pytest.mark.parametrize("dims", [1, 3])
def test_conv_1d_and_3d(dims):
    conv = [nn.Conv1d, None, nn.Conv3d][dims - 1](4, 6, 3, padding=1, bias=False)
    g = trace(conv, (torch.randn(2, 4, *(7,) * dims),))
    assert g.macs == 2 * 6 * 7 ** dims * 4 * 3 ** dims


# -- matrix products ------------------------------------------------------------------------
def test_linear_with_and_without_bias():
    g = trace(nn.Linear(64, 32), (torch.randn(5, 64),))
    assert g.macs == 5 * 64 * 32 and g.flops == 2 * g.macs + 5 * 32
    assert only(g, "linear").params == 64 * 32 + 32
    g3 = trace(nn.Linear(64, 32, bias=False), (torch.randn(2, 7, 64),))
    assert g3.macs == 2 * 7 * 64 * 32 and g3.nonmac_flops == 0


def test_matmul_bmm_baddbmm_einsum():
    assert count_fn(torch.matmul, (3, 4, 5), (3, 5, 6)).macs == 3 * 4 * 5 * 6
    assert count_fn(torch.mm, (4, 5), (5, 6)).macs == 4 * 5 * 6
    assert count_fn(lambda a, b: torch.einsum("bhqd,bhkd->bhqk", a, b), (2, 3, 4, 8), (2, 3, 5, 8)).macs \
        == 2 * 3 * 4 * 5 * 8
    g = count_fn(torch.baddbmm, (3, 4, 6), (3, 4, 5), (3, 5, 6))
    assert g.macs == 3 * 4 * 5 * 6 and g.nonmac_flops == 3 * 4 * 6
    assert count_fn(torch.mv, (4, 5), (5,)).macs == 20


# -- attention ---------------------------------------------------------------------------------
B, HQ, HKV, L, S, E = 2, 8, 2, 16, 24, 32


def test_sdpa_counts_qk_and_av_once():
    g = count_fn(F.scaled_dot_product_attention, (B, HQ, L, E), (B, HQ, S, E), (B, HQ, S, E))
    op = only(g, "attention")
    assert op.macs == B * HQ * L * S * (E + E)
    assert op.nonmac_flops == B * HQ * L * S * 6
    assert g.macs == op.macs  # the kernel's own ops are not counted again


def test_sdpa_grouped_query_attention():
    fn = lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)  # noqa: E731
    g = count_fn(fn, (B, HQ, L, E), (B, HKV, L, E), (B, HKV, L, E))
    assert g.macs == B * HQ * L * L * 2 * E  # every query head sees every key: dense, no causal discount
    assert g.nonmac_flops == B * HQ * L * L * 7


@pytest.mark.parametrize("backend", ["MATH", "FLASH_ATTENTION"])
def test_sdpa_same_count_for_every_cpu_kernel(backend):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with sdpa_kernel(getattr(SDPBackend, backend)):
        g = count_fn(F.scaled_dot_product_attention, (B, HQ, L, E), (B, HQ, S, E), (B, HQ, S, E), device="cpu")
    assert g.macs == B * HQ * L * S * 2 * E


@pytest.mark.parametrize("op_name,extra", [
    ("_scaled_dot_product_flash_attention_for_cpu", ()),
    ("_scaled_dot_product_flash_attention", ()),
    ("_scaled_dot_product_efficient_attention", (None, False)),
])
def test_sdpa_aten_kernels_called_directly(op_name, extra):
    op = getattr(torch.ops.aten, op_name)
    dev = "cpu" if op_name.endswith("_cpu") else "meta"
    g = count_fn(lambda q, k, v: op(q, k, v, *extra)[0], (B, HQ, L, E), (B, HQ, S, E), (B, HQ, S, E), device=dev)
    assert only(g, "attention").macs == B * HQ * L * S * 2 * E


def test_attention_formula_directly_for_cudnn_and_heads_last_kernels():
    from chipfit.frontends.pytorch.ops import REGISTRY, TShape

    q, k = TShape((B, HQ, L, E)), TShape((B, HKV, S, E))
    cudnn = REGISTRY["aten::_scaled_dot_product_cudnn_attention"].formula(q, k, k, None, False, 0.0, True, out=q)
    assert cudnn.macs == B * HQ * L * S * 2 * E and cudnn.nonmac == B * HQ * L * S * 7
    ql, kl = TShape((B, L, HQ, E)), TShape((B, S, HKV, E))  # (B, L, H, E) layout
    flash = REGISTRY["aten::_flash_attention_forward"].formula(ql, kl, kl, None, None, L, S, 0.0, True, False, out=ql)
    assert flash.macs == B * HQ * L * S * 2 * E


def _mha_reference_macs(b, l, e, heads, ffn=None):
    proj = 4 * b * l * e * e
    attn = b * heads * l * l * 2 * (e // heads)
    return proj + attn + (2 * b * l * e * ffn if ffn else 0)


def test_multihead_attention_fused_fast_path_formula():
    e, heads = 64, 4
    mha = nn.MultiheadAttention(e, heads, batch_first=True).eval()
    x = torch.randn(2, 10, e)
    with torch.no_grad():
        g = count_fn(lambda q: torch._native_multi_head_attention(
            q, q, q, e, heads, mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight,
            mha.out_proj.bias, need_weights=False)[0], tuple(x.shape), device="cpu")
    assert only(g, "attention").macs == _mha_reference_macs(2, 10, e, heads)


def test_transformer_encoder_layer_fused_fast_path_formula():
    e, heads, ffn = 64, 4, 128
    layer = nn.TransformerEncoderLayer(e, heads, ffn, batch_first=True).eval()
    sa = layer.self_attn
    x = torch.randn(2, 10, e)
    with torch.no_grad():
        g = count_fn(lambda s: torch._transformer_encoder_layer_fwd(
            s, e, heads, sa.in_proj_weight, sa.in_proj_bias, sa.out_proj.weight, sa.out_proj.bias,
            False, False, 1e-5, layer.norm1.weight, layer.norm1.bias, layer.norm2.weight, layer.norm2.bias,
            layer.linear1.weight, layer.linear1.bias, layer.linear2.weight, layer.linear2.bias, None),
            tuple(x.shape), device="cpu")
    assert g.macs == _mha_reference_macs(2, 10, e, heads, ffn)


# -- non-MAC ops ------------------------------------------------------------------------------
N = 2 * 16 * 8 * 8


@pytest.mark.parametrize("module,per_element", [
    (nn.ReLU(), 1), (nn.GELU(), 5), (nn.GELU(approximate="tanh"), 9), (nn.SiLU(), 5),
    (nn.Sigmoid(), 4), (nn.Hardswish(), 5), (nn.Tanh(), 1), (nn.Softmax(dim=-1), 5),
])
def test_activation_costs(module, per_element):
    g = trace(module, (torch.randn(2, 16, 8, 8),))
    assert g.macs == 0 and g.nonmac_flops == per_element * N


def test_normalisation_costs():
    x = (torch.randn(2, 16, 8, 8),)
    assert trace(nn.BatchNorm2d(16), x).nonmac_flops == (2 + 2) * N           # inference BN + affine
    assert trace(nn.GroupNorm(4, 16), x).nonmac_flops == (5 + 2) * N
    assert trace(nn.LayerNorm([8]), x).nonmac_flops == (5 + 2) * N
    assert trace(nn.InstanceNorm2d(16), x).nonmac_flops == 5 * N              # no affine by default
    assert trace(nn.RMSNorm(8), x).nonmac_flops > 0


def test_pooling_costs():
    x = (torch.randn(1, 4, 8, 8),)
    assert trace(nn.MaxPool2d(2), x).nonmac_flops == 4 * 4 * 4 * (4 - 1)
    assert trace(nn.AvgPool2d(2), x).nonmac_flops == 4 * 4 * 4 * 4
    assert trace(nn.AdaptiveAvgPool2d(1), x).nonmac_flops == 4 * 64 + 4


def test_elementwise_reduction_and_resize_costs():
    assert count_fn(torch.add, (4, 5), (5,)).nonmac_flops == 20
    assert count_fn(lambda a: a.mean(-1), (4, 5)).nonmac_flops == 20 + 4
    up = count_fn(lambda a: F.interpolate(a, scale_factor=2, mode="bilinear"), (1, 2, 4, 4))
    assert up.nonmac_flops == 2 * 8 * 8 * 7
    near = count_fn(lambda a: F.interpolate(a, scale_factor=2, mode="nearest"), (1, 2, 4, 4))
    assert near.nonmac_flops == 0 and near.ops[0].kind == "resize" and near.ops[0].act_write_elems == 128


def test_sort_compares_along_its_dimension():
    # n·⌈log2 m⌉ compares for n elements sorted in runs of m: along dim 2 (m = 1000), not dim 1
    n = 2 * 8 * 1000
    assert count_fn(lambda a: torch.sort(a, dim=2, descending=True)[0], (2, 8, 1000)).nonmac_flops == n * 10
    assert count_fn(lambda a: torch.sort(a, 1)[0], (2, 8, 1000)).nonmac_flops == n * 3
    assert count_fn(lambda a: torch.argsort(a), (2, 8, 1000)).nonmac_flops == n * 10


def test_embedding_reads_only_looked_up_rows():
    emb = nn.Embedding(1000, 16)
    g = trace(emb, (torch.zeros(2, 7, dtype=torch.long),))
    op = only(g, "embedding")
    assert op.flops == 0 and op.weight_elems == 2 * 7 * 16 and op.params == 1000 * 16


def test_unsupported_ops_are_listed_never_silently_zero():
    g = count_fn(lambda a: torch.fft.rfft(a).abs(), (4, 16), device="cpu")
    assert g.unsupported, "an op without a formula must be listed"
    assert any(not op.supported for op in g.ops)


def test_shape_only_ops_cost_nothing_and_copies_move_bytes():
    g = count_fn(lambda a: a.view(4, 5).t().contiguous(), (20,))
    assert g.flops == 0
    assert [op.kind for op in g.ops] == ["data"] and g.ops[0].act_write_elems == 20
