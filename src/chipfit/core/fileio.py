"""Reading the files a user gives, bounded; writing the files a user may care about, safely.

Reading: only regular files (a FIFO or a device would block or never end), at most
``LIMITS.max_file_mb`` (:mod:`chipfit.core.limits`), decoded as UTF-8, or one sentence saying why
not.

Writing: a temporary file is written in the target's folder, then moved into place: a crash
leaves either the old file or the new one, never half of one. Without ``overwrite`` the move is
a hard link, which fails if the name exists, so a file that appears meanwhile is not replaced. A
symbolic link is written through: the file it points to is replaced, the link stays.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

from chipfit.core.errors import ChipfitError
from chipfit.core.limits import LIMITS


def refuse_existing(path: str | Path, overwrite: bool) -> Path:
    """``path`` as a Path; one sentence if it exists (and ``overwrite`` is off) or is a folder."""
    path = Path(path)
    if path.is_dir():
        raise ChipfitError(f"{path} is a folder, not a file")
    if path.exists() and not overwrite:
        raise ChipfitError(f"{path} already exists: pass `force` to replace it")
    return path


def write_atomic(path: str | Path, text: str, overwrite: bool = False) -> None:
    """Write ``text`` to ``path`` atomically; refuses an existing file unless ``overwrite``. A
    symbolic link is written through: the file it points to is replaced, the link stays."""
    path = refuse_existing(path, overwrite)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ChipfitError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise ChipfitError(f"{path} already exists: pass `force` to replace it") from None
            except OSError:  # a file system without hard links: the check above has to do
                os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def exists(path: str | Path) -> bool:
    """Whether ``path`` exists; False for a name the system cannot even look up (too long)."""
    return _looked_up(path, Path.exists)


def is_dir(path: str | Path) -> bool:
    """Whether ``path`` is a folder; False for a name the system cannot look up."""
    return _looked_up(path, Path.is_dir)


def is_file(path: str | Path) -> bool:
    """Whether ``path`` is a regular file; False for a name the system cannot look up."""
    return _looked_up(path, Path.is_file)


def _looked_up(path: str | Path, test) -> bool:
    try:
        return test(Path(path))
    except (OSError, ValueError):
        return False


def read_bounded(path: str | Path, what: str = "a data file") -> str:
    """The text of ``path`` (``-``: standard input), if it is a regular file of at most
    ``LIMITS.max_file_mb``; one sentence otherwise. ``what`` names the kind of file in it."""
    limit = LIMITS.max_file_bytes
    if str(path) == "-":
        data = sys.stdin.buffer.read(limit + 1) if hasattr(sys.stdin, "buffer") else sys.stdin.read(limit + 1)
        if isinstance(data, str):
            data = data.encode("utf-8", errors="surrogateescape")
        return _decoded(data, limit, "standard input", what)
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ChipfitError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ChipfitError(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise ChipfitError(f"{path}: cannot read it ({exc.strerror or type(exc).__name__})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ChipfitError(f"{path}: is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ChipfitError(f"{path}: not a regular file (a pipe, a socket or a device): chipfit reads "
                               f"{what} only from a regular file")
        if info.st_size > limit:
            raise ChipfitError(_too_big(path, info.st_size, limit, what))
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ChipfitError(f"{path}: cannot read it ({exc.strerror or type(exc).__name__})") from None
    finally:
        os.close(fd)
    return _decoded(data, limit, str(path), what)


def _decoded(data: bytes, limit: int, where: str, what: str) -> str:
    if len(data) > limit:
        raise ChipfitError(_too_big(where, len(data), limit, what))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ChipfitError(f"{where}: not UTF-8 text (byte {exc.start:,}); {what} is text") from None


def _too_big(where, size: int, limit: int, what: str) -> str:
    return (f"{where}: larger than the {limit / (1 << 20):g} MB chipfit reads of {what} ({size / (1 << 20):,.1f} MB "
            f"or more); raise the cap with `max_file_mb` if the file is yours")
