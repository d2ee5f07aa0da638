"""Exercise checkers of notebook 06 (beyond one machine, with ``dask.distributed``).

1. ``check_bounded``: keep at most ``limit`` tasks in flight, and more than one.
2. ``check_scatter``: send a large array to the cluster once, not with every task.
3. ``check_survive``: a job that survives a worker killed in the middle of it,
   and a transient error in every task.

Each checker watches the learner's tasks from inside the scheduler (a
``SchedulerPlugin``, see ``distributed.recorder``): how many tasks the cluster
held at once, how many bytes each task's message carried, whether the data
came from the cluster's memory. It says only what it saw. The solutions live
in the notebook (cells tagged ``solution``); the tests run them through these
checkers.

Exercises 1 and 2 take the notebook's ``client`` (fast: its cluster is
running); without one, like exercise 3 always, the checker starts a small
cluster of its own (a scheduler here, two ``dask worker`` programs) and
closes it before it answers. A placeholder is recognised without starting
anything.
"""

from __future__ import annotations

import contextlib
import dis
import random
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from distributed import Client

from ..distributed import tasks
from ..distributed.cluster import cluster_of_programs, kill_worker_running_any
from ..distributed.recorder import Recording, recording
from ..validation import check_callable
from .feedback import (
    Feedback,
    correct,
    first_problem,
    not_attempted,
    not_yet,
    plain_checker,
    run_attempt,
)

_SKIPPED = {"RESUME", "NOP", "CACHE", "PUSH_NULL", "EXTENDED_ARG"}


def only_raises_not_implemented(func: Callable[..., Any]) -> bool:
    """True if ``func``'s body is just ``raise NotImplementedError`` (the placeholder).

    Read from its bytecode, without calling it, so that a checker starts no
    cluster for an exercise nobody has tried yet.
    """
    code = getattr(func, "__code__", None)
    if code is None:
        return False
    ops = [i for i in dis.get_instructions(code) if i.opname not in _SKIPPED]
    return (
        len(ops) >= 2
        and ops[0].opname in ("LOAD_GLOBAL", "LOAD_NAME")
        and ops[0].argval == "NotImplementedError"
        and ops[1].opname == "RAISE_VARARGS"
    )


def _client_problem(client: Any) -> Feedback | None:
    """``Not yet`` if ``client`` is neither ``None`` nor a running dask ``Client``."""
    if client is None:
        return None
    if not isinstance(client, Client):
        return not_yet(
            "the checker's second argument must be the notebook's dask client (or nothing), "
            f"not {type(client).__name__}: check_...(your_function, client)."
        )
    if client.status != "running":
        return not_yet(
            "the client is closed, so the checker cannot watch your tasks: run the cell that "
            "starts the cluster (section 2) again, then this one."
        )
    return None


@contextlib.contextmanager
def _cluster(client: Client | None = None) -> Iterator[Client]:
    """``client`` itself, or the client of a cluster of two worker programs.

    The checker's own cluster is closed when the block ends. Its workers are
    separate programs without a nanny (``cluster_of_programs``): a worker the
    checker kills stays dead, and nothing is restarted behind the learner's
    back.
    """
    if client is not None:
        yield client
        return
    with cluster_of_programs(n_workers=2) as own:
        yield own


def _mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:.1f} MB"


def _sorted_or_none(result: Any) -> list[Any] | None:
    try:
        return sorted(result)
    except TypeError:
        return None


# --------------------------------------------------------------------------
# Exercise 1: bounded submission
# --------------------------------------------------------------------------

N_ITEMS = 24
LIMIT = 3


@plain_checker
def check_bounded(run_bounded: Callable[..., Any], client: Client | None = None) -> Feedback:
    """Check ``run_bounded(client, items, limit)``.

    It must return the ``tasks.slow_square(x, 0.05)`` of every item (any
    order), computed on the cluster, with at most ``limit`` tasks in flight
    (submitted, not finished) at once, more than one running at some moment
    (both workers busy), and without keeping every future: the cluster may
    hold at most ``2 * limit`` of them, finished ones included (their
    results stay in memory while a future is kept).
    """
    check_callable("run_bounded", run_bounded)
    if only_raises_not_implemented(run_bounded):
        return not_attempted()
    if problem := _client_problem(client):
        return problem
    offset = random.randrange(10**6)  # fresh task names for every check
    items = list(range(offset, offset + N_ITEMS))
    with _cluster(client) as active, recording(active, "slow_square") as seen:
        attempt = run_attempt(run_bounded, active, list(items), LIMIT)
    problem = first_problem(attempt, what="run_bounded")
    if problem:
        return problem
    expected = sorted(x * x for x in items)
    if _sorted_or_none(attempt.result) != expected:
        return not_yet(
            f"run_bounded should return the {N_ITEMS} squares (a list, in any order); it "
            f"returned {_describe(attempt.result)}."
        )
    return _judge_bounded(seen)


def _describe(result: Any) -> str:
    if isinstance(result, (list, tuple)):
        return f"a {type(result).__name__} of {len(result)} items"
    return f"{type(result).__name__} {result!r:.60}"


def _judge_bounded(seen: Recording) -> Feedback:
    if seen.runs < N_ITEMS:
        return not_yet(
            f"only {seen.runs} of the {N_ITEMS} slow_square tasks ran on the cluster. Submit "
            "each item with client.submit(tasks.slow_square, x, 0.05)."
        )
    if seen.peak_in_flight > LIMIT:
        return not_yet(
            f"up to {seen.peak_in_flight} of your tasks were in flight at once (submitted, "
            f"not finished), with limit = {LIMIT}. Submit `limit` tasks first, then one more "
            "each time one finishes (as_completed(...) and .add())."
        )
    if seen.peak_held > 2 * LIMIT:
        return not_yet(
            f"never more than {LIMIT} tasks were in flight, but the cluster held up to "
            f"{seen.peak_held} of them at once, finished ones included: a future you keep "
            "keeps its result on the cluster. Do not keep the futures in a list; keep only "
            "the results."
        )
    if seen.peak_running < 2:
        return not_yet(
            "your tasks ran one at a time (never two at once), so one worker sat idle. "
            "Keep `limit` tasks in flight, not one."
        )
    return correct(
        f"all {N_ITEMS} tasks ran on the cluster, at least two at a time, and never more "
        f"than {LIMIT} were in flight at once."
    )


# --------------------------------------------------------------------------
# Exercise 2: scatter once
# --------------------------------------------------------------------------

ARRAY_LENGTH = 1_000_000  # 8 MB of float64
N_BLOCKS = 8


@plain_checker
def check_scatter(sum_blocks: Callable[..., Any], client: Client | None = None) -> Feedback:
    """Check ``sum_blocks(client, array, n_blocks)``.

    It must return ``[tasks.block_sum(array, i, n_blocks) for i in
    range(n_blocks)]`` in that order, computed by ``block_sum`` tasks on the
    cluster, every one of which took the array from the cluster's memory
    (scattered) rather than inside its own message.
    """
    check_callable("sum_blocks", sum_blocks)
    if only_raises_not_implemented(sum_blocks):
        return not_attempted()
    if problem := _client_problem(client):
        return problem
    array = np.random.default_rng().random(ARRAY_LENGTH)  # new data, new keys
    expected = [tasks.block_sum(array, i, N_BLOCKS) for i in range(N_BLOCKS)]
    with _cluster(client) as active, recording(active, "block_sum") as seen:
        attempt = run_attempt(sum_blocks, active, array, N_BLOCKS)
    problem = first_problem(attempt, what="sum_blocks")
    if problem:
        return problem
    result = attempt.result
    if not isinstance(result, (list, tuple)) or len(result) != N_BLOCKS:
        return not_yet(
            f"sum_blocks should return a list of {N_BLOCKS} sums, one per block; it returned "
            f"{_describe(result)}."
        )
    if not _close_to(result, expected):
        return not_yet(
            "the sums are not the block sums, in block order: block i is "
            "tasks.block_sum(array, i, n_blocks)."
        )
    return _judge_scatter(seen, array.nbytes)


def _close_to(result: Any, expected: list[float]) -> bool:
    try:
        return bool(np.allclose(np.asarray(result, dtype=float), expected))
    except (TypeError, ValueError):
        return False


def _judge_scatter(seen: Recording, nbytes: int) -> Feedback:
    if seen.runs < N_BLOCKS:
        return not_yet(
            f"only {seen.runs} of the {N_BLOCKS} block_sum tasks ran on the cluster. "
            "Compute each block with client.submit(tasks.block_sum, ..., i, n_blocks)."
        )
    carried = [r for r in seen.records if r.inline_bytes >= nbytes // 2]
    if carried:
        return not_yet(
            f"{len(carried)} of your tasks carried the {_mb(nbytes)} array inside their own "
            f"message ({_mb(seen.inline_bytes)} in all). Scatter it once "
            "(remote = client.scatter(array)) and give the tasks `remote` instead."
        )
    from_memory = [r for r in seen.records if r.dependency_bytes >= nbytes]
    if len(from_memory) < len(seen.records):
        return not_yet(
            f"{len(seen.records) - len(from_memory)} of your tasks did not take the whole array "
            "from the cluster's memory. Scatter it once and give every task the future, so that "
            "any number of tasks can use it without sending it again."
        )
    largest = max(r.inline_bytes for r in seen.records)
    small = "under 10 kB" if largest < 10_000 else f"at most {largest / 1e3:.0f} kB"
    return correct(
        f"all {N_BLOCKS} tasks took the {_mb(nbytes)} array from the cluster's memory; each "
        f"task's own message carried {small}."
    )


# --------------------------------------------------------------------------
# Exercise 3: survive a worker's loss
# --------------------------------------------------------------------------

N_JOB_ITEMS = 6


def _kill_one_worker(client: Client, killed: list[tuple[str, int]], stop: threading.Event) -> None:
    with contextlib.suppress(Exception):
        killed.append(kill_worker_running_any(client, "flaky_square", stop, timeout=60))


@plain_checker
def check_survive(run_job: Callable[..., Any]) -> Feedback:
    """Check ``run_job(client, items, marker_dir)`` on a cluster of the checker's own.

    It must return ``[tasks.flaky_square(x, marker_dir) for x in items]``
    computed on the cluster, although the first try of every item raises
    ``TransientError`` and the checker kills a worker while one of the
    job's tasks runs. The checker's cluster is closed before it answers.
    """
    check_callable("run_job", run_job)
    if only_raises_not_implemented(run_job):
        return not_attempted()
    offset = random.randrange(10**6)
    items = list(range(offset, offset + N_JOB_ITEMS))
    marker_dir = tempfile.mkdtemp(prefix="ipc-course-")
    killed: list[tuple[str, int]] = []
    stop = threading.Event()
    try:
        with _cluster() as client, recording(client, "flaky_square") as seen:
            chaos = threading.Thread(target=_kill_one_worker, args=(client, killed, stop))
            chaos.start()
            try:
                attempt = run_attempt(run_job, client, list(items), marker_dir)
            finally:
                stop.set()
                chaos.join(5.0)
    finally:
        shutil.rmtree(marker_dir, ignore_errors=True)
    return _judge_survive(attempt, seen, items, killed)


def _judge_survive(
    attempt: Any, seen: Recording, items: list[int], killed: list[tuple[str, int]]
) -> Feedback:
    problem = first_problem(attempt, what="run_job")
    if problem and isinstance(attempt.error, tasks.TransientError):
        return not_yet(
            "a task raised TransientError (the checker makes every item fail on its first try) "
            "and your job gave up. dask reruns a task whose worker was lost by itself, but a "
            "task that raises only if you ask: submit with retries=1 (or more)."
        )
    if problem:
        return problem
    if seen.runs == 0:
        return not_yet(
            "no flaky_square task ran on the cluster. Submit them with the client you are given."
        )
    result = attempt.result
    if not isinstance(result, (list, tuple)) or list(result) != [x * x for x in items]:
        return not_yet(
            f"run_job should return the {len(items)} squares in the order of the items; it "
            f"returned {_describe(attempt.result)}."
        )
    if not killed:
        return not_yet(
            "the checker found none of your tasks running on a worker, so it could not kill "
            "one during the job. Submit the tasks to the client you are given."
        )
    return correct(
        f"the checker killed a worker that was running one of your tasks, every item failed "
        f"once with a transient error, and your job still returned all {len(items)} squares, "
        "in order."
    )
