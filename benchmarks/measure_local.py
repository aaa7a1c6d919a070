"""Measure this machine for the validation: probe it, then time the models with onnxruntime.

    python benchmarks/measure_local.py            # ~5 minutes on 2 cores; rewrites benchmarks/local/
    python benchmarks/measure_local.py --models resnet18,gpt2 --no-probe

Writes ``benchmarks/local/this-machine.yaml`` (``chipfit probe``) and
``benchmarks/local/measured_local.csv`` (one ``chipfit measure --save`` row per model, batch 1
unless said, all threads, fp32). ``role`` says which rows fit the built-in ``cpu`` efficiency
class (``benchmarks/fit_efficiency.py``): one row per kind of op mix (standard convolutions,
depthwise convolutions, a transformer encoder, a batch); every other row is held out.
Nothing here is tuned to a row: each model runs as ``chipfit measure MODEL`` runs it.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # validation_models:NAME

from chipfit.calibration.calibrate import COLUMNS, measure_row  # noqa: E402
from chipfit.data.chips.userfile import write_atomic  # noqa: E402
from chipfit.measure.probe import chip_file_text, probe  # noqa: E402
from chipfit.measure.timing import measure  # noqa: E402

LOCAL = HERE / "local"
CHIP_FILE = LOCAL / "this-machine.yaml"
CSV_FILE = LOCAL / "measured_local.csv"

# (MODEL, input shapes, seq_len, batch, role, what it stands for)
MODELS = [
    ("resnet50", None, None, 1, "fit", "standard convolutions"),
    ("mobilenet_v2", None, None, 1, "fit", "depthwise-heavy"),
    ("bert-base", None, 128, 1, "fit", "transformer encoder, 128 tokens"),
    ("resnet18", None, None, 4, "fit", "a batch of 4"),
    ("resnet18", None, None, 1, "holdout", ""),
    ("mobilenet_v3_large", None, None, 1, "holdout", ""),
    ("mobilenet_v3_small", None, None, 1, "holdout", ""),
    ("efficientnet_b0", None, None, 1, "holdout", ""),
    ("vit_b_16", None, None, 1, "holdout", ""),
    ("convnext_tiny", None, None, 1, "holdout", ""),
    ("gpt2", None, 128, 1, "holdout", "decoder with LM head, 128 tokens"),
    ("validation_models:whisper_tiny_encoder", ["1,80,3000"], None, 1, "holdout", "whisper-tiny encoder, 30 s"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", help="comma-separated subset of the MODEL names")
    ap.add_argument("--no-probe", action="store_true", help="keep the chip file as it is")
    ap.add_argument("--min-time", type=float, default=5.0, help="seconds of timed runs per model")
    args = ap.parse_args()
    LOCAL.mkdir(exist_ok=True)
    if not args.no_probe:
        print("probing ...", flush=True)
        write_atomic(CHIP_FILE, chip_file_text(probe()), overwrite=True)
        print(f"wrote {CHIP_FILE.relative_to(HERE.parent)}")
    os.environ["CHIPFIT_CHIPS_DIR"] = str(LOCAL)  # this-machine = the probed file
    want = set(args.models.split(",")) if args.models else None
    old = {}
    if CSV_FILE.exists():  # a subset run keeps the other models' rows
        for row in csv.DictReader(CSV_FILE.open(encoding="utf-8")):
            old[(row["model"], row["batch"])] = row
    rows = []
    for model, shape, seq, batch, role, what in MODELS:
        key = (model, str(batch))
        if want and model not in want:
            if key in old:
                rows.append(old[key])
            continue
        r = measure(model, input_shape=shape, seq_len=seq, batch=batch, min_time_s=args.min_time,
                    chips_files=[CHIP_FILE])
        row = measure_row(r)
        row.update(role=role, source=f"benchmarks/measure_local.py{': ' + what if what else ''}")
        rows.append(row)
        print(f"{model:40s} b{batch}  median {r.median_s * 1e3:8.2f} ms  p90 {r.p90_s * 1e3:8.2f} ms  "
              f"predicted {r.predicted_s * 1e3:8.2f} ms  {100 * r.error:+6.1f}%  ({r.runs} runs)", flush=True)
    with CSV_FILE.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, COLUMNS)
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {CSV_FILE.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
