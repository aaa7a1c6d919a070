"""``chipfit calibrate``: fit one chip's efficiency factors to measurements of it.

Measurements are rows of a CSV file: ``chipfit measure --save FILE.csv`` appends one per run, and
published figures can be typed in the same columns. Required: ``model`` (any MODEL),
``batch``, ``precision`` and ``median_s`` (seconds per batch; ``latency_s`` is read the same).
Optional: ``input_shape`` (of one inference, as ``chipfit count --input-shape``; ``;`` between
several inputs; ``batch`` multiplies it), ``seq_len``, ``runtime`` (``torch``:
point-wise ops are not fused; anything else: fused, as onnxruntime, TensorRT and NPU compilers
do), ``role`` (``holdout`` rows are predicted but never fitted on), ``chip`` (rows naming another
chip are skipped), ``source``. Other columns are kept for the reader and ignored here.

The fit is :func:`chipfit.calibration.fit.fit_class` (the one that fitted the built-in classes):
coordinate search on a log grid of (gemm, depthwise = vector, memory) minimising the mean
squared log error of predicted vs measured latency, from several starting points (the loss is
not convex), with the leave-one-out error. Factors the
rows cannot identify (depthwise, when no row has a depthwise convolution) are kept from the
chip's current factors. The result is stored in the chip file as the chip's ``efficiency``
(:class:`~chipfit.data.chips.schema.Calibration`), with the rows and the residual error.
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from chipfit.calibration.fit import Case, Prediction, Predictor, fit_class, op_is_depthwise, residual
from chipfit.core.errors import ChipfitError
from chipfit.core.fileio import read_bounded, write_atomic
from chipfit.core.units import unit_ref
from chipfit.data.chips import ChipDB, ChipRecord, Unit, config_dir, database
from chipfit.data.chips.schema import Calibration
from chipfit.data.chips.userfile import set_efficiency_in_file
from chipfit.data.efficiency import for_unit
from chipfit.frontends.resolve import names_code

COLUMNS = ["model", "input_shape", "seq_len", "batch", "precision", "runtime", "device", "threads",
           "runs", "median_s", "p90_s", "min_s", "chip", "predicted_s", "error_pct", "role", "date",
           "host", "versions", "source"]
UNFUSED_RUNTIMES = {"torch", "pytorch", "eager"}


def read_rows(path: str | Path) -> list[dict[str, str]]:
    path = Path(path)
    text = read_bounded(path, "a measurement CSV")
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ChipfitError(f"{path}: cannot read it as CSV ({exc})") from None
    if not rows:
        raise ChipfitError(f"{path}: no measurement rows")
    return rows


def measure_row(r) -> dict[str, object]:
    """A :class:`~chipfit.measure.timing.MeasureResult` as a row of the measurement CSV."""
    import platform

    return {"model": r.model, "input_shape": ";".join(r.input_shape or []), "seq_len": r.seq_len or "",
            "batch": r.batch, "precision": r.precision, "runtime": r.runtime, "device": r.device,
            "threads": r.threads, "runs": r.runs, "median_s": f"{r.median_s:.6g}", "p90_s": f"{r.p90_s:.6g}",
            "min_s": f"{r.min_s:.6g}", "chip": r.prediction.chip if r.prediction is not None else "",
            "predicted_s": f"{r.predicted_s:.6g}" if r.predicted_s else "",
            "error_pct": f"{100 * r.error:.1f}" if r.error is not None else "", "role": "fit",
            "date": datetime.date.today().isoformat(), "host": platform.node(),
            "versions": f"{r.runtime} {r.runtime_version}", "source": "chipfit measure"}


def append_row(path: str | Path, result) -> None:
    """Append ``result`` to the CSV at ``path`` (created with :data:`COLUMNS` if missing; an
    existing file keeps its own columns: the row fills those it has)."""
    path = Path(path)
    row = measure_row(result)
    if path.exists() and path.stat().st_size > 0:
        text = read_bounded(path, "a measurement CSV")
        header = next(csv.reader(io.StringIO(text, newline="")), None)
        if not header or "model" not in header:
            raise ChipfitError(f"{path}: not a measurement CSV (its first line has no 'model' column); "
                               f"nothing was appended")
        with path.open("a", encoding="utf-8", newline="") as fh:
            if not text.endswith(("\n", "\r")):   # the last row has no line end: end it, never join it
                fh.write("\r\n" if "\r\n" in text else "\n")
            csv.DictWriter(fh, header, extrasaction="ignore").writerow(row)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, COLUMNS)
        w.writeheader()
        w.writerow(row)


def cases_from_rows(rows: list[dict[str, str]], origin: str, chip: str, prefix: str = "row ",
                    allow_code: bool = False) -> list[Case]:
    """The rows as :class:`Case` objects predicting latency on ``chip`` (ids ``prefix`` + row
    number); a bad cell is one sentence naming the file, the row and the column."""
    chip_key = chip.partition(":")[0]
    out = []
    for n, row in enumerate(rows, start=1):
        if (row.get("chip") or "").strip() not in ("", chip, chip_key):
            continue

        def cell(name: str, required: bool = True) -> str:
            value = (row.get(name) or "").strip()
            if required and not value:
                raise ChipfitError(f"{origin}, row {n}: column '{name}' is empty or missing")
            return value

        seconds = cell("median_s", False) or cell("latency_s", False)
        if not seconds:
            raise ChipfitError(f"{origin}, row {n}: give the measured seconds per batch in 'median_s'")
        try:
            value, batch = float(seconds), int(cell("batch"))
            seq = int(cell("seq_len", False)) if cell("seq_len", False) else None
        except ValueError as exc:
            raise ChipfitError(f"{origin}, row {n}: {exc}") from None
        if value <= 0 or batch < 1:
            raise ChipfitError(f"{origin}, row {n}: median_s must be positive and batch at least 1")
        role = cell("role", False) or "fit"
        if role not in ("fit", "holdout"):
            raise ChipfitError(f"{origin}, row {n}: role must be fit or holdout, got '{role}'")
        shape = cell("input_shape", False).replace(";", "|") or None
        if names_code(cell("model")) and not allow_code:
            raise ChipfitError(f"{origin}, row {n}: model '{cell('model')}' names Python code (module:callable), "
                               f"which counting would import and run; a measurement file is data and runs no "
                               f"code: allow it with `allow_code` if you trust this file")
        out.append(Case(id=f"{prefix}{n}", row=n, hardware=chip, measured_model=cell("model"), value=value,
                        unit="s", role=role, metric="latency", model=cell("model"), input_shape=shape,
                        seq_len=seq, chip=chip, precision=cell("precision"), batch=batch,
                        fuse=cell("runtime", False).lower() not in UNFUSED_RUNTIMES,
                        note=cell("source", False) or None))
    if not out:
        raise ChipfitError(f"{origin}: no row measures chip '{chip}'")
    return out


@dataclass
class CalibrationResult:
    record: ChipRecord
    unit: Unit
    before: list[Prediction]         # with the factors the chip had
    after: list[Prediction]          # with the fitted factors
    loo: list[float]                 # leave-one-out |error| % of the fit rows
    calibration: Calibration

    @property
    def chip(self) -> str:
        return self.record.id

    def to_dict(self) -> dict:
        def rows(preds):
            return [{"row": p.case.row, "model": p.case.model, "batch": p.case.batch, "role": p.case.role,
                     "measured_s": p.case.measured, "predicted_s": p.predicted, "error": p.error} for p in preds]

        return {"chip": self.chip, "unit": self.unit.id, "efficiency": self.calibration.model_dump(),
                "before": rows(self.before), "after": rows(self.after), "loo_abs_pct": self.loo}


def calibrate(chip: str, measurements: str | Path, *, chips_files: Iterable[str] = (),
              db: ChipDB | None = None, allow_code: bool = False) -> CalibrationResult:
    """Fit ``chip``'s factors to the rows of ``measurements`` (nothing is written). A row's model
    may be ``module:callable`` (Python code, imported and run) only with ``allow_code``."""
    db = db or database(chips_files)
    record, unit = db.get(chip)
    if unit is None:
        raise ChipfitError(f"{record.id} has no compute peak in the database: nothing to calibrate")
    ref = unit_ref(record.id, unit.id)
    cases = cases_from_rows(read_rows(measurements), str(measurements), ref, allow_code=allow_code)
    pred = Predictor(db)
    cls = unit.efficiency_class
    current = for_unit(unit)
    before = [pred.predict(c, {cls: current}) for c in cases]
    fit_rows = [c for c in cases if c.role == "fit"]
    if not fit_rows:
        raise ChipfitError(f"{measurements}: every row is a holdout row: nothing to fit on")
    eff, _, loo = fit_class(pred, fit_rows, cls, {}, borrow=current, restarts=True)
    after = [pred.predict(c, {cls: eff}) for c in cases]
    fitted = [p for p in after if p.case.role == "fit"]
    dw = any(op_is_depthwise(pred.graph(c)) for c in fit_rows)
    basis = (f"fitted by chipfit calibrate on {len(fit_rows)} measured row(s) of {Path(measurements).name}"
             + ("" if dw else "; no row has a depthwise convolution, so depthwise/vector are kept from "
                f"{current.efficiency_class}"))
    cal = Calibration(gemm=eff.gemm, depthwise=eff.depthwise, vector=eff.vector, memory=eff.memory,
                      basis=basis, date=datetime.date.today().isoformat(),
                      rows=[f"{c.model} b{c.batch} {c.precision}: {c.measured:.4g} s" for c in fit_rows],
                      residual=residual(fitted, loo or None))
    return CalibrationResult(record, unit, before, after, loo, cal)


def store(result: CalibrationResult, output: str | Path | None = None) -> Path:
    """Write the calibration into the chip's own user file (or, for a built-in chip, into
    ``output``: a new chip file holding a copy of the chip, which then replaces the built-in)."""
    import yaml

    block = result.calibration.model_dump(exclude_none=True)
    unit_id = None if result.unit.id == "main" and not result.record.chip.units else result.unit.id
    rec = result.record
    if not rec.origin.startswith("built-in"):
        set_efficiency_in_file(rec.origin, rec.id, unit_id, block)
        return Path(rec.origin)
    path = Path(output) if output else config_dir() / f"{rec.id}.yaml"
    chip = rec.chip.model_dump(exclude_none=True, exclude_defaults=True)
    cited = {f.source for _, f in rec.chip.figures()} | ({rec.chip.headline.source} if rec.chip.headline else set())
    doc = {"vendor": rec.vendor,
           "sources": {k: v.model_dump(exclude_none=True) for k, v in rec.sources.items() if k in cited},
           "chips": [chip]}
    head = (f"# {rec.id} copied from chipfit's {rec.origin.removeprefix('built-in: ')} by chipfit calibrate, "
            f"with efficiency factors fitted to your measurements.\n# It replaces the built-in chip of the same id.\n")
    text = head + yaml.safe_dump(doc, sort_keys=False, width=100, allow_unicode=True)
    write_atomic(path, text)
    set_efficiency_in_file(path, rec.id, unit_id, block)
    return path
