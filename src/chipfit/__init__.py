"""chipfit: how much compute and bandwidth a neural network needs, and whether a chip runs it.

Public API::

    import chipfit
    r = chipfit.count("resnet18")            # or an nn.Module with input_shape=(1, 3, 224, 224)
    r.macs, r.flops, r.params, r.layers, r.to_dict(), r.to_pandas()
"""

from .costgraph import CostGraph, ModuleRow, Op
from .counting import CountResult, count
from .errors import ChipfitError, MissingDependency
from .precision import PRECISIONS, Precision, get_precision

__version__ = "0.1.0"

__all__ = [
    "ChipfitError", "CostGraph", "CountResult", "MissingDependency", "ModuleRow", "Op",
    "PRECISIONS", "Precision", "count", "get_precision", "__version__",
]
