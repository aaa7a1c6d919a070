"""The ONNX frontend: a model file read without its weights, shapes inferred statically, and
one registry of shape-only cost formulas per (domain, op type)."""
