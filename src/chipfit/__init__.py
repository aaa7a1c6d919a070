"""chipfit: compute and bandwidth a neural network needs, and whether a chip runs it."""
__version__ = "0.1.0"
