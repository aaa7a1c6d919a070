"""Counting on meta allocates no weights: Llama-2-70B (69 B parameters, 276 GB in fp32)
counts at 4096 tokens with almost no memory of its own, measured in a fresh process.

The process total is dominated by libraries: importing a CUDA build of torch maps 725-800 MB
(a CPU build about 210 MB) and transformers' modelling code about 220 MB more. So the test
bounds what the 70B count adds over a warmed-up process, and everything chipfit adds on top
of ``import torch`` (transformers included) at half a gigabyte.
"""

import json
import subprocess
import sys

import pytest

pytest.importorskip("transformers", reason="needs transformers")

CHILD = """
import json, resource
def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
import torch
torch_mb = peak_mb()
import chipfit
chipfit.count("gpt2", seq_len=8)          # imports and warms up everything counting needs
baseline = peak_mb()
r = chipfit.count("llama-2-70b", seq_len=4096)
print(json.dumps({"macs": r.macs, "params": r.params, "torch_mb": torch_mb, "baseline_mb": baseline,
                  "peak_mb": peak_mb()}))
"""


def test_llama_2_70b_counts_without_allocating_weights():
    p = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert result["macs"] == 303_439_439_462_400 and result["params"] == 68_976_648_192
    assert result["peak_mb"] - result["baseline_mb"] < 128, result   # the count itself
    assert result["peak_mb"] - result["torch_mb"] < 512, result      # chipfit + transformers
