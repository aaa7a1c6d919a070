"""Rows from NVIDIA-AI-IOT/torch2trt benchmark tables (benchmarks/JETSON_NANO.md, benchmarks/JETSON_XAVIER.md):
torchvision classifiers converted with torch2trt (TensorRT, fp16, batch 1) on the Jetson GPU.
Only the TensorRT columns are kept (the PyTorch columns measure eager PyTorch).

usage: python3 extract_torch2trt_jetson.py /path/to/torch2trt [--commit 4e820ae...] [-o sources/torch2trt_jetson.csv]
"""
from __future__ import annotations

import ast
import re

from _common import git_show, is_md_rule, md_cells, resolve_commit, std_args, write_rows

SOURCE = "github:NVIDIA-AI-IOT/torch2trt"
DEFAULT_COMMIT = "4e820ae31b4e35d59685935223b05b2e11d47b03"
FILES = {
    "benchmarks/JETSON_NANO.md": ("jetson-nano", "Jetson Nano"),
    "benchmarks/JETSON_XAVIER.md": ("jetson-agx-xavier",
                                    "Jetson Xavier; the table (2019) predates Xavier NX, so it is the AGX Xavier"),
}
METRICS = {"Throughput (TensorRT)": "fps", "Latency (TensorRT)": "latency_ms"}


def extract(repo: str, commit: str) -> list[dict]:
    sha = resolve_commit(repo, commit)
    rows = []
    for path, (chip, chip_note) in FILES.items():
        header = None
        for line in git_show(repo, sha, path).splitlines():
            if not line.startswith("|") or is_md_rule(line):
                continue
            cells = md_cells(line)
            if header is None:
                header = cells
                continue
            rec = dict(zip(header, cells))
            builder = rec["Name"].rsplit(".", 1)[1]  # torchvision builder, e.g. resnet50
            shapes = ast.literal_eval(rec["Input Shapes"])
            if len(shapes) != 1:
                continue
            shape = "x".join(str(d) for d in shapes[0])
            prec = {"float16": "fp16", "float32": "float"}.get(rec["Data Type"], rec["Data Type"])
            for col, metric in METRICS.items():
                v = rec.get(col, "").strip()
                if not re.fullmatch(r"[\d.]+(e\+\d+)?", v):
                    continue
                rows.append({
                    "id": f"torch2trt/{chip}/{builder}/{prec}/b{shapes[0][0]}/{metric}",
                    "chip": chip, "unit": "gpu", "runtime": "tensorrt", "runtime_version": "",
                    "model": rec["Name"], "model_ref": builder, "input": shape, "precision": prec,
                    "batch": shapes[0][0], "cores": "", "metric": metric,
                    "value": v,
                    "source": SOURCE, "source_path": path, "source_commit": sha,
                    "source_table": col,
                    "notes": f"{chip_note}; torch2trt kwargs {rec['torch2trt kwargs']}; "
                             "JetPack/TensorRT version not stated",
                })
    return rows


if __name__ == "__main__":
    a = std_args(__doc__, DEFAULT_COMMIT, "torch2trt_jetson.csv")
    write_rows(extract(a.repo, a.commit), a.out)
