"""Exercises of notebook 03: checkers and reference solutions.

1. ``check_count_safely``: several processes add to one counter without
   losing an update.
2. ``check_parallel_sum``: sum a large array in slices through ``SharedMemory``
   and leave no segment behind.
3. ``check_fill_table``: workers fill disjoint rows of a shared table, no lock;
   the function returns an ordinary array.

Each checker runs the learner's function in this process with a time bound
(``run_attempt``), then looks at the result, at the processes left alive and
at the segments left in ``/dev/shm`` (Linux), and answers in plain words.
"""

from __future__ import annotations

import multiprocessing as mp
import numbers
from multiprocessing import shared_memory
from typing import Any, Callable

import numpy as np

from .. import shared
from ..cleanup import ipc_entries, stop
from ..validation import check_callable
from .feedback import (
    Feedback,
    child_pids,
    correct,
    first_problem,
    new_children,
    not_yet,
    plain_checker,
    run_attempt,
)

TIMEOUT = 20.0


# --- Shared checks -----------------------------------------------------------


def _segments() -> set[str]:
    return {n for n in ipc_entries() if n.startswith("psm_")}


def _remove_segments(names: set[str]) -> None:
    """Unlink segments the learner's code left behind (so the kernel stays clean)."""
    for name in names:
        try:
            leftover = shared_memory.SharedMemory(name=name)
        except FileNotFoundError:
            continue
        leftover.close()
        leftover.unlink()


def _leftovers(before: set[str], pids: set[int], what: str) -> Feedback | None:
    """A ``Not yet`` if new processes are alive or new segments exist; cleans both up.

    ``before`` and ``pids`` are the segments and child pids from before the attempt.
    """
    alive = new_children(pids)
    if alive:
        stop(alive, timeout=2.0)
        return not_yet(
            f"{what} returned while {len(alive)} process(es) were still running. "
            "Join every process you start (with a timeout) before you return."
        )
    new = _segments() - before
    if new:
        _remove_segments(new)
        return not_yet(
            f"{what} left {len(new)} shared-memory segment(s) in /dev/shm. The process that "
            "creates a segment must unlink() it when everyone is done, in a `finally:` block "
            "(or use `with shared.SharedArray.create(...)`). The checker removed it for you."
        )
    return None


def _is_whole_number(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


# --- Exercise 1: count without losing updates -----------------------------------

COUNT_PROCESSES = 3
COUNT_INCREMENTS = 30_000


def count_safely(counter: Any, n_processes: int, increments: int) -> None:
    """Reference solution: one lock (the counter's own) shared by every process."""
    start = mp.Barrier(n_processes)
    lock = counter.get_lock()
    workers = [
        mp.Process(target=shared.add_many, args=(counter, increments, lock, start))
        for _ in range(n_processes)
    ]
    for w in workers:
        w.start()
    stop(workers, timeout=15.0)


@plain_checker
def check_count_safely(count_safely: Callable[..., Any]) -> Feedback:
    """Check exercise 1: ``count_safely(counter, n_processes, increments)``.

    Runs it twice with a fresh ``Value('q', 0)``; both final counts must be
    exactly ``n_processes * increments``.
    """
    check_callable("count_safely", count_safely)
    expected = COUNT_PROCESSES * COUNT_INCREMENTS
    before, pids = _segments(), child_pids()
    for attempt_number in (1, 2):
        counter = mp.Value("q", 0)
        attempt = run_attempt(
            count_safely, counter, COUNT_PROCESSES, COUNT_INCREMENTS, timeout=TIMEOUT
        )
        problem = first_problem(attempt, what="count_safely", timeout=TIMEOUT)
        if problem is None:
            problem = _leftovers(before, pids, "count_safely")
        if problem is not None:
            return problem
        total = counter.value
        if total == 0:
            return not_yet(
                f"in run {attempt_number} the counter stayed at 0: the processes did not "
                "count. Check that you start them with target=shared.add_many and the "
                "arguments (counter, increments, lock, start), that `start` is a Barrier for "
                "n_processes parties, and that each p.exitcode is 0 after join."
            )
        if total < expected:
            return not_yet(
                f"in run {attempt_number}, {COUNT_PROCESSES} processes x "
                f"{COUNT_INCREMENTS:,} increments gave {total:,} instead of {expected:,}: "
                f"{expected - total:,} updates were lost. Every process must hold the *same* "
                "lock around each `+=`: pass counter.get_lock() (or one Lock created before "
                "the processes) to all of them. A Lock created for each process protects "
                "nothing, and lock=None means no lock."
            )
        if total > expected:
            return not_yet(
                f"the counter reached {total:,}, more than {expected:,}: start exactly "
                "n_processes processes, each with `increments`, and start each one once."
            )
    return correct(
        f"both runs counted exactly {expected:,}. One lock shared by all the processes "
        "makes each read-add-write a single step that nobody can interleave."
    )


# --- Exercise 2: a parallel sum through SharedMemory ---------------------------------

SUM_LENGTH = 1_000_000
SUM_WORKERS = 3


def parallel_sum(data: np.ndarray, n_workers: int) -> float:
    """Reference solution: copy ``data`` into a segment, workers sum slices, always clean up."""
    results = mp.Array("d", n_workers)
    with shared.SharedArray.create(data.shape, "float64") as block:
        block.array[:] = data
        workers = [
            mp.Process(
                target=shared.sum_slice,
                args=(block.name, len(data), start, stop_, results, i),
            )
            for i, (start, stop_) in enumerate(shared.split(len(data), n_workers))
        ]
        try:
            for w in workers:
                w.start()
        finally:
            codes = stop(workers, timeout=15.0)
    if codes != [0] * n_workers:
        raise RuntimeError(f"a worker failed: exit codes {codes}")
    return float(sum(results[:]))


def sum_data() -> np.ndarray:
    """The array the checker sums: 1,000,000 float64 values (8 MB)."""
    return np.linspace(0.0, 1.0, SUM_LENGTH)


@plain_checker
def check_parallel_sum(parallel_sum: Callable[..., Any]) -> Feedback:
    """Check exercise 2: ``parallel_sum(data, n_workers)`` returns ``data.sum()``.

    It must also join its workers and unlink its segment.
    """
    check_callable("parallel_sum", parallel_sum)
    data = sum_data()
    before, pids = _segments(), child_pids()
    attempt = run_attempt(parallel_sum, data.copy(), SUM_WORKERS, timeout=TIMEOUT)
    problem = first_problem(attempt, what="parallel_sum", timeout=TIMEOUT)
    if problem is None:
        problem = _leftovers(before, pids, "parallel_sum")
    if problem is not None:
        return problem
    result = attempt.result
    if not isinstance(result, numbers.Real) or isinstance(result, bool):
        return not_yet(
            f"parallel_sum returned {type(result).__name__}, not a number. Return the total: "
            "the sum of the workers' partial sums."
        )
    expected = float(data.sum())
    if not np.isclose(float(result), expected, rtol=1e-9, atol=0.0):
        return not_yet(
            f"parallel_sum returned {float(result):,.1f}, but the sum is {expected:,.1f}. "
            "Check that the slices cover the whole array once (shared.split helps), that each "
            "worker writes its own slot of the results array, and that you join the workers "
            "before you add the partial sums."
        )
    return correct(
        f"the {SUM_WORKERS} workers summed {SUM_LENGTH:,} values to {expected:,.1f}, "
        "and nothing was left running or in /dev/shm."
    )


# --- Exercise 3: a shared table, filled by slices, no lock -------------------------

TABLE_ROWS = 10
TABLE_COLS = 6
TABLE_WORKERS = 3


def fill_table(n_rows: int, n_cols: int, n_workers: int) -> np.ndarray:
    """Reference solution: disjoint row ranges, then a copy out before the segment goes."""
    with shared.SharedArray.create((n_rows, n_cols), "int64") as table:
        workers = [
            mp.Process(target=shared.fill_rows, args=(table.name, n_rows, n_cols, start, stop_))
            for start, stop_ in shared.split(n_rows, n_workers)
        ]
        try:
            for w in workers:
                w.start()
        finally:
            stop(workers, timeout=15.0)
        return table.array.copy()


def _backed_by_buffer(array: np.ndarray) -> bool:
    """True if ``array`` is a view on some buffer (a shared segment) rather than its own data."""
    base = array
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return not isinstance(base, np.ndarray)


@plain_checker
def check_fill_table(fill_table: Callable[..., Any]) -> Feedback:
    """Check exercise 3: ``fill_table(n_rows, n_cols, n_workers)`` returns the table.

    Uses 10 rows and 3 workers, so the rows do not split evenly.
    """
    check_callable("fill_table", fill_table)
    before, pids = _segments(), child_pids()
    attempt = run_attempt(fill_table, TABLE_ROWS, TABLE_COLS, TABLE_WORKERS, timeout=TIMEOUT)
    problem = first_problem(attempt, what="fill_table", timeout=TIMEOUT)
    if problem is None:
        problem = _leftovers(before, pids, "fill_table")
    if problem is not None:
        return problem
    result = attempt.result
    if not isinstance(result, np.ndarray):
        return not_yet(
            f"fill_table returned {type(result).__name__}; return a numpy array "
            "(a copy of the shared table)."
        )
    if result.shape != (TABLE_ROWS, TABLE_COLS):
        return not_yet(
            f"the table has shape {result.shape}; expected ({TABLE_ROWS}, {TABLE_COLS})."
        )
    if _backed_by_buffer(result):
        return not_yet(
            "fill_table returned a view of the shared segment, which stops being valid once "
            "the segment is closed. Return a copy: `table.array.copy()`."
        )
    expected = np.stack([shared.table_row(r, TABLE_COLS) for r in range(TABLE_ROWS)])
    missing = [r for r in range(TABLE_ROWS) if not np.any(result[r])]
    if missing:
        return not_yet(
            f"rows {missing} were never filled: with {TABLE_ROWS} rows and {TABLE_WORKERS} "
            "workers the rows do not split evenly. The slices must cover every row exactly "
            "once (shared.split(n_rows, n_workers) does that)."
        )
    if not np.array_equal(result, expected):
        wrong = [r for r in range(TABLE_ROWS) if not np.array_equal(result[r], expected[r])]
        return not_yet(
            f"rows {wrong} hold wrong values. Let the workers (shared.fill_rows) fill the "
            "table, and copy it out only after every worker has been joined."
        )
    return correct(
        f"{TABLE_WORKERS} workers filled the {TABLE_ROWS} x {TABLE_COLS} table, each its own "
        "rows, without a lock: writes to separate places cannot collide."
    )
