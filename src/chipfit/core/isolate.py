"""Run one risky step in a child process with bounded memory and time.

Some steps work on a file chipfit did not write, in C++ code chipfit cannot bound from the
outside (onnx's function inlining, shape inference, constant folding): a few kilobytes can ask
for gigabytes. :func:`call_limited` forks, caps the child's address space, waits at most a
given time, and turns running out of either into one :class:`ChipfitError` sentence, so the
calling process (the CLI or the web server) is never the one the kernel ends.

On platforms without ``fork`` (and with ``CHIPFIT_INFER_IN_PROCESS`` set, for debugging) the
step runs in-process, bounded only by the caps checked before it.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from collections.abc import Callable

from chipfit.core.errors import ChipfitError, first_line

_OK, _REFUSED, _FAILED = b"\0", b"\1", b"\2"


def call_limited(step: Callable[..., bytes], *args, memory_bytes: int, seconds: float, what: str,
                 memory_cap: str = "", time_cap: str = "") -> bytes:
    """``step(*args)`` (which returns bytes) in a forked child whose address space may grow by
    ``memory_bytes`` and which may run ``seconds``. A :class:`ChipfitError` it raises comes back
    as the same sentence; another exception as ``what`` failed; running out of memory or time
    as one sentence naming the cap (``memory_cap``/``time_cap``: the parameter that raises it)."""
    if not sys.platform.startswith("linux") or os.environ.get("CHIPFIT_INFER_IN_PROCESS"):
        return step(*args)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 0
        try:
            os.close(read_end)
            devnull = os.open(os.devnull, os.O_WRONLY)  # the step's own complaints (C++ aborts) stay unseen:
            os.dup2(devnull, 2)                        # what it has to say comes back through the pipe
            cap_address_space(memory_bytes)
            try:
                out = _OK + step(*args)
            except ChipfitError as exc:
                out = _REFUSED + exc.template.encode("utf-8", errors="replace")
            except MemoryError:
                status = 4
                out = b""
            except Exception as exc:
                out = _FAILED + first_line(exc).encode("utf-8", errors="replace")
            with os.fdopen(write_end, "wb") as f:
                f.write(out)
        except BaseException:
            status = 3
        os._exit(status)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + seconds
    raise_with = f" (raise it with `{time_cap}`)" if time_cap else ""
    with os.fdopen(read_end, "rb") as f:
        while True:
            ready, _, _ = select.select([f], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise ChipfitError(f"{what} took more than {seconds:g} s, the time it may take{raise_with}")
            chunk = f.read1(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    out = b"".join(chunks)
    if status != 0 or not out:
        raise_with = f" (raise it with `{memory_cap}`)" if memory_cap else ""
        raise ChipfitError(f"{what} needed more than {memory_bytes / 2**30:g} GiB, the memory it may "
                           f"take{raise_with}")
    if out[:1] == _REFUSED:
        raise ChipfitError(out[1:].decode("utf-8"))
    if out[:1] == _FAILED:
        raise ChipfitError(f"{what} failed ({out[1:].decode('utf-8')})")
    return out[1:]


def cap_address_space(extra: int, *, hard_too: bool = True) -> bool:
    """Let this process's address space grow by at most ``extra`` bytes from now (Linux: the soft
    ``RLIMIT_AS``, and the hard one too unless ``hard_too`` is False, so that a child can still set
    its own cap). False where nothing could be capped."""
    try:
        import resource

        with open("/proc/self/statm") as f:
            current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError, IndexError):
        return False
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = current + extra if hard == resource.RLIM_INFINITY else min(current + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit if hard_too else hard))
    return True
