"""Rows from Ascend ModelZoo-PyTorch inference READMEs (ACL_PyTorch/built-in/cv/*/README.md):
OM-model throughput (fps) per chip and batch size on Ascend 310P (310P3) and 310B.

Only READMEs whose performance table is clearly throughput in fps (unit in the table, or the README states that
performance is throughput in fps) and whose model input size is stated are read; they are listed in MODELS with
the model input per sample. Every other built-in README is skipped (see the README of this folder).

usage: python3 extract_ascend_modelzoo.py /path/to/ModelZoo-PyTorch [--commit 6a2804a3...] [-o sources/ascend_modelzoo.csv]
"""
from __future__ import annotations

import re

from _common import git_show, is_md_rule, md_cells, resolve_commit, std_args, write_rows

SOURCE = "github:Ascend/ModelZoo-PyTorch"
DEFAULT_COMMIT = "6a2804a358a5b18e3dac1ab902f41f88e240b00f"  # 2023-12-15
BASE = "ACL_PyTorch/built-in/cv"

# folder[/readme file name] -> (model_ref, per-sample input as in the README's input table, precision, note)
MODELS = {
    "Resnet18_for_PyTorch": ("resnet18", "3x256x256", "unknown", "torchvision resnet18 (README links torchvision resnet.py); input 256x256 as in the README"),
    "Resnet101_Pytorch_Infer": ("resnet101", "3x256x256", "unknown", "torchvision resnet101 (README links pytorch/vision); input 256x256 as in the README"),
    "MobileNetV2_for_Pytorch": ("mobilenet_v2", "3x224x224", "fp16", "torchvision mobilenet_v2 (README links pytorch/vision); model input declared Float16"),
    "MobileNetV3_for_Pytorch": ("mobilenetv3_small_xiaolai", "3x224x224", "fp16", "xiaolai-sqlai/mobilenetv3 small variant (not torchvision); model input declared FLOAT16"),
    "InceptionV3_for_Pytorch": ("inception_v3_unverified", "3x299x299", "unknown", "implementation not named in the performance section"),
    "InceptionV4_for_Pytorch": ("inception_v4", "3x299x299", "unknown", "Cadene pretrained-models inceptionv4"),
    "CRAFT_for_Pytorch": ("craft", "3x640x640", "unknown", "clovaai CRAFT text detector; measured on random data"),
    "DBNet_MobileNetV3": ("dbnet_mobilenet_v3", "736x1280x3", "unknown", "PaddleOCR DBNet MobileNetV3; UINT8 NHWC input; the README mentions INT8"),
    "LPRNet_for_PyTorch": ("lprnet", "3x24x94", "unknown", ""),
    "YoloX_Tiny_for_Pytorch": ("yolox_tiny", "3x640x640", "unknown", "mmdetection YOLOX-tiny at 640x640; ATC op precision set by an op_precision.ini"),
    "Twins-SVT-L": ("twins_svt_large", "3x224x224", "unknown", "Meituan Twins ALTGVT-Large"),
    "TSM_sthv2_for_Pytorch": ("tsm", "48x3x256x256", "unknown", "video model: 48 frames of 3x256x256 per sample"),
    "FLAVR_for_PyTorch": ("flavr", "4x3x224x224", "unknown", "frame interpolation: four 3x224x224 frame inputs per sample"),
    "STGCN_for_Pytorch": ("st_gcn", "3x300x18x2", "unknown", "skeleton sequence model, not an image model"),
    "3DUnet_for_PyTorch": ("unet3d_brats", "4x224x224x160", "unknown", "MLCommons 3D U-Net (BraTS); the source supports batch 1 only"),
    "Densenet121_Pytorch_Infer/ReadMe.md": ("densenet121", "3x224x224", "unknown", "torchvision densenet121 (README links torchvision densenet.py)"),
    "Shufflenetv2_for_Pytorch/ReadMe.md": ("shufflenet_v2_unverified", "3x224x224", "unknown", "README links torchvision shufflenetv2.py without naming the width"),
    "YoloF_for_Pytorch/readme.md": ("yolof", "3x640x640", "unknown", "mmdetection YOLOF"),
}
CHIPS = {"310p3": "ascend-310p", "ascend310p3": "ascend-310p", "ascend310p": "ascend-310p", "310p": "ascend-310p",
         "310b1": "ascend-310b", "310": "ascend-310"}


def perf_section(text: str) -> str:
    """Text after the last heading that names performance (性能)."""
    heads = [m.start() for m in re.finditer(r"^#+ .*性能.*$", text, re.M)]
    return text[heads[-1]:] if heads else ""


def tables(text: str):
    block = []
    for line in text.splitlines() + [""]:
        if line.strip().startswith("|"):
            if not is_md_rule(line):
                block.append(md_cells(line))
        elif block:
            yield block
            block = []


def number(cell: str) -> str | None:
    m = re.fullmatch(r"\**\s*([\d.]+)\s*(fps)?\s*\**", cell.strip(), re.I)
    return m.group(1) if m and float(m.group(1)) > 0 else None


def extract(repo: str, commit: str) -> list[dict]:
    sha = resolve_commit(repo, commit)
    rows = []
    for entry, (ref, per_sample, prec, note) in MODELS.items():
        folder, _, fname = entry.partition("/")
        path = f"{BASE}/{folder}/{fname or 'README.md'}"
        text = git_show(repo, sha, path)
        m = re.search(r"\|\s*CANN\s*\|\s*([\w.]+)\s*\|", text)
        cann = f"CANN {m.group(1)}" if m else ""
        for t in tables(perf_section(text)):
            header = [h.lower() for h in t[0]]
            found = []  # (chip, batch, value, column, model part)
            if header[0] == "batchsize":  # transposed: one row per chip, one column per batch size
                for r in t[1:]:
                    chip = CHIPS.get(r[0].lower())
                    for b, v in zip(t[0][1:], r[1:]):
                        if chip and b.isdigit() and number(v):
                            found.append((chip, int(b), number(v), r[0], ""))
            else:
                ci = next((i for i, h in enumerate(header) if "芯片" in h), None)
                bi = next((i for i, h in enumerate(header) if re.search(r"batch|^bs$", h)), None)
                pi = [i for i, h in enumerate(header) if "性能" in h]
                mi = next((i for i, h in enumerate(header) if h == "模型"), None)
                if ci is None or bi is None or not pi:
                    continue
                for r in t[1:]:
                    chip = CHIPS.get(r[ci].strip().lower())
                    if chip is None or not r[bi].strip().isdigit():
                        continue  # e.g. '基准性能' (reference GPU baseline) rows
                    v = number(r[pi[-1]])
                    if v:
                        found.append((chip, int(r[bi]), v, t[0][pi[-1]], r[mi] if mi is not None else ""))
            for chip, b, v, col, part in found:
                name = folder + (f" {part}" if part else "")
                rows.append({
                    "id": f"ascend-mz/{chip}/{folder.lower()}{('-' + part) if part else ''}/{prec}/b{b}",
                    "chip": chip, "unit": "npu", "runtime": "cann", "runtime_version": cann,
                    "model": name, "model_ref": ref, "input": f"{b}x{per_sample}", "precision": prec,
                    "batch": b, "cores": "", "metric": "fps", "value": v,
                    "source": SOURCE, "source_path": path, "source_commit": sha,
                    "source_table": f"performance table / {col}",
                    "notes": "; ".join(x for x in [note, "OM model throughput (ais_bench pure inference)",
                                                   "precision not stated" if prec == "unknown" else ""] if x),
                })
    return rows


if __name__ == "__main__":
    a = std_args(__doc__, DEFAULT_COMMIT, "ascend_modelzoo.csv")
    write_rows(extract(a.repo, a.commit), a.out)
