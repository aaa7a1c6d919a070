"""Residuals of the edge fit against model features: what ``benchmarks/fit_edge.py`` leaves unexplained.

    python benchmarks/edge/residuals.py            # after python benchmarks/fit_edge.py

Reads ``predictions.csv`` (the fit's prediction of every priced row) and, per class, prints the
correlation of log(predicted / measured) with features of the row's network (parameters, FLOPs,
fixed-cost ops, data moves, resize ops, depthwise, vector and elementwise shares of FLOPs, attention,
input size, batch), in sample and, over the fit rows, with each row predicted without its model in the
fit (leave-one-model-out: what a change to the model would have to explain for new networks),
the median error per model (fit rows: in-sample; held-out rows marked), for the Hailo rows the
batch-1 / batch-8 time per image that shows which networks the compiler split into contexts, and
for Qualcomm AI Hub's rows the time of the same network on the same device under two runtimes of
the same backend and in int8 against float, and three checks of what the per-network error is:
its share of the left-out error's variance; how far two classes agree on it (a network's median
left-out error in each class that fitted it, correlated over the networks both fitted: runtimes of
one backend that agree are seeing the same thing in the network's build); and whether it follows
the number of layers the runtime compiled (AI Hub publishes it per row, "layers on NPU a/b") over
the ops chipfit counts; and whether a network's error follows that of the networks most like it: each
fit row's left-out prediction times the mean log ratio (measured / in-sample prediction) of the k fit
networks of other names nearest in graph features, k = 1, 3, 5, 10 (what a network never measured could
borrow from its neighbours). (What a network's own measurements on other chips are worth is a table of
``VALIDATION.md``, written by the fit.)
Analysis only: it writes nothing.
"""

from __future__ import annotations

import csv
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import fit_edge as F  # noqa: E402


def main() -> None:
    preds = {(r["id"], r["class"]): r for r in csv.DictReader(open(F.PREDICTIONS, encoding="utf-8"))}
    rows, _, _ = F.select_rows(F.database())  # set-aside rows are not part of the fit
    graphs = {}
    for r in rows:
        if (r.model, r.hw) not in graphs:
            graphs[(r.model, r.hw)] = F.graph_of(r.model, r.hw)
        r.feats = F.features(graphs[(r.model, r.hw)], r.batch, r.precision, r.layers)
    by_class = defaultdict(list)
    for r in rows:
        p = preds.get((r.id, r.cls))
        if p is not None:
            by_class[r.cls].append((r, float(p["predicted_s"]), p["role"], float(p["left_out_s"])))
    for cls, items in sorted(by_class.items(), key=lambda kv: -len(kv[1])):
        y = np.array([np.log(p / r.measured_s) for r, p, _, _ in items])
        fit = np.array([role == "fit" for _, _, role, _ in items])
        left_out = np.array([np.log(q / r.measured_s) for r, _, _, q in items])
        items = [x[:3] for x in items]
        fl = [r.feats[1].sum() for r, _, _ in items]
        kinds = [np.array([o.kind for o in graphs[(r.model, r.hw)].ops]) for r, _, _ in items]
        feats = {
            "log params": [np.log(r.feats[5] + 1) for r, _, _ in items],
            "log FLOPs/image": [np.log(f / r.batch) for f, (r, _, _) in zip(fl, items)],
            "fixed-cost ops": [r.feats[3] for r, _, _ in items],
            "data moves": [r.feats[4] for r, _, _ in items],
            "depthwise share": [r.feats[1][r.feats[0] == 1].sum() / f for f, (r, _, _) in zip(fl, items)],
            "vector share": [r.feats[1][r.feats[0] == 2].sum() / f for f, (r, _, _) in zip(fl, items)],
            "elementwise share": [r.feats[1][k == "elementwise"].sum() / f for f, k, (r, _, _) in zip(fl, kinds, items)],
            "resize ops": [float(np.sum(k == "resize")) for k in kinds],
            "attention": [float(r.feats[7]) for r, _, _ in items],
            "input height": [r.hw[0] for r, _, _ in items],
            "batch 8": [float(r.batch == 8) for r, _, _ in items],
        }
        print(f"== {cls}: {len(items)} rows, sd of log(pred/meas) {y.std():.2f}; correlation in sample"
              + (f", and left out (the {fit.sum()} fit rows, each predicted without its model)" if fit.any() else
                 " (no fit rows in this fit)"))
        for name, v in feats.items():
            v = np.asarray(v, dtype=float)
            if v.std() > 0:
                out = f"{np.corrcoef(v[fit], left_out[fit])[0, 1]:+.2f}" if fit.sum() > 2 and v[fit].std() > 0 else "  –"
                print(f"   corr with {name:17s} {np.corrcoef(v, y)[0, 1]:+.2f}   left out {out}")
        per = defaultdict(list)
        for r, p, role in items:
            per[("HELD " if role == "heldout" else "") + r.model].append(100 * (p / r.measured_s - 1))
        print("   median error per model: " + ", ".join(f"{m} {np.median(v):+.0f}%" for m, v in
                                                     sorted(per.items(), key=lambda kv: np.median(kv[1]))))
    pairs = defaultdict(dict)
    for r in rows:
        if r.cls in F.DATAFLOW:
            pairs[(r.model, r.chip)][r.batch] = r
    print("== dataflow rows: batch-1 time / batch-8 time per image (1.0: one context; above "
          f"{F.SPLIT_RATIO}: split), need = int8 weights + largest op working set")
    for (model, chip), v in sorted(pairs.items(), key=lambda kv: (kv[0][1], kv[1][1].feats[6] if 1 in kv[1] else 0)):
        if 1 in v and 8 in v:
            print(f"   {chip:10s} {model:20s} need {v[1].feats[6]:6.1f} MB  attention {str(v[1].feats[7]):5s} "
                  f"ratio {v[1].measured_s / (v[8].measured_s / 8):4.2f}")
    same_backend()
    shared_errors(preds.values())
    compiled_layers(preds, rows)
    neighbours(preds, rows, graphs)


#: graph features a network's neighbours are found by (each scaled by its spread over a class's networks)
NEIGHBOUR_FEATURES = ("log FLOPs", "log parameters", "depthwise share", "vector share", "elementwise share",
                      "log(1 + resize ops)", "attention", "log fixed-cost ops")


def neighbour_features(graph) -> np.ndarray:
    """:data:`NEIGHBOUR_FEATURES` of one network at batch 1."""
    f = F.features(graph, 1)
    cls, flops = f[0], f[1]
    kinds = np.array([o.kind for o in graph.ops])
    total = flops.sum()
    return np.array([np.log(total), np.log(f[5] + 1), flops[cls == 1].sum() / total, flops[cls == 2].sum() / total,
                     flops[kinds == "elementwise"].sum() / total, np.log1p(np.sum(kinds == "resize")),
                     float(f[7]), np.log(max(f[3], 1))])


def neighbours(preds: dict, rows: list, graphs: dict) -> None:
    """Per class, the fit rows' left-out error (median / p90 |error|) as it is and times the mean log
    ratio of the k nearest fit networks of other names at the row's batch (each network's ratio: the
    median of log(measured / in-sample prediction) over its fit rows at that batch)."""
    feats = {key: neighbour_features(g) for key, g in graphs.items()}
    by_class = defaultdict(list)
    for r in rows:
        p = preds.get((r.id, r.cls))
        if p is not None and p["role"] == "fit":
            by_class[r.cls].append((r, float(p["predicted_s"]), float(p["left_out_s"])))
    print("== a network's error borrowed from its k nearest fit networks of other names (graph features): "
          "fit rows, left out, median / p90 |error|")
    for cls, items in sorted(by_class.items(), key=lambda kv: -len(kv[1])):
        logs = defaultdict(lambda: defaultdict(list))
        for r, p, _ in items:
            logs[(r.model, r.hw)][r.batch].append(np.log(r.measured_s / p))
        nets = list(logs)
        x = np.array([feats[n] for n in nets])
        spread = np.where(x.std(0) > 0, x.std(0), 1.0)
        out = []
        for k in (0, 1, 3, 5, 10):
            err = []
            for r, _, left in items:
                scale = 0.0
                if k:
                    d = np.sqrt((((x - feats[(r.model, r.hw)]) / spread) ** 2).sum(1))
                    near = sorted((d[i], float(np.median(logs[n][r.batch]))) for i, n in enumerate(nets)
                                  if n[0] != r.model and r.batch in logs[n])[:k]
                    scale = float(np.mean([v for _, v in near]))
                err.append(100 * abs(left * np.exp(scale) / r.measured_s - 1))
            out.append(f"k={k} {np.median(err):.1f}/{np.percentile(err, 90):.1f}")
        print(f"   {cls:16s} {len(items):4d} rows  " + "   ".join(out))


def shared_errors(preds) -> None:
    """Per class, the share of the variance of the fit rows' left-out error (log) that lies between
    networks; per pair of classes, the correlation over the networks both fitted of each network's
    median left-out error in the one and in the other."""
    per = defaultdict(lambda: defaultdict(list))
    for p in preds:
        if p["role"] == "fit":
            per[p["class"]][p["model"]].append(np.log(float(p["left_out_s"]) / float(p["measured_s"])))
    names = sorted(per, key=lambda c: -len(per[c]))
    print("== left-out error (log) of the fit rows: the share of its variance between networks (their means)")
    for c in names:
        every = np.concatenate([np.array(v) for v in per[c].values()])
        within = np.concatenate([np.array(v) - np.mean(v) for v in per[c].values()])
        print(f"   {c:16s} {len(per[c]):3d} networks  {1 - within.var() / every.var():.2f}")
    print("== per-network left-out error shared by two classes: correlation over the networks both fitted")
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = sorted(set(per[a]) & set(per[b]))
            if len(both) >= 5:
                x = [np.median(per[a][m]) for m in both]
                y = [np.median(per[b][m]) for m in both]
                print(f"   {a:16s} {b:16s} {len(both):3d} networks  {np.corrcoef(x, y)[0, 1]:+.2f}")


def compiled_layers(preds: dict, rows: list) -> None:
    """Qualcomm AI Hub rows: the correlation over a class's fit networks of their median left-out
    error with log(layers the runtime compiled / ops chipfit counts a fixed cost for) and with
    log(layers compiled)."""
    with open(F.ROWS, encoding="utf-8") as fh:
        notes = {r["id"]: r["notes"] for r in csv.DictReader(fh)}
    per = defaultdict(lambda: defaultdict(list))
    for r in rows:
        p = preds.get((r.id, r.cls))
        found = re.search(r"layers on NPU \d+/(\d+)", notes.get(r.id, ""))
        if p is not None and p["role"] == "fit" and found and r.feats[3]:
            per[r.cls][r.model].append((np.log(float(p["left_out_s"]) / r.measured_s), int(found.group(1)), r.feats[3]))
    print("== compiled layers (AI Hub) against the per-network left-out error: correlation over fit networks")
    for cls, models in sorted(per.items()):
        err = np.array([np.median([e for e, _, _ in v]) for v in models.values()])
        layers = np.array([np.median([n for _, n, _ in v]) for v in models.values()])
        counted = np.array([v[0][2] for v in models.values()])
        if len(err) > 2:
            print(f"   {cls:16s} {len(err):3d} networks  log(compiled / counted) "
                  f"{np.corrcoef(np.log(layers / counted), err)[0, 1]:+.2f}  log(compiled) "
                  f"{np.corrcoef(np.log(layers), err)[0, 1]:+.2f}")


def same_backend() -> None:
    """Facts of the measurements no graph-based cost can see: per network, the median over devices
    of its time under QNN over its time under TFLite (QNN delegate) and under ONNX Runtime (QNN EP),
    same release, same device, int8, batch 1 (all three run the QNN HTP backend, so a ratio far
    from 1 is the runtime's build, not the network); and of its int8 time over its float time
    (an NPU's int8 path is 2-4x faster: a ratio near or above 1 is not an integer build)."""
    with open(F.ROWS, encoding="utf-8") as fh:
        raw = list(csv.DictReader(fh))
    latency = {r["id"]: float(r["value"]) for r in raw if r["batch"] == "1" and r["metric"] == "latency_ms"}
    by_runtime = defaultdict(dict)
    ratios = defaultdict(lambda: defaultdict(list))
    for r in raw:
        twin = F.float_twin(r["id"])  # an AI Hub int8 row: its float build's id
        if twin is None or r["id"] not in latency:
            continue
        release, device = r["id"].split("/")[0], r["id"].split("/")[-1]
        by_runtime[(release, r["model_ref"], device)][F.RUNTIME_CLASS.get(r["runtime"])] = latency[r["id"]]
        if twin in latency:
            ratios[r["model_ref"]]["float"].append(latency[r["id"]] / latency[twin])
    for (_, model, _), t in by_runtime.items():
        for other in ("tflite-qnn", "onnxruntime-qnn"):
            if "qnn" in t and other in t:
                ratios[model][other].append(t["qnn"] / t[other])
    print("== same network, same device, int8, batch 1: median time ratio over devices (n devices)")
    fmt = lambda v: f"{np.median(v):5.2f} ({len(v):2d})" if v else "    –     "  # noqa: E731
    print(f"   {'network':28s} qnn/tflite  qnn/onnxrt  int8/float")
    for model, v in sorted(ratios.items(), key=lambda kv: -np.median(kv[1]["tflite-qnn"] or [1.0])):
        print(f"   {model:28s} {fmt(v['tflite-qnn'])} {fmt(v['onnxruntime-qnn'])} {fmt(v['float'])}")



if __name__ == "__main__":
    main()
