"""check / rank / chips on the command line: the JSON contract and one-sentence errors."""

import json

import pytest
from test_cli import assert_one_sentence_error

pytest.importorskip("torch", reason="needs torch")

CHECK_KEYS = {"model", "macs", "flops", "params", "weight_bytes", "activation_bytes", "unsupported_ops",
              "chip", "precision", "fps", "required_tops", "chip_peak_tops", "effective_tops", "latency_s",
              "max_fps", "bound", "required_bandwidth_gbps", "memory_fits", "sufficient", "margin_tops",
              "energy_per_inference_j"}


def test_check_json_has_the_contract_keys(run_cli):
    rc, out, err = run_cli("check", "resnet18", "--chip", "coral", "--fps", "30", "--precision", "int8",
                           "--utilization", "0.6", "--json", "--explain")
    assert rc == 0, err
    d = json.loads(out)
    assert CHECK_KEYS <= set(d)
    assert d["chip"] == "coral-edge-tpu" and d["precision"] == "int8" and d["fps"] == 30
    assert round(d["required_tops"], 3) == 0.109 and d["effective_tops"] == pytest.approx(2.4)
    assert round(d["margin_tops"], 2) == 2.29 and d["sufficient"] is True
    assert d["bound"] in ("compute", "memory")
    assert any(e["quantity"] == "required TOPS" for e in d["explain"])


def test_check_table_puts_the_verdict_first_and_explains(run_cli):
    rc, out, err = run_cli("check", "resnet18", "--chip", "jetson-orin-nano-8gb", "--fps", "30",
                           "--precision", "int8", "--explain")
    assert rc == 0, err
    assert out.lstrip().startswith(("SUFFICIENT", "UNCERTAIN", "INSUFFICIENT"))
    assert "FLOPs × fps" in out and "limiting" in out


def test_rank_and_chips_json(run_cli):
    rc, out, err = run_cli("rank", "resnet18", "--fps", "30", "--precision", "int8", "--category", "edge",
                           "--by", "energy", "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["chips"] and all(c["sufficient"] for c in d["chips"])
    energies = [c["energy_per_inference_j"] for c in d["chips"] if c["energy_per_inference_j"]]
    assert energies == sorted(energies)
    rc, out, err = run_cli("chips", "--category", "edge", "--json")
    assert rc == 0, err
    chips = json.loads(out)["chips"]
    assert len(chips) >= 20 and all(c["category"] == "edge" for c in chips)
    rc, out, err = run_cli("chips", "h100-sxm", "--json")
    ridge = {(r["precision"]): r["flop_per_byte"] for r in json.loads(out)["ridge_points"]}
    assert ridge["tf32"] == pytest.approx(147, rel=0.02)
    rc, out, err = run_cli("chips", "h100-sxm")
    assert rc == 0 and "FLOP:byte ridge point" in out and "derived" in out


@pytest.mark.parametrize("args, fragment", [
    (["check", "resnet18", "--chip", "jetson-orin-nano", "--fps", "30"], "did you mean"),
    (["check", "resnet18", "--chip", "coral", "--fps", "30", "--precision", "fp16"], "no dense fp16 peak"),
    (["check", "resnet18", "--chip", "coral", "--fps", "0"], "--fps must be positive"),
    (["check", "resnet18", "--chip", "coral", "--fps", "30", "--utilization", "1.2"], "--utilization must be in (0, 1], got 1.2"),
    (["rank", "resnet18", "--fps", "30", "--category", "spaceship"],
     "--category must be one of edge, mobile, desktop, datacenter, cpu, got spaceship"),
    (["chips", "--category", "spaceship"], "--category must be one of edge, mobile, desktop, datacenter, cpu"),
    (["chips", "no-such-chip"], "unknown chip"),
])
def test_bad_input_is_one_sentence_and_exit_2(run_cli, args, fragment):
    rc, out, err = run_cli(*args)
    assert_one_sentence_error(rc, out, err)
    assert fragment in err


def test_malformed_chips_file_points_at_the_field(run_cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("vendor: X\nsources:\n  s: {title: mine}\nchips:\n  - id: x1\n    name: X\n"
                   "    category: edge\n    efficiency_class: npu\n    dense:\n"
                   "      int8: {value: fast, source: s, flag: measured}\n")
    rc, out, err = run_cli("chips", "--chips-file", str(bad))
    assert_one_sentence_error(rc, out, err)
    assert "bad.yaml, line 10: chips[0].dense.int8.value" in err


def test_a_check_at_a_batch_shows_the_batchs_rate_and_energy_per_inference():
    """At --batch 8 the verdict judges 8 images per batch latency: the terminal shows that rate and its
    band, and the energy per inference is rated power × the batch's latency / 8 (at batch 1, × the
    latency)."""
    from rich.console import Console

    from chipfit import check
    from chipfit.core.units import num
    from chipfit.render.terminal.check import check_view

    one, eight = check("resnet50", "jetson-orin-nano-8gb", fps=500), check("resnet50", "jetson-orin-nano-8gb",
                                                                           fps=500, batch=8)
    assert one.energy_per_inference_j == pytest.approx(15 * one.latency_s)
    assert eight.energy_per_inference_j == pytest.approx(15 * eight.roof.latency_s / 8)
    assert eight.energy_per_inference_j < one.energy_per_inference_j
    console = Console(width=200, record=True)
    console.print(check_view(eight))
    text = console.export_text()
    fps, slow, fast = eight.class_fps
    assert fps == pytest.approx(8 / eight.roof.latency_s)
    assert "batch 8      " in text and f"= {num(fps)} FPS ({num(slow)}-{num(fast)})" in text
    assert "per inference (batch 8) at 15 W" in text
