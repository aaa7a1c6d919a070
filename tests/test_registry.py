"""The op registries: full names with their namespace, no silent replacement, and formulas for
a user's own ops (PyTorch custom ops, ONNX ops of another domain)."""

from __future__ import annotations

import onnx
import pytest
import torch
from onnx import TensorProto, helper

import chipfit
from chipfit.frontends.onnx.ops import REGISTRY as ONNX_REGISTRY
from chipfit.frontends.pytorch.ops import REGISTRY as TORCH_REGISTRY


@torch.library.custom_op("chipfit_test::scaled_gemm", mutates_args=())
def scaled_gemm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 2 * (a @ b)


@scaled_gemm.register_fake
def _(a, b):
    return a.new_empty(a.shape[0], b.shape[1])


@torch.library.custom_op("chipfit_test::mm", mutates_args=())
def other_mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a @ b


@other_mm.register_fake
def _(a, b):
    return a.new_empty(a.shape[0], b.shape[1])


class UsesCustomOps(torch.nn.Module):
    def forward(self, x):
        y = torch.ops.chipfit_test.scaled_gemm(x, x.T)     # (64 × 32) @ (32 × 64)
        return torch.ops.chipfit_test.mm(y, x)             # (64 × 64) @ (64 × 32)


def test_keys_carry_their_namespace():
    assert "aten::convolution" in TORCH_REGISTRY and "aten::mm" in TORCH_REGISTRY
    assert "quantized::linear_dynamic" in TORCH_REGISTRY
    assert all("::" in k for k in TORCH_REGISTRY)
    assert ("", "Conv") in ONNX_REGISTRY and ("com.microsoft", "Attention") in ONNX_REGISTRY


def test_an_op_of_another_namespace_is_not_priced_as_aten():
    """chipfit_test::mm has aten::mm's name but no formula: listed unsupported, never counted as a matmul."""
    r = chipfit.count(UsesCustomOps(), input_shape=(64, 32))
    assert r.unsupported_ops == {"chipfit_test::scaled_gemm": 1, "chipfit_test::mm": 1}
    assert r.macs == 0


def test_a_registered_formula_prices_the_users_op():
    @chipfit.register_torch_op("chipfit_test::scaled_gemm", kind="matmul")
    def formula(a, b, *, out):
        return chipfit.Cost(macs=a[0] * a[1] * b[1], nonmac=out[0] * out[1])   # the product, then the scale

    try:
        r = chipfit.count(UsesCustomOps(), input_shape=(64, 32))
        assert r.macs == 64 * 32 * 64                      # by hand: M × K × N
        assert r.graph.nonmac_flops == 64 * 64
        assert r.unsupported_ops == {"chipfit_test::mm": 1}
        op = next(o for o in r.layers if o.op == "chipfit_test::scaled_gemm")
        assert op.kind == "matmul" and op.macs == 64 * 32 * 64
    finally:
        del TORCH_REGISTRY["chipfit_test::scaled_gemm"]


def test_registering_twice_is_an_error():
    with pytest.raises(ValueError, match="aten::mm is already registered"):
        chipfit.register_torch_op("aten::mm", kind="matmul")(lambda *a, out: chipfit.Cost())
    with pytest.raises(ValueError, match="ai.onnx::Conv is already registered"):
        chipfit.register_onnx_op("Conv", kind="conv")(lambda n: chipfit.Cost())
    with pytest.raises(ValueError, match="namespace"):
        chipfit.register_torch_op("scaled_gemm", kind="matmul")
    with pytest.raises(ValueError, match="kind must be one of"):
        chipfit.register_torch_op("mylib::x", kind="magic")


def test_an_onnx_op_of_the_users_domain(tmp_path):
    node = helper.make_node("FusedGemmGelu", ["x", "w"], ["y"], domain="com.example", name="fused")
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8, 4])],
        initializer=[helper.make_tensor("w", TensorProto.FLOAT, [16, 4], [0.0] * 64)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.example", 1)])
    path = tmp_path / "fused.onnx"
    onnx.save(model, path)
    before = chipfit.count(str(path))
    assert before.unsupported_ops == {"com.example.FusedGemmGelu": 1}
    assert before.macs == 0

    @chipfit.register_onnx_op("FusedGemmGelu", domain="com.example", kind="linear")
    def fused(n):
        m, k = n.inp(0)
        return chipfit.Cost(macs=m * k * n.inp(1)[1], nonmac=5 * m * n.inp(1)[1])

    try:
        after = chipfit.count(str(path))
        assert after.macs == 8 * 16 * 4 and after.graph.nonmac_flops == 5 * 8 * 4
        assert after.params == 16 * 4 and not after.unsupported_ops
    finally:
        del ONNX_REGISTRY[("com.example", "FusedGemmGelu")]
