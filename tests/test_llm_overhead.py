"""The per-layer cost of an LLM engine: a number of clock cycles, fitted at a reference clock,
scaled by reference / chip clock, and capped by what the fastest fit row leaves. Checked by hand."""

import sys
from pathlib import Path

import pytest

import chipfit
from chipfit.calibration.llm_fit import LLMCaseFile, clock_of, rate_error, retime, run
from chipfit.core.datafile import load_path
from chipfit.data.chips import database
from chipfit.data.llm_efficiency import llm_efficiency_file, lookup, on_chip, scaled_overhead

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))


def _fit(cls: str, engine: str):
    return next(f for f in llm_efficiency_file().fits if (f.efficiency_class, f.engine) == (cls, engine))


@pytest.fixture(scope="module")
def cases():
    return {c.id: c for c in load_path(LLMCaseFile, ROOT / "benchmarks" / "llm_cases.yaml").cases}


@pytest.fixture(scope="module")
def results(cases):
    return {i: run(c) for i, c in cases.items()}


def test_the_formula_by_hand():
    # 200 µs at 1000 MHz on a 2000 MHz chip: half the cycles' time
    assert scaled_overhead(200e-6, 1000, 2000) == pytest.approx(100e-6)
    # capped at 150 µs (at 1000 MHz) first, then scaled: 150 × 1000 / 2000 = 75 µs
    assert scaled_overhead(200e-6, 1000, 2000, cap_s=150e-6) == pytest.approx(75e-6)
    # a slower chip pays more: 200 × 1000 / 625 = 320 µs
    assert scaled_overhead(200e-6, 1000, 625) == pytest.approx(320e-6)
    # no clock on either side: the figure as fitted (capped)
    assert scaled_overhead(200e-6, 1000, None, cap_s=150e-6) == pytest.approx(150e-6)
    assert scaled_overhead(200e-6, None, 2000) == pytest.approx(200e-6)


def test_the_clocks_of_the_measured_apple_chips():
    db = database()
    clock = {c: db.get(c)[1].clock_mhz.value for c in ("apple-m1", "apple-m1-max", "apple-m2-max", "apple-m3-max")}
    assert clock == {"apple-m1": 1278, "apple-m1-max": 1296, "apple-m2-max": 1398, "apple-m3-max": 1380}
    # the Apple fit was made on M1-family rows only: its reference is the M1 Pro/Max/Ultra clock
    assert _fit("gpu", "llama.cpp").reference_clock_mhz == 1296


def test_m1_max_against_m3_max_by_hand():
    """Same bandwidth (400 GB/s), same model and format: only the per-layer cost differs, by
    the clock ratio 1296 / 1380."""
    fit = _fit("gpu", "llama.cpp")
    o_ref = min(fit.layer_overhead_s, fit.layer_overhead_cap_s)
    kw = dict(precision="q4_0", prompt=1, output=129)
    m1 = chipfit.llm("llama-2-7b", "apple-m1-max", **kw)
    m3 = chipfit.llm("llama-2-7b", "apple-m3-max", **kw)
    assert m1.efficiency.fit == m3.efficiency.fit == "gpu/llama.cpp"
    o1, o3 = o_ref * 1296 / 1296, o_ref * 1296 / 1380
    assert m1.efficiency.layer_overhead_s == pytest.approx(o1)
    assert m3.efficiency.layer_overhead_s == pytest.approx(o3)
    # decode at batch 1 is memory-bound on both: the same roofline time per step (to 0.1 %: a
    # few small ops are compute-bound, and the M3 Max computes faster)
    assert m1.bandwidth_gbps == m3.bandwidth_gbps == 400
    step1 = m1.decode.roofline_s / m1.decode.steps
    step3 = m3.decode.roofline_s / m3.decode.steps
    assert step3 == pytest.approx(step1, rel=1e-3)
    # TPOT = roofline step + 32 layers × per-layer cost
    assert m1.tpot_s == pytest.approx(step1 + 32 * o1)
    assert m3.tpot_s == pytest.approx(step3 + 32 * o3)
    ratio = (step1 + 32 * o1) / (step3 + 32 * o3)
    assert m3.decode_tokens_per_s / m1.decode_tokens_per_s == pytest.approx(ratio)
    # the clock alone: 32 × o_ref × (1 − 1296 / 1380) shorter steps on the M3 Max
    assert m1.tpot_s - m3.tpot_s == pytest.approx(32 * o_ref * (1 - 1296 / 1380) + step1 - step3)
    assert ratio > 1.02  # the M3 Max is predicted faster; before the clock it was the same


def test_a_power_mode_scales_the_clock_and_the_cost():
    base = chipfit.llm("llama-3.2-3b", "jetson-orin-nano-8gb-super", precision="q4f16_1", prompt=16, output=2)
    slow = chipfit.llm("llama-3.2-3b", "jetson-orin-nano-8gb-super@15W", precision="q4f16_1", prompt=16, output=2)
    # MAXN_SUPER lists the GPU at 1020 MHz; the 15W mode runs it at 0.6 of that: 612 MHz
    assert base.efficiency.clock_mhz == 1020 and slow.efficiency.clock_mhz == pytest.approx(612)
    assert slow.efficiency.layer_overhead_s == pytest.approx(base.efficiency.layer_overhead_s * 1020 / 612)


def test_a_chip_without_a_clock_pays_the_reference_figure_and_says_so():
    eff = on_chip(lookup("npu"), None)
    fit = _fit("all", "generic")
    assert eff.layer_overhead_s == pytest.approx(min(fit.layer_overhead_s, fit.layer_overhead_cap_s))
    assert "not scaled" in eff.overhead_derivation


def test_every_fitted_cost_is_at_or_below_its_cap():
    for f in llm_efficiency_file().fits:
        assert f.layer_overhead_cap_s is not None and f.cap_basis, (f.efficiency_class, f.engine)
        assert f.layer_overhead_s <= f.layer_overhead_cap_s, (f.efficiency_class, f.engine)


def test_the_cap_leaves_every_fit_row_no_slower_than_measured_at_the_rated_figures(cases, results):
    """The cap's definition: at memory = matrix = 1 and the cap, no fit row is predicted slower
    than measured, and the row it names is predicted (nearly) exactly."""
    for f in llm_efficiency_file().fits:
        errors = {}
        for i in f.fitted_on:
            c, r = cases[i], results[i]
            o = scaled_overhead(f.layer_overhead_cap_s, f.reference_clock_mhz, clock_of(r))
            errors[i] = rate_error(c, retime(c, r, 1.0, 1.0, o))
        assert min(errors.values()) >= -1e-9, (f.efficiency_class, f.engine)
        named = f.cap_basis.split(" ")[0]
        assert errors[named] == pytest.approx(0, abs=0.01), (f.efficiency_class, f.engine)


def test_the_apple_cap_by_hand(cases, results):
    """gpu/llama.cpp: the cap from its named decode row, by hand: (measured step time − rated
    roofline step time) / 32 layers, × the row's clock / the reference clock."""
    f = _fit("gpu", "llama.cpp")
    row = f.cap_basis.split(" ")[0]
    c, r = cases[row], results[row]
    assert c.metric == "decode_tps" and c.model == "llama-2-7b"  # 32 layers, one step per token
    rated_rate = retime(c, r, 1.0, 1.0, 0.0)             # tokens/s at the rated bandwidth, no cost
    room = (1 / c.value - 1 / rated_rate) / 32           # seconds per layer on that chip
    by_hand = room * clock_of(r) / f.reference_clock_mhz
    assert f.layer_overhead_cap_s == pytest.approx(by_hand, rel=0.01)
    assert f.layer_overhead_cap_s <= by_hand             # rounded down, never up


def test_the_prediction_says_the_per_layer_cost_and_its_derivation():
    r = chipfit.llm("llama-2-7b", "apple-m2-max", precision="q4_0", prompt=1, output=129)
    d = r.to_dict()["efficiency"]
    assert d["reference_clock_mhz"] == 1296 and d["chip_clock_mhz"] == 1398
    assert d["layer_overhead_s"] == pytest.approx(min(d["layer_overhead_fit_s"], d["layer_overhead_cap_s"]) * 1296 / 1398)
    assert "× 1296 / 1398 MHz" in d["layer_overhead_derivation"]
    assert any(k == "per-layer cost" and "1398" in v for k, v in r.explain())


def test_h100_and_rtx_3090_prefill_by_hand():
    """llama.cpp prefill of Llama-2-7B (2,048 tokens, q4_0) on an H100 SXM and an RTX 3090: both are
    the nvidia-gpu/llama.cpp fit, so their matrix work takes time in the ratio of the peaks the
    engine's kernels run at: the H100's dense fp16 (989.4 TFLOPS) and the 3090's fp16-accumulate
    rate (142 TFLOPS, twice its FP32-accumulate figure), 142 / 989.4 = 0.1435."""
    from chipfit.analysis.llm import llm

    h100 = llm("llama-2-7b", "h100-sxm", prompt=2048, output=2, precision="q4_0", engine="llama.cpp")
    rtx = llm("llama-2-7b", "rtx-3090", prompt=2048, output=2, precision="q4_0", engine="llama.cpp")
    assert (h100.peak_tops, rtx.peak_tops) == (989.4, 142.0)
    assert h100.efficiency.fit == rtx.efficiency.fit == "nvidia-gpu/llama.cpp"
    assert h100.prefill.compute_s / rtx.prefill.compute_s == pytest.approx(142.0 / 989.4, rel=1e-9)
    assert rtx.ttft_s > 4 * h100.ttft_s
