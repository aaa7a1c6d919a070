"""Build an ``nn.Module`` without allocating its weights.

First try under ``torch.device("meta")`` (every tensor created is meta). Some builders compute
architecture hyper-parameters with tensors (``torch.arange(...).tolist()``), which meta
tensors cannot answer; those are built with only parameters and buffers sent to meta as they
are registered, while other tensors stay real (the technique of accelerate's
``init_empty_weights``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch


@contextlib.contextmanager
def weights_on_meta() -> Iterator[None]:
    """Send every parameter and buffer to meta as a module registers it."""
    meta = torch.device("meta")
    register_parameter = torch.nn.Module.register_parameter
    register_buffer = torch.nn.Module.register_buffer

    def param(module, name, p):
        if p is not None and p.device.type != "meta":
            p = torch.nn.Parameter(p.to(meta), requires_grad=p.requires_grad)
        register_parameter(module, name, p)

    def buffer(module, name, b, persistent=True):
        register_buffer(module, name, b.to(meta) if b is not None else b, persistent=persistent)

    torch.nn.Module.register_parameter = param
    torch.nn.Module.register_buffer = buffer
    try:
        yield
    finally:
        torch.nn.Module.register_parameter = register_parameter
        torch.nn.Module.register_buffer = register_buffer


def build_module(factory: Callable[[], Any], device: str = "meta") -> Any:
    """``factory()`` with its weights on ``device`` (meta: allocated nowhere)."""
    if device != "meta":
        with torch.device(device):
            return factory()
    try:
        with torch.device("meta"):
            return factory()
    except (NotImplementedError, RuntimeError):
        with weights_on_meta():
            return factory()
