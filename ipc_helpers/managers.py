"""Workers and small runners for notebook 04 (managers).

A manager is a server process that owns ordinary Python objects (a dict, a
list, a queue...). Other processes hold *proxies*: every method call on a proxy
is pickled, sent to the server, run there, and its result (or its exception)
is pickled back. This module holds what the notebook's children run:

- the source article's counter worker (``add_one``) and its locked fix;
- ``race_rounds``/``run_race``: the article's increment replayed many times to
  count how often it loses updates;
- ``tour_types``: one child that uses each proxy type once;
- ``measure_costs``: what one round trip to the server costs;
- ``Tally``/``TallyManager``: a class served by a custom manager;
- ``TaskBoard``/``BoardManager``/``start_board_server``/``board_client``: a
  manager reachable over TCP on the loopback interface, with an ``authkey``.

Only the standard library is imported here: every ``spawn`` child imports
this module, and it should start fast.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.managers import BaseManager, State, SyncManager
from typing import Any

from .cleanup import stop
from .validation import check_int, check_timeout, check_type

#: Host names the course's servers may bind to: the loopback interface only.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


# --------------------------------------------------------------------------
# The article's counter, and the race it hides
# --------------------------------------------------------------------------


def add_one(d: Any) -> None:
    """The source article's worker: add one to ``d['count']``.

    ``d.get(...)`` is one round trip to the manager and ``d[...] = ...`` is
    another. Between the two, another process can read the same old value:
    both then write the same number, and one increment is lost.
    """
    d["count"] = d.get("count", 0) + 1


def add_one_locked(d: Any, lock: Any, timeout: float = 10.0) -> None:
    """``add_one`` with the read and the write inside one manager lock.

    ``lock`` is a ``manager.Lock()`` proxy shared by every worker. The wait for
    it is bounded by ``timeout`` seconds.
    """
    if not lock.acquire(timeout=timeout):
        raise TimeoutError(f"add_one_locked: no lock within {timeout} s")
    try:
        d["count"] = d.get("count", 0) + 1
    finally:
        lock.release()


def race_rounds(d: Any, barrier: Any, rounds: int, lock: Any = None, timeout: float = 30.0) -> None:
    """Replay the article's increment ``rounds`` times, in step with the others.

    In round ``r`` every worker waits at ``barrier`` (so all of them start the
    round together, as if the article's program had just been started), then
    adds one to ``d[r]`` with a read and a write. With a ``lock`` (a
    ``manager.Lock()`` proxy) the read and the write happen under it.
    """
    for r in range(rounds):
        barrier.wait(timeout)
        if lock is None:
            d[r] = d.get(r, 0) + 1
        else:
            if not lock.acquire(timeout=timeout):
                raise TimeoutError(f"race_rounds: no lock within {timeout} s")
            try:
                d[r] = d.get(r, 0) + 1
            finally:
                lock.release()


@dataclass
class RaceResult:
    """What ``run_race`` measured: the final count of every round."""

    processes: int
    counts: list[int]
    use_lock: bool

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
        lock = "with" if self.use_lock else "without"
        return (
            f"{self.processes} processes, {lock} a lock: {self.wrong_rounds} of "
            f"{self.rounds} rounds wrong, {self.lost} of "
            f"{self.processes * self.rounds} increments lost"
        )


def _check_sync_manager(manager: Any) -> SyncManager:
    check_type("manager", manager, SyncManager)
    if manager._state.value != State.STARTED:
        raise ValueError("manager must be running: use it inside its `with` block")
    return manager


def run_race(
    manager: SyncManager,
    processes: int,
    rounds: int = 20,
    use_lock: bool = False,
    timeout: float = 30.0,
) -> RaceResult:
    """Run ``processes`` workers of ``race_rounds`` on one manager dict.

    Starting fresh processes for every repeat would cost 0.1-0.2 s each under
    ``spawn``; instead the same processes replay the article's increment
    ``rounds`` times, all starting each round together. Every process is
    joined (or stopped) within ``timeout`` seconds.
    """
    _check_sync_manager(manager)
    processes = check_int("processes", processes, minimum=2, maximum=32)
    rounds = check_int("rounds", rounds, minimum=1, maximum=1000)
    check_type("use_lock", use_lock, bool)
    timeout = check_timeout("timeout", timeout)
    d = manager.dict()
    barrier = manager.Barrier(processes)
    lock = manager.Lock() if use_lock else None
    workers = [
        mp.Process(target=race_rounds, args=(d, barrier, rounds, lock, timeout))
        for _ in range(processes)
    ]
    for w in workers:
        w.start()
    codes = stop(workers, timeout=timeout)
    if any(code != 0 for code in codes):
        raise RuntimeError(f"run_race: a worker failed (exit codes {codes})")
    final = d.copy()  # one round trip for the whole dict
    return RaceResult(processes, [final.get(r, 0) for r in range(rounds)], use_lock)


def count_in_dict(
    d: Any, increments: int, start: Any, lock: Any = None, timeout: float = 30.0
) -> None:
    """Lab worker: add one to ``d['count']`` ``increments`` times (a read and a write).

    Waits at ``start`` (a ``Barrier``) first, so every worker counts at the
    same time. With ``lock`` (a ``manager.Lock()`` proxy), each read-and-write
    happens under it.
    """
    start.wait(timeout)
    for _ in range(increments):
        if lock is None:
            d["count"] = d.get("count", 0) + 1
            continue
        if not lock.acquire(timeout=timeout):
            raise TimeoutError(f"count_in_dict: no lock within {timeout} s")
        try:
            d["count"] = d.get("count", 0) + 1
        finally:
            lock.release()


def count_in_value(
    v: Any, increments: int, start: Any, use_lock: bool = False, timeout: float = 30.0
) -> None:
    """Lab worker: ``v.value += 1`` ``increments`` times on a shared ``Value``.

    Waits at ``start`` (a ``Barrier``) first. With ``use_lock`` each addition
    happens under ``v.get_lock()``; without it, ``+=`` (a read, then a write)
    loses updates just like the manager dict does.
    """
    start.wait(timeout)
    for _ in range(increments):
        if not use_lock:
            v.value += 1
            continue
        lock = v.get_lock()
        if not lock.acquire(timeout=timeout):
            raise TimeoutError(f"count_in_value: no lock within {timeout} s")
        try:
            v.value += 1
        finally:
            lock.release()


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
    timeout: float = 10.0,
) -> None:
    """Use each kind of proxy once: a child of the "types" tour.

    Waits at the ``start`` barrier, adds ``number`` to ``total`` (a manager
    ``Value``) under ``lock``, writes to the dict ``d``, the list ``items`` and
    the namespace ``ns``, reports on ``inbox`` (a manager ``Queue``), then
    waits for the ``go_home`` event before it returns.
    """
    start.wait(timeout)
    if not lock.acquire(timeout=timeout):
        raise TimeoutError(f"tour_types: no lock within {timeout} s")
    try:
        total.value += number
    finally:
        lock.release()
    d[f"worker {number}"] = number * number
    items.append(number)
    ns.last = number
    inbox.put(f"worker {number}: done")
    if not go_home.wait(timeout):
        raise TimeoutError(f"tour_types: no go_home event within {timeout} s")


def peek_namespace(
    ns: Any, names: Iterable[str], ready: Any, report: Connection, timeout: float = 10.0
) -> None:
    """Wait for the ``ready`` event, then report what this process sees of ``ns``.

    Sends, through ``report``, a dict with, for each attribute name, the value
    read through the proxy, or the text ``"<missing>"`` when this process's
    proxy has no such attribute.
    """
    if not ready.wait(timeout):
        raise TimeoutError(f"peek_namespace: no ready event within {timeout} s")
    seen = {}
    for name in names:
        try:
            seen[name] = getattr(ns, name)
        except AttributeError:
            seen[name] = "<missing>"
    report.send(seen)
    report.close()


# --------------------------------------------------------------------------
# Cost: every operation is a round trip
# --------------------------------------------------------------------------


@dataclass
class Costs:
    """Seconds per operation, measured by ``measure_costs``."""

    per_op: dict[str, float] = field(default_factory=dict)

    def microseconds(self) -> dict[str, float]:
        return {name: s * 1e6 for name, s in self.per_op.items()}


def _seconds_per_call(func: Any, calls: int) -> float:
    started = time.perf_counter()
    for i in range(calls):
        func(i)
    return (time.perf_counter() - started) / calls


def measure_costs(manager: SyncManager, calls: int = 1000) -> Costs:
    """Time one operation on a manager dict against local alternatives.

    Measured in this process, ``calls`` times each (about 0.1 ms per call to
    the manager, so the default takes a fraction of a second):

    - ``plain dict d[k] = v``: no IPC at all;
    - ``locked Value += 1``: shared memory and a semaphore, no server;
    - ``manager d[k] = v``: one round trip;
    - ``manager d[k] = d.get(k) + 1``: two round trips (the article's line);
    - ``manager d.update(batch)``: ``calls`` items in one round trip, reported
      per item.
    """
    _check_sync_manager(manager)
    calls = check_int("calls", calls, minimum=10, maximum=100_000)
    plain: dict[int, int] = {}
    shared = manager.dict()
    value = mp.Value("i", 0)

    def plain_set(i: int) -> None:
        plain[i % 10] = i

    def locked_add(_: int) -> None:
        with value.get_lock():
            value.value += 1

    def proxy_set(i: int) -> None:
        shared[i % 10] = i

    def proxy_add(i: int) -> None:
        shared[i % 10] = shared.get(i % 10, 0) + 1

    costs = Costs()
    costs.per_op["plain dict d[k] = v"] = _seconds_per_call(plain_set, calls)
    costs.per_op["locked Value += 1"] = _seconds_per_call(locked_add, calls)
    costs.per_op["manager d[k] = v"] = _seconds_per_call(proxy_set, calls)
    costs.per_op["manager d[k] = d.get(k) + 1"] = _seconds_per_call(proxy_add, calls)
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


def board_client(
    address: tuple[str, int],
    authkey: bytes,
    report: Connection | None = None,
) -> None:
    """A client process: take every task from the board and post its result.

    Connects to the ``BoardManager`` at ``address`` with ``authkey``; the
    result of a task is its number of words. When ``report`` (the send end of
    a ``Pipe``) is given, the outcome is sent through it: ``("done", n)`` with
    the number of tasks done, or ``("error", "SomeError: message")``.
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
        if report is None:
            raise
        outcome = ("error", f"{type(exc).__name__}: {exc}")
    if report is not None:
        report.send(outcome)
        report.close()


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
    client = mp.Process(target=board_client, args=(address, authkey, send))
    client.start()
    send.close()  # our copy: recv sees EOF if the child dies without a report
    try:
        if receive.poll(timeout):
            return receive.recv()
        return ("error", f"no report within {timeout:g} s")
    except EOFError:
        return ("error", "the client ended without a report")
    finally:
        receive.close()
        stop([client], timeout=timeout)
