"""Errors a user can cause (exit code 2) versus everything else.

Frontends and analysis raise :class:`ChipfitError` with one clear sentence whenever the input
is wrong (unknown model, malformed shape, missing optional package, ...). A sentence names the
parameters at fault in backquotes, as the Python API spells them (```fps` must be positive``);
each front end shows them in its own words: ``str(exc)`` gives the plain name (``fps must be
positive``), the command line its flag (``--fps must be positive``, via :meth:`ChipfitError.render`),
the web page its form field. The CLI prints the sentence to stderr and exits with code 2; any
other exception is an internal failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

#: A parameter name in a message: ```seq_len```.
_FIELD = re.compile(r"`([a-z][a-z0-9_]*)`")


def render_fields(text: str, names: Mapping[str, str] | Callable[[str], str] | None = None) -> str:
    """``text`` with every ```field``` replaced by ``names[field]`` (the field itself when
    ``names`` has no entry for it, or none is given)."""
    if names is None:
        lookup: Callable[[str], str] = lambda f: f  # noqa: E731
    elif callable(names):
        lookup = names
    else:
        lookup = lambda f: names.get(f, f)  # noqa: E731
    return _FIELD.sub(lambda m: lookup(m.group(1)), text)


def fields_in(text: str) -> list[str]:
    """The parameter names a message speaks of, in order."""
    return _FIELD.findall(text)


class ChipfitError(Exception):
    """Bad input: the message is one sentence meant for the user (parameters in backquotes)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.template = message

    @property
    def fields(self) -> list[str]:
        """The parameters at fault, as the Python API names them."""
        return fields_in(self.template)

    def render(self, names: Mapping[str, str] | Callable[[str], str] | None = None) -> str:
        """The sentence with each parameter named by ``names`` (a flag, a form field)."""
        return render_fields(self.template, names)

    def __str__(self) -> str:
        return self.render()


def first_line(exc: BaseException) -> str:
    """``'TypeName: first line of the message'``, to quote a foreign exception in one sentence."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


class MissingDependency(ChipfitError):
    """An optional package is needed; the message names the pip command that fixes it."""

    def __init__(self, package: str, extra: str, purpose: str):
        super().__init__(
            f"{purpose} needs the optional package '{package}': "
            f"pip install 'chipfit[{extra}]'"
        )
        self.package = package
        self.extra = extra
