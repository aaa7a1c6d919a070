"""Several units of one chip running copies at once: ``--chip ID:all`` and ``ID:gpu+dla``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from chipfit import check
from chipfit.analysis.check import Together
from chipfit.core.errors import ChipfitError

ROOT = Path(__file__).resolve().parent.parent


def test_throughputs_add_up_and_the_shared_dram_caps_them():
    # a GPU at 1,000/s moving 50 GB/s and two DLAs at 300/s each moving 20 GB/s: 1,600/s asking 90 GB/s
    t = Together([("gpu", 1, 1000.0, 50e9), ("dla", 2, 300.0, 20e9)], bandwidth_gbps=200.0)
    assert t.demand_gbps == pytest.approx(90) and t.dram_scale == 1.0 and t.throughput_fps == pytest.approx(1600)
    # with 60 GB/s of DRAM they get 60/90 of it
    capped = Together(t.units, bandwidth_gbps=60.0)
    assert capped.dram_scale == pytest.approx(60 / 90) and capped.throughput_fps == pytest.approx(1600 * 60 / 90)
    assert Together(t.units, bandwidth_gbps=None).throughput_fps == pytest.approx(1600)  # unknown: no cap


def test_all_units_equal_the_validation_prediction_of_the_mlperf_offline_row():
    """VALIDATION.md's row mp-1 (MLPerf Offline, ResNet-50 on the GPU and both DLAs, batch 64)."""
    pytest.importorskip("torchvision")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _cases import load_cases, predictor

    case = next(c for c in load_cases().cases if c.id == "mp-1")
    expected = predictor().predict(case).predicted
    r = check("resnet50", "jetson-agx-orin-64gb:all", fps=1, precision="int8", batch=64)
    assert r.throughput_fps == pytest.approx(expected, rel=1e-9)
    parts = {u: (n, fps) for u, n, fps, _ in r.together.units}
    assert set(parts) == {"gpu", "dla"} and parts["dla"][0] == 2
    # the same as naming the units, and more than the GPU alone
    named = check("resnet50", "jetson-agx-orin-64gb:gpu+dla", fps=1, precision="int8", batch=64)
    assert named.throughput_fps == pytest.approx(r.throughput_fps)
    alone = check("resnet50", "jetson-agx-orin-64gb:gpu", fps=1, precision="int8", batch=64)
    assert r.throughput_fps == pytest.approx(parts["gpu"][1] + 2 * parts["dla"][1])
    assert r.throughput_fps > alone.throughput_fps == pytest.approx(parts["gpu"][1])


def test_the_cli_takes_all_and_says_what_ran(run_cli):
    rc, out, err = run_cli("check", "resnet50", "--chip", "jetson-agx-orin-64gb:all", "--batch", "64",
                           "--fps", "1000", "--json")
    d = json.loads(out)
    assert rc == (0 if d["verdict"] == "SUFFICIENT" else 1), err
    assert d["together"]["throughput_fps"] == d["throughput_fps"] > d["max_fps"]
    assert "each run their own copies" in d["notes"][0]


def test_a_unit_the_chip_lacks_is_one_sentence():
    with pytest.raises(ChipfitError, match="has no unit 'npu'"):
        check("resnet50", "jetson-agx-orin-64gb:gpu+npu", fps=1)


def test_all_units_where_one_has_the_precision_is_that_unit_named():
    """An RK3588 has an int8 peak on its NPU alone: ``rk3588:all`` at int8 is ``rk3588:npu``, with its
    published row and its carry from the runtime's other chips, and no sum of one unit."""
    together_, named = check("yolov8n", "rk3588:all", fps=30), check("yolov8n", "rk3588:npu", fps=30)
    assert together_.together is None and together_.unit.id == "npu"
    assert together_.verdict_basis == named.verdict_basis == "measured_elsewhere"
    assert together_.verdict_fps == pytest.approx(named.verdict_fps)
