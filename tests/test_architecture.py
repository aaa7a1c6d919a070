"""The layer contract: imports flow one way, from the shell down to the core.

    cli → serve → render → calibration | measure → analysis → frontends → data → core

A module may import from its own layer and the layers below it, never from a layer above;
``calibration`` and ``measure`` do not import each other. No module reaches into another's
private names. Only ``__init__``, ``__main__`` and ``cli`` sit at the package's top level, and
only ``__init__`` (the public API) gathers names from every layer. Every import is checked,
those inside functions included.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from chipfit.core import layers

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "chipfit"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(module: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names, line) for every import of a chipfit module in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "chipfit" or target.startswith("chipfit."):
                names = [a.name for a in node.names]
                # ``from chipfit.x import y`` where y is a module imports chipfit.x.y
                subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
                out += [(s, [], node.lineno) for s in subs]
                rest = [n for n in names if f"{target}.{n}" not in MODULES]
                if rest:
                    out.append((target, rest, node.lineno))
        elif isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names if a.name.startswith("chipfit")]
    return out


ALL_IMPORTS = [(m, t, names, line) for m, p in MODULES.items() for t, names, line in _imports(m, p)]


def test_every_module_has_a_layer():
    missing = [m for m in MODULES if m not in ("chipfit", "chipfit.__main__") and layers.layer_of(m) is None]
    assert not missing, f"modules outside every layer: {missing}"


def test_top_level_holds_only_the_entry_points():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "cli.py"]


@pytest.mark.parametrize("importer, target, names, line", ALL_IMPORTS,
                         ids=[f"{m}:{line}" for m, _, _, line in ALL_IMPORTS])
def test_imports_flow_downward(importer, target, names, line):
    if importer in ("chipfit", "chipfit.__main__"):
        return  # the public API and the entry point gather from every layer
    assert target != "chipfit", f"{importer}:{line} imports the top-level package (it imports every layer)"
    problem = layers.violation(importer, target)
    assert problem is None, f"{importer}:{line}: {problem}"


@pytest.mark.parametrize("importer, target, names, line", ALL_IMPORTS,
                         ids=[f"{m}:{line}" for m, _, _, line in ALL_IMPORTS])
def test_no_private_names_across_modules(importer, target, names, line):
    private = [n for n in names if n.startswith("_") and not n.startswith("__")]
    assert not private, f"{importer}:{line} imports private names {private} from {target}"


def test_the_contract_catches_an_upward_import():
    """The check above can fail: an analysis module importing a renderer is a violation."""
    assert layers.violation("chipfit.analysis.check", "chipfit.render.terminal.check") is not None
    assert layers.violation("chipfit.measure.timing", "chipfit.calibration.fit") is not None
    assert layers.violation("chipfit.render.html.page", "chipfit.analysis.check") is None


def test_the_core_needs_no_torch():
    """The CLI, the chip database and the analytic models load without torch or onnx."""
    code = ("import sys, chipfit, chipfit.cli, chipfit.data.chips, chipfit.analysis.llm; "
            "bad = [m for m in ('torch', 'onnx', 'transformers', 'fastapi') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_architecture_page_shows_the_current_graph():
    """docs/architecture.md carries the package import graph; regenerate it with
    ``python tools/gendocs.py`` when the imports change."""
    page = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert layers.mermaid(ALL_IMPORTS) in page
