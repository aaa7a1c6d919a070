"""Cost formulas for your own ops: the public way into the frontends' registries.

A model that calls an op chipfit has no formula for (a custom PyTorch op, an ONNX contrib op)
gets that op listed under ``unsupported_ops``, never silently counted as zero. Register a
shape-only formula and chipfit prices it like its own::

    @chipfit.register_torch_op("mylib::scaled_gemm", kind="matmul")
    def scaled_gemm(a, b, *, out):                 # tensors arrive as their shapes
        return chipfit.Cost(macs=a[0] * a[1] * b[1], nonmac=out[0] * out[1])

    @chipfit.register_onnx_op("FusedGemmGelu", domain="com.example", kind="linear")
    def fused(node):                               # node.inp(i), node.out(i), node.attr(name)
        m, k = node.inp(0)
        return chipfit.Cost(macs=m * k * node.out()[1], nonmac=5 * m * node.out()[1])

Ops are keyed by their full name, namespace included: ``mylib::mm`` is not ``aten::mm``.
Registering a name that already has a formula raises ``ValueError`` (the first one would be
replaced without a word). ``kind`` is the op's class in reports and in the roofline:
``conv``, ``linear``, ``matmul`` and ``attention`` run on the matrix engine; ``norm``,
``activation``, ``softmax``, ``pool``, ``elementwise``, ``reduction``, ``embedding``,
``resize`` on the vector units; ``data`` only moves bytes.
"""

from __future__ import annotations

from collections.abc import Callable

from chipfit.frontends.costs import Cost
from chipfit.frontends.onnx import ops as onnx_ops
from chipfit.frontends.pytorch import ops as torch_ops

Formula = Callable[..., Cost]


def register_torch_op(name: str, *, kind: str, inplace: bool = False) -> Callable[[Formula], Formula]:
    """Decorator: ``formula(*args, out, **kwargs) -> Cost`` prices the PyTorch op ``name``
    (``namespace::op``, as ``torch.ops.namespace.op`` dispatches it). The formula receives the
    op's arguments with every tensor replaced by its shape (a tuple), and ``out``, the output's
    shape (a tuple of shapes for several outputs). With ``inplace`` the ``op_`` form too."""
    if "::" not in name:
        raise ValueError(f"give the op's namespace, e.g. 'mylib::{name}' (PyTorch's own ops are 'aten::...')")
    return torch_ops.register(name, kind=kind, inplace=inplace)


def register_onnx_op(op_type: str, *, kind: str, domain: str = "",
                     params: tuple[int, ...] | None = None) -> Callable[[Formula], Formula]:
    """Decorator: ``formula(node) -> Cost`` prices the ONNX op ``op_type`` of ``domain`` (``""``:
    the standard operators). ``node`` gives the shapes after shape inference (``node.inp(i)``,
    ``node.out(i)``; None where absent) and the attributes (``node.attr(name, default)``);
    ``params``: the inputs that may hold parameters (default: any initializer)."""
    return onnx_ops.register(op_type, kind=kind, domain=domain, params=params)
