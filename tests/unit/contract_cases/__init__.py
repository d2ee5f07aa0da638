"""The contract table of every exercise checker: each module adds its rows here.

One file per topic module, owned by its notebook's owner
(``motivation.py``, ``queues.py``, ``pipes.py``, ``shared.py``, ``managers.py``,
``bench.py``, ...), each defining a list ``CASES``. ``test_checker_contract``
runs every row under the suite's start method and checks the status, the
words, the time bound and that nothing is left behind; it also checks that
every ``check_*`` in ``ipc_helpers/exercises`` has the rows it needs.

The pattern (copy it; ``EXAMPLE_CASES`` below are real rows for the small
example exercise in ``checker_contract.py``)::

    # tests/unit/contract_cases/motivation.py
    from ipc_helpers.exercises import motivation as ex
    from tests.unit.checker_contract import Case, Solution, placeholder

    def squares_without_a_child(numbers):        # a wrong answer learners give
        return [n * n for n in numbers]

    CASES = [
        Case("bring_back.solution", ex.check_bring_back,
             Solution("00_why_ipc", "squares_from_child"),
             "correct", r"came back through the queue"),
        Case("bring_back.placeholder", ex.check_bring_back, placeholder,
             "not attempted", r"replace `raise NotImplementedError`"),
        Case("bring_back.no_child", ex.check_bring_back, squares_without_a_child,
             "not yet", r"started no process"),
    ]

Rules: ``words`` names the mistake (or, for Correct, what was checked), never
only the status; wrong answers are module-level functions (so they pickle);
a row that only holds under some start methods says so with
``methods=frozenset({"fork"})``.
"""

from __future__ import annotations

from tests.unit.checker_contract import (
    Case,
    check_doubled,
    doubled_and_forgotten,
    doubled_in_a_pool,
    doubled_in_processes,
    doubled_without_processes,
    placeholder,
)

EXAMPLE_CASES = [
    Case("doubled.pool", check_doubled, doubled_in_a_pool, "correct", r"ran double"),
    Case("doubled.executor", check_doubled, doubled_in_processes, "correct", r"child processes"),
    Case("doubled.placeholder", check_doubled, placeholder, "not attempted", r"NotImplemented"),
    Case(
        "doubled.no_process",
        check_doubled,
        doubled_without_processes,
        "not yet",
        r"doubled started no process",
    ),
    Case(
        "doubled.pool_left_open",
        check_doubled,
        doubled_and_forgotten,
        "not yet",
        r"still running \(now stopped\).*use a Pool or executor in a with block",
    ),
]
