"""Fit the efficiency factors of src/chipfit/data/efficiency.yaml on the validation cases.

    python benchmarks/fit_efficiency.py          # prints the fit, writes efficiency.yaml

Protocol: each efficiency class with measurements is fitted on the cases marked ``role: fit``
whose units all belong to it (nvidia-gpu: timm on an RTX 4090; nvidia-jetson-gpu: MLPerf
SingleStream/MultiStream on the Jetson AGX Orin GPU; nvidia-dla: the DLA table of Jetson AGX
Orin at MAXN). Cases marked ``holdout`` (MLPerf Offline on the Orin's GPU and DLAs together)
are never fitted on. Classes without public measurements borrow a fit and say which. The cpu
class is fitted on this machine's own ``role: fit`` rows (benchmarks/local/measured_local.csv,
onnxruntime on the probed 2-core CPU); its holdout rows are never fitted on.
"""

from __future__ import annotations

import argparse
import datetime

import yaml
from _cases import ROOT, load_cases, local_cases, predictor

from chipfit.calibration.fit import GRID, class_fit, fit_class, op_is_depthwise, residual
from chipfit.data.efficiency import EfficiencyFile, efficiency_classes, efficiency_file

METHOD = ("per class, coordinate search on a log grid of (gemm, depthwise, memory) minimising the mean "
          "squared log error of predicted vs measured throughput/latency over the class's fit rows; "
          "vector = depthwise; leave-one-out error refits without each row")


def _report(cls, eff, res, preds) -> None:
    print(f"{cls:11s} gemm {eff.gemm:.3f} depthwise {eff.depthwise:.3f} memory {eff.memory:.3f}  "
          f"n={res.n} median {res.median_abs_pct:.1f}% p90 {res.p90_abs_pct:.1f}% "
          f"LOO median {res.loo_median_abs_pct}%")
    for p in preds:
        print(f"    {p.case.id:7s} {p.case.measured_model[:40]:40s} measured {p.case.measured:10.4g} "
              f"predicted {p.predicted:10.4g}  {100 * p.error:+6.1f}%")


def _edges(eff) -> str:
    """Factors the fit left on an end of its grid, said in the basis (a clipped fit, not a measured 1.0)."""
    ends = [f"{k} {getattr(eff, k):g}" for k in ("gemm", "depthwise", "memory")
            if getattr(eff, k) >= GRID[-1] or getattr(eff, k) <= GRID[0]]
    return (f"; at an end of the fit's grid ({GRID[0]:g}..{GRID[-1]:g}): {', '.join(ends)} (the rows ask for "
            f"that much or more of the rated figure: the fit is clipped there)") if ends else ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="print, do not write efficiency.yaml")
    args = ap.parse_args()
    cf = load_cases()
    pred = predictor()
    desc = {k: v.description for k, v in efficiency_classes().items()}
    fits, effs = {}, {}
    order = [("nvidia-gpu", None), ("nvidia-jetson-gpu", "nvidia-gpu"), ("nvidia-dla", "nvidia-gpu")]
    for cls, borrow in order:
        cases = [c for c in cf.cases if c.role == "fit" and pred.classes(c) == {cls}]
        eff, preds, loo = fit_class(pred, cases, cls, effs, borrow=effs.get(borrow) if borrow else None)
        res = residual(preds, loo)
        effs[cls] = eff
        basis = (f"fitted on {len(cases)} rows of measured_public.csv "
                 f"({', '.join(c.id for c in cases)})")
        if borrow and not any(op_is_depthwise(pred.graph(c)) for c in cases):
            basis += f"; the rows hold no depthwise ops, so depthwise/vector come from the {borrow} fit"
        basis += _edges(eff)
        fits[cls] = class_fit(desc[cls], eff, basis, [c.id for c in cases], res)
        _report(cls, eff, res, preds)
    # classes without measurements of their own borrow a fit
    fits["gpu"] = fits["nvidia-gpu"].model_copy(update={
        "description": desc["gpu"], "fitted_on": [], "residual": None, "borrows": "nvidia-gpu",
        "basis": "no measurements of non-NVIDIA GPUs in measured_public.csv: borrows the nvidia-gpu fit"})
    lcases, lpred = local_cases()
    lfit = [c for c in lcases if c.role == "fit"]
    eff, preds, loo = fit_class(lpred, lfit, "cpu", {})
    res = residual(preds, loo)
    fits["cpu"] = class_fit(desc["cpu"], eff, (
        f"fitted on {len(lfit)} onnxruntime rows measured by benchmarks/measure_local.py on a probed "
        f"2-core AMD EPYC (benchmarks/local/measured_local.csv: {', '.join(c.id for c in lfit)}); peaks "
        f"there are probed matmul rates, so the factors are relative to achieved, not rated, peaks"),
        [c.id for c in lfit], res)
    fits["cpu"] = fits["cpu"].model_copy(update={"basis": fits["cpu"].basis + _edges(eff)})
    _report("cpu", eff, res, preds)
    # the edge runtime classes (and npu) belong to benchmarks/fit_edge.py: kept as they are
    old = efficiency_file()
    classes = {k: fits.get(k) or old.classes[k] for k in desc}
    doc = EfficiencyFile(generated_by="benchmarks/fit_efficiency.py and benchmarks/fit_edge.py",
                         date=datetime.date.today().isoformat(), method=METHOD, edge_method=old.edge_method,
                         classes=classes)
    text = ("# Written by benchmarks/fit_efficiency.py and benchmarks/fit_edge.py; do not edit by hand. "
            "Schema: chipfit/data/efficiency.py\n"
            + yaml.safe_dump(doc.model_dump(exclude_none=True), sort_keys=False, width=110))
    if args.dry_run:
        print(text)
    else:
        (ROOT / "src" / "chipfit" / "data" / "efficiency.yaml").write_text(text, encoding="utf-8")
        print("wrote src/chipfit/data/efficiency.yaml")


if __name__ == "__main__":
    main()
