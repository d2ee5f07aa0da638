"""Exercise checkers of notebook 00, with their reference solutions.

1. ``check_bring_back``: get a child's result back to the parent through a
   queue (a child's changes to its own memory never come back).
2. ``check_parallel_sum``: split CPU-bound work across processes started with
   ``spawn``, using a worker imported from a module.
3. ``check_defaults``: the default start method on each platform.
"""

from __future__ import annotations

import inspect
import multiprocessing as mp
from typing import Any, Callable

from ..cleanup import stop
from ..motivation import split_range, square_all, sum_of_squares
from .feedback import (
    Feedback,
    child_pids,
    correct,
    first_problem,
    new_children,
    not_attempted,
    not_yet,
    plain_checker,
    run_attempt,
)

#: Seconds a learner's attempt may run before the checker stops it.
TIME_LIMIT = 20.0

# --- exercise 1: bring the result back ------------------------------------------


def squares_from_child(numbers: list[int]) -> list[int]:
    """Reference solution: square ``numbers`` in a child, return the squares."""
    results = mp.Queue()
    child = mp.Process(target=square_all, args=(numbers, results))
    child.start()
    try:
        return results.get(timeout=10)
    finally:
        stop([child], timeout=10)


def _uses(func: Callable[..., Any], name: str) -> bool:
    """True if the source of ``func`` mentions ``name`` (or if it cannot be read)."""
    try:
        return name in inspect.getsource(func)
    except (OSError, TypeError):
        return True


@plain_checker
def check_bring_back(squares_from_child: Callable[[list[int]], list[int]]) -> Feedback:
    """Check the learner's ``squares_from_child(numbers)``."""
    before = child_pids()
    for numbers in ([1, 2, 3, 4], [5, -3, 0], []):
        original = list(numbers)
        attempt = run_attempt(squares_from_child, numbers, timeout=TIME_LIMIT)
        problem = first_problem(attempt, what="squares_from_child", timeout=TIME_LIMIT)
        if problem is not None:
            return problem
        got, expected = attempt.result, [x * x for x in original]
        if got is None:
            return not_yet(
                f"squares_from_child({original}) returned None. Return the list you "
                "received from the queue."
            )
        if got == original and got != expected:
            return not_yet(
                f"squares_from_child({original}) returned the numbers unchanged. The child "
                "squared its own copy of the list; the parent's list never changes. Have "
                "the child put its result on a queue, and get() it in the parent."
            )
        if not isinstance(got, list) or got != expected:
            return not_yet(f"squares_from_child({original}) returned {got!r}; expected {expected}.")
    alive = new_children(before)
    if alive:
        stop(alive, timeout=2)
        return not_yet(
            "the squares are right, but a child process was still running afterwards. "
            "join() every process you start (with a timeout)."
        )
    if not _uses(squares_from_child, "square_all"):
        return not_yet(
            "the squares are right, but the exercise asks for them to be computed in a "
            "child process: start one with target=square_all."
        )
    return correct(
        "the squares came back through the queue. A child's memory is its own: "
        "results must be sent back."
    )


# --- exercise 2: parallel sum with spawn ------------------------------------------


def parallel_sum_of_squares(n: int, parts: int) -> int:
    """Reference solution: ``sum_of_squares(0, n)`` split over ``parts`` spawn processes."""
    chunks = split_range(n, parts)
    ctx = mp.get_context("spawn")
    with ctx.Pool(parts) as pool:
        return sum(pool.starmap_async(sum_of_squares, chunks).get(timeout=30))


#: (n, parts) pairs the checker tries; 1001 does not split evenly.
_SUM_CASES = [(1000, 2), (1001, 3), (5, 4)]


@plain_checker
def check_parallel_sum(parallel_sum_of_squares: Callable[[int, int], int]) -> Feedback:
    """Check the learner's ``parallel_sum_of_squares(n, parts)``."""
    before = child_pids()
    for n, parts in _SUM_CASES:
        attempt = run_attempt(parallel_sum_of_squares, n, parts, timeout=TIME_LIMIT)
        problem = first_problem(attempt, what="parallel_sum_of_squares", timeout=TIME_LIMIT)
        if problem is not None:
            return problem
        got, expected = attempt.result, sum(i * i for i in range(n))
        call = f"parallel_sum_of_squares({n}, {parts})"
        if isinstance(got, bool) or not isinstance(got, int):
            return not_yet(f"{call} returned {got!r}; expected a whole number, {expected}.")
        if got < expected:
            return not_yet(
                f"{call} returned {got}, less than {expected}: some numbers were left out. "
                "The chunks must cover 0 .. n-1 together; when n does not divide by parts, "
                "the last chunk must still stop at n (split_range does this)."
            )
        if got > expected:
            return not_yet(
                f"{call} returned {got}, more than {expected}: some numbers were counted "
                "twice. Chunks must not overlap; a range's stop is not included."
            )
    if new_children(before):
        stop(new_children(before), timeout=2)
        return not_yet(
            "the sums are right, but processes were still running afterwards: use the pool "
            "in a with block (or close() and join() it)."
        )
    return correct(
        "every sum is right. The worker came from a module, so this works under spawn, "
        "on every operating system."
    )


# --- exercise 3: default start methods --------------------------------------------

#: The questions of exercise 3, with their answers (verified in notebook 00's text).
DEFAULTS = {
    "Linux, Python 3.11": "fork",
    "Linux, Python 3.14": "forkserver",
    "macOS, Python 3.11": "spawn",
    "Windows, Python 3.11": "spawn",
}

_WHY = {
    "Linux, Python 3.11": "Linux used fork by default up to Python 3.13.",
    "Linux, Python 3.14": "Python 3.14 changed the Linux default to forkserver.",
    "macOS, Python 3.11": "macOS has used spawn by default since Python 3.8 (fork can crash "
    "system libraries there).",
    "Windows, Python 3.11": "Windows has no fork at all: spawn is its only start method.",
}


def default_start_methods() -> dict[str, str]:
    """Reference solution of exercise 3."""
    return dict(DEFAULTS)


@plain_checker
def check_defaults(answers: Any) -> Feedback:
    """Check the learner's dictionary ``{platform: default start method}``."""
    if not isinstance(answers, dict):
        return not_yet(f"answers must be a dict, got {type(answers).__name__}.")
    if all(answers.get(key) is None for key in DEFAULTS):
        return not_attempted("replace each None with a start method, then run this cell again.")
    missing = [key for key in DEFAULTS if key not in answers]
    if missing:
        return not_yet(f"the key {missing[0]!r} is missing; keep all four keys.")
    wrong = []
    for key, expected in DEFAULTS.items():
        given = answers[key]
        if not isinstance(given, str) or given.strip().lower() != expected:
            wrong.append(key)
    if wrong:
        key = wrong[0]
        return not_yet(
            f"{len(wrong)} of 4 answers are not right yet. Look again at {key!r}: "
            "re-read the table of defaults."
        )
    return correct(" ".join(_WHY[key] for key in DEFAULTS))
