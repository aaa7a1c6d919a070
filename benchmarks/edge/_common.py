"""Shared helpers for the edge benchmark extractors (stdlib only)."""
from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES_DIR = HERE / "sources"

COLUMNS = [
    "id", "chip", "unit", "runtime", "runtime_version", "model", "model_ref", "input",
    "precision", "batch", "cores", "metric", "value", "source", "source_path",
    "source_commit", "source_table", "notes",
]


def git_show(repo: str, commit: str, path: str) -> str:
    """Text of `path` at `commit` in the git repository (bare or work tree) `repo`."""
    out = subprocess.run(["git", "-C", repo, "show", f"{commit}:{path}"],
                         capture_output=True, text=True, check=True)
    return out.stdout


def git_ls(repo: str, commit: str, path: str, recursive: bool = False) -> list[str]:
    args = ["git", "-C", repo, "ls-tree", "--name-only", "--full-tree"]
    if recursive:
        args.append("-r")
    args += [commit, path if path.endswith("/") else path + "/"]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if line]


def resolve_commit(repo: str, rev: str) -> str:
    out = subprocess.run(["git", "-C", repo, "rev-parse", f"{rev}^{{commit}}"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def md_cells(line: str) -> list[str]:
    """Cells of one markdown table row (outer pipes optional)."""
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|"):
        s = s[:-1]
    return [c.strip() for c in s.split("|")]


def is_md_rule(line: str) -> bool:
    return bool(re.fullmatch(r"\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*", line))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.+_-]+", "-", text.lower()).strip("-")


def yolo_tag(name: str) -> str:
    """Normalise YOLO names to one tag style: yolov8n, yolo11n, yolov7_tiny, yolox_s."""
    n = name.strip().lower().replace("-", "_")
    n = re.sub(r"^yolov11", "yolo11", n)
    n = re.sub(r"^yolov26", "yolo26", n)
    return n


def write_rows(rows: list[dict], out: str | None) -> None:
    """Write rows (dicts with COLUMNS) as CSV to `out`, or stdout when out is None or '-'."""
    fh = sys.stdout if out in (None, "-") else open(out, "w", newline="", encoding="utf-8")
    try:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in COLUMNS})
    finally:
        if fh is not sys.stdout:
            fh.close()
    if out not in (None, "-"):
        print(f"wrote {len(rows)} rows to {out}", file=sys.stderr)


def std_args(description: str, default_commit: str, default_out: str,
             extra: list[tuple[str, str, str]] = ()):
    """The extractors' arguments; ``extra``: more options, each (flag, default, help)."""
    import argparse
    p = argparse.ArgumentParser(description=description)
    p.add_argument("repo", help="path to a git checkout (work tree or git dir) of the source repository")
    p.add_argument("--commit", default=default_commit, help=f"commit or tag to read (default {default_commit})")
    p.add_argument("-o", "--out", default=str(SOURCES_DIR / default_out),
                   help="output CSV ('-' for stdout)")
    for flag, default, text in extra:
        p.add_argument(flag, default=default, help=text)
    return p.parse_args()
