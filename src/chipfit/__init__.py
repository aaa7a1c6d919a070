"""chipfit: how much compute and bandwidth a neural network needs, and whether a chip runs it.

Public API::

    import chipfit
    r = chipfit.count("resnet18")            # or an nn.Module with input_shape=(1, 3, 224, 224)
    r.macs, r.flops, r.params, r.layers, r.to_dict(), r.to_pandas()
    v = chipfit.check("resnet18", "jetson-orin-nano-8gb", fps=30, precision="int8")
    v.sufficient, v.margin_tops, v.latency_s, v.max_fps, v.limiting, v.explain()
    chipfit.rank("resnet18", fps=30, precision="int8", by="power").ranked
    chipfit.chips(category="edge")
    t = chipfit.llm("llama-2-7b", "rtx-4090", prompt=512, output=128, precision="w4a16")
    t.ttft_s, t.tpot_s, t.decode_tokens_per_s, t.memory_fits, t.max_batch, t.explain()
    p = chipfit.plan("examples/speech_to_speech.yaml", chip="jetson-agx-orin-64gb")
    p.sufficient, p.limiting, p.utilization, p.memory_bytes, p.latency_loaded_s, p.stages, p.explain()
    chipfit.rank_plan("examples/multi_camera.yaml", category="edge").ranked
    w = chipfit.whatif("resnet50", "rk3588", fps=300)        # precision, batch, input, sparsity, pruning, lighter
    w.fitting(), w.choice(), w.options, w.to_dict()
    m = chipfit.measure("resnet18", runtime="onnxruntime")   # real timing in a fresh process
    m.median_s, m.p90_s, m.achieved_tops, m.predicted_s, m.error
    chipfit.probe()                                          # this machine's matmul and memory rates
    chipfit.calibrate("this-machine", "rows.csv").calibration  # efficiencies fitted to measurements

    @chipfit.register_torch_op("mylib::scaled_gemm", kind="matmul")   # a formula for your own op
    def scaled_gemm(a, b, *, out):
        return chipfit.Cost(macs=a[0] * a[1] * b[1])
"""

from chipfit.analysis.check import CheckResult, check
from chipfit.analysis.count import CountResult, count
from chipfit.analysis.llm import LLMResult, LLMSweep, llm
from chipfit.analysis.plan import PlanRank, PlanResult, plan, rank_plan
from chipfit.analysis.rank import RankResult, rank
from chipfit.analysis.whatif import WhatIfResult, whatif
from chipfit.calibration.calibrate import CalibrationResult, calibrate
from chipfit.core.costgraph import CostGraph, ModuleRow, Op
from chipfit.core.errors import ChipfitError, MissingDependency
from chipfit.core.precision import PRECISIONS, Precision, get_precision
from chipfit.core.version import VERSION
from chipfit.data.chips import chips
from chipfit.frontends.costs import Cost
from chipfit.frontends.registry import register_onnx_op, register_torch_op
from chipfit.measure.probe import ProbeResult, probe
from chipfit.measure.timing import MeasureResult, measure

__version__ = VERSION

__all__ = [
    "CheckResult", "ChipfitError", "CostGraph", "CountResult", "LLMResult", "LLMSweep", "MissingDependency",
    "ModuleRow", "Op", "PlanRank", "PlanResult", "llm", "plan", "rank_plan",
    "PRECISIONS", "Precision", "RankResult", "check", "chips", "count", "get_precision", "rank",
    "CalibrationResult", "MeasureResult", "ProbeResult", "calibrate", "measure", "probe", "__version__",
    "WhatIfResult", "whatif", "Cost", "register_onnx_op", "register_torch_op",
]
