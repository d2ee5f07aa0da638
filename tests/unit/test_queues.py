"""Workers and tools of notebook 01 (``ipc_helpers.queues``).

Most workers are called in this process (a queue works within one process
too), which keeps the tests fast; the join-before-drain behaviour needs real
children.
"""

from __future__ import annotations

import multiprocessing as mp
import pickle
import queue
import time

import pytest

from ipc_helpers import queues
from ipc_helpers.cleanup import stop


def drain(q, wait: float = 1.0) -> list:
    items = []
    try:
        while True:
            items.append(q.get(timeout=wait))
    except queue.Empty:
        return items


# --- producer / consumer ---------------------------------------------------------


def test_producer_puts_items_then_one_sentinel():
    q = mp.Queue()
    queues.producer(q, 3)
    assert drain(q, 0.5) == [0, 1, 2, None]


def test_consumer_reports_items_and_stops_at_the_sentinel():
    q, results = mp.Queue(), mp.Queue()
    for x in [5, 6, None, 7]:
        q.put(x)
    queues.consumer(q, results)
    assert drain(results, 0.3) == [5, 6]
    assert q.get(timeout=1) == 7  # left for another consumer


def test_consumer_counts_one_sentinel_per_producer():
    q, results = mp.Queue(), mp.Queue()
    queues.tagged_producer(q, "A", 2)
    queues.tagged_producer(q, "B", 1)
    queues.consumer(q, results, n_sentinels=2)
    assert drain(results, 0.3) == [("A", 0), ("A", 1), ("B", 0)]


def test_consumer_gives_up_after_its_timeout():
    q, results = mp.Queue(), mp.Queue()
    started = time.monotonic()
    queues.consumer(q, results, timeout=0.2)
    assert 0.15 < time.monotonic() - started < 5


def test_producer_and_consumer_in_processes():
    q, results = mp.Queue(maxsize=5), mp.Queue()
    procs = [
        mp.Process(target=queues.producer, args=(q, 10)),
        mp.Process(target=queues.consumer, args=(q, results)),
    ]
    for p in procs:
        p.start()
    consumed = [results.get(timeout=20) for _ in range(10)]
    assert consumed == list(range(10))
    assert stop(procs, timeout=20) == [0, 0]


# --- how a queue works -------------------------------------------------------------


def test_slow_to_pickle_takes_its_time_and_round_trips():
    value = queues.SlowToPickle("hello", delay=0.2)
    started = time.monotonic()
    data = pickle.dumps(value)
    assert time.monotonic() - started >= 0.2
    copy = pickle.loads(data)
    assert copy.value == "hello" and copy.delay == 0.0
    assert repr(copy) == "SlowToPickle('hello')"


def test_slow_to_pickle_rejects_bad_delay():
    with pytest.raises(ValueError, match="delay must be at most 10"):
        queues.SlowToPickle(1, delay=60)
    with pytest.raises(TypeError, match="delay must be a number"):
        queues.SlowToPickle(1, delay="1")


def test_put_returns_before_the_item_reaches_the_pipe():
    q = mp.Queue()
    q.put(queues.SlowToPickle("x", delay=0.5))
    assert q.empty()  # the feeder thread is still pickling
    assert q.get(timeout=5).value == "x"


def test_message_size_is_the_pickle_plus_a_4_byte_header():
    from multiprocessing.reduction import ForkingPickler

    for obj in [b"", "text", list(range(100)), bytes(70_000)]:
        assert queues.message_size(obj) == len(ForkingPickler.dumps(obj)) + 4


def test_message_size_header_grows_only_past_2_gib(monkeypatch):
    # Connection._send_bytes: a 4-byte header up to 0x7FFFFFFF bytes, 12 bytes above.
    from multiprocessing.reduction import ForkingPickler

    for size, header in [(0x7FFFFFFF, 4), (0x7FFFFFFF + 1, 12)]:
        monkeypatch.setattr(ForkingPickler, "dumps", lambda obj, n=size: _Sized(n))
        assert queues.message_size(None) == size + header


class _Sized:
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


def test_pipe_capacity_and_largest_item():
    capacity = queues.pipe_capacity()
    assert capacity >= 4096
    n = queues.largest_bytes_item(capacity)
    assert queues.message_size(bytes(n)) <= capacity < queues.message_size(bytes(n + 1))


def test_pipe_capacity_stops_at_its_limit():
    assert queues.pipe_capacity(limit=2048) == 2048


def test_pipe_tools_reject_bad_arguments():
    with pytest.raises(ValueError, match="limit must be at least 1"):
        queues.pipe_capacity(limit=0)
    with pytest.raises(ValueError, match="capacity must be at least 64"):
        queues.largest_bytes_item(10)
    with pytest.raises(TypeError, match="capacity must be a whole number"):
        queues.largest_bytes_item(65536.0)


def test_join_before_drain_hangs_on_the_total_of_unread_bytes():
    capacity = queues.pipe_capacity()
    fits = queues.largest_bytes_item(capacity)
    per_string = queues.message_size("x" * 50)
    assert queues.join_before_drain(queues.put_bytes, fits, wait=10.0)
    assert not queues.join_before_drain(queues.put_bytes, fits + 1, wait=1.0)
    assert queues.join_before_drain(queues.put_strings, 900, 50, wait=10.0)
    assert 2000 * per_string > capacity
    assert not queues.join_before_drain(queues.put_strings, 2000, 50, wait=1.0)
    assert not mp.active_children()


def test_join_before_drain_checks_its_arguments():
    with pytest.raises(TypeError, match="worker must be"):
        queues.join_before_drain("put_bytes", 10)
    with pytest.raises(ValueError, match="wait must be greater than 0"):
        queues.join_before_drain(queues.put_bytes, 10, wait=0)


def test_put_strings_puts_n_strings_of_the_length():
    q = mp.Queue()
    queues.put_strings(q, 3, 5)
    assert drain(q, 0.3) == ["xxxxx"] * 3


def test_get_one_reports_empty_and_got():
    q, results = mp.Queue(), mp.Queue()
    queues.get_one(q, results, timeout=0.1)
    q.put(b"abc")
    queues.get_one(q, results, timeout=5)
    q.put(7)
    queues.get_one(q, results, timeout=5)
    assert drain(results, 0.3) == [("empty", 0.1), ("got", 3), ("got", None)]


# --- errors in workers -------------------------------------------------------------


def test_reciprocal_worker_raises_on_zero():
    tasks, results = mp.Queue(), mp.Queue()
    for x in [4, 0, 2, None]:
        tasks.put(x)
    with pytest.raises(ZeroDivisionError):
        queues.reciprocal_worker(tasks, results)
    assert drain(results, 0.3) == [(4, 0.25)]


def test_safe_reciprocal_worker_replies_to_every_task():
    tasks, results = mp.Queue(), mp.Queue()
    for x in [4, 0, "a", None]:
        tasks.put(x)
    queues.safe_reciprocal_worker(tasks, results)
    assert drain(results, 0.3) == [
        ("ok", 4, 0.25),
        ("error", 0, "ZeroDivisionError: division by zero"),
        ("error", "a", "TypeError: unsupported operand type(s) for /: 'int' and 'str'"),
    ]


# --- JoinableQueue -----------------------------------------------------------------


def test_joinable_consumer_marks_every_item_done():
    tasks, results = mp.JoinableQueue(), mp.Queue()
    for x in [1, 2, 3, None]:
        tasks.put(x)
    queues.joinable_consumer(tasks, results)
    assert queues.wait_until_done(tasks, timeout=5)
    assert drain(results, 0.3) == [1, 4, 9]


def test_wait_until_done_is_false_while_an_item_is_not_done():
    tasks = mp.JoinableQueue()
    tasks.put("never done")
    started = time.monotonic()
    assert queues.wait_until_done(tasks, timeout=0.2) is False
    assert time.monotonic() - started < 5
    tasks.get(timeout=5)
    tasks.task_done()  # lets the helper thread finish


def test_wait_until_done_rejects_bad_arguments():
    with pytest.raises(TypeError, match="tasks must be a JoinableQueue, got Queue"):
        queues.wait_until_done(mp.Queue())
    with pytest.raises(ValueError, match="timeout must be greater than 0"):
        queues.wait_until_done(mp.JoinableQueue(), timeout=0)


# --- pipelines, pools, the lab's workers -----------------------------------------


def test_stages_transform_and_forward_the_sentinel():
    a, b, c = mp.Queue(), mp.Queue(), mp.Queue()
    for x in [1, 2, 3, None]:
        a.put(x)
    queues.square_stage(a, b)
    queues.increment_stage(b, c)
    assert drain(c, 0.3) == [2, 5, 10, None]


def test_square():
    assert queues.square(7) == 49


def test_timed_producer_and_consumer_report_their_spans():
    q, report = mp.Queue(), mp.Queue()
    queues.timed_producer(q, report, 4, 0.0)
    queues.timed_consumer(q, report, 0.0)
    (who1, puts), (who2, gets) = report.get(timeout=5), report.get(timeout=5)
    assert (who1, who2) == ("producer", "consumer")
    assert len(puts) == len(gets) == 4
    assert all(start <= end for start, end in puts + gets)


# --- stopping a worker, timing claims ----------------------------------------------


@pytest.fixture
def as_in_a_kernel():
    """``ipc_helpers.interrupts`` installed, as importing the package does in a kernel."""
    from ipc_helpers import interrupts

    interrupts.install()
    yield
    interrupts.uninstall()


@pytest.mark.usefixtures("as_in_a_kernel")
@pytest.mark.parametrize(
    ("how", "exitcode", "said"),
    [("terminate", -15, None), ("kill", -9, None), ("interrupt", 1, "cleaned up")],
)
def test_worker_with_cleanup_runs_finally_only_on_sigint(how, exitcode, said, tmp_path):
    import os
    import signal

    from ipc_helpers.capture import child_stderr_to

    report = mp.Queue()
    log = str(tmp_path / "child.log")
    worker = mp.Process(target=child_stderr_to, args=(log, queues.worker_with_cleanup, report))
    worker.start()
    try:
        assert report.get(timeout=30) == "working"
        if how == "interrupt":
            os.kill(worker.pid, signal.SIGINT)  # what Process.interrupt() does (3.14+)
        else:
            getattr(worker, how)()
        worker.join(timeout=10)
        assert worker.exitcode == exitcode
        assert drain(report, 0.5) == ([said] if said else [])
        with open(log, encoding="utf-8") as f:
            assert f.read() == ""  # no KeyboardInterrupt traceback: a course child is quiet
    finally:
        stop([worker], timeout=1)


def test_expect_is_the_shared_one():
    """Notebook cells call ``queues.expect``: it is ``ipc_helpers.text.expect`` (tested there)."""
    from ipc_helpers import text

    assert queues.expect is text.expect
