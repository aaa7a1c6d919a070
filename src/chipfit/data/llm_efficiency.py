"""Efficiency of LLM inference engines per chip class: fitted data, not code.

An LLM step (a prefill or one decode step) is priced by the per-op roofline of
:mod:`chipfit.analysis.roofline` with three fitted numbers per (efficiency class, engine):

- ``decode_memory``: the fraction of DRAM bandwidth the engine streams weights and the KV
  cache at (what bounds decode);
- ``prefill_gemm``: the fraction of the dense peak its matrix products reach (what bounds
  prefill, and decode at large batches);
- ``layer_overhead_s``: fixed time per layer per step (kernel launches, framework work on the
  host), which no roofline shows and which dominates small models on fast chips.

``benchmarks/fit_llm.py`` fits them on the LLM rows of ``benchmarks/data/measured_public.csv`` and
writes ``llm_efficiency.yaml`` with the rows used and the residual error. A lookup falls back
from (class, engine) to (class, ``generic``), then to (``all``, engine) and (``all``,
``generic``), and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
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
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LLMFit(_Strict):
    efficiency_class: str
    engine: str
    decode_memory: float = Field(gt=0, le=1)
    prefill_gemm: float = Field(gt=0, le=1)
    layer_overhead_s: float = Field(ge=0)
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
    layer_overhead_s: float
    efficiency_class: str   # the class asked for
    engine: str             # the engine asked for
    fit: str                # 'class/engine' of the entry used
    basis: str
    decode_residual: Residual | None = None
    prefill_residual: Residual | None = None
    fallback: str = ""      # why another entry was used, '' if the exact one exists
    chips: tuple[str, ...] = ()  # the chips of the rows the factors (and their errors) come from


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
        return LLMEfficiency(fit.decode_memory, fit.prefill_gemm, fit.layer_overhead_s, efficiency_class,
                             engine, f"{cls}/{eng}", fit.basis, fit.decode_residual, fit.prefill_residual, why,
                             tuple(fit.chips))
    raise ChipfitError("llm_efficiency.yaml has no 'all/generic' entry to fall back on")
