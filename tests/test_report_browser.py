"""The HTML reports of check, llm and plan, loaded in headless Chromium.

Needs Debian's ``chromium`` (``.ci/run`` installs it) and the ``playwright`` Python package (the
test extra) driving that browser; playwright's own browser download is not used. Without them the
tests skip, unless CHIPFIT_REQUIRE_BROWSER=1 (set by CI), where they fail instead.
Screenshots go to ``$CHIPFIT_ARTIFACTS`` (default ``test-artifacts/`` in the checkout).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chromium_support import browser_session

from chipfit.core.units import duration, num

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def browser():
    yield from browser_session()


def _load(browser, page_path: Path, shot: Path):
    """Open the page; return (page, console errors, requests other than the page itself)."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url) if r.url != page_path.as_uri() else None)
    page.goto(page_path.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    page.screenshot(path=str(shot), full_page=True)
    return page, errors, requests


def _run(run_cli, tmp_path, name, *args):
    path = tmp_path / f"{name}.html"
    rc, out, err = run_cli(*args, "--json", "--report", str(path))
    assert rc == 0, err
    return path, json.loads(out)


def _charts(page) -> dict[str, int]:
    """Data points per chart: every chart must be an SVG with marks in it."""
    return page.eval_on_selector_all(
        "figure.chart", "els => Object.fromEntries(els.map(e => [e.dataset.chart, "
                        "e.querySelector('svg') ? e.querySelectorAll('svg .pt').length : -1]))")


def _figures(page) -> dict[str, object]:
    return page.eval_on_selector_all("[data-key]", "els => Object.fromEntries(els.map(e => "
                                                   "[e.dataset.key, [JSON.parse(e.dataset.value), e.textContent]]))")


def _hover_tip(page, selector: str) -> str:
    page.hover(selector)
    page.wait_for_selector("#tip", state="visible")
    return page.inner_text("#tip")


def test_check_report_in_chromium(browser, artifacts, run_cli, tmp_path):
    path, d = _run(run_cli, tmp_path, "check", "check", "resnet18", "--chip", "jetson-orin-nano-8gb", "--fps", "30",
                   "--per-layer")
    page, errors, requests = _load(browser, path, artifacts / "report-check.png")
    assert errors == [] and requests == []
    charts = _charts(page)
    n_points = sum(1 for o in d["layers"] if o["intensity"] and o["time_s"] > 0)
    assert charts["roofline"] == n_points + 0 and n_points > 60
    assert charts["layers"] == 2 * len(d["layers"])      # a time bar and a MACs bar per op
    assert charts["time-by-kind"] == len({o["kind"] for o in d["layers"]})
    verdict = page.locator("#verdict")
    assert verdict.get_attribute("data-value") == json.dumps(d["verdict"])
    assert verdict.inner_text().startswith(d["verdict"])
    figs = _figures(page)
    for key in ("required_tops", "effective_tops", "chip_peak_tops", "margin_tops", "latency_s", "max_fps",
                "utilization", "required_bandwidth_gbps", "memory_required_bytes", "energy_per_inference_j"):
        assert figs[key][0] == d[key], key
    assert figs["required_tops"][1] == f"{num(d['required_tops'])} TOPS"
    assert figs["latency_s"][1] == duration(d["latency_s"])
    time_bars = page.eval_on_selector_all("figure[data-chart=layers] rect.pt[data-series=time]",
                                          "els => els.map(e => +e.dataset.value)")
    assert len(time_bars) == len(d["layers"])
    assert sum(time_bars) == pytest.approx(d["latency_s"], rel=1e-12)
    tip = _hover_tip(page, "figure[data-chart=roofline] circle.pt")
    first = next(o for o in d["layers"] if o["intensity"] and o["time_s"] > 0)
    assert tip.startswith(first["name"]) and f"MACs {first['macs']:,}" in tip and "FLOPs/byte" in tip


def test_llm_report_in_chromium(browser, artifacts, run_cli, tmp_path):
    path, d = _run(run_cli, tmp_path, "llm", "llm", "llama-2-7b", "--chip", "jetson-agx-orin-64gb", "--precision",
                   "w4a16", "--prompt", "512", "--output", "128")
    page, errors, requests = _load(browser, path, artifacts / "report-llm.png")
    assert errors == [] and requests == []
    charts = _charts(page)
    assert charts["phases"] == 5 and charts["memory"] == 4 and charts["roofline"] == 2
    assert charts["decode-curve"] == len(d["decode_curve"])
    assert page.locator("#verdict").inner_text().startswith("FITS")
    figs = _figures(page)
    for key in ("ttft_s", "tpot_s", "decode_tokens_per_s", "prefill_tokens_per_s", "e2e_latency_s", "weight_bytes",
                "kv_cache_bytes", "memory_fits"):
        assert figs[key][0] == d[key], key
    phases = page.eval_on_selector_all("figure[data-chart=phases] rect.pt", "els => els.map(e => +e.dataset.value)")
    assert sum(phases) == pytest.approx(d["e2e_latency_s"], rel=1e-9)    # the parts add up to the request
    memory = page.eval_on_selector_all("figure[data-chart=memory] rect.pt", "els => els.map(e => +e.dataset.value)")
    assert sum(memory) == d["memory_per_chip"]["total_bytes"]
    assert "decode" in _hover_tip(page, "figure[data-chart=roofline] circle.pt[data-group=decode]")


def test_plan_report_in_chromium(browser, artifacts, run_cli, tmp_path):
    path, d = _run(run_cli, tmp_path, "plan", "plan", str(ROOT / "examples" / "vision_language.yaml"))
    page, errors, requests = _load(browser, path, artifacts / "report-plan.png")
    assert errors == [] and requests == []
    charts = _charts(page)
    n = len(d["stages"])
    assert charts["utilization"] == n and charts["stages"] == 2 * n
    assert charts["memory"] == 3 * len(d["chips"]) and charts["latency"] == len(d["critical_path"])
    assert page.locator("#verdict").get_attribute("data-value") == json.dumps(d["verdict"])
    figs = _figures(page)
    for key in ("required_tops", "required_bandwidth_gbps", "memory_bytes", "utilization", "latency_s",
                "latency_loaded_s", "latency_budget_s"):
        assert figs[key][0] == d[key], key
    shares = page.eval_on_selector_all("figure[data-chart=utilization] rect.pt", "els => els.map(e => +e.dataset.value)")
    assert sum(shares) == pytest.approx(d["utilization"] * 100, rel=1e-9)  # one unit: its stages' shares
    path_ms = page.eval_on_selector_all("figure[data-chart=latency] rect.pt", "els => els.map(e => +e.dataset.value)")
    assert sum(path_ms) == pytest.approx(d["latency_s"], rel=1e-9)
    rows = page.locator("table.data tbody tr")
    assert rows.count() == n
    page.click("table.data th:has-text('TOPS')")          # sorting a column keeps every row
    assert page.locator("table.data tbody tr").count() == n
