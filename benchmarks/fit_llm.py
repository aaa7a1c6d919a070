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

The per-layer cost is a number of clock cycles: it is fitted at the group's reference clock (the
median clock of its rows' chips) and each row pays it × reference clock / its chip's clock. It is
searched below a cap: the smallest, over the group's rows, of the per-layer cost at which the row
is predicted exactly at the rated figures (memory = matrix = 1), brought to the reference clock
(see chipfit.data.llm_efficiency). Held-out rows are chosen in benchmarks/llm_cases.yaml before
fitting and never enter a fit, a cap or a reference clock; for the engines of HELD_OUT_MODELS the
rule is written here and checked against the roles before any fit.

Rows on a chip with no clock in the database are kept out of the pools over all classes ('all'):
the pool's per-layer cost is stated at the median clock of its rows, and one row without a
clock would leave it unscaled for every class that falls back on it.
"""

from __future__ import annotations

import argparse
import datetime
import math
import sys
from pathlib import Path
from statistics import median, median_low

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from chipfit.calibration.llm_fit import (  # noqa: E402
    LLMCase,
    LLMCaseFile,
    clock_of,
    overhead_room,
    rate_error,
    retime,
    run,
)
from chipfit.core.datafile import load_path  # noqa: E402
from chipfit.core.errors import ChipfitError  # noqa: E402
from chipfit.core.stats import percentile  # noqa: E402
from chipfit.core.units import duration, num  # noqa: E402
from chipfit.data.efficiency import Residual  # noqa: E402
from chipfit.data.llm_efficiency import (  # noqa: E402
    ENGINES,
    FACTOR_RANGE,
    LLMEfficiencyFile,
    LLMFit,
    grid_edges,
    scaled_overhead,
)

CASES = HERE / "llm_cases.yaml"
OUT = ROOT / "src" / "chipfit" / "data" / "llm_efficiency.yaml"

#: Search range of each factor (gemm, memory, overhead s/layer), searched on a log scale; the
#: overhead's upper end is the group's cap where that is lower.
_RANGE = {0: FACTOR_RANGE["prefill_gemm"], 1: FACTOR_RANGE["decode_memory"], 2: FACTOR_RANGE["layer_overhead_s"]}
_GOLD = (math.sqrt(5) - 1) / 2

#: Held-out rule, fixed before fitting, per engine: every row of these models is held out (never
#: fitted on), on every chip. rknn-llm (airockchip/rknn-llm benchmark.md, RK3588 and RK3576 w8a8):
#: the 3rd and 6th of the six models chipfit expresses, in the table's order (Qwen2 0.5B, Qwen3
#: 0.6B, TinyLlama 1.1B, Qwen2.5 1.5B, Gemma2 2B, Phi3 3.8B): a small and the largest model, on
#: both chips; the other four models are fitted.
HELD_OUT_MODELS: dict[str, frozenset[str]] = {"rknn-llm": frozenset({"tinyllama-1.1b", "phi-3-mini"})}


def check_held_out(cases: list[LLMCase]) -> None:
    """Every case of an engine in HELD_OUT_MODELS has the role its rule gives it."""
    for c in cases:
        rule = HELD_OUT_MODELS.get(c.engine)
        if rule is not None and (c.role == "holdout") != (c.model in rule):
            raise SystemExit(f"{c.id}: role {c.role} breaks the held-out rule of {c.engine} (HELD_OUT_MODELS)")


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


def reference_clock(rows) -> float | None:
    """The clock (MHz) a group's per-layer cost is stated at: the median (low) of its rows' chip
    clocks; None when a row's chip has no clock (the cost is then not scaled)."""
    clocks = [clock_of(r) for _, r in rows]
    if not clocks or any(c is None for c in clocks):
        return None
    return median_low(clocks)


def predicted(c: LLMCase, r, p, ref: float | None = None) -> float:
    """The case's metric at factors ``p`` (gemm, memory, per-layer cost at ``ref`` MHz)."""
    return retime(c, r, p[0], p[1], scaled_overhead(p[2], ref, clock_of(r)))


def loss(rows, p, ref: float | None = None) -> float:
    return sum(abs(math.log(predicted(c, r, p, ref) / c.measured)) for c, r in rows) / len(rows)


def abs_pct(c: LLMCase, r, p, ref: float | None = None) -> float:
    """|error| in % of the predicted rate (tokens/s), as benchmarks/validate.py reports it."""
    return abs(rate_error(c, predicted(c, r, p, ref))) * 100


def _floor3(x: float) -> float:
    """``x`` rounded down to 3 significant digits."""
    v = float(f"{x:.3g}")
    if v > x:
        step = 10 ** (math.floor(math.log10(x)) - 2)
        v = float(f"{v - step:.3g}")
    return v


def cap_of(rows, ref: float | None):
    """The per-layer cost cap of a group at ``ref`` MHz (rounded down to 3 digits), the row it
    comes from and that row's room on its own chip: (cap_s, case, result, room_s), or None when
    no row leaves room."""
    best = None
    for c, r in rows:
        room = overhead_room(c, r)
        if room <= 0:
            continue  # faster than the rated figures allow even with no cost: bounds nothing
        at_ref = room * (clock_of(r) / ref if ref else 1.0)
        if best is None or at_ref < best[0]:
            best = (at_ref, c, r, room)
    if best is None:
        return None
    return (_floor3(best[0]),) + best[1:]


def cap_text(cap, ref: float | None) -> str:
    """The cap's derivation in words and numbers."""
    value, c, r, room = cap
    clock = clock_of(r)
    rated = retime(c, r, 1.0, 1.0, 0.0)
    show = (lambda v: duration(v)) if c.metric in ("tpot", "ttft") else (lambda v: f"{num(v)} tokens/s")  # noqa: E731
    text = (f"{c.id} ({c.hardware.split('(')[0].strip()}, {c.model} {c.precision}, {c.metric} at batch {c.batch}): "
            f"measured {show(c.measured)}, {show(rated)} at the rated figures with no per-layer cost; the gap is "
            f"{room * 1e6:.3g} µs per layer per step")
    if ref and clock:
        text += f" on its {clock:g} MHz chip, {value * 1e6:.3g} µs at {ref:g} MHz (rounded down)"
    return text


def _line(rows, p: list, k: int, ref: float | None = None, cap: float | None = None) -> tuple[float, float]:
    """Golden-section search of factor ``k`` on a log scale (overhead: also tries zero, and stays
    at or below ``cap``)."""
    lo_v, hi_v = _RANGE[k]
    if k == 2 and cap is not None:
        hi_v = cap
        lo_v = min(lo_v, cap / 10)
    lo, hi = math.log(lo_v), math.log(hi_v)

    def f(x: float) -> float:
        q = list(p)
        q[k] = math.exp(x)
        return loss(rows, q, ref)

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
        zero = loss(rows, q, ref)
        if zero <= val:
            best, val = 0.0, zero
    return best, val


def search(rows, start, free, ref: float | None = None, cap: float | None = None) -> tuple[float, float, float]:
    """Coordinate descent: each free factor in turn, until the loss stops falling; the per-layer
    cost is at ``ref`` MHz and never above ``cap``."""
    p = list(start)
    if cap is not None:
        p[2] = min(p[2], cap)
    best = loss(rows, p, ref)
    for _ in range(5):
        before = best
        for k in free:
            v, val = _line(rows, p, k, ref, cap)
            if val < best:
                p[k], best = v, val
        if before - best < 1e-5:
            break
    overhead = float(f"{p[2]:.3g}")
    if cap is not None:
        overhead = min(overhead, cap)
    return (round(p[0], 4), round(p[1], 4), overhead)


def free_params(rows) -> tuple[int, ...]:
    prefill = any(c.metric in ("ttft", "prefill_tps", "throughput") or c.batch > 8 for c, _ in rows)
    return ((0,) if prefill else ()) + (1, 2)


def residual(errs: list[float], cv: list[float] | None) -> Residual | None:
    if not errs:
        return None
    return Residual(n=len(errs), median_abs_pct=round(median(errs), 2),
                    p90_abs_pct=round(percentile(errs, 90), 2),
                    cv_median_abs_pct=round(median(cv), 2) if cv else None)


def fit_group(rows, start, ref: float | None = None):
    """Fit one group: (factors, free factors, cross-validated |error| per row, cap)."""
    free = free_params(rows)
    cap = cap_of(rows, ref)
    p = search(rows, start, free, ref, cap[0] if cap else None)
    # k-fold cross-validation: each fold's cap from its own training rows
    k = min(len(rows), 5)
    cv = {}
    if len(rows) > 2:
        for f in range(k):
            train = [x for i, x in enumerate(rows) if i % k != f]
            test = [x for i, x in enumerate(rows) if i % k == f]
            cap_f = cap_of(train, ref)
            pf = search(train, p, free_params(train) if train else free, ref, cap_f[0] if cap_f else None)
            for c, r in test:
                cv[c.id] = abs_pct(c, r, pf, ref)
    return p, free, cv, cap


def clipped(fit: LLMFit, free) -> str:
    """The free factors the fit left at an end of their grid, said in the basis (why each grid
    ends there is in chipfit.data.llm_efficiency.EDGE_WHY, shown by VALIDATION.md and --explain)."""
    names = {0: "prefill_gemm", 1: "decode_memory", 2: "layer_overhead_s"}
    ends = [e.split(" is ")[0] for e in grid_edges(fit)
            if any(e.startswith(names[k]) for k in free)]
    return f"; at an end of its grid: {', '.join(ends)}" if ends else ""


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
    check_held_out(cf.cases)
    ready = [x for x in prepare(cf.cases) if x[0].role == "fit"]
    by_group: dict[tuple[str, str], list] = {}
    kept_out: dict[tuple[str, str], int] = {}
    no_clock: dict[tuple[str, str], int] = {}
    for c, r in ready:
        cls = r.unit.efficiency_class
        # a row whose engine runs its matrices at another peak than the listed one (llama.cpp's
        # FP16 accumulation on GeForce) has its factor on another basis: kept out of the pools
        own_rate = r.peak_tops != r.unit.peaks(False)[r.precision.compute].value
        for key in ((cls, c.engine), (cls, "generic"), ("all", c.engine), ("all", "generic")):
            if own_rate and key[1] == "generic":
                kept_out[key] = kept_out.get(key, 0) + 1
            elif key[0] == "all" and clock_of(r) is None:
                no_clock[key] = no_clock.get(key, 0) + 1  # see the module docstring
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
        ref = reference_clock(rows)
        p, free, cv, cap = fit_group(rows, start, ref)
        done[key] = p
        dec = [abs_pct(c, r, p, ref) for c, r in rows if c.phase == "decode"]
        pre = [abs_pct(c, r, p, ref) for c, r in rows if c.phase == "prefill"]
        cv_dec = [v for (c, _), v in ((x, cv.get(x[0].id)) for x in rows) if v is not None and c.phase == "decode"]
        cv_pre = [v for (c, _), v in ((x, cv.get(x[0].id)) for x in rows) if v is not None and c.phase == "prefill"]
        borrowed = None if 0 in free else (
            "the class's pooled fit" if (cls, "generic") in done and key != (cls, "generic") else "the pooled fit")
        basis = basis_text(cls, eng, len(dec), len(pre), borrowed, kept_out.get(key, 0))
        if no_clock.get(key):
            basis += (f"; {no_clock[key]} rows of chips with no clock in the database left out (the pool's "
                      f"per-layer cost is stated at a reference clock)")
        if ref:
            basis += (f"; per-layer cost at {ref:g} MHz, the median clock of the rows' chips, and × {ref:g} / "
                      f"clock on any other chip")
        fit = LLMFit(efficiency_class=cls, engine=eng, decode_memory=p[1], prefill_gemm=p[0],
                     layer_overhead_s=p[2], reference_clock_mhz=ref,
                     layer_overhead_cap_s=cap[0] if cap else None, cap_basis=cap_text(cap, ref) if cap else None,
                     basis=basis, fitted_on=ids, chips=sorted({c.chip for c, _ in rows}),
                     decode_residual=residual(dec, cv_dec), prefill_residual=residual(pre, cv_pre))
        fits.append(fit.model_copy(update={"basis": basis + clipped(fit, free)}))
        r_d, r_p = fits[-1].decode_residual, fits[-1].prefill_residual
        print(f"{cls + '/' + eng:28s} mem {p[1]:.3f} gemm {p[0]:.3f} overhead {p[2] * 1e6:7.1f} us/layer "
              f"at {ref or 0:g} MHz (cap {cap[0] * 1e6 if cap else float('nan'):.1f})  "
              f"decode {r_d.median_abs_pct if r_d else '-'}% (cv {r_d.cv_median_abs_pct if r_d else '-'})  "
              f"prefill {r_p.median_abs_pct if r_p else '-'}% (cv {r_p.cv_median_abs_pct if r_p else '-'})  "
              f"n={len(rows)}")
    doc = LLMEfficiencyFile(
        generated_by="benchmarks/fit_llm.py", date=datetime.date.today().isoformat(),
        method=("per (chip class, engine), pooled per class ('generic') and over all classes ('all'): coordinate "
                "descent with golden-section line searches on a log scale over (decode_memory, prefill_gemm, "
                "layer_overhead_s) minimising the mean "
                "|log(predicted/measured)| over the group's fit rows of benchmarks/llm_cases.yaml; "
                "layer_overhead_s is at reference_clock_mhz (the median clock of the rows' chips), each row paying "
                "it x reference / its chip's clock, and searched at or below layer_overhead_cap_s (the smallest "
                "per-layer cost at which a fit row is predicted exactly at the rated figures); residuals "
                "split into decode rows (decode_tps, tpot, throughput) and prefill rows (ttft, prefill_tps); "
                "cv = k-fold cross-validation, k = min(n, 5), each fold with the cap of its own training rows"),
        fits=fits)
    if args.dry_run:
        return
    text = ("# Written by benchmarks/fit_llm.py; do not edit by hand. Schema: chipfit/llm_efficiency.py\n"
            + yaml.safe_dump(doc.model_dump(exclude_none=True), sort_keys=False, width=110))
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
