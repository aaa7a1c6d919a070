"""Real exports through both torch exporters count what the PyTorch frontend counts.

The reference is chipfit's own PyTorch frontend on the very module that was exported
(itself held to torchvision's ``_ops`` metadata and analytic formulas in other tests).

* MACs must be equal exactly. Exporters fold BatchNorm into the convolution before it in
  eval mode; that removes the normalisation's FLOPs (2 + 2 per element) but no MACs.
* Parameters: a folded BatchNorm of C channels disappears with its weight and bias (2C)
  and leaves a bias of C on the convolution (torchvision's convolutions before a BatchNorm
  have none), so the ONNX count is the PyTorch count minus the BatchNorm channels.
  Weights are randomised first: the exporters merge initializers with identical values
  and drop all-zero biases, which a freshly initialised model is full of.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript")

import chipfit  # noqa: E402
from chipfit.frontends.onnx.walk import read  # noqa: E402

pytestmark = pytest.mark.slow


class _LastHidden(torch.nn.Module):
    """forward(input_ids) -> last_hidden_state, with the keyword arguments the exporters need."""

    def __init__(self, model, **kwargs):
        super().__init__()
        self.model, self.kwargs = model, kwargs

    def forward(self, input_ids):
        extra = {k: (torch.ones_like(input_ids) if v == "ones" else v) for k, v in self.kwargs.items()}
        return self.model(input_ids=input_ids, **extra).last_hidden_state


def _randomize(module):
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, t in (*module.named_parameters(), *module.named_buffers()):
            if t.dtype.is_floating_point:
                fresh = (torch.rand(t.shape, generator=g) + 0.5 if name.endswith("running_var")
                         else torch.randn(t.shape, generator=g) * 0.02)
                t.copy_(fresh)
    return module.eval()


#: Transformer blocks of the text models and ViT: every block is the same ops, and the exporters'
#: time grows with the blocks (two keep the block-to-block wiring, at a sixth of the 12-block time)
LAYERS = 2


def _build(name):
    if name in ("gpt2", "bert-base"):
        transformers = pytest.importorskip("transformers")
        if name == "gpt2":
            # the TorchScript exporter fails on transformers' packed-sequence check without a mask
            model = _LastHidden(transformers.GPT2Model(transformers.GPT2Config(n_layer=LAYERS)),
                                attention_mask="ones", use_cache=False)
        else:
            model = _LastHidden(transformers.BertModel(transformers.BertConfig(num_hidden_layers=LAYERS),
                                                       add_pooling_layer=False))
        return _randomize(model), torch.zeros(1, 128, dtype=torch.long)
    torchvision = pytest.importorskip("torchvision")
    if name == "vit_b_16":  # ViT-B/16's blocks, LAYERS of them
        model = torchvision.models.VisionTransformer(224, 16, LAYERS, 12, 768, 3072)
        return _randomize(model), torch.zeros(1, 3, 224, 224)
    return _randomize(getattr(torchvision.models, name)()), torch.zeros(1, 3, 224, 224)


def export(module, x, path, dynamo: bool):
    import warnings

    mha = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # the fused MHA kernel has no ONNX symbolic
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (x,), str(path), dynamo=dynamo, opset_version=18 if dynamo else 17,
                              verbose=False)
    finally:
        torch.backends.mha.set_fastpath_enabled(mha)
    return path


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v3_large", "efficientnet_b0", "vit_b_16",
                                  "gpt2", "bert-base"])
def test_both_exporters_count_what_the_pytorch_frontend_counts(name, tmp_path):
    module, x = _build(name)
    # transformers' mask code calls .item(): count the text models on CPU (same counts, see
    # test_invariance), the vision models on meta
    ref = chipfit.count(module, inputs=(x,), device="cpu" if x.dtype == torch.long else "meta")
    bn_channels = sum(m.num_features for m in module.modules()
                      if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
    for dynamo in (False, True):
        path = export(module, x, tmp_path / f"{name}-{'dynamo' if dynamo else 'torchscript'}.onnx", dynamo)
        g = read(path)
        which = "dynamo" if dynamo else "TorchScript"
        assert g.unsupported == {}, which
        assert g.macs == ref.macs, which
        assert g.params == ref.params - bn_channels, which
        if bn_channels:  # folding removed the BatchNorm arithmetic, not a single MAC
            assert g.flops < ref.flops
            assert not any(op.op == "BatchNormalization" for op in g.ops)
        for f in tmp_path.iterdir():  # ~0.1-1 GB per model: free the disk as we go
            f.unlink()


def test_scopes_follow_the_module_paths(tmp_path):
    module, x = _build("resnet50")
    for dynamo in (False, True):
        g = read(export(module, x, tmp_path / f"r{dynamo}.onnx", dynamo))
        names = {op.name for op in g.ops if op.kind == "conv"}
        assert {"conv1", "layer1.0.conv1", "layer1.0.downsample.0", "layer4.2.conv3"} <= names
        assert next(op for op in g.ops if op.name == "fc").kind == "linear"
        rows = {r.name: r for r in g.by_module(1)}
        assert rows["layer3"].macs == sum(op.macs for op in g.ops if op.name.startswith("layer3."))


def test_quantized_resnet50_dynamic_and_qdq(tmp_path):
    """onnxruntime's dynamic (ConvInteger/MatMulInteger) and static QDQ quantization of the
    same ResNet-50 count the float model's MACs and store int8 weights."""
    ort_quant = pytest.importorskip("onnxruntime.quantization")
    np = pytest.importorskip("numpy")
    module, x = _build("resnet50")
    src = export(module, x, tmp_path / "float.onnx", dynamo=False)
    float_graph = read(src)
    input_name = next(iter(float_graph.inputs))

    dyn = tmp_path / "dynamic.onnx"
    ort_quant.quantize_dynamic(str(src), str(dyn), weight_type=ort_quant.QuantType.QInt8)

    class Calibration(ort_quant.CalibrationDataReader):
        def __init__(self):
            self.left = 2

        def get_next(self):
            self.left -= 1
            return {input_name: np.random.default_rng(self.left).random((1, 3, 224, 224), dtype=np.float32)} \
                if self.left >= 0 else None

    qdq = tmp_path / "qdq.onnx"
    ort_quant.quantize_static(str(src), str(qdq), Calibration(), quant_format=ort_quant.QuantFormat.QDQ,
                              weight_type=ort_quant.QuantType.QInt8)
    for path, matrix_op in ((dyn, "ConvInteger"), (qdq, "Conv")):
        g = read(path)
        assert g.macs == float_graph.macs, path.name
        assert g.params == float_graph.params, path.name
        convs = [op for op in g.ops if op.op == matrix_op]
        assert len(convs) == 53 and all(op.weight_bits == 8 and op.act_bits == 8 for op in convs)
        # asked for fp32, the graph's int8 weights still take one byte per parameter
        # (+ the few float or int32 biases and the classifier's bias)
        assert g.params <= g.weight_bytes("fp32") <= 1.01 * g.params, path.name
        assert float_graph.weight_bytes("fp32") == 4 * float_graph.params
        assert any("quantized graph: 100% of MACs" in n for n in g.notes)
