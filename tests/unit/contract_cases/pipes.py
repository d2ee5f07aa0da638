"""Contract rows for the checkers of notebook 02 (``ipc_helpers.exercises.pipes``).

For each exercise: the notebook's solution and two other correct answers a
learner might write, the placeholder, and the wrong answers named in issues
12 and 21 and in the syllabus (the EOF rule, a bare ``recv()``, a fake that
never touches the pipe), each with the words its message must say.
"""

from __future__ import annotations

import time
from multiprocessing.connection import wait

from ipc_helpers import pipes
from ipc_helpers.cleanup import stop
from ipc_helpers.exercises import pipes as ex
from tests.unit.checker_contract import Case, Solution, placeholder

NB = "02_pipe"
#: A short attempt limit for the rows whose answer hangs on purpose.
SHORT = {"timeout": 3.0}


# --- exercise 1: collect_until_eof(ctx, items, timeout) ---------------------------------


def eof_one_way_pipe(ctx, items, timeout=2.0):
    """Correct: a one-way pipe, try/except around the loop, join with a timeout."""
    recv_end, send_end = ctx.Pipe(duplex=False)
    child = ctx.Process(target=pipes.send_after, args=(send_end, items))
    child.start()
    send_end.close()
    received = []
    try:
        while recv_end.poll(timeout):
            received.append(recv_end.recv())
        ended = "timeout"
    except EOFError:
        ended = "EOFError"
    finally:
        recv_end.close()
        child.join(10)
    return received, ended


def eof_with_wait(ctx, items, timeout=2.0):
    """Correct: connection.wait instead of poll, and a context manager for the end."""
    mine, theirs = ctx.Pipe()
    child = ctx.Process(target=pipes.send_after, args=(theirs, items))
    child.start()
    theirs.close()
    received = []
    with mine:
        while wait([mine], timeout):
            try:
                received.append(mine.recv())
            except EOFError:
                break
        else:
            stop([child])
            return received, "timeout"
    stop([child])
    return received, "EOFError"


def eof_parent_keeps_its_copy(ctx, items, timeout=2.0):
    """Wrong (the EOF rule): the parent never closes its copy of the child's end."""
    mine, theirs = ctx.Pipe()
    child = ctx.Process(target=pipes.send_after, args=(theirs, items))
    child.start()
    received, ended = [], "timeout"
    while mine.poll(timeout):
        try:
            received.append(mine.recv())
        except EOFError:
            ended = "EOFError"
            break
    stop([child])
    return received, ended


def eof_without_a_pipe(ctx, items, timeout=2.0):
    """Wrong (issue 21.1): the right answer, and no pipe or child at all."""
    return list(items), "EOFError"


def eof_child_but_no_reading(ctx, items, timeout=2.0):
    """Wrong: starts the child, never reads, returns the items it was given."""
    mine, theirs = ctx.Pipe()
    child = ctx.Process(target=pipes.send_after, args=(theirs, items))
    child.start()
    theirs.close()
    stop([child], timeout=1.0)
    mine.close()
    return list(items), "EOFError"


def eof_without_join(ctx, items, timeout=2.0):
    """Wrong: reads everything but returns without joining the child."""
    mine, theirs = ctx.Pipe()
    child = ctx.Process(target=pipes.send_after, args=(theirs, items))
    child.start()
    theirs.close()
    received = []
    while mine.poll(timeout):
        try:
            received.append(mine.recv())
        except EOFError:
            return received, "EOFError"
    return received, "timeout"


def eof_default_context(ctx, items, timeout=2.0):
    """Wrong: ignores ctx (its Pipe and Process come from the default context)."""
    import multiprocessing as mp

    mine, theirs = mp.Pipe()
    child = mp.Process(target=pipes.send_after, args=(theirs, items))
    child.start()
    theirs.close()
    received = []
    while mine.poll(timeout):
        try:
            received.append(mine.recv())
        except EOFError:
            break
    stop([child])
    return received, "EOFError"


def eof_wrong_shape(ctx, items, timeout=2.0):
    """Wrong: returns only the items."""
    received, _ended = eof_one_way_pipe(ctx, items, timeout)
    return received


# --- exercise 2: ping_pong(conn, n, timeout) --------------------------------------------


def ping_pong_with_wait(conn, n, timeout):
    """Correct: connection.wait on the one connection."""
    replies = []
    for i in range(n):
        conn.send(("ping", i))
        if not wait([conn], timeout):
            return replies
        replies.append(conn.recv())
    return replies


def ping_pong_with_deadline(conn, n, timeout):
    """Correct: a deadline per reply, polled in short steps."""
    replies = []
    for i in range(n):
        conn.send(("ping", i))
        deadline = time.monotonic() + timeout
        while not conn.poll(0.05):
            if time.monotonic() > deadline:
                return replies
        replies.append(conn.recv())
    return replies


def ping_pong_bare_recv(conn, n, timeout):
    """Wrong (syllabus: every wait needs a bound): recv() without poll hangs on silence."""
    replies = []
    for i in range(n):
        conn.send(("ping", i))
        replies.append(conn.recv())
    return replies


def ping_pong_keeps_going(conn, n, timeout):
    """Wrong: skips a missing reply and goes on pinging a silent server."""
    replies = []
    for i in range(n):
        conn.send(("ping", i))
        if conn.poll(timeout):
            replies.append(conn.recv())
    return replies


def ping_pong_without_the_pipe(conn, n, timeout):
    """Wrong (issue 21.1): the expected list, built without touching conn."""
    return [("pong", i) for i in range(min(n, 2 if timeout < 2 else n))]


def ping_pong_numbers_only(conn, n, timeout):
    """Wrong: returns the numbers, not the replies as received."""
    replies = []
    for i in range(n):
        conn.send(("ping", i))
        if not conn.poll(timeout):
            break
        replies.append(conn.recv()[1])
    return replies


# --- exercise 3: collect(conns, timeout) --------------------------------------------


def collect_with_a_set(conns, timeout):
    """Correct: a set of pending connections, and a drain of each ready one."""
    received = []
    pending = set(conns)
    while pending:
        ready = wait(list(pending), timeout)
        if not ready:
            return received
        for conn in ready:
            try:
                while conn.poll():
                    received.append(conn.recv())
            except EOFError:
                pending.discard(conn)
    return received


def collect_one_at_a_time(conns, timeout):
    """Correct: one message per wait, with try/except/else."""
    received = []
    pending = list(conns)
    while pending:
        ready = wait(pending, timeout)
        if not ready:
            break
        conn = ready[0]
        try:
            message = conn.recv()
        except EOFError:
            pending.remove(conn)
        else:
            received.append(message)
    return received


def collect_ignoring_eof(conns, timeout):
    """Wrong: does not catch EOFError."""
    received = []
    pending = list(conns)
    while pending:
        ready = wait(pending, timeout)
        if not ready:
            break
        for conn in ready:
            received.append(conn.recv())
    return received


def collect_without_timeout(conns, timeout):
    """Wrong: waits without a timeout, so a silent sender holds it up."""
    received = []
    pending = list(conns)
    while pending:
        for conn in wait(pending):
            try:
                received.append(conn.recv())
            except EOFError:
                pending.remove(conn)
    return received


def collect_first_only(conns, timeout):
    """Wrong: reads one message per pipe and moves on."""
    received = []
    for conn in wait(list(conns), timeout):
        received.append(conn.recv())
    return received


def collect_without_reading(conns, timeout):
    """Wrong (issue 21.1): reads nothing."""
    return [(source, j) for source in range(len(conns)) for j in range(3)]


CASES = [
    # exercise 1
    Case(
        "until_eof.solution",
        ex.check_until_eof,
        Solution(NB, "collect_until_eof"),
        "correct",
        r"sent all 4 items through the pipe.*exited with code 0",
    ),
    Case(
        "until_eof.one_way",
        ex.check_until_eof,
        eof_one_way_pipe,
        "correct",
        r"EOFError ended the loop",
    ),
    Case("until_eof.wait", ex.check_until_eof, eof_with_wait, "correct", r"you read them"),
    Case(
        "until_eof.placeholder",
        ex.check_until_eof,
        placeholder,
        "not attempted",
        r"replace `raise NotImplementedError`",
    ),
    Case(
        "until_eof.parent_keeps_copy",
        ex.check_until_eof,
        eof_parent_keeps_its_copy,
        "not yet",
        r"never ended.*still holds its copy of the child's end",
    ),
    Case(
        "until_eof.no_pipe",
        ex.check_until_eof,
        eof_without_a_pipe,
        "not yet",
        r"collect_until_eof started no process",
    ),
    Case(
        "until_eof.no_reading",
        ex.check_until_eof,
        eof_child_but_no_reading,
        "not yet",
        r"exit code -(15|9): it was stopped while it was still sending.*Read until EOFError first",
    ),
    Case(
        "until_eof.no_join",
        ex.check_until_eof,
        eof_without_join,
        "not yet",
        r"returned while 1 process it started was still running.*Join every process",
    ),
    Case(
        "until_eof.default_context",
        ex.check_until_eof,
        eof_default_context,
        "not yet",
        r"(did not create its Pipe with the context it was given|started its processes with)",
    ),
    Case(
        "until_eof.wrong_shape",
        ex.check_until_eof,
        eof_wrong_shape,
        "not yet",
        r"should return a pair \(items, how_it_ended\)",
    ),
    # exercise 2
    Case(
        "ping_pong.solution",
        ex.check_ping_pong,
        Solution(NB, "ping_pong"),
        "correct",
        r"every ping got its pong.*stopped after one timeout",
    ),
    Case("ping_pong.wait", ex.check_ping_pong, ping_pong_with_wait, "correct", r"in order"),
    Case(
        "ping_pong.deadline",
        ex.check_ping_pong,
        ping_pong_with_deadline,
        "correct",
        r"replies it had read",
    ),
    Case(
        "ping_pong.placeholder",
        ex.check_ping_pong,
        placeholder,
        "not attempted",
        r"replace `raise NotImplementedError`",
    ),
    Case(
        "ping_pong.bare_recv",
        ex.check_ping_pong,
        ping_pong_bare_recv,
        "not yet",
        r"did not return within 3 s when the server went silent.*bare recv\(\) waits forever",
        kwargs=SHORT,
    ),
    Case(
        "ping_pong.keeps_going",
        ex.check_ping_pong,
        ping_pong_keeps_going,
        "not yet",
        r"sent it 5 pings: when poll\(timeout\) returns False, stop",
    ),
    Case(
        "ping_pong.no_pipe",
        ex.check_ping_pong,
        ping_pong_without_the_pipe,
        "not yet",
        r"received no ping at all",
    ),
    Case(
        "ping_pong.numbers_only",
        ex.check_ping_pong,
        ping_pong_numbers_only,
        "not yet",
        r"exactly as recv\(\) gave them",
    ),
    # exercise 3
    Case(
        "fan_in.solution",
        ex.check_fan_in,
        Solution(NB, "collect"),
        "correct",
        r"every message the senders sent came back.*gave up on a sender",
    ),
    Case("fan_in.set", ex.check_fan_in, collect_with_a_set, "correct", r"in order per pipe"),
    Case(
        "fan_in.one_at_a_time",
        ex.check_fan_in,
        collect_one_at_a_time,
        "correct",
        r"stopped when every pipe was at end-of-file",
    ),
    Case(
        "fan_in.placeholder",
        ex.check_fan_in,
        placeholder,
        "not attempted",
        r"replace `raise NotImplementedError`",
    ),
    Case(
        "fan_in.eof_not_caught",
        ex.check_fan_in,
        collect_ignoring_eof,
        "not yet",
        r"raised EOFError.*remove that connection",
    ),
    Case(
        "fan_in.no_timeout",
        ex.check_fan_in,
        collect_without_timeout,
        "not yet",
        r"kept its end open for 6 s.*collect waited for it",
    ),
    Case(
        "fan_in.first_only",
        ex.check_fan_in,
        collect_first_only,
        "not yet",
        r"of the 9 messages are missing",
    ),
    Case(
        "fan_in.no_reading",
        ex.check_fan_in,
        collect_without_reading,
        "not yet",
        r"9 of the 9 messages are missing",
    ),
]
