"""Errors a user can cause (exit code 2) versus everything else (exit code 1).

Frontends and analysis raise :class:`ChipfitError` with one clear sentence whenever
the input is wrong (unknown model, malformed shape, missing optional package, ...).
The CLI prints that sentence to stderr and exits with code 2; any other exception is
an internal failure (exit code 1).
"""

from __future__ import annotations


class ChipfitError(Exception):
    """Bad input: the message is one sentence meant for the user."""


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
