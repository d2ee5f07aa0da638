"""What every exercise checker shares: the ``Feedback`` answer and one safe runner.

A checker must never answer with a traceback, never hang, never leave a
process running, and only claim what it saw. The pieces:

- ``Feedback``: the answer, in plain words, wrapped to 90 columns.
- ``run_attempt(func, *args, timeout=ATTEMPT_TIMEOUT, **kwargs)``: runs the
  learner's function in a helper thread with a time limit and records what it
  really did (processes, pools, shared-memory segments; see ``Attempt``), then
  stops what it left running and unlinks what it left linked.
- ``first_problem(attempt, what=...)``: the answer for an attempt that did not
  get far (placeholder, worker defined in a cell, timeout, error, leftovers).
- ``require_processes`` / ``require_joined`` / ``require_clean_exits`` /
  ``require_segments`` / ``require_created``: ``Not yet`` when the code did
  not do the IPC the exercise is about.
- ``plain_checker``: a checker's own exception becomes ``Checker bug`` (raised
  again when ``IPC_HELPERS_STRICT=1``), and Kernel → Interrupt during a check
  stops everything the check started and answers ``Interrupted``.
"""

from __future__ import annotations

import functools
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..capture import Captured, capture_stderr
from ..cleanup import Started, StartedProcess, WatchedThread, track
from ..contexts import ContextLike, get_context
from ..text import STRICT_ENV as STRICT_ENV  # re-exported: the variable the tests set
from ..text import strict, wrap
from ..validation import check_callable, check_int, check_timeout, check_type

CORRECT = "correct"
NOT_YET = "not yet"
NOT_ATTEMPTED = "not attempted"
CHECKER_BUG = "checker bug"
INTERRUPTED = "interrupted"

_LABELS = {
    CORRECT: "Correct!",
    NOT_YET: "Not yet:",
    NOT_ATTEMPTED: "Not attempted yet:",
    CHECKER_BUG: "Checker bug:",
    INTERRUPTED: "Interrupted:",
}
STATUSES = tuple(_LABELS)

#: The last line of a child's traceback when Kernel → Interrupt ended it.
_CHILD_INTERRUPTED = re.compile(r"^KeyboardInterrupt\s*$", re.MULTILINE)

#: Seconds a learner's attempt may run before the checker stops it (every checker).
ATTEMPT_TIMEOUT = 20.0


@dataclass(frozen=True)
class Feedback:
    """A checker's answer. ``ok`` is true only when the attempt is correct.

    ``str()`` is the label and the message, wrapped at word boundaries to at
    most 90 columns: ``Not yet: the count is 3, expected 4``.
    """

    status: str
    message: str

    def __post_init__(self) -> None:
        if self.status not in _LABELS:
            listed = ", ".join(repr(s) for s in STATUSES)
            raise ValueError(f"status must be one of {listed}; got {self.status!r}")
        check_type("message", self.message, str)

    @property
    def ok(self) -> bool:
        return self.status == CORRECT

    def __str__(self) -> str:
        return wrap(f"{_LABELS[self.status]} {self.message}")

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


def checker_bug(error: BaseException) -> Feedback:
    """The answer when the checker itself failed: the learner is not to blame."""
    return Feedback(
        CHECKER_BUG,
        f"this is a bug in the checker, not in your code ({type(error).__name__}: {error}). "
        "Please tell the course authors; meanwhile, compare your answer with the solution.",
    )


def interrupted() -> Feedback:
    """The answer when the learner pressed Kernel → Interrupt during a check."""
    return Feedback(
        INTERRUPTED,
        "you stopped the check. The processes it started were stopped and its shared "
        "memory removed; run the cell again to check your answer.",
    )


# --- running an attempt --------------------------------------------------------


@dataclass
class Attempt(Started):
    """What happened when the learner's code ran (see ``run_attempt``).

    ``result`` / ``error``: what the function returned or raised.
    ``timed_out``: it was still running after ``timeout`` seconds.
    ``seconds``: how long it ran (until it returned, raised or timed out).
    ``processes``: every process it started, by any route (``Process``,
    ``Pool``, ``ProcessPoolExecutor``, a manager), as ``StartedProcess``
    records (name, pid, target, module, kind, start method, exit code).
    ``pools``: type names of the pools, executors and managers it created.
    ``tasks``: qualified names of the functions it gave to pools/executors.
    ``segments``: names of the ``SharedMemory`` segments it created.
    ``leftover`` / ``segments_left``: processes still running and segments
    still linked when it returned (the runner has stopped / unlinked them).
    ``stderr``: what it and its fork/spawn children wrote to stderr.
    """

    result: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    timeout: float = ATTEMPT_TIMEOUT
    seconds: float = 0.0
    stderr: str = ""

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

    def child_errors(self) -> list[str]:
        """``SomeError: message`` lines that children wrote to stderr, in order."""
        return Captured(self.stderr).exception_lines()

    def start_methods(self) -> set[str]:
        """The start methods of the processes it started."""
        return {p.start_method for p in self.processes}

    def ran(self, func: Callable[..., Any]) -> bool:
        """True if a process it started, or a pool task it gave, ran ``func``."""
        name = getattr(func, "__qualname__", None)
        module = getattr(func, "__module__", None)
        return any(p.target == name and p.module == module for p in self.processes) or (
            f"{module}.{name}" in self.tasks
        )

    def defined_in_cell(self) -> list[str]:
        """Names of functions from a notebook cell that ``spawn``/``forkserver`` children ran.

        A function defined in a cell lives in the kernel's ``__main__``; a
        child started with ``spawn`` or ``forkserver`` has a different
        ``__main__`` and fails with ``AttributeError: Can't get attribute ...``.
        """
        fresh = [p for p in self.processes if p.start_method != "fork"]
        names = {p.target for p in fresh if p.module == "__main__" and p.kind == "process"}
        if any(p.kind in ("pool worker", "executor worker") for p in fresh):
            names |= {t.removeprefix("__main__.") for t in self.tasks if t.startswith("__main__.")}
        return sorted(names)

    def interrupted(self) -> bool:
        """True if Kernel → Interrupt reached the attempt, even if the kernel missed it.

        Signs: a child died of SIGINT (exit code -2: interrupted while it
        started), a child printed a ``KeyboardInterrupt`` traceback, or the
        function raised ``KeyboardInterrupt`` (an executor passes on its
        worker's). A half-run attempt must not be judged.
        """
        return (
            isinstance(self.error, KeyboardInterrupt)
            or any(p.exitcode == -signal.SIGINT for p in self.processes)
            or _CHILD_INTERRUPTED.search(self.stderr) is not None
        )

    def failed(self) -> bool:
        """True if it timed out, raised, or a child reported an error or exited with 1."""
        return (
            self.timed_out
            or self.error is not None
            or bool(self.child_errors())
            or any(p.exitcode == 1 for p in self.processes)
        )


def run_attempt(
    func: Callable[..., Any],
    *args: Any,
    timeout: float = ATTEMPT_TIMEOUT,
    ignore: Callable[[StartedProcess], bool] | None = None,
    **kwargs: Any,
) -> Attempt:
    """Run ``func(*args, **kwargs)`` in a helper thread and wait at most ``timeout`` s.

    The returned ``Attempt`` records what the code really did. When it has
    returned (or timed out), whatever it left running is stopped without
    wedging the kernel: pools, executors and managers through their own API
    first, then plain processes; segments it left linked are unlinked.
    Processes and segments that existed before are never touched.

    ``KeyboardInterrupt`` (Kernel → Interrupt) while it waits, or signs that
    the interrupt reached the attempt's children (``Attempt.interrupted``):
    the same cleanup runs, then ``KeyboardInterrupt`` is raised, so that a
    ``plain_checker`` answers ``Interrupted`` instead of judging a half-run
    attempt. The helper thread is a daemon: code stuck on something else
    cannot keep Python alive.

    ``ignore``: processes that are not the attempt's (see ``cleanup.track``),
    e.g. ``lambda record: record.module.startswith("distributed.")``.
    """
    check_callable("func", func)
    timeout = check_timeout("timeout", timeout)
    attempt = Attempt(timeout=timeout)

    def target() -> None:
        try:
            attempt.result = func(*args, **kwargs)
        except BaseException as exc:  # the learner's error is data here
            attempt.error = exc

    thread = WatchedThread(target, name="exercise-attempt")
    started = time.monotonic()
    with capture_stderr() as captured:
        with track(watch=thread, ignore=ignore) as tracker:
            thread.start()  # an interrupt meanwhile finds it started and watched
            thread.wait(started + timeout)  # in slices: see WatchedThread
            attempt.seconds = time.monotonic() - started
            attempt.timed_out = thread.running()
        if attempt.timed_out:
            thread.wait(time.monotonic() + 2.0)  # stopping its processes often unblocks it
    attempt.stderr = captured.text
    attempt.record_of(tracker)
    if attempt.interrupted():
        raise KeyboardInterrupt
    return attempt


# --- the answers for an attempt that did not get far ----------------------------


def _child_said(attempt: Attempt) -> str:
    errors = [e for e in attempt.child_errors() if not e.startswith("KeyboardInterrupt")]
    return f" A child process reported: {errors[-1]}" if errors else ""


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}es" if noun.endswith("s") else f"{n} {noun}s"


def first_problem(
    attempt: Attempt, *, what: str, timeout: float | None = None, leftovers: bool = True
) -> Feedback | None:
    """The answer for an attempt that did not get far, else ``None``.

    In order: the placeholder (``Not attempted``); a worker defined in a
    notebook cell used under ``spawn``/``forkserver``; a timeout; an error;
    then (with ``leftovers=True``) processes still running or segments still
    linked when it returned. ``what`` names the learner's function
    (``"squares_from_child"``). ``timeout`` is accepted for old callers and
    ignored: the attempt knows its own.
    """
    check_type("what", what, str)
    if attempt.placeholder:
        return not_attempted()
    in_cell = attempt.defined_in_cell()
    if in_cell and attempt.failed():
        method = sorted(attempt.start_methods() - {"fork"})[0]
        return not_yet(
            f"{what} ran {in_cell[0]}, a function defined in a notebook cell, in a {method} "
            "child. Such a child starts a fresh Python that cannot find it (AttributeError: "
            f"Can't get attribute '{in_cell[0]}'). Import the worker from a module instead."
        )
    if attempt.timed_out:
        return not_yet(
            f"{what} did not finish within {attempt.timeout:g} s, so its processes were "
            "stopped. Something waits for an event that never happens: give every join(), "
            "get(), recv() and wait() a timeout, and check that each of them has a partner."
            + _child_said(attempt)
        )
    if attempt.error is not None:
        return not_yet(attempt.explain_error() + "." + _child_said(attempt))
    if leftovers:
        return left_running(attempt, what=what)
    return None


def left_running(attempt: Attempt, *, what: str) -> Feedback | None:
    """``Not yet`` if the attempt returned with processes running or segments linked."""
    if attempt.leftover:
        kinds = {p.kind for p in attempt.leftover}
        advice = "Join every process you start, with a timeout, before you return"
        if kinds & {"pool worker", "executor worker"}:
            advice += "; use a Pool or executor in a with block (or close() and join() it)"
        if "manager" in kinds:
            advice += "; use the manager in a with block (or call shutdown())"
        n = len(attempt.leftover)
        return not_yet(
            f"{what} returned while {_plural(n, 'process')} it started "
            f"{'was' if n == 1 else 'were'} still running (now stopped). {advice}."
        )
    if attempt.segments_left:
        n = len(attempt.segments_left)
        return not_yet(
            f"{what} left {_plural(n, 'shared-memory segment')} linked (now removed). "
            "close() and unlink() every SharedMemory you create, in a finally block."
        )
    return None


# --- demanding real IPC ------------------------------------------------------------


def require_processes(
    attempt: Attempt,
    *,
    what: str,
    at_least: int = 1,
    running: Callable[..., Any] | None = None,
    start_method: str | None = None,
) -> Feedback | None:
    """``Not yet`` unless the attempt started real processes (as asked), else ``None``.

    ``at_least``: how many processes (pool and executor workers count).
    ``running``: a function some process or pool task must have run.
    ``start_method``: the start method every process must have used.
    """
    check_type("what", what, str)
    at_least = check_int("at_least", at_least, minimum=1)
    n = len(attempt.processes)
    if n == 0:
        return not_yet(
            f"{what} started no process: it gave the right answer, but the exercise is "
            "about doing the work in child processes. Start them with Process, a Pool or "
            "a ProcessPoolExecutor."
        )
    if n < at_least:
        return not_yet(f"{what} started {_plural(n, 'process')}; the exercise asks for {at_least}.")
    if running is not None and not attempt.ran(running):
        name = getattr(running, "__qualname__", repr(running))
        return not_yet(
            f"{what} started processes, but none of them ran {name}: give {name} to your "
            "processes (target=...) or to your pool."
        )
    if start_method is not None:
        others = sorted(attempt.start_methods() - {start_method})
        if others:
            return not_yet(
                f"{what} started its processes with {others[0]}; the exercise asks for "
                f"{start_method}: use multiprocessing.get_context({start_method!r})."
            )
    return None


def _exit_meaning(code: int) -> str:
    if code < 0:
        return f"exit code {code}: it was stopped by a signal (terminate() or stop()), not finished"
    return f"exit code {code}: it ended with an error"


def require_clean_exits(attempt: Attempt, *, what: str) -> Feedback | None:
    """``Not yet`` if a process the attempt started (not a pool worker) did not exit with 0.

    A pool's workers are left out: ``with Pool(...)`` ends them with
    ``terminate()`` (exit code -15) by design.
    """
    check_type("what", what, str)
    bad = [p for p in attempt.processes if p.kind == "process" and p.exitcode not in (0, None)]
    if not bad:
        return None
    return not_yet(
        f"{len(bad)} of the processes {what} started ended with {_exit_meaning(bad[0].exitcode)}. "
        "Let each worker finish on its own (a sentinel tells it to stop), then join it."
        + _child_said(attempt)
    )


def require_joined(attempt: Attempt, *, what: str) -> Feedback | None:
    """``Not yet`` if the attempt did not ``join()`` a process it started (pool workers aside).

    Deterministic, unlike checking whether a child is still alive when the
    function returns: a child that happens to have ended already still had
    to be joined.
    """
    check_type("what", what, str)
    unjoined = [p for p in attempt.processes if p.kind == "process" and not p.joined]
    if not unjoined:
        return None
    n = len(unjoined)
    return not_yet(
        f"{what} did not join {_plural(n, 'process')} it started ({unjoined[0].name}). "
        "Call join() (with a timeout) on every process you start, so that it has really "
        "ended before you return."
    )


def require_segments(attempt: Attempt, *, what: str, at_least: int = 1) -> Feedback | None:
    """``Not yet`` unless the attempt created ``at_least`` ``SharedMemory`` segments here."""
    check_type("what", what, str)
    at_least = check_int("at_least", at_least, minimum=1)
    if len(attempt.segments) >= at_least:
        return None
    return not_yet(
        f"{what} created no SharedMemory segment in this process, so its workers cannot have "
        "shared one. Create it in the parent (SharedMemory(create=True, size=...)) and give "
        "its name to the workers."
    )


class RecordingContext:
    """A ``multiprocessing`` context that counts what the code creates with it.

    Give it to the learner's function instead of a plain context, then ask
    ``require_created(ctx, ...)`` (or read ``ctx.created["Pipe"]``) whether
    the code really made the pipe, queue or lock the exercise is about.
    Everything else (``get_start_method``, ...) is the wrapped context's.
    """

    RECORDED = frozenset(
        {
            *("Process", "Pool", "Manager", "Queue", "SimpleQueue", "JoinableQueue", "Pipe"),
            *("Value", "Array", "RawValue", "RawArray", "Lock", "RLock", "Semaphore"),
            *("BoundedSemaphore", "Event", "Condition", "Barrier"),
        }
    )

    def __init__(self, method_or_ctx: ContextLike = None) -> None:
        self._ctx = get_context(method_or_ctx)
        self.created: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._ctx, name)
        if name not in self.RECORDED:
            return attr

        @functools.wraps(attr)
        def create(*args: Any, **kwargs: Any) -> Any:
            self.created[name] += 1
            return attr(*args, **kwargs)

        return create

    def __repr__(self) -> str:
        return f"<RecordingContext {self._ctx.get_start_method()!r}>"


def require_created(ctx: RecordingContext, *, what: str, names: Iterable[str]) -> Feedback | None:
    """``Not yet`` if ``what`` created none of ``names`` (``"Pipe"``, ...) with ``ctx``."""
    check_type("ctx", ctx, RecordingContext)
    check_type("what", what, str)
    wanted = [check_type("names[...]", n, str) for n in names]
    unknown = [n for n in wanted if n not in RecordingContext.RECORDED]
    if not wanted or unknown:
        raise ValueError(f"names must be some of {sorted(RecordingContext.RECORDED)}")
    if any(ctx.created[n] for n in wanted):
        return None
    listed = " or ".join(f"ctx.{n}()" for n in wanted)
    return not_yet(
        f"{what} did not create its {wanted[0]} with the context it was given: use {listed}, "
        "so that the checker can see the IPC happen."
    )


# --- the decorator ------------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Feedback])


def plain_checker(check: F) -> F:
    """Make ``check`` safe to call from a notebook cell.

    - Everything the check starts (processes, pools, managers, segments) is
      recorded; what is left when it ends is stopped and unlinked.
    - ``KeyboardInterrupt`` (Kernel → Interrupt) at any moment: that cleanup,
      then ``Interrupted`` feedback, within a few seconds. Children's
      tracebacks of the interrupt are kept out of the cell (fork and spawn).
    - The checker's own exception becomes ``Checker bug`` feedback (this is a
      bug in the checker, not in the learner's code) and is raised again when
      ``IPC_HELPERS_STRICT=1``, so that tests fail on it.
    """
    check_callable("check", check)

    @functools.wraps(check)
    def wrapper(*args: Any, **kwargs: Any) -> Feedback:
        try:
            with capture_stderr(), track():
                feedback = check(*args, **kwargs)
            if not isinstance(feedback, Feedback):
                raise TypeError(f"the checker returned {type(feedback).__name__}, not Feedback")
        except KeyboardInterrupt:
            return interrupted()
        except Exception as exc:
            if strict():
                raise
            return checker_bug(exc)
        return feedback

    return wrapper  # type: ignore[return-value]
