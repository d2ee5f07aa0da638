"""Exercise feedback: plain words, bounded time, never a traceback."""

from __future__ import annotations

import multiprocessing as mp
import time

from ipc_helpers.exercises.feedback import (
    Feedback,
    correct,
    first_problem,
    not_attempted,
    not_yet,
    plain_checker,
    run_attempt,
)


def test_feedback_reads_as_plain_words():
    assert str(correct("well done")) == "Correct! well done"
    assert str(not_yet("the count is 3, expected 4")) == "Not yet: the count is 3, expected 4"
    assert str(not_attempted()).startswith("Not attempted yet: replace `raise NotImplementedError`")
    assert correct("x").ok and not not_yet("x").ok and not not_attempted().ok


def placeholder():
    raise NotImplementedError


def test_placeholder_is_not_attempted():
    attempt = run_attempt(placeholder, timeout=5)
    assert first_problem(attempt, what="f", timeout=5) == not_attempted()


def test_error_becomes_a_sentence():
    attempt = run_attempt(int, "x", timeout=5)
    fb = first_problem(attempt, what="f", timeout=5)
    assert fb.status == "not yet"
    assert "your code raised ValueError: invalid literal" in fb.message


def test_a_hang_is_bounded_and_its_processes_stopped():
    def hang() -> None:
        p = mp.Process(target=time.sleep, args=(60,))
        p.start()
        p.join()  # no timeout: the learner's mistake

    started = time.monotonic()
    attempt = run_attempt(hang, timeout=1)
    assert attempt.timed_out
    assert time.monotonic() - started < 10
    assert mp.active_children() == []
    fb = first_problem(attempt, what="your function", timeout=1)
    assert "did not finish within 1 s" in fb.message


def test_a_result_passes_through():
    attempt = run_attempt(sum, [1, 2], timeout=5)
    assert attempt.result == 3 and first_problem(attempt, what="f", timeout=5) is None


def test_plain_checker_turns_surprises_into_words():
    @plain_checker
    def check(answer) -> Feedback:
        return correct("ok") if answer["n"] == 1 else not_yet("n should be 1")

    assert check({"n": 1}).ok
    fb = check(42)
    assert fb.status == "not yet" and "could not use your answer (TypeError" in fb.message
