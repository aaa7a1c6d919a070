"""The built-in model zoo: schema-checked entries in this package's ``*.yaml`` files, looked
up by name or alias.

Frontends:
  * ``torchvision`` — ``torchvision.models.<builder>()`` traced on the meta device;
  * ``config``      — a Hugging Face ``config.json`` (``config``) built analytically by
    :mod:`chipfit.frontends.arch` (no torch); ``--trace`` builds it with transformers instead;
  * ``hf``          — a Hugging Face ``config`` traced with transformers only (no analytic
    builder covers it);
  * ``diffusers``   — a diffusers ``config`` (its ``_class_name`` names the class) traced for one
    denoising step or one VAE decode (:mod:`chipfit.frontends.pytorch.diffusion`).
"""

from __future__ import annotations

import difflib
import gzip
import json
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chipfit.core.costgraph import CostGraph
from chipfit.core.datafile import shipped
from chipfit.core.errors import ChipfitError


class ZooEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    aliases: list[str] = Field(default_factory=list)
    frontend: Literal["torchvision", "config", "hf", "diffusers"]
    task: Literal["vision", "language", "speech", "multimodal", "diffusion"]
    source: str = Field(min_length=1)
    description: str = ""
    builder: str | None = None            # torchvision builder function name
    input_shape: list[int] | None = None  # torchvision input (N, C, H, W)
    config: dict[str, Any] | None = None  # Hugging Face config.json contents
    seq_len: int | None = None            # default sequence length of text models
    inputs: dict[str, Any] | None = None  # traced-only (hf) models: how to feed them
    top1: float | None = None             # ImageNet-1K top-1 % as published (when torchvision has none)
    top1_source: str | None = None        # where that figure is published

    @model_validator(mode="after")
    def _complete(self) -> "ZooEntry":
        if self.frontend == "torchvision" and not (self.builder and self.input_shape):
            raise ValueError(f"{self.name}: a torchvision entry needs builder and input_shape")
        if self.frontend in ("config", "hf") and not (self.config and "model_type" in self.config):
            raise ValueError(f"{self.name}: a {self.frontend} entry needs config (with model_type)")
        return self


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


TASKS = ("vision", "language", "speech", "multimodal", "diffusion")


def entries(task: str | None = None) -> list[ZooEntry]:
    """The built-in models (of one ``task``), grouped by task."""
    if task is not None and task not in TASKS:
        raise ChipfitError(f"unknown task '{task}': use one of {', '.join(TASKS)}")
    everything = sorted(by_name().values(), key=lambda e: TASKS.index(e.task))
    return [e for e in everything if task in (None, e.task)]


@lru_cache(maxsize=1)
def by_name() -> dict[str, ZooEntry]:
    """All built-in models by canonical name, file by file in name order."""
    out: dict[str, ZooEntry] = {}
    for path in sorted(resources.files(__package__).iterdir(), key=lambda p: p.name):
        if not path.name.endswith(".yaml"):
            continue
        for raw in shipped(path.read_text(encoding="utf-8")) or []:
            entry = ZooEntry(**raw)
            if entry.name in out:
                raise ValueError(f"zoo: '{entry.name}' is defined twice ({path.name})")
            out[entry.name] = entry
    return out


@lru_cache(maxsize=1)
def _index() -> dict[str, ZooEntry]:
    index: dict[str, ZooEntry] = {}
    for entry in by_name().values():
        for alias in (entry.name, *entry.aliases):
            index[_key(alias)] = entry
    return index


#: name endings of fine-tuned or repackaged checkpoints: they change weights, never shapes
VARIANT_SUFFIXES = ("-instruct", "-chat", "-it", "-hf", "-base", "-sft", "-dpo")


def _base_key(name: str) -> str:
    """``meta-llama/Llama-2-7b-chat-hf`` → ``llama-2-7b`` (organisation and variant endings off)."""
    key = _key(name)
    stripped = True
    while stripped:
        stripped = False
        for suffix in VARIANT_SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                key, stripped = key[: -len(suffix)], True
    if key in _index():
        return key
    return key.rsplit("/", 1)[-1]


def find(name: str) -> ZooEntry | None:
    """The entry called ``name`` or an alias of it; else the one a fine-tuned variant of it
    (``qwen2.5-7b-instruct``, ``Qwen/Qwen2.5-7B-Instruct``) shares its architecture with."""
    return _index().get(_key(name)) or _index().get(_base_key(name))


def variant_note(name: str) -> str | None:
    """What to tell a user whose ``name`` matched an entry only as a variant of it."""
    if _key(name) in _index() or find(name) is None:
        return None
    return (f"'{name}' is priced as the built-in '{find(name).name}': a fine-tuned or repackaged checkpoint "
            f"has the same architecture, hence the same counts")


def stored_graph(name: str) -> tuple[CostGraph, tuple[str, ...], tuple[dict, ...]] | None:
    """The traced cost graph a torchvision entry ships with, at its default input (written by
    ``tools/build_zoo_graphs.py``, held equal to a fresh trace by the tests): (graph, notes,
    weight sparsity), or None when it has none. Counting it needs no torch."""
    entry = find(name)
    if entry is None or entry.frontend != "torchvision":
        return None
    return _stored(entry.name)


@lru_cache(maxsize=None)
def _stored(name: str):
    path = resources.files(__package__).joinpath("graphs", f"{name}.json.gz")
    if not path.is_file():
        return None
    data = json.loads(gzip.decompress(path.read_bytes()))
    return CostGraph.from_data(data["graph"]), tuple(data["notes"]), tuple(data["sparse"])


def lookup(name: str) -> ZooEntry:
    """The entry called ``name`` (or an alias); unknown names get the closest matches."""
    entry = find(name)
    if entry is not None:
        return entry
    close = difflib.get_close_matches(_key(name), list(_index()), n=3, cutoff=0.6)
    names = list(dict.fromkeys(_index()[c].name for c in close))  # closest first, each entry once
    hint = f"; did you mean {', '.join(names)}?" if names else "; run 'chipfit zoo' to list them"
    what = "a built-in name, a file, or module:callable"
    if "/" in name and not name.startswith((".", "/", "~")):
        what = ("a built-in name, a file, or a Hugging Face id cached locally (nothing is downloaded; "
                "any Hugging Face model counts from the path of its config.json)")
    raise ChipfitError(f"unknown model '{name}': not {what}{hint}")
