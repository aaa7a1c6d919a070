"""Human-readable numbers: SI prefixes for counts, decimal units for bytes."""

from __future__ import annotations

_PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def si(value: float, unit: str = "", digits: int = 3) -> str:
    """``si(1_814_083_944) == '1.81 G'`` (3 significant digits)."""
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}".rstrip()
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value)} {unit}".rstrip()
    return f"{value:.{digits}g} {unit}".rstrip()


def human_bytes(n: float) -> str:
    return si(n, "B")


def num(x: float | None, digits: int = 4) -> str:
    """A plain number for people: ``3,350``, ``113,093``, ``0.1093``, ``2.4``; ``-`` for None."""
    if x is None:
        return "-"
    if abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def duration(x: float) -> str:
    """A time in readable units: ``1.5 s``, ``12.3 ms``, ``870 µs``; ``unbounded`` for infinity."""
    if x == float("inf"):
        return "unbounded"
    if x >= 1:
        return f"{x:.3g} s"
    if x >= 1e-3:
        return f"{x * 1e3:.3g} ms"
    return f"{x * 1e6:.3g} µs"


def percent(x: float | None) -> str:
    """A fraction as a percentage for people: ``0.4567`` → ``45.7 %``; ``-`` for None."""
    return "-" if x is None else f"{100 * x:.3g} %"


def unit_ref(chip: str, unit: str) -> str:
    """How a user names a compute unit: the chip id alone for a single-unit chip, else ``ID:UNIT``."""
    return chip if unit == "main" else f"{chip}:{unit}"


def measured_where(here: bool, rows: int, chips: list[str], chip: str) -> str:
    """Whose published measurements a verdict rests on, seen from ``chip`` (the chip asked): ``rows``
    of its own (``here``), or the network's on ``chips``, which may include it."""
    if here:
        return f"its published measurement{'s' if rows > 1 else ''} on this chip"
    k = len([c for c in chips if c != chip])
    others = f"{k} other chip{'s' if k > 1 else ''}"
    return f"its measurements on {others}" if chip not in chips else \
        "its measurements on this chip" + (f" and {others}" if k else "")


def signed_percent(x: float | None) -> str:
    """A relative error for people: ``0.123`` → ``+12.3 %``; ``-`` for None."""
    return "-" if x is None else f"{100 * x:+.1f} %"
