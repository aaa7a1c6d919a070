"""Efficiency factors: fitted on the published rows they name, reproducible, and validated."""

import csv
import sys
from pathlib import Path
from statistics import median

import pytest

from chipfit.data.efficiency import efficiency_file

pytest.importorskip("torchvision", reason="the validation models need torchvision")

ROOT = Path(__file__).resolve().parent.parent
MEASURED = ROOT / "benchmarks" / "data" / "measured_public.csv"
sys.path.insert(0, str(ROOT / "benchmarks"))

from _cases import load_cases, local_cases, predictor  # noqa: E402

from chipfit.calibration.fit import fit_class  # noqa: E402


@pytest.fixture(scope="module")
def cases():
    return load_cases()


@pytest.fixture(scope="module")
def pred():
    return predictor()


def test_cases_copy_their_rows_of_measured_public_csv(cases):
    rows = list(csv.DictReader(MEASURED.open(encoding="utf-8")))
    for c in cases.cases:
        row = rows[c.row - 1]
        assert (row["hardware"], row["model"], float(row["value"]), row["unit"]) == \
            (c.hardware, c.measured_model, c.value, c.unit), c.id


def test_every_class_says_what_it_was_fitted_on(cases):
    ids = {c.id for c in cases.cases + local_cases()[0] if c.role == "fit"}
    # the edge runtime classes: published edge rows, listed with their role by benchmarks/fit_edge.py
    with open(ROOT / "benchmarks" / "edge" / "predictions.csv", encoding="utf-8") as fh:
        ids |= {r["id"] for r in csv.DictReader(fh) if r["role"] == "fit"}
    for name, fit in efficiency_file().classes.items():
        assert set(fit.fitted_on) <= ids, name
        assert bool(fit.fitted_on) == (fit.residual is not None), name
        if not fit.fitted_on:
            assert "borrows" in fit.basis, name


@pytest.mark.parametrize("cls", ["nvidia-gpu", "nvidia-jetson-gpu", "nvidia-dla", "cpu"])
def test_refitting_reproduces_the_stored_factors(cases, pred, cls):
    from chipfit.data.efficiency import for_class

    stored = efficiency_file().classes[cls]
    if cls == "cpu":  # this machine's rows, on the probed chip file
        all_cases, pred = local_cases()
    else:
        all_cases = cases.cases
    fit_cases = [c for c in all_cases if c.id in stored.fitted_on]
    assert len(fit_cases) == len(stored.fitted_on)
    fixed = {k: for_class(k) for k in efficiency_file().classes if k != cls}
    borrow = None if cls in ("nvidia-gpu", "cpu") else for_class("nvidia-gpu")
    eff, preds, _ = fit_class(pred, fit_cases, cls, fixed, borrow=borrow)
    assert (eff.gemm, eff.depthwise, eff.memory) == pytest.approx(
        (stored.gemm, stored.depthwise, stored.memory), rel=1e-3)
    assert median(p.abs_pct for p in preds) == pytest.approx(stored.residual.median_abs_pct, abs=0.01)


def test_predictions_of_all_published_cnn_rows_have_median_error_within_15_percent(cases, pred):
    errors = [pred.predict(c).abs_pct for c in cases.cases]
    assert len(errors) >= 15
    assert median(errors) <= 15


def test_this_machine_rows_predict_within_20_percent_median():
    """The bar for this machine: onnxruntime on the probed 2-core CPU, >= 10 models, median |error| <= 20 %,
    and the rows never fitted on alone as well."""
    cases, pred = local_cases()
    errors = {c.id: pred.predict(c).abs_pct for c in cases}
    assert len({c.model for c in cases}) >= 10
    assert median(errors.values()) <= 20
    assert median(errors[c.id] for c in cases if c.role == "holdout") <= 20
