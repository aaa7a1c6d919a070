"""The command line's contract, for every command: exit code 0 when the answer is yes (or the
command asks no question), 1 when it is no (with the full result still printed), 2 for bad input
or usage, 3 for an internal error; under ``--json`` stdout is one JSON object in every case."""

from __future__ import annotations

import json

import pytest

from chipfit.analysis import commands
from chipfit.cli import EXIT_CODES

SCENARIO = "name: cams\nchip: rk3588\nstages:\n  - name: det\n    model: resnet18\n    rate: {per_s: FPS}\n"

# (command line, expected exit code); {s} is a scenario file asking for a small or a huge rate
CASES = {
    "count": {"yes": ["count", "resnet18"], "bad": ["count", "resnet18", "--batch", "0"]},
    "check": {"yes": ["check", "resnet18", "--chip", "rk3588", "--fps", "1"],
              "no": ["check", "resnet18", "--chip", "rk3588", "--fps", "100000"],
              "bad": ["check", "resnet18", "--chip", "no-such-chip", "--fps", "1"]},
    "rank": {"yes": ["rank", "resnet18", "--fps", "1", "--category", "edge"],
             "no": ["rank", "resnet18", "--fps", "10000000", "--category", "edge"],
             "bad": ["rank", "resnet18", "--fps", "-1"]},
    "llm": {"yes": ["llm", "llama-2-7b", "--chip", "h100-sxm"],
            "no": ["llm", "llama-2-70b", "--chip", "rtx-4090"],
            "bad": ["llm", "llama-2-7b", "--chip", "h100-sxm", "--context", "0"]},
    "plan": {"yes": ["plan", "{small}"], "no": ["plan", "{huge}"], "bad": ["plan", "{small}", "--load", "inf"]},
    "plan --rank": {"yes": ["plan", "{small}", "--rank", "--category", "edge"],
                    "no": ["plan", "{huge}", "--rank", "--category", "edge"],
                    "bad": ["plan", "{small}", "--rank", "--chip", "rk3588"]},
    "whatif": {"yes": ["whatif", "resnet18", "--chip", "rk3588", "--fps", "30"],
               "bad": ["whatif", "resnet18", "--chip", "rk3588", "--fps", "30", "--batch", "nan"]},
    "chips": {"yes": ["chips"], "bad": ["chips", "--category", "nope"]},
    "zoo": {"yes": ["zoo"], "bad": ["zoo", "--task", "nope"]},
}
EXPECTED = {"yes": 0, "no": 1, "bad": 2}
TABLE = [(cmd, outcome) for cmd, cases in CASES.items() for outcome in cases]


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenarios")
    out = {}
    for name, fps in (("small", 1), ("huge", 1_000_000)):
        out[name] = folder / f"{name}.yaml"
        out[name].write_text(SCENARIO.replace("FPS", str(fps)), encoding="utf-8")
    return {k: str(v) for k, v in out.items()}


def one_json_object(out: str) -> dict:
    obj = json.loads(out)
    assert isinstance(obj, dict)
    return obj


@pytest.mark.parametrize("cmd, outcome", TABLE, ids=[f"{c}-{o}" for c, o in TABLE])
def test_exit_code_and_one_json_object(run_cli, scenarios, cmd, outcome):
    args = [a.format(**scenarios) for a in CASES[cmd][outcome]]
    rc, out, err = run_cli(*args, "--json")
    assert rc == EXPECTED[outcome], (rc, err[-500:])
    obj = one_json_object(out)
    if outcome == "bad":
        assert obj["exit_code"] == 2 and obj["error"] and len(err.strip().splitlines()) == 1, err
    else:
        assert "error" not in obj
        assert obj.get("command") or "models" in obj or "chips" in obj
    if outcome == "no":  # the full result is still there
        assert obj.get("sufficient") is False or obj.get("memory_fits") is False or obj.get("chips") == []


@pytest.mark.parametrize("cmd", ["check", "llm", "plan"])
def test_an_internal_error_is_exit_3_one_line_and_json(run_cli, scenarios, monkeypatch, cmd):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(commands, "run", broken)
    args = [a.format(**scenarios) for a in CASES[cmd]["yes"]]
    rc, out, err = run_cli(*args, "--json")
    assert rc == 3 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "internal error (ZeroDivisionError: a bug)" in err and "--debug" in err
    assert one_json_object(out) == {"error": err.strip().removeprefix("chipfit: "), "exit_code": 3}
    with pytest.raises(ZeroDivisionError):  # --debug: the traceback
        run_cli("--debug", *args)


@pytest.mark.parametrize("args", [["count", "gpt2", "--batch", "abc"], ["check", "--no-such-flag"], [],
                                  ["count"], ["no-such-command"]])
def test_usage_errors_are_exit_2(run_cli, args):
    rc, out, err = run_cli(*args)
    assert rc == 2, (rc, out, err)
    assert "chipfit: internal error" not in err


def test_a_model_that_does_not_fit_still_prints_every_timing_and_the_advice(run_cli):
    rc, out, err = run_cli(*CASES["llm"]["no"])
    assert rc == 1
    assert "time to first token" in out and "time per output token" in out
    assert "does not fit" in err and "--chips-count" in err
    rc, out, _ = run_cli(*CASES["llm"]["no"], "--json")
    d = json.loads(out)
    assert d["memory_fits"] is False and d["ttft_s"] > 0 and "does not fit" in d["advice"]


def test_the_codes_are_documented_in_help(run_cli):
    rc, out, _ = run_cli("--help")
    assert rc == 0
    text = " ".join(out.split())
    for code in EXIT_CODES:
        assert f"{code} " in text
    assert "Exit codes" in text
