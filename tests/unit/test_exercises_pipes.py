"""Exercise checkers of notebook 02: solutions pass, wrong answers get plain words."""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.connection import wait

import pytest

from ipc_helpers import pipes
from ipc_helpers.cleanup import stop
from ipc_helpers.exercises import pipes as ex
from ipc_helpers.exercises.feedback import NOT_ATTEMPTED, NOT_YET


def placeholder(*args):
    raise NotImplementedError


@pytest.fixture(autouse=True)
def no_children_left():
    yield
    assert not mp.active_children()


@pytest.fixture
def short_attempts(monkeypatch):
    """Give a hanging attempt 3 s instead of 15, to keep the tests quick."""
    monkeypatch.setattr(ex, "ATTEMPT_TIMEOUT", 3.0)


# --- exercise 1 -----------------------------------------------------------------------


def test_until_eof_solution_is_correct():
    feedback = ex.check_until_eof(ex.collect_until_eof_solution)
    assert feedback.ok, feedback
    assert "EOFError ended the loop" in str(feedback)


def test_until_eof_placeholder_is_not_attempted():
    assert ex.check_until_eof(placeholder).status == NOT_ATTEMPTED


def keeps_its_copy(ctx, items, timeout):
    """Forgets to close the parent's copy of the child's end."""
    mine, theirs = ctx.Pipe()
    child = ctx.Process(target=pipes.send_after, args=(theirs, items))
    child.start()
    received, ended = [], "timeout"
    while mine.poll(0.5):
        try:
            received.append(mine.recv())
        except EOFError:
            ended = "EOFError"
            break
    stop([child])
    mine.close()
    theirs.close()
    return received, ended


def test_until_eof_without_closing_gets_the_hint():
    feedback = ex.check_until_eof(keeps_its_copy)
    assert feedback.status == NOT_YET
    assert "the stream never ended" in feedback.message
    assert "right after start()" in feedback.message


def only_items(ctx, items, timeout):
    return ex.collect_until_eof_solution(ctx, items, timeout)[0]


def test_until_eof_wrong_shape():
    feedback = ex.check_until_eof(only_items)
    assert feedback.status == NOT_YET
    assert "a pair (items, how_it_ended)" in feedback.message


def leaves_child_running(ctx, items, timeout):
    child = ctx.Process(target=pipes.send_after, args=(ctx.Pipe()[1], [], 0.0, 5.0))
    child.start()
    return list(items), "EOFError"


def test_until_eof_child_left_running():
    feedback = ex.check_until_eof(leaves_child_running)
    assert feedback.status == NOT_YET
    assert "still running" in feedback.message


def test_until_eof_garbage():
    feedback = ex.check_until_eof(42)
    assert feedback.status == NOT_YET
    assert "TypeError" in feedback.message


# --- exercise 2 -----------------------------------------------------------------------


def test_ping_pong_solution_is_correct():
    feedback = ex.check_ping_pong(ex.ping_pong_solution)
    assert feedback.ok, feedback


def test_ping_pong_placeholder_is_not_attempted():
    assert ex.check_ping_pong(placeholder).status == NOT_ATTEMPTED


def no_timeout(conn, n, timeout):
    replies = []
    for i in range(n):
        conn.send(("ping", i))
        replies.append(conn.recv())  # waits for ever once the server is silent
    return replies


def test_ping_pong_without_poll_is_stopped_with_a_hint(short_attempts):
    feedback = ex.check_ping_pong(no_timeout)
    assert feedback.status == NOT_YET
    assert "went silent after 2 pings" in feedback.message
    assert "poll(timeout)" in feedback.message


def numbers_only(conn, n, timeout):
    return [reply[1] for reply in ex.ping_pong_solution(conn, n, timeout)]


def test_ping_pong_wrong_shape():
    feedback = ex.check_ping_pong(numbers_only)
    assert feedback.status == NOT_YET
    assert "exactly as recv() gave them" in feedback.message


def test_ping_pong_garbage():
    feedback = ex.check_ping_pong("not a function")
    assert feedback.status == NOT_YET


# --- exercise 3 -----------------------------------------------------------------------


@pytest.fixture
def short_hold(monkeypatch):
    """A silent sender that holds its end 2.5 s instead of 6 s."""
    monkeypatch.setattr(ex, "FAN_IN_CASES", (ex.FAN_IN_CASES[0], ((0.0, 0.0), (0.1, 2.5))))


def test_fan_in_solution_is_correct():
    feedback = ex.check_fan_in(ex.collect_solution)
    assert feedback.ok, feedback


def test_fan_in_placeholder_is_not_attempted():
    assert ex.check_fan_in(placeholder).status == NOT_ATTEMPTED


def ignores_eof(conns, timeout):
    received = []
    while True:
        ready = wait(conns, timeout)
        if not ready:
            return received
        for conn in ready:
            received.append(conn.recv())  # raises EOFError once a sender is done


def test_fan_in_eof_not_handled():
    feedback = ex.check_fan_in(ignores_eof)
    assert feedback.status == NOT_YET
    assert "EOFError" in feedback.message and "remove that connection" in feedback.message


def never_gives_up(conns, timeout):
    received = []
    pending = list(conns)
    while pending:
        for conn in wait(pending, 30):  # ignores `timeout`
            try:
                received.append(conn.recv())
            except EOFError:
                pending.remove(conn)
    return received


def test_fan_in_waiting_for_a_silent_sender(short_hold):
    feedback = ex.check_fan_in(never_gives_up)
    assert feedback.status == NOT_YET
    assert "collect waited for it" in feedback.message


def first_pipe_only(conns, timeout):
    return ex.collect_solution(conns[:1], timeout)


def test_fan_in_missing_messages():
    feedback = ex.check_fan_in(first_pipe_only)
    assert feedback.status == NOT_YET
    assert "of the 9 messages are missing" in feedback.message


def test_fan_in_garbage():
    feedback = ex.check_fan_in(None)
    assert feedback.status == NOT_YET
