"""Shell wall time of the commands a user types, each the median of a few fresh processes.

    python benchmarks/cli_speed.py [--runs 3]

Each built-in torchvision network is timed twice: by its zoo name (read from the cost graph it
ships with, no torch imported) and as ``torchvision.models:NAME`` (imported and traced on every
call, as every built-in network was before the graphs shipped), so the table shows what the
stored graphs save on this machine. The language-model and scenario rows are analytic.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = [
    ("count resnet18", ["count", "resnet18"], ["count", "torchvision.models:resnet18"]),
    ("check resnet18 --chip rk3588 --fps 30", ["check", "resnet18", "--chip", "rk3588", "--fps", "30"],
     ["check", "torchvision.models:resnet18", "--chip", "rk3588", "--fps", "30"]),
    ("rank resnet50 --fps 30 --category edge", ["rank", "resnet50", "--fps", "30", "--category", "edge"],
     ["rank", "torchvision.models:resnet50", "--fps", "30", "--category", "edge"]),
    ("llm llama-3-8b --chip rtx-4090", ["llm", "llama-3-8b", "--chip", "rtx-4090"], None),
    ("count llama-3-70b", ["count", "llama-3-70b"], None),
    ("plan examples/multi_camera.yaml", ["plan", "examples/multi_camera.yaml"], None),
]


def wall(args: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "chipfit", *args], cwd=ROOT, capture_output=True, timeout=600)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"median of {args.runs} fresh processes")
    print(f"{'command':44s} {'built-in':>10s} {'traced':>10s}")
    for label, builtin, traced in ROWS:
        t = wall(builtin, args.runs)
        u = f"{wall(traced, args.runs):9.2f}s" if traced else f"{'-':>10s}"
        print(f"{label:44s} {t:9.2f}s {u}")


if __name__ == "__main__":
    main()
