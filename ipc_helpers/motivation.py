"""Workers and small demo runners for notebook 00, *Why processes need IPC*.

Everything a child runs is defined here, at module level, so that a child
started with any start method (``fork``, ``spawn``, ``forkserver``) can find it
by importing this module. Workers never print: they send what they want to say
back through the queue they were given, and the parent prints.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing as mp
import os
import textwrap
import time
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from typing import Any, Callable

from .validation import check_int, check_timeout, check_type

#: A module-level counter. A child that changes it changes its own copy.
COUNTER = 0

#: A module-level list. A child that appends to it appends to its own copy.
NOTES: list[str] = []


# --- workers -----------------------------------------------------------------


def change_globals(note: str, results: Any) -> None:
    """Add 1 to ``COUNTER``, append ``note`` to ``NOTES``, and report both.

    Runs in a child. It puts ``(COUNTER, NOTES)`` as this process sees them
    on the ``results`` queue, so the parent can compare with its own.
    """
    global COUNTER
    COUNTER += 1
    NOTES.append(note)
    results.put((COUNTER, list(NOTES)))


def append_and_send(items: list, item: Any, results: Any) -> None:
    """Append ``item`` to ``items`` and send the changed list back on ``results``.

    Runs in a child. ``items`` is the child's copy of the parent's list: the
    parent's list does not change; what the parent receives is another copy.
    """
    items.append(item)
    results.put(items)


def square_in_place(numbers: list) -> None:
    """Replace every number in ``numbers`` by its square, in place.

    In the parent this changes the caller's list. In a child it changes only
    the child's copy: the parent's list stays as it was.
    """
    for i, x in enumerate(numbers):
        numbers[i] = x * x


def square_all(numbers: list, results: Any) -> None:
    """Put the list of the squares of ``numbers`` on the ``results`` queue."""
    results.put([x * x for x in numbers])


def sum_of_squares(start: int, stop: int) -> int:
    """Return ``start**2 + ... + (stop - 1)**2``, computed the slow way.

    A plain Python loop on purpose: it keeps the processor busy running Python
    bytecode, which is the kind of work that threads cannot share out (they
    take turns holding the GIL) and processes can.
    """
    total = 0
    for i in range(start, stop):
        total += i * i
    return total


# --- helpers for the parent --------------------------------------------------


def usable_cpus() -> int:
    """How many CPUs this process may run on.

    ``os.sched_getaffinity(0)`` where the platform has it (Linux), which
    respects limits set by containers and ``taskset``; else
    ``os.cpu_count()``. A Binder session may get 1.
    """
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def split_range(n: int, parts: int) -> list[tuple[int, int]]:
    """Split ``range(n)`` into ``parts`` contiguous ``(start, stop)`` chunks.

    The chunks cover ``0 .. n`` exactly once; their sizes differ by at most 1.

    >>> split_range(10, 3)
    [(0, 4), (4, 7), (7, 10)]
    """
    n = check_int("n", n, minimum=0)
    parts = check_int("parts", parts, minimum=1)
    size, extra = divmod(n, parts)
    chunks, start = [], 0
    for i in range(parts):
        stop = start + size + (1 if i < extra else 0)
        chunks.append((start, stop))
        start = stop
    return chunks


def context_for(start_method: str | None = None) -> BaseContext:
    """The ``multiprocessing`` context for ``start_method`` (``None``: the default).

    Raises ``ValueError`` for a method this platform does not have (Windows
    has only ``spawn``).
    """
    if start_method is None:
        return mp.get_context()
    check_type("start_method", start_method, str)
    available = mp.get_all_start_methods()
    if start_method not in available:
        raise ValueError(f"start_method must be one of {available}; got {start_method!r}")
    return mp.get_context(start_method)


@dataclass(frozen=True)
class Race:
    """Seconds taken by the same CPU-bound job done three ways."""

    workers: int
    n: int
    serial: float
    threads: float
    processes: float
    usable_cpus: int

    def as_rows(self) -> list[tuple[str, float]]:
        """``(label, seconds)`` pairs, in the order of the plot."""
        return [
            ("1 thread (serial)", self.serial),
            (f"{self.workers} threads", self.threads),
            (f"{self.workers} processes", self.processes),
        ]


def _timed(job: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    result = job()
    return time.perf_counter() - started, result


def _with_threads(chunks: list[tuple[int, int]], timeout: float) -> int:
    with concurrent.futures.ThreadPoolExecutor(len(chunks)) as pool:
        futures = [pool.submit(sum_of_squares, a, b) for a, b in chunks]
        return sum(f.result(timeout=timeout) for f in futures)


def sum_in_processes(chunks: list[tuple[int, int]], ctx: BaseContext, timeout: float = 60.0) -> int:
    """Sum ``sum_of_squares(start, stop)`` over ``chunks``, one process per chunk.

    Starts a ``Pool`` of ``len(chunks)`` processes from ``ctx``, waits at most
    ``timeout`` seconds for the answers, and always stops the pool.
    """
    check_type("chunks", chunks, list)
    if not chunks:
        raise ValueError("chunks must hold at least one (start, stop) pair")
    check_type("ctx", ctx, BaseContext)
    timeout = check_timeout("timeout", timeout)
    pool = ctx.Pool(len(chunks))
    try:
        return sum(pool.starmap_async(sum_of_squares, chunks).get(timeout))
    finally:
        pool.terminate()
        pool.join()


def race_threads_processes(
    n: int = 8_000_000,
    workers: int = 2,
    *,
    start_method: str | None = None,
    timeout: float = 60.0,
) -> Race:
    """Time ``sum_of_squares(0, n)`` done serially, by threads and by processes.

    The range is split into ``workers`` equal chunks. The serial time is the
    better of two runs, one before and one after the threads, so that a burst
    of load from other programs does not favour the threads. The process time
    includes starting the processes (that is part of the real cost) under
    ``start_method`` (default: the current default start method). Every wait is
    bounded by ``timeout`` seconds. Raises ``RuntimeError`` if the three ways
    disagree on the answer (they never should).
    """
    n = check_int("n", n, minimum=1, maximum=10**9)
    workers = check_int("workers", workers, minimum=1, maximum=32)
    timeout = check_timeout("timeout", timeout)
    ctx = context_for(start_method)
    chunks = split_range(n, workers)
    serial, expected = _timed(lambda: sum_of_squares(0, n))
    threads, by_threads = _timed(lambda: _with_threads(chunks, timeout))
    serial = min(serial, _timed(lambda: sum_of_squares(0, n))[0])
    processes, by_processes = _timed(lambda: sum_in_processes(chunks, ctx, timeout))
    if not expected == by_threads == by_processes:
        raise RuntimeError("serial, threads and processes disagree on the sum")
    return Race(workers, n, serial, threads, processes, usable_cpus())


def plot_race(race: Race) -> Any:
    """Draw a bar chart of a ``Race``; return the matplotlib ``Axes``."""
    import matplotlib.pyplot as plt

    check_type("race", race, Race)
    labels, seconds = zip(*race.as_rows())
    fig, ax = plt.subplots(figsize=(6.4, 2.6))
    bars = ax.barh(labels, seconds, color=["#9e9e9e", "#e0913a", "#3a7ee0"])
    ax.bar_label(bars, labels=[f"{s:.2f} s" for s in seconds], padding=3)
    ax.invert_yaxis()
    ax.set_xlabel("seconds (shorter is better)")
    ax.set_xlim(0, max(seconds) * 1.25)
    ax.set_title(f"sum_of_squares(0, {race.n:,}) on {race.usable_cpus} usable CPU(s)", fontsize=10)
    fig.tight_layout()
    return ax


def last_error_block(stderr: str, name: str = "RuntimeError") -> str:
    """The last ``name: ...`` message in ``stderr``, with its continuation lines.

    A traceback ends with the exception's type and message; a long message
    continues on indented lines. This returns the message only (without the
    ``File ...`` lines, which hold paths of the machine), dedented, or ``""``
    if ``name`` does not appear in ``stderr``.
    """
    check_type("stderr", stderr, str)
    check_type("name", name, str)
    at = stderr.rfind(f"{name}:")
    if at < 0:
        return ""
    head, *rest = stderr[at:].splitlines()
    message = []
    for line in rest:
        if line.strip() and not line[0].isspace():
            break  # the next unindented line is not part of this message
        message.append(line)
    return (head.rstrip() + "\n" + textwrap.dedent("\n".join(message))).strip()
