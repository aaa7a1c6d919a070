"""``chipfit probe``: measure this machine and describe it as a chip of the standard schema.

Micro-benchmarks (torch, in this process, ``threads`` threads):

- **matmul** per precision: square ``n × n`` products (:data:`MATMUL_SIZES`), ``2 n³`` operations each; the figure is the best run, as a datasheet peak is the
  best case. Precisions: fp32, bf16, fp16 and int8 (``torch._int_mm``) where torch runs them
  on this CPU; a precision without native arithmetic is still measured (emulated bf16/fp16 is
  slow, and the file says what it found). On CUDA the same, on the GPU, as a second chip.
  The output is allocated once: allocating a fresh 64 MiB result per product costs page faults
  that a 4096-square product on 2 cores does not hide (measured here: 144 GFLOP/s at n = 2048
  with fresh outputs vs 200 at n = 512 with a reused one). Each size runs ``reps`` times and at
  least 1 s. A larger size is skipped when its runs would take more than :data:`SIZE_BUDGET_S`
  (one product of twice the side costs 8 times the last one): where a precision is only emulated
  (int8 without VNNI or AMX runs near 2 GOPS, a 2048-square product about 9 s) the sweep would
  take minutes and find no higher rate.
- **memory**: reading a 256 MiB fp32 tensor (``sum``; bytes read / time) and copying it into
  another (``copy_``; bytes read + written / time). The chip's ``memory_bandwidth_gbps`` is the
  higher of the two, as the roofline counts bytes read plus bytes written.
- **capacity**: total RAM (``/proc/meminfo`` via ``os.sysconf``), or the GPU's memory.

The result is plain data (:class:`ProbeResult`); :func:`chip_file_text` renders the chip file,
every number flagged ``measured`` and citing the probe as its source.
"""

from __future__ import annotations

import datetime
import os
import platform
import time
from dataclasses import dataclass, field
from typing import Callable

import yaml

from chipfit.core.errors import ChipfitError, MissingDependency

CHIP_ID = "this-machine"
MATMUL_SIZES = {"fp32": (256, 512, 1024, 2048), "bf16": (512, 1024), "fp16": (256,), "int8": (512, 1024, 2048)}
MIN_SECONDS = 1.0
SIZE_BUDGET_S = 3.0
MEMORY_MIB = 256


@dataclass
class DeviceProbe:
    """What one device (the CPU, or a CUDA GPU) measured."""

    device: str                                   # 'cpu' or 'cuda'
    name: str
    threads: int | None
    matmul_tops: dict[str, float]                 # precision -> best TOPS (= TFLOP/s for floats)
    matmul_note: dict[str, str]
    read_gbps: float
    copy_gbps: float
    memory_gb: float | None

    @property
    def bandwidth_gbps(self) -> float:
        return max(self.read_gbps, self.copy_gbps)


@dataclass
class ProbeResult:
    host: str
    date: str
    torch_version: str
    devices: list[DeviceProbe] = field(default_factory=list)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        return None


def _best(fn: Callable[[], object], reps: int, sync: Callable[[], None], min_s: float = 0.0) -> float:
    """The fastest of at least ``reps`` runs and ``min_s`` seconds of runs (after one warm-up)."""
    fn()
    sync()
    best, n, start = float("inf"), 0, time.perf_counter()
    while n < reps or time.perf_counter() - start < min_s:
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
        n += 1
    return best


def _sweep(sizes: tuple[int, ...], time_one: Callable[[int], float], reps: int) -> list[tuple[int, float]]:
    """(side, fastest seconds) of each size in turn, stopping before a size whose warm-up and
    ``reps`` runs would take more than :data:`SIZE_BUDGET_S` at the last size's rate."""
    out: list[tuple[int, float]] = []
    for n in sizes:
        if out:
            last_n, last_t = out[-1]
            if (reps + 1) * last_t * (n / last_n) ** 3 > SIZE_BUDGET_S:
                break
        out.append((n, time_one(n)))
    return out


def _matmul(torch, prec: str, n: int, device: str) -> Callable[[], object]:
    if prec == "int8":
        a = torch.randint(-128, 127, (n, n), dtype=torch.int8, device=device)
        b = torch.randint(-128, 127, (n, n), dtype=torch.int8, device=device)
        out = torch._int_mm(a, b)
        return lambda: torch._int_mm(a, b, out=out)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[prec]
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    out = a @ b
    return lambda: torch.mm(a, b, out=out)


def probe_device(device: str = "cpu", threads: int | None = None, reps: int = 5,
                 step: Callable[[str], None] = lambda s: None) -> DeviceProbe:
    """Measure one device (see the module docstring)."""
    try:
        import torch
    except ImportError:
        raise MissingDependency("torch", "torch", "chipfit probe") from None
    if device == "cuda":
        if not torch.cuda.is_available():
            raise ChipfitError("`device` cuda: torch sees no CUDA device on this machine")
        sync = torch.cuda.synchronize
        name = torch.cuda.get_device_name()
        capacity = torch.cuda.get_device_properties(0).total_memory / 1e9
        threads = None
    else:
        sync = lambda: None  # noqa: E731
        threads = threads or os.cpu_count() or 1
        torch.set_num_threads(threads)
        name = cpu_name()
        capacity = _ram_gb()
    tops: dict[str, float] = {}
    notes: dict[str, str] = {}
    for prec, sizes in MATMUL_SIZES.items():
        step(f"matmul {prec}")
        try:
            runs = _sweep(sizes if device == "cpu" else (4096, 8192),
                          lambda n: _best(_matmul(torch, prec, n, device), reps, sync, MIN_SECONDS), reps)
        except (RuntimeError, NotImplementedError):  # this torch build has no such kernel here
            continue
        best_rate, best_n = max((2 * n ** 3 / t, n) for n, t in runs)
        tops[prec] = best_rate / 1e12
        op = "torch._int_mm" if prec == "int8" else "torch.matmul"
        ran = [n for n, _ in runs]
        notes[prec] = (f"fastest {op} {prec} run, square {best_n}x{best_n}"
                       + (f" (of {ran[0]}..{ran[-1]})" if len(ran) > 1 else "")
                       + (f"; {sizes[len(ran)]} and up not run, each over {SIZE_BUDGET_S:g} s" if len(ran) < len(sizes) else "")
                       + f", {threads or 'all'} threads" if device == "cpu" else f"fastest {op} {prec} run on {name}")
    step("memory")
    elems = MEMORY_MIB * 2 ** 20 // 4
    x = torch.randn(elems, device=device)
    y = torch.empty_like(x)
    read = x.numel() * 4 / _best(lambda: x.sum(), reps, sync) / 1e9
    copy = 2 * x.numel() * 4 / _best(lambda: y.copy_(x), reps, sync) / 1e9
    return DeviceProbe(device, name, threads, tops, notes, read, copy, capacity)


def probe(threads: int | None = None, cuda: bool | None = None, reps: int = 5,
          step: Callable[[str], None] = lambda s: None) -> ProbeResult:
    """Probe the CPU, and the first CUDA GPU when there is one (``cuda=None``) or when asked."""
    import torch

    result = ProbeResult(platform.node() or "localhost", datetime.date.today().isoformat(), torch.__version__)
    result.devices.append(probe_device("cpu", threads, reps, step))
    if cuda or (cuda is None and torch.cuda.is_available()):
        result.devices.append(probe_device("cuda", None, reps, step))
    return result


def _fig(value: float, note: str | None = None) -> dict:
    out: dict = {"value": float(f"{value:.4g}"), "source": "probe", "flag": "measured"}
    if note:
        out["note"] = note
    return out


def chip_id(device: str) -> str:
    """The id the probe gives the chip of ``device`` (cpu or cuda)."""
    return CHIP_ID if device == "cpu" else f"{CHIP_ID}-gpu"


def chip_file_dict(result: ProbeResult) -> dict:
    """The chip file (schema: :mod:`chipfit.data.chips.schema`) describing what was measured."""
    chips = []
    for dev in result.devices:
        cpu = dev.device == "cpu"
        chip = {
            "id": chip_id(dev.device),
            "name": f"This machine: {dev.name}" + (f" ({dev.threads} threads)" if cpu else ""),
            "category": "cpu" if cpu else "desktop",
            "aliases": ["local"] if cpu else ["local-gpu"],
            "efficiency_class": "cpu" if cpu else "nvidia-gpu",
            "dense": {k: _fig(v, dev.matmul_note[k]) for k, v in dev.matmul_tops.items()},
            "memory_bandwidth_gbps": _fig(dev.bandwidth_gbps, (
                f"higher of read {dev.read_gbps:.1f} GB/s ({MEMORY_MIB} MiB sum) and copy "
                f"{dev.copy_gbps:.1f} GB/s (bytes read + written by a {MEMORY_MIB} MiB copy)")),
        }
        if dev.memory_gb:
            chip["memory_gb"] = _fig(dev.memory_gb, "total RAM" if cpu else "GPU memory")
        chip["notes"] = (f"Measured by chipfit probe on {result.host}, {result.date} (torch {result.torch_version}). "
                         "The peaks are achieved matrix-product rates, not vendor ratings: efficiency "
                         "factors near 1 are expected. No power figure: the probe cannot measure it.")
        chips.append(chip)
    return {
        "vendor": "this machine (measured)",
        "sources": {"probe": {"title": f"chipfit probe on {result.host}", "date": result.date}},
        "chips": chips,
    }


def chip_file_text(result: ProbeResult) -> str:
    head = (f"# Written by `chipfit probe` on {result.date}: this machine, measured.\n"
            "# Schema: chipfit/chips/schema.py. `chipfit calibrate` adds fitted efficiencies below.\n")
    return head + yaml.safe_dump(chip_file_dict(result), sort_keys=False, width=100, allow_unicode=True)
