"""Measuring the real thing: timing a model in a fresh process (``chipfit measure``), probing
this machine's peaks (``chipfit probe``) and exporting a model to ONNX for it."""
