"""Predict every measured row chipfit can express and compare: writes VALIDATION.md.

    python benchmarks/validate.py                 # table on stdout, VALIDATION.md rewritten
    python benchmarks/validate.py --no-write      # table only

Rows come from benchmarks/validation_cases.yaml (models on chips: ``chipfit check``) and
benchmarks/llm_cases.yaml (LLM inference: ``chipfit llm``), copied from
benchmarks/data/measured_public.csv, and from benchmarks/local/measured_local.csv (chipfit's own
onnxruntime measurements of this machine, made by benchmarks/measure_local.py, predicted on the
probed chip file benchmarks/local/this-machine.yaml). ``fit`` rows were used to fit the efficiency factors of their
class (in-sample); ``holdout`` rows never were (out-of-sample). Both are reported, separately
and together.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
from collections import defaultdict
from statistics import median

from _cases import HERE, LOCAL_CHIP, LOCAL_CSV, ROOT, load_cases, local_cases, predictor

from chipfit import __version__
from chipfit.calibration.llm_fit import LLMCaseFile
from chipfit.calibration.llm_fit import predict as predict_llm
from chipfit.core.datafile import load_path
from chipfit.core.stats import percentile
from chipfit.core.units import num
from chipfit.data.efficiency import efficiency_file
from chipfit.data.llm_efficiency import EDGE_WHY, grid_edges, llm_efficiency_file


def _keep_edge_block(text: str, path: str) -> str:
    """``text`` with the edge-NPU block (written by benchmarks/fit_edge.py) of the file at ``path``
    kept at its end."""
    start, end = "<!-- edge:start", "<!-- edge:end -->"
    try:
        old = open(path, encoding="utf-8").read()
    except FileNotFoundError:
        return text
    if start not in old or end not in old:
        return text
    block = start + old.split(start, 1)[1].split(end, 1)[0] + end
    return text.rstrip("\n") + "\n\n" + block + "\n"


def _unit(case) -> str:
    return "s" if case.metric == "latency" else "inf/s"


def md_table(header, body) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(out)


def print_table(rows) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)))


def _stats(groups: dict[str, list[float]]) -> list[list[str]]:
    return [[k, str(len(v)), f"{median(v):.1f}%", f"{percentile(v, 90):.1f}%"] for k, v in groups.items() if v]


def llm_section() -> tuple[str, list[list[str]], list[list[str]], list[list[str]]]:
    """Predict every LLM case: (markdown, rows, decode summary, prefill summary)."""
    cf = load_path(LLMCaseFile, HERE / "llm_cases.yaml")
    preds = [predict_llm(c) for c in cf.cases]
    head = ["case", "hardware", "model", "format", "engine", "metric", "measured", "predicted", "rate error"]
    rows = []
    summaries = {"decode": defaultdict(list), "prefill": defaultdict(list)}
    for p in preds:
        c = p.case
        rows.append([c.id + ("" if c.role == "fit" else "*"), c.hardware.split("(")[0].strip()[:34],
                     c.model, c.precision, c.engine, f"{c.metric} b{c.batch} {c.prompt}+{c.output}",
                     num(c.measured), num(p.predicted), f"{100 * p.error:+.1f}%"])
        g = summaries[c.phase]
        g["all rows"].append(p.abs_pct)
        g[f"{c.role} rows"].append(p.abs_pct)
        g[f"{p.result.efficiency.efficiency_class} / {c.engine}"].append(p.abs_pct)
    dec, pre = _stats(summaries["decode"]), _stats(summaries["prefill"])
    fits = llm_efficiency_file()

    def at_clock(seconds: float, f) -> str:
        return f"{seconds * 1e6:.3g}" + (f" at {f.reference_clock_mhz:g} MHz" if f.reference_clock_mhz else "")

    fit_rows = [[f"{f.efficiency_class}/{f.engine}", f"{f.decode_memory:.3g}", f"{f.prefill_gemm:.3g}",
                 at_clock(f.layer_overhead_s, f),
                 (at_clock(f.layer_overhead_cap_s, f) + f" ({f.cap_basis.split(' ')[0]})")
                 if f.layer_overhead_cap_s is not None else "-",
                 "; ".join(e.split(" is ")[0] for e in grid_edges(f)) or "none",
                 f"{f.decode_residual.median_abs_pct:g}% ({f.decode_residual.cv_median_abs_pct}%)" if f.decode_residual else "-",
                 f"{f.prefill_residual.median_abs_pct:g}% ({f.prefill_residual.cv_median_abs_pct}%)" if f.prefill_residual else "-",
                 str(len(f.fitted_on))] for f in fits.fits]
    caps = "\n".join(f"- {f.efficiency_class}/{f.engine}: {f.cap_basis}" for f in fits.fits if f.cap_basis)
    edged = sorted({e.split(" ")[0] for f in fits.fits for e in grid_edges(f)})
    edge_text = "\n".join(f"- `{name}` at its end is {EDGE_WHY[name]}." for name in edged) or "- none"
    text = f"""## LLM inference (`chipfit llm`)

Every LLM row of `benchmarks/data/measured_public.csv` is predicted by `chipfit.llm` with the cases of
`benchmarks/llm_cases.yaml` (model, chip, weight format, engine, batch, prompt and output
tokens, chips) and the engine efficiencies of `src/chipfit/data/llm_efficiency.yaml` (fitted
{fits.date} by `benchmarks/fit_llm.py`). Errors are on the **rate** (tokens/s): for a time
metric (TPOT, TTFT) the rate is its inverse, so a negative error means chipfit predicts slower
than measured. Decode rows are `decode_tps`, `tpot` and whole-request `throughput`; prefill
rows are `ttft` and `prefill_tps`. Rows marked `*` are held out (never fitted on, and never
used for a cap or a reference clock): the Apple M2 family (the Apple fit used M1 chips only:
the M2 rows test the clock scaling of the per-layer cost), Llama-3-70B (fitted on 7-13B
models), the newer llama.cpp CUDA scoreboard, the Jetson Orin Nano MLC rows (no Jetson or MLC
row was fitted: they use the pooled `all/generic` factors), the rknn-llm rows of TinyLlama-1.1B and
Phi-3-mini on the RK3588 and RK3576 (the rule in `benchmarks/fit_llm.py`: the rknn-llm fit used the
other four models), and three rows whose note says why.

### Decode tokens/s

{md_table(["rows", "n", "median abs error", "p90 abs error"], dec)}

### Prefill tokens/s (TTFT)

{md_table(["rows", "n", "median abs error", "p90 abs error"], pre)}

### Fitted factors

memory: fraction of DRAM bandwidth streamed; matrix: fraction of the dense peak of matrix
products; overhead: µs per layer per step (launches, small kernels, host work) at the fit's
reference clock, the median clock of its rows' chips. A fixed cost is a number of clock cycles,
so a chip whose unit lists a clock pays

    per-layer cost = min(overhead, cap) × reference clock / chip clock

(a chip without a clock in the database pays the figure at the reference clock, and its
prediction says so). The cap is the most fixed time the fastest fit row leaves: for each fit row,
the per-layer cost at which chipfit predicts it exactly with the rated bandwidth and peak
(memory = matrix = 1), brought to the reference clock; the smallest of these. The fit searches the
overhead at or below it. Errors are in-sample, with the 5-fold cross-validated median in
brackets (each fold with the cap of its own training rows).

{md_table(["class/engine", "memory", "matrix", "overhead µs", "cap µs (row)", "at a grid edge", "decode error (cv)", "prefill error (cv)", "rows"], fit_rows)}

Where each cap comes from:

{caps}

Factors at an end of their grid, and why the grid is not widened there:

{edge_text}

### Rows

{md_table(head, rows)}
"""
    return text, [head] + rows, dec, pre


def local_section() -> tuple[str, list[list[str]], list[list[str]]]:
    """This machine's own measurements against the predictions: (markdown, rows, summary)."""
    from chipfit.calibration.calibrate import read_rows
    from chipfit.core.units import duration
    from chipfit.data.chips import database

    cases, pred = local_cases()
    raw = read_rows(LOCAL_CSV)
    chip = database([LOCAL_CHIP]).get("this-machine")[0].chip
    head = ["row", "model", "batch", "runs", "measured median", "p90", "predicted", "error"]
    rows, groups = [], defaultdict(list)
    for c in cases:
        p = pred.predict(c)
        r = raw[c.row - 1]
        rows.append([c.id + ("" if c.role == "fit" else "*"), c.model.removeprefix("validation_models:"),
                     str(c.batch), r["runs"], duration(c.measured), duration(float(r["p90_s"])),
                     duration(p.predicted), f"{100 * p.error:+.1f}%"])
        groups["all rows"].append(p.abs_pct)
        groups[f"{c.role} rows"].append(p.abs_pct)
    summary = _stats(groups)
    peaks = ", ".join(f"{k} {v.value * 1e3:.4g} G{'OPS' if k == 'int8' else 'FLOP/s'}" for k, v in chip.dense.items())
    versions = sorted({r["versions"] for r in raw})
    text = f"""## This machine (`chipfit measure`, onnxruntime on a probed CPU)

{chip.name}: `chipfit probe` measured {peaks}, memory {chip.memory_bandwidth_gbps.value:g} GB/s
(`benchmarks/local/this-machine.yaml`). Every model ran with `chipfit measure MODEL` ({', '.join(versions)},
fp32, all threads, warm-up then at least 5 s of timed runs in a fresh process; measured
{raw[0]['date']} by `python benchmarks/measure_local.py`) and is predicted as `chipfit check` predicts
it, with the built-in `cpu` efficiency class. That class was fitted on the rows without `*`
(one per kind of op mix); rows marked `*` are held out.

{md_table(["rows", "n", "median abs error", "p90 abs error"], summary)}

{md_table(head, rows)}

The error scatter of small models is partly the machine's: a 2-core VM, where the same model's
median moved by up to 2x between two runs of the script on the same day (mobilenet_v3_small: 2.6 ms,
then 1.3 ms).
"""
    return text, [head] + rows, summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-write", action="store_true", help="do not rewrite VALIDATION.md")
    ap.add_argument("--out", default=str(ROOT / "VALIDATION.md"))
    args = ap.parse_args()
    cf = load_cases()
    pred = predictor()
    preds = [pred.predict(c) for c in cf.cases]
    head = ["case", "hardware", "model", "metric", "batch", "measured", "predicted", "error"]
    rows = []
    for p in preds:
        c = p.case
        rows.append([c.id + ("" if c.role == "fit" else "*"), c.hardware.split("(")[0].strip()[:38],
                     c.measured_model[:34], f"{c.metric} ({_unit(c)})", str(c.batch),
                     num(c.measured), num(p.predicted), f"{100 * p.error:+.1f}%"])
    groups: dict[str, list[float]] = defaultdict(list)
    for p in preds:
        groups["all rows"].append(p.abs_pct)
        groups[f"{p.case.role} rows"].append(p.abs_pct)
        groups["class " + "+".join(sorted(pred.classes(p.case)))].append(p.abs_pct)
    summary = _stats(groups)

    print_table([head] + rows)
    print()
    print_table([["rows", "n", "median |error|", "p90 |error|"]] + summary)
    local_md, local_rows, local_summary = local_section()
    print()
    print_table(local_rows)
    print_table([["rows", "n", "median |error|", "p90 |error|"]] + local_summary)
    llm_md, llm_rows, llm_dec, llm_pre = llm_section()
    print()
    print_table(llm_rows)
    for what, stats in (("LLM decode tokens/s", llm_dec), ("LLM prefill tokens/s", llm_pre)):
        print(f"\n{what}")
        print_table([["rows", "n", "median |error|", "p90 |error|"]] + stats)
    if args.no_write:
        return
    import torch

    eff = efficiency_file()
    text = f"""# Validation: chipfit's predictions against published measurements

Regenerated by `python benchmarks/validate.py` (do not edit by hand). {datetime.date.today().isoformat()},
chipfit {__version__}, torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()}.

Every measured row of `benchmarks/data/measured_public.csv` that chipfit can express is predicted with the
built-in chip database and the efficiency factors of `src/chipfit/data/efficiency.yaml` (fitted
{eff.date} by `benchmarks/fit_efficiency.py`). Rows marked `*` are **held out**: no factor was
fitted on them. The others were used to fit their class's factors, so their error is in-sample;
the leave-one-out error of each fit is in `efficiency.yaml` and below.

## Summary

{md_table(["rows", "n", "median abs error", "p90 abs error"], summary)}

Leave-one-out (each fit row predicted by a fit without it):
{chr(10).join(f"- {k}: median {v.residual.loo_median_abs_pct} % over {v.residual.n} rows" for k, v in eff.classes.items() if v.residual)}

## Rows

{md_table(head, rows)}

How each row is predicted (model, chip unit, precision, batch, fusion) is in
`benchmarks/validation_cases.yaml`.

## Rows not predicted, and why

{md_table(["row", "model", "reason"], [[str(n['row']), str(n['model']), n['reason']] for n in cf.not_predicted])}

{local_md}
{llm_md}"""
    text = _keep_edge_block(text, args.out)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(f"\nwrote {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
