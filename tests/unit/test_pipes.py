"""Workers and demo runners of notebook 02 (``ipc_helpers.pipes``)."""

from __future__ import annotations

import contextlib
import fcntl
import multiprocessing as mp
import os
import pickle
import signal
import sys
import threading
import time
from types import SimpleNamespace

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


def test_send_after_closes_its_end_then_lingers():
    recv_end, send_end = mp.Pipe(duplex=False)
    started = time.monotonic()
    pipes.send_after(send_end, [1, 2], linger=0.3)
    assert time.monotonic() - started >= 0.3
    assert [recv_end.recv(), recv_end.recv()] == [1, 2]
    with pytest.raises(EOFError):
        recv_end.recv()


def test_send_after_stops_quietly_when_the_reader_is_gone():
    recv_end, send_end = mp.Pipe(duplex=False)
    recv_end.close()
    started = time.monotonic()
    pipes.send_after(send_end, [1], hold=5.0, linger=0.0)  # no BrokenPipeError, no 5 s hold
    assert send_end.closed
    assert time.monotonic() - started < 2


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


def test_swaps_and_capacity():
    capacity = pipes.probe_capacity(duplex=True)
    assert 10_000 < capacity < 4 * 2**20
    below, above = pipes.try_swaps([capacity - 4, capacity - 3])
    assert below.finished and not above.finished
    assert above.queued == capacity
    assert "deadlocked" in str(above) and "finished" in str(below)
    (one_way,) = pipes.try_swaps([2**20], duplex=False, both_send_first=False)
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
    seen = pipes.run_authenticated(key, [("friend", key), ("stranger", b"wrong")])
    assert seen == [
        ("friend", ("reply", "hello, friend"), ("served", "friend")),
        (
            "stranger",
            ("refused", "AuthenticationError: digest sent was rejected"),
            ("refused", "AuthenticationError: digest received was wrong"),
        ),
    ]


def test_a_child_ended_by_an_interrupt_interrupts_the_runner():
    """A child that died of SIGINT (the kernel may have missed it) raises KeyboardInterrupt."""
    ended = [SimpleNamespace(exitcode=0), SimpleNamespace(exitcode=-signal.SIGINT)]
    with pytest.raises(KeyboardInterrupt):
        pipes._raise_if_interrupted(ended)
    pipes._raise_if_interrupted([SimpleNamespace(exitcode=c) for c in (0, 1, -15, None)])


def test_reading_stops_when_a_writer_fails():
    recv_end, send_end = mp.Pipe(duplex=False)
    writer = mp.Process(target=pipes.write_tagged, args=(send_end, "not bytes", 10, 1))
    writer.start()  # "not bytes" * 10 is a str: send_bytes raises TypeError in the child
    started = time.monotonic()
    report = pipes._read_tagged([recv_end], 10, 5.0, (writer,))
    assert report.error == "a writer ended with code 1"
    assert time.monotonic() - started < 4
    send_end.close()
    recv_end.close()
    stop([writer])


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


def test_a_peer_that_exits_with_unread_data_resets_the_connection():
    """Issue 12.2: ConnectionResetError (once), not EOFError, on Linux."""
    mine, theirs = mp.Pipe()
    mine.send("first")
    mine.send("second")  # never read by the child
    child = mp.Process(target=pipes.reply_once, args=(theirs,))
    child.start()
    theirs.close()
    assert mine.poll(10) and mine.recv() == ("got", "first")
    assert stop([child]) == [0]
    if sys.platform.startswith("linux"):
        with pytest.raises(ConnectionResetError):
            mine.recv()
    with pytest.raises(EOFError):
        mine.recv()
    with pytest.raises(BrokenPipeError):
        mine.send("third")
    mine.close()


@pytest.mark.parametrize("duplex", [True, False])
def test_poll_is_true_for_half_a_message_and_recv_still_waits(duplex):
    """Issue 12.11: poll says some bytes are there, not a whole message."""
    mine, theirs = mp.Pipe(duplex=duplex)
    child = mp.Process(target=pipes.send_half_message, args=(theirs, 1000, 0.8))
    child.start()
    theirs.close()
    assert mine.poll(10)
    started = time.monotonic()
    with pytest.raises(OSError, match="got end of file during message"):
        mine.recv_bytes()
    assert time.monotonic() - started > 0.4
    mine.close()
    assert stop([child]) == [0]


def test_recv_bytes_into_copies_the_whole_message_first():
    """Issue 12.1: one 4 MiB message costs a temporary copy; 256 KiB chunks do not."""
    size = 4 * 2**20
    whole = pipes.receive_with_peak(size, chunk_size=size)
    chunked = pipes.receive_with_peak(size, chunk_size=2**18)
    assert whole.intact and chunked.intact
    assert whole.extra_peak >= size
    assert chunked.extra_peak < 3 * 2**18  # a chunk or two (and small objects), not 4 MiB
    assert "in one message: intact True" in str(whole)
    assert "262,144 B chunks" in str(chunked)


@pytest.mark.skipif(not hasattr(fcntl, "F_GETPIPE_SZ"), reason="F_GETPIPE_SZ is Linux only")
def test_one_way_pipe_numbers_on_linux():
    """Issue 12.12: one large write fills header + 15 pages; a swap fits up to 64 KiB - 4."""
    read_fd, write_fd = os.pipe()
    capacity = fcntl.fcntl(write_fd, fcntl.F_GETPIPE_SZ)
    os.close(read_fd)
    os.close(write_fd)
    page = os.sysconf("SC_PAGE_SIZE")
    assert pipes.probe_capacity(duplex=False) == 4 + capacity - page
    fits, too_big = pipes.try_swaps([capacity - 4, capacity - 3], duplex=False)
    assert fits.finished and not too_big.finished
    assert too_big.queued == 4 + capacity - page


def _send_tagged(conn, tag, size, count):
    with contextlib.suppress(OSError):  # the reader gave up: stop
        for _ in range(count):
            conn.send_bytes(tag * size)


def test_two_threads_on_one_end_corrupt_the_stream_too():
    """Issue 12 (smaller): a Connection has no lock, for threads either."""
    recv_end, send_end = mp.Pipe(duplex=False)
    size = 1_000_000
    writers = [
        threading.Thread(target=_send_tagged, args=(send_end, tag, size, 5)) for tag in (b"A", b"B")
    ]

    def close_when_written():
        for thread in writers:
            thread.join(10)
        send_end.close()  # EOF for the reader once both are done

    for thread in writers:
        thread.start()
    closer = threading.Thread(target=close_when_written)
    closer.start()
    report = pipes._read_tagged([recv_end], size, timeout=5.0)
    recv_end.close()  # a writer still blocked gets BrokenPipeError and stops
    closer.join(10)
    assert not report.clean
    assert report.error != "no data for 5 s"


def test_echo_server_reports_the_pings_it_received():
    mine, theirs = mp.Pipe()
    report_recv, report_send = mp.Pipe(duplex=False)
    server = mp.Process(target=pipes.echo_server, args=(theirs, 1, 10.0, report_send))
    server.start()
    theirs.close()
    report_send.close()
    for i in range(3):
        mine.send(("ping", i))
    assert mine.poll(10) and mine.recv() == ("pong", 0)
    mine.send(None)
    assert report_recv.poll(10) and report_recv.recv() == ("pings", 3, 1)
    assert stop([server]) == [0]
    with pytest.raises(EOFError):  # only one pong: the server went silent after one reply
        mine.recv()


def test_watch_exchange_stops_the_blocked_children():
    finished = pipes.watch_exchange(mp.get_context(), 1_000_000, False, 0.5)
    assert finished == {"A": False, "B": False}
    assert not mp.active_children()


# --- bad input (the runners check; the workers a child runs do not) ---------------------


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
        (lambda: pipes.run_exchange(10, context="nope"), ValueError, "nope"),
        (lambda: pipes.run_exchange(10, context=3), TypeError, "context must be"),
        (lambda: pipes.try_swaps([]), ValueError, "sizes must hold at least one"),
        (lambda: pipes.try_swaps([1, -5]), ValueError, "sizes\\[1\\] must be at least 0"),
        (lambda: pipes.try_swaps("10"), TypeError, "sizes must be list or tuple"),
        (lambda: pipes.try_swaps([10], stall=0), ValueError, "stall must be at least 0.02"),
        (lambda: pipes.run_writers(0, 1), ValueError, "size must be at least 1"),
        (lambda: pipes.run_writers(10, 0), ValueError, "count must be at least 1"),
        (
            lambda: pipes.run_writers(10, 1, timeout=-1),
            ValueError,
            "timeout must be greater than 0",
        ),
        (lambda: pipes.make_pattern(-1), ValueError, "n_bytes must be at least 0"),
        (lambda: pipes.receive_with_peak(0, 1), ValueError, "size must be at least 1"),
        (lambda: pipes.receive_with_peak(10, 0), ValueError, "chunk_size must be at least 1"),
        (lambda: pipes.PipeClient(42), TypeError, "conn must be a multiprocessing connection"),
        (lambda: pipes.probe_capacity(duplex="yes"), TypeError, "duplex must be bool"),
        (lambda: pipes.run_authenticated("key", []), TypeError, "authkey must be bytes"),
        (
            lambda: pipes.run_authenticated(b"k", [("x", "key")]),
            TypeError,
            "clients\\[0\\] key must be bytes",
        ),
    ],
)
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_expect_is_the_shared_one():
    """Notebook cells call ``pipes.expect``: it is ``ipc_helpers.text.expect`` (tested there)."""
    from ipc_helpers import text

    assert pipes.expect is text.expect
