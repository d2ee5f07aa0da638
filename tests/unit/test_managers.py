"""Unit tests of the workers and runners of notebook 04 (ipc_helpers.managers)."""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.managers import SyncManager

import pytest

from ipc_helpers import managers as m
from ipc_helpers.cleanup import stop


@pytest.fixture(scope="module")
def manager():
    with mp.Manager() as running:
        yield running


def test_increment_count_and_locked_version_count_in_one_process(manager):
    d, lock = manager.dict(), manager.Lock()
    m.increment_count(d)
    m.increment_count_locked(d, lock)
    assert d["count"] == 2
    assert lock.acquire(timeout=1)  # released by increment_count_locked
    lock.release()


def workers_alive() -> list:
    """Live children other than the server of the module's ``manager`` fixture."""
    return [p for p in mp.active_children() if not p.name.startswith("SyncManager")]


def test_race_without_lock_loses_updates(manager):
    result = m.run_dict_race(manager, 4, rounds=20)
    assert result.rounds == 20 and result.processes == 4
    assert all(1 <= c <= 4 for c in result.counts)
    assert result.wrong_rounds > 0 and result.lost > 0  # 4 x 20 collisions: never all lucky
    assert workers_alive() == []


def test_race_with_one_shared_lock_is_always_right(manager):
    result = m.run_dict_race(manager, 4, rounds=10, locking="one shared lock")
    assert result.counts == [4] * 10
    assert (result.wrong_rounds, result.lost) == (0, 0)
    assert str(result) == (
        "4 processes, one shared lock: 0 of 10 rounds wrong, 0 of 40 increments lost"
    )


def test_race_with_a_lock_each_protects_nothing(manager):
    result = m.run_dict_race(manager, 4, rounds=20, locking="a lock each")
    assert result.wrong_rounds > 0 and result.lost > 0
    assert workers_alive() == []


def test_race_result_arithmetic():
    result = m.DictRace(3, [3, 2, 1], locking="no lock")
    assert (result.rounds, result.wrong_rounds, result.lost) == (3, 2, 3)
    assert "no lock: 2 of 3 rounds wrong, 3 of 9 increments lost" in str(result)


@pytest.mark.parametrize(
    "kwargs, error, word",
    [
        ({"processes": 1}, ValueError, "processes"),
        ({"processes": 33}, ValueError, "processes"),
        ({"processes": "4"}, TypeError, "processes"),
        ({"processes": 2, "rounds": 0}, ValueError, "rounds"),
        ({"processes": 2, "locking": "a lock"}, ValueError, "locking"),
        ({"processes": 2, "timeout": None}, TypeError, "timeout"),
    ],
)
def test_run_dict_race_rejects_bad_input(manager, kwargs, error, word):
    with pytest.raises(error, match=word):
        m.run_dict_race(manager, **kwargs)


def test_run_dict_race_needs_a_running_sync_manager():
    with pytest.raises(TypeError, match="manager"):
        m.run_dict_race({}, 2)
    stopped = mp.Manager()
    stopped.shutdown()
    with pytest.raises(ValueError, match="running"):
        m.run_dict_race(stopped, 2)


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


def test_after_shutdown_a_proxy_fails_differently_by_thread_and_process():
    with mp.Manager() as other:
        items = other.list([1])
        assert items[:] == [1]  # this thread now has a connection to the server
    assert m.outcome(items.append, 2) == "BrokenPipeError"
    assert m.outcome_in_new_thread(items.append, 2) == "FileNotFoundError"
    assert m.outcome_in_new_process(items, 2) == "FileNotFoundError"
    assert workers_alive() == []


def test_after_shutdown_a_tcp_proxy_fails_differently_by_thread_and_process():
    server = SyncManager(address=("127.0.0.1", 0))
    server.start()
    items = server.list([1])
    assert items[:] == [1]
    server.shutdown()
    assert [m.outcome(items.append, 2) for _ in range(2)] == ["EOFError", "BrokenPipeError"]
    assert m.outcome_in_new_thread(items.append, 2) == "ConnectionRefusedError"
    assert m.outcome_in_new_process(items, 2) == "ConnectionRefusedError"


def test_outcome_says_ok_when_nothing_fails(manager):
    items = manager.list()
    assert m.outcome(items.append, 1) == "ok"
    assert m.outcome_in_new_thread(items.append, 2) == "ok"
    assert m.outcome_in_new_process(items, 3) == "ok"
    assert sorted(items) == [1, 2, 3]


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
        # 04 runs its client cell again after an interrupt: tasks left behind are cleared
        board.post("left behind")
        board.clear()
        assert m.run_board_client(server.address, b"right key", timeout=10) == ("done", 0)
        assert board.results() == {}
    finally:
        server.shutdown()
    assert workers_alive() == []


def test_board_client_exits_with_1_when_it_cannot_connect():
    server = m.start_board_server(b"k")
    try:
        receive, send = mp.Pipe(duplex=False)
        client = mp.Process(target=m.board_client, args=(server.address, b"not k", send))
        client.start()
        send.close()
        assert receive.poll(10)
        assert receive.recv() == ("error", "AuthenticationError: digest sent was rejected")
        assert stop([client], timeout=10) == [1]
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
