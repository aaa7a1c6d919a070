"""The built-in torchvision networks ship traced: each stored cost graph equals a fresh trace, and
checking one at its default input imports no torch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chipfit.core.costgraph import CostGraph
from chipfit.data import zoo

NETWORKS = [e.name for e in zoo.entries() if e.frontend == "torchvision"]


def test_every_torchvision_network_of_the_zoo_ships_traced():
    assert len(NETWORKS) >= 10
    assert all(zoo.stored_graph(n) is not None for n in NETWORKS)
    assert zoo.stored_graph("llama-2-7b") is None and zoo.stored_graph("nope") is None


@pytest.mark.parametrize("name", NETWORKS)
def test_a_stored_graph_equals_a_fresh_trace(name):
    pytest.importorskip("torchvision")
    from chipfit.analysis.count import fresh_trace

    graph, notes, sparse = zoo.stored_graph(name)
    fresh, fresh_notes, fresh_sparse = fresh_trace(name)
    assert graph == fresh, f"{name}: run python tools/build_zoo_graphs.py"
    assert list(notes) == list(fresh_notes) and [dict(s) for s in sparse] == [dict(s) for s in fresh_sparse]


def test_the_data_round_trip_is_exact():
    graph = zoo.stored_graph("resnet18")[0]
    again = CostGraph.from_data(json.loads(json.dumps(graph.to_data())))
    assert again == graph and again.macs == graph.macs == 1_814_073_344  # torchvision's _ops: 1.81 GMACs
    with pytest.raises(ValueError, match="other op fields"):
        CostGraph.from_data({**graph.to_data(), "op_fields": ["name"]})


def test_check_of_a_built_in_network_imports_no_torch():
    code = ("import sys, chipfit; r = chipfit.check('resnet50', 'rk3588', fps=30); "
            "assert r.count.macs == 4_089_184_256, r.count.macs; "   # torchvision's _ops for ResNet-50: 4.09 GMACs
            "print(sorted(m for m in ('torch', 'torchvision', 'onnx', 'transformers') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "[]"


def test_another_input_is_traced_not_read():
    pytest.importorskip("torchvision")
    import chipfit

    small = chipfit.count("resnet18", input_shape=["1,3,112,112"])
    assert small.macs < zoo.stored_graph("resnet18")[0].macs
    assert chipfit.count("resnet18", input_shape=["1,3,224,224"]).graph == zoo.stored_graph("resnet18")[0]
