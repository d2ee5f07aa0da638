"""Workers and small demo runners for notebook 02 (Pipe).

Everything a child process runs in that notebook is here, at module level, so
it can be pickled under every start method. Workers never print: they report
through a connection they were given, and the parent prints.

Workers are kept short, because the notebook shows their source: they do not
check their arguments. The runners the parent calls (``run_exchange``,
``try_swaps``, ``run_writers``, ``receive_with_peak``) check theirs before
anything starts, and stop every process they started, also on Kernel →
Interrupt.

A reminder of the two kinds of pipe (``multiprocessing.Pipe``):

- ``a, b = Pipe()`` gives two ends of a *socket pair*; each end can send and
  receive.
- ``recv_end, send_end = Pipe(duplex=False)`` gives the two ends of a one-way
  OS pipe; note the order: the **receiving** end comes first.
"""

from __future__ import annotations

import array
import contextlib
import os
import signal
import struct
import threading
import time
import tracemalloc
from dataclasses import dataclass
from multiprocessing.connection import AuthenticationError, Client, Listener, wait
from typing import Any

from .cleanup import stop
from .contexts import ContextLike, get_context
from .text import expect
from .validation import check_int, check_number, check_timeout, check_type
from .workers import release

#: Operations the request/response server of the notebook knows.
OPERATIONS = ("add", "upper", "divide", "sleep")

#: Longest pause the ``sleep`` operation of ``rpc_server`` accepts (seconds).
MAX_SLEEP = 5.0

#: What a send (or a recv) raises when the process at the other end has gone away.
PEER_GONE = (BrokenPipeError, ConnectionResetError)

#: How long a runner waits at a time: short, so that Kernel → Interrupt is seen at once.
SLICE = 0.1


def _report(report: Any, message: Any) -> None:
    """Send ``message`` on ``report`` and close it; quietly skip it if the parent is gone.

    A parent that gave up waiting (and closed its end) must not make the
    child print a ``BrokenPipeError`` traceback into the notebook.
    """
    with contextlib.suppress(*PEER_GONE):
        report.send(message)
    report.close()


#: Exit code of a course child that Kernel → Interrupt ended while it was starting
#: (``ipc_helpers.interrupts``: it dies of the signal; once running it ends with 1).
INTERRUPTED_EXITS = (-signal.SIGINT,)


def _raise_if_interrupted(procs: list) -> None:
    """Raise ``KeyboardInterrupt`` if one of ``procs`` was ended by Kernel → Interrupt.

    The interrupt reaches the kernel's children too. If the kernel itself
    missed it (CPython can lose one that lands while it forks), the children
    are gone and the parent would draw a wrong conclusion from their silence.
    """
    if any(p.exitcode in INTERRUPTED_EXITS for p in procs):
        raise KeyboardInterrupt("a child process was interrupted")


def _check_conn(name: str, conn: Any) -> Any:
    """Return ``conn`` if it looks like a ``multiprocessing`` connection (for runners)."""
    if not all(hasattr(conn, attr) for attr in ("send", "recv", "poll", "close")):
        raise TypeError(
            f"{name} must be a multiprocessing connection (an end of Pipe()), "
            f"got {type(conn).__name__} {conn!r}"
        )
    return conn


# --------------------------------------------------------------------------
# the classic example, the EOF rule, broken connections
# --------------------------------------------------------------------------


def send_items(conn: Any, items: list, sentinel: Any = None) -> None:
    """The article's sender: send each of ``items``, then ``sentinel``, then close."""
    for item in items:
        conn.send(item)
    conn.send(sentinel)  # "that was all"
    conn.close()


def receive_until_sentinel(
    conn: Any, report: Any, sentinel: Any = None, timeout: float = 5.0
) -> None:
    """The article's receiver: ``recv()`` until ``sentinel``, then report.

    Instead of printing, the child sends one message on ``report`` when it
    stops: ``("sentinel", items)`` when the sentinel arrived,
    ``("EOFError", items)`` if the sender closed its end without one, or
    ``("timeout", items)`` if nothing came for ``timeout`` seconds.
    """
    items: list = []
    outcome = "timeout"
    while conn.poll(timeout):
        try:
            item = conn.recv()
        except EOFError:
            outcome = "EOFError"
            break
        if item == sentinel:
            outcome = "sentinel"
            break
        items.append(item)
    _report(report, (outcome, items))


def receive_until_eof(conn: Any, report: Any, unused: Any = None, timeout: float = 5.0) -> None:
    """Count messages until ``recv()`` raises ``EOFError``, then report.

    ``unused`` is an end this child does not need (the send end of the same
    pipe): it is closed first. Reports ``("EOFError", count)``, or
    ``("timeout", count)`` if nothing happened for ``timeout`` seconds (some
    copy of the send end is still open somewhere).
    """
    if unused is not None:
        unused.close()  # under fork, this child got a copy of it
    count = 0
    outcome = "timeout"
    while conn.poll(timeout):  # True for a message *and* for end-of-file
        try:
            conn.recv()
        except EOFError:
            outcome = "EOFError"
            break
        count += 1
    _report(report, (outcome, count))


def reply_once(conn: Any, timeout: float = 5.0) -> None:
    """Wait for one request, answer ``("got", request)``, close the end and exit.

    Whatever else was sent to it stays unread when it exits.
    """
    if conn.poll(timeout):
        conn.send(("got", conn.recv()))
    conn.close()


def send_half_message(conn: Any, size: int, pause: float) -> None:
    """A sender that dies in the middle of a message of ``size`` bytes.

    It writes what ``send_bytes`` writes first, the 4-byte length header, and
    only half of the data; then it waits ``pause`` seconds and exits.
    """
    header = struct.pack("!i", size)  # how send_bytes announces a message's length
    os.write(conn.fileno(), header + bytes(size // 2))
    time.sleep(pause)
    conn.close()


# --------------------------------------------------------------------------
# pitfall: both ends send first
# --------------------------------------------------------------------------


def exchange(conn: Any, size: int, receive_first: bool, report: Any) -> None:
    """Swap one message of ``size`` bytes with the process at the other end.

    It sends, then receives (or, with ``receive_first``, the other way
    round), then reports ``("done", bytes_received)`` on ``report``.
    """
    payload = bytes(size)
    try:
        if receive_first:
            received = conn.recv_bytes()
            conn.send_bytes(payload)
        else:
            conn.send_bytes(payload)
            received = conn.recv_bytes()  # never reached if both sends block
    except (*PEER_GONE, EOFError):  # the parent stopped the other process
        _report(report, ("peer gone", 0))
        return
    _report(report, ("done", len(received)))


def watch_exchange(ctx: Any, size: int, b_receives_first: bool, timeout: float) -> dict:
    """Start ``exchange`` twice, as A and B, on the two ends of one ``Pipe()``.

    Waits at most ``timeout`` seconds for their reports, then stops whoever
    is still blocked. Returns ``{"A": finished, "B": finished}``.
    """
    end_a, end_b = ctx.Pipe()
    reports, procs = {}, []
    try:
        for name, end, receive_first in (("A", end_a, False), ("B", end_b, b_receives_first)):
            report_recv, report_send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=exchange, args=(end, size, receive_first, report_send))
            proc.start()
            report_send.close()
            reports[report_recv] = name
            procs.append(proc)
        end_a.close()  # the children have their copies; the parent uses neither end
        end_b.close()
        finished = {"A": False, "B": False}
        deadline = time.monotonic() + timeout
        while reports and time.monotonic() < deadline:
            for conn in wait(list(reports), SLICE):  # a short wait, again and again
                with contextlib.suppress(EOFError):  # EOF: a child ended without a report
                    finished[reports[conn]] = conn.recv()[0] == "done"
                conn.close()
                del reports[conn]
        return finished
    finally:
        stop(procs, timeout=0.5)  # join; terminate() whoever is still blocked
        _raise_if_interrupted(procs)
        for conn in (end_a, end_b, *reports):
            conn.close()


@dataclass
class ExchangeResult:
    """What ``run_exchange`` saw: which of the two processes finished in time."""

    size: int
    b_receives_first: bool
    finished: dict

    @property
    def deadlocked(self) -> bool:
        """True if neither process finished."""
        return not any(self.finished.values())

    def __str__(self) -> str:
        order = "B receives first" if self.b_receives_first else "both send first"
        states = ", ".join(
            f"{name} {'finished' if done else 'stuck'}" for name, done in self.finished.items()
        )
        return f"{self.size:>9,} B, {order}: {states}"


def run_exchange(
    size: int, b_receives_first: bool = False, timeout: float = 2.0, context: ContextLike = None
) -> ExchangeResult:
    """Let two processes, A and B, swap ``size``-byte messages over one ``Pipe()``.

    A always sends first; B sends first too, or receives first. The parent
    waits at most ``timeout`` seconds (``watch_exchange``), then stops
    whoever is still blocked.
    """
    size = check_int("size", size, minimum=0, maximum=64 * 2**20)
    check_type("b_receives_first", b_receives_first, bool)
    timeout = check_timeout("timeout", timeout)
    finished = watch_exchange(get_context(context), size, b_receives_first, timeout)
    return ExchangeResult(size, b_receives_first, finished)


def _queued_bytes(conn: Any) -> int:
    """Bytes waiting, unread, at the receiving end ``conn`` (Linux and macOS)."""
    import fcntl
    import termios

    buf = array.array("i", [0])
    fcntl.ioctl(conn.fileno(), termios.FIONREAD, buf, True)
    return buf[0]


@dataclass
class SwapTrial:
    """One swap of two messages: did it finish, and what did the kernel hold?"""

    size: int
    duplex: bool
    both_send_first: bool
    finished: bool
    queued: int

    def __str__(self) -> str:
        kind = "Pipe()" if self.duplex else "one-way pipes"
        order = "both send first" if self.both_send_first else "B receives first"
        if self.finished:
            return f"{self.size:>9,} B, {kind}, {order}: finished"
        return (
            f"{self.size:>9,} B, {kind}, {order}: deadlocked; A's send blocked "
            f"after {self.queued:,} B"
        )


def _swap_trial(size: int, duplex: bool, both_send_first: bool, stall: float) -> SwapTrial:
    """Swap two ``size``-byte messages between two threads of *this* process.

    Thread A sends, then receives. Thread B does the same, or receives first.
    When both are still sending once the bytes queued at B's end have not
    changed for ``stall`` seconds, the swap is deadlocked: the threads are
    left blocked for good, which is why ``swap_worker`` runs this in a
    throwaway child process.
    """
    import multiprocessing

    if duplex:
        a_end, b_end = multiprocessing.Pipe()
        a_send = a_recv = a_end
        b_send = b_recv = b_end
    else:
        b_recv, a_send = multiprocessing.Pipe(duplex=False)  # A -> B
        a_recv, b_send = multiprocessing.Pipe(duplex=False)  # B -> A
    payload = bytes(size)
    done = [threading.Event(), threading.Event()]

    def party(index: int, send_end: Any, recv_end: Any, receive_first: bool) -> None:
        if receive_first:
            recv_end.recv_bytes()
            send_end.send_bytes(payload)
        else:
            send_end.send_bytes(payload)
            recv_end.recv_bytes()
        done[index].set()

    for index, args in enumerate(((a_send, a_recv, False), (b_send, b_recv, not both_send_first))):
        threading.Thread(target=party, args=(index, *args), daemon=True).start()
    last, steady_since = -1, time.monotonic()
    while not all(event.is_set() for event in done):
        queued = _queued_bytes(b_recv)
        now = time.monotonic()
        if queued != last:
            last, steady_since = queued, now
        elif now - steady_since >= stall:
            return SwapTrial(size, duplex, both_send_first, False, queued)
        time.sleep(0.005)
    for end in {a_send, a_recv, b_send, b_recv}:
        end.close()
    return SwapTrial(size, duplex, both_send_first, True, 0)


def swap_worker(
    sizes: list, duplex: bool, both_send_first: bool, stall: float, report: Any
) -> None:
    """Child worker: run one swap per size in ``sizes``, report each ``SwapTrial``.

    Deadlocked swaps leave two threads blocked in this child; they vanish when
    the child exits. A final ``None`` on ``report`` means "all done".
    """
    try:
        for size in sizes:
            report.send(_swap_trial(size, duplex, both_send_first, stall))
    except PEER_GONE:
        pass  # the parent stopped listening: nothing left to do
    _report(report, None)


def try_swaps(
    sizes: Any,
    *,
    duplex: bool = True,
    both_send_first: bool = True,
    stall: float = 0.15,
    timeout: float = 20.0,
    context: ContextLike = None,
) -> list:
    """Swap two messages of each size in ``sizes``: which swaps deadlock?

    The two parties, A and B, are two threads of one helper process (the
    kernel blocks a send the same way whether a thread or a process calls
    it, and a stuck helper is easy to throw away). A sends then receives; B
    does the same (``both_send_first=True``) or receives first. The ends are
    one ``Pipe()`` (``duplex=True``, a socket pair) or two
    ``Pipe(duplex=False)`` (OS pipes), one per direction.

    Returns one ``SwapTrial`` per size, in order. A swap counts as
    deadlocked when nothing moves for ``stall`` seconds; ``timeout`` bounds
    the whole run (``TimeoutError`` if it is not over by then).
    """
    if isinstance(sizes, int):
        sizes = [sizes]
    check_type("sizes", sizes, (list, tuple))
    if not sizes:
        raise ValueError("sizes must hold at least one message size")
    sizes = [
        check_int(f"sizes[{i}]", s, minimum=0, maximum=16 * 2**20) for i, s in enumerate(sizes)
    ]
    check_type("duplex", duplex, bool)
    check_type("both_send_first", both_send_first, bool)
    stall = check_number("stall", stall, minimum=0.02, maximum=5.0)
    timeout = check_timeout("timeout", timeout)
    ctx = get_context(context)
    report_recv, report_send = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=swap_worker, args=(sizes, duplex, both_send_first, stall, report_send)
    )
    results: list = []
    deadline = time.monotonic() + timeout
    try:
        proc.start()
        report_send.close()
        while True:
            if not report_recv.poll(SLICE):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the swaps were not over within {timeout:g} s")
                continue
            result = report_recv.recv()
            if result is None:
                return results
            results.append(result)
    finally:
        report_send.close()
        report_recv.close()
        stop([proc], timeout=1.0)
        _raise_if_interrupted([proc])


def probe_capacity(duplex: bool = True, stall: float = 0.15, context: ContextLike = None) -> int:
    """Bytes the kernel accepts from one 4 MiB ``send_bytes`` before the send blocks.

    Measured, not looked up: two parties both send 4 MiB, nobody reads, and
    the bytes waiting at B's end are counted once they stop growing. This
    includes the 4-byte length header that ``send_bytes`` puts before each
    message. Linux and macOS.
    """
    (result,) = try_swaps(
        [4 * 2**20], duplex=duplex, both_send_first=True, stall=stall, context=context
    )
    return result.queued


# --------------------------------------------------------------------------
# pitfall: two processes writing to one end
# --------------------------------------------------------------------------


def write_tagged(
    conn: Any, tag: bytes, size: int, count: int, unused: Any = None, go: Any = None
) -> None:
    """Send ``count`` messages of ``size`` copies of the byte ``tag``, then close.

    ``unused`` (an end this child does not need) is closed first. If ``go``
    (a ``Barrier``) is given, the child waits there for the other writer, so
    that both start together.
    """
    if unused is not None:
        unused.close()
    message = tag * size
    if go is not None:
        with contextlib.suppress(threading.BrokenBarrierError):  # start anyway
            go.wait(10.0)
    try:
        for _ in range(count):
            conn.send_bytes(message)
    except PEER_GONE:
        pass  # the reader closed its end: nothing left to do
    conn.close()


@dataclass
class StreamReport:
    """What a reader made of a stream of tagged messages."""

    intact: int
    damaged: int
    error: str

    @property
    def clean(self) -> bool:
        """True if every message arrived whole and the stream ended normally."""
        return self.damaged == 0 and self.error == ""

    def __str__(self) -> str:
        text = f"{self.intact} intact, {self.damaged} damaged"
        return text + (f", then {self.error}" if self.error else ", stream ended cleanly")


def _read_tagged(conns: list, size: int, timeout: float, writers: tuple = ()) -> StreamReport:
    """Read from ``conns`` until each is at EOF, an error, or ``timeout`` s of silence.

    ``writers``: the writing processes, if any; one that ended with an error
    ends the reading at once (the other may be waiting for it at the barrier).
    """
    intact = damaged = 0
    pending = list(conns)
    last_news = time.monotonic()
    while pending:
        ready = wait(pending, SLICE)
        if not ready:
            failed = [p.exitcode for p in writers if p.exitcode not in (None, 0)]
            if failed:
                return StreamReport(intact, damaged, f"a writer ended with code {failed[0]}")
            if time.monotonic() - last_news > timeout:
                return StreamReport(intact, damaged, f"no data for {timeout:g} s")
            continue
        last_news = time.monotonic()
        for conn in ready:
            try:
                message = conn.recv_bytes(maxlength=2 * size)
            except EOFError:
                pending.remove(conn)
                continue
            except OSError as exc:  # "bad message length", "got end of file during message"
                return StreamReport(intact, damaged, f"{type(exc).__name__}: {exc}")
            if len(message) == size and message == message[:1] * size:
                intact += 1
            else:
                damaged += 1
    return StreamReport(intact, damaged, "")


def run_writers(
    size: int,
    count: int,
    shared_end: bool = True,
    timeout: float = 5.0,
    context: ContextLike = None,
) -> StreamReport:
    """Two processes each send ``count`` messages of ``size`` bytes; the parent reads.

    With ``shared_end=True`` both write to the same send end of one pipe (the
    pitfall). With ``False`` each has a pipe of its own, and the parent reads
    both with ``multiprocessing.connection.wait`` (the fix). A message counts
    as intact if it has the right length and only one writer's byte.
    """
    size = check_int("size", size, minimum=1, maximum=8 * 2**20)
    count = check_int("count", count, minimum=1, maximum=1000)
    check_type("shared_end", shared_end, bool)
    timeout = check_timeout("timeout", timeout)
    ctx = get_context(context)
    procs, readers, writers = [], [], []
    go = ctx.Barrier(2)  # both writers start together, whatever the start method
    try:
        for tag in (b"A", b"B"):
            if not readers or not shared_end:
                recv_end, send_end = ctx.Pipe(duplex=False)
                readers.append(recv_end)
                writers.append(send_end)
            proc = ctx.Process(target=write_tagged, args=(send_end, tag, size, count, recv_end, go))
            proc.start()
            procs.append(proc)
            if not shared_end:
                send_end.close()  # only this child writes here (a later fork must not inherit it)
        for end in writers:
            end.close()
        return _read_tagged(readers, size, timeout, tuple(procs))
    finally:
        release(go)  # a writer still waiting for the other one goes on at once
        for conn in readers + writers:
            conn.close()
        stop(procs, timeout=1.0)
        _raise_if_interrupted(procs)


# --------------------------------------------------------------------------
# large messages: chunks
# --------------------------------------------------------------------------


def make_pattern(n_bytes: int) -> bytes:
    """``n_bytes`` of a repeating 0..255 pattern, easy to check after a transfer."""
    n_bytes = check_int("n_bytes", n_bytes, minimum=0, maximum=256 * 2**20)
    return (bytes(range(256)) * (n_bytes // 256 + 1))[:n_bytes]


def send_in_chunks(conn: Any, data: Any, chunk_size: int = 2**20) -> int:
    """Send ``data`` (bytes-like) as a header and chunks of at most ``chunk_size`` bytes.

    The header ``(total_bytes, chunk_size)`` goes first with ``send``; each
    chunk follows with ``send_bytes`` (no pickling, and no copy of the whole
    data: each chunk is a slice of a ``memoryview``). Returns the number of
    chunks. Read it with ``recv_in_chunks``.
    """
    view = memoryview(data).cast("B")
    conn.send((len(view), chunk_size))
    chunks = 0
    for start in range(0, len(view), chunk_size):
        conn.send_bytes(view[start : start + chunk_size])
        chunks += 1
    return chunks


def recv_in_chunks(conn: Any, timeout: float = 5.0) -> bytearray:
    """Receive what ``send_in_chunks`` sent into one buffer, with a time limit per chunk.

    ``recv_bytes_into(buffer, offset)`` puts each chunk at its place. It is no
    copy-saver: CPython (on Linux and macOS) first reads the whole chunk into
    a temporary ``io.BytesIO``, then copies it into ``buffer``. What chunks
    buy: besides the result, the receiver holds a chunk or two at most
    (the temporary grows as it fills), and no wait lasts more than
    ``timeout`` seconds (``TimeoutError``).
    """
    if not conn.poll(timeout):
        raise TimeoutError(f"no header within {timeout:g} s")
    total, _chunk_size = conn.recv()
    buffer = bytearray(total)
    offset = 0
    while offset < total:
        if not conn.poll(timeout):
            raise TimeoutError(f"chunk at byte {offset:,} did not arrive within {timeout:g} s")
        offset += conn.recv_bytes_into(buffer, offset)
    return buffer


def send_pattern(conn: Any, n_bytes: int, chunk_size: int = 2**20) -> None:
    """Child worker: send ``make_pattern(n_bytes)`` with ``send_in_chunks``, then close."""
    send_in_chunks(conn, make_pattern(n_bytes), chunk_size)
    conn.close()


@dataclass
class ChunkedReceipt:
    """What ``receive_with_peak`` saw: was the data intact, and what memory did it take?"""

    size: int
    chunk_size: int
    intact: bool
    extra_peak: int

    def __str__(self) -> str:
        chunks = "one message" if self.chunk_size >= self.size else f"{self.chunk_size:,} B chunks"
        return (
            f"{self.size:,} B in {chunks}: intact {self.intact}; peak memory beyond the "
            f"result: {self.extra_peak / 2**20:.1f} MiB"
        )


def receive_with_peak(
    size: int, chunk_size: int, timeout: float = 10.0, context: ContextLike = None
) -> ChunkedReceipt:
    """A child sends ``size`` bytes in ``chunk_size`` chunks; ``recv_in_chunks`` reads them.

    The parent's memory is traced (``tracemalloc``) while it receives:
    ``extra_peak`` is the most it held at once *beyond* the result itself.
    """
    size = check_int("size", size, minimum=1, maximum=64 * 2**20)
    chunk_size = check_int("chunk_size", chunk_size, minimum=1, maximum=64 * 2**20)
    timeout = check_timeout("timeout", timeout)
    ctx = get_context(context)
    mine, theirs = ctx.Pipe()
    child = ctx.Process(target=send_pattern, args=(theirs, size, chunk_size))
    try:
        child.start()
        theirs.close()
        tracemalloc.start()
        data = recv_in_chunks(mine, timeout)
        extra = tracemalloc.get_traced_memory()[1] - len(data)
    finally:
        tracemalloc.stop()
        mine.close()
        theirs.close()
        stop([child], timeout=2.0)
        _raise_if_interrupted([child])
    return ChunkedReceipt(size, chunk_size, data == make_pattern(size), extra)


# --------------------------------------------------------------------------
# request / response over a duplex pipe
# --------------------------------------------------------------------------


def _run_operation(op: str, args: tuple) -> Any:
    if op == "add":
        return args[0] + args[1]
    if op == "upper":
        return str(args[0]).upper()
    if op == "divide":
        return args[0] / args[1]
    if op == "sleep":
        seconds = min(float(args[0]), MAX_SLEEP)
        time.sleep(seconds)
        return f"slept {seconds:g} s"
    raise KeyError(f"unknown operation {op!r}; known: {', '.join(OPERATIONS)}")


def rpc_server(conn: Any, timeout: float = 5.0) -> None:
    """Child worker: answer requests ``(request_id, op, args)`` until ``None``.

    Replies ``(request_id, "ok", value)``, or ``(request_id, "error",
    "SomeError: message")``: the error travels back instead of killing the
    server. It also stops at EOF, or after ``timeout`` s without a request.
    """
    while conn.poll(timeout):
        try:
            request = conn.recv()
        except EOFError:
            break
        if request is None:
            break
        request_id, op, args = request
        try:
            reply = (request_id, "ok", _run_operation(op, args))
        except Exception as exc:  # the client decides what to do with it
            reply = (request_id, "error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except PEER_GONE:  # the client has gone away
            break
    conn.close()


class RemoteError(Exception):
    """An operation failed in the server; the message is the server's error."""


class PipeClient:
    """The parent's side of ``rpc_server``: ``client.call("add", 2, 3, timeout=1)``.

    Every request carries a number. A reply with an older number (the late
    answer to a call that timed out) is discarded, not taken as the answer
    to this call.
    """

    def __init__(self, conn: Any) -> None:
        self.conn = _check_conn("conn", conn)
        self.next_id = 0
        self.discarded = 0

    def call(self, op: str, *args: Any, timeout: float = 1.0) -> Any:
        """Send one request; wait at most ``timeout`` s for its reply.

        Raises ``TimeoutError`` when the reply is late, ``RemoteError`` when
        the operation failed in the server.
        """
        self.next_id += 1
        self.conn.send((self.next_id, op, args))
        deadline = time.monotonic() + timeout
        while self.conn.poll(max(0.0, deadline - time.monotonic())):
            reply_id, status, value = self.conn.recv()
            if reply_id != self.next_id:
                self.discarded += 1  # the late answer to an earlier call
            elif status == "error":
                raise RemoteError(value)
            else:
                return value
        raise TimeoutError(f"no reply to {op!r} within {timeout:g} s")

    def close(self) -> None:
        """Ask the server to stop, then close this end."""
        with contextlib.suppress(OSError):  # the server may be gone already
            self.conn.send(None)
        self.conn.close()


# --------------------------------------------------------------------------
# security
# --------------------------------------------------------------------------


class Surprise:
    """An object whose *unpickling* calls a function in the receiving process.

    ``__reduce__`` tells pickle "to rebuild me, call ``os.getpid()``". So
    ``recv()`` returns the receiver's process id, computed in the receiver.
    Harmless here; an attacker would name a more dangerous function.
    """

    def __reduce__(self) -> tuple:
        return (os.getpid, ())


def serve_authenticated(
    report: Any, authkey: bytes, n_clients: int = 1, timeout: float = 5.0
) -> None:
    """Child worker: a ``Listener`` on 127.0.0.1 that greets ``n_clients`` clients.

    It listens on a free port (port 0: the OS chooses), sends ``("port",
    number)`` on ``report``, then, per client, ``("served", name)`` or
    ``("refused", "AuthenticationError: ...")``.
    """
    with Listener(("127.0.0.1", 0), authkey=authkey) as listener:
        report.send(("port", listener.address[1]))
        for _ in range(n_clients):
            try:
                with listener.accept() as conn:  # the key is checked here
                    name = conn.recv() if conn.poll(timeout) else "(nothing)"
                    conn.send(f"hello, {name}")
                    outcome = ("served", name)
            except AuthenticationError as exc:
                outcome = ("refused", f"AuthenticationError: {exc}")
            except (EOFError, *PEER_GONE):
                outcome = ("lost", "the client went away")
            report.send(outcome)
    report.close()


def ask_authenticated(
    port: int, authkey: bytes, name: str, report: Any, timeout: float = 5.0
) -> None:
    """Child worker: connect to ``serve_authenticated`` with ``authkey``, say ``name``.

    Reports ``("reply", text)`` or ``("refused", "AuthenticationError: ...")``.
    """
    try:
        with Client(("127.0.0.1", port), authkey=authkey) as conn:  # the key is checked here
            conn.send(name)
            outcome = ("reply", conn.recv() if conn.poll(timeout) else "(no reply)")
    except AuthenticationError as exc:
        outcome = ("refused", f"AuthenticationError: {exc}")
    _report(report, outcome)


def _receive(conn: Any, timeout: float, procs: list) -> Any:
    """One message from ``conn`` within ``timeout`` s, waited in short slices.

    Returns ``("no report", "")`` if none came (the sender ended early).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.poll(SLICE):
            try:
                return conn.recv()
            except EOFError:
                break
    _raise_if_interrupted(procs)
    return ("no report", "")


def run_authenticated(
    authkey: bytes, clients: list, timeout: float = 10.0, context: ContextLike = None
) -> list:
    """Start ``serve_authenticated`` with ``authkey``, then one ``ask_authenticated`` per client.

    ``clients``: ``(name, key)`` pairs, tried one after the other. Returns one
    ``(name, what_the_client_saw, what_the_server_saw)`` per client.
    """
    check_type("authkey", authkey, bytes)
    check_type("clients", clients, (list, tuple))
    for i, (name, key) in enumerate(clients):
        check_type(f"clients[{i}] name", name, str)
        check_type(f"clients[{i}] key", key, bytes)
    timeout = check_timeout("timeout", timeout)
    ctx = get_context(context)
    report_recv, report_send = ctx.Pipe(duplex=False)
    procs = [ctx.Process(target=serve_authenticated, args=(report_send, authkey, len(clients)))]
    seen = []
    try:
        procs[0].start()
        report_send.close()
        _, port = _receive(report_recv, timeout, procs)
        if not port:
            return [(name, "(the server did not start)", "") for name, _ in clients]
        for name, key in clients:
            answer_recv, answer_send = ctx.Pipe(duplex=False)
            procs.append(ctx.Process(target=ask_authenticated, args=(port, key, name, answer_send)))
            procs[-1].start()
            answer_send.close()
            with answer_recv:
                client_saw = _receive(answer_recv, timeout, procs)
            seen.append((name, client_saw, _receive(report_recv, timeout, procs)))
        return seen
    finally:
        report_send.close()
        report_recv.close()
        stop(procs, timeout=2.0)
        _raise_if_interrupted(procs)


# --------------------------------------------------------------------------
# the exercises' partners
# --------------------------------------------------------------------------


def echo_server(conn: Any, answer: int = 1000, timeout: float = 5.0, report: Any = None) -> None:
    """Child worker: answer each ``("ping", i)`` with ``("pong", i)``.

    After ``answer`` replies it goes silent (it keeps reading but answers
    nothing). ``("hello",)`` is always answered with ``("hello",)`` and not
    counted. The server stops at ``None``, at EOF, when its partner is gone,
    or after ``timeout`` seconds without a message; then it sends
    ``("pings", received, answered)`` on ``report`` (if given).
    """
    received = answered = 0
    try:
        while conn.poll(timeout):
            message = conn.recv()
            if message is None:
                break
            if message == ("hello",):
                conn.send(("hello",))
            elif isinstance(message, tuple) and message[:1] == ("ping",):
                received += 1
                if answered < answer:
                    conn.send(("pong", *message[1:]))
                    answered += 1
    except (EOFError, *PEER_GONE):
        pass  # the partner has gone away: nothing left to answer
    conn.close()
    if report is not None:
        _report(report, ("pings", received, answered))


def send_after(
    conn: Any,
    items: list,
    delay: float = 0.0,
    hold: float = 0.0,
    go: Any = None,
    linger: float = 0.2,
) -> None:
    """Child worker: wait ``delay`` s, send each of ``items``, then close the end.

    ``hold``: keep the end open that many seconds more before closing it
    (closing it is what lets the reader see ``EOFError``). ``linger``: after
    closing, take that long to exit, like a program with work left to do:
    the parent must join it. ``go`` (a ``Barrier`` or an ``Event``): wait
    there first, at most 10 s, so that a caller can start the clock once
    every child is up.
    """
    if go is not None:
        with contextlib.suppress(threading.BrokenBarrierError):  # go on anyway
            go.wait(10.0)
    time.sleep(delay)
    try:
        for item in items:
            conn.send(item)
    except PEER_GONE:
        pass  # nobody is reading any more
    else:
        time.sleep(hold)
    conn.close()
    time.sleep(linger)


__all__ = [
    "ChunkedReceipt",
    "ExchangeResult",
    "OPERATIONS",
    "PipeClient",
    "RemoteError",
    "StreamReport",
    "Surprise",
    "SwapTrial",
    "ask_authenticated",
    "echo_server",
    "exchange",
    "expect",
    "make_pattern",
    "probe_capacity",
    "receive_until_eof",
    "receive_until_sentinel",
    "receive_with_peak",
    "recv_in_chunks",
    "reply_once",
    "rpc_server",
    "run_authenticated",
    "run_exchange",
    "run_writers",
    "send_after",
    "send_half_message",
    "send_in_chunks",
    "send_items",
    "send_pattern",
    "serve_authenticated",
    "swap_worker",
    "try_swaps",
    "watch_exchange",
    "write_tagged",
]
