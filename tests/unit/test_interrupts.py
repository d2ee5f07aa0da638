"""Kernel → Interrupt: course children end quietly, learners' as usual, the parent loses nothing."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import types
from multiprocessing import forkserver, util
from multiprocessing.managers import SyncManager

import pytest

from ipc_helpers import interrupt_traceback, interrupts, text
from ipc_helpers.cleanup import stop, track

METHODS = mp.get_all_start_methods()
pytestmark = pytest.mark.skipif(not interrupts.SIGNALS, reason="POSIX signals only")


@pytest.fixture(autouse=True)
def installed():
    """Installed as in a kernel (without the cell callbacks), and nothing left after each test."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    interrupts.install()
    try:
        yield
    finally:
        interrupts.uninstall()
        signal.signal(signal.SIGINT, old)
    assert mp.active_children() == []


# --- children (module level: a spawn child imports them) --------------------------------


def _stderr_to(path: str) -> None:
    with open(path, "a", encoding="utf-8") as sink:
        os.dup2(sink.fileno(), 2)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115


def work_until_interrupted(report, path: str) -> None:
    """Report what a KeyboardInterrupt does here: the except and finally blocks, in order."""
    _stderr_to(path)
    report.put("working")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.02)
    except KeyboardInterrupt:
        report.put("except")
        raise
    finally:
        report.put("finally")
        print("the child's own words after Ctrl-C", file=sys.stderr)


def fail(path: str) -> None:
    _stderr_to(path)
    raise ValueError("a worker's own error")


def report_mask(report) -> None:
    report.put(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))


class InterruptWhenPickled:
    """Pickling it (what ``start()`` does under spawn and forkserver) sends SIGINT to the parent."""

    def __reduce__(self):
        signal.raise_signal(signal.SIGINT)
        return (int, ())


def sigint_handler() -> str:
    return str(signal.getsignal(signal.SIGINT))


def pause(_: object) -> None:
    time.sleep(30)


# --- helpers ----------------------------------------------------------------------------


def interrupt_a_child(ctx, path: str, *, course: bool):
    """Start ``work_until_interrupted``, send it SIGINT once it works; return it and its reports."""
    report = ctx.Queue()
    child = ctx.Process(target=work_until_interrupted, args=(report, path))
    with track() if course else _nothing():
        child.start()
        assert report.get(timeout=30) == "working"
        os.kill(child.pid, signal.SIGINT)
        child.join(30)
    said = [report.get(timeout=10) for _ in range(2)]
    return child, said


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def read(path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


# --- course children --------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_a_course_child_ends_as_keyboard_interrupt_ends_it_but_prints_no_report(method, tmp_path):
    err = tmp_path / "stderr.txt"
    child, said = interrupt_a_child(mp.get_context(method), str(err), course=True)
    assert said == ["except", "finally"]  # except KeyboardInterrupt and finally blocks run
    assert child.exitcode == 1  # as multiprocessing ends a child on KeyboardInterrupt
    assert read(err) == "the child's own words after Ctrl-C\n"  # only the report is dropped


@pytest.mark.parametrize("method", METHODS)
def test_a_course_childs_other_errors_are_printed(method, tmp_path):
    err = tmp_path / "stderr.txt"
    child = mp.get_context(method).Process(target=fail, args=(str(err),))
    with track():
        child.start()
        child.join(30)
    assert child.exitcode == 1
    assert "Traceback" in read(err) and "ValueError: a worker's own error" in read(err)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_course_child_interrupted_while_it_starts_dies_quietly(method, capfd):
    if method not in METHODS:
        pytest.skip(f"{method} is not available here")
    ctx = mp.get_context(method)
    if method == "forkserver":  # in a kernel, importing ipc_helpers comes before the server
        forkserver._forkserver._stop()  # so that it starts (again) with SIGINT blocked
    with track():
        ctx.Process(target=time.sleep, args=(0,)).start()  # the helpers (server, tracker) run
        children = [ctx.Process(target=time.sleep, args=(30,)) for _ in range(3)]
        for child in children:
            child.start()
            os.kill(child.pid, signal.SIGINT)  # it is still importing: before any handler
        stop(children, timeout=10)
    # Died of the signal before running anything (the blocked SIGINT arrived when it
    # unblocked it); under forkserver one may already run: then it ends as above.
    codes = [child.exitcode for child in children]
    assert set(codes) <= ({-signal.SIGINT} if method == "spawn" else {-signal.SIGINT, 1}), codes
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("method", METHODS)
def test_a_child_started_deaf_on_purpose_stays_deaf(method):
    ctx = mp.get_context(method)
    report = ctx.Queue()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        with track():
            child = ctx.Process(target=report_mask, args=(report,))
            child.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    assert report.get(timeout=30) is True
    stop([child], timeout=10)
    with track():
        child = ctx.Process(target=report_mask, args=(report,))
        child.start()
    assert report.get(timeout=30) is False  # started normally: it hears Ctrl-C


@pytest.mark.parametrize("method", METHODS)
def test_pool_workers_ignore_sigint_their_pool_stops_them(method):
    """A pool worker killed while it waits for a task can wedge ``with Pool`` (seen in 00)."""
    with mp.get_context(method).Pool(1) as pool:
        assert pool.apply(sigint_handler) == str(signal.SIG_IGN)
        (worker,) = pool._pool
        os.kill(worker.pid, signal.SIGINT)
        assert pool.apply(sigint_handler) == str(signal.SIG_IGN)  # the same worker, alive
        assert worker.is_alive()


def test_which_processes_are_the_courses():
    def proc(target, **kw):
        return mp.get_context("spawn").Process(target=target, **kw)

    assert interrupts.is_course_process(proc(text.wrap))  # any function of ipc_helpers
    assert not interrupts.is_course_process(proc(work_until_interrupted))  # a learner's own
    with track():
        assert interrupts.is_course_process(proc(work_until_interrupted))  # a checker ran it


# --- learners' children -----------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_a_learners_child_prints_its_traceback_as_usual(method, tmp_path):
    err = tmp_path / "stderr.txt"
    child, said = interrupt_a_child(mp.get_context(method), str(err), course=False)
    assert said == ["except", "finally"] and child.exitcode == 1
    assert f"Process {child.name}:" in read(err) and "\nKeyboardInterrupt\n" in read(err)


# --- the parent -------------------------------------------------------------------------

_FORK_INTERRUPT = types.SimpleNamespace(armed=False)


def _interrupt_inside_fork() -> None:  # an at-fork hook in the parent, as logging's is
    if _FORK_INTERRUPT.armed:
        _FORK_INTERRUPT.armed = False
        signal.raise_signal(signal.SIGINT)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_parent=_interrupt_inside_fork)


@pytest.mark.parametrize("method", METHODS)
def test_an_interrupt_during_start_is_raised_once_the_child_has_started(method):
    ctx = mp.get_context(method)
    helpers = ctx.Process(target=time.sleep, args=(0,))
    helpers.start()  # the fork server and the resource tracker run already
    helpers.join(30)
    child = ctx.Process(target=pause, args=(InterruptWhenPickled(),))
    _FORK_INTERRUPT.armed = method == "fork"  # fork pickles nothing: interrupt in its hook
    with pytest.raises(KeyboardInterrupt):
        child.start()
    assert child in mp.active_children()  # known, so a cleanup can stop it
    stop([child], timeout=1)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_without_it_cpython_loses_that_interrupt_under_fork():
    """What ``install`` fixes: CPython runs the handler in an at-fork hook ("Exception ignored")."""
    interrupts.uninstall()
    ctx = mp.get_context("fork")
    _FORK_INTERRUPT.armed = True
    child = ctx.Process(target=time.sleep, args=(0,))
    child.start()  # no KeyboardInterrupt: it was printed as "Exception ignored" and dropped
    stop([child], timeout=10)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_an_interrupt_just_as_a_child_is_reaped_keeps_its_exit_code(method, monkeypatch):
    child = mp.get_context(method).Process(target=time.sleep, args=(0,))
    child.start()
    reap = os.waitpid

    def reap_then_interrupt(pid, flag):
        result = reap(pid, flag)
        if result[0] == pid:
            os.kill(os.getpid(), signal.SIGINT)  # Kernel → Interrupt, just then
        return result

    monkeypatch.setattr(os, "waitpid", reap_then_interrupt)
    with pytest.raises(KeyboardInterrupt):  # the interrupt is not lost either
        child.join(10)
    monkeypatch.undo()
    # Without the course's poll: exitcode None and is_alive() True for ever.
    assert child.exitcode == 0 and not child.is_alive()
    assert child not in mp.active_children()


def test_join_without_a_timeout_still_waits_and_can_be_interrupted():
    child = mp.Process(target=time.sleep, args=(0.3,))
    child.start()
    started = time.monotonic()
    child.join()
    assert child.exitcode == 0 and time.monotonic() - started >= 0.2
    sleeper = mp.Process(target=time.sleep, args=(30,))
    sleeper.start()
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        sleeper.join()
    assert sleeper.is_alive()
    stop([sleeper], timeout=1)


# --- after an interrupted cell ----------------------------------------------------------


def test_after_an_interrupted_cell_what_it_started_is_stopped(capsys):
    watch = interrupts._CellWatch()
    before = mp.Process(target=time.sleep, args=(30,), name="from-an-earlier-cell")
    before.start()
    watch.pre_run_cell()
    left = mp.Process(target=time.sleep, args=(30,), name="left-running")
    left.start()
    watch.post_run_cell(types.SimpleNamespace(error_in_exec=ValueError("not an interrupt")))
    assert left.is_alive()  # only an interrupt stops what a cell started
    watch.post_run_cell(types.SimpleNamespace(error_in_exec=KeyboardInterrupt()))
    assert not left.is_alive() and before.is_alive()
    said = capsys.readouterr().out
    assert "stopped 1 process(es) that this cell had started: left-running" in said
    stop([before], timeout=1)


def test_a_new_process_is_told_from_an_earlier_one_even_at_the_same_address(monkeypatch):
    watch = interrupts._CellWatch()
    earlier = mp.Process(target=time.sleep, args=(30,), name="from-an-earlier-cell")
    earlier.start()
    # CPython often puts a new Process object where a reaped one was, so that both have
    # the same id(): make every id() in the module collide, as that would.
    monkeypatch.setattr(interrupts, "id", lambda obj: 0, raising=False)
    watch.pre_run_cell()
    left = mp.Process(target=time.sleep, args=(30,), name="left-running")
    left.start()
    watch.post_run_cell(types.SimpleNamespace(error_in_exec=KeyboardInterrupt()))
    assert not left.is_alive() and earlier.is_alive()
    stop([earlier], timeout=1)


def test_an_error_that_followed_an_interrupt_counts_as_one():
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise EOFError("the manager's answer never came")  # noqa: B904
    except EOFError as error:
        assert interrupts._came_from_an_interrupt(error)
    assert not interrupts._came_from_an_interrupt(ValueError("a plain error"))
    assert not interrupts._came_from_an_interrupt(None)


def test_pool_workers_are_left_to_their_pool():
    with mp.Pool(1) as pool:
        (worker,) = pool._pool
        assert id(worker) in interrupts._owners().kept
    assert id(worker) not in interrupts._owners().kept  # the pool has ended
    plain = mp.Process(target=time.sleep, args=(0,))
    plain.start()
    assert id(plain) not in interrupts._owners().kept
    plain.join(10)


def test_workers_of_a_half_made_pool_are_stopped_after_the_cell(capsys):
    watch = interrupts._CellWatch()
    watch.pre_run_cell()
    with mp.Pool(1) as running:
        assert {id(w) for w in running._pool} <= interrupts._owners().kept
        # A worker whose pool never finished starting (Interrupt hit Pool()): it
        # waits for tasks that will never come, and no pool will ever stop it.
        orphan = mp.Process(target=time.sleep, args=(30,), name="ForkPoolWorker-orphan")
        orphan.start()
        setattr(orphan, interrupts._KEY, interrupts._Arrival(False, "pool worker", True))
        assert id(orphan) not in interrupts._owners().kept
        watch.post_run_cell(types.SimpleNamespace(error_in_exec=KeyboardInterrupt()))
        assert not orphan.is_alive()  # stopped
        assert all(w.is_alive() for w in running._pool)  # a running pool's: left to it
        assert running.apply(abs, (-3,)) == 3  # and the pool still works
    said = " ".join(capsys.readouterr().out.split())  # wrapped at 90 columns
    assert "stopped 1 process(es) that this cell had started: ForkPoolWorker-orphan." in said


def test_the_server_of_a_shutdown_cut_short_is_stopped_after_the_cell(capsys):
    watch = interrupts._CellWatch()
    with SyncManager() as untouched:
        cut = SyncManager()
        cut.start()
        watch.pre_run_cell()  # both servers come from an earlier cell
        # What an interrupt inside shutdown() leaves: the one-shot finalizer is
        # unregistered (a second shutdown() does nothing), the server still runs.
        del util._finalizer_registry[cut.shutdown._key]
        cut.shutdown()
        assert cut._process.is_alive()
        watch.post_run_cell(types.SimpleNamespace(error_in_exec=ValueError("not an interrupt")))
        assert cut._process.is_alive()  # only after an interrupt
        watch.post_run_cell(types.SimpleNamespace(error_in_exec=KeyboardInterrupt()))
        assert not cut._process.is_alive()
        assert untouched._process.is_alive()  # a manager still in use is left alone
        assert untouched.list([1])[:] == [1]
    said = " ".join(capsys.readouterr().out.split())
    assert f"cut a manager's shutdown() short: stopped its server {cut._process.name}." in said


def test_a_half_made_pool_starts_no_new_worker_after_the_cell(monkeypatch):
    from multiprocessing import pool as pool_module

    watch = interrupts._CellWatch()
    watch.pre_run_cell()
    finalize = util.Finalize

    def interrupted_at_the_end_of_init(obj, *args, **kwargs):
        if isinstance(obj, pool_module.Pool):  # the line before `self._state = RUN`
            raise KeyboardInterrupt
        return finalize(obj, *args, **kwargs)

    monkeypatch.setattr(util, "Finalize", interrupted_at_the_end_of_init)
    with pytest.raises(KeyboardInterrupt):
        mp.Pool(1)
    monkeypatch.undo()
    (handler,) = interrupts._owners().half_made  # the pool object itself is gone
    watch.post_run_cell(types.SimpleNamespace(error_in_exec=KeyboardInterrupt()))
    time.sleep(0.5)  # its worker handler would have started a new worker by now
    assert mp.active_children() == []
    assert not handler.is_alive()


def test_a_manager_call_cut_short_no_longer_shifts_every_later_answer():
    with SyncManager() as manager:
        d = manager.dict(x=1, y=2)
        assert d.get("x") == 1
        # What an interrupt between request and answer leaves: an answer nobody read.
        d._tls.connection.send((d._id, "get", ("y",), {}))
        interrupts.forget_manager_connections()
        assert d.get("x") == 1  # without it: 2, the unread answer of the cut call
        assert dict(d) == {"x": 1, "y": 2}


# --- installing -------------------------------------------------------------------------


def test_install_is_idempotent_and_only_ipython_installs_on_import():
    interrupts.install()
    assert interrupts.installed()
    interrupts.uninstall()
    assert not interrupts.installed()
    interrupts.install_in_ipython()  # no IPython shell in this process: nothing happens
    assert not interrupts.installed()
    interrupts.install()


def test_the_cell_callbacks_are_registered_once():
    flush = object()  # the inline backend's flush_figures, registered first
    events = types.SimpleNamespace(
        callbacks={"pre_run_cell": [], "post_run_cell": [], "post_execute": [flush]}
    )

    def register(event, callback):
        events.callbacks[event].append(callback)

    def unregister(event, callback):
        events.callbacks[event].remove(callback)

    events.register, events.unregister = register, unregister
    handlers: list[tuple] = []
    shell = types.SimpleNamespace(events=events, custom_exceptions=())

    def set_custom_exc(exc_tuple, handler):
        shell.custom_exceptions = exc_tuple
        handlers.append(handler)

    shell.set_custom_exc = set_custom_exc
    interrupts.install(shell)
    interrupts.install(shell)
    assert [len(c) for c in events.callbacks.values()] == [1, 1, 2]
    assert events.callbacks["post_execute"][1] is flush  # figures are dropped before it draws
    assert shell.custom_exceptions == (KeyboardInterrupt,)  # the short traceback, once
    assert handlers == [interrupt_traceback.show_interrupt]
    interrupts.uninstall(shell)
    assert [len(c) for c in events.callbacks.values()] == [0, 0, 1]
    assert shell.custom_exceptions == ()


def test_an_interrupted_cells_figures_are_dropped_before_they_are_drawn(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    watch = interrupts._CellWatch()
    monkeypatch.setattr(sys, "last_value", ValueError("an earlier cell"), raising=False)
    watch.pre_run_cell()
    plt.figure()
    watch.post_execute()  # the cell ended without a new error: its figure stays
    assert plt.get_fignums()
    monkeypatch.setattr(sys, "last_value", KeyboardInterrupt(), raising=False)
    watch.post_execute()  # interrupted: nothing is left to draw
    assert not plt.get_fignums()
