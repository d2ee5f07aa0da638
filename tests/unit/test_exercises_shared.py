"""Exercise checkers of notebook 03: right, placeholder, typical mistakes, garbage."""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing import shared_memory

import numpy as np
import pytest

from ipc_helpers import shared
from ipc_helpers.cleanup import ipc_entries, live_children, stop
from ipc_helpers.exercises import shared as ex


def segments() -> set[str]:
    return {n for n in ipc_entries() if n.startswith("psm_")}


@pytest.fixture(autouse=True)
def no_leftovers():
    before = segments()
    yield
    assert live_children() == []
    assert segments() - before == set()


def placeholder(*args):
    raise NotImplementedError


def garbage(*args):
    return "forty-two"


# --- Exercise 1 -----------------------------------------------------------------


def start_counting(counter, n_processes, increments, make_lock):
    # The barrier and the locks stay referenced until the workers are joined:
    # under spawn, a semaphore dropped right after start() is removed before the
    # child can open it.
    start = mp.Barrier(n_processes)
    locks = [make_lock(counter) for _ in range(n_processes)]
    workers = [
        mp.Process(target=shared.add_many, args=(counter, increments, lock, start))
        for lock in locks
    ]
    for w in workers:
        w.start()
    stop(workers, timeout=30)


def no_lock(counter, n_processes, increments):
    start_counting(counter, n_processes, increments, lambda c: None)


def one_lock_each(counter, n_processes, increments):
    start_counting(counter, n_processes, increments, lambda c: mp.Lock())


def one_shared_lock(counter, n_processes, increments):
    lock = mp.Lock()
    start_counting(counter, n_processes, increments, lambda c: lock)


KEEP_ALIVE = []


def forgets_to_join(counter, n_processes, increments):
    start = mp.Barrier(n_processes)
    KEEP_ALIVE.append(start)
    for _ in range(n_processes):
        mp.Process(target=shared.add_many, args=(counter, 100 * increments, None, start)).start()


def counts_twice(counter, n_processes, increments):
    one_shared_lock(counter, n_processes, increments)
    one_shared_lock(counter, n_processes, increments)


def test_count_reference_solution_and_a_shared_lock_are_correct():
    for solution in (ex.count_safely, one_shared_lock):
        feedback = ex.check_count_safely(solution)
        assert feedback.ok, feedback
        assert str(feedback).startswith("Correct! both runs counted exactly 90,000.")


def test_count_placeholder_is_not_attempted():
    assert ex.check_count_safely(placeholder).status == "not attempted"


@pytest.mark.parametrize("wrong", [no_lock, one_lock_each])
def test_count_without_one_shared_lock_is_not_yet(wrong):
    feedback = ex.check_count_safely(wrong)
    assert feedback.status == "not yet"
    assert "updates were lost" in feedback.message or "stayed at 0" in feedback.message


def test_count_without_join_is_not_yet():
    feedback = ex.check_count_safely(forgets_to_join)
    KEEP_ALIVE.clear()
    assert feedback.status == "not yet"
    assert "still running" in feedback.message


def test_count_too_high_is_not_yet():
    feedback = ex.check_count_safely(counts_twice)
    assert feedback.status == "not yet"
    assert "more than 90,000" in feedback.message


def test_count_garbage_is_not_yet_without_exception():
    assert ex.check_count_safely(garbage).status == "not yet"  # never touches the counter
    feedback = ex.check_count_safely(None)
    assert feedback.status == "not yet" and "must be a function" in feedback.message


# --- Exercise 2 -----------------------------------------------------------------


def sum_workers(name, data, n_workers, results, slices):
    workers = [
        mp.Process(target=shared.sum_slice, args=(name, len(data), start, end, results, i))
        for i, (start, end) in enumerate(slices)
    ]
    for w in workers:
        w.start()
    stop(workers, timeout=30)


def never_unlinks(data, n_workers):
    results = mp.Array("d", n_workers)
    block = shared.SharedArray.create(len(data))
    block.array[:] = data
    sum_workers(block.name, data, n_workers, results, shared.split(len(data), n_workers))
    block._shm.close()  # closes, but never unlinks
    return sum(results[:])


def drops_the_remainder(data, n_workers):
    results = mp.Array("d", n_workers)
    step = len(data) // n_workers
    with shared.SharedArray.create(len(data)) as block:
        block.array[:] = data
        slices = [(i * step, (i + 1) * step) for i in range(n_workers)]
        sum_workers(block.name, data, n_workers, results, slices)
    return sum(results[:])


def test_sum_reference_solution_is_correct():
    feedback = ex.check_parallel_sum(ex.parallel_sum)
    assert feedback.ok, feedback
    assert "nothing was left running or in /dev/shm" in feedback.message


def test_sum_placeholder_is_not_attempted():
    assert ex.check_parallel_sum(placeholder).status == "not attempted"


def test_sum_that_never_unlinks_is_not_yet_and_cleaned_up():
    feedback = ex.check_parallel_sum(never_unlinks)
    assert feedback.status == "not yet"
    assert "left 1 shared-memory segment(s)" in feedback.message  # the fixture checks removal


def test_sum_with_uneven_slices_is_not_yet():
    feedback = ex.check_parallel_sum(drops_the_remainder)
    assert feedback.status == "not yet"
    assert "but the sum is 500,000.0" in feedback.message


def test_sum_garbage_is_not_yet():
    feedback = ex.check_parallel_sum(garbage)
    assert feedback.status == "not yet" and "not a number" in feedback.message
    assert ex.check_parallel_sum(lambda data, n: 1 / 0).status == "not yet"


# --- Exercise 3 -----------------------------------------------------------------


def fill_with(n_rows, n_cols, slices, name):
    workers = [
        mp.Process(target=shared.fill_rows, args=(name, n_rows, n_cols, a, b)) for a, b in slices
    ]
    for w in workers:
        w.start()
    stop(workers, timeout=30)


def floor_division_slices(n_rows, n_cols, n_workers):
    step = n_rows // n_workers
    with shared.SharedArray.create((n_rows, n_cols), "int64") as table:
        fill_with(
            n_rows, n_cols, [(i * step, (i + 1) * step) for i in range(n_workers)], table.name
        )
        return table.array.copy()


def returns_a_view(n_rows, n_cols, n_workers):
    shm = shared_memory.SharedMemory(create=True, size=n_rows * n_cols * 8)
    fill_with(n_rows, n_cols, shared.split(n_rows, n_workers), shm.name)
    shm.unlink()  # unlinked, never closed: the view still works, but only by luck
    return np.ndarray((n_rows, n_cols), dtype=np.int64, buffer=shm.buf)


def copies_too_early(n_rows, n_cols, n_workers):
    with shared.SharedArray.create((n_rows, n_cols), "int64") as table:
        result = table.array.copy()
        fill_with(n_rows, n_cols, shared.split(n_rows, n_workers), table.name)
    return result


def test_table_reference_solution_is_correct():
    feedback = ex.check_fill_table(ex.fill_table)
    assert feedback.ok, feedback
    assert "filled the 10 x 6 table" in feedback.message


def test_table_placeholder_is_not_attempted():
    assert ex.check_fill_table(placeholder).status == "not attempted"


def test_table_missing_rows_is_not_yet():
    feedback = ex.check_fill_table(floor_division_slices)
    assert feedback.status == "not yet"
    assert "rows [9] were never filled" in feedback.message


def test_table_view_is_not_yet():
    feedback = ex.check_fill_table(returns_a_view)
    assert feedback.status == "not yet"
    assert "returned a view of the shared segment" in feedback.message


def test_table_copied_before_the_workers_is_not_yet():
    feedback = ex.check_fill_table(copies_too_early)
    assert feedback.status == "not yet"
    assert "were never filled" in feedback.message


def test_table_garbage_is_not_yet():
    feedback = ex.check_fill_table(garbage)
    assert feedback.status == "not yet" and "returned str" in feedback.message
    wrong_shape = ex.check_fill_table(lambda r, c, n: np.zeros((c, r)))
    assert wrong_shape.status == "not yet" and "shape (6, 10)" in wrong_shape.message
