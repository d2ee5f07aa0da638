"""Unit tests of the checkers of notebook 04 (ipc_helpers.exercises.managers)."""

from __future__ import annotations

import multiprocessing as mp

from ipc_helpers.exercises import managers as ex
from ipc_helpers.managers import run_board_client, start_board_server


def placeholder(*args):
    raise NotImplementedError


# --- exercise 1: add_visit ----------------------------------------------------


def test_add_visit_reference_solution_is_correct():
    feedback = ex.check_add_visit(ex.add_visit)
    assert feedback.ok, feedback
    assert str(feedback).startswith("Correct! 200 visits from 4 callers")


def test_add_visit_placeholder_is_not_attempted():
    assert str(ex.check_add_visit(placeholder)).startswith("Not attempted yet:")


def the_articles_line(d, lock):
    d["count"] = d.get("count", 0) + 1


def test_add_visit_without_the_lock_loses_visits():
    feedback = ex.check_add_visit(the_articles_line)
    assert not feedback.ok
    assert "were lost" in str(feedback) and "two round trips" in str(feedback)


def lock_only_the_write(d, lock):
    current = d.get("count", 0)
    with lock:
        d["count"] = current + 1


def test_add_visit_lock_around_the_write_only_still_loses():
    assert "were lost" in str(ex.check_add_visit(lock_only_the_write))


def never_releases(d, lock):
    lock.acquire()
    d["count"] = d.get("count", 0) + 1


def test_add_visit_that_never_releases_times_out_in_plain_words():
    feedback = ex.check_add_visit(never_releases, calls=2, timeout=1)
    assert str(feedback).startswith("Not yet: add_visit did not finish within 1 s")


def adds_two(d, lock):
    with lock:
        d["count"] = d.get("count", 0) + 2


def test_add_visit_counting_too_much():
    assert "more than the 200 visits" in str(ex.check_add_visit(adds_two))


def test_checkers_reject_bad_settings_in_plain_words():
    assert "calls must be at least 1" in str(ex.check_add_visit(ex.add_visit, calls=0))
    assert "timeout" in str(ex.check_merge_counts(ex.merge_counts, timeout=-1))
    assert "timeout" in str(ex.check_run_board(ex.run_board, timeout="soon"))


def test_add_visit_garbage():
    assert str(ex.check_add_visit(42)).startswith("Not yet: pass your function")
    feedback = ex.check_add_visit(lambda d, lock: d.__setitem__("count", "many"))
    assert str(feedback).startswith("Not yet: d['count'] should hold a number")


# --- exercise 2: merge_counts -------------------------------------------------


def test_merge_counts_reference_solution_is_correct():
    feedback = ex.check_merge_counts(ex.merge_counts)
    assert feedback.ok, feedback


def test_merge_counts_placeholder_is_not_attempted():
    assert str(ex.check_merge_counts(placeholder)).startswith("Not attempted yet:")


def lock_per_word(shared, lock, local):
    for word, n in local.items():
        with lock:
            shared[word] = shared.get(word, 0) + n


def test_merge_counts_with_a_lock_per_word():
    feedback = ex.check_merge_counts(lock_per_word)
    assert not feedback.ok
    assert "Take it once per merge" in str(feedback)


def one_lock_many_round_trips(shared, lock, local):
    with lock:
        for word, n in local.items():
            shared[word] = shared.get(word, 0) + n


def test_merge_counts_with_a_round_trip_per_word():
    feedback = ex.check_merge_counts(one_lock_many_round_trips)
    assert not feedback.ok
    assert "calls on the shared dict" in str(feedback)


def no_lock(shared, lock, local):
    merged = shared.copy()
    for word, n in local.items():
        merged[word] = merged.get(word, 0) + n
    shared.update(merged)


def test_merge_counts_without_a_lock():
    feedback = ex.check_merge_counts(no_lock)
    assert not feedback.ok
    text = str(feedback)
    assert "were lost" in text or "no merge took the lock" in text


def overwrites(shared, lock, local):
    with lock:
        shared.update(local)


def test_merge_counts_that_overwrites():
    feedback = ex.check_merge_counts(overwrites)
    assert not feedback.ok
    assert "were lost" in str(feedback)


def test_merge_counts_garbage():
    assert str(ex.check_merge_counts(None)).startswith("Not yet: pass your function")
    feedback = ex.check_merge_counts(lambda shared, lock, local: shared.update({"the": "x"}))
    assert str(feedback).startswith("Not yet:")


# --- exercise 3: run_board ----------------------------------------------------


def test_run_board_reference_solution_is_correct():
    feedback = ex.check_run_board(ex.run_board)
    assert feedback.ok, feedback
    assert mp.active_children() == []


def test_run_board_placeholder_is_not_attempted():
    assert str(ex.check_run_board(placeholder)).startswith("Not attempted yet:")


def does_not_wait_for_the_client(tasks, authkey):
    server = start_board_server(authkey)
    try:
        board = server.get_board()
        for task in tasks:
            board.post(task)
        return board.results()  # the client was never run
    finally:
        server.shutdown()


def test_run_board_without_the_client():
    feedback = ex.check_run_board(does_not_wait_for_the_client)
    assert "5 of 5 tasks have no result" in str(feedback)


KEPT = []


def forgets_shutdown(tasks, authkey):
    server = start_board_server(authkey)
    KEPT.append(server)  # a reference kept somewhere: the server lives on
    board = server.get_board()
    for task in tasks:
        board.post(task)
    run_board_client(server.address, authkey, timeout=10)
    return board.results()


def test_run_board_that_leaves_the_server_running():
    try:
        feedback = ex.check_run_board(forgets_shutdown)
        assert not feedback.ok
        assert "still running after run_board returned" in str(feedback)
    finally:
        for server in KEPT:
            server.shutdown()
    assert mp.active_children() == []


def str_key(tasks, authkey):
    return ex.run_board(tasks, authkey.decode())


def test_run_board_with_a_str_key_gets_the_clear_message():
    feedback = str(ex.check_run_board(str_key))
    assert feedback.startswith("Not yet: your code raised TypeError: authkey must be bytes")


def test_run_board_garbage():
    assert "not list" in str(ex.check_run_board(lambda tasks, key: tasks))
    assert str(ex.check_run_board("run_board")).startswith("Not yet: pass your function")
    wrong = ex.check_run_board(lambda tasks, key: {t: 0 for t in tasks})
    assert "not the right one" in str(wrong)
