"""What every exercise checker shares: the ``Feedback`` answer and a safe runner.

A checker must never answer with a traceback and never hang. ``run_attempt``
runs the learner's code in a helper thread with a time limit; if it does not
finish, the checker stops the processes it started and says so in plain words.
``plain_checker`` turns any surprise inside a checker into a ``Not yet``.
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import threading
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from ..cleanup import stop
from ..validation import check_timeout

CORRECT = "correct"
NOT_YET = "not yet"
NOT_ATTEMPTED = "not attempted"

_LABELS = {CORRECT: "Correct!", NOT_YET: "Not yet:", NOT_ATTEMPTED: "Not attempted yet:"}


@dataclass(frozen=True)
class Feedback:
    """A checker's answer. ``ok`` is true only when the attempt is correct."""

    status: str
    message: str

    @property
    def ok(self) -> bool:
        return self.status == CORRECT

    def __str__(self) -> str:
        return f"{_LABELS[self.status]} {self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))


def correct(message: str) -> Feedback:
    return Feedback(CORRECT, message)


def not_yet(message: str) -> Feedback:
    return Feedback(NOT_YET, message)


def not_attempted(
    message: str = "replace `raise NotImplementedError` with your code, then run this cell again.",
) -> Feedback:
    return Feedback(NOT_ATTEMPTED, message)


@dataclass
class Attempt:
    """What happened when the learner's code ran."""

    result: Any = None
    error: BaseException | None = None
    timed_out: bool = False

    @property
    def placeholder(self) -> bool:
        """True while the learner's function still raises ``NotImplementedError``."""
        return isinstance(self.error, NotImplementedError)

    def explain_error(self) -> str:
        """The error in one sentence, for a ``Not yet`` message."""
        if self.error is None:
            return ""
        text = str(self.error)
        name = type(self.error).__name__
        return f"your code raised {name}: {text}" if text else f"your code raised {name}"


def child_pids() -> set[int]:
    """The process ids of this process's live ``multiprocessing`` children."""
    return {p.pid for p in mp.active_children()}


def new_children(before: set[int]) -> list[mp.process.BaseProcess]:
    """Live children that were not in ``before`` (a ``child_pids()`` snapshot)."""
    return [p for p in mp.active_children() if p.pid not in before]


def leftover_processes(before: set[int], what: str) -> Feedback | None:
    """``Not yet`` if ``what`` left processes running (and stop them), else ``None``.

    ``before`` is the ``child_pids()`` snapshot taken before the learner's code ran.
    """
    left = new_children(before)
    if not left:
        return None
    stop(left, timeout=1.0)
    return not_yet(
        f"{what} returned while {len(left)} of its processes were still running (they have "
        "now been stopped). Join every process you start, with a timeout, before you return."
    )


def run_attempt(
    func: Callable[..., Any], *args: Any, timeout: float = 15.0, **kwargs: Any
) -> Attempt:
    """Run ``func(*args, **kwargs)`` in a thread and wait at most ``timeout`` s.

    If it is still running then, every ``multiprocessing`` child it started is
    stopped (that usually unblocks a ``join`` or a ``get``), and the attempt is
    reported as timed out. Children that existed before (a manager the learner
    started earlier, say) are left alone. The helper thread is a daemon: if the
    learner's code is stuck on something else, it cannot keep Python alive.
    """
    timeout = check_timeout("timeout", timeout)
    outcome = Attempt()
    before = child_pids()

    def target() -> None:
        try:
            outcome.result = func(*args, **kwargs)
        except BaseException as exc:  # the learner's error is data here
            outcome.error = exc

    thread = threading.Thread(target=target, name="exercise-attempt", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        outcome.timed_out = True
        stop(new_children(before), timeout=1.0)
        thread.join(2.0)
    return outcome


F = TypeVar("F", bound=Callable[..., Feedback])


def plain_checker(check: F) -> F:
    """Decorate a checker so that a surprise inside it becomes plain words.

    The checker's own bugs or an answer of a shape nobody expected must not
    show the learner a traceback.
    """

    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> Feedback:
        try:
            return check(*args, **kwargs)
        except Exception as exc:  # plain words instead of a traceback
            return not_yet(
                f"the checker could not use your answer ({type(exc).__name__}: {exc}). "
                "Check that it has the shape the exercise asks for."
            )

    return wrapper  # type: ignore[return-value]


def first_problem(attempt: Attempt, *, what: str, timeout: float) -> Feedback | None:
    """The feedback for an attempt that did not even return, else ``None``.

    ``what`` names the learner's function in the messages.
    """
    if attempt.placeholder:
        return not_attempted()
    if attempt.timed_out:
        return not_yet(
            f"{what} did not finish within {timeout:g} s, so its processes were stopped. "
            "Something waits for an event that never happens: give every join(), get(), "
            "recv() and wait() a timeout, and check that each of them has a partner."
        )
    if attempt.error is not None:
        return not_yet(attempt.explain_error() + ".")
    return None
