"""The built-in model zoo: schema-checked entries in ``models.yaml``, looked up by name."""

from __future__ import annotations

import difflib
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import ChipfitError


class ZooEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    aliases: list[str] = Field(default_factory=list)
    frontend: Literal["torchvision", "hf"]
    source: str = Field(min_length=1)
    builder: str | None = None            # torchvision builder function name
    input_shape: list[int] | None = None  # torchvision input (N, C, H, W)
    config: dict[str, Any] | None = None  # Hugging Face config.json contents
    seq_len: int | None = None            # default sequence length of text models

    @model_validator(mode="after")
    def _complete(self) -> "ZooEntry":
        if self.frontend == "torchvision" and not (self.builder and self.input_shape):
            raise ValueError(f"{self.name}: a torchvision entry needs builder and input_shape")
        if self.frontend == "hf" and not (self.config and "model_type" in self.config and self.seq_len):
            raise ValueError(f"{self.name}: an hf entry needs config (with model_type) and seq_len")
        return self


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


@lru_cache(maxsize=1)
def entries() -> dict[str, ZooEntry]:
    """All built-in models by canonical name."""
    text = resources.files(__package__).joinpath("models.yaml").read_text(encoding="utf-8")
    return {e.name: e for e in (ZooEntry(**raw) for raw in yaml.safe_load(text))}


@lru_cache(maxsize=1)
def _index() -> dict[str, ZooEntry]:
    index: dict[str, ZooEntry] = {}
    for entry in entries().values():
        for alias in (entry.name, *entry.aliases):
            index[_key(alias)] = entry
    return index


def find(name: str) -> ZooEntry | None:
    return _index().get(_key(name))


def lookup(name: str) -> ZooEntry:
    """The entry called ``name`` (or an alias); unknown names get the closest matches."""
    entry = find(name)
    if entry is not None:
        return entry
    close = difflib.get_close_matches(_key(name), list(_index()), n=3, cutoff=0.5)
    names = sorted({_index()[c].name for c in close})
    hint = f"; did you mean {', '.join(names)}?" if names else "; run 'chipfit models' to list them"
    raise ChipfitError(f"unknown model '{name}': not a built-in name, a file, or module:callable{hint}")
