"""Shared by fit_efficiency.py and validate.py: the validation cases and a predictor."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # validation_models:NAME

from chipfit.calibration import CaseFile, Predictor  # noqa: E402
from chipfit.datafile import load_path  # noqa: E402

CASES_PATH = HERE / "validation_cases.yaml"


def load_cases() -> CaseFile:
    return load_path(CaseFile, CASES_PATH)


def predictor() -> Predictor:
    return Predictor()
