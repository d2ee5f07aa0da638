"""The leak checks see every leftover worker, under every start method (issue 21.2).

Before, any process whose command line held ``multiprocessing.forkserver``
counted as a helper, so a forkserver *worker* left running (a fork of the
server, with its command line) passed the leak check unseen.
"""

from __future__ import annotations

import multiprocessing
import os
import time

import psutil
import pytest

from tests.processes import is_mp_helper, strays

from .conftest import run_harness, write_notebook


def _start(method: str) -> multiprocessing.Process:
    proc = multiprocessing.get_context(method).Process(target=time.sleep, args=(60,))
    proc.start()
    return proc


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_a_live_worker_is_a_stray(method):
    proc = _start(method)
    try:
        assert proc.pid in [p.pid for p in strays(os.getpid())]
        assert not is_mp_helper(psutil.Process(proc.pid))
    finally:
        proc.kill()
        proc.join(5)


def test_the_forkserver_server_and_the_resource_tracker_are_helpers():
    proc = _start("forkserver")
    try:
        worker = psutil.Process(proc.pid)
        server = worker.parent()
        assert "multiprocessing.forkserver" in " ".join(server.cmdline())
        assert is_mp_helper(server)
        trackers = [
            p
            for p in psutil.Process().children()
            if "multiprocessing.resource_tracker" in " ".join(p.cmdline())
        ]
        assert trackers and all(is_mp_helper(p) for p in trackers)
        assert server.pid not in [p.pid for p in strays(os.getpid())]
    finally:
        proc.kill()
        proc.join(5)


def test_the_leak_check_fails_a_notebook_that_leaves_a_forkserver_worker(notebook_dir):
    notebook = write_notebook(
        notebook_dir / "leaves_a_worker.ipynb",
        "import multiprocessing, time\n"
        "p = multiprocessing.Process(target=time.sleep, args=(60,))\n"
        "p.start()",
    )
    result = run_harness(notebook, "forkserver")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "child processes still alive at the end of the notebook" in result.stdout
    assert "multiprocessing.forkserver" in result.stdout  # the worker, named by its command line
