"""Exercise checkers of notebook 01, *Queue*, and their reference solutions.

1. ``check_sentinels(send_sentinels)``: shut down N consumers with the right
   number of sentinels.
2. ``check_pipeline(run_pipeline)``: wire a two-stage pipeline of processes
   (square, then add one) with three queues.
3. ``check_reciprocals(reciprocals)``: collect the results *and the errors* of
   workers without hanging.

Each checker runs the learner's function with a time limit, stops any process
it left running, and answers in plain words (see ``feedback``).
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from typing import Any, Callable

from ..cleanup import stop
from ..queues import consumer, increment_stage, safe_reciprocal_worker, square_stage
from .feedback import (
    Feedback,
    child_pids,
    correct,
    first_problem,
    leftover_processes,
    new_children,
    not_yet,
    plain_checker,
    run_attempt,
)

#: Seconds a learner's function may run before the checker stops it.
ATTEMPT_TIMEOUT = 20.0


def _drain(q: Any, wait: float = 0.2) -> list[Any]:
    """Everything still readable on ``q`` (the writers have exited)."""
    items = []
    try:
        while True:
            items.append(q.get(timeout=wait))
    except (queue.Empty, OSError, ValueError):
        return items


# --- exercise 1: one sentinel per consumer ---------------------------------------

#: The tasks of exercise 1.
TASKS = list(range(12))

#: Seconds the checker gives the consumers to exit once the tasks are out.
CONSUMER_GRACE = 3.0


def _consume_with(send_sentinels: Callable[[Any, int], Any], n_consumers: int) -> dict:
    """Put ``TASKS``, let ``send_sentinels`` end them, run ``n_consumers`` consumers."""
    tasks, results = mp.Queue(), mp.Queue()
    for item in TASKS:
        tasks.put(item)
    send_sentinels(tasks, n_consumers)  # the learner's code; nothing is running yet
    consumers = [
        mp.Process(target=consumer, args=(tasks, results), kwargs={"timeout": 10.0})
        for _ in range(n_consumers)
    ]
    for p in consumers:
        p.start()
    exitcodes = stop(consumers, timeout=CONSUMER_GRACE)
    consumed = _drain(results)
    leftover = _drain(tasks)
    return {"consumed": consumed, "exitcodes": exitcodes, "leftover": leftover}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _was(n: int) -> str:
    return "was" if n == 1 else "were"


def _judge_sentinels(n_consumers: int, run: dict) -> Feedback | None:
    strangers = [x for x in run["consumed"] if x not in TASKS]
    if strangers:
        return not_yet(
            f"the consumers received {strangers[0]!r}, which is not one of the tasks. These "
            "consumers stop at None, so the sentinel must be None."
        )
    stuck = sum(code != 0 for code in run["exitcodes"])
    if stuck:
        return not_yet(
            f"with {_count(n_consumers, 'consumer')}, {stuck} {_was(stuck)} still waiting for "
            f"an item after {CONSUMER_GRACE:g} s and had to be stopped. A consumer stops at the "
            "first None it takes, so each consumer needs its own None."
        )
    if sorted(run["consumed"]) != TASKS:
        return not_yet(
            f"with {_count(n_consumers, 'consumer')}, the items consumed were "
            f"{sorted(run['consumed'])}, not {TASKS}. Put only sentinels: the tasks are "
            "already on the queue."
        )
    extra = [x for x in run["leftover"] if x is None]
    if extra:
        return not_yet(
            f"with {_count(n_consumers, 'consumer')}, {len(extra)} None {_was(len(extra))} "
            "left on the queue that no consumer took: put exactly one per consumer."
        )
    return None


@plain_checker
def check_sentinels(send_sentinels: Callable[[Any, int], Any]) -> Feedback:
    """Check ``send_sentinels(tasks, n_consumers)`` with 1 and with 3 consumers.

    It is correct when every consumer exits by itself (exit code 0), every
    task is consumed exactly once and no sentinel is left over.
    """
    for n_consumers in (1, 3):
        attempt = run_attempt(_consume_with, send_sentinels, n_consumers, timeout=ATTEMPT_TIMEOUT)
        problem = first_problem(attempt, what="send_sentinels", timeout=ATTEMPT_TIMEOUT)
        if problem is None:
            problem = _judge_sentinels(n_consumers, attempt.result)
        if problem is not None:
            return problem
    return correct(
        "with 1 and with 3 consumers, every consumer took one None and exited with code 0, "
        f"and all {len(TASKS)} tasks were consumed exactly once."
    )


def send_sentinels_solution(tasks: Any, n_consumers: int) -> None:
    """Reference solution of exercise 1: one ``None`` per consumer."""
    for _ in range(n_consumers):
        tasks.put(None)


# --- exercise 2: a two-stage pipeline ------------------------------------------------

#: The inputs exercise 2 is checked with (the empty one tests the sentinel alone).
PIPELINE_INPUTS = ([3, 1, 4, 1, 5, 9, 2, 6], [])


def _judge_pipeline(numbers: list[int], result: Any) -> Feedback | None:
    expected = [n * n + 1 for n in numbers]
    if not isinstance(result, list):
        return not_yet(
            f"run_pipeline should return a list, but it returned {type(result).__name__}."
        )
    if result == expected:
        return None
    if None in result:
        return not_yet(
            "the list you returned contains None: the None is the end-of-stream signal. "
            "Stop reading when you take it instead of adding it to the results."
        )
    if result == [n * n for n in numbers]:
        return not_yet(
            "you returned the squares without the + 1: the output queue of square_stage must "
            "be the input queue of increment_stage, and you read the output of increment_stage."
        )
    if result == [n + 1 for n in numbers]:
        return not_yet(
            "the numbers were incremented but not squared: start square_stage too, "
            "and feed the numbers to it first."
        )
    if sorted(result) == sorted(expected):
        return not_yet(
            "the values are right but the order is not: with one process per stage, "
            "the queues keep the order, so return them in the order you read them."
        )
    return not_yet(f"for {numbers} the pipeline should give {expected}, but it gave {result}.")


@plain_checker
def check_pipeline(run_pipeline: Callable[[list[int]], list[int]]) -> Feedback:
    """Check ``run_pipeline(numbers)`` on a few numbers and on an empty list.

    Correct when it returns ``[n * n + 1 for n in numbers]`` in order, for
    both inputs, and leaves no process running.
    """
    for numbers in PIPELINE_INPUTS:
        before = child_pids()
        attempt = run_attempt(run_pipeline, list(numbers), timeout=ATTEMPT_TIMEOUT)
        if attempt.timed_out:
            return not_yet(
                f"run_pipeline({numbers}) did not finish within {ATTEMPT_TIMEOUT:g} s, so its "
                "processes were stopped. Most likely a stage never got the end signal: put None "
                "after the numbers, and read the last queue until the None that the second "
                "stage passes on. Give every get() and join() a timeout."
            )
        problem = first_problem(attempt, what="run_pipeline", timeout=ATTEMPT_TIMEOUT)
        if problem is None:
            problem = _judge_pipeline(numbers, attempt.result)
        if problem is None:
            problem = leftover_processes(before, "run_pipeline")
        stop(new_children(before), timeout=1.0)
        if problem is not None:
            return problem
    return correct(
        f"run_pipeline({list(PIPELINE_INPUTS[0])}) gave "
        f"{[n * n + 1 for n in PIPELINE_INPUTS[0]]}, run_pipeline([]) gave [], and both "
        "stages exited."
    )


def run_pipeline_solution(numbers: list[int]) -> list[int]:
    """Reference solution of exercise 2: numbers → square_stage → increment_stage → list."""
    source, middle, sink = mp.Queue(), mp.Queue(), mp.Queue()
    stages = [
        mp.Process(target=square_stage, args=(source, middle)),
        mp.Process(target=increment_stage, args=(middle, sink)),
    ]
    for p in stages:
        p.start()
    for n in numbers:
        source.put(n)
    source.put(None)
    results = []
    try:
        while (item := sink.get(timeout=10)) is not None:
            results.append(item)
    finally:
        stop(stages, timeout=5)
    return results


# --- exercise 3: errors travel back as values ------------------------------------------

#: The numbers exercise 3 is checked with; 0 makes a worker fail.
RECIPROCAL_INPUTS = [4, 0, 2, -8, 0.5]

#: What ``reciprocals(RECIPROCAL_INPUTS)`` must return.
RECIPROCAL_EXPECTED = {
    4: 0.25,
    0: "ZeroDivisionError: division by zero",
    2: 0.5,
    -8: -0.125,
    0.5: 2.0,
}


def _judge_reciprocals(result: Any) -> Feedback | None:
    if not isinstance(result, dict):
        return not_yet(
            f"reciprocals should return a dict, but it returned {type(result).__name__}."
        )
    missing = [x for x in RECIPROCAL_INPUTS if x not in result]
    if missing:
        return not_yet(
            f"there is no entry for {missing[0]!r}: collect exactly one reply per number "
            "(safe_reciprocal_worker replies to every task, errors included)."
        )
    error = result[0]
    if error != RECIPROCAL_EXPECTED[0]:
        return not_yet(
            f"for 0 the answer should be the error text {RECIPROCAL_EXPECTED[0]!r} "
            f"(the third field of the worker's ('error', x, text) reply), got {error!r}."
        )
    for x in RECIPROCAL_INPUTS:
        if result[x] != RECIPROCAL_EXPECTED[x]:
            return not_yet(
                f"for {x!r} the answer should be {RECIPROCAL_EXPECTED[x]!r}, got {result[x]!r}."
            )
    extra = [k for k in result if k not in RECIPROCAL_EXPECTED]
    if extra:
        return not_yet(f"the dict has an entry for {extra[0]!r}, which is not one of the numbers.")
    return None


@plain_checker
def check_reciprocals(reciprocals: Callable[[list[float]], dict]) -> Feedback:
    """Check ``reciprocals(numbers)`` on numbers that include a 0.

    Correct when it returns ``{x: 1 / x}`` with the error text for 0, within
    the time limit, and leaves no process running.
    """
    before = child_pids()
    attempt = run_attempt(reciprocals, list(RECIPROCAL_INPUTS), timeout=ATTEMPT_TIMEOUT)
    if attempt.timed_out:
        problem: Feedback | None = not_yet(
            f"reciprocals did not finish within {ATTEMPT_TIMEOUT:g} s, so its processes were "
            "stopped. A worker that dies on 0 never replies: use safe_reciprocal_worker, and "
            "give every get() and join() a timeout."
        )
    elif isinstance(attempt.error, queue.Empty):
        problem = not_yet(
            "a get() timed out (queue.Empty) before every reply had arrived. A worker that "
            "dies on 0 never replies: use safe_reciprocal_worker, which sends the error back "
            "as a value and carries on."
        )
    else:
        problem = first_problem(attempt, what="reciprocals", timeout=ATTEMPT_TIMEOUT)
    if problem is None:
        problem = _judge_reciprocals(attempt.result)
    if problem is None:
        problem = leftover_processes(before, "reciprocals")
    stop(new_children(before), timeout=1.0)
    if problem is not None:
        return problem
    return correct(
        "every number got exactly one answer, the 0 came back as "
        f"{RECIPROCAL_EXPECTED[0]!r} instead of killing a worker, and the workers exited."
    )


def reciprocals_solution(numbers: list[float], n_workers: int = 2) -> dict:
    """Reference solution of exercise 3: errors come back as values, every wait is bounded."""
    tasks, results = mp.Queue(), mp.Queue()
    workers = [
        mp.Process(target=safe_reciprocal_worker, args=(tasks, results)) for _ in range(n_workers)
    ]
    for p in workers:
        p.start()
    for x in numbers:
        tasks.put(x)
    for _ in workers:
        tasks.put(None)
    answers = {}
    try:
        for _ in numbers:
            status, x, value = results.get(timeout=10)
            answers[x] = value
    finally:
        stop(workers, timeout=5)
    return answers
