"""Shared by fit_efficiency.py and validate.py: the validation cases and a predictor.

Published rows come from validation_cases.yaml; this machine's rows (``lm-N`` = data row N of
local/measured_local.csv, written by measure_local.py) are predicted on the probed chip
local/this-machine.yaml."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # validation_models:NAME

from chipfit.calibration.fit import CaseFile, Predictor  # noqa: E402
from chipfit.core.datafile import load_path  # noqa: E402

CASES_PATH = HERE / "validation_cases.yaml"
LOCAL_CHIP = HERE / "local" / "this-machine.yaml"
LOCAL_CSV = HERE / "local" / "measured_local.csv"


def load_cases() -> CaseFile:
    return load_path(CaseFile, CASES_PATH)


def predictor() -> Predictor:
    return Predictor()


def local_cases():
    """(this machine's measured rows as cases, a predictor whose database has the probed chip)."""
    from chipfit.calibration.calibrate import cases_from_rows, read_rows
    from chipfit.data.chips import database

    cases = cases_from_rows(read_rows(LOCAL_CSV), "benchmarks/local/measured_local.csv", "this-machine",
                            prefix="lm-", allow_code=True)  # our own rows: one names a module in benchmarks/
    return cases, Predictor(database([LOCAL_CHIP]))
