"""ipc_helpers.shared: the workers and runners of notebook 03."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys
from multiprocessing import shared_memory

import numpy as np
import pytest

from ipc_helpers import shared
from ipc_helpers.cleanup import ipc_entries, live_children, stop

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
    race = shared.run_race(processes=2, increments=20_000, mode="unlocked", rounds=20)
    assert len(race.counts) == len(race.seconds) == 20
    assert race.expected == 40_000
    assert all(0 < c <= race.expected for c in race.counts)
    assert sum(race.lost) > 0


@pytest.mark.parametrize("mode", ["locked", "batched"])
def test_race_with_lock_is_exact(mode, no_leftovers):
    race = shared.run_race(processes=3, increments=5_000, mode=mode, rounds=3)
    assert race.counts == [15_000] * 3
    assert race.lost == [0, 0, 0]


def test_race_is_bounded_by_its_timeout(no_leftovers):
    with pytest.raises(TimeoutError, match="did not finish within 0.05 s"):
        shared.run_race(processes=2, increments=1_000_000, mode="locked", rounds=1, timeout=0.05)


def test_race_rejects_bad_arguments():
    with pytest.raises(ValueError, match="processes must be at least 1"):
        shared.run_race(processes=0)
    with pytest.raises(TypeError, match="increments must be a whole number"):
        shared.run_race(increments=True)
    with pytest.raises(ValueError, match="mode must be one of"):
        shared.run_race(mode="careful")
    with pytest.raises(ValueError, match="rounds must be at most 200"):
        shared.run_race(rounds=1000)
    with pytest.raises(TypeError, match="timeout must be a number of seconds"):
        shared.run_race(timeout=None)
    with pytest.raises(TypeError, match="context must be BaseContext"):
        shared.run_race(context="spawn")
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


def test_shared_array_unlinks_even_when_a_view_is_alive(no_leftovers):
    sa = shared.SharedArray.create(4)
    view = sa.array
    with pytest.raises(BufferError, match="numpy view .* is still alive"):
        sa.close()
    if LINUX:
        assert shared.in_dev_shm(sa.name) == []
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
        parts = shared.split(n, 3)
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
            shared.fill_rows, [(table.name, 5, 4, a, b) for a, b in shared.split(5, 2)]
        )
        assert codes == [0, 0]
        assert table.array.tolist() == [list(shared.table_row(r, 4)) for r in range(5)]
    assert shared.table_row(2, 3).tolist() == [3, 6, 9]


@pytest.mark.parametrize(
    ("n", "parts", "expected"),
    [
        (10, 3, [(0, 4), (4, 7), (7, 10)]),
        (4, 2, [(0, 2), (2, 4)]),
        (2, 3, [(0, 1), (1, 2), (2, 2)]),
        (0, 1, [(0, 0)]),
    ],
)
def test_split(n, parts, expected):
    assert shared.split(n, parts) == expected


def test_split_covers_everything_evenly():
    for n in range(0, 40):
        for parts in range(1, 7):
            slices = shared.split(n, parts)
            assert [i for a, b in slices for i in range(a, b)] == list(range(n))
            sizes = [b - a for a, b in slices]
            assert max(sizes) - min(sizes) <= 1


def test_split_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_parts must be at least 1"):
        shared.split(10, 0)
    with pytest.raises(ValueError, match="n_items must be at least 0"):
        shared.split(-1, 2)
    with pytest.raises(TypeError, match="n_items must be a whole number"):
        shared.split(2.0, 2)


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


def test_run_python_is_bounded_and_checks_arguments():
    with pytest.raises(subprocess.TimeoutExpired):
        shared.run_python("import time; time.sleep(30)", timeout=0.5)
    with pytest.raises(TypeError, match="code must be str"):
        shared.run_python(b"print(1)")
    with pytest.raises(TypeError, match=r"args\[0\] must be str"):
        shared.run_python("pass", 1)
    with pytest.raises(TypeError, match="timeout must be a number of seconds"):
        shared.run_python("pass", timeout=None)


def test_python_version_and_find_python():
    assert shared.python_version(sys.executable) == tuple(sys.version_info[:3])
    assert shared.python_version("/no/such/python") is None
    assert shared.find_python((3, 0)) == sys.executable
    found = shared.find_python((3, 13))
    if found is not None:
        assert shared.python_version(found) >= (3, 13, 0)
    assert shared.find_python((9, 99)) is None


def test_in_dev_shm_and_untrack_check_arguments():
    with pytest.raises(TypeError, match=r"names\[0\] must be str"):
        shared.in_dev_shm(1)
    with pytest.raises(TypeError, match="shm must be SharedMemory"):
        shared.untrack("psm_x")
