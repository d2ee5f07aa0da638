"""Leave nothing behind: stop processes with a bound, record what a block starts.

Every notebook ends its demos with these, so a demo that hangs on purpose
(a deadlock, a missing sentinel) still ends, and the kernel is left clean.

- ``stop(processes)``: join, then terminate, then kill, all within a bound.
- ``track()``: a ``with`` block that records every process, pool, executor,
  manager and ``SharedMemory`` segment started inside it (by any thread, by
  any route) and, when the block ends (normally, with an error or with
  ``KeyboardInterrupt``), stops what is still running and unlinks what is
  still linked. Exercise checkers and lab runners use it.
- ``ipc_entries()``, ``live_children()``: what is left, for the leak checks;
  ``nothing_left_running()`` for the closing cell of every notebook.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing as mp
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from multiprocessing import managers, pool, shared_memory
from multiprocessing.process import BaseProcess
from typing import Any

from .capture import interrupts_deferred
from .text import strict
from .validation import check_callable, check_timeout, check_type

#: Name prefixes that ``multiprocessing`` uses in ``/dev/shm`` on Linux:
#: ``psm_`` for ``SharedMemory`` segments, ``sem.mp-`` for named semaphores.
IPC_PREFIXES = ("psm_", "sem.mp-")


def _join_all(procs: list[BaseProcess], deadline: float) -> None:
    """Join ``procs`` until ``deadline``, in short slices (so Interrupt gets through)."""
    started = [p for p in procs if p.pid is not None]  # never started: nothing to join
    while time.monotonic() < deadline:
        alive = next((p for p in started if p.is_alive()), None)
        if alive is None:  # the last one may end between two looks: ask once
            break
        alive.join(min(0.1, max(0.0, deadline - time.monotonic())))
    for p in started:
        p.join(0)  # reap what has exited, so that exitcode is set


def stop(processes: Iterable[BaseProcess], timeout: float = 5.0) -> list[int | None]:
    """Join ``processes``, forcing them to end if they are not done in time.

    All processes share one ``timeout`` (seconds). Any still alive then is sent
    ``terminate()`` (SIGTERM), and, if it ignores that for a second, ``kill()``.
    Every process is joined before this returns.

    Returns the exit codes in order: ``0`` for a clean exit, a negative signal
    number (``-15`` for SIGTERM) for a process that had to be stopped.

    Do not use it on the workers of a ``Pool``: a worker stopped while it
    holds the pool's queue lock wedges the pool. Stop a pool with its own
    ``terminate()`` (``track()`` does that for you).
    """
    procs = list(processes)
    for i, p in enumerate(procs):
        check_type(f"processes[{i}]", p, BaseProcess)
    timeout = check_timeout("timeout", timeout)
    _join_all(procs, time.monotonic() + timeout)
    for signal_them in ("terminate", "kill"):
        alive = [p for p in procs if p.is_alive()]
        for p in alive:
            getattr(p, signal_them)()
        _join_all(alive, time.monotonic() + 1.0)
    return [p.exitcode for p in procs]


def live_children() -> list[str]:
    """Names of this process's ``multiprocessing`` children that are still alive."""
    return sorted(p.name for p in mp.active_children())


def nothing_left_running() -> str:
    """The closing cell of every notebook: stop what is still running, say so in one line.

    Returns ``Nothing left running: ...`` when every process this kernel
    started has ended (after up to 3 s for those that are ending). Otherwise it
    stops them and says which; with
    ``IPC_HELPERS_STRICT=1`` (the tests) it raises ``AssertionError`` instead,
    so a notebook that leaks fails its test.
    """
    left = _still_running(mp.active_children(), grace=3.0)
    if not left:
        return "Nothing left running: every process this notebook started has ended."
    names = sorted(p.name for p in left)
    if strict():
        raise AssertionError(f"processes still running at the end of the notebook: {names}")
    stop(left, timeout=1.0)
    return f"Stopped {len(names)} process(es) that were still running: {', '.join(names)}."


def _still_running(processes: list[BaseProcess], grace: float) -> list[BaseProcess]:
    """Those of ``processes`` still alive after ``grace`` seconds of waiting for them.

    A child that has done its work may need a moment to exit (flushing its
    queues, on a busy machine): that is not a leak. A leaked one waits for ever.
    """
    _join_all(processes, time.monotonic() + grace)
    return [p for p in processes if p.is_alive()]


def ipc_entries(directory: str = "/dev/shm") -> list[str]:
    """Sorted ``psm_*`` and ``sem.mp-*`` entries in ``directory`` (Linux).

    These are the files behind ``SharedMemory`` segments and named semaphores.
    On macOS and Windows they do not appear as files: the result is ``[]``.
    """
    check_type("directory", directory, str)
    if not sys.platform.startswith("linux") or not os.path.isdir(directory):
        return []
    return sorted(n for n in os.listdir(directory) if n.startswith(IPC_PREFIXES))


# --- what a block started ------------------------------------------------------


@dataclass
class StartedProcess:
    """One process started inside a ``track()`` block.

    ``target`` is the qualified name of what the child runs (``square_all``,
    ``worker`` for a ``Pool`` worker), ``module`` the module it comes from
    (``__main__`` for a function defined in a notebook cell), ``kind`` one of
    ``process``, ``pool worker``, ``executor worker``, ``manager``.
    ``exitcode`` is the exit code when the block ended (``None``: it was
    still running then); ``joined`` is true if the block joined it after it
    ended; ``stopped`` is true if the cleanup had to stop it. ``args`` and
    ``kwargs`` are what the process was given for its target, each as a
    ``Given`` (held weakly: a record must not keep a learner's lock alive,
    which would change what their code does), so that a checker can tell
    whether two processes got the same lock.
    """

    name: str
    pid: int | None
    target: str
    module: str
    kind: str
    start_method: str
    exitcode: int | None = None
    joined: bool = False
    stopped: bool = False
    args: tuple[Given, ...] = field(default=(), repr=False, compare=False)
    kwargs: dict[str, Given] = field(default_factory=dict, repr=False, compare=False)


#: ``Given.get()`` for an object that no longer exists, or that the record did not keep.
GONE = object()


class Given:
    """One argument a process was given, held without keeping it alive.

    ``get()`` returns the object, ``None`` if ``None`` was given, or ``GONE``
    if it no longer exists (or is a container, which is not kept at all:
    holding it would hold what it contains).
    """

    __slots__ = ("_ref", "_value")

    def __init__(self, value: Any) -> None:
        self._ref: Any = None
        self._value: Any = GONE
        if value is None or isinstance(value, (bool, int, float, str, bytes)):
            self._value = value
            return
        with contextlib.suppress(TypeError):  # not every object takes a weak reference
            self._ref = weakref.ref(value)

    def get(self) -> Any:
        if self._ref is None:
            return self._value
        obj = self._ref()
        return GONE if obj is None else obj


_KINDS = {
    "multiprocessing.pool.worker": "pool worker",
    "concurrent.futures.process._process_worker": "executor worker",
    "multiprocessing.managers.BaseManager._run_server": "manager",
}


def _describe_target(proc: BaseProcess) -> tuple[str, str]:
    """(qualified name, module) of what ``proc`` runs."""
    target = getattr(proc, "_target", None)
    if target is None:
        return f"{type(proc).__qualname__}.run", type(proc).__module__
    target = getattr(target, "__func__", target)  # a bound method or classmethod
    if isinstance(target, functools.partial):
        target = target.func
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    return name, getattr(target, "__module__", None) or ""


def describe(proc: BaseProcess) -> tuple[str, str, str]:
    """(target, module, kind) of a process not started yet (``start()`` forgets its target).

    ``kind`` is one of ``process``, ``pool worker``, ``executor worker``, ``manager``.
    """
    target, module = _describe_target(proc)
    return target, module, _KINDS.get(f"{module}.{target}", "process")


def _start_method(proc: BaseProcess) -> str:
    return getattr(proc, "_start_method", None) or mp.get_start_method()


def _under_construction(obj: Any) -> bool:
    """True for a ``Pool`` whose ``__init__`` has not finished (its workers are starting)."""
    return isinstance(obj, pool.Pool) and getattr(obj, "_state", pool.INIT) == pool.INIT


def _in_background(func: Callable[..., Any], *args: Any) -> None:
    threading.Thread(target=func, args=args, name="ipc-helpers-cleanup", daemon=True).start()


@dataclass
class Started:
    """What a block of code started, and what was left when it ended.

    ``processes``: every process started (``StartedProcess``), in order.
    ``pools``: the type names of pools, executors and managers created.
    ``segments``: names of the ``SharedMemory`` segments created.
    ``tasks``: ``module.qualname`` of each function given to pools and executors.
    After the block: ``leftover`` (processes still running when it ended) and
    ``segments_left`` (segments still linked then); both were cleaned up.
    """

    processes: list[StartedProcess] = field(default_factory=list)
    pools: list[str] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    leftover: list[StartedProcess] = field(default_factory=list)
    segments_left: list[str] = field(default_factory=list)

    def record_of(self, other: Started) -> None:
        """Take over what ``other`` recorded (``run_attempt`` copies its tracker's)."""
        for record in fields(Started):
            setattr(self, record.name, getattr(other, record.name))


@dataclass
class Tracker(Started):
    """What a ``track()`` block started, and what was left when it ended (see ``Started``)."""

    _procs: list[tuple[StartedProcess, BaseProcess]] = field(default_factory=list, repr=False)
    _owners: list[Any] = field(default_factory=list, repr=False)  # pools, executors, managers
    _pending: list[Any] = field(default_factory=list, repr=False)  # pools still starting
    _shms: list[shared_memory.SharedMemory] = field(default_factory=list, repr=False)
    _closed: bool = field(default=False, repr=False)
    _watched: threading.Thread | None = field(default=None, repr=False)
    _ignore: Callable[[StartedProcess], bool] | None = field(default=None, repr=False)
    _pid: int = field(default_factory=os.getpid, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # Hooks call these. Once the block has ended (closed), only what the
    # watched thread (an abandoned attempt) starts still counts: it is
    # stopped as soon as it appears.

    def _concerns_me(self) -> bool:
        if os.getpid() != self._pid:  # a forked child inherited the hooks
            return False
        return not self._closed or threading.current_thread() is self._watched

    def _on_process(self, started: tuple[BaseProcess, str, str, str, tuple, dict]) -> None:
        proc, target, module, kind, args, kwargs = started
        record = StartedProcess(
            proc.name, proc.pid, target, module, kind, _start_method(proc), args=args, kwargs=kwargs
        )
        if self._ignore is not None and self._ignore(record):
            return
        with self._lock:
            self.processes.append(record)
            late = self._closed
            if not late:
                self._procs.append((record, proc))
        if late and kind == "process":  # a pool's workers go with their pool
            record.stopped = True
            _in_background(stop, [proc], 0.1)

    def _on_join(self, proc: BaseProcess) -> None:
        if proc.exitcode is None:  # a join that timed out
            return
        with self._lock:
            for record, mine in self._procs:
                if mine is proc:
                    record.joined = True

    def _on_owner(self, obj: Any) -> None:
        with self._lock:
            self.pools.append(type(obj).__name__)
            late = self._closed
            if late and _under_construction(obj):
                self._pending.append(obj)
            elif not late:
                self._owners.append(obj)
        if late and not _under_construction(obj):
            _in_background(_shut_down, obj)

    def _on_pool_ready(self, obj: Any) -> None:
        with self._lock:
            waiting = any(obj is p for p in self._pending)
        if waiting:  # it started while the block was being cleaned up
            _in_background(_shut_down, obj)

    def _on_segment(self, shm: shared_memory.SharedMemory) -> None:
        with self._lock:
            self.segments.append(shm.name)
            late = self._closed
            if not late:
                self._shms.append(shm)
        if late and _unlink(shm):
            self.segments_left.append(shm.name)

    def _on_task(self, func: Any) -> None:
        if isinstance(func, functools.partial) and func.args:
            func = func.args[0]  # ProcessPoolExecutor.map wraps the function
        name = getattr(func, "__qualname__", None) or type(func).__qualname__
        self.tasks.append(f"{getattr(func, '__module__', None) or ''}.{name}")

    def finish(self, grace: float = 2.0) -> None:
        """Record exit codes, stop what still runs, unlink what is still linked.

        Pools, executors and managers are stopped through their own API first
        (a pool worker killed while it holds the pool's lock would wedge the
        pool), then plain processes are joined, terminated, killed. Each step
        is bounded; the whole call takes at most about ``grace + 2`` seconds.
        A ``KeyboardInterrupt`` meanwhile does not cut it short: it is raised
        when the cleanup is done.
        """
        grace = check_timeout("grace", grace, maximum=60.0)
        if _uninterrupted(self._finish, grace):
            raise KeyboardInterrupt

    def _finish(self, grace: float) -> None:
        with self._lock:
            self._closed = True
            procs, owners, shms = self._procs, self._owners, self._shms
            self._procs, self._owners, self._shms = [], [], []
            self._pending += [o for o in owners if _under_construction(o)]
        for rec, proc in procs:
            rec.exitcode = proc.exitcode
        self.leftover += [rec for rec, _ in procs if rec.exitcode is None]
        deadline = time.monotonic() + grace
        _polite_shutdowns([o for o in owners if not _under_construction(o)], deadline)
        starting = {id(w) for p in self._pending for w in getattr(p, "_pool", [])}
        alive = [(r, p) for r, p in procs if p.is_alive() and id(p) not in starting]
        stop([proc for _, proc in alive], max(0.05, deadline - time.monotonic()))
        for rec, _ in alive:
            rec.stopped = True
        self.segments_left += [shm.name for shm in shms if _unlink(shm)]


def _unlink(shm: shared_memory.SharedMemory) -> bool:
    """Unlink ``shm``; true if it was still linked (a leftover)."""
    if os.name == "nt":  # Windows removes a segment with its last handle
        return False
    try:
        shm.unlink()
    except OSError:  # FileNotFoundError: the code had unlinked it already
        return False
    return True


class WatchedThread(threading.Thread):
    """A daemon thread whose end is an ``Event``: safe to wait for while Ctrl-C arrives.

    On Python 3.11 and 3.12, a ``KeyboardInterrupt`` that lands inside
    ``Thread.join()`` can leave the ``Thread`` object saying it has ended
    while it still runs (CPython bpo-45274's fix releases a lock the running
    thread holds). Waiting on ``finished`` instead is always right.
    """

    def __init__(self, work: Callable[[], Any], name: str) -> None:
        super().__init__(target=self._work_then_flag, args=(work,), name=name, daemon=True)
        self.finished = threading.Event()

    def start(self) -> None:
        """Start the thread; Ctrl-C meanwhile is held back until it runs, then raised.

        ``Thread.start`` waits for the new thread to say it has started. An
        interrupt that landed in that wait would leave a running thread that
        nobody waits for.
        """
        with interrupts_deferred():
            super().start()

    def _work_then_flag(self, work: Callable[[], Any]) -> None:
        try:
            work()
        finally:
            self.finished.set()

    def running(self) -> bool:
        """True from ``start()`` until ``work`` has returned or raised."""
        return self.ident is not None and not self.finished.is_set()

    def wait(self, deadline: float) -> bool:
        """Wait until it has finished or ``time.monotonic()`` reaches ``deadline``, in slices."""
        while not self.finished.is_set() and time.monotonic() < deadline:
            self.finished.wait(min(0.1, max(0.0, deadline - time.monotonic())))
        return self.finished.is_set()


def _uninterrupted(func: Callable[..., Any], *args: Any) -> bool:
    """Run ``func(*args)`` in a helper thread; ``KeyboardInterrupt`` cannot cut it short.

    Signals reach only the main thread, so the work goes on in a helper
    thread while the main thread waits for it. Returns True if interrupts
    came meanwhile (the caller decides whether to raise one); an exception of
    ``func`` is raised here.
    """
    errors: list[BaseException] = []
    interrupted = False

    def run() -> None:
        try:
            func(*args)
        except BaseException as exc:  # handed to the waiting thread
            errors.append(exc)

    helper = WatchedThread(run, name="ipc-helpers-cleanup")
    while helper.ident is None:  # an interrupt can land before start() holds it back
        try:
            helper.start()
        except KeyboardInterrupt:
            interrupted = True
    while not helper.finished.is_set():
        try:
            helper.finished.wait(0.1)
        except KeyboardInterrupt:
            interrupted = True
    if errors:
        raise errors[0]
    return interrupted


def _shut_down(obj: Any) -> None:
    """Stop a pool, executor or manager through its own API (best effort)."""
    try:
        if isinstance(obj, pool.Pool):
            obj.terminate()
        elif isinstance(obj, ProcessPoolExecutor):
            obj.shutdown(wait=False, cancel_futures=True)
        elif obj._state.value == managers.State.STARTED:
            obj.shutdown()
    except Exception:  # already broken: its processes are stopped next
        return


def _polite_shutdowns(objects: list[Any], deadline: float) -> None:
    """Shut each object down in its own thread, all at once, until ``deadline``."""
    threads = [
        threading.Thread(target=_shut_down, args=(obj,), name="ipc-helpers-shutdown", daemon=True)
        for obj in objects
    ]
    for thread in threads:
        thread.start()

    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


# --- the hooks ------------------------------------------------------------------

_hooks_lock = threading.Lock()
_active: tuple[Tracker, ...] = ()
_saved: list[tuple[type, str, Any]] = []


def _each_tracker(method: str, obj: Any) -> None:
    for tracker in _active:
        if tracker._concerns_me():
            getattr(tracker, method)(obj)


def _after(owner: type, name: str, report: Callable[[Any, tuple, dict], Any]) -> None:
    """Replace ``owner.name`` by a wrapper that calls ``report`` after it."""
    original = owner.__dict__[name]

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if _active:
            report(self, args, kwargs)
        return result

    _saved.append((owner, name, original))
    setattr(owner, name, wrapper)


def _start(self: BaseProcess) -> None:
    """``BaseProcess.start`` that reports the process (``start`` forgets its target)."""
    described = describe(self)
    given = (
        tuple(Given(a) for a in getattr(self, "_args", ())),
        {k: Given(v) for k, v in getattr(self, "_kwargs", {}).items()},
    )
    _original_start(self)
    if _active:
        _each_tracker("_on_process", (self, *described, *given))


def _pool_init(self: pool.Pool, *args: Any, **kwargs: Any) -> None:
    """``Pool.__init__`` that reports the pool before its workers start, and when ready."""
    if _active:
        _each_tracker("_on_owner", self)
    _original_pool_init(self, *args, **kwargs)
    if _active:
        _each_tracker("_on_pool_ready", self)


_original_start = BaseProcess.start  # set again by _install (ipc_helpers.interrupts patches it)
_original_pool_init = pool.Pool.__init__


def _created(args: tuple, kwargs: dict) -> bool:
    return bool(kwargs.get("create", args[1] if len(args) > 1 else False))


def _install() -> None:
    global _original_start
    _original_start = BaseProcess.start
    _saved.append((BaseProcess, "start", _original_start))
    BaseProcess.start = _start  # type: ignore[method-assign]
    _saved.append((pool.Pool, "__init__", _original_pool_init))
    pool.Pool.__init__ = _pool_init  # type: ignore[method-assign]
    _after(BaseProcess, "join", lambda p, a, k: _each_tracker("_on_join", p))
    _after(ProcessPoolExecutor, "__init__", lambda e, a, k: _each_tracker("_on_owner", e))
    _after(managers.BaseManager, "start", lambda m, a, k: _each_tracker("_on_owner", m))
    for name in ("apply_async", "_map_async", "imap", "imap_unordered"):
        _after(pool.Pool, name, lambda p, a, k: _each_tracker("_on_task", a[0]))
    _after(ProcessPoolExecutor, "submit", lambda e, a, k: _each_tracker("_on_task", a[0]))
    _after(
        shared_memory.SharedMemory,
        "__init__",
        lambda s, a, k: _created(a, k) and _each_tracker("_on_segment", s),
    )


def _uninstall() -> None:
    while _saved:
        owner, name, original = _saved.pop()
        setattr(owner, name, original)


def _register(tracker: Tracker) -> None:
    global _active
    with _hooks_lock:
        if not _active:
            _install()
        _active = (*_active, tracker)


def _unregister(tracker: Tracker) -> None:
    global _active
    with _hooks_lock:
        _active = tuple(t for t in _active if t is not tracker)
        if not _active:
            _uninstall()


@contextmanager
def track(
    grace: float = 2.0,
    *,
    watch: WatchedThread | None = None,
    ignore: Callable[[StartedProcess], bool] | None = None,
) -> Iterator[Tracker]:
    """Record what the block starts; at its end, stop and unlink what is left.

    ::

        with track() as started:
            run_experiment()
        started.processes   # every process the block started, with exit codes
        started.leftover    # those still running at the end (now stopped)

    Recorded: processes started by any thread of this process, by any route
    (``Process.start``, ``Pool``, ``ProcessPoolExecutor``, managers), pools,
    executors and managers created, ``SharedMemory`` segments created here
    (not those a child creates). Processes, pools and segments that existed
    before the block are never touched. ``grace`` (seconds) is how long
    pools, executors and managers get to shut down before their processes
    are terminated.

    ``watch``: a thread that may go on running the recorded code after the
    block (an attempt that timed out or was interrupted). Until it ends,
    whatever it starts is stopped as soon as it appears.

    ``ignore``: a function given each ``StartedProcess`` (``record.module``,
    ``record.target``, ...); a process it returns True for is not the block's:
    neither recorded nor stopped (a dask nanny's replacement worker, say).
    A ``KeyboardInterrupt`` during the cleanup is raised once it is done.
    """
    grace = check_timeout("grace", grace, maximum=60.0)
    if watch is not None:
        check_type("watch", watch, WatchedThread)
    if ignore is not None:
        check_callable("ignore", ignore)
    tracker = Tracker(_watched=watch, _ignore=ignore)
    _register(tracker)
    try:
        yield tracker
    finally:
        try:
            tracker.finish(grace)
        finally:
            if watch is not None and watch.running():
                _in_background(_unregister_after, tracker, watch)
            else:
                _unregister(tracker)


def _unregister_after(tracker: Tracker, thread: WatchedThread) -> None:
    thread.finished.wait()
    tracker.finish(0.5)
    _unregister(tracker)
