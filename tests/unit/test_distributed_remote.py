"""Unit tests of notebook 06's queue served over TCP (ipc_helpers.distributed.remote).

Every program these tests start is a real separate process (``python -m
ipc_helpers.distributed.remote ...``), stopped by ``Programs`` at the end of
each test, whatever happens.
"""

from __future__ import annotations

import multiprocessing as mp
import os

import pytest

from ipc_helpers.distributed import remote

KEY = os.urandom(32)


def test_parse_address_accepts_loopback_only():
    assert remote.parse_address("127.0.0.1:8786") == ("127.0.0.1", 8786)
    assert remote.parse_address(("localhost", 0)) == ("localhost", 0)
    with pytest.raises(ValueError, match="loopback"):
        remote.parse_address("10.0.0.5:8786")
    with pytest.raises(ValueError, match="127.0.0.1:PORT"):
        remote.parse_address("127.0.0.1")
    with pytest.raises(ValueError, match="port"):
        remote.parse_address(("127.0.0.1", 70000))
    with pytest.raises(TypeError, match="address"):
        remote.parse_address(8786)


def test_a_str_key_is_refused_before_anything_starts():
    with remote.Programs() as programs, pytest.raises(TypeError, match="bytes"):
        programs.server("course-demo-key")
    assert programs.programs == []


def test_producer_and_two_worker_programs():
    with remote.Programs() as programs:
        server = programs.server(KEY)
        assert server.address.startswith("127.0.0.1:")
        workers = [programs.worker(server.address, KEY, name) for name in ("w1", "w2")]
        manager = remote.connect(server.address, KEY)
        tasks, results = manager.tasks(), manager.results()
        for i in range(6):
            tasks.put((i, i, 0.01))
        for _ in workers:
            tasks.put(None)
        done = remote.collect(results, 6, timeout=20)
        codes = [w.wait(timeout=20) for w in workers]
    assert {i: value for i, (_, value) in done.items()} == {i: i * i for i in range(6)}
    assert {name for name, _ in done.values()} <= {"w1", "w2"}
    assert codes == [0, 0]
    assert all(p.returncode is not None for p in programs.programs)


def test_a_worker_killed_mid_task_loses_its_task():
    with remote.Programs() as programs:
        server = programs.server(KEY)
        manager = remote.connect(server.address, KEY)
        tasks, results = manager.tasks(), manager.results()
        worker = programs.worker(server.address, KEY, "w1")
        tasks.put((0, 7, 30.0))
        assert remote.wait_until_started(results, timeout=20) == ("w1", 0)
        assert worker.kill() != 0
        assert remote.collect(results, 1, timeout=0.5) == {}
        assert tasks.qsize() == 0  # get() removed it: it exists nowhere


def test_the_server_is_a_single_point_of_failure():
    with remote.Programs() as programs:
        server = programs.server(KEY)
        manager = remote.connect(server.address, KEY)
        tasks, results = manager.tasks(), manager.results()
        worker = programs.worker(server.address, KEY, "w1")
        tasks.put((0, 1, 0.0))
        assert remote.wait_until_started(results, timeout=20) == ("w1", 0)  # it is connected
        server.kill()
        with pytest.raises((EOFError, OSError)):
            tasks.put((1, 1, 0.0))
        code = worker.wait(timeout=20)
        with pytest.raises(ConnectionRefusedError):
            remote.connect(server.address, KEY)
    assert code == 1 and remote.EXIT_CODES[code] == "lost the server"
    assert worker.error().split(":")[0] in ("EOFError", "ConnectionResetError", "BrokenPipeError")


def test_a_wrong_key_is_rejected_and_never_on_the_command_line():
    with remote.Programs() as programs:
        server = programs.server(KEY)
        intruder = programs.worker(server.address, b"a guessed key", "intruder")
        code = intruder.wait(timeout=20)
    assert code == 2
    assert intruder.error() == "AuthenticationError: digest sent was rejected"
    assert KEY.hex() not in " ".join(intruder.popen.args)
    assert b"a guessed key".hex() not in " ".join(intruder.popen.args)


def test_an_idle_worker_gives_up():
    with remote.Programs() as programs:
        server = programs.server(KEY)
        worker = programs.worker(server.address, KEY, "idle", idle_timeout=0.3)
        assert worker.wait(timeout=20) == 3


def test_programs_are_stopped_when_the_block_fails():
    with pytest.raises(RuntimeError, match="on purpose"), remote.Programs() as programs:
        programs.server(KEY)
        raise RuntimeError("on purpose")
    server = programs.programs[0]
    assert server.returncode is not None  # terminated, then waited for
    assert programs.stop() == [server.returncode]  # stopping again is harmless


def test_round_trip_is_measured_on_any_queue_proxy():
    with mp.Manager() as manager:
        seconds = remote.round_trip_seconds(manager.Queue(), calls=20, repeats=2)
    assert 0 < seconds < 0.1
    with pytest.raises(ValueError, match="calls"):
        remote.round_trip_seconds(None, calls=0)


def test_the_command_line_needs_the_key(monkeypatch, capsys):
    monkeypatch.delenv(remote.KEY_VARIABLE, raising=False)
    with pytest.raises(SystemExit):
        remote.main(["work", "--address", "127.0.0.1:1", "--name", "w"])
    assert remote.KEY_VARIABLE in capsys.readouterr().err


def test_work_reports_a_missing_server_with_exit_code_1(monkeypatch):
    monkeypatch.setenv(remote.KEY_VARIABLE, KEY.hex())
    # Port 1 on loopback: nothing listens there, the connection is refused.
    assert remote.main(["work", "--address", "127.0.0.1:1", "--name", "w"]) == 1


def test_worker_argument_checks():
    with remote.Programs() as programs:
        with pytest.raises(ValueError, match="idle_timeout"):
            programs.worker("127.0.0.1:1", KEY, "w", idle_timeout=0)
        with pytest.raises(TypeError, match="name"):
            programs.worker("127.0.0.1:1", KEY, 7)
    assert programs.programs == []
