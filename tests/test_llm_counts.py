"""Transformer counts from configs: exact MACs written out as formulas, parameters from the
public reference table (benchmarks/data/llm_configs.csv)."""

import csv
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="needs torch")
pytest.importorskip("transformers", reason="needs transformers (pip install 'chipfit[hf]')")

import chipfit  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"


def ref_params(model: str) -> int:
    with open(DATA / "llm_configs.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["model"] == model:
                return int(row["params_computed"])
    raise KeyError(model)


def decoder_macs(layers, seq, hidden, inter, vocab, heads, kv_heads, gated=True):
    head_dim = hidden // heads
    proj = seq * hidden * (2 * hidden + 2 * kv_heads * head_dim)   # q, o + k, v (GQA)
    mlp = (3 if gated else 2) * seq * hidden * inter
    attention = 2 * seq * seq * hidden                              # QK^T + AV, dense
    return layers * (proj + mlp + attention) + seq * hidden * vocab  # + lm_head


def test_llama_2_7b_at_2048_tokens():
    r = chipfit.count("llama-2-7b", seq_len=2048)
    assert r.macs == decoder_macs(32, 2048, 4096, 11008, 32000, 32, 32) == 14_630_806_093_824
    assert r.params == ref_params("Llama-2-7B") == 6_738_415_616
    assert r.unsupported_ops == {}


def test_llama_2_70b_at_4096_tokens_gqa():
    r = chipfit.count("llama-2-70b", seq_len=4096)
    assert r.macs == decoder_macs(80, 4096, 8192, 28672, 32000, 64, 8) == 303_439_439_462_400
    assert r.params == ref_params("Llama-2-70B")


def test_gpt2_small_at_128_tokens():
    r = chipfit.count("gpt2", seq_len=128)
    assert r.macs == decoder_macs(12, 128, 768, 3072, 50257, 12, 12, gated=False) == 16_114_089_984
    assert r.params == ref_params("GPT-2 small (gpt2)")  # lm_head tied to the embedding: counted once


@pytest.mark.parametrize("name,ref", [("gpt2-medium", "GPT-2 medium"), ("gpt2-large", "GPT-2 large"),
                                      ("gpt2-xl", "GPT-2 XL"), ("bert-base", "BERT-base-uncased"),
                                      ("bert-large", "BERT-large-uncased"), ("llama-2-13b", "Llama-2-13B")])
def test_parameter_counts_match_reference(name, ref):
    assert chipfit.count(name, seq_len=8).params == ref_params(ref)


def test_bert_base_macs():
    s, h, i, layers = 128, 768, 3072, 12
    pooler = h * h
    expected = layers * (4 * s * h * h + 2 * s * h * i + 2 * s * s * h) + pooler
    assert chipfit.count("bert-base", seq_len=s).macs == expected


def test_whisper_tiny_encoder_and_one_decoder_token():
    r = chipfit.count("whisper-tiny", seq_len=1)
    d, ffn, frames, pos = 384, 1536, 3000, 1500
    conv = 80 * d * 3 * frames + d * d * 3 * pos           # conv1 (stride 1), conv2 (stride 2)
    enc = 4 * (4 * pos * d * d + 2 * pos * d * ffn + 2 * pos * pos * d)
    dec_self = 4 * d * d + 2 * d                            # one token: projections + QK^T, AV
    dec_cross = d * d * 2 + 2 * pos * d * d + 2 * pos * d   # q, o + k, v of 1500 encoder states
    dec = 4 * (dec_self + dec_cross + 2 * d * ffn)
    head = d * 51865
    assert r.macs == conv + enc + dec + head
    assert r.unsupported_ops == {}
