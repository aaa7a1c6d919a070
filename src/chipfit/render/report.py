"""HTML reports of results (``--report``, ``chipfit report``): render, then write safely.

The page comes from :func:`chipfit.render.html.page.render`, fed the same JSON object that
``--json`` prints; here it is written atomically, never over an existing file unless asked.
"""

from __future__ import annotations

from pathlib import Path

from chipfit.core.errors import ChipfitError
from chipfit.core.fileio import read_bounded, refuse_existing, write_atomic
from chipfit.core.jsonio import loads_json
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
    data = loads_json(read_bounded(path, "a saved result"), "standard input" if path == "-" else path,
                      "a saved result (save one with `json`)")
    if not isinstance(data, dict):
        raise ChipfitError(f"{path}: not a chipfit result (a JSON object was expected)")
    return data


def default_path(json_path: str) -> Path:
    """Where ``chipfit report RESULT.json`` writes by default: RESULT.html beside it."""
    if json_path == "-":
        raise ChipfitError("reading the result from stdin: name the page with `output`")
    return Path(json_path).with_suffix(".html")
