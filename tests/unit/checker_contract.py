"""One contract for every exercise checker (issues 12 "Proof", 13.4, 21.3).

A *case* is one row of the table: a checker, an answer a learner might give,
the status the checker must answer, and words (a regular expression) its
message must contain. ``run_case`` runs the row and asserts all of it:

- the status (a checker's own exception fails the row: ``IPC_HELPERS_STRICT=1``);
- the words, searched in ``feedback.message`` (never only the status label);
- the time bound;
- nothing left behind: no process of the test, no new ``psm_*`` entry in
  ``/dev/shm`` (the suite gives the unit tests a private ``/dev/shm``).

Each module's rows live in ``tests/unit/contract_cases/<module>.py`` as a list
``CASES``; ``collect_cases()`` gathers them all (see that package's docstring
for the pattern). ``coverage_problems()`` says which checker still lacks the
rows every exercise needs: the notebook's solution and two other correct
variants, at least one wrong answer, the placeholder.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import pkgutil
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ipc_helpers.cleanup import stop
from ipc_helpers.exercises.feedback import (
    ATTEMPT_TIMEOUT,
    CORRECT,
    NOT_ATTEMPTED,
    NOT_YET,
    STATUSES,
    STRICT_ENV,
    Feedback,
    correct,
    first_problem,
    not_yet,
    plain_checker,
    require_processes,
    run_attempt,
)
from tests.processes import ipc_entries, strays
from tests.solutions import solution

ALL_METHODS = frozenset({"fork", "spawn", "forkserver"})
_LABEL_ONLY = re.compile(
    r"^\W*(correct|not yet|not attempted( yet)?|checker bug|interrupted)\W*$", re.I
)


@dataclass(frozen=True)
class Solution:
    """The notebook's own solution, loaded when the row runs (see ``tests/solutions.py``)."""

    notebook: str
    name: str

    def load(self) -> Any:
        return solution(self.notebook, self.name)


def placeholder(*args: Any, **kwargs: Any) -> Any:
    """What every exercise cell holds before the learner writes anything."""
    raise NotImplementedError


@dataclass(frozen=True)
class Case:
    """One row of the contract table (see the module docstring).

    ``answer``: the learner's function or data, or a ``Solution``.
    ``args``/``kwargs``: extra arguments for the checker after the answer.
    ``seconds``: the bound for the whole check. ``methods``: the start
    methods the row applies to (all three by default). ``tries``: for a wrong
    answer whose effect depends on timing (a ``terminate()`` that can land
    after the child has ended), how many runs may be needed for the expected
    verdict to show once; every run is bounded and checked for leftovers.
    """

    id: str
    checker: Callable[..., Feedback]
    answer: Any
    status: str
    words: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 2 * ATTEMPT_TIMEOUT
    methods: frozenset[str] = ALL_METHODS
    tries: int = 1

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[\w.:-]+", self.id):
            raise ValueError(f"id must be letters, digits, '_', '.', '-': got {self.id!r}")
        if not callable(self.checker):
            raise TypeError(f"{self.id}: checker must be a function")
        if self.status not in STATUSES:
            raise ValueError(f"{self.id}: status must be one of {STATUSES}, got {self.status!r}")
        if not self.words.strip() or _LABEL_ONLY.match(self.words):
            raise ValueError(
                f"{self.id}: words must name what the message says (the mistake, the fact "
                f"checked), not only the status; got {self.words!r}"
            )
        re.compile(self.words)
        if not self.methods <= ALL_METHODS or not self.methods:
            raise ValueError(f"{self.id}: methods must be some of {sorted(ALL_METHODS)}")

    def resolved_answer(self) -> Any:
        return self.answer.load() if isinstance(self.answer, Solution) else self.answer


def _psm() -> set[str]:
    return {e for e in ipc_entries() if e.startswith("psm_")}


def _strays_after(before: set[int], grace: float = 3.0) -> list[str]:
    """Descriptions of new descendants still alive after ``grace`` seconds."""
    deadline = time.monotonic() + grace
    while True:
        left = [p for p in strays(os.getpid()) if p.pid not in before]
        if not left or time.monotonic() > deadline:
            return [f"pid {p.pid} {' '.join(p.cmdline())[:100]}" for p in left]
        time.sleep(0.1)


def run_case(case: Case) -> Feedback:
    """Run ``case`` (up to ``case.tries`` times) and assert its whole contract."""
    for attempt in range(1, case.tries + 1):
        try:
            return _run_once(case)
        except AssertionError:
            if attempt == case.tries:
                raise
    raise AssertionError(f"contract row {case.id}: tries must be at least 1")


def _run_once(case: Case) -> Feedback:
    """Run ``case`` once and assert its whole contract; return the feedback."""
    answer = case.resolved_answer()
    procs_before = {p.pid for p in strays(os.getpid())}
    shm_before = _psm()
    saved = os.environ.get(STRICT_ENV)
    os.environ[STRICT_ENV] = "1"
    started = time.monotonic()
    try:
        feedback = case.checker(answer, *case.args, **case.kwargs)
    finally:
        elapsed = time.monotonic() - started
        if saved is None:
            os.environ.pop(STRICT_ENV, None)
        else:
            os.environ[STRICT_ENV] = saved
        left = _strays_after(procs_before)
        stop(mp.active_children(), timeout=0.5)  # so one bad row does not spoil the next
    problems = []
    if not isinstance(feedback, Feedback):
        problems.append(f"the checker returned {type(feedback).__name__}, not Feedback")
    else:
        if feedback.status != case.status:
            problems.append(f"status {feedback.status!r}, expected {case.status!r}")
        if not re.search(case.words, feedback.message):
            problems.append(f"the message does not contain /{case.words}/")
    if elapsed > case.seconds:
        problems.append(f"took {elapsed:.1f} s, more than its bound of {case.seconds:g} s")
    if left:
        problems.append(f"processes left running: {left}")
    new_shm = sorted(_psm() - shm_before)
    if new_shm:
        problems.append(f"/dev/shm entries left: {new_shm}")
    if problems:
        said = str(feedback) if isinstance(feedback, Feedback) else repr(feedback)
        raise AssertionError(f"contract row {case.id}: " + "; ".join(problems) + f"\n{said}")
    return feedback


def collect_cases() -> list[Case]:
    """Every module's ``CASES`` (ids prefixed with the module name), then ``EXAMPLE_CASES``."""
    package = importlib.import_module("tests.unit.contract_cases")
    cases = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for case in getattr(module, "CASES", []):
            cases.append(_prefixed(info.name, case))
    cases += [_prefixed("example", case) for case in package.EXAMPLE_CASES]
    ids = [c.id for c in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"contract row ids must be unique; repeated: {duplicates}")
    return cases


def _prefixed(module: str, case: Case) -> Case:
    return Case(**{**case.__dict__, "id": f"{module}:{case.id}"})


def coverage_problems(cases: list[Case], checkers: list[Callable[..., Any]]) -> list[str]:
    """What each checker's rows still lack, in words an owner can act on."""
    problems = []
    for checker in checkers:
        rows = [c for c in cases if c.checker is checker]
        name = f"{checker.__module__}.{checker.__qualname__}"
        right = [c for c in rows if c.status == CORRECT]
        needs = []
        if not any(isinstance(c.answer, Solution) for c in right):
            needs.append("a Correct row with the notebook's solution (answer=Solution(nb, name))")
        if len(right) < 3:
            needs.append(
                f"{3 - len(right)} more Correct row(s) (3 in all: the solution and 2 variants)"
            )
        if not any(c.status == NOT_YET for c in rows):
            needs.append("a Not yet row for each known wrong answer")
        if not any(c.status == NOT_ATTEMPTED for c in rows):
            needs.append("a Not attempted row (the placeholder)")
        if needs:
            problems.append(f"{name}: add " + "; ".join(needs))
    return problems


# --- a small exercise of its own: the pattern, and the harness's self-test -------


def double(x: int) -> int:
    """The worker of the example exercise (a module-level function: picklable under spawn)."""
    return 2 * x


@plain_checker
def check_doubled(doubled: Callable[[list[int]], list[int]]) -> Feedback:
    """Example checker: ``doubled(numbers)`` must double the numbers in child processes."""
    numbers = [1, 2, 3]
    attempt = run_attempt(doubled, list(numbers))
    problem = first_problem(attempt, what="doubled") or require_processes(
        attempt, what="doubled", running=double
    )
    if problem:
        return problem
    if attempt.result != [2, 4, 6]:
        return not_yet(f"doubled({numbers}) returned {attempt.result!r}; expected [2, 4, 6].")
    return correct("the numbers were doubled in child processes that ran double.")


def doubled_in_a_pool(numbers: list[int]) -> list[int]:
    with mp.Pool(2) as pool:
        return pool.map(double, numbers)


def doubled_in_processes(numbers: list[int]) -> list[int]:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as ex:
        return list(ex.map(double, numbers))


def doubled_without_processes(numbers: list[int]) -> list[int]:
    return [2 * n for n in numbers]


def doubled_and_forgotten(numbers: list[int]) -> list[int]:
    pool = mp.Pool(2)
    return pool.map(double, numbers)
