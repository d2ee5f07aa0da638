"""Exercise checkers of notebook 05 (choosing a mechanism), with reference solutions.

1. ``check_predictions``: predict the winner of three races before measuring.
2. ``check_batching``: make a producer at least 10x faster by batching.
3. ``check_choices``: choose a mechanism for five scenarios.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
from collections.abc import Mapping
from typing import Any, Callable

from ..cleanup import stop
from ..validation import check_int, check_timeout
from .feedback import (
    Feedback,
    correct,
    first_problem,
    not_attempted,
    not_yet,
    plain_checker,
    run_attempt,
)

# --------------------------------------------------------------------------
# Exercise 1: predictions
# --------------------------------------------------------------------------

#: The three races, the choices for each, and the winner (as measured in 05).
RACES = {
    "small_round_trip": (("Pipe", "Queue"), "Pipe"),
    "array_16MiB": (("Pipe", "Queue", "SharedMemory"), "SharedMemory"),
    "many_small_items": (("one per message", "batches of 100"), "batches of 100"),
}

_RACE_WHY = {
    "small_round_trip": (
        "a Queue adds a feeder thread, a lock and a semaphore to every message, so a "
        "small round trip through a Pipe is faster (see the round-trip chart)"
    ),
    "array_16MiB": (
        "SharedMemory copies the array in and out of memory both processes see, with no "
        "pickling and no pipe in between; a Pipe or Queue moves every byte through the kernel"
    ),
    "many_small_items": (
        "each message has a fixed cost (pickling, a system call, waking the receiver); "
        "batches of 100 pay it once per 100 items"
    ),
}


@plain_checker
def check_predictions(predictions: Any) -> Feedback:
    """Check a dict ``{race: winner}`` against what the benchmark measures."""
    if predictions is None or predictions is NotImplemented or predictions == {}:
        return not_attempted("fill in the dict `predictions`, then run this cell again.")
    if not isinstance(predictions, Mapping):
        return not_yet(f"`predictions` must be a dict, got {type(predictions).__name__}.")
    for race, (choices, winner) in RACES.items():
        if race not in predictions:
            return not_yet(f"`predictions` has no answer for {race!r}.")
        answer = predictions[race]
        if answer not in choices:
            listed = ", ".join(repr(c) for c in choices)
            return not_yet(f"the answer for {race!r} must be one of {listed}; got {answer!r}.")
        if answer != winner:
            return not_yet(f"for {race!r} the winner is not {answer!r}: {_RACE_WHY[race]}.")
    extra = sorted(set(predictions) - set(RACES))
    if extra:
        return not_yet(f"`predictions` has keys no race uses: {extra}.")
    return correct(
        "all three predictions match the measurements. Run the next cell to see "
        "the numbers on this machine."
    )


SOLUTION_PREDICTIONS = {race: winner for race, (_, winner) in RACES.items()}


# --------------------------------------------------------------------------
# Exercise 2: batching
# --------------------------------------------------------------------------

#: How many items the batching exercise sends, and the speed-up it asks for.
N_ITEMS = 10_000
SPEEDUP = 10.0


def item_sink(q: Any, report: Any, timeout: float) -> None:
    """Consumer child of exercise 2: receive streams until the string ``"stop"``.

    Each stream is messages until a ``None`` sentinel; a message that is a
    list is a batch of items. After each stream the child reports, through
    ``report``, first a small digest ``(count, hash)`` of what it received (the
    checker stops its clock on it), then the items themselves, in order. It
    never prints.
    """
    while True:
        items: list = []
        while True:
            message = q.get(timeout=timeout)
            if message is None or message == "stop":
                break
            if isinstance(message, list):
                items.extend(message)
            else:
                items.append(message)
        if message == "stop":
            return
        report.send((len(items), hash(tuple(items))))
        report.send(items)


def send_one_by_one(q: Any, items: list) -> None:
    """The slow producer: one item per message, then ``None``."""
    for item in items:
        q.put(item)
    q.put(None)


def send_in_batches(q: Any, items: list) -> None:
    """Reference solution of exercise 2: 100 items per message, then ``None``."""
    for start in range(0, len(items), 100):
        q.put(items[start : start + 100])
    q.put(None)


def _time_stream(
    send: Callable[[Any, list], Any], q: Any, report: Any, items: list, timeout: float
) -> tuple[float, Any]:
    """Seconds from the first ``put`` until the consumer's digest arrives, and the items.

    The items travel back after the clock stops, so returning 10,000 items
    to the parent is not part of the time.
    """
    start = time.perf_counter()
    attempt = run_attempt(send, q, items, timeout=timeout)
    if attempt.error is not None or attempt.timed_out:
        return 0.0, attempt
    if not report.poll(timeout):
        return 0.0, "no sentinel"
    report.recv()  # the digest
    elapsed = time.perf_counter() - start
    if not report.poll(timeout):
        return 0.0, "no sentinel"
    return elapsed, report.recv()


@plain_checker
def check_batching(send: Any, rounds: int = 3, timeout: float = 20.0) -> Feedback:
    """Run ``send(q, items)`` against ``send_one_by_one``; want the same items, 10x faster.

    A consumer child (``item_sink``) is started first, so process start-up is
    not timed. The two producers take turns for ``rounds`` rounds, and the
    best time of each counts (the minimum is the time least disturbed by
    other programs).
    """
    if not callable(send):
        return not_yet(f"pass your function itself, got {type(send).__name__}.")
    rounds = check_int("rounds", rounds, minimum=1, maximum=20)
    timeout = check_timeout("timeout", timeout)
    items = [(i, i * 0.5) for i in range(N_ITEMS)]
    q = mp.Queue()
    report_r, report_w = mp.Pipe(duplex=False)
    sink = mp.Process(target=item_sink, args=(q, report_w, timeout))
    sink.start()
    slow_times, fast_times = [], []
    try:
        for _ in range(rounds):
            fast, got = _time_stream(send, q, report_r, items, timeout)
            if got == "no sentinel":
                return not_yet(
                    f"the consumer was still waiting {timeout:g} s after your function "
                    "returned: send the None sentinel after the last batch."
                )
            if not isinstance(got, list):
                problem = first_problem(got, what="your function", timeout=timeout)
                return problem or not_yet("your function did not finish.")
            if got != items:
                return _explain_items(got, items)
            slow, _ = _time_stream(send_one_by_one, q, report_r, items, timeout)
            slow_times.append(slow)
            fast_times.append(fast)
    finally:
        with contextlib.suppress(OSError, ValueError):
            q.put("stop")
        stop([sink], timeout=5.0)
        q.close()
        q.join_thread()
        report_r.close()
        report_w.close()
    speedup = min(slow_times) / min(fast_times)
    if speedup < SPEEDUP:
        return not_yet(
            f"all {N_ITEMS:,} items arrived in order, but not {SPEEDUP:g}x faster than one "
            "item per message: put more items in each message (try 100)."
        )
    return correct(
        f"all {N_ITEMS:,} items arrived in order, more than {SPEEDUP:g}x faster "
        "than one item per message."
    )


def _explain_items(got: list, items: list) -> Feedback:
    if len(got) != len(items):
        return not_yet(
            f"the consumer received {len(got):,} items instead of {len(items):,}: "
            "send every item exactly once, and the None sentinel only at the end."
        )
    if sorted(got) == sorted(items):
        return not_yet("every item arrived, but out of order: send the batches in order.")
    return not_yet(
        "the consumer received other items than the ones given: send the items "
        "of the list `items` (each batch is a list of items, e.g. items[i:i + 100])."
    )


# --------------------------------------------------------------------------
# Exercise 3: choose a mechanism
# --------------------------------------------------------------------------

#: The mechanisms a learner may choose from.
CHOICES = ("Queue", "Pipe", "SharedMemory", "Manager", "Pool")

#: Scenario, the accepted answers, and why.
SCENARIOS = {
    "thumbnails": (
        ("Pool", "Queue"),
        "10,000 independent tasks for 4 workers is a stream of tasks: a Pool (or "
        "ProcessPoolExecutor) is a queue of tasks with the workers, results and errors handled",
    ),
    "chess_engine": (
        ("Pipe",),
        "two processes in a conversation (a question, an answer, again) is what a Pipe is: "
        "two ends, lowest latency",
    ),
    "image_stack": (
        ("SharedMemory",),
        "a 2 GB numpy array that several workers fill slice by slice should not be copied at "
        "all: SharedMemory with one numpy view per process",
    ),
    "job_status": (
        ("Manager",),
        "a small dict that several processes read and update now and then is a shared mutable "
        "structure; a Manager dict is the simple choice when updates are rare (lock each "
        "read-modify-write)",
    ),
    "two_machines": (
        ("Manager",),
        "only a Manager (a BaseManager server on a TCP address with an authkey) reaches another "
        "machine among these; for real clusters look at Dask or Ray",
    ),
}


@plain_checker
def check_choices(choices: Any) -> Feedback:
    """Check a dict ``{scenario: mechanism}`` for the five scenarios of exercise 3."""
    if choices is None or choices is NotImplemented or choices == {}:
        return not_attempted("fill in the dict `choices`, then run this cell again.")
    if not isinstance(choices, Mapping):
        return not_yet(f"`choices` must be a dict, got {type(choices).__name__}.")
    for scenario, (accepted, why) in SCENARIOS.items():
        if scenario not in choices:
            return not_yet(f"`choices` has no answer for {scenario!r}.")
        answer = choices[scenario]
        if answer not in CHOICES:
            listed = ", ".join(repr(c) for c in CHOICES)
            return not_yet(f"the answer for {scenario!r} must be one of {listed}; got {answer!r}.")
        if answer not in accepted:
            return not_yet(f"{answer!r} is not the best fit for {scenario!r}. Hint: {why}.")
    extra = sorted(set(choices) - set(SCENARIOS))
    if extra:
        return not_yet(f"`choices` has keys no scenario uses: {extra}.")
    return correct("five good choices. The decision guide above sums up why.")


SOLUTION_CHOICES = {scenario: accepted[0] for scenario, (accepted, _) in SCENARIOS.items()}
