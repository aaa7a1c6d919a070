"""HTML reports, --format csv/markdown and --explain text (no browser here: see test_report_browser.py)."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import subprocess
import sys

import pytest

from chipfit.render.html import page as html_report


def _data_keys(page: str) -> dict[str, object]:
    return {k: json.loads(html.unescape(v)) for k, v in re.findall(r'data-key="([^"]+)" data-value="([^"]*)"', page)}


def _embedded(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="chipfit-result">(.*?)</script>', page, re.S)
    return json.loads(m.group(1).replace("<\\/", "</"))


@pytest.fixture(scope="module")
def check_json(tmp_path_factory):
    env = dict(os.environ, CHIPFIT_CHIPS_DIR=str(tmp_path_factory.mktemp("nochips")))
    p = subprocess.run([sys.executable, "-m", "chipfit", "check", "resnet18", "--chip", "jetson-orin-nano-8gb",
                        "--fps", "30", "--per-layer", "--explain", "--json"], capture_output=True, text=True,
                       env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_check_page_matches_its_json(check_json):
    page = html_report.render(check_json)
    assert _embedded(page) == check_json
    keys = _data_keys(page)
    for k in ("required_tops", "effective_tops", "chip_peak_tops", "margin_tops", "latency_s", "max_fps",
              "utilization", "memory_required_bytes", "energy_per_inference_j", "macs"):
        assert keys[k] == check_json[k], k
    css = {"SUFFICIENT": "ok", "UNCERTAIN": "neutral", "INSUFFICIENT": "bad"}[check_json["verdict"]]
    assert f'id="verdict" class="verdict {css}" data-value="&quot;{check_json["verdict"]}&quot;"' in page
    # one roofline point per op that moves bytes and takes time; the per-op time bars sum to the latency
    roof = page[page.index('data-chart="roofline"'):page.index('data-chart="layers"')]
    n_points = sum(1 for o in check_json["layers"] if o["intensity"] and o["time_s"] > 0)
    assert roof.count('<circle class="pt"') == n_points >= len(check_json["layers"]) - 2
    bars = page[page.index('data-chart="layers"'):page.index('data-chart="time-by-kind"')]
    values = [float(v) for v in re.findall(r'<rect class="pt"[^>]*data-series="time" data-value="([^"]+)"', bars)]
    assert len(values) == len(check_json["layers"])
    assert sum(values) == pytest.approx(check_json["latency_s"], rel=1e-12)
    # every formula of --explain is on the page
    for row in check_json["explain"]:
        assert html.escape(row["formula"]) in page


def test_a_page_near_a_dataflow_chips_capacity_says_its_band_covers_both_context_choices():
    from chipfit import check
    from chipfit.core.units import duration

    near = check("arcface_r50", "hailo-8", fps=100).to_dict()
    page = html_report.render(near)
    other = near["other_context_latency_s"]
    assert other is not None and html.escape(f"over both context choices (the other: {duration(other)}") in page
    far = check("resnet18", "hailo-15l", fps=30).to_dict()
    assert far["other_context_latency_s"] is None and "over both context choices" not in html_report.render(far)


def test_page_is_offline_and_self_contained(check_json):
    page = html_report.render(check_json)
    assert not re.search(r"\b(src|href)\s*=", page), "the page must not load anything"
    assert "default-src 'none'" in page                      # and the browser is told to refuse any fetch
    assert "@import" not in page and "url(" not in page


def test_kind_is_recognised_without_the_command_key(check_json):
    bare = {k: v for k, v in check_json.items() if k != "command"}
    assert html_report.kind_of(bare) == "check"
    with pytest.raises(Exception, match="not a chipfit result"):
        html_report.kind_of({"hello": 1})


def test_report_command_refuses_to_overwrite_and_keeps_the_file(run_cli, tmp_path, check_json):
    src = tmp_path / "r.json"
    src.write_text(json.dumps(check_json))
    rc, out, err = run_cli("report", str(src))
    assert rc == 0, err
    page = tmp_path / "r.html"
    assert page.exists() and "wrote" in out
    assert oct(page.stat().st_mode & 0o777) != oct(0o600)     # an ordinary file, not a private temp file
    page.write_text("mine")
    rc, out, err = run_cli("report", str(src))
    assert rc == 2 and page.read_text() == "mine"
    assert err.count("\n") == 1 and "already exists" in err and "--force" in err
    rc, out, err = run_cli("report", str(src), "--force")
    assert rc == 0 and page.read_text().startswith("<!DOCTYPE html>")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]   # no temporary file left


def test_report_flag_refuses_before_any_work(run_cli, tmp_path):
    page = tmp_path / "mine.html"
    page.write_text("keep me")
    rc, out, err = run_cli("check", "resnet18", "--chip", "coral", "--fps", "30", "--report", str(page))
    assert rc == 2 and out == "" and page.read_text() == "keep me"
    assert "already exists" in err and err.count("\n") == 1
    rc, out, err = run_cli("plan", "examples/multi_camera.yaml", "--report", str(tmp_path / "plan.txt"))
    assert rc == 2 and "name it .html" in err


@pytest.mark.parametrize("text, fragment", [
    ("{not json", "not JSON"),
    ("[1, 2]", "a JSON object was expected"),
    ('{"command": "dance"}', "unknown result kind"),
    ('{"macs": 1}', "not a chipfit result"),
    ('{"command": "check", "model": "x"}', "missing or has a malformed field"),
])
def test_report_bad_input_is_one_sentence(run_cli, tmp_path, text, fragment):
    src = tmp_path / "bad.json"
    src.write_text(text)
    rc, out, err = run_cli("report", str(src))
    assert rc == 2 and fragment in err and err.count("\n") == 1, err
    assert not (tmp_path / "bad.html").exists()


def test_report_of_a_missing_file(run_cli, tmp_path):
    rc, out, err = run_cli("report", str(tmp_path / "none.json"))
    assert rc == 2 and "no such file" in err


def test_every_command_writes_a_report(run_cli, tmp_path):
    cases = {
        "count": ["count", "mobilenet_v3_small"],
        "rank": ["rank", "mobilenet_v3_small", "--fps", "30", "--category", "edge"],
        "llm": ["llm", "llama-3.2-1b", "--chip", "jetson-orin-nano-8gb", "--precision", "w4a16", "--prompt", "128",
                "--output", "32"],
        "llm-sweep": ["llm", "llama-3.2-1b", "--chip", "jetson-orin-nano-8gb", "--precision", "w4a16", "--sweep", "batch=1,4"],
        "plan-rank": ["plan", "examples/multi_camera.yaml", "--rank", "--category", "edge"],
    }
    for kind, args in cases.items():
        path = tmp_path / f"{kind}.html"
        rc, out, err = run_cli(*args, "--json", "--report", str(path))
        assert rc == 0, (kind, err)
        result = json.loads(out)
        assert result["command"] == kind
        page = path.read_text()
        assert f'data-kind="{kind}"' in page and '<figure class="chart"' in page
        assert page.count('class="pt"') > 0, kind
        if kind == "rank":   # one bar pair per chip that was checked
            n = len(result["chips"]) + len(result["insufficient"])
            assert page.count('<rect class="pt"') == 2 * n


def test_format_csv_and_markdown(run_cli, check_json):
    rc, out, err = run_cli("check", "resnet18", "--chip", "jetson-orin-nano-8gb", "--fps", "30", "--per-layer",
                           "--format", "csv")
    assert rc == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["name"] for r in rows] == [o["name"] for o in check_json["layers"]]
    assert sum(float(r["time_s"]) for r in rows) == pytest.approx(check_json["latency_s"], rel=1e-9)
    assert sum(int(r["macs"]) for r in rows) == check_json["macs"]
    rc, out, err = run_cli("check", "resnet18", "--chip", "jetson-orin-nano-8gb", "--fps", "30", "--format", "csv")
    summary = dict(csv.reader(io.StringIO(out)))
    assert float(summary["required_tops"]) == check_json["required_tops"] and summary["sufficient"] == "True"
    rc, out, err = run_cli("rank", "resnet18", "--fps", "30", "--category", "edge", "--format", "markdown")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "| quantity | value |" and "| required_tops | 0.1093 |" in lines
    header = next(line for line in lines if line.startswith("| chip |"))
    assert "max_fps" in header
    rc, out, err = run_cli("chips", "--category", "edge", "--format", "csv")
    chips = list(csv.DictReader(io.StringIO(out)))
    assert len(chips) >= 20 and all(c["category"] == "edge" for c in chips)
    rc, out, err = run_cli("check", "resnet18", "--chip", "coral", "--fps", "30", "--json", "--format", "csv")
    assert rc == 2 and "two formats" in err
    rc, out, err = run_cli("check", "resnet18", "--chip", "coral", "--fps", "30", "--format", "xml")
    assert rc == 2 and "--format must be one of" in err


def test_rank_explain_gives_each_chips_formula_efficiency_and_validation(run_cli):
    rc, out, err = run_cli("rank", "resnet18", "--fps", "30", "--category", "edge", "--json", "--explain")
    assert rc == 0, err
    d = json.loads(out)
    rows = {e["quantity"]: e["formula"] for e in d["explain"]}
    assert rows["required TOPS"].endswith(f"= {d['required_tops']:.4g} TOPS")
    orin = next(c for c in d["chips"] if c["chip"] == "jetson-orin-nano-8gb")
    line = rows["jetson-orin-nano-8gb:gpu"]
    assert "class nvidia-jetson-gpu" in line and "validation over 4 fit rows: median |error| 13.1 %" in line
    assert f"= {orin['max_fps']:,.0f} ≥ 30" in line
    assert "class rknn" in rows["rk3588:npu"] and "models left out of the fit" in rows["rk3588:npu"]  # the RKNN fit


def test_resnet18_worked_example_explained(tmp_path):
    """The worked example of a widely shared hand estimate: ResNet-18 at 30 FPS, INT8, on a 4-TOPS chip used at 60 %.

    By hand, from torchvision's own figure (weights.meta["_ops"] = 1.814 GMACs):
    2 × 1.814 G = 3.63 G operations of contractions per frame; × 30 = 0.109 TOPS; 4 TOPS × 0.6 = 2.4 TOPS usable;
    margin 2.4 − 0.109 = 2.29 TOPS; 0.109 / 2.4 = 4.6 % of the usable compute.
    """
    env = dict(os.environ, COLUMNS="250", CHIPFIT_CHIPS_DIR=str(tmp_path))
    p = subprocess.run([sys.executable, "-m", "chipfit", "check", "resnet18", "--chip", "coral", "--fps", "30",
                        "--utilization", "0.6", "--explain"], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    text = " ".join(p.stdout.split())
    macs_tv = 1.814e9                                   # torchvision ResNet18_Weights.IMAGENET1K_V1.meta["_ops"]
    required = 2 * macs_tv * 30 / 1e12
    assert required == pytest.approx(0.1088, abs=1e-4)
    assert "SUFFICIENT resnet18 on coral-edge-tpu at 30 FPS, int8" in text
    assert "FLOPs = 2 × MACs + other ops = 2 × 1.81 G + 14.6 M = 3.64 G" in text
    m = re.search(r"FLOPs × fps = 3\.64 G × 30/s = ([0-9.]+) TOPS", text)
    assert m and float(m.group(1)) == pytest.approx(required, rel=0.01)   # +0.4 %: the non-MAC ops
    assert "dense int8 peak × efficiency = 4 × 0.6 = 2.4 TOPS" in text
    m = re.search(r"effective − required = 2\.4 − ([0-9.]+) = ([0-9.]+) TOPS", text)
    assert m and float(m.group(2)) == pytest.approx(2.4 - required, abs=0.002)
    assert "memory fits → SUFFICIENT" in text
    assert "single factor --utilization 0.6" in text
    assert "not validated" in text or "validation on" in text


def test_a_page_shows_the_published_measurements_of_the_network_on_the_chip():
    from chipfit import check

    r = check("mobilenet_v2", "qcs8550", fps=30).to_dict()
    page = html_report.render(r)
    assert r["published"] and all(f"published, batch {m['batch']}" in page for m in r["published"])
    assert "github:quic/ai-hub-models" in page
    assert "published, batch" not in html_report.render(check("mobilenet_v2", "jetson-orin-nano-8gb", fps=30).to_dict())


def test_a_rank_page_shows_each_chips_published_batch_1_rate():
    from chipfit import rank
    from chipfit.core.units import num

    r = rank("mobilenet_v2", fps=30, category="mobile").to_dict()
    page = html_report.render(r)
    row = next(c for c in r["chips"] if c["chip"] == "snapdragon-8-elite")
    assert "measured (batch 1, published; ≈ carried from other chips)" in page
    assert all(num(m["throughput_fps"]) in page for m in row["published"] if m["batch"] == 1)


def test_the_page_says_what_the_verdict_rests_on_and_reads_results_saved_before_it_said_so():
    """A check resting on the network's published rows on the chip says so in its headline and summary
    (one row: "as published"); a rank page charts each chip's rate on its verdict's basis. A result saved
    before those keys existed (no ``measured_here``, ``chips``, ``here``, ``verdict_max_fps``) still renders."""
    import re

    from chipfit import check, rank

    here = check("yolov8n", "qcs8550", fps=200, runtime="tflite-qnn")
    assert here.verdict_basis == "measured_here" and len(here.here.rows) == 1
    text = re.sub(r"<[^>]+>", " ", html_report.render(json.loads(json.dumps(here.to_dict()))))
    assert "from its published measurement on this chip" in text and "as published on this chip" in text
    old = json.loads(json.dumps(check("yolov8n", "qcs8550", fps=500).to_dict()))
    assert old["verdict_basis"] == "measured_elsewhere"
    for key in ("measured_here", "verdict_max_fps", "verdict_max_fps_low", "verdict_max_fps_high"):
        old.pop(key)
    for key in ("here", "chips"):
        old["measured_elsewhere"].pop(key)
    assert "from its measurements on this chip and" in re.sub(r"<[^>]+>", " ", html_report.render(old))
    ranked = json.loads(json.dumps(rank("yolov8n", fps=200, runtime="tflite-qnn", category="edge").to_dict()))
    row = next(c for c in ranked["chips"] if c["chip"] == "qcs8550")
    assert row["verdict_max_fps"] == pytest.approx(here.verdict_fps[0]) != row["max_fps"]
    for c in ranked["chips"] + ranked["insufficient"]:
        c.pop("verdict_max_fps")
    assert "Chip comparison" in html_report.render(ranked)
