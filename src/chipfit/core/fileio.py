"""Writing files a user may care about: atomically, and never over an existing file unasked.

A temporary file is written in the target's folder, then moved into place: a crash leaves
either the old file or the new one, never half of one. Without ``overwrite`` the move is a
hard link, which fails if the name exists, so a file that appears meanwhile is not replaced.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from chipfit.core.errors import ChipfitError


def refuse_existing(path: str | Path, overwrite: bool) -> Path:
    """``path`` as a Path; one sentence if it exists (and ``overwrite`` is off) or is a folder."""
    path = Path(path)
    if path.is_dir():
        raise ChipfitError(f"{path} is a folder, not a file")
    if path.exists() and not overwrite:
        raise ChipfitError(f"{path} already exists: pass `force` to replace it")
    return path


def write_atomic(path: str | Path, text: str, overwrite: bool = False) -> None:
    """Write ``text`` to ``path`` atomically; refuses an existing file unless ``overwrite``."""
    path = refuse_existing(path, overwrite)
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
