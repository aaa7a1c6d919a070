"""Hostile or nonsensical config.json files are refused before any work, in one sentence that
names the file and the field: a layer count past the cap (and how to raise it), sizes that are
negative, zero, not integers, booleans, infinite or absurdly large, key/value heads that do not
divide the attention heads, the same in nested configs. A valid config still counts the same."""

from __future__ import annotations

import json
import math
import time

import pytest

import chipfit
from chipfit.core.errors import ChipfitError
from chipfit.core.limits import LIMITS
from chipfit.frontends.arch import Phase, from_config
from chipfit.frontends.arch.checks import FIELDS, SIZE, TOKENS, check

LLAMA = dict(model_type="llama", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, vocab_size=1000, max_position_embeddings=4096)
MIXTRAL = dict(LLAMA, model_type="mixtral", num_local_experts=4, num_experts_per_tok=2)
QWEN_MOE = dict(MIXTRAL, model_type="qwen2_moe", num_experts=4, moe_intermediate_size=32)
GPT2 = dict(model_type="gpt2", n_embd=64, n_layer=2, n_head=4, n_positions=64, vocab_size=500)
VIT = dict(model_type="vit", hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
           image_size=32, patch_size=16)
WAV2VEC2 = dict(model_type="wav2vec2", hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=128, conv_dim=[32, 32], conv_kernel=[10, 3], conv_stride=[5, 2],
                num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4)
WHISPER = dict(model_type="whisper", d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
               decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128, vocab_size=500, num_mel_bins=80,
               max_source_positions=1500, max_target_positions=448)
T5 = dict(model_type="t5", d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4, vocab_size=500)
QWEN25_VL = dict(LLAMA, model_type="qwen2_5_vl",
                 vision_config=dict(depth=2, hidden_size=32, intermediate_size=48, num_heads=4, out_hidden_size=64,
                                    window_size=112, fullatt_block_indexes=[1], image_size=[112, 56]))
QWEN3_VL = dict(LLAMA, model_type="qwen3_vl", head_dim=16,
                vision_config=dict(depth=2, hidden_size=32, intermediate_size=48, num_heads=4, out_hidden_size=64,
                                   patch_size=16, deepstack_visual_indexes=[0], image_size=[64, 64]))
INTERNVL = dict(model_type="internvl", text_config=dict(LLAMA, model_type="qwen2"),
                vision_config=dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
                                   image_size=[56, 56], patch_size=[14, 14]))
LLAVA = dict(model_type="llava", text_config=LLAMA,
             vision_config=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                                image_size=32, patch_size=16))
GEMMA4 = dict(LLAMA, model_type="gemma4_text", num_hidden_layers=2, head_dim=16, global_head_dim=32,
              sliding_window=8, hidden_size_per_layer_input=8, vocab_size_per_layer_input=100)

#: Written into the JSON text as it is (a number Python's json reads as infinity).
INFINITE = "@1e999@"


def _text(cfg: dict) -> str:
    return json.dumps(cfg).replace(f'"{INFINITE}"', "1e999")


def _write(tmp_path, cfg: dict):
    path = tmp_path / "config.json"
    path.write_text(_text(cfg))
    return path


# (base config, changes, the field the refusal names, words it holds)
BAD = [
    (LLAMA, {"num_hidden_layers": 1_000_000}, "num_hidden_layers", "at most 10,000 layers"),
    (LLAMA, {"num_hidden_layers": int("9" * 400)}, "num_hidden_layers", "400-digit number"),
    (LLAMA, {"num_hidden_layers": -3}, "num_hidden_layers", "must be a positive integer, got -3"),
    (LLAMA, {"num_hidden_layers": 2.0}, "num_hidden_layers", "positive integer"),
    (LLAMA, {"num_hidden_layers": INFINITE}, "num_hidden_layers", "got inf"),
    (LLAMA, {"head_dim": -16}, "head_dim", "got -16"),
    (LLAMA, {"head_dim": 0}, "head_dim", "got 0"),
    (LLAMA, {"hidden_size": 0}, "hidden_size", "got 0"),
    (LLAMA, {"hidden_size": SIZE * 2}, "hidden_size", "at most 16,777,216"),
    (LLAMA, {"num_attention_heads": True}, "num_attention_heads", "got true"),
    (LLAMA, {"num_attention_heads": -4}, "num_attention_heads", "got -4"),
    (LLAMA, {"num_key_value_heads": 0}, "num_key_value_heads", "got 0"),
    (LLAMA, {"num_key_value_heads": 3}, "num_key_value_heads", "must divide"),
    (LLAMA, {"intermediate_size": -128}, "intermediate_size", "got -128"),
    (LLAMA, {"intermediate_size": "128"}, "intermediate_size", "got '128'"),
    (LLAMA, {"intermediate_size": 128.5}, "intermediate_size", "got 128.5"),
    (LLAMA, {"vocab_size": 0}, "vocab_size", "got 0"),
    (LLAMA, {"vocab_size": TOKENS + 1}, "vocab_size", "at most 2,147,483,648"),
    (LLAMA, {"max_position_embeddings": 1 << 40}, "max_position_embeddings", "at most"),
    (LLAMA, {"partial_rotary_factor": INFINITE}, "partial_rotary_factor", "finite"),
    (LLAMA, {"partial_rotary_factor": -0.5}, "partial_rotary_factor", "from 0 to 1"),
    (LLAMA, {"attention_bias": "yes"}, "attention_bias", "true or false"),
    (LLAMA, {"hidden_act": ["silu"]}, "hidden_act", "string"),
    (LLAMA, {"tie_word_embeddings": 1}, "tie_word_embeddings", "true or false"),
    (dict(LLAMA, model_type="mistral"), {"sliding_window": -5}, "sliding_window", "got -5"),
    (dict(LLAMA, model_type="mistral"), {"sliding_window": 0}, "sliding_window", "got 0"),
    (dict(LLAMA, model_type="gemma2"), {"layer_types": 5}, "layer_types", "list"),
    (MIXTRAL, {"num_experts_per_tok": 0}, "num_experts_per_tok", "got 0"),
    (MIXTRAL, {"num_experts_per_tok": 5}, "num_experts_per_tok", "between 1 and"),
    (MIXTRAL, {"num_local_experts": -4}, "num_local_experts", "non-negative"),
    (QWEN_MOE, {"decoder_sparse_step": 0}, "decoder_sparse_step", "got 0"),
    (QWEN_MOE, {"mlp_only_layers": [-1]}, "mlp_only_layers", "[0]"),
    (GPT2, {"n_layer": 1_000_000}, "n_layer", "--max-layers"),
    (GPT2, {"n_embd": -64}, "n_embd", "got -64"),
    (GPT2, {"n_positions": 0}, "n_positions", "got 0"),
    (WHISPER, {"encoder_layers": 50_000}, "encoder_layers", "--max-layers"),
    (WHISPER, {"num_mel_bins": False}, "num_mel_bins", "got false"),
    (T5, {"num_decoder_layers": 0}, "num_decoder_layers", "got 0"),
    (T5, {"d_kv": -1}, "d_kv", "got -1"),
    (VIT, {"image_size": [32]}, "image_size", "list of two"),
    (VIT, {"patch_size": 64}, "patch_size", "at most the image side"),
    (WAV2VEC2, {"conv_kernel": [10, 0]}, "conv_kernel", "[1] must be a positive integer"),
    (WAV2VEC2, {"conv_dim": 32}, "conv_dim", "list"),
    (LLAVA, {"text_config": dict(LLAMA, num_hidden_layers=1_000_000)}, "text_config.num_hidden_layers",
     "--max-layers"),
    (LLAVA, {"text_config": dict(LLAMA, num_key_value_heads=3)}, "text_config.num_key_value_heads", "must divide"),
    (LLAVA, {"vision_config": "clip"}, "vision_config", "object"),
    ({"model_type": "internvl_chat"}, {"llm_config": dict(LLAMA, head_dim=-1)}, "llm_config.head_dim", "got -1"),
    (QWEN25_VL, {"vision_config": dict(QWEN25_VL["vision_config"], depth=1_000_000)}, "vision_config.depth",
     "--max-layers"),
    (QWEN25_VL, {"vision_config": dict(QWEN25_VL["vision_config"], fullatt_block_indexes=[-1])},
     "vision_config.fullatt_block_indexes", "[0]"),
    (INTERNVL, {"downsample_ratio": 2}, "downsample_ratio", "finite number from 0 to 1"),
    (GEMMA4, {"global_head_dim": 0}, "global_head_dim", "got 0"),
    (GEMMA4, {"num_global_key_value_heads": 3, "attention_k_eq_v": True}, "num_global_key_value_heads",
     "must divide"),
    (GEMMA4, {"attention_k_eq_v": "yes"}, "attention_k_eq_v", "true or false"),
    (GEMMA4, {"hidden_size_per_layer_input": -8}, "hidden_size_per_layer_input", "non-negative"),
    (GEMMA4, {"num_kv_shared_layers": 2}, "num_kv_shared_layers", "must be fewer than the 2 layers"),
    (GEMMA4, {"num_kv_shared_layers": -1}, "num_kv_shared_layers", "non-negative"),
    (GEMMA4, {"enable_moe_block": True, "num_experts": 4, "top_k_experts": 5, "moe_intermediate_size": 32},
     "top_k_experts", "between 1 and the number of experts (4)"),
    (GEMMA4, {"use_bidirectional_attention": 1}, "use_bidirectional_attention", "string"),
]

#: Values each field allows alone but the model cannot be built from (base, changes, words).
UNBUILDABLE = [
    (QWEN25_VL, {"image_size": [100, 56]}, "image_size 100x56 must be a multiple of 28 pixels"),
    (QWEN25_VL, {"window_size": 14}, "window_size must be at least 28 pixels"),
    (QWEN25_VL, {"out_hidden_size": 48}, "must equal the language model's hidden_size (64)"),
    (INTERNVL, {"patch_size": [14, 16]}, "patch_size must be square"),
    (QWEN3_VL, {"deepstack_visual_indexes": [5]}, "deepstack_visual_indexes must name layers below depth (2)"),
]


def _one_line(rc: int, out: str, err: str) -> str:
    assert rc == 2, (rc, out, err)
    assert out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("chipfit: "), err
    assert "internal error" not in err and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("base, change, field, words", BAD,
                         ids=[f"{b['model_type']}-{f}-{i}" for i, (b, _, f, _) in enumerate(BAD)])
def test_count_refuses_a_bad_field_in_one_sentence(run_cli, tmp_path, base, change, field, words):
    path = _write(tmp_path, dict(base, **change))
    start = time.monotonic()
    line = _one_line(*run_cli("count", path))
    assert time.monotonic() - start < 10
    assert f"config.json: {field} " in line or f"config.json: {field}[" in line, line
    assert words in line, line


@pytest.mark.parametrize("base, change, words", UNBUILDABLE, ids=[w.split()[0] for _, _, w in UNBUILDABLE])
def test_a_vision_config_that_cannot_be_built_is_refused_in_one_sentence(run_cli, tmp_path, base, change, words):
    path = _write(tmp_path, dict(base, vision_config=dict(base["vision_config"], **change)))
    line = _one_line(*run_cli("count", path))
    assert "config.json' (vision_config): " in line and words in line, line


def test_an_internvl_downsample_ratio_must_divide_the_patch_grid(run_cli, tmp_path):
    line = _one_line(*run_cli("count", _write(tmp_path, dict(INTERNVL, downsample_ratio=0.3))))
    assert "downsample_ratio 0.3 must be 1/n for an n that divides the 4x4 patch grid" in line, line


@pytest.mark.parametrize("change, field", [
    ({"num_hidden_layers": 1_000_000}, "num_hidden_layers"),
    ({"num_hidden_layers": -(10 ** 400)}, "num_hidden_layers"),
    ({"num_key_value_heads": 3}, "num_key_value_heads"),
    ({"head_dim": -16}, "head_dim"),
    ({"model_type": "mistral", "sliding_window": -5}, "sliding_window"),
    ({"vocab_size": 1.5}, "vocab_size"),
])
def test_llm_refuses_a_bad_field_in_one_sentence(run_cli, tmp_path, change, field):
    _write(tmp_path, dict(LLAMA, **change))
    start = time.monotonic()
    line = _one_line(*run_cli("llm", tmp_path, "--chip", "rtx-4090"))
    assert time.monotonic() - start < 10
    assert f"config.json: {field} " in line, line


def test_the_layer_cap_names_the_flag_that_raises_it(run_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(LIMITS, "max_layers", LIMITS.max_layers)   # restored after the test
    _write(tmp_path, dict(LLAMA, num_hidden_layers=10_001))
    line = _one_line(*run_cli("count", tmp_path))
    assert line == (f"chipfit: {tmp_path / 'config.json'}: num_hidden_layers is 10,001 but chipfit builds at "
                    f"most 10,000 layers (raise the cap with --max-layers)")
    rc, out, err = run_cli("--max-layers", "10001", "count", tmp_path, "--json")
    assert rc == 0, err
    assert json.loads(out)["params"] > 0
    _write(tmp_path, dict(LLAMA, num_hidden_layers=10_000))
    monkeypatch.setattr(LIMITS, "max_layers", 10_000)
    rc, out, err = run_cli("count", tmp_path, "--json")
    assert rc == 0, err                                              # the cap itself is allowed


def test_the_traced_path_refuses_before_transformers_builds(run_cli, tmp_path):
    _write(tmp_path, dict(LLAMA, num_hidden_layers=1_000_000))
    start = time.monotonic()
    line = _one_line(*run_cli("count", tmp_path, "--trace"))
    assert time.monotonic() - start < 10
    assert "num_hidden_layers" in line and "--max-layers" in line


def test_library_calls_raise_chipfit_error(tmp_path, monkeypatch):
    path = _write(tmp_path, dict(LLAMA, num_hidden_layers=-3))
    with pytest.raises(ChipfitError, match=r"config\.json: num_hidden_layers must be a positive integer, got -3$"):
        chipfit.count(str(path))
    with pytest.raises(ChipfitError, match="num_hidden_layers"):
        chipfit.llm(str(path), "rtx-4090")
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(ChipfitError, match="partial_rotary_factor must be a finite number"):
            from_config(dict(LLAMA, partial_rotary_factor=value))
    with pytest.raises(ChipfitError, match=r"^the config: text_config\.hidden_size must be a positive integer"):
        from_config(dict(LLAVA, text_config=dict(LLAMA, hidden_size=-1)))
    monkeypatch.setattr(LIMITS, "max_layers", 1)
    with pytest.raises(ChipfitError) as info:
        from_config(LLAMA)
    assert info.value.fields == ["max_layers"]      # shown as --max-layers on the command line
    assert str(info.value).endswith("at most 1 layers (raise the cap with max_layers)")


def test_transformers_build_refuses_first():
    from chipfit.frontends.pytorch import hf

    with pytest.raises(ChipfitError, match="the config: num_hidden_layers is 1,000,000 but"):
        hf.build(dict(LLAMA, num_hidden_layers=1_000_000))


def test_configs_nested_too_deep_or_in_a_cycle_are_refused():
    cfg: dict = dict(LLAMA)
    cfg["text_config"] = cfg
    with pytest.raises(ChipfitError, match="nests configs more than"):
        check(cfg)


def test_the_largest_allowed_values_pass():
    check(dict(LLAMA, hidden_size=SIZE, vocab_size=TOKENS, max_position_embeddings=TOKENS, sliding_window=TOKENS,
               num_hidden_layers=LIMITS.max_layers, partial_rotary_factor=1.0, shared_expert_intermediate_size=0,
               num_local_experts=0, image_size=[SIZE, SIZE], head_dim=None, sliding_window_pattern="x"))
    with pytest.raises(ChipfitError, match="hidden_size"):
        check(dict(LLAMA, hidden_size=SIZE + 1))


def test_the_table_covers_every_size_the_readers_require():
    """Every key the readers pass to ``require`` has a rule: no size reaches a reader unchecked."""
    import ast
    import inspect

    from chipfit.frontends.arch import hf_config

    tree = ast.parse(inspect.getsource(hf_config))
    keys = {node.value for call in ast.walk(tree) if isinstance(call, ast.Call)
            and getattr(call.func, "attr", None) == "require"
            for node in ast.walk(call) if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    assert len(keys) > 20
    assert keys - set(FIELDS) == set()


def test_a_valid_config_counts_the_same():
    """Llama parameters by hand: embedding, per layer q/k/v/o + gated MLP + 2 norms, final norm, head."""
    h, inter, layers, heads, kv, vocab = 64, 128, 2, 4, 2, 1000
    hd = h // heads
    per_layer = h * heads * hd + 2 * h * kv * hd + heads * hd * h + 3 * h * inter + 2 * h
    g = from_config(LLAMA, Phase(tokens=16))
    assert g.params == vocab * h + layers * per_layer + h + h * vocab
    r = chipfit.count("llama-2-7b")
    assert r.params == 6_738_415_616


#: Gemma 4 configs whose fields each pass but that the reader cannot build (changes, words).
GEMMA4_UNBUILDABLE = [
    ({"num_kv_shared_layers": 1, "layer_types": ["sliding_attention", "full_attention"]},
     "num_kv_shared_layers leaves no earlier layer of every kind"),
    ({"per_layer_config": {"1": {"head_dim": -4}}}, "per_layer_config.1.head_dim must be a positive integer"),
    ({"per_layer_config": {"7": {"head_dim": 32}}}, "per_layer_config names layer '7', not one of the 2 layers"),
    ({"per_layer_config": {"1": {"sliding_window": 4}}}, "per_layer_config.1 may set head_dim and"),
    ({"use_bidirectional_attention": "all"}, "use_bidirectional_attention 'all' is not supported"),
    ({"layer_types": ["chunked_attention", "full_attention"]}, "layer_types holds 'chunked_attention'"),
]


@pytest.mark.parametrize("change, words", GEMMA4_UNBUILDABLE, ids=[w.split()[0] for _, w in GEMMA4_UNBUILDABLE])
def test_a_gemma4_config_that_cannot_be_built_is_refused_in_one_sentence(run_cli, tmp_path, change, words):
    line = _one_line(*run_cli("count", _write(tmp_path, dict(GEMMA4, **change))))
    assert "config.json': " in line and words in line, line
