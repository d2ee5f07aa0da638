"""Unit tests of notebook 06's dask helpers (ipc_helpers.distributed: cluster, flow,
memory, recorder, state, tasks, travel), on one small LocalCluster for the module."""

from __future__ import annotations

import _thread
import asyncio
import contextlib
import mmap
import multiprocessing as mp
import os
import pickle
import signal
import sys
import threading
import time
import types

import cloudpickle
import distributed
import numpy as np
import psutil
import pytest

from ipc_helpers import interrupts
from ipc_helpers.cleanup import live_children
from ipc_helpers.distributed import cluster as dc
from ipc_helpers.distributed import flow, memory, state, tasks, travel
from ipc_helpers.distributed.recorder import recording

#: Run in one unit stage only (``one_stage``): dask starts its workers with its own
#: multiprocessing context (its setting ``distributed.worker.multiprocessing-method``,
#: "spawn"; ``test_dask_starts_its_workers_with_its_own_context``), whatever the course's
#: start method, and every Python here has the same dask. 06 runs on Python 3.11 in the
#: suite's oldest-Python notebook stage.
pytestmark = pytest.mark.one_stage


@pytest.fixture(scope="module")
def client():
    cluster, client = dc.start_local_cluster(n_workers=2)
    yield client
    dc.close_cluster(cluster, client)
    assert live_children() == []  # the workers ended with the cluster


# --- cluster ------------------------------------------------------------------------


def test_start_checks_its_arguments_before_starting_anything():
    with pytest.raises(ValueError, match="n_workers"):
        dc.start_local_cluster(n_workers=0)
    with pytest.raises(TypeError, match="memory_limit"):
        dc.start_local_cluster(memory_limit=400)
    assert live_children() == []


def test_the_cluster_is_two_loopback_workers(client):
    lines = dc.describe_cluster(client)
    assert lines[0] == "scheduler: tcp://127.0.0.1, in this kernel's process"
    assert lines[1:] == [
        f"worker {i}: tcp://127.0.0.1, its own process, 1 thread, memory limit 400 MiB"
        for i in range(2)
    ]
    pids = dc.worker_pids(client)
    assert len(pids) == 2 and all(a.startswith("tcp://127.0.0.1:") for a in pids)


def test_everything_listens_on_loopback_only(client):
    me = psutil.Process()
    listening = [
        c.laddr
        for p in [me, *me.children(recursive=True)]
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    ]
    assert listening, "the scheduler, workers and dashboard listen somewhere"
    assert {a.ip for a in listening} == {"127.0.0.1"}


def test_dashboard_url_here_and_on_a_jupyterhub(client):
    assert dc.dashboard_url(client, {}) == client.dashboard_link
    assert client.dashboard_link.startswith("http://127.0.0.1:")
    port = client.dashboard_link.rsplit(":", 1)[1].split("/")[0]
    proxied = dc.dashboard_url(client, {"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"})
    assert proxied == f"/user/ada/proxy/{port}/status"


def test_bounded_call_gives_up_and_passes_errors_on():
    with pytest.raises(TimeoutError, match="0.1 s"):
        dc.bounded_call(lambda: time.sleep(1), timeout=0.1)
    with pytest.raises(KeyError):
        dc.bounded_call(lambda: {}["missing"])
    assert dc.bounded_call(lambda: 42) == 42


def test_an_interrupt_lets_the_start_or_close_finish_first():
    finished = threading.Event()

    def slow() -> None:
        time.sleep(0.5)
        finished.set()

    threading.Timer(0.1, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        dc._finish_in_thread(slow, grace=5.0)
    assert finished.is_set()


def test_an_abandoned_start_is_undone_when_it_finishes():
    undone = threading.Event()
    interrupted_at: list[float] = []

    def interrupt() -> None:
        interrupted_at.append(time.monotonic())
        _thread.interrupt_main()

    threading.Timer(0.1, interrupt).start()
    with pytest.raises(KeyboardInterrupt):
        dc._finish_in_thread(lambda: time.sleep(3.0), grace=0.1, cleanup=undone.set)
    # The interrupt won after the grace, long before the start would have finished
    # (timed from the interrupt itself: on a busy machine the timer can fire late).
    assert time.monotonic() - interrupted_at[0] < 1.5 and not undone.is_set()
    assert undone.wait(10.0)  # ... and the late finish cleaned up after itself


def test_gather_is_bounded(client):
    futures = client.map(tasks.slow_square, range(4), seconds=0.0, pure=False)
    assert dc.gather(client, futures, timeout=30) == [0, 1, 4, 9]
    slow = client.submit(tasks.slow_square, 2, 2.0, pure=False)
    with pytest.raises(TimeoutError):
        dc.gather(client, [slow], timeout=0.2)


def _cancel_a_fetch_before_it_starts(client, futures):
    """What an interrupt does when it lands just as a ``result()`` or ``gather`` fetches.

    The fetch's inner request is cancelled before its first step, so it never
    clears ``client._gather_future``. Returns that cancelled request.
    """

    async def cancel() -> object:
        fetch = asyncio.ensure_future(client._gather(futures))
        while client._gather_future is None:  # until the fetch made its request
            await asyncio.sleep(0)
        request = client._gather_future
        fetch.cancel()  # the request has not run yet: it is cancelled with the fetch
        with contextlib.suppress(asyncio.CancelledError):
            await fetch
        return request

    return client.sync(cancel)


@pytest.mark.parametrize("safe", [True, False], ids=["course client", "dask client"])
def test_results_still_come_after_an_interrupted_fetch(client, safe):
    """dask/distributed issue 8514, and the course's fix (``InterruptSafeClient``).

    If the "dask client" case starts to pass, dask fixed the issue: then the
    course's client can go, and this test with it.
    """
    assert isinstance(client, dc.InterruptSafeClient)
    futures = client.map(tasks.slow_square, range(3), seconds=0.0, pure=False)
    assert dc.gather(client, futures, timeout=30) == [0, 1, 4]
    if not safe:  # the same state, fetched past the fix
        client._gather = types.MethodType(distributed.Client._gather, client)
    try:
        stale = _cancel_a_fetch_before_it_starts(client, futures)
        assert stale.cancelled() and client._gather_future is stale
        if safe:
            assert futures[2].result(timeout=30) == 4
            assert dc.gather(client, futures, timeout=30) == [0, 1, 4]
        else:
            with pytest.raises(UnboundLocalError, match="'result'"):
                futures[2].result(timeout=30)
    finally:
        vars(client).pop("_gather", None)
        client._gather_future = None if client._gather_future is stale else client._gather_future


def test_a_killed_worker_s_task_runs_again_elsewhere(client):
    future = client.submit(tasks.square_where, 7, 1.0, pure=False)
    address, killed = dc.kill_worker_running(client, future, timeout=30)
    value, pid = future.result(timeout=60)
    assert value == 49 and pid != killed
    client.wait_for_workers(2, timeout=60)
    assert killed not in dc.worker_pids(client).values()


def test_after_an_interrupted_cell_the_nannys_new_worker_is_left_running(client):
    watch = interrupts._CellWatch()
    watch.pre_run_cell()
    future = client.submit(tasks.square_where, 7, 1.0, pure=False)
    _, killed = dc.kill_worker_running(client, future, timeout=30)
    client.wait_for_workers(2, timeout=60)  # the nanny started a new worker in this "cell"
    replacement = [p for p in mp.active_children() if p not in watch.before]
    assert replacement and all(id(p) in interrupts._owners().kept for p in replacement)
    watch.post_run_cell(types.SimpleNamespace(error_in_exec=KeyboardInterrupt()))
    assert all(p.is_alive() for p in replacement)  # the cluster's, not the cell's
    assert future.result(timeout=60)[0] == 49
    assert killed not in dc.worker_pids(client).values() and len(dc.worker_pids(client)) == 2


def test_dask_starts_its_workers_with_its_own_context(client):
    """Why these tests run in one stage: the course's start method does not reach dask."""
    import dask

    assert dask.config.get("distributed.worker.multiprocessing-method") == "spawn"
    for pid in dc.worker_pids(client).values():
        assert "spawn_main" in " ".join(psutil.Process(pid).cmdline())


def test_a_worker_the_nanny_is_starting_survives_an_interrupt(client):
    """Kernel → Interrupt reaches the kernel's whole process group, a worker starting too.

    Without ``interrupts.is_dask_worker``, the interrupt killed a replacement that was
    still importing dask (exit code 1), and its nanny started yet another one.
    """
    was_installed = interrupts.installed()
    interrupts.install()
    try:
        future = client.submit(tasks.square_where, 7, 1.0, pure=False)
        before = set(mp.active_children())
        dc.kill_worker_running(client, future, timeout=30)  # returns once a replacement exists
        replacement = [p for p in mp.active_children() if p not in before]
        assert len(replacement) == 1
        os.kill(replacement[0].pid, signal.SIGINT)  # while it still imports dask
        client.wait_for_workers(2, timeout=60)
        assert replacement[0].is_alive(), f"exit code {replacement[0].exitcode}"
        assert replacement[0].pid in dc.worker_pids(client).values()
        assert future.result(timeout=60)[0] == 49
    finally:
        if not was_installed:
            interrupts.uninstall()


def test_the_workers_ignore_kernel_interrupt(client):
    pids = dc.worker_pids(client)
    for pid in pids.values():
        os.kill(pid, signal.SIGINT)  # what Kernel → Interrupt sends them
    time.sleep(0.5)
    assert dc.worker_pids(client) == pids
    assert client.submit(tasks.slow_square, 5, 0.0, pure=False).result(timeout=30) == 25


def test_ignore_interrupts_only_in_the_main_thread():
    from ipc_helpers.distributed.worker_setup import ignore_interrupts

    before = signal.getsignal(signal.SIGINT)
    try:
        worker = threading.Thread(target=ignore_interrupts)
        worker.start()
        worker.join()
        assert signal.getsignal(signal.SIGINT) is before  # a thread may not change it
        ignore_interrupts()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_kill_worker_running_any_gives_up_without_such_a_task(client):
    with pytest.raises(TimeoutError, match="no nothing_here task"):
        dc.kill_worker_running_any(client, "nothing_here", timeout=0.3)
    stop = threading.Event()
    stop.set()
    with pytest.raises(TimeoutError):
        dc.kill_worker_running_any(client, "nothing_here", stop, timeout=30)


# --- travel -------------------------------------------------------------------------


def shout(word: str) -> str:
    return word.upper() + "!"


def test_a_main_function_travels_by_value_only(monkeypatch):
    main = sys.modules["__main__"]
    monkeypatch.setattr(shout, "__module__", "__main__")
    monkeypatch.setattr(main, "shout", shout, raising=False)
    by_reference = travel.load_in_fresh_python(pickle.dumps(shout))
    assert by_reference == "AttributeError: Can't get attribute 'shout'"
    assert travel.load_in_fresh_python(cloudpickle.dumps(shout)) == "HELLO!"


def test_a_module_function_travels_by_reference():
    assert travel.load_in_fresh_python(pickle.dumps(tasks.noop)) == "hello"


def test_root_cause_names_what_cannot_travel(client):
    for thing, words in [
        (threading.Lock(), "cannot pickle '_thread.lock' object"),
        ((n for n in range(3)), "cannot pickle 'generator' object"),
    ]:
        with pytest.raises(TypeError) as caught:
            client.submit(tasks.noop, thing)
        assert travel.root_cause(caught.value) == f"TypeError: {words}"
    assert travel.root_cause(ValueError("plain")) == "ValueError: plain"


# --- flow, memory, recorder ------------------------------------------------------


def test_bounded_submission_holds_at_most_limit_plus_one(client):
    with recording(client, "process_payload") as seen:
        assert flow.submit_bounded(client, 20, 1000, 0.0, limit=3) == list(range(20))
    assert seen.runs == 20 and 2 <= seen.peak_held <= 4
    assert seen.peak_running >= 1


def test_unbounded_submission_holds_everything(client):
    with recording(client, "process_payload") as seen:
        assert flow.submit_unbounded(client, 20, 100_000, 0.0) == list(range(20))
    assert seen.peak_held == 20
    assert seen.peak_held_bytes >= 20 * 100_000


def test_scatter_sends_the_array_once(client):
    array = np.arange(400_000, dtype=float)
    with recording(client, "block_sum") as every_time:
        sums = flow.sum_sending_every_time(client, array, 4)
    with recording(client, "block_sum") as once:
        assert flow.sum_scattering_once(client, array, 4) == sums
    assert sums == [tasks.block_sum(array, i, 4) for i in range(4)]
    assert every_time.inline_bytes >= 4 * array.nbytes
    assert {r.dependency_bytes for r in every_time.records} == {0}
    assert once.inline_bytes < array.nbytes / 10
    assert {r.dependency_bytes for r in once.records} == {array.nbytes}


def test_executor_loops_match_the_dask_ones():
    with flow.process_pool(max_workers=2) as pool:
        assert flow.executor_bounded(pool, 10, 100, 0.0, limit=2) == list(range(10))
        assert flow.executor_unbounded(pool, 10, 100, 0.0) == list(range(10))
        with pytest.raises(ValueError, match="limit"):
            flow.executor_bounded(pool, 10, 100, 0.0, limit=0)


def test_per_task_costs(client):
    with flow.process_pool(max_workers=2) as pool:
        costs = flow.per_task_costs(client, pool, calls=3, many=20, repeats=2)
        with pytest.raises(ValueError, match="repeats must be at least 1"):
            flow.per_task_costs(client, pool, repeats=0)
    assert set(costs) == {
        "dask, one at a time",
        "process pool, one at a time",
        "dask, many at once",
        "process pool, many at once",
    }
    assert all(0 < seconds < 5 for seconds in costs.values())


def test_peak_memory_sees_an_allocation():
    seen = []
    for _ in range(3):  # a child of an earlier test that ends meanwhile lowers the total
        with memory.PeakMemory(interval=0.005) as peak:
            # Fresh pages from the kernel: a malloc'd block could reuse memory that earlier
            # tests freed and that is still resident (it then adds nothing to the RSS).
            block = mmap.mmap(-1, 50_000_000)
            for offset in range(0, len(block), mmap.PAGESIZE):
                block[offset] = 1  # touch every page
            time.sleep(0.05)
        block.close()
        seen.append(peak.extra_mb)
        if peak.extra_mb > 30:
            break
    assert max(seen) > 30, seen
    assert memory.tree_rss() > 0


def test_measure_and_trim(client):
    memory.trim_memory(client)
    cost = flow.measure("nap", lambda: time.sleep(0.05))
    assert cost.label == "nap" and cost.seconds >= 0.05


# --- state --------------------------------------------------------------------------


def test_counting_four_ways(client):
    results = {r.way: r for r in state.count_four_ways(client, times=10)}
    assert list(results) == [
        "Variable, get then set",
        "Variable inside a Lock",
        "actor",
        "return the counts",
    ]
    assert all(r.expected == 20 for r in results.values())
    assert results["Variable, get then set"].count <= 20
    for way in ("Variable inside a Lock", "actor", "return the counts"):
        assert results[way].count == 20, way
    with pytest.raises(ValueError, match="times"):
        state.count_four_ways(client, times=0)


# --- tasks --------------------------------------------------------------------------


def test_tasks(tmp_path):
    assert tasks.slow_square(3, 0.0) == 9
    assert tasks.noop("x") == "x"
    assert tasks.process_payload(tasks.make_payload(12, 100)) == 12
    assert len(tasks.make_payload(1, 100)) == 100
    array = np.arange(10.0)
    assert sum(tasks.block_sum(array, i, 3) for i in range(3)) == array.sum()
    with pytest.raises(ValueError, match="i"):
        tasks.block_sum(array, 3, 3)
    with pytest.raises(TypeError, match="array"):
        tasks.block_sum([1, 2], 0, 1)
    with pytest.raises(tasks.TransientError, match="item 5"):
        tasks.flaky_square(5, str(tmp_path), 0.0)
    assert tasks.flaky_square(5, str(tmp_path), 0.0) == 25
    assert tasks.count_locally(7) == 7
    counter = tasks.Counter()
    assert [counter.add(), counter.add(2)] == [1, 3]


def test_starting_again_closes_the_cluster_started_before(monkeypatch):
    monkeypatch.setattr(dc, "_latest", {})  # leave the module's own cluster alone
    first_cluster, first_client = dc.start_local_cluster(n_workers=1)
    first_pids = set(dc.worker_pids(first_client).values())
    second_cluster, second_client = dc.start_local_cluster(n_workers=1)
    try:
        assert first_client.status == "closed"
        assert not any(psutil.pid_exists(pid) for pid in first_pids)
        assert len(dc.worker_pids(second_client)) == 1
    finally:
        dc.close_cluster(second_cluster, second_client)
    assert dc._latest == {}


def test_the_process_pool_is_started_and_ignores_interrupts():
    with flow.process_pool(max_workers=2) as pool:
        pids = {p.pid for p in pool._processes.values()}
        assert len(pids) == 2
        for pid in pids:
            os.kill(pid, signal.SIGINT)
        time.sleep(0.3)
        assert pool.submit(tasks.pause, 0.0).result(timeout=30) == 0.0
