"""cleanup.stop ends what must end, within its bound, and joins everything."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time

import pytest

from ipc_helpers.cleanup import (
    _join_all,
    _uninterrupted,
    ipc_entries,
    live_children,
    nothing_left_running,
    stop,
    track,
)


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


def test_a_child_that_is_ending_is_not_a_leak(monkeypatch):
    monkeypatch.setenv("IPC_HELPERS_STRICT", "1")
    ending = mp.Process(target=time.sleep, args=(1.0,), name="ending")
    ending.start()  # alive now, gone within the closing cell's grace
    assert nothing_left_running().startswith("Nothing left running")
    assert ending.exitcode == 0


class EndsBetweenTwoLooks:
    """A process that is alive at the first look and gone at the next (B's race)."""

    pid = 1

    def __init__(self) -> None:
        self.looks = 0

    def is_alive(self) -> bool:
        self.looks += 1
        return self.looks == 1

    def join(self, timeout: float | None = None) -> None:
        return None


def test_a_process_ending_between_two_looks_is_no_error():
    _join_all([EndsBetweenTwoLooks()], time.monotonic() + 1)  # was: StopIteration


def interrupt_in(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_cleanup_is_not_cut_short_and_the_interrupt_is_raised_after_it():
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        done = []
        timer = interrupt_in(0.1)
        assert _uninterrupted(lambda: (time.sleep(0.5), done.append(1))) is True
        assert done == [1]
        timer.join()
        p = mp.Process(target=time.sleep, args=(60,))
        with pytest.raises(KeyboardInterrupt), track(grace=0.5) as started:
            p.start()
            timer = interrupt_in(0.3)
            started._finish = _slow(started._finish)  # the interrupt lands during the cleanup
        timer.join()
        assert not p.is_alive() and started.leftover  # stopped, then the interrupt was raised
    finally:
        signal.signal(signal.SIGINT, old)


def test_an_interrupt_while_the_helper_thread_starts_does_not_cut_the_cleanup_short(
    monkeypatch,
):
    """Thread.start() waits for the new thread to say it started; on a busy machine that
    wait is long enough for an interrupt to land in it (it did, in the suite)."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    start = threading.Thread.start
    sent = []

    def start_interrupted(self) -> None:
        if not sent:  # once: the first start
            sent.append(True)
            os.kill(os.getpid(), signal.SIGINT)  # lands inside WatchedThread.start()
            time.sleep(0.05)
        start(self)

    monkeypatch.setattr(threading.Thread, "start", start_interrupted)
    done = []
    try:
        said = _uninterrupted(lambda: (time.sleep(0.2), done.append(1)))
    except KeyboardInterrupt:
        pytest.fail("the interrupt escaped while the helper thread started")
    finally:
        signal.signal(signal.SIGINT, old)
    assert said is True
    assert done == [1]  # the cleanup ran to its end before the interrupt was reported


def _slow(finish):
    def slowly(grace: float) -> None:
        time.sleep(0.5)
        finish(grace)

    return slowly
