"""Contract rows of notebook 04's checkers (ipc_helpers/exercises/managers.py).

Each checker: the notebook's solution and two other correct answers a learner
might write → Correct; the mistakes named in issues 12/21 and the syllabus →
Not yet with the words that name them; the placeholder → Not attempted.
Exercises 1 and 2 run the answer in four threads with watched proxies, so
every verdict below is deterministic (it does not depend on a race losing an
update this time).
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections import Counter
from multiprocessing.managers import State

from ipc_helpers import managers
from ipc_helpers.cleanup import stop
from ipc_helpers.exercises import managers as ex
from tests.unit.checker_contract import Case, Solution, placeholder

NB = "04_manager"


# --- Exercise 1: add_visit -------------------------------------------------------


def add_visit_by_hand(d, lock):
    lock.acquire(timeout=10)
    try:
        d["count"] = d.get("count", 0) + 1
    finally:
        lock.release()


def add_visit_in_three_calls(d, lock):
    with lock:
        if "count" not in d:
            d["count"] = 0
        d["count"] += 1


def the_articles_line(d, lock):
    d["count"] = d.get("count", 0) + 1


MODULE_LOCK = threading.Lock()


def add_visit_with_a_module_lock(d, lock):  # issue 12.23: ignores `lock`
    with MODULE_LOCK:
        d["count"] = d.get("count", 0) + 1


_made: list = []
_made_lock = threading.Lock()


def _a_manager():
    """The manager a learner's notebook has at hand (started on first use, by the attempt)."""
    with _made_lock:
        if not _made or _made[-1]._state.value != State.STARTED:
            _made.append(mp.Manager())
        return _made[-1]


def add_visit_with_a_new_manager_lock(d, lock):  # issue 12.5: a new lock at every call
    with _a_manager().Lock():
        d["count"] = d.get("count", 0) + 1


def lock_only_the_write(d, lock):
    current = d.get("count", 0)
    with lock:
        d["count"] = current + 1


def lock_the_read_and_the_write_apart(d, lock):
    with lock:
        current = d.get("count", 0)
    with lock:
        d["count"] = current + 1


def never_releases(d, lock):
    lock.acquire()
    d["count"] = d.get("count", 0) + 1


def adds_two(d, lock):
    with lock:
        d["count"] = d.get("count", 0) + 2


def counts_in_words(d, lock):
    with lock:
        d["count"] = "many"


# --- Exercise 2: merge_counts ------------------------------------------------------


def merge_with_a_counter(shared, lock, local):
    with lock:
        merged = Counter(shared.copy())
        merged.update(local)
        shared.update(merged)


def merge_by_hand(shared, lock, local):
    lock.acquire(timeout=10)
    try:
        current = dict(shared.items())
        shared.update({w: current.get(w, 0) + n for w, n in local.items()})
    finally:
        lock.release()


def merge_with_a_lock_per_word(shared, lock, local):
    for word, n in local.items():
        with lock:
            shared[word] = shared.get(word, 0) + n


def merge_word_by_word(shared, lock, local):
    with lock:
        for word, n in local.items():
            shared[word] = shared.get(word, 0) + n


def merge_without_the_lock(shared, lock, local):
    merged = shared.copy()
    for word, n in local.items():
        merged[word] = merged.get(word, 0) + n
    shared.update(merged)


def merge_reading_before_the_lock(shared, lock, local):
    merged = shared.copy()
    for word, n in local.items():
        merged[word] = merged.get(word, 0) + n
    with lock:
        shared.update(merged)


def merge_by_overwriting(shared, lock, local):
    with lock:
        shared.update(local)


def merge_words_as_text(shared, lock, local):  # issue 21.3: the checker raised TypeError here
    with lock:
        shared.update({"the": "x"})


# --- Exercise 3: run_board ---------------------------------------------------------


def run_board_in_a_with_block(tasks, authkey):
    with managers.start_board_server(authkey) as server:
        board = server.get_board()
        for task in tasks:
            board.post(task)
        status, detail = managers.run_board_client(server.address, authkey, timeout=10)
        if status != "done":
            raise RuntimeError(detail)
        return board.results()


def run_board_with_my_own_client(tasks, authkey):
    server = managers.start_board_server(authkey)
    try:
        board = server.get_board()
        for task in tasks:
            board.post(task)
        receive, send = mp.Pipe(duplex=False)
        client = mp.Process(target=managers.board_client, args=(server.address, authkey, send))
        client.start()
        send.close()
        report = receive.recv() if receive.poll(10) else ("error", "no report")
        stop([client], timeout=10)
        if report[0] != "done":
            raise RuntimeError(report[1])
        return board.results()
    finally:
        server.shutdown()


def run_board_without_a_server(tasks, authkey):  # issue 21.1: a dict comprehension
    return {task: len(task.split()) for task in tasks}


def run_board_without_a_client(tasks, authkey):
    server = managers.start_board_server(authkey)
    try:
        board = server.get_board()
        for task in tasks:
            board.post(task)
        return {task: len(task.split()) for task in tasks}
    finally:
        server.shutdown()


def run_board_with_the_wrong_key(tasks, authkey):
    server = managers.start_board_server(authkey)
    try:
        board = server.get_board()
        for task in tasks:
            board.post(task)
        managers.run_board_client(server.address, b"a guess", timeout=10)
        return {task: len(task.split()) for task in tasks}
    finally:
        server.shutdown()


def run_board_before_the_client(tasks, authkey):
    server = managers.start_board_server(authkey)
    try:
        board = server.get_board()
        for task in tasks:
            board.post(task)
        return board.results()  # the client never ran
    finally:
        server.shutdown()


def run_board_and_forget_the_server(tasks, authkey):
    server = managers.start_board_server(authkey)
    board = server.get_board()
    for task in tasks:
        board.post(task)
    managers.run_board_client(server.address, authkey, timeout=10)
    return board.results()


def run_board_with_a_str_key(tasks, authkey):
    return run_board_in_a_with_block(tasks, authkey.decode())


def run_board_returning_the_tasks(tasks, authkey):
    return tasks


# --- the table -----------------------------------------------------------------------

VISIT, MERGE, BOARD = ex.check_add_visit, ex.check_merge_counts, ex.check_run_board

CASES = [
    # Exercise 1
    Case("add_visit.solution", VISIT, Solution(NB, "add_visit"), "correct", r"took the lock once"),
    Case("add_visit.by_hand", VISIT, add_visit_by_hand, "correct", r"count is exactly 200"),
    Case("add_visit.three_calls", VISIT, add_visit_in_three_calls, "correct", r"while holding"),
    Case("add_visit.placeholder", VISIT, placeholder, "not attempted", r"NotImplementedError"),
    Case("add_visit.no_lock", VISIT, the_articles_line, "not yet", r"never took the lock"),
    Case(
        "add_visit.module_lock",
        VISIT,
        add_visit_with_a_module_lock,
        "not yet",
        r"never took the lock it was given.*module-level lock",
    ),
    Case(
        "add_visit.new_manager_lock",
        VISIT,
        add_visit_with_a_new_manager_lock,
        "not yet",
        r"never took the lock it was given.*with manager\.Lock\(\):",
    ),
    Case("add_visit.write_only", VISIT, lock_only_the_write, "not yet", r"did not hold the lock"),
    Case(
        "add_visit.two_holds",
        VISIT,
        lock_the_read_and_the_write_apart,
        "not yet",
        r"took the lock 2 times in one call",
    ),
    Case("add_visit.never_releases", VISIT, never_releases, "not yet", r"never released"),
    Case("add_visit.adds_two", VISIT, adds_two, "not yet", r"add exactly one per call"),
    Case("add_visit.text", VISIT, counts_in_words, "not yet", r"should hold a number.*'many'"),
    Case("add_visit.not_a_function", VISIT, 42, "not yet", r"pass your function itself"),
    # Exercise 2
    Case("merge.solution", MERGE, Solution(NB, "merge_counts"), "correct", r"no count was lost"),
    Case("merge.counter", MERGE, merge_with_a_counter, "correct", r"took the lock once"),
    Case("merge.by_hand", MERGE, merge_by_hand, "correct", r"no count was lost"),
    Case("merge.placeholder", MERGE, placeholder, "not attempted", r"NotImplementedError"),
    Case(
        "merge.lock_per_word",
        MERGE,
        merge_with_a_lock_per_word,
        "not yet",
        r"took the lock \d+ times in one call",
    ),
    Case(
        "merge.word_by_word",
        MERGE,
        merge_word_by_word,
        "not yet",
        r"calls on the shared dict, one or more per word",
    ),
    Case("merge.no_lock", MERGE, merge_without_the_lock, "not yet", r"never took the lock"),
    Case(
        "merge.read_before_lock",
        MERGE,
        merge_reading_before_the_lock,
        "not yet",
        r"copy\(\)\) happened while merge_counts did not hold the lock",
    ),
    Case("merge.overwrites", MERGE, merge_by_overwriting, "not yet", r"instead of replacing it"),
    Case("merge.text", MERGE, merge_words_as_text, "not yet", r"'the' maps to 'x'"),
    Case("merge.not_a_function", MERGE, None, "not yet", r"pass your function itself"),
    # Exercise 3
    Case("board.solution", BOARD, Solution(NB, "run_board"), "correct", r"connected with the key"),
    Case("board.with_block", BOARD, run_board_in_a_with_block, "correct", r"did all 5 tasks"),
    Case("board.own_client", BOARD, run_board_with_my_own_client, "correct", r"ran board_client"),
    Case("board.placeholder", BOARD, placeholder, "not attempted", r"NotImplementedError"),
    Case(
        "board.no_server",
        BOARD,
        run_board_without_a_server,
        "not yet",
        r"started no BoardManager server",
    ),
    Case("board.no_client", BOARD, run_board_without_a_client, "not yet", r"no client process"),
    Case("board.wrong_key", BOARD, run_board_with_the_wrong_key, "not yet", r"exit code 1"),
    Case(
        "board.before_client",
        BOARD,
        run_board_before_the_client,
        "not yet",
        r"5 of 5 tasks have no result",
    ),
    Case(
        "board.no_shutdown",
        BOARD,
        run_board_and_forget_the_server,
        "not yet",
        r"still running after run_board returned",
    ),
    Case("board.str_key", BOARD, run_board_with_a_str_key, "not yet", r"authkey must be bytes"),
    Case("board.returns_tasks", BOARD, run_board_returning_the_tasks, "not yet", r"not list"),
    Case("board.not_a_function", BOARD, "run_board", "not yet", r"pass your function itself"),
]
