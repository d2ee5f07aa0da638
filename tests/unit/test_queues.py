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


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda q: queues.producer(q, -1), ValueError, "n_items must be at least 0"),
        (lambda q: queues.producer(q, "3"), TypeError, "n_items must be a whole number"),
        (lambda q: queues.producer(q, 1, delay=-1), ValueError, "delay must be at least 0"),
        (lambda q: queues.tagged_producer(q, "A", 2.5), TypeError, "n_items"),
        (
            lambda q: queues.consumer(q, q, n_sentinels=0),
            ValueError,
            "n_sentinels must be at least 1",
        ),
        (lambda q: queues.consumer(q, q, timeout=None), TypeError, "None \\(wait forever\\)"),
        (lambda q: queues.consumer(q, q, timeout=0), ValueError, "timeout must be greater than 0"),
        (lambda q: queues.put_bytes(q, -5), ValueError, "n_bytes must be at least 0"),
        (lambda q: queues.get_one(q, q, timeout="1"), TypeError, "timeout must be a number"),
        (lambda q: queues.reciprocal_worker(q, q, timeout=-1), ValueError, "timeout"),
        (lambda q: queues.safe_reciprocal_worker(q, q, timeout=None), TypeError, "timeout"),
        (lambda q: queues.joinable_consumer(q, q, timeout=0), ValueError, "timeout"),
        (lambda q: queues.square_stage(q, q, timeout=None), TypeError, "timeout"),
        (lambda q: queues.timed_producer(q, q, -1, 0.0), ValueError, "n_items"),
        (lambda q: queues.timed_consumer(q, q, "fast"), TypeError, "interval must be a number"),
    ],
)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call(mp.Queue())


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


def test_join_before_drain_hangs_one_byte_over_the_pipe():
    fits = queues.largest_bytes_item(queues.pipe_capacity())
    q_ok, q_stuck = mp.Queue(), mp.Queue()
    ok = mp.Process(target=queues.put_bytes, args=(q_ok, fits))
    stuck = mp.Process(target=queues.put_bytes, args=(q_stuck, fits + 1))
    ok.start()
    stuck.start()
    ok.join(20)
    stuck.join(1.5)
    try:
        assert ok.exitcode == 0
        assert stuck.is_alive()
    finally:
        stop([ok, stuck], timeout=0.1)
    assert len(q_ok.get(timeout=5)) == fits


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
