"""The package's layers, lowest first: a module imports from its own layer and those below.

========================  ==============================================================
``chipfit.core``          cost graph, precisions, errors, number formatting, file I/O
``chipfit.data``          chip database, model zoo, fitted efficiency tables (data files)
``chipfit.frontends``     PyTorch, ONNX and architecture configs → cost graph
``chipfit.analysis``      count, roofline, check, rank, llm, plan, what-if, explanations
``chipfit.calibration``   fitting efficiencies to measurements
``chipfit.measure``       timing real runs, probing this machine, ONNX export
``chipfit.render``        terminal tables, CSV/Markdown, the HTML report and its SVG charts
``chipfit.serve``         the local web page and JSON API
``chipfit.cli``           the ``chipfit`` command
========================  ==============================================================

``calibration`` and ``measure`` share a layer and do not import each other. The test suite
checks every import against this order (``tests/test_architecture.py``).
"""

from __future__ import annotations

#: Layers, lowest first; packages in one tuple share a layer and stay independent.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",), ("data",), ("frontends",), ("analysis",), ("calibration", "measure"), ("render",),
    ("serve",), ("cli",),
)


def package_of(module: str) -> str | None:
    """``'chipfit.analysis.check'`` → ``'analysis'``; None for the top-level package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "chipfit" else None


def layer_of(module: str) -> int | None:
    pkg = package_of(module)
    return next((i for i, names in enumerate(LAYERS) if pkg in names), None)


def violation(importer: str, target: str) -> str | None:
    """Why ``importer`` may not import ``target``, or None when it may."""
    a, b = layer_of(importer), layer_of(target)
    if a is None or b is None:
        return None
    if b > a:
        return f"imports {target}, from a higher layer ({package_of(target)} above {package_of(importer)})"
    if a == b and package_of(importer) != package_of(target):
        return f"imports {target}: {package_of(importer)} and {package_of(target)} are independent"
    return None


def mermaid(imports) -> str:
    """The package import graph as a Mermaid flowchart: one arrow per pair of packages that
    import one another, drawn from importer to imported (always downward)."""
    edges = sorted({(package_of(m), package_of(t)) for m, t, *_ in imports
                    if layer_of(m) is not None and layer_of(t) is not None and package_of(m) != package_of(t)},
                   key=lambda e: (-layer_of("chipfit." + e[0]), -layer_of("chipfit." + e[1]), e))
    lines = ["```mermaid", "flowchart TD"]
    lines += [f"    {a} --> {b}" for a, b in edges]
    lines.append("```")
    return "\n".join(lines)
