"""Exercise checkers of notebook 02, *Pipe*, and their reference solutions.

1. ``check_until_eof(collect_until_eof)``: read everything a child sends,
   ending on ``EOFError`` (no sentinel), under ``fork`` *and* ``spawn``.
2. ``check_ping_pong(ping_pong)``: a conversation with an echo server in
   which every wait for a reply has a timeout.
3. ``check_fan_in(collect)``: read several pipes at once with
   ``multiprocessing.connection.wait`` until each one is at end-of-file.

Each checker runs the learner's function with a time limit, stops any process
it left running, and answers in plain words (see ``feedback``).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import threading
import time
from multiprocessing.connection import wait
from typing import Any, Callable

from ..cleanup import stop
from ..pipes import echo_server, send_after
from .feedback import (
    Feedback,
    child_pids,
    correct,
    first_problem,
    leftover_processes,
    not_yet,
    plain_checker,
    run_attempt,
)

#: Seconds a learner's function may run before the checker stops it.
ATTEMPT_TIMEOUT = 15.0


# --- exercise 1: read until end-of-file ------------------------------------------------

#: The items the child sends in exercise 1.
ITEMS = ["one", "two", "three", "four"]

#: The start methods exercise 1 is checked with (those this platform has).
EOF_METHODS = tuple(m for m in ("fork", "spawn") if m in mp.get_all_start_methods())


def _judge_until_eof(method: str, result: Any) -> Feedback | None:
    expected = (ITEMS, "EOFError")
    if not (isinstance(result, tuple) and len(result) == 2):
        return not_yet(
            "collect_until_eof should return a pair (items, how_it_ended), like "
            f"{expected!r}, but under {method!r} it returned {result!r}."
        )
    items, ended = result
    if ended == "timeout":
        return not_yet(
            f"under {method!r} the stream never ended: recv() did not raise EOFError. The "
            "parent still holds its copy of the child's end. Close it right after "
            "start(): then, once the child closes its copy, no copy is left."
        )
    if ended != "EOFError":
        return not_yet(
            f'the second value should be "EOFError" or "timeout", but under {method!r} it '
            f"was {ended!r}."
        )
    if list(items) != ITEMS:
        return not_yet(
            f"under {method!r} you collected {items!r}, but the child sent {ITEMS!r}. Append "
            "each recv() result, in order, until EOFError."
        )
    return None


@plain_checker
def check_until_eof(collect_until_eof: Callable[..., Any]) -> Feedback:
    """Check ``collect_until_eof(ctx, items, timeout)`` under ``fork`` and ``spawn``.

    Correct when it returns ``(items, "EOFError")`` under both start methods
    and joined its child before returning.
    """
    for method in EOF_METHODS:
        before = child_pids()
        attempt = run_attempt(
            collect_until_eof, mp.get_context(method), list(ITEMS), 5.0, timeout=ATTEMPT_TIMEOUT
        )
        problem = first_problem(attempt, what="collect_until_eof", timeout=ATTEMPT_TIMEOUT)
        if problem is None:
            problem = _judge_until_eof(method, attempt.result)
        if problem is None:
            problem = leftover_processes(before, "collect_until_eof")
        if problem is not None:
            return problem
    methods = " and ".join(repr(m) for m in EOF_METHODS)
    return correct(
        f"under {methods} you read all {len(ITEMS)} items and then EOFError ended the loop: "
        "once the child closed its end, no copy of it was left open."
    )


def collect_until_eof_solution(ctx: Any, items: list, timeout: float = 2.0) -> tuple:
    """Reference solution of exercise 1."""
    mine, theirs = ctx.Pipe()
    child = ctx.Process(target=send_after, args=(theirs, items))
    child.start()
    theirs.close()  # the parent's copy of the child's end: without this, no EOF
    received, ended = [], "timeout"
    while mine.poll(timeout):  # True for a message and for end-of-file
        try:
            received.append(mine.recv())
        except EOFError:
            ended = "EOFError"
            break
    mine.close()
    stop([child], timeout=5.0)
    return received, ended


# --- exercise 2: ping-pong with timeouts ------------------------------------------------

#: (pings to send, replies the echo server gives before it goes silent, timeout per reply)
PING_CASES = ((5, 1000, 2.0), (5, 2, 0.3))


def _expected_pongs(n: int, answered: int) -> list:
    return [("pong", i) for i in range(min(n, answered))]


def _play_ping_pong(ping_pong: Callable[..., Any], n: int, answered: int, timeout: float) -> tuple:
    """Run ``ping_pong`` against an echo server; return (result, seconds, error)."""
    mine, theirs = mp.Pipe()
    server = mp.Process(target=echo_server, args=(theirs, answered, 10.0))
    server.start()
    theirs.close()
    mine.send(("hello",))  # wait until the server answers, however slow its start
    if not mine.poll(10.0) or mine.recv() != ("hello",):
        raise RuntimeError("the echo server did not start")
    started = time.monotonic()
    try:
        attempt = run_attempt(ping_pong, mine, n, timeout, timeout=ATTEMPT_TIMEOUT)
    finally:
        elapsed = time.monotonic() - started
        with contextlib.suppress(OSError):  # the learner closed it, or the server is gone
            mine.send(None)
        mine.close()
        stop([server], timeout=2.0)
    return attempt, elapsed


def _judge_ping_pong(
    n: int, answered: int, timeout: float, result: Any, elapsed: float
) -> Feedback | None:
    expected = _expected_pongs(n, answered)
    silent = answered < n
    if not isinstance(result, list):
        return not_yet(
            f"ping_pong should return a list of replies, but it returned {type(result).__name__}."
        )
    if result == expected:
        if silent and elapsed > timeout * (n - answered) + 3.0:
            return not_yet(
                "the replies were right, but after the server went silent ping_pong kept "
                "waiting. Stop at the first reply that does not come within timeout."
            )
        return None
    if silent and len(result) > len(expected) and result[: len(expected)] == expected:
        return not_yet(
            f"the server answered only {answered} pings, but your list holds {len(result)} "
            "entries: when poll(timeout) returns False, stop and return what you have."
        )
    if result and not isinstance(result[0], tuple):
        return not_yet(
            f"return the replies exactly as recv() gave them, like ('pong', 0); your first "
            f"entry was {result[0]!r}."
        )
    return not_yet(
        f"with {n} pings and a server that answers "
        f"{'all of them' if not silent else f'only the first {answered}'}, "
        f"the replies should be {expected}, but ping_pong returned {result}."
    )


@plain_checker
def check_ping_pong(ping_pong: Callable[..., Any]) -> Feedback:
    """Check ``ping_pong(conn, n, timeout)`` against an echo server.

    Once with a server that answers every ping, once with one that goes
    silent after two: correct when the replies are returned in order and the
    function gives up at the first missing reply instead of hanging.
    """
    for n, answered, timeout in PING_CASES:
        attempt, elapsed = _play_ping_pong(ping_pong, n, answered, timeout)
        if attempt.timed_out:
            server_did = (
                "answered every ping" if answered >= n else f"went silent after {answered} pings"
            )
            return not_yet(
                f"ping_pong did not return within {ATTEMPT_TIMEOUT:g} s when the server "
                f"{server_did}. "
                "A bare recv() waits forever: call poll(timeout) first, and stop when it "
                "returns False."
            )
        problem = first_problem(attempt, what="ping_pong", timeout=ATTEMPT_TIMEOUT)
        if problem is None:
            problem = _judge_ping_pong(n, answered, timeout, attempt.result, elapsed)
        if problem is not None:
            return problem
    return correct(
        "every ping got its pong in order, and when the server went silent after two pings "
        "your function stopped waiting after one timeout and returned the two replies it had."
    )


def ping_pong_solution(conn: Any, n: int, timeout: float) -> list:
    """Reference solution of exercise 2."""
    replies = []
    for i in range(n):
        conn.send(("ping", i))
        if not conn.poll(timeout):
            break  # the server is silent: give up instead of hanging
        replies.append(conn.recv())
    return replies


# --- exercise 3: fan-in with connection.wait -------------------------------------------

#: (delay, hold) for each sender of a case: it waits ``delay`` s, sends three
#: messages, then keeps its end open ``hold`` s more before closing it.
FAN_IN_CASES = (
    ((0.4, 0.0), (0.0, 0.0), (0.2, 0.0)),
    ((0.0, 0.0), (0.1, 6.0)),
)

#: The ``timeout`` the learner's ``collect`` is called with.
FAN_IN_TIMEOUT = 1.0


def _messages(source: int) -> list:
    return [(source, j) for j in range(3)]


def _run_fan_in(collect: Callable[..., Any], senders: tuple) -> tuple:
    """Start one ``send_after`` child per sender, each with its own pipe; run ``collect``."""
    readers, procs = [], []
    go = mp.Barrier(len(senders) + 1)  # the clock starts when every sender is up
    for source, (delay, hold) in enumerate(senders):
        recv_end, send_end = mp.Pipe(duplex=False)
        proc = mp.Process(target=send_after, args=(send_end, _messages(source), delay, hold, go))
        proc.start()
        send_end.close()  # only the child may hold the send end: EOF comes when it closes
        readers.append(recv_end)
        procs.append(proc)
    try:
        go.wait(10.0)
    except threading.BrokenBarrierError:
        stop(procs, timeout=0.3)
        raise RuntimeError("the senders did not start within 10 s") from None
    started = time.monotonic()
    try:
        attempt = run_attempt(collect, list(readers), FAN_IN_TIMEOUT, timeout=ATTEMPT_TIMEOUT)
    finally:
        elapsed = time.monotonic() - started
        for conn in readers:
            conn.close()
        stop(procs, timeout=0.3)
    return attempt, elapsed


def _judge_fan_in(senders: tuple, result: Any, elapsed: float) -> Feedback | None:
    expected = [m for source in range(len(senders)) for m in _messages(source)]
    if not isinstance(result, list):
        return not_yet(f"collect should return a list, but it returned {type(result).__name__}.")
    if sorted(result, key=repr) != sorted(expected, key=repr):
        missing = [m for m in expected if m not in result]
        if missing:
            return not_yet(
                f"{len(missing)} of the {len(expected)} messages are missing, for example "
                f"{missing[0]!r}. Keep waiting on a connection until recv() raises EOFError "
                "on it, and wait on all of them at once with wait(conns, timeout)."
            )
        return not_yet(
            f"collect returned {len(result)} messages, but {len(expected)} were sent once "
            "each: add each message to the list once."
        )
    for source in range(len(senders)):
        mine = [m for m in result if m[0] == source]
        if mine != _messages(source):
            return not_yet(
                f"the messages from pipe {source} are out of order ({mine}): one pipe keeps "
                "its order, so append them in the order recv() returns them."
            )
    holding = max(hold for _, hold in senders)
    if holding and elapsed > holding - 1.0:
        return not_yet(
            f"one sender kept its end open for {holding:g} s without sending more, and "
            "collect waited for it. When wait(conns, timeout) returns an empty list, "
            "nothing came for timeout seconds: stop and return what you have."
        )
    return None


@plain_checker
def check_fan_in(collect: Callable[..., Any]) -> Feedback:
    """Check ``collect(conns, timeout)`` with three senders, then with a silent one.

    Correct when every message comes back (in order per pipe), the function
    ends when every pipe is at end-of-file, and gives up after ``timeout``
    seconds of silence.
    """
    for senders in FAN_IN_CASES:
        attempt, elapsed = _run_fan_in(collect, senders)
        if isinstance(attempt.error, EOFError):
            return not_yet(
                "your code raised EOFError: that is how a pipe says its sender is done. Catch "
                "it and remove that connection from the list you wait on."
            )
        problem = first_problem(attempt, what="collect", timeout=ATTEMPT_TIMEOUT)
        if problem is None:
            problem = _judge_fan_in(senders, attempt.result, elapsed)
        if problem is not None:
            return problem
    return correct(
        "all messages arrived, in order per pipe; collect stopped when every pipe was at "
        "end-of-file, and gave up on a sender that stayed silent."
    )


def collect_solution(conns: list, timeout: float) -> list:
    """Reference solution of exercise 3."""
    received = []
    pending = list(conns)
    while pending:
        ready = wait(pending, timeout)
        if not ready:
            break  # silence for `timeout` seconds: give up on the rest
        for conn in ready:
            try:
                received.append(conn.recv())
            except EOFError:
                pending.remove(conn)
    return received
