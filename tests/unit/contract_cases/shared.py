"""Contract rows of notebook 03's checkers (ipc_helpers/exercises/shared.py).

Each checker: the notebook's solution and two other correct answers a learner
might write → Correct; the mistakes named in issues 12/21 and the syllabus →
Not yet with the words that name them; the placeholder → Not attempted.
The answers below run in the checker's process and start their processes
with the workers of ``ipc_helpers.shared`` (picklable under every method).
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing import shared_memory

import numpy as np

from ipc_helpers import shared
from ipc_helpers.cleanup import stop
from ipc_helpers.exercises import shared as ex
from ipc_helpers.motivation import split_range
from tests.unit.checker_contract import Case, Solution, placeholder

NB = "03_shared_memory"
CHILD_METHODS = frozenset({"spawn", "forkserver"})


# --- Exercise 1: count_safely ----------------------------------------------------


def _count(counter, n_processes, increments, locks):
    start = mp.Barrier(n_processes)
    workers = [
        mp.Process(target=shared.add_many, args=(counter, increments, lock, start))
        for lock in locks
    ]
    for w in workers:
        w.start()
    stop(workers, timeout=30)


def count_with_one_lock(counter, n_processes, increments):
    lock = mp.Lock()  # one lock, created before the processes, given to all
    _count(counter, n_processes, increments, [lock] * n_processes)


def count_joining_by_hand(counter, n_processes, increments):
    lock, start = counter.get_lock(), mp.Barrier(n_processes)
    workers = []
    try:
        for _ in range(n_processes):
            w = mp.Process(target=shared.add_many, args=(counter, increments, lock, start))
            w.start()
            workers.append(w)
    finally:
        for w in workers:
            w.join(30)


def count_without_a_lock(counter, n_processes, increments):
    _count(counter, n_processes, increments, [None] * n_processes)


def count_with_a_lock_each(counter, n_processes, increments):
    _count(counter, n_processes, increments, [mp.Lock() for _ in range(n_processes)])


def count_without_processes(counter, n_processes, increments):
    counter.value = n_processes * increments


def count_then_patch(counter, n_processes, increments):
    count_without_a_lock(counter, n_processes, increments)
    counter.value = n_processes * increments


def count_with_a_barrier_each(counter, n_processes, increments):
    lock = counter.get_lock()
    barriers = [mp.Barrier(n_processes) for _ in range(n_processes)]
    workers = [
        mp.Process(target=shared.add_many, args=(counter, increments, lock, b, 1.0))
        for b in barriers
    ]
    for w in workers:
        w.start()
    stop(workers, timeout=30)


def count_with_a_lock_in_args(counter, n_processes, increments):
    start = mp.Barrier(n_processes)
    workers = [
        mp.Process(target=shared.add_many, args=(counter, increments, mp.Lock(), start))
        for _ in range(n_processes)
    ]  # each mp.Lock() is dropped once start() returns
    for w in workers:
        w.start()
    stop(workers, timeout=30)


KEEP_ALIVE: list = []


def count_without_joining(counter, n_processes, increments):
    start = mp.Barrier(n_processes)
    KEEP_ALIVE.append(start)
    for _ in range(n_processes):
        mp.Process(target=shared.add_many, args=(counter, 100 * increments, None, start)).start()


def count_twice(counter, n_processes, increments):
    count_with_one_lock(counter, n_processes, increments)
    count_with_one_lock(counter, n_processes, increments)


# --- Exercise 2: parallel_sum ------------------------------------------------------


def _sum_in(block_name, data, n_workers, slices, ctx=mp):
    results = ctx.Array("d", n_workers)
    workers = [
        ctx.Process(target=shared.sum_slice, args=(block_name, len(data), a, b, results, i))
        for i, (a, b) in enumerate(slices)
    ]
    try:
        for w in workers:
            w.start()
    finally:
        stop(workers, timeout=30)
    return sum(results[:])


def sum_with_raw_shared_memory(data, n_workers):
    shm = shared_memory.SharedMemory(create=True, size=data.nbytes)
    try:
        view = np.frombuffer(shm.buf, dtype=np.float64, count=len(data))
        view[:] = data
        del view
        return _sum_in(shm.name, data, n_workers, split_range(len(data), n_workers))
    finally:
        shm.close()
        shm.unlink()


def sum_with_spawn(data, n_workers):
    ctx = mp.get_context("spawn")
    with shared.SharedArray.create(len(data)) as block:
        block.array[:] = data
        return _sum_in(block.name, data, n_workers, split_range(len(data), n_workers), ctx)


def sum_in_the_parent(data, n_workers):
    return float(data.sum())


def sum_with_even_chunks(data, n_workers):
    size = len(data) // n_workers  # 1,000,000 // 3: the last value is in no chunk
    slices = [(i * size, (i + 1) * size) for i in range(n_workers)]
    with shared.SharedArray.create(len(data)) as block:
        block.array[:] = data
        return _sum_in(block.name, data, n_workers, slices)


def sum_into_one_slot(data, n_workers):
    results = mp.Array("d", n_workers)
    with shared.SharedArray.create(len(data)) as block:
        block.array[:] = data
        workers = [
            mp.Process(target=shared.sum_slice, args=(block.name, len(data), a, b, results, 0))
            for a, b in split_range(len(data), n_workers)
        ]
        for w in workers:
            w.start()
        stop(workers, timeout=30)
    return sum(results[:])


def sum_without_unlink(data, n_workers):
    shm = shared_memory.SharedMemory(create=True, size=data.nbytes)
    view = np.frombuffer(shm.buf, dtype=np.float64, count=len(data))
    view[:] = data
    del view
    total = _sum_in(shm.name, data, n_workers, split_range(len(data), n_workers))
    shm.close()  # ... but no unlink()
    return total


def sum_as_text(data, n_workers):
    return f"{sum_with_raw_shared_memory(data, n_workers):.1f}"


# --- Exercise 3: fill_table ------------------------------------------------------


def _fill(table, n_rows, n_cols, slices, ctx=mp):
    workers = [
        ctx.Process(target=shared.fill_rows, args=(table.name, n_rows, n_cols, a, b))
        for a, b in slices
    ]
    for w in workers:
        w.start()
    return stop(workers, timeout=30)


def table_joined_by_hand(n_rows, n_cols, n_workers):
    with shared.SharedArray.create((n_rows, n_cols), "int64") as table:
        workers = []
        for a, b in split_range(n_rows, n_workers):
            w = mp.Process(target=shared.fill_rows, args=(table.name, n_rows, n_cols, a, b))
            w.start()
            workers.append(w)
        for w in workers:
            w.join(30)
        result = table.array.copy()
    return result


def table_with_spawn(n_rows, n_cols, n_workers):
    ctx = mp.get_context("spawn")
    with shared.SharedArray.create((n_rows, n_cols), "int64") as table:
        _fill(table, n_rows, n_cols, split_range(n_rows, n_workers), ctx)
        return np.array(table.array)


def table_in_the_parent(n_rows, n_cols, n_workers):
    return np.outer(np.arange(1, n_rows + 1), np.arange(1, n_cols + 1)).astype(np.int64)


def table_with_even_chunks(n_rows, n_cols, n_workers):
    size = n_rows // n_workers
    with shared.SharedArray.create((n_rows, n_cols), "int64") as table:
        _fill(table, n_rows, n_cols, [(i * size, (i + 1) * size) for i in range(n_workers)])
        return table.array.copy()


def table_view_returned(n_rows, n_cols, n_workers):
    with shared.SharedArray.create((n_rows, n_cols), "int64") as table:
        _fill(table, n_rows, n_cols, split_range(n_rows, n_workers))
        return table.array  # a view: close() at the end of the block refuses


def table_copied_too_early(n_rows, n_cols, n_workers):
    with shared.SharedArray.create((n_rows, n_cols), "int64") as table:
        result = table.array.copy()
        _fill(table, n_rows, n_cols, split_range(n_rows, n_workers))
    return result


def table_as_list(n_rows, n_cols, n_workers):
    return table_joined_by_hand(n_rows, n_cols, n_workers).tolist()


CASES = [
    # Exercise 1
    Case(
        "count.solution",
        ex.check_count_safely,
        Solution(NB, "count_safely"),
        "correct",
        r"3 processes ran shared\.add_many, exited with 0.*exactly 90,000",
    ),
    Case("count.one_lock", ex.check_count_safely, count_with_one_lock, "correct", r"90,000"),
    Case("count.join_by_hand", ex.check_count_safely, count_joining_by_hand, "correct", r"90,000"),
    Case(
        "count.no_lock",
        ex.check_count_safely,
        count_without_a_lock,
        "not yet",
        r"(updates were lost|only by luck).*lock=None means no lock",
    ),
    Case(
        "count.lock_each",
        ex.check_count_safely,
        count_with_a_lock_each,
        "not yet",
        r"(updates were lost|only by luck).*A Lock created for each process protects nothing",
    ),
    Case(
        "count.no_process",
        ex.check_count_safely,
        count_without_processes,
        "not yet",
        r"count_safely started no process",
    ),
    Case(
        "count.patched",
        ex.check_count_safely,
        count_then_patch,
        "not yet",
        r"set counter\.value itself",
    ),
    Case(
        "count.barrier_each",
        ex.check_count_safely,
        count_with_a_barrier_each,
        "not yet",
        r"stayed at 0.*one Barrier\(n_processes\)",
    ),
    Case(
        "count.lock_in_args",
        ex.check_count_safely,
        count_with_a_lock_in_args,
        "not yet",
        r"exit code 1.*created inside args=.*Keep it in a variable",
        methods=CHILD_METHODS,
    ),
    Case(
        "count.lock_in_args_fork",
        ex.check_count_safely,
        count_with_a_lock_in_args,
        "not yet",
        r"updates were lost",
        methods=frozenset({"fork"}),
    ),
    Case(
        "count.no_join",
        ex.check_count_safely,
        count_without_joining,
        "not yet",
        r"returned while 3 processes it started were still running \(now stopped\)",
    ),
    Case("count.twice", ex.check_count_safely, count_twice, "not yet", r"more than 90,000"),
    Case(
        "count.placeholder",
        ex.check_count_safely,
        placeholder,
        "not attempted",
        r"replace `raise NotImplementedError`",
    ),
    Case(
        "count.not_a_function",
        ex.check_count_safely,
        42,
        "not yet",
        r"give the checker your function itself",
    ),
    # Exercise 2
    Case(
        "sum.solution",
        ex.check_parallel_sum,
        Solution(NB, "parallel_sum"),
        "correct",
        r"3 processes ran shared\.sum_slice on the segment your function created",
    ),
    Case(
        "sum.raw_shared_memory",
        ex.check_parallel_sum,
        sum_with_raw_shared_memory,
        "correct",
        r"500,000\.0.*no process or segment was left behind",
    ),
    Case("sum.spawn", ex.check_parallel_sum, sum_with_spawn, "correct", r"500,000\.0"),
    Case(
        "sum.in_the_parent",
        ex.check_parallel_sum,
        sum_in_the_parent,
        "not yet",
        r"parallel_sum started no process",
    ),
    Case(
        "sum.even_chunks",
        ex.check_parallel_sum,
        sum_with_even_chunks,
        "not yet",
        r"short by exactly the last value.*do not split evenly",
    ),
    Case(
        "sum.one_slot",
        ex.check_parallel_sum,
        sum_into_one_slot,
        "not yet",
        r"one worker's partial sum.*its own index of results",
    ),
    Case(
        "sum.no_unlink",
        ex.check_parallel_sum,
        sum_without_unlink,
        "not yet",
        r"left 1 shared-memory segment linked \(now removed\)",
    ),
    Case(
        "sum.as_text", ex.check_parallel_sum, sum_as_text, "not yet", r"returned str, not a number"
    ),
    Case(
        "sum.placeholder",
        ex.check_parallel_sum,
        placeholder,
        "not attempted",
        r"replace `raise NotImplementedError`",
    ),
    # Exercise 3
    Case(
        "table.solution",
        ex.check_fill_table,
        Solution(NB, "fill_table"),
        "correct",
        r"3 processes ran shared\.fill_rows on the segment your function created",
    ),
    Case("table.join_by_hand", ex.check_fill_table, table_joined_by_hand, "correct", r"10 × 6"),
    Case("table.spawn", ex.check_fill_table, table_with_spawn, "correct", r"without a lock"),
    Case(
        "table.in_the_parent",
        ex.check_fill_table,
        table_in_the_parent,
        "not yet",
        r"fill_table started no process",
    ),
    Case(
        "table.even_chunks",
        ex.check_fill_table,
        table_with_even_chunks,
        "not yet",
        r"rows \[9\] were never filled.*do not split evenly",
    ),
    Case(
        "table.view",
        ex.check_fill_table,
        table_view_returned,
        "not yet",
        r"BufferError.*Return a copy, table\.array\.copy\(\)",
    ),
    Case(
        "table.copied_too_early",
        ex.check_fill_table,
        table_copied_too_early,
        "not yet",
        r"copied before the workers wrote to it",
    ),
    Case("table.as_list", ex.check_fill_table, table_as_list, "not yet", r"return a numpy array"),
    Case(
        "table.placeholder",
        ex.check_fill_table,
        placeholder,
        "not attempted",
        r"replace `raise NotImplementedError`",
    ),
]
