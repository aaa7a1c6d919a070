"""Rows from Axera ax-samples benchmark tables (benchmark/Benchmark_<CHIP>.md): NPU inference latency.

The tables print both latency (ms) and FPS; FPS there is 1000 / latency, so only the latency is kept.
AX620A was removed from the repository in a later commit; it is read from the commit before its removal.

usage: python3 extract_ax_samples.py /path/to/ax-samples [--commit 2d08c3c...] [--ax620a-commit 3580a0db...]
                                     [-o sources/ax_samples.csv]
"""
from __future__ import annotations

import argparse
import re

from _common import SOURCES_DIR, git_show, is_md_rule, md_cells, resolve_commit, write_rows, yolo_tag

SOURCE = "github:AXERA-TECH/ax-samples"
DEFAULT_COMMIT = "2d08c3c7833a5820a146dca2f3ba6729020b4166"
AX620A_COMMIT = "3580a0db116df43939bd459f546da2cacbc3ec64"  # parent of the commit that removed Benchmark_AX620A.md
FILES = ["AX650N", "AX637", "AX630C", "AX620Q", "AX615"]

# table model name (lower-case) -> model_ref. Classic networks whose implementation the page does not
# name get an '_unverified' tag (never a torchvision builder name).
REFS = {
    "inceptionv1": "inception_v1", "inceptionv3": "inception_v3_unverified",
    "mobilenetv1": "mobilenet_v1", "mobilenetv2": "mobilenet_v2_unverified",
    "squeezenetv11": "squeezenet1_1_unverified", "squeezenet11": "squeezenet1_1_unverified",
    "squeezenetv10": "squeezenet1_0_unverified", "squeezenet10": "squeezenet1_0_unverified",
    "resnet18": "resnet18_unverified", "resnet50": "resnet50_unverified", "vgg16": "vgg16_unverified",
    "swin_t": "swin_t_unverified", "vit_b": "vit_b_unverified", "deit_t": "deit_tiny",
    "mobileone_s0": "mobileone_s0", "yolo-nas_s": "yolo_nas_s", "ppyoloe+_s": "ppyoloe_plus_s",
    "yoloworldv2": "yolo_world_v2", "yoloworldv2-txt": "yolo_world_v2_text_encoder",
    "depth-anything-v2": "depth_anything_v2_unverified", "hrnet": "hrnet_unverified",
    "yolopv2": "yolopv2", "yolo-fastbody": "yolo_fastbody", "yolo-fast-xl": "yolo_fastest_xl",
}


def input_of(size: str) -> str:
    s = size.strip().replace("*", "x")
    return f"{s}x{s}" if s.isdigit() else s


def table_rows(text: str):
    """Yield (heading, header, cells) for every markdown table row in `text`."""
    heading, header = "", None
    for line in text.splitlines():
        if line.startswith("#"):
            heading, header = line.lstrip("#").strip(), None
            continue
        if not line.lstrip().startswith("|"):
            header = None
            continue
        if is_md_rule(line):
            continue
        cells = md_cells(line)
        if header is None:
            header = cells
        else:
            yield heading, header, cells


def extract_file(repo: str, sha: str, chip_file: str) -> list[dict]:
    path = f"benchmark/Benchmark_{chip_file}.md"
    text = git_show(repo, sha, path)
    m = re.search(r"Pulsar2\s+([\d.]+)", text)
    toolchain = f"Pulsar2 {m.group(1)}" if m else ""
    m = re.search(r"基于\s*\**\s*([A-Za-z0-9 -]+?)\s*\**\s*测试", text)
    board = m.group(1).strip() if m else ""
    chip = chip_file.lower()
    rows = []
    for heading, header, cells in table_rows(text):
        rec = dict(zip(header, cells))
        name = rec.get("Models", "").strip()
        if not name:
            continue
        for col, val in rec.items():
            if not re.search(r"Inference Time|耗时", col):
                continue
            v = val.strip()
            if not re.fullmatch(r"\d+(\.\d+)?", v):
                continue  # TBD / empty
            cores, mode = "", ""
            mc = re.search(r"@(\d+) Cores?", col)
            if mc:
                cores = mc.group(1)
            mt = re.search(r"@([\d.]+T)", col)
            if mt:
                mode = mt.group(1)
            prec = "int8" if "Int8" in heading else "unknown"
            notes = ["latency as published (the table's FPS column is 1000/latency and is not repeated)"]
            if board:
                notes.append(f"measured on {board}")
            if mode:
                notes.append(f"column headed @{mode} (NPU compute mode as published)")
            if "vnpu" in heading.lower():
                notes.append(f"section '{heading}': virtual-NPU mode using half of the NPU")
            if prec == "unknown":
                notes.append("precision not printed in the table (Pulsar2 builds default to 8-bit quantization)")
            key = name.lower()
            ref = REFS.get(key, yolo_tag(key))
            rows.append({
                "id": f"ax-samples/{chip}/{key}/{prec}/b1" + (f"/c{cores}" if cores else ""),
                "chip": chip, "unit": "npu", "runtime": "axengine", "runtime_version": toolchain,
                "model": name, "model_ref": ref, "input": input_of(rec.get("Input Size", "")),
                "precision": prec, "batch": 1, "cores": cores, "metric": "latency_ms", "value": v,
                "source": SOURCE, "source_path": path, "source_commit": sha,
                "source_table": f"{heading} / {col}", "notes": "; ".join(notes),
            })
    return rows


def extract(repo: str, commit: str, ax620a_commit: str) -> list[dict]:
    sha = resolve_commit(repo, commit)
    rows = []
    for f in FILES:
        rows += extract_file(repo, sha, f)
    if ax620a_commit:
        rows += extract_file(repo, resolve_commit(repo, ax620a_commit), "AX620A")
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo")
    ap.add_argument("--commit", default=DEFAULT_COMMIT)
    ap.add_argument("--ax620a-commit", default=AX620A_COMMIT)
    ap.add_argument("-o", "--out", default=str(SOURCES_DIR / "ax_samples.csv"))
    a = ap.parse_args()
    write_rows(extract(a.repo, a.commit, a.ax620a_commit), a.out)
