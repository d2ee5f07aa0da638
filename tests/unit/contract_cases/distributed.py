"""Contract rows of notebook 06's checkers (ipc_helpers.exercises.distributed).

Called without a client, as here, each checker starts a cluster of its own (a
scheduler in this process, two ``dask worker`` programs) and closes it before
it answers, so every row is self-contained. Nothing in those rows depends on
the ``multiprocessing`` start method (the workers are programs, not children
started by ``multiprocessing``), so the rows that start a cluster run under one
start method only, to save time; the placeholders, which start nothing, run
under all three.
"""

from __future__ import annotations

from itertools import islice

import numpy as np
from distributed import as_completed, wait

from ipc_helpers.distributed import tasks
from ipc_helpers.exercises import distributed as ex
from tests.unit.checker_contract import Case, Solution, placeholder

NB = "06_beyond_one_machine"
ONCE = frozenset({"spawn"})
#: Seconds for a row: start a cluster, run the attempt, close the cluster.
SECONDS = 60.0


def _case(id_: str, checker, answer, status: str, words: str) -> Case:
    return Case(id_, checker, answer, status, words, seconds=SECONDS, methods=ONCE)


# --- exercise 1: bounded submission ------------------------------------------------


def bounded_in_batches(client, items, limit):
    """Another correct answer: ``limit`` tasks at a time, each batch gathered."""
    results = []
    for start in range(0, len(items), limit):
        batch = client.map(tasks.slow_square, items[start : start + limit], seconds=0.05)
        wait(batch, timeout=30)
        results += client.gather(batch)
    return results


def bounded_with_wait(client, items, limit):
    """Another correct answer: ``distributed.wait(..., return_when="FIRST_COMPLETED")``."""
    todo, results = iter(items), []
    pending = {client.submit(tasks.slow_square, x, 0.05) for x in islice(todo, limit)}
    while pending:
        done, pending = wait(pending, timeout=30, return_when="FIRST_COMPLETED")
        for future in done:
            results.append(future.result())
            pending |= {client.submit(tasks.slow_square, x, 0.05) for x in islice(todo, 1)}
        del done, future
    return results


def all_at_once(client, items, limit):
    futures = client.map(tasks.slow_square, items, seconds=0.05)
    wait(futures, timeout=30)
    return client.gather(futures)


def bounded_but_keeping_futures(client, items, limit):
    """Bounded submission, but every future kept in a list: all results stay held."""
    todo, kept = iter(items), []
    in_flight = as_completed([], timeout=30)
    for x in islice(todo, limit):
        kept.append(client.submit(tasks.slow_square, x, 0.05))
        in_flight.add(kept[-1])
    for _ in in_flight:
        for x in islice(todo, 1):
            kept.append(client.submit(tasks.slow_square, x, 0.05))
            in_flight.add(kept[-1])
    return [f.result() for f in kept]


def one_at_a_time(client, items, limit):
    return [client.submit(tasks.slow_square, x, 0.05).result(timeout=30) for x in items]


def without_the_cluster(client, items, limit):
    return [x * x for x in items]


# --- exercise 2: scatter --------------------------------------------------------------


def scatter_broadcast(client, array, n_blocks):
    """Another correct answer: a copy on every worker from the start."""
    remote = client.scatter(array, broadcast=True)
    futures = [client.submit(tasks.block_sum, remote, i, n_blocks) for i in range(n_blocks)]
    wait(futures, timeout=30)
    return client.gather(futures)


def scatter_and_map(client, array, n_blocks):
    """Another correct answer: ``client.map`` with the scattered future repeated."""
    [remote] = client.scatter([array])
    futures = client.map(
        tasks.block_sum, [remote] * n_blocks, range(n_blocks), [n_blocks] * n_blocks
    )
    wait(futures, timeout=30)
    return client.gather(futures)


def array_in_every_task(client, array, n_blocks):
    futures = [client.submit(tasks.block_sum, array, i, n_blocks) for i in range(n_blocks)]
    wait(futures, timeout=30)
    return client.gather(futures)


def slices_in_every_task(client, array, n_blocks):
    """Each block sent once, inside its task: the array never sits in the cluster."""
    parts = np.array_split(array, n_blocks)
    futures = [client.submit(tasks.block_sum, part, 0, 1) for part in parts]
    wait(futures, timeout=30)
    return client.gather(futures)


# --- exercise 3: survive a lost worker ------------------------------------------------


def survive_with_submit(client, items, marker_dir):
    """Another correct answer: one ``submit`` per item, ``retries=1``."""
    futures = [client.submit(tasks.flaky_square, x, marker_dir, retries=1) for x in items]
    wait(futures, timeout=30)
    return [f.result() for f in futures]


def survive_with_as_completed(client, items, marker_dir):
    """Another correct answer: results collected as they finish, then put in order."""
    futures = client.map(tasks.flaky_square, items, marker_dir=marker_dir, retries=3)
    index = {f.key: i for i, f in enumerate(futures)}
    results = [None] * len(items)
    for future in as_completed(futures, timeout=30):
        results[index[future.key]] = future.result()
    return results


def no_retries(client, items, marker_dir):
    futures = client.map(tasks.flaky_square, items, marker_dir=marker_dir)
    wait(futures, timeout=30)
    return client.gather(futures)


def squares_here(client, items, marker_dir):
    return [x * x for x in items]


CASES = [
    _case("bounded.solution", ex.check_bounded, Solution(NB, "run_bounded"), "correct",
          r"never more than 3 were in flight at once"),
    _case("bounded.batches", ex.check_bounded, bounded_in_batches, "correct", r"at least two"),
    _case("bounded.wait", ex.check_bounded, bounded_with_wait, "correct", r"never more than 3"),
    Case("bounded.placeholder", ex.check_bounded, placeholder, "not attempted",
         r"replace `raise NotImplementedError`"),
    _case("bounded.all_at_once", ex.check_bounded, all_at_once, "not yet",
          r"up to 24 of your tasks were in flight at once"),
    _case("bounded.kept_futures", ex.check_bounded, bounded_but_keeping_futures, "not yet",
          r"held up to 24 of them.*a future you keep keeps its result"),
    _case("bounded.one_at_a_time", ex.check_bounded, one_at_a_time, "not yet",
          r"one at a time"),
    _case("bounded.no_cluster", ex.check_bounded, without_the_cluster, "not yet",
          r"only 0 of the 24 slow_square tasks ran on the cluster"),
    _case("scatter.solution", ex.check_scatter, Solution(NB, "sum_blocks"), "correct",
          r"took the 8.0 MB array from the cluster's memory"),
    _case("scatter.broadcast", ex.check_scatter, scatter_broadcast, "correct",
          r"from the cluster's memory"),
    _case("scatter.map", ex.check_scatter, scatter_and_map, "correct", r"under 10 kB"),
    Case("scatter.placeholder", ex.check_scatter, placeholder, "not attempted",
         r"replace `raise NotImplementedError`"),
    _case("scatter.inline", ex.check_scatter, array_in_every_task, "not yet",
          r"8 of your tasks carried the 8.0 MB array inside their own message"),
    _case("scatter.slices", ex.check_scatter, slices_in_every_task, "not yet",
          r"did not take the whole array from the cluster's memory"),
    _case("survive.solution", ex.check_survive, Solution(NB, "run_job"), "correct",
          r"killed a worker that was running one of your tasks"),
    _case("survive.submit", ex.check_survive, survive_with_submit, "correct",
          r"still returned all 6 squares"),
    _case("survive.as_completed", ex.check_survive, survive_with_as_completed, "correct",
          r"still returned all 6 squares, in order"),
    Case("survive.placeholder", ex.check_survive, placeholder, "not attempted",
         r"replace `raise NotImplementedError`"),
    _case("survive.no_retries", ex.check_survive, no_retries, "not yet",
          r"TransientError .* retries=1"),
    _case("survive.no_cluster", ex.check_survive, squares_here, "not yet",
          r"no flaky_square task ran on the cluster"),
]  # fmt: skip
