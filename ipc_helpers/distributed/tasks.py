"""What the ``dask.distributed`` workers of notebook 06 run.

Dask sends a function defined in a notebook cell by value (cloudpickle), so
the notebook could define these in cells. They live here because the
exercise checkers and the lab use them too, and because a function from an
importable module travels by reference: a short name, not its code.

Only ``numpy`` (for the array tasks) is imported at module level; a task that
needs ``distributed`` imports it when it runs, on the worker.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..validation import check_int, check_number, check_type


def slow_square(x: int, seconds: float = 0.1) -> int:
    """Wait ``seconds`` (standing for real work), then return ``x * x``."""
    check_number("seconds", seconds, minimum=0.0, maximum=60.0)
    time.sleep(seconds)
    return x * x


def square_where(x: int, seconds: float = 0.1) -> tuple[int, int]:
    """``slow_square(x, seconds)`` and the id of the process that computed it."""
    return slow_square(x, seconds), os.getpid()


def pause(seconds: float) -> float:
    """Wait ``seconds``, then return them (used to start every process of a pool)."""
    check_number("seconds", seconds, minimum=0.0, maximum=60.0)
    time.sleep(seconds)
    return seconds


def noop(x: Any = None) -> Any:
    """Do nothing and return ``x``: a task that costs only its round trip."""
    return x


def make_payload(i: int, n_bytes: int) -> bytes:
    """``n_bytes`` bytes standing for record ``i`` (a row of a file, an image...)."""
    check_int("n_bytes", n_bytes, minimum=0)
    return i.to_bytes(8, "little") + bytes(max(0, n_bytes - 8))


def process_payload(payload: bytes, seconds: float = 0.0) -> int:
    """Wait ``seconds`` (the work), then return the record number in ``payload``."""
    check_type("payload", payload, bytes)
    check_number("seconds", seconds, minimum=0.0, maximum=60.0)
    time.sleep(seconds)
    return int.from_bytes(payload[:8], "little")


def block_sum(array: np.ndarray, i: int, n_blocks: int, seconds: float = 0.0) -> float:
    """The sum of block ``i`` of ``array`` cut into ``n_blocks`` nearly equal blocks.

    ``seconds`` of extra "work" make the task visible in a task stream.
    """
    check_type("array", array, np.ndarray)
    n_blocks = check_int("n_blocks", n_blocks, minimum=1)
    i = check_int("i", i, minimum=0, maximum=n_blocks - 1)
    check_number("seconds", seconds, minimum=0.0, maximum=60.0)
    time.sleep(seconds)
    return float(np.array_split(array, n_blocks)[i].sum())


class TransientError(ConnectionError):
    """A failure that goes away when you try again (a network hiccup, a busy service)."""


def flaky_square(x: int, marker_dir: str, seconds: float = 0.1) -> int:
    """``slow_square(x, seconds)``, but the first try for each ``x`` fails.

    The first call for a given ``x`` leaves a marker file in ``marker_dir``
    and raises ``TransientError``; later calls (on any worker of this
    machine) find the marker and succeed.
    """
    marker = Path(marker_dir) / f"tried-{x}"
    try:
        marker.touch(exist_ok=False)
    except FileExistsError:
        return slow_square(x, seconds)
    raise TransientError(f"item {x} failed on its first try")


# --------------------------------------------------------------------------
# Shared state: the article's counter, four ways
# --------------------------------------------------------------------------


def count_with_variable(name: str, times: int, lock_name: str | None = None) -> int:
    """Add one to the ``distributed.Variable`` ``name``, ``times`` times.

    Each addition is a ``get`` then a ``set``: two round trips to the
    scheduler, like the article's ``d['count'] = d.get('count', 0) + 1`` in
    notebook 04. With ``lock_name``, a ``distributed.Lock`` of that name is
    held around each addition. Returns ``times``.
    """
    from distributed import Lock, Variable

    times = check_int("times", times, minimum=0)
    counter = Variable(name)
    lock = Lock(lock_name) if lock_name else None
    for _ in range(times):
        if lock is not None and not lock.acquire(timeout=30):
            raise TimeoutError(f"lock {lock_name!r} not acquired within 30 s")
        try:
            counter.set(counter.get(timeout=30) + 1)
        finally:
            if lock is not None:
                lock.release()
    return times


class Counter:
    """A counter that lives on one worker, as a dask actor.

    Every method call on its handle is a message to that worker, where the
    calls run one after another: the server of notebook 04, on a worker.
    """

    value = 0  # declared on the class: an actor's handle looks attributes up there

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, n: int = 1) -> int:
        """Add ``n``; return the new value."""
        with self._lock:
            self.value += n
            return self.value


def count_with_actor(counter: Any, times: int) -> int:
    """Call ``counter.add(1)`` ``times`` times on an actor handle; return ``times``."""
    times = check_int("times", times, minimum=0)
    for _ in range(times):
        counter.add(1).result(timeout=30)
    return times


def count_locally(times: int) -> int:
    """Count to ``times`` without sharing anything: the result is the message."""
    times = check_int("times", times, minimum=0)
    total = 0
    for _ in range(times):
        total += 1
    return total
