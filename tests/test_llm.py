"""``chipfit llm``: KV cache, weight formats, decode and prefill timing, memory fit, bad input.

Reference values are written out by hand from the models' published configs (Llama-2:
hidden 4096, 32 layers, 32 heads; 70B: hidden 8192, 80 layers, 8 KV heads; head dim 128).
"""

import json
import math

import pytest

import chipfit
from chipfit import ChipfitError
from chipfit.analysis.llm import _sum_max, fit_advice, parse_sweep, sweep
from chipfit.cli import flag_of
from chipfit.core.errors import render_fields
from chipfit.core.precision import get_precision
from chipfit.data.llm_efficiency import lookup

GB = 1e9


# -- KV cache -------------------------------------------------------------------------------
def test_kv_cache_llama_2_7b_at_4096_tokens_fp16():
    r = chipfit.llm("llama-2-7b", "h100-sxm", prompt=4000, output=96)
    # 2 (K, V) x 32 layers x 32 KV heads x 128 head dim x 2 bytes = 524,288 bytes per token
    assert r.kv_bytes_per_token == 2 * 32 * 32 * 128 * 2 == 524_288
    assert r.kv_cache_bytes == 4096 * 524_288 == 2_147_483_648


def test_kv_cache_llama_2_70b_gqa_at_4096_tokens_fp16():
    r = chipfit.llm("llama-2-70b", "h100-sxm", prompt=4000, output=96)
    # GQA: 8 KV heads, not 64: 2 x 80 x 8 x 128 x 2 = 327,680 bytes per token
    assert r.kv_bytes_per_token == 2 * 80 * 8 * 128 * 2 == 327_680
    assert r.kv_cache_bytes == 4096 * 327_680 == 1_342_177_280
    assert not r.memory_fits  # 138 GB of fp16 weights on one 80 GB H100


def test_kv_precision_and_batch_scale_the_cache():
    fp16 = chipfit.llm("llama-2-7b", "h100-sxm", prompt=1000, output=24, batch=4)
    fp8 = chipfit.llm("llama-2-7b", "h100-sxm", prompt=1000, output=24, batch=4, kv_precision="fp8")
    assert fp16.kv_cache_bytes == 4 * 1024 * 524_288
    assert fp8.kv_cache_bytes * 2 == fp16.kv_cache_bytes
    assert fp8.tpot_s < fp16.tpot_s  # fewer KV bytes read per step


# -- weight formats ---------------------------------------------------------------------------
LLAMA2_7B_MATRIX = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)   # q, k, v, o, gate, up, down
LLAMA2_7B_TABLE = 32000 * 4096                                  # embedding; the LM head is as big
LLAMA2_7B_NORMS = (2 * 32 + 1) * 4096


def test_w4a16_weight_bytes_with_group_scales():
    r = chipfit.count("llama-2-7b", precision="w4a16")
    assert r.params == LLAMA2_7B_MATRIX + 2 * LLAMA2_7B_TABLE + LLAMA2_7B_NORMS == 6_738_415_616
    # group size 128: each group stores an fp16 scale and a 4-bit zero point -> 4 + 20/128 bits
    # per weight; AWQ/GPTQ keep the embedding, the LM head and the norms at fp16
    matrices = math.ceil(LLAMA2_7B_MATRIX * (4 + 20 / 128) / 8)
    assert r.weight_bytes == matrices + 2 * (2 * LLAMA2_7B_TABLE + LLAMA2_7B_NORMS)
    assert matrices == 809_500_672 * 4.15625 == 3_364_487_168
    g32 = chipfit.llm("llama-2-7b", "h100-sxm", precision="w4a16", group_size=32)
    assert g32.precision.bits_per_weight == 4 + 20 / 32
    assert g32.weight_bytes == (math.ceil(LLAMA2_7B_MATRIX * (4 + 20 / 32) / 8)
                                + 2 * (2 * LLAMA2_7B_TABLE + LLAMA2_7B_NORMS))


def test_llama_cpp_formats_bits_per_weight():
    # ggml block layouts: Q4_0 = 32 weights in 18 bytes, Q8_0 = 32 in 34, Q4_K = 256 in 144
    assert get_precision("q4_0").bits_per_weight == 18 * 8 / 32 == 4.5
    assert get_precision("q8_0").bits_per_weight == 34 * 8 / 32 == 8.5
    assert get_precision("q4_k_m").bits_per_weight == 144 * 8 / 256 == 4.5
    r = chipfit.count("llama-2-7b", precision="q4_0")
    # output matrix Q6_K (210 bytes per 256), norms fp32, everything else Q4_0
    want = (math.ceil((LLAMA2_7B_MATRIX + LLAMA2_7B_TABLE) * 4.5 / 8) + math.ceil(LLAMA2_7B_TABLE * 210 * 8 / 256 / 8)
            + 4 * LLAMA2_7B_NORMS)
    assert abs(r.weight_bytes - want) <= 2


def test_group_size_only_for_grouped_formats():
    with pytest.raises(ChipfitError, match="group-quantized"):
        chipfit.llm("llama-2-7b", "h100-sxm", precision="fp16", group_size=64)


# -- decode is bandwidth-bound ----------------------------------------------------------------
CHIP_100 = """
vendor: Test
sources:
  t: {title: "a test chip"}
chips:
  - id: test-100gbs
    name: "Test chip, 100 GB/s"
    category: edge
    efficiency_class: gpu
    dense:
      fp16: {value: 50, source: t, flag: datasheet}
    memory_bandwidth_gbps: {value: 100, source: t, flag: datasheet}
    memory_gb: {value: 32, source: t, flag: datasheet}
"""


@pytest.fixture
def chip100(tmp_path):
    path = tmp_path / "chips.yaml"
    path.write_text(CHIP_100)
    return str(path)


def test_7b_decode_on_100_gbps_is_bandwidth_bound(chip100):
    r = chipfit.llm("llama-2-7b", "test-100gbs", prompt=100, output=2, chips_files=[chip100])
    eff = lookup("gpu", "generic")
    # bytes of one decode step at 100 cached tokens: every weight once (the embedding: one row),
    # the KV cache read (100 tokens) and written (1), at fp16
    weights = 2 * (LLAMA2_7B_MATRIX + LLAMA2_7B_TABLE + LLAMA2_7B_NORMS + 4096)
    kv = 101 * 524_288
    by_hand = (weights + kv) / (100e9 * eff.decode_memory)
    step = r.tpot_s - 32 * eff.layer_overhead_s
    assert r.decode.bound == "memory"
    assert step == pytest.approx(by_hand, rel=0.01)
    assert r.decode.steps == 1 and r.decode.overhead_s == pytest.approx(32 * eff.layer_overhead_s)


def test_decode_slows_as_the_cache_grows_and_prefill_is_compute_bound():
    r = chipfit.llm("llama-2-7b", "a100-80gb-sxm", prompt=256, output=2048, batch=8)
    assert r.last_step_s > r.first_step_s
    assert r.prefill.bound == "compute"
    assert r.curve[0][0] == 256 and r.curve[-1][0] == 256 + 2046
    assert r.tpot_s == pytest.approx(r.decode.seconds / 2047)
    assert r.e2e_latency_s == pytest.approx(r.ttft_s + 2047 * r.tpot_s)


def test_closed_form_step_sum_equals_stepping():
    # max of two lines summed over integer points, both orders of crossing
    for a, b, n in (((1.0, 3.0), (5.0, 2.0), 11), ((4.0, 1.0), (1.0, 6.0), 7), ((2.0, 1.0), (3.0, 1.5), 5),
                    ((1.0, 2.0), (1.5, 9.0), 9), ((3.0, 3.0), (1.0, 5.0), 2)):
        brute = [max(a[k] + (b[k] - a[k]) * i / (n - 1) for k in (0, 1)) for i in range(n)]
        assert _sum_max(a, b, n)[0] == pytest.approx(sum(brute))


def test_decode_sum_equals_step_by_step_across_a_sliding_window(tmp_path):
    cfg = {"model_type": "mistral", "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
           "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 1000, "sliding_window": 16,
           "max_position_embeddings": 4096}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    whole = chipfit.llm(str(path), "jetson-orin-nano-8gb",
                        prompt=5, output=31, batch=64)
    steps = [chipfit.llm(str(path), "jetson-orin-nano-8gb", prompt=c, output=2, batch=64).decode.seconds
             for c in range(5, 35)]
    assert whole.decode.steps == 30
    assert whole.decode.seconds == pytest.approx(sum(steps), rel=1e-9)


# -- parallelism, MoE -------------------------------------------------------------------------
def test_tensor_parallel_splits_weights_and_adds_all_reduces():
    one = chipfit.llm("llama-2-7b", "a100-80gb-sxm", prompt=128, output=2)
    two = chipfit.llm("llama-2-7b", "a100-80gb-sxm", prompt=128, output=2, chips_count=2, link_gbps=300)
    assert two.memory.weights == math.ceil(one.memory.weights / 2)
    # two all-reduces per layer of 4096 fp16 values: ring 2 (N-1)/N x bytes / link + 10 us latency
    per = 2 * 1 / 2 * 4096 * 2 / 300e9 + 10e-6
    assert two.decode.comm_s == pytest.approx(2 * 32 * per)
    assert two.tpot_s < one.tpot_s


def test_moe_decode_reads_the_active_experts_only():
    r = chipfit.llm("mixtral-8x7b", "h200", prompt=64, output=2)
    # batch 1: 2 of 8 experts per layer -> about the 12.9 G active parameters, not 46.7 G
    read = r.decode.bytes / 2
    assert 12.0e9 < read < 13.5e9
    assert r.weight_bytes == pytest.approx(2 * 46_702_792_704, rel=1e-6)


# -- memory fit -------------------------------------------------------------------------------
def test_largest_batch_and_context_fit_the_memory():
    r = chipfit.llm("llama-2-7b", "rtx-4090", prompt=1024, output=1024, batch=2)
    m = r.memory
    room = m.capacity - m.overhead - m.weights
    per_seq = 2048 * 524_288 + m.activations / 2
    assert r.max_batch == int(room // per_seq)
    big = chipfit.llm("llama-2-7b", "rtx-4090", prompt=1024, output=1024, batch=r.max_batch)
    assert big.memory_fits
    assert not chipfit.llm("llama-2-7b", "rtx-4090", prompt=1024, output=1024, batch=r.max_batch + 1).memory_fits
    assert r.max_context == 4096 and r.max_context_limit == "model"


def test_advice_when_the_model_does_not_fit():
    r = chipfit.llm("llama-2-70b", "a100-80gb-sxm", prompt=512, output=128)
    assert not r.memory_fits
    advice = fit_advice(r)  # parameters in backquotes: the library's words, each front end shows its own
    short = (r.memory.total - r.memory.capacity) / GB
    assert f"{short:,.1f} GB too much" in advice
    assert "`precision` w4a16" in advice or "`precision` int8" in advice
    assert "`chips_count` 2" in advice
    text = render_fields(advice, flag_of)  # as the command line prints it
    assert "--precision w4a16" in text or "--precision int8" in text
    assert "--chips-count 2" in text


# -- CLI ---------------------------------------------------------------------------------------
def test_cli_llm_json_keys(run_cli):
    rc, out, err = run_cli("llm", "llama-3-8b", "--chip", "h100-sxm", "--prompt", "512", "--output", "64",
                           "--precision", "w4a16", "--json", "--explain")
    assert rc == 0, err
    d = json.loads(out)
    for key in ("chip", "precision", "ttft_s", "tpot_s", "decode_tokens_per_s", "prefill_tokens_per_s",
                "kv_cache_bytes", "weight_bytes", "memory_fits"):
        assert key in d
    assert d["decode_tokens_per_s"] == pytest.approx(1 / d["tpot_s"])
    assert d["prefill_tokens_per_s"] == pytest.approx(512 / d["ttft_s"])
    assert d["explain"] and d["efficiency"]["fit"]


def test_cli_sweep_has_every_point(run_cli):
    rc, out, err = run_cli("llm", "llama-2-7b", "--chip", "a100-80gb-sxm", "--sweep", "batch=1,4,16", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["sweep"] == "batch" and d["values"] == [1, 4, 16]
    tps = [p["decode_tokens_per_s_total"] for p in d["points"]]
    assert tps[0] < tps[1] < tps[2]
    rc, out, err = run_cli("llm", "llama-2-7b", "--chip", "a100-80gb-sxm", "--sweep", "batch=1,4")
    assert rc == 0 and "tok/s all" in out and "e2e" in out


@pytest.mark.parametrize("args, needle", [
    (("llama-2-7b", "--chip", "h100-sxm", "--prompt", "4000", "--output", "200"), "exceed the 4,096-token context"),
    (("llama-2-7b", "--chip", "h100-sxm", "--batch", "0"), "--batch must be at least 1, got 0"),
    (("llama-2-7b", "--chip", "h100-sxm", "--precision", "fp12"), "--precision must be one of fp32, tf32, fp16, bf16, fp8, int8, int4, w8a16, w4a16, q8_0, q4_0, q4_k_m, q4f16_1, got fp12"),
    (("llama-2-7b", "--chip", "h100-sxm", "--kv-precision", "q4"), "--kv-precision must be one of fp32, fp16, bf16, fp8, int8, int4, got q4"),
    (("llama-2-7b", "--chip", "h100-sxm", "--engine", "vllm2"), "--engine must be one of auto, generic, hf, tinychat, tensorrt-llm, llama.cpp, mlc, rknn-llm, got vllm2"),
    (("resnet18", "--chip", "h100-sxm"), "needs a decoder language model"),
    (("llama-2-7b", "--chip", "h100-sxm", "--sweep", "heads=1,2"), "--sweep must look like"),
    (("llama-2-7b", "--chip", "h100-sxm", "--context", "100"), "--context 100 is shorter than --prompt + --output = 640 tokens"),
])
def test_cli_bad_input_is_one_sentence_and_exit_2(run_cli, args, needle):
    rc, out, err = run_cli("llm", *args)
    assert rc == 2 and out == ""
    assert needle in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_parse_sweep():
    assert parse_sweep("batch=1,4,16") == ("batch", [1, 4, 16])
    assert parse_sweep("chips-count=1,2") == ("chips_count", [1, 2])
    with pytest.raises(ChipfitError):
        parse_sweep("batch=a,b")
    s = sweep("llama-2-7b", "h100-sxm", "output", [16, 64])
    assert [p.output for p in s.points] == [16, 64]


def test_llama_cpp_runs_geforce_matrices_at_the_fp16_accumulate_peak():
    from chipfit.data.chips import database

    db = database()
    _, g = db.get("rtx-4090")
    _, a = db.get("a100-80gb-sxm")
    fast = g.fp16_accumulate["fp16"].value
    assert fast == pytest.approx(2 * g.dense["fp16"].value, rel=0.01)   # GeForce: FP32 accumulate at half rate
    r = chipfit.llm("llama-3-8b", "rtx-4090", precision="q4_k_m", prompt=64, output=2)
    assert r.peak_tops == fast and any("FP16-accumulate peak" in n for n in r.notes)
    hf = chipfit.llm("llama-3-8b", "rtx-4090", precision="fp16", engine="hf", prompt=64, output=2)
    assert hf.peak_tops == g.dense["fp16"].value                       # other engines: the listed rate
    a100 = chipfit.llm("llama-3-8b", "a100-80gb-sxm", precision="q4_k_m", prompt=64, output=2)
    assert a100.peak_tops == a.dense["fp16"].value                     # no faster FP16-accumulate rate listed
    assert not any("FP16-accumulate" in n for n in a100.notes)
