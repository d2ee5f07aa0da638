"""Exercise checkers of notebook 00 (the solutions live in the notebook).

1. ``check_bring_back``: a child's result comes back to the parent through a
   queue (a child's changes to its own memory never come back).
2. ``check_parallel_sum_of_squares``: CPU-bound work split across a pool of
   processes started with ``spawn``, running a worker imported from a module.
3. ``check_defaults``: the default start method on each platform.

Each checker runs the learner's code with ``run_attempt`` (bounded, recorded,
cleaned up) and answers only what it saw happen.
"""

from __future__ import annotations

import contextlib
import multiprocessing.queues
from collections.abc import Callable, Iterator
from typing import Any

from ..motivation import square_all, sum_of_squares
from .feedback import (
    Feedback,
    correct,
    first_problem,
    left_running,
    not_attempted,
    not_yet,
    plain_checker,
    require_clean_exits,
    require_joined,
    require_processes,
    run_attempt,
)

# --- exercise 1: bring the result home --------------------------------------------------

#: The lists ``check_bring_back`` squares (the empty list included).
LISTS = ([1, 2, 3, 4], [5, -3, 0], [])


@contextlib.contextmanager
def _queue_gets() -> Iterator[list[Any]]:
    """Record every item that ``Queue.get`` / ``SimpleQueue.get`` returns inside the block."""
    got: list[Any] = []
    classes = (multiprocessing.queues.Queue, multiprocessing.queues.SimpleQueue)
    originals = [cls.get for cls in classes]

    def recording(original: Callable[..., Any]) -> Callable[..., Any]:
        def get(self: Any, *args: Any, **kwargs: Any) -> Any:
            item = original(self, *args, **kwargs)
            got.append(item)
            return item

        return get

    for cls, original in zip(classes, originals, strict=True):
        cls.get = recording(original)  # type: ignore[method-assign]
    try:
        yield got
    finally:
        for cls, original in zip(classes, originals, strict=True):
            cls.get = original  # type: ignore[method-assign]


def _came_through(result: Any, got: list[Any]) -> bool:
    return any(type(item) is type(result) and item == result for item in got)


def _judge_squares(numbers: list[int], attempt: Any, got: list[Any]) -> Feedback | None:
    what = "squares_from_child"
    call = f"{what}({numbers})"
    expected = [x * x for x in numbers]
    result = attempt.result
    if result is None:
        return not_yet(f"{call} returned None. Return the list you received from the queue.")
    if result == numbers and result != expected and attempt.processes:
        return not_yet(
            f"{call} returned the numbers unchanged. The child squared its own copy of the "
            "list; the parent's list never changes. Have the child put its result on a "
            "queue (square_all does), and get() it in the parent."
        )
    problem = (
        require_processes(attempt, what=what, running=square_all)
        or require_joined(attempt, what=what)
        or require_clean_exits(attempt, what=what)
    )
    if problem:
        return problem
    if result != expected:
        return not_yet(f"{call} returned {result!r}; expected {expected}.")
    if not _came_through(result, got):
        return not_yet(
            f"{call} returned the right squares, but not the list it took from the queue: "
            "the squares must come back from the child. Return what results.get(timeout=...) "
            "gives you."
        )
    return None


@plain_checker
def check_bring_back(squares_from_child: Callable[[list[int]], list[int]]) -> Feedback:
    """Check the learner's ``squares_from_child(numbers)``."""
    for numbers in LISTS:
        with _queue_gets() as got:
            attempt = run_attempt(squares_from_child, list(numbers))
        problem = (
            first_problem(attempt, what="squares_from_child", leftovers=False)
            or _judge_squares(list(numbers), attempt, got)
            or left_running(attempt, what="squares_from_child")
        )
        if problem:
            return problem
    return correct(
        f"for each of {len(LISTS)} lists a child ran square_all and exited with code 0, "
        "you joined it, and the squares you returned came out of the queue. A child's "
        "memory is its own: results must be sent back."
    )


# --- exercise 2: a parallel sum that works everywhere ----------------------------------------

#: ``(n, parts)`` pairs the checker tries; 1001 does not split evenly into 3.
SUMS = [(1000, 2), (1001, 3)]


def _judge_sum(n: int, parts: int, attempt: Any) -> Feedback | None:
    what = "parallel_sum_of_squares"
    call = f"{what}({n}, {parts})"
    problem = require_processes(
        attempt, what=what, at_least=parts, running=sum_of_squares, start_method="spawn"
    )
    if problem:
        return problem
    got, expected = attempt.result, (n - 1) * n * (2 * n - 1) // 6
    if isinstance(got, bool) or not isinstance(got, int):
        return not_yet(f"{call} returned {got!r}; expected a whole number, {expected}.")
    if got < expected:
        return not_yet(
            f"{call} returned {got}, less than {expected}: some numbers were left out. The "
            "chunks must cover 0 .. n-1 together; when n does not divide by parts, the last "
            "chunk must still stop at n (split_range does this)."
        )
    if got > expected:
        return not_yet(
            f"{call} returned {got}, more than {expected}: some numbers were counted twice. "
            "Chunks must not overlap; a range's stop is not included."
        )
    return None


@plain_checker
def check_parallel_sum_of_squares(parallel_sum_of_squares: Callable[[int, int], int]) -> Feedback:
    """Check the learner's ``parallel_sum_of_squares(n, parts)``."""
    for n, parts in SUMS:
        attempt = run_attempt(parallel_sum_of_squares, n, parts)
        problem = first_problem(attempt, what="parallel_sum_of_squares") or _judge_sum(
            n, parts, attempt
        )
        if problem:
            return problem
    tried = " and ".join(f"n = {n} in {parts} parts" for n, parts in SUMS)
    return correct(
        f"every sum is right ({tried}), each computed by as many spawn processes as parts, "
        "running sum_of_squares, a worker imported from a module. Code like this works "
        "under spawn, so on every operating system."
    )


# --- exercise 3: default start methods ----------------------------------------------------

#: The questions of exercise 3 with their answers (notebook 00, section 3, cites the sources).
DEFAULTS = {
    "Linux, Python 3.13": "fork",
    "Linux, Python 3.14": "forkserver",
    "macOS, Python 3.13": "spawn",
    "Windows, Python 3.13": "spawn",
}

_WHY = {
    "Linux, Python 3.13": "Linux used fork by default up to Python 3.13.",
    "Linux, Python 3.14": "Python 3.14 changed the Linux default to forkserver.",
    "macOS, Python 3.13": "macOS has used spawn by default since Python 3.8 (fork can crash "
    "system libraries there).",
    "Windows, Python 3.13": "Windows has no fork at all: spawn is its only start method.",
}

#: A hint for each question, given when its answer is a start method but not the default.
_HINTS = {
    "Linux, Python 3.13": "what did Linux use before the change of Python 3.14?",
    "Linux, Python 3.14": "Python 3.14 changed the default on Linux.",
    "macOS, Python 3.13": "fork exists on macOS, but it has not been the default since 3.8.",
    "Windows, Python 3.13": "Windows cannot fork at all.",
}

METHODS = ("fork", "spawn", "forkserver")


def _normal(answer: Any) -> Any:
    return answer.strip().lower() if isinstance(answer, str) else answer


@plain_checker
def check_defaults(answers: Any) -> Feedback:
    """Check the learner's dictionary ``{platform and version: default start method}``."""
    if not isinstance(answers, dict):
        return not_yet(f"answers must be a dict, got {type(answers).__name__}.")
    if all(answers.get(key) is None for key in DEFAULTS):
        return not_attempted("replace each None with a start method, then run this cell again.")
    missing = [key for key in DEFAULTS if key not in answers]
    if missing:
        return not_yet(f"the key {missing[0]!r} is missing; keep all four keys.")
    wrong = [key for key, method in DEFAULTS.items() if _normal(answers[key]) != method]
    if not wrong:
        return correct(" ".join(_WHY[key] for key in DEFAULTS))
    key, given = wrong[0], answers[wrong[0]]
    if given is None:
        hint = "it is still None."
    elif _normal(given) not in METHODS:
        hint = f"{given!r} is not a start method: write 'fork', 'spawn' or 'forkserver'."
    else:
        hint = _HINTS[key]
    count = "1 answer is" if len(wrong) == 1 else f"{len(wrong)} answers are"
    return not_yet(f"{count} not right yet. Look again at {key!r}: {hint}")
