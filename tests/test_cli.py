"""The CLI contract: JSON keys, one-sentence errors with exit code 2, no tracebacks."""

import json
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="needs torch")

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def cli(run_cli, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(TESTS.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return run_cli


def assert_one_sentence_error(rc, out, err):
    assert rc == 2, (rc, out, err)
    assert out == ""
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("chipfit: "), err


def test_count_json_has_the_contract_keys(cli):
    rc, out, err = cli("count", "resnet18", "--json", "--per-layer")
    assert rc == 0, err
    data = json.loads(out)  # one JSON object and nothing else on stdout
    for key in ("model", "macs", "flops", "params", "weight_bytes", "activation_bytes",
                "unsupported_ops", "layers"):
        assert key in data
    assert data["macs"] == 1_814_073_344 and round(data["macs"] / 1e9, 3) == 1.814
    assert data["params"] == 11_689_512
    assert data["weight_bytes"] == 4 * 11_689_512  # fp32 by default
    assert data["unsupported_ops"] == []
    assert sum(layer["macs"] for layer in data["layers"]) == data["macs"]
    assert all(isinstance(data[k], int) for k in ("macs", "flops", "params", "weight_bytes"))


def test_count_precision_changes_bytes_not_ops(cli):
    rc, out, _ = cli("count", "resnet18", "--json", "--precision", "int8")
    fp32 = json.loads(cli("count", "resnet18", "--json")[1])
    int8 = json.loads(out)
    assert rc == 0 and int8["macs"] == fp32["macs"] and int8["flops"] == fp32["flops"]
    assert int8["weight_bytes"] * 4 == fp32["weight_bytes"]
    w4 = json.loads(cli("count", "resnet18", "--json", "--precision", "w4a16")[1])
    # w4a16 (AWQ/GPTQ layout): conv and linear weights at 4 bits plus an fp16 scale and a 4-bit
    # zero per group of 128; the BatchNorm scales and shifts (2 x 4,800 channels) stay fp16
    bn = 2 * (64 + 4 * 64 + 5 * 128 + 5 * 256 + 5 * 512)
    matrix_bytes = -(-(11_689_512 - bn) * (4 * 128 + 20) // (8 * 128))
    assert w4["weight_bytes"] == matrix_bytes + 2 * bn
    assert w4["activation_bytes"] * 2 == fp32["activation_bytes"]


def test_count_table_and_depth(cli):
    rc, out, err = cli("count", "resnet18", "--depth", "2")
    assert rc == 0, err
    assert "layer1" in out and "1.81 G" in out and "total" in out


def test_module_callable_with_input_shape(cli):
    rc, out, err = cli("count", "tests.fixtures.models:tiny_cnn", "--input-shape", "1,3,32,32", "--json")
    assert rc == 0, err
    assert json.loads(out)["macs"] == 3 * 3 * 3 * 8 * 32 * 32 + 8 * 10


def test_hf_config_file(cli, tmp_path):
    cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": 64, "n_layer": 2,
           "n_head": 4, "n_positions": 64, "vocab_size": 500}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    rc, out, err = cli("count", str(tmp_path), "--seq-len", "16", "--json")
    assert rc == 0, err
    s, h, layers = 16, 64, 2
    assert json.loads(out)["macs"] == layers * (12 * s * h * h + 2 * s * s * h) + s * h * 500


@pytest.mark.parametrize("args,needle", [
    (("count", "resnt18"), "did you mean resnet18"),
    (("count", "resnet18", "--input-shape", "1,3,two,224"), "malformed input shape"),
    (("count", "resnet18", "--input-shape", "1,3,0,224"), "must be positive"),
    (("count", "no_such_module_xyz:build"), "cannot import module 'no_such_module_xyz'"),
    (("count", "tests.fixtures.models:missing"), "has no attribute 'missing'"),
    (("count", "tests.fixtures.models:not_a_module"), "not a torch.nn.Module"),
    (("count", "tests.fixtures.models:broken"), "this builder is broken"),
    (("count", "resnet18", "--precision", "int3"), "--precision must be one of fp32, tf32, fp16, bf16, fp8, int8, int4, w8a16, w4a16, q8_0, q4_0, q4_k_m, q4f16_1, got int3"),
    (("count", "missing/config.json"), "no Hugging Face config"),
    (("count", "model.onnx"), "does not exist"),
])
def test_bad_input_is_one_sentence_and_exit_2(cli, args, needle):
    rc, out, err = cli(*args)
    assert_one_sentence_error(rc, out, err)
    assert needle in err


def test_unreadable_config(cli, tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    rc, out, err = cli("count", str(bad))
    assert_one_sentence_error(rc, out, err)


def test_missing_optional_dependency_names_the_pip_command(tmp_path):
    """With transformers and torch unimportable, tracing an HF model asks for the extra that
    provides it, while the analytic builder needs neither."""
    import subprocess

    for blocked in ("transformers", "torch"):
        (tmp_path / f"{blocked}.py").write_text("raise ImportError('blocked for this test')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    p = subprocess.run([sys.executable, "-m", "chipfit", "count", "gpt2", "--trace"], capture_output=True,
                       text=True, env=env, timeout=300)
    assert_one_sentence_error(p.returncode, p.stdout, p.stderr)
    assert "pip install 'chipfit[" in p.stderr
    p = subprocess.run([sys.executable, "-m", "chipfit", "count", "llama-3-70b", "--json"], capture_output=True,
                       text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["params"] == 70_553_706_496  # llm_configs.csv


def test_zoo_lists_the_built_in_models(cli):
    rc, out, err = cli("zoo", "--task", "speech", "--json")
    assert rc == 0, err
    assert {m["task"] for m in json.loads(out)["models"]} == {"speech"}
    rc, out, err = cli("zoo")
    assert rc == 0 and "llama-3-70b" in out and "analytic" in out
    rc, out, err = cli("zoo", "--task", "audio")
    assert_one_sentence_error(rc, out, err)
    rc, out, err = cli("models", "--json")   # the old name still works
    assert rc == 0, err
    names = {m["name"] for m in json.loads(out)["models"]}
    assert {"llama-3-8b", "llama-3-70b", "llama-3.1-8b", "mistral-7b", "mixtral-8x7b", "qwen2.5-0.5b",
            "qwen2.5-7b", "qwen2.5-72b", "gemma-2b", "phi-3-mini", "gpt2-medium", "gpt2-large", "gpt2-xl",
            "bert-large", "vit-base-patch16-224", "vit-l-14", "clip-vit-l-14", "whisper-base", "whisper-small",
            "whisper-medium", "whisper-large-v3", "blip2-qformer", "wav2vec2-base", "llava-1.5-7b"} <= names
    assert {"resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
            "efficientnet_b0", "vit_b_16", "vit_l_16", "convnext_tiny", "gpt2", "bert-base",
            "llama-2-7b", "llama-2-70b", "whisper-tiny"} <= names
