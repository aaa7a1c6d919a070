"""``chipfit serve``: the JSON endpoints against the Python API and the CLI, uploads, refusals.

Runs the FastAPI app in process (starlette's TestClient), its computations in the real worker
process (one app for the module: a worker takes seconds to start); tests that build an app of
their own run computations in process. Hostile requests are in ``test_serve_hostile.py``, the
browser tests in ``test_serve_browser.py`` and the property-based test of the OpenAPI schema in
``test_serve_schema.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
onnx = pytest.importorskip("onnx")
from fastapi.testclient import TestClient  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import chipfit  # noqa: E402
from chipfit.analysis.llm import sweep as llm_sweep  # noqa: E402
from chipfit.render.html import page as html_report  # noqa: E402
from chipfit.serve import create_app, require  # noqa: E402
from chipfit.serve.guard import TOKEN_HEADER  # noqa: E402
from chipfit.serve.run import allowed_hosts, check_host, is_loopback  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY_MACS = 4 * 3 * 9 * 8 * 8   # Conv 3→4 channels, 3×3 kernel, 8×8 output
YAML = {"content-type": "application/yaml"}


def page_client(app, **kwargs) -> TestClient:
    """A client that sends the token, as the app's page does."""
    return TestClient(app, headers={TOKEN_HEADER: app.state.token}, **kwargs)


def tiny_onnx(path: Path) -> Path:
    """One Conv (1×3×8×8 → 1×4×8×8, 3×3, padded): 6,912 MACs."""
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
        [numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def plain(d: dict) -> dict:
    """A dict as it comes back from JSON (tuples as lists)."""
    return json.loads(json.dumps(d))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app with its worker process, uploads (limit 4 KiB) going to a folder of their own (to
    see them deleted); the worker stops with the client."""
    folder = tmp_path_factory.mktemp("uploads")
    with page_client(create_app(4096, upload_dir=str(folder))) as c:
        yield c, folder


@pytest.fixture
def client(served):
    return served[0]


@pytest.fixture
def uploads(served):
    return served


# -- the commands: the same JSON as the Python API and the CLI -----------------------------------

def test_check_equals_cli_json(client, run_cli):
    args = dict(model="resnet18", chip="rk3588", fps=30, precision="int8")
    got = client.get("/api/check", params=args)
    assert got.status_code == 200, got.text
    rc, out, err = run_cli("check", "resnet18", "--chip", "rk3588", "--fps", "30", "--precision", "int8", "--json")
    assert rc == 0, err
    assert got.json() == json.loads(out)
    # the page's query (every op, every formula) is the CLI's --per-layer --explain
    full = client.get("/api/check", params={**args, "per_layer": True, "explain": True}).json()
    assert full["layers"] and full["explain"]
    assert {k: v for k, v in full.items() if k not in ("layers", "explain")} == got.json()


def test_llm_equals_cli_json(client, run_cli):
    got = client.get("/api/llm", params=dict(model="llama-2-7b", chip="rtx-4090", prompt=256, output=64,
                                             precision="w4a16", explain=True))
    assert got.status_code == 200, got.text
    rc, out, err = run_cli("llm", "llama-2-7b", "--chip", "rtx-4090", "--prompt", "256", "--output", "64",
                           "--precision", "w4a16", "--explain", "--json")
    assert rc == 0, err
    assert got.json() == json.loads(out)


def test_whatif_equals_cli_json(client, run_cli):
    args = dict(model="resnet18", chip="rk3588", fps=30, levers="batch,input", batches=2)
    got = client.get("/api/whatif", params=args)
    assert got.status_code == 200, got.text
    rc, out, err = run_cli("whatif", "resnet18", "--chip", "rk3588", "--fps", "30", "--lever", "batch,input",
                           "--batch", "2", "--json")
    assert rc == 0, err
    cli = json.loads(out)
    assert got.json() == plain(cli) and cli["command"] == "whatif"
    assert {o["lever"] for o in cli["options"]} == {"as given", "batch", "input size"}
    # lists as repeated query parameters, and as a JSON body (a list or the CLI's comma string)
    repeated = client.get("/api/whatif", params=[("model", "resnet18"), ("chip", "rk3588"), ("fps", 30),
                                                 ("levers", "batch"), ("levers", "input"), ("batches", 2)])
    assert repeated.status_code == 200 and repeated.json() == got.json()
    for body in ({**args, "levers": ["batch", "input"], "batches": [2]}, args):
        posted = client.post("/api/whatif", json=body)
        assert posted.status_code == 200 and posted.json() == got.json()
    assert client.post("/api/render", json=got.json()).json()["kind"] == "whatif"


@pytest.mark.parametrize("params, words", [
    (dict(levers="sparsity"), "rk3588:npu lists no sparse int8 peak: 2:4 sparsity is not accelerated on this chip"),
    (dict(prune_ratios=1.5), "prune_ratios item 1 must be in (0, 1), got 1.5"),
    (dict(prune_ratios="0.25,1.5"), "prune_ratios item 2 must be in (0, 1), got 1.5"),
    (dict(scales=0), "scales item 1 must be in (0, 1), got 0"),
    (dict(scales=",".join(["0.5"] * 9)), "scales must have at most 8 values"),
    (dict(batches=1), "batches item 1 must be at least 2, got 1"),
    (dict(batches=4096), "batches item 1 must be at most 1024, got 4096"),
    (dict(levers="batch,speed"), "levers item 2 must be one of precision, batch, input, sparsity, unstructured, prune, lighter, got speed"),
    (dict(to_precision="fp16"), "rk3588:npu has no dense fp16 peak, so fp16 is not an option on this chip"),
    (dict(fps=-1), "fps must be positive, got -1"),
])
def test_whatif_refusals(client, params, words):
    """The CLI's refusals (the same sentence) and out-of-range settings: 422, one sentence, before any work."""
    r = client.get("/api/whatif", params={"model": "resnet18", "chip": "rk3588", "fps": 30, **params})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error.startswith(words) and "\n" not in error, error


def test_whatif_sparsity_refusal_is_the_cli_sentence(client, run_cli):
    r = client.get("/api/whatif", params=dict(model="resnet18", chip="rk3588", fps=30, levers="sparsity"))
    rc, out, err = run_cli("whatif", "resnet18", "--chip", "rk3588", "--fps", "30", "--lever", "sparsity", "--json")
    assert rc == 2 and json.loads(out)["exit_code"] == 2
    assert r.status_code == 422 and err.strip() == f"chipfit: {r.json()['error']}"


@pytest.mark.parametrize("path, params, expected", [
    ("/api/count", dict(model="resnet18", precision="int8", per_layer=True),
     lambda: {"command": "count", **chipfit.count("resnet18", precision="int8").to_dict(per_layer=True, depth=1)}),
    ("/api/count", dict(model="gpt2", seq_len=64, phase="prefill"),
     lambda: {"command": "count", **chipfit.count("gpt2", seq_len=64, phase="prefill").to_dict(depth=1)}),
    ("/api/check", dict(model="bert-base", chip="jetson-orin-nano-8gb", fps=10, precision="fp16", seq_len=128),
     lambda: {"command": "check", **chipfit.check("bert-base", "jetson-orin-nano-8gb", fps=10, precision="fp16",
                                                  seq_len=128).to_dict()}),
    ("/api/rank", dict(model="mobilenet_v2", fps=60, category="edge", by="latency"),
     lambda: {"command": "rank", **chipfit.rank("mobilenet_v2", fps=60, category="edge", by="latency").to_dict()}),
    ("/api/llm", dict(model="qwen2.5-0.5b", chip="jetson-orin-nano-8gb", sweep="batch=1,4"),
     lambda: {"command": "llm-sweep", **llm_sweep("qwen2.5-0.5b", "jetson-orin-nano-8gb", "batch", [1, 4]).to_dict()}),
])
def test_endpoint_equals_python_api(client, path, params, expected):
    got = client.get(path, params=params)
    assert got.status_code == 200, got.text
    assert got.json() == plain(expected())
    posted = client.post(path, json=params)      # the same parameters as a JSON body
    assert posted.status_code == 200 and posted.json() == got.json()


def test_aliases_resolve_to_the_builtin_model(client):
    a = client.get("/api/count", params={"model": "Llama-2-7b-hf"}).json()
    b = client.get("/api/count", params={"model": "llama-2-7b"}).json()
    assert a == b and a["model"] == "llama-2-7b"


def test_identical_queries_are_cached(tmp_path):
    c = page_client(create_app(in_process=True))
    args = dict(model="resnet50", chip="hailo-8", fps=25)
    first = c.get("/api/check", params=args).json()
    t = time.perf_counter()
    again = c.get("/api/check", params=args).json()
    assert time.perf_counter() - t < 0.5
    assert first == again and len(c.app.state.cache._items) == 1


def test_plan_equals_python_api(client):
    text = (ROOT / "examples" / "multi_camera.yaml").read_text()
    got = client.post("/api/plan", content=text, headers={"content-type": "application/yaml"})
    assert got.status_code == 200, got.text
    assert got.json() == plain({"command": "plan", **chipfit.plan(ROOT / "examples" / "multi_camera.yaml").to_dict()})
    ranked = client.post("/api/plan", params={"rank": True, "category": "edge"}, content=text, headers=YAML)
    assert ranked.status_code == 200 and ranked.json()["command"] == "plan-rank" and ranked.json()["chips"]


def test_pickers(client, run_cli):
    models = client.get("/api/models").json()["models"]
    assert {"resnet18", "llama-2-7b", "whisper-base"} <= {m["name"] for m in models}
    rc, out, err = run_cli("chips", "--json")
    assert rc == 0, err
    assert client.get("/api/chips").json() == json.loads(out)
    edge = client.get("/api/chips", params={"category": "edge"}).json()["chips"]
    assert edge and all(c["category"] == "edge" for c in edge)


def test_render_is_the_report(client):
    result = client.get("/api/check", params=dict(model="resnet18", chip="rk3588", fps=30, per_layer=True,
                                                  explain=True)).json()
    got = client.post("/api/render", json=result).json()
    kind, title, body = html_report.fragment(result)
    assert got == {"kind": kind, "title": title, "html": body} and kind == "check"
    assert 'data-chart="roofline"' in body and 'id="verdict"' in body
    page = client.post("/api/render", params={"full": True}, json=result).json()["html"]
    assert page.startswith("<!DOCTYPE html>") and body in page


# -- bad input: 4xx and one sentence, never a 500 ------------------------------------------------

@pytest.mark.parametrize("path, params, status, words", [
    ("/api/check", dict(model="resnet18", chip="no-such-chip", fps=30), 422, "unknown chip 'no-such-chip'"),
    ("/api/check", dict(model="resnt18", chip="rk3588", fps=30), 422, "did you mean resnet18"),
    ("/api/check", dict(model="resnet18", chip="rk3588", fps=0), 422, "fps must be positive, got 0"),
    ("/api/check", dict(model="resnet18", chip="rk3588", fps="inf"), 422, "fps must be a finite number, got inf"),
    ("/api/check", dict(model="resnet18", chip="rk3588"), 422, "missing parameter 'fps'"),
    ("/api/check", dict(model="resnet18", chip="rk3588", fps=30, colour="red"), 422, "unknown parameter 'colour'"),
    ("/api/count", dict(model="resnet18", precision="int3"), 422, "precision must be one of fp32, tf32"),
    ("/api/count", dict(model="resnet18", seq_len=8), 422, "takes images"),
    ("/api/llm", dict(model="resnet18", chip="rtx-4090"), 422, "decoder language model"),
    ("/api/rank", dict(model="resnet18", fps=30, category="garden"), 422, "category must be one of edge, mobile"),
    ("/api/nothing", {}, 404, "no such page or endpoint"),
])
def test_bad_input_is_one_sentence(client, path, params, status, words):
    r = client.get(path, params=params)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert words in error and "\n" not in error and "Traceback" not in error


def test_a_model_that_does_not_fit_gets_its_timings_and_the_advice(client):
    r = client.get("/api/llm", params=dict(model="llama-2-70b", chip="jetson-orin-nano-8gb"))
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["memory_fits"] is False and d["ttft_s"] > 0 and "does not fit" in d["advice"] and "GB" in d["advice"]


def test_bad_bodies(client):
    assert client.post("/api/check", content=b"{", headers={"content-type": "application/json"}).status_code == 422
    r = client.post("/api/check", json=[1, 2])
    assert r.status_code == 422 and "JSON object" in r.json()["error"]
    r = client.post("/api/plan", content=b"", headers=YAML)
    assert r.status_code == 422 and "empty" in r.json()["error"]
    r = client.post("/api/plan", content=b"name: x\nstages: [\n", headers=YAML)
    assert r.status_code == 422 and "not valid YAML" in r.json()["error"]
    r = client.post("/api/plan", content="!!python/object/apply:os.system ['true']", headers=YAML)
    assert r.status_code == 422 and "not allowed" in r.json()["error"]
    r = client.post("/api/render", json={"command": "rank", "chips": 3})
    assert r.status_code == 422 and r.json()["error"]
    assert client.delete("/api/check").status_code == 405


@pytest.mark.parametrize("model", [
    "serve_probe_module:build", "os:getcwd", "/etc/passwd", "model.onnx", "../models/tiny.onnx",
    "config.json", "~/.cache/x", "C:\\models\\net.onnx", str(ROOT / "tests" / "fixtures" / "models.py"),
])
def test_files_and_callables_are_refused(model, tmp_path, monkeypatch):
    """The CLI's MODEL may be a file or module:callable; the web API takes built-in names only
    (computed in process: the module would be importable here)."""
    client = page_client(create_app(in_process=True))
    marker = tmp_path / "imported"
    (tmp_path / "serve_probe_module.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n\ndef build():\n    raise SystemExit('built')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for path, params in (("/api/count", {}), ("/api/check", {"chip": "rk3588", "fps": 30}),
                         ("/api/rank", {"fps": 30}), ("/api/llm", {"chip": "rtx-4090"}),
                         ("/api/whatif", {"chip": "rk3588", "fps": 30, "levers": "batch"})):
        r = client.get(path, params={"model": model, **params})
        assert r.status_code == 422, (path, r.text)
        assert "not a built-in model name" in r.json()["error"]
    for kind in ("model", "llm"):
        scenario = f"name: s\nchip: rk3588\nstages:\n  - name: a\n    {kind}: '{model}'\n    rate: 1\n"
        r = client.post("/api/plan", content=scenario, headers=YAML)
        assert r.status_code == 422 and f"stages[0].{kind}" in r.json()["error"], r.text
    assert not marker.exists(), "the web API imported a module named in a request"
    assert "serve_probe_module" not in sys.modules


# -- uploads ----------------------------------------------------------------------------------

def test_upload_counts_onnx_and_deletes_it(uploads, tmp_path):
    client, folder = uploads
    model = tiny_onnx(tmp_path / "tiny.onnx")
    r = client.post("/api/upload", files={"file": ("tiny.onnx", model.read_bytes(), "application/octet-stream")})
    assert r.status_code == 200, r.text
    assert r.json()["macs"] == TINY_MACS
    assert r.json() == plain({"command": "count", **chipfit.count(str(model)).to_dict(depth=1)})
    assert list(folder.iterdir()) == []     # nothing kept


def test_upload_check_and_rank_equal_the_cli_path(uploads, tmp_path):
    client, folder = uploads
    model = tiny_onnx(tmp_path / "tiny.onnx")
    data = model.read_bytes()
    r = client.post("/api/upload", params=dict(view="check", chip="rk3588", fps=30, explain=True),
                    files={"file": ("tiny.onnx", data)})
    assert r.status_code == 200, r.text
    expected = chipfit.check(str(model), "rk3588", fps=30)
    assert r.json() == plain({"command": "check", **expected.to_dict(),
                              "explain": [{"quantity": q, "formula": f} for q, f in expected.explain()]})
    raw = client.post("/api/upload", params=dict(view="rank", fps=30, filename="tiny.onnx"), content=data,
                      headers={"content-type": "application/octet-stream"})
    assert raw.status_code == 200, raw.text
    assert raw.json() == plain({"command": "rank", **chipfit.rank(str(model), fps=30).to_dict()})
    assert list(folder.iterdir()) == []


def test_upload_of_a_text_file_is_a_clear_400(uploads):
    client, folder = uploads
    r = client.post("/api/upload", files={"file": ("notes.txt", b"these are my notes, not a model\n")})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error.startswith("'notes.txt' is not a readable ONNX model") and str(folder) not in error
    assert list(folder.iterdir()) == []


def test_upload_over_the_limit_is_413(uploads):
    client, folder = uploads
    big = b"\0" * 5000
    r = client.post("/api/upload", files={"file": ("big.onnx", big)})
    assert r.status_code == 413 and "larger than the upload limit of 4,096 bytes" in r.json()["error"]
    r = client.post("/api/upload", content=big, headers={"content-type": "application/octet-stream"})
    assert r.status_code == 413

    def chunks():     # no Content-Length: the limit holds while streaming
        for _ in range(10):
            yield b"\0" * 1000

    r = client.post("/api/upload", content=chunks(), headers={"content-type": "application/octet-stream"})
    assert r.status_code == 413
    assert list(folder.iterdir()) == []


def test_upload_refusals(uploads, tmp_path):
    client, folder = uploads
    data = tiny_onnx(tmp_path / "t.onnx").read_bytes()
    r = client.post("/api/upload", data={"note": "no file here"}, files={"other": (None, "x")})
    assert r.status_code == 400 and "no file" in r.json()["error"]
    r = client.post("/api/upload", files=[("file", ("a.onnx", data)), ("file", ("b.onnx", data))])
    assert r.status_code == 400 and "one ONNX file" in r.json()["error"]
    r = client.post("/api/upload", content=data, headers={"content-type": "text/plain"})
    assert r.status_code == 415
    r = client.post("/api/upload", params={"view": "check"}, files={"file": ("t.onnx", data)})
    assert r.status_code == 422 and "chip and fps" in r.json()["error"]
    r = client.post("/api/upload", params={"view": "check", "chip": "nope", "fps": 1}, files={"file": ("t.onnx", data)})
    assert r.status_code == 422 and "unknown chip" in r.json()["error"]
    assert list(folder.iterdir()) == []


# -- the page, the host guard, the command --------------------------------------------------------

def test_page_and_static_files_are_local(client):
    page = client.get("/")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    texts = [page.text] + [client.get(f"/static/{f}").text for f in ("app.js", "app.css", "favicon.svg")]
    for text in texts:
        urls = [u for u in re.findall(r"https?://[^\s'\"<>)]+", text)
                if u != "http://www.w3.org/2000/svg"]
        assert urls == []
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/api/check", "/api/upload", "/api/plan"}
    assert client.get("/docs").status_code == 404    # Swagger UI would load scripts from a CDN


def test_loopback_server_refuses_other_host_names():
    c = TestClient(create_app(allowed_hosts=allowed_hosts("127.0.0.1"), in_process=True),
                   base_url="http://attacker.example")
    r = c.get("/api/chips")
    assert r.status_code == 400 and "answers only" in r.json()["error"]
    ok = TestClient(create_app(allowed_hosts=allowed_hosts("127.0.0.1"), in_process=True),
                    base_url="http://localhost:8000")
    assert ok.get("/api/chips").status_code == 200


def test_loopback_detection():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.com"))
    assert check_host("127.0.0.1", False) is None
    with pytest.raises(chipfit.ChipfitError, match="pass allow_remote to serve"):
        check_host("0.0.0.0", False)
    assert "no authentication" in check_host("0.0.0.0", True)


def test_serve_needs_allow_remote_for_a_network_address(run_cli):
    rc, out, err = run_cli("serve", "--host", "0.0.0.0", "--port", "8999", timeout=60)
    assert rc == 2 and out == ""
    assert err.startswith("chipfit: --host 0.0.0.0 is reachable from other machines: pass --allow-remote")
    assert len(err.strip().splitlines()) == 1


def test_serve_with_allow_remote_warns(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([sys.executable, "-m", "chipfit", "serve", "--host", "0.0.0.0", "--port", str(port),
                          "--allow-remote"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = p.stderr.readline()
    finally:
        p.terminate()
        p.wait(timeout=30)
    assert first.startswith("chipfit: warning: serving on 0.0.0.0") and "no authentication" in first


def test_missing_web_stack_is_one_sentence(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvicorn" else real(name, *a))
    with pytest.raises(chipfit.MissingDependency, match=r"pip install 'chipfit\[serve\]'"):
        require()
