"""Property tests of every data-file reader: a mutated file gives an answer or one sentence.

For each kind of file chipfit reads (a scenario, a chip file, a saved result, a measurement CSV,
a config.json), hypothesis mutates a valid file (inserted YAML/JSON syntax, absurd numbers,
control characters, deleted or repeated spans) and runs the command that reads it, in this
process, under a memory cap and a time cap per example. The property is the CLI contract:
exit code 0 or 1 with an answer, or 2 with exactly one line on stderr; never an internal
error, a traceback, a hang or runaway memory. ``tests/fuzzing.py`` says how to run a
nightly-size search.
"""

from __future__ import annotations

import json

import pytest
from fuzzing import FUZZ_EXAMPLES, FUZZ_MEMORY, FUZZ_RANDOM, memory_limit, time_limit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SCENARIO = """name: camera
chip: rk3588
precision: int8
latency_budget_s: 0.1
stages:
  - name: detector
    model: resnet18
    rate: {per_s: 30}
    streams: 2
  - name: classifier
    model: resnet18
    after: [detector]
    rate: {per_input: 2}
    batch: 2
"""

CHIPS = """vendor: Test
sources:
  s: {title: "a made-up chip", date: "2026"}
chips:
  - id: testchip
    name: Test chip
    category: edge
    efficiency_class: npu
    dense:
      int8: {value: 6, source: s, flag: datasheet}
      fp16: {value: 1.5, min: 1, source: s, flag: derived, formula: "int8 / 4"}
    memory_bandwidth_gbps: {value: 20, source: s, flag: datasheet}
    memory_gb: {value: 8, source: s, flag: datasheet}
    tdp_w: {value: 10, source: s, flag: datasheet}
"""

CSV = """model,input_shape,seq_len,batch,precision,runtime,median_s,role,source
resnet18,1;3;224;224,,1,int8,rknn,0.012,fit,a table
resnet18,,,4,int8,rknn,0.04,holdout,a table
"""

CONFIG = json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 256,
                     "intermediate_size": 688, "num_hidden_layers": 2, "num_attention_heads": 4,
                     "num_key_value_heads": 2, "vocab_size": 1000, "max_position_embeddings": 2048,
                     "rms_norm_eps": 1e-5, "tie_word_embeddings": False}, indent=1)

#: what a hostile edit inserts: syntax, absurd numbers, control characters, long runs
PIECES = st.sampled_from([
    "&a ", "*a", "!!python/object:os.system ", "!!binary ", "{", "}", "[", "]", ":", "- ", "\n", "\n  ", "#",
    '"', "'", "\\", "\x00", "\x1b", "\ufeff", "~", "null", "true", "-1", "0", "1e308", "1e999", ".inf", "-.inf",
    ".nan", "NaN", "Infinity", "9" * 400, "-0", "0x10", "2**40", "resnet18", "os:abort", "/dev/zero",
    "<!--<script>", "\u202e", "a" * 300, ",", ";", "\r", "\t", "=", "{\"a\": ", "[[[[[[[[[[",
])


@st.composite
def mutated(draw, text: str) -> str:
    """``text`` with up to 6 edits: insert a piece, delete a span, repeat a span."""
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "insert", "delete", "repeat"]))
        if edit == "insert":
            text = text[:at] + draw(PIECES) + text[at:]
        else:
            end = min(len(text), at + draw(st.integers(1, 40)))
            text = text[:at] + (text[at:end] * draw(st.integers(2, 50)) if edit == "repeat" else "") + text[end:]
    return text


reader_settings = settings(
    max_examples=max(1, FUZZ_EXAMPLES // 4), deadline=None, derandomize=not FUZZ_RANDOM, database=None,
    print_blob=True, suppress_health_check=list(HealthCheck),
)


def holds_the_contract(run_cli, *args: str) -> None:
    with memory_limit(FUZZ_MEMORY), time_limit(20):
        rc, out, err = run_cli(*args)
    assert rc in (0, 1, 2), (rc, err)
    if rc == 2:
        assert len(err.strip().splitlines()) == 1, err
    assert "internal error" not in err and "Traceback" not in err, err


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder for the mutated files; torch is imported and resnet18 traced first, outside the
    memory cap (a first import under the cap would fail for lack of room, not for the file)."""
    from conftest import cli

    rc, _, err = cli("count", "resnet18", "--json")
    assert rc == 0, err
    return tmp_path_factory.mktemp("fuzz")


@reader_settings
@given(text=mutated(SCENARIO))
def test_fuzz_scenario(run_cli, workdir, text):
    path = workdir / "scenario.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    holds_the_contract(run_cli, "plan", str(path), "--json")


@reader_settings
@given(text=mutated(CHIPS))
def test_fuzz_chip_file(run_cli, workdir, text):
    path = workdir / "chips.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    holds_the_contract(run_cli, "chips", "--chips-file", str(path), "--json")


@reader_settings
@given(text=mutated(CSV))
def test_fuzz_measurement_csv(run_cli, workdir, text):
    path = workdir / "rows.csv"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    holds_the_contract(run_cli, "calibrate", "rk3588", "--from", str(path))


@reader_settings
@given(text=mutated(CONFIG))
def test_fuzz_config_json(run_cli, workdir, text):
    folder = workdir / "model"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(text, encoding="utf-8", errors="surrogatepass")
    holds_the_contract(run_cli, "llm", str(folder), "--chip", "rtx-4090", "--json")


@pytest.fixture(scope="module")
def saved_result(workdir):
    from conftest import cli

    rc, out, err = cli("check", "resnet18", "--chip", "rk3588", "--fps", "30", "--json")
    assert rc in (0, 1), err
    return out


@reader_settings
@given(data=st.data())
def test_fuzz_saved_result(run_cli, workdir, saved_result, data):
    text = data.draw(mutated(saved_result))
    path = workdir / "result.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    out = workdir / "result.html"
    out.unlink(missing_ok=True)
    holds_the_contract(run_cli, "report", str(path), "--output", str(out))
