"""Starting a team of workers, meeting them at a barrier, waiting for them (ipc_helpers.workers)."""

from __future__ import annotations

import multiprocessing as mp
import time

import pytest

from ipc_helpers import managers, workers
from ipc_helpers.capture import capture_stderr
from ipc_helpers.cleanup import stop, track


def report_done(report) -> None:
    """Child: say it ran."""
    report.send("done")
    report.close()


def wait_at(barrier) -> None:
    """Child: pass ``barrier`` once."""
    barrier.wait(10)


def test_start_workers_names_the_worker_and_wait_for_returns_the_exit_codes():
    receive, send = mp.Pipe(duplex=False)
    with track() as started:
        (child,) = workers.start_workers(report_done, [(send,)])
        send.close()
        assert receive.poll(10) and receive.recv() == "done"
        assert workers.wait_for([child], time.monotonic() + 10) == [0]
    (record,) = started.processes
    assert (record.target, record.module) == ("report_done", __name__)
    assert child.daemon


def test_start_workers_takes_a_start_method():
    barrier = mp.get_context("spawn").Barrier(1)  # referenced until the child used it
    (child,) = workers.start_workers(wait_at, [(barrier,)], "spawn")
    assert workers.wait_for([child], time.monotonic() + 30) == [0]


def test_wait_for_bounds_the_wait():
    barrier = mp.Barrier(2)
    team = workers.start_workers(wait_at, [(barrier,)])
    with pytest.raises(TimeoutError, match="did not finish in time"):
        workers.wait_for(team, time.monotonic() + 0.3)  # a party of 2, only 1 comes
    stop(team, timeout=1)


def test_wait_for_calls_on_failure_once_when_a_worker_fails():
    barrier, aborted = mp.Barrier(2), []

    def abort() -> None:
        aborted.append(1)
        barrier.abort()  # the waiting worker raises BrokenBarrierError at once

    with capture_stderr():  # the children's tracebacks
        waiting = workers.start_workers(wait_at, [(barrier,)])
        failing = workers.start_workers(managers.increment_count, [(None,)])  # exit code 1
        codes = workers.wait_for(waiting + failing, time.monotonic() + 20, on_failure=abort)
    assert codes == [1, 1] and aborted == [1]  # without abort() the worker waits 10 s


def test_meet_passes_the_barrier_with_every_worker():
    barrier = mp.Barrier(3)
    team = workers.start_workers(wait_at, [(barrier,)] * 2)
    workers.meet(barrier, team, time.monotonic() + 30)
    assert workers.wait_for(team, time.monotonic() + 10) == [0, 0]


def test_meet_says_when_a_worker_ended_instead_of_coming():
    barrier = mp.Barrier(2)
    with capture_stderr():
        team = workers.start_workers(managers.increment_count, [(None,)])  # fails at once
        with pytest.raises(RuntimeError, match=r"a worker ended early \(exit code 1\)"):
            workers.meet(barrier, team, time.monotonic() + 30)


def test_meet_is_bounded_by_its_deadline():
    barrier = mp.Barrier(3)  # 2 workers are expected, 1 comes
    team = workers.start_workers(wait_at, [(barrier,)])
    with pytest.raises(TimeoutError, match="did not finish in time"):
        workers.meet(barrier, team + team, time.monotonic() + 0.3)
    stop(team, timeout=1)
