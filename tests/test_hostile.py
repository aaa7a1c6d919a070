"""Hostile files on the command line: every one is refused in one sentence with exit code 2,
quickly and in bounded memory; nothing a user wrote is damaged; ``--json`` is strict JSON.

Each case is a small file an attacker could send (an ONNX model, a scenario, a chip file, a
saved result, a measurement CSV) or an absurd number a script could pass. The web server's
own protections are tested in ``test_serve_hostile.py``; config.json validation in
``test_hostile_configs.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from chipfit.calibration.calibrate import append_row, read_rows  # noqa: E402
from chipfit.core.fileio import write_atomic  # noqa: E402

OPSET = [helper.make_opsetid("", 17), helper.make_opsetid("bomb", 1)]
CHIP = """vendor: Test
sources:
  s: {title: "a made-up chip", date: "2026"}
chips:
  - id: testchip
    name: Test chip
    category: cpu
    efficiency_class: cpu
    dense:
      fp32: {value: PEAK, source: s, flag: datasheet}
    memory_bandwidth_gbps: {value: 20, source: s, flag: datasheet}
"""


def refused(result, *words: str) -> str:
    """Exit code 2 and one line on stderr naming ``words``; nothing on stdout."""
    rc, out, err = result
    assert rc == 2, (rc, out[-300:], err[-600:])
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    return err


def strict_json(text: str):
    """``json.loads`` that refuses NaN and Infinity (they are not JSON)."""
    def no(constant):
        raise AssertionError(f"{constant} in the JSON output")
    return json.loads(text, parse_constant=no)


# -- ONNX ---------------------------------------------------------------------------------
def _functions_model(path: Path, levels: int, calls: int = 2, self_call: bool = False) -> Path:
    """F0 = Relu; F(i) calls F(i-1) ``calls`` times in a chain: F(levels) inlines to calls**levels nodes."""
    funcs = [helper.make_function("bomb", "F0", ["x"], ["y"],
                                  [helper.make_node("F0" if self_call else "Relu", ["x"], ["y"],
                                                    domain="bomb" if self_call else "")], opset_imports=OPSET)]
    for i in range(1, levels + 1):
        names = ["x"] + [f"t{k}" for k in range(calls - 1)] + ["y"]
        nodes = [helper.make_node(f"F{i - 1}", [names[k]], [names[k + 1]], domain="bomb") for k in range(calls)]
        funcs.append(helper.make_function("bomb", f"F{i}", ["x"], ["y"], nodes, opset_imports=OPSET))
    g = helper.make_graph([helper.make_node(f"F{levels}", ["x"], ["y"], domain="bomb")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])])
    onnx.save(helper.make_model(g, functions=funcs, opset_imports=OPSET), path)
    return path


#: runs chipfit and writes the peak RSS (KiB) of that child to argv[1]; a small process forks it,
#: because Linux keeps a child's peak RSS across exec, and a fork of the test worker (torch
#: loaded) would start at the worker's
_MEASURE = ("import resource, subprocess, sys; rc = subprocess.call([sys.executable, '-m', 'chipfit', *sys.argv[2:]]); "
            "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(rc)")


def _process(*args: str, timeout: float = 60) -> tuple[int, str, str, float, float]:
    """``python -m chipfit ARGS`` in a fresh process: (rc, out, err, seconds, peak RSS in GiB of
    that process, its own children included)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        peak = Path(tmp) / "peak"
        start = time.monotonic()
        p = subprocess.run([sys.executable, "-c", _MEASURE, str(peak), *args], capture_output=True, text=True,
                           timeout=timeout)
        took = time.monotonic() - start
        return p.returncode, p.stdout, p.stderr, took, int(peak.read_text()) / 2**20


def test_a_2kb_function_bomb_is_refused_before_inlining_in_bounded_time_and_memory(tmp_path):
    path = _functions_model(tmp_path / "bomb.onnx", 30)
    assert path.stat().st_size < 4096
    rc, out, err, took, peak_gib = _process("count", str(path))
    refused((rc, out, err), "more than 1,000,000 nodes", "--max-onnx-nodes")
    assert took < 10 and peak_gib < 1, (took, peak_gib)


def test_raising_the_node_cap_leaves_the_memory_cap_of_the_child(run_cli, tmp_path):
    path = _functions_model(tmp_path / "bomb.onnx", 30)
    start = time.monotonic()
    err = refused(run_cli("--max-onnx-nodes", "2000000000", "--onnx-memory-gb", "0.25", "count", str(path)))
    assert "--onnx-memory-gb" in err or "--onnx-seconds" in err
    assert time.monotonic() - start < 30


def test_the_time_cap_of_the_child(run_cli, tmp_path):
    path = _functions_model(tmp_path / "bomb.onnx", 30)
    refused(run_cli("--max-onnx-nodes", "2000000000", "--onnx-memory-gb", "8", "--onnx-seconds", "0.5",
                    "count", str(path)), "more than 0.5 s", "--onnx-seconds")


def test_a_function_that_calls_itself_and_deep_nesting_are_refused(run_cli, tmp_path):
    refused(run_cli("count", str(_functions_model(tmp_path / "self.onnx", 1, self_call=True))), "calls itself")
    refused(run_cli("count", str(_functions_model(tmp_path / "deep.onnx", 80, calls=1))),
            "more than 64 levels", "--max-onnx-depth")
    rc, out, err = run_cli("--max-onnx-depth", "100", "count", str(tmp_path / "deep.onnx"), "--json")
    assert rc == 0, err
    assert strict_json(out)["by_kind"]  # the 80 nested calls inline to one Relu, counted


def test_a_model_of_zero_cost_gives_null_rates_not_infinity(run_cli, tmp_path):
    """A graph whose only work is constant: no MACs, no bytes; a rate would divide by zero."""
    shape = helper.make_tensor("s", TensorProto.INT64, [1], [8])
    g = helper.make_graph([helper.make_node("Reshape", ["x", "s"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializer=[shape])
    path = tmp_path / "free.onnx"
    onnx.save(helper.make_model(g, opset_imports=OPSET[:1]), path)
    rc, out, err = run_cli("check", str(path), "--chip", "rk3588", "--fps", "30", "--json")
    assert rc == 0, err
    d = strict_json(out)
    assert d["macs"] == 0 and d["max_fps"] is None


# -- YAML, JSON, CSV data files -------------------------------------------------------------
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" \
         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, !!python/name:os.system]\n"


@pytest.mark.parametrize("command", [("plan", "{}", "--chip", "rk3588"), ("chips", "--chips-file", "{}")])
def test_yaml_anchor_bombs_and_control_characters_are_refused_while_read(run_cli, tmp_path, command):
    for text, words in ((LAUGHS, "anchors and aliases"), ("name: \x1b\n", "not valid YAML"),
                        ("a:\n" + "".join(" " * i + "- \n" for i in range(1, 200)), "nests deeper than 64")):
        path = tmp_path / "hostile.yaml"
        path.write_text(text, encoding="utf-8")
        start = time.monotonic()
        refused(run_cli(*[c.format(path) for c in command]), words)
        assert time.monotonic() - start < 10


def _scenario(tmp_path: Path, stages: list[str], name: str = "s") -> Path:
    body = "".join(f"  - name: s{i}\n    model: {json.dumps(m)}\n    rate: {{per_s: 1}}\n"
                   for i, m in enumerate(stages))
    path = tmp_path / "scenario.yaml"
    path.write_text(f"name: {json.dumps(name)}\nchip: rk3588\nstages:\n{body}", encoding="utf-8")
    return path


@pytest.mark.parametrize("model", ["os:abort", "http.server:test", "sys:exit"])
def test_a_scenario_never_imports_code_unless_allowed(run_cli, tmp_path, model):
    refused(run_cli("plan", str(_scenario(tmp_path, [model]))), "names Python code", "--allow-code")


def test_a_measurement_csv_never_imports_code_unless_allowed(run_cli, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("model,batch,precision,median_s,runtime\nos:abort,1,fp32,0.01,onnxruntime\n", encoding="utf-8")
    refused(run_cli("calibrate", "rk3588", "--from", str(rows)),
            "names Python code", "--allow-code")


def test_too_many_stages_are_refused_before_any_work(run_cli, tmp_path):
    path = _scenario(tmp_path, ["resnet18"] * 1500)
    refused(run_cli("plan", str(path)), "1,500 stages", "--max-stages")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("make", [
    lambda p: ("plan", p, "--chip", "rk3588"),
    lambda p: ("chips", "--chips-file", p),
    lambda p: ("report", p),
    lambda p: ("calibrate", "rk3588", "--from", p),
    lambda p: ("llm", p, "--chip", "rtx-4090"),
], ids=["scenario", "chips-file", "report", "calibrate", "config.json"])
def test_devices_pipes_and_big_files_are_refused_without_reading_them(run_cli, tmp_path, make):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    big = tmp_path / "big"
    big.write_text(" " * (2 << 20), encoding="utf-8")
    for target, words in (("/dev/zero", "not a regular file"), (fifo, "not a regular file"), (big, "--max-file-mb")):
        path = tmp_path / "model" / "config.json" if make("")[0] == "llm" else tmp_path / "file.yaml"
        path.parent.mkdir(exist_ok=True)
        path.unlink(missing_ok=True)
        path.symlink_to(target)
        start = time.monotonic()
        refused(run_cli("--max-file-mb", "1", *make(str(path))), words)
        assert time.monotonic() - start < 10


def test_deeply_nested_and_malformed_saved_results_are_one_sentence(run_cli, tmp_path):
    cases = {"deep.json": ("[" * 100_000 + "]" * 100_000, "nests deeper"),
             "list.json": ("[1, 2]", "not a chipfit result"),
             "nan.json": ('{"command": "check", "fps": NaN}', "not valid JSON"),
             "field.json": ('{"command": "check", "model": {"a": 1}}', "malformed field")}
    for name, (text, words) in cases.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        refused(run_cli("report", str(path), "--output", str(tmp_path / "out.html")), words)
        assert not (tmp_path / "out.html").exists()


# -- numbers ------------------------------------------------------------------------------
@pytest.mark.parametrize("args, words", [
    (("check", "resnet18", "--chip", "rk3588", "--fps", "inf", "--json"), "--fps must be a finite number"),
    (("check", "resnet18", "--chip", "rk3588", "--fps", "1e400", "--json"), "--fps must be a finite number"),
    (("check", "resnet18", "--chip", "rk3588", "--fps", "nan", "--json"), "--fps"),
    (("whatif", "resnet18", "--chip", "rk3588", "--fps", "30", "--batch", "nan"), "--batch"),
    (("llm", "llama-2-7b", "--chip", "rtx-4090", "--overhead-gb", "inf", "--json"), "--overhead-gb"),
    (("count", "x" * 300), "unknown model"),
    (("count", "x" * 300 + ".onnx"), "does not exist"),
    (("--max-file-mb", "inf", "chips"), "--max-file-mb must be a positive number"),
])
def test_absurd_numbers_and_names_are_bad_input(run_cli, args, words):
    refused(run_cli(*args), words)


def test_plan_load_inf_is_bad_input(run_cli, tmp_path):
    refused(run_cli("plan", str(_scenario(tmp_path, ["resnet18"])), "--load", "inf", "--json"), "--load")


@pytest.mark.parametrize("peak, words", [(".inf", "finite number"), ("1e308", "less than or equal to"),
                                         (".nan", "finite number"), ("-1", "greater than 0")])
def test_absurd_chip_figures_are_refused_with_their_line(run_cli, tmp_path, peak, words):
    path = tmp_path / "chip.yaml"
    path.write_text(CHIP.replace("PEAK", peak), encoding="utf-8")
    refused(run_cli("check", "resnet18", "--chip", "testchip", "--fps", "1", "--chips-file", str(path), "--json"),
            "line 10", "dense.fp32.value", words)


# -- module:callable on the command line ----------------------------------------------------------
def test_user_code_that_exits_or_prints_never_breaks_the_output(run_cli):
    refused(run_cli("count", "sys:exit", "--json"), "called exit")
    rc, out, err = run_cli("count", "this:s", "--json")
    assert rc == 2 and "Zen of Python" in err and "not callable" in err
    assert json.loads(out) == {"error": "'this:s' is not callable", "exit_code": 2}  # stdout: JSON only


# -- nothing damaged ------------------------------------------------------------------------------
def test_an_append_ends_the_last_row_first(tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("model,batch,median_s,note\nmine,1,0.5,kept", encoding="utf-8")  # no final newline
    r = SimpleNamespace(model="resnet18", input_shape=None, seq_len=None, batch=1, precision="fp32",
                        runtime="onnxruntime", device="cpu", threads=2, runs=5, median_s=0.01, p90_s=0.02,
                        min_s=0.009, prediction=None, predicted_s=None, error=None, runtime_version="1")
    append_row(rows, r)
    saved = read_rows(rows)
    assert [s["model"] for s in saved] == ["mine", "resnet18"]
    assert saved[0]["note"] == "kept" and saved[1]["median_s"] == "0.01"


def test_a_write_goes_through_a_symbolic_link_to_the_real_file(tmp_path):
    real = tmp_path / "data" / "chips.yaml"
    real.parent.mkdir()
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "chips.yaml"
    link.symlink_to(real)
    write_atomic(link, "new\n", overwrite=True)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text(encoding="utf-8") == "new\n"


# -- the HTML report ------------------------------------------------------------------------------
def test_markup_in_a_result_cannot_disable_the_reports_script(run_cli, tmp_path):
    hostile = "<!--<script></script><b>x</b>"
    report = tmp_path / "plan.html"
    rc, _, err = run_cli("plan", str(_scenario(tmp_path, ["resnet18"], name=hostile)), "--report", str(report))
    assert rc in (0, 1), err
    page = report.read_text(encoding="utf-8")
    embedded = [chunk.split("</script>", 1)[0] for chunk in page.split('type="application/json"')[1:]]
    assert embedded, "the page embeds its result as JSON"
    for data in embedded:
        assert "<!--" not in data and "<script" not in data and "</" not in data
    assert "\\u003c!--\\u003cscript" in page  # the name is there, escaped
