"""Kernel → Interrupt, made clean for every cell of the course.

JupyterLab's Kernel → Interrupt sends ``SIGINT`` to the kernel *and* to every
child process it started. Without help, each child prints a
``Process Process-3: Traceback … KeyboardInterrupt`` wall into the cell, an
interrupt that lands while the kernel forks is lost, and a child that missed
it keeps running. ``install()`` fixes that for the whole kernel; it runs when
``ipc_helpers`` is imported in an IPython kernel (``install_in_ipython``), so
notebooks need nothing per cell.

Course processes end quietly. A child whose code is the course's (its target
comes from ``ipc_helpers``, or it is a ``ProcessPoolExecutor`` worker or a
manager's server, or a course runner or checker started it) ends on
``SIGINT`` as ``KeyboardInterrupt`` ends it (``finally`` blocks run,
``except KeyboardInterrupt`` works, exit code 1) but without multiprocessing's
report of it. Every other traceback (a worker's ``ValueError``, a worker
defined in a cell that a ``spawn`` child cannot find) is printed as usual.
A ``Pool`` worker ignores ``SIGINT``: killed while it waits for a task it can
leave the pool's task queue locked, and ``with Pool`` would then hang in
``terminate()``; the pool stops its workers.
A course child interrupted while it is still starting dies of the signal
(exit code ``-2``) before it runs any code of the learner: such a child starts
with ``SIGINT`` blocked (the blocked mask survives ``fork`` and ``exec``), and
unblocks it once its handler is in place.

Learners' own processes (``Process(target=f)`` with ``f`` from a notebook cell
or from their own module, started outside a course runner) behave as in any
Python: they print their traceback when interrupted.

The kernel does not lose an interrupt during ``Process.start()``. When
``SIGINT`` lands while the main thread forks, CPython runs the handler inside
logging's at-fork hook, prints the ``KeyboardInterrupt`` as "Exception ignored"
and goes on. ``start()`` in the main thread therefore holds the interrupt back
and raises it once the child has started (and is known, so it can be stopped).
Nor does it lose a child's exit status: an interrupt that lands just as
``join()`` reaps a child would leave that child "alive" for ever (``_poll``).

After an interrupted cell, the processes that cell started and that still run
(they missed the signal, or ignore it) are stopped (the workers of a running
pool, executor or dask nanny excepted: their owner stops them), with one line saying so; so
is the server of a manager whose ``shutdown()`` the interrupt cut short (that
manager's ``shutdown()`` does nothing when called again, and its server would
run until the kernel ends); and this thread's
connections to managers are closed, because a manager call cut short leaves
its answer unread and every later call would read the previous call's answer.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing import connection, popen_fork, process, resource_tracker, util
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from .interrupt_traceback import show_in_full, show_interrupt

#: True where signals can be blocked per thread (Linux, macOS; not Windows).
SIGNALS = os.name == "posix" and hasattr(signal, "pthread_sigmask")
#: Processes whose code is the course's: one of these kinds, or a target from this package.
COURSE_KINDS = ("pool worker", "executor worker", "manager")
#: What the kernel says after it stopped what an interrupted cell had left running.
STOPPED = "Kernel → Interrupt: stopped {n} process(es) that this cell had started: {names}."
#: What it says after it stopped a manager's server whose ``shutdown()`` the interrupt cut short.
SERVER_STOPPED = "Kernel → Interrupt cut a manager's shutdown() short: stopped its server {names}."

_PACKAGE = __name__.partition(".")[0]
#: (module, target) of the processes a dask nanny starts: distributed's ``AsyncProcess``.
_DASK_WORKER = ("distributed.process", "AsyncProcess._run")
_KEY = "_ipc_helpers_start"  # attribute on every Process started while installed
_INT = {signal.SIGINT}
_BOOTSTRAP = BaseProcess._bootstrap.__code__
_PRINT_EXC = traceback.print_exc.__code__


# --- in a child ------------------------------------------------------------------


def _running_target() -> bool:
    """True once ``_bootstrap`` runs this process (before: it is still being unpickled)."""
    return process.parent_process() is not None


def _die_of_interrupt() -> None:
    """End this child at once, as an unhandled SIGINT does (exit code -2), printing nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if SIGNALS:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _INT)
    os.kill(os.getpid(), signal.SIGINT)
    os._exit(128 + signal.SIGINT)  # not reached where signals work


def _end_quietly(signum: int, frame: FrameType | None) -> None:
    """SIGINT in a course child: ``KeyboardInterrupt``, without multiprocessing's report."""
    if not _running_target():
        _die_of_interrupt()
    if sys.stderr is not None and not isinstance(sys.stderr, _WithoutInterruptReport):
        sys.stderr = _WithoutInterruptReport(sys.stderr)
    raise KeyboardInterrupt


def _reports_the_interrupt(frame: FrameType | None) -> bool:
    """True if ``frame`` is multiprocessing reporting a ``KeyboardInterrupt`` that ended the child.

    ``BaseProcess._bootstrap`` writes ``Process <name>:`` and calls
    ``traceback.print_exc()`` for an exception that escaped ``run()``. Code
    that ``run()`` called (the learner's) is never matched.
    """
    if not isinstance(sys.exc_info()[1], KeyboardInterrupt):
        return False
    callee = None
    while frame is not None:
        if frame.f_code is _BOOTSTRAP:
            return callee is None or callee.f_code is _PRINT_EXC
        callee, frame = frame, frame.f_back
    return False


class _WithoutInterruptReport:
    """``sys.stderr`` of a course child after Ctrl-C: everything but the interrupt's report."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if _reports_the_interrupt(sys._getframe(1)):
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Arrival:
    """Carried by a ``Process``: sets up the child's SIGINT when the child starts.

    A ``fork`` child finds it on its process object (an after-fork hook); a
    ``spawn`` or ``forkserver`` child unpickles it with the process object,
    before ``run()``, and unpickling it does the work (``_arrive``).
    """

    def __init__(self, quiet: bool, kind: str, deaf: bool) -> None:
        self.quiet = quiet
        self.kind = kind
        self.deaf = deaf  # started with SIGINT blocked on purpose: leave it blocked

    def __reduce__(self) -> tuple[Callable[..., _Arrival], tuple[bool, str, bool]]:
        return _arrive, (self.quiet, self.kind, self.deaf)


def _arrive(quiet: bool, kind: str, deaf: bool) -> _Arrival:
    """In a new child, before its code runs: set up SIGINT, then unblock it.

    A course child gets the quiet handler, and an interrupt that came while it
    was starting (held back: blocked, or recorded by the parent's ``start()``)
    ends it at once, quietly. A ``Pool`` worker ignores SIGINT: killed by
    Ctrl-C while it waits for a task, it can leave the pool's task queue
    locked, and ``terminate()`` (``with Pool``) would then wait for ever; its
    pool stops it. A learner's child gets an early interrupt as
    ``KeyboardInterrupt``, as without the course. A child its parent started
    with SIGINT blocked on purpose (``deaf``) keeps it blocked, under every
    start method.
    """
    recorded = _DEFERRAL.pending == os.getpid()  # the parent's own interrupt is not this child's
    if signal.getsignal(signal.SIGINT) is _record:  # a fork child of a held-back start
        signal.signal(signal.SIGINT, _DEFERRAL.previous)
    _DEFERRAL.reset()
    if kind == "pool worker":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        quiet, recorded = False, False
    elif quiet:
        signal.signal(signal.SIGINT, _end_quietly)
        _patch()  # its own children are course processes too
    if deaf:  # a fork server's child has the server's mask: block it here too
        if SIGNALS:
            signal.pthread_sigmask(signal.SIG_BLOCK, _INT)
        return _Arrival(quiet, kind, deaf)
    if quiet and (recorded or (SIGNALS and signal.SIGINT in signal.sigpending())):
        _die_of_interrupt()
    if SIGNALS:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _INT)  # a blocked one arrives now
    if recorded:
        raise KeyboardInterrupt
    return _Arrival(quiet, kind, deaf)


def _after_fork(_: object) -> None:
    """After-fork hook, in every ``fork`` child (multiprocessing runs it before ``run()``)."""
    arrival = getattr(process.current_process(), _KEY, None)
    if isinstance(arrival, _Arrival):
        _arrive(arrival.quiet, arrival.kind, arrival.deaf)


class _HookOwner:
    """``util.register_after_fork`` keeps a weak reference to an object: this one."""


_HOOK_OWNER = _HookOwner()
util.register_after_fork(_HOOK_OWNER, _after_fork)


# --- in the parent: starting a process ----------------------------------------------


class _Deferral:
    """An interrupt held back while the main thread starts a process."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.active = False
        self.pending = 0  # the pid of the process that got one (a fork child inherits this)
        self.previous: Any = signal.default_int_handler


_DEFERRAL = _Deferral()


def _record(signum: int, frame: FrameType | None) -> None:
    _DEFERRAL.pending = os.getpid()


@contextlib.contextmanager
def _held_back() -> Iterator[None]:
    """In the main thread: record SIGINT instead of raising it; raise it after the block.

    Once the kernel's own handler is back, a new interrupt may raise
    ``KeyboardInterrupt`` at any line, so the bookkeeping is done before.
    """
    if threading.current_thread() is not threading.main_thread() or _DEFERRAL.active:
        yield
        return
    _DEFERRAL.pending = 0
    _DEFERRAL.previous = signal.signal(signal.SIGINT, _record)
    _DEFERRAL.active = True
    try:
        yield
    finally:
        _DEFERRAL.active = False
        # signal.signal first runs the handler (_record) for a signal just arriving.
        signal.signal(signal.SIGINT, _DEFERRAL.previous)
    if _DEFERRAL.pending == os.getpid():
        raise KeyboardInterrupt


@contextlib.contextmanager
def _blocked(tracker: bool) -> Iterator[None]:
    """Block SIGINT in this thread: processes started meanwhile start with it blocked.

    ``tracker``: start the resource tracker first. When it starts, CPython's
    ``resource_tracker.ensure_running`` unblocks SIGINT in the calling thread
    (a ``spawn`` or ``forkserver`` start, and the fork server, start it).
    """
    if not SIGNALS:
        yield
        return
    if tracker:
        resource_tracker.ensure_running()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _INT)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def is_course_process(proc: BaseProcess) -> bool:
    """True if ``proc`` (not started yet) runs the course's code (see the module's docstring)."""
    from . import cleanup

    _, module, kind = cleanup.describe(proc)
    if kind in COURSE_KINDS or module.partition(".")[0] == _PACKAGE:
        return True
    return any(tracker._concerns_me() for tracker in cleanup._active)


def is_dask_worker(proc: BaseProcess) -> bool:
    """True if ``proc`` (not started yet) is a worker process that a dask nanny starts.

    It must ignore Kernel → Interrupt from its first instruction. The course's
    preload (``ipc_helpers.distributed.worker_setup``) makes it ignore SIGINT
    only once dask is imported, a second or more later (several under load):
    an interrupt meanwhile killed it, and its nanny started yet another one.
    """
    from . import cleanup

    target, module, _ = cleanup.describe(proc)
    return (module, target) == _DASK_WORKER


def _start(self: BaseProcess) -> None:
    """``BaseProcess.start``: SIGINT set up in the child, the parent's interrupt not lost.

    A dask nanny's worker starts with SIGINT blocked and keeps it blocked
    (``deaf``) until its preload ignores it.
    """
    from . import cleanup

    quiet = is_course_process(self)
    dask_worker = SIGNALS and is_dask_worker(self)
    blocked = SIGNALS and signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    deaf = dask_worker or blocked
    setattr(self, _KEY, _Arrival(quiet, cleanup.describe(self)[2], deaf))
    fresh = cleanup._start_method(self) != "fork"
    with _held_back(), _blocked(fresh) if quiet or dask_worker else contextlib.nullcontext():
        _original["start"](self)


def _forkserver_ensure_running(self: Any) -> None:
    """Start the fork server with SIGINT blocked: its children then start with it blocked."""
    with _blocked(tracker=True):
        _original["ensure_running"](self)


def _poll(self: Any, flag: int = os.WNOHANG) -> int | None:
    """``Popen.poll`` of ``fork`` and ``spawn`` children: an interrupt cannot lose the exit status.

    CPython reaps the child with ``os.waitpid`` and stores its status on the
    next line. A ``KeyboardInterrupt`` raised in between (Kernel → Interrupt
    reaches the parent just as its interrupted child exits) loses the status
    for good: ``is_alive()`` says True for ever, ``exitcode`` stays None (CPython
    issues 92881 and 130895 describe the same gap between two threads). Here the
    reap and the store happen with the interrupt held back; a blocking wait
    (``join()``) waits for the child's sentinel first, so it stays interruptible.
    """
    if self.returncode is None and flag == 0:
        connection.wait([self.sentinel])  # ready once the child has exited
    while self.returncode is None:
        with _held_back():
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except OSError:  # not (or no longer) our child: no status, as in CPython
                return None
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        if flag != 0:
            break
        if self.returncode is None:
            time.sleep(0.001)  # exited, not yet reaped: a moment more
    return self.returncode


# --- in the kernel: after an interrupted cell -------------------------------------------


def forget_manager_connections() -> None:
    """Close this thread's connections to every manager; the next call opens a fresh one.

    A manager call interrupted between its request and its answer leaves the
    answer unread on the connection that all proxies of that manager share
    in this thread: every later call would read the previous call's answer.
    """
    from multiprocessing.managers import BaseProxy

    for tls, _ in list(getattr(BaseProxy, "_address_to_local", {}).values()):
        connection = getattr(tls, "connection", None)
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()
            del tls.connection


class _CellWatch:
    """IPython callbacks: after an interrupted cell, stop what it left running."""

    def __init__(self) -> None:
        # The processes themselves, not their id(): a process reaped during the cell
        # could be freed, and a new one started by the cell could get its id.
        self.before: set[BaseProcess] = set()
        self.last_error: BaseException | None = None

    def pre_run_cell(self, info: Any = None) -> None:
        self.before = set(process._children)
        self.last_error = getattr(sys, "last_value", None)

    def post_execute(self) -> None:
        """Before the inline backend draws the cell's figures: after an interrupt, drop them.

        Drawing half-made figures on a busy machine can take longer than the
        5 s in which an interrupted cell must end.
        """
        error = getattr(sys, "last_value", None)  # set by IPython when a cell fails
        pyplot = sys.modules.get("matplotlib.pyplot")
        if (
            pyplot is not None
            and isinstance(error, KeyboardInterrupt)
            and error is not self.last_error
        ):
            pyplot.close("all")

    def post_run_cell(self, result: Any) -> None:
        show_in_full(getattr(result, "error_in_exec", None))
        if not _came_from_an_interrupt(getattr(result, "error_in_exec", None)):
            return
        from .cleanup import _uninterrupted
        from .text import wrap

        forget_manager_connections()
        owners = _owners()
        new = [p for p in process.active_children() if p not in self.before]
        left = [p for p in new if id(p) not in owners.kept]
        servers = [p for p in owners.cut_short if p not in left]
        if not left and not servers:
            return
        # a second or so to end by themselves first
        _uninterrupted(_stop_all, owners.half_made, left + servers, 1.0)
        killed = (-signal.SIGTERM, -signal.SIGKILL)
        for message, group in ((STOPPED, left), (SERVER_STOPPED, servers)):
            stopped = sorted(p.name for p in group if p.exitcode in killed)
            if stopped:
                print(wrap(message.format(n=len(stopped), names=", ".join(stopped))))


def _came_from_an_interrupt(error: BaseException | None) -> bool:
    """True for a ``KeyboardInterrupt``, or an error raised while one was handled.

    An interrupt that cuts a manager call or a ``with`` block short often ends
    the cell with the error that followed it (``EOFError``, ``BrokenPipeError``).
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


@dataclass
class _Owners:
    """What one pass over this process's objects found (``_owners``)."""

    #: ``id()`` of every child that a running pool, executor or dask nanny owns.
    kept: set[int] = field(default_factory=set)
    #: Running servers of managers whose ``shutdown()`` began but did not finish.
    cut_short: list[BaseProcess] = field(default_factory=list)
    #: Worker handler threads of pools whose ``__init__`` an interrupt cut short.
    half_made: list[threading.Thread] = field(default_factory=list)


def _owners() -> _Owners:
    """Find the owners of this process's children, in one pass (a second under load).

    ``kept``: a running pool, executor or dask nanny stops its workers, and
    replaces one that dies (a pool worker stopped while it holds the pool's
    queue lock would wedge the pool; a dask nanny restarts its worker). An
    interrupt that lands while a pool starts its workers leaves workers that
    no pool will ever stop (the half-made pool is gone): those are not kept,
    and are stopped like any other process of the cell.

    ``half_made``: a pool interrupted after its worker handler thread started,
    before ``__init__`` finished, is never used (the pool object itself may be
    gone), yet that thread starts a new worker for every one that dies:
    stopping its workers is not enough.

    ``cut_short``: ``shutdown()`` of a manager is a one-shot finalizer: it
    unregisters itself first, then asks the server to end and waits for it.
    An interrupt in between leaves a server that no later ``shutdown()`` (nor
    the ``with`` block, nor the kernel's exit) will ever stop.
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.managers import BaseManager
    from multiprocessing.pool import RUN, Pool

    nanny = sys.modules.get("distributed.nanny")  # only if the kernel uses dask
    running = process.active_children()
    found = _Owners()
    pools: list[Pool] = []
    for obj in gc.get_objects():
        if isinstance(obj, Pool) and getattr(obj, "_state", None) == RUN:
            found.kept.update(id(w) for w in getattr(obj, "_pool", ()))
            pools.append(obj)
        elif isinstance(obj, ProcessPoolExecutor) and not getattr(obj, "_shutdown_thread", True):
            found.kept.update(id(w) for w in (getattr(obj, "_processes", None) or {}).values())
        elif nanny is not None and isinstance(obj, nanny.Nanny):
            found.kept.update(_worker_of(obj))
        elif isinstance(obj, BaseManager) and _shutdown_cut_short(obj, running):
            found.cut_short.append(obj._process)
    running_pools = {id(getattr(obj, "_worker_handler", None)) for obj in pools}
    found.half_made = [
        thread
        for thread in threading.enumerate()
        if getattr(getattr(thread, "_target", None), "__func__", None)
        is Pool._handle_workers.__func__
        and getattr(thread, "_state", None) == RUN
        and id(thread) not in running_pools
    ]
    return found


def _stop_all(
    handlers: list[threading.Thread], processes: list[BaseProcess], timeout: float
) -> None:
    """Stop the worker ``handlers`` of half-made pools, then ``processes``."""
    from multiprocessing.pool import TERMINATE

    from .cleanup import stop

    for handler in handlers:
        handler._state = TERMINATE  # type: ignore[attr-defined]
        with contextlib.suppress(Exception):
            handler._args[-1].put(None)  # type: ignore[attr-defined]  # its change_notifier
    for handler in handlers:
        handler.join(1.0)
    stop(processes, timeout)


#: States of a dask nanny that no longer looks after its worker.
_NANNY_GONE = ("closing", "closed", "failed", "stopping", "stopped")


def _worker_of(nanny: Any) -> set[int]:
    """``{id()}`` of the worker process a running dask nanny looks after (empty if none)."""
    if getattr(getattr(nanny, "status", None), "name", "") in _NANNY_GONE:
        return set()
    # Nanny.process is a WorkerProcess; its .process an AsyncProcess; its ._process the child
    worker = getattr(getattr(getattr(nanny, "process", None), "process", None), "_process", None)
    return {id(worker)} if isinstance(worker, BaseProcess) else set()


def _shutdown_cut_short(manager: Any, running: list[BaseProcess]) -> bool:
    """True if ``manager``'s ``shutdown()`` has begun but its server still runs."""
    shutdown = getattr(manager, "shutdown", None)
    return (
        getattr(manager, "_process", None) in running
        and isinstance(shutdown, util.Finalize)
        and not shutdown.still_active()
    )


_WATCH = _CellWatch()


# --- installing ---------------------------------------------------------------------------

_original: dict[str, Any] = {}


def _patch() -> None:
    """Patch ``BaseProcess.start``, ``Popen.poll`` and the fork server's start (idempotent).

    Only where signals can be blocked per thread (not on Windows, where
    Jupyter interrupts a kernel without SIGINT).
    """
    if "start" in _original or not SIGNALS:
        return
    from multiprocessing import forkserver

    _original["start"] = BaseProcess.start
    BaseProcess.start = _start  # type: ignore[method-assign]
    _original["poll"] = popen_fork.Popen.poll
    popen_fork.Popen.poll = _poll  # type: ignore[method-assign]
    _original["ensure_running"] = forkserver.ForkServer.ensure_running
    forkserver.ForkServer.ensure_running = _forkserver_ensure_running  # type: ignore[method-assign]
    forkserver.ensure_running = forkserver._forkserver.ensure_running  # the module's alias


def install(shell: Any = None) -> None:
    """Make interrupts clean in this process; with an IPython ``shell``, after each cell too.

    Idempotent. Install it before any ``track()`` block is open (the import of
    ``ipc_helpers`` does).
    """
    _patch()
    if shell is not None:
        for event in ("pre_run_cell", "post_run_cell"):
            callback = getattr(_WATCH, event)
            if callback not in shell.events.callbacks[event]:
                shell.events.register(event, callback)
        callbacks = shell.events.callbacks["post_execute"]
        if _WATCH.post_execute not in callbacks:
            callbacks.insert(0, _WATCH.post_execute)  # before the inline backend's flush
        if not shell.custom_exceptions:  # a handler of the learner's own stays
            shell.set_custom_exc((KeyboardInterrupt,), show_interrupt)
            _original["custom_exc"] = shell


def uninstall(shell: Any = None) -> None:
    """Undo ``install`` (for tests; end every fork server child first).

    A fork server started while installed has SIGINT blocked, and so would
    every child it forks later: it is stopped (the next start starts a new one).
    """
    if BaseProcess.start is _start:
        from multiprocessing import forkserver

        BaseProcess.start = _original.pop("start")  # type: ignore[method-assign]
        popen_fork.Popen.poll = _original.pop("poll")  # type: ignore[method-assign]
        forkserver.ForkServer.ensure_running = _original.pop("ensure_running")  # type: ignore[method-assign]
        forkserver.ensure_running = forkserver._forkserver.ensure_running
        forkserver._forkserver._stop()
    if shell is not None:
        for event in ("pre_run_cell", "post_run_cell", "post_execute"):
            callback = getattr(_WATCH, event)
            if callback in shell.events.callbacks[event]:
                shell.events.unregister(event, callback)
        if _original.pop("custom_exc", None) is shell:
            shell.set_custom_exc((), None)  # IPython's default: no custom handler


def installed() -> bool:
    """True while ``BaseProcess.start`` is this module's."""
    return BaseProcess.start is _start


def install_in_ipython() -> None:
    """``install`` if this process is an IPython kernel or shell; otherwise do nothing.

    Called when ``ipc_helpers`` is imported. A child process that imports the
    package (to unpickle its target) is no IPython: nothing is installed there.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        install(shell)
