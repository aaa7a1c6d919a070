"""One network read two ways prices the same: a runtime fuses the decomposed activations an ONNX
exporter writes (SiLU as Sigmoid + Mul, GELU as Div, Erf, Add, Mul, Mul) as it fuses PyTorch's
single op, so the roofline's bytes agree; a residual add still reads its second input."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

import chipfit  # noqa: E402
from chipfit.analysis.roofline import roofline  # noqa: E402
from chipfit.core.precision import get_precision  # noqa: E402
from chipfit.data.efficiency import Efficiency  # noqa: E402


class Block(torch.nn.Module):
    def __init__(self, act: torch.nn.Module, residual: bool = False):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.act1 = act
        self.conv2 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.act2 = act
        self.residual = residual

    def forward(self, x):
        y = self.act2(self.conv2(self.act1(self.conv1(x))))
        return y + x if self.residual else y


def bytes_both_ways(module, tmp_path) -> tuple[int, int]:
    x = torch.zeros(1, 8, 32, 32)
    path = tmp_path / "block.onnx"
    torch.onnx.export(module.eval(), (x,), str(path), dynamo=False, opset_version=17)
    prec = get_precision("int8")
    out = []
    for model in (module, str(path)):
        graph = chipfit.count(model, input_shape=["1,8,32,32"] if isinstance(model, str) else None,
                              inputs=(x,) if not isinstance(model, str) else None, device="cpu").graph
        out.append(roofline(graph, prec, 1e12, 1e11, Efficiency.uniform(1.0)).bytes)
    return out[0], out[1]


@pytest.mark.parametrize("act", [torch.nn.SiLU(), torch.nn.GELU(), torch.nn.Mish()], ids=["silu", "gelu", "mish"])
def test_decomposed_activations_move_the_bytes_of_the_fused_op(act, tmp_path):
    pt, ox = bytes_both_ways(Block(act), tmp_path)
    # the exported GELU also reads its three scalar constants (√2, 1, 0.5) per activation: 6 bytes
    assert 0 <= ox - pt <= (6 if isinstance(act, torch.nn.GELU) else 0), (pt, ox)


def test_a_residual_add_still_reads_its_second_input(tmp_path):
    """conv → ReLU → conv → ReLU → + x: the add reads x (8·32·32 int8 bytes) from memory, both ways."""
    pt, ox = bytes_both_ways(Block(torch.nn.ReLU(), residual=True), tmp_path)
    plain, _ = bytes_both_ways(Block(torch.nn.ReLU()), tmp_path)
    assert pt == ox
    assert pt - plain == 8 * 32 * 32  # the residual's read; its output replaces the ReLU's write
