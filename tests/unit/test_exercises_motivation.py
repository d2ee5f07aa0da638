"""Unit tests of the checkers of notebook 00 (ipc_helpers.exercises.motivation)."""

from __future__ import annotations

import multiprocessing as mp
import time

import pytest

from ipc_helpers.cleanup import stop
from ipc_helpers.exercises import motivation as ex
from ipc_helpers.motivation import square_all, square_in_place, sum_of_squares


def placeholder(*args):
    raise NotImplementedError


# --- exercise 1 ---------------------------------------------------------------


def test_bring_back_reference_solution_is_correct():
    feedback = ex.check_bring_back(ex.squares_from_child)
    assert feedback.ok, feedback
    assert str(feedback).startswith("Correct!")


def test_bring_back_placeholder_is_not_attempted():
    assert str(ex.check_bring_back(placeholder)).startswith("Not attempted yet:")


def in_place_in_child(numbers):
    """The classic mistake: let the child change the list, return the list."""
    child = mp.Process(target=square_in_place, args=(numbers,))
    child.start()
    stop([child], timeout=10)
    return numbers


def test_bring_back_list_changed_only_in_the_child():
    feedback = ex.check_bring_back(in_place_in_child)
    assert not feedback.ok
    assert "returned the numbers unchanged" in str(feedback)
    assert "own copy" in str(feedback)


def forgets_to_return(numbers):
    ex.squares_from_child(numbers)


def test_bring_back_returns_none():
    assert "returned None" in str(ex.check_bring_back(forgets_to_return))


def computes_in_parent(numbers):
    return [x * x for x in numbers]


def test_bring_back_without_a_child():
    feedback = ex.check_bring_back(computes_in_parent)
    assert not feedback.ok and "child process" in str(feedback)


def leaves_child_running(numbers):
    results = mp.Queue()
    mp.Process(target=square_all, args=(numbers, results)).start()
    squares = results.get(timeout=10)
    mp.Process(target=time.sleep, args=(5,)).start()  # a child nobody joins
    return squares


def test_bring_back_with_a_child_still_running():
    feedback = ex.check_bring_back(leaves_child_running)
    assert not feedback.ok and "still running" in str(feedback)
    assert mp.active_children() == []


def waits_forever(numbers):
    results = mp.Queue()
    results.get(timeout=60)  # nobody puts anything


def test_bring_back_timeout(monkeypatch):
    monkeypatch.setattr(ex, "TIME_LIMIT", 1.0)
    feedback = ex.check_bring_back(waits_forever)
    assert not feedback.ok and "did not finish within 1 s" in str(feedback)


@pytest.mark.parametrize("garbage", [None, 42, "text", lambda: [1]])
def test_bring_back_garbage_is_plain_words(garbage):
    feedback = ex.check_bring_back(garbage)
    assert not feedback.ok
    assert "Traceback" not in str(feedback)


# --- exercise 2 ---------------------------------------------------------------


def test_parallel_sum_reference_solution_is_correct():
    feedback = ex.check_parallel_sum(ex.parallel_sum_of_squares)
    assert feedback.ok, feedback


def test_parallel_sum_placeholder_is_not_attempted():
    assert str(ex.check_parallel_sum(placeholder)).startswith("Not attempted yet:")


def drops_the_remainder(n, parts):
    size = n // parts
    return sum(sum_of_squares(i * size, (i + 1) * size) for i in range(parts))


def overlapping_chunks(n, parts):
    size = n // parts + 1
    return sum(
        sum_of_squares(i * size - (1 if i else 0), min(n, (i + 1) * size)) for i in range(parts)
    )


def test_parallel_sum_remainder_dropped():
    feedback = ex.check_parallel_sum(drops_the_remainder)
    assert not feedback.ok and "left out" in str(feedback)


def test_parallel_sum_overlap():
    feedback = ex.check_parallel_sum(overlapping_chunks)
    assert not feedback.ok and "counted twice" in str(feedback)


def test_parallel_sum_wrong_type():
    feedback = ex.check_parallel_sum(lambda n, parts: float(sum_of_squares(0, n)))
    assert not feedback.ok and "whole number" in str(feedback)


def test_parallel_sum_garbage():
    feedback = ex.check_parallel_sum("not a function")
    assert not feedback.ok and "Traceback" not in str(feedback)


# --- exercise 3 ---------------------------------------------------------------


def test_defaults_reference_is_correct():
    assert ex.check_defaults(ex.default_start_methods()).ok


def test_defaults_accepts_case_and_spaces():
    answers = {key: f" {value.upper()} " for key, value in ex.DEFAULTS.items()}
    assert ex.check_defaults(answers).ok


def test_defaults_placeholder_is_not_attempted():
    blank = dict.fromkeys(ex.DEFAULTS)
    assert str(ex.check_defaults(blank)).startswith("Not attempted yet:")


def test_defaults_classic_mistake_says_which_to_look_at():
    answers = dict(ex.DEFAULTS, **{"Linux, Python 3.14": "fork"})
    feedback = ex.check_defaults(answers)
    assert str(feedback) == (
        "Not yet: 1 of 4 answers are not right yet. Look again at 'Linux, Python 3.14': "
        "re-read the table of defaults."
    )


def test_defaults_missing_key():
    answers = dict(ex.DEFAULTS)
    del answers["Windows, Python 3.11"]
    assert "'Windows, Python 3.11' is missing" in str(ex.check_defaults(answers))


@pytest.mark.parametrize("garbage", [None, ["fork"], "spawn", {"Linux, Python 3.11": 3}])
def test_defaults_garbage_is_plain_words(garbage):
    feedback = ex.check_defaults(garbage)
    assert not feedback.ok and "Traceback" not in str(feedback)
