"""Write ``src/chipfit/data/published_edge.csv``: the published measurements chipfit prices, as data
``chipfit check`` shows beside its prediction when a user asks about a measured network on a measured chip.

    python benchmarks/edge/published.py      # after python benchmarks/fit_edge.py

Every row of ``predictions.csv`` that the fit scored (role ``fit``, ``heldout`` or ``check``; not the
builds set aside as slower in int8 than in float), with its chip, unit, runtime class, network, input
size, the MACs and parameters of the network chipfit priced it as (what a user's network must match),
precision, batch and measured latency of one batch, and the file, commit and table of ``rows.csv`` it
was copied from. Nothing is measured or converted here.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PREDICTIONS = HERE / "predictions.csv"
ROWS = HERE / "rows.csv"
OUT = ROOT / "src" / "chipfit" / "data" / "published_edge.csv"
ROLES = ("fit", "heldout", "check")

sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE.parent))
import fit_edge as F  # noqa: E402

from chipfit.data.chips import database  # noqa: E402
from chipfit.data.published import COLUMNS  # noqa: E402


def rows() -> list[dict[str, str]]:
    db = database()
    graphs = {}  # the network chipfit priced the row with (traced once by the fit, cached)
    with open(ROWS, newline="", encoding="utf-8") as fh:
        source = {r["id"]: r for r in csv.DictReader(fh)}
    out = []
    with open(PREDICTIONS, newline="", encoding="utf-8") as fh:
        for p in csv.DictReader(fh):
            if p["role"] not in ROLES:
                continue
            s = source[p["id"]]
            unit, _ = F.row_unit(db.get(p["chip"])[0], p["class"], s["unit"] == "gpu", s["precision"])
            height, width = p["input"].split("x")
            graph = graphs.get((p["model"], p["input"]))
            if graph is None:
                graph = graphs[(p["model"], p["input"])] = F.graph_of(p["model"], (int(height), int(width)))
            out.append({"chip": p["chip"], "unit": unit.id, "runtime": p["class"],
                        "runtime_version": s["runtime_version"], "model": p["model"], "height": height,
                        "width": width, "macs": graph.macs, "params": graph.params,
                        "precision": s["precision"], "batch": p["batch"],
                        "latency_s": p["measured_s"], "source": s["source"], "source_path": s["source_path"],
                        "source_commit": s["source_commit"], "source_table": s["source_table"]})
    out.sort(key=lambda r: (r["chip"], r["unit"], r["runtime"], r["model"], int(r["height"]), int(r["width"]),
                            int(r["batch"]), r["runtime_version"]))
    return out


def main() -> None:
    if not ROWS.exists():
        sys.exit("benchmarks/edge/rows.csv is missing: run python benchmarks/edge/build.py first")
    got = rows()
    with open(OUT, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(got)
    print(f"wrote {OUT.relative_to(ROOT)}: {len(got)} rows, {len({r['chip'] for r in got})} chips, "
          f"{len({r['model'] for r in got})} networks")


if __name__ == "__main__":
    main()
