"""The benchmark's server child: it holds one end of every channel and obeys commands.

The parent (``session.Session``) sends a command such as
``("send", "put", "queue", 4096, 400)`` on the control pipe; the child gets
everything ready, answers ``"ready"``, waits for the parent's ``go`` (the
parent starts its clock there, so the command protocol is not timed), runs
it and answers ``"done"`` (or the error, as a string). Inside a timed round
the child uses each mechanism's plain blocking calls (``get()``,
``recv_bytes()``), as a program would: bounding each call with a timeout
costs microseconds per call, which would be timed too. The waits are bounded
another way: each command ends the child by ``SIGALRM`` if it outlives the
session's timeout, and every end a process does not use is closed, so a
process that dies means end-of-file for the other, not a hang.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from typing import Any

from .placement import ignore_interrupts, warm_allocator
from .workers import produce_items, send_chunks

#: The message of every small round trip (pickled or sent as bytes).
SMALL = b"x" * 64

#: Ends of the parent -> child queues that the child does not use, and back.
CHILD_CLOSES = {
    "queue": "_reader",
    "queue_back": "_writer",
    "simplequeue": "_reader",
    "simplequeue_back": "_writer",
}


def write_all(fd: int, data: memoryview) -> None:
    """Write every byte of ``data`` to the file descriptor ``fd``."""
    while data:
        data = data[os.write(fd, data) :]


def read_exactly(fd: int, view: memoryview) -> None:
    """Fill ``view`` from ``fd`` (raw ``readv``); ``EOFError`` if the writer is gone."""
    got = 0
    while got < len(view):
        n = os.readv(fd, [view[got:]])
        if n == 0:
            raise EOFError("the other process closed its end")
        got += n


def close_unused(chans: dict[str, Any], which: dict[str, str]) -> None:
    """Close the ends named in ``which`` (channel -> attribute) of the queues in ``chans``."""
    for name, attr in which.items():
        if name in chans:
            getattr(chans[name], attr).close()


def serve(control: Connection, chans: dict[str, Any], shm_name: str, timeout: float) -> None:
    """The server child: obey commands from ``control`` until ``stop`` or silence.

    If the parent says nothing for ``timeout`` seconds, or goes away, the
    child ends. It ignores interrupts: the parent stops it.
    """
    ignore_interrupts()
    warm_allocator()
    close_unused(chans, CHILD_CLOSES)
    shm = shared_memory.SharedMemory(name=shm_name) if shm_name else None
    try:
        while control.poll(timeout):
            command, *args = control.recv()
            if command == "stop":
                break
            if hasattr(signal, "alarm"):  # a command that outlives the timeout ends the child
                signal.alarm(int(timeout) + 1)
            try:
                COMMANDS[command](_ready(control), chans, shm, timeout, *args)
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


def _ready(control: Connection) -> Callable[[], None]:
    """What a command calls once set up: say "ready", wait for the parent's go."""

    def ready() -> None:
        control.send("ready")
        control.recv_bytes()  # go

    return ready


#: The child's payloads, kept from one round to the next (one per kind), so
#: that making them (and touching fresh memory) is not part of a timed round.
_PAYLOADS: dict[str, Any] = {}


def payload(kind: str, size: int) -> Any:
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


def _send(ready, chans, shm, timeout, how: str, chan: str, size: int, count: int) -> None:
    data = payload("bytes", size)
    end = chans[chan]
    ready()
    if how == "raw":
        fd, view = end.fileno(), memoryview(data)
        for _ in range(count):
            write_all(fd, view)
    elif how == "bytes":
        for _ in range(count):
            end.send_bytes(data)
    elif how == "chunks":
        for _ in range(count):
            send_chunks(end, data)
    elif how == "pickle":
        for _ in range(count):
            end.send(data)
    elif how == "put":
        for _ in range(count):
            end.put(data)
    else:
        raise ValueError(f"unknown way of sending {how!r}")


def _items(ready, chans, shm, timeout, n_items: int, batch: int) -> None:
    ready()
    produce_items(chans["queue"], n_items, batch)


def _shm(ready, chans, shm, timeout, size: int, count: int) -> None:
    """One-slot transfers: copy in, signal "in", wait for "taken", again."""
    import numpy as np

    signals = chans["shm_signals"]
    mine = payload("array", size)
    shared = np.ndarray((size,), dtype=np.uint8, buffer=shm.buf)
    ready()
    try:
        for _ in range(count):
            np.copyto(shared, mine)  # copy in
            signals.send_bytes(b"i")  # the parent copies out
            signals.recv_bytes()  # "taken"
    finally:
        del shared


def _echo(ready, chans, shm, timeout, how: str, count: int) -> None:
    ready()
    if how == "raw":
        rfd, wfd = chans["back_r"].fileno(), chans["oneway_w"].fileno()
        one = memoryview(bytearray(1))
        for _ in range(count):
            read_exactly(rfd, one)
            write_all(wfd, one)
    elif how in ("bytes", "pickle"):
        end = chans["duplex"]
        recv, send = (end.recv_bytes, end.send_bytes) if how == "bytes" else (end.recv, end.send)
        for _ in range(count):
            send(recv())
    elif how == "manager_queue":  # a dead parent is no EOF here: bound each get
        inbox, outbox = chans["manager_queue_back"], chans["manager_queue"]
        for _ in range(count):
            outbox.put(inbox.get(timeout=timeout))
    else:  # "queue", "simplequeue"
        inbox, outbox = chans[how + "_back"], chans[how]
        for _ in range(count):
            outbox.put(inbox.get())


COMMANDS: dict[str, Callable[..., None]] = {
    "send": _send,
    "items": _items,
    "shm": _shm,
    "echo": _echo,
}
