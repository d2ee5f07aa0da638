"""``--run-all-twice``: Run All twice in one kernel; a cell that fails the second time fails."""

from __future__ import annotations

from .conftest import run_harness, write_notebook


def test_a_cell_that_fails_the_second_time_fails_the_notebook(notebook_dir):
    notebook = write_notebook(
        notebook_dir / "once_only.ipynb",
        "import itertools",
        "try:\n    runs += 1\nexcept NameError:\n    runs = 1\nassert runs == 1, 'ran twice'",
    )
    once = run_harness(notebook, "fork")
    assert once.returncode == 0, once.stdout[-3000:]
    twice = run_harness(notebook, "fork", "--run-all-twice")
    assert twice.returncode == 1, twice.stdout[-3000:]
    assert "once_only.ipynb::Cell 1 (second run) FAILED" in twice.stdout
    assert "ran twice" in twice.stdout
    assert "once_only.ipynb::leak check PASSED" in twice.stdout
