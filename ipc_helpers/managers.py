"""Workers and small runners for notebook 04 (managers).

A manager is a server process that owns ordinary Python objects (a dict, a
list, a queue...). Other processes hold *proxies*: every method call on a proxy
is pickled, sent to the server, run there, and its result (or its exception)
is pickled back. This module holds what the notebook's children run, and the
runners the notebook calls:

- the source article's counter worker (``increment_count``) and its locked fix;
- ``dict_race_rounds``/``run_dict_race``: the article's increment replayed many
  times to count how often it loses updates (with no lock, one shared lock,
  or a lock per process);
- ``tour_types``/``peek_namespace``: children that use each proxy type;
- ``append_and_report``/``outcome``/``outcome_in_new_thread``/
  ``outcome_in_new_process``: what a proxy does after its manager shut down;
- ``measure_costs``: what one round trip to the server costs;
- ``Tally``/``TallyManager``: a class served by a custom manager;
- ``TaskBoard``/``BoardManager``/``start_board_server``/``board_client``: a
  manager reachable over TCP on the loopback interface, with an ``authkey``.

Workers are short and check nothing: the runners check their arguments in
the parent, start the workers and wait for them in short slices
(``ipc_helpers.workers``), and stop them on Kernel → Interrupt. Only the
standard library is imported here (plus the course's small helpers): every
``spawn`` child imports this module.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.managers import BaseManager, State, SyncManager
from typing import Any

from .capture import capture_stderr
from .cleanup import stop, track
from .validation import check_choice, check_int, check_timeout, check_type
from .workers import start_workers, wait_for

#: Host names the course's servers may bind to: the loopback interface only.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

#: How ``run_dict_race`` guards the read and the write.
LOCKINGS = ("no lock", "one shared lock", "a lock each")


def _check_sync_manager(manager: Any) -> SyncManager:
    check_type("manager", manager, SyncManager)
    if manager._state.value != State.STARTED:
        raise ValueError("manager must be running: use it inside its `with` block")
    return manager


# --------------------------------------------------------------------------
# The article's counter, and the race it hides
# --------------------------------------------------------------------------


def increment_count(d: Any) -> None:
    """The source article's worker: add one to ``d['count']``.

    ``d.get(...)`` is one round trip to the manager and ``d[...] = ...`` is
    another. Between the two, another process can read the same old value:
    both then write the same number, and one increment is lost.
    """
    d["count"] = d.get("count", 0) + 1


def increment_count_locked(d: Any, lock: Any) -> None:
    """``increment_count`` with the read and the write inside one manager lock.

    ``lock`` must be the *same* ``manager.Lock()`` proxy in every process.
    """
    with lock:
        d["count"] = d.get("count", 0) + 1


def dict_race_rounds(d: Any, barrier: Any, rounds: int, lock: Any = None) -> None:
    """Replay the article's increment ``rounds`` times, in step with the others.

    In round ``r`` every worker waits at ``barrier`` (so all of them start the
    round together, as if the article's program had just been started), then
    adds one to ``d[r]`` with a read and a write, under ``lock`` if given.
    """
    for r in range(rounds):
        barrier.wait(30)
        if lock is None:
            d[r] = d.get(r, 0) + 1
        else:
            with lock:
                d[r] = d.get(r, 0) + 1


@dataclass
class DictRace:
    """What ``run_dict_race`` measured: the final count of every round."""

    processes: int
    counts: list[int]
    locking: str

    @property
    def rounds(self) -> int:
        return len(self.counts)

    @property
    def wrong_rounds(self) -> int:
        """Rounds whose count is not ``processes`` (at least one update lost)."""
        return sum(c != self.processes for c in self.counts)

    @property
    def lost(self) -> int:
        """Increments lost over all rounds."""
        return sum(self.processes - c for c in self.counts)

    def __str__(self) -> str:
        return (
            f"{self.processes} processes, {self.locking}: {self.wrong_rounds} of "
            f"{self.rounds} rounds wrong, {self.lost} of "
            f"{self.processes * self.rounds} increments lost"
        )


def run_dict_race(
    manager: SyncManager,
    processes: int,
    rounds: int = 20,
    locking: str = "no lock",
    timeout: float = 30.0,
) -> DictRace:
    """Run ``processes`` workers of ``dict_race_rounds`` on one manager dict.

    ``locking``: ``"no lock"`` (the article), ``"one shared lock"`` (one
    ``manager.Lock()`` given to every worker: the fix) or ``"a lock each"``
    (every worker gets its own ``manager.Lock()``: protects nothing).
    Starting fresh processes for every repeat would cost 0.1-0.2 s each under
    ``spawn``; instead the same processes replay the increment ``rounds``
    times. The run is bounded by ``timeout`` seconds; on Kernel → Interrupt
    the workers are stopped.
    """
    _check_sync_manager(manager)
    processes = check_int("processes", processes, minimum=2, maximum=32)
    rounds = check_int("rounds", rounds, minimum=1, maximum=1000)
    locking = check_choice("locking", locking, LOCKINGS)
    timeout = check_timeout("timeout", timeout)
    d, barrier, shared = manager.dict(), manager.Barrier(processes), manager.Lock()
    locks = {
        "no lock": [None] * processes,
        "one shared lock": [shared] * processes,
        "a lock each": [manager.Lock() for _ in range(processes)],
    }[locking]
    with capture_stderr() as captured, track():
        workers = start_workers(dict_race_rounds, [(d, barrier, rounds, lk) for lk in locks])
        codes = wait_for(workers, time.monotonic() + timeout, on_failure=barrier.abort)
    if any(code != 0 for code in codes):
        said = captured.last_exception() or "no message"
        raise RuntimeError(f"run_dict_race: a worker failed (exit codes {codes}; {said})")
    final = d.copy()  # one round trip for the whole dict
    return DictRace(processes, [final.get(r, 0) for r in range(rounds)], locking)


def count_in_dict(d: Any, increments: int, start: Any, lock: Any = None) -> None:
    """Lab worker: add one to ``d['count']`` ``increments`` times (a read and a write).

    Waits at ``start`` (a ``Barrier``) first, so every worker counts at the
    same time. With ``lock`` (a ``manager.Lock()`` proxy), each read-and-write
    happens under it.
    """
    start.wait(30)
    for _ in range(increments):
        if lock is None:
            d["count"] = d.get("count", 0) + 1
        else:
            with lock:
                d["count"] = d.get("count", 0) + 1


def count_in_value(v: Any, increments: int, start: Any, use_lock: bool = False) -> None:
    """Lab worker: ``v.value += 1`` ``increments`` times on a shared ``Value``.

    Waits at ``start`` (a ``Barrier``) first. With ``use_lock`` each addition
    happens under ``v.get_lock()``; without it, ``+=`` (a read, then a write)
    loses updates just like the manager dict does.
    """
    start.wait(30)
    for _ in range(increments):
        if use_lock:
            with v.get_lock():
                v.value += 1
        else:
            v.value += 1


# --------------------------------------------------------------------------
# A tour of the proxy types
# --------------------------------------------------------------------------


def tour_types(
    number: int,
    d: Any,
    items: Any,
    ns: Any,
    total: Any,
    lock: Any,
    inbox: Any,
    go_home: Any,
    start: Any,
) -> None:
    """Use each kind of proxy once: a child of the "types" tour.

    Waits at the ``start`` barrier, adds ``number`` to ``total`` (a manager
    ``Value``) under ``lock``, writes to the dict ``d``, the list ``items`` and
    the namespace ``ns``, reports on ``inbox`` (a manager ``Queue``), then
    waits (at most 10 s) for the ``go_home`` event before it returns.
    """
    start.wait(10)
    with lock:
        total.value += number
    d[f"worker {number}"] = number * number
    items.append(number)
    ns.last = number
    inbox.put(f"worker {number}: done")
    go_home.wait(10)


def peek_namespace(ns: Any, names: Iterable[str], ready: Any, report: Connection) -> None:
    """Wait (at most 10 s) for ``ready``, then report what this process sees of ``ns``.

    Sends, through ``report``, a dict with, for each attribute name, the value
    read through the proxy, or the text ``"<missing>"`` when this process's
    proxy has no such attribute.
    """
    ready.wait(10)
    report.send({name: getattr(ns, name, "<missing>") for name in names})
    report.close()


# --------------------------------------------------------------------------
# A proxy after its manager has shut down
# --------------------------------------------------------------------------


def outcome(call: Callable[..., Any], *args: Any) -> str:
    """Call ``call(*args)`` here; return ``"ok"`` or the name of the error it raised."""
    try:
        call(*args)
    except Exception as exc:
        return type(exc).__name__
    return "ok"


def outcome_in_new_thread(call: Callable[..., Any], *args: Any, timeout: float = 10.0) -> str:
    """``outcome(call, *args)`` in a new thread of this process (its own connections)."""
    timeout = check_timeout("timeout", timeout)
    said: list[str] = []
    thread = threading.Thread(target=lambda: said.append(outcome(call, *args)), daemon=True)
    thread.start()
    thread.join(timeout)
    return said[0] if said else f"no answer within {timeout:g} s"


def append_and_report(items: Any, value: Any, report: Connection) -> None:
    """Child worker: ``items.append(value)``, then send ``"ok"`` or the error's name."""
    report.send(outcome(items.append, value))
    report.close()


def outcome_in_new_process(items: Any, value: Any, timeout: float = 10.0) -> str:
    """Run ``append_and_report(items, value, ...)`` in a child and return its report."""
    timeout = check_timeout("timeout", timeout)
    receive, send = mp.Pipe(duplex=False)
    with track():  # stops the child on Kernel → Interrupt
        (child,) = start_workers(append_and_report, [(items, value, send)])
        send.close()  # our copy: recv sees EOF if the child dies without a report
        try:
            said = receive.recv() if receive.poll(timeout) else None
        except EOFError:
            said = None
        finally:
            receive.close()
            stop([child], timeout=timeout)
    return said if said is not None else f"no report (exit code {child.exitcode})"


# --------------------------------------------------------------------------
# Cost: every operation is a round trip
# --------------------------------------------------------------------------


@dataclass
class Costs:
    """Seconds per operation, measured by ``measure_costs``."""

    per_op: dict[str, float] = field(default_factory=dict)

    def microseconds(self) -> dict[str, float]:
        return {name: s * 1e6 for name, s in self.per_op.items()}


#: Parts each quick operation's calls are timed in by ``measure_costs``; the fastest counts.
PARTS = 5


def _seconds_per_call(func: Callable[[int], Any], calls: int, parts: int = 1) -> float:
    """Seconds per call: ``calls`` calls timed in ``parts`` parts, the fastest part counts.

    Another program that takes the CPU can only slow a part down, so the
    fastest part is the closest to the operation's own cost (the advice of
    ``timeit``). ``calls`` is rounded down to a multiple of ``parts``.
    """
    size = max(1, calls // parts)
    best = float("inf")
    for part in range(parts):
        started = time.perf_counter()
        for i in range(part * size, (part + 1) * size):
            func(i)
        best = min(best, time.perf_counter() - started)
    return best / size


def measure_costs(manager: SyncManager, calls: int = 1000) -> Costs:
    """Time one operation on a manager dict against local alternatives.

    Each is run ``calls`` times in this process (a fraction of a second in all):

    - ``plain dict d[k] = v``: no IPC at all;
    - ``locked Value += 1``: shared memory and a semaphore, no server;
    - ``manager d[k] = v``: one round trip;
    - ``manager d[k] = d.get(k) + 1``: two round trips (the article's line);
    - ``manager d.update(batch)``: ``calls`` items in one round trip, per item.

    The quick ones (no round trip per call: half a millisecond for 1,000
    calls) are timed in ``PARTS`` parts and the fastest part counts: one pause
    of a few milliseconds while another program has the CPU would multiply
    their cost.
    """
    _check_sync_manager(manager)
    calls = check_int("calls", calls, minimum=10, maximum=100_000)
    plain: dict[int, int] = {}
    shared = manager.dict()
    value = mp.Value("i", 0)

    def locked_add(_: int) -> None:
        with value.get_lock():
            value.value += 1

    quick: dict[str, Callable[[int], Any]] = {
        "plain dict d[k] = v": lambda i: plain.__setitem__(i % 10, i),
        "locked Value += 1": locked_add,
    }
    round_trips: dict[str, Callable[[int], Any]] = {
        "manager d[k] = v": lambda i: shared.__setitem__(i % 10, i),
        "manager d[k] = d.get(k) + 1": lambda i: shared.__setitem__(
            i % 10, shared.get(i % 10, 0) + 1
        ),
    }
    costs = Costs({name: _seconds_per_call(op, calls, PARTS) for name, op in quick.items()})
    costs.per_op.update({name: _seconds_per_call(op, calls) for name, op in round_trips.items()})
    batch = {i: i for i in range(calls)}
    started = time.perf_counter()
    shared.update(batch)
    costs.per_op["manager d.update(batch), per item"] = (time.perf_counter() - started) / calls
    return costs


# --------------------------------------------------------------------------
# A custom manager
# --------------------------------------------------------------------------


class Tally:
    """A word counter that lives in a manager's server process.

    Served through ``TallyManager``: a process calls ``add_many`` with its own
    local counts, and the whole merge runs in the server in one call (one
    round trip). The server runs each client's calls in its own thread, and a
    method written in Python can be interrupted between two lines, so the
    class guards its state with a ``threading.Lock`` itself.
    """

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, word: str, n: int = 1) -> None:
        """Add ``n`` to the count of ``word``."""
        with self._lock:
            self._counts[word] += n

    def add_many(self, counts: Mapping[str, int]) -> None:
        """Add every ``word: n`` of ``counts`` in one call (one round trip)."""
        with self._lock:
            self._counts.update(counts)

    def most_common(self, k: int = 3) -> list[tuple[str, int]]:
        """The ``k`` most frequent words with their counts."""
        with self._lock:
            return self._counts.most_common(k)

    def total(self) -> int:
        """The number of words counted so far."""
        with self._lock:
            return sum(self._counts.values())

    def _reset(self) -> None:
        """Forget every count (private: an AutoProxy does not expose it)."""
        with self._lock:
            self._counts.clear()


class TallyManager(BaseManager):
    """A manager for the notebook to ``register`` its own types on.

    It lives here, not in a cell, because ``start()`` sends the class to the
    server process by reference: under ``spawn`` a class defined in a cell
    cannot be found there.
    """


def tally_words(tally: Any, text: str) -> None:
    """Count the words of ``text`` locally, then send them in one ``add_many`` call."""
    tally.add_many(Counter(text.lower().split()))


# --------------------------------------------------------------------------
# A manager reachable over TCP: a task board with an authkey
# --------------------------------------------------------------------------


class TaskBoard:
    """A to-do list shared over a manager: clients take tasks and post results."""

    def __init__(self) -> None:
        self._todo: list[str] = []
        self._done: dict[str, int] = {}
        self._lock = threading.Lock()  # the server runs each client in a thread

    def post(self, task: str) -> None:
        """Add ``task`` (a line of text) to the to-do list."""
        with self._lock:
            self._todo.append(task)

    def take(self) -> str | None:
        """Remove and return the oldest task, or ``None`` when there is none."""
        with self._lock:
            return self._todo.pop(0) if self._todo else None

    def finish(self, task: str, result: int) -> None:
        """Record ``result`` for ``task``."""
        with self._lock:
            self._done[task] = result

    def results(self) -> dict[str, int]:
        """A copy of every result so far, ``{task: result}``."""
        with self._lock:
            return dict(self._done)

    def clear(self) -> None:
        """Forget every task and result: start again with an empty board."""
        with self._lock:
            self._todo.clear()
            self._done.clear()


_board: TaskBoard | None = None


def get_board() -> TaskBoard:
    """The server's one ``TaskBoard`` (made on the first call, in the server)."""
    global _board
    if _board is None:
        _board = TaskBoard()
    return _board


class BoardManager(BaseManager):
    """A manager that serves one ``TaskBoard`` under the name ``get_board``.

    The server calls ``get_board()`` to make the object; a client that
    ``connect()``s with the same ``authkey`` calls ``get_board()`` to get a
    proxy to it.
    """


BoardManager.register("get_board", callable=get_board)


def check_authkey(authkey: Any) -> bytes:
    """Return ``authkey`` if it is a non-empty ``bytes`` key, else raise.

    A ``str`` is refused with an explanation: ``multiprocessing`` itself
    fails later with the puzzling ``TypeError: string argument without an
    encoding``.
    """
    if isinstance(authkey, str):
        raise TypeError(
            "authkey must be bytes, not str: write b'...' (for example "
            "b'course-demo-key'), or make a random key with os.urandom(32)"
        )
    check_type("authkey", authkey, bytes)
    if not authkey:
        raise ValueError("authkey must not be empty")
    return authkey


def check_address(host: Any, port: Any) -> tuple[str, int]:
    """Return ``(host, port)`` if ``host`` is loopback and ``port`` is valid.

    ``port`` 0 lets the operating system pick a free port (read it back from
    ``manager.address``). Any other host is refused: a manager's server
    unpickles what its clients send, so it must not listen on a network
    you do not trust.
    """
    check_type("host", host, str)
    if host not in LOOPBACK_HOSTS:
        allowed = ", ".join(repr(h) for h in LOOPBACK_HOSTS)
        raise ValueError(
            f"host must be a loopback address ({allowed}), got {host!r}: a manager "
            "server unpickles what clients send, so this course never exposes one "
            "to a network"
        )
    port = check_int("port", port, minimum=0, maximum=65535)
    return host, port


def start_board_server(authkey: bytes, port: int = 0, host: str = "127.0.0.1") -> BoardManager:
    """Start a ``BoardManager`` server on ``host:port`` and return the manager.

    ``authkey`` must be ``bytes``; ``host`` must be a loopback address;
    ``port=0`` lets the OS pick a free port. The server is a child process:
    call ``shutdown()`` on the returned manager (or use it in a ``with``
    block) when you are done.
    """
    authkey = check_authkey(authkey)
    address = check_address(host, port)
    server = BoardManager(address=address, authkey=authkey)
    server.start()
    return server


def board_client(address: tuple[str, int], authkey: bytes, report: Connection) -> None:
    """A client process: take every task from the board and post its result.

    Connects to the ``BoardManager`` at ``address`` with ``authkey``; the
    result of a task is its number of words. Sends its outcome through
    ``report`` (the send end of a ``Pipe``): ``("done", n)`` with the number
    of tasks done, or ``("error", "SomeError: message")``, and then exits
    with code 0 or 1.
    """
    try:
        client = BoardManager(address=tuple(address), authkey=authkey)
        client.connect()
        board = client.get_board()
        done = 0
        while (task := board.take()) is not None:
            board.finish(task, len(task.split()))
            done += 1
        outcome: tuple[str, Any] = ("done", done)
    except Exception as exc:
        outcome = ("error", f"{type(exc).__name__}: {exc}")
    report.send(outcome)
    report.close()
    if outcome[0] == "error":
        sys.exit(1)  # the exit code tells the truth too


def run_board_client(
    address: tuple[str, int], authkey: bytes, timeout: float = 10.0
) -> tuple[str, Any]:
    """Run ``board_client`` in a child process and return what it reported.

    The child is joined (or stopped) within ``timeout`` seconds; if it
    reported nothing by then, the result is ``("error", "no report ...")``.
    """
    check_type("address", address, tuple)
    check_address(*address)
    authkey = check_authkey(authkey)
    timeout = check_timeout("timeout", timeout)
    receive, send = mp.Pipe(duplex=False)
    deadline = time.monotonic() + timeout
    with track():  # stops the client on Kernel → Interrupt
        (client,) = start_workers(board_client, [(address, authkey, send)])
        send.close()  # our copy: recv sees EOF if the child dies without a report
        try:
            while not receive.poll(0.1):  # short slices: Interrupt gets through at once
                if time.monotonic() > deadline:
                    return ("error", f"no report within {timeout:g} s")
            return receive.recv()
        except EOFError:
            return ("error", "the client ended without a report")
        finally:
            receive.close()
            stop([client], timeout=max(2.0, deadline - time.monotonic()))
