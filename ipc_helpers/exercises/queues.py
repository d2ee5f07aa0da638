"""Exercise checkers of notebook 01, *Queue*.

1. ``check_sentinels(send_sentinels)``: shut down N consumers with the right
   number of sentinels.
2. ``check_pipeline(run_pipeline)``: wire a two-stage pipeline of processes
   (square, then add one) with three queues.
3. ``check_reciprocals(reciprocals)``: collect the results *and the errors* of
   workers without hanging.

The solutions live in the notebook (cells tagged ``solution``); the tests run
them through these checkers. Each checker runs the learner's function with
``run_attempt`` (bounded; whatever it leaves running is stopped), checks that
the work really happened in child processes that ended by themselves, and
answers in plain words (see ``feedback``).
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

from ..cleanup import stop
from ..contexts import get_context
from ..queues import consumer, increment_stage, safe_reciprocal_worker, square_stage
from .feedback import (
    ATTEMPT_TIMEOUT,
    Attempt,
    Feedback,
    correct,
    first_problem,
    interrupted,
    not_yet,
    plain_checker,
    require_clean_exits,
    require_processes,
    run_attempt,
)


def _not_a_function(answer: Any, what: str, signature: str) -> Feedback | None:
    if callable(answer):
        return None
    return not_yet(
        f"{what} should be a function, {signature}, but it is {type(answer).__name__} "
        f"{answer!r:.60}. Define it with def {what}(...): in the cell."
    )


def _drain(q: Any, wait: float = 0.2) -> list[Any]:
    """Everything still readable on ``q`` once its writers have exited."""
    items = []
    try:
        while True:
            items.append(q.get(timeout=wait))
    except queue.Empty:
        return items


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _was(n: int) -> str:
    return "was" if n == 1 else "were"


# --- exercise 1: one sentinel per consumer ---------------------------------------

#: The tasks of exercise 1.
TASKS = list(range(12))

#: Seconds the checker gives the consumers to exit once ``send_sentinels`` returned,
#: when it put fewer ``None`` than there are consumers (one of them cannot exit).
CONSUMER_GRACE = 3.0
#: ... and when it put enough: every consumer will exit, as soon as it has run. Under
#: ``spawn`` on a busy machine a consumer can still be starting after 3 s.
CONSUMER_LIMIT = 30.0


class RecordingQueue:
    """The ``tasks`` queue given to ``send_sentinels``: a real ``Queue`` that remembers puts.

    Everything else (``close``, ``join_thread``, ``empty``, ...) is the real
    queue's. Handed to a child process, it arrives as the plain queue.
    """

    def __init__(self, real: Any) -> None:
        self.real = real
        self.put_items: list[Any] = []

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        self.real.put(obj, block, timeout)
        self.put_items.append(obj)

    def put_nowait(self, obj: Any) -> None:
        self.put(obj, False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __reduce__(self) -> tuple[Callable[[Any], Any], tuple[Any]]:
        return (_itself, (self.real,))

    def __repr__(self) -> str:
        return repr(self.real)


def _itself(obj: Any) -> Any:
    return obj


def _wait_for(processes: list[Any], seconds: float) -> list[int | None]:
    """Exit codes after waiting at most ``seconds`` in short slices; stop the rest."""
    deadline = time.monotonic() + seconds
    for p in processes:
        while p.is_alive() and time.monotonic() < deadline:
            p.join(0.1)
    return stop(processes, timeout=1.0)


def _sentinel_run(send_sentinels: Callable[..., Any], n_consumers: int) -> Feedback | None:
    """Start the consumers, put the tasks, let ``send_sentinels`` end them; judge."""
    ctx = get_context()
    tasks, results = RecordingQueue(ctx.Queue()), ctx.Queue()
    consumers = [
        ctx.Process(target=consumer, args=(tasks.real, results), kwargs={"timeout": 10.0})
        for _ in range(n_consumers)
    ]
    try:
        for p in consumers:
            p.start()  # first: the learner's code may close the queue (12.21)
        for item in TASKS:
            tasks.real.put(item)
        attempt = run_attempt(send_sentinels, tasks, n_consumers)
        problem = first_problem(attempt, what="send_sentinels")
        if problem is not None:
            return problem
        enough = sum(x is None for x in tasks.put_items) >= n_consumers
        exitcodes = _wait_for(consumers, CONSUMER_LIMIT if enough else CONSUMER_GRACE)
        consumed = _drain(results)
    finally:
        stop(consumers, timeout=1.0)
    return _judge_sentinels(n_consumers, tasks.put_items, exitcodes, consumed)


def _judge_sentinels(
    n_consumers: int, put: list[Any], exitcodes: list[int | None], consumed: list[Any]
) -> Feedback | None:
    with_n = f"with {_count(n_consumers, 'consumer')}"
    strangers = [x for x in put if x is not None]
    if strangers and all(x in TASKS for x in strangers):
        return not_yet(
            f"{with_n}, send_sentinels put {strangers[0]!r}, a task: the tasks are already on "
            "the queue. Put only the sentinels, one None per consumer."
        )
    if strangers:
        return not_yet(
            f"{with_n}, send_sentinels put {strangers[0]!r}. These consumers stop at None "
            "(any other value is just one more task to them), so the sentinel must be None."
        )
    nones = len(put)
    failed = [code for code in exitcodes if code is None or code > 0]
    if failed:
        # The checker's consumers cannot fail on None or on a task: something stopped them
        # from outside, and Kernel → Interrupt (SIGINT to every child) is what does that.
        return interrupted()
    stuck = sum(code < 0 for code in exitcodes)  # still waiting: the checker stopped them
    if stuck and nones >= n_consumers:
        return not_yet(
            f"{with_n}, send_sentinels put {_count(nones, 'None')}, enough for every consumer, "
            f"but {_count(stuck, 'consumer')} had not finished after "
            f"{CONSUMER_LIMIT:g} s (now stopped). The machine may be very busy: run the cell "
            "again."
        )
    if stuck:
        return not_yet(
            f"{with_n}, send_sentinels put {_count(nones, 'None')}, and {stuck} "
            f"{'consumer' if stuck == 1 else 'consumers'} {_was(stuck)} still waiting for an "
            f"item after {CONSUMER_GRACE:g} s (now stopped). A consumer stops at the first "
            "None it takes, so each consumer needs its own None."
        )
    if nones > n_consumers:
        extra = nones - n_consumers
        return not_yet(
            f"{with_n}, send_sentinels put {_count(nones, 'None')}: {extra} {_was(extra)} "
            "left on the queue that no consumer took. Put exactly one per consumer."
        )
    if sorted(consumed) != TASKS:
        return not_yet(
            f"{with_n}, the consumers reported {sorted(consumed)}, not the tasks {TASKS}: "
            "put only the sentinels, the tasks are already on the queue."
        )
    return None


@plain_checker
def check_sentinels(send_sentinels: Callable[[Any, int], Any]) -> Feedback:
    """Check ``send_sentinels(tasks, n_consumers)`` with 1 and with 3 consumers.

    The consumers run ``queues.consumer`` in child processes, started before
    the tasks. Correct when ``send_sentinels`` put exactly one ``None`` per
    consumer, every consumer exited by itself (exit code 0) and every task
    was consumed once.
    """
    problem = _not_a_function(send_sentinels, "send_sentinels", "send_sentinels(tasks, n)")
    for n_consumers in (1, 3):
        problem = problem or _sentinel_run(send_sentinels, n_consumers)
    if problem is not None:
        return problem
    return correct(
        "with 1 and with 3 consumers, send_sentinels put one None per consumer, every "
        f"consumer exited by itself with code 0, and all {len(TASKS)} tasks were consumed once."
    )


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
            "the list you returned contains None: None is the end-of-stream signal. Stop "
            "reading when you take it, instead of adding it to the results."
        )
    if numbers and result == [n * n for n in numbers]:
        return not_yet(
            "you returned the squares without the + 1: the outbox of square_stage must be the "
            "inbox of increment_stage, and you read the outbox of increment_stage."
        )
    if numbers and result == [n + 1 for n in numbers]:
        return not_yet(
            "the numbers were incremented but not squared: feed the numbers to "
            "square_stage first, and its outbox to increment_stage."
        )
    if sorted(result, key=repr) == sorted(expected, key=repr):
        return not_yet(
            "the values are right but the order is not: with one process per stage the "
            "queues keep the order, so return the results in the order you read them."
        )
    return not_yet(f"for {numbers} the pipeline should give {expected}, but it gave {result}.")


def _pipeline_attempt_problem(numbers: list[int], attempt: Attempt) -> Feedback | None:
    if attempt.timed_out and not attempt.placeholder and not attempt.defined_in_cell():
        return not_yet(
            f"run_pipeline({numbers}) did not finish within {attempt.timeout:g} s, so its "
            "processes were stopped. Most likely a stage never got the end signal: put None "
            "after the numbers, and read the last queue until the None that the second stage "
            "passes on. Give every get() and join() a timeout."
        )
    return (
        first_problem(attempt, what="run_pipeline")
        or _judge_pipeline(numbers, attempt.result)
        or require_processes(attempt, what="run_pipeline", at_least=2, running=square_stage)
        or require_processes(attempt, what="run_pipeline", at_least=2, running=increment_stage)
        or require_clean_exits(attempt, what="run_pipeline")
    )


@plain_checker
def check_pipeline(
    run_pipeline: Callable[[list[int]], list[int]], *, timeout: float = ATTEMPT_TIMEOUT
) -> Feedback:
    """Check ``run_pipeline(numbers)`` on a few numbers and on an empty list.

    Correct when it returns ``[n * n + 1 for n in numbers]`` in order, for
    both inputs, computed by child processes running ``square_stage`` and
    ``increment_stage`` that exited by themselves (code 0) before it returned.
    ``timeout`` bounds each attempt (tests use a short one).
    """
    problem = _not_a_function(run_pipeline, "run_pipeline", "run_pipeline(numbers)")
    for numbers in PIPELINE_INPUTS:
        if problem is not None:
            return problem
        attempt = run_attempt(run_pipeline, list(numbers), timeout=timeout)
        problem = _pipeline_attempt_problem(numbers, attempt)
    if problem is not None:
        return problem
    first = list(PIPELINE_INPUTS[0])
    return correct(
        f"run_pipeline({first}) gave {[n * n + 1 for n in first]} and run_pipeline([]) gave "
        "[], both times through child processes running square_stage and increment_stage, "
        "which exited by themselves with code 0."
    )


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
    if result[0] != RECIPROCAL_EXPECTED[0]:
        return not_yet(
            f"for 0 the answer should be the error text {RECIPROCAL_EXPECTED[0]!r} (the third "
            f"field of the worker's ('error', x, text) reply), got {result[0]!r}."
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


def _hung_or_gave_up(attempt: Attempt) -> Feedback | None:
    """The two ways waiting for a dead worker's reply ends, in words about that."""
    if attempt.placeholder or attempt.defined_in_cell():
        return None  # first_problem says it better
    if attempt.timed_out:
        return not_yet(
            f"reciprocals did not finish within {attempt.timeout:g} s, so its processes were "
            "stopped. A worker that dies on 0 never replies: use safe_reciprocal_worker, and "
            "give every get() and join() a timeout."
        )
    if isinstance(attempt.error, queue.Empty):
        return not_yet(
            "a get() timed out (queue.Empty) before every reply had arrived. A worker that "
            "dies on 0 never replies: use safe_reciprocal_worker, which sends the error back "
            "as a value and carries on."
        )
    return None


def _computed_in_children(attempt: Attempt) -> Feedback | None:
    if attempt.ran(safe_reciprocal_worker) or attempt.tasks:
        return None
    return not_yet(
        "reciprocals started processes, but none of them computed a reciprocal: give "
        "safe_reciprocal_worker to your processes (target=queues.safe_reciprocal_worker)."
    )


@plain_checker
def check_reciprocals(
    reciprocals: Callable[[list[float]], dict], *, timeout: float = ATTEMPT_TIMEOUT
) -> Feedback:
    """Check ``reciprocals(numbers)`` on numbers that include a 0.

    Correct when it returns ``{x: 1 / x}`` with the error text for 0, within
    the time limit, computed by child processes (running
    ``safe_reciprocal_worker``, or a pool's tasks) that exited by themselves
    before it returned. ``timeout`` bounds the attempt (tests use a short one).
    """
    problem = _not_a_function(reciprocals, "reciprocals", "reciprocals(numbers)")
    if problem is not None:
        return problem
    attempt = run_attempt(reciprocals, list(RECIPROCAL_INPUTS), timeout=timeout)
    problem = (
        _hung_or_gave_up(attempt)
        or first_problem(attempt, what="reciprocals")
        or _judge_reciprocals(attempt.result)
        or require_processes(attempt, what="reciprocals")
        or _computed_in_children(attempt)
        or require_clean_exits(attempt, what="reciprocals")
    )
    if problem is not None:
        return problem
    return correct(
        "every number got exactly one answer, the 0 came back as "
        f"{RECIPROCAL_EXPECTED[0]!r} instead of killing a worker, and the processes that "
        "computed them exited by themselves with code 0."
    )
