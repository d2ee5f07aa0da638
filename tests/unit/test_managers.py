"""Unit tests of the workers and runners of notebook 04 (ipc_helpers.managers)."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from ipc_helpers import managers as m
from ipc_helpers.cleanup import stop


@pytest.fixture(scope="module")
def manager():
    with mp.Manager() as running:
        yield running


def test_add_one_and_locked_version_count_in_one_process(manager):
    d, lock = manager.dict(), manager.Lock()
    m.add_one(d)
    m.add_one_locked(d, lock)
    assert d["count"] == 2
    assert lock.acquire(timeout=1)  # released by add_one_locked
    lock.release()


def test_add_one_locked_gives_up_on_a_held_lock(manager):
    d, lock = manager.dict(), manager.Lock()
    assert lock.acquire(timeout=1)
    try:
        with pytest.raises(TimeoutError, match="no lock"):
            m.add_one_locked(d, lock, timeout=0.2)
    finally:
        lock.release()
    assert "count" not in d


def workers_alive() -> list:
    """Live children other than the server of the module's ``manager`` fixture."""
    return [p for p in mp.active_children() if not p.name.startswith("SyncManager")]


def test_race_without_lock_loses_updates(manager):
    result = m.run_race(manager, 4, rounds=20)
    assert result.rounds == 20 and result.processes == 4
    assert all(1 <= c <= 4 for c in result.counts)
    assert result.wrong_rounds > 0 and result.lost > 0  # 4 x 20 collisions: never all lucky
    assert workers_alive() == []


def test_race_with_lock_is_always_right(manager):
    result = m.run_race(manager, 4, rounds=10, use_lock=True)
    assert result.counts == [4] * 10
    assert (result.wrong_rounds, result.lost) == (0, 0)
    assert str(result) == "4 processes, with a lock: 0 of 10 rounds wrong, 0 of 40 increments lost"


def test_race_result_arithmetic():
    result = m.RaceResult(3, [3, 2, 1], use_lock=False)
    assert (result.rounds, result.wrong_rounds, result.lost) == (3, 2, 3)
    assert "2 of 3 rounds wrong, 3 of 9 increments lost" in str(result)


@pytest.mark.parametrize(
    "kwargs, error, word",
    [
        ({"processes": 1}, ValueError, "processes"),
        ({"processes": 33}, ValueError, "processes"),
        ({"processes": "4"}, TypeError, "processes"),
        ({"processes": 2, "rounds": 0}, ValueError, "rounds"),
        ({"processes": 2, "use_lock": 1}, TypeError, "use_lock"),
        ({"processes": 2, "timeout": None}, TypeError, "timeout"),
    ],
)
def test_run_race_rejects_bad_input(manager, kwargs, error, word):
    with pytest.raises(error, match=word):
        m.run_race(manager, **kwargs)


def test_run_race_needs_a_running_sync_manager():
    with pytest.raises(TypeError, match="manager"):
        m.run_race({}, 2)
    stopped = mp.Manager()
    stopped.shutdown()
    with pytest.raises(ValueError, match="running"):
        m.run_race(stopped, 2)


def test_count_workers_in_one_process(manager):
    d = manager.dict()
    start = mp.Barrier(1)
    m.count_in_dict(d, 5, start)
    m.count_in_dict(d, 5, start, manager.Lock())
    assert d["count"] == 10
    v = mp.Value("i", 0)
    m.count_in_value(v, 3, start)
    m.count_in_value(v, 3, start, use_lock=True)
    assert v.value == 6


def test_tour_types_uses_every_proxy(manager):
    d, items, ns = manager.dict(), manager.list(), manager.Namespace()
    total, lock, inbox = manager.Value("i", 0), manager.Lock(), manager.Queue()
    go_home, start = manager.Event(), manager.Barrier(1)
    go_home.set()
    m.tour_types(3, d, items, ns, total, lock, inbox, go_home, start)
    assert (d.copy(), items[:], ns.last, total.value) == ({"worker 3": 9}, [3], 3, 3)
    assert inbox.get(timeout=1) == "worker 3: done"


def test_tour_types_does_not_wait_forever_for_go_home(manager):
    args = [manager.dict(), manager.list(), manager.Namespace(), manager.Value("i", 0)]
    args += [manager.Lock(), manager.Queue(), manager.Event(), manager.Barrier(1)]
    with pytest.raises(TimeoutError, match="go_home"):
        m.tour_types(1, *args, timeout=0.2)


def test_peek_namespace_reports_what_a_child_sees(manager):
    ns, ready = manager.Namespace(), manager.Event()
    receive, send = mp.Pipe(duplex=False)
    child = mp.Process(target=m.peek_namespace, args=(ns, ["x", "_local"], ready, send))
    child.start()
    send.close()
    ns.x = [1]
    ns._local = "only on this proxy"
    ready.set()
    assert receive.poll(10)
    assert receive.recv() == {"x": [1], "_local": "<missing>"}
    assert stop([child], timeout=5) == [0]


def test_peek_namespace_does_not_wait_forever(manager):
    receive, send = mp.Pipe(duplex=False)
    with pytest.raises(TimeoutError, match="ready"):
        m.peek_namespace(manager.Namespace(), ["x"], manager.Event(), send, timeout=0.1)


def test_measure_costs_orders_the_operations(manager):
    costs = m.measure_costs(manager, calls=200)
    micro = costs.microseconds()
    assert list(micro) == [
        "plain dict d[k] = v",
        "locked Value += 1",
        "manager d[k] = v",
        "manager d[k] = d.get(k) + 1",
        "manager d.update(batch), per item",
    ]
    assert all(v > 0 for v in micro.values())
    assert micro["manager d[k] = v"] > 5 * micro["locked Value += 1"]
    assert micro["manager d.update(batch), per item"] < micro["manager d[k] = v"]
    with pytest.raises(ValueError, match="calls"):
        m.measure_costs(manager, calls=1)


def test_tally_counts_and_hides_private_methods():
    t = m.Tally()
    t.add("b")
    t.add_many({"a": 2, "b": 2})
    assert t.most_common(2) == [("b", 3), ("a", 2)]
    assert t.total() == 5
    t._reset()
    assert t.total() == 0


def test_tally_through_a_custom_manager_and_children():
    m.TallyManager.register("Tally", m.Tally)
    with m.TallyManager() as tm:
        tally = tm.Tally()
        children = [
            mp.Process(target=m.tally_words, args=(tally, text)) for text in ("a b a", "B c")
        ]
        for c in children:
            c.start()
        assert stop(children, timeout=10) == [0, 0]
        assert tally.total() == 5
        assert tally.most_common(1) == [("b", 2)] or tally.most_common(1) == [("a", 2)]
        with pytest.raises(AttributeError, match="_reset"):
            tally._reset()


def test_task_board_in_one_process():
    board = m.TaskBoard()
    assert board.take() is None
    board.post("one two")
    assert board.take() == "one two"
    board.finish("one two", 2)
    assert board.results() == {"one two": 2}


@pytest.mark.parametrize(
    "authkey, error, text",
    [
        ("secret", TypeError, "authkey must be bytes, not str"),
        (b"", ValueError, "authkey must not be empty"),
        (None, TypeError, "authkey must be bytes"),
        (bytearray(b"x"), TypeError, "authkey must be bytes"),
    ],
)
def test_check_authkey_rejects_bad_keys(authkey, error, text):
    with pytest.raises(error, match=text):
        m.check_authkey(authkey)


@pytest.mark.parametrize(
    "host, port, error, word",
    [
        ("0.0.0.0", 0, ValueError, "loopback"),
        ("192.168.1.10", 5000, ValueError, "loopback"),
        ("", 0, ValueError, "loopback"),
        (("127.0.0.1",), 0, TypeError, "host"),
        ("127.0.0.1", -1, ValueError, "port"),
        ("127.0.0.1", 65536, ValueError, "port"),
        ("127.0.0.1", "5000", TypeError, "port"),
    ],
)
def test_check_address_rejects_bad_addresses(host, port, error, word):
    with pytest.raises(error, match=word):
        m.check_address(host, port)
    with pytest.raises(error, match=word):
        m.start_board_server(b"key", port=port, host=host)
    assert workers_alive() == []


def test_check_address_accepts_loopback():
    assert m.check_address("localhost", 0) == ("localhost", 0)


def test_board_server_client_and_wrong_key():
    server = m.start_board_server(b"right key")
    try:
        host, port = server.address
        assert host == "127.0.0.1" and 0 < port < 65536
        board = server.get_board()
        for task in ("a b c", "d"):
            board.post(task)
        assert m.run_board_client(server.address, b"wrong key", timeout=10) == (
            "error",
            "AuthenticationError: digest sent was rejected",
        )
        assert m.run_board_client(server.address, b"right key", timeout=10) == ("done", 2)
        assert board.results() == {"a b c": 3, "d": 1}
    finally:
        server.shutdown()
    assert workers_alive() == []


def test_board_client_raises_without_a_report_pipe():
    server = m.start_board_server(b"k")
    try:
        with pytest.raises(mp.AuthenticationError, match="digest sent was rejected"):
            m.board_client(server.address, b"not k")
    finally:
        server.shutdown()


def test_run_board_client_reports_a_missing_server():
    server = m.start_board_server(b"k")
    address = server.address
    server.shutdown()
    status, detail = m.run_board_client(address, b"k", timeout=10)
    assert status == "error" and "ConnectionRefusedError" in detail


def test_run_board_client_rejects_bad_input():
    with pytest.raises(TypeError, match="authkey must be bytes, not str"):
        m.run_board_client(("127.0.0.1", 5000), "k")
    with pytest.raises(ValueError, match="loopback"):
        m.run_board_client(("10.0.0.1", 5000), b"k")
    with pytest.raises(TypeError, match="address"):
        m.run_board_client(["127.0.0.1", 5000], b"k")
    with pytest.raises(ValueError, match="timeout"):
        m.run_board_client(("127.0.0.1", 5000), b"k", timeout=0)
