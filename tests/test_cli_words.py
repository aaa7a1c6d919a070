"""What the command line says: options named only where the command has them, names as users
type them, the engine a weight format implies, and printed products that multiply out."""

from __future__ import annotations

import json

import pytest

import chipfit
from chipfit.analysis.explain import llm_explanation


def test_an_option_the_command_lacks_is_named_with_the_command_that_has_it(run_cli, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "not-a-real-type", "num_hidden_layers": 2}), encoding="utf-8")
    rc, _, err = run_cli("llm", str(config), "--chip", "rtx-4090")
    assert rc == 2 and "chipfit count --trace builds any model_type" in err, err   # llm has no --trace
    rc, _, err = run_cli("count", str(config))
    assert rc == 2 and "(--trace builds any model_type" in err, err                 # count has it


def test_check_and_rank_take_device_and_trace(run_cli):
    for cmd in (["check", "--chip", "rk3588", "--fps", "1"], ["rank", "--fps", "1", "--category", "edge"],
                ["whatif", "--chip", "rk3588", "--fps", "1", "--lever", "batch"]):
        rc, out, err = run_cli(cmd[0], "resnet18", *cmd[1:], "--device", "meta", "--json")
        assert rc == 0, err
    rc, _, err = run_cli("check", "frobnicatornet", "--chip", "rk3588", "--fps", "1")
    assert rc == 2 and "chipfit zoo" in err and "chipfit models" not in err


@pytest.mark.parametrize("name", ["qwen2.5-7b-instruct", "Qwen/Qwen2.5-7B-Instruct", "QWEN2.5-7B-chat"])
def test_fine_tuned_names_are_priced_as_their_architecture_and_say_so(name):
    r = chipfit.llm(name, "rtx-4090")
    base = chipfit.llm("qwen2.5-7b", "rtx-4090")
    assert r.ttft_s == base.ttft_s and r.weight_bytes == base.weight_bytes
    assert any("priced as the built-in 'qwen2.5-7b'" in n for n in r.notes)
    assert not any("priced as" in n for n in base.notes)
    with pytest.raises(chipfit.ChipfitError):
        chipfit.llm("not-a-model-instruct", "rtx-4090")


def test_the_engine_follows_the_weight_format_unless_chosen():
    gguf = chipfit.llm("qwen2.5-7b", "rtx-4090", precision="q4_k_m")
    assert gguf.engine == "llama.cpp" and any("engine of the q4_k_m format" in n for n in gguf.notes)
    assert chipfit.llm("qwen2.5-7b", "rtx-4090", precision="q4_k_m", engine="generic").engine == "generic"
    assert chipfit.llm("qwen2.5-7b", "rtx-4090", precision="fp16").engine == "generic"


def test_the_weight_bytes_line_multiplies_out():
    r = chipfit.llm("qwen2.5-7b", "rtx-4090", precision="q4_k_m")
    storage = r.graph.weight_storage(r.precision)
    assert len({bits for _, bits in storage}) >= 3          # Q4_K matrices, Q6_K head and v/down, fp32 norms
    assert sum(n * bits / 8 for (_, bits), n in storage.items()) == pytest.approx(r.weight_bytes, rel=1e-6)
    assert sum(storage.values()) == r.params
    line = dict(llm_explanation(r))["weight bytes"]
    assert "LM head" in line and "6.56 bits" in line and "norms and biases" in line and "32 bits" in line
