"""How much memory a run needs: this process and all its children, sampled.

Resident memory (RSS) summed over the kernel, dask's scheduler (a thread of
the kernel) and the worker processes, sampled every few milliseconds while a
block runs. ``trim_memory`` first hands freed memory back to the OS, so that
two runs start from the same floor.
"""

from __future__ import annotations

import contextlib
import threading
import time

import psutil
from distributed import Client

from ..validation import check_number
from .cluster import TIMEOUT, bounded_call


def _tree(pid: int | None = None) -> list[psutil.Process]:
    root = psutil.Process(pid)
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return [root]


def _rss(processes: list[psutil.Process]) -> int:
    total = 0
    for p in processes:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def tree_rss(pid: int | None = None) -> int:
    """Resident memory (bytes) of process ``pid`` (default: this one) and all its children."""
    return _rss(_tree(pid))


class PeakMemory:
    """Sample the memory of this process and its children while the ``with`` block runs.

    ``extra_mb`` is the highest total seen minus the total at the start: the
    memory the block needed (kernel, scheduler and workers together). The
    list of children is refreshed every ``refresh`` seconds only: finding
    them reads every process of the machine, reading their memory is cheap,
    and the sampler must not slow down what it measures (it shares the
    kernel with dask's scheduler).
    """

    def __init__(self, interval: float = 0.01, refresh: float = 0.25) -> None:
        self.interval = check_number("interval", interval, minimum=0.001, maximum=1.0)
        self.refresh = check_number("refresh", refresh, minimum=self.interval, maximum=10.0)
        self.base = self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> PeakMemory:
        self.base = self.peak = tree_rss()
        self._thread = threading.Thread(target=self._sample, name="ipc-course-memory", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        processes, found = _tree(), time.monotonic()
        while not self._stop.wait(self.interval):
            if time.monotonic() - found > self.refresh:
                processes, found = _tree(), time.monotonic()
            self.peak = max(self.peak, _rss(processes))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self.peak = max(self.peak, tree_rss())

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.base) / 1e6


def trim_memory(client: Client, timeout: float = TIMEOUT) -> None:
    """Give freed memory back to the OS, here and on every worker (glibc only).

    ``malloc_trim`` makes resident-memory measurements start from the same
    floor; on macOS and Windows it does not exist and this does nothing.
    """
    _trim()
    bounded_call(lambda: client.run(_trim), timeout)


def _trim() -> int:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        return 0
