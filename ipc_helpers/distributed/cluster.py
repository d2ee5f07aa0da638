"""A small ``dask.distributed`` cluster on this machine: start it, look at it, break it, close it.

- ``start_local_cluster``/``close_cluster``: two worker processes, one thread
  each, a memory limit that fits Binder, everything on ``127.0.0.1``, no log
  lines in the notebook; safe to interrupt (nothing is left running);
- ``cluster_of_programs``: the same, with worker *programs* and no nanny
  (a dead worker stays dead): what the exercise checkers break on purpose;
- ``describe_cluster``, ``worker_pids``, ``dashboard_url`` (on Binder too);
- ``gather`` and ``bounded_call``: waits with a bound, for the calls that
  have no ``timeout`` of their own;
- ``kill_worker_running``: a worker lost in the middle of a task;
- ``InterruptSafeClient``: the ``Client`` both clusters use, which still
  works after Kernel → Interrupt stopped one of its waits.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psutil
from distributed import Client, LocalCluster, wait
from distributed.utils import key_split

from ..capture import capture_stderr
from ..cleanup import WatchedThread
from ..validation import check_int, check_timeout, check_type

#: Memory limit of each worker. Binder gives a whole session about 2 GB; the
#: notebook's kernel plus two such workers stay well under 1 GB in practice.
MEMORY_LIMIT = "400MiB"

#: Seconds any wait on the cluster may take in this module, unless told otherwise.
TIMEOUT = 30.0

#: The module every worker runs as it starts (it ignores Kernel → Interrupt).
WORKER_SETUP = "ipc_helpers.distributed.worker_setup"


# --------------------------------------------------------------------------
# Starting and closing
# --------------------------------------------------------------------------


class InterruptSafeClient(Client):
    """dask's ``Client``, still usable after an interrupt stopped a ``result()`` or ``gather``.

    dask 2026.8 runs every fetch of results through one shared request,
    ``_gather_future``, which the request clears once it starts. An interrupt
    that lands just before it starts cancels it and leaves it in place, and
    then every later ``result()`` and ``gather`` of that client waits on the
    cancelled request and fails with ``UnboundLocalError: cannot access local
    variable 'result'`` (dask/distributed issue 8514). A finished request is
    never still in use, so this client drops it before each fetch.
    """

    async def _gather(self, *args: Any, **kwargs: Any) -> Any:
        stale = self._gather_future
        if stale is not None and stale.done():
            self._gather_future = None
        return await super()._gather(*args, **kwargs)


#: Seconds an interrupted start or close may go on before the interrupt wins.
GRACE = 4.0


def _finish_in_thread(
    func: Callable[[], Any], grace: float = GRACE, cleanup: Callable[[], Any] | None = None
) -> Any:
    """Run ``func`` in a helper thread and return its result (or raise its error).

    An interrupt (Ctrl-C, Jupyter's stop button) is seen at once, but does not
    abandon ``func`` half-way: it gets ``grace`` more seconds, then the
    interrupt is raised again. ``cleanup`` undoes what ``func`` made: it runs
    after an interrupt, here if ``func`` had already finished, else in the
    helper thread as soon as ``func`` finishes, however late.
    """
    outcome: dict[str, Any] = {}
    state = {"abandoned": False}
    returned = threading.Event()  # set before a late clean-up, unlike helper.finished
    lock = threading.Lock()

    def target() -> None:
        try:
            outcome["value"] = func()
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc
        finally:
            with lock:
                returned.set()
                late = state["abandoned"]
            if late and cleanup is not None:
                with contextlib.suppress(Exception):
                    cleanup()

    helper = WatchedThread(target, name="ipc-course-cluster")
    try:
        helper.start()
        while not returned.wait(0.1):  # short slices: an interrupt is seen at once
            pass
    except KeyboardInterrupt:
        with lock:
            state["abandoned"] = True
            done = returned.is_set()
        if done and cleanup is not None:
            cleanup()
        elif not done:
            returned.wait(grace)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


#: The cluster ``start_local_cluster`` started last, and its client.
_latest: dict[str, Any] = {}


def start_local_cluster(
    n_workers: int = 2, memory_limit: str = MEMORY_LIMIT, timeout: float = 60.0
) -> tuple[LocalCluster, Client]:
    """Start a ``LocalCluster`` of ``n_workers`` processes and a ``Client``.

    Each worker is its own process (``processes=True``) with one thread and
    ``memory_limit``. The scheduler, the workers and the dashboard listen on
    ``127.0.0.1`` only, on ports the OS picks. Log lines are silenced (they
    would make the notebook's output change from run to run).

    One at a time: the cluster this function started before (if it is still
    running) is closed first, so running a notebook cell again does not leave
    its first cluster behind. If anything fails or you interrupt the start,
    whatever was started is closed again before the error reaches you.
    """
    n_workers = check_int("n_workers", n_workers, minimum=1, maximum=8)
    check_type("memory_limit", memory_limit, str)
    timeout = check_timeout("timeout", timeout)
    if _latest:
        close_cluster(_latest["cluster"], _latest["client"])
    made: dict[str, Any] = {}

    def start() -> tuple[LocalCluster, Client]:
        made["cluster"] = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.CRITICAL,
            preload=[WORKER_SETUP],  # the workers ignore Kernel → Interrupt
        )
        made["client"] = InterruptSafeClient(made["cluster"], timeout=timeout)
        made["client"].wait_for_workers(n_workers, timeout=timeout)
        _latest.update(made)
        return made["cluster"], made["client"]

    def undo() -> None:
        if _latest.get("cluster") is made.get("cluster"):
            _latest.clear()
        _close(made.get("cluster"), made.get("client"), timeout=GRACE)

    try:
        # The workers inherit descriptor 2 as they start: a worker interrupted
        # before its preload ran (Kernel → Interrupt reaches them all) would
        # print its traceback into the cell. Their stderr goes to a file instead.
        with capture_stderr():
            return _finish_in_thread(start, cleanup=undo)
    except Exception:
        undo()
        raise


def _close(cluster: LocalCluster | None, client: Client | None, timeout: float) -> None:
    if client is not None:
        with contextlib.suppress(Exception):
            client.close(timeout=timeout)
    if cluster is not None:
        with contextlib.suppress(Exception):
            cluster.close(timeout=timeout)


def close_cluster(cluster: LocalCluster, client: Client, timeout: float = TIMEOUT) -> None:
    """Close ``client``, then ``cluster`` (its workers end), within about ``timeout`` s.

    After an interrupt the closing goes on for a few seconds more, then in
    the background.
    """
    timeout = check_timeout("timeout", timeout)
    if _latest.get("cluster") is cluster:
        _latest.clear()
    _finish_in_thread(lambda: _close(cluster, client, timeout))


@contextlib.contextmanager
def cluster_of_programs(
    n_workers: int = 2, memory_limit: str = MEMORY_LIMIT, timeout: float = 60.0
) -> Iterator[Client]:
    """A cluster built the way real ones are: a scheduler, and worker *programs*.

    The scheduler runs in this process (a ``LocalCluster`` with no workers of
    its own); each worker is a separate program, ``python -m
    distributed.cli.dask_worker ADDRESS --no-nanny ...`` (the ``dask worker``
    command), that finds the scheduler by its address. Without a nanny, a
    worker that dies stays dead, like a machine that is gone. Everything
    listens on ``127.0.0.1``. Yields a ``Client``; when the block ends (even
    by an error or an interrupt) the programs are stopped and the scheduler
    closed.
    """
    n_workers = check_int("n_workers", n_workers, minimum=1, maximum=8)
    check_type("memory_limit", memory_limit, str)
    timeout = check_timeout("timeout", timeout)
    made: dict[str, Any] = {}
    programs: list[subprocess.Popen] = []

    def start() -> Client:
        made["cluster"] = LocalCluster(
            n_workers=0,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.CRITICAL,
        )
        made["client"] = InterruptSafeClient(made["cluster"], timeout=timeout)
        address = made["cluster"].scheduler_address
        for i in range(n_workers):
            programs.append(_worker_program(address, f"program-{i}", memory_limit))
        made["client"].wait_for_workers(n_workers, timeout=timeout)
        return made["client"]

    def undo() -> None:
        _stop_programs(programs)
        _close(made.get("cluster"), made.get("client"), timeout=GRACE)

    try:
        yield _finish_in_thread(start, cleanup=undo)
    finally:
        undo()


def _worker_program(address: str, name: str, memory_limit: str) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "distributed.cli.dask_worker", address,
        "--no-nanny", "--nthreads", "1", "--memory-limit", memory_limit, "--name", name,
        "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0", "--preload", WORKER_SETUP,
    ]  # fmt: skip
    return subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _stop_programs(programs: list[subprocess.Popen], grace: float = 0.5) -> None:
    """Terminate, then kill what is left after ``grace`` s; wait for every program."""
    for p in programs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + grace
    for p in programs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(max(0.01, deadline - time.monotonic()))
        if p.poll() is None:
            p.kill()
            p.wait(5.0)


def scheduler_identity(client: Client, timeout: float = TIMEOUT) -> dict[str, Any]:
    """The scheduler's description of itself and of every worker, asked now.

    Not ``client.scheduler_info()``: that returns an attribute which the
    client's own periodic update (every 2 s, without the workers) may replace
    just before it is read, so its ``"workers"`` is sometimes empty.
    """
    identity = client.scheduler.identity
    return bounded_call(lambda: client.sync(identity, n_workers=-1), timeout)


def describe_cluster(client: Client) -> list[str]:
    """One line per worker: threads and memory limit; addresses without ports."""
    info = scheduler_identity(client)
    lines = [f"scheduler: {_host(info['address'])}, in this kernel's process"]
    for i, (address, worker) in enumerate(sorted(info["workers"].items())):
        mib = worker["memory_limit"] / 2**20
        lines.append(
            f"worker {i}: {_host(address)}, its own process, "
            f"{worker['nthreads']} thread, memory limit {mib:.0f} MiB"
        )
    return lines


def _host(address: str) -> str:
    """``tcp://127.0.0.1:PORT`` without the port (it changes at every start)."""
    return address.rsplit(":", 1)[0]


def bounded_call(func: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    """``func()``, run in a helper thread; ``TimeoutError`` if it takes over ``timeout`` s.

    For the few client calls that have no ``timeout`` of their own
    (``client.run``): the call is abandoned, not the notebook.
    """
    timeout = check_timeout("timeout", timeout)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = func()
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="ipc-course-call", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def worker_pids(client: Client, timeout: float = TIMEOUT) -> dict[str, int]:
    """``{worker address: process id}``, asked of each worker."""
    return bounded_call(lambda: client.run(os.getpid), timeout)


def dashboard_url(client: Client, environ: dict[str, str] | None = None) -> str:
    """The address of the dashboard as you can open it.

    On a JupyterHub such as Binder (``JUPYTERHUB_SERVICE_PREFIX`` is set), the
    browser cannot reach ``127.0.0.1`` of the server; ``jupyter-server-proxy``
    forwards ``<prefix>proxy/<port>/status`` to it. Elsewhere, the direct link.
    """
    environ = dict(os.environ if environ is None else environ)
    link = client.dashboard_link
    prefix = environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if not prefix:
        return link
    port = link.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[-1]
    return f"{prefix.rstrip('/')}/proxy/{port}/status"


def gather(client: Client, futures: Sequence[Any], timeout: float = TIMEOUT) -> list[Any]:
    """``client.gather(futures)``, waiting at most ``timeout`` s for them to finish."""
    wait(list(futures), timeout=check_timeout("timeout", timeout))
    return client.gather(list(futures))


# --------------------------------------------------------------------------
# Failure
# --------------------------------------------------------------------------


def kill_worker_running(client: Client, future: Any, timeout: float = TIMEOUT) -> tuple[str, int]:
    """Wait until ``future``'s task runs on a worker, then kill that worker's process.

    Like pulling a machine's plug: SIGKILL on Unix, ``TerminateProcess`` on
    Windows (through ``psutil``). Returns the worker's address and process id
    once the nanny has started a replacement process (or after ``timeout``
    s): the replacement's stderr goes to a file, as in ``start_local_cluster``.
    """
    deadline = time.monotonic() + check_timeout("timeout", timeout)
    while time.monotonic() < deadline:
        running = [a for a, keys in client.processing().items() if future.key in keys]
        if running and future.status == "pending":
            address = running[0]
            pid = worker_pids(client)[address]
            before = {p.pid for p in mp.active_children()}
            with capture_stderr():
                psutil.Process(pid).kill()
                _wait_for_new_child(before, deadline)
            return address, pid
        time.sleep(0.02)
    raise TimeoutError(f"the task did not start within {timeout:g} s")


def _wait_for_new_child(known: set[int], deadline: float) -> None:
    """Wait (until ``deadline``) for a ``multiprocessing`` child not in ``known``."""
    while time.monotonic() < deadline:
        if any(p.pid not in known for p in mp.active_children()):
            return
        time.sleep(0.02)


def kill_worker_running_any(
    client: Client, prefix: str, stop: threading.Event | None = None, timeout: float = TIMEOUT
) -> tuple[str, int]:
    """Kill the first worker seen running a task named ``prefix`` (a function's name).

    Waits at most ``timeout`` s, or until ``stop`` is set. Returns the
    worker's address and process id; ``TimeoutError`` if no such task ran.
    """
    check_type("prefix", prefix, str)
    deadline = time.monotonic() + check_timeout("timeout", timeout)
    pids = worker_pids(client)
    while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
        for address, keys in client.processing().items():
            if any(key_split(k) == prefix for k in keys):
                pid = pids.get(address) or worker_pids(client)[address]
                psutil.Process(pid).kill()
                return address, pid
        time.sleep(0.01)
    raise TimeoutError(f"no {prefix} task ran within {timeout:g} s")
