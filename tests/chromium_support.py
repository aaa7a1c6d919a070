"""Headless Chromium for the browser tests (the HTML reports, ``chipfit serve``).

Debian's ``chromium`` driven by the ``playwright`` Python package (its own browser download is
never used), with the flags the machine notes give: without the background-networking ones
Chromium keeps trying to reach Google. Missing pieces skip the tests with the reason, unless
CHIPFIT_REQUIRE_BROWSER=1 (set by CI), where they fail instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHIPFIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def missing(*modules: str) -> str | None:
    """Why the browser tests cannot run here (None: they can); ``modules`` are also needed."""
    if not CHROMIUM:
        return "no chromium on PATH (Debian: apt-get install chromium)"
    for module in ("playwright", *modules):
        if importlib.util.find_spec(module) is None:
            return f"the {module} package is not installed (pip install -e '.[test]')"
    return None


def browser_session(*modules: str):
    """A module-scoped fixture's body: yields a launched browser, or skips (fails in CI) with the reason."""
    why = missing(*modules)
    if why:
        if os.environ.get("CHIPFIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CHIPFIT_REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
