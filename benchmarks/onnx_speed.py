"""Compare chipfit's ONNX frontend with onnx-tool and onnx-opcounter: seconds, MACs, params.

    python benchmarks/onnx_speed.py [--models resnet50,vit_b_16,...] [--runs 3]
                                    [--dir /tmp/chipfit-onnx-bench] [--markdown]

The script exports its own models into --dir (reused when already there): torchvision
resnet50, mobilenet_v3_large, efficientnet_b0 and vit_b_16 on one 1x3x224x224 image, and
gpt2 / bert-base built from their transformers configs (random weights, nothing downloaded)
on input_ids of shape 1x128, returning last_hidden_state. Each model is exported twice:
``<name>_legacy.onnx`` by the TorchScript exporter (opset 17, weights inline) and
``<name>_dynamo.onnx`` by the dynamo exporter (opset 18, weights in ``<name>_dynamo.onnx.data``).

Every tool runs on every file --runs times in this process; each run loads the file from
disk and counts, and the table shows the median. Every file is read once before timing so
that all tools find it in the OS page cache. The tools:

* chipfit: ``chipfit.frontends.onnx.walk.read(path)``; reads neither the external data (the
  .data file is only stat'ed) nor the weight bytes stored inline (it parses a skeleton of the
  protobuf read over a memory map). MACs are multiply-accumulates of matmul-like
  ops (Conv, Gemm, MatMul, attention products), as torchvision's published _ops figures.
* onnx-tool 1.0.1: ``onnx_tool.Model(path)`` then, like ``onnx_tool.model_profile``,
  ``graph_reorder_nodes(); shape_infer(); profile(exclude_ops=NoMacsOps)``; MACs are
  ``graph.macs[0]`` (forward). Loads all weights (external data included). It prices
  elementwise ops too, with weights per element (Add/Mul/Relu 1, Div 4, Sqrt 24, Exp 32,
  Sigmoid 36, Tanh 38, Softmax 36 ...) and adds the bias of Gemm/MatMul/Conv, so it lands
  above chipfit, far above on SiLU/Swish nets. Its params are the initializers read by the
  ops it profiles, so weights read only by NoMacsOps (Gather: embedding tables) are not
  counted. Shape inference computes values with numpy and has no rule for some ops
  (IsNaN, which transformers 5 puts in its attention masks): those files fail.
* onnx-opcounter 0.0.4: ``calculate_macs(onnx.load(path))`` and ``calculate_params``
  (every initializer element, scalars included). Shapes come from onnx shape inference
  (strict, data_prop); an unknown dim is read as 0, which zeroes the ops downstream
  (legacy exports: BERT's batch dim goes symbolic after the mask arithmetic, so nearly all
  its MatMuls count 0; GPT-2 loses attn @ V and c_proj the same way). Conv: output
  elements x Cin/group x kernel (no bias); ConvTranspose uses the same formula, so it is
  counted from the output side (stride^2 times too high); Gemm/MatMul: input elements x
  last output dim; BatchNormalization 2, Relu and Add 1 per element; Resize 'linear' 11 per
  output element; shape ops 0; and every op it does not know (Mul, Sigmoid, Softmax,
  LayerNormalization, pooling, Identity ...) 1 MAC per output element, with a print.
  If shape inference raises, it saves '+all-intermediate.onnx' to the working directory
  and runs onnxruntime, so it runs here in a temporary directory.

A tool's exception becomes 'n/a' plus a short reason; the error column is
(tool MACs - chipfit MACs) / chipfit MACs. At the end chipfit's ViT-B/16 times are checked
against 1 s (dynamo file: weights external; legacy file: ~350 MB of weights inline).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from importlib.metadata import version
from pathlib import Path

VISION = ["resnet50", "mobilenet_v3_large", "efficientnet_b0", "vit_b_16"]
MODELS = VISION + ["gpt2", "bert"]
EXPORTERS = {"legacy": dict(dynamo=False, opset_version=17), "dynamo": dict(dynamo=True, opset_version=18)}
TOOLS = ["chipfit", "onnx-tool", "onnx-opcounter"]
SEQ = 128
SLOW_S = 60  # a tool run slower than this is not repeated


# ----------------------------------------------------------------------------- export
def build(name: str):
    """(module, example args) of one model."""
    import torch

    if name in VISION:
        import torchvision

        return getattr(torchvision.models, name)().eval(), (torch.zeros(1, 3, 224, 224),)
    import transformers

    transformers.logging.set_verbosity_error()
    if name == "gpt2":  # without the mask the legacy exporter fails on aten::diff (transformers 5)
        model = transformers.GPT2Model(transformers.GPT2Config())
        extra = lambda ids: {"attention_mask": torch.ones_like(ids), "use_cache": False}  # noqa: E731
    else:
        model = transformers.BertModel(transformers.BertConfig())
        extra = lambda ids: {}  # noqa: E731

    class LastHidden(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model.eval()

        def forward(self, input_ids):
            return self.model(input_ids=input_ids, **extra(input_ids)).last_hidden_state

    return LastHidden(), (torch.zeros(1, SEQ, dtype=torch.long),)


def export(name: str, exporter: str, folder: Path) -> Path:
    """``folder/<name>_<exporter>.onnx``, exported unless already there."""
    path = folder / f"{name}_{exporter}.onnx"
    data = path.with_name(path.name + ".data")
    if path.exists() and (exporter == "legacy" or data.exists()):
        return path
    import torch

    # The legacy exporter cannot export MHA's fused fast path (aten::_native_multi_head_attention);
    # no torch.no_grad() either, for the same reason.
    torch.backends.mha.set_fastpath_enabled(False)
    print(f"exporting {path.name} ...", file=sys.stderr, flush=True)
    model, args = build(name)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:  # a crash leaves no half-written file
        part = Path(tmp) / path.name
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(model, args, str(part), **EXPORTERS[exporter])
        if part.with_name(part.name + ".data").exists():
            os.replace(part.with_name(part.name + ".data"), data)
        os.replace(part, path)
    return path


# ----------------------------------------------------------------------------- tools
def run_chipfit(path: Path) -> tuple[int, int, str]:
    from chipfit.frontends.onnx.walk import read

    g = read(path)
    return g.macs, g.params, "; ".join(g.notes)


def run_onnx_tool(path: Path) -> tuple[int, int, str]:
    import onnx_tool

    with contextlib.redirect_stdout(io.StringIO()):
        g = onnx_tool.Model(str(path), {"verbose": False}).graph
        g.graph_reorder_nodes()
        g.shape_infer()
        g.profile(exclude_ops=onnx_tool.NoMacsOps)
    return int(round(g.macs[0])), int(g.params), ""


def run_opcounter(path: Path) -> tuple[int, int, str]:
    import onnx
    from onnx_opcounter import calculate_macs, calculate_params

    printed = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp, contextlib.chdir(tmp), contextlib.redirect_stdout(printed):
        model = onnx.load(str(path))
        macs, params = int(calculate_macs(model)), int(calculate_params(model))
    unknown = printed.getvalue().count("Unsupported op:")
    return macs, params, f"{unknown} op types unknown: 1 MAC/output element" if unknown else ""


RUNNERS = {"chipfit": run_chipfit, "onnx-tool": run_onnx_tool, "onnx-opcounter": run_opcounter}


def measure(tool: str, path: Path, runs: int) -> dict:
    """Median seconds over ``runs`` calls (one if the first is slower than SLOW_S), or the error."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                macs, params, note = RUNNERS[tool](path)
        except Exception as exc:
            text = (str(exc).strip().splitlines() or [""])[0]
            return {"error": f"{type(exc).__name__}: {text}"[:90]}
        times.append(time.perf_counter() - start)
        if times[-1] > SLOW_S:
            note = f"1 run (> {SLOW_S} s); " + note
            break
    return {"seconds": statistics.median(times), "macs": macs, "params": params, "note": note}


# ----------------------------------------------------------------------------- report
def size_mb(path: Path) -> float:
    data = path.with_name(path.name + ".data")
    return (path.stat().st_size + (data.stat().st_size if data.exists() else 0)) / 1e6


def warm_cache(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".data")):
        if p.exists():
            with open(p, "rb") as f:
                while f.read(1 << 24):
                    pass


def cells(r: dict, ref: dict | None) -> list[str]:
    if "error" in r:
        return ["-", "n/a", "n/a", "n/a", "failed: " + r["error"]]
    if ref is None or "error" in ref:
        err = "-" if ref is None else "n/a"
    elif r["macs"] == ref["macs"]:
        err = "exact"
    else:
        err = f"{(r['macs'] - ref['macs']) / ref['macs']:+.2%}"
    return [f"{r['seconds']:.3f}", f"{r['macs']:,}", f"{r['params']:,}", err, r["note"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {', '.join(MODELS)}")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per tool and file (median shown)")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "chipfit-onnx-bench")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if unknown := set(models) - set(MODELS):
        parser.error(f"unknown model(s) {', '.join(sorted(unknown))}; choose from {', '.join(MODELS)}")
    args.dir.mkdir(parents=True, exist_ok=True)
    files = [export(m, e, args.dir) for m in models for e in EXPORTERS]

    for module in ("onnx", "onnx_tool", "onnx_opcounter", "chipfit.frontends.onnx.walk"):
        with contextlib.suppress(ImportError):  # imports are not timed; a missing peer fails its rows
            __import__(module)
    headers = ["file (MB)", "tool", "seconds", "MACs", "params", "MACs vs chipfit", "note"]
    rows, results = [], {}
    for path in files:
        print(f"timing {path.name} ...", file=sys.stderr, flush=True)
        warm_cache(path)
        ref = None
        for tool in TOOLS:
            r = results[path.stem, tool] = measure(tool, path, args.runs)
            rows.append([f"{path.name} ({size_mb(path):,.0f})", tool, *cells(r, ref)])
            if tool == "chipfit":
                ref = r

    libs = {lib: version(lib) for lib in ("chipfit", "onnx", "onnx-tool", "onnx_opcounter", "torch")}
    print("\n" + ", ".join(f"{k} {v}" for k, v in libs.items())
          + f", python {platform.python_version()}, {os.cpu_count()} CPUs; median of {args.runs} run(s), "
          f"each loading the file; models in {args.dir}\n")
    if args.markdown:
        print("| " + " | ".join(headers) + " |\n|---|---|---:|---:|---:|---:|---|")
        for row in rows:
            print("| " + " | ".join(c.replace("|", "/") for c in row) + " |")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*headers)
        for col in table.columns[2:6]:
            col.justify = "right"
        for i, row in enumerate(rows):
            table.add_row(*row, end_section=(i % len(TOOLS) == len(TOOLS) - 1))
        Console(width=max(160, Console().width)).print(table)

    if "vit_b_16" in models:
        vit = {e: results[f"vit_b_16_{e}", "chipfit"] for e in EXPORTERS}
        if any("error" in r for r in vit.values()):
            print("\nchipfit failed on ViT-B/16: " + "; ".join(r.get("error", "") for r in vit.values()))
        else:
            worst = max(r["seconds"] for r in vit.values())
            print(f"\nchipfit on ViT-B/16: {vit['dynamo']['seconds']:.3f} s (dynamo export, weights in .onnx.data), "
                  f"{vit['legacy']['seconds']:.3f} s (legacy export, "
                  f"{size_mb(args.dir / 'vit_b_16_legacy.onnx'):,.0f} MB with weights inline): "
                  + ("under 1 s." if worst < 1 else "NOT under 1 s."))


if __name__ == "__main__":
    main()
