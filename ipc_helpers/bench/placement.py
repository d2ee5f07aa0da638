"""Where the timed processes run, and the state they start from.

- ``placed(placement)``: pin this process and its live children, every
  thread of each, to one CPU (Linux), or leave them free.
- ``warm_allocator()``: put the C library's memory allocator in the state of
  a process that has handled large data before, so that page faults do not
  decide the figures (section 4 of notebook 05 measures them on their own).
- ``minor_faults()``, ``ignore_interrupts()``: small tools of the children.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator

from .catalogue import FREE, ONE_CPU, MiB


def actual_placement(placement: str) -> str:
    """``placement`` as it will really be: ``"free"`` where the system cannot pin."""
    return FREE if cannot_pin() else placement


def cannot_pin() -> str:
    """Why a run asked for one CPU cannot have it here ("" where pinning works)."""
    if hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity"):
        return ""
    return (
        "not pinned: this system has no CPU affinity call (macOS, Windows), so the "
        "processes ran wherever the scheduler put them"
    )


def _threads(pid: int) -> list[int]:
    """Thread ids of process ``pid`` (Linux ``/proc``), or just ``pid`` itself."""
    try:
        return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return [pid]


@contextlib.contextmanager
def placed(placement: str = ONE_CPU, cpu: int | None = None) -> Iterator[bool]:
    """Run this process and its live children on one CPU inside the block.

    ``cpu`` is the CPU to use (default: ``chosen_cpu(placement)``, the
    idlest one). Yields ``True`` when they are pinned. With ``placement="free"``, or where
    the system has no affinity call (``cannot_pin()`` says so), nothing is
    pinned and it yields ``False``.

    Why pin: a round trip costs a few microseconds when both processes share
    a CPU (a context switch) but several times more when the other process
    sleeps on another CPU and must be woken up (very visible in virtual
    machines); throughput changes too, in both directions. Where processes
    land is the scheduler's choice and changes from minute to minute;
    pinned, the figures are repeatable and show what the mechanism costs.
    Every thread is pinned (a ``Queue``'s feeder thread, a manager's
    server threads), and the old masks come back at the end.
    """
    if placement == FREE or cannot_pin():
        yield False
        return
    pids = [os.getpid(), *(p.pid for p in mp.active_children())]
    saved: dict[int, dict[int, set[int]]] = {}
    for pid in pids:
        saved[pid] = {}
        for tid in _threads(pid):
            with contextlib.suppress(OSError):  # that thread has just ended
                saved[pid][tid] = os.sched_getaffinity(tid)
    if cpu is None:
        cpu = chosen_cpu(placement)
    try:
        for pid in saved:
            _set_all(pid, lambda tid: {cpu})
        yield True
    finally:
        for pid, masks in saved.items():  # threads born inside the block get their process's mask
            _set_all(pid, lambda tid, masks=masks, pid=pid: masks.get(tid, masks.get(pid)))


def _set_all(pid: int, mask_of: Callable[[int], set[int] | None]) -> None:
    """Give every thread of process ``pid`` the CPU mask ``mask_of(thread id)``."""
    for tid in _threads(pid):
        mask = mask_of(tid)
        if mask:
            with contextlib.suppress(OSError):  # the thread has just ended
                os.sched_setaffinity(tid, mask)


def pin_me(cpu: int | None) -> None:
    """Pin the calling process (and every thread it starts later) to ``cpu``; ``None``: no-op."""
    if cpu is not None and not cannot_pin():
        os.sched_setaffinity(0, {cpu})


def chosen_cpu(placement: str) -> int | None:
    """The CPU a pinned run uses: the idlest this process may use, or ``None`` (not pinned).

    On a machine that other programs keep busy, the idlest CPU over the last
    few milliseconds gives the timed processes the most time of their own.
    """
    if placement == FREE or cannot_pin():
        return None
    allowed = sorted(os.sched_getaffinity(0))
    first = _idle_times()
    if not first or len(allowed) == 1:
        return allowed[0]
    time.sleep(0.02)
    second = _idle_times()
    return max(allowed, key=lambda cpu: (second.get(cpu, 0) - first.get(cpu, 0), -cpu))


def _idle_times() -> dict[int, int]:
    """Idle plus I/O-wait time of each CPU so far (Linux ``/proc/stat``); ``{}`` elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            lines = [line.split() for line in stat if line.startswith("cpu") and line[3].isdigit()]
    except OSError:
        return {}
    return {int(f[0][3:]): int(f[4]) + int(f[5]) for f in lines if len(f) > 5}


#: Large enough to move glibc's thresholds to their maximum, small enough not to pass it.
_WARM_BLOCK = 32 * MiB - 64 * 1024


def warm_allocator() -> None:
    """Allocate and free one large block, as a process that handled large data has.

    With glibc (Linux), freeing a large block raises the allocator's
    thresholds: afterwards it keeps freed memory for reuse instead of
    returning it to the kernel, and a received message lands in pages the
    process already has. A process that never handled a large block gets
    fresh pages (page faults) for every large message instead, which can
    halve the throughput of 64 KiB to 16 MiB messages. The benchmark puts
    every process it times in the same, warm state; notebook 05 section 4
    measures the cold case separately. Harmless elsewhere.
    """
    block = bytearray(_WARM_BLOCK)  # zero-filled: every page touched once
    del block


def wait_until(ready: Callable[[float], bool], timeout: float, what: str) -> None:
    """Wait until ``ready(slice)`` is true, in slices of 0.1 s; ``TimeoutError`` after ``timeout``.

    Short slices keep Kernel → Interrupt prompt: a signal that lands on
    another thread of the process is only seen between two slices.
    """
    deadline = time.monotonic() + timeout
    while not ready(min(0.1, max(0.0, deadline - time.monotonic()))):
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} within {timeout:g} s")


def minor_faults() -> int:
    """Minor page faults of this process so far (-1 where it cannot be told)."""
    try:
        import resource
    except ImportError:  # Windows
        return -1
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


@contextlib.contextmanager
def children_deaf_to_interrupts() -> Iterator[None]:
    """Start children inside this block: they are born with Ctrl-C blocked.

    JupyterLab interrupts the kernel's whole process group. A child that is
    still starting up (a ``spawn`` child imports for a while) would die with
    a ``KeyboardInterrupt`` traceback before it could ignore the signal. The
    signal mask is inherited through ``fork`` and ``exec``, so blocking SIGINT
    in this thread while a child starts keeps it quiet from its first
    instruction; the parent stops its children itself. An interrupt that
    arrives meanwhile is not lost: it is delivered when the block ends.
    """
    if (
        not hasattr(signal, "pthread_sigmask")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def start_helpers_quietly() -> None:
    """Start multiprocessing's own helper processes now, deaf to Ctrl-C (POSIX).

    The resource tracker (and, under ``forkserver``, the fork server) start
    on first use; interrupted while they start up, they print a traceback.
    Started here, inside ``children_deaf_to_interrupts``, they cannot.
    """
    if os.name != "posix":
        return
    from multiprocessing import forkserver, resource_tracker

    with children_deaf_to_interrupts():
        resource_tracker.ensure_running()
        if mp.get_start_method() == "forkserver":
            forkserver.ensure_running()


def ignore_interrupts() -> None:
    """Ignore Ctrl-C / Kernel → Interrupt in a benchmark child.

    JupyterLab interrupts the kernel's whole process group; the parent stops
    its children itself, so they stay quiet instead of printing tracebacks.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
