"""The honesty check: every figure notebook 05 teaches from, measured again another way.

The benchmark times rounds from the parent, through one long-lived server
child and a command protocol. The check shares none of that: for each
figure it starts **fresh processes** (a sender and a receiver, or a pinger
and an echoer) on fresh channels, lets the *receiving* process time itself,
and times ``RUNS`` runs (the middle value counts), each as much work as one
round of the benchmark. Both sides use the same placement (pinned to one
CPU, or free) and the same warm memory allocator. ``ratio`` is the larger
value over the smaller: 1.0 is perfect agreement; ``TARGET`` is the most the
course accepts.

On a shared machine the load changes from second to second, and the check
runs after the benchmark. So a figure that disagrees is measured again in
**pairs**, one right after the other: the benchmark's own method
(``again``), then the independent one, up to ``RETRIES`` times. From then
on each side counts its fastest round over those pairs: other programs only
ever slow a measurement down, so the fastest is the least disturbed, and
both sides time pieces of the same length. (On this course's 2-core virtual
test machine, the CPU itself ran twice as slow for a second or more at a
time, with nothing else running: only measurements taken side by side
can be compared.) A method that is wrong stays
wrong in every pair, and the check still fails.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing import managers, shared_memory
from multiprocessing.connection import wait
from typing import Any

from ..cleanup import stop, track
from ..validation import check_int, check_timeout
from .again import MeasureAgain
from .catalogue import MB, MODES, START_METHODS, KiB, MiB
from .measure import START_GAP, messages_per_round
from .placement import (
    children_deaf_to_interrupts,
    chosen_cpu,
    ignore_interrupts,
    minor_faults,
    pin_me,
    warm_allocator,
)
from .results import Measurement, Result
from .server import SMALL, read_exactly, write_all
from .workers import noop, recv_chunks_into, send_chunks

#: The largest disagreement the course accepts between a figure and its check.
TARGET = 1.5


@dataclass
class Agreement:
    """One figure of the benchmark beside the same figure measured independently."""

    name: str
    unit: str
    benchmark: float
    independent: float
    benchmark_faults_per_mib: float | None = None
    independent_faults_per_mib: float | None = None
    #: How many times both sides were measured (more than 1: the first disagreed).
    tries: int = 1

    @property
    def ratio(self) -> float:
        """The larger value over the smaller (1.0: perfect agreement)."""
        return max(self.benchmark, self.independent) / min(self.benchmark, self.independent)


def worst(rows: Sequence[Agreement]) -> float:
    """The largest ratio among ``rows`` (1.0 for none)."""
    return max((row.ratio for row in rows), default=1.0)


# --- children: each pins itself first, so every thread it starts is pinned -----

#: Timed runs per figure (as many as the benchmark's quick rounds); the middle one counts.
RUNS = 5


def _child_setup(cpu: int | None, timeout: float) -> None:
    ignore_interrupts()
    pin_me(cpu)
    warm_allocator()
    if hasattr(signal, "alarm"):  # a child that outlives its time ends itself
        signal.alarm(int(timeout) + 1)


def _send_stream(
    chan: Any, go: Any, how: str, size: int, count: int, cpu: int | None, timeout: float
) -> None:
    """Send ``1 + RUNS`` runs of ``count`` messages (or small items), each after a go."""
    _child_setup(cpu, timeout)
    data = b"\x01" * size
    if how == "raw":
        fd, view = chan.fileno(), memoryview(data)
        send = lambda: write_all(fd, view)  # noqa: E731
    elif how == "chunks":
        send = lambda: send_chunks(chan, data)  # noqa: E731
    elif how == "bytes":
        send = lambda: chan.send_bytes(data)  # noqa: E731
    else:  # "put", "items", "batches"
        send = lambda: chan.put(data)  # noqa: E731
    for _ in range(1 + RUNS):
        go.recv_bytes()  # the receiver's clock has started
        if how == "items":
            for i in range(count):
                chan.put((i, i * 0.5))
            chan.put(None)
        elif how == "batches":
            for start in range(0, count, 100):
                chan.put([(i, i * 0.5) for i in range(start, min(start + 100, count))])
            chan.put(None)
        else:
            for _ in range(count):
                send()


def _receive_stream(
    chan: Any,
    go: Any,
    how: str,
    size: int,
    count: int,
    report: Any,
    cpu: int | None,
    timeout: float,
) -> None:
    """Start the sender's runs and time each: report ``(seconds, page faults, units)`` per run.

    The first run is a warm-up and is not reported.
    """
    _child_setup(cpu, timeout)
    buf = memoryview(bytearray(max(size, 1)))
    if how == "raw":
        fd = chan.fileno()
        receive = lambda: read_exactly(fd, buf)  # noqa: E731
    elif how == "chunks":
        receive = lambda: recv_chunks_into(chan, buf, size)  # noqa: E731
    elif how == "bytes":
        receive = chan.recv_bytes
    else:
        receive = chan.get
    runs = []
    for _ in range(1 + RUNS):
        faults, start = minor_faults(), time.perf_counter()
        go.send_bytes(b"g")
        if how in ("items", "batches"):  # until the None sentinel
            got = 0
            while (message := chan.get()) is not None:
                got += len(message) if how == "batches" else 1
        else:
            for _ in range(count):
                receive()
            got = count
        runs.append((time.perf_counter() - start, minor_faults() - faults, got))
    report.send(runs[1:])


def _shm_writer(
    name: str, signals: Any, size: int, count: int, cpu: int | None, timeout: float
) -> None:
    """One-slot transfers: copy an array in, signal "in", wait for "taken"; runs after a go."""
    import numpy as np

    _child_setup(cpu, timeout)
    shm = shared_memory.SharedMemory(name=name)
    shared = np.ndarray((size,), dtype=np.uint8, buffer=shm.buf)
    mine = np.ones(size, dtype=np.uint8)
    for _ in range(1 + RUNS):
        signals.recv_bytes()  # go
        for _ in range(count):
            np.copyto(shared, mine)
            signals.send_bytes(b"i")
            signals.recv_bytes()
    del shared
    shm.close()


def _shm_reader(
    name: str, signals: Any, size: int, count: int, report: Any, cpu: int | None, timeout: float
) -> None:
    """Copy the array out after each "in"; report ``(seconds, 0, transfers)`` per timed run."""
    import numpy as np

    _child_setup(cpu, timeout)
    shm = shared_memory.SharedMemory(name=name)
    shared = np.ndarray((size,), dtype=np.uint8, buffer=shm.buf)
    mine = np.zeros(size, dtype=np.uint8)
    runs = []
    for _ in range(1 + RUNS):  # the first run is a warm-up
        start = time.perf_counter()
        signals.send_bytes(b"g")
        for _ in range(count):
            signals.recv_bytes()
            np.copyto(mine, shared)
            signals.send_bytes(b"t")
        runs.append((time.perf_counter() - start, 0, count))
    report.send(runs[1:])
    del shared
    shm.close()


def _echo(chans: Any, how: str, count: int, cpu: int | None, timeout: float) -> None:
    """Answer every small message of ``_ping`` (the echo side of a round trip)."""
    _child_setup(cpu, timeout)
    inbox, outbox = chans
    total = 50 + RUNS * count
    if how == "raw":
        rfd, wfd, one = inbox.fileno(), outbox.fileno(), memoryview(bytearray(1))
        for _ in range(total):
            read_exactly(rfd, one)
            write_all(wfd, one)
    elif how == "bytes":
        for _ in range(total):
            outbox.send_bytes(inbox.recv_bytes())
    elif how == "pickle":
        for _ in range(total):
            outbox.send(inbox.recv())
    else:  # queues
        for _ in range(total):
            outbox.put(inbox.get())


def _ping(chans: Any, how: str, count: int, report: Any, cpu: int | None, timeout: float) -> None:
    """Make 50 untimed round trips, then ``RUNS`` x ``count``; report µs per round trip per run."""
    _child_setup(cpu, timeout)
    outbox, inbox = chans
    if how == "raw":
        wfd, rfd, one = outbox.fileno(), inbox.fileno(), memoryview(bytearray(1))

        def trip() -> None:
            write_all(wfd, one)
            read_exactly(rfd, one)
    elif how == "bytes":

        def trip() -> None:
            outbox.send_bytes(SMALL)
            inbox.recv_bytes()
    elif how == "pickle":

        def trip() -> None:
            outbox.send(SMALL)
            inbox.recv()
    elif how == "dict":

        def trip() -> None:
            outbox["key"] = 1
    else:

        def trip() -> None:
            outbox.put(SMALL)
            inbox.get()

    for _ in range(50):
        trip()
    runs = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for _ in range(count):
            trip()
        runs.append((time.perf_counter() - start) / count * 1e6)
    report.send(runs)


def _value_ops(count: int, report: Any, cpu: int | None, timeout: float) -> None:
    """Time ``with v.get_lock(): v.value += 1`` in a fresh process; µs per operation per run."""
    _child_setup(cpu, timeout)
    v = mp.Value("i", 0)
    runs = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for _ in range(count):
            with v.get_lock():
                v.value += 1
        runs.append((time.perf_counter() - start) / count * 1e6)
    report.send(runs)


def _manager_setup(cpu: int | None) -> None:
    ignore_interrupts()
    pin_me(cpu)


# --- the parent's side ----------------------------------------------------------


class _Run:
    """Start children, wait (bounded) for one report, and always clean up."""

    def __init__(self, timeout: float):
        self.ctx = mp.get_context()
        self.timeout = timeout
        self.children: list[mp.process.BaseProcess] = []
        self.close_after_start: list[Any] = []
        self.cleanup: list[Callable[[], Any]] = []
        self.report, self._report_w = self.ctx.Pipe(duplex=False)

    def start(self, target: Callable[..., None], *args: Any, report: bool = False) -> None:
        """Start ``target(*args)``; ``report=True`` inserts the report pipe before cpu, timeout."""
        extra = (self._report_w,) if report else ()
        p = self.ctx.Process(target=target, args=(*args[:-2], *extra, *args[-2:]), daemon=True)
        self.children.append(p)
        with children_deaf_to_interrupts():
            p.start()

    def result(self) -> Any:
        """The report of the timing child; an error if a child fails or time runs out."""
        for end in self.close_after_start:  # a dead child means EOF for the other one
            end.close()
        deadline = time.monotonic() + self.timeout
        while not self.report.poll(0):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the independent measurement took more than {self.timeout:g} s")
            wait([self.report, *(p.sentinel for p in self.children)], min(left, 0.1))
            failed = [p for p in self.children if p.exitcode not in (None, 0)]
            if failed and not self.report.poll(0):
                raise RuntimeError(f"an independent measurement child failed: {failed[0].name}")
        return self.report.recv()

    def __enter__(self) -> _Run:
        return self

    def __exit__(self, *exc: Any) -> None:
        stop(self.children, timeout=1.0)
        for end in (*self.close_after_start, self.report, self._report_w):
            end.close()
        for action in self.cleanup:
            action()


def _queue_ends(q: Any) -> list[Any]:
    return [q._reader, q._writer]


def stream(
    how: str, size: int, count: int, cpu: int | None, timeout: float
) -> list[tuple[float, float | None]]:
    """Throughput between two fresh processes, per run: (MB/s or items/s, faults per MiB).

    ``how``: ``"pipe_bytes"``, ``"pipe_chunks"``, ``"queue"``, ``"simplequeue"``,
    ``"raw_pipe"``, ``"raw_socketpair"``, ``"shared_memory"``, ``"items"``, ``"batches"``.
    """
    with _Run(timeout) as run:
        ctx = run.ctx
        if how == "shared_memory":
            shm = shared_memory.SharedMemory(create=True, size=size)
            run.cleanup += [shm.close, shm.unlink]
            a, b = ctx.Pipe()
            run.close_after_start += [a, b]
            run.start(_shm_writer, shm.name, a, size, count, cpu, timeout)
            run.start(_shm_reader, shm.name, b, size, count, cpu, timeout, report=True)
        else:
            if how in ("queue", "items", "batches", "simplequeue"):
                q = ctx.SimpleQueue() if how == "simplequeue" else ctx.Queue()
                send_end = recv_end = q
                run.close_after_start += _queue_ends(q)
            elif how == "raw_pipe":
                recv_end, send_end = ctx.Pipe(duplex=False)
                run.close_after_start += [recv_end, send_end]
            else:  # a socket pair: Pipe(), or raw writes on its file descriptors
                send_end, recv_end = ctx.Pipe()
                run.close_after_start += [send_end, recv_end]
            kind = {
                "pipe_bytes": "bytes",
                "pipe_chunks": "chunks",
                "raw_pipe": "raw",
                "raw_socketpair": "raw",
            }
            mode = kind.get(how, how if how in ("items", "batches") else "put")
            go_r, go_w = ctx.Pipe(duplex=False)
            run.close_after_start += [go_r, go_w]
            run.start(_receive_stream, recv_end, go_w, mode, size, count, cpu, timeout, report=True)
            run.start(_send_stream, send_end, go_r, mode, size, count, cpu, timeout)
        runs = run.result()
    values = []
    for seconds, faults, units in runs:
        if how in ("items", "batches"):
            values.append((units / seconds, None))
        else:
            mib = units * size / MiB
            values.append((units * size / seconds / MB, faults / mib if faults >= 0 else None))
    return values


def round_trip(how: str, count: int, cpu: int | None, timeout: float) -> list[float]:
    """µs per small round trip between two fresh processes (or a process and a manager), per run."""
    with _Run(timeout) as run:
        ctx = run.ctx
        if how in ("manager_dict", "manager_queue"):
            manager = managers.SyncManager(ctx=ctx)
            with children_deaf_to_interrupts():
                manager.start(_manager_setup, (cpu,))
            run.cleanup.append(manager.shutdown)
            if how == "manager_dict":
                shared = manager.dict()  # referenced here until the end, or the manager frees it
                run.start(_ping, (shared, None), "dict", count, cpu, timeout, report=True)
                return run.result()
            there, back = manager.Queue(), manager.Queue()
            mode = "queue"
        elif how in ("queue", "simplequeue"):
            make = ctx.SimpleQueue if how == "simplequeue" else ctx.Queue
            there, back = make(), make()
            run.close_after_start += [*_queue_ends(there), *_queue_ends(back)]
            mode = "queue"
        elif how == "raw_pipe_rt":
            (r1, w1), (r2, w2) = ctx.Pipe(duplex=False), ctx.Pipe(duplex=False)
            run.close_after_start += [r1, w1, r2, w2]
            run.start(_echo, (r1, w2), "raw", count, cpu, timeout)
            run.start(_ping, (w1, r2), "raw", count, cpu, timeout, report=True)
            return run.result()
        else:  # pipe_bytes, pipe_pickle
            a, b = ctx.Pipe()
            run.close_after_start += [a, b]
            mode = "bytes" if how == "pipe_bytes" else "pickle"
            run.start(_echo, (b, b), mode, count, cpu, timeout)
            run.start(_ping, (a, a), mode, count, cpu, timeout, report=True)
            return run.result()
        run.start(_echo, (there, back), mode, count, cpu, timeout)
        run.start(_ping, (there, back), mode, count, cpu, timeout, report=True)
        return run.result()


def value_ops(count: int, cpu: int | None, timeout: float) -> list[float]:
    """µs per locked ``v.value += 1`` in a fresh process, per run."""
    with _Run(timeout) as run:
        run.start(_value_ops, count, cpu, timeout, report=True)
        return run.result()


def start_cost(method: str, count: int, timeout: float) -> list[float]:
    """ms to start and join a do-nothing child, timed in a plain loop: one value per start."""
    ctx = mp.get_context(method)
    times = []
    for i in range(count + 1):  # the first start is a warm-up
        p = ctx.Process(target=noop)
        with children_deaf_to_interrupts():
            start = time.perf_counter()
            p.start()
        p.join(timeout)
        if i:
            times.append((time.perf_counter() - start) * 1e3)
        stop([p], timeout=1.0)
        time.sleep(START_GAP)
    return times


# --- which figures, and how ------------------------------------------------------

#: (mechanism, payload) of the throughput rows the notebook teaches from.
STREAMS = [
    ("raw_pipe", 64 * KiB),
    ("raw_socketpair", 64 * KiB),
    ("pipe_bytes", 4 * KiB),
    ("pipe_bytes", 64 * KiB),
    ("pipe_bytes", 1 * MiB),
    ("pipe_bytes", 16 * MiB),
    ("pipe_chunks", 1 * MiB),
    ("queue", 4 * KiB),
    ("queue", 64 * KiB),
    ("queue", 1 * MiB),
    ("queue", 16 * MiB),
    ("simplequeue", 4 * KiB),
    ("simplequeue", 64 * KiB),
    ("shared_memory", 64 * KiB),
    ("shared_memory", 1 * MiB),
    ("shared_memory", 16 * MiB),
]
ROUND_TRIPS = [
    "raw_pipe_rt",
    "pipe_bytes",
    "pipe_pickle",
    "simplequeue",
    "queue",
    "manager_dict",
    "manager_queue",
]


def _has(result: Result, mechanism: str, operation: str) -> bool:
    return any((m.mechanism, m.operation) == (mechanism, operation) for m in result.measurements)


def _plan(result: Result, timeout: float) -> list[tuple[Measurement, Callable[[], Any]]]:
    """Each figure of ``result`` the check covers, with a function that measures it again.

    Each measurement pins its processes to the idlest CPU at the moment it starts
    (when ``result`` was pinned). A timed run does as much work as one round
    of the benchmark in ``result``'s mode: on a busy machine, a short piece of
    work is less often interrupted than a long one, so both sides time pieces
    of the same length.
    """
    mode = MODES[result.mode]
    plan = []

    def add(mechanism: str, operation: str, payload: int, measure: Callable[..., Any]) -> None:
        with contextlib.suppress(KeyError):  # not measured in this run
            found = result.find(mechanism, operation, payload)
            plan.append((found, lambda: measure(chosen_cpu(result.placement))))

    for how, size in sorted(STREAMS, key=lambda row: row[1]):  # the benchmark's order
        n = messages_per_round(size, mode)
        add(
            how,
            "throughput",
            size,
            lambda cpu, how=how, size=size, n=n: stream(how, size, n, cpu, timeout),
        )
    for how in ROUND_TRIPS:
        n = mode.round_trips // 3 if how.startswith("manager") else mode.round_trips
        add(how, "round trip", 0, lambda cpu, how=how, n=n: round_trip(how, n, cpu, timeout))
    items = mode.small_items
    add("queue_single", "items/s", 0, lambda cpu: stream("items", 0, items, cpu, timeout))
    add("queue_batched", "items/s", 0, lambda cpu: stream("batches", 0, items * 10, cpu, timeout))
    add(
        "value_lock",
        "operation",
        0,
        lambda cpu: value_ops(mode.value_ops, None, timeout),  # unpinned, as measured
    )
    starts = result.find("fork", "start").rounds if _has(result, "fork", "start") else 5
    for method in START_METHODS:
        add(method, "start", 0, lambda cpu, method=method: start_cost(method, starts, timeout))
    for m in result.select("large transfer"):
        if m.mechanism == "shared_memory":
            add(
                m.mechanism,
                m.operation,
                m.payload,
                lambda cpu, size=m.payload: stream("shared_memory", size, 4, cpu, timeout),
            )
    return plan


def _middle(runs: Sequence[Any]) -> tuple[float, float | None]:
    """The median run (value, page faults per MiB or ``None``)."""
    pairs = sorted((r if isinstance(r, tuple) else (r, None) for r in runs), key=lambda r: r[0])
    return pairs[len(pairs) // 2]


#: Pairs (benchmark again, then independent again) for a figure that disagrees.
RETRIES = 5


def _is_time(unit: str) -> bool:
    """Whether lower is better (a time), not higher (a rate)."""
    return unit in ("µs", "ms")


def _best_round(m: Measurement) -> float:
    """The fastest round of ``m``: its lowest time, or its highest rate."""
    return m.min if _is_time(m.unit) else m.max


def _best_run(runs: Sequence[Any], unit: str) -> tuple[float, float | None]:
    """The fastest run (value, page faults per MiB or ``None``)."""
    pairs = sorted((r if isinstance(r, tuple) else (r, None) for r in runs), key=lambda r: r[0])
    return pairs[0] if _is_time(unit) else pairs[-1]


def _agree(
    m: Measurement, measure: Callable[[], Any], again: MeasureAgain, retries: int
) -> Agreement:
    """``m`` beside its independent measurement; measured again in pairs while they disagree.

    First the benchmark's median beside the middle independent run. While
    they disagree, both are measured again, one right after the other, and
    from then on the row compares each side's fastest round over those
    pairs only. The first two measurements are left out then: they were not
    taken side by side (the benchmark's long before), and the speed of a
    shared or virtual CPU changes from second to second (twice as slow for
    a second or more, here), so one lucky round of the benchmark could
    decide the row on its own.
    """
    value, faults = _middle(measure())
    row = Agreement(m.name, m.unit, m.median, value, m.faults_per_mib, faults)
    rounds: list[float] = []
    everything: list[Any] = []
    while row.ratio > TARGET and row.tries <= retries:
        rounds.append(_best_round(again(m)))
        everything += measure()
        row.tries += 1
        row.benchmark = min(rounds) if _is_time(m.unit) else max(rounds)
        row.independent, row.independent_faults_per_mib = _best_run(everything, m.unit)
    return row


def cross_check(
    result: Result,
    timeout: float = 60.0,
    progress: Callable[[str], None] | None = None,
    retries: int = RETRIES,
) -> list[Agreement]:
    """Measure every figure of ``result`` that notebook 05 teaches from again, independently.

    Covered: throughput of the raw references, ``Pipe``, ``Queue``,
    ``SimpleQueue`` and ``SharedMemory`` at the sizes the notebook discusses,
    every round trip, small items one per message and in batches, the
    locked ``Value`` and process start. Each figure: a fresh pair of
    processes, ``RUNS`` timed runs, the middle one counts. A figure that
    disagrees by more than ``TARGET`` is measured again in pairs (the
    benchmark's method, then the independent one), at most ``retries``
    times; from then on each side counts its fastest round over those pairs
    (``Agreement.tries``). Returns one ``Agreement`` per figure.
    """
    timeout = check_timeout("timeout", timeout)
    retries = check_int("retries", retries, minimum=0, maximum=10)
    plan = _plan(result, timeout)
    rows = []
    # Kernel -> Interrupt: every child and segment of the check is removed.
    with track(), MeasureAgain(result, timeout) as again:
        # Last measured, first checked: each check comes as soon as possible after
        # its figure, so that both see about the same load on a shared machine.
        for m, measure in reversed(plan):
            if progress:
                progress(f"honesty check: {m.name}")
            rows.append(_agree(m, measure, again, retries))
    return rows[::-1]


def agreement_table(rows: Sequence[Agreement]) -> str:
    """The check as plain text, with the worst ratio and the target.

    ``tries`` is how many times both sides were measured (more than 1: the
    first measurements disagreed, so both were measured again in pairs).
    """
    lines = [f"{'figure':34s} {'benchmark':>10s} {'again':>10s} {'unit':8s} ratio tries"]
    for row in rows:
        lines.append(
            f"{row.name:34s} {_short(row.benchmark):>10s} {_short(row.independent):>10s} "
            f"{row.unit:8s} {row.ratio:5.2f} {row.tries:5d}"
        )
    verdict = "within" if worst(rows) <= TARGET else "OVER"
    lines.append(f"largest disagreement: {worst(rows):.2f}x ({verdict} the target of {TARGET}x)")
    return "\n".join(lines)


def _short(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"
