"""ipc_helpers.shared: the workers and runners of notebook 03."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time
from multiprocessing import shared_memory

import numpy as np
import pytest

from ipc_helpers import shared
from ipc_helpers.cleanup import ipc_entries, live_children, stop
from ipc_helpers.motivation import split_range

LINUX = sys.platform.startswith("linux")


def segments() -> set[str]:
    return {n for n in ipc_entries() if n.startswith("psm_")}


@pytest.fixture
def no_leftovers():
    """Fail a test that leaves a process alive or a segment in /dev/shm."""
    before = segments()
    yield
    assert live_children() == []
    assert segments() - before == set()


# --- Value / Array workers ----------------------------------------------------------


def test_bump_is_the_articles_example(no_leftovers):
    number, array, lock = mp.Value("i", 0), mp.Array("i", [1, 2, 3]), mp.Lock()
    procs = [mp.Process(target=shared.bump, args=(number, array, lock)) for _ in range(2)]
    for p in procs:
        p.start()
    assert stop(procs, timeout=30) == [0, 0]
    assert number.value == 2 and array[:] == [3, 4, 5]


def test_report_address_gives_the_childs_address(no_leftovers):
    ctx = mp.get_context("spawn")
    block, out = ctx.Array("d", 2), ctx.Value("Q", 0)
    p = ctx.Process(target=shared.report_address, args=(block, out))
    p.start()
    assert stop([p], timeout=30) == [0]
    assert out.value != 0


# --- Races ---------------------------------------------------------------------


def test_race_without_lock_loses_updates(no_leftovers):
    race = shared.run_value_race(processes=2, increments=20_000, mode="unlocked", rounds=20)
    assert len(race.counts) == len(race.seconds) == 20
    assert race.expected == 40_000
    assert all(0 < c <= race.expected for c in race.counts)
    assert sum(race.lost) > 0 and race.wrong_rounds > 0


@pytest.mark.parametrize("mode", ["locked", "batched"])
def test_race_with_lock_is_exact(mode, no_leftovers):
    race = shared.run_value_race(processes=3, increments=5_000, mode=mode, rounds=3)
    assert race.counts == [15_000] * 3
    assert race.lost == [0, 0, 0] and race.wrong_rounds == 0
    assert all(s >= 0 for s in race.seconds)


def test_race_takes_a_start_method_name(no_leftovers):
    race = shared.run_value_race(processes=1, increments=10, rounds=2, context="spawn")
    assert race.counts == [10, 10]


def test_race_is_bounded_by_its_timeout(no_leftovers):
    with pytest.raises(TimeoutError, match="did not finish in time"):
        shared.run_value_race(
            processes=2, increments=1_000_000, mode="locked", rounds=1, timeout=0.05
        )


def test_race_summary_and_wrong_rounds():
    race = shared.ValueRace(2, 10, "unlocked", counts=[20, 15, 11], seconds=[0.1] * 3)
    assert race.lost == [0, 5, 9] and race.wrong_rounds == 2
    assert race.summary() == (
        "2 × 10 increments, unlocked: expected 20, got 11 to 20; 2 of 3 rounds lost updates"
    )
    exact = shared.ValueRace(3, 1_000, "locked", counts=[3_000] * 2, seconds=[0.1] * 2)
    assert exact.summary().endswith("expected 3,000, got 3,000; 0 of 2 rounds lost updates")


def test_race_rejects_bad_arguments():
    with pytest.raises(ValueError, match="processes must be at least 1"):
        shared.run_value_race(processes=0)
    with pytest.raises(TypeError, match="increments must be a whole number"):
        shared.run_value_race(increments=True)
    with pytest.raises(ValueError, match="mode must be one of"):
        shared.run_value_race(mode="careful")
    with pytest.raises(ValueError, match="rounds must be at most 200"):
        shared.run_value_race(rounds=1000)
    with pytest.raises(TypeError, match="timeout must be a number of seconds"):
        shared.run_value_race(timeout=None)
    with pytest.raises(TypeError, match="context must be a start method name"):
        shared.run_value_race(context=3)
    with pytest.raises(ValueError, match="context must be one of"):
        shared.run_value_race(context="thread")
    assert live_children() == []


def test_add_many_with_a_shared_lock_is_exact(no_leftovers):
    counter = mp.Value("q", 0)
    start = mp.Barrier(2)
    procs = [
        mp.Process(target=shared.add_many, args=(counter, 3_000, counter.get_lock(), start))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    assert stop(procs, timeout=30) == [0, 0]
    assert counter.value == 6_000


def test_add_many_without_a_lock_counts_alone(no_leftovers):
    counter, start = mp.Value("q", 0), mp.Barrier(1)  # kept referenced until joined
    p = mp.Process(target=shared.add_many, args=(counter, 500, None, start))
    p.start()
    assert stop([p], timeout=30) == [0]
    assert counter.value == 500


def test_add_many_gives_up_quietly_on_a_broken_barrier(no_leftovers):
    counter = mp.Value("q", 0)
    start = mp.Barrier(2)  # two parties, but only one process: the wait times out
    p = mp.Process(target=shared.add_many, args=(counter, 10, None, start, 0.2))
    p.start()
    assert stop([p], timeout=30) == [0]
    assert counter.value == 0


# --- Inheritance only ---------------------------------------------------------


def test_value_as_a_pool_task_argument_is_refused(no_leftovers):
    counter = mp.Value("i", 0)
    with mp.Pool(1) as pool, pytest.raises(RuntimeError, match="through inheritance"):
        pool.map_async(shared.add_one, [counter]).get(timeout=30)


def test_pool_initializer_shares_the_value(no_leftovers):
    counter = mp.Value("i", 0)
    with mp.Pool(2, initializer=shared.use_counter, initargs=(counter,)) as pool:
        assert pool.map_async(shared.add_to_counter, range(1, 11)).get(timeout=30) == list(
            range(1, 11)
        )
    assert counter.value == 55


def test_module_global_is_none_in_a_spawn_child(no_leftovers):
    ctx = mp.get_context("spawn")
    shared.COUNTER = ctx.Value("i", 42)
    try:
        receive, send = ctx.Pipe(duplex=False)
        p = ctx.Process(target=shared.report_counter, args=(send,))
        p.start()
        send.close()
        assert receive.poll(30)
        assert receive.recv() == "None"
        assert stop([p], timeout=30) == [0]
        receive.close()
    finally:
        shared.COUNTER = None


# --- SharedArray ------------------------------------------------------------------


def test_shared_array_create_attach_and_cleanup(no_leftovers):
    with shared.SharedArray.create((2, 3), "int32") as sa:
        assert sa.array.shape == (2, 3) and sa.array.dtype == np.int32
        assert sa.nbytes == 24 and not sa.array.any()
        sa.array[1, 2] = 7
        with shared.SharedArray.attach(sa.name, (2, 3), "int32") as other:
            assert other.array[1, 2] == 7
            other.array[0, 0] = 5
            assert "attached, open" in repr(other)
        assert sa.array[0, 0] == 5
        name = sa.name
        assert "creator, open" in repr(sa)
    if LINUX:
        assert shared.in_dev_shm(name) == []
    assert "closed" in repr(sa)
    with pytest.raises(ValueError, match="is closed"):
        sa.array  # noqa: B018
    sa.close()  # a second close does nothing
    assert not shared.segment_exists(name)


def test_shared_array_unlinks_even_when_a_view_is_alive(no_leftovers):
    sa = shared.SharedArray.create(4)
    view = sa.array
    view[:] = 3.0
    with pytest.raises(BufferError, match="numpy view .* is still alive"):
        sa.close()
    assert not shared.segment_exists(sa.name)  # unlinked all the same
    assert view.tolist() == [3.0] * 4  # the view we hold stays valid (still mapped) ...
    with pytest.raises(ValueError, match="is closed: no new views"):
        sa.array  # noqa: B018  ... but no new ones: SharedMemory.close dropped its buffer
    assert "open" in repr(sa)
    del view
    sa.close()
    assert "closed" in repr(sa)


def test_shared_array_unlinks_when_the_block_raises(no_leftovers):
    with pytest.raises(ZeroDivisionError), shared.SharedArray.create(4) as sa:
        sa.array[:] = 1
        1 / 0  # noqa: B018


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((0,), {}, ValueError, r"shape\[0\] must be at least 1"),
        (((),), {}, ValueError, "at least one dimension"),
        (("10",), {}, TypeError, "shape must be tuple"),
        (((2, 2.5),), {}, TypeError, r"shape\[1\] must be a whole number"),
        ((4, "no-such-type"), {}, TypeError, "dtype must be a numpy dtype"),
        ((4, object), {}, ValueError, "pointers"),
        (((5000, 5000),), {}, ValueError, "needs 200,000,000 bytes"),
        ((4,), {"max_bytes": 0}, ValueError, "max_bytes must be at least 1"),
    ],
)
def test_shared_array_rejects_bad_input_and_leaves_nothing(
    args, kwargs, error, message, no_leftovers
):
    with pytest.raises(error, match=message):
        shared.SharedArray.create(*args, **kwargs)


def test_attach_checks_name_and_size(no_leftovers):
    with pytest.raises(TypeError, match="name must be str"):
        shared.SharedArray.attach(3, 4)
    with pytest.raises(ValueError, match="name must not be empty"):
        shared.SharedArray.attach("", 4)
    with pytest.raises(FileNotFoundError):
        shared.SharedArray.attach("psm_no_such_block_03", 4)
    with (
        shared.SharedArray.create(4, "float64") as sa,
        pytest.raises(ValueError, match="too few for shape"),
    ):
        shared.SharedArray.attach(sa.name, (100,), "float64")


def test_scale_and_report_sees_and_edits_the_parents_array(no_leftovers):
    with shared.SharedArray.create(4) as sa:
        sa.array[:] = [1, 2, 3, 4]
        receive, send = mp.Pipe(duplex=False)
        p = mp.Process(target=shared.scale_and_report, args=(sa.name, 4, 3.0, send))
        p.start()
        send.close()
        assert receive.poll(30) and receive.recv() == [1.0, 2.0, 3.0]
        assert receive.poll(30) and receive.recv() == "done"
        assert stop([p], timeout=30) == [0]
        receive.close()
        assert sa.array.tolist() == [3.0, 6.0, 9.0, 12.0]


def run_workers(target, arg_list):
    procs = [mp.Process(target=target, args=args) for args in arg_list]
    for p in procs:
        p.start()
    return stop(procs, timeout=30)


def test_sqrt_slice_and_sum_slice_and_fill_rows(no_leftovers):
    n = 1_000
    with shared.SharedArray.create(n) as src, shared.SharedArray.create(n) as dst:
        src.array[:] = np.arange(n)
        parts = split_range(n, 3)
        codes = run_workers(shared.sqrt_slice, [(src.name, dst.name, n, a, b) for a, b in parts])
        assert codes == [0, 0, 0]
        assert np.array_equal(dst.array, np.sqrt(np.arange(n)))
        results = mp.Array("d", 3)
        codes = run_workers(
            shared.sum_slice, [(src.name, n, a, b, results, i) for i, (a, b) in enumerate(parts)]
        )
        assert codes == [0, 0, 0] and sum(results[:]) == sum(range(n))
    with shared.SharedArray.create((5, 4), "int64") as table:
        codes = run_workers(
            shared.fill_rows, [(table.name, 5, 4, a, b) for a, b in split_range(5, 2)]
        )
        assert codes == [0, 0]
        assert table.array.tolist() == [list(shared.table_row(r, 4)) for r in range(5)]
    assert shared.table_row(2, 3).tolist() == [3, 6, 9]


def test_scale_raw_edits_a_raw_array_in_place(no_leftovers):
    raw = mp.RawArray("d", [1.0, 2.0, 3.0])
    p = mp.Process(target=shared.scale_raw, args=(raw, 2.0))
    p.start()
    assert stop([p], timeout=30) == [0]
    assert raw[:] == [2.0, 4.0, 6.0]


# --- Separate programs and the resource tracker -----------------------------------


def test_warning_lines_strip_paths():
    text = (
        "/opt/python/lib/python3.11/multiprocessing/resource_tracker.py:254: UserWarning: "
        "resource_tracker: There appear to be 1 leaked shared_memory objects\n"
        "  warnings.warn('resource_tracker: There appear to be %d '\n"
        "plain line\n"
    )
    assert shared.warning_lines(text) == [
        "UserWarning: resource_tracker: There appear to be 1 leaked shared_memory objects"
    ]
    with pytest.raises(TypeError, match="text must be str"):
        shared.warning_lines(None)


def test_run_python_shows_the_leak_warning_of_a_forgotten_unlink():
    code = (
        "from multiprocessing import shared_memory\n"
        "shm = shared_memory.SharedMemory(create=True, size=64)\n"
        "shm.close()\n"
        "print(shm.name)\n"
    )
    done = shared.run_python(code, timeout=60)
    assert done.returncode == 0
    warnings = shared.warning_lines(done.stderr)
    assert len(warnings) == 1 and "leaked shared_memory objects" in warnings[0]
    if LINUX:
        assert shared.in_dev_shm(done.stdout.strip()) == []  # the tracker removed it


def test_untrack_keeps_the_block_alive_after_an_unrelated_reader():
    code = (
        "import sys\n"
        "from multiprocessing import shared_memory\n"
        "from ipc_helpers import shared\n"
        "shm = shared_memory.SharedMemory(name=sys.argv[1])\n"
        "shared.untrack(shm)\n"
        "print(shm.buf[0])\n"
        "shm.close()\n"
    )
    shm = shared_memory.SharedMemory(create=True, size=8)
    try:
        shm.buf[0] = 7
        done = shared.run_python(code, shm.name, timeout=60)
        assert done.stdout.strip() == "7", done.stderr
        assert shared.warning_lines(done.stderr) == []
        if LINUX:
            assert shared.in_dev_shm(shm.name) == [shm.name]
    finally:
        shm.close()
        shm.unlink()


def test_an_interrupt_lets_the_separate_program_finish_first(tmp_path):
    done = shared.run_python("import os; print(os.getsid(0))")
    assert int(done.stdout) != os.getsid(0)  # a session of its own: Interrupt misses it
    marker = tmp_path / "finished"
    code = f"import pathlib, time; time.sleep(0.5); pathlib.Path({str(marker)!r}).write_text('yes')"
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        shared.run_python(code, timeout=30)
    assert marker.read_text() == "yes"  # it ended by itself, not killed half way
    assert time.monotonic() - started < shared.LET_FINISH + 2


def test_run_python_is_bounded_and_checks_arguments():
    with pytest.raises(subprocess.TimeoutExpired):
        shared.run_python("import time; time.sleep(30)", timeout=0.5)
    with pytest.raises(TypeError, match="code must be str"):
        shared.run_python(b"print(1)")
    with pytest.raises(TypeError, match=r"args\[0\] must be str"):
        shared.run_python("pass", 1)
    with pytest.raises(TypeError, match="timeout must be a number of seconds"):
        shared.run_python("pass", timeout=None)


def test_an_unrelated_reader_destroys_the_block_unless_it_opts_out():
    reader = (
        "import sys\n"
        "from multiprocessing import shared_memory\n"
        "shm = shared_memory.SharedMemory(name=sys.argv[1])\n"
        "print(shm.buf[0])\n"
        "shm.close()\n"
    )
    shm = shared_memory.SharedMemory(create=True, size=8)
    shm.buf[0] = 9
    try:
        done = shared.run_python(reader, shm.name, timeout=60)
        assert done.stdout.strip() == "9", done.stderr
        assert any("leaked shared_memory" in w for w in shared.warning_lines(done.stderr))
        assert not shared.segment_exists(shm.name)
    finally:
        shm.close()
        with pytest.raises(FileNotFoundError):
            shm.unlink()
        shared.untrack(shm)


@pytest.mark.skipif(not shared.HAS_TRACK, reason="track= exists from Python 3.13")
def test_track_false_keeps_the_block_alive():
    reader = (
        "import sys\n"
        "from multiprocessing import shared_memory\n"
        "shm = shared_memory.SharedMemory(name=sys.argv[1], track=False)\n"
        "print(shm.buf[0])\n"
        "shm.close()\n"
    )
    shm = shared_memory.SharedMemory(create=True, size=8)
    try:
        done = shared.run_python(reader, shm.name, timeout=60)
        assert done.returncode == 0 and shared.warning_lines(done.stderr) == []
        assert shared.segment_exists(shm.name)
    finally:
        shm.close()
        shm.unlink()


def test_segment_exists_leaves_nothing_registered(no_leftovers):
    assert not shared.segment_exists("psm_no_such_block_03")
    shm = shared_memory.SharedMemory(create=True, size=8)
    try:
        assert shared.segment_exists(shm.name)
        assert shared.segment_exists(shm.name)  # twice: no error, no extra registration
    finally:
        shm.close()
        shm.unlink()
    assert not shared.segment_exists(shm.name)
    with pytest.raises(TypeError, match="name must be str"):
        shared.segment_exists(None)


def test_expect_is_strict_in_tests_and_gentle_for_learners(monkeypatch, capsys):
    assert shared.expect(True, "anything") is None
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("IPC_HELPERS_STRICT", "1")
    with pytest.raises(AssertionError, match="no update was lost"):
        shared.expect(False, "no update was lost")
    monkeypatch.delenv("IPC_HELPERS_STRICT")
    shared.expect(False, "no update was lost")
    said = capsys.readouterr().out
    assert "did not show it (no update was lost)" in said and "run the cell again" in said
    assert max(len(line) for line in said.splitlines()) <= 90


def test_in_dev_shm_and_untrack_check_arguments():
    with pytest.raises(TypeError, match=r"names\[0\] must be str"):
        shared.in_dev_shm(1)
    with pytest.raises(TypeError, match="shm must be SharedMemory"):
        shared.untrack("psm_x")
