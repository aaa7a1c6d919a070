"""Efficiency of LLM inference engines per chip class: fitted data, not code.

An LLM step (a prefill or one decode step) is priced by the per-op roofline of
:mod:`chipfit.analysis.roofline` with three fitted numbers per (efficiency class, engine):

- ``decode_memory``: the fraction of DRAM bandwidth the engine streams weights and the KV
  cache at (what bounds decode);
- ``prefill_gemm``: the fraction of the dense peak its matrix products reach (what bounds
  prefill, and decode at large batches);
- ``layer_overhead_s``: fixed time per layer per step (kernel launches, small kernels, framework
  work on the host), which no roofline shows and which dominates small models on fast chips.

**The per-layer cost scales with the clock.** A fixed cost is a number of clock cycles, not a
number of seconds: ``layer_overhead_s`` is stated at the fit's ``reference_clock_mhz`` (the
median clock of the chips it was fitted on), and a chip whose unit lists a clock (``clock_mhz`` in
the chip database) pays::

    per-layer cost = min(layer_overhead_s, layer_overhead_cap_s) × reference clock / chip clock

A chip without a clock pays the figure at the reference clock, and the prediction says so.

**The cap.** ``layer_overhead_cap_s`` (at the reference clock) is the most fixed time the
fastest of the fit's rows leaves: for each fit row, the per-layer cost at which chipfit would
predict that row exactly with the rated bandwidth and peak (``decode_memory = prefill_gemm = 1``)
is (measured time − roofline time at the rated figures) / (layers × steps), brought to the
reference clock by × row's chip clock / reference clock; the cap is the smallest of these. The
fit searches the cost below it (``cap_basis`` names the row), so no fitted cost makes a measured
row slower than its chip's rated figures allow.

``benchmarks/fit_llm.py`` fits them on the LLM rows of ``benchmarks/data/measured_public.csv`` and
writes ``llm_efficiency.yaml`` with the rows used and the residual error. A lookup falls back
from (class, engine) to (class, ``generic``), then to (``all``, engine) and (``all``,
``generic``), and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field

from chipfit.core.datafile import load
from chipfit.core.errors import ChipfitError
from chipfit.data.efficiency import Residual

#: Inference engines with a fitted entry, and what each name means.
ENGINES: dict[str, str] = {
    "generic": "all engines measured on the chip class, pooled",
    "hf": "Hugging Face transformers, eager PyTorch (generate)",
    "tinychat": "TinyChat (AWQ W4A16 kernels, MIT Han lab)",
    "tensorrt-llm": "NVIDIA TensorRT-LLM",
    "llama.cpp": "llama.cpp (GGUF; CUDA or Metal backend)",
    "mlc": "MLC-LLM (TVM-compiled kernels)",
    "rknn-llm": "Rockchip RKLLM runtime (airockchip/rknn-llm; w8a8 = int8 matrices on the RKNPU)",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: The grid each factor is fitted on (searched on a log scale). ``decode_memory`` and
#: ``prefill_gemm`` are fractions of the rated bandwidth and peak, so they stop at 1;
#: ``layer_overhead_s`` stops at the fit's cap where that is lower.
FACTOR_RANGE: dict[str, tuple[float, float]] = {
    "prefill_gemm": (0.02, 1.0), "decode_memory": (0.05, 1.0), "layer_overhead_s": (1e-7, 3e-3)}

#: Why a factor at the top of its grid is not searched above it (said in VALIDATION.md and in
#: ``--explain``).
EDGE_WHY = {
    "decode_memory": "the rated DRAM bandwidth: a factor above 1 would stream the weights faster than the "
                     "memory delivers them (these models' weights are far larger than any on-chip cache), so the "
                     "grid stops there; the rows ask for the rated figure or more with the per-layer cost the fit "
                     "kept, and what they ask beyond it stays in their error",
    "prefill_gemm": "the rated dense peak: a factor above 1 would multiply faster than the chip can, so the grid "
                    "stops there",
    "layer_overhead_s": "the cap: the fit row that leaves the least fixed time allows no more, so the grid stops "
                        "there; the group's slower rows would take more, a difference between their chips or "
                        "setups that the clock does not explain, and it stays in their error",
}


class LLMFit(_Strict):
    efficiency_class: str
    engine: str
    decode_memory: float = Field(gt=0, le=1)
    prefill_gemm: float = Field(gt=0, le=1)
    layer_overhead_s: float = Field(ge=0)          # per layer per step, at reference_clock_mhz
    reference_clock_mhz: float | None = Field(default=None, gt=0)  # None: not scaled by the clock
    layer_overhead_cap_s: float | None = Field(default=None, ge=0)  # at reference_clock_mhz
    cap_basis: str | None = None                   # the row the cap comes from, with its numbers
    basis: str
    fitted_on: list[str] = Field(default_factory=list)
    chips: list[str] = Field(default_factory=list)   # the chips of the rows fitted on
    decode_residual: Residual | None = None
    prefill_residual: Residual | None = None


class LLMEfficiencyFile(_Strict):
    generated_by: str
    date: str
    method: str
    fits: list[LLMFit] = Field(min_length=1)


@dataclass(frozen=True)
class LLMEfficiency:
    """The factors one LLM prediction uses, and where they came from."""

    decode_memory: float
    prefill_gemm: float
    layer_overhead_s: float  # per layer per step on the chip priced (after :func:`on_chip`), else at the reference clock
    efficiency_class: str   # the class asked for
    engine: str             # the engine asked for
    fit: str                # 'class/engine' of the entry used
    basis: str
    decode_residual: Residual | None = None
    prefill_residual: Residual | None = None
    fallback: str = ""      # why another entry was used, '' if the exact one exists
    chips: tuple[str, ...] = ()  # the chips of the rows the factors (and their errors) come from
    fit_overhead_s: float = 0.0          # the fitted per-layer cost, at the reference clock
    reference_clock_mhz: float | None = None
    overhead_cap_s: float | None = None  # at the reference clock
    cap_basis: str = ""
    clock_mhz: float | None = None       # the clock of the unit priced (after on_chip)
    overhead_derivation: str = ""        # how layer_overhead_s was obtained, in words and numbers
    edges: tuple[str, ...] = ()          # factors at an end of their grid, and why

    @property
    def overhead_capped(self) -> bool:
        """Whether the per-layer cost sits at its cap (an end of its grid)."""
        return self.overhead_cap_s is not None and self.fit_overhead_s >= 0.999 * self.overhead_cap_s


@lru_cache(maxsize=1)
def llm_efficiency_file() -> LLMEfficiencyFile:
    text = resources.files(__package__).joinpath("llm_efficiency.yaml").read_text(encoding="utf-8")
    return load(LLMEfficiencyFile, text, "built-in llm_efficiency.yaml")


#: the engine a weight format belongs to (a GGUF quantization runs in llama.cpp, q4f16_1 in
#: MLC-LLM): ``engine="auto"`` picks it, and generic for every other precision (w4a16, int8, fp16
#: run in many engines)
FORMAT_ENGINES = {"q8_0": "llama.cpp", "q4_0": "llama.cpp", "q4_k_m": "llama.cpp", "q4f16_1": "mlc"}


#: Engines whose matrix kernels run at a faster peak than the workload precision's listed one,
#: on the efficiency classes where they do (their backend), and why. llama.cpp's CUDA backend
#: multiplies fp16 matrices with cuBLAS in FP16 accumulation (``CUBLAS_COMPUTE_16F`` in
#: ggml/src/ggml-cuda/ggml-cuda.cu) and block-quantized ones with int8 dot products on int8
#: tensor cores from Turing on (``ggml_cuda_should_use_mmq``, ggml/src/ggml-cuda/mmq.cu); on
#: NVIDIA parts both run at the FP16-accumulate rate or twice it, so its matrix factor is taken
#: against the FP16-accumulate peak, which on GeForce cards is twice the listed
#: FP32-accumulate one. TinyChat 2.0 prefills with W4A16 FP16-accumulate GEMM kernels (as its
#: published measurements state).
FP16_ACCUMULATE_ENGINES: dict[str, frozenset[str]] = {
    "llama.cpp": frozenset({"nvidia-gpu", "nvidia-jetson-gpu"}),
    "tinychat": frozenset({"nvidia-gpu", "nvidia-jetson-gpu"}),
}


def matrix_peak(unit, compute: str, engine: str) -> tuple[float, str | None]:
    """The dense ``compute`` peak (TOPS) ``engine``'s matrix kernels run at on ``unit``, and a
    note when it is not the listed one."""
    listed = unit.peaks(False)[compute]
    fast = unit.fp16_accumulate.get(compute)
    if fast is None or unit.efficiency_class not in FP16_ACCUMULATE_ENGINES.get(engine, ()):
        return listed.value, None
    return fast.value, (f"{engine} accumulates {compute} matrix products in FP16 on this chip: priced at its "
                        f"FP16-accumulate peak {fast.value:g} TOPS, not the FP32-accumulate {listed.value:g}")


def check_engine(engine: str) -> str:
    key = str(engine).strip().lower()
    if key not in ENGINES:
        raise ChipfitError(f"unknown engine '{engine}'; choose one of: auto, {', '.join(ENGINES)}")
    return key


def engine_for(engine: str, precision: str) -> tuple[str, str | None]:
    """(the engine to price, a note saying why when ``auto`` picked it from the format)."""
    if str(engine).strip().lower() != "auto":
        return check_engine(engine), None
    picked = FORMAT_ENGINES.get(precision, "generic")
    if picked == "generic":
        return picked, None
    return picked, (f"engine {picked}: the engine of the {precision} format ({ENGINES[picked]}); set `engine` "
                    f"to price another")


def lookup(efficiency_class: str, engine: str = "generic",
           fits: LLMEfficiencyFile | None = None) -> LLMEfficiency:
    """The factors for ``engine`` on a unit of ``efficiency_class``, with fallbacks."""
    engine = check_engine(engine)
    table = {(f.efficiency_class, f.engine): f for f in (fits or llm_efficiency_file()).fits}
    for cls, eng in ((efficiency_class, engine), (efficiency_class, "generic"), ("all", engine),
                     ("all", "generic")):
        fit = table.get((cls, eng))
        if fit is None:
            continue
        why = ""
        if (cls, eng) != (efficiency_class, engine):
            why = (f"no LLM measurements of {ENGINES[engine] if engine != 'generic' else 'any engine'} "
                   f"on class '{efficiency_class}': using the {cls}/{eng} fit")
        eff = LLMEfficiency(fit.decode_memory, fit.prefill_gemm, fit.layer_overhead_s, efficiency_class,
                            engine, f"{cls}/{eng}", fit.basis, fit.decode_residual, fit.prefill_residual, why,
                            tuple(fit.chips), fit_overhead_s=fit.layer_overhead_s,
                            reference_clock_mhz=fit.reference_clock_mhz, overhead_cap_s=fit.layer_overhead_cap_s,
                            cap_basis=fit.cap_basis or "", edges=tuple(grid_edges(fit)))
        return on_chip(eff, None)
    raise ChipfitError("llm_efficiency.yaml has no 'all/generic' entry to fall back on")


def scaled_overhead(overhead_s: float, reference_mhz: float | None, clock_mhz: float | None,
                    cap_s: float | None = None) -> float:
    """The per-layer cost on a chip at ``clock_mhz`` of a cost ``overhead_s`` stated at
    ``reference_mhz``: ``min(overhead_s, cap_s) × reference_mhz / clock_mhz`` (unscaled when
    either clock is unknown)."""
    value = min(overhead_s, cap_s) if cap_s is not None else overhead_s
    if reference_mhz and clock_mhz:
        value *= reference_mhz / clock_mhz
    return value


def on_chip(eff: LLMEfficiency, clock_mhz: float | None) -> LLMEfficiency:
    """``eff`` with its per-layer cost for a unit at ``clock_mhz`` (None: no clock known), and
    the derivation of that cost in words and numbers."""
    ref, cap = eff.reference_clock_mhz, eff.overhead_cap_s
    value = scaled_overhead(eff.fit_overhead_s, ref, clock_mhz, cap)
    us = lambda s: f"{s * 1e6:.3g} µs"  # noqa: E731
    base = min(eff.fit_overhead_s, cap) if cap is not None else eff.fit_overhead_s
    if ref and clock_mhz:
        text = (f"{us(value)} = {us(base)} at {ref:g} MHz × {ref:g} / {clock_mhz:g} MHz (the clock of the unit "
                f"priced): a fixed number of clock cycles per layer")
    elif ref:
        text = (f"{us(value)}: the fit's figure at its reference clock {ref:g} MHz, not scaled (this unit has no "
                f"clock in the database)")
    else:
        text = f"{us(value)}: the fit's figure, not scaled (its rows' chips have no clock in the database)"
    if cap is not None:
        text += (f"; cap {us(cap)} at {ref:g} MHz" if ref else f"; cap {us(cap)}") + (
            f", from the fit row that leaves the least fixed time: {eff.cap_basis}" if eff.cap_basis else "")
    return replace(eff, layer_overhead_s=value, clock_mhz=clock_mhz, overhead_derivation=text)


def grid_edges(fit: LLMFit) -> list[str]:
    """The factors of ``fit`` at an end of their grid, each with why the grid ends there."""
    out = []
    for name in ("decode_memory", "prefill_gemm"):
        lo, hi = FACTOR_RANGE[name]
        value = getattr(fit, name)
        if value >= 0.999 * hi:
            out.append(f"{name} {value:g} is at the top of its grid, {EDGE_WHY[name]}")
        elif value <= 1.001 * lo:
            out.append(f"{name} {value:g} is at the bottom of its grid ({lo:g})")
    cap = fit.layer_overhead_cap_s
    if cap is not None and fit.layer_overhead_s >= 0.999 * cap:
        out.append(f"layer_overhead_s {fit.layer_overhead_s * 1e6:.3g} µs is at {EDGE_WHY['layer_overhead_s']}")
    return out
