"""Contract rows of notebook 01's checkers (``ipc_helpers.exercises.queues``).

Each checker gets: the notebook's own solution, at least two other correct
answers a learner might write, the wrong answers named in the issues (12.21,
12.22, 21.1) and the mistakes the syllabus names (one sentinel for several
consumers, a worker that dies on an error, a wait without a timeout), and the
placeholder. Wrong answers are module-level functions, so they pickle.
"""

from __future__ import annotations

import multiprocessing as mp
import operator
from concurrent.futures import ProcessPoolExecutor

from ipc_helpers import queues
from ipc_helpers.cleanup import stop
from ipc_helpers.exercises import queues as ex
from tests.unit.checker_contract import Case, Solution, placeholder

NOTEBOOK = "01_queue"
ZERO = "ZeroDivisionError: division by zero"

# --- exercise 1: send_sentinels --------------------------------------------------------


def sentinels_then_close(tasks, n_consumers):
    """Correct, with the hygiene 01 teaches: close the queue and wait for the feeder (12.21)."""
    for _ in range(n_consumers):
        tasks.put(None)
    tasks.close()
    tasks.join_thread()


def sentinels_with_timeout(tasks, n_consumers):
    """Correct: the module's SENTINEL, each put bounded."""
    for _ in range(n_consumers):
        tasks.put(queues.SENTINEL, timeout=5)


def sentinels_nowait(tasks, n_consumers):
    """Correct: put_nowait on an unbounded queue."""
    for _ in range(n_consumers):
        tasks.put_nowait(None)


def one_sentinel_for_all(tasks, n_consumers):
    tasks.put(None)


def one_sentinel_too_many(tasks, n_consumers):
    for _ in range(n_consumers + 1):
        tasks.put(None)


def stop_word_sentinel(tasks, n_consumers):
    for _ in range(n_consumers):
        tasks.put("STOP")


def tasks_again(tasks, n_consumers):
    for task in ex.TASKS:
        tasks.put(task)
    for _ in range(n_consumers):
        tasks.put(None)


def join_thread_without_close(tasks, n_consumers):
    for _ in range(n_consumers):
        tasks.put(None)
    tasks.join_thread()  # AssertionError: close() first


# --- exercise 2: run_pipeline ------------------------------------------------------------


def pipeline_joined_in_a_loop(numbers):
    """Correct: join each stage with a timeout, in a finally block."""
    source, middle, sink = mp.Queue(), mp.Queue(), mp.Queue()
    stages = [
        mp.Process(target=queues.square_stage, args=(source, middle)),
        mp.Process(target=queues.increment_stage, args=(middle, sink)),
    ]
    for p in stages:
        p.start()
    try:
        for n in numbers:
            source.put(n)
        source.put(None)
        results = []
        while True:
            item = sink.get(timeout=10)
            if item is None:
                return results
            results.append(item)
    finally:
        for p in stages:
            p.join(timeout=10)


def pipeline_in_a_spawn_context(numbers):
    """Correct: everything from one spawn context, results counted instead of a loop on None."""
    ctx = mp.get_context("spawn")
    source, middle, sink = ctx.Queue(), ctx.Queue(), ctx.Queue()
    stages = [
        ctx.Process(target=queues.increment_stage, args=(middle, sink)),
        ctx.Process(target=queues.square_stage, args=(source, middle)),
    ]
    for p in stages:
        p.start()
    for n in [*numbers, None]:
        source.put(n)
    results = [sink.get(timeout=20) for _ in numbers]
    assert sink.get(timeout=20) is None
    stop(stages, timeout=10)
    return results


def pipeline_without_processes(numbers):
    """21.1: the right numbers, computed in the parent."""
    return [n * n + 1 for n in numbers]


def pipeline_squares_only(numbers):
    inbox, outbox = mp.Queue(), mp.Queue()
    stage = mp.Process(target=queues.square_stage, args=(inbox, outbox))
    stage.start()
    for n in [*numbers, None]:
        inbox.put(n)
    results = []
    while (item := outbox.get(timeout=10)) is not None:
        results.append(item)
    stop([stage], timeout=10)
    return results


def pipeline_keeps_the_sentinel(numbers):
    results = pipeline_joined_in_a_loop(numbers)
    return [*results, None]


def pipeline_not_joined(numbers):
    """Returns while the stages still run: no sentinel, no join."""
    source, middle, sink = mp.Queue(), mp.Queue(), mp.Queue()
    mp.Process(target=queues.square_stage, args=(source, middle)).start()
    mp.Process(target=queues.increment_stage, args=(middle, sink)).start()
    for n in numbers:
        source.put(n)
    return [sink.get(timeout=10) for _ in numbers]


def pipeline_stages_terminated(numbers):
    """Reads every result, then terminates the stages instead of sending the sentinel."""
    source, middle, sink = mp.Queue(), mp.Queue(), mp.Queue()
    stages = [
        mp.Process(target=queues.square_stage, args=(source, middle)),
        mp.Process(target=queues.increment_stage, args=(middle, sink)),
    ]
    for p in stages:
        p.start()
    for n in numbers:
        source.put(n)
    results = [sink.get(timeout=10) for _ in numbers]
    stop(stages, timeout=0.2)
    return results


def pipeline_without_the_sentinel(numbers):
    """Waits on the last queue without a timeout for a None that never comes."""
    source, middle, sink = mp.Queue(), mp.Queue(), mp.Queue()
    stages = [
        mp.Process(target=queues.square_stage, args=(source, middle)),
        mp.Process(target=queues.increment_stage, args=(middle, sink)),
    ]
    for p in stages:
        p.start()
    for n in numbers:
        source.put(n)
    results = []
    while (item := sink.get()) is not None:
        results.append(item)
    return results


# --- exercise 3: reciprocals -------------------------------------------------------------


def reciprocals_joined_by_hand(numbers):
    """Correct: three workers, replies collected in a dict comprehension, joins in a loop."""
    tasks, results = mp.Queue(), mp.Queue()
    workers = [
        mp.Process(target=queues.safe_reciprocal_worker, args=(tasks, results)) for _ in range(3)
    ]
    for p in workers:
        p.start()
    for x in [*numbers, *[None] * len(workers)]:
        tasks.put(x)
    answers = {x: value for _, x, value in (results.get(timeout=10) for _ in numbers)}
    for p in workers:
        p.join(timeout=10)
    return answers


def _reciprocal(x):
    return 1 / x


def reciprocals_with_an_executor(numbers):
    """Correct: a ProcessPoolExecutor sends each error back; the text is built in the parent."""
    answers = {}
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = {x: pool.submit(operator.truediv, 1, x) for x in numbers}
        for x, future in futures.items():
            try:
                answers[x] = future.result(timeout=10)
            except ZeroDivisionError as exc:
                answers[x] = f"{type(exc).__name__}: {exc}"
    return answers


def reciprocals_from_a_literal(numbers):
    """21.1: the expected dict, no process."""
    return {4: 0.25, 0: ZERO, 2: 0.5, -8: -0.125, 0.5: 2.0}


def reciprocals_with_a_dying_worker(numbers):
    """The worker without error handling dies on 0; the next get() times out."""
    tasks, results = mp.Queue(), mp.Queue()
    workers = [mp.Process(target=queues.reciprocal_worker, args=(tasks, results)) for _ in range(2)]
    for p in workers:
        p.start()
    for x in [*numbers, None, None]:
        tasks.put(x)
    try:
        return dict(results.get(timeout=2) for _ in numbers)
    finally:
        stop(workers, timeout=2)


def reciprocals_waiting_for_ever(numbers):
    """A dying worker and a get() without a timeout: hangs."""
    tasks, results = mp.Queue(), mp.Queue()
    worker = mp.Process(target=queues.reciprocal_worker, args=(tasks, results))
    worker.start()
    for x in [*numbers, None]:
        tasks.put(x)
    return dict(results.get() for _ in numbers)


def reciprocals_workers_terminated(numbers):
    """12.22: every reply collected, but no sentinels: the workers are stopped (exit -15)."""
    tasks, results = mp.Queue(), mp.Queue()
    workers = [
        mp.Process(target=queues.safe_reciprocal_worker, args=(tasks, results)) for _ in range(2)
    ]
    for p in workers:
        p.start()
    for x in numbers:
        tasks.put(x)
    answers = {}
    for _ in numbers:
        _, x, value = results.get(timeout=10)
        answers[x] = value
    stop(workers, timeout=0.5)
    return answers


def reciprocals_status_not_text(numbers):
    answers = reciprocals_joined_by_hand(numbers)
    answers[0] = "error"
    return answers


def reciprocals_idle_process(numbers):
    """Starts a process that computes nothing, then answers from a literal."""
    p = mp.Process(target=_reciprocal, args=(2,))
    p.start()
    p.join(timeout=10)
    return reciprocals_from_a_literal(numbers)


CASES = [
    # exercise 1
    Case(
        "sentinels.solution",
        ex.check_sentinels,
        Solution(NOTEBOOK, "send_sentinels"),
        "correct",
        r"one None per consumer, every consumer exited by itself with code 0",
    ),
    Case(
        "sentinels.close_and_join_thread",
        ex.check_sentinels,
        sentinels_then_close,
        "correct",
        r"with 1 and with 3 consumers.*all 12 tasks were consumed once",
    ),
    Case(
        "sentinels.with_timeout",
        ex.check_sentinels,
        sentinels_with_timeout,
        "correct",
        r"every consumer exited by itself",
    ),
    Case("sentinels.nowait", ex.check_sentinels, sentinels_nowait, "correct", r"one None per"),
    Case(
        "sentinels.placeholder",
        ex.check_sentinels,
        placeholder,
        "not attempted",
        r"replace `raise NotImplementedError`",
    ),
    Case(
        "sentinels.one_for_all",
        ex.check_sentinels,
        one_sentinel_for_all,
        "not yet",
        r"with 3 consumers, send_sentinels put 1 None, and 2 consumers were still waiting.*"
        r"each consumer needs its own None",
    ),
    Case(
        "sentinels.one_too_many",
        ex.check_sentinels,
        one_sentinel_too_many,
        "not yet",
        r"put 2 Nones: 1 was left on the queue that no consumer took",
    ),
    Case(
        "sentinels.stop_word",
        ex.check_sentinels,
        stop_word_sentinel,
        "not yet",
        r"send_sentinels put 'STOP'.*the sentinel must be None",
    ),
    Case(
        "sentinels.tasks_again",
        ex.check_sentinels,
        tasks_again,
        "not yet",
        r"put 0, a task: the tasks are already on the queue",
    ),
    Case(
        "sentinels.join_thread_without_close",
        ex.check_sentinels,
        join_thread_without_close,
        "not yet",
        r"your code raised AssertionError",
    ),
    Case(
        "sentinels.not_a_function",
        ex.check_sentinels,
        42,
        "not yet",
        r"send_sentinels should be a function.*int 42",
    ),
    # exercise 2
    Case(
        "pipeline.solution",
        ex.check_pipeline,
        Solution(NOTEBOOK, "run_pipeline"),
        "correct",
        r"gave \[10, 2, 17, 2, 26, 82, 5, 37\].*running square_stage and increment_stage, "
        r"which exited by themselves with code 0",
    ),
    Case(
        "pipeline.join_loop",
        ex.check_pipeline,
        pipeline_joined_in_a_loop,
        "correct",
        r"run_pipeline\(\[\]\) gave \[\]",
    ),
    Case(
        "pipeline.spawn_context",
        ex.check_pipeline,
        pipeline_in_a_spawn_context,
        "correct",
        r"child processes running square_stage and increment_stage",
    ),
    Case(
        "pipeline.placeholder",
        ex.check_pipeline,
        placeholder,
        "not attempted",
        r"replace `raise NotImplementedError`",
    ),
    Case(
        "pipeline.no_process",
        ex.check_pipeline,
        pipeline_without_processes,
        "not yet",
        r"run_pipeline started no process: it gave the right answer",
    ),
    Case(
        "pipeline.squares_only",
        ex.check_pipeline,
        pipeline_squares_only,
        "not yet",
        r"squares without the \+ 1",
    ),
    Case(
        "pipeline.keeps_the_sentinel",
        ex.check_pipeline,
        pipeline_keeps_the_sentinel,
        "not yet",
        r"contains None: None is the end-of-stream signal",
    ),
    Case(
        "pipeline.not_joined",
        ex.check_pipeline,
        pipeline_not_joined,
        "not yet",
        r"returned while 2 processes it started were still running \(now stopped\)",
    ),
    Case(
        "pipeline.stages_terminated",
        ex.check_pipeline,
        pipeline_stages_terminated,
        "not yet",
        r"ended with exit code -15: it was stopped by a signal",
    ),
    Case(
        "pipeline.no_sentinel_no_timeout",
        ex.check_pipeline,
        pipeline_without_the_sentinel,
        "not yet",
        r"did not finish within 4 s.*a stage never got the end signal",
        kwargs={"timeout": 4.0},
        seconds=15.0,
    ),
    Case(
        "pipeline.not_a_function",
        ex.check_pipeline,
        None,
        "not yet",
        r"run_pipeline should be a function",
    ),
    # exercise 3
    Case(
        "reciprocals.solution",
        ex.check_reciprocals,
        Solution(NOTEBOOK, "reciprocals"),
        "correct",
        r"the 0 came back as 'ZeroDivisionError: division by zero'.*exited by themselves",
    ),
    Case(
        "reciprocals.joined_by_hand",
        ex.check_reciprocals,
        reciprocals_joined_by_hand,
        "correct",
        r"every number got exactly one answer",
    ),
    Case(
        "reciprocals.executor",
        ex.check_reciprocals,
        reciprocals_with_an_executor,
        "correct",
        r"instead of killing a worker",
    ),
    Case(
        "reciprocals.placeholder",
        ex.check_reciprocals,
        placeholder,
        "not attempted",
        r"replace `raise NotImplementedError`",
    ),
    Case(
        "reciprocals.literal_dict",
        ex.check_reciprocals,
        reciprocals_from_a_literal,
        "not yet",
        r"reciprocals started no process: it gave the right answer",
    ),
    Case(
        "reciprocals.idle_process",
        ex.check_reciprocals,
        reciprocals_idle_process,
        "not yet",
        r"none of them computed a reciprocal: give safe_reciprocal_worker",
    ),
    Case(
        "reciprocals.dying_worker",
        ex.check_reciprocals,
        reciprocals_with_a_dying_worker,
        "not yet",
        r"a get\(\) timed out \(queue.Empty\).*use safe_reciprocal_worker",
    ),
    Case(
        "reciprocals.get_without_timeout",
        ex.check_reciprocals,
        reciprocals_waiting_for_ever,
        "not yet",
        r"did not finish within 4 s.*A worker that dies on 0 never replies",
        kwargs={"timeout": 4.0},
        seconds=15.0,
    ),
    Case(
        "reciprocals.workers_terminated",
        ex.check_reciprocals,
        reciprocals_workers_terminated,
        "not yet",
        r"2 of the processes reciprocals started ended with exit code -15: it was stopped by "
        r"a signal",
    ),
    Case(
        "reciprocals.status_not_text",
        ex.check_reciprocals,
        reciprocals_status_not_text,
        "not yet",
        r"for 0 the answer should be the error text",
    ),
    Case(
        "reciprocals.not_a_function",
        ex.check_reciprocals,
        {0: ZERO},
        "not yet",
        r"reciprocals should be a function.*dict",
    ),
]
