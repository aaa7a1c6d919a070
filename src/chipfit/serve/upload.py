"""ONNX uploads: streamed to a private temporary folder under a size limit, never kept.

The body is read chunk by chunk (``multipart/form-data`` with one file part, or a raw
``application/octet-stream`` body) and written to ``model.onnx`` inside a fresh temporary
folder; the limit is enforced while streaming, so an oversized upload stops at the limit, not
after it has filled the disk. The folder holds nothing else, so an ONNX file that names
external-data files finds none (its weights are never read anyway: the ONNX frontend reads the
graph and skips the weight bytes). The caller deletes the folder when the request is done
(:func:`received`). Nothing in an upload is ever executed, imported or unpickled.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

#: Bytes a multipart body may carry besides the file itself (boundaries, headers, small fields).
ENVELOPE_BYTES = 1 << 20
MAX_HEADER_BYTES = 8192
#: RFC 2046 allows 70 characters; the multipart parser takes up to this many.
MAX_BOUNDARY = 256
RAW_TYPES = ("application/octet-stream", "application/onnx", "application/x-onnx")


class UploadError(Exception):
    """Why an upload was refused: one sentence, and the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass
class Upload:
    path: Path        # the temporary file (deleted with its folder after the request)
    filename: str     # the name the client gave, cleaned: shown as the model's name
    size: int


def clean_name(name: str | None) -> str:
    """The client's file name without folders or control characters (``upload.onnx`` if none)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()[:120]
    return base or "upload.onnx"


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.4g} MiB" if n >= 1 << 20 else f"{n:,} bytes"


class _Sink:
    """Writes one file's bytes to ``path``, refusing to go past ``limit``."""

    def __init__(self, path: Path, limit: int):
        self.file = open(path, "wb")
        self.limit = limit
        self.size = 0

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise UploadError(f"the file is larger than the upload limit of {_mib(self.limit)}", 413)
        self.file.write(data)

    def close(self) -> None:
        self.file.close()


class _Multipart:
    """Streaming multipart/form-data: the one part with a filename goes to the sink."""

    def __init__(self, boundary: bytes, sink: _Sink):
        self.sink = sink
        self.filename: str | None = None
        self.files = 0
        self.ended = False
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}
        self._to_file = False
        self._pending: list[bytes] = []
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
            "on_end": self._end,
        })

    def _part_begin(self) -> None:
        self._headers, self._to_file = {}, False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]
        self._bounded()

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]
        self._bounded()

    def _bounded(self) -> None:
        if len(self._field) + len(self._value) > MAX_HEADER_BYTES:
            raise UploadError(f"a part header of the multipart body is longer than {MAX_HEADER_BYTES:,} bytes")

    def _header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"filename" in options:
            self.files += 1
            if self.files > 1:
                raise UploadError("send one ONNX file per request")
            self.filename = options[b"filename"].decode("utf-8", "replace")
            self._to_file = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._to_file:
            self._pending.append(bytes(data[start:end]))

    def _end(self) -> None:
        self.ended = True

    def feed(self, chunk: bytes) -> None:
        self.parser.write(chunk)
        for piece in self._pending:
            self.sink.write(piece)
        self._pending.clear()


async def _receive(request: Request, folder: Path, limit: int, raw_name: str | None) -> Upload:
    ctype, options = parse_options_header(request.headers.get("content-type", ""))
    ctype = ctype.decode("latin-1").lower()
    declared = request.headers.get("content-length", "")
    envelope = ENVELOPE_BYTES if ctype == "multipart/form-data" else 0
    if declared.isdigit() and int(declared) > limit + envelope:
        raise UploadError(f"the file is larger than the upload limit of {_mib(limit)}", 413)
    sink = _Sink(folder / "model.onnx", limit)
    try:
        if ctype == "multipart/form-data":
            boundary = options.get(b"boundary")
            if not boundary:
                raise UploadError("the multipart body has no boundary in its Content-Type")
            if len(boundary) > MAX_BOUNDARY:
                raise UploadError(f"the multipart boundary is {len(boundary):,} characters long; at most "
                                  f"{MAX_BOUNDARY} are allowed")
            form = _Multipart(boundary, sink)
            total = 0
            async for chunk in request.stream():
                total += len(chunk)
                if total > limit + ENVELOPE_BYTES:
                    raise UploadError(f"the file is larger than the upload limit of {_mib(limit)}", 413)
                await run_in_threadpool(form.feed, chunk)   # disk writes off the event loop
            if not form.ended:
                raise UploadError("the multipart body ends before its closing boundary")
            if not form.files:
                raise UploadError("no file in the upload: send the ONNX file as the form field 'file'")
            name = form.filename
        elif ctype in RAW_TYPES:
            async for chunk in request.stream():
                await run_in_threadpool(sink.write, chunk)
            name = raw_name
        else:
            raise UploadError(f"send the ONNX file as multipart/form-data (field 'file') or as "
                              f"application/octet-stream, not {ctype or 'a body without Content-Type'}", 415)
    except ClientDisconnect:
        raise UploadError("the upload was cut short: the client went away before the end of the file") from None
    except FormParserError as exc:   # the parser's refusals (MultipartParseError is one)
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UploadError(f"the multipart body is malformed ({why})") from None
    finally:
        sink.close()
    if sink.size == 0:
        raise UploadError("the uploaded file is empty: it is not an ONNX model")
    return Upload(folder / "model.onnx", clean_name(name), sink.size)


@asynccontextmanager
async def received(request: Request, limit: int, raw_name: str | None = None, parent: str | None = None):
    """The uploaded file, in a temporary folder that is deleted when the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="chipfit-upload-", dir=parent))
    try:
        os.chmod(folder, 0o700)
        yield await _receive(request, folder, limit, raw_name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
