"""The timing loop of ``chipfit measure``, run in a fresh process (``python -m chipfit.measure.worker``).

A runtime's thread pool (onnxruntime's, torch's OpenMP) slows down when another pool of the same
process has just run (measured here: ResNet-18 in onnxruntime took 75 ms right after torch ran
in the process, 23 ms alone), so every measurement runs in a process of its own that imports
only the runtime it times.

Protocol: one JSON object on stdin (the :class:`~chipfit.measure.timing.Plan` as a dict); on stdout one
line ``progress DONE TOTAL`` per timed run and, last, one line ``result {json}`` with the
seconds of every timed run, or ``error MESSAGE`` for a failure the user can fix.

The loop: warm-up runs until both ``warmup_runs`` runs and ``warmup_s`` seconds have passed
(first-run allocations, kernel selection, caches); then timed runs until both ``min_runs``
and ``min_time_s`` are reached, or ``max_time_s`` is (never fewer than 3 runs).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Callable

from chipfit.measure.export import real_module


def _loop(run: Callable[[], Any], plan: dict, sync: Callable[[], None] = lambda: None) -> list[float]:
    clock = time.perf_counter
    start, n = clock(), 0
    while n < plan["warmup_runs"] or clock() - start < plan["warmup_s"]:
        run()
        n += 1
    sync()
    times: list[float] = []
    began = clock()
    estimate = plan["min_runs"]
    while True:
        t0 = clock()
        run()
        sync()
        times.append(clock() - t0)
        elapsed = clock() - began
        done = len(times) >= plan["min_runs"] and elapsed >= plan["min_time_s"]
        if len(times) >= 3 and (done or elapsed >= plan["max_time_s"] or len(times) >= plan["max_runs"]):
            break
        # runs needed for min_time_s at the pace so far, for the progress bar
        estimate = min(plan["max_runs"], max(plan["min_runs"], int(plan["min_time_s"] / (elapsed / len(times))) + 1))
        print(f"progress {len(times)} {max(estimate, len(times) + 1)}", flush=True)
    return times


def _feeds(inputs: list[dict], make) -> dict:
    return {i["name"]: make(i["shape"], i["dtype"]) for i in inputs}


def run_onnxruntime(plan: dict) -> dict:
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = plan["threads"]
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    providers = ["CUDAExecutionProvider"] if plan["device"] == "cuda" else ["CPUExecutionProvider"]
    if plan["device"] == "cuda" and "CUDAExecutionProvider" not in ort.get_available_providers():
        raise UserError("this onnxruntime has no CUDA execution provider (install onnxruntime-gpu)")
    sess = ort.InferenceSession(plan["path"], opts, providers=providers)
    rng = np.random.default_rng(0)

    def make(shape, dtype):
        if dtype.startswith("int") or dtype == "bool":
            return np.zeros(shape, dtype=dtype)
        return rng.standard_normal(shape).astype(dtype)

    feeds = _feeds(plan["inputs"], make)
    times = _loop(lambda: sess.run(None, feeds), plan)
    return {"times": times, "runtime_version": ort.__version__, "providers": sess.get_providers()}


def run_torch(plan: dict) -> dict:
    import torch

    torch.set_num_threads(plan["threads"])
    device = plan["device"]
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError("torch sees no CUDA device here")
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[plan["dtype"]]
    module, args, kwargs = real_module(plan["model"], input_shape=plan.get("input_shape"),
                                       seq_len=plan.get("seq_len"), batch=plan["batch"], device=device)
    module = module.to(dtype)
    args = tuple(a.to(dtype) if a.is_floating_point() else a for a in args)
    kwargs = {k: (v.to(dtype) if hasattr(v, "is_floating_point") and v.is_floating_point() else v)
              for k, v in kwargs.items()}

    def run():
        with torch.inference_mode():
            module(*args, **kwargs)

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    times = _loop(run, plan, sync)
    return {"times": times, "runtime_version": torch.__version__,
            "providers": [torch.cuda.get_device_name() if device == "cuda" else "cpu"]}


class UserError(Exception):
    """A failure the user can fix (reported as one sentence)."""


def main() -> int:
    plan = json.loads(sys.stdin.read())
    runner = {"onnxruntime": run_onnxruntime, "torch": run_torch}[plan["runtime"]]
    try:
        out = runner(plan)
    except UserError as exc:
        print(f"error {exc}", flush=True)
        return 2
    except ImportError as exc:
        print(f"error {plan['runtime']} is not installed ({exc.name}): pip install {exc.name}", flush=True)
        return 2
    print("result " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
