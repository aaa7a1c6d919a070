"""LLM engine efficiencies: fitted on the published rows they name, reproducible, validated."""

import csv
import sys
from pathlib import Path
from statistics import median

import pytest

from chipfit.calibration.llm_fit import LLMCaseFile, predict
from chipfit.core.datafile import load_path
from chipfit.core.stats import percentile
from chipfit.data.llm_efficiency import ENGINES, llm_efficiency_file, lookup

ROOT = Path(__file__).resolve().parent.parent
MEASURED = ROOT / "benchmarks" / "data" / "measured_public.csv"
sys.path.insert(0, str(ROOT / "benchmarks"))


@pytest.fixture(scope="module")
def cases():
    return load_path(LLMCaseFile, ROOT / "benchmarks" / "llm_cases.yaml").cases


@pytest.fixture(scope="module")
def preds(cases):
    return [predict(c) for c in cases]


def test_cases_copy_their_rows_of_measured_public_csv(cases):
    rows = list(csv.DictReader(MEASURED.open(encoding="utf-8")))
    for c in cases:
        row = rows[c.row - 1]
        assert (row["hardware"], row["model"], row["precision"], float(row["value"]), row["unit"]) == \
            (c.hardware, c.measured_model, c.measured_precision, c.value, c.unit), c.id
    llm_rows = [i + 1 for i, r in enumerate(rows) if "token" in (r["unit"] + r["scenario_metric"]).lower()]
    assert sorted(c.row for c in cases) == llm_rows  # every LLM row is expressed


def test_every_fit_names_its_rows_and_residuals(cases):
    fit_ids = {c.id for c in cases if c.role == "fit"}
    for f in llm_efficiency_file().fits:
        assert f.engine in ENGINES
        assert f.fitted_on and set(f.fitted_on) <= fit_ids, (f.efficiency_class, f.engine)
        assert f.decode_residual is not None or f.prefill_residual is not None
    assert lookup("npu").fit == "all/generic"  # no NPU measurements: the pooled fit, said in a note


def test_stored_residuals_are_what_the_stored_factors_predict(cases, preds):
    by_id = {p.case.id: p for p in preds}
    for f in llm_efficiency_file().fits:
        if f.efficiency_class == "all":
            continue  # pooled entries: rows predicted by their own class's entry
        rows = [by_id[i] for i in f.fitted_on]
        if f.engine == "generic" and len({p.case.engine for p in rows}) > 1:
            continue  # rows of several engines are predicted with each engine's own entry
        dec = [p.abs_pct for p in rows if p.case.phase == "decode"]
        if dec:
            assert median(dec) == pytest.approx(f.decode_residual.median_abs_pct, abs=0.01), f.engine


def test_refitting_reproduces_the_stored_factors(cases):
    import fit_llm

    stored = next(f for f in llm_efficiency_file().fits if (f.efficiency_class, f.engine) == ("nvidia-gpu", "hf"))
    rows = sorted(fit_llm.prepare([c for c in cases if c.id in stored.fitted_on]), key=lambda x: x[0].row)
    ref = fit_llm.reference_clock(rows)
    cap = fit_llm.cap_of(rows, ref)
    assert (ref, cap[0], cap[1].id) == (stored.reference_clock_mhz, stored.layer_overhead_cap_s,
                                        stored.cap_basis.split(" ")[0])
    start = next((f.prefill_gemm, f.decode_memory, f.layer_overhead_s) for f in llm_efficiency_file().fits
                 if (f.efficiency_class, f.engine) == ("nvidia-gpu", "generic"))
    p = fit_llm.search(rows, start, fit_llm.free_params(rows), ref, cap[0])
    assert p == pytest.approx((stored.prefill_gemm, stored.decode_memory, stored.layer_overhead_s), rel=2e-3)


def test_validation_md_shows_what_validate_py_computes(preds):
    """The LLM section of VALIDATION.md: its decode and prefill summaries and its fitted-factor
    table are what benchmarks/validate.py computes now (a refit without a rerun of validate.py,
    or a change to the predictions, fails here)."""
    import validate

    text = (ROOT / "VALIDATION.md").read_text(encoding="utf-8")
    md, _, dec, pre = validate.llm_section()
    head = ["rows", "n", "median abs error", "p90 abs error"]
    assert validate.md_table(head, dec) in text
    assert validate.md_table(head, pre) in text
    factors = md.split("### Fitted factors", 1)[1].split("### Rows", 1)[0]
    assert factors in text
    all_dec = next(r for r in dec if r[0] == "all rows")
    decode = [p.abs_pct for p in preds if p.case.phase == "decode"]
    assert all_dec[1:] == [str(len(decode)), f"{median(decode):.1f}%", f"{percentile(decode, 90):.1f}%"]


def test_decode_rate_of_all_published_llm_rows_within_15_percent_median(preds):
    decode = [p.abs_pct for p in preds if p.case.phase == "decode"]
    assert len(decode) >= 80
    assert median(decode) <= 15
    held = [p.abs_pct for p in preds if p.case.phase == "decode" and p.case.role == "holdout"]
    assert len(held) >= 30 and median(held) <= 15
