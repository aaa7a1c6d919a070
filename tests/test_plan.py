"""``chipfit plan``: scenario files, per-stage demand, totals, memory sum, latency, bad files.

Totals are checked against the stages priced separately by ``chipfit.check`` / ``chipfit.llm``
(the single-model commands), and the arithmetic of rates against hand calculation.
"""

import json
import math
from pathlib import Path

import pytest

import chipfit
from chipfit.analysis.plan import plan, rank_plan
from chipfit.analysis.scenario import loads
from chipfit.core.errors import ChipfitError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
pytest.importorskip("torchvision", reason="the scenarios use torchvision models (pip install 'chipfit[vision]')")


def _write(tmp_path, text: str, name: str = "s.yaml") -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


CAMERA = """\
name: cameras
chip: jetson-orin-nano-8gb
precision: int8
latency_budget_s: 0.05
stages:
  - name: detector
    model: ssdlite320_mobilenet_v3_large
    rate: {per_s: 30}
    streams: 4
  - name: classifier
    model: mobilenet_v3_small
    after: [detector]
    rate: {per_input: 5}
    batch: 5
  - name: reid
    model: resnet18
    input_shape: [1, 3, 256, 128]
    after: [detector]
    rate: {per_input: 2}
"""


def test_totals_equal_the_stages_checked_separately(tmp_path):
    r = plan(_write(tmp_path, CAMERA))
    chip = "jetson-orin-nano-8gb"
    # runs per second by hand: 30 FPS × 4 streams; 5 and 2 runs per detector frame
    runs = {"detector": 120, "classifier": 600, "reid": 240}
    sep = {
        "detector": chipfit.check("ssdlite320_mobilenet_v3_large", chip, fps=120, precision="int8"),
        "classifier": chipfit.check("mobilenet_v3_small", chip, fps=600, precision="int8", batch=5),
        "reid": chipfit.check("resnet18", chip, fps=240, precision="int8", input_shape=[(1, 3, 256, 128)]),
    }
    by = {s.name: s for s in r.stages}
    for name, c in sep.items():
        sp = by[name]
        assert sp.runs_per_s == pytest.approx(runs[name])
        assert sp.required_tops == pytest.approx(c.required_tops, rel=1e-9)
        assert sp.share == pytest.approx(c.utilization, rel=1e-9)          # runs/s ÷ throughput at its batch
        assert sp.weight_bytes == c.weight_bytes
        assert sp.working_bytes == c.peak_activation_bytes
    assert r.required_tops == pytest.approx(sum(c.required_tops for c in sep.values()), rel=1e-9)
    # bytes per run at the stage's batch (a batch of 5 reads the weights once for 5 crops)
    assert sep["detector"].required_bandwidth_gbps == pytest.approx(by["detector"].required_bandwidth_gbps)
    assert r.required_bandwidth_gbps == pytest.approx(
        sum(c.roof.bytes / c.batch * runs[n] / 1e9 for n, c in sep.items()), rel=1e-9)
    (load,) = r.chips
    assert load.units[0].utilization == pytest.approx(sum(c.utilization for c in sep.values()), rel=1e-9)
    assert load.memory_bytes == sum(c.weight_bytes + c.peak_activation_bytes for c in sep.values()) + 500_000_000
    # latency: the longest path; the classifier's 5 crops are one batch of 5
    lat = {n: c.roof.latency_s for n, c in sep.items()}
    assert r.critical_path == ["detector", max(("classifier", "reid"), key=lambda n: lat[n] * (2 if n == "reid" else 1))]
    assert r.latency_s == pytest.approx(lat["detector"] + max(lat["classifier"], 2 * lat["reid"]))
    # under load each stage is slowed by the others' share of the unit
    u = load.units[0].utilization
    want = sum(by[n].latency_s / (1 - (u - by[n].share)) for n in r.critical_path)
    assert r.latency_loaded_s == pytest.approx(want)
    assert r.sufficient == (u <= 1 and r.latency_loaded_s <= 0.05 and r.memory_fits)


def test_memory_sum_fails_where_compute_does_not(tmp_path):
    text = """\
name: two language models
chip: jetson-orin-nano-8gb
stages:
  - name: chat
    llm: llama-2-7b
    precision: w4a16
    prompt: 128
    output: 32
    rate: {every_s: 60}
  - name: helper
    llm: llama-3.2-3b
    precision: fp16
    prompt: 128
    output: 32
    rate: {every_s: 60}
"""
    r = plan(_write(tmp_path, text))
    each = [chipfit.llm("llama-2-7b", "jetson-orin-nano-8gb", prompt=128, output=32, precision="w4a16"),
            chipfit.llm("llama-3.2-3b", "jetson-orin-nano-8gb", prompt=128, output=32, precision="fp16")]
    assert all(x.memory_fits for x in each)              # each alone fits in 8 GB
    assert r.utilization < 0.2                           # a request a minute: compute is idle
    assert not r.memory_fits and not r.sufficient
    assert r.limiting.startswith("memory of jetson-orin-nano-8gb")
    # the sum: each model's weights, KV cache and activations, one 0.5 GB runtime allowance
    want = sum(x.memory.weights + x.memory.kv_cache + x.memory.activations for x in each) + 500_000_000
    assert r.memory_bytes == want > 8e9
    # an LLM stage's share is its request rate × (prefill + decode time) / batch
    for sp, x in zip(r.stages, each):
        assert sp.share == pytest.approx(x.e2e_latency_s / 60)
        assert sp.latency_s == pytest.approx(x.e2e_latency_s)
        assert sp.required_tops == pytest.approx((x.prefill.flops + x.decode.flops) / 60 / 1e12)


def test_rate_forms_streams_repeat_and_shared_weights(tmp_path):
    text = """\
name: rates
chip: rtx-4090
precision: fp16
stages:
  - name: enc
    model: whisper-tiny
    phase: prefill
    seq_len: 4
    rate: {realtime: 2.0}
    covers_s: 30
    streams: 3
  - name: dec
    model: whisper-tiny
    phase: decode
    context: 10
    repeat: 50
    after: enc
  - name: other
    model: resnet18
    rate: {every_s: 4}
  - name: joined
    model: resnet18
    after: [dec, other]
"""
    r = plan(_write(tmp_path, text))
    by = {s.name: s for s in r.stages}
    assert by["enc"].triggers_per_s == pytest.approx(2.0 / 30 * 3)       # 2 s of audio per s, 30 s a run, 3 streams
    assert by["dec"].runs_per_s == pytest.approx(2.0 / 30 * 3 * 50)      # 50 steps per encoder run
    assert by["other"].runs_per_s == pytest.approx(0.25)
    assert by["joined"].triggers_per_s == pytest.approx(min(0.2, 0.25))  # a join runs at its slowest input
    assert by["dec"].latency_s == pytest.approx(50 * by["dec"].batch_latency_s)
    # whisper-tiny's weights are held once for both stages; resnet18's once for two stages
    (load,) = r.chips
    w = {(s.weights_key[1]): s.weight_bytes for s in r.stages}
    assert load.weight_bytes == max(by["enc"].weight_bytes, by["dec"].weight_bytes) + w["resnet18"]
    assert r.critical_path == ["enc", "dec", "joined"]


def test_load_factor_scales_every_rate(tmp_path):
    path = _write(tmp_path, CAMERA)
    one, two = plan(path), plan(path, load_factor=2)
    for a, b in zip(one.stages, two.stages):
        assert b.runs_per_s == pytest.approx(2 * a.runs_per_s)
        assert b.share == pytest.approx(2 * a.share)
    assert two.required_tops == pytest.approx(2 * one.required_tops)


def test_chip_override_and_pinned_stage(tmp_path):
    text = CAMERA.replace("    batch: 5\n", "    batch: 5\n    chip: hailo-8\n")
    r = plan(_write(tmp_path, text), chip="rk3588")
    assert {s.name: s.chip for s in r.stages} == {"detector": "rk3588", "classifier": "hailo-8", "reid": "rk3588"}
    assert [c.chip for c in r.chips] == ["rk3588", "hailo-8"]
    assert any("no memory capacity" in n for n in r.notes)


def test_rank_puts_carrying_chips_first(tmp_path):
    res = rank_plan(_write(tmp_path, CAMERA), category="edge")
    assert res.ranked and all(p.sufficient for p in res.ranked)
    assert not any(p.sufficient for p in res.failing)
    powers = [p.chips[0].power_w or math.inf for p in res.ranked]
    assert powers == sorted(powers)
    assert "no dense int8 peak" in res.skipped["jetson-nano"]   # a chip without the precision is skipped, said why
    checked = {p.chips[0].chip for p in res.ranked + res.failing} | set(res.skipped)
    assert "h100-sxm" not in checked and "rk3588" in checked       # --category edge


@pytest.mark.parametrize("name", ["multi_camera", "vision_language", "speech_to_speech", "text_to_image"])
def test_examples_run(name, run_cli):
    rc, out, err = run_cli("plan", str(EXAMPLES / f"{name}.yaml"), "--json", "--explain")
    d = json.loads(out)
    assert rc == (0 if d["verdict"] == "SUFFICIENT" else 1), err  # UNCERTAIN exits 1, as INSUFFICIENT does
    assert {e["quantity"] for e in d["explain"]} >= {f"{s['name']} share" for s in d["stages"]}
    for key in ("scenario", "stages", "chips", "required_tops", "required_bandwidth_gbps", "memory_bytes",
                "memory_fits", "utilization", "critical_path", "latency_s", "latency_loaded_s", "sufficient",
                "limiting"):
        assert key in d
    assert d["required_tops"] == pytest.approx(sum(s["required_tops"] for s in d["stages"]))
    assert d["memory_bytes"] == sum(c["memory_bytes"] for c in d["chips"])


def test_vision_language_at_one_and_two_requests_per_second(run_cli):
    path = str(EXAMPLES / "vision_language.yaml")
    one = json.loads(run_cli("plan", path, "--json")[1])
    two = json.loads(run_cli("plan", path, "--json", "--load", "2")[1])
    assert two["utilization"] == pytest.approx(2 * one["utilization"])
    assert one["sufficient"] and one["latency_loaded_s"] <= one["latency_budget_s"]


def test_table_and_explain(run_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # an 80-column terminal (piped output is 120 wide otherwise)
    rc, out, err = run_cli("plan", str(EXAMPLES / "multi_camera.yaml"), "--explain")
    assert rc == 0, err
    assert out.splitlines()[0].startswith(("SUFFICIENT", "UNCERTAIN", "INSUFFICIENT"))
    for word in ("stages", "chips", "detector runs/s", "under load"):
        assert word in out
    assert max(len(line) for line in out.splitlines()) <= 80


GOOD_STAGE = "  - name: a\n    model: resnet18\n    rate: 30\n"


@pytest.mark.parametrize("text, line, field, words", [
    ("name: t\nchip: rk3588\nstages:\n  - name: a\n    model: resnet18\n    rate: 30\n    colour: red\n",
     7, "stages[0].colour", "unknown key"),
    ("name: t\nchip: rk3588\nstages:\n  - name: a\n    model: resnet18\n    rate: 30\n    streams: four\n",
     7, "stages[0].streams", "valid integer"),
    ("name: t\nchip: rk3588\nstages:\n  - name: a\n    model: resnet1800\n    rate: 30\n",
     5, "stages[0].model", "unknown model"),
    ("name: t\nchip: no-such-chip\nstages:\n" + GOOD_STAGE, 2, "chip", "unknown chip"),
    ("name: t\nchip: rk3588\nstages:\n  - name: a\n    model: resnet18\n    chip: nochip\n    rate: 30\n",
     6, "stages[0].chip", "unknown chip"),
    ("name: t\nchip: rk3588\nstages:\n  - name: a\n    model: resnet18\n    rate: 0\n",
     6, "stages[0].rate.per_s", "greater than 0"),
    ("name: t\nchip: rk3588\nstages:\n  - name: a\n    model: resnet18\n    rate: {every_s: -30}\n",
     6, "stages[0].rate.every_s", "greater than 0"),
    ("name: t\nchip: rk3588\nstages:\n  - name: a\n    model: resnet18\n    after: [b]\n"
     "  - name: b\n    model: resnet18\n    after: [a]\n", 6, "stages[0].after", "cycle"),
    ("name: t\nchip: rk3588\nstages:\n  - name: a\n    model: !!python/object/apply:os.system [echo hi]\n"
     "    rate: 30\n", 5, "stages[0].model", "tag"),
    ("name: t\nchip: !mychip rk3588\nstages:\n" + GOOD_STAGE, 2, "chip", "tag"),
    ("name: t\nchip: rk3588\nstages:\n  - name: a\n    model: resnet18\n    after: [nobody]\n",
     6, "stages[0].after[0]", "no stage is named"),
    ("name: t\nchip: rk3588\nstages:\n  - name: a\n    model: resnet18\n", 4, "stages[0]", "needs a rate"),
    ("name: t\nchip: rk3588\nstages:\n  - name: a\n    llm: llama-2-7b\n    prompt: 5000\n    rate: 1\n",
     5, "stages[0].llm", "exceed"),
    ("name: t\nchip: rk3588\nstages:\n  - name: a\n    model: resnet18\n    precision: int3\n    rate: 1\n",
     6, "stages[0].precision", "precision"),
])
def test_bad_scenario_files(tmp_path, run_cli, text, line, field, words):
    assert_refused(run_cli, _write(tmp_path, text), line, field, words)


def assert_refused(run_cli, path, line: int, field: str, words: str) -> None:
    """``chipfit plan PATH`` exits 2 with one sentence naming the file, line and field."""
    rc, out, err = run_cli("plan", path)
    assert rc == 2, (out, err)
    assert out == ""
    msg = err.strip()
    assert len(msg.splitlines()) == 1 and "Traceback" not in err
    assert msg.startswith(f"chipfit: {path}, line {line}: {field}: "), msg
    assert words in msg, msg


def test_custom_tag_constructs_nothing(tmp_path, run_cli):
    marker = tmp_path / "ran"
    path = _write(tmp_path, f"name: t\nchip: !!python/object/apply:os.system ['touch {marker}']\nstages:\n"
                  + GOOD_STAGE)
    rc, _, _ = run_cli("plan", path)
    assert rc == 2 and not marker.exists()


def test_missing_file_and_bad_cli_values(tmp_path, run_cli):
    rc, _, err = run_cli("plan", str(tmp_path / "none.yaml"))
    assert rc == 2 and "no such file" in err
    path = _write(tmp_path, "name: t\nstages:\n" + GOOD_STAGE)
    rc, _, err = run_cli("plan", path)
    assert rc == 2 and "has no chip" in err
    rc, _, err = run_cli("plan", path, "--chip", "nochip")
    assert rc == 2 and err.startswith("chipfit: --chip nochip: unknown chip")
    rc, _, err = run_cli("plan", path, "--chip", "rk3588", "--load", "0")
    assert rc == 2 and "--load must be positive" in err


def test_python_api_takes_a_dict():
    r = chipfit.plan({"name": "d", "chip": "rk3588", "stages": [{"name": "a", "model": "resnet18", "rate": 30}]})
    assert r.stages[0].runs_per_s == 30
    with pytest.raises(ChipfitError, match="stages\\[0\\].rate.per_s"):
        chipfit.plan({"name": "d", "chip": "rk3588", "stages": [{"name": "a", "model": "resnet18", "rate": -1}]})


def test_scenario_order_follows_links():
    sc = loads("name: t\nstages:\n  - name: b\n    model: resnet18\n    after: a\n"
               "  - name: a\n    model: resnet18\n    rate: 1\n")
    assert [s.name for s in sc.order()] == ["a", "b"]


def test_docs_tables_of_the_examples_are_chipfits_numbers():
    """The plan page's recomputed multimodal and speech-to-speech tables hold what plan computes."""
    readme = (EXAMPLES.parent / "docs" / "commands" / "plan.md").read_text(encoding="utf-8")
    vl = {s.name: s for s in plan(EXAMPLES / "vision_language.yaml").stages}
    llm = vl["llm"].detail
    assert f"{vl['image_encoder'].detail.count.macs / 1e9:.2f} GMACs = {vl['image_encoder'].flops / 1e9:.1f} GFLOPs" \
        in readme
    assert f"{vl['qformer'].detail.count.macs / 1e9:.2f} GMACs = {vl['qformer'].flops / 1e9:.1f} GFLOPs" in readme
    pre, dec = llm.prefill.flops / llm.batch / 1e9, llm.decode.flops / llm.batch / 1e9
    assert f"{pre:,.0f} GFLOPs prefill + {dec:,.0f} GFLOPs decode = {pre + dec:,.0f} GFLOPs" in readme
    total = sum(s.flops for s in vl.values()) / 1e12
    assert f"{total:.2f} TFLOPs → {total:.2f} TOPS at 1 request/s, {2 * total:.2f} at 2" in readme
    s2s = plan(EXAMPLES / "speech_to_speech.yaml")
    assert f"**{s2s.required_tops:.2f} TOPS** | **{s2s.required_bandwidth_gbps:.1f} GB/s** | " \
           f"**{s2s.memory_bytes / 1e9:.2f} GB**" in readme
    by = {s.name: s for s in s2s.stages}
    assert f"{by['llm'].flops / 1e9:,.0f} GFLOPs a request" in readme
    assert f"{by['asr_encoder'].detail.count.macs / 1e9:.1f} GMACs = {by['asr_encoder'].flops / 1e9:.1f} GFLOPs" \
        in readme


def test_a_streaming_stage_starts_on_the_first_output_of_its_producer():
    """llm → tts: without stream the speech starts after the last token (latencies add); with stream
    it starts at the first token, and finishes no earlier than the LLM does."""
    def scenario(stream: bool) -> dict:
        return {"name": "talk", "chip": "jetson-orin-nx-16gb", "precision": "fp16", "stages": [
            {"name": "llm", "llm": "llama-2-7b", "precision": "w4a16", "prompt": 256, "output": 128,
             "rate": {"per_s": 0.05}},
            {"name": "tts", "model": "resnet18", "after": ["llm"], "stream": stream}]}

    whole, streamed = plan(scenario(False)), plan(scenario(True))
    llm_r = {s.stage.name: s for s in whole.stages}["llm"]
    tts = {s.stage.name: s for s in whole.stages}["tts"]
    assert whole.latency_s == pytest.approx(llm_r.latency_s + tts.latency_s)
    assert whole.first_output_s == pytest.approx(llm_r.latency_s + tts.first_s)
    ttft = llm_r.detail.ttft_s
    assert streamed.first_output_s == pytest.approx(ttft + tts.first_s)
    assert streamed.latency_s == pytest.approx(max(ttft + tts.latency_s, llm_r.latency_s))
    assert streamed.critical_path == ["llm", "tts"]
    assert streamed.to_dict()["stages"][1]["stream"] is True and streamed.to_dict()["first_output_s"] > 0


def test_a_stage_may_name_a_runtime_its_chip_runs(tmp_path):
    text = ("name: phone\nchip: snapdragon-8-gen-3\nstages:\n  - name: detector\n    model: yolov8n\n"
            "    rate: 30\n    runtime: RUNTIME\n")
    qnn = plan(_write(tmp_path, text.replace("RUNTIME", "qnn")))
    tfl = plan(_write(tmp_path, text.replace("RUNTIME", "tflite-qnn")))
    assert qnn.stages[0].detail.efficiency.efficiency_class == "qnn"
    assert tfl.stages[0].detail.efficiency.efficiency_class == "tflite-qnn"
    assert qnn.stages[0].busy_s != tfl.stages[0].busy_s
    with pytest.raises(ChipfitError, match=r"line 7: stages\[0\]\.runtime: .*hailort is not one this chip runs"):
        plan(_write(tmp_path, text.replace("RUNTIME", "hailort")))


def test_a_stage_of_a_network_measured_on_other_chips_takes_the_carried_latency():
    """yolov8n on an RK3588: published on the class's other Rockchip chips, so the stage's latency is
    check's carried one (chipfit's latency × their median measured / predicted) and its band the carry's,
    as check's verdict; a network never published keeps the class prediction."""
    r = plan({"name": "camera", "chip": "rk3588", "stages": [{"name": "det", "model": "yolov8n", "rate": 30},
                                                             {"name": "cls", "model": "resnet18", "after": ["det"]}]})
    det, cls = r.stages
    c = chipfit.check("yolov8n", "rk3588", fps=30)
    e = c.elsewhere
    assert e is not None and det.detail.elsewhere is not None
    assert det.latency_s == pytest.approx(e.latency_s) and det.band == pytest.approx((e.low, e.high))
    assert r.to_dict()["stages"][0]["latency_basis"] == "measured_elsewhere"
    assert cls.detail.elsewhere is None and cls.band == cls.detail.band
    assert cls.latency_s == pytest.approx(cls.detail.roof.latency_s)


def test_a_stage_of_a_network_published_on_its_chip_takes_the_measured_latency_where_the_fit_chose_it():
    """yolov8n under TFLite with the QNN delegate on a QCS6490, where its runtime's fit chose a network's
    own measurements on the chip over the carry: the stage's latency is check's (the median of the two
    published rows) and its band theirs."""
    r = plan({"name": "camera", "chip": "qcs6490",
              "stages": [{"name": "det", "model": "yolov8n", "rate": 30, "runtime": "tflite-qnn"}]})
    h = chipfit.check("yolov8n", "qcs6490", fps=30, runtime="tflite-qnn").here
    det = r.stages[0]
    assert h is not None and det.latency_s == pytest.approx(h.latency_s) and det.band == pytest.approx((h.low, h.high))
    assert r.to_dict()["stages"][0]["latency_basis"] == "measured_here"
