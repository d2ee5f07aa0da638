"""Each stage proves its start method, in its kernels and in its workers (issue 21.4).

Before, nothing compared a kernel's ``multiprocessing.get_start_method()``
with the stage's: had the IPython startup file stopped loading, the fork,
spawn and forkserver stages would silently have been three ``fork`` runs.
"""

from __future__ import annotations

import multiprocessing

import nbval.kernel
import pytest

from tests import notebook_harness as harness

from .conftest import run_harness, write_notebook


@pytest.fixture
def method_under_test(monkeypatch) -> str:
    """The stage's method for these tests: spawn (never the default on Linux, so it shows)."""
    monkeypatch.setenv("MP_START_METHOD", "spawn")
    return "spawn"


def test_a_kernel_without_the_startup_file_is_refused(method_under_test, monkeypatch, tmp_path):
    monkeypatch.setattr(harness, "IPYTHONDIR", tmp_path)  # an empty profile: no startup file
    with pytest.raises(RuntimeError) as refused:
        harness.CourseKernel(nbval.kernel.CURRENT_ENV_KERNEL_NAME, cwd=str(tmp_path))
    message = str(refused.value)
    assert "start method: the kernel has None, the stage wants 'spawn'" in message
    assert "00-start-method.py" in message


def test_a_kernel_reports_the_stage_facts(method_under_test, tmp_path):
    kernel = harness.CourseKernel(nbval.kernel.CURRENT_ENV_KERNEL_NAME, cwd=str(tmp_path))
    try:
        assert kernel.found == harness.expected_kernel_facts()
        assert kernel.found["start method"] == "spawn"
        assert kernel.found["IPC_HELPERS_STRICT"] == "1"
    finally:
        kernel.stop()


def test_a_worker_started_another_way_is_reported(monkeypatch):
    monkeypatch.setattr(harness, "child_start_method", lambda: ("fork", "fork"))
    current = multiprocessing.get_start_method(allow_none=True)
    problems = harness.start_method_problems("forkserver")
    assert f"this process's start method is {current!r}, the stage's is 'forkserver'" in problems
    assert "a worker was started by 'fork', the stage's is 'forkserver'" in problems
    assert "a worker reports start method 'fork', the stage's is 'forkserver'" in problems


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_the_test_process_and_its_worker_use_the_stage_method(method):
    previous = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method(method, force=True)
    try:
        assert harness.start_method_problems(method) == []
    finally:
        multiprocessing.set_start_method(previous, force=True)


def test_checkers_are_strict_in_tests_and_in_kernels():
    assert harness.kernel_env()["IPC_HELPERS_STRICT"] == "1"
    assert harness.os.environ["IPC_HELPERS_STRICT"] == "1"  # set by pytest_configure


def test_a_notebook_run_starts_with_the_start_method_item(notebook_dir):
    notebook = write_notebook(
        notebook_dir / "prints_its_method.ipynb",
        "import multiprocessing\nprint(multiprocessing.get_start_method())",
    )
    result = run_harness(notebook, "forkserver")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "::start method PASSED" in result.stdout
    assert "prints_its_method.ipynb::leak check PASSED" in result.stdout
