"""Benchmarks for notebook 05: every mechanism beside the machine's own limits.

Run it from a shell::

    python -m ipc_helpers.bench --quick            # at most ~20 s
    python -m ipc_helpers.bench --full --json out.json   # at most ~3 minutes

or from Python with ``run_benchmark("quick")``.

How the numbers are taken (the *method*):

- One long-lived **server** child process holds one end of every channel
  (``Pipe()``, ``Pipe(duplex=False)``, ``Queue``, ``SimpleQueue``, a
  ``SharedMemory`` segment, a ``Manager`` queue). Starting it once keeps
  process start-up out of every figure except the start-cost one.
- Each figure gets a **warm-up** round that is thrown away, then at least five
  timed **rounds**. We report the median and the min-max range of the rounds.
- Within a round, every mechanism and its **reference** run one after the
  other, so the ratio "mechanism / reference" of that round is taken under the
  same machine load. The percentage we report is the median of those ratios.
- The references are the physical limits measured in the same run: a raw
  ``os.pipe`` and a raw socket pair (``os.write`` / ``os.readv`` on the file
  descriptors, no framing, no pickling), a raw 1-byte pipe round trip, and a
  memory copy (``numpy.copyto``).
- Every child is joined, every segment unlinked, every wait has a bound.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import select
import signal
import statistics
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from typing import Any, Callable

from .cleanup import stop
from .validation import check_choice, check_int, check_timeout

KiB = 1024
MiB = 1024 * KiB

#: Payload sizes the benchmark measures by default: 64 B to 16 MiB.
PAYLOADS = (64, 4 * KiB, 64 * KiB, 1 * MiB, 16 * MiB)
#: Smallest and largest payload the benchmark accepts.
MIN_PAYLOAD = 1
MAX_PAYLOAD = 64 * MiB
#: The chunk size of the "chunks" remedy and the raw pipe's best write size.
CHUNK = 64 * KiB

#: Throughput mechanisms: label, and the reference measured beside it.
THROUGHPUT = {
    "pipe_bytes": ("Pipe() send_bytes/recv_bytes", "raw_socketpair"),
    "pipe_into": ("Pipe() send_bytes/recv_bytes_into", "raw_socketpair"),
    "pipe_chunks": ("Pipe() 64 KiB chunks into a buffer", "raw_socketpair"),
    "pipe_pickle": ("Pipe() send/recv (pickle)", "raw_socketpair"),
    "pipe_oneway": ("Pipe(duplex=False) send_bytes/recv_bytes", "raw_pipe"),
    "queue": ("Queue put/get", "raw_pipe"),
    "simplequeue": ("SimpleQueue put/get", "raw_pipe"),
    "shared_memory": ("SharedMemory + numpy (copy in, copy out)", "memcpy"),
    "manager_queue": ("Manager().Queue() put/get", "raw_socketpair"),
}
#: The physical limits, measured in the same rounds as the mechanisms.
REFERENCES = {
    "raw_socketpair": "raw socket pair (os.write / os.readv)",
    "raw_pipe": "raw os.pipe (os.write / os.readv)",
    "memcpy": "memory copy (numpy.copyto)",
}
#: Round-trip mechanisms (a small message there and back).
ROUND_TRIP = {
    "raw_pipe_rt": "raw os.pipe, 1 byte each way (reference)",
    "pipe_bytes": "Pipe() send_bytes/recv_bytes",
    "pipe_pickle": "Pipe() send/recv (pickle)",
    "queue": "Queue put/get",
    "simplequeue": "SimpleQueue put/get",
    "manager_queue": "Manager().Queue() put/get",
    "manager_dict": "Manager().dict() d[key] = value (one proxy call)",
}
START_METHODS = ("fork", "spawn", "forkserver")

_MB = 1e6  # throughput unit: MB/s (10**6 bytes per second)


@dataclass(frozen=True)
class Mode:
    """How much a benchmark mode measures."""

    payloads: tuple[int, ...]
    rounds: int
    round_bytes: int  # bytes per throughput round (before the limits below)
    max_messages: int  # at most this many messages per round
    round_trips: int  # round trips per latency round
    small_items: int  # items per batching round (one per message)
    value_ops: int  # operations per Value round
    start_rounds: int
    large_shm: int  # size of the large SharedMemory transfer (0: none)
    time_limit: float  # seconds


MODES = {
    "quick": Mode(PAYLOADS, 5, 4 * MiB, 400, 300, 1500, 20_000, 5, 0, 20.0),
    "full": Mode(PAYLOADS, 9, 32 * MiB, 5000, 3000, 20_000, 200_000, 9, 64 * MiB, 180.0),
}


@dataclass
class Figure:
    """One measured figure: the median of ``rounds`` timed rounds.

    ``value`` is the median, in ``unit``; ``min`` and ``max`` are the slowest
    and fastest rounds' values. ``percent_of_reference`` is the median, over
    rounds, of this mechanism's speed divided by its ``reference``'s speed in
    the same round (100 means as fast as the physical limit).
    """

    mechanism: str
    operation: str
    payload: int
    value: float
    unit: str
    min: float
    median: float
    max: float
    rounds: int
    reference: str = ""
    percent_of_reference: float | None = None
    label: str = ""
    #: Minor page faults in the receiving (parent) process per MiB received,
    #: for throughput figures on Linux/macOS: fresh memory the kernel had to
    #: hand out while the data arrived.
    faults_per_mib: float | None = None


@dataclass
class Result:
    """Everything a benchmark run measured."""

    mode: str
    figures: list[Figure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    start_method: str = ""
    cpus: int = 0

    def find(self, mechanism: str, operation: str, payload: int = 0) -> Figure:
        """The figure for ``mechanism`` / ``operation`` / ``payload``; ``KeyError`` if none."""
        for f in self.figures:
            if (f.mechanism, f.operation, f.payload) == (mechanism, operation, payload):
                return f
        raise KeyError(f"no figure for {mechanism!r} {operation!r} at {payload} bytes")

    def select(self, operation: str) -> list[Figure]:
        """All figures of one ``operation`` (``"throughput"``, ``"round trip"``, ...)."""
        return [f for f in self.figures if f.operation == operation]

    def records(self) -> list[dict[str, Any]]:
        """Every figure as a plain dict (what ``--json`` writes)."""
        return [asdict(f) for f in self.figures]

    def table(self) -> str:
        """A readable table of every figure."""
        lines = [
            f"mode {self.mode}, start method {self.start_method}, {self.cpus} CPU(s), "
            f"{self.seconds:.1f} s",
            f"{'mechanism':44s} {'operation':11s} {'payload':>8s} {'median':>10s} "
            f"{'unit':8s} {'min-max':>21s} {'% of ref':>8s}",
        ]
        for f in self.figures:
            pct = "" if f.percent_of_reference is None else f"{f.percent_of_reference:7.0f}%"
            name = (f.label or f.mechanism)[:44]
            lines.append(
                f"{name:44s} {f.operation:11s} {size_label(f.payload):>8s} "
                f"{_num(f.median):>10s} {f.unit:8s} {_num(f.min):>10s}-{_num(f.max):<10s} {pct:>8s}"
            )
        if self.skipped:
            lines.append("time limit reached; not measured: " + ", ".join(self.skipped))
        return "\n".join(lines)


def size_label(n: int) -> str:
    """``65536`` -> ``'64 KiB'``; ``0`` -> ``''`` (figures without a payload)."""
    if n <= 0:
        return ""
    for unit, scale in (("MiB", MiB), ("KiB", KiB)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def _num(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------


def check_payloads(payloads: Any) -> tuple[int, ...]:
    """Return ``payloads`` as a sorted tuple of sizes in ``[MIN_PAYLOAD, MAX_PAYLOAD]``."""
    if isinstance(payloads, (str, bytes)) or not isinstance(payloads, Iterable):
        raise TypeError(f"payloads must be a list of sizes in bytes, got {type(payloads).__name__}")
    sizes = [
        check_int(f"payloads[{i}]", p, minimum=MIN_PAYLOAD, maximum=MAX_PAYLOAD)
        for i, p in enumerate(payloads)
    ]
    if not sizes:
        raise ValueError("payloads must hold at least one size")
    return tuple(sorted(set(sizes)))


def check_mechanisms(
    mechanisms: Any, known: dict[str, str] | dict[str, tuple[str, str]], name: str = "mechanisms"
) -> tuple[str, ...]:
    """Return ``mechanisms`` as a tuple of names from ``known`` (no repeats)."""
    if isinstance(mechanisms, str) or not isinstance(mechanisms, Iterable):
        raise TypeError(f"{name} must be a list of names, got {type(mechanisms).__name__}")
    chosen = tuple(dict.fromkeys(mechanisms))
    if not chosen:
        raise ValueError(f"{name} must name at least one mechanism")
    for m in chosen:
        if m not in known:
            raise ValueError(f"unknown mechanism {m!r} in {name}; choose from {', '.join(known)}")
    return chosen


# --------------------------------------------------------------------------
# Workers (run in children; they never print)
# --------------------------------------------------------------------------


def noop() -> None:
    """The smallest possible child: used to time process start-up."""


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _read_exactly(fd: int, view: memoryview) -> None:
    """Fill ``view`` from ``fd`` (raw ``readv``); ``EOFError`` if the writer is gone."""
    got = 0
    while got < len(view):
        n = os.readv(fd, [view[got:]])
        if n == 0:
            raise EOFError("the other process closed its end")
        got += n


def _serve(control: Connection, chans: dict[str, Any], shm_name: str, timeout: float) -> None:
    """The server child: obey commands from ``control`` until ``stop`` or silence.

    Each command is a tuple ``(name, *args)``; the child runs it and answers
    ``"done"`` (or the error as a string). If the parent says nothing for
    ``timeout`` seconds, or goes away, the child ends.
    """
    shm = shared_memory.SharedMemory(name=shm_name) if shm_name else None
    try:
        while control.poll(timeout):
            command, *args = control.recv()
            if command == "stop":
                break
            # A command that outlives the timeout (the parent vanished in the
            # middle of a round) ends this process: SIGALRM's default action.
            if hasattr(signal, "alarm"):
                signal.alarm(int(timeout) + 1)
            try:
                _COMMANDS[command](control, chans, shm, timeout, *args)
                control.send("done")
            except Exception as exc:  # reported to the parent, never printed
                control.send(f"{type(exc).__name__}: {exc}")
            finally:
                if hasattr(signal, "alarm"):
                    signal.alarm(0)
    except (EOFError, OSError):
        pass  # the parent is gone: nothing left to serve
    finally:
        if shm is not None:
            shm.close()


#: The child's payloads, kept from one round to the next (one per kind), so
#: that making them (and touching fresh memory) is not part of a timed round.
_PAYLOADS: dict[str, Any] = {}


def _payload(kind: str, size: int) -> Any:
    """A payload of ``size`` bytes (``bytes``, or a numpy array for ``"array"``), reused."""
    cached = _PAYLOADS.get(kind)
    if cached is None or len(cached) != size:
        if kind == "array":
            import numpy as np

            cached = np.ones(size, dtype=np.uint8)
        else:
            cached = b"\x01" * size  # real pages, not the shared zero page of bytes(size)
        _PAYLOADS[kind] = cached
    return cached


def _cmd_send(control, chans, shm, timeout, how: str, chan: str, size: int, count: int) -> None:
    payload = _payload("bytes", size)
    end = chans[chan]
    if how == "raw":
        fd, view = end.fileno(), memoryview(payload)
        for _ in range(count):
            _write_all(fd, view)
    elif how == "bytes":
        for _ in range(count):
            end.send_bytes(payload)
    elif how == "chunks":
        for _ in range(count):
            send_chunks(end, payload)
    elif how == "pickle":
        for _ in range(count):
            end.send(payload)
    elif how == "put":
        for _ in range(count):
            end.put(payload)
    else:
        raise ValueError(f"unknown way of sending {how!r}")


def _cmd_items(control, chans, shm, timeout, chan: str, n_items: int, batch: int) -> None:
    produce_items(chans[chan], n_items, batch)


def _cmd_shm(control, chans, shm, timeout, size: int, count: int) -> None:
    import numpy as np

    mine = _payload("array", size)
    shared = np.ndarray((size,), dtype=np.uint8, buffer=shm.buf)
    try:
        for _ in range(count):
            np.copyto(shared, mine)  # copy in
            control.send_bytes(b"r")  # "ready": the parent copies out
            if not control.poll(timeout):
                raise TimeoutError("the parent did not take the data")
            control.recv_bytes()
    finally:
        del shared


def _cmd_echo(control, chans, shm, timeout, how: str, count: int) -> None:
    if how == "raw":
        rfd, wfd = chans["back_r"].fileno(), chans["oneway_w"].fileno()
        one = memoryview(bytearray(1))
        for _ in range(count):
            _read_exactly(rfd, one)
            _write_all(wfd, one)
    elif how in ("bytes", "pickle"):
        end = chans["duplex"]
        recv, send = (end.recv_bytes, end.send_bytes) if how == "bytes" else (end.recv, end.send)
        for _ in range(count):
            send(recv())
    elif how == "simplequeue":
        inbox, outbox = chans["simplequeue_back"], chans["simplequeue"]
        for _ in range(count):
            outbox.put(inbox.get())
    else:  # "queue", "manager_queue"
        inbox, outbox = chans[how + "_back"], chans[how]
        for _ in range(count):
            outbox.put(inbox.get(timeout=timeout))


_COMMANDS: dict[str, Callable[..., None]] = {
    "send": _cmd_send,
    "items": _cmd_items,
    "shm": _cmd_shm,
    "echo": _cmd_echo,
}


def produce_items(q: Any, n_items: int, batch: int = 1) -> None:
    """Put ``n_items`` small tuples ``(i, i * 0.5)`` on ``q``, ``batch`` per message.

    With ``batch=1`` each item is its own message; with ``batch=100`` each
    message is a list of up to 100 items. A ``None`` sentinel ends the stream.
    """
    check_int("n_items", n_items, minimum=0)
    check_int("batch", batch, minimum=1)
    if batch == 1:
        for i in range(n_items):
            q.put((i, i * 0.5))
    else:
        for start in range(0, n_items, batch):
            q.put([(i, i * 0.5) for i in range(start, min(start + batch, n_items))])
    q.put(None)


def consume_items(q: Any, timeout: float = 10.0) -> list:
    """Get messages from ``q`` until the ``None`` sentinel; return the items in order.

    A message that is a list is a batch and is flattened. Each ``get`` waits
    at most ``timeout`` seconds (``queue.Empty`` after that).
    """
    timeout = check_timeout("timeout", timeout)
    items: list = []
    while True:
        message = q.get(timeout=timeout)
        if message is None:
            return items
        if isinstance(message, list):
            items.extend(message)
        else:
            items.append(message)


def send_chunks(conn: Connection, data: Any, chunk: int = CHUNK) -> int:
    """Send the bytes of ``data`` through ``conn`` as messages of at most ``chunk`` bytes.

    ``data`` is anything with a buffer (``bytes``, ``bytearray``, a numpy
    array). The receiver needs the total size first (send it before, or fix
    it in advance) and reads with ``recv_chunks_into``. Returns the bytes sent.
    """
    chunk = check_int("chunk", chunk, minimum=1, maximum=MAX_PAYLOAD)
    view = memoryview(data).cast("B")
    for start in range(0, len(view), chunk):
        conn.send_bytes(view[start : start + chunk])
    return len(view)


def recv_chunks_into(conn: Connection, buf: Any, size: int) -> int:
    """Receive ``size`` bytes sent by ``send_chunks`` into ``buf``, a buffer you reuse.

    Each chunk lands at its offset with ``recv_bytes_into``; small chunks
    reuse the same memory inside ``Connection``, so no fresh pages are needed.
    Returns ``size``. ``EOFError`` if the sender closed its end too early.
    """
    size = check_int("size", size, minimum=0, maximum=MAX_PAYLOAD)
    got = 0
    while got < size:
        got += conn.recv_bytes_into(buf, got)
    return got


def put_big(q: Any, nbytes: int) -> None:
    """Put one ``bytes`` object of ``nbytes`` on ``q`` (the join-before-drain demo)."""
    q.put(bytes(check_int("nbytes", nbytes, minimum=0, maximum=MAX_PAYLOAD)))


def square(x: float) -> float:
    """Return ``x * x``: a tiny task for the ``Pool`` / executor examples."""
    return x * x


# --------------------------------------------------------------------------
# The parent's side: a session with the server child
# --------------------------------------------------------------------------


class Session:
    """The server child and every channel to it, for one benchmark run.

    Use it as a context manager: on exit the child is stopped and joined, the
    manager shut down, every connection closed and the segment unlinked.
    """

    def __init__(self, *, shm_size: int = 0, manager: bool = False, timeout: float = 30.0):
        check_int("shm_size", shm_size, minimum=0, maximum=MAX_PAYLOAD)
        self.timeout = check_timeout("timeout", timeout)
        self._shm_size = shm_size
        self._want_manager = manager
        self.mine: dict[str, Any] = {}
        self.manager: Any = None
        self.shm: shared_memory.SharedMemory | None = None
        self.process: mp.process.BaseProcess | None = None
        self._theirs: list[Connection] = []

    def __enter__(self) -> Session:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _start(self) -> None:
        if self._want_manager:
            # Started first: a process forked later than the pipes would hold
            # copies of their ends, and a dead server child would then not
            # mean end-of-file here.
            self.manager = mp.Manager()
        control, control_child = mp.Pipe()
        duplex, duplex_child = mp.Pipe()
        oneway_r, oneway_w = mp.Pipe(duplex=False)  # child -> parent
        back_r, back_w = mp.Pipe(duplex=False)  # parent -> child
        self._theirs = [control_child, duplex_child, oneway_w, back_r]
        self.mine = {"control": control, "duplex": duplex, "oneway_r": oneway_r, "back_w": back_w}
        chans: dict[str, Any] = {"duplex": duplex_child, "oneway_w": oneway_w, "back_r": back_r}
        for name in ("queue", "queue_back"):
            chans[name] = self.mine[name] = mp.Queue()
        for name in ("simplequeue", "simplequeue_back"):
            chans[name] = self.mine[name] = mp.SimpleQueue()
        if self.manager is not None:
            for name in ("manager_queue", "manager_queue_back"):
                chans[name] = self.mine[name] = self.manager.Queue()
            self.mine["manager_dict"] = self.manager.dict()
        name = ""
        if self._shm_size:
            self.shm = shared_memory.SharedMemory(create=True, size=self._shm_size)
            name = self.shm.name
        self.process = mp.Process(
            target=_serve, args=(control_child, chans, name, self.timeout), name="bench-server"
        )
        self.process.start()
        for end in self._theirs:  # so that a dead child means EOF here, not a hang
            end.close()

    def command(self, *args: Any) -> None:
        """Send a command to the child (its answer is read by ``wait_done``)."""
        self.mine["control"].send(args)

    def wait_done(self) -> None:
        """Wait (bounded) for the child's answer to the last command."""
        control = self.mine["control"]
        if not control.poll(self.timeout):
            raise TimeoutError(f"the benchmark child did not answer within {self.timeout:g} s")
        answer = control.recv()
        if answer != "done":
            raise RuntimeError(f"the benchmark child failed: {answer}")

    def close(self) -> None:
        control = self.mine.get("control")
        if self.process is not None and self.process.pid is not None:
            try:
                if control is not None:
                    control.send(("stop",))
            except OSError:
                pass
            stop([self.process], timeout=5.0)
        for name in ("queue", "queue_back"):
            q = self.mine.get(name)
            if q is not None:
                q.close()
                q.join_thread()
        for name in ("simplequeue", "simplequeue_back"):
            q = self.mine.get(name)
            if q is not None:
                q.close()
        for end in [
            *self._theirs,
            *(self.mine.get(k) for k in ("control", "duplex", "oneway_r", "back_w")),
        ]:
            if end is not None:
                end.close()
        if self.manager is not None:
            self.manager.shutdown()
            self.manager = None
        if self.shm is not None:
            self.shm.close()
            self.shm.unlink()
            self.shm = None
        self.mine = {}


def _messages(size: int, mode: Mode) -> int:
    """How many messages of ``size`` bytes one throughput round sends."""
    return max(2, min(mode.max_messages, mode.round_bytes // size))


def _wait_readable(fd: int, timeout: float) -> None:
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        raise TimeoutError(f"no data within {timeout:g} s")


def _time_throughput(s: Session, mech: str, size: int, count: int, buf: memoryview) -> float:
    """Seconds to move ``count`` messages of ``size`` bytes, child -> parent."""
    t = s.timeout
    mine = s.mine
    if mech in ("raw_socketpair", "raw_pipe"):
        chan, end = (
            ("duplex", mine["duplex"])
            if mech == "raw_socketpair"
            else ("oneway_w", mine["oneway_r"])
        )
        fd, total, step = end.fileno(), size * count, min(size, len(buf))
        start = time.perf_counter()
        s.command("send", "raw", chan, size, count)
        _wait_readable(fd, t)
        got = 0
        while got < total:
            n = os.readv(fd, [buf[: min(step, total - got)]])
            if n == 0:
                raise EOFError("the benchmark child closed its end")
            got += n
    elif mech == "memcpy":
        return _time_memcpy(size, count)
    elif mech == "shared_memory":
        return _time_shm(s, size, count)
    elif mech in ("queue", "manager_queue"):
        q = mine[mech]
        start = time.perf_counter()
        s.command("send", "put", mech, size, count)
        for _ in range(count):
            q.get(timeout=t)
    elif mech == "simplequeue":
        q = mine["simplequeue"]
        start = time.perf_counter()
        s.command("send", "put", "simplequeue", size, count)
        for _ in range(count):
            # SimpleQueue.get() has no timeout: bound it by polling its reader,
            # which is what Queue.get(timeout=...) does inside.
            if not q._reader.poll(t):
                raise TimeoutError(f"no message within {t:g} s")
            q.get()
    else:
        end = mine["oneway_r"] if mech == "pipe_oneway" else mine["duplex"]
        chan = "oneway_w" if mech == "pipe_oneway" else "duplex"
        how = {"pipe_pickle": "pickle", "pipe_chunks": "chunks"}.get(mech, "bytes")
        start = time.perf_counter()
        s.command("send", how, chan, size, count)
        if not end.poll(t):  # the round starts in time; after that a dead child is EOF
            raise TimeoutError(f"no message within {t:g} s")
        if mech == "pipe_into":
            for _ in range(count):
                end.recv_bytes_into(buf)
        elif mech == "pipe_chunks":
            for _ in range(count):
                recv_chunks_into(end, buf, size)
        else:
            recv = end.recv if mech == "pipe_pickle" else end.recv_bytes
            for _ in range(count):
                recv()
    elapsed = time.perf_counter() - start
    s.wait_done()
    return elapsed


def _time_memcpy(size: int, count: int) -> float:
    import numpy as np

    src = np.ones(size, dtype=np.uint8)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # touch the pages before timing
    start = time.perf_counter()
    for _ in range(count):
        np.copyto(dst, src)
    return time.perf_counter() - start


def _time_shm(s: Session, size: int, count: int) -> float:
    import numpy as np

    control = s.mine["control"]
    shared = np.ndarray((size,), dtype=np.uint8, buffer=s.shm.buf)
    mine = np.empty(size, dtype=np.uint8)
    mine.fill(0)  # touch the pages now, so that no page fault is timed
    try:
        start = time.perf_counter()
        s.command("shm", size, count)
        for _ in range(count):
            if not control.poll(s.timeout):
                raise TimeoutError(f"the child wrote nothing within {s.timeout:g} s")
            control.recv_bytes()
            np.copyto(mine, shared)  # copy out
            control.send_bytes(b"a")
        elapsed = time.perf_counter() - start
    finally:
        del shared
    s.wait_done()
    if mine[0] != 1 or mine[-1] != 1:
        raise RuntimeError("the shared-memory transfer delivered wrong data")
    return elapsed


def _summarise(
    mechanism: str,
    operation: str,
    payload: int,
    values: list[float],
    unit: str,
    ratios: list[float] | None = None,
    reference: str = "",
    label: str = "",
) -> Figure:
    pct = statistics.median(ratios) * 100 if ratios else None
    return Figure(
        mechanism,
        operation,
        payload,
        statistics.median(values),
        unit,
        min(values),
        statistics.median(values),
        max(values),
        len(values),
        reference,
        pct,
        label or mechanism,
    )


def measure_throughput(
    session: Session,
    mechanisms: Sequence[str],
    payloads: Sequence[int],
    mode: Mode,
    progress: Callable[[str], None] | None = None,
) -> list[Figure]:
    """Throughput (MB/s) of each mechanism at each payload, with its reference.

    For each payload: one warm-up round, then ``mode.rounds`` rounds; in each
    round every mechanism and every reference it needs runs once, one after
    the other, so the percentage of the reference is taken under the same load.
    """
    mechanisms = check_mechanisms(mechanisms, THROUGHPUT)
    payloads = check_payloads(payloads)
    if "shared_memory" in mechanisms and (session.shm is None or session.shm.size < max(payloads)):
        raise ValueError("the session's shared-memory segment is smaller than the largest payload")
    refs = list(dict.fromkeys(THROUGHPUT[m][1] for m in mechanisms))
    order = [*refs, *mechanisms]
    buf = memoryview(bytearray(max(payloads)))
    figures = []
    for size in payloads:
        if progress:
            progress(f"throughput at {size_label(size)}")
        count = _messages(size, mode)
        speed: dict[str, list[float]] = {m: [] for m in order}
        faults = dict.fromkeys(order, 0)
        with same_cpu():  # see same_cpu(): where the processes run decides a lot
            for r in range(mode.rounds + 1):
                for m in order:
                    before = _minor_faults()
                    seconds = _time_throughput(session, m, size, count, buf)
                    if r:  # round 0 is the warm-up
                        speed[m].append(size * count / seconds / _MB)
                        faults[m] += _minor_faults() - before
        mib = size * count * mode.rounds / MiB
        for m in refs:
            figures.append(
                _summarise(
                    m, "throughput", size, speed[m], "MB/s", label=REFERENCES[m] + " (reference)"
                )
            )
        for m in mechanisms:
            ref = THROUGHPUT[m][1]
            ratios = [a / b for a, b in zip(speed[m], speed[ref])]
            figures.append(
                _summarise(m, "throughput", size, speed[m], "MB/s", ratios, ref, THROUGHPUT[m][0])
            )
        for f in figures[-len(order) :]:
            if _minor_faults() >= 0:
                f.faults_per_mib = faults[f.mechanism] / mib
    return figures


def _minor_faults() -> int:
    """Minor page faults of this process so far (-1 where it cannot be told)."""
    try:
        import resource
    except ImportError:  # Windows
        return -1
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _time_round_trips(s: Session, mech: str, count: int) -> float:
    """Seconds for ``count`` small round trips parent -> child -> parent."""
    mine, t = s.mine, s.timeout
    if mech == "manager_dict":
        d = mine["manager_dict"]
        start = time.perf_counter()
        for i in range(count):
            d["key"] = i
        return time.perf_counter() - start
    how = {"raw_pipe_rt": "raw", "pipe_bytes": "bytes", "pipe_pickle": "pickle"}.get(mech, mech)
    s.command("echo", how, count)
    start = time.perf_counter()
    if how == "raw":
        rfd, wfd = mine["oneway_r"].fileno(), mine["back_w"].fileno()
        one = memoryview(bytearray(1))
        for _ in range(count):
            _write_all(wfd, one)
            _read_exactly(rfd, one)
    elif how in ("bytes", "pickle"):
        end = mine["duplex"]
        send, recv = (end.send_bytes, end.recv_bytes) if how == "bytes" else (end.send, end.recv)
        message = b"x" * 64
        for _ in range(count):
            send(message)
            recv()
    elif how == "simplequeue":
        out, back = mine["simplequeue_back"], mine["simplequeue"]
        for _ in range(count):
            out.put(b"x")
            if not back._reader.poll(t):  # SimpleQueue.get() has no timeout
                raise TimeoutError(f"no answer within {t:g} s")
            back.get()
    else:
        out, back = mine[how + "_back"], mine[how]
        for _ in range(count):
            out.put(b"x")
            back.get(timeout=t)
    elapsed = time.perf_counter() - start
    s.wait_done()
    return elapsed


@contextlib.contextmanager
def same_cpu() -> Iterator[bool]:
    """Run this process and its live children on one CPU inside the block (Linux).

    A round trip costs a few microseconds when both processes share a CPU
    (a context switch) but several times more when the other process sleeps
    on another CPU, which must be woken up (very visible in virtual machines).
    Throughput depends on it too: through a pipe, 4 KiB writes were three
    times faster across two CPUs than on one, and 64 KiB writes three times
    slower (2-CPU virtual machine). Where the processes land is the
    scheduler's choice and changes from minute to minute; pinning every
    process to one CPU makes the figures repeatable and measures what the
    *mechanism* costs. The benchmark does it for every timed part except
    process start.
    Yields ``False`` (and pins nothing) where affinity cannot be set.
    """
    if not hasattr(os, "sched_setaffinity"):
        yield False
        return
    pids = [0, *(p.pid for p in mp.active_children())]
    saved = {pid: os.sched_getaffinity(pid) for pid in pids}
    cpu = min(saved[0])
    try:
        for pid in pids:
            os.sched_setaffinity(pid, {cpu})
        yield True
    finally:
        for pid, mask in saved.items():
            with contextlib.suppress(ProcessLookupError):  # that child may have ended
                os.sched_setaffinity(pid, mask)


def measure_round_trips(
    session: Session,
    mechanisms: Sequence[str],
    mode: Mode,
    progress: Callable[[str], None] | None = None,
) -> list[Figure]:
    """Microseconds per small round trip, beside a raw 1-byte pipe round trip."""
    mechanisms = check_mechanisms(mechanisms, ROUND_TRIP)
    order = ["raw_pipe_rt", *(m for m in mechanisms if m != "raw_pipe_rt")]
    if progress:
        progress("round trips")
    micro: dict[str, list[float]] = {m: [] for m in order}
    with same_cpu():
        for r in range(mode.rounds + 1):
            for m in order:
                count = mode.round_trips // 3 if m.startswith("manager") else mode.round_trips
                seconds = _time_round_trips(session, m, count)
                if r:
                    micro[m].append(seconds / count * 1e6)
    figures = [
        _summarise(
            "raw_pipe_rt",
            "round trip",
            0,
            micro["raw_pipe_rt"],
            "µs",
            label=ROUND_TRIP["raw_pipe_rt"],
        )
    ]
    for m in order[1:]:
        ratios = [ref / mine for ref, mine in zip(micro["raw_pipe_rt"], micro[m])]
        figures.append(
            _summarise(m, "round trip", 0, micro[m], "µs", ratios, "raw_pipe_rt", ROUND_TRIP[m])
        )
    return figures


def _time_items(s: Session, n_items: int, batch: int) -> float:
    q = s.mine["queue"]
    start = time.perf_counter()
    s.command("items", "queue", n_items, batch)
    items = consume_items(q, timeout=s.timeout)
    elapsed = time.perf_counter() - start
    s.wait_done()
    if len(items) != n_items:
        raise RuntimeError(f"expected {n_items} items, got {len(items)}")
    return elapsed


def measure_batching(
    session: Session, mode: Mode, batch: int = 100, progress: Callable[[str], None] | None = None
) -> list[Figure]:
    """Small items per second through a ``Queue``: one per message vs ``batch`` per message.

    The batched run moves ten times as many items per round (it is that much
    faster); both rounds alternate.
    """
    check_int("batch", batch, minimum=2, maximum=10_000)
    if progress:
        progress("small items: one per message vs batches")
    single, batched = [], []
    n_single, n_batched = mode.small_items, mode.small_items * 10
    with same_cpu():
        for r in range(mode.rounds + 1):
            a = _time_items(session, n_single, 1)
            b = _time_items(session, n_batched, batch)
            if r:
                single.append(n_single / a)
                batched.append(n_batched / b)
    ratios = [b / a for a, b in zip(single, batched)]
    return [
        _summarise(
            "queue_single",
            "items/s",
            0,
            single,
            "items/s",
            label="Queue, one small item per message",
        ),
        _summarise(
            "queue_batched",
            "items/s",
            0,
            batched,
            "items/s",
            ratios,
            "queue_single",
            f"Queue, {batch} items per message",
        ),
    ]


def measure_value_ops(mode: Mode, progress: Callable[[str], None] | None = None) -> list[Figure]:
    """Cost of ``v.value += 1`` on a ``Value`` with its lock held, and on a ``RawValue``."""
    if progress:
        progress("Value with and without its lock")
    locked, raw = mp.Value("i", 0), mp.RawValue("i", 0)
    n = mode.value_ops
    with_lock, without = [], []
    for r in range(mode.rounds + 1):
        start = time.perf_counter()
        for _ in range(n):
            with locked.get_lock():
                locked.value += 1
        a = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(n):
            raw.value += 1
        b = time.perf_counter() - start
        if r:
            with_lock.append(a / n * 1e6)
            without.append(b / n * 1e6)
    return [
        _summarise(
            "value_raw", "operation", 0, without, "µs", label="RawValue: v.value += 1 (no lock)"
        ),
        _summarise(
            "value_lock",
            "operation",
            0,
            with_lock,
            "µs",
            label="Value: with v.get_lock(): v.value += 1",
        ),
    ]


def measure_start_cost(
    methods: Sequence[str] = START_METHODS,
    rounds: int = 5,
    timeout: float = 30.0,
    progress: Callable[[str], None] | None = None,
) -> list[Figure]:
    """Milliseconds to start and join a child that does nothing, per start method.

    The methods take turns round by round; a warm-up round (which also starts
    the forkserver's server process) is not counted.
    """
    methods = check_mechanisms(methods, dict.fromkeys(mp.get_all_start_methods(), ""), "methods")
    rounds = check_int("rounds", rounds, minimum=1, maximum=100)
    timeout = check_timeout("timeout", timeout)
    if progress:
        progress("process start cost")
    millis: dict[str, list[float]] = {m: [] for m in methods}
    for r in range(rounds + 1):
        for m in methods:
            p = mp.get_context(m).Process(target=noop)
            start = time.perf_counter()
            p.start()
            p.join(timeout)
            elapsed = time.perf_counter() - start
            if stop([p], timeout=1.0) != [0]:
                raise RuntimeError(f"the {m} child did not exit cleanly")
            if r:
                millis[m].append(elapsed * 1e3)
    return [_summarise(m, "start", 0, millis[m], "ms", label=f"start + join, {m}") for m in methods]


def measure_large_shm(
    size: int = 64 * MiB,
    rounds: int = 5,
    timeout: float = 60.0,
    progress: Callable[[str], None] | None = None,
) -> list[Figure]:
    """A large array through ``SharedMemory`` (copy in, copy out) beside ``memcpy``.

    Needs ``size`` bytes of ``/dev/shm``: 64 MiB does **not** fit in Binder's
    or Docker's default 64 MB ``/dev/shm`` (the notebook's quick mode never
    runs it).
    """
    size = check_int("size", size, minimum=MIN_PAYLOAD, maximum=MAX_PAYLOAD)
    mode = Mode(
        (size,), check_int("rounds", rounds, minimum=1, maximum=100), size, 2, 0, 0, 0, 0, 0, 0.0
    )
    if progress:
        progress(f"SharedMemory transfer of {size_label(size)}")
    with Session(shm_size=size, timeout=timeout) as s:
        figures = measure_throughput(s, ["shared_memory"], [size], mode)
    for f in figures:
        f.operation = "large transfer"
    return figures


def page_faults(
    mechanism: str, size: int = 16 * MiB, count: int = 4, timeout: float = 30.0
) -> float:
    """Minor page faults in this process per MiB received through a ``Pipe()``.

    ``mechanism`` is ``"pipe_bytes"`` (a fresh ``bytes`` object per message)
    or ``"pipe_chunks"`` (64 KiB chunks into one reused buffer). A page fault
    is the kernel giving the process a fresh page of memory on first touch.
    Linux and macOS only (``resource`` module).
    """
    import resource

    check_choice("mechanism", mechanism, ("pipe_bytes", "pipe_chunks"))
    size = check_int("size", size, minimum=CHUNK, maximum=MAX_PAYLOAD)
    count = check_int("count", count, minimum=1, maximum=1000)
    mode = Mode((size,), 1, size * count, count, 0, 0, 0, 0, 0, 0.0)
    buf = memoryview(bytearray(size))
    with Session(timeout=timeout) as s:
        _time_throughput(s, mechanism, size, 1, buf)  # warm-up
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        _time_throughput(s, mechanism, size, _messages(size, mode), buf)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    return (after - before) / (size * count / MiB)


def break_even(figures: Sequence[Figure], faster: str, slower: str) -> int | None:
    """The smallest payload at which ``faster``'s throughput beats ``slower``'s and stays ahead.

    Looks at the ``"throughput"`` figures of both mechanisms at the payloads
    both have; returns ``None`` if ``faster`` is not ahead at the largest one.
    """
    mine = {
        f.payload: f.median
        for f in figures
        if f.mechanism == faster and f.operation == "throughput"
    }
    theirs = {
        f.payload: f.median
        for f in figures
        if f.mechanism == slower and f.operation == "throughput"
    }
    sizes = sorted(set(mine) & set(theirs))
    if not sizes:
        raise ValueError(f"figures has no throughput of both {faster!r} and {slower!r}")
    found = None
    for size in reversed(sizes):
        if mine[size] <= theirs[size]:
            break
        found = size
    return found


# --------------------------------------------------------------------------
# Honesty check: the headline figures measured again, another way
# --------------------------------------------------------------------------


def timed_receiver(end: Any, how: str, count: int, report: Connection, timeout: float) -> None:
    """Receive ``count`` messages and report the seconds from the first to the last.

    The independent measurement of the honesty check: the *receiver* times
    itself (the benchmark times from the parent), in a fresh process, on a
    fresh channel, in one long run instead of rounds. ``how`` is
    ``"recv_bytes"`` (a ``Connection``) or ``"get"`` (a queue).
    """
    if how == "recv_bytes":
        if not end.poll(timeout):
            raise TimeoutError("nothing arrived")
        end.recv_bytes()
        faults, start = _minor_faults(), time.perf_counter()
        for _ in range(count - 1):
            end.recv_bytes()
    else:
        end.get(timeout=timeout)
        faults, start = _minor_faults(), time.perf_counter()
        for _ in range(count - 1):
            end.get(timeout=timeout)
    report.send((time.perf_counter() - start, _minor_faults() - faults))


def pinger(end: Connection, count: int, report: Connection) -> None:
    """Start ``count`` 64-byte round trips on ``end`` and report the mean in µs."""
    message = b"x" * 64
    start = time.perf_counter()
    for _ in range(count):
        end.send_bytes(message)
        end.recv_bytes()
    report.send((time.perf_counter() - start) / count * 1e6)


def echoer(end: Connection, count: int) -> None:
    """Answer ``count`` messages on ``end`` with the same bytes."""
    for _ in range(count):
        end.send_bytes(end.recv_bytes())


def _independent_stream(
    how: str, size: int, count: int, timeout: float
) -> tuple[float, float | None]:
    """MB/s (or items/s for ``"items"``) measured by a fresh receiver child.

    Also returns the receiver's page faults per MiB (``None`` for items).
    The receiver is started with ``spawn`` whatever the start method: a forked
    child would inherit this process's memory allocator, whose state (after
    the benchmark's 16 MiB messages) changes the large-message figures; a
    spawned one starts fresh, like the benchmark's receiver did.
    """
    ctx = mp.get_context("spawn")
    report_r, report_w = ctx.Pipe(duplex=False)
    if how == "pipe":
        end, child_end = ctx.Pipe()
        put, args = end.send_bytes, (child_end, "recv_bytes")
    else:
        end = child_end = ctx.Queue()
        put, args = end.put, (child_end, "get")
    p = ctx.Process(target=timed_receiver, args=(*args, count, report_w, timeout))
    try:
        with same_cpu():  # the same placement as the benchmark's figures
            p.start()
            payload = (1, 0.5) if how == "items" else b"\x01" * size
            for _ in range(count):
                put(payload)
            if not report_r.poll(timeout):
                raise TimeoutError("the receiver did not report")
            seconds, faults = report_r.recv()
    finally:
        stop([p], timeout=timeout)
        if how == "pipe":
            end.close()
            child_end.close()
        else:
            end.close()
            end.join_thread()
        report_r.close()
        report_w.close()
    per_second = (count - 1) / seconds
    if how == "items":
        return per_second, None
    return per_second * size / _MB, faults / ((count - 1) * size / MiB)


def _independent_round_trip(count: int, timeout: float) -> float:
    a, b = mp.Pipe()
    report_r, report_w = mp.Pipe(duplex=False)
    with same_cpu():
        echo = mp.Process(target=echoer, args=(b, count))
        ping = mp.Process(target=pinger, args=(a, count, report_w))
        echo.start()
        ping.start()
        try:
            if not report_r.poll(timeout):
                raise TimeoutError("the round trips did not finish")
            micro = report_r.recv()
        finally:
            stop([ping, echo], timeout=timeout)
            for end in (a, b, report_r, report_w):
                end.close()
    return micro


def _independent_shm(size: int) -> float:
    """MB/s of copy in + copy out of a segment, timed in one process, one long run."""
    import numpy as np

    shm = shared_memory.SharedMemory(create=True, size=size)
    try:
        shared = np.ndarray((size,), dtype=np.uint8, buffer=shm.buf)
        src, dst = np.ones(size, dtype=np.uint8), np.empty(size, dtype=np.uint8)
        np.copyto(shared, src)
        np.copyto(dst, shared)
        start = time.perf_counter()
        for _ in range(5):
            np.copyto(shared, src)
            np.copyto(dst, shared)
        seconds = (time.perf_counter() - start) / 5
        del shared
    finally:
        shm.close()
        shm.unlink()
    return size / seconds / _MB


def _independent_manager(count: int) -> float:
    with mp.Manager() as manager:
        d = manager.dict()
        with same_cpu():
            d["key"] = 0
            start = time.perf_counter()
            for i in range(count):
                d["key"] = i
            seconds = time.perf_counter() - start
    return seconds / count * 1e6


def _independent_start(method: str, count: int, timeout: float) -> float:
    ctx = mp.get_context(method)
    warm = ctx.Process(target=noop)
    warm.start()
    stop([warm], timeout=timeout)
    times = []
    for _ in range(count):
        p = ctx.Process(target=noop)
        start = time.perf_counter()
        p.start()
        p.join(timeout)
        times.append(time.perf_counter() - start)
    stop(mp.active_children(), timeout=1.0)
    return statistics.median(times) * 1e3


def _as_pair(value: Any) -> tuple[float, float | None]:
    return value if isinstance(value, tuple) else (value, None)


def cross_check(
    result: Result, timeout: float = 60.0, progress: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """Measure the headline figures of ``result`` again, independently.

    Each headline figure (Pipe and Queue throughput at 64 KiB and 1 MiB,
    small-object messages per second, the Pipe round trip, the shared-memory
    transfer, the Manager operation, process start) is measured again with
    separate code: a fresh process and channel, timed by the receiver or in
    one long run instead of alternating rounds; three such runs, the middle
    one counts. Returns one dict per figure with both values, the page faults
    per MiB of both receivers (throughput only) and the ratio of the larger
    value to the smaller (1.0 = perfect agreement).
    """
    timeout = check_timeout("timeout", timeout)
    rows: list[dict[str, Any]] = []

    def add(mechanism: str, operation: str, payload: int, measure: Callable[[], Any]) -> None:
        try:
            fig = result.find(mechanism, operation, payload)
        except KeyError:
            return
        if progress:
            progress(f"honesty check: {fig.label} {size_label(payload)}")
        # Three independent runs; the middle one counts (the benchmark's own
        # figures are medians too, so a single unlucky run does not decide).
        runs = sorted((_as_pair(measure()) for _ in range(3)), key=lambda pair: pair[0])
        again, faults = runs[1]
        rows.append(
            {
                "figure": f"{fig.label} {size_label(payload)}".strip(),
                "unit": fig.unit,
                "benchmark": fig.median,
                "independent": again,
                "benchmark_faults_per_mib": fig.faults_per_mib,
                "independent_faults_per_mib": faults,
                "ratio": max(fig.median, again) / min(fig.median, again),
            }
        )

    for size in (64 * KiB, 1 * MiB):
        count = max(50, min(2000, 256 * MiB // size))
        add(
            "pipe_bytes",
            "throughput",
            size,
            lambda size=size, count=count: _independent_stream("pipe", size, count, timeout),
        )
        add(
            "queue",
            "throughput",
            size,
            lambda size=size, count=count: _independent_stream("queue", size, count, timeout),
        )
    add("queue_single", "items/s", 0, lambda: _independent_stream("items", 0, 20_000, timeout))
    add("pipe_bytes", "round trip", 0, lambda: _independent_round_trip(3000, timeout))
    for f in [*result.select("throughput"), *result.select("large transfer")]:
        if f.mechanism == "shared_memory" and f.payload >= 16 * MiB:
            add(
                "shared_memory",
                f.operation,
                f.payload,
                lambda size=f.payload: _independent_shm(size),
            )
    add("manager_dict", "round trip", 0, lambda: _independent_manager(2000))
    for method in START_METHODS:
        add(method, "start", 0, lambda method=method: _independent_start(method, 10, timeout))
    return rows


# --------------------------------------------------------------------------
# The whole benchmark
# --------------------------------------------------------------------------


def run_benchmark(
    mode: str = "quick",
    *,
    payloads: Sequence[int] | None = None,
    mechanisms: Sequence[str] | None = None,
    time_limit: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> Result:
    """Run the benchmark and return every figure.

    ``mode`` is ``"quick"`` (about 10-20 s, little ``/dev/shm``) or ``"full"``
    (a few minutes, more rounds, and a 64 MiB shared-memory transfer).
    ``payloads`` and ``mechanisms`` restrict the throughput part (names from
    ``THROUGHPUT``). ``time_limit`` (seconds, default the mode's) is checked
    between parts: once it is passed, the remaining parts are skipped and
    listed in ``Result.skipped``. ``progress`` is called with a short text
    before each part.
    """
    check_choice("mode", mode, MODES)
    settings = MODES[mode]
    sizes = settings.payloads if payloads is None else check_payloads(payloads)
    chosen = tuple(THROUGHPUT) if mechanisms is None else check_mechanisms(mechanisms, THROUGHPUT)
    limit = settings.time_limit if time_limit is None else check_timeout("time_limit", time_limit)
    if limit < 2.0:
        raise ValueError(
            f"time_limit must be at least 2 s (a benchmark starts processes, warms up and "
            f"times {settings.rounds} rounds), got {limit:g}"
        )
    if settings.large_shm and settings.large_shm > shm_available():
        raise ValueError(
            f"the full mode needs {size_label(settings.large_shm)} free in /dev/shm; "
            f"only {shm_available() // MiB} MiB are free here"
        )
    result = Result(mode, start_method=mp.get_start_method(), cpus=os.cpu_count() or 1)
    started = time.perf_counter()
    shm_size = max(sizes) if "shared_memory" in chosen else 0
    with Session(shm_size=shm_size, manager=True) as s:
        parts: list[tuple[str, Callable[[], list[Figure]]]] = [
            ("throughput", lambda: measure_throughput(s, chosen, sizes, settings, progress)),
            ("round trips", lambda: measure_round_trips(s, tuple(ROUND_TRIP), settings, progress)),
            ("batching", lambda: measure_batching(s, settings, progress=progress)),
            ("Value", lambda: measure_value_ops(settings, progress)),
        ]
        for name, part in parts:
            if time.perf_counter() - started > limit:
                result.skipped.append(name)
                continue
            result.figures.extend(part())
    later = [
        (
            "start cost",
            lambda: measure_start_cost(START_METHODS, settings.start_rounds, progress=progress),
        )
    ]
    if settings.large_shm:
        later.append(
            (
                "large SharedMemory transfer",
                lambda: measure_large_shm(settings.large_shm, settings.rounds, progress=progress),
            )
        )
    for name, part in later:
        if time.perf_counter() - started > limit:
            result.skipped.append(name)
            continue
        result.figures.extend(part())
    result.seconds = time.perf_counter() - started
    return result


def shm_available(directory: str = "/dev/shm") -> int:
    """Free bytes in ``directory`` (a large number where it cannot be told)."""
    try:
        st = os.statvfs(directory)
    except (OSError, AttributeError):
        return MAX_PAYLOAD * 16
    return st.f_bavail * st.f_frsize


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m ipc_helpers.bench --quick|--full [--json FILE]``."""
    parser = argparse.ArgumentParser(
        prog="python -m ipc_helpers.bench",
        description="Measure Python's IPC mechanisms beside this machine's own limits.",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--quick",
        action="store_const",
        const="quick",
        dest="mode",
        help="about 20 s, small /dev/shm use (the default)",
    )
    which.add_argument(
        "--full",
        action="store_const",
        const="full",
        dest="mode",
        help="a few minutes, more rounds, a 64 MiB SharedMemory transfer",
    )
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    parser.add_argument(
        "--time-limit", type=float, metavar="S", help="stop starting new parts after S seconds"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="measure the headline figures again, independently (always on with --full)",
    )
    args = parser.parse_args(argv)
    mode = args.mode or "quick"

    def progress(text: str) -> None:
        print(f"  ... {text}", file=sys.stderr, flush=True)

    try:
        result = run_benchmark(mode, time_limit=args.time_limit, progress=progress)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    print(result.table())
    rows = cross_check(result, progress=progress) if args.check or mode == "full" else []
    if rows:
        print("\nhonesty check: each headline figure measured again, independently")
        for row in rows:
            faults = ""
            if row["independent_faults_per_mib"] is not None:
                faults = (
                    f"  (page faults per MiB: {row['benchmark_faults_per_mib']:.0f} vs "
                    f"{row['independent_faults_per_mib']:.0f})"
                )
            print(
                f"  {row['figure'][:52]:52s} {_num(row['benchmark']):>10s} vs "
                f"{_num(row['independent']):>10s} {row['unit']:8s} ratio {row['ratio']:.2f}"
                + faults
            )
        worst = max(row["ratio"] for row in rows)
        print(f"  largest disagreement: a factor of {worst:.2f} (the target is at most 1.5)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(
                {
                    "mode": result.mode,
                    "start_method": result.start_method,
                    "cpus": result.cpus,
                    "seconds": result.seconds,
                    "skipped": result.skipped,
                    "figures": result.records(),
                    "honesty_check": rows,
                },
                out,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
