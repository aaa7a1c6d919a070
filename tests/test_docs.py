"""The documentation holds what the product does.

Every ```console and ```pycon example of every page (and of both READMEs) is rerun and must print
what the page shows (``python tools/gendocs.py`` rewrites them); the site builds with
``mkdocs build --strict`` (no broken link or anchor); the README stays short, and what users read
speaks of the product only.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("gendocs", ROOT / "tools" / "gendocs.py")
gendocs = importlib.util.module_from_spec(spec)
sys.modules["gendocs"] = gendocs   # dataclasses look their module up
spec.loader.exec_module(gendocs)

PAGES = [p for p in gendocs.PAGES if gendocs.blocks(p.read_text(encoding="utf-8")) or p.name == "architecture.md"]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_examples_print_what_the_page_shows(page):
    old, new = gendocs.process(page, check=True)
    if old != new:
        diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                            str(page.relative_to(ROOT)), "rerun", n=1))
        pytest.fail(f"{page.relative_to(ROOT)} is out of date (python tools/gendocs.py rewrites it):\n{diff[:6000]}")


def test_every_page_has_real_examples():
    """The command pages show real runs: each has console examples, and none is plain text."""
    for page in sorted((ROOT / "docs" / "commands").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        assert "```console" in text, page.name
        assert not re.search(r"```(text)?\n\$ chipfit", text), f"{page.name}: an example that is not run"


def test_site_builds_strictly(tmp_path):
    p = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600,
                       env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    assert p.returncode == 0, p.stderr[-3000:]
    assert (tmp_path / "site" / "commands" / "check" / "index.html").exists()
    assert (tmp_path / "site" / "zh" / "getting-started" / "index.html").exists()


def test_readme_is_short_and_mirrored():
    en = (ROOT / "README.md").read_text(encoding="utf-8")
    zh = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    assert len(en.splitlines()) <= 250
    commands = lambda t: re.findall(r"(?m)^\$ (.*)$", t)  # noqa: E731
    assert commands(zh) == commands(en), "README.zh-CN.md mirrors README.md: the same examples"


WORDS = re.compile(r"\bseeds?\b|\bissue \d+|\.\./shared|DESIGN\.md|refdata/", re.I)


def test_user_facing_words_speak_of_the_product():
    readable = [ROOT / "README.md", ROOT / "README.zh-CN.md", *sorted((ROOT / "docs").rglob("*.md")),
                *sorted((ROOT / "src").rglob("*.py")), *sorted((ROOT / "src").rglob("*.yaml"))]
    for path in readable:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if WORDS.search(line) and "random seed" not in line:
                pytest.fail(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
