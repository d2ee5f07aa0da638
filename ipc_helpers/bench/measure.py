"""The timed parts of the benchmark, parent side: throughput, round trips, batching, ...

Every part follows the same method: one warm-up round that is thrown away,
then ``rounds`` timed rounds; inside each round every mechanism (and the
reference doing the same work) runs once, one after the other, so their
ratio is taken under the same machine load. Timed loops use each
mechanism's plain calls (``get()``, ``recv_bytes()``); a bounded wait comes
first, and a child that dies afterwards means end-of-file, not a hang.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import select
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..cleanup import stop, track
from ..validation import check_choice, check_int, check_timeout
from .catalogue import (
    CHUNK,
    DRAWN_BESIDE,
    FREE,
    MAX_PAYLOAD,
    MB,
    MIN_PAYLOAD,
    MODES,
    ONE_CPU,
    PLACEMENTS,
    REFERENCES,
    ROUND_TRIP,
    THROUGHPUT,
    KiB,
    MiB,
    Mode,
)
from .checks import check_mechanisms, check_payloads, check_placement
from .placement import (
    actual_placement,
    cannot_pin,
    children_deaf_to_interrupts,
    chosen_cpu,
    ignore_interrupts,
    minor_faults,
    placed,
    wait_until,
)
from .results import Measurement, size_label, summarise
from .server import SMALL, read_exactly, write_all
from .session import Session
from .workers import noop, recv_chunks_into

Progress = Callable[[str], None] | None


def messages_per_round(size: int, mode: Mode) -> int:
    """How many messages of ``size`` bytes one throughput round sends."""
    return max(8, min(mode.max_messages, mode.round_bytes // size))  # 8: not a cold start alone


def _first(ready: Callable[[float], bool], timeout: float) -> None:
    """Wait (bounded, in short slices) until the first message of a round is there."""
    wait_until(ready, timeout, "no message")


def _fd_ready(fd: int) -> Callable[[float], bool]:
    return lambda timeout: bool(select.select([fd], [], [], timeout)[0])


def _time_throughput(s: Session, mech: str, size: int, count: int, buf: memoryview) -> float:
    """Seconds to move ``count`` messages of ``size`` bytes, child -> parent."""
    if mech == "memcpy":
        return _time_memcpy(size, count)
    if mech == "shared_memory":
        return _time_shm(s, size, count)
    mine, t = s.mine, s.timeout
    if mech in ("raw_socketpair", "raw_pipe"):
        chan, end = (
            ("duplex", mine["duplex"])
            if mech == "raw_socketpair"
            else ("oneway_w", mine["oneway_r"])
        )
        start = s.start("send", "raw", chan, size, count)
        fd, total, step = end.fileno(), size * count, min(size, len(buf))
        _first(_fd_ready(fd), t)
        got = 0
        while got < total:
            n = os.readv(fd, [buf[: min(step, total - got)]])
            if n == 0:
                raise EOFError("the benchmark child closed its end")
            got += n
    elif mech in ("queue", "simplequeue"):
        q = mine[mech]
        start = s.start("send", "put", mech, size, count)
        _first(q._reader.poll, t)
        for _ in range(count):
            q.get()
    elif mech == "manager_queue":  # a proxy: a dead child is no EOF here
        q = mine[mech]
        start = s.start("send", "put", mech, size, count)
        for _ in range(count):
            q.get(timeout=t)
    else:
        end = mine["oneway_r"] if mech == "pipe_oneway" else mine["duplex"]
        chan = "oneway_w" if mech == "pipe_oneway" else "duplex"
        how = {"pipe_pickle": "pickle", "pipe_chunks": "chunks"}.get(mech, "bytes")
        start = s.start("send", how, chan, size, count)
        _first(end.poll, t)
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

    signals = s.mine["shm_signals"]
    shared = np.ndarray((size,), dtype=np.uint8, buffer=s.shm.buf)
    mine = np.empty(size, dtype=np.uint8)
    mine.fill(0)  # touch the pages now, so that no page fault is timed
    try:
        start = s.start("shm", size, count)
        _first(signals.poll, s.timeout)
        for _ in range(count):
            signals.recv_bytes()  # "in": the child has copied in
            np.copyto(mine, shared)  # copy out
            signals.send_bytes(b"t")  # "taken"
        elapsed = time.perf_counter() - start
    finally:
        del shared
    s.wait_done()
    if mine[0] != 1 or mine[-1] != 1:
        raise RuntimeError("the shared-memory transfer delivered wrong data")
    return elapsed


def measure_throughput(
    session: Session,
    mechanisms: Sequence[str],
    payloads: Sequence[int],
    mode: Mode,
    placement: str = ONE_CPU,
    progress: Progress = None,
) -> list[Measurement]:
    """Throughput (MB/s) of each mechanism at each payload, beside the references.

    For each payload: one warm-up round, then ``mode.rounds`` rounds; in each
    round every mechanism and every reference drawn beside it runs once, one
    after the other. The percentage of the reference is the median of the
    per-round ratios, where the reference does the same work.
    """
    mechanisms = check_mechanisms(mechanisms, THROUGHPUT)
    payloads = check_payloads(payloads)
    placement = actual_placement(check_placement(placement))
    if "shared_memory" in mechanisms and (session.shm is None or session.shm.size < max(payloads)):
        raise ValueError("the session's shared-memory segment is smaller than the largest payload")
    refs = list(dict.fromkeys(DRAWN_BESIDE[m] for m in mechanisms))
    order = [*refs, *mechanisms]
    buf = memoryview(bytearray(max(payloads)))
    rows = []
    for size in payloads:
        if progress:
            progress(f"throughput at {size_label(size)}")
        count = messages_per_round(size, mode)
        speed: dict[str, list[float]] = {m: [] for m in order}
        faults = dict.fromkeys(order, 0)
        cpu = chosen_cpu(placement)
        for r in range(mode.rounds + 1):
            with placed(placement, cpu):
                for m in order:
                    before = minor_faults()
                    seconds = _time_throughput(session, m, size, count, buf)
                    if r:  # round 0 is the warm-up
                        speed[m].append(size * count / seconds / MB)
                        faults[m] += minor_faults() - before
        mib = size * count * mode.rounds / MiB
        for m in order:
            if m in REFERENCES:
                row = summarise(
                    m, "throughput", size, speed[m], "MB/s", REFERENCES[m], placement=placement
                )
            else:
                ref = THROUGHPUT[m][1]
                ratios = [a / b for a, b in zip(speed[m], speed[ref], strict=True)] if ref else ()
                row = summarise(
                    m,
                    "throughput",
                    size,
                    speed[m],
                    "MB/s",
                    THROUGHPUT[m][0],
                    ratios=ratios,
                    reference=ref,
                    placement=placement,
                )
            if minor_faults() >= 0:
                row.faults_per_mib = faults[m] / mib
            rows.append(row)
    return rows


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
    start = s.start("echo", how, count)
    if how == "raw":
        rfd, wfd = mine["oneway_r"].fileno(), mine["back_w"].fileno()
        one = memoryview(bytearray(1))
        for _ in range(count):
            write_all(wfd, one)
            read_exactly(rfd, one)
    elif how in ("bytes", "pickle"):
        end = mine["duplex"]
        send, recv = (end.send_bytes, end.recv_bytes) if how == "bytes" else (end.send, end.recv)
        for _ in range(count):
            send(SMALL)
            recv()
    elif how == "manager_queue":  # a proxy: bound each get
        out, back = mine["manager_queue_back"], mine["manager_queue"]
        for _ in range(count):
            out.put(SMALL)
            back.get(timeout=t)
    else:  # "queue", "simplequeue": a dead child is EOF here
        out, back = mine[how + "_back"], mine[how]
        for _ in range(count):
            out.put(SMALL)
            back.get()
    elapsed = time.perf_counter() - start
    s.wait_done()
    return elapsed


def measure_round_trips(
    session: Session,
    mechanisms: Sequence[str],
    mode: Mode,
    placement: str = ONE_CPU,
    progress: Progress = None,
) -> list[Measurement]:
    """Microseconds per small round trip (a 64-byte message there and back)."""
    mechanisms = check_mechanisms(mechanisms, ROUND_TRIP)
    placement = actual_placement(check_placement(placement))
    if progress:
        progress("round trips")
    micro: dict[str, list[float]] = {m: [] for m in mechanisms}
    cpu = chosen_cpu(placement)
    for r in range(mode.rounds + 1):
        with placed(placement, cpu):
            for m in mechanisms:
                count = mode.round_trips // 3 if m.startswith("manager") else mode.round_trips
                seconds = _time_round_trips(session, m, count)
                if r:
                    micro[m].append(seconds / count * 1e6)
    return [
        summarise(m, "round trip", 0, micro[m], "µs", ROUND_TRIP[m], placement=placement)
        for m in mechanisms
    ]


def _time_items(s: Session, n_items: int, batch: int) -> float:
    q = s.mine["queue"]
    start = s.start("items", n_items, batch)
    _first(q._reader.poll, s.timeout)
    got = 0
    while (message := q.get()) is not None:
        got += len(message) if isinstance(message, list) else 1
    elapsed = time.perf_counter() - start
    s.wait_done()
    if got != n_items:
        raise RuntimeError(f"expected {n_items} items, got {got}")
    return elapsed


def measure_batching(
    session: Session,
    mode: Mode,
    batch: int = 100,
    placement: str = ONE_CPU,
    progress: Progress = None,
) -> list[Measurement]:
    """Small items per second through a ``Queue``: one per message vs ``batch`` per message.

    The batched run moves ten times as many items per round (it is that much
    faster); both runs alternate.
    """
    check_int("batch", batch, minimum=2, maximum=10_000)
    placement = actual_placement(check_placement(placement))
    if progress:
        progress("small items: one per message vs batches")
    single, batched = [], []
    n_single, n_batched = mode.small_items, mode.small_items * 10
    cpu = chosen_cpu(placement)
    for r in range(mode.rounds + 1):
        with placed(placement, cpu):
            a = _time_items(session, n_single, 1)
            b = _time_items(session, n_batched, batch)
        if r:
            single.append(n_single / a)
            batched.append(n_batched / b)
    return [
        summarise(
            "queue_single",
            "items/s",
            0,
            single,
            "items/s",
            "Queue, 1 item per message",
            placement=placement,
        ),
        summarise(
            "queue_batched",
            "items/s",
            0,
            batched,
            "items/s",
            f"Queue, {batch} items per message",
            placement=placement,
        ),
    ]


def measure_value_ops(mode: Mode, progress: Progress = None) -> list[Measurement]:
    """Cost of ``v.value += 1`` on a ``Value`` with its lock held, and on a ``RawValue``.

    One process, no other process involved: what a shared counter costs
    when nobody else wants it.
    """
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
        summarise("value_raw", "operation", 0, without, "µs", "RawValue: v.value += 1"),
        summarise("value_lock", "operation", 0, with_lock, "µs", "Value: locked v.value += 1"),
    ]


#: Seconds between two timed process starts (not timed).
START_GAP = 0.02


def measure_start_cost(
    methods: Sequence[str] = ("fork", "spawn", "forkserver"),
    rounds: int = 5,
    timeout: float = 30.0,
    progress: Progress = None,
) -> list[Measurement]:
    """Milliseconds to start and join a child that does nothing, per start method.

    Each method gets a warm-up start (which also starts the forkserver's
    server process), then ``rounds`` timed ones, in a block of its own: a
    program uses one start method, and a start right after a child of
    another method costs more. Processes are free to run on any CPU here:
    start-up is what a program really pays.
    """
    methods = check_mechanisms(methods, dict.fromkeys(mp.get_all_start_methods(), ""), "methods")
    rounds = check_int("rounds", rounds, minimum=1, maximum=100)
    timeout = check_timeout("timeout", timeout)
    if progress:
        progress("process start cost")
    rows = []
    for m in methods:
        millis = []
        for r in range(rounds + 1):
            p = mp.get_context(m).Process(target=noop)
            with children_deaf_to_interrupts():
                start = time.perf_counter()
                p.start()
            p.join(timeout)
            elapsed = time.perf_counter() - start
            if stop([p], timeout=1.0) != [0]:
                raise RuntimeError(f"the {m} child did not exit cleanly")
            if r:
                millis.append(elapsed * 1e3)
            time.sleep(START_GAP)  # spread the starts: one busy moment cannot spoil them all
        rows.append(summarise(m, "start", 0, millis, "ms", f"start + join, {m}", placement="free"))
    return rows


def measure_large_shm(
    size: int = 64 * MiB,
    rounds: int = 5,
    timeout: float = 60.0,
    placement: str = ONE_CPU,
    progress: Progress = None,
) -> list[Measurement]:
    """A large array through ``SharedMemory`` (copy in, copy out) beside ``memcpy``.

    Needs ``size`` bytes of ``/dev/shm``: 64 MiB does **not** fit in Binder's
    or Docker's default 64 MB ``/dev/shm`` (the notebook's quick mode never
    runs it).
    """
    size = check_int("size", size, minimum=MIN_PAYLOAD, maximum=MAX_PAYLOAD)
    rounds = check_int("rounds", rounds, minimum=1, maximum=100)
    mode = Mode((size,), rounds, size, 2, 0, 0, 0, 0, 0, 0.0)
    if progress:
        progress(f"SharedMemory transfer of {size_label(size)}")
    with Session(shm_size=size, timeout=timeout) as s:
        rows = measure_throughput(s, ["shared_memory"], [size], mode, placement)
    for row in rows:
        row.operation = "large transfer"
    return rows


# --- page faults in a fresh process -----------------------------------------


def fault_receiver(end: Any, how: str, size: int, count: int, report: Any) -> None:
    """Receive ``count`` messages of ``size`` bytes and report this process's page faults.

    ``how`` is ``"pipe_bytes"`` (``recv_bytes``: a fresh ``bytes`` object per
    message) or ``"pipe_chunks"`` (``recv_chunks_into`` one reused buffer).
    """
    ignore_interrupts()
    buf = bytearray(size) if how == "pipe_chunks" else None
    before = minor_faults()
    for _ in range(count):
        if buf is None:
            end.recv_bytes()
        else:
            recv_chunks_into(end, buf, size)
    report.send(minor_faults() - before)


def page_faults(
    mechanism: str, size: int = 16 * MiB, count: int = 4, timeout: float = 30.0
) -> float:
    """Minor page faults per MiB received through a ``Pipe()`` by a fresh process.

    ``mechanism`` is ``"pipe_bytes"`` (a fresh ``bytes`` object per message)
    or ``"pipe_chunks"`` (64 KiB chunks into one reused buffer). The receiver
    is a new ``spawn`` child, so its memory has no history (as in a program
    that just started); this process sends. A page fault is the kernel
    handing a process a fresh page of memory on first touch. Linux and
    macOS only (``resource`` module).
    """
    from .workers import send_chunks

    check_choice("mechanism", mechanism, ("pipe_bytes", "pipe_chunks"))
    size = check_int("size", size, minimum=CHUNK, maximum=MAX_PAYLOAD)
    count = check_int("count", count, minimum=1, maximum=100)
    timeout = check_timeout("timeout", timeout)
    if minor_faults() < 0:
        raise RuntimeError("page faults cannot be counted on this system (no resource module)")
    ctx = mp.get_context("spawn")
    mine, theirs = ctx.Pipe()
    report_r, report_w = ctx.Pipe(duplex=False)
    data = b"\x01" * size
    child = ctx.Process(target=fault_receiver, args=(theirs, mechanism, size, count, report_w))
    with track():  # Kernel -> Interrupt: the child is stopped
        try:
            with children_deaf_to_interrupts():
                child.start()
            theirs.close()
            report_w.close()
            for _ in range(count):
                if mechanism == "pipe_bytes":
                    mine.send_bytes(data)
                else:
                    send_chunks(mine, data)
            wait_until(report_r.poll, timeout, "the receiver did not report")
            faults = report_r.recv()
        finally:
            stop([child], timeout=2.0)
            for end in (mine, theirs, report_r, report_w):
                end.close()
    return faults / (size * count / MiB)


def compare_placements(
    rounds: int = 5, timeout: float = 30.0, progress: Progress = None
) -> list[Measurement]:
    """The same figures with every process on one CPU, then free to use any CPU.

    Round trips (raw pipe, ``Pipe``, ``Queue``) and ``Pipe`` throughput at
    4 KiB and 64 KiB, beside the raw socket pair. Where the system cannot
    pin (macOS, Windows), both sets are unpinned: ``cannot_pin()`` says so.
    """
    rounds = check_int("rounds", rounds, minimum=1, maximum=20)
    mode = dataclasses.replace(MODES["quick"], rounds=rounds)
    rows: list[Measurement] = []
    placements = [FREE] if cannot_pin() else PLACEMENTS  # macOS: nothing to compare with
    with track(), Session(timeout=check_timeout("timeout", timeout)) as s:
        for placement in placements:
            if progress:
                progress(f"placement: {placement}")
            rows += measure_round_trips(s, ["raw_pipe_rt", "pipe_bytes", "queue"], mode, placement)
            rows += measure_throughput(s, ["pipe_bytes"], [4 * KiB, 64 * KiB], mode, placement)
    return rows
