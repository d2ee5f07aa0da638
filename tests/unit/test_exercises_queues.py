"""Exercise checkers of notebook 01: solutions pass, wrong answers get plain words."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from ipc_helpers.cleanup import stop
from ipc_helpers.exercises import queues as ex
from ipc_helpers.exercises.feedback import NOT_ATTEMPTED, NOT_YET
from ipc_helpers.queues import reciprocal_worker, safe_reciprocal_worker, square_stage


def placeholder(*args):
    raise NotImplementedError


@pytest.fixture(autouse=True)
def no_children_left():
    yield
    assert not mp.active_children()


# --- exercise 1 -----------------------------------------------------------------------


def test_sentinels_solution_is_correct():
    feedback = ex.check_sentinels(ex.send_sentinels_solution)
    assert feedback.ok, feedback


def test_sentinels_placeholder_is_not_attempted():
    assert ex.check_sentinels(placeholder).status == NOT_ATTEMPTED


def one_sentinel(tasks, n_consumers):
    tasks.put(None)


def one_too_many(tasks, n_consumers):
    for _ in range(n_consumers + 1):
        tasks.put(None)


def wrong_sentinel(tasks, n_consumers):
    for _ in range(n_consumers):
        tasks.put("STOP")


def test_sentinels_one_for_all_is_not_yet():
    feedback = ex.check_sentinels(one_sentinel)
    assert feedback.status == NOT_YET
    assert "with 3 consumers, 2 were still waiting" in feedback.message
    assert "each consumer needs its own None" in feedback.message


def test_sentinels_too_many_is_not_yet():
    feedback = ex.check_sentinels(one_too_many)
    assert feedback.status == NOT_YET
    assert "1 None was left on the queue" in feedback.message


def test_sentinels_wrong_value_is_not_yet():
    feedback = ex.check_sentinels(wrong_sentinel)
    assert feedback.status == NOT_YET
    assert "which is not one of the tasks" in feedback.message
    assert "the sentinel must be None" in feedback.message


@pytest.mark.parametrize("garbage", [42, "send", lambda: None])
def test_sentinels_garbage_is_not_yet_without_exception(garbage):
    feedback = ex.check_sentinels(garbage)
    assert feedback.status == NOT_YET
    assert "your code raised TypeError" in feedback.message


# --- exercise 2 -----------------------------------------------------------------------


def test_pipeline_solution_is_correct():
    feedback = ex.check_pipeline(ex.run_pipeline_solution)
    assert feedback.ok, feedback


def test_pipeline_placeholder_is_not_attempted():
    assert ex.check_pipeline(placeholder).status == NOT_ATTEMPTED


def squares_only(numbers):
    inbox, outbox = mp.Queue(), mp.Queue()
    stage = mp.Process(target=square_stage, args=(inbox, outbox))
    stage.start()
    for n in numbers:
        inbox.put(n)
    inbox.put(None)
    out = []
    while (item := outbox.get(timeout=10)) is not None:
        out.append(item)
    stop([stage], timeout=10)
    return out


def no_join(numbers):
    inbox, outbox = mp.Queue(), mp.Queue()
    # forgets the sentinel and never joins: returns while the stage still runs
    mp.Process(target=square_stage, args=(inbox, outbox)).start()
    return [n * n + 1 for n in numbers]


def test_pipeline_one_stage_is_not_yet():
    feedback = ex.check_pipeline(squares_only)
    assert feedback.status == NOT_YET
    assert "squares without the + 1" in feedback.message


def test_pipeline_processes_left_running_is_not_yet():
    feedback = ex.check_pipeline(no_join)
    assert feedback.status == NOT_YET
    assert "1 of its processes were still running" in feedback.message


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (lambda numbers: [n * n + 1 for n in numbers] + [None], "contains None"),
        (lambda numbers: sorted(n * n + 1 for n in numbers), "order is not"),
        (lambda numbers: [n + 1 for n in numbers], "not squared"),
        (lambda numbers: 5, "should return a list"),
    ],
)
def test_pipeline_wrong_results_are_explained(answer, words):
    feedback = ex.check_pipeline(answer)
    assert feedback.status == NOT_YET
    assert words in feedback.message


# --- exercise 3 -----------------------------------------------------------------------


def test_reciprocals_solution_is_correct():
    feedback = ex.check_reciprocals(ex.reciprocals_solution)
    assert feedback.ok, feedback


def test_reciprocals_placeholder_is_not_attempted():
    assert ex.check_reciprocals(placeholder).status == NOT_ATTEMPTED


def with_raising_worker(numbers):
    tasks, results = mp.Queue(), mp.Queue()
    workers = [mp.Process(target=reciprocal_worker, args=(tasks, results)) for _ in range(2)]
    for p in workers:
        p.start()
    for x in numbers:
        tasks.put(x)
    for _ in workers:
        tasks.put(None)
    try:
        return dict(results.get(timeout=2) for _ in numbers)
    finally:
        stop(workers, timeout=2)


def status_instead_of_text(numbers):
    tasks, results = mp.Queue(), mp.Queue()
    worker = mp.Process(target=safe_reciprocal_worker, args=(tasks, results))
    worker.start()
    for x in numbers:
        tasks.put(x)
    tasks.put(None)
    answers = {}
    for _ in numbers:
        status, x, value = results.get(timeout=10)
        answers[x] = value if status == "ok" else status
    stop([worker], timeout=10)
    return answers


def test_reciprocals_with_a_dying_worker_is_not_yet():
    feedback = ex.check_reciprocals(with_raising_worker)
    assert feedback.status == NOT_YET
    assert "safe_reciprocal_worker" in feedback.message


def test_reciprocals_without_error_text_is_not_yet():
    feedback = ex.check_reciprocals(status_instead_of_text)
    assert feedback.status == NOT_YET
    assert "for 0 the answer should be the error text" in feedback.message


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (lambda numbers: [1 / x for x in numbers if x], "should return a dict"),
        (lambda numbers: {}, "no entry for 4"),
        (lambda numbers: {**ex.RECIPROCAL_EXPECTED, 2: 0.4}, "for 2 the answer should be 0.5"),
        (lambda numbers: {**ex.RECIPROCAL_EXPECTED, 9: 1}, "entry for 9"),
        (lambda numbers: 1 / 0, "your code raised ZeroDivisionError"),
        (None, "your code raised TypeError"),
    ],
)
def test_reciprocals_wrong_answers_are_explained(answer, words):
    feedback = ex.check_reciprocals(answer)
    assert feedback.status == NOT_YET
    assert words in feedback.message
