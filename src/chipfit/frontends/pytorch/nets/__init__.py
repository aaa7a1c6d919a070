"""Networks written here from their published architecture definitions (layer tables, configs,
papers), one module per family, for the zoo: each builder takes no arguments and returns an
``nn.Module`` that the PyTorch frontend traces on the meta device. Their sources are in each
module's docstring; the zoo entries that use them are in ``chipfit/data/zoo/*.yaml``."""
