"""How much work a file may ask of chipfit: every reader checks its input against these caps
*before* the work, and refuses in one sentence that names the cap and how to raise it.

A file you receive from someone else (a scenario, a chip file, a config.json, an ONNX model, a
saved result) is data: these caps keep a small hostile file from filling the memory, running for
ever or blocking on a device. The command line raises them with the root options
(``chipfit --max-file-mb 64 plan ...``); the web page keeps the defaults.

==================  ==========  ==============================================================
cap                 default     what it bounds
==================  ==========  ==============================================================
``max_file_mb``     16          a data file: YAML, JSON, CSV, config.json, a saved result
``max_onnx_nodes``  1,000,000   an ONNX graph's nodes, its local functions inlined (counted
                                before inlining)
``max_onnx_depth``  64          nesting of an ONNX model's local functions
``onnx_memory_gb``  2           memory one ONNX file's inlining, shape inference and folding
                                may take (in a child process, on Linux)
``onnx_seconds``    60          time they may take
``max_layers``      10,000      layers of an architecture config (``num_hidden_layers``)
``max_stages``      256         stages of a scenario
==================  ==========  ==============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class Limits:
    max_file_mb: float = 16
    max_onnx_nodes: int = 1_000_000
    max_onnx_depth: int = 64
    onnx_memory_gb: float = 2
    onnx_seconds: float = 60
    max_layers: int = 10_000
    max_stages: int = 256

    def set(self, **values: float | int | None) -> None:
        """Change the caps given (None: keep)."""
        names = {f.name for f in fields(self)}
        for name, value in values.items():
            if name not in names:
                raise ValueError(f"no cap named {name!r}")
            if value is not None:
                setattr(self, name, value)

    def reset(self) -> None:
        """Back to the defaults."""
        for f in fields(self):
            setattr(self, f.name, f.default)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * (1 << 20))


#: The caps in force for this process.
LIMITS = Limits()
