"""The analytic builders against outside references: parameter counts of
``benchmarks/data/llm_configs.csv``, formulas written out by hand, a widely shared hand estimate's numbers
(corrected where they were wrong), and bad input."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from chipfit import count
from chipfit.core.errors import ChipfitError
from chipfit.frontends.arch import Phase, from_config, supported_model_types
from chipfit.frontends.arch.build import causal_scores, expected_experts

REFDATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "llm_configs.csv"
CSV_TO_ZOO = {
    "Llama-2-7B": "llama-2-7b", "Llama-2-13B": "llama-2-13b", "Llama-2-70B": "llama-2-70b",
    "Llama-3-8B": "llama-3-8b", "Llama-3-70B": "llama-3-70b", "Mistral-7B-v0.1": "mistral-7b",
    "Mixtral-8x7B-v0.1": "mixtral-8x7b", "Qwen2.5-7B": "qwen2.5-7b", "GPT-2 small (gpt2)": "gpt2",
    "GPT-2 medium": "gpt2-medium", "GPT-2 large": "gpt2-large", "GPT-2 XL": "gpt2-xl",
    "BERT-base-uncased": "bert-base", "BERT-large-uncased": "bert-large", "ViT-B/16 (224)": "vit-b/16",
    "CLIP ViT-L/14 (vision tower, 224)": None, "Whisper tiny": "whisper-tiny", "Whisper base": "whisper-base",
    "Whisper small": "whisper-small", "Whisper medium": "whisper-medium",
    "Whisper large (v1/v2)": None, "Whisper large-v3": "whisper-large-v3", "Whisper large-v3-turbo": None,
}


def _rows():
    return list(csv.DictReader(REFDATA.open()))


def test_every_llm_configs_row_is_mapped():
    assert {r["model"] for r in _rows()} == set(CSV_TO_ZOO)


@pytest.mark.parametrize("row", [r for r in CSV_TO_ZOO if CSV_TO_ZOO[r]])
def test_parameter_counts_equal_llm_configs_csv(row):
    ref = next(r for r in _rows() if r["model"] == row)
    got = count(CSV_TO_ZOO[row], seq_len=8)
    if ref["params_computed"]:
        exact = [int(x) for x in re.findall(r"\b\d{6,}\b", ref["params_computed"])]
        assert got.params == exact[0]
        if "active" in ref["params_computed"]:   # Mixtral: total / active per token
            h, inter, layers, e, k = 4096, 14336, 32, 8, 2
            assert got.params - layers * (e - k) * 3 * h * inter == exact[1]
    else:  # Whisper: only the rounded official figure is published
        official = float(re.match(r"([\d.]+)M", ref["params_official"]).group(1)) * 1e6
        assert abs(got.params - official) / official < 0.05


def test_dimensions_agree_with_llm_configs_csv():
    from chipfit.data import zoo

    for row in _rows():
        name = CSV_TO_ZOO[row["model"]]
        if not name or not row["hidden_size"]:
            continue
        cfg = zoo.lookup(name).config
        hidden = cfg.get("hidden_size") or cfg.get("n_embd") or cfg.get("d_model")
        assert hidden == int(row["hidden_size"]), name
        if row["intermediate_size"] and "num_local_experts" not in cfg:
            inter = cfg.get("intermediate_size") or cfg.get("n_inner") or cfg.get("encoder_ffn_dim") or 4 * hidden
            assert inter == int(row["intermediate_size"]), name


def test_clip_vit_l14_vision_tower_equals_transformers():
    """The csv gives only timm's rounded 304.2M; transformers' CLIPVisionModelWithProjection is exact."""
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    from chipfit.data import zoo

    vision = dict(zoo.lookup("clip-vit-l-14").config["vision_config"])
    vision.pop("model_type", None)
    vision["projection_dim"] = 768
    with torch.device("meta"):
        model = transformers.CLIPVisionModelWithProjection(transformers.CLIPVisionConfig(**vision))
    tower = from_config({**vision, "model_type": "clip_vision_model"})
    assert tower.params + 1024 * 768 == sum(p.numel() for p in model.parameters())
    assert tower.params + 1024 * 768 == 303_966_208


# -- a widely shared hand estimate's numbers --------------------------------------------------------------------

def _kind_macs(graph, word):
    return sum(op.macs for op in graph.ops if word in op.name)


def test_hand_estimate_per_layer_formula_against_an_exact_swiglu_layer():
    """The hand estimate: attention 4·L·H² + 2·L²·H (right, for multi-head attention) and an FFN of
    2·L·H·d_ffn with d_ffn = 2.7·H (wrong for LLaMA: SwiGLU has three H×I matrices)."""
    h, inter, n = 4096, 11008, 512
    g = count("llama-2-7b", seq_len=n).graph
    layer0 = [op for op in g.ops if op.name.startswith("layers.0.")]
    attn = sum(op.macs for op in layer0 if ".self_attn." in op.name)
    ffn = sum(op.macs for op in layer0 if ".mlp." in op.name)
    assert attn == 4 * n * h * h + 2 * n * n * h
    assert ffn == 3 * n * h * inter
    hand_ffn = 2 * n * h * int(2.7 * h)
    assert ffn / hand_ffn == pytest.approx(1.493, abs=0.001)   # the hand estimate undercounts the FFN by a third


def test_hand_estimate_llama_7b_on_32_tokens_is_0_42_tflops_not_16_8_gflops():
    h, inter, layers, vocab, n = 4096, 11008, 32, 32000, 32
    macs = n * (layers * (4 * h * h + 3 * h * inter) + h * vocab) + layers * 2 * n * n * h
    r = count("llama-2-7b", seq_len=n)
    assert r.macs == macs
    assert 2 * r.macs == pytest.approx(0.42e12, rel=0.02)
    assert 2 * r.macs / 16.8e9 > 25      # the hand estimate's figure is 25× too low


@pytest.mark.parametrize("size, d, layers, mels", [
    ("tiny", 384, 4, 80), ("base", 512, 6, 80), ("small", 768, 12, 80), ("medium", 1024, 24, 80),
    ("large-v3", 1280, 32, 128)])
def test_whisper_encoder_per_30_s_window(size, d, layers, mels):
    g = count(f"whisper-{size}", seq_len=1).graph
    enc = sum(op.macs for op in g.ops if op.name.startswith("encoder"))
    t = 1500
    conv = 3000 * mels * d * 3 + t * d * d * 3
    per_layer = t * 4 * d * d + 2 * t * t * d + 2 * t * d * 4 * d
    assert enc == conv + layers * per_layer


def test_vit_b16_and_l14_at_224():
    assert count("vit-b/16").macs == 17_563_828_224   # torchvision ViT_B_16_Weights meta _ops: 17.564 G
    n, d, layers = 257, 1024, 24
    macs = 256 * d * 3 * 14 * 14 + layers * (n * 4 * d * d + 2 * n * n * d + 2 * n * d * 4 * d) + d * d
    assert count("vit-l/14").macs == macs


def test_mistral_7b_parameter_breakdown_for_bandwidth():
    g = count("mistral-7b", seq_len=8).graph
    attn = sum(op.params for op in g.ops if ".self_attn." in op.name)
    ffn = sum(op.params for op in g.ops if ".mlp." in op.name)
    assert attn == 1_342_177_280 and ffn == 5_637_144_576
    assert g.params - attn - ffn == 2 * 32000 * 4096 + 65 * 4096   # embeddings, head, norms


# -- phases --------------------------------------------------------------------------------

def test_decode_reads_the_kv_cache_and_writes_one_token():
    h, layers, kv, hd, p, b = 4096, 32, 32, 128, 1000, 2
    r = count("llama-2-7b", phase="decode", context=p, batch=b, precision="fp16").to_dict()
    assert r["kv_cache_read_bytes"] == 2 * layers * b * kv * p * hd * 2
    assert r["kv_cache_write_bytes"] == 2 * layers * b * kv * 1 * hd * 2
    assert r["kv_cache_bytes"] == 2 * layers * b * kv * (p + 1) * hd * 2
    assert r["phase"] == "decode" and h == kv * hd


def test_gqa_cache_is_smaller_by_the_group_factor():
    a = count("llama-2-70b", phase="decode", context=4095).graph.kv_cache_elems
    assert a == 2 * 80 * 8 * 4096 * 128          # 8 KV heads of 128, 4,096 positions


def test_sliding_window_bounds_decode_attention():
    near = count("mistral-7b", phase="decode", context=1000).graph
    far = count("mistral-7b", phase="decode", context=100_000).graph
    win = count("mistral-7b", phase="decode", context=4095).graph
    assert _kind_macs(far, "attention") == _kind_macs(win, "attention") > _kind_macs(near, "attention")


def test_causal_discount_counts_unmasked_scores():
    assert causal_scores(4, None) == 10 and causal_scores(6, 2) == 3 + 4 * 2
    dense = count("llama-2-7b", seq_len=2048)
    disc = count("llama-2-7b", seq_len=2048, causal_discount=True)
    attn = lambda r: sum(op.macs for op in r.layers if op.kind == "attention")  # noqa: E731
    assert attn(disc) * 2 * 2048 == attn(dense) * 2049   # N(N+1)/2 of N² scores
    assert disc.macs - attn(disc) == dense.macs - attn(dense)
    assert any("causal discount" in n for n in disc.notes)


def test_chunked_attention_counts_each_querys_own_chunk():
    """Chunks of 4 over 10 tokens: 1+2+3+4, 1+2+3+4, 1+2 unmasked scores; a window of 4 sees more."""
    assert causal_scores(10, 4, chunked=True) == 10 + 10 + 3
    assert causal_scores(10, 4) == 10 + 6 * 4


def test_prefill_keeps_only_the_last_logits():
    fwd, pre = count("gpt2", seq_len=100), count("gpt2", phase="prefill", seq_len=100)
    assert fwd.macs - pre.macs == 99 * 768 * 50257


def test_moe_experts_touched_and_active_macs():
    assert expected_experts(8, 2, 1) == pytest.approx(2)
    assert expected_experts(8, 2, 1000) == pytest.approx(8)
    g = count("mixtral-8x7b", phase="decode", context=10).graph
    expert_macs = sum(op.macs for op in g.ops if ".experts." in op.name)
    assert expert_macs == 32 * 2 * 3 * 4096 * 14336   # two experts per token


def test_gemma_2_2b_by_hand():
    """Gemma 2 2B: four RMSNorms a layer, tied head; even layers slide over 4,096 keys."""
    h, inter, layers, heads, kv, hd, vocab = 2304, 9216, 26, 8, 4, 256, 256000
    layer = h * (heads + 2 * kv) * hd + heads * hd * h + 3 * h * inter + 4 * h
    assert count("gemma-2-2b", seq_len=8).params == layers * layer + vocab * h + h == 2_614_341_888
    p = 10_000
    g = count("gemma-2-2b", phase="decode", context=p).graph
    assert g.kv_cache_elems == 2 * kv * hd * (13 * 4096 + 13 * (p + 1))
    attn = {op.name: op.macs for op in g.ops if op.name.endswith(".attention")}
    assert attn["layers.0.self_attn.attention"] == heads * 4096 * 2 * hd
    assert attn["layers.1.self_attn.attention"] == heads * (p + 1) * 2 * hd


def test_gemma2_softcapping_costs_three_flops_per_element():
    """cap·tanh(x / cap): divide, tanh, multiply, on every attention score and every logit;
    a null cap in config.json switches it off (absent: Gemma2Config's 50 and 30)."""
    base = dict(model_type="gemma2", hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, head_dim=16, vocab_size=100)
    n, b = 20, 2
    on = from_config(base, Phase(tokens=n, batch=b))
    off = from_config(dict(base, attn_logit_softcapping=None, final_logit_softcapping=None), Phase(tokens=n, batch=b))
    assert on.flops - off.flops == 3 * (2 * b * 4 * n * n + b * n * 100)
    assert on.macs == off.macs and on.params == off.params
    full = from_config(dict(base, sliding_window=None), Phase("decode", context=50))
    assert full.kv_cache_elems == 2 * 2 * 2 * 16 * 51


# -- bad input ------------------------------------------------------------------------------

def _err(tmp_path, cfg, **kw) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(ChipfitError) as info:
        count(str(path), **kw)
    return str(info.value)


def test_unsupported_model_type_lists_the_supported_ones(tmp_path):
    msg = _err(tmp_path, {"model_type": "mamba", "hidden_size": 8})
    assert "'mamba'" in msg and all(t in msg for t in supported_model_types())


def test_missing_keys_are_named(tmp_path):
    msg = _err(tmp_path, {"model_type": "llama", "hidden_size": 64})
    assert "'num_hidden_layers'" in msg and "'num_attention_heads'" in msg and "'vocab_size'" in msg


@pytest.mark.parametrize("cfg, words", [
    (dict(model_type="llama", hidden_size=65, num_hidden_layers=2, num_attention_heads=4, vocab_size=10,
          intermediate_size=8), "not divisible by 4 attention heads"),
    (dict(model_type="llama", hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=3,
          vocab_size=10, intermediate_size=8), "key/value heads"),
    (dict(model_type="llama", hidden_size=64, num_hidden_layers=-2, num_attention_heads=4, vocab_size=10,
          intermediate_size=8), "positive integer"),
    (dict(model_type="mixtral", hidden_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=10,
          intermediate_size=8, num_local_experts=4, num_experts_per_tok=5), "between 1 and"),
    (dict(model_type="gemma2", hidden_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=10,
          intermediate_size=8, layer_types=["sliding_attention"]), "'layer_types' has 1 entries for 2 layers"),
    (dict(model_type="gpt2", n_embd=64, n_layer=2, n_head=4, vocab_size=10, n_positions=16, activation_function="x"),
     "unsupported activation"),
    (dict(model_type="deepseek_v3", hidden_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=10,
          intermediate_size=8, moe_intermediate_size=8, n_routed_experts=4, qk_rope_head_dim=8, qk_nope_head_dim=8,
          v_head_dim=8), "missing 'kv_lora_rank'"),
    (dict(model_type="deepseek_v3", hidden_size=64, num_hidden_layers=2, num_attention_heads=4, vocab_size=10,
          intermediate_size=8, moe_intermediate_size=8, n_routed_experts=4, num_experts_per_tok=5, kv_lora_rank=8,
          qk_rope_head_dim=8, qk_nope_head_dim=8, v_head_dim=8), "between 1 and"),
    (dict(model_type="llama4_text", hidden_size=64, num_hidden_layers=4, num_attention_heads=4, vocab_size=10,
          intermediate_size=8, num_local_experts=2, no_rope_layers=[1, 0]), "'no_rope_layers' has 2 entries"),
])
def test_inconsistent_dimensions_are_one_sentence(tmp_path, cfg, words):
    assert words in _err(tmp_path, cfg)


def test_beyond_learned_positions_and_bad_phases(tmp_path):
    with pytest.raises(ChipfitError, match="has 1,024 .learned position"):
        count("gpt2", seq_len=2000)
    with pytest.raises(ChipfitError, match="not generative"):
        count("bert-base", phase="decode")
    with pytest.raises(ChipfitError, match="phase must be one of forward, prefill, decode, got generate"):
        count("gpt2", phase="generate")
    with pytest.raises(ChipfitError, match="batch must be"):
        count("gpt2", batch=0)
    with pytest.raises(ChipfitError, match="context sets the cache position of the decode phase; set phase to decode"):
        count("gpt2", context=5)
    with pytest.raises(ChipfitError, match="apply to language models"):
        count("resnet18", phase="decode")
    assert Phase().kind == "forward"
