"""Model computations in worker processes: a memory cap, a time limit and a bounded queue.

Each computation (a command, a scenario, an uploaded file) runs in one of ``processes`` worker
processes, started with ``spawn`` (nothing of the server's threads or locks is inherited) when
first needed. A worker imports the frontends, then caps its address space at what it holds
plus ``memory_bytes`` (``RLIMIT_AS``, on Linux; elsewhere there is no cap), so a request that
needs more fails in the worker (MemoryError, or the worker dies), never in the server. A
computation that runs past ``timeout_s`` has its worker killed, and the next request starts a
fresh one. At most ``waiting`` requests wait for a free worker; the one after them is answered
"busy" at once. The server's other endpoints never go through here.

What runs in a worker returns plain data; refusals come back as :class:`WorkError` (a sentence
and the HTTP status to answer with). ``Pool(in_process=True)`` runs the same functions in the
calling thread, one at a time and without limits, for tests that do not test isolation.
"""

from __future__ import annotations

import concurrent.futures as cf
import importlib
import logging
import multiprocessing
import queue
import signal
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from chipfit.core.errors import ChipfitError, first_line
from chipfit.core.isolate import cap_address_space

log = logging.getLogger("chipfit.serve")

#: Memory one computation may take on top of a worker's own (the frontends, imported).
MEMORY_BYTES = 4 << 30
#: Seconds one computation may run.
TIMEOUT_S = 120.0
#: Seconds a new worker may take to start (imports included), not counted in TIMEOUT_S.
START_TIMEOUT_S = 120.0
PROCESSES = 2
#: Requests that may wait for a free worker.
WAITING = 8
#: Imported by each worker before its memory is capped (their code is not the request's memory).
PRELOAD = ("chipfit.serve.compute", "torch", "torchvision", "onnx")


class WorkError(Exception):
    """Why a computation gave no result: one sentence, the HTTP status, the parameters at fault."""

    def __init__(self, message: str, status: int = 422, fields: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.fields = fields or []


_allowed = MEMORY_BYTES   # in a worker: its memory_bytes, for the sentence


def _gib(n: int) -> str:
    return f"{n / (1 << 30):.3g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.3g} MiB"


def _start(memory_bytes: int, preload: tuple[str, ...]) -> None:
    """A worker's initializer: import what computations use, then cap the address space. Ctrl+C
    is the server's to handle (it stops its workers)."""
    global _allowed
    _allowed = memory_bytes
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    cap_address_space(memory_bytes, hard_too=False)   # the ONNX reader's own child sets its cap


def _ready() -> bool:
    return True


def _run(fn: Callable[..., Any], *args: Any) -> tuple:
    """``fn(*args)`` as plain data: ``("ok", value)`` or ``("error", sentence, status, fields)``."""
    try:
        return ("ok", fn(*args))
    except WorkError as exc:
        return ("error", str(exc), exc.status, exc.fields)
    except ChipfitError as exc:
        return ("error", str(exc), 422, exc.fields)
    except MemoryError:
        return ("error", f"the computation needs more than the {_gib(_allowed)} of memory the server allows it",
                422, [])
    except Exception as exc:   # noqa: BLE001 - a bug: logged here, a 500 in the server
        log.exception("computation failed")
        return ("bug", first_line(exc))


class Pool:
    """Runs computations in worker processes (see the module's docstring); thread-safe."""

    def __init__(self, processes: int = PROCESSES, *, in_process: bool = False):
        self.in_process = in_process
        self.processes = 1 if in_process else processes
        self.memory_bytes = MEMORY_BYTES   # these two apply to workers started after a change
        self.preload = PRELOAD
        self.timeout_s = TIMEOUT_S
        self.start_timeout_s = START_TIMEOUT_S
        self.waiting = WAITING
        self._executors: list[cf.ProcessPoolExecutor | None] = [None] * self.processes
        self._free: queue.LifoQueue[int] = queue.LifoQueue()   # the warmest worker first
        for slot in range(self.processes):
            self._free.put(slot)
        self._lock = threading.Lock()
        self._inflight = 0

    @property
    def inflight(self) -> int:
        """Computations running or waiting now."""
        return self._inflight

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a worker (blocking); :class:`WorkError` when refused or stopped.
        ``fn`` must be a module-level function and ``args`` picklable."""
        with self._lock:
            if self._inflight >= self.processes + self.waiting:
                raise WorkError(f"the server is busy with {self._inflight} computations; try again in a moment",
                                503)
            self._inflight += 1
        try:
            slot = self._free.get()
            try:
                outcome = _run(fn, *args) if self.in_process else self._in(slot, fn, args)
            finally:
                self._free.put(slot)
        finally:
            with self._lock:
                self._inflight -= 1
        if outcome[0] == "error":
            raise WorkError(*outcome[1:])
        if outcome[0] == "bug":
            raise RuntimeError(f"the computation failed ({outcome[1]})")
        return outcome[1]

    def _in(self, slot: int, fn: Callable[..., Any], args: tuple) -> tuple:
        future = self._executor(slot).submit(_run, fn, *args)
        try:
            return future.result(timeout=self.timeout_s)
        except cf.TimeoutError:
            self._stop(slot)
            raise WorkError(f"the computation took longer than the server's limit of {self.timeout_s:g} s "
                            f"and was stopped", 503) from None
        except BrokenProcessPool:
            self._stop(slot)
            raise WorkError(f"the computation stopped its worker process, most likely by needing more than the "
                            f"{_gib(self.memory_bytes)} of memory the server allows it", 422) from None

    def _executor(self, slot: int) -> cf.ProcessPoolExecutor:
        """The slot's worker, started (and waited for) if it has none or it died while idle."""
        ex = self._executors[slot]
        if ex is not None and not getattr(ex, "_broken", False):
            return ex
        if ex is not None:
            self._stop(slot)
        ex = cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                                    initargs=(self.memory_bytes, self.preload))
        self._executors[slot] = ex
        try:
            ex.submit(_ready).result(timeout=self.start_timeout_s)
        except (cf.TimeoutError, BrokenProcessPool):
            self._stop(slot)
            raise WorkError("the server could not start a worker process for the computation; try again", 503) \
                from None
        return ex

    def _stop(self, slot: int) -> None:
        """Kill the slot's worker (whatever it is doing) and forget it."""
        ex, self._executors[slot] = self._executors[slot], None
        if ex is None:
            return
        processes = list((getattr(ex, "_processes", None) or {}).values())   # no public handle before 3.14
        for p in processes:
            p.kill()
        ex.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            p.join(timeout=5)

    def close(self) -> None:
        """Stop every worker (the app's shutdown)."""
        for slot in range(self.processes):
            self._stop(slot)
