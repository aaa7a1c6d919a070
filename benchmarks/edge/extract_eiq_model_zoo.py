"""Rows from the NXP eIQ model zoo per-model READMEs (tasks/**/README.md, "## Performance" tables):
average latency of int8 TFLite models on i.MX 8M Plus / i.MX 93 (NPU and CPU), MCX N947 and i.MX RT MCUs.

usage: python3 extract_eiq_model_zoo.py /path/to/eiq-model-zoo [--commit 386e32f...] [-o sources/eiq_model_zoo.csv]
"""
from __future__ import annotations

import re

from _common import git_ls, git_show, is_md_rule, md_cells, resolve_commit, slug, std_args, write_rows

SOURCE = "github:NXP/eiq-model-zoo"
DEFAULT_COMMIT = "386e32f46cb78855834f7d859ab1592a74da7558"  # eIQ Model Zoo 1.2, 2023-11-23

PLATFORMS = {  # normalised platform text -> chip id
    "i.mx 8m plus": "imx8m-plus", "i.mx 8mp": "imx8m-plus", "i.mx 93": "imx93",
    "mcx n947": "mcxn947", "mcx-n947": "mcxn947", "mcxn947 brk": "mcxn947",
    "i.mx rt1170": "imxrt1170", "i.mx rt 1170": "imxrt1170", "i.mx rt1050": "imxrt1050",
    "i.mx rt 1050": "imxrt1050", "i.mx rt 1060 evk": "imxrt1060",
}
# README path (under tasks/) -> model_ref. Only architectures confirmed by the README get torchvision names.
REFS = {
    "vision/classification/mobilenetv2": ("mobilenet_v2", "Keras/TF-slim MobileNetV2 1.0 at 224: same architecture as torchvision mobilenet_v2"),
    "vision/classification/mobilenetv1": ("mobilenet_v1_0.25_128", "MobileNet v1, width 0.25, 128x128 input"),
    "vision/classification/MNasNet": ("mnasnet_a1_0.75", "TF MnasNet-A1 depth 0.75 (has SE blocks): not torchvision mnasnet0_75"),
    "vision/object-detection/ssdlite-mobilenetv2": ("ssdlite_mobilenet_v2", "TF1 detection zoo SSDLite MobileNetV2 at 300x300"),
    "vision/object-detection/nanodet-m": ("nanodet_m_0.5x", "NanoDet-m 0.5x"),
    "vision/object-detection/yolov4tiny": ("yolov4_tiny", ""),
    "vision/semantic-segmentation/deeplabv3": ("deeplabv3_mobilenet_v2_dm0.5", "DeepLabV3 with a MobileNetV2 (depth multiplier 0.5) backbone"),
    "vision/monocular-depth-estimation/midas": ("midas_v2_1_small", ""),
    "vision/pose-estimation/movenet": ("movenet_lightning", ""),
}


def model_name(text: str, fallback: str) -> str:
    m = re.search(r"^#\s+(.+)$", text, re.M)
    return m.group(1).strip() if m else fallback


def input_shapes(text: str) -> list[str]:
    """Shapes from the 'Input shape' row: '(224, 224, 3)' -> '224x224x3' (one per model variant column)."""
    for line in text.splitlines():
        cells = md_cells(line)
        if cells and cells[0].strip().lower() == "input shape":
            out = []
            for c in cells[1:]:
                m = re.search(r"[\(\[]([\d,\s]+)[\)\]]", c)
                if m:
                    out.append("x".join(p.strip() for p in m.group(1).split(",") if p.strip()))
            return out
    return []


def extract(repo: str, commit: str) -> list[dict]:
    sha = resolve_commit(repo, commit)
    rows = []
    for path in git_ls(repo, sha, "tasks", recursive=True):
        if not path.endswith("/README.md"):
            continue
        key = path[len("tasks/"):-len("/README.md")]
        text = git_show(repo, sha, path)
        if "## Performance" not in text or "/" not in key:
            continue
        shapes = input_shapes(text)
        name = model_name(text, key.rsplit("/", 1)[1])
        ref, ref_note = REFS.get(key, (key.rsplit("/", 1)[1].lower().replace("-", "_"), ""))
        perf = text.split("## Performance", 1)
        if len(perf) < 2:
            continue
        perf = perf[1].split("\n## ", 1)[0]
        m = re.search(r"BSP\s+(L(?:F)?[\d._]+)", perf)
        bsp = m.group(1).rstrip(".") if m else ""
        sub, variant = "", 0
        for line in perf.splitlines():
            if line.startswith("### "):
                if sub:
                    variant += 1
                sub = line[4:].strip()
                continue
            if "|" not in line or is_md_rule(line):
                continue
            cells = md_cells(line)
            if len(cells) < 5 or cells[0].lower() not in ("int8",):
                continue
            lat, platform, accel, command = cells[1], cells[2], cells[3], cells[4]
            mv = re.fullmatch(r"([\d.]+)\s*ms", lat.replace(" ", "").replace("ms", " ms"))
            if not mv:
                continue  # '-' = not supported
            chip = PLATFORMS.get(re.sub(r"\s+", " ", platform.lower()).strip())
            if chip is None:
                raise ValueError(f"unknown platform {platform!r} in {path}")
            shape = shapes[variant] if variant < len(shapes) else (shapes[0] if shapes else "")
            mcu = chip.startswith(("imxrt", "mcx"))
            acc = accel.lower()
            threads = re.search(r"(\d+)\s*thread", acc)
            notes = []
            if acc.startswith("npu"):
                unit = "npu"
                if mcu:
                    runtime, notes = "tflite-micro", ["eIQ Neutron NPU via MCUXpresso SDK / TFLite Micro"]
                else:
                    runtime = "tflite-npu"
                    if "libvx_delegate" in command:
                        notes.append("TFLite benchmark_model with the VX delegate")
                    elif "ethosu" in command:
                        notes.append("TFLite benchmark_model with the Ethos-U delegate")
                    elif "vela" in command:
                        notes.append("Vela-compiled model run by benchmark_model without an external delegate")
                    if chip == "imx93" and "libvx_delegate" in command:
                        continue  # i.MX 93 has no VX (GPU/NPU) delegate target: row is inconsistent
            else:
                unit = "cpu"
                runtime = "tflite-micro" if mcu else "tflite-cpu"
                if threads:
                    notes.append(f"{threads.group(1)} CPU thread(s)")
                if chip == "imx93" and threads and int(threads.group(1)) > 2:
                    notes.append("i.MX 93 has 2 Cortex-A55 cores: more threads than cores")
                if mcu:
                    notes.append(f"MCU CPU ({accel})" if accel.lower() != "cpu" else "MCU CPU")
            if ref_note:
                notes.append(ref_note)
            if sub:
                notes.append(f"variant: {sub}")
            notes.append(f"command: {command}")
            tag = f"{unit}" + (f"-t{threads.group(1)}" if threads else "")
            vtag = slug(sub.split()[0]) if sub and variant else ""
            mref = f"{ref}_{vtag.replace('-', '_')}" if vtag else ref
            rows.append({
                "id": f"eiq-mz/{chip}/{key.rsplit('/', 1)[1].lower()}" + (f"-{vtag}" if vtag else "")
                      + f"/int8/b1/{tag}",
                "chip": chip, "unit": unit, "runtime": runtime,
                "runtime_version": f"BSP {bsp}" if bsp and not mcu else "",
                "model": name + (f" ({sub})" if sub else ""), "model_ref": mref, "input": shape,
                "precision": "int8", "batch": 1, "cores": threads.group(1) if threads else "",
                "metric": "latency_ms", "value": mv.group(1),
                "source": SOURCE, "source_path": path, "source_commit": sha,
                "source_table": "Performance" + (f" / {sub}" if sub else ""), "notes": "; ".join(notes),
            })
    return rows


if __name__ == "__main__":
    a = std_args(__doc__, DEFAULT_COMMIT, "eiq_model_zoo.csv")
    write_rows(extract(a.repo, a.commit), a.out)
