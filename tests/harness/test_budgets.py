"""Notebook time budgets: face value on a quiet machine, scaled by the load on a busy one."""

from __future__ import annotations

from tests.notebook_harness import BUDGETS, DEFAULT_BUDGET, budget, load_per_cpu


def test_a_quiet_machine_gets_the_budget_at_face_value():
    assert budget("01_queue.ipynb", load=0.3) == DEFAULT_BUDGET
    assert budget("05_choosing.ipynb", load=1.0) == BUDGETS["05_choosing.ipynb"]


def test_run_twice_doubles_it_and_a_busy_machine_scales_it():
    assert budget("01_queue.ipynb", passes=2, load=0.5) == 2 * DEFAULT_BUDGET
    assert budget("01_queue.ipynb", passes=2, load=3.0) == 6 * DEFAULT_BUDGET


def test_the_load_is_measured_per_cpu():
    assert 0.0 <= load_per_cpu() < 100
