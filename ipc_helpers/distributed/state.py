"""Shared state on a cluster: the article's counter, without a shared dict.

Two tasks, one per worker, each add one to a counter many times, four ways:
a ``Variable`` read then written (two round trips, no lock: updates get
lost), the same inside a ``distributed.Lock``, an actor (one object on one
worker; its method calls run one after another), and no shared counter at
all (each task returns its count; the client adds them up).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from distributed import Client, Variable

from ..validation import check_int
from . import tasks
from .cluster import TIMEOUT, gather


@dataclass
class CountResult:
    """The final count of one way of counting, and what it cost."""

    way: str
    count: int
    expected: int
    seconds: float

    @property
    def ms_per_update(self) -> float:
        return 1e3 * self.seconds / self.expected


def count_four_ways(client: Client, times: int = 20, timeout: float = TIMEOUT) -> list[CountResult]:
    """Two tasks (one per worker) each add one to a counter ``times`` times.

    The ways: a ``Variable`` with ``get`` then ``set`` (no lock); the same
    inside a ``distributed.Lock``; an actor; and no shared counter at all
    (each task returns its count, the client adds them up).
    """
    times = check_int("times", times, minimum=1, maximum=1000)
    expected = 2 * times
    out = []
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    for way, lock_name in (("Variable, get then set", None), ("Variable inside a Lock", "lk")):
        counter = Variable(f"count-{way}-{tag}", client=client)
        counter.set(0)
        lock = f"{lock_name}-{tag}" if lock_name else None
        started = time.perf_counter()
        runs = [
            client.submit(tasks.count_with_variable, counter.name, times, lock, pure=False)
            for _ in range(2)
        ]
        gather(client, runs, timeout)
        seconds = time.perf_counter() - started
        out.append(CountResult(way, counter.get(timeout=timeout), expected, seconds))
        counter.delete()
    actor = client.submit(tasks.Counter, actor=True).result(timeout=timeout)
    started = time.perf_counter()
    runs = [client.submit(tasks.count_with_actor, actor, times, pure=False) for _ in range(2)]
    gather(client, runs, timeout)
    seconds = time.perf_counter() - started
    out.append(CountResult("actor", actor.value, expected, seconds))
    started = time.perf_counter()
    runs = [client.submit(tasks.count_locally, times, pure=False) for _ in range(2)]
    total = sum(gather(client, runs, timeout))
    out.append(CountResult("return the counts", total, expected, time.perf_counter() - started))
    return out
