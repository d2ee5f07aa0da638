"""Exercise checkers of notebook 04 (managers).

1. ``check_add_visit``: make the article's counter line safe with a manager lock.
2. ``check_merge_counts``: merge a process's word counts into a shared dict
   without losing counts, with one lock and a few round trips per merge.
3. ``check_run_board``: serve a task board on the loopback interface with an
   ``authkey``, let a client process do the tasks, shut everything down.

The learner's function is defined in the notebook, so it cannot run in a
``spawn`` child. Exercises 1 and 2 therefore call it from four threads of
the kernel at once. Each thread gets its own proxies (its own connection to
the manager: the ``multiprocessing`` docs ask not to share a proxy between
threads without a lock), and those proxies are *watched*: the checker sees
each time the lock given to the function is taken and released, and whether
each read and write of the dict happened while the caller held it. The
verdict comes from those records, not from whether a race happened to lose
an update this time.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from ..managers import BoardManager, board_client
from ..validation import check_int
from .feedback import (
    ATTEMPT_TIMEOUT,
    Attempt,
    Feedback,
    correct,
    first_problem,
    left_running,
    not_yet,
    plain_checker,
    run_attempt,
)

THREADS = 4

#: Seconds a watched ``lock.acquire()`` waits before it says the lock was never released.
HOLD_LIMIT = 5.0


# --------------------------------------------------------------------------
# Watched proxies: what the learner's function did with the lock and the dict
# --------------------------------------------------------------------------


class _Watch:
    """What one check saw: lock acquisitions, dict calls, calls made without the lock."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self.holder: int | None = None  # thread that holds the watched lock
        self.taken = 0
        self.dict_calls = 0
        self.unguarded: list[str] = []  # dict calls made without holding the lock
        self.taken_per_call: list[int] = []  # acquisitions in each call of the function
        self._by_thread: Counter[int] = Counter()

    def acquired(self) -> None:
        with self._mutex:
            self.holder = threading.get_ident()
            self.taken += 1
            self._by_thread[self.holder] += 1

    def released(self) -> None:
        with self._mutex:
            self.holder = None

    def dict_call(self, name: str) -> None:
        with self._mutex:
            self.dict_calls += 1
            if self.holder != threading.get_ident():
                self.unguarded.append(name)

    def one_call(self, function: Callable[..., Any], *args: Any) -> None:
        """Call ``function(*args)`` and note how often it took the lock."""
        me = threading.get_ident()
        with self._mutex:
            before = self._by_thread[me]
        function(*args)
        with self._mutex:
            self.taken_per_call.append(self._by_thread[me] - before)


def _own_proxy(proxy: Any) -> Any:
    """A new proxy to the same object, with its own connection (one per thread)."""
    return type(proxy)(
        proxy._token, proxy._serializer, manager=proxy._manager, authkey=proxy._authkey
    )


class _WatchedLock:
    """A ``manager.Lock()`` proxy that reports to a ``_Watch``; waits are bounded."""

    def __init__(self, proxy: Any, watch: _Watch) -> None:
        self._proxy = proxy
        self._watch = watch

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        unbounded = blocking and (timeout is None or timeout < 0)
        got = self._proxy.acquire(blocking, HOLD_LIMIT if unbounded else timeout)
        if unbounded and not got:
            raise TimeoutError(
                f"lock.acquire() waited {HOLD_LIMIT:g} s: the lock was never released "
                "by an earlier call"
            )
        if got:
            self._watch.acquired()
        return got

    def release(self) -> None:
        self._watch.released()
        self._proxy.release()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


class _WatchedDict:
    """A ``manager.dict()`` proxy that reports every call to a ``_Watch``."""

    def __init__(self, proxy: Any, watch: _Watch) -> None:
        self._proxy = proxy
        self._watch = watch

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._proxy, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._watch.dict_call(f"{name}()")
            return method(*args, **kwargs)

        return call

    def __getitem__(self, key: Any) -> Any:
        self._watch.dict_call("d[...]")
        return self._proxy[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._watch.dict_call("d[...] = ...")
        self._proxy[key] = value

    def __delitem__(self, key: Any) -> None:
        self._watch.dict_call("del d[...]")
        del self._proxy[key]

    def __contains__(self, key: Any) -> bool:
        self._watch.dict_call("in")
        return key in self._proxy

    def __len__(self) -> int:
        self._watch.dict_call("len()")
        return len(self._proxy)

    def __iter__(self) -> Any:
        self._watch.dict_call("iter()")
        return iter(self._proxy.keys())


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
    if lock.acquire(True, 0.5):
        lock.release()
        return True
    return False


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _lock_problem(watch: _Watch, what: str, calls: int, step: str) -> Feedback | None:
    """``Not yet`` if the function did not do each ``step`` in one hold of the given lock."""
    if watch.taken == 0:
        return not_yet(
            f"{what} never took the lock it was given (its `lock` argument). A lock the "
            "function makes or finds itself (`with manager.Lock():`, `threading.Lock()`, "
            "a module-level lock) is not the one the other processes use, so it protects "
            "nothing: use `with lock:`."
        )
    if watch.unguarded:
        first = watch.unguarded[0]
        return not_yet(
            f"{len(watch.unguarded)} calls on the dict (the first: {first}) happened while "
            f"{what} did not hold the lock. The read and the write must both be inside "
            "`with lock:`, or another caller slips in between."
        )
    several = [n for n in watch.taken_per_call if n > 1]
    if several:
        return not_yet(
            f"{what} took the lock {max(several)} times in one call ({watch.taken} times for "
            f"{calls} calls): {step} must happen in one hold of the lock, or another caller "
            "slips in between two of them. Take it once per call."
        )
    return None


# --------------------------------------------------------------------------
# Exercise 1: fix the article's counter
# --------------------------------------------------------------------------


def _visits(add_visit: Callable[..., Any], d: Any, lock: Any, calls: int, watch: _Watch) -> None:
    def many() -> None:
        mine_d, mine_lock = (
            _WatchedDict(_own_proxy(d), watch),
            _WatchedLock(_own_proxy(lock), watch),
        )
        for _ in range(calls):
            watch.one_call(add_visit, mine_d, mine_lock)

    _in_threads([many] * THREADS, ATTEMPT_TIMEOUT + 5)  # the attempt's own bound fires first


@plain_checker
def check_add_visit(add_visit: Callable[[Any, Any], Any], calls: int = 50) -> Feedback:
    """Call ``add_visit(d, lock)`` ``calls`` times from each of 4 threads at once.

    Correct when every call took the given lock once and read and wrote the
    dict while holding it, ``d['count']`` ends at ``4 * calls`` and the lock
    is free afterwards.
    """
    if not callable(add_visit):
        return not_yet("pass your function itself: check_add_visit(add_visit).")
    calls = check_int("calls", calls, minimum=1, maximum=10_000)
    expected = THREADS * calls
    watch = _Watch()
    with mp.Manager() as manager:
        d, lock = manager.dict(), manager.Lock()
        attempt = run_attempt(_visits, add_visit, d, lock, calls, watch)
        problem = first_problem(attempt, what="add_visit", leftovers=False)
        if problem is None:
            problem = _lock_problem(watch, "add_visit", expected, "the read and the write")
        count = d.get("count", 0)
        free = _lock_is_free(lock)
    if problem is not None:
        return problem
    if not _is_count(count):
        return not_yet(f"d['count'] should hold a number, but it holds {count!r}.")
    if count != expected:
        return not_yet(
            f"{THREADS} callers made {expected} visits, but d['count'] is {count}: add "
            "exactly one per call, starting from 0 when the key is missing."
        )
    if not free:
        return not_yet(
            "the count is right, but the lock is still held after your function "
            "returned: use `with lock:` so it is always released."
        )
    return left_running(attempt, what="add_visit") or correct(
        f"{THREADS} threads, each with its own proxies, called add_visit {calls} times "
        f"each at once: every call took the lock once and read and wrote d['count'] "
        f"while holding it, and the count is exactly {expected}."
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


def _merges(
    merge: Callable[..., Any], shared: Any, lock: Any, locals_: list[dict], watch: _Watch
) -> None:
    def one(local: dict) -> None:
        mine = _WatchedDict(_own_proxy(shared), watch)
        watch.one_call(merge, mine, _WatchedLock(_own_proxy(lock), watch), local)

    _in_threads([lambda local=local: one(local) for local in locals_], ATTEMPT_TIMEOUT + 5)


def _totals_problem(got: Mapping[Any, Any], expected: dict[str, int]) -> Feedback | None:
    if got == expected:
        return None
    bad = {w: n for w, n in got.items() if not _is_count(n)}
    if bad:
        word, value = next(iter(bad.items()))
        return not_yet(
            f"the shared dict should map words to counts, but {word!r} maps to {value!r}. "
            "Add each local count (a number) to what is already there."
        )
    word = next(w for w in sorted(expected) if got.get(w) != expected[w])
    return not_yet(
        f"the shared dict does not hold the total counts ({word!r} should be "
        f"{expected[word]}, it is {got.get(word)!r}), although every merge held the lock. "
        "Add each local count to what is already there, instead of replacing it."
    )


@plain_checker
def check_merge_counts(merge_counts: Callable[[Any, Any, Mapping[str, int]], Any]) -> Feedback:
    """Call ``merge_counts(shared, lock, local)`` from 4 threads at once, one text each.

    Correct when every merge took the given lock once and made all its
    calls on the shared dict while holding it, at most
    ``MAX_CALLS_PER_MERGE`` of them, the shared dict holds the exact total
    counts, and the lock is free afterwards.
    """
    if not callable(merge_counts):
        return not_yet("pass your function itself: check_merge_counts(merge_counts).")
    locals_ = [dict(Counter(text.split())) for text in _TEXTS]
    expected = dict(sum((Counter(c) for c in locals_), Counter()))
    merges = len(locals_)
    watch = _Watch()
    with mp.Manager() as manager:
        shared, lock = manager.dict(), manager.Lock()
        attempt = run_attempt(_merges, merge_counts, shared, lock, locals_, watch)
        problem = first_problem(attempt, what="merge_counts", leftovers=False)
        if problem is None:
            problem = _lock_problem(watch, "merge_counts", merges, "the read and the write")
        got = shared.copy()
        free = _lock_is_free(lock)
    if problem is not None:
        return problem
    problem = _totals_problem(got, expected)
    if problem is not None:
        return problem
    if watch.dict_calls > MAX_CALLS_PER_MERGE * merges:
        return not_yet(
            f"the totals are right, but the {merges} merges made {watch.dict_calls} calls "
            "on the shared dict, one or more per word: each is a round trip. Read it once "
            "(shared.copy()), add locally, write once (shared.update(...))."
        )
    if not free:
        return not_yet("the totals are right, but the lock is still held: use `with lock:`.")
    return left_running(attempt, what="merge_counts") or correct(
        f"{merges} merges ran at once, each with its own proxies: each took the lock once "
        f"and made its calls on the shared dict while holding it ({watch.dict_calls} calls "
        f"in all, at most {MAX_CALLS_PER_MERGE} per merge allowed), and no count was lost."
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


def _ran_board_client(attempt: Attempt) -> list[Any]:
    name, module = board_client.__qualname__, board_client.__module__
    return [p for p in attempt.processes if p.target == name and p.module == module]


def _ipc_problem(attempt: Attempt) -> Feedback | None:
    """``Not yet`` unless a BoardManager server and a board_client process really ran."""
    servers = [p for p in attempt.processes if p.kind == "manager"]
    if BoardManager.__name__ not in attempt.pools or not servers:
        return not_yet(
            "run_board started no BoardManager server: the exercise is about serving the "
            "board from a manager process. Start one with "
            "managers.start_board_server(authkey)."
        )
    clients = _ran_board_client(attempt)
    if not clients:
        return not_yet(
            "run_board started a board server, but no client process ran "
            "managers.board_client: let a client do the tasks "
            "(managers.run_board_client(server.address, authkey, timeout=10))."
        )
    code = next((c.exitcode for c in clients if c.exitcode != 0), 0)
    if code is None or code < 0:
        return not_yet(
            "the client process was still running when run_board returned, or was stopped "
            f"(exit code {code}): wait for its report, then join it with a timeout."
        )
    if code:
        return not_yet(
            f"the client process ended with exit code {code}: it could not connect or do "
            "the tasks. Give it the server's address and the same authkey."
        )
    return None


def _results_problem(result: Any, tasks: list[str]) -> Feedback | None:
    if not isinstance(result, Mapping):
        return not_yet(
            f"run_board should return the board's results (a dict), not "
            f"{type(result).__name__}: return board.results()."
        )
    missing = [t for t in tasks if t not in result]
    if missing:
        return not_yet(
            f"{len(missing)} of {len(tasks)} tasks have no result. Post every task "
            "before the client starts, and wait for the client (its report, then a "
            "join with a timeout) before reading board.results()."
        )
    if any(result[t] != len(t.split()) for t in tasks):
        return not_yet(
            "every task has a result, but not the right one: the result of a task is "
            "its number of words, as board_client computes it."
        )
    return None


@plain_checker
def check_run_board(run_board: Callable[[list[str], bytes], Any]) -> Feedback:
    """Call ``run_board(tasks, authkey)`` and check the results, the processes and the cleanup.

    Correct when it returns ``{task: number of words}`` for every task, a
    ``BoardManager`` server process and a client process running
    ``board_client`` were started (the client exited with 0: it connected
    with the key and did the tasks), and nothing was left running.
    """
    if not callable(run_board):
        return not_yet("pass your function itself: check_run_board(run_board).")
    tasks = list(_TASKS)
    attempt = run_attempt(run_board, tasks, b"exercise-3-key")
    problem = (
        first_problem(attempt, what="run_board", leftovers=False)
        or _results_problem(attempt.result, tasks)
        or _ipc_problem(attempt)
    )
    if problem is not None:
        return problem
    if attempt.leftover:
        return not_yet(
            f"the results are right, but {len(attempt.leftover)} process(es) were still "
            "running after run_board returned (now stopped). Shut the manager down "
            "(server.shutdown(), in a finally: block) and join the client."
        )
    return correct(
        f"a BoardManager server process served the board, and a client process ran "
        f"board_client, connected with the key and did all {len(tasks)} tasks (exit "
        "code 0); the server was shut down before run_board returned."
    )
