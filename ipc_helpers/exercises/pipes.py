"""Exercise checkers of notebook 02, *Pipe* (the solutions live in the notebook).

1. ``check_until_eof(collect_until_eof)``: start a child that sends items,
   read them all, ending on ``EOFError`` (no sentinel), under ``fork`` *and*
   ``spawn``.
2. ``check_ping_pong(ping_pong)``: a conversation with an echo server in
   which every wait for a reply has a timeout.
3. ``check_fan_in(collect)``: read several pipes at once with
   ``multiprocessing.connection.wait`` until each one is at end-of-file.

Each checker runs the learner's function with ``run_attempt`` (bounded, and
everything it started is stopped afterwards), checks that the pipe was
really used (the child ran and exited cleanly; the server counted the pings;
the messages carry tokens nobody could guess), and answers in plain words.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from typing import Any, Callable

from ..cleanup import stop
from ..contexts import get_context
from ..pipes import echo_server, send_after
from .feedback import (
    ATTEMPT_TIMEOUT,
    Attempt,
    Feedback,
    RecordingContext,
    correct,
    first_problem,
    not_yet,
    plain_checker,
    require_clean_exits,
    require_created,
    require_processes,
    run_attempt,
)

#: How long the checkers' own waits last at a time (so that Interrupt is seen at once).
_SLICE = 0.1


def _poll(conn: Any, timeout: float) -> bool:
    """``conn.poll(timeout)``, waited in short slices."""
    deadline = time.monotonic() + timeout
    while not conn.poll(_SLICE):
        if time.monotonic() >= deadline:
            return False
    return True


# --- exercise 1: read until end-of-file ------------------------------------------------

#: The items the child sends in exercise 1: together far more than a pipe holds, so
#: the child can only finish sending if the parent really reads them.
ITEMS = [f"{word}:" + "·" * 250_000 for word in ("one", "two", "three", "four")]

#: The start methods exercise 1 is checked with (those this platform has).
EOF_METHODS = ("fork", "spawn")


def _eof_methods() -> list[str]:
    import multiprocessing as mp

    return [m for m in EOF_METHODS if m in mp.get_all_start_methods()]


def _short(items: Any) -> str:
    """A short description of what the learner returned as items (they are long strings)."""
    if not isinstance(items, (list, tuple)):
        return f"a {type(items).__name__}"
    heads = [item.split(":")[0] if isinstance(item, str) else repr(item)[:20] for item in items]
    noun = "item" if len(items) == 1 else "items"
    return f"{len(items)} {noun} ({', '.join(heads[:6])}{', ...' if len(heads) > 6 else ''})"


def _judge_until_eof(method: str, result: Any) -> Feedback | None:
    if not (isinstance(result, tuple) and len(result) == 2):
        return not_yet(
            "collect_until_eof should return a pair (items, how_it_ended), like "
            f"(items, 'EOFError'), but under {method!r} it returned a {type(result).__name__}."
        )
    items, ended = result
    if ended == "timeout":
        return not_yet(
            f"under {method!r} the stream never ended: recv() did not raise EOFError, and "
            "poll(timeout) gave up. The parent still holds its copy of the child's end. Close "
            "it right after start(): then, once the child closes its copy, no copy is left."
        )
    if ended != "EOFError":
        return not_yet(
            f'the second value should be "EOFError" or "timeout", but under {method!r} it '
            f"was {ended!r}."
        )
    if not isinstance(items, (list, tuple)) or list(items) != ITEMS:
        return not_yet(
            f"under {method!r} you returned {_short(items)}, but the child sent "
            f"{_short(ITEMS)}. Append each recv() result, in order, until EOFError."
        )
    return None


def _eof_problem(attempt: Attempt, ctx: RecordingContext, method: str) -> Feedback | None:
    what = "collect_until_eof"
    return (
        first_problem(attempt, what=what)
        or _judge_until_eof(method, attempt.result)
        or require_processes(attempt, what=what, running=send_after, start_method=method)
        or require_created(ctx, what=what, names=["Pipe"])
        or _child_stopped(attempt)
        or require_clean_exits(attempt, what=what)
    )


def _child_stopped(attempt: Attempt) -> Feedback | None:
    """``Not yet`` if the child had to be stopped: it was still sending, unread."""
    stopped = [p for p in attempt.processes if p.exitcode is not None and p.exitcode < 0]
    if not stopped:
        return None
    return not_yet(
        f"your child ended with exit code {stopped[0].exitcode}: it was stopped while it was "
        "still sending, because nobody read what it sent (the items are larger than a pipe "
        "holds). Read until EOFError first, then join the child."
    )


@plain_checker
def check_until_eof(
    collect_until_eof: Callable[..., Any], *, timeout: float = ATTEMPT_TIMEOUT
) -> Feedback:
    """Check ``collect_until_eof(ctx, items, timeout)`` under ``fork`` and ``spawn``.

    Correct when, under both, it made a pipe with ``ctx``, started a child that
    ran ``send_after``, read all items (more than a pipe holds, so the child
    finishes only if they are read), ended on ``EOFError``, and joined the
    child (exit code 0) before returning.
    """
    methods = _eof_methods()
    for method in methods:
        ctx = RecordingContext(method)
        attempt = run_attempt(collect_until_eof, ctx, list(ITEMS), 5.0, timeout=timeout)
        problem = _eof_problem(attempt, ctx, method)
        if problem is not None:
            return problem
    names = " and ".join(repr(m) for m in methods)
    return correct(
        f"under {names} your child sent all {len(ITEMS)} items through the pipe, you read "
        "them, EOFError ended the loop (no copy of the child's end was left open), and "
        "the child exited with code 0."
    )


# --- exercise 2: ping-pong with timeouts ------------------------------------------------

#: (pings to send, replies the echo server gives before it goes silent, timeout per reply)
PING_CASES = ((5, 1000, 5.0), (5, 2, 2.0))  # generous: a busy machine is slow to answer


def _play_ping_pong(
    ping_pong: Callable[..., Any], n: int, answered: int, timeout: float, limit: float
) -> tuple:
    """Run ``ping_pong`` against an echo server: (attempt, the server's count, pongs unread)."""
    ctx = get_context()
    mine, theirs = ctx.Pipe()
    report_recv, report_send = ctx.Pipe(duplex=False)
    server = ctx.Process(target=echo_server, args=(theirs, answered, 10.0, report_send))
    try:
        server.start()
        theirs.close()
        report_send.close()
        mine.send(("hello",))  # wait until the server answers, however slow its start
        if not _poll(mine, 30.0) or mine.recv() != ("hello",):
            raise RuntimeError("the echo server did not start")
        attempt = run_attempt(ping_pong, mine, n, timeout, timeout=limit)
        unread = False
        with contextlib.suppress(OSError):  # the learner may have closed conn
            unread = mine.poll(0.2)  # a pong nobody read
            mine.send(None)  # the server stops (and unblocks a recv() still waiting)
        count = report_recv.recv() if _poll(report_recv, 10.0) else None
    finally:
        mine.close()
        report_recv.close()
        stop([server], timeout=5.0)
    return attempt, count, unread


def _judge_ping_pong(
    n: int, answered: int, result: Any, count: Any, unread: bool
) -> Feedback | None:
    silent = answered < n
    expected = [("pong", i) for i in range(min(n, answered))]
    pings = count[1] if isinstance(count, tuple) else None
    if not isinstance(result, list):
        return not_yet(
            f"ping_pong should return a list of replies, but it returned {type(result).__name__}."
        )
    if pings == 0:
        return not_yet(
            "the echo server received no ping at all: ping_pong must send each ('ping', i) "
            "through conn with conn.send(...) and collect what conn.recv() returns."
        )
    if silent and pings is not None and pings > answered + 1:
        return not_yet(
            f"the server went silent after {answered} replies, but ping_pong sent it {pings} "
            "pings: when poll(timeout) returns False, stop and return what you have."
        )
    if result and not isinstance(result[0], tuple):
        return not_yet(
            "return the replies exactly as recv() gave them, like ('pong', 0); your first "
            f"entry was {result[0]!r}."
        )
    if result != expected:
        server = "answers every ping" if not silent else f"answers only the first {answered}"
        return not_yet(
            f"with {n} pings and a server that {server}, the replies should be {expected}, "
            f"but ping_pong returned {result[:8]}."
        )
    if unread:
        return not_yet(
            "the list is right, but the server's replies were left unread in the pipe: append "
            "what conn.recv() returns instead of building the replies yourself."
        )
    return None


@plain_checker
def check_ping_pong(ping_pong: Callable[..., Any], *, timeout: float = ATTEMPT_TIMEOUT) -> Feedback:
    """Check ``ping_pong(conn, n, timeout)`` against an echo server.

    Once with a server that answers every ping, once with one that goes
    silent after two: correct when the replies the server sent come back in
    order and the function gives up at the first missing reply.
    """
    for n, answered, per_reply in PING_CASES:
        attempt, count, unread = _play_ping_pong(ping_pong, n, answered, per_reply, timeout)
        if attempt.timed_out:
            server_did = (
                "answered every ping" if answered >= n else f"went silent after {answered} replies"
            )
            return not_yet(
                f"ping_pong did not return within {attempt.timeout:g} s when the server "
                f"{server_did}. A bare recv() waits forever: call poll(timeout) first, and "
                "stop when it returns False."
            )
        problem = first_problem(attempt, what="ping_pong")
        if problem is not None:
            return problem
        if count is None:
            raise RuntimeError("the echo server ended without reporting the pings it received")
        problem = _judge_ping_pong(n, answered, attempt.result, count, unread)
        if problem is not None:
            return problem
    return correct(
        "every ping got its pong, in order; when the server went silent after two pings, "
        "ping_pong stopped after one timeout and returned the two replies it had read."
    )


# --- exercise 3: fan-in with connection.wait -------------------------------------------

#: (delay, hold) for each sender of a case: it waits ``delay`` s, sends three
#: messages, then keeps its end open ``hold`` s more before closing it.
FAN_IN_CASES = (
    ((0.4, 0.0), (0.0, 0.0), (0.2, 0.0)),
    ((0.0, 0.0), (0.1, 6.0)),
)

#: The ``timeout`` the learner's ``collect`` is called with.
FAN_IN_TIMEOUT = 2.0  # generous: on a busy machine a sender may wait for a CPU


def _messages(source: int, token: str) -> list:
    """What sender ``source`` sends: ``(source, j, token)``; the token cannot be guessed."""
    return [(source, j, token) for j in range(3)]


def _run_fan_in(collect: Callable[..., Any], senders: tuple, token: str, limit: float) -> Attempt:
    """Start one ``send_after`` child per sender, each with its own pipe; run ``collect``."""
    ctx = get_context()
    readers, procs = [], []
    go = ctx.Barrier(len(senders) + 1)  # the clock starts when every sender is up
    try:
        for source, (delay, hold) in enumerate(senders):
            recv_end, send_end = ctx.Pipe(duplex=False)
            args = (send_end, _messages(source, token), delay, hold, go, 0.0)
            proc = ctx.Process(target=send_after, args=args)
            proc.start()
            send_end.close()  # only the child holds the send end: EOF comes when it closes
            readers.append(recv_end)
            procs.append(proc)
        try:
            go.wait(10.0)
        except threading.BrokenBarrierError:
            raise RuntimeError("the senders did not start within 10 s") from None
        return run_attempt(collect, list(readers), FAN_IN_TIMEOUT, timeout=limit)
    finally:
        for conn in readers:
            conn.close()
        stop(procs, timeout=0.3)


def _where(message: tuple) -> str:
    return f"message {message[1]} of pipe {message[0]}"


def _judge_fan_in(senders: tuple, token: str, result: Any, seconds: float) -> Feedback | None:
    expected = [m for source in range(len(senders)) for m in _messages(source, token)]
    if not isinstance(result, list):
        return not_yet(f"collect should return a list, but it returned {type(result).__name__}.")
    missing = [m for m in expected if m not in result]
    if missing:
        return not_yet(
            f"{len(missing)} of the {len(expected)} messages are missing, for example "
            f"{_where(missing[0])}. Keep reading a connection until recv() raises EOFError "
            "on it, and wait on all of them at once with wait(pending, timeout)."
        )
    if len(result) != len(expected):
        return not_yet(
            f"collect returned {len(result)} entries, but {len(expected)} messages were sent "
            "once each: add each message that recv() returns to the list, once, and nothing "
            "else."
        )
    for source in range(len(senders)):
        mine = [m for m in result if m[0] == source]
        if mine != _messages(source, token):
            return not_yet(
                f"the messages from pipe {source} are out of order: one pipe keeps its order, "
                "so append them in the order recv() returns them."
            )
    holding = max(hold for _, hold in senders)
    if holding and seconds > holding - 1.0:
        return not_yet(
            f"one sender kept its end open for {holding:g} s without sending more, and "
            "collect waited for it. When wait(pending, timeout) returns an empty list, "
            "nothing came for timeout seconds: stop and return what you have."
        )
    return None


@plain_checker
def check_fan_in(collect: Callable[..., Any], *, timeout: float = ATTEMPT_TIMEOUT) -> Feedback:
    """Check ``collect(conns, timeout)`` with three senders, then with a silent one.

    Correct when every message comes back (each carries a token only the
    senders know, so it must have been read), in order per pipe, and the
    function ends when every pipe is at end-of-file, or after ``timeout``
    seconds of silence.
    """
    for senders in FAN_IN_CASES:
        token = secrets.token_hex(4)
        attempt = _run_fan_in(collect, senders, token, timeout)
        if isinstance(attempt.error, EOFError):
            return not_yet(
                "your code raised EOFError: that is how a pipe says its sender is done. Catch "
                "it and remove that connection from the list you wait on."
            )
        problem = first_problem(attempt, what="collect") or _judge_fan_in(
            senders, token, attempt.result, attempt.seconds
        )
        if problem is not None:
            return problem
    return correct(
        "every message the senders sent came back, in order per pipe; collect stopped when "
        "every pipe was at end-of-file, and gave up on a sender that stayed silent."
    )
