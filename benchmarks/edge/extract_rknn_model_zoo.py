"""Rows from the Rockchip RKNN model zoo README table "Model performance benchmark(FPS)".

usage: python3 extract_rknn_model_zoo.py /path/to/rknn_model_zoo [--commit v2.3.2] [-o sources/rknn_model_zoo.csv]
"""
from __future__ import annotations

import re

from _common import git_show, is_md_rule, md_cells, resolve_commit, std_args, write_rows, yolo_tag

SOURCE = "github:airockchip/rknn_model_zoo"
PATH = "README.md"
TABLE = "Model performance benchmark(FPS)"

# column header (as written, <br /> removed) -> (chip id, cores, note)
CHIP_COLUMNS = {
    "RK3566 RK3568": ("rk3568", "", "column headed 'RK3566 RK3568' (same NPU); filed under rk3568"),
    "RK3562": ("rk3562", "", ""),
    "RK3588 @single_core": ("rk3588", "1", "single NPU core of 3"),
    "RK3576 @single_core": ("rk3576", "1", "single NPU core of 2"),
    "RV1109": ("rv1109", "", "RKNPU1 platform"),
    "RV1126": ("rv1126", "", "RKNPU1 platform"),
    "RK1808": ("rk1808", "", "RKNPU1 platform"),
}
RKNPU1 = {"rv1109", "rv1126", "rk1808"}

# model name in the table -> (model_ref, note). Names not listed map to a YOLO-style tag of themselves.
MODEL_REFS = {
    "mobilenetv2-12": ("mobilenet_v2", "ONNX model zoo mobilenetv2-12 (MobileNetV2 1.0, 224): same architecture as torchvision mobilenet_v2"),
    "resnet50-v2-7": ("resnet50_v2", "ONNX model zoo resnet50-v2-7 is ResNet-50 v2 (pre-activation), not torchvision resnet50"),
    "yolov5s_relu": ("yolov5s_relu", "YOLOv5s with ReLU activations (Rockchip variant)"),
    "yolov7-tiny": ("yolov7_tiny", ""),
    "yolo_world_v2s": ("yolo_world_v2s", ""),
    "clip_text": ("clip_vit_b_32_text_encoder", "CLIP text encoder (the clip demo names openai/clip-vit-base-patch32)"),
    "clip_images": ("clip_vit_b_32_image_encoder", "CLIP image encoder (the clip demo names openai/clip-vit-base-patch32)"),
    "deeplab-v3-plus-mobilenet-v2": ("deeplabv3_plus_mobilenet_v2", "input shape printed as [1, 513, 513, 1] in the source"),
    "ppseg_lite_1024x512": ("pp_liteseg", "model name says 1024x512, table input is [1, 3, 512, 512]"),
    "mobilesam_encoder_tiny": ("mobilesam_encoder", ""),
    "mobilesam_decoder": ("mobilesam_decoder", ""),
    "RetinaFace_mobile320": ("retinaface_mobilenet", "RetinaFace with a MobileNet backbone (width not stated)"),
    "RetinaFace_resnet50_320": ("retinaface_resnet50", ""),
    "lprnet": ("lprnet", ""),
    "ppocrv4_det": ("paddle_ocr_v5_mobile_detection", "PP-OCRv4 mobile detection: the same architecture as PP-OCRv5's "
                    "mobile detector (PaddleOCR's two configs have identical Architecture sections)"),
    "ppocrv4_rec": ("ppocrv4_rec", ""),
    "lite-transformer-encoder-16": ("lite_transformer_encoder", "sequence model (embedding 256, 16 tokens)"),
    "lite-transformer-decoder-16": ("lite_transformer_decoder", "sequence model (embedding 256, 16 tokens)"),
    "ppyoloe_s": ("ppyoloe_s", ""),
    "ppyoloe_m": ("ppyoloe_m", ""),
}


def parse_input(text: str) -> str:
    m = re.fullmatch(r"\[([\d,\s]+)\]", text.strip())
    if m:
        return "x".join(p.strip() for p in m.group(1).split(","))
    return text.strip()


def extract(repo: str, commit: str) -> list[dict]:
    sha = resolve_commit(repo, commit)
    lines = git_show(repo, sha, PATH).splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("## ") and TABLE in l)
    header_i = next(i for i in range(start, len(lines)) if lines[i].lstrip().startswith("|"))
    header = [re.sub(r"<br\s*/?>", " ", c).replace("&nbsp;", "").strip() for c in md_cells(lines[header_i])]
    header = [re.sub(r"\s+", " ", h) for h in header]
    rows, demo = [], ""
    version = commit.lstrip("v") if commit.startswith("v") else ""
    for line in lines[header_i + 1:]:
        if not line.lstrip().startswith("|"):
            break
        if is_md_rule(line):
            continue
        cells = md_cells(line)
        rec = dict(zip(header, cells))
        demo = rec["demo"] or demo
        name, dtype = rec["model_name"], rec["dtype"].strip()
        shape = parse_input(rec["inputs_shape"])
        ref, ref_note = MODEL_REFS.get(name, (yolo_tag(name), ""))
        if demo == "yolo_world" and name == "clip_text":
            ref, ref_note = "clip_text_encoder", "CLIP text encoder of the YOLO-World demo (variant not stated in the table)"
        for col, (chip, cores, col_note) in CHIP_COLUMNS.items():
            cell = rec.get(col, "").strip()
            if not cell or cell == "/" or "RTF" in cell:
                continue  # '/' = not supported; RTF cells are real-time factors, not FPS
            m = re.fullmatch(r"([\d.]+)\s*(?:\((INT8|FP16)\))?", cell)
            if not m:
                raise ValueError(f"unparsed cell {cell!r} for {name} / {col}")
            prec = (m.group(2) or dtype).lower()
            notes = [n for n in (col_note, ref_note) if n]
            if m.group(2):
                notes.append(f"precision {m.group(2)} given in the cell (row dtype {dtype})")
            notes.append("max NPU frequency; inference only, no pre/post-processing")
            rows.append({
                "id": f"rknn-zoo/{chip}/{demo}/{name}/{prec}/b1",
                "chip": chip, "unit": "npu", "runtime": "rknn",
                "runtime_version": (f"RKNPU1 SDK >=1.7.5 (model zoo {version})" if chip in RKNPU1
                                    else f"RKNPU2 SDK >={version} (model zoo {version})") if version else "",
                "model": name, "model_ref": ref, "input": shape, "precision": prec,
                "batch": 1, "cores": cores, "metric": "fps", "value": m.group(1),
                "source": SOURCE, "source_path": PATH, "source_commit": sha,
                "source_table": f"{TABLE} / {demo} / {col}",
                "notes": "; ".join(notes),
            })
    return rows


if __name__ == "__main__":
    a = std_args(__doc__, "v2.3.2", "rknn_model_zoo.csv")
    write_rows(extract(a.repo, a.commit), a.out)
