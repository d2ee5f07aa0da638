"""cleanup.stop ends what must end, within its bound, and joins everything."""

from __future__ import annotations

import multiprocessing as mp
import os
import time

import pytest

from ipc_helpers.cleanup import ipc_entries, live_children, nothing_left_running, stop


def test_stop_joins_finished_processes():
    procs = [mp.Process(target=time.sleep, args=(0.01,)) for _ in range(2)]
    for p in procs:
        p.start()
    assert stop(procs, timeout=10) == [0, 0]
    assert live_children() == []


def test_stop_terminates_a_process_that_hangs():
    p = mp.Process(target=time.sleep, args=(60,))
    p.start()
    started = time.monotonic()
    codes = stop([p], timeout=0.5)
    assert time.monotonic() - started < 5
    assert codes == [-15]
    assert not p.is_alive()


def test_stop_accepts_a_process_never_started():
    assert stop([mp.Process(target=time.sleep, args=(0,))], timeout=1) == [None]


def test_stop_rejects_bad_arguments():
    with pytest.raises(TypeError, match=r"processes\[0\] must be BaseProcess"):
        stop([os.getpid()])
    with pytest.raises(TypeError, match="timeout must be a number of seconds"):
        stop([], timeout=None)


def test_ipc_entries_lists_shared_memory(tmp_path):
    (tmp_path / "psm_abc").write_text("")
    (tmp_path / "sem.mp-xyz").write_text("")
    (tmp_path / "other").write_text("")
    expected = ["psm_abc", "sem.mp-xyz"] if os.uname().sysname == "Linux" else []
    assert ipc_entries(str(tmp_path)) == expected
    with pytest.raises(TypeError, match="directory must be str"):
        ipc_entries(1)


def test_nothing_left_running_says_so_or_stops_what_is_left(monkeypatch):
    monkeypatch.delenv("IPC_HELPERS_STRICT", raising=False)
    assert nothing_left_running() == (
        "Nothing left running: every process this notebook started has ended."
    )
    p = mp.Process(target=time.sleep, args=(60,), name="forgotten")
    p.start()
    assert nothing_left_running() == "Stopped 1 process(es) that were still running: forgotten."
    assert not p.is_alive()
    q = mp.Process(target=time.sleep, args=(60,), name="leaked")
    q.start()
    monkeypatch.setenv("IPC_HELPERS_STRICT", "1")
    with pytest.raises(
        AssertionError, match=r"still running at the end of the notebook: \['leaked'\]"
    ):
        nothing_left_running()
    stop([q], timeout=0.1)
