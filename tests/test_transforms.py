"""The model transformations a widely shared hand estimate describes, applied for real with torch and recounted.

Dynamic quantization (``torch.ao.quantization.quantize_dynamic``): int8 Linear weights, the same
MACs, 4x fewer weight bytes than fp32. Pruning (``torch.nn.utils.prune``): the zeros are reported,
the MACs and the predicted time do not change (dense hardware multiplies zeros too).
"""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
prune = pytest.importorskip("torch.nn.utils.prune")

import chipfit  # noqa: E402


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 10))


def test_dynamic_quantization_stores_int8_linear_weights():
    fp = _mlp()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = torch.ao.quantization.quantize_dynamic(_mlp(), {nn.Linear}, dtype=torch.qint8)
    x = torch.randn(1, 512)
    a = chipfit.count(fp, inputs=x, device="cpu")
    b = chipfit.count(q, inputs=x, device="cpu")
    # by hand: 512·1024 + 1024·10 MACs; weights 512·1024 + 1024 + 1024·10 + 10 elements
    assert a.macs == b.macs == 512 * 1024 + 1024 * 10
    assert a.params == b.params == 512 * 1024 + 1024 + 1024 * 10 + 10
    assert b.unsupported_ops == {}
    linears = [op for op in b.layers if op.kind == "linear"]
    assert len(linears) == 2 and all(op.weight_bits == 8 and op.op == "quantized::linear_dynamic" for op in linears)
    assert a.weight_bytes == 4 * b.weight_bytes     # the hand estimate's "4x fewer weight bytes" (fp32 -> int8)
    assert b.weight_bytes == a.params               # one byte per weight element


def test_quantized_module_on_meta_says_to_use_the_cpu(run_cli_process, tmp_path, monkeypatch):
    (tmp_path / "qmods.py").write_text(
        "import torch\n"
        "def q():\n"
        "    m = torch.nn.Sequential(torch.nn.Linear(16, 8))\n"
        "    return torch.ao.quantization.quantize_dynamic(m, {torch.nn.Linear}, dtype=torch.qint8)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    rc, out, err = run_cli_process("count", "qmods:q", "-i", "1,16")  # imports the user's module: a fresh process
    assert rc == 2 and "--device cpu" in err and err.count("\n") == 1, err
    rc, out, err = run_cli_process("count", "qmods:q", "-i", "1,16", "--device", "cpu", "--json")
    assert rc == 0, err
    import json

    d = json.loads(out)
    assert d["macs"] == 16 * 8 and d["params"] == 16 * 8 + 8 and d["weight_bytes"] == 16 * 8 + 8


def test_unstructured_pruning_reports_zeros_and_no_speed_up():
    base = _mlp()
    pruned = _mlp()
    prune.l1_unstructured(pruned[0], "weight", amount=0.5)
    x = torch.randn(1, 512)
    a = chipfit.count(base, inputs=x)
    b = chipfit.count(pruned, inputs=x)
    # the mask multiply (weight_orig * weight_mask) is folded like any op on weights alone
    assert (b.macs, b.flops, b.params, b.weight_bytes) == (a.macs, a.flops, a.params, a.weight_bytes)
    [w] = b.sparse_weights
    assert w == {"name": "0.weight", "elements": 512 * 1024, "zeros": 512 * 1024 // 2, "sparsity": 0.5,
                 "pruned": True}
    assert any("no speed-up" in n for n in b.notes)
    # the same predicted time on a dense chip: pruning without structure does not speed it up
    ca = chipfit.check(a, "jetson-orin-nano-8gb", fps=30, precision="fp16")
    cb = chipfit.check(b, "jetson-orin-nano-8gb", fps=30, precision="fp16")
    assert cb.latency_s == ca.latency_s
    prune.remove(pruned[0], "weight")                 # made permanent: zeros in the plain weight
    c = chipfit.count(pruned, inputs=x)
    assert c.sparse_weights[0]["zeros"] == 512 * 1024 // 2 and c.sparse_weights[0]["pruned"] is False
    assert c.macs == a.macs


def test_structured_pruning_zeros_channels_but_keeps_the_shapes():
    conv = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1))
    prune.ln_structured(conv[2], "weight", amount=0.5, n=2, dim=0)   # half the output channels
    r = chipfit.count(conv, input_shape=(1, 3, 32, 32))
    assert r.macs == 32 * 32 * (16 * 3 * 9 + 32 * 16 * 9)             # dense: the shapes did not change
    [w] = r.sparse_weights
    assert w["zeros"] == 16 * 16 * 9 and w["sparsity"] == 0.5


def test_docs_transformations_example_runs_verbatim():
    """The what-if page's quantize_dynamic + prune example, executed as written (its asserts are the test)."""
    import pathlib
    import re

    page = pathlib.Path(__file__).resolve().parents[1] / "docs" / "commands" / "whatif.md"
    section = page.read_text(encoding="utf-8").split("## Transformations applied for real", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "quantize_dynamic" in code and "prune.l1_unstructured" in code
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, "whatif.md", "exec"), {"__name__": "docs_example"})
