"""What each runtime runs on its accelerator, and what it leaves to the host CPU (schema).

``runtime_ops.yaml`` gives, per runtime (an efficiency class of ``efficiency.yaml``), the op
families (:data:`chipfit.core.opfamily.FAMILIES`) its accelerator runs or does not run, with the
vendor document that says so:

- ``runs: listed``: only the listed families run on the accelerator (an allow-list, as the Edge
  TPU compiler's table of supported operations); every other op is left to the CPU;
- ``runs: all_but_listed``: everything but the listed families runs on it (a deny-list);
- ``partition: per_op``: each op left out runs on the CPU and the next one returns to the
  accelerator; ``partition: once``: the compiler cuts the graph at the first op it cannot map,
  and that op and every op after it run on the CPU;
- ``one_image: true``: the compiled network takes one image per call (its tensors carry no batch),
  so a batch of N is N calls, one after the other, and batching gains nothing.

A runtime absent from the file runs every op on its accelerator (and says nothing about it).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chipfit.core.datafile import load
from chipfit.core.opfamily import FAMILIES


class RuntimeOps(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = Field(min_length=1)
    source: str = Field(min_length=1)
    runs: Literal["listed", "all_but_listed"]
    partition: Literal["per_op", "once"]
    families: tuple[str, ...]
    one_image: bool = False  # a compiled network takes one image per call: a batch is that many calls
    notes: str | None = None

    @field_validator("families")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [f for f in v if f not in FAMILIES or f == "other"]
        if unknown:
            raise ValueError(f"unknown op family {', '.join(unknown)}; families are {', '.join(sorted(FAMILIES))}")
        return v

    def on_accelerator(self, fam: str) -> bool:
        """Whether the accelerator runs an op of family ``fam``."""
        return (fam in self.families) == (self.runs == "listed")


class RuntimeOpsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    runtimes: dict[str, RuntimeOps]


@lru_cache(maxsize=1)
def runtime_ops_file() -> RuntimeOpsFile:
    text = resources.files(__package__).joinpath("runtime_ops.yaml").read_text(encoding="utf-8")
    return load(RuntimeOpsFile, text, "built-in runtime_ops.yaml")


def runtime_ops(runtime: str) -> RuntimeOps | None:
    """The op support of ``runtime`` (None: it runs every op on its accelerator)."""
    return runtime_ops_file().runtimes.get(runtime)
