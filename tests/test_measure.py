"""chipfit measure / probe / calibrate: real timing of a tiny model, the report's arithmetic,
the probed chip file, calibration fitted and written without losing the user's text."""

import csv
import json
import math
from pathlib import Path

import pytest

import chipfit
from chipfit.calibration.calibrate import append_row, calibrate, cases_from_rows, read_rows, store
from chipfit.core.errors import ChipfitError
from chipfit.data.chips import database
from chipfit.data.chips.userfile import set_efficiency

pytest.importorskip("onnxruntime", reason="measuring needs onnxruntime (the [test] extra)")
pytest.importorskip("torchvision", reason="the measured models come from torchvision")

TINY = "tests.fixtures.models:tiny_cnn"

CHIP_FILE = """# my chips: a comment the tools must keep
vendor: Test
sources:
  s: {title: "a made-up chip for tests", date: "2026"}
chips:
  - id: testchip
    name: Test chip   # trailing comment
    category: cpu
    efficiency_class: cpu
    dense:
      fp32: {value: 0.5, source: s, flag: datasheet}
    memory_bandwidth_gbps: {value: 20, source: s, flag: datasheet}
  - id: twounits
    name: Two units
    category: edge
    units:
      - id: gpu
        name: GPU
        efficiency_class: nvidia-jetson-gpu
        dense:
          fp16: {value: 10, source: s, flag: datasheet}
      - id: dla
        name: DLA
        efficiency_class: nvidia-dla
        dense:
          int8: {value: 20, source: s, flag: datasheet}
    memory_bandwidth_gbps: {value: 100, source: s, flag: datasheet}
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def chip_file(tmp_path):
    p = tmp_path / "mine.yaml"
    p.write_text(CHIP_FILE, encoding="utf-8")
    return p


def _consistent(r, min_runs: int = 5):
    assert r.runs >= min_runs and len(r.times_s) == r.runs
    assert min(r.times_s) == r.min_s <= r.median_s <= r.max_s == max(r.times_s)
    assert r.median_s <= r.p90_s <= r.max_s
    assert r.achieved_tops == pytest.approx(r.count.flops / r.median_s / 1e12)
    assert r.achieved_gbps == pytest.approx(r.bytes_per_batch / r.median_s / 1e9)
    assert r.throughput_per_s == pytest.approx(r.batch / r.median_s)


@pytest.mark.parametrize("runtime", ["onnxruntime", "torch"])
def test_measures_a_tiny_model_for_real_and_the_report_is_consistent(runtime, chip_file):
    stages = []
    r = chipfit.measure(TINY, runtime=runtime, input_shape=["1,3,32,32"], min_runs=5, min_time_s=0.2,
                        warmup_s=0.1, chip="testchip", chips_files=[chip_file],
                        progress=lambda s, d, t: stages.append(s))
    _consistent(r)
    assert "timed runs" in stages
    # the count is the model's: conv 8*3*9*32*32 + linear 8*10 MACs
    assert r.count.macs == 8 * 3 * 9 * 32 * 32 + 80
    check = chipfit.check(TINY, "testchip", fps=1, precision="fp32", input_shape="1,3,32,32",
                          chips_files=[chip_file], fuse=runtime == "onnxruntime")
    assert r.predicted_s == pytest.approx(check.latency_s)
    assert r.error == pytest.approx(r.predicted_s / r.median_s - 1)
    d = r.to_dict()
    assert d["median_s"] == r.median_s and d["chip"] == "testchip" and d["runtime"] == runtime
    assert d["fused"] is (runtime == "onnxruntime")


def test_batch_scales_the_work_and_the_onnx_file_runs_as_given(chip_file, tmp_path):
    r4 = chipfit.measure("mobilenet_v3_small", batch=4, min_runs=3, min_time_s=0.1, warmup_s=0.1,
                         chip="testchip", chips_files=[chip_file])
    _consistent(r4, 3)
    one = chipfit.count("mobilenet_v3_small")
    assert r4.count.flops == 4 * one.flops and r4.batch == 4
    assert r4.onnx_path and Path(r4.onnx_path).exists()
    # the exported file measured directly: a free batch is bound by --batch, here fixed at 4 already
    again = chipfit.measure(r4.onnx_path, min_runs=3, min_time_s=0.1, warmup_s=0.1, chip="")
    _consistent(again, 3)
    assert again.prediction is None and again.count.macs == pytest.approx(4 * one.macs, rel=0.01)


def test_cli_json_save_and_calibrate_roundtrip(run_cli, chip_file, tmp_path):
    rows = tmp_path / "rows.csv"
    rc, out, err = run_cli("measure", TINY, "-i", "1,3,32,32", "--min-runs", "5", "--min-time", "0.2",
                           "--chip", "testchip", "--chips-file", str(chip_file), "--save", str(rows),
                           "--json", "--explain")
    assert rc == 0, err
    d = json.loads(out)
    assert d["runs"] == len(d["times_s"]) >= 5
    assert d["achieved_tops"] == pytest.approx(d["flops_per_batch"] / d["median_s"] / 1e12)
    assert any(e["quantity"] == "error" for e in d["explain"])
    saved = read_rows(rows)
    assert len(saved) == 1 and float(saved[0]["median_s"]) == pytest.approx(d["median_s"], rel=1e-5)
    cases = cases_from_rows(saved, str(rows), "testchip", allow_code=True)
    assert cases[0].measured == pytest.approx(d["median_s"], rel=1e-5) and cases[0].fuse
    with pytest.raises(ChipfitError, match="names Python code"):  # a row naming code is refused by default
        cases_from_rows(saved, str(rows), "testchip")


@pytest.mark.parametrize("args, words", [
    (("--runtime", "tvm"), "--runtime must be one of"),
    (("--batch", "0"), "--batch must be at least 1"),
    (("--precision", "int8"), "needs a model already quantized"),
    (("--runtime", "torch", "--precision", "int4"), "--runtime torch runs fp32, bf16, fp16"),
    (("--device", "tpu"), "--device must be one of"),
])
def test_bad_measure_input_is_one_sentence_and_exit_2(run_cli, args, words):
    rc, out, err = run_cli("measure", "resnet18", *args)
    assert rc == 2 and words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_measure_missing_onnx_file_and_torch_on_onnx(run_cli, tmp_path):
    rc, _, err = run_cli("measure", str(tmp_path / "nope.onnx"))
    assert rc == 2 and "no ONNX file" in err
    rc, _, err = run_cli("measure", str(tmp_path / "nope.onnx"), "--runtime", "torch")
    assert rc == 2 and "needs --runtime onnxruntime" in err


# --------------------------------------------------------------------------- probe
def test_probe_writes_a_measured_chip_file_that_check_can_use(monkeypatch, tmp_path):
    import importlib

    from chipfit.core.fileio import write_atomic

    probe_mod = importlib.import_module("chipfit.measure.probe")  # the module (chipfit.probe is the function)

    monkeypatch.setattr(probe_mod, "MIN_SECONDS", 0.02)
    monkeypatch.setattr(probe_mod, "MATMUL_SIZES", {"fp32": (128, 256), "bf16": (128,), "int8": (128,)})
    monkeypatch.setattr(probe_mod, "MEMORY_MIB", 16)
    result = probe_mod.probe(threads=1, cuda=False, reps=2)
    dev = result.devices[0]
    assert dev.matmul_tops["fp32"] > 0 and dev.read_gbps > 0 and dev.copy_gbps > 0
    path = tmp_path / "this-machine.yaml"
    write_atomic(path, probe_mod.chip_file_text(result))
    rec, unit = database([path]).get("this-machine")
    assert rec.chip.category == "cpu" and unit.efficiency_class == "cpu"
    assert all(f.flag == "measured" for _, f in rec.chip.figures())
    assert rec.chip.dense["fp32"].value == pytest.approx(dev.matmul_tops["fp32"], rel=1e-3)
    assert rec.chip.memory_bandwidth_gbps.value == pytest.approx(max(dev.read_gbps, dev.copy_gbps), rel=1e-3)
    r = chipfit.check("resnet18", "this-machine", fps=1, precision="fp32", chips_files=[path])
    assert r.latency_s > 0 and r.peak_tops == rec.chip.dense["fp32"].value


def test_the_probe_skips_a_size_whose_runs_would_take_over_the_budget(monkeypatch):
    import importlib

    probe_mod = importlib.import_module("chipfit.measure.probe")
    monkeypatch.setattr(probe_mod, "SIZE_BUDGET_S", 3.0)
    timed = []

    def seconds(rate):   # a product of side n at a fixed rate (operations per second)
        return lambda n: timed.append(n) or 2 * n ** 3 / rate

    # 2 GOPS (an emulated precision): 512 takes 0.134 s; 1024 would take 8 x 0.134 x (5 + 1) = 6.4 s
    assert probe_mod._sweep((512, 1024, 2048), seconds(2e9), reps=5) == [(512, 2 * 512 ** 3 / 2e9)]
    assert timed == [512]
    # 200 GFLOP/s: 2048 costs 0.086 s a run, 0.52 s with its warm-up and 5 reps: every size runs
    timed.clear()
    assert [n for n, _ in probe_mod._sweep((256, 512, 1024, 2048), seconds(2e11), reps=5)] == [256, 512, 1024, 2048]
    # the rule is the budget: 1024 at 20 GOPS is 0.107 s a run; 2048 would be 8 x 0.107 x 6 = 5.2 s
    assert [n for n, _ in probe_mod._sweep((1024, 2048), seconds(2e10), reps=5)] == [1024]
    monkeypatch.setattr(probe_mod, "SIZE_BUDGET_S", 6.0)
    assert [n for n, _ in probe_mod._sweep((1024, 2048), seconds(2e10), reps=5)] == [1024, 2048]


def test_probe_refuses_to_overwrite_without_force(run_cli, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("precious\n", encoding="utf-8")
    rc, _, err = run_cli("probe", "--output", str(path))
    assert rc == 2 and "--force" in err and path.read_text(encoding="utf-8") == "precious\n"


# --------------------------------------------------------------------------- calibrate
def _synthetic_rows(path: Path, chip_file: Path, eff) -> list[float]:
    """Rows whose 'measured' latency is chipfit's own prediction with factors ``eff``:
    calibrate must find those factors back."""
    from chipfit.calibration.fit import Case, Predictor

    pred = Predictor(database([chip_file]))
    measured = []
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["model", "batch", "precision", "runtime", "median_s", "role"])
        for model, batch, role in (("resnet18", 1, "fit"), ("mobilenet_v2", 1, "fit"), ("resnet18", 8, "fit"),
                                   ("mobilenet_v3_small", 1, "holdout")):
            case = Case(id="x", row=1, hardware="t", measured_model=model, value=1, unit="s", role="fit",
                        metric="latency", model=model, chip="testchip", precision="fp32", batch=batch)
            t = pred.predict(case, {"cpu": eff}).predicted
            measured.append(t)
            w.writerow([model, batch, "fp32", "onnxruntime", f"{t:.9g}", role])
    return measured


def test_calibrate_recovers_known_factors_and_writes_them_keeping_the_users_text(chip_file, tmp_path):
    from chipfit.calibration.fit import GRID
    from chipfit.data.efficiency import Efficiency

    g, d, m = GRID[30], GRID[12], GRID[36]   # grid points, so an exact fit exists
    rows = tmp_path / "rows.csv"
    _synthetic_rows(rows, chip_file, Efficiency(g, d, d, m, "cpu", "truth"))
    res = calibrate("testchip", rows, chips_files=[chip_file])
    c = res.calibration
    # the convolution rows pin gemm; depthwise and memory trade off along a shallow valley with
    # one depthwise row, so they come back within a few grid steps (12 % each) and the
    # predictions, the holdout row's included, within a few per cent
    assert c.gemm == pytest.approx(g)
    assert c.depthwise == pytest.approx(d, rel=0.3) and c.memory == pytest.approx(m, rel=0.3)
    assert c.residual.n == 3 and c.residual.median_abs_pct < 2
    assert max(abs(p.error) for p in res.after) < 0.05
    assert max(abs(p.error) for p in res.before) > 0.2             # the class factors were far off
    before = chip_file.read_text(encoding="utf-8")
    assert store(res) == chip_file
    after = chip_file.read_text(encoding="utf-8")
    # every line the user wrote is still there, in order; only the efficiency block is new
    added = [ln for ln in after.splitlines() if ln not in before.splitlines()]
    assert after.startswith(before.split("  - id: twounits")[0]) and "# trailing comment" in after
    assert added[0].strip() == "efficiency:" and all(ln.startswith("      ") for ln in added[1:])
    # predictions now use the chip's own factors
    r = chipfit.check("resnet18", "testchip", fps=1, precision="fp32", chips_files=[chip_file])
    assert r.efficiency.efficiency_class == "cpu, calibrated" and r.efficiency.gemm == pytest.approx(g)
    from rich.console import Console

    from chipfit.render.terminal.chips import chip_detail

    console = Console(width=200, record=True)
    console.print(chip_detail(database([chip_file]).get("testchip")[0]))
    assert f"calibrated efficiency: gemm {g:.3g}" in console.export_text()
    # calibrating again replaces the block instead of adding a second one
    store(calibrate("testchip", rows, chips_files=[chip_file]))
    assert chip_file.read_text(encoding="utf-8").count("efficiency:") == 1


def test_calibrating_a_builtin_chip_writes_a_copy_that_replaces_it(tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("model,batch,precision,median_s\nresnet18,1,int8,0.01\nresnet50,1,int8,0.02\n",
                    encoding="utf-8")
    out = tmp_path / "rk.yaml"
    res = calibrate("rk3588", rows)
    assert store(res, out) == out
    rec, unit = database([out]).get("rk3588")
    assert rec.origin == str(out) and unit.efficiency is not None
    builtin = database().get("rk3588")[0].chip
    assert rec.chip.dense == builtin.dense and rec.chip.memory_bandwidth_gbps == builtin.memory_bandwidth_gbps
    with pytest.raises(ChipfitError, match="already exists"):
        store(res, out)


def test_efficiency_goes_into_the_right_unit_of_a_multi_unit_chip():
    from chipfit.data.chips.schema import Calibration
    from chipfit.data.efficiency import Residual

    cal = Calibration(gemm=0.5, depthwise=0.1, vector=0.1, memory=0.6, basis="test fit", rows=["r"],
                      residual=Residual(n=1, median_abs_pct=0, p90_abs_pct=0)).model_dump(exclude_none=True)
    new = set_efficiency(CHIP_FILE, "mine.yaml", "twounits", "gpu", cal)
    from chipfit.core.datafile import load
    from chipfit.data.chips.schema import ChipFile

    chips = {c.id: c for c in load(ChipFile, new, "t").chips}
    gpu, dla = chips["twounits"].units
    assert gpu.efficiency.gemm == 0.5 and dla.efficiency is None and chips["testchip"].efficiency is None
    with pytest.raises(ChipfitError, match="flow style"):
        set_efficiency("vendor: V\nsources: {s: {title: abc}}\nchips:\n  - {id: x, name: X, category: cpu}\n",
                       "f.yaml", "x", None, cal)
    with pytest.raises(ChipfitError, match="no chip 'nope'"):
        set_efficiency(CHIP_FILE, "mine.yaml", "nope", None, cal)


@pytest.mark.parametrize("text, words", [
    ("model,batch,precision\nresnet18,1,fp32\n", "row 1: give the measured seconds"),
    ("model,batch,precision,median_s\nresnet18,one,fp32,0.1\n", "row 1:"),
    ("model,batch,precision,median_s\nresnet18,1,fp32,-2\n", "median_s must be positive"),
    ("model,batch,precision,median_s,role\nresnet18,1,fp32,0.1,maybe\n", "role must be fit or holdout"),
    ("model,batch,precision,median_s,chip\nresnet18,1,fp32,0.1,other\n", "no row measures chip"),
    ("", "no measurement rows"),
])
def test_bad_measurement_csv_is_one_sentence_and_exit_2(run_cli, chip_file, tmp_path, text, words):
    rows = tmp_path / "rows.csv"
    rows.write_text(text, encoding="utf-8")
    rc, _, err = run_cli("calibrate", "testchip", "--from", str(rows), "--chips-file", str(chip_file))
    assert rc == 2 and words in err and len(err.strip().splitlines()) == 1, err


def test_append_row_keeps_an_existing_files_columns(tmp_path):
    class R:  # the fields measure_row reads
        model, input_shape, seq_len, batch, precision, runtime, device, threads = "m", None, None, 1, "fp32", "onnxruntime", "cpu", 2
        runs, median_s, p90_s, min_s, prediction, predicted_s, error, runtime_version = 3, 0.5, 0.6, 0.4, None, None, None, "1"

    path = tmp_path / "mine.csv"
    path.write_text("model,median_s,my_note\nx,1.0,keep me\n", encoding="utf-8")
    append_row(path, R())
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["model,median_s,my_note", "x,1.0,keep me"] and lines[2] == "m,0.5,"
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ChipfitError, match="not a measurement CSV"):
        append_row(bad, R())
    assert math.isclose(float(read_rows(path)[1]["median_s"]), 0.5)


def test_exporting_leaves_the_callers_attention_fast_path_alone(tmp_path):
    """ONNX export switches MHA's fused path off (it has no ONNX form) and switches it back: a
    program that calls chipfit keeps its own setting."""
    torch = pytest.importorskip("torch")
    from chipfit.measure.export import to_onnx

    before = torch.backends.mha.get_fastpath_enabled()
    try:
        for setting in (True, False):
            torch.backends.mha.set_fastpath_enabled(setting)
            to_onnx("resnet18", tmp_path / str(setting))
            assert torch.backends.mha.get_fastpath_enabled() is setting
    finally:
        torch.backends.mha.set_fastpath_enabled(before)
