"""Exercise checkers of notebook 04 (managers), with their reference solutions.

1. ``check_add_visit``: make the article's counter line safe with a manager lock.
2. ``check_merge_counts``: merge a process's word counts into a shared dict
   without losing counts, with one lock and a few round trips per merge.
3. ``check_run_board``: serve a task board on the loopback interface with an
   ``authkey``, let a client process do the tasks, shut everything down.

The learner's function is defined in the notebook, so it cannot run in a
``spawn`` child. Exercises 1 and 2 therefore call it from several *threads*
of the kernel: each thread has its own connection to the manager, so for the
server they are exactly like separate processes (the race is the same).
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any, Callable

from ..cleanup import stop
from ..managers import run_board_client, start_board_server
from ..validation import check_int, check_timeout
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

THREADS = 4
TIMEOUT = 20.0


def _in_threads(calls: list[Callable[[], Any]], timeout: float) -> None:
    """Run each of ``calls`` in its own thread, all released together.

    Waits at most ``timeout`` seconds in total; re-raises the first error a
    call raised (a ``NotImplementedError`` placeholder included).
    """
    gate = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], Any]) -> None:
        try:
            gate.wait(timeout)
            call()
        except BaseException as exc:  # the learner's error is data here
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    if any(t.is_alive() for t in threads):
        raise TimeoutError(f"the calls did not finish within {timeout:g} s")
    if errors:
        raise errors[0]


def _lock_is_free(lock: Any) -> bool:
    if lock.acquire(timeout=0.5):
        lock.release()
        return True
    return False


# --------------------------------------------------------------------------
# Exercise 1: fix the article's counter
# --------------------------------------------------------------------------


def add_visit(d: Any, lock: Any) -> None:
    """Reference solution of exercise 1: the read and the write under one lock."""
    with lock:
        d["count"] = d.get("count", 0) + 1


def _hammer(
    add_visit: Callable[[Any, Any], Any], d: Any, lock: Any, calls: int, timeout: float
) -> None:
    def many() -> None:
        for _ in range(calls):
            add_visit(d, lock)

    _in_threads([many] * THREADS, timeout)


@plain_checker
def check_add_visit(
    add_visit: Callable[[Any, Any], Any], calls: int = 50, timeout: float = TIMEOUT
) -> Feedback:
    """Call ``add_visit(d, lock)`` ``calls`` times from each of 4 threads at once.

    Correct when ``d['count']`` ends at ``4 * calls`` and the lock is free
    afterwards. The calls may take ``timeout`` seconds in all.
    """
    if not callable(add_visit):
        return not_yet("pass your function itself: check_add_visit(add_visit).")
    calls = check_int("calls", calls, minimum=1, maximum=10_000)
    timeout = check_timeout("timeout", timeout)
    expected = THREADS * calls
    with mp.Manager() as manager:
        d, lock = manager.dict(), manager.Lock()
        # The threads' own bound is longer, so the attempt's bound always fires first.
        attempt = run_attempt(_hammer, add_visit, d, lock, calls, timeout + 5, timeout=timeout)
        problem = first_problem(attempt, what="add_visit", timeout=timeout)
        if problem is not None:
            return problem
        count = d.get("count", 0)
        free = _lock_is_free(lock)
    if not isinstance(count, int) or isinstance(count, bool):
        return not_yet(f"d['count'] should hold a number, but it holds {count!r}.")
    if count < expected:
        return not_yet(
            f"{THREADS} callers made {expected} visits, but d['count'] is {count}: "
            f"{expected - count} were lost. A d.get() and a d[...] = ... are two round "
            "trips; another caller can slip in between. Do both while holding the lock."
        )
    if count > expected:
        return not_yet(
            f"d['count'] is {count}, more than the {expected} visits made: add exactly one "
            "per call."
        )
    if not free:
        return not_yet(
            "the count is right, but the lock is still held after your function "
            "returned: use `with lock:` so it is always released."
        )
    return correct(
        f"{expected} visits from {THREADS} callers at once, none lost. The lock makes "
        "the read and the write one step for everybody else."
    )


# --------------------------------------------------------------------------
# Exercise 2: merge word counts with one lock and few round trips
# --------------------------------------------------------------------------

#: At most this many calls on the shared dict per merge, whatever the number of words.
MAX_CALLS_PER_MERGE = 3

_TEXTS = (
    "the cat sat on the mat and the dog sat on the log",
    "a manager owns the objects and the proxies call it",
    "the dog and the cat share a dict through a manager",
    "every call on a proxy is a round trip to the server",
)


def merge_counts(shared: Any, lock: Any, local: Mapping[str, int]) -> None:
    """Reference solution of exercise 2: one lock, one read, one write."""
    with lock:
        merged = shared.copy()
        for word, n in local.items():
            merged[word] = merged.get(word, 0) + n
        shared.update(merged)


class _CountingDict:
    """Wraps a dict proxy and counts the calls made on it (round trips)."""

    def __init__(self, proxy: Any) -> None:
        self._proxy = proxy
        self._lock = threading.Lock()
        self.calls = 0

    def _count(self) -> None:
        with self._lock:
            self.calls += 1

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._proxy, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._count()
            return method(*args, **kwargs)

        return call

    def __getitem__(self, key: Any) -> Any:
        self._count()
        return self._proxy[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._count()
        self._proxy[key] = value

    def __delitem__(self, key: Any) -> None:
        self._count()
        del self._proxy[key]

    def __contains__(self, key: Any) -> bool:
        self._count()
        return key in self._proxy

    def __len__(self) -> int:
        self._count()
        return len(self._proxy)

    def __iter__(self) -> Any:
        self._count()
        return iter(self._proxy.keys())


class _CountingLock:
    """Wraps a lock proxy and counts how often it is taken."""

    def __init__(self, proxy: Any) -> None:
        self._proxy = proxy
        self.taken = 0
        self._counter_lock = threading.Lock()

    def acquire(self, *args: Any, **kwargs: Any) -> bool:
        got = self._proxy.acquire(*args, **kwargs)
        if got:
            with self._counter_lock:
                self.taken += 1
        return got

    def release(self) -> None:
        self._proxy.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _merge_all(
    merge: Callable[..., Any], shared: Any, lock: Any, locals_: list, timeout: float
) -> None:
    calls = [lambda local=local: merge(shared, lock, local) for local in locals_]
    _in_threads(calls, timeout)


@plain_checker
def check_merge_counts(
    merge_counts: Callable[[Any, Any, Mapping[str, int]], Any], timeout: float = TIMEOUT
) -> Feedback:
    """Call ``merge_counts(shared, lock, local)`` from 4 threads at once, one text each.

    Correct when the shared dict holds the exact total counts, the lock was
    taken once per merge, and each merge made at most
    ``MAX_CALLS_PER_MERGE`` calls on the shared dict. The merges may take
    ``timeout`` seconds in all.
    """
    if not callable(merge_counts):
        return not_yet("pass your function itself: check_merge_counts(merge_counts).")
    timeout = check_timeout("timeout", timeout)
    locals_ = [dict(Counter(text.split())) for text in _TEXTS]
    expected = dict(sum((Counter(c) for c in locals_), Counter()))
    merges = len(locals_)
    with mp.Manager() as manager:
        shared = _CountingDict(manager.dict())
        lock = _CountingLock(manager.Lock())
        attempt = run_attempt(
            _merge_all, merge_counts, shared, lock, locals_, timeout + 5, timeout=timeout
        )
        problem = first_problem(attempt, what="merge_counts", timeout=timeout)
        if problem is not None:
            return problem
        got = shared._proxy.copy()
        free = _lock_is_free(lock._proxy)
    if got != expected:
        lost = sum(max(0, n - got.get(w, 0)) for w, n in expected.items())
        extra = sum(max(0, n - expected.get(w, 0)) for w, n in got.items() if isinstance(n, int))
        if lost and not extra:
            return not_yet(
                f"{lost} word counts were lost when {merges} merges ran at once. A read "
                "and a later write of the shared dict are separate round trips: hold "
                "the lock from the read to the write."
            )
        return not_yet(
            f"the shared dict does not hold the total counts (for example 'the' should be "
            f"{expected['the']}, it is {got.get('the')!r}). Add each local count to what "
            "is already there."
        )
    if lock.taken == 0:
        return not_yet(
            "the totals happen to be right this time, but no merge took the lock: "
            "merges that overlap can lose counts. Hold the lock around each merge."
        )
    if lock.taken > merges:
        return not_yet(
            f"the lock was taken {lock.taken} times for {merges} merges: once per word "
            "costs a round trip per word. Take it once per merge."
        )
    if not free:
        return not_yet("the totals are right, but the lock is still held: use `with lock:`.")
    per_merge = shared.calls / merges
    if shared.calls > MAX_CALLS_PER_MERGE * merges:
        return not_yet(
            f"the totals are right, but each merge made about {per_merge:.0f} calls on "
            "the shared dict, one or more per word. Read it once (shared.copy()), add "
            "locally, write once (shared.update(...))."
        )
    return correct(
        f"{merges} merges at once, no count lost, one lock and at most "
        f"{MAX_CALLS_PER_MERGE} round trips each, however many words there are."
    )


# --------------------------------------------------------------------------
# Exercise 3: a task board on the loopback interface, with an authkey
# --------------------------------------------------------------------------

_TASKS = (
    "managers serve objects",
    "proxies make round trips",
    "an authkey authenticates but does not encrypt",
    "bind to loopback only",
    "shut every manager down",
)


def run_board(tasks: list[str], authkey: bytes) -> dict[str, int]:
    """Reference solution of exercise 3."""
    server = start_board_server(authkey)  # 127.0.0.1, a port the OS picks
    try:
        board = server.get_board()
        for task in tasks:
            board.post(task)
        status, detail = run_board_client(server.address, authkey, timeout=10)
        if status != "done":
            raise RuntimeError(f"the client failed: {detail}")
        return board.results()
    finally:
        server.shutdown()


@plain_checker
def check_run_board(
    run_board: Callable[[list[str], bytes], Any], timeout: float = TIMEOUT
) -> Feedback:
    """Call ``run_board(tasks, authkey)`` and check the results and the cleanup.

    Correct when it returns ``{task: number of words}`` for every task within
    ``timeout`` seconds and no process (the manager's server, the client) is
    left running.
    """
    if not callable(run_board):
        return not_yet("pass your function itself: check_run_board(run_board).")
    timeout = check_timeout("timeout", timeout)
    tasks = list(_TASKS)
    before = child_pids()
    attempt = run_attempt(run_board, tasks, b"exercise-3-key", timeout=timeout)
    problem = first_problem(attempt, what="run_board", timeout=timeout)
    leftovers = new_children(before)
    stop(leftovers, timeout=0.5)
    if problem is not None:
        return problem
    expected = {task: len(task.split()) for task in tasks}
    result = attempt.result
    if not isinstance(result, Mapping):
        return not_yet(
            f"run_board should return the board's results (a dict), not "
            f"{type(result).__name__}: return board.results()."
        )
    result = dict(result)
    if result != expected:
        missing = [t for t in tasks if t not in result]
        if missing:
            return not_yet(
                f"{len(missing)} of {len(tasks)} tasks have no result. Post every task "
                "before the client starts, and wait for the client (its report, then a "
                "join with a timeout) before reading board.results()."
            )
        return not_yet(
            "every task has a result, but not the right one: the result of a task is "
            "its number of words, as board_client computes it."
        )
    if leftovers:
        return not_yet(
            f"the results are right, but {len(leftovers)} process(es) were still running "
            "after run_board returned. Shut the manager down (server.shutdown(), in a "
            "finally: block) and join the client."
        )
    return correct(
        f"{len(tasks)} tasks done by a client that proved it knows the key, and the "
        "server is shut down."
    )
