"""Every checker against its contract table (tests/unit/contract_cases), and the harness itself."""

from __future__ import annotations

import importlib
import inspect
import multiprocessing as mp
import pkgutil
import time

import pytest

import ipc_helpers.exercises
from ipc_helpers.exercises.feedback import Feedback, correct, plain_checker
from tests.unit.checker_contract import (
    Case,
    Solution,
    check_doubled,
    collect_cases,
    coverage_problems,
    double,
    doubled_in_a_pool,
    placeholder,
    run_case,
)

CASES = collect_cases()
METHOD = mp.get_start_method()


def all_checkers() -> list:
    """Every ``check_*`` function of every module in ``ipc_helpers/exercises``."""
    found = []
    for info in pkgutil.iter_modules(ipc_helpers.exercises.__path__):
        if info.name == "feedback":
            continue
        module = importlib.import_module(f"ipc_helpers.exercises.{info.name}")
        found += [
            obj
            for name, obj in vars(module).items()
            if name.startswith("check_")
            and inspect.isfunction(obj)
            and obj.__module__ == module.__name__
        ]
    return found


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_contract_row(case: Case):
    if METHOD not in case.methods:
        pytest.skip(f"this row applies to {sorted(case.methods)}, not {METHOD}")
    run_case(case)


def test_every_checker_has_the_rows_it_needs():
    problems = coverage_problems(CASES, all_checkers())
    assert not problems, "contract rows missing (tests/unit/contract_cases/<module>.py):\n" + (
        "\n".join(problems)
    )


# --- the harness can fail (21.3: no assertion that cannot fail) ---------------------


def test_a_row_that_only_names_the_status_is_refused():
    with pytest.raises(ValueError, match="words must name what the message says"):
        Case("x", check_doubled, placeholder, "not attempted", r"Not attempted yet:")
    with pytest.raises(ValueError, match="status must be one of"):
        Case("x", check_doubled, placeholder, "fine", r"anything")


def test_wrong_status_or_words_fail_the_row():
    with pytest.raises(AssertionError, match="status 'not attempted', expected 'correct'"):
        run_case(Case("x", check_doubled, placeholder, "correct", r"NotImplementedError"))
    with pytest.raises(AssertionError, match="does not contain /ran triple/"):
        run_case(Case("x", check_doubled, placeholder, "not attempted", r"ran triple"))
    with pytest.raises(AssertionError, match="expected 'correct'"):  # wrong every time
        run_case(Case("x", check_doubled, placeholder, "correct", r"NotImplementedError", tries=3))


@plain_checker
def check_that_leaks(answer) -> Feedback:
    """A bad checker: starts a process outside any attempt and 'forgets' it."""
    mp.Process(target=time.sleep, args=(30,)).start()
    return correct("fine")


def leaky_checker(answer) -> Feedback:  # not plain_checker: nothing cleans up after it
    mp.Process(target=time.sleep, args=(30,)).start()
    return correct("fine")


def test_a_row_that_leaves_a_process_fails():
    run_case(Case("x", check_that_leaks, 1, "correct", r"fine"))  # plain_checker cleans up
    with pytest.raises(AssertionError, match="processes left running"):
        run_case(Case("x", leaky_checker, 1, "correct", r"fine"))
    assert mp.active_children() == []


def buggy_checker(answer) -> Feedback:
    return plain_checker(lambda: answer["n"])()


def test_a_checker_bug_fails_the_row():
    with pytest.raises(TypeError, match="not subscriptable"):
        run_case(Case("x", buggy_checker, 1, "not yet", r"anything"))


def test_a_slow_row_fails():
    @plain_checker
    def slow(answer) -> Feedback:
        time.sleep(0.3)
        return correct("slow but right")

    with pytest.raises(AssertionError, match="more than its bound of 0.1 s"):
        run_case(Case("x", slow, 1, "correct", r"slow", seconds=0.1))


def test_coverage_names_what_is_missing():
    rows = [Case("a", check_doubled, doubled_in_a_pool, "correct", r"ran")]
    (problem,) = coverage_problems(rows, [check_doubled])
    assert "a Correct row with the notebook's solution" in problem
    assert "2 more Correct row(s)" in problem and "a Not attempted row" in problem


def test_solutions_come_from_the_notebooks():
    squares = Solution("00_why_ipc", "squares_from_child").load()
    assert callable(squares) and squares.__name__ == "squares_from_child"
    assert double(2) == 4
