"""Parts of notebook 01's checkers that the contract table does not reach.

The verdicts themselves (the notebook's solutions, other correct answers,
each known wrong answer, the placeholder) are rows of the contract table:
``tests/unit/contract_cases/queues.py``. Here: the judging functions on
results the table's answers do not produce, and the queue handed to
``send_sentinels``.
"""

from __future__ import annotations

import multiprocessing as mp
import time

import pytest

from ipc_helpers import queues
from ipc_helpers.cleanup import stop
from ipc_helpers.exercises import queues as ex

# --- exercise 1: the recording queue ---------------------------------------------------


def late_consumer(q, results, timeout):
    """``queues.consumer``, starting 2.5 s late: after the short grace the test sets."""
    time.sleep(2.5)
    queues.consumer(q, results, timeout=timeout)


def one_none_each(tasks, n_consumers):
    for _ in range(n_consumers):
        tasks.put(None)


def test_recording_queue_remembers_puts_and_delegates_the_rest():
    tasks = ex.RecordingQueue(mp.Queue())
    tasks.put(None)
    tasks.put_nowait("x")
    assert tasks.put_items == [None, "x"]
    assert tasks.get(timeout=5) is None
    tasks.close()
    tasks.join_thread()
    assert repr(tasks) == repr(tasks.real)


def test_recording_queue_reaches_a_child_as_the_plain_queue():
    tasks, results = ex.RecordingQueue(mp.Queue()), mp.Queue()
    child = mp.Process(target=queues.consumer, args=(tasks, results))
    child.start()
    tasks.put(7)
    tasks.put(None)
    try:
        assert results.get(timeout=20) == 7
    finally:
        assert stop([child], timeout=20) == [0]


def test_judge_sentinels_when_a_task_went_missing():
    feedback = ex._judge_sentinels(1, [None], [0], ex.TASKS[:-1])
    assert feedback.status == "not yet"
    assert "the consumers reported" in feedback.message
    assert "put only the sentinels" in feedback.message


# --- exercise 2: results no table answer produces ---------------------------------------


@pytest.mark.parametrize(
    ("result", "words"),
    [
        ("10 2 17", "should return a list, but it returned str"),
        ([n + 1 for n in ex.PIPELINE_INPUTS[0]], "incremented but not squared"),
        (sorted(n * n + 1 for n in ex.PIPELINE_INPUTS[0]), "the order is not"),
        ([1, 2, 3], "should give [10, 2, 17, 2, 26, 82, 5, 37], but it gave [1, 2, 3]"),
    ],
)
def test_judge_pipeline_names_the_mistake(result, words):
    feedback = ex._judge_pipeline(list(ex.PIPELINE_INPUTS[0]), result)
    assert feedback.status == "not yet"
    assert words in feedback.message


def test_judge_pipeline_accepts_the_right_list():
    assert ex._judge_pipeline([2, 3], [5, 10]) is None
    assert ex._judge_pipeline([], []) is None


# --- exercise 3: results no table answer produces ---------------------------------------


@pytest.mark.parametrize(
    ("result", "words"),
    [
        ([0.25, 0.5], "should return a dict, but it returned list"),
        ({}, "there is no entry for 4"),
        ({**ex.RECIPROCAL_EXPECTED, 2: 0.4}, "for 2 the answer should be 0.5, got 0.4"),
        ({**ex.RECIPROCAL_EXPECTED, 9: 1}, "an entry for 9, which is not one of the numbers"),
    ],
)
def test_judge_reciprocals_names_the_mistake(result, words):
    feedback = ex._judge_reciprocals(result)
    assert feedback.status == "not yet"
    assert words in feedback.message


def test_judge_reciprocals_accepts_the_expected_dict():
    assert ex._judge_reciprocals(dict(ex.RECIPROCAL_EXPECTED)) is None


def test_judge_sentinels_does_not_call_a_consumer_that_died_waiting():
    # exit code 1: the consumer ended by itself (Kernel → Interrupt), it was not stopped
    feedback = ex._judge_sentinels(3, [None, None, None], [0, 1, -15], ex.TASKS)
    assert feedback.status == "interrupted"
    assert "you stopped the check" in feedback.message
    assert "still waiting" not in feedback.message


def test_slow_consumers_do_not_fail_a_right_answer(monkeypatch):
    # Under spawn on a busy machine, a consumer can still be starting 3 s after the
    # sentinels went in (seen: "put 3 Nones, and 1 consumer was still waiting").
    monkeypatch.setattr(ex, "consumer", late_consumer)
    monkeypatch.setattr(ex, "CONSUMER_GRACE", 0.5)  # 3 s in the course: a shorter test
    started = time.monotonic()
    assert ex._sentinel_run(one_none_each, 2) is None
    assert time.monotonic() - started < ex.CONSUMER_LIMIT


def test_judge_sentinels_does_not_blame_enough_sentinels_for_a_slow_machine():
    feedback = ex._judge_sentinels(3, [None, None, None], [0, 0, -15], ex.TASKS[:8])
    assert feedback.status == "not yet"
    assert "enough for every consumer" in feedback.message
    assert "very busy" in feedback.message
    assert "needs its own None" not in feedback.message
