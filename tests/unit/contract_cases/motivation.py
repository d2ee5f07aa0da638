"""Contract rows for the checkers of notebook 00 (``ipc_helpers.exercises.motivation``).

For each exercise: the notebook's solution and two other correct answers a
learner might write, the placeholder, and the wrong answers named in issues
12 and 21 and in the syllabus (no child, no join, the list changed only in
the child, a serial sum, a fork pool, a worker defined in a notebook cell,
chunks that miss or repeat numbers, the wrong default start method), each
with the words its message must say.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
import types
from concurrent.futures import ProcessPoolExecutor

from ipc_helpers.cleanup import stop
from ipc_helpers.exercises import motivation as ex
from ipc_helpers.motivation import split_range, square_all, square_in_place, sum_of_squares
from tests.unit.checker_contract import Case, Solution, placeholder

NB = "00_why_ipc"
SPAWN_ONLY = frozenset({"spawn", "forkserver"})
NOT_SPAWN = frozenset({"fork", "forkserver"})


def as_if_from_a_cell(function: types.FunctionType, name: str) -> types.FunctionType:
    """A copy of ``function`` named ``name`` that lives in ``__main__``, as a cell's function does.

    It pickles by reference (``__main__.name``), like a function defined in
    a notebook cell; a ``spawn`` or ``forkserver`` child cannot find it.
    """
    copy = types.FunctionType(function.__code__, function.__globals__, name)
    copy.__module__, copy.__qualname__ = "__main__", name
    setattr(sys.modules["__main__"], name, copy)
    return copy


# --- exercise 1: squares_from_child(numbers) ---------------------------------------------


def squares_spawn_and_join(numbers):
    """Correct: a spawn context, get() first, then join with a timeout."""
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    child = ctx.Process(target=square_all, args=(numbers, results))
    child.start()
    squares = results.get(timeout=30)
    child.join(30)
    return squares


def squares_through_a_simple_queue(numbers):
    """Correct: a SimpleQueue, and the child joined in a finally block."""
    results = mp.SimpleQueue()
    child = mp.Process(target=square_all, args=(numbers, results))
    child.start()
    try:
        return results.get()
    finally:
        child.join(10)


def squares_in_place_in_a_child(numbers):
    """Wrong (the lesson of section 1): the child squares its own copy."""
    child = mp.Process(target=square_in_place, args=(numbers,))
    child.start()
    stop([child], timeout=10)
    return numbers


def squares_forgotten(numbers):
    """Wrong: the squares come back, but the function does not return them."""
    results = mp.Queue()
    child = mp.Process(target=square_all, args=(numbers, results))
    child.start()
    results.get(timeout=10)
    stop([child], timeout=10)


def squares_without_a_child(numbers):
    """Wrong (21.1): no process at all."""
    return [n * n for n in numbers]


def squares_without_join(numbers):
    """Wrong (12.22): the child is never joined (the verdict must not depend on luck)."""
    results = mp.Queue()
    child = mp.Process(target=square_all, args=(numbers, results))
    child.start()
    return results.get(timeout=10)


def squares_never_read(numbers):
    """Wrong: a child runs square_all, but the squares returned are computed here."""
    results = mp.Queue()
    child = mp.Process(target=square_all, args=(numbers, results))
    child.start()
    child.join(10)
    return [n * n for n in numbers]


def squares_child_terminated(numbers):
    """Wrong: the child is stopped with terminate() instead of being let finish."""
    results = mp.Queue()
    child = mp.Process(target=square_all, args=(numbers, results))
    child.start()
    squares = results.get(timeout=10)
    child.terminate()
    child.join(10)
    return squares


def _cell_square_all(numbers, results):
    results.put([n * n for n in numbers])


def squares_with_a_cell_worker(numbers):
    """Wrong: the worker is defined in a notebook cell (fails under spawn/forkserver)."""
    worker = as_if_from_a_cell(_cell_square_all, "cell_square_all")
    results = mp.Queue()
    child = mp.Process(target=worker, args=(numbers, results))
    child.start()
    try:
        return results.get(timeout=5)
    finally:
        stop([child], timeout=5)


# --- exercise 2: parallel_sum_of_squares(n, parts) -------------------------------------------


def sum_with_an_executor(n, parts):
    """Correct: a ProcessPoolExecutor with a spawn context."""
    starts, stops = zip(*split_range(n, parts), strict=True)
    with ProcessPoolExecutor(parts, mp_context=mp.get_context("spawn")) as executor:
        return sum(executor.map(sum_of_squares, starts, stops, timeout=30))


def sum_with_apply_async(n, parts):
    """Correct: one apply_async per chunk, each result with a timeout."""
    with mp.get_context("spawn").Pool(parts) as pool:
        pending = [pool.apply_async(sum_of_squares, chunk) for chunk in split_range(n, parts)]
        return sum(p.get(timeout=30) for p in pending)


def sum_serially(n, parts):
    """Wrong (21.1): the right number, without any process."""
    return sum_of_squares(0, n)


def sum_in_a_fork_pool(n, parts):
    """Wrong (12.22): fork, not spawn ("it works under spawn" must be checked)."""
    with mp.get_context("fork").Pool(parts) as pool:
        return sum(pool.starmap(sum_of_squares, split_range(n, parts)))


def sum_in_the_default_pool(n, parts):
    """Wrong where the default is not spawn: the exercise asks for spawn explicitly."""
    with mp.Pool(parts) as pool:
        return sum(pool.starmap(sum_of_squares, split_range(n, parts)))


def _cell_partial_sum(start, stop):
    return sum(i * i for i in range(start, stop))


def sum_with_a_cell_worker(n, parts):
    """Wrong (12.20): a worker defined in a cell, in a spawn pool: the pool hangs."""
    worker = as_if_from_a_cell(_cell_partial_sum, "partial_sum")
    with mp.get_context("spawn").Pool(parts) as pool:
        return sum(pool.starmap_async(worker, split_range(n, parts)).get(timeout=30))


def sum_missing_the_remainder(n, parts):
    """Wrong: chunks of n // parts numbers leave the last few out."""
    size = n // parts
    chunks = [(i * size, (i + 1) * size) for i in range(parts)]
    with mp.get_context("spawn").Pool(parts) as pool:
        return sum(pool.starmap(sum_of_squares, chunks))


def sum_with_overlapping_chunks(n, parts):
    """Wrong: every chunk also takes the first number of the next one."""
    chunks = [(a, min(b + 1, n)) for a, b in split_range(n, parts)]
    with mp.get_context("spawn").Pool(parts) as pool:
        return sum(pool.starmap(sum_of_squares, chunks))


def sum_in_one_process(n, parts):
    """Wrong: one process does all the work."""
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(sum_of_squares, (0, n))


def partial_sums_not_added(n, parts):
    """Wrong: returns the list of partial sums."""
    with mp.get_context("spawn").Pool(parts) as pool:
        return pool.starmap(sum_of_squares, split_range(n, parts))


# --- exercise 3: answers {platform: default start method} -------------------------------------


UNANSWERED = dict.fromkeys(ex.DEFAULTS)
IN_OTHER_WORDS = {
    "Windows, Python 3.13": " Spawn",
    "macOS, Python 3.13": "SPAWN",
    "Linux, Python 3.14": "forkserver ",
    "Linux, Python 3.13": "Fork",
}
WITH_A_NOTE = {**ex.DEFAULTS, "FreeBSD, Python 3.13": "fork (my guess)"}
FORK_ON_MACOS = {**ex.DEFAULTS, "macOS, Python 3.13": "fork"}
FORK_ON_314 = {**ex.DEFAULTS, "Linux, Python 3.14": "fork"}
FORKSERVER_ON_WINDOWS = {**ex.DEFAULTS, "Windows, Python 3.13": "forkserver"}
MISSPELT = {**ex.DEFAULTS, "Linux, Python 3.13": "frok"}
HALF_DONE = {**ex.DEFAULTS, "macOS, Python 3.13": None, "Windows, Python 3.13": None}
KEY_DROPPED = {k: v for k, v in ex.DEFAULTS.items() if not k.startswith("Windows")}

bring_back, parallel_sum, defaults = (
    ex.check_bring_back,
    ex.check_parallel_sum_of_squares,
    ex.check_defaults,
)

CASES = [
    # exercise 1
    Case("bring_back.solution", bring_back, Solution(NB, "squares_from_child"), "correct",
         r"a child ran square_all and exited with code 0, you joined it, .*came out of the queue"),
    Case("bring_back.spawn_and_join", bring_back, squares_spawn_and_join, "correct",
         r"came out of the queue"),
    Case("bring_back.simple_queue", bring_back, squares_through_a_simple_queue, "correct",
         r"came out of the queue"),
    Case("bring_back.placeholder", bring_back, placeholder, "not attempted",
         r"replace `raise NotImplementedError`"),
    Case("bring_back.in_place_in_child", bring_back, squares_in_place_in_a_child, "not yet",
         r"returned the numbers unchanged\. The child squared its own copy"),
    Case("bring_back.forgotten_return", bring_back, squares_forgotten, "not yet",
         r"returned None\. Return the list you received from the queue"),
    Case("bring_back.no_child", bring_back, squares_without_a_child, "not yet",
         r"started no process"),
    Case("bring_back.no_join", bring_back, squares_without_join, "not yet",
         r"did not join 1 process it started"),
    Case("bring_back.never_read", bring_back, squares_never_read, "not yet",
         r"not the list it took from the queue"),
    # terminate() lands after the child has ended now and then on a busy machine; the
    # checker then rightly says Correct (the child exited 0): up to three runs
    Case("bring_back.terminated", bring_back, squares_child_terminated, "not yet",
         r"ended with exit code -15: it was stopped by a signal", tries=3),
    Case("bring_back.cell_worker", bring_back, squares_with_a_cell_worker, "not yet",
         r"ran cell_square_all, a function defined in a notebook cell, in a (spawn|forkserver) "
         r"child", methods=SPAWN_ONLY),
    Case("bring_back.cell_worker_fork", bring_back, squares_with_a_cell_worker, "not yet",
         r"none of them ran square_all", methods=frozenset({"fork"})),
    # exercise 2
    Case("parallel_sum.solution", parallel_sum, Solution(NB, "parallel_sum_of_squares"),
         "correct", r"each computed by as many spawn processes as parts, running sum_of_squares"),
    Case("parallel_sum.executor", parallel_sum, sum_with_an_executor, "correct",
         r"spawn processes"),
    Case("parallel_sum.apply_async", parallel_sum, sum_with_apply_async, "correct",
         r"spawn processes"),
    Case("parallel_sum.placeholder", parallel_sum, placeholder, "not attempted",
         r"replace `raise NotImplementedError`"),
    Case("parallel_sum.serial", parallel_sum, sum_serially, "not yet", r"started no process"),
    Case("parallel_sum.fork_pool", parallel_sum, sum_in_a_fork_pool, "not yet",
         r"started its processes with fork; the exercise asks for spawn"),
    Case("parallel_sum.default_pool", parallel_sum, sum_in_the_default_pool, "not yet",
         r"started its processes with (fork|forkserver); the exercise asks for spawn",
         methods=NOT_SPAWN),
    Case("parallel_sum.cell_worker", parallel_sum, sum_with_a_cell_worker, "not yet",
         r"ran partial_sum, a function defined in a notebook cell, in a spawn child.*"
         r"Import the worker from a module"),
    Case("parallel_sum.missing_remainder", parallel_sum, sum_missing_the_remainder, "not yet",
         r"parallel_sum_of_squares\(1001, 3\) returned \d+, less than \d+: some numbers were "
         r"left out"),
    Case("parallel_sum.overlapping", parallel_sum, sum_with_overlapping_chunks, "not yet",
         r"more than \d+: some numbers were counted twice"),
    Case("parallel_sum.one_process", parallel_sum, sum_in_one_process, "not yet",
         r"started 1 process; the exercise asks for 2"),
    Case("parallel_sum.list_of_sums", parallel_sum, partial_sums_not_added, "not yet",
         r"returned \[.*\]; expected a whole number"),
    # exercise 3
    Case("defaults.solution", defaults, Solution(NB, "answers"), "correct",
         r"Python 3\.14 changed the Linux default to forkserver"),
    Case("defaults.other_words", defaults, IN_OTHER_WORDS, "correct", r"spawn by default since"),
    Case("defaults.with_a_note", defaults, WITH_A_NOTE, "correct", r"no fork at all"),
    Case("defaults.placeholder", defaults, UNANSWERED, "not attempted", r"replace each None"),
    Case("defaults.not_a_dict", defaults, ["fork", "forkserver", "spawn", "spawn"], "not yet",
         r"answers must be a dict, got list"),
    Case("defaults.fork_on_macos", defaults, FORK_ON_MACOS, "not yet",
         r"'macOS, Python 3\.13': fork exists on macOS, but it has not been the default"),
    Case("defaults.fork_on_3_14", defaults, FORK_ON_314, "not yet",
         r"'Linux, Python 3\.14': Python 3\.14 changed the default on Linux"),
    Case("defaults.forkserver_on_windows", defaults, FORKSERVER_ON_WINDOWS, "not yet",
         r"'Windows, Python 3\.13': Windows cannot fork at all"),
    Case("defaults.misspelt", defaults, MISSPELT, "not yet", r"'frok' is not a start method"),
    Case("defaults.half_done", defaults, HALF_DONE, "not yet",
         r"2 answers are not right yet\. Look again at 'macOS, Python 3\.13': it is still None"),
    Case("defaults.key_dropped", defaults, KEY_DROPPED, "not yet",
         r"the key 'Windows, Python 3\.13' is missing"),
]  # fmt: skip
