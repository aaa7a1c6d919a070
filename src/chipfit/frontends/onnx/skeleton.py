"""Read an ``.onnx`` protobuf without reading the weight bytes stored inside it.

An ONNX file is a ``ModelProto``; weights stored inline are the ``raw_data`` (or packed
``float_data`` ...) of the ``TensorProto`` initializers of its graph. This module walks the
protobuf wire format over a memory map and copies every record except those large data
fields, so the pages holding the weights are never touched (never read from disk), and the
protobuf parser sees a model of a few hundred kilobytes however large the file is. Dims,
data types and names stay; small tensors (shape constants) keep their values.

Wire format (protobuf encoding): each record is a varint key ``field << 3 | wire_type``
followed by a varint (type 0), 8 bytes (1), a varint length and that many bytes (2) or
4 bytes (5). Field numbers are those of ``onnx.proto``.
"""

from __future__ import annotations

import mmap
from pathlib import Path

_MODEL_GRAPH = 7
_GRAPH_INITIALIZER = 5
#: TensorProto fields holding values: float_data, int32_data, string_data, int64_data,
#: raw_data, double_data, uint64_data
_TENSOR_DATA = frozenset({4, 5, 6, 7, 9, 10, 11})
#: data fields longer than this are weights and are skipped (1,024 int64 values = 8 KiB)
KEEP_DATA_BYTES = 8192


class WireError(ValueError):
    """The bytes are not a well-formed protobuf."""


def _varint(buf, pos: int, end: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= end or shift > 63:
            raise WireError("truncated or overlong varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _records(buf, start: int, end: int):
    """(field, wire_type, record_start, payload_start, record_end) for each record in [start, end)."""
    pos = start
    while pos < end:
        key, payload = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, stop = _varint(buf, payload, end)
        elif wire == 1:
            stop = payload + 8
        elif wire == 5:
            stop = payload + 4
        elif wire == 2:
            length, payload = _varint(buf, payload, end)
            stop = payload + length
        else:
            raise WireError(f"unsupported wire type {wire}")
        if field == 0 or stop > end:
            raise WireError("record runs past its message")
        yield field, wire, pos, payload, stop
        pos = stop


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(field: int, body: bytes) -> bytes:
    return _encode_varint(field << 3 | 2) + _encode_varint(len(body)) + body


_TENSOR_NAME, _RAW_DATA = 8, 9


def _tensor_without_data(buf, start: int, end: int, skipped: dict) -> bytes:
    parts, name, left_out = [], b"", {}
    for field, wire, rec, payload, stop in _records(buf, start, end):
        if field == _TENSOR_NAME and wire == 2:
            name = bytes(buf[payload:stop])
        if field in _TENSOR_DATA and stop - payload > KEEP_DATA_BYTES:
            left_out[field] = left_out.get(field, 0) + stop - payload
            continue
        parts.append(buf[rec:stop])
    if left_out:
        skipped[name.decode("utf-8", errors="replace")] = left_out
    return b"".join(parts)


def _graph_without_weights(buf, start: int, end: int, skipped: dict) -> bytes:
    parts = []
    for field, wire, rec, payload, stop in _records(buf, start, end):
        if field == _GRAPH_INITIALIZER and wire == 2:
            parts.append(_length_delimited(field, _tensor_without_data(buf, payload, stop, skipped)))
        else:
            parts.append(buf[rec:stop])
    return b"".join(parts)


def read_skeleton(path: str | Path) -> tuple[bytes, dict[str, dict[int, int]]]:
    """The model's bytes with the large initializer data left out, and what was left out:
    ``{initializer name: {TensorProto field number: bytes}}`` (field 9 is ``raw_data``).
    Raises :class:`WireError` if the file is not a well-formed protobuf."""
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        if size == 0:
            raise WireError("the file is empty")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            parts: list[bytes] = []
            skipped: dict[str, dict[int, int]] = {}
            for field, wire, rec, payload, stop in _records(buf, 0, size):
                if field == _MODEL_GRAPH and wire == 2:
                    parts.append(_length_delimited(field, _graph_without_weights(buf, payload, stop, skipped)))
                else:
                    parts.append(buf[rec:stop])
            return b"".join(parts), skipped
