"""``chipfit serve`` against hostile requests: other sites, bodies without end, malformed and
extreme input, and computations that would take the server down.

Every refusal is a 4xx (or a 503 for a computation stopped at the time limit) with
``{"error": one sentence}``. Most tests run computations in process; those about isolation use
the real worker processes (each takes seconds to start).
"""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from chipfit.serve import create_app  # noqa: E402
from chipfit.serve import worker as worker_module  # noqa: E402
from chipfit.serve.guard import TOKEN_HEADER  # noqa: E402
from chipfit.serve.worker import Pool, WorkError  # noqa: E402

YAML = {"content-type": "application/yaml"}
LLM = {"model": "llama-2-7b", "chip": "rtx-4090"}      # a query that traces nothing: quick
SCENARIO = "name: x\nchip: {chip}\n{top}stages:\n  - {{name: a, {kind}: {model}, {keys}}}\n"


def page_client(app, **kwargs) -> TestClient:
    """A client that sends the token, as the app's page does."""
    return TestClient(app, headers={TOKEN_HEADER: app.state.token}, **kwargs)


@pytest.fixture(scope="module")
def client():
    return page_client(create_app(4096, in_process=True))


def refused(r, status: int, *words: str) -> str:
    """The one-sentence error of a refusal with ``status`` that contains ``words``."""
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error and "\n" not in error and "Traceback" not in error, error
    for w in words:
        assert w in error, error
    return error


# -- other sites --------------------------------------------------------------------------------

@pytest.mark.parametrize("origin", ["http://evil.example", "http://testserver:8080", "https://testserver", "null"])
def test_cross_site_origin_is_refused(client, origin):
    refused(client.get("/api/chips", headers={"origin": origin}), 403, "only its own page")
    refused(client.get("/api/check", params={"model": "resnet18", "chip": "rk3588", "fps": 30},
                       headers={"origin": origin}), 403, "only its own page")
    refused(client.post("/api/llm", json=LLM, headers={"origin": origin}), 403, "only its own page")


def test_same_origin_and_no_origin_are_answered(client):
    assert client.get("/api/chips", headers={"origin": "http://testserver"}).status_code == 200
    assert client.post("/api/llm", json=LLM, headers={"origin": "http://testserver"}).status_code == 200
    assert TestClient(client.app).get("/api/llm", params=LLM).status_code == 200     # curl: no token, no origin


@pytest.mark.parametrize("site, status", [("cross-site", 403), ("same-site", 403), ("same-origin", 200),
                                          ("none", 200)])
def test_sec_fetch_site(client, site, status):
    r = client.get("/api/models", headers={"sec-fetch-site": site})
    assert r.status_code == status, r.text
    if status == 403:
        refused(r, 403, site)
    assert client.get("/", headers={"sec-fetch-site": site, "origin": "http://evil.example"}).status_code == 200


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_post_a_page_elsewhere_could_send_is_refused(client, ctype):
    body = b'{"model": "llama-2-7b", "chip": "rtx-4090"}'
    headers = {"content-type": ctype} if ctype else {}
    refused(client.post("/api/llm", content=body, headers=headers), 415, "application/json")
    refused(client.post("/api/plan", content=b"name: x", headers=headers), 415, "application/yaml")
    assert client.post("/api/llm", content=body, headers={"content-type": "application/json"}).status_code == 200


def test_a_post_needs_the_page_token(client):
    app = client.app
    bare = TestClient(app)
    refused(bare.post("/api/llm", json=LLM), 403, TOKEN_HEADER)
    refused(bare.post("/api/llm", json=LLM, headers={TOKEN_HEADER: app.state.token[:-1]}), 403, TOKEN_HEADER)
    refused(bare.post("/api/render", json={"command": "llm"}), 403, TOKEN_HEADER)
    assert bare.post("/api/llm", json=LLM, headers={TOKEN_HEADER: app.state.token}).status_code == 200
    # the page carries the token, and another server start makes another one
    page = bare.get("/").text
    assert f'"token":"{app.state.token}"' in page.replace(" ", "")
    assert create_app(in_process=True).state.token != app.state.token and len(app.state.token) >= 32
    # a script reads it from /api/token; another site's page is refused there too
    assert bare.get("/api/token").json()["token"] == app.state.token
    refused(bare.get("/api/token", headers={"origin": "http://evil.example"}), 403)
    refused(bare.get("/api/token", headers={"sec-fetch-site": "cross-site"}), 403)


# -- bodies -------------------------------------------------------------------------------------

def test_a_chunked_body_over_the_limit_is_413(client):
    """No Content-Length: the bytes are counted as they arrive (a valid query padded past 1 MiB)."""
    def padded(n: int):
        yield b'{"model": "llama-2-7b", "chip": "rtx-4090"'
        for _ in range(n):
            yield b" " * 1024
        yield b"}"

    json_type = {"content-type": "application/json"}
    assert client.post("/api/llm", content=padded(8), headers=json_type).status_code == 200   # chunked, small
    refused(client.post("/api/llm", content=padded(2048), headers=json_type), 413, "1,048,576 bytes")
    refused(client.post("/api/plan", content=(b"#" * 1024 for _ in range(2048)), headers=YAML), 413, "larger")
    declared = client.post("/api/llm", content=b" " * (2 << 20), headers=json_type)   # with Content-Length
    refused(declared, 413, "1,048,576 bytes")
    # an upload's limit (4 KiB here) plus the multipart envelope, chunked
    multipart = {"content-type": "multipart/form-data; boundary=b"}
    refused(client.post("/api/upload", content=(b"\0" * 65536 for _ in range(32)), headers=multipart), 413)


def test_a_long_multipart_boundary_is_400(client):
    boundary = "b" * 4000
    body = f"--{boundary}\r\nContent-Disposition: form-data; name=file; filename=a.onnx\r\n\r\nx\r\n--{boundary}--\r\n"
    refused(client.post("/api/upload", content=body, headers={"content-type": f"multipart/form-data; boundary={boundary}"}),
            400, "boundary", "4,000 characters")


# -- extreme input ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "name: x\nstages: " + "[" * 5000 + "]" * 5000 + "\n",
    "name: x\nstages:\n" + "".join("  " * (i + 1) + "-\n" for i in range(200)),
    "name: x\nstages: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n",
], ids=["flow lists", "block lists", "flow maps"])
def test_a_deeply_nested_scenario_is_422(client, text):
    refused(client.post("/api/plan", content=text, headers=YAML), 422, "nests deeper than")


def test_1500_chained_stages_are_422(client):
    stages = "".join(f"  - {{name: s{i}, model: resnet18, after: [s{i - 1}], rate: {{per_input: 1}}}}\n"
                     for i in range(1, 1500))
    text = f"name: x\nchip: rk3588\nstages:\n  - {{name: s0, model: resnet18, rate: 1}}\n{stages}"
    refused(client.post("/api/plan", content=text, headers=YAML), 422, "1,500 stages")


@pytest.mark.parametrize("top, keys, kind, words", [
    ("overhead_gb: .inf\n", "rate: 1", "llm", "overhead_gb: must be at most 10,000, got inf"),
    ("overhead_gb: 1e308\n", "rate: 1", "model", "overhead_gb: must be at most 10,000, got 1e+308"),
    ("latency_budget_s: .inf\n", "rate: 1", "model", "latency_budget_s: must be at most"),
    ("", "rate: 1, streams: 100000000000000", "llm", "stages[0].streams: must be at most 1,000,000"),
    ("", "rate: 1, streams: .inf", "model", "stages[0].streams"),
    ("", "rate: 1, batch: 99999999999999999999999", "model", "stages[0].batch: must be at most 65,536, got more"),
    ("", "rate: 1, batch: 99999999999999999999999", "llm", "stages[0].batch: must be at most 65,536"),
    ("", "rate: 1, repeat: 10000000000", "model", "stages[0].repeat: must be at most 1,000,000"),
    ("", "rate: .inf", "model", "inf"),
    ("", "rate: {per_s: 1e308}", "llm", "stages[0].rate.per_s: must be at most 1,000,000,000, got 1e+308"),
    ("", "rate: 1, covers_s: .inf", "model", "stages[0].covers_s: must be at most 1,000,000, got inf"),
])
def test_infinite_and_huge_scenario_numbers_are_422(client, top, keys, kind, words):
    chip, model = ("rtx-4090", "llama-2-7b") if kind == "llm" else ("rk3588", "resnet18")
    text = SCENARIO.format(chip=chip, top=top, kind=kind, model=model, keys=keys)
    refused(client.post("/api/plan", content=text, headers=YAML), 422, words)


@pytest.mark.parametrize("path, params, words", [
    ("/api/plan", {"load_factor": "inf"}, "load_factor must be a finite number"),
    ("/api/plan", {"load_factor": "1e400"}, "load_factor"),
    ("/api/llm", {**LLM, "overhead_gb": "inf"}, "overhead_gb must be a finite number"),
    ("/api/llm", {**LLM, "overhead_gb": "1e308"}, "overhead_gb must be at most"),
    ("/api/llm", {**LLM, "batch": "1e30"}, "batch"),
    ("/api/llm", {**LLM, "batch": "9" * 400}, "batch"),
    ("/api/check", {"model": "resnet18", "chip": "rk3588", "fps": "-inf"}, "fps"),
    ("/api/whatif", {"model": "resnet18", "chip": "rk3588", "fps": 30, "batches": "inf"}, "batches"),
])
def test_infinite_and_huge_parameters_are_422(client, path, params, words):
    if path == "/api/plan":
        r = client.post(path, params=params, headers=YAML,
                        content=SCENARIO.format(chip="rk3588", top="", kind="model", model="resnet18", keys="rate: 1"))
    else:
        r = client.get(path, params=params)
    refused(r, 422, words)


def test_an_unexpected_error_is_a_one_sentence_500(monkeypatch, caplog):
    import chipfit.serve.app as app_module

    def broken(**kwargs):
        raise RuntimeError("a bug\nwith a second line")

    monkeypatch.setattr(app_module, "list_chips", broken)
    c = page_client(create_app(in_process=True), raise_server_exceptions=False)
    with caplog.at_level("ERROR", logger="chipfit.serve"):
        error = refused(c.get("/api/chips"), 500, "internal error (RuntimeError)")
    assert "a bug" not in error
    assert any("internal error on GET /api/chips" in rec.getMessage() for rec in caplog.records)


# -- computations: a bounded queue, time and memory limits, in worker processes -------------------

def test_requests_beyond_the_queue_are_busy_at_once():
    app = create_app(in_process=True)
    pool = app.state.worker
    pool.waiting = 0
    c = page_client(app)
    release = threading.Event()
    holder = threading.Thread(target=pool.run, args=(release.wait, 30))
    holder.start()
    try:
        while pool.inflight < 1:
            time.sleep(0.01)
        t = time.perf_counter()
        r = c.get("/api/llm", params=LLM)
        refused(r, 503, "busy")
        assert r.headers["retry-after"] and time.perf_counter() - t < 1
        assert c.get("/api/models").status_code == 200
    finally:
        release.set()
        holder.join(30)
    assert c.get("/api/llm", params=LLM).status_code == 200


@pytest.fixture(scope="module")
def served():
    """The app with its real worker processes; they stop with the client."""
    app = create_app()
    with page_client(app) as c:
        yield c


def test_a_slow_computation_is_stopped_while_the_server_answers():
    with page_client(create_app()) as c:   # its own workers: nothing traced, nothing cached yet
        stopped_while_the_server_answers(c, c.app.state.worker)


def stopped_while_the_server_answers(c, pool):
    assert c.get("/api/llm", params=LLM).status_code == 200      # a worker started
    first = pool.run(os.getpid)
    assert first != os.getpid()
    assert c.get("/api/models").status_code == 200
    pool.timeout_s = 0.5
    slow: dict = {}
    nets = ["resnet50", "convnext_tiny", "efficientnet_b0", "mobilenet_v2", "mobilenet_v3_large", "resnet18"]
    stages = [(n, side) for side in (161, 193, 225) for n in nets]
    scenario = "name: slow\nchip: rk3588\nstages:\n" + "".join(
        f"  - {{name: s{i}, model: {n}, rate: {{per_s: 1}}, input_shape: [1, 3, {side}, {side}]}}\n"
        for i, (n, side) in enumerate(stages))

    def whatif():      # six networks traced at three inputs they do not ship at: about 0.45 s each set
        t = time.perf_counter()
        slow["r"] = c.post("/api/plan", content=scenario, headers=YAML)
        slow["s"] = time.perf_counter() - t

    thread = threading.Thread(target=whatif)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while pool.inflight < 1 and "r" not in slow:
            assert time.monotonic() < deadline, "the computation never reached a worker"
            time.sleep(0.01)
        assert "r" not in slow, slow["r"].text   # still running: not refused before the worker
        t = time.perf_counter()
        models = c.get("/api/models")
        assert models.status_code == 200 and models.json()["models"] and time.perf_counter() - t < 1
        t = time.perf_counter()
        assert c.get("/api/chips", params={"category": "edge"}).status_code == 200 and time.perf_counter() - t < 1
    finally:
        thread.join(60)
        pool.timeout_s = worker_module.TIMEOUT_S
    refused(slow["r"], 503, "longer than", "0.5 s")
    assert slow["s"] < 6
    with pytest.raises(ProcessLookupError):      # the worker was killed
        os.kill(first, 0)
    again = c.get("/api/check", params={"model": "resnet18", "chip": "rk3588", "fps": 30})    # a fresh worker
    assert again.status_code == 200 and again.json()["command"] == "check"
    assert pool.run(os.getpid) not in (first, os.getpid())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the memory cap is RLIMIT_AS over /proc (Linux)")
def test_the_memory_cap_and_a_dead_worker():
    pool = Pool(1)
    pool.preload = ()             # quick to start; the cap is over what the worker holds
    pool.memory_bytes = 64 << 20
    try:
        assert len(pool.run(bytearray, 16 << 20)) == 16 << 20
        with pytest.raises(WorkError, match="needs more than the 64 MiB of memory") as exc:
            pool.run(bytearray, 256 << 20)
        assert exc.value.status == 422
        with pytest.raises(WorkError, match="stopped its worker process") as exc:
            pool.run(os._exit, 3)
        assert exc.value.status == 422
        assert pool.run(len, "still works") == 11
    finally:
        pool.close()


def test_workers_stop_with_the_app():
    app = create_app()
    app.state.worker.preload = ()
    with page_client(app):
        pid = app.state.worker.run(os.getpid)
        os.kill(pid, 0)                        # alive while the app runs
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
