"""Counts must not depend on the device, the grad mode, the attention implementation or the
fused fast path that happens to run (docs/architecture.md, counting conventions)."""

import pytest

torch = pytest.importorskip("torch", reason="needs torch")
import torch.nn as nn  # noqa: E402

import chipfit  # noqa: E402
from chipfit.frontends.pytorch.trace import trace  # noqa: E402
from chipfit.render.terminal.count import count_table  # noqa: E402


def counts(g):
    return (g.macs, g.flops, g.params)


def tiny_gpt2(attn="sdpa"):
    transformers = pytest.importorskip("transformers")
    cfg = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=500, n_positions=64)
    return transformers.GPT2LMHeadModel._from_config(cfg, attn_implementation=attn).eval()


def tiny_llama(attn="sdpa"):
    transformers = pytest.importorskip("transformers")
    cfg = transformers.LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                   num_attention_heads=8, num_key_value_heads=2, vocab_size=500)
    return transformers.LlamaForCausalLM._from_config(cfg, attn_implementation=attn).eval()


def test_resnet_cpu_equals_meta():
    tvm = pytest.importorskip("torchvision.models")
    model = tvm.resnet18().eval()
    x = torch.randn(1, 3, 64, 64)
    cpu = trace(model, (x,), device="cpu")
    meta = trace(model, (x,), device="meta")
    assert counts(cpu) == counts(meta)
    assert cpu.activation_bytes() == meta.activation_bytes()
    assert next(model.parameters()).device.type == "cpu"  # the caller's module is untouched


@pytest.mark.parametrize("build", [tiny_gpt2, tiny_llama])
def test_transformer_cpu_equals_meta(build):
    model = build()
    ids = torch.zeros(1, 16, dtype=torch.long)
    cpu = trace(model, (), {"input_ids": ids}, device="cpu")
    meta = trace(model, (), {"input_ids": ids}, device="meta")
    assert counts(cpu) == counts(meta) and cpu.macs > 0


@pytest.mark.parametrize("build", [tiny_gpt2, tiny_llama])
def test_sdpa_and_eager_attention_same_macs(build):
    ids = torch.zeros(1, 16, dtype=torch.long)
    sdpa = trace(build("sdpa"), (), {"input_ids": ids})
    eager = trace(build("eager"), (), {"input_ids": ids})
    assert sdpa.macs == eager.macs
    assert eager.flops == pytest.approx(sdpa.flops, rel=0.02)  # softmax/scale written differently


@pytest.mark.parametrize("grad_mode", ["enable_grad", "no_grad", "inference_mode"])
def test_grad_mode_does_not_change_counts(grad_mode):
    model = tiny_llama()
    ids = torch.zeros(1, 16, dtype=torch.long)
    reference = trace(model, (), {"input_ids": ids}, device="cpu")
    with getattr(torch, grad_mode)():
        assert counts(trace(model, (), {"input_ids": ids}, device="cpu")) == counts(reference)


def encoder(e=64, heads=4, ffn=128, layers=2):
    layer = nn.TransformerEncoderLayer(e, heads, ffn, batch_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False).eval()


def test_transformer_encoder_fast_path_is_counted():
    """Under eval + no_grad on CPU, nn.TransformerEncoder takes a fused fast path that torch's
    own FlopCounterMode counts as 0; chipfit counts the real work."""
    from torch.utils.flop_counter import FlopCounterMode

    model, x = encoder(), torch.randn(2, 10, 64)
    b, l, e, h, f = 2, 10, 64, 4, 128
    expected = 2 * (4 * b * l * e * e + b * h * l * l * 2 * (e // h) + 2 * b * l * e * f)
    with torch.no_grad():
        graph = trace(model, (x,), device="cpu")
        torch_counter = FlopCounterMode(display=False)
        with torch_counter:
            model(x)
    assert graph.macs == expected
    assert torch_counter.get_total_flops() == 0  # the blind spot this test guards against
    assert counts(trace(model, (x,), device="meta")) == counts(graph)


def test_multihead_attention_with_and_without_no_grad():
    mha = nn.MultiheadAttention(64, 4, batch_first=True).eval()
    x = torch.randn(2, 10, 64)

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = mha

        def forward(self, x):
            return self.mha(x, x, x, need_weights=False)[0]

    model = SelfAttention()
    grad = trace(model, (x,), device="cpu")
    with torch.no_grad():
        nograd = trace(model, (x,), device="cpu")
    assert counts(grad) == counts(nograd) == counts(trace(model, (x,)))
    assert grad.macs == 4 * 2 * 10 * 64 * 64 + 2 * 4 * 10 * 10 * 2 * 16


def test_training_flags_restored_and_shared_weights_counted_once():
    lin = nn.Linear(8, 8)
    model = nn.Sequential(lin, nn.ReLU(), lin).train()
    g = trace(model, (torch.randn(1, 8),))
    assert model.training and all(m.training for m in model.modules())
    assert g.params == 8 * 8 + 8
    assert g.macs == 2 * 8 * 8
    assert sum(op.params for op in g.ops) == g.params  # first use carries the params


def test_public_api_accepts_a_module_and_inputs():
    tvm = pytest.importorskip("torchvision.models")
    model = tvm.mobilenet_v3_small()
    by_shape = chipfit.count(model, input_shape=(1, 3, 224, 224))
    by_tensor = chipfit.count(model, inputs=torch.randn(1, 3, 224, 224))
    assert counts(by_shape.graph) == counts(by_tensor.graph)
    assert round(by_shape.macs / 1e9, 3) == 0.057  # torchvision MobileNet_V3_Small _ops


def test_result_views_agree_with_the_totals():
    from rich.console import Console

    r = chipfit.count("resnet18", precision="fp16")
    assert sum(row.macs for row in r.modules(depth=2)) == r.macs
    data = r.to_dict(per_layer=True, depth=1)
    assert data["precision"] == "fp16" and data["weight_bytes"] == 2 * r.params
    assert sum(m["macs"] for m in data["modules"]) == r.macs == sum(op["macs"] for op in data["layers"])
    console = Console(width=120, record=True)
    console.print(count_table(r, depth=2))
    text = console.export_text()
    assert "layer4" in text and "1.81 G" in text
    pd = pytest.importorskip("pandas", reason="to_pandas needs pandas")
    frame = r.to_pandas()
    assert isinstance(frame, pd.DataFrame) and len(frame) == len(r.layers)
    assert frame["macs"].sum() == r.macs


def test_batch_scales_counts_linearly():
    one, four = chipfit.count("resnet18"), chipfit.count("resnet18", batch=4)
    assert four.macs == 4 * one.macs and four.params == one.params
    assert four.graph.inputs == {"arg0": (4, 3, 224, 224)}
    pytest.importorskip("transformers")
    g1, g3 = chipfit.count("gpt2", seq_len=32), chipfit.count("gpt2", seq_len=32, batch=3)
    assert g3.macs == 3 * g1.macs
