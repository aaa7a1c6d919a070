"""The architecture-config frontend: analytic cost graphs from Hugging Face ``config.json``
files and the built-in zoo, in milliseconds and without torch.

``checks`` refuses a field no model could have (its one table says what each field the readers
use may hold, the layer cap among them) before any work; ``hf_config`` reads a config into the
generic pieces of ``spec``; ``build`` prices them for a phase (forward, prefill, decode with a
KV cache). The tests hold every family's MACs and
parameters equal to transformers' own model traced by the PyTorch frontend.
"""

from __future__ import annotations

from typing import Any

from chipfit.core.costgraph import CostGraph
from chipfit.frontends.arch.build import Phase, build
from chipfit.frontends.arch.checks import check
from chipfit.frontends.arch.hf_config import read, supported_model_types


def from_config(config: dict[str, Any], phase: Phase | None = None, name: str = "model",
                where: str = "the config") -> CostGraph:
    """The cost graph of the model ``config`` describes, running ``phase`` (default: one
    forward pass of 128 tokens)."""
    return build(read(config, where), phase or Phase(), name)


__all__ = ["Phase", "build", "check", "from_config", "read", "supported_model_types"]
