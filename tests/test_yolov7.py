"""YOLOv7-tiny and YOLOv7 in the zoo: the deploy form, held to the authors' published size and FLOPs.

Sources:
  * https://github.com/WongKinYiu/yolov7 (commit a207844b1ce82d204ab36d87d496728d3d2348e7)
    ``cfg/deploy/yolov7-tiny.yaml`` and ``cfg/deploy/yolov7.yaml``: the layer tables.
  * Wang, Bochkovskiy, Liao 2022, arXiv:2207.02696, Table 2 at 640x640: YOLOv7-tiny-SiLU 6.2M
    parameters, 13.8 GFLOPs; YOLOv7 36.9M parameters, 104.7 GFLOPs. Table 1: YOLOv7-tiny 5.8 GFLOPs
    at 416x416. (YOLOv7-tiny-SiLU's table is YOLOv7-tiny's with SiLU for LeakyReLU(0.1): same size.)
  * The repository's model summary after ``Model.fuse()`` (printed by its detect.py and test.py for
    the released checkpoints, quoted in public discussions of the repository): "306 layers, 36905341
    parameters" for yolov7.pt and "200 layers, 6219709 parameters" for yolov7-tiny.pt; the unfused
    ``cfg/deploy/yolov7.yaml`` profiles at 37,620,125 parameters and 106.5 GFLOPs.

Which form the table counts: the deploy form. YOLOv7's training form has a RepConv per output level
(a 3x3 and a 1x1 convolution, each with BatchNorm, plus a BatchNorm identity branch) and IDetect's
implicit layers; the deploy form merges each RepConv into one 3x3 convolution and folds the implicit
layers into the 1x1 output convolutions. The 1x1 branches alone are 688,128 weights, which puts the
training form at 37.6M: outside the rounding of the published 36.9M, which is exactly the fused count.
So the zoo builds the deploy form and these tests hold it to the table. YOLOv7-tiny has no RepConv
(its training form differs only by the implicit layers, 1,661 parameters), so there the two forms
agree with the table alike; it is checked against the fused count too.

Counting notes: chipfit's GFLOPs are 2 x the convolutions' MACs. The published GFLOPs come from thop,
which also counts some per-element work (BatchNorm, biases, ...) and, for the paper's table, was run
on the training form: they are within 1 % of ours but slightly above (13.70 vs 13.8, 104.51 vs 104.7).
The zoo's Conv keeps its BatchNorm as a separate module (as the other YOLO builders do; exporters
fold it into the bias), which counts one parameter per channel more than the fused model summary.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from chipfit.analysis.count import count
from chipfit.data import zoo

# parameters (millions) and GFLOPs (= 2 x MACs) at 640x640, arXiv:2207.02696 Table 2
YOLOV7_PUBLISHED = {"yolov7-tiny": (6.2, 13.8), "yolov7": (36.9, 104.7)}
# the repository's fused model summary of the released checkpoints (Conv+BN and RepConv fused)
YOLOV7_FUSED_PARAMS = {"yolov7-tiny": 6_219_709, "yolov7": 36_905_341}


@pytest.fixture(scope="module")
def counted():
    return {name: count(name) for name in YOLOV7_PUBLISHED}


def test_zoo_entries_and_aliases():
    for alias in ("yolov7-tiny", "yolov7_tiny", "yolov7t", "YOLOv7-Tiny", "yolo-v7-tiny", "yolov7tiny"):
        assert zoo.lookup(alias).name == "yolov7-tiny"
    for alias in ("yolov7", "YOLOv7", "yolo-v7", "yolo_v7"):
        assert zoo.lookup(alias).name == "yolov7"
    tiny, big = zoo.lookup("yolov7-tiny"), zoo.lookup("yolov7")
    assert tiny.builder == "chipfit.frontends.pytorch.nets.yolov7:yolov7_tiny"
    assert big.builder == "chipfit.frontends.pytorch.nets.yolov7:yolov7"
    assert tiny.input_shape == big.input_shape == [1, 3, 640, 640]
    assert tiny.frontend == big.frontend == "torchvision" and tiny.task == big.task == "vision"


@pytest.mark.parametrize("name", sorted(YOLOV7_PUBLISHED))
def test_matches_the_published_size_and_flops(name, counted):
    params_m, gflops = YOLOV7_PUBLISHED[name]
    r = counted[name]  # the zoo entry: 1x3x640x640
    assert list(r.graph.inputs.values())[0] == (1, 3, 640, 640)
    # published figures are rounded to 0.1: within that rounding, or 1 %
    assert abs(r.params / 1e6 - params_m) <= max(0.05, 0.01 * params_m), r.params
    assert abs(2 * r.macs / 1e9 - gflops) <= max(0.05, 0.01 * gflops), r.macs


@pytest.mark.parametrize("name", sorted(YOLOV7_FUSED_PARAMS))
def test_fused_parameters_match_the_repository_exactly(name, counted):
    """With each BatchNorm's scale and shift folded into one bias per channel, the count is the
    repository's fused model summary to the parameter: the layer tables are built exactly."""
    r = counted[name]
    bn_channels = sum(op.params for op in r.graph.ops if op.kind == "norm") // 2
    assert r.params - bn_channels == YOLOV7_FUSED_PARAMS[name]


def test_yolov7_table_counts_the_deploy_form(counted):
    r = counted["yolov7"]
    repconv = [op for op in r.graph.ops if op.kind == "conv" and op.name in
               ("layers.102.conv", "layers.103.conv", "layers.104.conv")]
    # deploy: each RepConv is one 3x3 convolution with bias and no BatchNorm after it
    assert [op.input_shapes[1] for op in repconv] == [(256, 128, 3, 3), (512, 256, 3, 3), (1024, 512, 3, 3)]
    assert all(len(op.input_shapes) == 3 for op in repconv)  # input, weight, bias
    assert not any(op.name.startswith(("layers.102.", "layers.103.", "layers.104.")) and op.kind == "norm"
                   for op in r.graph.ops)
    # the training form's 1x1 branches would add c_in x c_out weights and H x W x c_in x c_out MACs each
    extra_w = sum(op.input_shapes[1][0] * op.input_shapes[1][1] for op in repconv)
    extra_macs = sum(op.macs // 9 for op in repconv)
    assert extra_w == 688_128
    params_m, gflops = YOLOV7_PUBLISHED["yolov7"]
    train_params_at_least = (r.params + extra_w) / 1e6
    assert abs(r.params / 1e6 - params_m) <= 0.05 < abs(train_params_at_least - params_m)
    assert abs(2 * r.macs / 1e9 - gflops) < abs(2 * (r.macs + extra_macs) / 1e9 - gflops)


def test_yolov7_tiny_at_416_matches_table_1():
    r = count("yolov7-tiny", input_shape="1x3x416x416")
    assert abs(2 * r.macs / 1e9 - 5.8) <= 0.05, r.macs
    # every op is a convolution over the grid: the MACs scale with the pixels exactly
    assert r.macs * 640 * 640 == count("yolov7-tiny").macs * 416 * 416


@pytest.mark.parametrize("builder, act", [("yolov7_tiny", nn.LeakyReLU), ("yolov7", nn.SiLU)])
def test_raw_head_outputs_and_activation(builder, act):
    from chipfit.frontends.pytorch.build import build_module
    from chipfit.frontends.pytorch.nets import yolov7 as mod

    model = build_module(getattr(mod, builder)).eval()
    acts = [m for m in model.modules() if isinstance(m, (nn.LeakyReLU, nn.SiLU, nn.ReLU))]
    assert acts and all(type(m) is act for m in acts)
    if act is nn.LeakyReLU:
        assert all(m.negative_slope == 0.1 for m in acts)
    with torch.no_grad():
        outs = model(torch.zeros(1, 3, 640, 640, device="meta"))
    # 3 anchors x (4 box + 1 object + 80 classes) per level, strides 8 / 16 / 32: no decoding, no NMS
    assert [tuple(o.shape) for o in outs] == [(1, 255, 80, 80), (1, 255, 40, 40), (1, 255, 20, 20)]
