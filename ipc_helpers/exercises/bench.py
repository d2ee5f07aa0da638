"""Exercise checkers of notebook 05 (choosing a mechanism).

1. ``check_predictions``: predict the winner of three races, then compare
   with what the learner's own benchmark run measured.
2. ``check_batching``: make a producer at least 10x faster by batching.
3. ``check_choices``: choose a mechanism for five scenarios.

The solutions live in the notebook (cells tagged ``solution``); the given
code (``item_sink``, ``send_one_by_one``) lives in ``ipc_helpers.bench``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import Any, Callable

from ..bench import MiB, Result, item_sink, send_one_by_one
from ..bench.placement import children_deaf_to_interrupts
from ..cleanup import stop
from ..contexts import get_context
from ..validation import check_int, check_timeout, check_type
from .feedback import (
    Feedback,
    correct,
    first_problem,
    not_attempted,
    not_yet,
    plain_checker,
    run_attempt,
    strict,
)

# --------------------------------------------------------------------------
# Exercise 1: predictions
# --------------------------------------------------------------------------

#: The three races and the choices for each.
RACES = {
    "small_round_trip": ("Pipe", "Queue"),
    "array_16MiB": ("Pipe", "Queue", "SharedMemory"),
    "many_small_items": ("one per message", "batches of 100"),
}

_RACE_WHY = {
    "small_round_trip": (
        "a Queue hands every message to a feeder thread that pickles and writes it, and "
        "takes a lock to read it; a Pipe writes in the caller (see the round-trip chart)"
    ),
    "array_16MiB": (
        "SharedMemory copies the array into memory both processes see and out again, with "
        "no pickling and no kernel buffer in between; a Pipe or Queue moves every byte "
        "through the kernel, in pieces the size of its buffer"
    ),
    "many_small_items": (
        "each message has a fixed cost (pickling, a system call, waking the receiver); "
        "batches of 100 pay it once per 100 items"
    ),
}

#: What the course's runs measured, for a check without a run of the learner's own.
TYPICAL = {
    "small_round_trip": "Pipe",
    "array_16MiB": "SharedMemory",
    "many_small_items": "batches of 100",
}


#: Two figures closer than this factor are too close to call on one run.
TOO_CLOSE = 1.25

#: The benchmark row behind each choice of each race: (mechanism, operation, payload).
_RACE_ROWS: dict[str, dict[str, tuple[str, str, int]]] = {
    "small_round_trip": {
        "Pipe": ("pipe_bytes", "round trip", 0),
        "Queue": ("queue", "round trip", 0),
    },
    "array_16MiB": {
        "Pipe": ("pipe_bytes", "throughput", 16 * MiB),
        "Queue": ("queue", "throughput", 16 * MiB),
        "SharedMemory": ("shared_memory", "throughput", 16 * MiB),
    },
    "many_small_items": {
        "one per message": ("queue_single", "items/s", 0),
        "batches of 100": ("queue_batched", "items/s", 0),
    },
}


def _speed(operation: str, value: float) -> float:
    """A figure as a speed (higher is faster): a round trip in µs becomes trips per second."""
    return 1e6 / value if operation == "round trip" else value


def race_speeds(result: Result) -> dict[str, dict[str, float]]:
    """Each race's choices with their median speed in ``result`` (higher is faster)."""
    check_type("result", result, Result)
    return {
        race: {
            name: _speed(operation, result.find(mechanism, operation, payload).median)
            for name, (mechanism, operation, payload) in rows.items()
        }
        for race, rows in _RACE_ROWS.items()
    }


def race_rounds(result: Result) -> dict[str, dict[str, tuple[float, float]]]:
    """Each race's choices with the speed of their slowest and fastest round in ``result``."""
    check_type("result", result, Result)
    spans = {}
    for race, rows in _RACE_ROWS.items():
        spans[race] = {}
        for name, (mechanism, operation, payload) in rows.items():
            row = result.find(mechanism, operation, payload)
            speeds = sorted(_speed(operation, value) for value in (row.min, row.max))
            spans[race][name] = (speeds[0], speeds[1])
    return spans


def measured_winners(result: Result) -> dict[str, str]:
    """The winner of each race in a benchmark ``result`` (quick or full mode)."""
    return {
        race: max(speeds, key=speeds.__getitem__) for race, speeds in race_speeds(result).items()
    }


def _too_close(result: Result, race: str, answer: str) -> bool:
    """True if one run cannot tell ``answer`` from the winner of ``race``.

    That is, ``answer``'s median is within ``TOO_CLOSE`` of the winner's, or
    ``answer``'s fastest round beat the winner's slowest (on a busy machine,
    or with processes free to move between CPUs, the rounds spread out).
    """
    speeds, spans = race_speeds(result)[race], race_rounds(result)[race]
    winner = max(speeds, key=speeds.__getitem__)
    return speeds[answer] * TOO_CLOSE >= speeds[winner] or spans[answer][1] >= spans[winner][0]


@plain_checker
def check_predictions(predictions: Any, result: Result | None = None) -> Feedback:
    """Check a dict ``{race: winner}`` against the winners ``result`` measured.

    ``result`` is the benchmark run of this kernel (``run_benchmark(...)``);
    without it, the predictions are compared with what the course's own
    runs measured, and the answer says so.
    """
    if predictions is None or predictions is NotImplemented or predictions == {}:
        return not_attempted("fill in the dict `predictions`, then run this cell again.")
    if not isinstance(predictions, Mapping):
        return not_yet(f"`predictions` must be a dict, got {type(predictions).__name__}.")
    for race, choices in RACES.items():
        if race not in predictions:
            return not_yet(f"`predictions` has no answer for {race!r}.")
        answer = predictions[race]
        if not isinstance(answer, str) or answer not in choices:
            listed = ", ".join(repr(c) for c in choices)
            return not_yet(f"the answer for {race!r} must be one of {listed}; got {answer!r}.")
    extra = sorted(map(str, set(predictions) - set(RACES)))
    if extra:
        return not_yet(f"`predictions` has keys no race uses: {extra}.")
    winners = TYPICAL if result is None else measured_winners(result)
    where = "the course's runs measured" if result is None else "your benchmark run measured"
    close = []
    for race in RACES:
        missed = predictions[race] != winners[race]
        if missed and result is not None and _too_close(result, race, predictions[race]):
            close.append(race)
            continue
        if predictions[race] != winners[race]:
            return not_yet(
                f"for {race!r} {where} {winners[race]!r} ahead, not {predictions[race]!r}: "
                f"{_RACE_WHY[race]}."
            )
    if result is None:
        return correct(
            "all three predictions match what the course's runs measured. Pass your own "
            "run (check_predictions(predictions, result)) to compare with this machine."
        )
    if close:
        races = " and ".join(repr(r) for r in close)
        return correct(
            f"your predictions match what your benchmark run measured in this kernel; for "
            f"{races} the figures were within {TOO_CLOSE:g}x of each other, or the slower one's "
            "best round beat the faster one's worst: too close to call on one run, so either "
            "answer counts (run the benchmark again to see)."
        )
    return correct("all three predictions match what your benchmark run measured in this kernel.")


# --------------------------------------------------------------------------
# Exercise 2: batching
# --------------------------------------------------------------------------

#: How many items the batching exercise sends, and the speed-up it asks for.
N_ITEMS = 10_000
SPEEDUP = 10.0
#: At most this many messages count as batching (ten items per message on average).
MAX_MESSAGES = N_ITEMS // 10


class _Sink:
    """The consumer child of exercise 2 and its channels; always stopped on exit."""

    def __init__(self, timeout: float):
        ctx = get_context()
        self.timeout = timeout
        self.queue = ctx.Queue()
        self.report, report_w = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=item_sink, args=(self.queue, report_w, timeout))
        with children_deaf_to_interrupts():
            self.process.start()
        report_w.close()  # the child holds it: its end means EOF here

    def stream(self, send: Callable[[Any, list], Any], items: list) -> tuple[float, Any]:
        """Run ``send(queue, items)``; seconds until the consumer's counts arrive, and what arrived.

        The items travel back after the clock stops. Returns ``(0.0, attempt)``
        if the code failed, ``(0.0, None)`` if no sentinel came (the consumer
        said nothing within ``timeout``, or gave up waiting and ended).
        """
        start = time.perf_counter()
        attempt = run_attempt(send, self.queue, items, timeout=self.timeout)
        if attempt.error is not None or attempt.timed_out:
            return 0.0, attempt
        try:
            if not _ready_within(self.report, self.timeout):
                return 0.0, None
            n_items, messages = self.report.recv()
            elapsed = time.perf_counter() - start
            if not _ready_within(self.report, self.timeout):
                return 0.0, None
            return elapsed, (self.report.recv(), messages)
        except EOFError:  # the consumer gave up waiting for a sentinel and ended
            return 0.0, None

    def close(self) -> None:
        """Tell the consumer to stop, then stop it; never wait to flush a full queue."""
        with contextlib.suppress(OSError, ValueError):
            self.queue.put("stop")
        stop([self.process], timeout=1.0)
        self.queue.cancel_join_thread()
        self.queue.close()
        self.report.close()


def _ready_within(conn: Any, timeout: float) -> bool:
    """``conn.poll(timeout)`` in slices of 0.1 s, so that Kernel → Interrupt is seen at once."""
    deadline = time.monotonic() + timeout
    while not conn.poll(0.1):
        if time.monotonic() >= deadline:
            return False
    return True


@plain_checker
def check_batching(send: Any, rounds: int = 3, timeout: float = 20.0) -> Feedback:
    """Run ``send(q, items)`` against ``send_one_by_one``; want the same items, 10x faster.

    A consumer child (``item_sink``) is started first, so process start-up is
    not timed; it counts the messages and items that really came through the
    queue. The two producers take turns for ``rounds`` rounds, and the best
    time of each counts (the least disturbed by other programs). Batched
    answers that are not yet fast enough get three more rounds before the
    verdict, so a busy moment does not decide it.
    """
    if not callable(send):
        return not_yet(f"pass your function itself, got {type(send).__name__}.")
    rounds = check_int("rounds", rounds, minimum=1, maximum=20)
    timeout = check_timeout("timeout", timeout)
    items = [(i, i * 0.5) for i in range(N_ITEMS)]
    sink = _Sink(timeout)
    slow_times, fast_times = [], []
    try:
        for r in range(rounds + 3):
            fast, got = sink.stream(send, items)
            if got is None:
                return not_yet(
                    f"the consumer was still waiting {timeout:g} s after your function returned: "
                    "send the None sentinel after the last batch."
                )
            if not isinstance(got, tuple):
                return first_problem(got, what="your function") or not_yet(
                    "your function did not finish."
                )
            received, messages = got
            if received != items:
                return _explain_items(received, items)
            if messages > MAX_MESSAGES:
                return not_yet(
                    f"all {N_ITEMS:,} items arrived in order, but in {messages:,} messages: "
                    "one message per item is what makes it slow. Put many items in each "
                    "message (a list such as items[i:i + 100])."
                )
            slow, _ = sink.stream(send_one_by_one, items)
            slow_times.append(slow)
            fast_times.append(fast)
            speedup = min(slow_times) / min(fast_times)
            if r + 1 >= rounds and speedup >= SPEEDUP:
                return correct(
                    f"all {N_ITEMS:,} items arrived through the queue in order, in "
                    f"{_messages(messages)}, more than {SPEEDUP:g}x faster than one item per "
                    "message."
                )
    finally:
        sink.close()
    busy = "" if strict() else " This machine may be busy: run the cell again."
    return not_yet(
        f"all {N_ITEMS:,} items arrived in order, in {_messages(messages)}, but only "
        f"{speedup:.0f}x faster than one item per message ({SPEEDUP:g}x needed): put more "
        f"items in each message (try 100).{busy}"
    )


def _messages(n: int) -> str:
    return "1 message" if n == 1 else f"{n:,} messages"


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

#: Scenario -> {accepted answer: why it fits}; the hint for any other answer.
SCENARIOS: dict[str, tuple[dict[str, str], str]] = {
    "thumbnails": (
        {
            "Pool": "a Pool (or ProcessPoolExecutor) is a queue of tasks with the workers, "
            "results and errors handled",
            "Queue": "a Queue of tasks with four workers works too; a Pool does the same with "
            "less code",
        },
        "10,000 independent tasks for 4 workers is a stream of tasks",
    ),
    "chess_engine": (
        {"Pipe": "two processes in a conversation is what a Pipe is: two ends, lowest latency"},
        "two processes take turns: a question, an answer, again",
    ),
    "image_stack": (
        {
            "SharedMemory": "each worker writes its slices in place and nothing is copied; "
            "check that /dev/shm can hold 2 GB first (Docker and Binder give 64 MB, and "
            "writing past it kills the process with SIGBUS)",
        },
        "a 2 GB numpy array filled slice by slice should not be copied at all",
    ),
    "job_status": (
        {
            "Manager": "a Manager dict is the simple choice when updates are rare (one proxy "
            "call per update; lock every read-modify-write)",
            "Queue": "a Queue of progress messages works too: the monitor drains it and keeps "
            "the latest status per worker",
            "SharedMemory": "one slot per worker in a shared array works too, for numeric "
            "progress: each worker writes only its own slot, so no lock is needed",
        },
        "a few processes report progress that a monitor reads now and then",
    ),
    "two_machines": (
        {
            "Manager": "only a Manager (a BaseManager server on a TCP address with an "
            "authkey, on a trusted network) reaches another machine among these",
        },
        "pipes, queues and shared memory stay on one machine",
    ),
}


@plain_checker
def check_choices(choices: Any) -> Feedback:
    """Check a dict ``{scenario: mechanism}`` for the five scenarios of exercise 3."""
    if choices is None or choices is NotImplemented or choices == {}:
        return not_attempted("fill in the dict `choices`, then run this cell again.")
    if not isinstance(choices, Mapping):
        return not_yet(f"`choices` must be a dict, got {type(choices).__name__}.")
    notes = []
    for scenario, (accepted, hint) in SCENARIOS.items():
        if scenario not in choices:
            return not_yet(f"`choices` has no answer for {scenario!r}.")
        answer = choices[scenario]
        if not isinstance(answer, str) or answer not in CHOICES:
            listed = ", ".join(repr(c) for c in CHOICES)
            return not_yet(f"the answer for {scenario!r} must be one of {listed}; got {answer!r}.")
        if answer not in accepted:
            return not_yet(f"{answer!r} is not a good fit for {scenario!r}. Hint: {hint}.")
        notes.append(f"{scenario}: {accepted[answer]}.")
    extra = sorted(map(str, set(choices) - set(SCENARIOS)))
    if extra:
        return not_yet(f"`choices` has keys no scenario uses: {extra}.")
    return correct("five good choices.\n" + "\n".join(f"- {note}" for note in notes))
