"""The TFLite frontend: a ``.tflite`` flatbuffer read bounded, without TensorFlow and without
its weights, and one registry of shape-only cost formulas per builtin op."""
