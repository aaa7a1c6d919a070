"""Rows from the Hailo model zoo public-model tables (docs/public_models/<DEVICE>/*.rst):
FPS at batch 1 and batch 8 for Hailo-8, Hailo-8L, Hailo-10H, Hailo-15H and Hailo-15L; and, for each
network and chip, the layers its compile script (cfg/alls) sets to another precision than 8 bits.

usage: python3 extract_hailo_model_zoo.py /path/to/hailo_model_zoo [--commit c83fc03...] [-o sources/hailo_model_zoo.csv]
       [--layers layers/hailo_model_zoo.csv]
"""
from __future__ import annotations

import csv
import re
import subprocess

from _common import HERE, git_ls, git_show, resolve_commit, std_args, write_rows, yolo_tag

SOURCE = "github:hailo-ai/hailo_model_zoo"
DEFAULT_COMMIT = "c83fc030e862de8daf05b783f503712d168ef620"  # v5.2.0, 2026-01-20
DEVICES = {"HAILO8": "hailo-8", "HAILO8L": "hailo-8l", "HAILO10H": "hailo-10h",
           "HAILO15H": "hailo-15h", "HAILO15L": "hailo-15l"}
SKIP_TASKS = {"text_image_retrieval"}
#: the commit holding each model-zoo release's compile scripts: the tables of Hailo-8 and Hailo-8L
#: were compiled in release v2.17.0, whose scripts live on the branch update-to-version-2.17
RELEASE_COMMITS = {"v5.2.0": DEFAULT_COMMIT, "v2.17.0": "1bde1102a7706e43688c863330a93acbc0f4db90"}
#: the compile-script folder (cfg/alls/<arch>/base, else cfg/alls/generic) of each chip: the model
#: zoo compiles Hailo-10H networks with the Hailo-15H scripts (core/main_utils.py, resolve_alls_path)
ALLS_ARCH = {"hailo-8": "hailo8", "hailo-8l": "hailo8l", "hailo-10h": "hailo15h", "hailo-15h": "hailo15h",
             "hailo-15l": "hailo15l"}
LAYER_COLUMNS = ["chip", "runtime_version", "model", "order", "precision_mode", "layers", "source",
                 "source_path", "source_commit"]
#: quantization_param(<layers>, ..., precision_mode=<mode>): the layers (a name, a [list] or a
#: {wildcard}) a compile script sets to a precision mode (a<activation bits>_w<weight bits>)
PRECISION_LINE = re.compile(r"^\s*quantization_param\(\s*(\[[^\]]*\]|\{[^}]*\}|[^,\s]+)\s*,"
                            r"[^#]*?precision_mode\s*=\s*(a\d+_w\d+)", re.M)  # text encoders: not vision models

# Hailo network name -> torchvision builder / chipfit zoo name, only where the published model is
# that architecture (source repo checked in the model zoo's network config). Others keep their own name.
MODEL_REFS = {
    "mobilenet_v2_1.0": ("mobilenet_v2", "TF-slim MobileNetV2 1.0/224: same architecture as torchvision mobilenet_v2"),
    "swin_tiny": ("swin_t", "microsoft/swin-tiny-patch4-window7-224: same architecture as torchvision swin_t"),
    "swin_small": ("swin_s", "microsoft/swin-small-patch4-window7-224: same architecture as torchvision swin_s"),
    "vit_base": ("vit_b_16", "timm vit_base_patch16_224: same architecture as torchvision vit_b_16"),
    "squeezenet_v1.1": ("squeezenet1_1", "imgclsmob SqueezeNet 1.1: same architecture as torchvision squeezenet1_1"),
    "regnetx_800mf": ("regnet_x_800mf", "pycls RegNetX-800MF: same architecture as torchvision regnet_x_800mf"),
    "regnetx_1.6gf": ("regnet_x_1_6gf", "pycls RegNetX-1.6GF: same architecture as torchvision regnet_x_1_6gf"),
    "resnext50_32x4d": ("resnext50_32x4d", "imgclsmob ResNeXt-50 32x4d: same architecture as torchvision resnext50_32x4d"),
    "efficientnet_lite0": ("efficientnet_lite0", "TF EfficientNet-Lite0 (chipfit zoo efficientnet_lite0)"),
    "resnet_v1_50": ("resnet_v1_50", "ResNet-50 v1 (stride in the 1x1 conv), not torchvision resnet50 (v1.5)"),
    "inception_v1": ("inception_v1", "TF-slim Inception v1; torchvision googlenet differs in detail"),
    "resnet_v1_18": ("resnet18", "BRECQ's ResNet-18: same architecture as torchvision resnet18 (Hailo's params and OPS match)"),
    "resnet_v1_34": ("resnet34", "standard ResNet-34 layout: same architecture as torchvision resnet34 (Hailo's params and OPS match)"),
    "yolov6n": ("yolov6n_0.1.0", "YOLOv6 release 0.1.0 (4.32M parameters, 11.12G FLOPs), not the release-3.0 YOLOv6-N of chipfit's zoo"),
    "mobilenet_v3": ("mobilenet_edgetpu", "the network config loads mobilenet_v3_edgetpu.tflite: MobileNet-EdgeTPU, not MobileNetV3"),
    "vit_tiny": ("deit_tiny", "timm vit_tiny_patch16_224: same architecture as DeiT-Ti (chipfit zoo deit_tiny)"),
    "vit_small": ("deit_small", "timm vit_small_patch16_224: same architecture as DeiT-S (chipfit zoo deit_small)"),
    "yolov3_gluon": ("yolov3", "GluonCV yolo3_darknet53: the same layers as Darknet YOLOv3 (chipfit zoo yolov3)"),
    "yolov3_gluon_416": ("yolov3_416", "GluonCV yolo3_darknet53 at 416: the same layers as Darknet YOLOv3 (chipfit zoo yolov3_416)"),
    "yolov5s": ("yolov5s_2.0", "YOLOv5s of release v2.0 with its SPP block (Hailo's cfg: 7.46M parameters, 17.44G OPS), "
                "not the current release's yolov5s (7.2M)"),
    "lprnet": ("lprnet_hailo", "Hailo's ResNet-like LPRNet at 75x300 (7.14M parameters), not the original 24x94 LPRNet"),
}


def parse_list_tables(text: str):
    """Yield (section_titles, header, rows) for every rst list-table in `text`."""
    lines = text.splitlines()
    titles = {}  # underline char -> latest title
    order = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and re.fullmatch(r"([=\-^~])\1{2,}", lines[i + 1].strip()) and line.strip() \
                and not line.startswith(" "):
            ch = lines[i + 1].strip()[0]
            if ch not in order:
                order.append(ch)
            titles[ch] = line.strip()
            for lower in order[order.index(ch) + 1:]:
                titles.pop(lower, None)
            i += 2
            continue
        if line.startswith(".. list-table::"):
            rows, j = [], i + 1
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith(" ")):
                s = lines[j]
                if s.startswith("   * - "):
                    rows.append([s[len("   * - "):].strip()])
                elif (s.startswith("     - ") or s.rstrip() == "     -") and rows:
                    rows[-1].append(s[len("     -"):].strip())
                elif s.strip() and rows and s.startswith("       "):
                    rows[-1][-1] += " " + s.strip()
                j += 1
            if rows:
                yield [titles[c] for c in order if c in titles], rows[0], rows[1:]
            i = j
            continue
        i += 1


def extract(repo: str, commit: str) -> list[dict]:
    sha = resolve_commit(repo, commit)
    out = []
    for dev, chip in DEVICES.items():
        pages = {}
        for path in sorted(git_ls(repo, sha, f"docs/public_models/{dev}")):
            task = path.rsplit("/", 1)[1][len(dev) + 1:-4]
            if path.endswith(".rst") and task not in SKIP_TASKS:
                text = git_show(repo, sha, path)
                m = re.search(r"compiled using Hailo Dataflow Compiler (v\d+(?:\.\d+)*)", text)
                dfc = m.group(1) if m else ""
                m = re.search(r"ModelZoo/Compiled/(v\d+(?:\.\d+)*)/", text)
                pages[path] = (task, text, dfc, m.group(1) if m else "")
        # a page that names its compiler but not its model-zoo release was compiled in the release
        # the chip's other pages with the same compiler name (one release string per compiler)
        release = {dfc: mz for _, _, dfc, mz in pages.values() if mz}
        for path, (task, text, dfc, mz) in pages.items():
            mz = mz or release.get(dfc, "")
            perf_mode = "Benchmark and TAPPAS  networks run in performance mode" in text
            for titles, header, rows in parse_list_tables(text):
                if "FPS (Batch Size=1)" not in header:
                    continue
                col = {h: k for k, h in enumerate(header)}
                section = f"{task} / {titles[-1]}" if titles else task
                for r in rows:
                    raw = r[col["Network Name"]]
                    star = "⭐" in raw or "|star|" in raw
                    rocket = "|rocket|" in raw
                    name = re.sub(r"\|(rocket|star)\|", "", raw).replace("⭐", "").strip()
                    res = r[col["Input Resolution (HxWxC)"]].strip()
                    if not re.fullmatch(r"\d+x\d+x\d+", res):
                        continue  # no single image input size given
                    ref, ref_note = MODEL_REFS.get(name, (yolo_tag(name), ""))
                    for b in (1, 8):
                        v = r[col[f"FPS (Batch Size={b})"]].strip()
                        if not re.fullmatch(r"\d+(\.\d+)?", v) or float(v) <= 0:
                            continue
                        notes = ["FPS as published; quantized HEF (Hailo devices run integer, mainly 8-bit, "
                                 "networks; per-layer 4/16-bit choices are not in the table)"]
                        if ref_note:
                            notes.append(ref_note)
                        if star:
                            notes.append("marked with a star in the source (network used by Hailo apps / TAPPAS)")
                        if rocket:
                            notes.append("marked with a rocket in the source (network in the Hailo Benchmark)")
                        if perf_mode:
                            notes.append("the page states benchmark and TAPPAS networks run in performance mode")
                        out.append({
                            "id": f"hailo-mz/{chip}/{task}/{name}/b{b}",
                            "chip": chip, "unit": "npu", "runtime": "hailort",
                            "runtime_version": f"DFC {dfc}" + (f" (model zoo {mz})" if mz else ""),
                            "model": name, "model_ref": ref, "input": res, "precision": "int8",
                            "batch": b, "cores": "", "metric": "fps", "value": v,
                            "source": SOURCE, "source_path": path, "source_commit": sha,
                            "source_table": section, "notes": "; ".join(notes),
                        })
    return out


def _exists(repo: str, commit: str, path: str) -> bool:
    return subprocess.run(["git", "-C", repo, "cat-file", "-e", f"{commit}:{path}"],
                          capture_output=True).returncode == 0


def compile_script(repo: str, commit: str, chip: str, network: str) -> str | None:
    """The path of the compile script the model zoo uses for ``network`` on ``chip`` at ``commit``:
    the network config's alls_script, in the chip's folder if it has one, else the generic one."""
    name = f"{network}.alls"
    cfg = f"hailo_model_zoo/cfg/networks/{network}.yaml"
    if _exists(repo, commit, cfg):
        m = re.search(r"^\s*alls_script:\s*(\S+)", git_show(repo, commit, cfg), re.M)
        name = m.group(1) if m else name
    for folder in (f"{ALLS_ARCH[chip]}/base", "generic"):
        path = f"hailo_model_zoo/cfg/alls/{folder}/{name}"
        if _exists(repo, commit, path):
            return path
    return None


def layer_precisions(repo: str, rows: list[dict]) -> list[dict]:
    """Per network and chip of ``rows``, each line of its compile script that sets layers to a
    precision mode, in script order (a later line overrides an earlier one for the same layer)."""
    out = []
    for chip, version, model in sorted({(r["chip"], r["runtime_version"], r["model"]) for r in rows}):
        m = re.search(r"model zoo (v[\d.]+)", version)
        commit = RELEASE_COMMITS.get(m.group(1)) if m else None
        path = compile_script(repo, commit, chip, model) if commit else None
        if path is None:
            continue
        for order, (layers, mode) in enumerate(PRECISION_LINE.findall(git_show(repo, commit, path)), 1):
            out.append({"chip": chip, "runtime_version": version, "model": model, "order": order,
                        "precision_mode": mode, "layers": layers, "source": SOURCE, "source_path": path,
                        "source_commit": commit})
    return out


if __name__ == "__main__":
    a = std_args(__doc__, DEFAULT_COMMIT, "hailo_model_zoo.csv",
                 extra=[("--layers", str(HERE / "layers" / "hailo_model_zoo.csv"),
                         "output CSV of the layers each compile script sets to another precision")])
    rows = extract(a.repo, a.commit)
    write_rows(rows, a.out)
    layers = layer_precisions(a.repo, rows)
    with open(a.layers, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=LAYER_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(layers)
    print(f"wrote {len(layers)} compile-script lines to {a.layers}")
