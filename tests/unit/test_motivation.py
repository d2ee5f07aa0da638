"""Unit tests of ipc_helpers.motivation (notebook 00's workers and runners)."""

from __future__ import annotations

import multiprocessing as mp
import queue

import pytest

from ipc_helpers import motivation as m
from ipc_helpers.cleanup import stop


def run_child(target, *args) -> object:
    """Run ``target(*args, results)`` in a child; return what it put on the queue."""
    results = mp.Queue()
    child = mp.Process(target=target, args=(*args, results))
    child.start()
    try:
        return results.get(timeout=30)
    finally:
        assert stop([child], timeout=10) == [0]


def test_change_globals_changes_only_the_childs_copy():
    counter, notes = run_child(m.change_globals, "hello")
    assert (counter, notes) == (1, ["hello"])
    assert (m.COUNTER, m.NOTES) == (0, [])


def test_append_and_send_returns_a_changed_copy():
    mine = [1, 2]
    received = run_child(m.append_and_send, mine, 3)
    assert received == [1, 2, 3]
    assert mine == [1, 2]
    assert received is not mine


def test_square_in_place_changes_the_list_in_this_process():
    numbers = [1, 2, 3]
    assert m.square_in_place(numbers) is None
    assert numbers == [1, 4, 9]


def test_square_all_puts_the_squares():
    results: queue.Queue = queue.Queue()
    m.square_all([2, -3], results)
    assert results.get_nowait() == [4, 9]


@pytest.mark.parametrize("start, stop_, expected", [(0, 0, 0), (0, 4, 14), (3, 5, 25)])
def test_sum_of_squares(start, stop_, expected):
    assert m.sum_of_squares(start, stop_) == expected


def test_usable_cpus_is_positive_and_at_most_cpu_count():
    assert 1 <= m.usable_cpus() <= (mp.cpu_count() or 1)


@pytest.mark.parametrize("n, parts", [(10, 3), (0, 2), (5, 5), (3, 5), (1_000_001, 7)])
def test_split_range_covers_range_once_with_near_equal_chunks(n, parts):
    chunks = m.split_range(n, parts)
    assert len(chunks) == parts
    assert [i for a, b in chunks for i in range(a, b)] == list(range(n))
    sizes = [b - a for a, b in chunks]
    assert max(sizes) - min(sizes) <= 1


def test_split_range_example():
    assert m.split_range(10, 3) == [(0, 4), (4, 7), (7, 10)]


@pytest.mark.parametrize(
    "args, error, word",
    [
        (("10", 2), TypeError, "n"),
        ((10, 0), ValueError, "parts"),
        ((-1, 2), ValueError, "n"),
        ((10, 2.0), TypeError, "parts"),
    ],
)
def test_split_range_rejects_bad_input(args, error, word):
    with pytest.raises(error, match=word):
        m.split_range(*args)


def test_context_for():
    assert m.context_for("spawn").get_start_method() == "spawn"
    assert m.context_for(None) is mp.get_context()
    with pytest.raises(ValueError, match="start_method"):
        m.context_for("vfork")
    with pytest.raises(TypeError, match="start_method"):
        m.context_for(3)


def test_sum_in_processes_matches_serial():
    chunks = m.split_range(1000, 3)
    assert m.sum_in_processes(chunks, mp.get_context(), timeout=30) == m.sum_of_squares(0, 1000)
    assert mp.active_children() == []


@pytest.mark.parametrize(
    "args, error, word",
    [
        (([], mp.get_context()), ValueError, "chunks"),
        (((0, 1), mp.get_context()), TypeError, "chunks"),
        (([(0, 1)], "spawn"), TypeError, "ctx"),
        (([(0, 1)], mp.get_context(), 0), ValueError, "timeout"),
    ],
)
def test_sum_in_processes_rejects_bad_input(args, error, word):
    with pytest.raises(error, match=word):
        m.sum_in_processes(*args)


def test_race_threads_processes():
    race = m.race_threads_processes(200_000, 2, timeout=30)
    assert race.workers == 2 and race.n == 200_000
    assert min(race.serial, race.threads, race.processes) > 0
    assert [label for label, _ in race.as_rows()] == [
        "1 thread (serial)",
        "2 threads",
        "2 processes",
    ]
    assert mp.active_children() == []


@pytest.mark.parametrize(
    "kwargs, error, word",
    [
        ({"n": 0}, ValueError, "n"),
        ({"workers": 0}, ValueError, "workers"),
        ({"workers": "2"}, TypeError, "workers"),
        ({"timeout": None}, TypeError, "timeout"),
        ({"start_method": "threads"}, ValueError, "start_method"),
    ],
)
def test_race_rejects_bad_input(kwargs, error, word):
    with pytest.raises(error, match=word):
        m.race_threads_processes(**kwargs)


def test_plot_race_draws_three_bars():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    race = m.Race(2, 100, 1.0, 1.1, 0.6, 2)
    ax = m.plot_race(race)
    assert len(ax.patches) == 3
    plt.close("all")
    with pytest.raises(TypeError, match="race"):
        m.plot_race({"serial": 1})


STDERR = """Traceback (most recent call last):
  File "/somewhere/x.py", line 3, in <module>
ValueError: first
Traceback (most recent call last):
  File "/somewhere/x.py", line 9, in <module>
RuntimeError:\x20
        An attempt has been made
        to start

        more text
"""


def test_last_error_block_keeps_the_message_and_drops_the_paths():
    assert (
        m.last_error_block(STDERR)
        == "RuntimeError:\nAn attempt has been made\nto start\n\nmore text"
    )
    assert m.last_error_block(STDERR, "ValueError") == "ValueError: first"
    assert m.last_error_block("all fine") == ""
    with pytest.raises(TypeError, match="stderr"):
        m.last_error_block(b"bytes")
