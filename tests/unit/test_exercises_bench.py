"""The checkers of notebook 05 answer in plain words, and the solutions pass."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from ipc_helpers.exercises import bench as ex


def placeholder(q, items):
    raise NotImplementedError


def no_sentinel(q, items):
    for start in range(0, len(items), 100):
        q.put(items[start : start + 100])


def reversed_batch(q, items):
    q.put(items[::-1])
    q.put(None)


def loses_the_last_batch(q, items):
    for start in range(0, len(items) - 100, 100):
        q.put(items[start : start + 100])
    q.put(None)


def raises(q, items):
    raise ValueError("oops")


# --- exercise 1 ---------------------------------------------------------------


def test_predictions_solution_is_correct():
    assert ex.check_predictions(ex.SOLUTION_PREDICTIONS).ok


@pytest.mark.parametrize(
    "answer, status, text",
    [
        ({}, "not attempted", "fill in the dict"),
        (None, "not attempted", "fill in the dict"),
        (
            {**ex.SOLUTION_PREDICTIONS, "small_round_trip": "Queue"},
            "not yet",
            "the winner is not 'Queue'",
        ),
        ({**ex.SOLUTION_PREDICTIONS, "array_16MiB": "shm"}, "not yet", "must be one of"),
        ({"small_round_trip": "Pipe"}, "not yet", "no answer for 'array_16MiB'"),
        ({**ex.SOLUTION_PREDICTIONS, "extra": 1}, "not yet", "keys no race uses"),
        (42, "not yet", "must be a dict"),
        ({"small_round_trip": ["Pipe"]}, "not yet", ""),  # unhashable: still plain words
    ],
)
def test_predictions_feedback(answer, status, text):
    feedback = ex.check_predictions(answer)
    assert feedback.status == status
    assert text in feedback.message


# --- exercise 2 ---------------------------------------------------------------


def test_batching_solution_is_correct():
    feedback = ex.check_batching(ex.send_in_batches)
    assert feedback.ok, feedback
    assert mp.active_children() == []


@pytest.mark.parametrize(
    "send, status, text",
    [
        (placeholder, "not attempted", "replace `raise NotImplementedError`"),
        (ex.send_one_by_one, "not yet", "but not 10x faster"),
        (reversed_batch, "not yet", "out of order"),
        (loses_the_last_batch, "not yet", "received 9,900 items instead of 10,000"),
        (raises, "not yet", "your code raised ValueError: oops"),
        (42, "not yet", "pass your function itself"),
    ],
)
def test_batching_feedback(send, status, text):
    feedback = ex.check_batching(send, rounds=1)
    assert feedback.status == status, feedback
    assert text in feedback.message
    assert mp.active_children() == []


def test_batching_without_sentinel_is_bounded():
    feedback = ex.check_batching(no_sentinel, rounds=1, timeout=1.0)
    assert feedback.status == "not yet"
    assert "send the None sentinel" in feedback.message
    assert mp.active_children() == []


def test_item_sink_in_one_process():
    import queue

    q, sent = queue.Queue(), []

    class Report:
        def send(self, items):
            sent.append(items)

    for message in ([(1, 0.5)], (2, 1.0), None, "stop"):
        q.put(message)
    ex.item_sink(q, Report(), timeout=1.0)
    items = [(1, 0.5), (2, 1.0)]
    assert sent == [(2, hash(tuple(items))), items]


# --- exercise 3 ---------------------------------------------------------------


def test_choices_solution_is_correct():
    assert ex.check_choices(ex.SOLUTION_CHOICES).ok
    assert ex.check_choices({**ex.SOLUTION_CHOICES, "thumbnails": "Queue"}).ok


@pytest.mark.parametrize(
    "answer, status, text",
    [
        ({}, "not attempted", "fill in the dict"),
        (
            {**ex.SOLUTION_CHOICES, "image_stack": "Queue"},
            "not yet",
            "'Queue' is not the best fit for 'image_stack'",
        ),
        ({**ex.SOLUTION_CHOICES, "chess_engine": "Socket"}, "not yet", "must be one of"),
        ({"thumbnails": "Pool"}, "not yet", "no answer for 'chess_engine'"),
        ({**ex.SOLUTION_CHOICES, "x": "Pipe"}, "not yet", "keys no scenario uses"),
        ("Pool", "not yet", "must be a dict"),
    ],
)
def test_choices_feedback(answer, status, text):
    feedback = ex.check_choices(answer)
    assert feedback.status == status
    assert text in feedback.message
