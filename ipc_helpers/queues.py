"""Workers and small tools for notebook 01, *Queue*.

Everything a child runs is defined here, at module level, so that a child
started with any start method (``fork``, ``spawn``, ``forkserver``) can find it
by importing this module. Workers never print: they send what they have to say
through the queue they were given, and the parent prints.

Workers that read a queue stop at the sentinel ``None`` and, so that a demo
that forgets the sentinel cannot leave them running for ever, also give up
after ``timeout`` seconds without an item. Workers do not check their
arguments: the parent that starts them does (a ``TypeError`` in a child
would only end the child, far from the mistake).

Kernel → Interrupt sends ``SIGINT`` to the kernel and to every child. A child
that runs a worker of this module then ends as ``KeyboardInterrupt`` ends it
(its ``finally`` blocks run, exit code 1) but without printing a traceback:
``ipc_helpers.interrupts`` does that for every course child.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable
from multiprocessing.reduction import ForkingPickler
from typing import Any

from .cleanup import stop
from .text import expect  # noqa: F401 - notebook 01 calls queues.expect: the one in text
from .validation import check_callable, check_int, check_number, check_timeout

#: What every reading worker treats as "no more items".
SENTINEL = None

#: Seconds a reading worker waits for its next item before it gives up.
WORKER_TIMEOUT = 60.0


# --- the classic producer / consumer -----------------------------------------


def producer(q: Any, n_items: int, delay: float = 0.0) -> None:
    """Put ``0, 1, ..., n_items - 1`` on ``q``, then one sentinel ``None``.

    ``delay`` seconds pass between two items. If ``q`` has a ``maxsize`` and
    is full, ``put`` waits until a consumer makes room: that is backpressure.
    """
    for i in range(n_items):
        q.put(i)
        time.sleep(delay)
    q.put(SENTINEL)


def tagged_producer(q: Any, tag: str, n_items: int, delay: float = 0.0) -> None:
    """Put ``(tag, 0), (tag, 1), ...`` on ``q``, then one sentinel ``None``.

    With several producers on one queue, the tag tells whose item it is.
    """
    for i in range(n_items):
        q.put((tag, i))
        time.sleep(delay)
    q.put(SENTINEL)


def consumer(q: Any, results: Any, n_sentinels: int = 1, timeout: float = WORKER_TIMEOUT) -> None:
    """Take items from ``q`` and report each one on ``results``.

    Stops after ``n_sentinels`` sentinels (one per producer that feeds
    ``q``), or gives up when no item comes for ``timeout`` seconds.
    """
    seen = 0
    while seen < n_sentinels:
        try:
            item = q.get(timeout=timeout)
        except queue.Empty:
            return
        if item is SENTINEL:
            seen += 1
        else:
            results.put(item)


# --- how a queue works --------------------------------------------------------


class SlowToPickle:
    """A value that takes ``delay`` seconds to pickle (and no time to unpickle).

    ``multiprocessing.Queue.put`` does not pickle: its feeder thread does, a
    moment later. With this object that moment lasts ``delay`` seconds, long
    enough to look at the queue in between.
    """

    def __init__(self, value: Any, delay: float = 0.5) -> None:
        self.value = value
        self.delay = check_number("delay", delay, minimum=0.0, maximum=10.0)

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, float]]:
        time.sleep(self.delay)
        return (SlowToPickle, (self.value, 0.0))

    def __repr__(self) -> str:
        return f"SlowToPickle({self.value!r})"


# --- join before drain ---------------------------------------------------------


def message_size(obj: Any) -> int:
    """Bytes a queue writes into its pipe for ``obj``: the pickle plus its header.

    The feeder thread pickles ``obj`` with ``multiprocessing``'s pickler and
    writes a 4-byte length header before it (12 bytes for a pickle of more
    than 2**31 - 1 bytes).
    """
    size = len(ForkingPickler.dumps(obj))
    return size + (4 if size <= 0x7FFFFFFF else 12)


def pipe_capacity(limit: int = 16 * 1024 * 1024) -> int:
    """Measure how many bytes an OS pipe holds before a writer would block.

    Fills a fresh non-blocking ``os.pipe()`` with 1 KiB writes until the OS
    refuses more, and returns the count (65,536 on Linux by default). Stops
    at ``limit`` bytes.
    """
    limit = check_int("limit", limit, minimum=1)
    read_end, write_end = os.pipe()
    try:
        os.set_blocking(write_end, False)
        chunk = b"\0" * 1024
        total = 0
        while total < limit:
            try:
                total += os.write(write_end, chunk[: limit - total])
            except BlockingIOError:
                break
        return total
    finally:
        os.close(read_end)
        os.close(write_end)


def largest_bytes_item(capacity: int) -> int:
    """The largest ``n`` such that the message for ``bytes(n)`` fits in ``capacity`` bytes."""
    capacity = check_int("capacity", capacity, minimum=64)
    n = capacity
    while n > 0 and message_size(bytes(n)) > capacity:
        n -= 1
    return n


def put_bytes(q: Any, n_bytes: int) -> None:
    """Put one ``bytes`` item of ``n_bytes`` bytes on ``q``, then return (and exit)."""
    q.put(bytes(n_bytes))


def put_strings(q: Any, n_items: int, length: int) -> None:
    """Put ``n_items`` strings of ``length`` characters on ``q``, then return (and exit)."""
    for _ in range(n_items):
        q.put("x" * length)


def join_before_drain(worker: Callable[..., Any], *args: Any, wait: float = 1.5) -> bool:
    """Start ``worker(q, *args)`` in a child and join it without reading ``q``.

    Returns ``True`` if the child exited by itself within ``wait`` seconds
    after it began writing, ``False`` if it was stuck (it is then terminated).
    """
    check_callable("worker", worker)
    wait = check_timeout("wait", wait, maximum=60.0)
    q = mp.Queue()
    child = mp.Process(target=worker, args=(q, *args))
    child.start()
    try:
        deadline = time.monotonic() + 30.0
        while q.empty() and child.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)  # until the child has started writing
        child.join(timeout=wait)  # bounded: a plain join() could wait for ever
        return not child.is_alive()
    finally:
        stop([child], timeout=0.1)


def get_one(q: Any, results: Any, timeout: float = 1.0) -> None:
    """Take one item with ``q.get(timeout=timeout)`` and report what happened.

    Reports ``("got", size)`` (``len(item)``, or ``None`` if it has no
    length) or ``("empty", timeout)`` on ``results``. If it never reports,
    it is stuck where ``get``'s timeout does not reach, or it died.
    """
    try:
        item = q.get(timeout=timeout)
    except queue.Empty:
        results.put(("empty", timeout))
        return
    results.put(("got", len(item) if hasattr(item, "__len__") else None))


# --- errors in workers, stopping workers ------------------------------------------


def reciprocal_worker(tasks: Any, results: Any, timeout: float = WORKER_TIMEOUT) -> None:
    """Put ``(x, 1 / x)`` on ``results`` for every ``x`` from ``tasks``, until ``None``.

    No error handling: on ``x == 0`` the ``ZeroDivisionError`` ends the
    process (exit code 1), and whoever waits for the reply about 0 waits in vain.
    """
    while True:
        try:
            x = tasks.get(timeout=timeout)
        except queue.Empty:
            return
        if x is SENTINEL:
            return
        results.put((x, 1 / x))


def safe_reciprocal_worker(tasks: Any, results: Any, timeout: float = WORKER_TIMEOUT) -> None:
    """Like ``reciprocal_worker``, but every task gets exactly one reply.

    Replies ``("ok", x, 1 / x)``, or ``("error", x, "ZeroDivisionError:
    division by zero")`` when computing fails: the error travels back as a
    value, and the worker goes on with the next task. Stops at ``None``.
    """
    while True:
        try:
            x = tasks.get(timeout=timeout)
        except queue.Empty:
            return
        if x is SENTINEL:
            return
        try:
            reply = ("ok", x, 1 / x)
        except Exception as exc:  # the error is the reply
            reply = ("error", x, f"{type(exc).__name__}: {exc}")
        results.put(reply)


def worker_with_cleanup(report: Any, seconds: float = WORKER_TIMEOUT) -> None:
    """Report ``"working"``, work ``seconds`` in short steps, then report ``"cleaned up"``.

    The ``finally`` block runs when the work ends or when ``KeyboardInterrupt``
    (``SIGINT``) stops it, but not when ``terminate()`` (``SIGTERM``) or
    ``kill()`` (``SIGKILL``) ends the process.
    """
    report.put("working")
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.05)  # one step of work
    finally:
        report.put("cleaned up")


# --- JoinableQueue --------------------------------------------------------------


def joinable_consumer(tasks: Any, results: Any, timeout: float = WORKER_TIMEOUT) -> None:
    """Square the numbers from the ``JoinableQueue`` ``tasks`` onto ``results``.

    Calls ``tasks.task_done()`` once for every item it took, the sentinel
    included, so that ``tasks.join()`` in the parent returns when all the
    work put so far is done.
    """
    while True:
        try:
            x = tasks.get(timeout=timeout)
        except queue.Empty:
            return
        try:
            if x is SENTINEL:
                return
            results.put(x * x)
        finally:
            tasks.task_done()


def wait_until_done(tasks: Any, timeout: float = 5.0) -> bool:
    """Wait at most ``timeout`` seconds for ``tasks.join()``; return whether it returned.

    ``JoinableQueue.join()`` takes no timeout. This runs it in a daemon
    thread and waits for that thread with a bound, so a missing
    ``task_done()`` shows up as ``False`` instead of a hang.
    """
    timeout = check_timeout("timeout", timeout)
    if not callable(getattr(tasks, "join", None)) or not hasattr(tasks, "task_done"):
        raise TypeError(f"tasks must be a JoinableQueue, got {type(tasks).__name__}")
    waiter = threading.Thread(target=tasks.join, name="joinable-queue-join", daemon=True)
    waiter.start()
    deadline = time.monotonic() + timeout
    while waiter.is_alive() and time.monotonic() < deadline:
        waiter.join(min(0.1, max(0.0, deadline - time.monotonic())))  # short slices: Ctrl-C works
    return not waiter.is_alive()


# --- pipelines and pools --------------------------------------------------------


def square(x: float) -> float:
    """Return ``x * x`` (a task for ``Pool`` and ``ProcessPoolExecutor``)."""
    return x * x


def _run_stage(inbox: Any, outbox: Any, func: Callable[[Any], Any], timeout: float) -> None:
    while True:
        try:
            item = inbox.get(timeout=timeout)
        except queue.Empty:
            return
        if item is SENTINEL:
            outbox.put(SENTINEL)  # pass the end on to the next stage
            return
        outbox.put(func(item))


def square_stage(inbox: Any, outbox: Any, timeout: float = WORKER_TIMEOUT) -> None:
    """Pipeline stage: put ``x * x`` on ``outbox`` for each ``x`` from ``inbox``.

    At the sentinel ``None`` it puts ``None`` on ``outbox`` too, so the next
    stage learns that the stream has ended, and returns.
    """
    _run_stage(inbox, outbox, square, timeout)


def _increment(x: float) -> float:
    return x + 1


def increment_stage(inbox: Any, outbox: Any, timeout: float = WORKER_TIMEOUT) -> None:
    """Pipeline stage: put ``x + 1`` on ``outbox`` for each ``x`` from ``inbox``.

    Forwards the sentinel ``None`` like ``square_stage``.
    """
    _run_stage(inbox, outbox, _increment, timeout)


# --- the backpressure lab -------------------------------------------------------


def timed_producer(q: Any, report: Any, n_items: int, interval: float) -> None:
    """Put ``n_items`` items on ``q``, one every ``interval`` seconds, then ``None``.

    Records when each ``put`` started and returned (``time.time()``,
    comparable between processes) and sends ``("producer", [(start, end),
    ...])`` on ``report`` at the end. A long ``put`` means the queue was full.
    """
    spans = []
    for i in range(n_items):
        started = time.time()
        q.put(i, timeout=WORKER_TIMEOUT)
        spans.append((started, time.time()))
        time.sleep(interval)
    q.put(SENTINEL, timeout=WORKER_TIMEOUT)
    report.put(("producer", spans))


def timed_consumer(q: Any, report: Any, interval: float) -> None:
    """Take items from ``q`` until ``None``, spending ``interval`` seconds on each.

    Records when each ``get`` started and returned and sends ``("consumer",
    [(start, end), ...])`` on ``report`` at the end.
    """
    spans = []
    while True:
        started = time.time()
        try:
            item = q.get(timeout=WORKER_TIMEOUT)
        except queue.Empty:
            break
        if item is SENTINEL:
            break
        spans.append((started, time.time()))
        time.sleep(interval)
    report.put(("consumer", spans))
