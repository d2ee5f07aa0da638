"""Notebook 03's checkers: what the contract table (contract_cases/shared.py) does not check.

The table runs each checker against right and wrong answers under every start
method; here are the pieces it relies on: the counter that notices writes
made in the parent, the diagnoses of wrong sums and tables, and the answer
to an interrupt.
"""

from __future__ import annotations

import multiprocessing as mp
import types

import numpy as np
import pytest

from ipc_helpers import shared
from ipc_helpers.cleanup import stop
from ipc_helpers.exercises import shared as ex
from ipc_helpers.motivation import split_range


def test_the_watched_counter_counts_only_the_parents_writes():
    counter = ex._WatchedCounter()
    counter.value = 0  # resetting to 0 is not counting
    assert counter.written_here == 0
    start = mp.Barrier(2)
    procs = [
        mp.Process(target=shared.add_many, args=(counter, 1_000, counter.get_lock(), start))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    assert stop(procs, timeout=30) == [0, 0]
    assert counter.value == 2_000 and counter.written_here == 0
    counter.value = 5
    assert counter.value == 5 and counter.written_here == 1


def test_the_watched_counter_reaches_a_spawn_child_as_a_plain_value():
    ctx = mp.get_context("spawn")
    counter = ex._WatchedCounter()
    if mp.get_start_method() != "spawn":
        pytest.skip("a fork-context counter cannot go to a spawn child")
    p = ctx.Process(target=shared.add_one, args=(counter,))
    p.start()
    assert stop([p], timeout=30) == [0]
    assert counter.value == 1 and counter.written_here == 0


def test_sum_diagnoses_name_the_mistake():
    data = ex.sum_data()
    total = float(data.sum())
    assert "all 0" in ex._why_the_sum_is_wrong(0.0, data)
    short = total - float(data[-1])
    assert "short by exactly the last value" in ex._why_the_sum_is_wrong(short, data)
    (a, b) = split_range(len(data), ex.SUM_WORKERS)[1]
    one = float(data[a:b].sum())
    assert "same slot" in ex._why_the_sum_is_wrong(one, data)
    assert "cover the whole array once" in ex._why_the_sum_is_wrong(total / 7, data)


def test_table_diagnoses_name_the_mistake():
    rows = [shared.table_row(r, ex.TABLE_COLS) for r in range(ex.TABLE_ROWS)]
    expected = np.stack(rows)
    zeros = np.zeros_like(expected)
    assert "copied before the workers" in ex._why_the_table_is_wrong(zeros, expected)
    uneven = expected.copy()
    uneven[9] = 0
    assert "rows [9] were never filled" in ex._why_the_table_is_wrong(uneven, expected)
    half = expected.copy()
    half[5:] = 0
    assert "rows [5, 6, 7, 8, 9] hold wrong values or zeros" in ex._why_the_table_is_wrong(
        half, expected
    )


def test_a_view_on_a_closed_segment_is_caught_before_it_is_read():
    with shared.SharedArray.create(4) as sa:
        view = sa.array
        assert ex._backed_by_buffer(view)
        assert not ex._backed_by_buffer(view.copy())
        del view


def test_the_data_to_sum_fits_binder():
    data = ex.sum_data()
    assert data.shape == (ex.SUM_LENGTH,) and data.nbytes == 8_000_000
    assert ex.SUM_LENGTH % ex.SUM_WORKERS != 0  # the slices do not split evenly


@pytest.mark.parametrize(
    "checker", [ex.check_count_safely, ex.check_parallel_sum, ex.check_fill_table]
)
def test_an_interrupt_during_a_check_answers_interrupted(checker, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ex, "run_attempt", interrupted)
    feedback = checker(lambda *args: None)
    assert feedback.status == "interrupted"
    assert "you stopped the check" in feedback.message


def test_a_count_right_by_luck_is_judged_on_the_locks_the_processes_got():
    """On a busy machine the processes may not overlap: no update lost, no lock either."""
    from ipc_helpers.cleanup import Given, StartedProcess

    def add_many_with(lock):
        args = tuple(Given(a) for a in ("counter", 30_000, lock, "start"))
        return StartedProcess(
            "P", 1, "add_many", "ipc_helpers.shared", "process", "fork", 0, args=args
        )

    one = mp.Lock()
    said = ex._lock_problem(types.SimpleNamespace(processes=[add_many_with(None)] * 3), "f", 1)
    assert said.status == "not yet" and "only by luck" in said.message
    assert "lock=None means no lock" in said.message
    locks = [mp.Lock() for _ in range(3)]  # alive, as in a learner's function
    each = [add_many_with(lock) for lock in locks]
    said = ex._lock_problem(types.SimpleNamespace(processes=each), "f", 2)
    assert said.status == "not yet" and "A Lock created for each process" in said.message
    same = [add_many_with(one) for _ in range(3)]
    assert ex._lock_problem(types.SimpleNamespace(processes=same), "f", 1) is None
    freed = add_many_with(mp.Lock())  # the record does not keep the lock alive
    assert ex._argument(freed, "lock") is ex.GONE
