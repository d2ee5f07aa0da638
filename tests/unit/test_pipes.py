"""Workers and demo runners of notebook 02 (``ipc_helpers.pipes``)."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import time

import pytest

from ipc_helpers import pipes
from ipc_helpers.cleanup import stop


@pytest.fixture(autouse=True)
def no_children_left():
    yield
    assert not mp.active_children()


# --- workers run in this process (no child needed) ------------------------------------


def test_classic_sender_and_receiver():
    a, b = mp.Pipe()
    report_recv, report_send = mp.Pipe(duplex=False)
    pipes.send_items(a, ["x", 2])  # small messages fit in the buffer: no reader needed yet
    pipes.receive_until_sentinel(b, report_send, timeout=1.0)
    assert report_recv.recv() == ("sentinel", ["x", 2])
    assert a.closed


def test_receiver_reports_eof_without_sentinel():
    recv_end, send_end = mp.Pipe(duplex=False)
    report_recv, report_send = mp.Pipe(duplex=False)
    send_end.send("only")
    send_end.close()
    pipes.receive_until_sentinel(recv_end, report_send, timeout=1.0)
    assert report_recv.recv() == ("EOFError", ["only"])


def test_receive_until_eof_sees_eof_only_when_every_copy_is_closed():
    recv_end, send_end = mp.Pipe(duplex=False)
    report_recv, report_send = mp.Pipe(duplex=False)
    for item in range(3):
        send_end.send(item)
    pipes.receive_until_eof(recv_end, report_send, timeout=0.2)  # send_end still open
    assert report_recv.recv() == ("timeout", 3)

    recv_end, send_end = mp.Pipe(duplex=False)
    report_recv, report_send = mp.Pipe(duplex=False)
    send_end.send("a")
    pipes.receive_until_eof(recv_end, report_send, unused=send_end, timeout=2.0)
    assert send_end.closed  # the worker closed the unused end...
    assert report_recv.recv() == ("EOFError", 1)  # ...which was the last copy


def test_receive_until_eof_in_a_child_under_the_current_start_method():
    recv_end, send_end = mp.Pipe(duplex=False)
    report_recv, report_send = mp.Pipe(duplex=False)
    child = mp.Process(target=pipes.receive_until_eof, args=(recv_end, report_send, send_end, 5.0))
    child.start()
    recv_end.close()
    report_send.close()
    send_end.send("a")
    send_end.send("b")
    send_end.close()
    assert report_recv.poll(10)
    assert report_recv.recv() == ("EOFError", 2)
    assert stop([child]) == [0]


def test_reply_once():
    a, b = mp.Pipe()
    a.send("question")
    pipes.reply_once(b, timeout=1.0)
    assert a.recv() == ("got", "question")
    assert b.closed


def test_send_after_closes_its_end():
    recv_end, send_end = mp.Pipe(duplex=False)
    pipes.send_after(send_end, [1, 2])
    assert [recv_end.recv(), recv_end.recv()] == [1, 2]
    with pytest.raises(EOFError):
        recv_end.recv()


def test_send_after_stops_quietly_when_the_reader_is_gone():
    recv_end, send_end = mp.Pipe(duplex=False)
    recv_end.close()
    pipes.send_after(send_end, [1], hold=5.0)  # no BrokenPipeError, and no 5 s hold
    assert send_end.closed


def test_surprise_runs_a_function_when_unpickled():
    assert pickle.loads(pickle.dumps(pipes.Surprise())) == os.getpid()


def test_pattern_and_chunks_in_this_process():
    assert pipes.make_pattern(300)[:3] == b"\x00\x01\x02"
    assert pipes.make_pattern(300)[256:259] == b"\x00\x01\x02"
    a, b = mp.Pipe()
    data = pipes.make_pattern(10_000)
    assert pipes.send_in_chunks(a, data, chunk_size=3_000) == 4
    assert pipes.recv_in_chunks(b, timeout=1.0) == data


def test_recv_in_chunks_times_out():
    a, b = mp.Pipe()
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="no header within 0.1 s"):
        pipes.recv_in_chunks(b, timeout=0.1)
    assert time.monotonic() - started < 2
    a.send((10, 5))
    a.send_bytes(b"12345")
    with pytest.raises(TimeoutError, match="chunk at byte 5 did not arrive"):
        pipes.recv_in_chunks(b, timeout=0.1)


# --- processes ------------------------------------------------------------------------


def test_chunks_from_a_child():
    mine, theirs = mp.Pipe()
    child = mp.Process(target=pipes.send_pattern, args=(theirs, 3 * 2**20 + 5, 2**20))
    child.start()
    theirs.close()
    data = pipes.recv_in_chunks(mine, timeout=10)
    assert data == pipes.make_pattern(3 * 2**20 + 5)
    assert stop([child]) == [0]


def test_small_messages_swap_and_large_ones_deadlock():
    small = pipes.run_exchange(10_000, timeout=10.0)
    assert small.finished == {"A": True, "B": True} and not small.deadlocked
    large = pipes.run_exchange(1_000_000, timeout=1.0)
    assert large.finished == {"A": False, "B": False} and large.deadlocked
    assert "A stuck, B stuck" in str(large)
    fixed = pipes.run_exchange(1_000_000, b_receives_first=True, timeout=10.0)
    assert fixed.finished == {"A": True, "B": True}


def test_send_race_and_capacity():
    capacity = pipes.probe_capacity(duplex=True)
    assert 10_000 < capacity < 4 * 2**20
    below, above = pipes.send_race([capacity - 4, capacity - 3])
    assert below.finished and not above.finished
    assert above.queued == capacity
    assert "deadlocked" in str(above) and "finished" in str(below)
    (one_way,) = pipes.send_race([2**20], duplex=False, both_send_first=False)
    assert one_way.finished


def test_two_writers_on_one_end_corrupt_the_stream():
    for _ in range(3):  # almost always on the first try; never seen to need three
        report = pipes.run_writers(size=1_000_000, count=10, shared_end=True)
        if not report.clean:
            break
    assert not report.clean
    assert report.error.startswith("OSError") or report.damaged


def test_one_pipe_per_writer_keeps_the_stream_intact():
    report = pipes.run_writers(size=200_000, count=5, shared_end=False)
    assert report.clean
    assert (report.intact, report.damaged) == (10, 0)
    assert str(report) == "10 intact, 0 damaged, stream ended cleanly"


def test_rpc_server_and_client():
    mine, theirs = mp.Pipe()
    server = mp.Process(target=pipes.rpc_server, args=(theirs, 10.0))
    server.start()
    theirs.close()
    client = pipes.PipeClient(mine)
    assert client.call("add", 2, 3, timeout=10) == 5
    assert client.call("upper", "abc", timeout=5) == "ABC"
    with pytest.raises(pipes.RemoteError, match="ZeroDivisionError: division by zero"):
        client.call("divide", 1, 0, timeout=5)
    with pytest.raises(pipes.RemoteError, match="unknown operation 'nope'"):
        client.call("nope", timeout=5)
    with pytest.raises(TimeoutError, match="no reply to 'sleep' within 0.2 s"):
        client.call("sleep", 0.6, timeout=0.2)
    assert client.call("add", 1, 1, timeout=5) == 2
    assert client.discarded == 1
    client.close()
    assert stop([server]) == [0]


def test_listener_and_client_with_authkey():
    key = b"right key"
    report_recv, report_send = mp.Pipe(duplex=False)
    server = mp.Process(target=pipes.serve_authenticated, args=(report_send, key, 2))
    server.start()
    report_send.close()
    assert report_recv.poll(10)
    kind, port = report_recv.recv()
    assert kind == "port" and port > 0
    seen = []
    for name, client_key in [("friend", key), ("stranger", b"wrong")]:
        answer_recv, answer_send = mp.Pipe(duplex=False)
        client = mp.Process(
            target=pipes.ask_authenticated, args=(port, client_key, name, answer_send)
        )
        client.start()
        answer_send.close()
        assert answer_recv.poll(10) and report_recv.poll(10)
        seen.append((answer_recv.recv(), report_recv.recv()))
        assert stop([client]) == [0]
    assert stop([server]) == [0]
    assert seen[0] == (("reply", "hello, friend"), ("served", "friend"))
    assert seen[1] == (
        ("refused", "AuthenticationError: digest sent was rejected"),
        ("refused", "AuthenticationError: digest received was wrong"),
    )


def test_echo_server_goes_silent_after_answer_replies():
    mine, theirs = mp.Pipe()
    server = mp.Process(target=pipes.echo_server, args=(theirs, 1, 10.0))
    server.start()
    theirs.close()
    mine.send(("hello",))
    assert mine.poll(10) and mine.recv() == ("hello",)
    mine.send(("ping", 0))
    assert mine.poll(5) and mine.recv() == ("pong", 0)
    mine.send(("ping", 1))
    assert not mine.poll(0.3)
    mine.send(None)
    assert stop([server]) == [0]


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: pipes.run_exchange(-1), ValueError, "size must be at least 0"),
        (lambda: pipes.run_exchange("big"), TypeError, "size must be a whole number"),
        (lambda: pipes.run_exchange(10, timeout=None), TypeError, "None \\(wait forever\\)"),
        (
            lambda: pipes.run_exchange(10, b_receives_first=1),
            TypeError,
            "b_receives_first must be bool",
        ),
        (
            lambda: pipes.run_exchange(10, context="spawn"),
            TypeError,
            "context must be a multiprocessing context",
        ),
        (lambda: pipes.send_race([]), ValueError, "sizes must hold at least one"),
        (lambda: pipes.send_race([1, -5]), ValueError, "sizes\\[1\\] must be at least 0"),
        (lambda: pipes.send_race("10"), TypeError, "sizes must be list or tuple"),
        (lambda: pipes.send_race([10], stall=0), ValueError, "stall must be at least 0.02"),
        (lambda: pipes.run_writers(0, 1), ValueError, "size must be at least 1"),
        (lambda: pipes.run_writers(10, 0), ValueError, "count must be at least 1"),
        (
            lambda: pipes.run_writers(10, 1, timeout=-1),
            ValueError,
            "timeout must be greater than 0",
        ),
        (lambda: pipes.make_pattern(-1), ValueError, "n_bytes must be at least 0"),
        (
            lambda: pipes.send_in_chunks(mp.Pipe()[0], b"x", 0),
            ValueError,
            "chunk_size must be at least 1",
        ),
        (
            lambda: pipes.recv_in_chunks("conn"),
            TypeError,
            "conn must be a multiprocessing connection",
        ),
        (lambda: pipes.PipeClient(42), TypeError, "conn must be a multiprocessing connection"),
        (lambda: pipes.PipeClient(mp.Pipe()[0]).call(3), TypeError, "op must be str"),
        (lambda: pipes.receive_until_eof(None, None), TypeError, "conn must be a multiprocessing"),
        (
            lambda: pipes.write_tagged(mp.Pipe()[0], b"AB", 1, 1),
            ValueError,
            "tag must be a single byte",
        ),
        (lambda: pipes.send_items(mp.Pipe()[0], "abc"), TypeError, "items must be list or tuple"),
        (
            lambda: pipes.send_after(mp.Pipe()[0], [], delay=-1),
            ValueError,
            "delay must be at least 0",
        ),
        (
            lambda: pipes.echo_server(mp.Pipe()[0], answer=-1),
            ValueError,
            "answer must be at least 0",
        ),
        (
            lambda: pipes.serve_authenticated(mp.Pipe()[0], "key"),
            TypeError,
            "authkey must be bytes",
        ),
        (
            lambda: pipes.ask_authenticated(0, b"k", "n", mp.Pipe()[0]),
            ValueError,
            "port must be at least 1",
        ),
        (lambda: pipes.probe_capacity(duplex="yes"), TypeError, "duplex must be bool"),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()
