"""Fit the LLM engine efficiencies on the published LLM measurements: writes
src/chipfit/data/llm_efficiency.yaml.

    python benchmarks/fit_llm.py            # fit, print, rewrite the yaml
    python benchmarks/fit_llm.py --dry-run  # fit and print only

For every (chip class, engine) with ``fit`` rows in benchmarks/llm_cases.yaml, and pooled per
class (``generic``) and over all classes (``all``), coordinate descent (golden-section line
searches on a log scale) finds
(decode_memory, prefill_gemm, layer_overhead_s) minimising the mean |log(predicted /
measured)| of the group's rows (robust to the odd outlier). A factor no row of the group
depends on (prefill_gemm with decode rows only) is borrowed from the pooled fit. Each fit is
cross-validated: k-fold (k = min(n, 5)) refits, each predicting the rows it left out.
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
from pathlib import Path
from statistics import median

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from chipfit.calibration.llm_fit import LLMCase, LLMCaseFile, rate_error, retime, run  # noqa: E402
from chipfit.core.datafile import load_path  # noqa: E402
from chipfit.core.errors import ChipfitError  # noqa: E402
from chipfit.core.stats import percentile  # noqa: E402
from chipfit.data.efficiency import Residual  # noqa: E402
from chipfit.data.llm_efficiency import ENGINES, LLMEfficiencyFile, LLMFit  # noqa: E402

CASES = HERE / "llm_cases.yaml"
OUT = ROOT / "src" / "chipfit" / "data" / "llm_efficiency.yaml"

#: Search range of each factor (gemm, memory, overhead s/layer), searched on a log scale.
_RANGE = {0: (0.02, 1.0), 1: (0.05, 1.0), 2: (1e-7, 3e-3)}
_GOLD = (math.sqrt(5) - 1) / 2


def load_cases() -> LLMCaseFile:
    return load_path(LLMCaseFile, CASES)


def prepare(cases: list[LLMCase]):
    """Run every case once (the rooflines are kept for re-timing); cases whose model or chip
    chipfit cannot express are reported and skipped."""
    ready = []
    for c in cases:
        try:
            ready.append((c, run(c)))
        except ChipfitError as exc:
            print(f"  skipped {c.id}: {exc}", file=sys.stderr)
    return ready


def loss(rows, p) -> float:
    return sum(abs(math.log(retime(c, r, *p) / c.measured)) for c, r in rows) / len(rows)


def abs_pct(c: LLMCase, r, p) -> float:
    """|error| in % of the predicted rate (tokens/s), as benchmarks/validate.py reports it."""
    return abs(rate_error(c, retime(c, r, *p))) * 100


def _line(rows, p: list, k: int) -> tuple[float, float]:
    """Golden-section search of factor ``k`` on a log scale (overhead: also tries zero)."""
    lo, hi = (math.log(v) for v in _RANGE[k])

    def f(x: float) -> float:
        q = list(p)
        q[k] = math.exp(x)
        return loss(rows, q)

    a, b = lo, hi
    c, d = b - _GOLD * (b - a), a + _GOLD * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(18):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - _GOLD * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + _GOLD * (b - a)
            fd = f(d)
    best, val = (math.exp(c), fc) if fc < fd else (math.exp(d), fd)
    if k == 2:
        q = list(p)
        q[2] = 0.0
        zero = loss(rows, q)
        if zero <= val:
            best, val = 0.0, zero
    return best, val


def search(rows, start, free) -> tuple[float, float, float]:
    """Coordinate descent: each free factor in turn, until the loss stops falling."""
    p = list(start)
    best = loss(rows, p)
    for _ in range(5):
        before = best
        for k in free:
            v, val = _line(rows, p, k)
            if val < best:
                p[k], best = v, val
        if before - best < 1e-5:
            break
    return (round(p[0], 4), round(p[1], 4), float(f"{p[2]:.3g}"))


def free_params(rows) -> tuple[int, ...]:
    prefill = any(c.metric in ("ttft", "prefill_tps", "throughput") or c.batch > 8 for c, _ in rows)
    return ((0,) if prefill else ()) + (1, 2)


def residual(errs: list[float], cv: list[float] | None) -> Residual | None:
    if not errs:
        return None
    return Residual(n=len(errs), median_abs_pct=round(median(errs), 2),
                    p90_abs_pct=round(percentile(errs, 90), 2),
                    cv_median_abs_pct=round(median(cv), 2) if cv else None)


def fit_group(rows, start):
    free = free_params(rows)
    p = search(rows, start, free)
    # k-fold cross-validation
    k = min(len(rows), 5)
    cv = {}
    if len(rows) > 2:
        for f in range(k):
            train = [x for i, x in enumerate(rows) if i % k != f]
            test = [x for i, x in enumerate(rows) if i % k == f]
            pf = search(train, p, free_params(train) if train else free)
            for c, r in test:
                cv[c.id] = abs_pct(c, r, pf)
    return p, free, cv


def clipped(p, free) -> str:
    """The free factors the fit left at the top of their range, said in the basis: the rows ask
    for the rated figure or more, so the fit is clipped there, not a measured 1.0."""
    names = {0: "prefill_gemm", 1: "decode_memory"}
    ends = [f"{names[k]} {p[k]:g}" for k in (0, 1) if k in free and p[k] >= 0.999 * _RANGE[k][1]]
    return (f"; at the top of its range: {', '.join(ends)} (the rows ask for the rated figure or more: the fit "
            f"is clipped there and the per-layer overhead takes the rest)") if ends else ""


def basis_text(cls: str, eng: str, n_decode: int, n_prefill: int, borrowed: str | None,
               left_out: int = 0) -> str:
    engines = ("every engine and chip class, pooled" if (cls, eng) == ("all", "generic")
               else f"{ENGINES[eng]}, every chip class" if cls == "all" else ENGINES[eng])
    if eng == "generic" and left_out:
        engines += f"; {left_out} rows of engines priced at a faster kernel peak (FP16 accumulation) left out"
    text = f"fitted on {n_decode} decode and {n_prefill} prefill rows of measured_public.csv ({engines})"
    if borrowed:
        text += f"; prefill_gemm from {borrowed} (no row depends on it)"
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    cf = load_cases()
    ready = [x for x in prepare(cf.cases) if x[0].role == "fit"]
    by_group: dict[tuple[str, str], list] = {}
    kept_out: dict[tuple[str, str], int] = {}
    for c, r in ready:
        cls = r.unit.efficiency_class
        # a row whose engine runs its matrices at another peak than the listed one (llama.cpp's
        # FP16 accumulation on GeForce) has its factor on another basis: kept out of the pools
        own_rate = r.peak_tops != r.unit.peaks(False)[r.precision.compute].value
        for key in ((cls, c.engine), (cls, "generic"), ("all", c.engine), ("all", "generic")):
            if own_rate and key[1] == "generic":
                kept_out[key] = kept_out.get(key, 0) + 1
            else:
                by_group.setdefault(key, []).append((c, r))
    order = sorted(by_group, key=lambda k: (k[0] != "all", k[1] != "generic", k))
    fits: list[LLMFit] = []
    done: dict[tuple[str, str], tuple] = {}
    for key in order:
        cls, eng = key
        rows = sorted(by_group[key], key=lambda x: x[0].row)
        if eng != "generic" and cls == "all" and len({r.unit.efficiency_class for _, r in rows}) == 1:
            continue  # the same rows as the class's own entry
        ids = [c.id for c, _ in rows]
        twin = next((f for f in fits if f.fitted_on == ids), None)
        if twin is not None:  # the same rows as an entry already fitted (one engine on the class)
            fits.append(twin.model_copy(update={"efficiency_class": cls, "engine": eng, "basis": twin.basis.replace(
                f"({ENGINES[twin.engine]})", f"({ENGINES[eng]}: the only engine measured on the class)")}))
            done[key] = (twin.prefill_gemm, twin.decode_memory, twin.layer_overhead_s)
            print(f"{cls + '/' + eng:28s} = {twin.efficiency_class}/{twin.engine} (the same rows)")
            continue
        borrow = done.get((cls, "generic")) or done.get(("all", eng)) or done.get(("all", "generic"))
        start = borrow or (0.5, 0.7, 5e-5)
        p, free, cv = fit_group(rows, start)
        done[key] = p
        dec = [abs_pct(c, r, p) for c, r in rows if c.phase == "decode"]
        pre = [abs_pct(c, r, p) for c, r in rows if c.phase == "prefill"]
        cv_dec = [v for (c, _), v in ((x, cv.get(x[0].id)) for x in rows) if v is not None and c.phase == "decode"]
        cv_pre = [v for (c, _), v in ((x, cv.get(x[0].id)) for x in rows) if v is not None and c.phase == "prefill"]
        borrowed = None if 0 in free else (
            "the class's pooled fit" if (cls, "generic") in done and key != (cls, "generic") else "the pooled fit")
        basis = basis_text(cls, eng, len(dec), len(pre), borrowed, kept_out.get(key, 0)) + clipped(p, free)
        fits.append(LLMFit(efficiency_class=cls, engine=eng, decode_memory=p[1], prefill_gemm=p[0],
                           layer_overhead_s=p[2], basis=basis, fitted_on=ids,
                           chips=sorted({c.chip for c, _ in rows}),
                           decode_residual=residual(dec, cv_dec), prefill_residual=residual(pre, cv_pre)))
        r_d, r_p = fits[-1].decode_residual, fits[-1].prefill_residual
        print(f"{cls + '/' + eng:28s} mem {p[1]:.3f} gemm {p[0]:.3f} overhead {p[2] * 1e6:7.1f} us/layer  "
              f"decode {r_d.median_abs_pct if r_d else '-'}% (cv {r_d.cv_median_abs_pct if r_d else '-'})  "
              f"prefill {r_p.median_abs_pct if r_p else '-'}% (cv {r_p.cv_median_abs_pct if r_p else '-'})  "
              f"n={len(rows)}")
    doc = LLMEfficiencyFile(
        generated_by="benchmarks/fit_llm.py", date=datetime.date.today().isoformat(),
        method=("per (chip class, engine), pooled per class ('generic') and over all classes ('all'): coordinate "
                "descent with golden-section line searches on a log scale over (decode_memory, prefill_gemm, "
                "layer_overhead_s) minimising the mean "
                "|log(predicted/measured)| over the group's fit rows of benchmarks/llm_cases.yaml; residuals "
                "split into decode rows (decode_tps, tpot, throughput) and prefill rows (ttft, prefill_tps); "
                "cv = k-fold cross-validation, k = min(n, 5)"),
        fits=fits)
    if args.dry_run:
        return
    text = ("# Written by benchmarks/fit_llm.py; do not edit by hand. Schema: chipfit/llm_efficiency.py\n"
            + yaml.safe_dump(doc.model_dump(exclude_none=True), sort_keys=False, width=110))
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
