"""``chipfit plan`` process stages: letterbox and NMS on the host CPU.

The op and byte counts are checked against hand arithmetic written out here (the formulas are in
``chipfit.analysis.host_ops``); the time against check's per-op roofline on the host's CPU unit,
computed by hand from the chip's peak and bandwidth and the ``cpu`` class's factors; then what a
plan does with such stages: their own unit (utilization apart from the accelerator's), their
place on the latency chain, the verdict when they overload a small CPU, bad values, JSON keys.
"""

import json
from pathlib import Path

import pytest
from test_plan import _write, assert_refused

from chipfit.analysis import host_ops
from chipfit.analysis.plan import plan
from chipfit.data.chips import database
from chipfit.data.efficiency import for_class

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
pytest.importorskip("torchvision", reason="the scenarios use torchvision models (pip install 'chipfit[vision]')")


# -- the counts, by hand --------------------------------------------------------------------
def test_letterbox_1080p_nv12_to_320_float32_by_hand():
    w = host_ops.letterbox((1920, 1080), (320, 320), "nv12", "float32")
    conv, lb = w.steps
    # scale min(320/1920, 320/1080) = 1/6: the picture is 320 × 180, padded by 70 rows above and below
    assert host_ops.letterbox_region((1920, 1080), (320, 320)) == (320, 180)
    # NV12 → RGB on every pixel: 1920 × 1080 = 2,073,600 px × 18 ops
    assert conv.flops == 37_324_800
    # reads Y (1 B/px) + UV (2 × 960 × 540 = 1,036,800 B), writes RGB 3 B/px
    assert (conv.read_bytes, conv.write_bytes) == (2_073_600 + 1_036_800, 6_220_800)
    # bilinear: 57,600 px × (6 weight ops + 7 × 3 channels) = 1,555,200; normalise: 57,600 × 3 × 2 = 345,600
    assert lb.flops == 1_555_200 + 345_600 == 1_900_800
    # 2 × 180 = 360 source rows of 1920 × 3 = 5,760 B (under the 2 × 320 × 64 B cache-line cap)
    assert lb.read_bytes == 360 * 5_760 == 2_073_600
    # the whole 320 × 320 × 3 input in float32 (padding included)
    assert lb.write_bytes == 320 * 320 * 3 * 4 == 1_228_800
    assert (w.flops, w.bytes) == (39_225_600, 12_633_600)


@pytest.mark.parametrize("frame, size, fmt, dtype, pad, flops, read, write", [
    # 1280x720 RGB → 640x640 int8: scale 0.5, picture 640 × 360 = 230,400 px;
    # 230,400 × (6 + 21) + 230,400 × 3 × 5 (multiply-add, round, clamp); rows min(720, 720) × 3,840 B
    ((1280, 720), (640, 640), "rgb", "int8", True, 6_220_800 + 3_456_000, 720 * 3_840, 640 * 640 * 3),
    # 640x480 gray stretched to 224x224 uint8: 50,176 px × (6 + 7) + 50,176 × 1 round;
    # rows min(480, 448) × 640 B; writes 50,176 B
    ((640, 480), (224, 224), "gray", "uint8", False, 652_288 + 50_176, 448 * 640, 50_176),
    # 8K RGB stretched to 96x96 float16: 9,216 px × 27 + 9,216 × 3 × 2; 192 rows, each capped at
    # 2 cache lines per output pixel: 2 × 96 × 64 = 12,288 B < 7,680 × 3 = 23,040 B
    ((7680, 4320), (96, 96), "rgb", "float16", False, 248_832 + 55_296, 192 * 12_288, 96 * 96 * 3 * 2),
])
def test_letterbox_and_resize_variants_by_hand(frame, size, fmt, dtype, pad, flops, read, write):
    (step,) = host_ops.letterbox(frame, size, fmt, dtype, pad=pad).steps
    assert (step.flops, step.read_bytes, step.write_bytes) == (flops, read, write)


def test_nms_by_hand():
    w = host_ops.nms(candidates=300, classes=91, anchors=3234)
    scan, sup = w.steps
    # every row: 90 compares for the best of 91 scores + 1 threshold compare
    assert scan.flops == 3234 * 91 == 294_294
    assert scan.read_bytes == 3234 * (4 + 91) * 4 == 1_228_920     # float32 rows of 4 box values + 91 scores
    assert scan.write_bytes == 300 * 24 == 7_200                     # 300 candidates of 6 float32
    # decode 300 × 9; sort 300 × ⌈log2 300⌉ = 300 × 9 (2^8 = 256 < 300 ≤ 512);
    # IoU of every pair, the worst case: 300 × 299 / 2 = 44,850 pairs × 13 ops
    assert sup.flops == 2_700 + 2_700 + 44_850 * 13 == 588_450
    assert (sup.read_bytes, sup.write_bytes) == (7_200, 7_200)
    assert (w.flops, w.bytes) == (882_744, 1_250_520)
    # without anchors only the candidates are scanned: 1,000 × 1 class; ⌈log2 1000⌉ = 10
    one = host_ops.nms(candidates=1000, classes=1)
    assert one.steps[0].flops == 1000 and one.steps[0].read_bytes == 1000 * 5 * 4
    assert one.steps[1].flops == 9_000 + 10_000 + 499_500 * 13


def test_priced_by_the_per_op_roofline_on_the_host_cpu():
    """Each pass takes max(ops / (fp32 peak × vector efficiency), bytes / (bandwidth × memory
    efficiency)), the cpu class's factors, on the Raspberry Pi 5's four Cortex-A76."""
    text = {"name": "t", "host": "raspberry-pi-5", "stages": [
        {"name": "pre", "process": {"op": "letterbox", "frame": "1920x1080", "format": "nv12", "input": "320x320"},
         "rate": 30}]}
    (sp,) = plan(text).stages
    record, _ = database().get("raspberry-pi-5")
    peak = 4 * 16 * 2.4e9                       # the database's derivation: 4 cores × 16 FP32 FLOP/cycle × 2.4 GHz
    assert record.chip.compute_units()[0].peaks(False)["fp32"].value * 1e12 == pytest.approx(peak)
    bw = record.chip.memory_bandwidth_gbps.value * 1e9
    eff = for_class("cpu")
    assert eff.op_overhead_s == eff.call_overhead_s == 0
    want = (max(37_324_800 / (peak * eff.vector), 9_331_200 / (bw * eff.memory))
            + max(1_900_800 / (peak * eff.vector), 3_302_400 / (bw * eff.memory)))
    assert sp.batch_latency_s == pytest.approx(want, rel=1e-9)
    assert sp.share == pytest.approx(30 * want, rel=1e-9)
    assert (sp.chip, sp.unit.id, sp.precision, sp.flops, sp.bytes) == ("raspberry-pi-5", "main", "fp32",
                                                                      39_225_600, 12_633_600)
    # element-wise: ~3 operations per byte against a ridge of 153.6 G × vector / 17.1 GB/s
    assert "vector-bound" in sp.notes[0] or "memory-bound" in sp.notes[0]


# -- in a plan ----------------------------------------------------------------------------
def test_example_host_load_is_apart_from_the_accelerator_and_on_the_latency_chain():
    r = plan(EXAMPLES / "multi_camera.yaml")
    by = {s.name: s for s in r.stages}
    assert [s.name for s in r.stages if s.is_host] == ["letterbox", "nms"]
    # the same detector and classifier without host stages: the accelerator is exactly as busy
    bare = plan({"name": "bare", "chip": "jetson-orin-nano-8gb", "precision": "int8", "stages": [
        {"name": "detector", "model": "ssdlite320_mobilenet_v3_large", "rate": 30, "streams": 4},
        {"name": "classifier", "model": "mobilenet_v3_small", "after": ["detector"], "rate": {"per_input": 5},
         "batch": 5}]})
    gpu = {u.unit: u for u in r.chips[0].units}["gpu"]
    assert r.chips[0].chip == "jetson-orin-nano-8gb" and gpu.host_stages == []
    assert gpu.utilization == pytest.approx(bare.chips[0].units[0].utilization, rel=1e-12)
    assert r.accelerator_utilization == pytest.approx(gpu.utilization)
    # the host's own sum: 120 frames/s × (letterbox + NMS time per frame)
    (host,) = r.host_units
    assert (host.chip, host.stages) == ("raspberry-pi-5", ["letterbox", "nms"])
    assert host.utilization == pytest.approx(120 * (by["letterbox"].batch_latency_s + by["nms"].batch_latency_s))
    assert r.host_utilization == host.utilization < 1
    assert r.chips[1].overhead_bytes == 0 and r.chips[0].overhead_bytes == 500_000_000  # runtime only beside models
    # the latency chain runs through the host stages
    assert r.critical_path == ["letterbox", "detector", "nms", "classifier"]
    assert r.latency_s == pytest.approx(sum(by[n].latency_s for n in r.critical_path))
    assert r.latency_s > bare.latency_s
    # the accelerator stays the plan's first chip (the one a ranking names) on another chip too
    assert plan(EXAMPLES / "multi_camera.yaml", chip="rk3588").chips[0].chip == "rk3588"


SMALL_HOST = """\
name: 4K cameras
chip: jetson-orin-nano-8gb
host: raspberry-pi-5
stages:
  - name: letterbox
    process: {op: letterbox, frame: 3840x2160, format: nv12, input: 640x640}
    rate: 60
    streams: STREAMS
  - name: detector
    model: mobilenet_v3_small
    after: [letterbox]
"""


def test_a_small_cpu_overloaded_by_4k_cameras_fails_where_one_camera_fits(tmp_path, run_cli):
    # the NV12 → RGB pass alone: 3840 × 2160 × 18 = 149,299,200 ops a frame; on the Pi 5 at
    # 153.6 GFLOPS × the cpu class's vector efficiency that is over 2 ms, so 8 cameras × 60 FPS
    # = 480 frames/s ask for more than a second of CPU every second
    vec = 153.6e9 * for_class("cpu").vector
    assert 480 * 149_299_200 / vec > 1 > 60 * 149_299_200 / vec
    rc, out, err = run_cli("plan", _write(tmp_path, SMALL_HOST.replace("STREAMS", "8")), "--json")
    d = json.loads(out)
    assert rc == 1 and d["verdict"] == "INSUFFICIENT" and not d["sufficient"], err
    assert d["host_utilization"] > 1 > d["accelerator_utilization"]
    assert d["limiting"].startswith("compute of raspberry-pi-5 (host):")
    assert d["latency_loaded_s"] is None                  # a queue that grows: unbounded
    rc, out, err = run_cli("plan", _write(tmp_path, SMALL_HOST.replace("STREAMS", "1")), "--json")
    d = json.loads(out)
    assert rc == 0 and d["verdict"] == "SUFFICIENT", err
    assert d["host_utilization"] < 0.5


def test_the_chips_own_cpu_unit_is_the_host_by_default():
    r = plan({"name": "apu", "chip": "strix-halo", "stages": [
        {"name": "pre", "process": {"op": "resize", "frame": "1280x720", "input": "224x224"}, "rate": 30},
        {"name": "net", "model": "mobilenet_v3_small", "after": ["pre"]}]})
    pre, net = r.stages
    assert (pre.chip, pre.unit.id) == ("strix-halo", "cpu") and net.unit.id != "cpu"
    (chip,) = r.chips                                     # one chip: memory and bandwidth shared
    units = {u.unit: u for u in chip.units}
    assert units["cpu"].host_stages == ["pre"] and units[net.unit.id].host_stages == []
    assert units["cpu"].utilization == pytest.approx(pre.share)


def test_table_explain_and_json_keys(run_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    path = str(EXAMPLES / "multi_camera.yaml")
    rc, out, err = run_cli("plan", path, "--explain")
    assert rc == 0, err
    assert "host CPU      raspberry-pi-5 10." in out   # the host's own line, its utilization
    assert "raspberry-pi-5   │" in out and "(host)" in out
    for words in ("letterbox nv12_to_rgb", "nms suppress", "memory-bound", "vector-bound", "44,850 pairs"):
        assert words in out, words
    assert max(len(line) for line in out.splitlines()) <= 80
    rc, out, err = run_cli("plan", path, "--json")
    d = json.loads(out)
    assert {"host_utilization", "accelerator_utilization", "utilization"} <= set(d)
    assert d["utilization"] == max(d["host_utilization"], d["accelerator_utilization"])
    st = {s["name"]: s for s in d["stages"]}
    lb, nms = st["letterbox"], st["nms"]
    assert lb["kind"] == nms["kind"] == "process" and st["detector"]["kind"] == "model"
    assert lb["process"] == {"op": "letterbox", "frame": "1920x1080", "format": "nv12", "input": "320x320",
                             "dtype": "float32"}
    assert nms["process"] == {"op": "nms", "candidates": 300, "classes": 91, "anchors": 3234}
    assert (lb["flops_per_run"], lb["bytes_per_run"]) == (39_225_600, 12_633_600)
    assert (nms["flops_per_run"], nms["bytes_per_run"]) == (882_744, 1_250_520)
    for s in (lb, nms):
        assert (s["chip"], s["unit"], s["weight_bytes"]) == ("raspberry-pi-5", "main", 0)
        assert [set(x) for x in s["steps"]] == [{"name", "flops", "read_bytes", "write_bytes", "bytes", "time_s",
                                                 "bound", "formula"}] * 2
        assert sum(x["flops"] for x in s["steps"]) == s["flops_per_run"]
        assert sum(x["time_s"] for x in s["steps"]) == pytest.approx(s["batch_latency_s"])
    assert [x["name"] for x in lb["steps"]] == ["nv12_to_rgb", "resize_normalise"]
    units = {(u["chip"], u["unit"]): u for c in d["chips"] for u in c["units"]}
    assert units[("raspberry-pi-5", "main")]["host_stages"] == ["letterbox", "nms"]
    assert units[("jetson-orin-nano-8gb", "gpu")]["host_stages"] == []
    assert d["required_tops"] == pytest.approx(sum(s["required_tops"] for s in d["stages"]))


# -- bad values -----------------------------------------------------------------------------
HEAD = "name: t\nchip: jetson-orin-nano-8gb\nhost: raspberry-pi-5\nstages:\n  - name: pre\n"
LB = "{op: letterbox, frame: 1920x1080, input: 320x320}"


def _stage(process: str = LB, more: str = "", head: str = HEAD) -> str:
    return f"{head}    process: {process}\n    rate: 30\n{more}"


@pytest.mark.parametrize("text, line, field, words", [
    (_stage(head=HEAD.replace("raspberry-pi-5", "nochip")), 3, "host", "unknown chip 'nochip'"),
    (_stage(head=HEAD.replace("raspberry-pi-5", "hailo-8")), 3, "host", "hailo-8 has no CPU unit"),
    (_stage(head=HEAD.replace("raspberry-pi-5", "core-i7-12700h")), 3, "host", "no compute peak"),
    (_stage(head=HEAD.replace("raspberry-pi-5", "rk3588:npu")), 3, "host", "priced as rknn, not as a CPU"),
    (_stage(head=HEAD.replace("raspberry-pi-5", "core-ultra-7-155h")), 3, "host", "give the stage precision: int8"),
    (_stage(head=HEAD.replace("host: raspberry-pi-5\n", "")), 5, "stages[0].process",
     "jetson-orin-nano-8gb lists no CPU unit): give host: <chip id>"),
    (_stage("{op: blur, frame: 1920x1080, input: 320x320}"), 6, "stages[0].process.op", "'letterbox', 'resize' or 'nms'"),
    (_stage("{op: letterbox, frame: 1920, input: 320x320}"), 6, "stages[0].process.frame", "WIDTHxHEIGHT"),
    (_stage("{op: letterbox, frame: 1920x0, input: 320x320}"), 6, "stages[0].process.frame", "not a size"),
    (_stage("{op: letterbox, frame: 99999x10, input: 320x320}"), 6, "stages[0].process.frame", "over 32,768"),
    (_stage("{op: letterbox, frame: 1920x1080}"), 6, "stages[0].process", "letterbox needs input"),
    (_stage("{op: letterbox, frame: 1920x1080, input: 320x320, format: yuyv}"), 6, "stages[0].process.format",
     "'rgb', 'bgr', 'nv12' or 'gray'"),
    (_stage("{op: nms, candidates: 300, classes: 80, frame: 1920x1080}"), 6, "stages[0].process",
     "frame does not apply to nms"),
    (_stage("{op: nms, candidates: 0, classes: 80}"), 6, "stages[0].process.candidates", "greater than or equal to 1"),
    (_stage("{op: nms, candidates: 300, classes: 80, anchors: 100}"), 6, "stages[0].process", "cannot be fewer"),
    (_stage("{op: nms, candidates: 300, classes: 80, colour: red}"), 6, "stages[0].process.colour", "unknown key"),
    (_stage(more="    model: resnet18\n"), 5, "stages[0]", "give exactly one of model"),
    (_stage(more="    runtime: qnn\n"), 5, "stages[0]", "runtime does not apply to a process stage"),
])
def test_bad_host_and_process_values(tmp_path, run_cli, text, line, field, words):
    assert_refused(run_cli, _write(tmp_path, text), line, field, words)


def test_a_chip_given_on_the_command_line_without_a_cpu_asks_for_host(tmp_path, run_cli):
    path = _write(tmp_path, _stage(head=HEAD.replace("host: raspberry-pi-5\n", "")))
    rc, out, err = run_cli("plan", path, "--chip", "hailo-8")
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "(hailo-8 lists no CPU unit): give host: <chip id>" in err
