"""Workers and small demo runners for notebook 02 (Pipe).

Everything a child process runs in that notebook is here, at module level, so
it can be pickled under every start method. Workers never print: they report
through a connection they were given, and the parent prints.

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
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import AuthenticationError, Client, Listener, wait
from typing import Any

from .cleanup import stop
from .validation import check_int, check_number, check_timeout, check_type

#: Operations the request/response server of the notebook knows.
OPERATIONS = ("add", "upper", "divide", "sleep")

#: Longest pause the ``sleep`` operation of ``rpc_server`` accepts (seconds).
MAX_SLEEP = 5.0


# --------------------------------------------------------------------------
# argument checks shared by the helpers
# --------------------------------------------------------------------------


def _check_conn(name: str, conn: Any) -> Any:
    """Return ``conn`` if it looks like a ``multiprocessing`` connection."""
    if not all(hasattr(conn, attr) for attr in ("send", "recv", "poll", "close")):
        raise TypeError(
            f"{name} must be a multiprocessing connection (an end of Pipe()), "
            f"got {type(conn).__name__} {conn!r}"
        )
    return conn


def _check_optional_conn(name: str, conn: Any) -> Any:
    return None if conn is None else _check_conn(name, conn)


#: What a send raises when the process at the other end has gone away.
PEER_GONE = (BrokenPipeError, ConnectionResetError)


def _report(report: Any, message: Any) -> None:
    """Send ``message`` on ``report`` and close it; quietly skip it if the parent is gone.

    A parent that gave up waiting (and closed its end) must not make the
    child print a ``BrokenPipeError`` traceback into the notebook.
    """
    with contextlib.suppress(*PEER_GONE):
        report.send(message)
    report.close()


# --------------------------------------------------------------------------
# the classic example and the EOF rule
# --------------------------------------------------------------------------


def send_items(conn: Any, items: list, sentinel: Any = None) -> None:
    """The article's sender: send each of ``items``, then ``sentinel``, then close.

    The sentinel (``None`` by default) tells the receiver that nothing else
    will come.
    """
    _check_conn("conn", conn)
    check_type("items", items, (list, tuple))
    for item in items:
        conn.send(item)
    conn.send(sentinel)
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
    _check_conn("conn", conn)
    _check_conn("report", report)
    timeout = check_timeout("timeout", timeout)
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

    ``unused`` is an end this child does not need (usually the send end of
    the same pipe): it is closed first. Under ``fork`` the child inherits a
    copy of every end the parent had open, and a send end left open here
    means ``EOFError`` can never come.

    Reports ``("EOFError", count)`` when the end of the data was seen, or
    ``("timeout", count)`` if, after ``count`` messages, nothing happened for
    ``timeout`` seconds (some copy of the send end is still open somewhere).
    """
    _check_conn("conn", conn)
    _check_conn("report", report)
    _check_optional_conn("unused", unused)
    timeout = check_timeout("timeout", timeout)
    if unused is not None:
        unused.close()
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
    """Wait for one request, answer ``("got", request)``, close the end and exit."""
    _check_conn("conn", conn)
    timeout = check_timeout("timeout", timeout)
    if conn.poll(timeout):
        conn.send(("got", conn.recv()))
    conn.close()


# --------------------------------------------------------------------------
# pitfall: both ends send first
# --------------------------------------------------------------------------


def exchange(conn: Any, size: int, receive_first: bool, report: Any) -> None:
    """Swap one message of ``size`` bytes with the process at the other end.

    With ``receive_first=False`` the child sends, then receives; with
    ``True`` it receives, then sends. It reports ``("done", bytes_received)``
    on ``report`` when both steps are over, or ``("peer gone", 0)`` if the
    other process was stopped first. If both ends send first and the message
    does not fit in the pipe's buffer, neither step ends: that is the deadlock
    the notebook shows (the parent stops the children).
    """
    _check_conn("conn", conn)
    size = check_int("size", size, minimum=0)
    check_type("receive_first", receive_first, bool)
    _check_conn("report", report)
    payload = bytes(size)
    try:
        if receive_first:
            received = conn.recv_bytes()
            conn.send_bytes(payload)
        else:
            conn.send_bytes(payload)
            received = conn.recv_bytes()
    except (*PEER_GONE, EOFError):
        # The other process was stopped while this one was blocked: when the
        # parent ends a deadlock, one of the two always goes first.
        _report(report, ("peer gone", 0))
        return
    _report(report, ("done", len(received)))


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
    size: int, b_receives_first: bool = False, timeout: float = 2.0, context: Any = None
) -> ExchangeResult:
    """Let two processes, A and B, swap ``size``-byte messages over one ``Pipe()``.

    A always sends first. B sends first too (``b_receives_first=False``) or
    receives first. Each reports on its own one-way pipe; the parent waits at
    most ``timeout`` seconds in total with ``multiprocessing.connection.wait``,
    then stops whoever is still blocked.
    """
    size = check_int("size", size, minimum=0, maximum=64 * 2**20)
    check_type("b_receives_first", b_receives_first, bool)
    timeout = check_timeout("timeout", timeout)
    ctx = _context(context)
    end_a, end_b = ctx.Pipe()
    reports, procs = {}, []
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
    pending = list(reports)
    while pending:
        ready = wait(pending, max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        for conn in ready:
            with contextlib.suppress(EOFError):  # EOF: the child ended without a report
                finished[reports[conn]] = conn.recv()[0] == "done"
            pending.remove(conn)
    stop(procs, timeout=0.5)
    for conn in reports:
        conn.close()
    return ExchangeResult(size, b_receives_first, finished)


def _queued_bytes(conn: Any) -> int:
    """Bytes waiting, unread, at the receiving end ``conn`` (Linux and macOS)."""
    import fcntl
    import termios

    buf = array.array("i", [0])
    fcntl.ioctl(conn.fileno(), termios.FIONREAD, buf, True)
    return buf[0]


@dataclass
class RaceResult:
    """One swap of two messages: did it finish, and what did the kernel hold?"""

    size: int
    duplex: bool
    both_send_first: bool
    finished: bool
    queued: int

    def __str__(self) -> str:
        kind = "Pipe()" if self.duplex else "two Pipe(duplex=False)"
        order = "both send first" if self.both_send_first else "B receives first"
        if self.finished:
            return f"{self.size:>9,} B, {kind}, {order}: finished"
        return (
            f"{self.size:>9,} B, {kind}, {order}: deadlocked; the kernel had accepted "
            f"{self.queued:,} B of A's message when A's send blocked"
        )


def _race_trial(size: int, duplex: bool, both_send_first: bool, stall: float) -> RaceResult:
    """Swap two ``size``-byte messages between two threads of *this* process.

    Thread A sends, then receives. Thread B does the same, or receives first.
    When both are still sending once the bytes queued at B's end have not
    changed for ``stall`` seconds, the swap is deadlocked: the threads are
    left blocked for good, which is why ``race_worker`` runs this in a
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
            return RaceResult(size, duplex, both_send_first, False, queued)
        time.sleep(0.005)
    for end in {a_send, a_recv, b_send, b_recv}:
        end.close()
    return RaceResult(size, duplex, both_send_first, True, 0)


def race_worker(
    sizes: list, duplex: bool, both_send_first: bool, stall: float, report: Any
) -> None:
    """Child worker: run one swap per size in ``sizes``, report each ``RaceResult``.

    Deadlocked swaps leave two threads blocked in this child; they vanish when
    the child exits. A final ``None`` on ``report`` means "all done".
    """
    _check_conn("report", report)
    try:
        for size in sizes:
            report.send(_race_trial(size, duplex, both_send_first, stall))
    except PEER_GONE:
        pass  # the parent stopped listening: nothing left to do
    _report(report, None)


def send_race(
    sizes: Any,
    *,
    duplex: bool = True,
    both_send_first: bool = True,
    stall: float = 0.15,
    timeout: float = 20.0,
    context: Any = None,
) -> list:
    """Swap two messages of each size in ``sizes``: which swaps deadlock?

    The two parties, A and B, are two threads of one helper process (the
    kernel blocks a send the same way whether a thread or a process calls
    it, and a stuck helper is easy to throw away). A sends then receives; B
    does the same (``both_send_first=True``) or receives first. The ends are
    one ``Pipe()`` (``duplex=True``, a socket pair) or two
    ``Pipe(duplex=False)`` (OS pipes), one per direction.

    Returns one ``RaceResult`` per size, in order. A swap counts as
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
    ctx = _context(context)
    report_recv, report_send = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=race_worker, args=(sizes, duplex, both_send_first, stall, report_send)
    )
    proc.start()
    report_send.close()
    results: list = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if not report_recv.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"the swaps were not over within {timeout:g} s")
            result = report_recv.recv()
            if result is None:
                return results
            results.append(result)
    finally:
        report_recv.close()
        stop([proc], timeout=1.0)


def probe_capacity(duplex: bool = True, stall: float = 0.15, context: Any = None) -> int:
    """Bytes the kernel accepts from one large send before the send blocks.

    Measured, not looked up: two parties both send 4 MiB, nobody reads, and
    the bytes waiting at B's end are counted once they stop growing. For
    ``Pipe()`` (a socket pair) this includes the 4-byte length header that
    ``send_bytes`` puts before each message. Linux and macOS.
    """
    (result,) = send_race(
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
    (a ``Barrier``) is given, the child waits there (at most 10 s) for the
    other writers, so that they all start together. If the reader goes away,
    the child stops quietly.
    """
    _check_conn("conn", conn)
    check_type("tag", tag, bytes)
    if len(tag) != 1:
        raise ValueError(f"tag must be a single byte, got {tag!r}")
    size = check_int("size", size, minimum=1)
    count = check_int("count", count, minimum=1)
    _check_optional_conn("unused", unused)
    if unused is not None:
        unused.close()
    message = tag * size
    if go is not None:
        with contextlib.suppress(threading.BrokenBarrierError):  # start anyway
            go.wait(10.0)
    try:
        for _ in range(count):
            conn.send_bytes(message)
    except (BrokenPipeError, ConnectionResetError):
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


def _read_tagged(conns: list, size: int, timeout: float) -> StreamReport:
    """Read messages from ``conns`` until every one is at EOF, an error, or ``timeout``."""
    intact = damaged = 0
    pending = list(conns)
    while pending:
        ready = wait(pending, timeout)
        if not ready:
            return StreamReport(intact, damaged, f"no data for {timeout:g} s")
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
    size: int, count: int, shared_end: bool = True, timeout: float = 5.0, context: Any = None
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
    ctx = _context(context)
    procs, readers = [], []
    go = ctx.Barrier(2)  # both writers start together, whatever the start method
    recv_end, send_end = ctx.Pipe(duplex=False)
    for tag in (b"A", b"B"):
        if not shared_end and tag == b"B":
            recv_end, send_end = ctx.Pipe(duplex=False)
        if recv_end not in readers:
            readers.append(recv_end)
        proc = ctx.Process(target=write_tagged, args=(send_end, tag, size, count, recv_end, go))
        proc.start()
        procs.append(proc)
        if not shared_end:
            send_end.close()
    send_end.close()
    try:
        return _read_tagged(readers, size, timeout)
    finally:
        for conn in readers:
            conn.close()
        stop(procs, timeout=1.0)


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
    chunk follows with ``send_bytes`` (no pickling). Returns the number of
    chunks. Read it with ``recv_in_chunks``.
    """
    _check_conn("conn", conn)
    view = memoryview(data).cast("B")
    chunk_size = check_int("chunk_size", chunk_size, minimum=1, maximum=64 * 2**20)
    conn.send((len(view), chunk_size))
    chunks = 0
    for start in range(0, len(view), chunk_size):
        conn.send_bytes(view[start : start + chunk_size])
        chunks += 1
    return chunks


def recv_in_chunks(conn: Any, timeout: float = 5.0) -> bytearray:
    """Receive what ``send_in_chunks`` sent, straight into one preallocated buffer.

    Each chunk lands at its place with ``recv_bytes_into(buffer, offset)``: no
    extra copy, and never more than one chunk in flight. Every wait is bounded
    by ``timeout`` seconds; ``TimeoutError`` if a chunk is late.
    """
    _check_conn("conn", conn)
    timeout = check_timeout("timeout", timeout)
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
    _check_conn("conn", conn)
    send_in_chunks(conn, make_pattern(n_bytes), chunk_size)
    conn.close()


# --------------------------------------------------------------------------
# request / response over a duplex pipe
# --------------------------------------------------------------------------


def _sleep(seconds: float) -> str:
    seconds = check_number("seconds", seconds, minimum=0.0, maximum=MAX_SLEEP)
    time.sleep(seconds)
    return f"slept {seconds:g} s"


def _run_operation(op: str, args: tuple) -> Any:
    if op == "add":
        return args[0] + args[1]
    if op == "upper":
        return str(args[0]).upper()
    if op == "divide":
        return args[0] / args[1]
    if op == "sleep":
        return _sleep(*args)
    raise KeyError(f"unknown operation {op!r}; known: {', '.join(OPERATIONS)}")


def rpc_server(conn: Any, timeout: float = 5.0) -> None:
    """Child worker: answer requests ``(request_id, op, args)`` until ``None``.

    Each reply is ``(request_id, "ok", value)`` or, if the operation raised,
    ``(request_id, "error", "SomeError: message")``: the error travels back
    instead of killing the server. The server also stops at EOF or after
    ``timeout`` seconds without a request, so it never outlives a parent that
    forgot it.
    """
    _check_conn("conn", conn)
    timeout = check_timeout("timeout", timeout)
    while conn.poll(timeout):
        try:
            request = conn.recv()
        except EOFError:
            break
        if request is None:
            break
        request_id, op, args = request
        try:
            reply = (request_id, "ok", _run_operation(op, tuple(args)))
        except Exception as exc:  # the client decides what to do with it
            reply = (request_id, "error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except PEER_GONE:
            break  # the client has gone away
    conn.close()


class RemoteError(Exception):
    """An operation failed in the server; the message is the server's error."""


class PipeClient:
    """The parent's side of ``rpc_server``: ``client.call("add", 2, 3, timeout=1)``.

    Every request carries a number. A reply with an older number (one that
    came after its call had already timed out) is discarded, so a late answer
    is never mistaken for the answer to the next question.
    """

    def __init__(self, conn: Any) -> None:
        self.conn = _check_conn("conn", conn)
        self.next_id = 0
        self.discarded = 0

    def call(self, op: str, *args: Any, timeout: float = 1.0) -> Any:
        """Send one request and wait at most ``timeout`` s for its reply.

        Raises ``TimeoutError`` when the reply is late and ``RemoteError``
        when the operation failed in the server.
        """
        check_type("op", op, str)
        timeout = check_timeout("timeout", timeout)
        self.next_id += 1
        request_id = self.next_id
        self.conn.send((request_id, op, args))
        deadline = time.monotonic() + timeout
        while True:
            if not self.conn.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"no reply to {op!r} within {timeout:g} s")
            reply_id, status, value = self.conn.recv()
            if reply_id != request_id:
                self.discarded += 1  # the late answer to an earlier call
                continue
            if status == "error":
                raise RemoteError(value)
            return value

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

    It listens on a free port chosen by the OS (port 0), sends
    ``("port", number)`` on ``report``, then for each client reports
    ``("served", name)`` or ``("refused", "AuthenticationError: ...")``.
    Only clients that prove they know ``authkey`` get through.
    """
    _check_conn("report", report)
    check_type("authkey", authkey, bytes)
    n_clients = check_int("n_clients", n_clients, minimum=1, maximum=10)
    timeout = check_timeout("timeout", timeout)
    with Listener(("127.0.0.1", 0), authkey=authkey) as listener:
        report.send(("port", listener.address[1]))
        for _ in range(n_clients):
            try:
                with listener.accept() as conn:
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
    """Child worker: connect to ``serve_authenticated`` with ``authkey`` and say ``name``.

    Reports ``("reply", text)`` or ``("refused", "AuthenticationError: ...")``.
    """
    port = check_int("port", port, minimum=1, maximum=65535)
    check_type("authkey", authkey, bytes)
    check_type("name", name, str)
    _check_conn("report", report)
    timeout = check_timeout("timeout", timeout)
    try:
        with Client(("127.0.0.1", port), authkey=authkey) as conn:
            conn.send(name)
            reply = conn.recv() if conn.poll(timeout) else "(no reply)"
        outcome = ("reply", reply)
    except AuthenticationError as exc:
        outcome = ("refused", f"AuthenticationError: {exc}")
    _report(report, outcome)


# --------------------------------------------------------------------------
# exercises' partners
# --------------------------------------------------------------------------


def echo_server(conn: Any, answer: int = 1000, timeout: float = 5.0) -> None:
    """Child worker: answer each ``("ping", i)`` with ``("pong", i)``.

    After ``answer`` replies it goes silent (it keeps reading but answers
    nothing), which is how the ping-pong exercise checks your timeouts. A
    ``("hello",)`` is always answered with ``("hello",)`` and not counted: a
    caller can use it to know the server is up. The server stops at ``None``,
    at EOF, when its partner is gone, or after ``timeout`` seconds without a
    message.
    """
    _check_conn("conn", conn)
    answer = check_int("answer", answer, minimum=0)
    timeout = check_timeout("timeout", timeout)
    answered = 0
    try:
        while conn.poll(timeout):
            message = conn.recv()
            if message is None:
                break
            if message == ("hello",):
                conn.send(("hello",))
            elif answered < answer and isinstance(message, tuple) and message[:1] == ("ping",):
                conn.send(("pong", *message[1:]))
                answered += 1
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the partner has gone away: nothing left to answer
    conn.close()


def send_after(
    conn: Any, items: list, delay: float = 0.0, hold: float = 0.0, go: Any = None
) -> None:
    """Child worker: wait ``delay`` s, send each of ``items``, keep the end open ``hold`` s.

    Used for fan-in: several of these, each with its own pipe. Closing the end
    at the end is what lets the reader see ``EOFError``; ``hold`` delays it.
    If ``go`` (a ``Barrier`` or an ``Event``) is given, the child first waits
    there, at most 10 s, so that a caller can start the clock only once every
    child is up. If the reader has gone away, the child stops quietly.
    """
    _check_conn("conn", conn)
    check_type("items", items, (list, tuple))
    delay = check_number("delay", delay, minimum=0.0, maximum=30.0)
    hold = check_number("hold", hold, minimum=0.0, maximum=30.0)
    if go is not None:
        with contextlib.suppress(threading.BrokenBarrierError):  # go on anyway
            go.wait(10.0)
    time.sleep(delay)
    try:
        for item in items:
            conn.send(item)
    except (BrokenPipeError, ConnectionResetError):
        pass  # nobody is reading any more
    else:
        time.sleep(hold)
    conn.close()


def _context(context: Any) -> Any:
    """``context`` if given (a ``get_context(...)`` result), else the default module."""
    import multiprocessing

    if context is None:
        return multiprocessing
    if not hasattr(context, "Process") or not hasattr(context, "Pipe"):
        raise TypeError(
            "context must be a multiprocessing context, e.g. "
            f"multiprocessing.get_context('spawn'), got {type(context).__name__}"
        )
    return context


__all__ = [
    "ExchangeResult",
    "OPERATIONS",
    "PipeClient",
    "RaceResult",
    "RemoteError",
    "StreamReport",
    "Surprise",
    "ask_authenticated",
    "echo_server",
    "exchange",
    "make_pattern",
    "probe_capacity",
    "receive_until_eof",
    "receive_until_sentinel",
    "recv_in_chunks",
    "reply_once",
    "rpc_server",
    "run_exchange",
    "run_writers",
    "send_after",
    "send_in_chunks",
    "send_items",
    "send_pattern",
    "send_race",
    "race_worker",
    "serve_authenticated",
    "write_tagged",
]
