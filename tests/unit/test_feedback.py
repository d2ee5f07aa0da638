"""The checker runtime: plain words, bounded time, real IPC recorded, nothing left behind."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import shared_memory

import pytest

from ipc_helpers.cleanup import stop, track
from ipc_helpers.exercises.feedback import (
    ATTEMPT_TIMEOUT,
    CHECKER_BUG,
    INTERRUPTED,
    NOT_YET,
    STATUSES,
    Attempt,
    Feedback,
    RecordingContext,
    correct,
    first_problem,
    interrupted,
    not_attempted,
    not_yet,
    plain_checker,
    require_clean_exits,
    require_created,
    require_joined,
    require_processes,
    require_segments,
    run_attempt,
)

METHOD = mp.get_start_method()


# --- module-level workers and "learner" functions (picklable under spawn) -------


def square(x: int) -> int:
    return x * x


def placeholder() -> None:
    raise NotImplementedError


def squares_in_a_pool(numbers: list[int]) -> list[int]:
    with mp.Pool(2) as pool:
        return pool.map(square, numbers, chunksize=1)


def squares_in_an_executor(numbers: list[int]) -> list[int]:
    with ProcessPoolExecutor(2) as ex:
        return list(ex.map(square, numbers))


def squares_without_processes(numbers: list[int]) -> list[int]:
    return [n * n for n in numbers]


def one_joined_process() -> int:
    p = mp.Process(target=time.sleep, args=(0.01,))
    p.start()
    p.join(10)
    return p.exitcode


def one_process_never_joined() -> int:
    p = mp.Process(target=time.sleep, args=(0.01,))
    p.start()
    deadline = time.monotonic() + 10
    while p.exitcode is None and time.monotonic() < deadline:  # waits, but never joins
        time.sleep(0.01)
    return p.exitcode


def one_forgotten_process() -> None:
    mp.Process(target=time.sleep, args=(60,)).start()


def pool_never_closed() -> list[int]:
    pool = mp.Pool(2)
    return pool.map(square, [1, 2])


def manager_never_shut_down() -> dict:
    manager = mp.Manager()
    d = manager.dict(a=1)
    return dict(d)


def pool_that_hangs() -> None:
    """The 12.20 trap: the learner's ``with Pool`` waits for a task that never ends."""
    with mp.Pool(2) as pool:
        pool.map(time.sleep, [60, 60])


def process_that_is_stopped() -> None:
    p = mp.Process(target=time.sleep, args=(60,))
    p.start()
    stop([p], timeout=0.1)


def process_that_raises() -> None:
    p = mp.Process(target=int, args=("x",))
    p.start()
    p.join(10)


def segment_left_linked() -> str:
    shm = shared_memory.SharedMemory(create=True, size=64)
    shm.close()
    return shm.name


def segment_cleaned_up() -> str:
    shm = shared_memory.SharedMemory(create=True, size=64)
    shm.close()
    shm.unlink()
    return shm.name


def pipe_user(ctx: mp.context.BaseContext) -> bytes:
    mine, theirs = ctx.Pipe()
    theirs.send_bytes(b"hi")
    got = mine.recv_bytes()
    mine.close()
    theirs.close()
    return got


def hanging_process() -> None:
    p = mp.Process(target=time.sleep, args=(60,))
    p.start()
    p.join()  # no timeout: the learner's mistake


@pytest.fixture(autouse=True)
def nothing_left_behind():
    """No child alive and no segment this test created still linked, after each test.

    (``/dev/shm`` is shared with other programs: only this test's segments count.)
    """
    with track() as started:
        yield
        assert mp.active_children() == []
    assert started.segments_left == []


# --- Feedback ----------------------------------------------------------------


def test_feedback_reads_as_plain_words():
    assert str(correct("well done")) == "Correct! well done"
    assert str(not_yet("the count is 3, expected 4")) == "Not yet: the count is 3, expected 4"
    assert str(not_attempted()).startswith("Not attempted yet: replace `raise NotImplementedError`")
    assert str(interrupted()).startswith("Interrupted: you stopped the check.")
    assert correct("x").ok and not not_yet("x").ok and not not_attempted().ok
    assert set(STATUSES) == {"correct", "not yet", "not attempted", "checker bug", "interrupted"}


def test_feedback_wraps_at_word_boundaries_with_the_label_first():
    words = ["operating", "system", "cannot", "13611", "everybody", "fork"]
    message = " ".join(words * 8)
    text = str(not_yet(message))
    lines = text.splitlines()
    assert len(lines) > 2 and all(len(line) <= 90 for line in lines)
    assert lines[0].startswith("Not yet: operating")
    assert text.split() == ["Not", "yet:", *message.split()]  # no word was split
    assert repr(not_yet(message)) == text


def test_feedback_rejects_bad_values():
    with pytest.raises(ValueError, match="status must be one of 'correct'"):
        Feedback("fine", "x")
    with pytest.raises(TypeError, match="message must be str"):
        Feedback("correct", 42)


# --- run_attempt: results, errors, bounds ---------------------------------------


def test_placeholder_is_not_attempted():
    attempt = run_attempt(placeholder, timeout=5)
    assert first_problem(attempt, what="f") == not_attempted()


def test_error_becomes_a_sentence():
    attempt = run_attempt(int, "x", timeout=5)
    fb = first_problem(attempt, what="f")
    assert fb.status == NOT_YET
    assert fb.message == "your code raised ValueError: invalid literal for int() with base 10: 'x'."


def test_a_result_passes_through_with_keyword_arguments():
    attempt = run_attempt(sorted, [3, 1, 2], reverse=True, timeout=5)
    assert attempt.result == [3, 2, 1] and first_problem(attempt, what="f") is None
    assert attempt.processes == [] and attempt.segments == [] and attempt.seconds < 5


def test_one_timeout_for_every_attempt():
    assert ATTEMPT_TIMEOUT == 20.0
    assert run_attempt(sum, [1]).timeout == ATTEMPT_TIMEOUT


def test_bad_arguments():
    with pytest.raises(TypeError, match="func must be a function, got int"):
        run_attempt(1)
    with pytest.raises(TypeError, match="timeout must be a number of seconds; None"):
        run_attempt(sum, [1], timeout=None)
    with pytest.raises(ValueError, match="timeout must be greater than 0"):
        run_attempt(sum, [1], timeout=-1)
    with pytest.raises(TypeError, match="what must be str"):
        first_problem(run_attempt(sum, [1]), what=None)


def test_a_hang_is_bounded_and_its_processes_stopped():
    started = time.monotonic()
    attempt = run_attempt(hanging_process, timeout=1)
    assert attempt.timed_out and time.monotonic() - started < 6
    assert [p.stopped for p in attempt.processes] == [True]
    fb = first_problem(attempt, what="your function")
    assert "did not finish within 1 s, so its processes were stopped" in fb.message


# --- what the attempt did ----------------------------------------------------------


def test_records_a_process_with_its_target_pid_and_exit_code():
    attempt = run_attempt(one_joined_process, timeout=10)
    (p,) = attempt.processes
    assert (p.target, p.module, p.kind, p.start_method) == ("sleep", "time", "process", METHOD)
    assert p.pid and p.exitcode == 0 and not p.stopped and attempt.leftover == []
    assert attempt.ran(time.sleep) and not attempt.ran(square)


def test_a_process_never_joined_is_named_every_time():
    attempt = run_attempt(one_process_never_joined, timeout=15)
    assert attempt.result == 0 and attempt.leftover == []  # it had ended: no leftover ...
    fb = require_joined(attempt, what="squares")  # ... but it was never joined
    assert fb.status == NOT_YET and fb.message.startswith("squares did not join 1 process it")
    assert run_attempt(one_joined_process, timeout=10).processes[0].joined
    assert require_joined(run_attempt(one_joined_process, timeout=10), what="f") is None


def test_records_pool_workers_and_their_tasks():
    attempt = run_attempt(squares_in_a_pool, [1, 2, 3], timeout=20)
    assert attempt.result == [1, 4, 9]
    assert attempt.pools == ["Pool"] and attempt.tasks == [f"{__name__}.square"]
    assert {p.kind for p in attempt.processes} == {"pool worker"} and len(attempt.processes) == 2
    assert attempt.ran(square) and first_problem(attempt, what="f") is None
    assert require_processes(attempt, what="f", at_least=2, running=square) is None


def test_records_executor_workers():
    attempt = run_attempt(squares_in_an_executor, [1, 2], timeout=20)
    assert attempt.result == [1, 4] and attempt.pools == ["ProcessPoolExecutor"]
    assert {p.kind for p in attempt.processes} == {"executor worker"}
    assert attempt.ran(square) and first_problem(attempt, what="f") is None


def test_a_forgotten_process_is_a_leftover_and_is_stopped():
    attempt = run_attempt(one_forgotten_process, timeout=10)
    assert [p.target for p in attempt.leftover] == ["sleep"] and attempt.leftover[0].stopped
    fb = first_problem(attempt, what="start_one")
    assert fb.status == NOT_YET
    assert "start_one returned while 1 process it started was still running" in fb.message
    assert "Join every process you start, with a timeout" in fb.message
    assert first_problem(attempt, what="f", leftovers=False) is None


def test_a_pool_never_closed_is_terminated_through_its_own_api():
    attempt = run_attempt(pool_never_closed, timeout=20)
    assert attempt.result == [1, 4] and len(attempt.leftover) == 2
    fb = first_problem(attempt, what="f")
    assert "use a Pool or executor in a with block" in fb.message
    time.sleep(0.5)  # a pool that was not terminated would respawn workers now
    assert mp.active_children() == []


def test_a_manager_never_shut_down_is_shut_down():
    attempt = run_attempt(manager_never_shut_down, timeout=20)
    assert attempt.result == {"a": 1} and attempt.pools == ["SyncManager"]
    assert [p.kind for p in attempt.leftover] == ["manager"]
    assert "use the manager in a with block" in first_problem(attempt, what="f").message


def test_a_hanging_pool_does_not_wedge_the_kernel():
    started = time.monotonic()
    attempt = run_attempt(pool_that_hangs, timeout=2)
    assert attempt.timed_out and time.monotonic() - started < 10
    time.sleep(0.5)  # no worker respawned behind our back
    assert mp.active_children() == []
    # The kernel is usable: a new pool works at once.
    assert run_attempt(squares_in_a_pool, [3], timeout=20).result == [9]


def test_processes_that_existed_before_are_never_touched():
    before = mp.Process(target=time.sleep, args=(60,))
    before.start()
    try:
        attempt = run_attempt(one_forgotten_process, timeout=10)
        assert len(attempt.leftover) == 1 and before.is_alive()
    finally:
        stop([before], timeout=0.1)


def test_segments_left_linked_are_unlinked_and_reported():
    attempt = run_attempt(segment_left_linked, timeout=10)
    assert attempt.segments == [attempt.result] and attempt.segments_left == [attempt.result]
    fb = first_problem(attempt, what="make_table")
    assert "make_table left 1 shared-memory segment linked (now removed)" in fb.message
    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name=attempt.result)
    assert require_segments(attempt, what="f") is None


def test_segments_the_code_unlinked_are_not_leftovers():
    attempt = run_attempt(segment_cleaned_up, timeout=10)
    assert attempt.segments == [attempt.result] and attempt.segments_left == []
    assert first_problem(attempt, what="f") is None


def test_a_segment_created_before_is_never_unlinked():
    mine = shared_memory.SharedMemory(create=True, size=16)
    try:
        run_attempt(segment_left_linked, timeout=10)
        assert shared_memory.SharedMemory(name=mine.name).size >= 16
    finally:
        mine.close()
        mine.unlink()


# --- demanding real IPC -------------------------------------------------------------


def test_no_process_is_not_yet_in_plain_words():
    attempt = run_attempt(squares_without_processes, [1, 2], timeout=5)
    assert first_problem(attempt, what="squares") is None  # the answer is right ...
    fb = require_processes(attempt, what="squares")  # ... but no IPC happened
    assert fb.status == NOT_YET and fb.message.startswith("squares started no process")
    assert require_segments(attempt, what="f").message.startswith("f created no SharedMemory")


def test_require_processes_counts_targets_and_start_methods():
    attempt = run_attempt(one_joined_process, timeout=10)
    assert (
        "started 1 process; the exercise asks for 3"
        in require_processes(attempt, what="f", at_least=3).message
    )
    assert "none of them ran square" in require_processes(attempt, what="f", running=square).message
    other = "spawn" if METHOD != "spawn" else "fork"
    fb = require_processes(attempt, what="f", start_method=other)
    assert f"started its processes with {METHOD}; the exercise asks for {other}" in fb.message
    assert require_processes(attempt, what="f", start_method=METHOD) is None
    with pytest.raises(ValueError, match="at_least must be at least 1"):
        require_processes(attempt, what="f", at_least=0)


def test_exit_codes_name_a_stopped_worker():
    attempt = run_attempt(process_that_is_stopped, timeout=10)
    fb = require_clean_exits(attempt, what="f")
    assert "ended with exit code -15: it was stopped by a signal" in fb.message
    assert require_clean_exits(run_attempt(squares_in_a_pool, [1], timeout=20), what="f") is None


@pytest.mark.skipif(
    METHOD == "forkserver", reason="a forkserver child writes to the server's stderr"
)
def test_a_childs_error_is_captured_and_named():
    attempt = run_attempt(process_that_raises, timeout=10)
    assert attempt.child_errors() == ["ValueError: invalid literal for int() with base 10: 'x'"]
    fb = require_clean_exits(attempt, what="f")
    assert "exit code 1: it ended with an error" in fb.message
    assert fb.message.endswith(
        "A child process reported: ValueError: invalid literal for int() with base 10: 'x'"
    )


def cell_worker(x: int) -> int:
    return x


def cell_function_in_a_process() -> int:
    p = mp.Process(target=cell_worker, args=(1,))
    p.start()
    p.join(10)
    return p.exitcode


@pytest.mark.skipif(METHOD == "fork", reason="a fork child finds functions of __main__")
def test_a_worker_defined_in_a_cell_is_named(monkeypatch):
    monkeypatch.setattr(cell_worker, "__module__", "__main__")
    import __main__

    monkeypatch.setattr(__main__, "cell_worker", cell_worker, raising=False)
    attempt = run_attempt(cell_function_in_a_process, timeout=20)
    assert attempt.defined_in_cell() == ["cell_worker"] and attempt.result == 1
    fb = first_problem(attempt, what="run_it")
    assert f"run_it ran cell_worker, a function defined in a notebook cell, in a {METHOD}" in (
        fb.message
    )


def test_recording_context_sees_the_pipe():
    ctx = RecordingContext(METHOD)
    assert run_attempt(pipe_user, ctx, timeout=5).result == b"hi"
    assert ctx.created["Pipe"] == 1 and require_created(ctx, what="f", names=["Pipe"]) is None
    assert ctx.get_start_method() == METHOD and "RecordingContext" in repr(ctx)
    fb = require_created(RecordingContext(), what="talk", names=["Pipe", "Queue"])
    assert "talk did not create its Pipe with the context it was given" in fb.message
    with pytest.raises(ValueError, match="names must be some of"):
        require_created(ctx, what="f", names=["Socket"])
    with pytest.raises(TypeError, match="context must be a start method name"):
        RecordingContext(3)


# --- plain_checker ----------------------------------------------------------------


@plain_checker
def check_square(func) -> Feedback:
    attempt = run_attempt(func, 3, timeout=5)
    problem = first_problem(attempt, what="func")
    if problem:
        return problem
    return correct("9") if attempt.result == 9 else not_yet(f"got {attempt.result!r}")


def test_plain_checker_reports_its_own_bug_and_strict_raises_it(monkeypatch):
    @plain_checker
    def check(answer) -> Feedback:
        return correct("ok") if answer["n"] == 1 else not_yet("n should be 1")

    monkeypatch.delenv("IPC_HELPERS_STRICT", raising=False)
    assert check({"n": 1}).ok
    fb = check(42)
    assert fb.status == CHECKER_BUG
    assert str(fb).startswith("Checker bug: this is a bug in the checker, not in your code")
    assert "(TypeError: 'int' object is not subscriptable)" in fb.message
    monkeypatch.setenv("IPC_HELPERS_STRICT", "1")
    with pytest.raises(TypeError, match="not subscriptable"):
        check(42)


def test_plain_checker_refuses_an_answer_that_is_not_feedback(monkeypatch):
    monkeypatch.delenv("IPC_HELPERS_STRICT", raising=False)
    assert plain_checker(lambda: "Correct!")().status == CHECKER_BUG
    with pytest.raises(TypeError, match="check must be a function"):
        plain_checker(3)


def test_plain_checker_cleans_up_what_the_checker_started():
    @plain_checker
    def sloppy() -> Feedback:
        mp.Process(target=time.sleep, args=(60,)).start()
        return correct("done")

    assert sloppy().ok  # the fixture checks that the process was stopped


def interrupt_after(delay: float) -> threading.Timer:
    """Imitate Kernel → Interrupt: SIGINT to this process and to its children."""

    def fire() -> None:
        for child in mp.active_children():
            os.kill(child.pid, signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(delay, fire)
    timer.start()
    return timer


def hang_with_everything() -> None:
    shm = shared_memory.SharedMemory(create=True, size=1024)
    procs = [mp.Process(target=time.sleep, args=(60,)) for _ in range(2)]
    for p in procs:
        p.start()
    with mp.Pool(2) as pool:
        pool.map(time.sleep, [60, 60])
    shm.close()


@plain_checker
def check_everything(func) -> Feedback:
    first_problem(run_attempt(func, timeout=30), what="f")
    return correct("never reached")


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.4, 1.5])
def test_interrupt_at_any_moment_answers_interrupted_within_5_s(delay):
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        timer = interrupt_after(delay)
        started = time.monotonic()
        fb = check_everything(hang_with_everything)
        elapsed = time.monotonic() - started
        timer.join()
    finally:
        signal.signal(signal.SIGINT, old)
    assert fb.status == INTERRUPTED and elapsed < delay + 5
    assert fb.message.startswith("you stopped the check.")
    time.sleep(1.0)  # the attempt's thread may go on: what it starts late is stopped too
    assert mp.active_children() == []


def die_of_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)


def child_dies_of_sigint() -> None:
    """What a check sees when the interrupt reached its children but not the kernel."""
    p = mp.Process(target=die_of_sigint)
    p.start()
    p.join(10)


@plain_checker
def check_a_learner_function(func) -> Feedback:
    attempt = run_attempt(func)
    return first_problem(attempt, what="f") or correct("judged")


def test_a_child_that_died_of_sigint_means_interrupted_not_judged():
    assert check_a_learner_function(child_dies_of_sigint).status == INTERRUPTED
    with pytest.raises(KeyboardInterrupt):
        run_attempt(child_dies_of_sigint)


def test_a_keyboard_interrupt_traceback_of_a_child_means_interrupted():
    attempt_like = Attempt(stderr="Process Process-2:\nTraceback ...\nKeyboardInterrupt\n")
    assert attempt_like.interrupted()
    assert Attempt(error=KeyboardInterrupt()).interrupted()
    assert not Attempt(stderr="ValueError: KeyboardInterrupt is not here\n").interrupted()


def test_ignored_processes_are_neither_recorded_nor_stopped():
    def not_mine(record) -> bool:
        return record.target == "sleep"

    attempt = run_attempt(one_forgotten_process, ignore=not_mine)
    assert attempt.processes == [] and attempt.leftover == []
    (survivor,) = mp.active_children()
    assert survivor.is_alive()
    stop([survivor], timeout=0.1)
