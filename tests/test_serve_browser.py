"""``chipfit serve`` end to end: the real command on a free loopback port, driven in headless Chromium.

As ``test_report_browser.py``: needs Debian's ``chromium`` and the ``playwright`` package (never
its own browser download); without them the tests skip, unless CHIPFIT_REQUIRE_BROWSER=1 (CI),
where they fail. The page must load nothing but the server's own files, log no console error,
and show what ``chipfit check ... --json`` prints for the same inputs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from chromium_support import browser_session

ROOT = Path(__file__).resolve().parents[1]
HEADLINE = ("required_tops", "chip_peak_tops", "effective_tops", "margin_tops", "latency_s", "max_fps",
            "utilization", "required_bandwidth_gbps", "memory_required_bytes", "limiting")

VERDICTS = ('"SUFFICIENT"', '"UNCERTAIN"', '"INSUFFICIENT"')


@pytest.fixture(scope="module")
def browser():
    yield from browser_session("fastapi", "uvicorn")


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory):
    """``chipfit serve`` on a free 127.0.0.1 port (built-in chips only); its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CHIPFIT_CHIPS_DIR": str(tmp_path_factory.mktemp("no-user-chips"))}
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "chipfit", "serve", "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(base + "/api/chips", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chipfit serve did not start: {log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _open(browser, url: str):
    """The page at ``url``, with its console errors and every request it makes."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    return page, errors, requests


def _figures(page) -> dict[str, object]:
    return page.eval_on_selector_all("#report [data-key]", "els => Object.fromEntries(els.map(e => "
                                                           "[e.dataset.key, JSON.parse(e.dataset.value)]))")


def _run(page, state: str = "done") -> None:
    page.click("#run")
    page.wait_for_selector(f"#out[data-state={state}]", timeout=60_000)


def test_check_in_the_page_equals_the_cli(browser, server, run_cli, artifacts):
    page, errors, requests = _open(browser, server + "/")
    page.click("label:has(input[name=view][value=check])")
    page.fill("#model", "resnet18")
    page.select_option("#chip", "rk3588")
    page.fill("#fps", "30")
    page.select_option("#precision", "int8")
    _run(page)
    page.screenshot(path=str(artifacts / "serve-check.png"))

    rc, out, err = run_cli("check", "resnet18", "--chip", "rk3588", "--fps", "30", "--precision", "int8", "--json")
    assert rc == 0, err
    cli = json.loads(out)
    verdict = page.locator("#report #verdict")
    assert verdict.get_attribute("data-value") == json.dumps(cli["verdict"])
    assert verdict.inner_text().startswith(cli["verdict"])
    figures = _figures(page)
    assert {k: figures[k] for k in HEADLINE} == {k: cli[k] for k in HEADLINE}
    assert page.locator("#report figure[data-chart=roofline] svg circle.pt").count() > 20
    assert page.locator("#report figure[data-chart=layers] svg").count() == 1

    for key, value in (("view", "check"), ("model", "resnet18"), ("chip", "rk3588"), ("fps", "30"),
                       ("precision", "int8")):
        assert f"{key}={value}" in page.url
    assert errors == []
    assert requests and all(u.startswith(server + "/") for u in requests)

    shared = page.url                      # the address alone reproduces the result
    again, errors2, requests2 = _open(browser, shared)
    again.wait_for_selector("#out[data-state=done]", timeout=60_000)
    assert again.locator("#report #verdict").get_attribute("data-value") == json.dumps(cli["verdict"])
    assert {k: v for k, v in _figures(again).items() if k in HEADLINE} == {k: cli[k] for k in HEADLINE}
    assert again.input_value("#model") == "resnet18" and again.input_value("#chip") == "rk3588"
    assert errors2 == [] and all(u.startswith(server + "/") for u in requests2)
    page.close()
    again.close()


def test_upload_an_onnx_file(browser, server, tmp_path):
    from test_serve import TINY_MACS, tiny_onnx

    model = tiny_onnx(tmp_path / "tiny.onnx")
    page, errors, requests = _open(browser, server + "/")
    page.set_input_files("#file", str(model))
    assert page.is_disabled("#model") and "tiny.onnx" in page.inner_text("#file-name")
    page.click("label:has(input[name=view][value=count])")
    _run(page)
    figures = _figures(page)
    assert figures["macs"] == TINY_MACS
    assert "tiny.onnx" in page.inner_text("#report #verdict")
    assert "not kept" in page.inner_text("#status")

    page.click("label:has(input[name=view][value=check])")      # the same file, checked on a chip
    page.select_option("#chip", "rk3588")
    page.fill("#fps", "30")
    _run(page)
    assert page.locator("#report #verdict").get_attribute("data-value") in VERDICTS
    assert _figures(page)["macs"] == TINY_MACS
    assert errors == [] and all(u.startswith(server + "/") for u in requests)
    page.close()


def test_upload_a_text_file_shows_a_clear_error(browser, server, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("these are my notes, not a neural network\n")
    page, errors, _ = _open(browser, server + "/")
    page.set_input_files("#file", str(notes))
    page.click("label:has(input[name=view][value=count])")
    _run(page, "error")
    message = page.inner_text("#error")
    assert message.startswith("'notes.txt' is not a readable ONNX model")
    assert page.is_visible("#error") and page.inner_html("#report") == ""
    # the only console line is the browser's own note of the 400 answer
    assert all("status of 400" in e for e in errors), errors

    page.click("#file-clear")                       # back to a built-in model: the error goes away
    page.fill("#model", "resnet18")
    _run(page)
    assert page.is_hidden("#error")
    page.close()


def test_a_bad_value_is_one_sentence_and_marks_its_field(browser, server):
    """The API names the parameter as the form does: the page marks that field."""
    page, errors, _ = _open(browser, server + "/?view=check&model=resnet18&chip=rk3588&fps=0&precision=int8")
    page.wait_for_selector("#out[data-state=error]", timeout=60_000)
    assert page.inner_text("#error") == "fps must be positive, got 0"
    assert page.get_attribute("#fps", "aria-invalid") == "true"
    assert page.eval_on_selector_all(".invalid", "els => els.map(e => e.name)") == ["fps"]
    assert all("status of 422" in e for e in errors), errors
    page.fill("#fps", "30")                        # corrected: the mark goes with the error
    _run(page)
    assert page.is_hidden("#error") and page.eval_on_selector_all(".invalid", "els => els.length") == 0
    page.close()


def _api(server: str, path: str) -> dict:
    with urllib.request.urlopen(server + path, timeout=60) as r:
        return json.loads(r.read())


def test_rank_llm_and_plan_views(browser, server):
    page, errors, requests = _open(browser, server + "/?view=llm&model=llama-2-7b&chip=rtx-4090&precision=w4a16")
    page.wait_for_selector("#out[data-state=done]", timeout=60_000)
    api = _api(server, "/api/llm?model=llama-2-7b&chip=rtx-4090&precision=w4a16")
    figures = _figures(page)
    assert figures["ttft_s"] == api["ttft_s"] and figures["decode_tokens_per_s"] == api["decode_tokens_per_s"]

    page.goto(server + "/?view=rank&model=mobilenet_v2&fps=60&precision=int8&category=edge")
    page.wait_for_selector("#out[data-state=done]", timeout=60_000)
    api = _api(server, "/api/rank?model=mobilenet_v2&fps=60&precision=int8&category=edge")
    best = api["chips"][0]["chip"]
    assert best in page.inner_text("#report #verdict")
    assert page.locator("#report figure.chart svg").count() >= 1

    page.click("label:has(input[name=view][value=plan])")      # the sample scenario that the page starts with
    _run(page)
    assert page.locator("#report #verdict").get_attribute("data-value") in VERDICTS
    assert "view=plan" in page.url and "scenario=" in page.url
    assert errors == [] and all(u.startswith(server + "/") for u in requests)
    page.close()


def test_whatif_view_from_a_shared_address(browser, server, run_cli, artifacts):
    """A what-if address runs on load: the verdict is the CLI's, one bar per priced option."""
    page, errors, requests = _open(browser, server + "/?view=whatif&model=resnet18&chip=rk3588&fps=30"
                                                     "&levers=batch,input")
    page.wait_for_selector("#out[data-state=done]", timeout=90_000)
    page.screenshot(path=str(artifacts / "serve-whatif.png"), full_page=True)
    rc, out, err = run_cli("whatif", "resnet18", "--chip", "rk3588", "--fps", "30", "--lever", "batch,input",
                           "--json")
    assert rc == 0, err
    cli = json.loads(out)
    assert page.get_attribute("#report", "data-kind") == "whatif"
    assert page.locator("#report #verdict").get_attribute("data-value") == json.dumps(cli["verdict"] + " AS GIVEN")
    assert _figures(page)["choice"] == cli["choice"]
    priced = [o for o in cli["options"] if o["sufficient"] is not None]
    assert len(priced) == 7        # as given, batch 2, 4, 8, 16, input 160×160 and 128×128
    bars = page.locator('#report figure.chart[data-chart="options"] svg rect.pt[data-series="max FPS"]')
    assert bars.count() == len(priced)
    assert [float(v) for v in bars.evaluate_all("els => els.map(e => e.dataset.value)")] == \
        [o["max_fps"] for o in priced]
    # the form shows the address's query: only the levers it names are ticked
    ticked = page.eval_on_selector_all("input[name=levers]:checked", "els => els.map(e => e.value)")
    assert ticked == ["batch", "input"]
    assert page.input_value("#model") == "resnet18" and page.input_value("#chip") == "rk3588"
    assert page.is_visible("#levers") and page.is_hidden("#file")
    assert errors == [] and all(u.startswith(server + "/") for u in requests)

    page.click("label:has(input[name=levers][value=sparsity])")     # the CLI's refusal, in the page
    _run(page, "error")
    assert page.inner_text("#error") == ("rk3588:npu lists no sparse int8 peak: 2:4 sparsity is not accelerated on "
                                         "this chip")
    assert "levers=batch,input,sparsity" in page.url
    page.close()

