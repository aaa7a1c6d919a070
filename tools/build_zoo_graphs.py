"""Trace every torchvision network of the zoo at its default input and store its cost graph.

    python tools/build_zoo_graphs.py          # rewrite src/chipfit/data/zoo/graphs/*.json.gz
    python tools/build_zoo_graphs.py --check  # exit 1 when a stored graph differs from a fresh trace
    python tools/build_zoo_graphs.py kokoro-82m yolov8n   # only these entries

``chipfit check resnet18`` then reads the stored graph instead of importing torch and tracing
(a second instead of ten). ``tests/test_zoo_graphs.py`` holds every stored graph equal to a fresh
trace, so a new torch or torchvision that changes a trace fails the tests until this is rerun.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

from chipfit.analysis.count import fresh_trace
from chipfit.data import zoo

OUT = Path(__file__).resolve().parents[1] / "src" / "chipfit" / "data" / "zoo" / "graphs"


def stored_data(name: str) -> dict:
    graph, notes, sparse = fresh_trace(name)
    return {"graph": graph.to_data(), "notes": list(notes), "sparse": [dict(s) for s in sparse]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare, do not write")
    ap.add_argument("names", nargs="*", help="only these zoo entries (default: every torchvision one)")
    args = ap.parse_args()
    known = {e.name for e in zoo.entries() if e.frontend == "torchvision"}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        ap.error(f"not a torchvision-frontend zoo entry: {', '.join(unknown)}")
    OUT.mkdir(parents=True, exist_ok=True)
    stale = []
    for entry in zoo.entries():
        if entry.frontend != "torchvision" or (args.names and entry.name not in args.names):
            continue
        data = stored_data(entry.name)
        path = OUT / f"{entry.name}.json.gz"
        text = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
        old = json.loads(gzip.decompress(path.read_bytes())) if path.exists() else None
        if old != json.loads(text):
            stale.append(entry.name)
            if not args.check:
                path.write_bytes(gzip.compress(text, mtime=0))
        print(f"{entry.name:32s} {len(data['graph']['ops']):5d} ops  {'changed' if old != json.loads(text) else 'same'}")
    if args.check and stale:
        print(f"stale: {', '.join(stale)} (run python tools/build_zoo_graphs.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
