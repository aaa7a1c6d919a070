"""Rows from Qualcomm AI Hub Models (quic/ai-hub-models): qai_hub_models/models/<id>/perf.yaml
(on-device inference time per device / runtime / precision) joined with info.yaml (domain, input resolution).

Kept: single-component "Computer Vision" models with one plain image input size, NPU rows only.

usage: python3 extract_qaihub.py /path/to/ai-hub-models [--commit 52c080d2...] [--only-devices-missing-from OTHER_COMMIT]
                                 [-o sources/qaihub_v0.46.1.csv]
"""
from __future__ import annotations

import argparse
import re
import subprocess

import yaml
from _common import SOURCES_DIR, git_ls, git_show, resolve_commit, write_rows

SOURCE = "github:quic/ai-hub-models"

# AI Hub device name -> (chip id, note). Devices absent here are reported and skipped.
DEVICES = {
    "Snapdragon 8 Elite Gen 5 QRD": ("snapdragon-8-elite-gen-5", "Qualcomm reference design (QRD)"),
    "Snapdragon 8 Elite QRD": ("snapdragon-8-elite", "Qualcomm reference design (QRD)"),
    "Samsung Galaxy S25": ("snapdragon-8-elite", "phone: Samsung Galaxy S25 (Snapdragon 8 Elite for Galaxy)"),
    "Samsung Galaxy S24": ("snapdragon-8-gen-3", "phone: Samsung Galaxy S24 (Snapdragon 8 Gen 3 for Galaxy)"),
    "Samsung Galaxy S23": ("snapdragon-8-gen-2", "phone: Samsung Galaxy S23 (Snapdragon 8 Gen 2 for Galaxy)"),
    "Snapdragon X Elite CRD": ("snapdragon-x-elite", "Compute reference design (CRD)"),
    "Snapdragon 7 Gen 4 QRD": ("snapdragon-7-gen-4", "Qualcomm reference design (QRD)"),
    "Dragonwing IQ-9075 EVK": ("qcs9075", "Dragonwing IQ-9075 EVK"),
    "Dragonwing RB3 Gen 2 Vision Kit": ("qcs6490", "Dragonwing RB3 Gen 2 Vision Kit"),
    "Dragonwing Q-6690 MTP": ("qcm6690", "Dragonwing Q-6690 MTP"),
    "SA8775P ADP": ("sa8775p", "automotive development platform (ADP)"),
    "SA7255P ADP": ("sa7255p", "automotive development platform (ADP)"),
    "SA8295P ADP": ("sa8295p", "automotive development platform (ADP)"),
    "QCS8550 (Proxy)": ("qcs8550", "PROXY"),
    "QCS8275 (Proxy)": ("qcs8275", "PROXY"),
    "QCS8450 (Proxy)": ("qcs8450", "PROXY"),
    "QCS9075 (Proxy)": ("qcs9075", "PROXY"),
    "SA8255 (Proxy)": ("sa8255p", "PROXY"),
    "SA8650 (Proxy)": ("sa8650p", "PROXY"),
    "RB3 Gen 2 (Proxy)": ("qcs6490", "PROXY"),
    "RB5 (Proxy)": ("qrb5165", "PROXY"),
}
PROXY_NOTE = "AI Hub lists this as a '(Proxy)' device: measured on a stand-in device for this chipset, as published"

# perf.yaml runtime -> (runtime, note)
RUNTIMES = {
    "tflite": ("tflite", "TFLite with the QNN delegate"),
    "qnn": ("qnn", "QNN (AI Engine Direct)"),
    "qnn_dlc": ("qnn", "QNN DLC (AI Engine Direct)"),
    "qnn_context_binary": ("qnn-context-binary", ""),
    "onnx": ("onnxruntime-qnn", "ONNX Runtime with the QNN execution provider"),
    "precompiled_qnn_onnx": ("onnxruntime-qnn", "ONNX Runtime QNN EP with a precompiled QNN context"),
}
PRECISIONS = {"w8a8": "int8"}  # others kept as the source writes them (float, w8a16, w4a16, ...)

# YOLO-family ids: (model id, 'Model checkpoint' in info.yaml) -> tag. Checked against the checkpoint text.
YOLO = {
    ("yolov8_det", "YOLOv8-N"): "yolov8n", ("yolov11_det", "YOLO11-N"): "yolo11n",
    ("yolov10_det", "YOLOv10-N"): "yolov10n", ("yolov8_seg", "YOLOv8N-Seg"): "yolov8n_seg",
    ("yolov11_seg", "YOLO11N-Seg"): "yolo11n_seg", ("yolov3", "YoloV3 Tiny"): "yolov3_tiny",
    ("yolov5", "YoloV5-M"): "yolov5m", ("yolov6", "YoloV6-N"): "yolov6n",
    ("yolov7", "YoloV7 Tiny"): "yolov7_tiny", ("yolox", "YoloX Small"): "yolox_s",
}
# Non-torchvision models whose AI Hub id is also a torchvision/chipfit name: say what they are.
SPECIAL_REFS = {
    "mobilenet_v2": ("mobilenet_v2", "tonylins/pytorch-mobilenet-v2 implementation: same MobileNetV2 1.0 architecture as torchvision mobilenet_v2"),
}
# AI Hub ids whose network changed between releases: id -> (text in model.py of the network chipfit's zoo
# entry is, model_ref of the earlier network). face_attrib_net became a detection-only network in v0.42.0.
CHANGED = {"face_attrib_net": ("detection_only", "face_attrib_net_multitask")}
TV_RE = re.compile(r"tv_models\.(?:video\.|segmentation\.)?([a-z0-9_]+)\b(?!\.)")


def parse_input(res) -> str | None:
    if res is None:
        return None
    s = str(res).strip()
    m = re.fullmatch(r"\d+p \((\d+x\d+)\)", s)
    if m:
        return m.group(1)
    if re.fullmatch(r"\d+x\d+", s):
        return s
    m = re.fullmatch(r"1 ?x ?3 ?x ?(\d+) ?x ?(\d+)", s)
    if m:
        return f"1x3x{m.group(1)}x{m.group(2)}"
    return None


def torchvision_builder(repo: str, sha: str, model_id: str) -> str | None:
    try:
        src = git_show(repo, sha, f"qai_hub_models/models/{model_id}/model.py")
    except subprocess.CalledProcessError:
        return None
    found = {m.group(1) for m in TV_RE.finditer(src)}
    return found.pop() if len(found) == 1 else None


def perf_entries(perf: dict):
    """Yield (precision, component, device, runtime, metrics) from both perf.yaml layouts."""
    for prec, pdata in (perf.get("precisions") or {}).items():
        for comp, cdata in (pdata.get("components") or {}).items():
            for dev, by_rt in (cdata.get("performance_metrics") or {}).items():
                for rt, met in (by_rt or {}).items():
                    if isinstance(met, dict):
                        yield prec, comp, dev, rt, met


def extract(repo: str, commit: str, skip_devices: set[str] = frozenset(), tag: str = "") -> tuple[list[dict], dict]:
    sha = resolve_commit(repo, commit)
    rows, skipped = [], {}
    ids = sorted({p.split("/")[2] for p in git_ls(repo, sha, "qai_hub_models/models")
                  if p.count("/") == 2 and not p.endswith(".py")})
    for mid in ids:
        try:
            info = yaml.safe_load(git_show(repo, sha, f"qai_hub_models/models/{mid}/info.yaml"))
            perf = yaml.safe_load(git_show(repo, sha, f"qai_hub_models/models/{mid}/perf.yaml"))
        except subprocess.CalledProcessError:
            continue
        if not info or not perf or info.get("domain") != "Computer Vision":
            continue
        td = info.get("technical_details") or {}
        shape = parse_input(td.get("Input resolution"))
        entries = list(perf_entries(perf))
        comps = {e[1] for e in entries}
        if shape is None:
            skipped[mid] = f"input resolution {td.get('Input resolution')!r} is not one image size"
            continue
        if len(comps) > 1:
            skipped[mid] = f"{len(comps)} components with different inputs"
            continue
        ckpt = str(td.get("Model checkpoint"))
        ref_note = ""
        if (mid, ckpt) in YOLO:
            ref = YOLO[(mid, ckpt)]
        elif mid in SPECIAL_REFS:
            ref, ref_note = SPECIAL_REFS[mid]
        elif mid in CHANGED and CHANGED[mid][0] not in git_show(repo, sha, f"qai_hub_models/models/{mid}/model.py"):
            ref, ref_note = CHANGED[mid][1], "the earlier network of this id (its model.py at this release)"
        else:
            tv = torchvision_builder(repo, sha, mid)
            ref = tv or mid
            if tv:
                ref_note = f"model.py builds torchvision {tv}"
        for prec, comp, dev, rt, met in entries:
            ms = met.get("inference_time_milliseconds")
            if met.get("primary_compute_unit") != "NPU" or not ms or float(ms) <= 0:
                continue
            if dev in skip_devices:
                continue
            if dev not in DEVICES:
                skipped.setdefault(f"device {dev}", "no chip mapping")
                continue
            if rt not in RUNTIMES:
                skipped.setdefault(f"runtime {rt}", "not an inference runtime row")
                continue
            chip, dev_note = DEVICES[dev]
            runtime, rt_note = RUNTIMES[rt]
            tv_ = met.get("tool_versions") or {}
            ver = ", ".join(f"{k} {v}" for k, v in tv_.items() if v)
            if not ver:
                ver = f"ai-hub-models {tag}" if tag else ""
            lc = met.get("layer_counts") or {}
            notes = [f"device: {dev}"] + ([PROXY_NOTE] if dev_note == "PROXY" else
                                          [dev_note] if dev_note.startswith("phone") else [])
            if rt_note:
                notes.append(rt_note)
            if ref_note:
                notes.append(ref_note)
            if lc.get("total"):
                on_npu = lc.get("npu", 0)
                notes.append(f"layers on NPU {on_npu}/{lc['total']}")
            notes.append("input resolution as written in info.yaml")
            p = PRECISIONS.get(prec, prec)
            rows.append({
                "id": f"qaihub{('-' + tag) if tag else ''}/{chip}/{mid}/{p}/{rt}/{re.sub(r'[^A-Za-z0-9]+', '_', dev).strip('_').lower()}",
                "chip": chip, "unit": "npu", "runtime": runtime, "runtime_version": ver,
                "model": mid, "model_ref": ref, "input": shape, "precision": p,
                "batch": 1, "cores": "", "metric": "latency_ms", "value": ms,
                "source": SOURCE, "source_path": f"qai_hub_models/models/{mid}/perf.yaml",
                "source_commit": sha, "source_table": f"precisions/{prec}/components/{comp}/performance_metrics/{dev}/{rt}",
                "notes": "; ".join(notes),
            })
    return rows, skipped


def devices_at(repo: str, commit: str) -> set[str]:
    sha = resolve_commit(repo, commit)
    devs = set()
    for p in git_ls(repo, sha, "qai_hub_models/models"):
        if p.count("/") != 2 or p.endswith(".py"):
            continue
        try:
            perf = yaml.safe_load(git_show(repo, sha, f"{p}/perf.yaml"))
        except subprocess.CalledProcessError:
            continue
        devs |= {e[2] for e in perf_entries(perf or {})}
    return devs


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repo")
    ap.add_argument("--commit", default="52c080d245d2d20c634459208ff2548ce10b3c9f", help="default: v0.46.1")
    ap.add_argument("--tag", default="v0.46.1", help="release name used in row ids")
    ap.add_argument("--only-devices-missing-from", default=None,
                    help="keep only devices that this other commit does not measure")
    ap.add_argument("-o", "--out", default=str(SOURCES_DIR / "qaihub_v0.46.1.csv"))
    a = ap.parse_args()
    skip = devices_at(a.repo, a.only_devices_missing_from) if a.only_devices_missing_from else set()
    rows, skipped = extract(a.repo, a.commit, skip, a.tag)
    for k, v in sorted(skipped.items()):
        print(f"skipped {k}: {v}", file=__import__("sys").stderr)
    write_rows(rows, a.out)
