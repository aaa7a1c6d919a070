"""Quantize an ONNX model to int8 (static, QDQ format) with onnxruntime, for counting.

    python examples/quantize_onnx.py model.onnx model_int8.onnx

Calibration uses two random images: enough to produce a quantized graph whose counts chipfit
reads (the accuracy of such a model is not the point here). Needs onnxruntime and numpy.
"""

import logging
import sys

import numpy as np
import onnx
from onnxruntime import quantization as q


def main(src: str, dst: str) -> None:
    graph = onnx.load(src, load_external_data=False).graph
    inits = {i.name for i in graph.initializer}
    x = next(i for i in graph.input if i.name not in inits)
    shape = [d.dim_value or 1 for d in x.type.tensor_type.shape.dim]

    class Random(q.CalibrationDataReader):
        def __init__(self):
            self.left = 2

        def get_next(self):
            self.left -= 1
            if self.left < 0:
                return None
            return {x.name: np.random.default_rng(self.left).random(shape, dtype=np.float32)}

    q.quantize_static(src, dst, Random(), quant_format=q.QuantFormat.QDQ, weight_type=q.QuantType.QInt8)


if __name__ == "__main__":
    logging.getLogger().setLevel(logging.ERROR)   # onnxruntime's notes on every fused bias
    main(*sys.argv[1:3])
