"""Unit tests of the checkers of notebook 00 beyond the contract table.

The contract table (``tests/unit/contract_cases/motivation.py``) runs the
notebook's solutions, other correct answers and the known wrong answers
through every checker. Here: what the table cannot see.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.queues
import subprocess
import sys

import pytest

from ipc_helpers.exercises import motivation as ex


def test_the_queue_recording_is_undone_even_when_the_attempt_fails():
    originals = (multiprocessing.queues.Queue.get, multiprocessing.queues.SimpleQueue.get)

    def fails(numbers):
        raise ValueError("my mistake")

    feedback = ex.check_bring_back(fails)
    assert feedback.status == "not yet" and "ValueError: my mistake" in feedback.message
    assert (multiprocessing.queues.Queue.get, multiprocessing.queues.SimpleQueue.get) == originals


def test_the_queue_recording_sees_items_taken_from_both_kinds_of_queue():
    with ex._queue_gets() as got:
        for q in (mp.Queue(), mp.SimpleQueue()):
            q.put([1, 4])
            assert q.get() == [1, 4]
    assert got == [[1, 4], [1, 4]]
    assert ex._came_through([1, 4], got) and not ex._came_through((1, 4), got)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the answer key is about Linux")
def test_the_answer_key_agrees_with_this_python_on_linux():
    """The Linux rows of exercise 3 are what a fresh interpreter here really uses."""
    default = subprocess.run(
        [sys.executable, "-I", "-c", "import multiprocessing as mp; print(mp.get_start_method())"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    key = "Linux, Python 3.14" if sys.version_info >= (3, 14) else "Linux, Python 3.13"
    assert ex.DEFAULTS[key] == default


def test_every_question_has_its_reason_and_its_hint():
    assert set(ex._WHY) == set(ex._HINTS) == set(ex.DEFAULTS)
    assert set(ex.DEFAULTS.values()) <= set(ex.METHODS)
