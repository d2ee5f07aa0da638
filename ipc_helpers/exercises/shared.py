"""Checkers of notebook 03's exercises (the solutions live in the notebook).

1. ``check_count_safely``: several processes running ``shared.add_many`` add
   to one counter without losing an update.
2. ``check_parallel_sum``: workers running ``shared.sum_slice`` sum a large
   array through a ``SharedMemory`` segment, and nothing is left behind.
3. ``check_fill_table``: workers running ``shared.fill_rows`` fill disjoint
   rows of a shared table, no lock; the function returns an ordinary array.

Each checker runs the learner's function with the course's checker runtime
(``run_attempt``: bounded, recorded, cleaned up), then demands the IPC the
exercise is about — child processes that ran the given worker and exited
with 0, a segment created for them — before it looks at the answer, and it
claims only what it observed.
"""

from __future__ import annotations

import inspect
import multiprocessing as mp
import numbers
import os
from collections.abc import Callable
from multiprocessing.sharedctypes import Synchronized
from typing import Any

import numpy as np

from .. import shared
from ..cleanup import GONE, Given, StartedProcess
from ..motivation import split_range
from .feedback import (
    Attempt,
    Feedback,
    correct,
    first_problem,
    not_yet,
    plain_checker,
    require_clean_exits,
    require_processes,
    require_segments,
    run_attempt,
)

COUNT_PROCESSES = 3
COUNT_INCREMENTS = 30_000

SUM_LENGTH = 1_000_000
SUM_WORKERS = 3

TABLE_ROWS = 10
TABLE_COLS = 6
TABLE_WORKERS = 3


def _not_a_function(what: str, answer: Any) -> Feedback | None:
    if callable(answer):
        return None
    return not_yet(
        f"give the checker your function itself, {what}, not {type(answer).__name__} "
        f"{answer!r:.40}: check_...({what})."
    )


def _children_failed(attempt: Attempt, what: str, keep: str) -> Feedback | None:
    """``Not yet`` if a process ended with an error; ``keep`` names what to keep referenced."""
    failed = [p for p in attempt.processes if p.kind == "process" and p.exitcode == 1]
    if not failed:
        return require_clean_exits(attempt, what=what)
    said = [e for e in attempt.child_errors() if not e.startswith("KeyboardInterrupt")]
    reported = f" One of them reported: {said[-1]}." if said else ""
    return not_yet(
        f"{len(failed)} of the processes {what} started ended with exit code 1 (an error)."
        f"{reported} A common cause: {keep} created inside args=(...) is garbage-collected "
        "as soon as start() returns, before a spawn or forkserver child has opened it "
        "(FileNotFoundError). Keep it in a variable until the processes are joined."
    )


# --- Exercise 1: count without losing updates -----------------------------------


class _WatchedCounter(Synchronized):
    """A ``Value('q', 0)`` that notes when the checker's own process writes to it.

    A child gets a plain synchronized ``Value`` (it is pickled as one), so only
    writes made by the learner's function in this process are counted.
    """

    def __init__(self) -> None:
        ctx = mp.get_context()
        super().__init__(ctx.RawValue("q", 0), ctx.RLock(), ctx)
        self.home = os.getpid()
        self.written_here = 0

    @property
    def value(self) -> int:
        return Synchronized.value.fget(self)

    @value.setter
    def value(self, new: int) -> None:
        if new != 0 and os.getpid() == self.home:
            self.written_here += 1
        Synchronized.value.fset(self, new)


@plain_checker
def check_count_safely(count_safely: Callable[..., Any]) -> Feedback:
    """Check exercise 1: ``count_safely(counter, n_processes, increments)``.

    Runs it twice with a fresh ``Value('q', 0)``: each time, 3 processes must
    run ``shared.add_many`` and exit with 0, the function itself must not
    write the counter, and the count must be exactly 3 × 30,000.
    """
    what = "count_safely"
    problem = _not_a_function(what, count_safely)
    if problem:
        return problem
    expected = COUNT_PROCESSES * COUNT_INCREMENTS
    for run in (1, 2):
        counter = _WatchedCounter()
        attempt = run_attempt(count_safely, counter, COUNT_PROCESSES, COUNT_INCREMENTS)
        problem = (
            first_problem(attempt, what=what)
            or require_processes(
                attempt, what=what, at_least=COUNT_PROCESSES, running=shared.add_many
            )
            or _children_failed(attempt, what, "a Lock or a Barrier")
        )
        if problem:
            return problem
        if counter.written_here:
            return not_yet(
                f"{what} set counter.value itself, in the notebook's process. The count must "
                "come from the processes running shared.add_many; do not write the counter "
                "in the parent."
            )
        total = counter.value
        if total == 0:
            return not_yet(
                f"in run {run} the counter stayed at 0: the processes ran but did not count. "
                "`start` must be one Barrier(n_processes) given to all of them (each waits "
                "there for the others; a Barrier per process waits for partners that never "
                "come, then gives up)."
            )
        if total < expected:
            return not_yet(
                f"in run {run}, {COUNT_PROCESSES} processes × {COUNT_INCREMENTS:,} increments "
                f"gave {total:,} instead of {expected:,}: {expected - total:,} updates were "
                "lost. Every process must hold the *same* lock around each +=: pass "
                "counter.get_lock() (or one Lock created before the processes) to all of "
                "them. A Lock created for each process protects nothing, and lock=None means "
                "no lock."
            )
        if total > expected:
            return not_yet(
                f"the counter reached {total:,}, more than {expected:,}: start exactly "
                "n_processes processes, each adding `increments`."
            )
        problem = _lock_problem(attempt, what, run)
        if problem:
            return problem
    return correct(
        f"in both runs {COUNT_PROCESSES} processes ran shared.add_many, exited with 0, and the "
        f"counter reached exactly {expected:,}: no update was lost."
    )


def _lock_problem(attempt: Attempt, what: str, run: int) -> Feedback | None:
    """``Not yet`` unless every ``add_many`` process got one and the same lock.

    Judged on the objects the processes were given: on a busy machine (or one
    CPU) the processes may not overlap, and a count without a lock comes out
    right by luck.
    """
    locks = [
        _argument(p, "lock")
        for p in attempt.processes
        if (p.module, p.target) == (shared.add_many.__module__, shared.add_many.__qualname__)
    ]
    lucky = (
        f"in run {run} the count was right, but only by luck (the processes happened not to "
        "run at the same moment): "
    )
    locks = [lock for lock in locks if lock is not GONE]  # freed since: cannot tell
    if any(lock is None for lock in locks):
        return not_yet(
            lucky + f"{what} gave add_many lock=None, and lock=None means no lock. Pass "
            "counter.get_lock() (or one Lock created before the processes) to all of them."
        )
    if len({id(lock) for lock in locks}) > 1:
        return not_yet(
            lucky + f"{what} gave each process a lock of its own. A Lock created for each "
            "process protects nothing: pass the same lock, counter.get_lock(), to all of them."
        )
    return None


def _argument(process: StartedProcess, name: str) -> Any:
    """The argument ``name`` that ``process`` was given for ``shared.add_many`` (or ``GONE``)."""
    try:
        bound = inspect.signature(shared.add_many).bind(*process.args, **process.kwargs)
    except TypeError:  # not add_many's arguments: the child failed, and said so
        return GONE
    given = bound.arguments.get(name)
    return given.get() if isinstance(given, Given) else GONE


# --- Exercise 2: a parallel sum through SharedMemory ---------------------------------


def sum_data() -> np.ndarray:
    """The array the checker sums: 1,000,000 float64 values (8 MB)."""
    return np.linspace(0.0, 1.0, SUM_LENGTH)


def _why_the_sum_is_wrong(result: float, data: np.ndarray) -> str:
    """The likeliest mistake behind a wrong total, in words."""
    partials = [float(data[a:b].sum()) for a, b in split_range(len(data), SUM_WORKERS)]
    even = len(data) // SUM_WORKERS * SUM_WORKERS
    missing_tail = float(data[even:].sum())
    if result == 0:
        return (
            "The partial sums were all 0: the workers wrote nothing into results, or you "
            "added them up before the workers were done. Join them first."
        )
    if missing_tail and np.isclose(float(data.sum()) - result, missing_tail, rtol=1e-9):
        left_out = "value" if len(data) - even == 1 else f"{len(data) - even} values"
        return (
            f"It is short by exactly the last {left_out}: {len(data):,} items do not split "
            f"evenly into {SUM_WORKERS} slices of {len(data) // SUM_WORKERS:,}. The slices "
            "must cover every item once (split_range(len(data), n_workers) does that)."
        )
    if any(np.isclose(result, p, rtol=1e-9) for p in partials):
        return (
            "It equals one worker's partial sum: the workers wrote into the same slot. Give "
            "each worker its own index of results (enumerate the slices)."
        )
    return (
        "Check that the slices cover the whole array once, that each worker writes its own "
        "slot of results, and that you join the workers before you add the partial sums."
    )


@plain_checker
def check_parallel_sum(parallel_sum: Callable[..., Any]) -> Feedback:
    """Check exercise 2: ``parallel_sum(data, n_workers)`` returns ``data.sum()``.

    Demands a segment created by the function, 3 processes that ran
    ``shared.sum_slice`` and exited with 0, and nothing left behind.
    """
    what = "parallel_sum"
    problem = _not_a_function(what, parallel_sum)
    if problem:
        return problem
    data = sum_data()
    attempt = run_attempt(parallel_sum, data.copy(), SUM_WORKERS)
    problem = (
        first_problem(attempt, what=what)
        or require_processes(attempt, what=what, at_least=SUM_WORKERS, running=shared.sum_slice)
        or require_segments(attempt, what=what)
        or _children_failed(attempt, what, "the results Array")
    )
    if problem:
        return problem
    result = attempt.result
    if not isinstance(result, numbers.Real) or isinstance(result, bool):
        return not_yet(
            f"{what} returned {type(result).__name__}, not a number. Return the total: the "
            "sum of the workers' partial sums."
        )
    expected = float(data.sum())
    if not np.isclose(float(result), expected, rtol=1e-9, atol=0.0):
        return not_yet(
            f"{what} returned {float(result):,.1f}, but the sum is {expected:,.1f}. "
            + _why_the_sum_is_wrong(float(result), data)
        )
    return correct(
        f"{SUM_WORKERS} processes ran shared.sum_slice on the segment your function created "
        f"and exited with 0; the total of {SUM_LENGTH:,} values is right ({expected:,.1f}), "
        "and no process or segment was left behind."
    )


# --- Exercise 3: a shared table, filled by slices, no lock -------------------------


def _backed_by_buffer(array: np.ndarray) -> bool:
    """True if ``array`` is a view on some buffer (a shared segment) rather than its own data."""
    base = array
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return not isinstance(base, np.ndarray)


def _why_the_table_is_wrong(result: np.ndarray, expected: np.ndarray) -> str:
    """The likeliest mistake behind a wrong table, in words."""
    zero = [r for r in range(TABLE_ROWS) if not np.any(result[r])]
    remainder = list(range(TABLE_ROWS // TABLE_WORKERS * TABLE_WORKERS, TABLE_ROWS))
    if len(zero) == TABLE_ROWS:
        return (
            "Every row is 0: the table was copied before the workers wrote to it. Join the "
            "workers, then copy."
        )
    if zero == remainder:
        return (
            f"rows {zero} were never filled: {TABLE_ROWS} rows do not split evenly into "
            f"{TABLE_WORKERS} slices of {TABLE_ROWS // TABLE_WORKERS}. The slices must cover "
            "every row exactly once (split_range(n_rows, n_workers) does that)."
        )
    wrong = [r for r in range(TABLE_ROWS) if not np.array_equal(result[r], expected[r])]
    return (
        f"rows {wrong} hold wrong values or zeros. Give each row to exactly one worker "
        "(shared.fill_rows), and copy the table out only after every worker has been joined."
    )


@plain_checker
def check_fill_table(fill_table: Callable[..., Any]) -> Feedback:
    """Check exercise 3: ``fill_table(n_rows, n_cols, n_workers)`` returns the table.

    Uses 10 rows and 3 workers, so the rows do not split evenly. Demands a
    segment created by the function and 3 processes that ran
    ``shared.fill_rows`` and exited with 0.
    """
    what = "fill_table"
    problem = _not_a_function(what, fill_table)
    if problem:
        return problem
    attempt = run_attempt(fill_table, TABLE_ROWS, TABLE_COLS, TABLE_WORKERS)
    if isinstance(attempt.error, BufferError):
        return not_yet(
            f"{what} raised BufferError ({attempt.error}). The `with` block could not close "
            "the segment because a numpy view on it was still alive: you returned (or kept) "
            "table.array itself. Return a copy, table.array.copy(), which outlives the block."
        )
    problem = (
        first_problem(attempt, what=what)
        or require_processes(attempt, what=what, at_least=TABLE_WORKERS, running=shared.fill_rows)
        or require_segments(attempt, what=what)
        or _children_failed(attempt, what, "a segment or an argument")
    )
    if problem:
        return problem
    result = attempt.result
    if not isinstance(result, np.ndarray):
        return not_yet(
            f"{what} returned {type(result).__name__}; return a numpy array (a copy of the "
            "shared table)."
        )
    if result.shape != (TABLE_ROWS, TABLE_COLS):
        return not_yet(
            f"the table has shape {result.shape}; expected ({TABLE_ROWS}, {TABLE_COLS})."
        )
    if _backed_by_buffer(result):
        return not_yet(
            f"{what} returned a view of the shared segment, which stops being valid once the "
            "segment is closed. Return a copy: table.array.copy()."
        )
    expected = np.stack([shared.table_row(r, TABLE_COLS) for r in range(TABLE_ROWS)])
    if not np.array_equal(result, expected):
        return not_yet(_why_the_table_is_wrong(result, expected))
    return correct(
        f"{TABLE_WORKERS} processes ran shared.fill_rows on the segment your function created, "
        f"exited with 0, and filled the {TABLE_ROWS} × {TABLE_COLS} table right, each its own "
        "rows, without a lock: writes to separate places cannot collide."
    )
