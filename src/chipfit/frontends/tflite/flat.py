"""A bounded reader of FlatBuffers tables: every offset is checked before it is followed.

FlatBuffers' own readers trust the file: an offset past the end, a vector declaring four
billion elements or a vtable pointing anywhere is read as it says. Here every access checks
its bytes lie inside the buffer, vectors are sized against the bytes left before anything is
read, and nothing is allocated in proportion to a declared length: a scalar vector is read
only up to the caller's ``limit``. A violation raises :class:`FlatError`, which the TFLite
frontend turns into one sentence.

Layout (FlatBuffers' binary format): a table starts with an ``int32`` offset back to its
vtable (``table - soffset``); the vtable holds ``uint16`` its own size, the table's size and
one ``uint16`` offset per field (0: absent, the schema default). Offsets to tables, vectors
and strings are ``uint32`` relative to where they are stored; a vector or string is a
``uint32`` length followed by its elements.
"""

from __future__ import annotations

import struct

_FORMATS = {fmt: struct.Struct("<" + fmt) for fmt in "bBhHiIqQfd?"}


class FlatError(ValueError):
    """The bytes do not hold the table they are read as."""


class Buffer:
    """Little-endian reads of a bytes-like object (an mmap), each checked against its end."""

    __slots__ = ("data", "size")

    def __init__(self, data):
        self.data = data
        self.size = len(data)

    def read(self, fmt: str, pos: int):
        s = _FORMATS[fmt]
        if pos < 0 or pos + s.size > self.size:
            raise FlatError(f"an offset ({pos:,}) points outside the file ({self.size:,} bytes)")
        return s.unpack_from(self.data, pos)[0]

    def root(self) -> "Table":
        return Table(self, self.read("I", 0), "the root table")


class Vector:
    """A vector's place: ``length`` elements of ``width`` bytes from ``start``, all inside the file."""

    __slots__ = ("buf", "start", "length", "width")

    def __init__(self, buf: Buffer, start: int, length: int, width: int):
        self.buf, self.start, self.length, self.width = buf, start, length, width

    def __len__(self) -> int:
        return self.length

    def scalars(self, fmt: str, limit: int) -> tuple:
        """The elements as numbers; refuses a vector longer than ``limit`` without reading it."""
        if self.length > limit:
            raise FlatError(f"a vector of {self.length:,} elements, more than the {limit:,} expected")
        return struct.unpack_from(f"<{self.length}{fmt}", self.buf.data, self.start) if self.length else ()

    def table(self, i: int, what: str) -> "Table":
        if not 0 <= i < self.length:
            raise FlatError(f"{what} {i} is out of range (of {self.length:,})")
        pos = self.start + 4 * i
        return Table(self.buf, pos + self.buf.read("I", pos), f"{what} {i}")


class Table:
    """One table: its fields read by slot (the field's index in the schema)."""

    __slots__ = ("buf", "pos", "vtable", "vsize", "what")

    def __init__(self, buf: Buffer, pos: int, what: str):
        self.buf, self.pos, self.what = buf, pos, what
        vtable = pos - buf.read("i", pos)
        vsize = buf.read("H", vtable)
        if vsize < 4 or vsize % 2 or vtable + vsize > buf.size:
            raise FlatError(f"{what} has a malformed field table")
        if pos + buf.read("H", vtable + 2) > buf.size:
            raise FlatError(f"{what} runs past the end of the file")
        self.vtable, self.vsize = vtable, vsize

    def _offset(self, slot: int) -> int:
        entry = 4 + 2 * slot
        return self.buf.read("H", self.vtable + entry) if entry + 2 <= self.vsize else 0

    def has(self, slot: int) -> bool:
        return self._offset(slot) != 0

    def scalar(self, slot: int, fmt: str, default=0):
        off = self._offset(slot)
        return self.buf.read(fmt, self.pos + off) if off else default

    def _target(self, slot: int) -> int | None:
        off = self._offset(slot)
        if not off:
            return None
        at = self.pos + off
        return at + self.buf.read("I", at)

    def table(self, slot: int, what: str) -> "Table | None":
        pos = self._target(slot)
        return None if pos is None else Table(self.buf, pos, what)

    def vector(self, slot: int, width: int, what: str) -> Vector | None:
        """The vector in ``slot`` (elements of ``width`` bytes; 4 for tables and strings)."""
        pos = self._target(slot)
        if pos is None:
            return None
        length = self.buf.read("I", pos)
        if pos + 4 + length * width > self.buf.size:
            raise FlatError(f"{what} declares {length:,} elements, more than the file holds")
        return Vector(self.buf, pos + 4, length, width)

    def string(self, slot: int, what: str, limit: int = 512) -> str:
        """The string in ``slot`` ('' if absent), decoded leniently (a control character or an
        invalid byte becomes U+FFFD, so a name cannot break a one-line message), at most
        ``limit`` characters."""
        v = self.vector(slot, 1, what)
        if v is None:
            return ""
        raw = bytes(self.buf.data[v.start:v.start + min(v.length, 4 * limit)])
        text = raw.decode("utf-8", errors="replace")
        if not text.isprintable():
            text = "".join(c if c.isprintable() else "\ufffd" for c in text)
        return text if len(text) <= limit else text[:limit] + "…"
