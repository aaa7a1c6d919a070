"""The analytic builders against transformers' own models, traced by the PyTorch frontend.

For one config of each family, at several sequence lengths, batch sizes and phases, the
builder's MACs and parameters must equal the trace exactly; FLOPs (whose element-wise part
the builder prices per fused kernel, the trace per aten op) within 1 %.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from chipfit import count  # noqa: E402
from chipfit.frontends.arch import Phase, from_config  # noqa: E402

SMALL = dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
             vocab_size=100, max_position_embeddings=256)
DECODERS = {
    "llama": dict(SMALL, model_type="llama", architectures=["LlamaForCausalLM"], num_key_value_heads=2),
    "mistral": dict(SMALL, model_type="mistral", architectures=["MistralForCausalLM"], num_key_value_heads=1,
                    sliding_window=8),
    "qwen2": dict(SMALL, model_type="qwen2", architectures=["Qwen2ForCausalLM"], num_key_value_heads=2,
                  tie_word_embeddings=True),
    "gemma": dict(SMALL, model_type="gemma", architectures=["GemmaForCausalLM"], num_key_value_heads=1,
                  head_dim=32),
    # Gemma 2: 3 layers, sliding (window 8), full, sliding as transformers' default layer_types
    "gemma2": dict(SMALL, model_type="gemma2", architectures=["Gemma2ForCausalLM"], num_hidden_layers=3,
                   num_key_value_heads=2, head_dim=32, sliding_window=8, query_pre_attn_scalar=32),
    # explicit layer_types, soft-capping switched off by null, an untied head
    "gemma2-nocap": dict(SMALL, model_type="gemma2", architectures=["Gemma2ForCausalLM"], num_hidden_layers=3,
                         num_key_value_heads=4, head_dim=16, sliding_window=8,
                         layer_types=["full_attention", "sliding_attention", "sliding_attention"],
                         attn_logit_softcapping=None, final_logit_softcapping=None, tie_word_embeddings=False),
    "phi3": dict(SMALL, model_type="phi3", architectures=["Phi3ForCausalLM"], num_key_value_heads=4,
                 pad_token_id=0, sliding_window=None),
    "gpt2": dict(model_type="gpt2", architectures=["GPT2LMHeadModel"], n_embd=64, n_layer=2, n_head=4,
                 n_positions=128, vocab_size=100),
    "gptj": dict(model_type="gptj", architectures=["GPTJForCausalLM"], n_embd=64, n_layer=2, n_head=4,
                 n_positions=128, vocab_size=100, rotary_dim=8, tie_word_embeddings=False),
    "mixtral": dict(SMALL, model_type="mixtral", architectures=["MixtralForCausalLM"], num_key_value_heads=2,
                    num_local_experts=4, num_experts_per_tok=2),
    "qwen2_moe": dict(SMALL, model_type="qwen2_moe", architectures=["Qwen2MoeForCausalLM"], num_hidden_layers=3,
                      num_key_value_heads=2, num_experts=6, num_experts_per_tok=2, moe_intermediate_size=32,
                      shared_expert_intermediate_size=40, decoder_sparse_step=2),
    # Qwen3: q_norm/k_norm per head, head_dim explicit (24 × 4 heads ≠ hidden 64)
    "qwen3": dict(SMALL, model_type="qwen3", architectures=["Qwen3ForCausalLM"], num_key_value_heads=2, head_dim=24),
    # Qwen3's default head_dim (128, not hidden // heads) and a tied head
    "qwen3-default-head": dict(SMALL, model_type="qwen3", architectures=["Qwen3ForCausalLM"], num_key_value_heads=4,
                               tie_word_embeddings=True),
    # Qwen3-MoE: layer 1 dense (mlp_only_layers), renormalised top-2 of 6 experts, no shared expert
    "qwen3_moe": dict(SMALL, model_type="qwen3_moe", architectures=["Qwen3MoeForCausalLM"], num_hidden_layers=3,
                      num_key_value_heads=2, head_dim=24, num_experts=6, num_experts_per_tok=2,
                      moe_intermediate_size=32, mlp_only_layers=[1], norm_topk_prob=True),
    # Gemma 3 text: sliding, full, sliding (sliding_window_pattern 2), (1 + w) q/k norms, no caps
    "gemma3_text": dict(SMALL, model_type="gemma3_text", architectures=["Gemma3ForCausalLM"], num_hidden_layers=3,
                        num_key_value_heads=2, head_dim=32, sliding_window=8, sliding_window_pattern=2,
                        query_pre_attn_scalar=32),
    # explicit layer_types, a final-logit cap, an untied head
    "gemma3_text-cap": dict(SMALL, model_type="gemma3_text", architectures=["Gemma3ForCausalLM"], num_hidden_layers=3,
                            num_key_value_heads=1, head_dim=16, sliding_window=8, final_logit_softcapping=30.0,
                            layer_types=["full_attention", "sliding_attention", "full_attention"],
                            tie_word_embeddings=False),
    # gpt-oss: biased attention with sinks, sliding / full alternating, biased experts, clamped SwiGLU
    "gpt_oss": dict(SMALL, model_type="gpt_oss", architectures=["GptOssForCausalLM"], num_key_value_heads=2,
                    head_dim=16, num_local_experts=4, num_experts_per_tok=2, sliding_window=8),
    # SmolLM3: no rotary embedding on layer 3 (every 4th), tied head
    "smollm3": dict(SMALL, model_type="smollm3", architectures=["SmolLM3ForCausalLM"], num_hidden_layers=4,
                    num_key_value_heads=2, pad_token_id=0),
    # Mistral-Nemo / Mistral-Small: head_dim explicit, not hidden // heads
    "mistral-head_dim": dict(SMALL, model_type="mistral", architectures=["MistralForCausalLM"], num_key_value_heads=2,
                             head_dim=24, sliding_window=None),
    # GLM-4.5: biased Q/K/V, per-head Q/K norms, half-rotary heads, layer 0 dense, then 6 experts
    # chosen top-2 by sigmoid scores with a correction bias, and a shared one
    "glm4_moe": dict(SMALL, model_type="glm4_moe", architectures=["Glm4MoeForCausalLM"], num_hidden_layers=3,
                     num_key_value_heads=2, attention_bias=True, use_qk_norm=True, n_routed_experts=6,
                     num_experts_per_tok=2, moe_intermediate_size=32, n_shared_experts=1, first_k_dense_replace=1,
                     n_group=1, topk_group=1),
    # Phi-4-mini: partial rotary, GQA, tied head
    "phi3-partial-rotary": dict(SMALL, model_type="phi3", architectures=["Phi3ForCausalLM"], num_key_value_heads=2,
                                pad_token_id=0, sliding_window=None, partial_rotary_factor=0.75,
                                tie_word_embeddings=True),
}
#: LFM2: gated short convolutions (3 taps) on layers 0 and 2, GQA with per-head Q/K norms on 1 and 3,
#: the MLP width 2/3 of 96 rounded up to a multiple of 32.
LFM2 = dict(SMALL, model_type="lfm2", architectures=["Lfm2ForCausalLM"], num_hidden_layers=4, num_key_value_heads=2,
            full_attn_idxs=[1, 3], conv_L_cache=3, block_multiple_of=32, block_ffn_dim_multiplier=1.0)
#: DeepSeek-V3: MLA with a low-rank query (and one without), the first layer dense, then 8 routed
#: experts (top-2 in groups) and a shared one.
MLA = dict(SMALL, model_type="deepseek_v3", architectures=["DeepseekV3ForCausalLM"], num_hidden_layers=3,
           num_key_value_heads=4, q_lora_rank=24, kv_lora_rank=16, qk_rope_head_dim=8, qk_nope_head_dim=12,
           v_head_dim=10, n_routed_experts=8, num_experts_per_tok=2, n_shared_experts=1, moe_intermediate_size=20,
           first_k_dense_replace=1, n_group=2, topk_group=1)
MLA_CONFIGS = {"deepseek_v3": MLA, "deepseek_v3-no-q-lora": dict(MLA, q_lora_rank=None, n_shared_experts=2,
                                                                 attention_bias=True)}
#: Llama 4 text: layers 0-2 chunked (8 tokens) with rotary and weightless q/k norms, layer 3 global
#: NoPE; layers 1 and 3 MoE (4 experts, top-1, a shared expert), 0 and 2 a dense MLP of 80.
LLAMA4 = dict(SMALL, model_type="llama4_text", architectures=["Llama4ForCausalLM"], num_hidden_layers=4,
              num_key_value_heads=2, head_dim=16, intermediate_size_mlp=80, num_local_experts=4,
              num_experts_per_tok=1, interleave_moe_layer_step=2, attention_chunk_size=8)
#: Qwen3-Next: Gated DeltaNet layers 0 and 2 (2 key heads of 8, 4 value heads of 12, a 4-tap
#: convolution), gated full attention on layers 1 and 3 (full_attention_interval 2, head_dim 16);
#: layer 2 a dense MLP (mlp_only_layers), the others 6 experts top-2 and a gated shared expert.
QWEN3_NEXT = dict(SMALL, model_type="qwen3_next", architectures=["Qwen3NextForCausalLM"], num_hidden_layers=4,
                  num_key_value_heads=2, head_dim=16, linear_num_key_heads=2, linear_num_value_heads=4,
                  linear_key_head_dim=8, linear_value_head_dim=12, linear_conv_kernel_dim=4, num_experts=6,
                  num_experts_per_tok=2, moe_intermediate_size=32, shared_expert_intermediate_size=40,
                  full_attention_interval=2, mlp_only_layers=[2])
ENCODERS = {
    "bert": dict(SMALL, model_type="bert", architectures=["BertModel"], max_position_embeddings=128),
    "vit": dict(SMALL, model_type="vit", architectures=["ViTForImageClassification"], image_size=32, patch_size=8,
                num_labels=10),
    "clip_text_model": dict(SMALL, model_type="clip_text_model", architectures=["CLIPTextModel"],
                            max_position_embeddings=77),
    "clip_vision_model": dict(SMALL, model_type="clip_vision_model", architectures=["CLIPVisionModel"],
                              image_size=32, patch_size=8),
    "clip": dict(model_type="clip", architectures=["CLIPModel"], projection_dim=24,
                 text_config=dict(SMALL, max_position_embeddings=77),
                 vision_config=dict(SMALL, hidden_size=48, image_size=32, patch_size=8)),
    "wav2vec2": dict(SMALL, model_type="wav2vec2", architectures=["Wav2Vec2Model"], conv_dim=[32, 32, 32],
                     conv_kernel=[10, 3, 3], conv_stride=[5, 2, 2], num_conv_pos_embeddings=16,
                     num_conv_pos_embedding_groups=4),
    "wav2vec2-stable": dict(SMALL, model_type="wav2vec2", architectures=["Wav2Vec2Model"], conv_dim=[32, 32],
                            conv_kernel=[10, 3], conv_stride=[5, 2], num_conv_pos_embeddings=15,
                            num_conv_pos_embedding_groups=4, do_stable_layer_norm=True, feat_extract_norm="layer"),
}
ENC_DEC = {
    "whisper": dict(model_type="whisper", architectures=["WhisperForConditionalGeneration"], d_model=64,
                    encoder_layers=2, decoder_layers=3, encoder_attention_heads=4, decoder_attention_heads=2,
                    encoder_ffn_dim=96, decoder_ffn_dim=80, vocab_size=100, num_mel_bins=16,
                    max_source_positions=50, max_target_positions=40, pad_token_id=0, bos_token_id=1,
                    eos_token_id=2, decoder_start_token_id=3, suppress_tokens=[], begin_suppress_tokens=[]),
    "t5": dict(model_type="t5", architectures=["T5ForConditionalGeneration"], d_model=64, d_kv=16, d_ff=96,
               num_layers=2, num_decoder_layers=3, num_heads=4, vocab_size=100, feed_forward_proj="gated-gelu"),
}


def _file(tmp_path, name, cfg) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(cfg))
    return str(path)


def _same(built, traced):
    assert built.macs == traced.macs
    assert built.params == traced.params
    assert built.flops == pytest.approx(traced.flops, rel=0.01)
    assert not traced.unsupported_ops


@pytest.mark.parametrize("family", DECODERS)
@pytest.mark.parametrize("phase, tokens, context, batch", [
    ("forward", 7, None, 2), ("forward", 33, None, 1), ("prefill", 9, None, 3),
    ("decode", 4, 5, 2), ("decode", 4, 20, 1),   # 20 > the sliding window of 8
])
def test_decoder_only_equals_transformers(tmp_path, family, phase, tokens, context, batch):
    path = _file(tmp_path, family, DECODERS[family])
    kw = dict(phase=phase, seq_len=tokens, context=context, batch=batch)
    _same(count(path, **kw), count(path, trace=True, **kw))


@pytest.mark.parametrize("family", MLA_CONFIGS)
@pytest.mark.parametrize("phase, tokens, batch", [("forward", 7, 2), ("forward", 33, 1), ("prefill", 9, 3)])
def test_latent_attention_forward_and_prefill_equal_transformers(tmp_path, family, phase, tokens, batch):
    """Forward and prefill of DeepSeek-V3 are priced in transformers' own (non-absorbed) form."""
    path = _file(tmp_path, family, MLA_CONFIGS[family])
    kw = dict(phase=phase, seq_len=tokens, batch=batch)
    _same(count(path, **kw), count(path, trace=True, **kw))


#: DeepSeek-V3.2: MLA with a lightning indexer of 4 heads of 16 choosing the top 6 keys; layers
#: dense, sparse, sparse as mlp_layer_types says.
DSA = dict(MLA, model_type="deepseek_v32", architectures=["DeepseekV32ForCausalLM"], index_n_heads=4,
           index_head_dim=16, index_topk=6, mlp_layer_types=["dense", "sparse", "sparse"])


@pytest.mark.parametrize("phase, tokens, batch", [("forward", 5, 2), ("forward", 33, 1), ("prefill", 9, 3)])
def test_sparse_attention_forward_and_prefill_equal_transformers(tmp_path, phase, tokens, batch):
    """DeepSeek-V3.2 forward and prefill as transformers runs them: the indexer scores every key,
    then dense MLA under the top-k mask (fewer and more tokens than the top 6)."""
    path = _file(tmp_path, "deepseek_v32", DSA)
    kw = dict(phase=phase, seq_len=tokens, batch=batch)
    _same(count(path, **kw), count(path, trace=True, **kw))


@pytest.mark.parametrize("context, batch", [(3, 2), (100, 1)])
def test_sparse_attention_decode_by_hand(context, batch):
    """A DeepSeek-V3.2 decode step against the same model without the indexer (DeepSeek-V3, whose
    absorbed decode is held to transformers above), per layer: the indexer's projections
    (wq_b 24 → 4·16, wk 64 → 16, weights_proj 64 → 4), its scores over every key (4 heads × 16)
    and their weighted sum (4 a key) are added; attention reads min(keys, 6) latents instead of
    all, saving 4 heads × (2·16 + 8) MACs a latent left out; each layer also holds 16 index-key
    elements a token."""
    keys = context + 1
    dense = from_config(dict(MLA, mlp_layer_types=None), Phase("decode", context=context, batch=batch))
    sparse = from_config(DSA, Phase("decode", context=context, batch=batch))
    indexer = batch * (24 * 4 * 16 + 64 * 16 + keys * 4 * 16 + 64 * 4 + keys * 4)
    saved = batch * 4 * (keys - min(keys, 6)) * (2 * 16 + 8)
    assert sparse.macs - dense.macs == 3 * (indexer - saved)
    assert sparse.kv_cache_elems - dense.kv_cache_elems == 3 * batch * keys * 16
    indexer_params = 24 * 4 * 16 + 64 * 16 + 2 * 16 + 64 * 4
    assert sparse.params - dense.params == 3 * indexer_params


@pytest.mark.parametrize("family", MLA_CONFIGS)
@pytest.mark.parametrize("context, batch", [(5, 2), (20, 1)])
def test_latent_attention_decode_is_the_absorbed_form(family, context, batch):
    """Decode is priced in the absorbed form serving engines run. transformers' model, traced
    with its cache of latents (b, 1, P, kv_lora_rank) and rotary keys (b, 1, P, rope), expands
    the whole cache through kv_b_proj every step; the difference is written out here."""
    from transformers import DynamicCache

    from chipfit.frontends.pytorch.hf import build

    cfg = MLA_CONFIGS[family]
    model = build(cfg)
    meta = torch.device("meta")
    cache = DynamicCache(config=model.config)
    layers, h, c, r = cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["kv_lora_rank"], cfg["qk_rope_head_dim"]
    nope, v = cfg["qk_nope_head_dim"], cfg["v_head_dim"]
    for i in range(layers):
        cache.update(torch.zeros(batch, 1, context, c, device=meta), torch.zeros(batch, 1, context, r, device=meta), i)
    traced = count(model, inputs={"input_ids": torch.zeros(batch, 1, dtype=torch.long, device=meta),
                                  "past_key_values": cache,
                                  "cache_position": torch.arange(context, context + 1, device=meta)})
    built = from_config(cfg, Phase("decode", context=context, batch=batch))
    keys = context + 1
    # transformers: kv_b_proj on every cached latent, then scores and values per head
    expanded = batch * keys * c * h * (nope + v) + batch * h * keys * (nope + r + v)
    # absorbed: kv_b_proj's two halves on the one new token's query and output, scores and
    # weighted sums against the latents (c + r wide for the scores, c for the values)
    absorbed = batch * h * c * (nope + v) + batch * h * keys * (2 * c + r)
    assert traced.macs - built.macs == layers * (expanded - absorbed)
    assert built.params == traced.params
    assert built.kv_cache_elems == layers * batch * keys * (c + r)
    assert not traced.unsupported_ops


@pytest.mark.parametrize("phase, tokens, context, batch", [
    ("forward", 7, None, 2), ("forward", 33, None, 1), ("prefill", 9, None, 3),
    ("decode", 4, 5, 2), ("decode", 4, 20, 1)])   # 20 > the chunk of 8
def test_llama4_text_equals_transformers_but_for_the_unchosen_experts(tmp_path, phase, tokens, context, batch):
    """transformers' Llama 4 runs every expert on every token (the unchosen ones weighted 0);
    chipfit counts the top-1 a serving engine runs: the difference is (E − k) experts of
    3 · hidden · intermediate MACs per token and MoE layer. Its rotary tables are built with
    torch.polar, which the trace does not price (no MACs)."""
    path = _file(tmp_path, "llama4_text", LLAMA4)
    kw = dict(phase=phase, seq_len=tokens, context=context, batch=batch)
    built, traced = count(path, **kw), count(path, trace=True, **kw)
    rows = batch * (1 if phase == "decode" else tokens)
    moe_layers, e, k = 2, LLAMA4["num_local_experts"], LLAMA4["num_experts_per_tok"]
    assert traced.macs - built.macs == moe_layers * rows * (e - k) * 3 * 64 * LLAMA4["intermediate_size"]
    assert built.params == traced.params
    assert set(traced.unsupported_ops) <= {"polar"}


def _qwen3_next_solves(batch: int, tokens: int) -> int:
    """FLOPs of the two unit-triangular solves per chunk (64 tokens) and value head that the
    builder prices and the trace leaves unpriced (linalg_solve_triangular): 64·63/2
    multiply-adds per column of the values (12) and of the keys (8), in the 2 linear layers."""
    chunks = -(-tokens // 64)
    return 2 * 2 * batch * 4 * chunks * (64 * 63 // 2) * (8 + 12)


@pytest.mark.parametrize("phase, tokens, batch", [
    ("forward", 7, 2), ("forward", 70, 1), ("prefill", 9, 3), ("prefill", 2, 1), ("prefill", 130, 1)])
def test_qwen3_next_forward_and_prefill_equal_transformers(tmp_path, phase, tokens, batch):
    """The chunked gated delta rule as transformers' torch fallback runs it (2 tokens: a prefill
    shorter than the convolution; 70 and 130: two and three chunks, the last one padded)."""
    path = _file(tmp_path, "qwen3_next", QWEN3_NEXT)
    kw = dict(phase=phase, seq_len=tokens, batch=batch)
    built, traced = count(path, **kw), count(path, trace=True, **kw)
    assert built.macs == traced.macs
    assert built.params == traced.params
    assert built.flops - _qwen3_next_solves(batch, tokens) == pytest.approx(traced.flops, rel=0.05)
    assert set(traced.unsupported_ops) <= {"linalg_solve_triangular"}


#: Qwen3.5's language model: Qwen3-Next's layers with the linear attention's input projection
#: split in four; dense (qwen3_5_text) or MoE (qwen3_5_moe_text), layer_types explicit.
QWEN35 = {k: v for k, v in QWEN3_NEXT.items() if k not in ("num_experts", "num_experts_per_tok", "mlp_only_layers",
                                                            "moe_intermediate_size", "shared_expert_intermediate_size",
                                                            "full_attention_interval")}
QWEN35 = dict(QWEN35, layer_types=["linear_attention", "full_attention", "linear_attention", "full_attention"])
QWEN35_CONFIGS = {
    "qwen3_5_text": dict(QWEN35, model_type="qwen3_5_text", architectures=["Qwen3_5ForCausalLM"]),
    "qwen3_5_moe_text": dict(QWEN35, model_type="qwen3_5_moe_text", architectures=["Qwen3_5MoeForCausalLM"],
                             num_experts=6, num_experts_per_tok=2, moe_intermediate_size=32,
                             shared_expert_intermediate_size=40),
}


@pytest.mark.parametrize("model_type", list(QWEN35_CONFIGS))
@pytest.mark.parametrize("phase, tokens, batch", [("forward", 7, 2), ("prefill", 70, 1)])
def test_qwen35_text_equals_transformers(tmp_path, model_type, phase, tokens, batch):
    path = _file(tmp_path, model_type, QWEN35_CONFIGS[model_type])
    kw = dict(phase=phase, seq_len=tokens, batch=batch)
    built, traced = count(path, **kw), count(path, trace=True, **kw)
    assert built.macs == traced.macs
    assert built.params == traced.params
    assert set(traced.unsupported_ops) <= {"linalg_solve_triangular"}


@pytest.mark.parametrize("phase, tokens, batch", [("forward", 5, 2), ("prefill", 9, 1), ("prefill", 2, 3)])
def test_lfm2_forward_and_prefill_equal_transformers(tmp_path, phase, tokens, batch):
    """The short convolution as transformers runs it (2 tokens: a prefill shorter than its kernel)."""
    path = _file(tmp_path, "lfm2", LFM2)
    kw = dict(phase=phase, seq_len=tokens, batch=batch)
    _same(count(path, **kw), count(path, trace=True, **kw))


def test_a_recurrent_decode_is_not_traced(run_cli, tmp_path):
    """transformers' decode cache of a hybrid holds states chipfit does not make up: refused."""
    rc, out, err = run_cli("count", _file(tmp_path, "lfm2", LFM2), "--trace", "--phase", "decode")
    assert rc == 2 and "'conv' layers hold a recurrent state" in err, err


@pytest.mark.parametrize("context, batch", [(5, 2), (20, 1)])
def test_lfm2_decode_equals_transformers(context, batch):
    """LFM2 decode with the cache transformers keeps: K and V of ``context`` tokens on the
    attention layers, the convolution's 3 cached inputs (its kernel) on the convolution layers.
    Held afterwards: K and V of context + 1 tokens a layer, and 2 inputs × 64 channels a
    convolution layer (the state it needs)."""
    from transformers import DynamicCache

    from chipfit.frontends.pytorch.hf import build

    cfg = LFM2
    model = build(cfg)
    meta = torch.device("meta")
    cache = DynamicCache(config=model.config)
    for i, kind in enumerate(model.config.layer_types):
        if kind == "full_attention":
            k = torch.zeros(batch, 2, context, 16, device=meta)
            cache.update(k, k.clone(), i)
        else:
            cache.layers[i].update_conv_state(torch.zeros(batch, 64, 3, device=meta), conv_kernel_size=3)
    traced = count(model, inputs={"input_ids": torch.zeros(batch, 1, dtype=torch.long, device=meta),
                                  "past_key_values": cache})
    built = from_config(cfg, Phase("decode", context=context, batch=batch))
    _same(built, traced)
    assert built.kv_cache_elems == batch * (2 * 2 * 2 * (context + 1) * 16 + 2 * 2 * 64)


@pytest.mark.parametrize("context, batch", [(5, 2), (20, 1)])
def test_qwen3_next_decode_equals_transformers(context, batch):
    """Decode traced with a cache transformers' model accepts: keys and values of ``context``
    tokens for the full-attention layers, the convolution inputs (the kernel's 4 columns, as
    transformers keeps them) and the recurrent state for the linear ones. The state held is
    the fixed 4 × 8 × 12 recurrent state and 3 columns of the 80-wide convolution per linear
    layer, plus K and V of context + 1 tokens per full layer."""
    from transformers import DynamicCache

    from chipfit.frontends.pytorch.hf import build

    cfg = QWEN3_NEXT
    model = build(cfg)
    meta = torch.device("meta")
    cache = DynamicCache(config=model.config)
    conv = 2 * 2 * 8 + 4 * 12
    for i, kind in enumerate(model.config.layer_types):
        if kind == "full_attention":
            k = torch.zeros(batch, 2, context, 16, device=meta)
            cache.update(k, k.clone(), i)
        else:
            cache.layers[i].update_conv_state(torch.zeros(batch, conv, 4, device=meta), conv_kernel_size=4)
            cache.layers[i].update_recurrent_state(torch.zeros(batch, 4, 8, 12, device=meta))
    traced = count(model, inputs={"input_ids": torch.zeros(batch, 1, dtype=torch.long, device=meta),
                                  "past_key_values": cache})
    built = from_config(cfg, Phase("decode", context=context, batch=batch))
    _same(built, traced)
    assert built.kv_cache_elems == batch * (2 * 2 * 2 * (context + 1) * 16 + 2 * (4 * 8 * 12 + 3 * conv))


@pytest.mark.parametrize("family", ENCODERS)
@pytest.mark.parametrize("tokens, batch", [(11, 2), (40, 1)])
def test_encoders_equal_transformers(tmp_path, family, tokens, batch):
    if family.startswith("wav2vec2"):
        tokens *= 50  # raw audio samples
    path = _file(tmp_path, family, ENCODERS[family])
    _same(count(path, seq_len=tokens, batch=batch), count(path, seq_len=tokens, batch=batch, trace=True))


@pytest.mark.parametrize("family", ENC_DEC)
@pytest.mark.parametrize("phase, tokens, context, batch", [
    ("forward", 5, None, 2), ("forward", 12, None, 1), ("decode", 6, 7, 3), ("decode", 3, 30, 1)])
def test_encoder_decoders_equal_transformers(tmp_path, family, phase, tokens, context, batch):
    path = _file(tmp_path, family, ENC_DEC[family])
    kw = dict(phase=phase, seq_len=tokens, context=context, batch=batch)
    _same(count(path, **kw), count(path, trace=True, **kw))


@pytest.mark.parametrize("family", ENC_DEC)
def test_encoder_decoder_prefill_is_forward_without_the_other_logits(tmp_path, family):
    """transformers' Whisper/T5 cannot keep only the last logits: prefill = forward minus the
    LM head on the N − 1 earlier tokens (d_model × vocab MACs each)."""
    path = _file(tmp_path, family, ENC_DEC[family])
    n, b = 9, 2
    fwd, pre = count(path, seq_len=n, batch=b), count(path, phase="prefill", seq_len=n, batch=b)
    cfg = ENC_DEC[family]
    assert fwd.macs - pre.macs == b * (n - 1) * cfg["d_model"] * cfg["vocab_size"]
    assert pre.to_dict()["kv_cache_write_bytes"] > 0


def test_qformer_equals_transformers():
    cfg = dict(model_type="blip_2_qformer", hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
               intermediate_size=96, encoder_hidden_size=48, cross_attention_frequency=2,
               num_query_tokens=8, image_tokens=17)
    import transformers

    hf_cfg = transformers.Blip2QFormerConfig(**{k: v for k, v in cfg.items()
                                                if k not in ("model_type", "num_query_tokens", "image_tokens")})
    with torch.device("meta"):
        model = transformers.Blip2QFormerModel(hf_cfg).eval()
    inputs = {"query_embeds": torch.zeros(2, 8, 64, device="meta"),
              "encoder_hidden_states": torch.zeros(2, 17, 48, device="meta")}
    traced = count(model, inputs=inputs)
    built = from_config(cfg, Phase(batch=2))
    assert built.macs == traced.macs
    # the 8 learned queries belong to the Q-Former stage here (transformers keeps them in Blip2Model)
    assert built.params == traced.params + 8 * 64


def test_llava_equals_transformers():
    """LLaVA on CPU (its image-token scatter reads data): vision tower, projector, language model."""
    import transformers

    vision = dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                  image_size=28, patch_size=14)
    text = dict(SMALL, model_type="llama", num_key_value_heads=2, vocab_size=120)
    cfg = dict(model_type="llava", architectures=["LlavaForConditionalGeneration"], image_token_index=110,
               vision_config=dict(vision, model_type="clip_vision_model"), text_config=text)
    hf_cfg = transformers.LlavaConfig(vision_config=transformers.CLIPVisionConfig(**vision),
                                      text_config=transformers.LlamaConfig(**{k: v for k, v in text.items()
                                                                             if k != "model_type"}),
                                      image_token_index=110)
    model = transformers.LlavaForConditionalGeneration(hf_cfg).eval()
    n_text, b = 6, 2
    ids = torch.cat([torch.full((b, 4), 110), torch.ones(b, n_text, dtype=torch.long)], dim=1)  # 2×2 patches
    traced = count(model, inputs={"input_ids": ids, "pixel_values": torch.zeros(b, 3, 28, 28)}, device="cpu")
    built = from_config(cfg, Phase(tokens=n_text, batch=b))
    assert built.macs == traced.macs
    assert built.params == traced.params


@pytest.mark.parametrize("tied", [True, False])
def test_internvl_equals_transformers(tied):
    """InternVL on CPU: InternViT with layer scale, the CLS token dropped, a 2×2 pixel shuffle,
    the LayerNorm + MLP projector and a Qwen2 language model; the top-level tie_word_embeddings
    decides the head (transformers' default: tied)."""
    import transformers

    vision = dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
                  image_size=[56, 56], patch_size=[14, 14], attention_bias=True)
    text = dict(SMALL, num_key_value_heads=2, vocab_size=120)
    cfg = dict(model_type="internvl", architectures=["InternVLForConditionalGeneration"], image_token_id=110,
               vision_config=dict(vision, model_type="internvl_vision"), text_config=dict(text, model_type="qwen2"),
               tie_word_embeddings=tied)
    hf_cfg = transformers.InternVLConfig(vision_config=transformers.InternVLVisionConfig(**vision),
                                         text_config=transformers.Qwen2Config(**text), image_token_id=110,
                                         tie_word_embeddings=tied)
    model = transformers.InternVLForConditionalGeneration(hf_cfg).eval()
    n_text, b = 5, 2
    ids = torch.cat([torch.full((b, 4), 110), torch.ones(b, n_text, dtype=torch.long)], dim=1)  # 4×4 patches → 4
    traced = count(model, inputs={"input_ids": ids, "pixel_values": torch.zeros(b, 3, 56, 56)}, device="cpu")
    built = from_config(cfg, Phase(tokens=n_text, batch=b))
    assert built.macs == traced.macs
    assert built.params == traced.params


#: Qwen2.5-VL at 140×84 pixels: 10×6 patches, 5×3 merged units, windows of 2×2 units (56 px) cut
#: short at the bottom row and the right column; layer 1 attends over the whole image.
QWEN25_VISION = dict(depth=3, hidden_size=32, intermediate_size=40, num_heads=4, out_hidden_size=64, patch_size=14,
                     spatial_merge_size=2, temporal_patch_size=2, window_size=56, fullatt_block_indexes=[1])
QWEN2_VISION = dict(depth=2, embed_dim=32, hidden_size=64, mlp_ratio=2, num_heads=4, patch_size=14,
                    spatial_merge_size=2, temporal_patch_size=2)


#: Qwen3-VL: 16-pixel patches, a learned 4×4 position grid, DeepStack mergers after layers 0 and 2.
QWEN3_VISION = dict(depth=3, hidden_size=32, intermediate_size=40, num_heads=4, out_hidden_size=64, patch_size=16,
                    spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=16,
                    deepstack_visual_indexes=[0, 2])
QWEN3_TEXT = dict(head_dim=24, rope_parameters={"rope_type": "default", "mrope_section": [4, 4, 4],
                                                "rope_theta": 10000.0, "mrope_interleaved": True})
QWEN3_MOE_TEXT = dict(QWEN3_TEXT, num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32)


@pytest.mark.parametrize("model_type, vision, image, b, nested, text_keys", [
    ("qwen2_5_vl", QWEN25_VISION, (140, 84), 1, True, {}),
    ("qwen2_5_vl", QWEN25_VISION, (56, 112), 2, False, {}),   # text keys at the top level, as older configs
    ("qwen2_vl", QWEN2_VISION, (84, 56), 2, True, {}),
    ("qwen3_vl", QWEN3_VISION, (128, 64), 2, True, QWEN3_TEXT),
    ("qwen3_vl_moe", QWEN3_VISION, (64, 128), 1, True, QWEN3_MOE_TEXT),
    ("qwen3_5", {k: v for k, v in QWEN3_VISION.items() if k != "deepstack_visual_indexes"}, (64, 64), 2, True,
     {k: v for k, v in QWEN35.items() if k not in ("model_type", "architectures", "vocab_size")}),
])
def test_qwen_vl_equals_transformers(model_type, vision, image, b, nested, text_keys):
    """Qwen2-VL / Qwen2.5-VL / Qwen3-VL on CPU (the window index and M-RoPE positions read
    data): the Conv3d patch embedding of a repeated frame, windowed and full attention, the 2×2
    merger (and Qwen3-VL's DeepStack mergers) and the language model with its image tokens."""
    import transformers

    text = dict(dict(SMALL, num_key_value_heads=2, vocab_size=120,
                     rope_parameters={"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 10000.0}),
                **text_keys)
    cls = {"qwen2_5_vl": "Qwen2_5_VL", "qwen2_vl": "Qwen2VL", "qwen3_vl": "Qwen3VL", "qwen3_vl_moe": "Qwen3VLMoe",
           "qwen3_5": "Qwen3_5"}[model_type]
    patch = vision["patch_size"]
    hf_cfg = getattr(transformers, f"{cls}Config")(vision_config=vision, text_config=text, image_token_id=110,
                                                   video_token_id=111, vision_start_token_id=112,
                                                   vision_end_token_id=113)
    model = getattr(transformers, f"{cls}ForConditionalGeneration")(hf_cfg).eval()
    gh, gw = image[0] // patch, image[1] // patch
    n_text, n_img = 5, gh * gw // 4
    ids = torch.cat([torch.full((b, n_img), 110), torch.ones(b, n_text, dtype=torch.long)], dim=1)
    inputs = {"input_ids": ids, "pixel_values": torch.zeros(b * gh * gw, 3 * 2 * patch * patch),
              "image_grid_thw": torch.tensor([[1, gh, gw]] * b), "mm_token_type_ids": (ids == 110).long()}
    traced = count(model, inputs=inputs, device="cpu")
    vision_cfg = dict(vision, image_size=list(image))
    cfg = (dict(model_type=model_type, vision_config=vision_cfg, text_config=dict(text, model_type=f"{model_type}_text"))
           if nested else dict(text, model_type=model_type, vision_config=vision_cfg))
    built = from_config(cfg, Phase(tokens=n_text, batch=b))
    assert built.macs == traced.macs
    assert built.params == traced.params


def test_qwen25_vl_windows_by_hand():
    """Qwen2.5-VL's window attention at 448×308 pixels: 32×22 patches, 16×11 merged units,
    windows of 4×4 units (112 px): rows 4+4+4+4, columns 4+4+3, so 8 windows of 64 patches and
    4 of 48; a window layer scores 8·64² + 4·48² query-key pairs a head, a full layer 704²."""
    from chipfit.frontends.arch.hf_config import read

    cfg = dict(SMALL, model_type="qwen2_5_vl", vision_config=dict(QWEN25_VISION, window_size=112,
                                                                  image_size=[448, 308]))
    arch = read(cfg)
    window, full = arch.vision.stack.layers[0].attn, arch.vision.stack.layers[1].attn
    assert window.blocks == ((64, 8), (48, 4))
    assert window.scores(704) == 8 * 64 ** 2 + 4 * 48 ** 2
    assert full.scores(704) == 704 ** 2
    assert arch.image_tokens == 16 * 11


@pytest.mark.parametrize("model, published, note", [
    ("qwen2.5-vl-7b", 8.29e9, "Qwen2.5-VL-7B-Instruct's model page: 8.29B"),
    ("qwen2.5-vl-3b", 3.75e9, "Qwen2.5-VL-3B-Instruct's model page: 3.75B"),
    ("qwen2-vl-2b", 2.21e9, "Qwen2-VL-2B-Instruct's model page: 2.21B"),
    ("internvl3-2b", 2.09e9, "the InternVL3 model card: 2.09B"),
    ("internvl3-8b", 7.94e9, "the InternVL3 model card: 7.94B"),
    ("qwen3-vl-8b", 8.77e9, "Qwen3-VL-8B-Instruct's model page: 8.77B"),
    ("qwen3-vl-4b", 4.44e9, "Qwen3-VL-4B-Instruct's model page: 4.44B"),
    ("qwen3-vl-2b", 2.13e9, "Qwen3-VL-2B-Instruct's model page: 2.13B"),
    ("qwen3-vl-30b-a3b", 31.1e9, "Qwen3-VL-30B-A3B-Instruct's model page: 31.1B"),
])
def test_vlm_zoo_parameters_match_published(model, published, note):
    """The zoo's vision-language models hold their published parameter counts (given to three
    figures: within half a unit of the last)."""
    from chipfit.data import zoo

    params = from_config(dict(zoo.lookup(model).config), Phase(tokens=8)).params
    assert abs(params - published) <= 0.005e9 * (10 if published >= 1e10 else 1), note


@pytest.mark.slow
@pytest.mark.parametrize("model, kw", [
    ("llama-3-8b", dict(seq_len=32)),
    ("llama-3-8b", dict(phase="decode", context=100, batch=2)),
    ("mistral-7b", dict(phase="decode", context=5000)),   # beyond the 4,096-token window
    ("llama-3.2-3b", dict(seq_len=32)),
    ("gemma-2-2b", dict(seq_len=32, batch=2)),
    ("gemma-2-2b", dict(phase="prefill", seq_len=64)),
    ("gemma-2-2b", dict(phase="decode", context=5000)),   # beyond the window of the even layers
    ("whisper-tiny", dict(seq_len=4)),
    ("whisper-tiny", dict(phase="decode", context=10)),
    ("gpt2", dict(seq_len=128, batch=2)),
    ("bert-base", dict(seq_len=128)),
])
def test_zoo_models_equal_transformers(model, kw):
    _same(count(model, **kw), count(model, trace=True, **kw))


@pytest.mark.parametrize("model, cls, expected", [
    ("gemma-2-2b", "Gemma2ForCausalLM", 2_614_341_888),     # the published 2,614,341,888
    ("llama-3.2-3b", "LlamaForCausalLM", 3_212_749_824),
    ("llama-3.2-1b", "LlamaForCausalLM", 1_235_814_400),
])
def test_zoo_parameters_equal_transformers_on_meta(model, cls, expected):
    """The zoo config, built by transformers' own class on the meta device (tied embeddings
    counted once), holds exactly the parameters the analytic builder counts."""
    import transformers

    from chipfit.data import zoo

    cfg = dict(zoo.lookup(model).config)
    config_cls = getattr(transformers, cls.replace("ForCausalLM", "Config"))
    with torch.device("meta"):
        hf = getattr(transformers, cls)(config_cls(**{k: v for k, v in cfg.items()
                                                      if k not in ("model_type", "architectures")}))
    assert sum(p.numel() for p in hf.parameters()) == expected
    assert from_config(cfg, Phase(tokens=8)).params == expected


@pytest.mark.parametrize("model", ["llava-1.5-7b", "qwen2.5-vl-3b", "internvl3-2b"])
def test_a_vision_language_model_is_not_traced_on_made_up_inputs(run_cli, model):
    """Zero token ids hold no image tokens: a trace would run the language model on the text
    alone and count less than the model runs. It is refused in one sentence (the analytic
    count is held to transformers on real inputs above)."""
    rc, out, err = run_cli("count", model, "--trace")
    assert rc == 2 and out == "", err
    assert "places its image tokens in the text by their ids" in err and "without --trace" in err
    assert len(err.strip().splitlines()) == 1


#: Gemma 4's language model, (a): sliding (window 8, 2 K/V heads of 16), full (32-wide heads, one
#: K/V head whose values are its keys' projection), sliding; layers 3 and 4 reuse the keys and
#: values of layers 2 and 1 (num_kv_shared_layers 2); per-layer embeddings of 8 a layer from a
#: 50-row table; a final-logit cap.
GEMMA4 = dict(SMALL, model_type="gemma4_text", architectures=["Gemma4ForCausalLM"], num_hidden_layers=5,
              num_key_value_heads=2, head_dim=16, global_head_dim=32, num_global_key_value_heads=1,
              attention_k_eq_v=True, sliding_window=8, num_kv_shared_layers=2,
              layer_types=["sliding_attention", "full_attention", "sliding_attention", "sliding_attention",
                           "full_attention"],
              hidden_size_per_layer_input=8, vocab_size_per_layer_input=50, final_logit_softcapping=30.0)
GEMMA4_CONFIGS = {
    "gemma4_text": GEMMA4,
    # (b): 4 experts (top 2) beside every dense MLP, the KV-shared layers' MLPs double-wide,
    # full layers 24 wide without K = V (so with num_key_value_heads), an untied head
    "gemma4_text-moe": dict(SMALL, model_type="gemma4_text", architectures=["Gemma4ForCausalLM"],
                            num_hidden_layers=4, num_key_value_heads=2, head_dim=16, global_head_dim=24,
                            sliding_window=8, num_kv_shared_layers=2,
                            layer_types=["sliding_attention", "full_attention", "sliding_attention",
                                         "full_attention"],
                            hidden_size_per_layer_input=4, vocab_size_per_layer_input=30, enable_moe_block=True,
                            num_experts=4, top_k_experts=2, moe_intermediate_size=32, use_double_wide_mlp=True,
                            tie_word_embeddings=False),
    # (c): the full layer's shape as transformers saves it (per_layer_config), biased attention,
    # the last layer forced to full attention, no per-layer embeddings, 3 experts (top 1)
    "gemma4_text-per-layer": dict(SMALL, model_type="gemma4_text", architectures=["Gemma4ForCausalLM"],
                                  num_hidden_layers=3, num_key_value_heads=4, head_dim=16, sliding_window=8,
                                  attention_k_eq_v=True, attention_bias=True,
                                  layer_types=["sliding_attention", "full_attention", "sliding_attention"],
                                  per_layer_config={"1": {"head_dim": 32, "num_key_value_heads": 2},
                                                    "2": {"head_dim": 32, "num_key_value_heads": 2}},
                                  hidden_size_per_layer_input=0, enable_moe_block=True, num_experts=3,
                                  top_k_experts=1, moe_intermediate_size=16),
}


@pytest.mark.parametrize("family", GEMMA4_CONFIGS)
@pytest.mark.parametrize("phase, tokens, batch", [("forward", 7, 2), ("forward", 33, 1), ("prefill", 9, 3)])
def test_gemma4_text_forward_and_prefill_equal_transformers(tmp_path, family, phase, tokens, batch):
    """Gemma 4 as transformers runs it; in a prefill its KV-shared layers compute the last token
    only (transformers slices them when it keeps the last logits only)."""
    path = _file(tmp_path, family, GEMMA4_CONFIGS[family])
    kw = dict(phase=phase, seq_len=tokens, batch=batch)
    _same(count(path, **kw), count(path, trace=True, **kw))


def test_gemma4_prefill_runs_the_shared_layers_on_the_last_token_only():
    """Prefill of N tokens against a forward pass: the LM head on the N − 1 earlier tokens is
    left out, and so are, on layers 3 and 4, the N − 1 earlier rows of the q and o projections
    (64 → 4·16 and back, 64 → 4·32 and back), of the MLP (3 · 64 · 96) and of the per-layer gate
    and projection (2 · 64 · 8), and their attention scores (4 heads × N keys a query, 2 · head_dim
    MACs each: N × N in the forward pass, 1 × N in the prefill)."""
    n, b = 9, 2
    fwd = from_config(GEMMA4, Phase("forward", tokens=n, batch=b))
    pre = from_config(GEMMA4, Phase("prefill", tokens=n, batch=b))
    rows = b * (n - 1)
    per_row = (2 * 64 * 4 * 16) + (2 * 64 * 4 * 32) + 2 * 3 * 64 * 96 + 2 * 2 * 64 * 8
    scores = b * 4 * (n * n - n) * 2 * (16 + 32)
    assert fwd.macs - pre.macs == rows * 64 * 100 + rows * per_row + scores
    assert pre.kv_cache_elems == b * (2 * 2 * 2 * 8 * 16 + 2 * 1 * 9 * 32)   # layers 0, 2 (window 8) and 1


@pytest.mark.parametrize("context, batch", [(5, 2), (20, 1)])   # 20 > the sliding window of 8
def test_gemma4_decode_equals_transformers(context, batch):
    """Gemma 4 decode with the cache transformers keeps: K and V of ``context`` tokens for the
    layers that compute them (0 and 2: 2 heads of 16, the window's last 7 kept; 1: one head of 32),
    none for the KV-shared layers 3 and 4, which read those of layers 2 and 1. Held afterwards:
    min(context + 1, 8) tokens on the sliding layers, context + 1 on the full one."""
    from transformers import DynamicCache

    from chipfit.frontends.pytorch.hf import build

    model = build(GEMMA4)
    meta = torch.device("meta")
    cache = DynamicCache(config=model.config)
    for i, (kv, hd) in enumerate([(2, 16), (1, 32), (2, 16)]):
        k = torch.zeros(batch, kv, context, hd, device=meta)
        cache.update(k, k.clone(), i)
    traced = count(model, inputs={"input_ids": torch.zeros(batch, 1, dtype=torch.long, device=meta),
                                  "past_key_values": cache})
    built = from_config(GEMMA4, Phase("decode", context=context, batch=batch))
    _same(built, traced)
    keys = context + 1
    assert built.kv_cache_elems == batch * (2 * 2 * 2 * min(keys, 8) * 16 + 2 * 1 * keys * 32)


@pytest.mark.parametrize("name", ["GEMMA4", *GEMMA4_CONFIGS])
def test_gemma4_decode_traced_from_the_command_line_inputs(tmp_path, name):
    """`count --trace --phase decode` builds transformers' cache layer by layer (each layer's own
    head size and KV heads; none for a KV-shared layer) and equals the analytic decode."""
    cfg = GEMMA4 if name == "GEMMA4" else GEMMA4_CONFIGS[name]
    path = _file(tmp_path, "gemma4", cfg)
    kw = dict(phase="decode", context=20, batch=1)
    _same(count(path, **kw), count(path, trace=True, **kw))
