"""rknn-llm on Rockchip NPUs: sourced rows of airockchip/rknn-llm's benchmark.md, a fitted engine
entry (not a borrowed class), and a held-out row predicted within the class's band."""

import csv
import sys
from pathlib import Path
from statistics import median

import pytest

import chipfit
from chipfit.calibration.llm_fit import LLMCaseFile, predict
from chipfit.core.datafile import load_path
from chipfit.data.llm_efficiency import ENGINES, llm_efficiency_file, lookup

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
SOURCE = "airockchip/rknn-llm benchmark.md"
COMMIT = "878f9361fd3a"  # release v1.3.0


@pytest.fixture(scope="module")
def rows():
    with (ROOT / "benchmarks" / "data" / "measured_public.csv").open(encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["source"].startswith(SOURCE)]


@pytest.fixture(scope="module")
def cases():
    cf = load_path(LLMCaseFile, ROOT / "benchmarks" / "llm_cases.yaml")
    return [c for c in cf.cases if c.engine == "rknn-llm"]


def test_rows_exist_and_name_their_source(rows, cases):
    assert len(rows) == 22 and len(cases) == 22
    assert sum("RK3588" in r["hardware"] for r in rows) == 12
    assert sum("RK3576" in r["hardware"] for r in rows) == 10
    for r in rows:
        assert COMMIT in r["source"] and f"'### {r['hardware'].split()[1]}' table" in r["source"], r
    # two values copied from the RK3588 table (Qwen2 0.5B w8a8: TTFT 145.90 ms, 41.58 tokens/s)
    qwen2 = {r["unit"]: float(r["value"]) for r in rows if "RK3588" in r["hardware"] and r["model"] == "Qwen2 0.5B"}
    assert qwen2 == {"ms": 145.90, "tokens/s": 41.58}
    assert {c.chip for c in cases} == {"rk3588", "rk3576"} and {c.precision for c in cases} == {"int8"}


def test_held_out_rows_follow_the_rule_written_in_fit_llm(cases):
    import fit_llm

    rule = fit_llm.HELD_OUT_MODELS["rknn-llm"]
    assert rule == {"tinyllama-1.1b", "phi-3-mini"}
    assert sorted(c.id for c in cases if c.role == "holdout") == sorted(c.id for c in cases if c.model in rule)
    assert sum(c.role == "holdout" for c in cases) == 8
    fit = next(f for f in llm_efficiency_file().fits if (f.efficiency_class, f.engine) == ("rknn", "rknn-llm"))
    assert set(fit.fitted_on) == {c.id for c in cases if c.role == "fit"}
    assert fit.chips == ["rk3576", "rk3588"]


def test_rk3588_uses_the_fitted_rknn_llm_factors():
    assert "rknn-llm" in ENGINES
    r = chipfit.llm("qwen2.5-0.5b", "rk3588", precision="int8", engine="rknn-llm")
    eff = r.efficiency
    assert (eff.fit, eff.fallback) == ("rknn/rknn-llm", "")
    assert "rknn-llm" not in lookup("npu", "rknn-llm").fit  # an NPU class with no rows still borrows
    stored = next(f for f in llm_efficiency_file().fits if (f.efficiency_class, f.engine) == ("rknn", "rknn-llm"))
    assert (eff.decode_memory, eff.prefill_gemm) == (stored.decode_memory, stored.prefill_gemm)
    # fitted 2026 on 7 decode + 7 prefill rows: memory 0.809, matrix 0.107, 281 µs per layer per step
    assert eff.decode_memory == pytest.approx(0.809, abs=0.005)
    assert eff.prefill_gemm == pytest.approx(0.107, abs=0.005)
    assert eff.layer_overhead_s == pytest.approx(281e-6, rel=0.02)
    # engine auto on the class: its pooled entry, the same rows (rknn-llm is the only engine measured)
    auto = chipfit.llm("qwen2.5-0.5b", "rk3588", precision="int8").efficiency
    assert auto.fit == "rknn/generic" and auto.decode_memory == eff.decode_memory


def test_held_out_tinyllama_on_rk3588_within_the_decode_band():
    """mp-209 (held out): TinyLlama-1.1B w8a8 on the RK3588, 128-token prompt, 64 new tokens,
    measured 24.43 tokens/s; chipfit predicts 22.6 tokens/s and its decode band (in-sample p90
    8.34 %, 7 rows) must hold the measured time per token."""
    r = chipfit.llm("tinyllama-1.1b", "rk3588", precision="int8", engine="rknn-llm", prompt=128, output=64)
    d = r.to_dict()
    measured_tpot = 1 / 24.43
    assert d["tpot_s_low"] <= measured_tpot <= d["tpot_s_high"]
    assert 1 / r.tpot_s == pytest.approx(22.6, rel=0.02)


def test_held_out_decode_rows_within_10_percent(cases):
    held = [predict(c) for c in cases if c.role == "holdout" and c.phase == "decode"]
    assert len(held) == 4
    assert median(p.abs_pct for p in held) <= 10
    assert max(p.abs_pct for p in held) <= 10
