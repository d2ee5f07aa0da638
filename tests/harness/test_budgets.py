"""Notebook time budgets: face value on a quiet machine, scaled by the load on a busy one."""

from __future__ import annotations

import os

from tests.notebook_harness import (
    BUDGETS,
    DEFAULT_BUDGET,
    MAX_STRETCH,
    budget,
    load_per_cpu,
    stretched_cell_timeout,
)

from .conftest import ROOT, run_harness, write_notebook


def test_a_quiet_machine_gets_the_budget_at_face_value():
    assert budget("01_queue.ipynb", load=0.3) == DEFAULT_BUDGET
    assert budget("05_choosing.ipynb", load=1.0) == BUDGETS["05_choosing.ipynb"]


def test_run_twice_doubles_it_and_a_busy_machine_scales_it():
    assert budget("01_queue.ipynb", passes=2, load=0.5) == 2 * DEFAULT_BUDGET
    assert budget("01_queue.ipynb", passes=2, load=3.0) == 6 * DEFAULT_BUDGET


def test_the_load_is_measured_per_cpu():
    assert 0.0 <= load_per_cpu() < 100


def test_a_cell_limit_is_stretched_by_the_load_up_to_three_times():
    assert stretched_cell_timeout(120.0, load=0.4) == 120.0  # a quiet machine: face value
    assert stretched_cell_timeout(120.0, load=2.0) == 240.0
    assert stretched_cell_timeout(120.0, load=9.0) == 120.0 * MAX_STRETCH  # a hang still fails


def test_the_harness_stretches_nbval_cell_limit_while_the_machine_is_busy(notebook_dir):
    """A 2 s cell under a 1 s limit: it fails on a quiet machine, passes at load 3 per CPU."""
    notebook = write_notebook(notebook_dir / "slow_cell.ipynb", "import time\ntime.sleep(2)")
    (notebook_dir / "fake_load.py").write_text(
        "import os\n"
        "import tests.notebook_harness as harness\n"
        "harness.load_per_cpu = lambda: float(os.environ['FAKE_LOAD'])\n"
    )
    path = f"{notebook_dir}{os.pathsep}{ROOT}"

    def run(load: str):
        args = ("--nbval-cell-timeout=1", "-p", "fake_load")
        return run_harness(notebook, "fork", *args, PYTHONPATH=path, FAKE_LOAD=load)

    quiet = run("0.5")
    assert quiet.returncode == 1 and "Timeout of 1 seconds" in quiet.stdout, quiet.stdout[-3000:]
    busy = run("3.0")
    assert busy.returncode == 0, busy.stdout[-3000:]
