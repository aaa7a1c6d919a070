"""The newer decoder families in the zoo (Qwen3, Qwen3-MoE, gpt-oss, DeepSeek-V3/R1, Llama 4, Gemma 2
and 3, Phi, Mistral, SmolLM) against published parameter counts, transformers' own models built on
the meta device, and KV-cache sizes written out by hand."""

from __future__ import annotations

import pytest

from chipfit import count
from chipfit.analysis.llm import llm
from chipfit.data import zoo

# name → (published total, published active or None, relative tolerance); the sources:
PUBLISHED = {
    # Qwen3 model cards (huggingface.co/Qwen/<name>): "Number of Parameters: 0.6B", "8.2B",
    # "30.5B in total and 3.3B activated", "235B in total and 22B activated"
    "qwen3-0.6b": (0.6e9, None, 0.01),
    "qwen3-8b": (8.2e9, None, 0.005),
    "qwen3-30b-a3b": (30.5e9, 3.3e9, 0.01),
    "qwen3-235b-a22b": (235e9, 22e9, 0.01),
    # gpt-oss model card (OpenAI, arXiv:2508.10925, table 1): 20.91B total / 3.61B active,
    # 116.83B total / 5.13B active; its active counts leave out the input embedding (a lookup)
    "gpt-oss-20b": (20.91e9, 3.61e9, 0.001),
    "gpt-oss-120b": (116.83e9, 5.13e9, 0.001),
    # DeepSeek-V3 model card and README_WEIGHTS.md: 671B main model (685B with the 14B
    # multi-token-prediction module, not counted), 37B activated
    "deepseek-v3": (671e9, 37e9, 0.01),
    # DeepSeek-V3.2-Exp: DeepSeek-V3.1-Terminus's architecture (671B without the multi-token-prediction
    # module, as DeepSeek-V3's card counts it) plus the indexers (0.85B here)
    "deepseek-v3.2": (671e9, None, 0.01),
    # Llama 4 model cards (meta-llama/Llama-4-*): 17B active, 109B / 400B total; the totals include
    # the vision encoder, which the text entries leave out (hence 2 %)
    "llama-4-scout-17b-16e": (109e9, 17e9, 0.02),
    "llama-4-maverick-17b-128e": (400e9, 17e9, 0.02),
    # Gemma 3 technical report (arXiv:2503.19786, table 1): 1B = 302M embedding + 698M non-embedding;
    # 4B = 675M + 3,209M (its 417M vision encoder is not in the text entry)
    "gemma-3-1b": (302e6 + 698e6, None, 0.002),
    "gemma-3-4b": (675e6 + 3209e6, None, 0.002),
    # Qwen3 model cards (huggingface.co/Qwen/<name>): "Number of Parameters: 1.7B", "4.0B", "14.8B",
    # "32.8B"
    "qwen3-1.7b": (1.7e9, None, 0.02),
    "qwen3-4b": (4.0e9, None, 0.01),
    "qwen3-14b": (14.8e9, None, 0.005),
    "qwen3-32b": (32.8e9, None, 0.005),
    # Qwen2.5 model cards (huggingface.co/Qwen/<name>): "Number of Parameters: 14.7B", "32.5B", and
    # Qwen2.5-Coder-7B "7.61B"
    "qwen2.5-14b": (14.7e9, None, 0.005),
    "qwen2.5-32b": (32.5e9, None, 0.01),
    "qwen2.5-coder-7b": (7.61e9, None, 0.005),
    # DeepSeek-R1 model card (huggingface.co/deepseek-ai/DeepSeek-R1): 671B total, 37B activated,
    # as DeepSeek-V3 (its multi-token-prediction module not counted)
    "deepseek-r1": (671e9, 37e9, 0.01),
    # Hugging Face "Model size" of the safetensors (huggingface.co/<id>): DeepSeek-R1-Distill-Qwen-7B
    # 7.62B, SmolLM3-3B 3.08B, SmolLM2-1.7B 1.71B, SmolLM2-360M 362M, TinyLlama-1.1B-Chat-v1.0 1.1B
    "deepseek-r1-distill-qwen-7b": (7.62e9, None, 0.005),
    "smollm3-3b": (3.08e9, None, 0.005),
    "smollm2-1.7b": (1.71e9, None, 0.005),
    "smollm2-360m": (362e6, None, 0.005),
    "tinyllama-1.1b": (1.1e9, None, 0.005),
    # Phi: Hugging Face "Model size" of microsoft/phi-4 14.7B (the Phi-4 technical report,
    # arXiv:2412.08905: "14-billion parameter"); Phi-4-mini-instruct and Phi-3.5-mini-instruct model
    # cards: "3.8B parameters"
    "phi-4": (14.7e9, None, 0.005),
    # GLM-4.5-Air model card (huggingface.co/zai-org/GLM-4.5-Air): 106B total (the count here leaves
    # out its multi-token-prediction layer, as transformers does: 106.85B); its "12B active" is not
    # held: what it leaves out is not stated (13.4B with the embedding and LM head, 12.2B without)
    "glm-4.5-air": (106e9, None, 0.01),
    # Qwen2 technical report (arXiv:2407.10671, table 1) and the Hugging Face page of Qwen/Qwen2-0.5B:
    # 0.49B; the Qwen2.5-1.5B model card: "Number of Parameters: 1.54B"
    "qwen2-0.5b": (0.494e9, None, 0.002),
    "qwen2.5-1.5b": (1.54e9, None, 0.005),
    # LFM2 model cards (huggingface.co/LiquidAI/LFM2-*): 354,483,968, 742,489,344 and 1,170,340,608
    # parameters
    "lfm2-350m": (354_483_968, None, 1e-12),
    "lfm2-700m": (742_489_344, None, 1e-12),
    "lfm2-1.2b": (1_170_340_608, None, 1e-12),
    "phi-4-mini": (3.8e9, None, 0.01),
    "phi-3.5-mini": (3.8e9, None, 0.01),
    # Mistral: Hugging Face "Model size" of mistralai/Mistral-Nemo-Base-2407 12.2B,
    # Mistral-Small-24B-Base-2501 23.6B, Ministral-8B-Instruct-2410 8.02B
    "mistral-nemo-12b": (12.2e9, None, 0.005),
    "mistral-small-24b": (23.6e9, None, 0.005),
    "ministral-8b": (8.02e9, None, 0.005),
    # Hugging Face "Model size" of meta-llama/Llama-3.3-70B-Instruct: 70.6B
    "llama-3.3-70b": (70.6e9, None, 0.005),
    # Gemma 2 technical report (arXiv:2408.00118, table 1): 9B = 917,504,000 embedding +
    # 8,324,201,984 non-embedding; 27B = 1,179,648,000 + 26,047,480,320
    "gemma-2-9b": (917_504_000 + 8_324_201_984, None, 1e-9),
    "gemma-2-27b": (1_179_648_000 + 26_047_480_320, None, 1e-9),
    # Gemma 3 technical report (arXiv:2503.19786, table 1): 12B = 1,012M embedding + 10,759M
    # non-embedding; 27B = 1,416M + 25,600M (the 417M vision encoder is not in the text entries)
    "gemma-3-12b": (1012e6 + 10759e6, None, 0.002),
    "gemma-3-27b": (1416e6 + 25600e6, None, 0.002),
    # Qwen3-Next model card (huggingface.co/Qwen/Qwen3-Next-80B-A3B-Instruct): "80B in total and 3B
    # activated", "Number of Parameters (Non-Embedding): 79B"; the active count is checked below
    "qwen3-next-80b-a3b": (80e9, None, 0.01),
}


def _experts_idle(cfg: dict) -> int:
    """Parameters of the routed experts a token does not use, written out from the config:
    (E − k) experts × (3 · hidden · width [+ biases]) × MoE layers."""
    h, layers = cfg["hidden_size"], cfg["num_hidden_layers"]
    k = cfg["num_experts_per_tok"]
    t = cfg["model_type"]
    if t == "qwen3_moe":
        return (cfg["num_experts"] - k) * 3 * h * cfg["moe_intermediate_size"] * layers
    if t == "gpt_oss":   # gate_up (2·inter) and down projections with their biases
        inter = cfg["intermediate_size"]
        return (cfg["num_local_experts"] - k) * (3 * h * inter + 2 * inter + h) * layers
    if t in ("deepseek_v3", "deepseek_v32"):
        return (cfg["n_routed_experts"] - k) * 3 * h * cfg["moe_intermediate_size"] * (layers - cfg["first_k_dense_replace"])
    if t == "llama4_text":
        return (cfg["num_local_experts"] - k) * 3 * h * cfg["intermediate_size"] * (layers // cfg["interleave_moe_layer_step"])
    raise AssertionError(t)


@pytest.mark.parametrize("name", PUBLISHED)
def test_parameters_equal_the_published_counts(name):
    total, active, tol = PUBLISHED[name]
    got = count(name, seq_len=8).params
    assert got == pytest.approx(total, rel=tol)
    if active is not None:
        cfg = zoo.lookup(name).config
        lookup = cfg["vocab_size"] * cfg["hidden_size"] if cfg["model_type"] == "gpt_oss" else 0
        # active counts are published to two or three digits
        assert got - _experts_idle(cfg) - lookup == pytest.approx(active, rel=max(tol, 0.02))


@pytest.mark.parametrize("name, cls", [
    ("qwen3-0.6b", "Qwen3ForCausalLM"), ("qwen3-8b", "Qwen3ForCausalLM"),
    ("qwen3-30b-a3b", "Qwen3MoeForCausalLM"), ("gpt-oss-20b", "GptOssForCausalLM"),
    ("gpt-oss-120b", "GptOssForCausalLM"), ("deepseek-v3", "DeepseekV3ForCausalLM"),
    ("llama-4-scout-17b-16e", "Llama4ForCausalLM"), ("llama-4-maverick-17b-128e", "Llama4ForCausalLM"),
    ("gemma-3-1b", "Gemma3ForCausalLM"), ("gemma-3-4b", "Gemma3ForCausalLM"),
    ("qwen3-1.7b", "Qwen3ForCausalLM"), ("smollm3-3b", "SmolLM3ForCausalLM"),
    ("smollm2-360m", "LlamaForCausalLM"), ("tinyllama-1.1b", "LlamaForCausalLM"),
    ("phi-4-mini", "Phi3ForCausalLM"), ("mistral-nemo-12b", "MistralForCausalLM"),
    ("deepseek-r1-distill-qwen-7b", "Qwen2ForCausalLM"), ("gemma-2-27b", "Gemma2ForCausalLM"),
    ("gemma-3-27b", "Gemma3ForCausalLM"), ("glm-4.5-air", "Glm4MoeForCausalLM"),
    ("deepseek-v3.2", "DeepseekV32ForCausalLM"), ("lfm2-1.2b", "Lfm2ForCausalLM"),
])
def test_parameters_equal_transformers_on_meta(name, cls):
    """The zoo config, built by transformers' own class on the meta device (tied embeddings
    counted once), holds exactly the parameters the analytic builder counts."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from chipfit.frontends.pytorch.hf import build

    cfg = dict(zoo.lookup(name).config, architectures=[cls])
    with torch.device("meta"):
        model = build(cfg)
    assert sum(p.numel() for p in model.parameters()) == count(name, seq_len=8).params


# -- KV cache, by hand -------------------------------------------------------------------------

def _kv_per_token(name: str, prompt: int, output: int) -> float:
    """kv_bytes_per_token of ``chipfit llm`` (fp16 cache) at a context of prompt + output tokens."""
    return llm(name, "h100-sxm", prompt=prompt, output=output).to_dict()["kv_bytes_per_token"]


def test_deepseek_v3_caches_the_compressed_latent():
    """MLA: per token and layer the 512-wide latent and the 64-wide rotary key, shared by all
    128 heads (not 2 × 128 heads × 128/192 as the expanded form would hold)."""
    fp16 = 2
    per_token = 61 * (512 + 64) * fp16
    assert _kv_per_token("deepseek-v3", 1000, 24) == per_token
    g = count("deepseek-v3", phase="decode", context=4095, batch=2).graph
    assert g.kv_cache_elems == 2 * 4096 * 61 * (512 + 64)


def test_deepseek_v32_caches_the_latent_and_the_index_key():
    """DeepSeek Sparse Attention: per token and layer the 576-wide latent and the indexer's
    128-wide key; a decode step at 100,000 cached tokens attends to 2,048 latents per head but
    the indexer scores all 100,001 keys (64 heads × 128 MACs each), so its attention MACs are
    those of V3 at 2,048 keys plus the indexer's."""
    fp16 = 2
    assert _kv_per_token("deepseek-v3.2", 1000, 24) == 61 * (512 + 64 + 128) * fp16
    v3 = count("deepseek-v3", phase="decode", context=100_000).graph
    v32 = count("deepseek-v3.2", phase="decode", context=100_000).graph
    v3_at_topk = count("deepseek-v3", phase="decode", context=2047).graph
    index = 61 * (1536 * 64 * 128 + 7168 * 128 + 7168 * 64 + 100_001 * 64 * 128 + 100_001 * 64)
    assert v32.macs == v3_at_topk.macs + index
    assert v32.macs < v3.macs / 2


def test_qwen3_30b_a3b_kv_cache():
    fp16 = 2
    assert _kv_per_token("qwen3-30b-a3b", 512, 128) == 48 * 2 * 4 * 128 * fp16


def test_gpt_oss_20b_sliding_layers_hold_128_tokens():
    """12 sliding layers (even) hold at most 128 tokens, 12 full layers the whole context;
    8 KV heads of 64."""
    fp16, ctx = 2, 4096
    elems = 2 * 8 * 64 * (12 * 128 + 12 * ctx)
    assert _kv_per_token("gpt-oss-20b", 4000, 96) == pytest.approx(elems * fp16 / ctx)
    short = count("gpt-oss-20b", phase="prefill", seq_len=100).graph.kv_cache_elems
    assert short == 2 * 8 * 64 * 24 * 100     # below the window every layer holds every token


def test_gemma_3_4b_sliding_layers_hold_the_window():
    """34 layers, one in six full (5, 11, 17, 23, 29): 29 sliding layers hold at most 1,024
    tokens; 4 KV heads of 256."""
    fp16, ctx = 2, 8192
    elems = 2 * 4 * 256 * (29 * 1024 + 5 * ctx)
    assert _kv_per_token("gemma-3-4b", 8000, 192) == pytest.approx(elems * fp16 / ctx)


def test_llama_4_chunked_layers_hold_one_chunk():
    """Scout: 36 chunked layers (8,192 tokens at most) and 12 global NoPE layers; 8 KV heads of 128."""
    ctx = 20_000
    g = count("llama-4-scout-17b-16e", phase="prefill", seq_len=ctx).graph
    assert g.kv_cache_elems == 2 * 8 * 128 * (36 * 8192 + 12 * ctx)


def test_qwen3_next_80b_a3b_parameters():
    """79B without the embedding and the untied LM head (151,936 × 2,048 each); active: the
    model card's "3B" (one digit) against the non-embedding parameters less the 502 experts of
    3 · 2,048 · 512 a token leaves idle in each of the 48 layers."""
    total = count("qwen3-next-80b-a3b", seq_len=8).params
    embed = 151_936 * 2048
    assert total - 2 * embed == pytest.approx(79e9, rel=0.005)
    active = total - 2 * embed - (512 - 10) * 3 * 2048 * 512 * 48
    assert 2.5e9 <= active < 3.5e9


def test_qwen3_next_80b_a3b_cache_holds_full_layers_and_fixed_states():
    """12 full-attention layers (every 4th) hold K and V, 2 heads of 256, per token; the 36
    Gated DeltaNet layers hold 32 value heads × 128 × 128 of recurrent state and 3 columns of
    the 2·16·128 + 32·128 = 8,192-wide convolution input, whatever the context."""
    ctx, fp16 = 32_768, 2
    full = 12 * 2 * 2 * 256
    state = 36 * (32 * 128 * 128 + 3 * 8192)
    g = count("qwen3-next-80b-a3b", phase="prefill", seq_len=ctx).graph
    assert g.kv_cache_elems == full * ctx + state
    r = llm("qwen3-next-80b-a3b", "h100-sxm", prompt=ctx - 96, output=96).to_dict()
    assert r["kv_bytes_per_token"] == full * fp16          # the state does not grow per token
    assert r["kv_cache_bytes"] == (full * ctx + state) * fp16


@pytest.mark.parametrize("name", PUBLISHED)
def test_llm_runs_end_to_end(name):
    r = llm(name, "h100-sxm", prompt=256, output=16).to_dict()
    assert r["params"] == count(name, seq_len=8).params
    assert r["kv_cache_bytes"] > 0 and r["tpot_s"] > 0


def test_a_vision_language_model_prefills_its_image():
    """Qwen3-VL 8B on one 448×448 image: the prefill runs the vision tower and mergers on the
    image and the language model on 512 text + 196 image tokens (the graph count prices); the
    cache holds both: 36 layers × K and V × 8 heads × 128 × 2 bytes = 147,456 bytes a token, over
    512 + 128 + 196 tokens."""
    r = llm("qwen3-vl-8b", "h100-sxm", prompt=512, output=128)
    d = r.to_dict()
    assert d["image_tokens"] == 196
    assert r.graph.macs == count("qwen3-vl-8b", phase="prefill", seq_len=512).macs
    assert d["kv_bytes_per_token"] == 36 * 2 * 8 * 128 * 2
    assert d["kv_cache_bytes"] == 147_456 * (512 + 128 + 196)
    assert d["prefill_tokens_per_s"] == pytest.approx((512 + 196) / d["ttft_s"])
    assert any("one 448×448 image" in n for n in r.notes)
    text_only = llm("qwen3-8b", "h100-sxm", prompt=512, output=128)
    assert d["ttft_s"] > text_only.ttft_s


def test_lfm2_caches_only_its_attention_layers():
    """LFM2-1.2B: 6 attention layers × K and V × 8 heads × 64 × 2 bytes = 12,288 bytes a token; the
    10 convolution layers hold 2 inputs × 2,048 channels × 2 bytes each, whatever the context."""
    d = llm("lfm2-1.2b", "rtx-4090", prompt=512, output=128).to_dict()
    assert d["kv_bytes_per_token"] == 6 * 2 * 8 * 64 * 2
    assert d["kv_cache_bytes"] == 12_288 * 640 + 10 * 2 * 2048 * 2
