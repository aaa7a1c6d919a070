"""JSON in and out, strictly.

In: a document of bounded nesting, without ``NaN`` or ``Infinity`` (not JSON, though Python's
parser takes them), or one sentence saying what is wrong. Out: standard JSON only; a value that
is not finite (a rate with no limit, a model that costs nothing) is written as ``null``.
"""

from __future__ import annotations

import json
import math
from typing import Any

from chipfit.core.errors import ChipfitError

#: Nesting deeper than this is refused (no result chipfit writes needs a fifth of it).
MAX_DEPTH = 64


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_json(text: str, where: str, what: str = "JSON") -> Any:
    """Parse ``text``; ``where`` (a file) and ``what`` (what it should be) name it in errors."""
    try:
        data = json.loads(text, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise ChipfitError(f"{where}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                           f"expected {what}") from None
    except RecursionError:
        raise ChipfitError(f"{where}: the JSON nests deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:   # NaN, Infinity, an integer of thousands of digits
        raise ChipfitError(f"{where}: not valid JSON ({exc}); expected {what}") from None
    if depth(data) > MAX_DEPTH:
        raise ChipfitError(f"{where}: the JSON nests deeper than {MAX_DEPTH} levels")
    return data


def depth(value: Any) -> int:
    """How deep lists and objects nest in ``value`` (iteratively: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, (list, tuple)):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in v)
    return deepest


def finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None (JSON has no such numbers)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dumps_json(value: Any, indent: int | None = 2) -> str:
    """Standard JSON: non-finite numbers written as null."""
    separators = None if indent else (",", ":")
    return json.dumps(finite(value), indent=indent, allow_nan=False, separators=separators)


def script_json(value: Any) -> str:
    """JSON to embed in an HTML ``<script>`` element: ``<``, ``>`` and ``&`` escaped (``\\u003c``…),
    so that no string in it (``</script>``, ``<!--``) can end or change the element."""
    return (dumps_json(value, indent=None).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026"))
