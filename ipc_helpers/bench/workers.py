"""Workers and small tools of notebook 05 that learners read and reuse.

They run in child processes (or in the parent), so they live at module
level. They never print, and they do not check their arguments: the
functions that start them check what they pass. ``square`` (a tiny task)
and ``put_bytes`` (the join-before-drain demo) are notebook 01's workers,
used here as they are.
"""

from __future__ import annotations

import queue
from multiprocessing.connection import Connection
from typing import Any

from ..queues import put_bytes, square
from .catalogue import CHUNK

__all__ = [
    "item_sink",
    "noop",
    "produce_items",
    "put_bytes",
    "recv_chunks_into",
    "send_chunks",
    "send_one_by_one",
    "square",
]


def noop() -> None:
    """The smallest possible child: used to time process start-up."""


def produce_items(q: Any, n_items: int, batch: int = 1) -> None:
    """Put ``n_items`` small tuples ``(i, i * 0.5)`` on ``q``, ``batch`` per message.

    With ``batch=1`` each item is its own message; with ``batch=100`` each
    message is a list of up to 100 items. A ``None`` sentinel ends the stream.
    """
    if batch == 1:
        for i in range(n_items):
            q.put((i, i * 0.5))
    else:
        for start in range(0, n_items, batch):
            q.put([(i, i * 0.5) for i in range(start, min(start + batch, n_items))])
    q.put(None)


def send_chunks(conn: Connection, data: Any, chunk: int = CHUNK) -> int:
    """Send the bytes of ``data`` through ``conn`` as messages of at most ``chunk`` bytes.

    ``data`` is anything with a buffer (``bytes``, ``bytearray``, a numpy
    array). The receiver must know the total size (send it first, or fix it
    in advance) and reads with ``recv_chunks_into``. Returns the bytes sent.
    """
    view = memoryview(data).cast("B")
    for start in range(0, len(view), chunk):
        conn.send_bytes(view[start : start + chunk])
    return len(view)


def recv_chunks_into(conn: Connection, buf: Any, size: int) -> int:
    """Receive ``size`` bytes sent by ``send_chunks`` into ``buf``, a buffer you reuse.

    Each chunk lands at its offset with ``recv_bytes_into``. Peak memory stays
    at one chunk beside ``buf``, whatever the total size, and the small reads
    reuse memory the process already has. Returns ``size``; ``EOFError`` if
    the sender closed its end too early.
    """
    got = 0
    while got < size:
        got += conn.recv_bytes_into(buf, got)
    return got


# --- exercise 2: the given consumer and the slow producer ---------------------


def item_sink(q: Any, report: Connection, timeout: float) -> None:
    """Consumer child of exercise 2: receive streams until the string ``"stop"``.

    Each stream is messages until a ``None`` sentinel; a message that is a
    list is a batch of items. After each stream the child reports, through
    ``report``, first ``(items, messages)`` counts (the checker stops its
    clock on them), then the items themselves, in order. Each ``get`` waits
    at most ``timeout`` seconds; then the child ends.
    """
    while True:
        items: list = []
        messages = 0
        while True:
            try:
                message = q.get(timeout=timeout)
            except queue.Empty:
                return
            if message is None or message == "stop":
                break
            messages += 1
            if isinstance(message, list):
                items.extend(message)
            else:
                items.append(message)
        if message == "stop":
            return
        report.send((len(items), messages))
        report.send(items)


def send_one_by_one(q: Any, items: list) -> None:
    """The slow producer of exercise 2: one item per message, then ``None``."""
    for item in items:
        q.put(item)
    q.put(None)
