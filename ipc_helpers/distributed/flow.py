"""How work and data flow to a cluster: backpressure, and large data.

- ``submit_unbounded`` / ``submit_bounded``: every task at once, or at most
  ``limit`` in flight (notebook 01's ``maxsize``, for futures), on a dask
  ``Client``; ``executor_unbounded`` / ``executor_bounded`` do the same on a
  ``concurrent.futures`` executor, for comparison;
- ``sum_sending_every_time`` / ``sum_scattering_once``: a large array sent
  inside every task's message, or sent once with ``scatter``;
- ``measure``: the wall time and the extra memory of one run;
- ``process_pool``: the ``ProcessPoolExecutor`` the notebook compares dask with.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np
from distributed import Client, as_completed

from ..capture import capture_stderr
from ..contexts import get_context
from ..validation import check_int, check_timeout
from . import tasks
from .cluster import TIMEOUT, gather
from .memory import PeakMemory
from .worker_setup import ignore_interrupts


def _until_every_worker_answered(pool: cf.ProcessPoolExecutor, n: int) -> None:
    """Give ``pool`` small tasks until ``n`` different workers ran one (so each ran its
    initializer); on a busy machine one fast worker can take every task of a round."""
    deadline = time.monotonic() + TIMEOUT
    answered: set[int] = set()
    while len(answered) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"only {len(answered)} of {n} pool processes started in time")
        answered.update(pid for _, pid in pool.map(tasks.square_where, range(n), timeout=left))


def process_pool(max_workers: int = 2) -> cf.ProcessPoolExecutor:
    """A ``ProcessPoolExecutor`` to compare with dask's workers on equal terms.

    Its processes start with ``spawn``, like dask's: forking a process that
    runs dask's threads (the client's event loop, among others) copies them in
    an unknown state and can deadlock the child. And they ignore SIGINT, like
    dask's workers here (``worker_setup``): Kernel → Interrupt stops the
    notebook's code, and the ``with`` block then shuts the pool down. Its
    processes are started before it is returned.
    """
    max_workers = check_int("max_workers", max_workers, minimum=1, maximum=8)
    pool = cf.ProcessPoolExecutor(
        max_workers=max_workers, mp_context=get_context("spawn"), initializer=ignore_interrupts
    )
    try:
        # Start every process now, with its stderr in a file: one interrupted
        # before its initializer ran would print a traceback into the cell.
        with capture_stderr():
            _until_every_worker_answered(pool, max_workers)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return pool


def submit_payload(client: Client, i: int, payload_bytes: int, seconds: float) -> Any:
    """Submit record ``i``: a task that gets ``payload_bytes`` of data with its message.

    ``pure=False``: every record is its own task, even one submitted again (with
    the default, dask would hash the payload and reuse an identical task).
    """
    payload = tasks.make_payload(i, payload_bytes)
    return client.submit(tasks.process_payload, payload, seconds, pure=False)


def submit_unbounded(
    client: Client, n_tasks: int, payload_bytes: int, seconds: float, timeout: float = TIMEOUT
) -> list[int]:
    """Submit every task at once, then collect: every payload is in flight together."""
    futures = [submit_payload(client, i, payload_bytes, seconds) for i in range(n_tasks)]
    return sorted(f.result() for f in as_completed(futures, timeout=timeout))


def submit_bounded(
    client: Client,
    n_tasks: int,
    payload_bytes: int,
    seconds: float,
    limit: int = 4,
    timeout: float = TIMEOUT,
) -> list[int]:
    """Keep at most ``limit`` tasks in flight: submit the next one as one finishes."""
    limit = check_int("limit", limit, minimum=1)
    todo = iter(range(n_tasks))
    first = (submit_payload(client, i, payload_bytes, seconds) for i in islice(todo, limit))
    in_flight = as_completed(list(first), timeout=timeout)  # the list is not kept
    results = []
    for future in in_flight:
        results.append(future.result())
        for i in islice(todo, 1):  # the next record, if any is left
            in_flight.add(submit_payload(client, i, payload_bytes, seconds))
    return sorted(results)


@dataclass
class RunCost:
    """Wall time and extra memory of one run."""

    label: str
    seconds: float
    extra_mb: float


def measure(label: str, func: Callable[[], Any]) -> RunCost:
    """Run ``func()`` and return its wall time and the extra memory it needed."""
    with PeakMemory() as memory:
        started = time.perf_counter()
        func()
        seconds = time.perf_counter() - started
    return RunCost(label, seconds, memory.extra_mb)


def executor_submit(executor: cf.Executor, i: int, payload_bytes: int, seconds: float) -> cf.Future:
    """``submit_payload`` for a ``concurrent.futures`` executor."""
    return executor.submit(tasks.process_payload, tasks.make_payload(i, payload_bytes), seconds)


def executor_unbounded(
    executor: cf.Executor,
    n_tasks: int,
    payload_bytes: int,
    seconds: float,
    timeout: float = TIMEOUT,
) -> list[int]:
    """``submit_unbounded`` on an executor: its queue of work items grows without limit."""
    futures = [executor_submit(executor, i, payload_bytes, seconds) for i in range(n_tasks)]
    return sorted(f.result() for f in cf.as_completed(futures, timeout=timeout))


def executor_bounded(
    executor: cf.Executor,
    n_tasks: int,
    payload_bytes: int,
    seconds: float,
    limit: int = 4,
    timeout: float = TIMEOUT,
) -> list[int]:
    """``submit_bounded`` on an executor, with ``concurrent.futures.wait``."""
    limit = check_int("limit", limit, minimum=1)
    deadline = time.monotonic() + check_timeout("timeout", timeout)
    todo = iter(range(n_tasks))
    pending = {executor_submit(executor, i, payload_bytes, seconds) for i in islice(todo, limit)}
    results = []
    while pending:
        done, pending = cf.wait(
            pending, timeout=max(0.0, deadline - time.monotonic()), return_when=cf.FIRST_COMPLETED
        )
        if not done:
            raise TimeoutError(f"tasks still running after {timeout:g} s")
        for future in done:
            results.append(future.result())
            for i in islice(todo, 1):
                pending.add(executor_submit(executor, i, payload_bytes, seconds))
    return sorted(results)


def sum_sending_every_time(
    client: Client, array: np.ndarray, n_blocks: int, timeout: float = TIMEOUT
) -> list[float]:
    """Each task gets the whole ``array`` inside its message: ``n_blocks`` copies travel."""
    futures = [
        client.submit(tasks.block_sum, array, i, n_blocks, pure=False) for i in range(n_blocks)
    ]
    return gather(client, futures, timeout)


def sum_scattering_once(
    client: Client, array: np.ndarray, n_blocks: int, timeout: float = TIMEOUT
) -> list[float]:
    """Send ``array`` to the cluster once (``scatter``); tasks take it from there."""
    [remote] = client.scatter([array], hash=False, timeout=timeout)
    futures = [
        client.submit(tasks.block_sum, remote, i, n_blocks, pure=False) for i in range(n_blocks)
    ]
    return gather(client, futures, timeout)


def per_task_costs(
    client: Client,
    pool: cf.Executor,
    calls: int = 30,
    many: int = 300,
    timeout: float = TIMEOUT,
    repeats: int = 3,
) -> dict[str, float]:
    """Seconds per task of a task that does nothing, on dask and on ``pool``.

    *One at a time*: submit, wait for the result, repeat (``calls`` times):
    the round trip. *Many at once*: ``many`` tasks submitted together, then
    gathered: the cost per task when the engine can overlap its messages.
    Each is measured ``repeats`` times and the fastest counts, the run that
    other programs disturbed least (as the ``timeit`` docs advise): one busy
    moment of the machine would otherwise decide the comparison.
    """
    calls = check_int("calls", calls, minimum=1, maximum=1000)
    many = check_int("many", many, minimum=1, maximum=10_000)
    timeout = check_timeout("timeout", timeout)
    repeats = check_int("repeats", repeats, minimum=1, maximum=10)

    def one_at_a_time(submit: Callable[[int], Any]) -> float:
        started = time.perf_counter()
        for i in range(calls):
            submit(i).result(timeout=timeout)
        return (time.perf_counter() - started) / calls

    def dask_many() -> float:
        started = time.perf_counter()
        gather(client, client.map(tasks.noop, range(many), pure=False), timeout)
        return (time.perf_counter() - started) / many

    def pool_many() -> float:
        started = time.perf_counter()
        list(pool.map(tasks.noop, range(many), timeout=timeout))
        return (time.perf_counter() - started) / many

    ways: dict[str, Callable[[], float]] = {
        "dask, one at a time": lambda: one_at_a_time(
            lambda i: client.submit(tasks.noop, i, pure=False)
        ),
        "process pool, one at a time": lambda: one_at_a_time(lambda i: pool.submit(tasks.noop, i)),
        "dask, many at once": dask_many,
        "process pool, many at once": pool_many,
    }
    return {name: min(way() for _ in range(repeats)) for name, way in ways.items()}
