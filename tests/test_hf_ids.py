"""Model names as users type them: Hugging Face ids resolve to a built-in entry, or to a
config some earlier download left in the local Hugging Face cache; nothing is downloaded."""

from __future__ import annotations

import json

import pytest

from chipfit.frontends import hf_cache

TINY = dict(model_type="llama", architectures=["LlamaForCausalLM"], hidden_size=64, intermediate_size=96,
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, vocab_size=100,
            max_position_embeddings=256)


def _cache(root, repo: str, commits: dict[str, dict], main: str | None):
    """A cache in huggingface_hub's layout: models--ORG--NAME/snapshots/<commit>/config.json."""
    folder = root / "hub" / ("models--" + repo.replace("/", "--"))
    for commit, config in commits.items():
        snap = folder / "snapshots" / commit
        snap.mkdir(parents=True)
        (snap / "config.json").write_text(json.dumps(config))
    if main:
        (folder / "refs").mkdir()
        (folder / "refs" / "main").write_text(main)


@pytest.fixture
def hf_home(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    return tmp_path


def test_a_cached_id_counts_as_its_config(hf_home, run_cli):
    _cache(hf_home, "acme/tiny-llama", {"abc123": TINY}, main="abc123")
    config = hf_home / "tiny.json"
    config.write_text(json.dumps(TINY))
    rc1, by_id, err = run_cli("count", "acme/tiny-llama", "--json")
    rc2, by_file, _ = run_cli("count", str(config), "--json")
    assert rc1 == rc2 == 0, err
    a, b = json.loads(by_id), json.loads(by_file)
    assert a["macs"] == b["macs"] > 0 and a["params"] == b["params"]
    rc, out, err = run_cli("llm", "acme/tiny-llama", "--chip", "h100-sxm", "--prompt", "64", "--output", "16", "--json")
    assert rc == 0, err
    assert json.loads(out)["params"] == b["params"]


def test_refs_main_picks_the_snapshot(hf_home):
    wide = dict(TINY, hidden_size=128)
    _cache(hf_home, "acme/two", {"aaa111": TINY, "bbb222": wide}, main="bbb222")
    path = hf_cache.cached_config("acme/two")
    assert path is not None and path.parent.name == "bbb222"


def test_hf_hub_cache_wins_over_hf_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert hf_cache.hub_cache() == tmp_path / "elsewhere"


@pytest.mark.parametrize("text", ["../etc", "a/../b", "a/b/c", "/abs/path", "acme/..", ""])
def test_only_hub_ids_are_looked_up(hf_home, text):
    assert hf_cache.cached_config(text) is None


def test_an_unknown_id_says_nothing_is_downloaded_and_how_to_pass_a_config(hf_home, run_cli):
    rc, out, err = run_cli("count", "Qwen/Qwen9-8B")
    assert rc == 2 and "Traceback" not in err
    assert "cached locally (nothing is downloaded" in err and "path of its config.json" in err
    assert "did you mean" in err


def test_a_built_in_id_needs_no_cache(hf_home, run_cli):
    rc, out, err = run_cli("count", "meta-llama/Llama-3.1-8B", "--json")
    assert rc == 0, err
    assert json.loads(out)["model"] == "llama-3.1-8b"
