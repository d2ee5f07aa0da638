"""Checkers of notebook 05: what the contract table (contract_cases/bench.py) does not cover.

The verdicts on right and wrong answers are rows of the contract table.
Here: how the winners of the races are read from a run, and that an
interrupted batching check ends at once, with nothing left behind (issue 22).
"""

from __future__ import annotations

import _thread
import multiprocessing as mp
import threading
import time

from ipc_helpers.exercises import bench as ex
from tests.unit.contract_cases.bench import PIPE_WON_16, QUEUE_WON, TYPICAL, run


def test_measured_winners_follow_the_run():
    assert ex.measured_winners(TYPICAL) == ex.TYPICAL
    assert ex.measured_winners(QUEUE_WON)["small_round_trip"] == "Queue"
    assert ex.measured_winners(PIPE_WON_16)["array_16MiB"] == "Pipe"
    slow_batches = run()
    slow_batches.find("queue_batched", "items/s").median = 1e4
    assert ex.measured_winners(slow_batches)["many_small_items"] == "one per message"


def send_all(q, items):
    for start in range(0, len(items), 100):
        q.put(items[start : start + 100])
    q.put(None)


def test_an_interrupted_batching_check_ends_at_once_and_leaves_nothing(monkeypatch):
    monkeypatch.setenv("IPC_HELPERS_STRICT", "0")
    for delay in (0.15, 0.4):  # issue 22: 0.15 s in, the old checker hung for more than 60 s
        timer = threading.Timer(delay, _thread.interrupt_main)
        timer.start()
        started = time.monotonic()
        try:
            feedback = ex.check_batching(send_all)
        finally:
            timer.cancel()
        ended = time.monotonic() - started - delay
        if feedback.status == "correct":  # the check was faster than the interrupt
            continue
        assert feedback.status == "interrupted", feedback
        assert "you stopped the check" in feedback.message
        assert ended < 5.0
        assert mp.active_children() == []
