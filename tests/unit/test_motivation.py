"""Unit tests of ipc_helpers.motivation (notebook 00's workers and given code)."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import queue
import sys
import types
from pathlib import Path

import pytest

from ipc_helpers import motivation as m
from ipc_helpers.cleanup import stop


def run_child(target, *args) -> object:
    """Run ``target(*args, results)`` in a child; return what it put on the queue."""
    results = mp.Queue()
    child = mp.Process(target=target, args=(*args, results))
    child.start()
    try:
        return results.get(timeout=30)
    finally:
        assert stop([child], timeout=10) == [0]


# --- workers -----------------------------------------------------------------------------


def test_change_globals_changes_only_the_childs_copy():
    counter, notes = run_child(m.change_globals, "hello")
    assert (counter, notes) == (1, ["hello"])
    assert (m.COUNTER, m.NOTES) == (0, [])


def test_append_and_send_returns_a_changed_copy():
    mine = [1, 2]
    received = run_child(m.append_and_send, mine, 3)
    assert received == [1, 2, 3]
    assert mine == [1, 2]
    assert received is not mine


def test_square_in_place_changes_the_list_in_this_process():
    numbers = [1, 2, 3]
    assert m.square_in_place(numbers) is None
    assert numbers == [1, 4, 9]


def test_square_all_puts_the_squares():
    results: queue.Queue = queue.Queue()
    m.square_all([2, -3], results)
    assert results.get_nowait() == [4, 9]


@pytest.mark.parametrize("start, stop_, expected", [(0, 0, 0), (0, 4, 14), (3, 5, 25)])
def test_sum_of_squares(start, stop_, expected):
    assert m.sum_of_squares(start, stop_) == expected


def test_call_pickled_reports_the_result_or_the_error():
    results: queue.Queue = queue.Queue()
    m.call_pickled(pickle.dumps(abs), -3, results)
    assert results.get_nowait() == ("returned", 3)
    missing = b"c__main__\nno_such_function\n."  # a pickle that names __main__.no_such_function
    m.call_pickled(missing, 1, results)
    what, message = results.get_nowait()
    assert what == "raised" and message.startswith("AttributeError:")
    assert "no_such_function" in message


def test_do_nothing_accepts_anything():
    assert m.do_nothing(1, "two", [3]) is None


# --- CPUs --------------------------------------------------------------------------------


def fake_cgroups(tmp_path: Path, self_cgroup: str, files: dict[str, str]) -> dict[str, Path]:
    """A fake /sys/fs/cgroup (``files``: path under it -> content) and /proc/self/cgroup."""
    root = tmp_path / "cgroup"
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(content + "\n")
    (tmp_path / "self_cgroup").write_text(self_cgroup)
    return {"root": root, "self_cgroup": tmp_path / "self_cgroup"}


@pytest.mark.parametrize(
    "self_cgroup, files, expected",
    [
        # cgroup v2 in a container (cgroup namespace: the process is at "/")
        ("0::/\n", {"cpu.max": "150000 100000"}, (1.5, "cgroup v2 cpu.max")),
        ("0::/\n", {"cpu.max": "max 100000"}, None),
        # cgroup v2, the limit on a parent of the process's own cgroup (Kubernetes pods)
        (
            "0::/kubepods/pod1/box\n",
            {"kubepods/pod1/cpu.max": "100000 100000", "kubepods/pod1/box/cpu.max": "max 100000"},
            (1.0, "cgroup v2 cpu.max"),
        ),
        # cgroup v1: the cpu controller mounted as cpu,cpuacct
        (
            "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n",
            {
                "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "50000",
                "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000",
            },
            (0.5, "cgroup v1 cpu.cfs_quota_us"),
        ),
        # cgroup v1 with no quota (-1), as on this course's machine
        (
            "1:cpu:/\n",
            {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"},
            None,
        ),
        # no cgroup files at all (macOS, Windows)
        ("", {}, None),
    ],
)
def test_cpu_quota_reads_cgroups(tmp_path, self_cgroup, files, expected):
    where = fake_cgroups(tmp_path, self_cgroup, files)
    assert m.cpu_quota(environ={}, **where) == expected


def test_cpu_quota_reads_binders_cpu_limit_and_keeps_the_smallest(tmp_path):
    where = fake_cgroups(tmp_path, "0::/\n", {"cpu.max": "200000 100000"})
    assert m.cpu_quota(environ={"CPU_LIMIT": "1.0"}, **where) == (1.0, "CPU_LIMIT")
    assert m.cpu_quota(environ={"CPU_LIMIT": "4"}, **where) == (2.0, "cgroup v2 cpu.max")
    for nonsense in ("", "abc", "0", "-1", "inf", "nan"):
        assert m.cpu_quota(environ={"CPU_LIMIT": nonsense}, **where) == (2.0, "cgroup v2 cpu.max")


def test_cpu_quota_without_files_on_a_mac_uses_cpu_limit_only(tmp_path):
    missing = {"root": tmp_path / "none", "self_cgroup": tmp_path / "none" / "cgroup"}
    assert m.cpu_quota(environ={"CPU_LIMIT": "0.5"}, **missing) == (0.5, "CPU_LIMIT")
    assert m.cpu_quota(environ={}, **missing) is None


@pytest.mark.parametrize(
    "cpus, limit, usable, best",
    [
        (m.CpuCount(16, 16, 2.0, "cgroup v2 cpu.max"), 2.0, 2, [1.0, 2.0, 2.0]),
        (m.CpuCount(16, 4, None), 4.0, 4, [1.0, 2.0, 3.0]),
        (m.CpuCount(8, None, 1.5, "CPU_LIMIT"), 1.5, 2, [1.0, 1.5, 1.5]),
        (m.CpuCount(2, 2, 0.5, "CPU_LIMIT"), 0.5, 1, [1.0, 1.0, 1.0]),
        (m.CpuCount(4, None, None), 4.0, 4, [1.0, 2.0, 3.0]),
    ],
)
def test_cpu_count_limits(cpus, limit, usable, best):
    assert cpus.limit == limit
    assert cpus.usable == usable
    assert [cpus.best_speedup(n) for n in (1, 2, 3)] == best
    with pytest.raises(ValueError, match="processes"):
        cpus.best_speedup(0)


def test_count_cpus_here():
    cpus = m.count_cpus()
    assert cpus.machine == (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert cpus.affinity == len(os.sched_getaffinity(0))
    assert 1 <= m.usable_cpus() == cpus.usable <= max(cpus.machine, cpus.affinity or 1)
    assert (cpus.quota is None) == (cpus.quota_from == "")


def test_the_gil_helpers_agree_with_the_build():
    if not m.free_threaded_build():
        assert m.gil_enabled() is True
    if sys.version_info < (3, 13):
        assert m.gil_enabled() is True and not m.free_threaded_build()


# --- splitting and summing ------------------------------------------------------------------


@pytest.mark.parametrize("n, parts", [(10, 3), (0, 2), (5, 5), (3, 5), (1_000_001, 7)])
def test_split_range_covers_range_once_with_near_equal_chunks(n, parts):
    chunks = m.split_range(n, parts)
    assert len(chunks) == parts
    assert [i for a, b in chunks for i in range(a, b)] == list(range(n))
    sizes = [b - a for a, b in chunks]
    assert max(sizes) - min(sizes) <= 1


def test_split_range_example():
    assert m.split_range(10, 3) == [(0, 4), (4, 7), (7, 10)]


@pytest.mark.parametrize(
    "args, error, word",
    [
        (("10", 2), TypeError, "n"),
        ((10, 0), ValueError, "parts"),
        ((-1, 2), ValueError, "n"),
        ((10, 2.0), TypeError, "parts"),
    ],
)
def test_split_range_rejects_bad_input(args, error, word):
    with pytest.raises(error, match=word):
        m.split_range(*args)


def test_sums_in_threads_and_processes_match_serial():
    chunks = m.split_range(1000, 3)
    expected = m.sum_of_squares(0, 1000)
    assert m.sum_in_threads(chunks, timeout=30) == expected
    assert m.sum_in_processes(chunks, "spawn", timeout=30) == expected
    assert m.sum_in_processes(chunks, None, timeout=30) == expected
    assert mp.active_children() == []


@pytest.mark.parametrize(
    "args, error, word",
    [
        (([],), ValueError, "chunks"),
        (((0, 1),), TypeError, "chunks"),
        (([(0, 1)], "vfork"), ValueError, "context"),
        (([(0, 1)], 3), TypeError, "context"),
        (([(0, 1)], None, 0), ValueError, "timeout"),
    ],
)
def test_sum_in_processes_rejects_bad_input(args, error, word):
    with pytest.raises(error, match=word):
        m.sum_in_processes(*args)
    assert mp.active_children() == []


def test_compare_threads_processes():
    result = m.compare_threads_processes(100_000, 2, "spawn", rounds=2, max_rounds=3, timeout=30)
    assert (result.n, result.workers, result.start_method) == (100_000, 2, "spawn")
    assert 2 <= result.rounds <= 3
    assert min(result.serial, result.threads, result.processes, result.startup) > 0
    assert result.threads_cpus > 0 and result.processes_cpus > 0
    assert result.threads_speedup == result.serial / result.threads
    assert result.processes_speedup == result.serial / result.processes
    assert result.gil == m.gil_enabled() and result.cpus == m.count_cpus()
    assert mp.active_children() == []


def _race(**changes) -> m.ThreadsVsProcesses:
    values = dict(
        n=1000, workers=2, rounds=3, start_method="fork", serial=1.0, threads=1.05,
        processes=0.55, threads_cpus=1.0, processes_cpus=1.9, startup=0.01,
        cpus=m.CpuCount(2, 2, None), gil=True,
    )  # fmt: skip
    return m.ThreadsVsProcesses(**{**values, **changes})


def test_the_claims_depend_on_the_build_and_the_cpus():
    gil = [
        "with the GIL, 2 threads kept at most one CPU busy",
        "with the GIL, 2 threads are not faster than one",
        "2 processes beat 2 threads",
    ]
    assert _race().claims() == [(True, claim) for claim in gil] and not _race().busy
    assert [shown for shown, _ in _race(processes=1.0).claims()] == [True, True, False]
    assert [shown for shown, _ in _race(threads=0.65).claims()] == [True, False, True]
    assert [shown for shown, _ in _race(threads_cpus=1.6).claims()] == [False, True, True]
    # processes that got about one CPU between them: too busy to judge the timings
    busy = _race(processes=1.0, processes_cpus=1.0, threads=0.6)
    assert busy.busy and busy.claims() == [(True, gil[0])]
    free = "without the GIL, 2 threads are faster than one thread"
    assert _race(gil=False, threads=0.55, threads_cpus=1.9).claims() == [(True, free)]
    assert _race(gil=False, threads_cpus=1.9).claims() == [(False, free)]
    assert _race(gil=False, threads_cpus=1.0).claims() == [] and _race(gil=False).busy
    assert _race(cpus=m.CpuCount(8, 8, 1.0, "CPU_LIMIT")).claims() == []  # one CPU: no claim
    assert _race(workers=1).claims() == []


@pytest.mark.parametrize(
    "kwargs, error, word",
    [
        ({"n": 0}, ValueError, "n"),
        ({"workers": 0}, ValueError, "workers"),
        ({"workers": "2"}, TypeError, "workers"),
        ({"rounds": 0}, ValueError, "rounds"),
        ({"rounds": 4, "max_rounds": 3}, ValueError, "max_rounds"),
        ({"timeout": None}, TypeError, "timeout"),
        ({"context": "threads"}, ValueError, "context"),
    ],
)
def test_compare_rejects_bad_input(kwargs, error, word):
    with pytest.raises(error, match=word):
        m.compare_threads_processes(**kwargs)


# --- what a start method changes -------------------------------------------------------------


def _cell_square(x):
    return x * x


@pytest.fixture
def cell_function():
    """A function that lives in ``__main__``, as one defined in a notebook cell does."""
    f = types.FunctionType(_cell_square.__code__, globals(), "cell_square")
    f.__module__, f.__qualname__ = "__main__", "cell_square"
    sys.modules["__main__"].cell_square = f
    yield f
    del sys.modules["__main__"].cell_square


def test_try_cell_function_fails_where_the_child_has_another_main(cell_function):
    assert m.try_cell_function("spawn", abs, -4) == "returned 4"
    said = m.try_cell_function("spawn", cell_function, 3)
    assert said.startswith("AttributeError: Can't get attribute 'cell_square' on <module")
    assert said.endswith(" ...>") and "(" not in said
    if "fork" in mp.get_all_start_methods():
        assert m.try_cell_function("fork", cell_function, 3) == "returned 9"
    assert mp.active_children() == []


def test_try_pool_initializer_and_try_argument(tmp_path):
    said = m.try_pool_initializer("spawn", lambda: None)  # a local lambda here: AttributeError
    assert said.startswith(("PicklingError: ", "AttributeError: ")) and "lambda" in said
    assert "0x" not in said
    assert m.try_pool_initializer("spawn", m.do_nothing) == "works"
    with open(tmp_path / "log.txt", "w") as open_file:
        assert m.try_argument("spawn", open_file).startswith("TypeError: cannot pickle")
        if "fork" in mp.get_all_start_methods():
            assert m.try_pool_initializer("fork", lambda: None) == "works"
            assert m.try_argument("fork", open_file) == "works"
    assert m.try_argument("spawn", [1, 2]) == "works"
    assert mp.active_children() == []


# --- scripts ---------------------------------------------------------------------------------


def test_run_script_runs_a_script_with_this_python():
    done = m.run_script("import sys\nprint(sys.version_info[:2])\nprint('oops', file=sys.stderr)")
    assert done.stdout.strip() == str(sys.version_info[:2])
    assert done.stderr.strip() == "oops" and done.returncode == 0
    assert m.run_script("raise SystemExit(3)").returncode == 3
    with pytest.raises(TypeError, match="source"):
        m.run_script(b"print(1)")


STDERR = """Traceback (most recent call last):
  File "/somewhere/x.py", line 3, in <module>
ValueError: first
Traceback (most recent call last):
  File "/somewhere/x.py", line 9, in <module>
RuntimeError:\x20
        An attempt has been made
        to start

        more text
"""


def test_last_error_block_keeps_the_message_and_drops_the_paths():
    assert (
        m.last_error_block(STDERR)
        == "RuntimeError:\nAn attempt has been made\nto start\n\nmore text"
    )
    assert m.last_error_block(STDERR, "ValueError") == "ValueError: first"
    assert m.last_error_block("all fine") == ""
    with pytest.raises(TypeError, match="stderr"):
        m.last_error_block(b"bytes")
