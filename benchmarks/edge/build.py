"""Merge the per-source extracts (sources/*.csv) into rows.csv, check the schema and print counts.

usage: python3 build.py [--check]      (--check: validate and print counts, do not write rows.csv)
"""
from __future__ import annotations

import argparse
import collections
import csv
import re
import sys

from _common import COLUMNS, HERE, SOURCES_DIR

REQUIRED = ["id", "chip", "unit", "runtime", "model", "model_ref", "input", "precision", "batch",
            "metric", "value", "source", "source_path", "source_commit", "source_table"]
UNITS = {"npu", "gpu", "dla", "cpu"}
METRICS = {"latency_ms", "fps"}
RUNTIMES = {"rknn", "hailort", "tflite", "qnn", "onnxruntime-qnn", "qnn-context-binary", "cann", "tensorrt",
            "axengine", "tflite-npu", "tflite-cpu", "onnxruntime-cpu", "tflite-micro"}
PRECISIONS = {"int8", "fp16", "float", "w8a16", "w8a8", "int4", "w4a16", "w16a16",
              "w8a16_mixed_int16", "w8a8_mixed_int16", "w8a16_mixed_fp16", "unknown"}
# Sources that are reserved for checking chipfit's predictions and must never feed this data set.
FORBIDDEN = re.compile(r"sophon-demo|rdk_model_zoo|D-Robotics|coral\.ai|ultralytics|GPU-Benchmarks-on-LLM|"
                       r"TensorRT-LLM|tinychat|llm-awq|pytorch-image-models|mlcommons/inference_results", re.I)
CHIP_ID = re.compile(r"[a-z0-9][a-z0-9.+-]*")
# Chip ids used here that chipfit's chip tables do not define (yet).
NEW_CHIPS = {
    "rk3562": "Rockchip RK3562", "rv1109": "Rockchip RV1109", "rv1126": "Rockchip RV1126",
    "rk1808": "Rockchip RK1808",
    "hailo-15h": "Hailo-15H vision processor", "hailo-15l": "Hailo-15L vision processor",
    "snapdragon-8-elite": "Qualcomm Snapdragon 8 Elite", "snapdragon-8-elite-gen-5": "Qualcomm Snapdragon 8 Elite Gen 5",
    "snapdragon-8-gen-3": "Qualcomm Snapdragon 8 Gen 3", "snapdragon-8-gen-2": "Qualcomm Snapdragon 8 Gen 2",
    "snapdragon-7-gen-4": "Qualcomm Snapdragon 7 Gen 4", "qcs9075": "Qualcomm QCS9075 (Dragonwing IQ-9075)",
    "qcs8550": "Qualcomm QCS8550", "qcs8275": "Qualcomm QCS8275", "qcs8450": "Qualcomm QCS8450",
    "qcs6490": "Qualcomm QCS6490 (Dragonwing RB3 Gen 2)", "qcm6690": "Qualcomm QCM6690 (Dragonwing Q-6690)",
    "sa8775p": "Qualcomm SA8775P", "sa7255p": "Qualcomm SA7255P", "sa8295p": "Qualcomm SA8295P",
    "sa8255p": "Qualcomm SA8255P", "sa8650p": "Qualcomm SA8650P",
    "ax650n": "Axera AX650N", "ax637": "Axera AX637", "ax630c": "Axera AX630C", "ax620q": "Axera AX620Q",
    "ax615": "Axera AX615", "ax620a": "Axera AX620A",
    "imx8m-plus": "NXP i.MX 8M Plus", "imx93": "NXP i.MX 93", "mcxn947": "NXP MCX N947",
    "imxrt1170": "NXP i.MX RT1170", "imxrt1050": "NXP i.MX RT1050", "imxrt1060": "NXP i.MX RT1060",
}


def chipfit_chip_ids() -> set[str]:
    """Chip ids defined in chipfit's chip tables, wherever the yaml files live under src/chipfit."""
    root = HERE.parent.parent / "src" / "chipfit"
    ids = set()
    for p in root.rglob("*.yaml") if root.exists() else []:
        ids |= set(re.findall(r"^  - id: (\S+)", p.read_text(encoding="utf-8"), re.M))
    return ids


def load() -> list[dict]:
    rows = []
    for p in sorted(SOURCES_DIR.glob("*.csv")):
        with open(p, newline="", encoding="utf-8") as fh:
            rd = csv.DictReader(fh)
            if rd.fieldnames != COLUMNS:
                raise SystemExit(f"{p.name}: columns differ from the schema")
            for r in rd:
                r["_file"] = p.name
                rows.append(r)
    return rows


def check(rows: list[dict]) -> list[str]:
    errs, seen = [], set()
    known = chipfit_chip_ids()
    for r in rows:
        where = f"{r['_file']}: {r['id'] or '(no id)'}"
        for k in REQUIRED:
            if not r[k].strip():
                errs.append(f"{where}: empty {k}")
        if r["id"] in seen:
            errs.append(f"{where}: duplicate id")
        seen.add(r["id"])
        try:
            if not float(r["value"]) > 0:
                errs.append(f"{where}: value must be > 0")
        except ValueError:
            errs.append(f"{where}: value {r['value']!r} is not a number")
        if not r["batch"].isdigit() or int(r["batch"]) < 1:
            errs.append(f"{where}: batch {r['batch']!r} must be an integer >= 1")
        if r["cores"] and not r["cores"].isdigit():
            errs.append(f"{where}: cores {r['cores']!r} must be an integer")
        for col, allowed in (("metric", METRICS), ("unit", UNITS), ("runtime", RUNTIMES), ("precision", PRECISIONS)):
            if r[col] not in allowed:
                errs.append(f"{where}: unknown {col} {r[col]!r}")
        if not CHIP_ID.fullmatch(r["chip"]):
            errs.append(f"{where}: chip id {r['chip']!r} is not lower-case")
        elif known and r["chip"] not in known and r["chip"] not in NEW_CHIPS:
            errs.append(f"{where}: chip {r['chip']!r} is neither a chipfit id nor listed in NEW_CHIPS")
        if not re.fullmatch(r"[0-9a-f]{40}", r["source_commit"]) and not r["source"].startswith("http"):
            errs.append(f"{where}: source_commit must be a 40-hex commit")
        if FORBIDDEN.search(r["source"]):
            errs.append(f"{where}: source {r['source']} is reserved for validation and must not be used")
    return errs


def counts(rows: list[dict], key: str) -> list[tuple[str, int]]:
    return sorted(collections.Counter(r[key] for r in rows).items(), key=lambda kv: (-kv[1], kv[0]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    rows = load()
    errs = check(rows)
    for e in errs[:50]:
        print("ERROR", e, file=sys.stderr)
    if errs:
        print(f"{len(errs)} errors", file=sys.stderr)
        return 1
    rows.sort(key=lambda r: (r["source"], r["chip"], r["id"]))
    if not a.check:
        with open(HERE / "rows.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    print(f"{len(rows)} rows, {len({r['chip'] for r in rows})} chips, {len({r['source'] for r in rows})} sources"
          + ("" if a.check else " -> rows.csv"))
    for key in ("source", "chip", "runtime", "unit", "metric"):
        print(f"\nper {key}:")
        for k, n in counts(rows, key):
            print(f"  {n:6d}  {k}")
    known = chipfit_chip_ids()
    new = sorted({r["chip"] for r in rows} - known) if known else []
    if new:
        print("\nchip ids not in chipfit's chip tables:", ", ".join(new))
    return 0


if __name__ == "__main__":
    sys.exit(main())
