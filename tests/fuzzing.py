"""What the fuzz tests share: how many examples, a memory cap and a time cap per example.

CI runs a small derandomized number of examples per property; a nightly-size run explores new
ones::

    CHIPFIT_FUZZ_RANDOM=1 CHIPFIT_FUZZ_EXAMPLES=5000 python -m pytest -q -k fuzz
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal

from hypothesis import HealthCheck, settings

#: examples per property test; CHIPFIT_FUZZ_RANDOM=1 explores new examples on every run
#: (the default replays the same derandomized ones, so that CI is deterministic), e.g.
#: CHIPFIT_FUZZ_RANDOM=1 CHIPFIT_FUZZ_EXAMPLES=5000 pytest tests/test_onnx_robustness.py -k fuzz
FUZZ_EXAMPLES = int(os.environ.get("CHIPFIT_FUZZ_EXAMPLES", "200"))
FUZZ_RANDOM = os.environ.get("CHIPFIT_FUZZ_RANDOM", "") not in ("", "0")
#: memory one example may add to the process before allocations fail (a bomb then shows up
#: as a MemoryError or a missed deadline instead of the OOM killer ending the test run)
FUZZ_MEMORY = 2 * 2**30

fuzz_settings = settings(
    max_examples=FUZZ_EXAMPLES, deadline=2000, derandomize=not FUZZ_RANDOM, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Hang(Exception):
    """An example ran past its time limit (a Python-level hang)."""


@contextlib.contextmanager
def time_limit(seconds: int):
    """Interrupt a Python-level hang with :class:`Hang` (SIGALRM, main thread, POSIX only);
    a hang inside C code cannot be interrupted, so faulthandler dumps every thread's stack
    and ends the process after 20× the limit rather than blocking the test run forever."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum, frame):
        raise Hang(f"one example ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    faulthandler.dump_traceback_later(20 * seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _address_space_in_use() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


@contextlib.contextmanager
def memory_limit(extra: int):
    """Let the process grow by at most ``extra`` bytes of address space (Linux; elsewhere a no-op)."""
    try:
        import resource
    except ImportError:
        yield
        return
    used = _address_space_in_use()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if used is None:
        yield
        return
    limit = used + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft != resource.RLIM_INFINITY and soft <= limit:
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def apply_mutations(data: bytes, mutations, keep_head: int = 0) -> bytes:
    """``data`` with byte-level ``mutations`` applied in turn, each ``(kind, position, arg)``:
    flip a bit, overwrite or insert bytes, truncate (never below ``keep_head`` bytes, e.g. a
    file identifier the test wants kept), or duplicate a chunk elsewhere."""
    buf = bytearray(data)
    for kind, pos, arg in mutations:
        at = pos % (len(buf) + 1)
        if kind == "flip" and buf:
            buf[at % len(buf)] ^= 1 << (arg % 8)
        elif kind == "overwrite":
            buf[at:at + len(arg)] = arg
        elif kind == "truncate":
            del buf[max(at, keep_head):]
        elif kind == "insert":
            buf[at:at] = arg
        elif kind == "duplicate" and buf:
            length, to = arg
            chunk = bytes(buf[at:at + length])
            dest = to % (len(buf) + 1)
            buf[dest:dest] = chunk
    return bytes(buf)

