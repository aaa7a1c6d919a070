"""Compare chipfit with other FLOP/MAC counters: MACs, error, seconds and peak memory.

    python benchmarks/count_speed.py [--models resnet50,vit_b_16,llama-2-7b,llama-2-70b]
                                     [--counters chipfit,torch,...] [--markdown-out FILE]

Every (model, counter) pair runs once in a fresh subprocess (this script re-invoked with
``--child MODEL COUNTER``), so peak RSS belongs to that one measurement. Only the counting
call is timed: the model and its inputs are built before the timer starts, except for the
``chipfit-string`` row, where building the model from its name is part of the call.
The report is Markdown, ready to paste into a README.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import version

TIMEOUT_S = 300
REPEAT_UNDER_S = 30  # a count faster than this is timed twice and the best time kept


def vit_b_16_macs() -> int:
    """ViT-B/16 at 224x224: 196 patches + 1 class token = 197 tokens, width 768, MLP 3072."""
    tokens, d, mlp = 197, 768, 3072
    patch_conv = 196 * d * (3 * 16 * 16)          # 115,605,504
    layer = (tokens * d * 3 * d                   # q, k, v projections   348,585,984
             + 2 * tokens * tokens * d            # q @ k^T and attn @ v   59,609,088
             + tokens * d * d                     # output projection     116,195,328
             + 2 * tokens * d * mlp)              # MLP 768->3072->768    929,562,624
    head = d * 1000                               # 768,000
    assert (patch_conv, layer, head) == (115_605_504, 1_453_954_560, 768_000)
    return patch_conv + 12 * layer + head


def llama_macs(layers: int, seq: int, hidden: int, inter: int, kv_width: int, vocab: int) -> int:
    """A Llama decoder on ``seq`` tokens, logits for every token (attention counted as S x S)."""
    per_layer = (2 * seq * hidden * hidden        # q and o projections
                 + 2 * seq * hidden * kv_width    # k and v projections (kv_width < hidden: GQA)
                 + 3 * seq * hidden * inter       # gate, up, down
                 + 2 * seq * seq * hidden)        # q @ k^T and attn @ v
    return layers * per_layer + seq * hidden * vocab


# ResNet-50 at 224x224: exact conv + fc MACs (also what forward hooks on Conv2d/Linear give);
# torchvision publishes the same figure rounded to 3 decimals (_ops = 4.089 GMACs).
RESNET50_MACS = 4_089_184_256
VIT_B_16_MACS = 17_563_828_224
LLAMA_2_7B_MACS = 14_630_806_093_824
LLAMA_2_70B_MACS = 303_439_439_462_400
assert vit_b_16_macs() == VIT_B_16_MACS
# 32 x (4*S*h^2 + 3*S*h*i + 2*S^2*h) + S*h*V, S=2048, h=4096, i=11008, V=32000
assert llama_macs(32, 2048, 4096, 11008, 4096, 32000) == LLAMA_2_7B_MACS
# 80 layers, 64 heads of 128, 8 kv heads: k and v are h x 1024; S=4096, h=8192, i=28672
assert llama_macs(80, 4096, 8192, 28672, 1024, 32000) == LLAMA_2_70B_MACS


@dataclass
class Workload:
    """A built model and the inputs of one forward pass (positional or keyword)."""

    model: object
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)


def build_vision(builder: str) -> Workload:
    import torch
    import torchvision

    model = getattr(torchvision.models, builder)().eval()
    return Workload(model, args=(torch.zeros(1, 3, 224, 224),))


def build_llama(hidden: int, inter: int, layers: int, heads: int, kv_heads: int, seq: int) -> Workload:
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    config = transformers.LlamaConfig(
        hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv_heads, vocab_size=32000,
        max_position_embeddings=4096, attn_implementation="sdpa")
    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(config).eval()
    return Workload(model, kwargs={"input_ids": torch.zeros(1, seq, dtype=torch.long, device="meta")})


@dataclass
class ModelSpec:
    name: str                # chipfit MODEL string
    build: object            # () -> Workload
    reference: int
    seq_len: int | None = None
    no_grad: bool = True


MODELS = {
    # Vision models run with autograd on, as the counters' own docs show; see vit_b_16/no_grad.
    "resnet50": ModelSpec("resnet50", lambda: build_vision("resnet50"), RESNET50_MACS, no_grad=False),
    "vit_b_16": ModelSpec("vit_b_16", lambda: build_vision("vit_b_16"), VIT_B_16_MACS, no_grad=False),
    "vit_b_16/no_grad": ModelSpec("vit_b_16", lambda: build_vision("vit_b_16"), VIT_B_16_MACS),
    "llama-2-7b": ModelSpec("llama-2-7b", lambda: build_llama(4096, 11008, 32, 32, 32, 2048),
                            LLAMA_2_7B_MACS, 2048),
    "llama-2-70b": ModelSpec("llama-2-70b", lambda: build_llama(8192, 28672, 80, 64, 8, 4096),
                             LLAMA_2_70B_MACS, 4096),
}


def count_chipfit(w: Workload) -> int:
    import chipfit

    return chipfit.count(w.model, inputs=w.kwargs or w.args).macs


def count_chipfit_string(name: str, seq_len: int | None) -> int:
    import chipfit

    return chipfit.count(name, seq_len=seq_len, trace=True).macs  # traced, like the other rows


def count_torch(w: Workload) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as mode:
        w.model(*w.args, **w.kwargs)
    return mode.get_total_flops() // 2


def count_fvcore(w: Workload) -> int:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(w.model, w.args + tuple(w.kwargs.values()))
    return int(analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).total())


class Reported(Exception):
    """A failure a counter printed instead of raising; the text is already 'Error: message'."""


def count_ptflops(w: Workload, backend: str) -> int:
    from ptflops import get_model_complexity_info

    first = (w.args + tuple(w.kwargs.values()))[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # ptflops prints its exceptions and returns None
        macs, _ = get_model_complexity_info(
            w.model, tuple(first.shape[1:]), input_constructor=lambda _: w.kwargs or first,
            as_strings=False, print_per_layer_stat=False, backend=backend)
    if macs is None:  # it printed "<class 'pkg.Error'>: message"
        reason = printed.getvalue().split("exception:")[-1].strip().splitlines()[0]
        raise Reported(re.sub(r"<class '(?:\w+\.)*(\w+)'>", r"\1", reason))
    return int(macs)


def count_calflops(w: Workload) -> int:
    from calflops import calculate_flops

    _, macs, _ = calculate_flops(model=w.model, args=list(w.args), kwargs=dict(w.kwargs),
                                 output_as_string=False, print_results=False, print_detailed=False)
    return int(macs)


COUNTERS = {
    "chipfit": ("chipfit (prebuilt module)", count_chipfit),
    "chipfit-string": ("chipfit (MODEL string, build timed)", None),
    "torch": ("torch FlopCounterMode", count_torch),
    "fvcore": ("fvcore", count_fvcore),
    "ptflops-aten": ("ptflops (aten backend)", lambda w: count_ptflops(w, "aten")),
    "ptflops-pytorch": ("ptflops (pytorch backend)", lambda w: count_ptflops(w, "pytorch")),
    "calflops": ("calflops", count_calflops),
}


def short_reason(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    return (line if isinstance(exc, Reported) else f"{type(exc).__name__}: {line}")[:240]


def timed(fn) -> tuple[float, int]:
    start = time.perf_counter()
    macs = fn()
    return time.perf_counter() - start, macs


def measure(model: str, counter: str) -> dict:
    """In the child: build, then time the count (best of 2 if fast). Stdout chatter is swallowed."""
    import torch

    spec = MODELS[model]
    with contextlib.redirect_stdout(io.StringIO()), torch.set_grad_enabled(not spec.no_grad):
        try:
            if counter == "chipfit-string":
                run = lambda: count_chipfit_string(spec.name, spec.seq_len)  # noqa: E731
            else:
                workload = spec.build()
                run = lambda: COUNTERS[counter][1](workload)  # noqa: E731
            seconds, macs = timed(run)
            if seconds < REPEAT_UNDER_S:
                seconds = min(seconds, timed(run)[0])
            result = {"seconds": seconds, "macs": macs}
        except Exception as exc:
            result = {"error": short_reason(exc)}
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run_child(model: str, counter: str, timeout: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", model, counter]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout (> {timeout:g} s)"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return {"error": f"crashed: {tail[:120]}"}
    return json.loads(lines[-1])


def error_cell(macs: int, reference: int) -> str:
    if macs == reference:
        return "exact"
    return f"{100 * (macs - reference) / reference:+.3g}%"


def table_row(model: str, counter: str, r: dict) -> str:
    rss = f"{r['peak_rss_mb']:,.0f}" if "peak_rss_mb" in r else "-"
    if "error" in r:
        cells = ["-", rss, "failed: " + r["error"].replace("|", "/"), "-"]
    else:
        cells = [f"{r['seconds']:.2f}", rss, f"{r['macs']:,}", error_cell(r["macs"], MODELS[model].reference)]
    return "| " + " | ".join([model, COUNTERS[counter][0], *cells]) + " |"


def header() -> list[str]:
    from torchvision.models import ResNet50_Weights, ViT_B_16_Weights

    libs = ["torch", "torchvision", "transformers", "fvcore", "ptflops", "calflops"]
    tv = {"resnet50": ResNet50_Weights.IMAGENET1K_V2.meta["_ops"],
          "vit_b_16": ViT_B_16_Weights.IMAGENET1K_V1.meta["_ops"]}
    for name, gmacs in tv.items():
        assert round(MODELS[name].reference / 1e9, 3) == gmacs, f"{name}: reference disagrees with torchvision"
    return [
        "Versions: " + ", ".join(f"{lib} {version(lib)}" for lib in libs)
        + f", python {platform.python_version()}; {os.cpu_count()} CPU cores; everything runs on "
        "the CPU or the meta device.",
        "",
        "Each row is measured in its own fresh Python process. seconds: the counting call only (model "
        "and inputs are built before the timer, except in the MODEL-string row), best of 2 calls "
        f"when the first took under {REPEAT_UNDER_S} s, else one call. Peak RSS: ru_maxrss of that "
        "process, so it includes the interpreter, the imports and the model (real fp32 weights for "
        "the vision models, meta tensors for the Llamas).",
        "",
        "References (MACs, one forward pass, batch 1): "
        f"resnet50 {RESNET50_MACS:,} (exact conv+fc count; torchvision's _ops {tv['resnet50']} G is the same "
        f"figure rounded to 3 decimals); vit_b_16 {VIT_B_16_MACS:,} (analytic; torchvision _ops "
        f"{tv['vit_b_16']} G, rounded); llama-2-7b at 2048 tokens {LLAMA_2_7B_MACS:,} and llama-2-70b at "
        f"4096 tokens {LLAMA_2_70B_MACS:,} (analytic: projections, MLP, full S x S attention, LM head "
        "on every token; formulas in this script).",
        "",
    ]


LEGEND = [
    "",
    "Inputs: vision models are built on the CPU with random fp32 weights, fed one 1x3x224x224 "
    "tensor and counted with autograd on, as the counters' own docs do; `vit_b_16/no_grad` repeats "
    "ViT-B/16 under `torch.no_grad()`, where `nn.MultiheadAttention` takes its fused fast path. "
    "The Llamas are built on the meta device the way chipfit builds them (`LlamaForCausalLM`, sdpa "
    "attention, transformers defaults otherwise) and fed `input_ids` of shape 1xS under "
    "`torch.no_grad()`.",
    "",
    "How each figure became MACs: chipfit `CountResult.macs`; torch "
    "`FlopCounterMode.get_total_flops()` counts 2 FLOPs per MAC, so MACs = total // 2; fvcore "
    "`FlopCountAnalysis.total()` counts one \"flop\" per MAC (as is); ptflops "
    "`get_model_complexity_info(as_strings=False)` returns MACs (as is); calflops "
    "`calculate_flops(output_as_string=False)` returns (flops, macs, params): macs is used. Each "
    "counter prices only the ops it knows, so a negative error usually means skipped ops and a "
    "positive one ops it counts as MACs beyond matmul/conv (bias, norm, activation, pooling). "
    "\"failed\" cells give the exception the counter raised (ptflops prints it and returns None).",
]


def report(models: list[str], counters: list[str], timeout: float) -> str:
    lines = header() + [
        "| model | counter | seconds | peak RSS (MiB) | MACs | error vs reference |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for model in models:
        for counter in counters:
            print(f"running {model} / {counter} ...", file=sys.stderr, flush=True)
            lines.append(table_row(model, counter, run_child(model, counter, timeout)))
    return "\n".join(lines + LEGEND)


def csv_choice(valid):
    def parse(text: str) -> list[str]:
        items = [x.strip() for x in text.split(",") if x.strip()]
        unknown = [x for x in items if x not in valid]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(unknown)}; choose from {', '.join(valid)}")
        return items
    return parse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=csv_choice(MODELS), default=list(MODELS))
    parser.add_argument("--counters", type=csv_choice(COUNTERS), default=list(COUNTERS))
    parser.add_argument("--markdown-out", help="also write the report to this file")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per measurement")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "COUNTER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return
    start = time.perf_counter()
    text = report(args.models, args.counters, args.timeout)
    print(text)
    print(f"\nTotal run time: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    if args.markdown_out:
        with open(args.markdown_out, "w", encoding="utf-8") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
