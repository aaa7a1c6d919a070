"""Each command's parameters are declared once (chipfit.analysis.params) and everything else follows.

The Python functions take the same names with the same defaults; the CLI's options are the
model's fields spelled as flags; the web API takes the same fields less those that read local
files; precision names come from the one registry; library errors name parameters as the Python
API does, and each front end shows them in its words.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

import pytest

import chipfit
from chipfit.analysis import params as P
from chipfit.calibration.calibrate import calibrate
from chipfit.cli import app, flag_of
from chipfit.core.errors import ChipfitError, render_fields
from chipfit.core.precision import PRECISIONS
from chipfit.data.chips import chips
from chipfit.measure.timing import measure
from chipfit.serve import params as web

SRC = Path(__file__).resolve().parents[1] / "src" / "chipfit"

#: The functions that carry out each command (together they take every non-view parameter).
FUNCTIONS = {
    "count": [chipfit.count], "check": [chipfit.check], "rank": [chipfit.rank], "llm": [chipfit.llm],
    "plan": [chipfit.plan, chipfit.rank_plan], "whatif": [chipfit.whatif], "chips": [chips],
    "measure": [measure], "calibrate": [calibrate],
}
#: Parameters a command's front end acts on itself, not passed to a function.
DISPATCH = {"llm": {"sweep"}, "plan": {"rank"}, "chips": {"chip"}}


def _empty(value):
    return value in (None, (), []) or value is inspect.Parameter.empty


@pytest.mark.parametrize("name", sorted(P.COMMANDS))
def test_functions_take_the_models_names_and_defaults(name):
    model = P.COMMANDS[name]
    sigs = [inspect.signature(f).parameters for f in FUNCTIONS[name]]
    forwards = any(p.kind is p.VAR_KEYWORD for s in sigs for p in s.values())  # the rest goes on to count()
    for field_name, field in model.model_fields.items():
        if "view" in model.roles(field_name) or field_name in DISPATCH.get(name, ()):
            continue
        found = [s[field_name] for s in sigs if field_name in s]
        if not found and forwards:
            found = [p for n, p in inspect.signature(chipfit.count).parameters.items() if n == field_name]
        if field_name == "model" and not found:  # the zoo-and-file argument of count and its callers
            continue
        assert found, f"{name}: no function takes '{field_name}'"
        for param in found:
            want = None if field.is_required() else field.default
            got = param.default
            if _empty(want) and _empty(got):
                continue
            if isinstance(got, tuple):
                got = list(got)
            assert got == want, f"{name}.{field_name}: function default {got!r}, model default {want!r}"


@pytest.mark.parametrize("name", sorted(P.COMMANDS))
def test_cli_options_are_the_models_fields(name):
    command = next(c for c in app.registered_commands if c.name == name)
    params = inspect.signature(command.callback).parameters
    model = P.COMMANDS[name]
    for field_name in model.model_fields:
        assert field_name in params, f"chipfit {name} lacks the option for '{field_name}'"


def test_count_help_lists_every_precision(run_cli):
    rc, out, _ = run_cli("count", "--help")
    text = " ".join(out.split())
    for p in PRECISIONS:
        assert p in text, p


def test_web_models_are_the_commands_less_local_parameters():
    for name, wm in web.COMMANDS.items():
        model = P.COMMANDS[name]
        want = [f for f in model.model_fields if "local" not in model.roles(f) and f != "dims"]
        assert list(wm.model_fields) == want, name
        for f in want:
            assert wm.model_fields[f].default == model.model_fields[f].default, (name, f)


def test_web_page_pickers_come_from_the_models():
    spec = web.choices()
    assert spec["choices"]["precision"] == list(PRECISIONS)
    assert spec["choices"]["by"] == ["power", "margin", "energy", "latency"]
    assert spec["defaults"]["count"]["precision"] == "fp32"
    assert spec["defaults"]["check"]["precision"] == "int8"
    assert spec["defaults"]["llm"]["precision"] == "fp16"
    from chipfit.serve.app import _page

    embedded = re.search(r'<script id="chipfit-params" type="application/json">(.*?)</script>', _page("a-token")).group(1)
    assert json.loads(embedded) == json.loads(json.dumps({**spec, "token": "a-token"}))


def test_a_parameter_is_named_in_each_front_ends_words():
    exc = ChipfitError("`min_memory_gb` must be at least 0, got -1; see `input_shape`")
    assert str(exc) == "min_memory_gb must be at least 0, got -1; see input_shape"
    assert exc.fields == ["min_memory_gb", "input_shape"]
    assert exc.render(flag_of) == "--min-memory must be at least 0, got -1; see --input-shape"
    assert render_fields("use `inputs`", flag_of) == "use inputs"   # Python-only: no flag to show


def test_the_same_bad_value_is_one_sentence_everywhere(run_cli):
    with pytest.raises(ChipfitError) as info:
        chipfit.check("resnet18", "rk3588", fps=float("inf"))
    assert str(info.value) == "fps must be a finite number, got inf"
    rc, _, err = run_cli("check", "resnet18", "--chip", "rk3588", "--fps", "inf")
    assert rc == 2 and err == "chipfit: --fps must be a finite number, got inf\n"
    from fastapi.testclient import TestClient

    from chipfit.serve.app import create_app

    got = TestClient(create_app()).get("/api/check", params=dict(model="resnet18", chip="rk3588", fps="inf"))
    assert got.status_code == 422 and got.json()["error"] == "fps must be a finite number, got inf"


def test_unknown_flags_are_usage_errors(run_cli):
    rc, out, err = run_cli("check", "resnet18", "--chip", "rk3588", "--fps", "30", "--colour", "red")
    assert rc == 2 and "No such option: --colour" in err and "internal error" not in err


def _library_sentences():
    """Every string that a ChipfitError or a note is made of, below the terminal and the CLI."""
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "cli.py" or "terminal" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if name not in ("ChipfitError", "append", "insert"):
                continue
            for arg in node.args:
                for sub in ast.walk(arg):
                    if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                        yield f"{path.relative_to(SRC)}:{sub.lineno}", sub.value


def test_library_errors_and_notes_name_no_flags():
    flags = [(where, s) for where, s in _library_sentences() if re.search(r"(?<![\w-])--[a-z][a-z-]+", s)]
    assert not flags, flags
