"""HTML reports of results (``--report``, ``chipfit report``): render, then write safely.

The page comes from :func:`chipfit.render.html.page.render`, fed the same JSON object that
``--json`` prints; here it is written atomically, never over an existing file unless asked.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from chipfit.core.errors import ChipfitError
from chipfit.core.fileio import refuse_existing, write_atomic
from chipfit.render.html.page import render


def check_target(path: str | Path, force: bool, option: str = "report") -> Path:
    """One sentence unless ``path`` names an .html page that may be written (before any work)."""
    if not str(path).lower().endswith((".html", ".htm")):
        raise ChipfitError(f"`{option}` {path}: the report is an HTML page; name it .html")
    return refuse_existing(path, force)


def write(path: str | Path, result: dict, force: bool = False, command_line: str | None = None) -> Path:
    """Render ``result`` (a command's JSON object) to ``path``; refuses an existing file unless ``force``."""
    write_atomic(path, render(result, command_line), overwrite=force)
    return Path(path)


def load(path: str) -> dict:
    """A saved ``--json`` result from a file, or from stdin for ``-``."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ChipfitError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ChipfitError(f"{path}: cannot read it ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChipfitError(f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                           "save a result with `json`") from None
    if not isinstance(data, dict):
        raise ChipfitError(f"{path}: not a chipfit result (a JSON object was expected)")
    return data


def default_path(json_path: str) -> Path:
    """Where ``chipfit report RESULT.json`` writes by default: RESULT.html beside it."""
    if json_path == "-":
        raise ChipfitError("reading the result from stdin: name the page with `output`")
    return Path(json_path).with_suffix(".html")
