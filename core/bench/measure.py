"""Measuring one piece of work: wall-clock time per call and the peak memory it adds.

Memory is the high-water mark above what the process held when measuring began:

- CUDA: ``torch.cuda.max_memory_allocated`` after a reset, minus ``memory_allocated`` at the start;
- Linux CPU: ``VmHWM`` of ``/proc/self/status`` after resetting it (``/proc/self/clear_refs``), minus
  ``VmRSS`` at the start: the resident memory the work added, whatever allocated it;
- elsewhere: ``ru_maxrss`` minus its value at the start (exact only when the work raises the process's
  lifetime peak, which is why each case runs in a fresh process).
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")
MEMINFO = Path("/proc/meminfo")


def _status_kib(field: str) -> int | None:
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _maxrss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


def _reset_high_water_mark() -> bool:
    try:
        CLEAR_REFS.write_text("5")  # "5" resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        return False
    return True


class PeakMemory:
    """Context manager: ``bytes`` is the peak memory added inside the block, ``method`` how it was read."""

    def __init__(self, device: torch.device | str) -> None:
        self.device = torch.device(device)
        self.bytes = 0
        self.method = ""

    def __enter__(self) -> PeakMemory:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
            self.method = "cuda max_memory_allocated"
        elif _status_kib("VmRSS") is not None and _reset_high_water_mark():
            self._start = _status_kib("VmRSS") * 1024
            self.method = "VmHWM"
        else:
            self._start = _maxrss_bytes()
            self.method = "ru_maxrss"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        elif self.method == "VmHWM":
            peak = (_status_kib("VmHWM") or 0) * 1024
        else:
            peak = _maxrss_bytes()
        self.bytes = max(0, peak - self._start)


def available_memory(device: torch.device | str) -> int | None:
    """Bytes the device can still give (``MemAvailable`` on Linux, free memory on CUDA); None when unknown."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def time_calls(
    work: Callable[[], object],
    *,
    warmup: int = 1,
    repeats: int = 3,
    budget: float = float("inf"),
    synchronize: Callable[[], None] = lambda: None,
) -> list[float]:
    """Seconds of each timed call of ``work``, after ``warmup`` untimed calls.

    Stops after ``repeats`` calls, or earlier once the timed calls took ``budget`` seconds (always at least
    one call), so that a slow case costs about its budget rather than ``repeats`` times itself.
    """
    for _ in range(warmup):
        work()
        synchronize()
    times: list[float] = []
    while len(times) < max(1, repeats):
        synchronize()
        start = time.perf_counter()
        work()
        synchronize()
        times.append(time.perf_counter() - start)
        if sum(times) >= budget:
            break
    return times


def synchronizer(device: torch.device | str) -> Callable[[], None]:
    """A function that waits for the device's queued work (a no-op on CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None
