"""Read YAML data files safely and validate them, naming the file, line and field on error.

Every data file chipfit reads (chips, zoo, efficiencies, user chip files, later scenarios)
goes through :func:`load`: ``yaml.safe_load`` semantics (no code runs), a pydantic model for
the schema, and a :class:`~chipfit.core.errors.ChipfitError` of one sentence such as
``chips.yaml, line 12: chips[0].dense.int8.value: Input should be greater than 0``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from chipfit.core.errors import ChipfitError
from chipfit.core.fileio import read_bounded

M = TypeVar("M", bound=BaseModel)


def load(model: type[M], text: str, origin: str, context: dict[str, Any] | None = None) -> M:
    """Parse ``text`` (YAML) and validate it as ``model``; ``origin`` names it in errors."""
    return load_tree(model, text, origin, context)[0]


def load_tree(model: type[M], text: str, origin: str, context: dict[str, Any] | None = None) -> tuple[M, Any]:
    """:func:`load`, with the YAML node tree (for locating later, cross-field errors)."""
    root, data = parse(text, origin)
    try:
        return model.model_validate(data, context=context), root
    except ValidationError as exc:
        err = exc.errors()[0]
        cause = (err.get("ctx") or {}).get("error")
        loc = tuple(err["loc"]) + (cause.loc if isinstance(cause, At) else ())
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key" + _allowed(model, loc)
        raise problem(origin, root, loc, msg + more) from None


class At(ValueError):
    """A validator's error about a field below the value it checks (a cross-field rule: a source a
    figure cites, a runtime a chip lists), located at ``loc`` under it so the message names that
    field's line."""

    def __init__(self, loc: tuple, message: str):
        super().__init__(message)
        self.loc = tuple(loc)


#: YAML nesting deeper than this is refused (no data file of chipfit's needs a tenth of it).
MAX_DEPTH = 64


class _Refused(Exception):
    def __init__(self, mark, message: str):
        super().__init__(message)
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without anchors and aliases, and with bounded nesting: a small file
    whose aliases expand a billion times, or that nests a thousand levels deep, is refused while
    it is read, before anything is built from it."""

    _depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused(event.start_mark, "YAML anchors and aliases (&name, *name) are not allowed: write "
                                             "each value out")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(event.start_mark, f"the YAML nests deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


#: libyaml's parser, where PyYAML was built with it: several times as fast as the pure-Python one
#: (the 330 kB efficiency file parses in 0.2 s instead of 1.3 s on a 2-core machine). It composes
#: the node tree in C, so the refusals of :class:`_Loader` run on its events first.
FAST = bool(getattr(yaml, "__with_libyaml__", False))


def _screen(text: str) -> None:
    """:class:`_Loader`'s refusals (anchors, aliases, nesting) on libyaml's event stream, before
    anything is composed from it."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused(event.start_mark, "YAML anchors and aliases (&name, *name) are not allowed: write "
                                             "each value out")
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent, yaml.ScalarEvent)):
            if depth + 1 > MAX_DEPTH:
                raise _Refused(event.start_mark, f"the YAML nests deeper than {MAX_DEPTH} levels")
            depth += not isinstance(event, yaml.ScalarEvent)


def shipped(text: str) -> Any:
    """The plain data of a YAML file chipfit ships (``yaml.safe_load``, with libyaml where there is one)."""
    return yaml.load(text, Loader=yaml.CSafeLoader if FAST else yaml.SafeLoader)


def parse(text: str, origin: str) -> tuple[Any, Any]:
    """(the YAML node tree, the plain data) of ``text``; YAML errors name the line. A tag that
    would construct a Python object (``!!python/...``, any custom tag) is refused with the field
    it sits on; so are anchors and aliases, and nesting deeper than :data:`MAX_DEPTH`."""
    try:
        if FAST:
            _screen(text)
        loader = yaml.CSafeLoader(text) if FAST else _Loader(text)
    except _Refused as exc:
        raise ChipfitError(f"{origin}, line {exc.mark.line + 1}: {exc}") from None
    except yaml.YAMLError as exc:  # the reader refuses control characters before any parsing
        raise _syntax(exc, origin) from None
    try:
        try:
            root = loader.get_single_node()
        except _Refused as exc:
            raise ChipfitError(f"{origin}, line {exc.mark.line + 1}: {exc}") from None
        except yaml.YAMLError as exc:
            raise _syntax(exc, origin) from None
        if root is None:
            return None, None
        try:
            return root, loader.construct_document(root)
        except yaml.constructor.ConstructorError as exc:
            tagged = _tagged(root, ())
            if tagged is not None:
                loc, node = tagged
                tag = node.tag.replace("tag:yaml.org,2002:", "!!")
                raise problem(origin, root, loc, f"the YAML tag {tag} is not allowed: chipfit reads plain "
                              f"YAML data only and never constructs objects from a file") from None
            raise _syntax(exc, origin) from None
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise _syntax(exc, origin) from None
    finally:
        loader.dispose()


def problem(origin: str, root: Any, loc: tuple, msg: str) -> ChipfitError:
    """One sentence naming the file, the line of ``loc`` in the node tree and the field."""
    line = _line_of(root, loc)
    where = f", line {line}" if line else ""
    return ChipfitError(f"{origin}{where}: {_dotted(loc) or 'the top level'}: {msg}")


def _syntax(exc: yaml.YAMLError, origin: str) -> ChipfitError:
    mark = getattr(exc, "problem_mark", None)
    where = f", line {mark.line + 1}" if mark is not None else ""
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return ChipfitError(f"{origin}{where}: not valid YAML ({what})")


_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in
               ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "binary", "set", "omap",
                "pairs", "merge", "value")}


def _tagged(node: Any, loc: tuple) -> tuple[tuple, Any] | None:
    """The location and node of the first node whose tag safe_load cannot construct."""
    if node.tag not in _PLAIN_TAGS:
        return loc, node
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            found = _tagged(k, loc) or _tagged(v, loc + (k.value,))
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            found = _tagged(v, loc + (i,))
            if found:
                return found
    return None


def _allowed(model: type[BaseModel], loc: tuple) -> str:
    """' (allowed: a, b, c)' for the pydantic model that owns the unknown key at ``loc``."""
    owner: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = owner.model_fields.get(part) if isinstance(owner, type) and issubclass(owner, BaseModel) else None
        if field is None:
            return ""
        owner = _model_in(field.annotation)
        if owner is None:
            return ""
    if isinstance(owner, type) and issubclass(owner, BaseModel):
        return f" (allowed: {', '.join(owner.model_fields)})"
    return ""


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def load_path(model: type[M], path: str | Path, context: dict[str, Any] | None = None) -> M:
    return load(model, read_text(path), str(path), context)


def read_text(path: str | Path) -> str:
    """A data file's text (a regular file within the size cap), or one sentence saying why not."""
    return read_bounded(path, "a data file")


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
