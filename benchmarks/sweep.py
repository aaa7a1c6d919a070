"""Sweep speed: 1,000 model × sequence × batch × phase cases through the analytic builder,
beside tracing the same kind of case (chipfit --trace, and torch's FlopCounterMode on the
transformers model on the meta device) for a few of them.

    python benchmarks/sweep.py [--cases 1000] [--traced 6]

Prints one table. The analytic row must finish its 1,000 cases in under 2 s; Llama-3-70B
prefill (8,192 tokens) + decode (context 8,192) in under 50 ms.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import sys
import time

from chipfit import count
from chipfit.data import zoo

SEQS = (32, 64, 128, 256, 512, 768, 1024, 2048, 4096, 8192)
BATCHES = (1, 4, 16, 64)
PHASES = ("prefill", "decode")


def cases(n: int) -> list[tuple[str, int, int, str]]:
    llms = [e for e in zoo.entries("language") if e.frontend == "config" and e.config["model_type"] != "bert"]
    out = []
    for e, seq, batch, phase in itertools.product(llms, SEQS, BATCHES, PHASES):
        limit = e.config.get("max_position_embeddings") or e.config.get("n_positions")
        if limit is None or seq < limit:
            out.append((e.name, seq, batch, phase))
    if len(out) < n:
        sys.exit(f"only {len(out)} distinct cases; ask for fewer")
    return out[:n]


def run_analytic(todo) -> tuple[float, int]:
    t = time.perf_counter()
    total = 0
    for name, seq, batch, phase in todo:
        kw = dict(context=seq) if phase == "decode" else dict(seq_len=seq)
        total += count(name, phase=phase, batch=batch, **kw).macs
    return time.perf_counter() - t, total


def run_trace(todo) -> float:
    t = time.perf_counter()
    for name, seq, batch, phase in todo:
        kw = dict(context=seq) if phase == "decode" else dict(seq_len=seq)
        count(name, phase=phase, batch=batch, trace=True, **kw)
    return time.perf_counter() - t


def run_flop_counter(todo) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from chipfit.frontends.pytorch import hf

    t = time.perf_counter()
    for name, seq, batch, _ in todo:
        model = hf.build(zoo.lookup(name).config)
        ids = torch.zeros(batch, seq, dtype=torch.long, device="meta")
        with FlopCounterMode(display=False) as counter:
            model(input_ids=ids)
        counter.get_total_flops()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--traced", type=int, default=6, help="cases timed with the tracing peers")
    args = ap.parse_args()
    todo = cases(args.cases)
    count("gpt2")  # import and zoo loading out of the timings
    seconds, _ = run_analytic(todo)
    t = time.perf_counter()
    count("llama-3-70b", phase="prefill", seq_len=8192)
    count("llama-3-70b", phase="decode", context=8192)
    big = time.perf_counter() - t

    # the tracing peers on a spread of small cases (batch 1, up to 512 tokens: tracing a
    # 64 × 8,192 batch of a 72B model takes minutes)
    small = [c for c in todo if c[2] == 1 and c[1] <= 512 and c[3] == "prefill"]
    sample = small[:: max(1, len(small) // args.traced)][: args.traced]
    rows = [("chipfit (analytic)", len(todo), seconds)]
    try:
        rows.append(("chipfit --trace (transformers on meta)", len(sample), run_trace(sample)))
        rows.append(("torch FlopCounterMode (transformers on meta)", len(sample), run_flop_counter(sample)))
    except ImportError as exc:
        print(f"(tracing peers skipped: {exc})")
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; "
          f"{len(todo):,} cases: {len({c[0] for c in todo})} language models × {len(SEQS)} lengths × "
          f"{len(BATCHES)} batches × prefill/decode (first {len(todo):,})\n")
    print("| counter | cases | seconds | ms per case | 1,000 cases (s) |")
    print("|---|---:|---:|---:|---:|")
    for name, n, s in rows:
        print(f"| {name} | {n:,} | {s:.2f} | {1000 * s / n:.2f} | {s / n * 1000:.1f} |")
    print(f"\nLlama-3-70B prefill 8,192 tokens + decode at 8,192: {1000 * big:.1f} ms (target < 50 ms)")
    print(f"1,000 analytic cases: {seconds / len(todo) * 1000:.2f} s (target < 2 s)")


if __name__ == "__main__":
    main()
