"""Contract rows of notebook 05's checkers (predictions, batching, choices)."""

from __future__ import annotations

from ipc_helpers import bench
from ipc_helpers.exercises import bench as ex
from tests.unit.checker_contract import Case, Solution, placeholder

NB = "05_choosing"


def run(
    pipe_rt: float = 15.0,
    queue_rt: float = 35.0,
    pipe_16: float = 4000.0,
    pipe_rt_rounds: tuple[float, float] | None = None,
) -> bench.Result:
    """A benchmark result holding just the rows the three races read.

    Every row's rounds all measured its median, except the ``Pipe`` round
    trip's when ``pipe_rt_rounds`` gives its fastest and slowest round (µs).
    """

    def row(mechanism: str, operation: str, payload: int, value: float) -> bench.Measurement:
        return bench.Measurement(mechanism, operation, payload, value, "", value, value, 1)

    pipe = row("pipe_bytes", "round trip", 0, pipe_rt)
    if pipe_rt_rounds is not None:
        pipe.min, pipe.max = pipe_rt_rounds
        pipe.rounds = 5

    big = 16 * bench.MiB
    return bench.Result(
        "quick",
        [
            pipe,
            row("queue", "round trip", 0, queue_rt),
            row("pipe_bytes", "throughput", big, pipe_16),
            row("queue", "throughput", big, 2000.0),
            row("shared_memory", "throughput", big, 9000.0),
            row("queue_single", "items/s", 0, 1.5e5),
            row("queue_batched", "items/s", 0, 3e6),
        ],
    )


TYPICAL = run()
QUEUE_WON = run(pipe_rt=60.0)  # a machine where the Queue round trip measured clearly faster
PIPE_WON_16 = run(pipe_16=14000.0)  # a machine where the Pipe moved 16 MiB clearly fastest
CLOSE_CALL = run(pipe_rt=40.0)  # Queue 35 µs, Pipe 40 µs: one run cannot tell them apart
# Queue 35 µs against a Pipe whose median was 60 µs but whose rounds went from 20 to 90 µs
# (a busy machine, or processes free to move): its best round beat the Queue's.
ROUNDS_OVERLAP = run(pipe_rt=60.0, pipe_rt_rounds=(20.0, 90.0))
RIGHT = {
    "small_round_trip": "Pipe",
    "array_16MiB": "SharedMemory",
    "many_small_items": "batches of 100",
}


# --- exercise 2: producers a learner might write ------------------------------------


def batches_of_1000(q, items):
    for start in range(0, len(items), 1000):
        q.put(items[start : start + 1000])
    q.put(None)


def one_message(q, items):
    q.put(list(items))
    q.put(None)


def one_per_message(q, items):
    for item in items:
        q.put(item)
    q.put(None)


def no_sentinel(q, items):
    for start in range(0, len(items), 100):
        q.put(items[start : start + 100])


def last_batch_lost(q, items):
    for start in range(0, len(items) - 100, 100):
        q.put(items[start : start + 100])
    q.put(None)


def batches_reversed(q, items):
    for start in reversed(range(0, len(items), 100)):
        q.put(items[start : start + 100])
    q.put(None)


def tuples_not_lists(q, items):
    for start in range(0, len(items), 100):
        q.put(tuple(items[start : start + 100]))  # a tuple is one item, not a batch
    q.put(None)


def raises(q, items):
    raise ValueError("oops")


CHOICES = {
    "thumbnails": "Pool",
    "chess_engine": "Pipe",
    "image_stack": "SharedMemory",
    "job_status": "Manager",
    "two_machines": "Manager",
}

CASES = [
    # exercise 1: judged against the run given, in this kernel
    Case(
        "predictions.solution",
        ex.check_predictions,
        Solution(NB, "predictions"),
        "correct",
        r"match what your benchmark run measured in this kernel",
        args=(TYPICAL,),
    ),
    Case(
        "predictions.queue_won_here",
        ex.check_predictions,
        {**RIGHT, "small_round_trip": "Queue"},
        "correct",
        r"your benchmark run measured",
        args=(QUEUE_WON,),
    ),
    Case(
        "predictions.too_close_to_call",
        ex.check_predictions,
        RIGHT,
        "correct",
        r"for 'small_round_trip' the figures were within 1.25x of each other",
        args=(CLOSE_CALL,),
    ),
    Case(
        "predictions.rounds_overlap",
        ex.check_predictions,
        RIGHT,
        "correct",
        r"the slower one's best round beat the faster one's worst: too close to call",
        args=(ROUNDS_OVERLAP,),
    ),
    Case(
        "predictions.without_a_run",
        ex.check_predictions,
        RIGHT,
        "correct",
        r"match what the course's runs measured",
    ),
    Case(
        "predictions.queue_for_round_trip",
        ex.check_predictions,
        {**RIGHT, "small_round_trip": "Queue"},
        "not yet",
        r"your benchmark run measured 'Pipe' ahead, not 'Queue'.*feeder thread",
        args=(TYPICAL,),
    ),
    Case(
        "predictions.pipe_for_16MiB",
        ex.check_predictions,
        {**RIGHT, "array_16MiB": "Pipe"},
        "not yet",
        r"'SharedMemory' ahead, not 'Pipe'",
        args=(TYPICAL,),
    ),
    Case(
        "predictions.wrong_where_the_run_disagrees",
        ex.check_predictions,
        RIGHT,
        "not yet",
        r"for 'array_16MiB' your benchmark run measured 'Pipe' ahead",
        args=(PIPE_WON_16,),
    ),
    Case(
        "predictions.one_per_message",
        ex.check_predictions,
        {**RIGHT, "many_small_items": "one per message"},
        "not yet",
        r"'batches of 100' ahead.*fixed cost",
        args=(TYPICAL,),
    ),
    Case(
        "predictions.unknown_choice",
        ex.check_predictions,
        {**RIGHT, "array_16MiB": "shm"},
        "not yet",
        r"must be one of 'Pipe', 'Queue', 'SharedMemory'; got 'shm'",
    ),
    Case(
        "predictions.missing",
        ex.check_predictions,
        {"small_round_trip": "Pipe"},
        "not yet",
        r"no answer for 'array_16MiB'",
    ),
    Case(
        "predictions.not_a_dict",
        ex.check_predictions,
        ["Pipe"],
        "not yet",
        r"must be a dict, got list",
    ),
    Case(
        "predictions.unhashable",
        ex.check_predictions,
        {**RIGHT, "small_round_trip": ["Pipe"]},
        "not yet",
        r"must be one of 'Pipe', 'Queue'",
    ),
    Case(
        "predictions.placeholder",
        ex.check_predictions,
        {},
        "not attempted",
        r"fill in the dict `predictions`",
    ),
    # exercise 2: what came through the queue, and how fast
    Case(
        "batching.solution",
        ex.check_batching,
        Solution(NB, "send_all"),
        "correct",
        r"arrived through the queue in order, in 100 messages, more than 10x faster",
    ),
    Case(
        "batching.batches_of_1000", ex.check_batching, batches_of_1000, "correct", r"in 10 messages"
    ),
    Case("batching.one_message", ex.check_batching, one_message, "correct", r"in 1 message,"),
    Case(
        "batching.one_per_message",
        ex.check_batching,
        one_per_message,
        "not yet",
        r"in 10,000 messages: one message per item is what makes it slow",
    ),
    Case(
        "batching.tuples_are_items",
        ex.check_batching,
        tuples_not_lists,
        "not yet",
        r"received 100 items instead of 10,000",
    ),
    Case(
        "batching.no_sentinel",
        ex.check_batching,
        no_sentinel,
        "not yet",
        r"still waiting 2 s after your function returned: send the None sentinel",
        kwargs={"timeout": 2.0},
    ),
    Case(
        "batching.last_batch_lost",
        ex.check_batching,
        last_batch_lost,
        "not yet",
        r"received 9,900 items instead of 10,000",
    ),
    Case(
        "batching.out_of_order",
        ex.check_batching,
        batches_reversed,
        "not yet",
        r"every item arrived, but out of order",
    ),
    Case(
        "batching.raises",
        ex.check_batching,
        raises,
        "not yet",
        r"your code raised ValueError: oops",
    ),
    Case(
        "batching.not_a_function",
        ex.check_batching,
        42,
        "not yet",
        r"pass your function itself, got int",
    ),
    Case(
        "batching.placeholder",
        ex.check_batching,
        placeholder,
        "not attempted",
        r"replace `raise NotImplementedError`",
    ),
    # exercise 3: every reasonable design accepted, with its reason
    Case(
        "choices.solution",
        ex.check_choices,
        Solution(NB, "choices"),
        "correct",
        r"(?s)five good choices.*/dev/shm can hold 2 GB",
    ),
    Case(
        "choices.job_status_queue",
        ex.check_choices,
        {**CHOICES, "job_status": "Queue"},
        "correct",
        r"a Queue of progress messages works too",
    ),
    Case(
        "choices.job_status_slots",
        ex.check_choices,
        {**CHOICES, "job_status": "SharedMemory"},
        "correct",
        r"one slot per worker",
    ),
    Case(
        "choices.thumbnails_queue",
        ex.check_choices,
        {**CHOICES, "thumbnails": "Queue"},
        "correct",
        r"a Pool does the same with\s+less code",
    ),
    Case(
        "choices.image_stack_queue",
        ex.check_choices,
        {**CHOICES, "image_stack": "Queue"},
        "not yet",
        r"'Queue' is not a good fit for 'image_stack'.*should not be copied",
    ),
    Case(
        "choices.two_machines_pipe",
        ex.check_choices,
        {**CHOICES, "two_machines": "Pipe"},
        "not yet",
        r"stay on one machine",
    ),
    Case(
        "choices.chess_engine_manager",
        ex.check_choices,
        {**CHOICES, "chess_engine": "Manager"},
        "not yet",
        r"take turns: a question, an answer",
    ),
    Case(
        "choices.unknown",
        ex.check_choices,
        {**CHOICES, "chess_engine": "Socket"},
        "not yet",
        r"must be one of 'Queue', 'Pipe'",
    ),
    Case(
        "choices.missing",
        ex.check_choices,
        {"thumbnails": "Pool"},
        "not yet",
        r"no answer for 'chess_engine'",
    ),
    Case(
        "choices.extra_key",
        ex.check_choices,
        {**CHOICES, "x": "Pipe"},
        "not yet",
        r"keys no scenario uses: \['x'\]",
    ),
    Case("choices.not_a_dict", ex.check_choices, "Pool", "not yet", r"must be a dict, got str"),
    Case(
        "choices.placeholder", ex.check_choices, {}, "not attempted", r"fill in the dict `choices`"
    ),
]
