"""Read YAML data files safely and validate them, naming the file, line and field on error.

Every data file chipfit reads (chips, zoo, efficiencies, user chip files, later scenarios)
goes through :func:`load`: ``yaml.safe_load`` semantics (no code runs), a pydantic model for
the schema, and a :class:`~chipfit.errors.ChipfitError` of one sentence such as
``chips.yaml, line 12: chips[0].dense.int8.value: Input should be greater than 0``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import ChipfitError

M = TypeVar("M", bound=BaseModel)


def load(model: type[M], text: str, origin: str, context: dict[str, Any] | None = None) -> M:
    """Parse ``text`` (YAML) and validate it as ``model``; ``origin`` names it in errors."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ChipfitError(f"{origin}{where}: not valid YAML ({problem})") from None
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = _line_of(root, loc)
        where = f", line {line}" if line else ""
        field = _dotted(loc) or "the top level"
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        msg = err["msg"].removeprefix("Value error, ")
        raise ChipfitError(f"{origin}{where}: {field}: {msg}{more}") from None


def load_path(model: type[M], path: str | Path, context: dict[str, Any] | None = None) -> M:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ChipfitError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ChipfitError(f"{path}: cannot read it ({type(exc).__name__})") from None
    return load(model, text, str(path), context)


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: Any, loc: tuple) -> int | None:
    """1-based line of the deepest YAML node along ``loc`` that exists."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == part]
            if not match:
                break
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark.line + 1
    return line
