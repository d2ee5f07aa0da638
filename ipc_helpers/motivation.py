"""Workers and given code for notebook 00, *Why processes need IPC*.

Everything a child runs is defined here, at module level, so that a child
started with any start method (``fork``, ``spawn``, ``forkserver``) finds it
by importing this module. Workers are short and never print: they send what
they have to say through the queue they were given, and the parent prints.

The parent-side helpers (``count_cpus``, ``compare_threads_processes``, the
``try_...`` demos, ``run_script``) check their arguments, wait in short
slices (so Kernel → Interrupt is seen at once) and stop every process they
start, also when interrupted.
"""

from __future__ import annotations

import concurrent.futures
import math
import os
import pickle
import queue
import re
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cleanup import stop, track
from .contexts import ContextLike, get_context
from .validation import check_int, check_timeout, check_type

#: A module-level counter. A child that changes it changes its own copy.
COUNTER = 0

#: A module-level list. A child that appends to it appends to its own copy.
NOTES: list[str] = []

#: How long a wait lasts at a time: short, so that Kernel → Interrupt is seen at once.
SLICE = 0.1


# --- workers (children run these) ----------------------------------------------------


def change_globals(note: str, results: Any) -> None:
    """Add 1 to ``COUNTER``, append ``note`` to ``NOTES``, and report both on ``results``."""
    global COUNTER
    COUNTER += 1
    NOTES.append(note)
    results.put((COUNTER, list(NOTES)))


def append_and_send(items: list, item: Any, results: Any) -> None:
    """Append ``item`` to ``items`` (the child's copy) and send the changed list back."""
    items.append(item)
    results.put(items)


def square_in_place(numbers: list) -> None:
    """Replace every number in ``numbers`` by its square, in place."""
    for i, x in enumerate(numbers):
        numbers[i] = x * x


def square_all(numbers: list, results: Any) -> None:
    """Put the list of the squares of ``numbers`` on the ``results`` queue."""
    results.put([x * x for x in numbers])


def sum_of_squares(start: int, stop: int) -> int:
    """Return ``start**2 + ... + (stop - 1)**2``, computed the slow way.

    A plain Python loop on purpose: it keeps a processor busy running Python
    bytecode, the kind of work the GIL lets only one thread do at a time.
    """
    total = 0
    for i in range(start, stop):
        total += i * i
    return total


def sum_of_squares_timed(start: int, stop: int) -> tuple[int, float]:
    """``sum_of_squares(start, stop)``, and the CPU seconds this process spent on it."""
    cpu = time.process_time()
    total = sum_of_squares(start, stop)
    return total, time.process_time() - cpu


def call_pickled(function_bytes: bytes, argument: Any, results: Any) -> None:
    """Unpickle a function, call it with ``argument``, report what happened on ``results``.

    This is what every ``spawn`` or ``forkserver`` child does with its
    target: the function arrives as pickled bytes (its module and name), and
    the child looks that name up. Reports ``("returned", value)`` or
    ``("raised", "SomeError: message")``.
    """
    try:
        function = pickle.loads(function_bytes)
        results.put(("returned", function(argument)))
    except Exception as error:
        results.put(("raised", f"{type(error).__name__}: {error}"))


def do_nothing(*arguments: Any) -> None:
    """Accept any arguments and do nothing: a target for demos about *sending* arguments."""


# --- how many CPUs may this process use? -----------------------------------------------


@dataclass(frozen=True)
class CpuCount:
    """How many CPUs this process may use, and where each limit comes from.

    ``machine``: ``os.cpu_count()``, the CPUs of the machine.
    ``affinity``: the CPUs this process may run on (``os.process_cpu_count()``
    from Python 3.13, else ``len(os.sched_getaffinity(0))``; ``None`` where
    the system cannot say, as on macOS). ``taskset`` and container *cpusets*
    lower it.
    ``quota``: CPU time per second the container may use, in CPUs (``1.5`` =
    one and a half CPUs), from ``count_cpus``'s sources; ``None`` when there
    is no quota. Docker ``--cpus``, Kubernetes and Binder limits are quotas:
    the affinity does not see them.
    ``quota_from``: where the quota was read (``""`` without one).
    """

    machine: int
    affinity: int | None
    quota: float | None
    quota_from: str = ""

    @property
    def limit(self) -> float:
        """CPUs of work per second this process can get: the smallest of the limits."""
        cpus = float(self.affinity or self.machine)
        return min(cpus, self.quota) if self.quota is not None else cpus

    @property
    def usable(self) -> int:
        """``limit`` rounded up to whole CPUs (at least 1): processes worth starting."""
        return max(1, math.ceil(round(self.limit, 6)))

    def best_speedup(self, processes: int) -> float:
        """The largest speed-up ``processes`` processes can reach over one, under these limits."""
        processes = check_int("processes", processes, minimum=1)
        return min(processes, self.limit) / min(1.0, self.limit)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _quota_v2(directory: Path) -> float | None:
    """The ``cpu.max`` quota of one cgroup v2 folder (``"150000 100000"`` → 1.5)."""
    text = _read(directory / "cpu.max")
    if not text:
        return None
    quota, _, period = text.partition(" ")
    if quota == "max" or not quota.isdigit() or not period.isdigit() or int(period) == 0:
        return None
    return int(quota) / int(period)


def _quota_v1(directory: Path) -> float | None:
    """The CFS quota of one cgroup v1 folder (``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``)."""
    quota, period = _read(directory / "cpu.cfs_quota_us"), _read(directory / "cpu.cfs_period_us")
    if not quota or not period or not quota.isdigit() or not period.isdigit():
        return None  # "-1" (no quota) is not a digit string
    return int(quota) / int(period) if int(period) else None


def _folders(top: Path, path: str) -> list[Path]:
    """``top/path`` and each of its parents up to ``top``: a limit can sit on any of them."""
    parts = [p for p in path.strip("/").split("/") if p]
    return [top.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]


def _cgroup_quotas(root: Path, self_cgroup: Path) -> list[tuple[float, str]]:
    found = []
    for line in (_read(self_cgroup) or "").splitlines():
        _, controllers, path = line.split(":", 2) if line.count(":") >= 2 else ("", "", "")
        if not path:
            continue
        if controllers == "":  # cgroup v2: one unified hierarchy
            quotas = [_quota_v2(folder) for folder in _folders(root, path)]
            found += [(q, "cgroup v2 cpu.max") for q in quotas if q]
        elif "cpu" in controllers.split(","):  # cgroup v1: the cpu controller's hierarchy
            for top in {root / controllers, root / "cpu"}:
                quotas = [_quota_v1(folder) for folder in _folders(top, path)]
                found += [(q, "cgroup v1 cpu.cfs_quota_us") for q in quotas if q]
    return found


def cpu_quota(
    environ: Mapping[str, str] | None = None,
    root: str | Path = "/sys/fs/cgroup",
    self_cgroup: str | Path = "/proc/self/cgroup",
) -> tuple[float, str] | None:
    """The CPU quota of this process, in CPUs, and where it was read; ``None`` without one.

    Sources (the smallest quota wins): the ``CPU_LIMIT`` environment variable,
    which JupyterHub (and so mybinder.org) sets for a limited session;
    cgroup v2 ``cpu.max``; cgroup v1 ``cpu.cfs_quota_us`` /
    ``cpu.cfs_period_us``, in this process's cgroup and its parents. macOS and
    Windows have no cgroups: only ``CPU_LIMIT`` can apply there. ``environ``,
    ``root`` and ``self_cgroup`` exist for tests (fake files).
    """
    environ = os.environ if environ is None else environ
    found = _cgroup_quotas(Path(root), Path(self_cgroup))
    try:
        limit = float(environ.get("CPU_LIMIT", ""))
    except ValueError:
        limit = 0.0
    if limit > 0 and math.isfinite(limit):
        found.append((limit, "CPU_LIMIT"))
    return min(found) if found else None


def count_cpus() -> CpuCount:
    """The CPUs of the machine, of this process's affinity, and its CPU quota."""
    machine = os.cpu_count() or 1
    if hasattr(os, "process_cpu_count"):  # Python 3.13+; honours PYTHON_CPU_COUNT
        affinity = os.process_cpu_count()
    elif hasattr(os, "sched_getaffinity"):  # Linux
        affinity = len(os.sched_getaffinity(0))
    else:  # macOS, Windows before 3.13
        affinity = None
    quota = cpu_quota()
    return CpuCount(machine, affinity, *(quota or (None, "")))


def usable_cpus() -> int:
    """How many CPUs this process may use: its affinity, capped by a CPU quota, rounded up.

    ``os.cpu_count()`` counts the machine; the affinity
    (``os.process_cpu_count()`` from 3.13, ``os.sched_getaffinity(0)``
    before) sees ``taskset`` and cpusets, but not the CPU *quota* of a Docker
    ``--cpus``, Kubernetes or Binder limit: ``cpu_quota()`` reads that.
    """
    return count_cpus().usable


# --- the GIL -----------------------------------------------------------------------------


def free_threaded_build() -> bool:
    """True on a free-threaded build of CPython (``python3.13t``, ``python3.14t``)."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def gil_enabled() -> bool:
    """True if the GIL is on now: always on a standard build.

    A free-threaded build runs without it, unless ``PYTHON_GIL=1`` or an
    extension module that needs it turned it back on.
    """
    is_enabled = getattr(sys, "_is_gil_enabled", None)  # Python 3.13+
    return True if is_enabled is None else bool(is_enabled())


# --- splitting work ------------------------------------------------------------------------


def split_range(n: int, parts: int) -> list[tuple[int, int]]:
    """Split ``range(n)`` into ``parts`` contiguous ``(start, stop)`` chunks.

    The chunks cover ``0 .. n`` exactly once; their sizes differ by at most 1.

    >>> split_range(10, 3)
    [(0, 4), (4, 7), (7, 10)]
    """
    n = check_int("n", n, minimum=0)
    parts = check_int("parts", parts, minimum=1)
    size, extra = divmod(n, parts)
    chunks, start = [], 0
    for i in range(parts):
        stop_ = start + size + (1 if i < extra else 0)
        chunks.append((start, stop_))
        start = stop_
    return chunks


def _check_chunks(chunks: Any) -> list[tuple[int, int]]:
    check_type("chunks", chunks, list)
    if not chunks:
        raise ValueError("chunks must hold at least one (start, stop) pair")
    return chunks


def _wait_for(pending: Any, deadline: float, what: str) -> Any:
    """The result of an ``AsyncResult`` (from a pool) or a ``Future``, waiting in short slices."""
    if isinstance(pending, concurrent.futures.Future):
        while not pending.done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not finish in time")
            concurrent.futures.wait([pending], SLICE)
        return pending.result()
    while not pending.ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not finish in time")
        pending.wait(SLICE)
    return pending.get()


def sum_in_pool(pool: Any, chunks: list[tuple[int, int]], timeout: float = 60.0) -> int:
    """Sum ``sum_of_squares(start, stop)`` over ``chunks`` in the workers of ``pool``."""
    chunks = _check_chunks(chunks)
    timeout = check_timeout("timeout", timeout)
    pending = pool.starmap_async(sum_of_squares, chunks, chunksize=1)
    return sum(_wait_for(pending, time.monotonic() + timeout, "the pool"))


def sum_in_threads(chunks: list[tuple[int, int]], timeout: float = 60.0) -> int:
    """Sum ``sum_of_squares(start, stop)`` over ``chunks``, one thread per chunk."""
    chunks = _check_chunks(chunks)
    timeout = check_timeout("timeout", timeout)
    deadline = time.monotonic() + timeout
    with concurrent.futures.ThreadPoolExecutor(len(chunks)) as threads:
        futures = [threads.submit(sum_of_squares, a, b) for a, b in chunks]
        return sum(_wait_for(f, deadline, "a thread") for f in futures)


def sum_in_processes(
    chunks: list[tuple[int, int]], context: ContextLike = None, timeout: float = 60.0
) -> int:
    """Sum ``sum_of_squares(start, stop)`` over ``chunks`` in a new pool, one process per chunk.

    The pool is started with ``context`` (a start method's name, a context,
    or ``None`` for the default) and always stopped, also on Interrupt.
    """
    chunks = _check_chunks(chunks)
    ctx = get_context(context)
    timeout = check_timeout("timeout", timeout)
    with track(), ctx.Pool(len(chunks)) as pool:
        return sum_in_pool(pool, chunks, timeout)


# --- threads against processes -------------------------------------------------------------


@dataclass(frozen=True)
class ThreadsVsProcesses:
    """Seconds for ``sum_of_squares(0, n)``: one thread, ``workers`` threads, ``workers`` processes.

    Each time is the best of ``rounds`` runs. ``processes`` is the work done
    by a pool that was already running; ``startup`` is what starting that
    pool cost (until every worker had answered once). ``threads_cpus`` and
    ``processes_cpus``: how many CPUs the threads and the processes kept busy
    at once in their best run (CPU seconds / wall seconds). ``gil``: the GIL
    was on.
    """

    n: int
    workers: int
    rounds: int
    start_method: str
    serial: float
    threads: float
    processes: float
    threads_cpus: float
    processes_cpus: float
    startup: float
    cpus: CpuCount
    gil: bool

    @property
    def threads_speedup(self) -> float:
        """How many times faster the threads were than one thread."""
        return self.serial / self.threads

    @property
    def processes_speedup(self) -> float:
        """How many times faster the processes' work was than one thread."""
        return self.serial / self.processes

    @property
    def busy(self) -> bool:
        """True if the run that could be parallel got no more than about one CPU.

        Other programs kept the CPUs busy: no way could be faster then, and
        the claim that it is was not put to the test.
        """
        parallel = self.processes_cpus if self.gil else self.threads_cpus
        return self.workers >= 2 and self.cpus.limit >= 1.5 and parallel < 1.3

    def claims(self) -> list[tuple[bool, str]]:
        """What this run can show on this build and these CPUs: ``(shown, claim)`` pairs.

        With the GIL on: the threads never kept more than one CPU busy; they
        were not faster than one thread, and the processes were faster than
        the threads (both judged only if the processes got more than one CPU). With the GIL off
        (a free-threaded build): the threads were faster than one thread
        (judged only if they got more than one CPU). With one usable CPU
        nothing can be faster: no claim.
        """
        if self.workers < 2 or self.cpus.limit < 1.5:
            return []
        k = self.workers
        if not self.gil:
            if self.busy:
                return []
            faster = self.threads < 0.85 * self.serial
            return [(faster, f"without the GIL, {k} threads are faster than one thread")]
        claims = [
            (self.threads_cpus <= 1.15, f"with the GIL, {k} threads kept at most one CPU busy"),
        ]
        if not self.busy:  # timings taken while other programs compete are noise
            claims += [
                (
                    self.threads > 0.7 * self.serial,
                    f"with the GIL, {k} threads are not faster than one",
                ),
                (self.processes < 0.85 * self.threads, f"{k} processes beat {k} threads"),
            ]
        return claims


def _timed(job: Callable[[], tuple[int, float]]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and the sum of ``job()`` (which returns sum, CPU seconds)."""
    started = time.perf_counter()
    total, cpu = job()
    return time.perf_counter() - started, cpu, total


def _serial(n: int) -> tuple[int, float]:
    cpu = time.process_time()
    return sum_of_squares(0, n), time.process_time() - cpu


def _threads(chunks: list[tuple[int, int]], timeout: float) -> tuple[int, float]:
    cpu = time.process_time()  # every thread of this process
    return sum_in_threads(chunks, timeout), time.process_time() - cpu


def _processes(pool: Any, chunks: list[tuple[int, int]], timeout: float) -> tuple[int, float]:
    pending = pool.starmap_async(sum_of_squares_timed, chunks, chunksize=1)
    parts = _wait_for(pending, time.monotonic() + timeout, "the pool")
    return sum(total for total, _ in parts), sum(cpu for _, cpu in parts)


def compare_threads_processes(
    n: int = 4_000_000,
    workers: int = 2,
    context: ContextLike = None,
    *,
    rounds: int = 3,
    max_rounds: int = 6,
    timeout: float = 60.0,
) -> ThreadsVsProcesses:
    """Time ``sum_of_squares(0, n)`` in one thread, in ``workers`` threads and processes.

    The range is split into ``workers`` chunks. The three ways take turns, and
    each keeps its best time, so a burst of load from other programs slows one
    round, not one way. After ``rounds`` rounds it stops as soon as the best
    times show what they should (``ThreadsVsProcesses.claims``) on CPUs that
    were not too busy, or after ``max_rounds``. The pool of processes is
    started once with ``context`` (its start-up time is kept apart). Raises
    ``RuntimeError`` if the three ways disagree on the sum.
    """
    n = check_int("n", n, minimum=1, maximum=10**9)
    workers = check_int("workers", workers, minimum=1, maximum=32)
    rounds = check_int("rounds", rounds, minimum=1, maximum=20)
    max_rounds = check_int("max_rounds", max_rounds, minimum=rounds, maximum=20)
    timeout = check_timeout("timeout", timeout)
    ctx = get_context(context)
    chunks = split_range(n, workers)
    expected = (n - 1) * n * (2 * n - 1) // 6  # the sum of i*i for i < n
    best: dict[str, tuple[float, float]] = {}  # way -> (wall, CPUs kept busy) of its best run
    cpus, gil = count_cpus(), gil_enabled()
    with track():
        started = time.perf_counter()
        with ctx.Pool(workers) as pool:
            sum_in_pool(pool, [(0, 1)] * workers, timeout)  # every worker is up
            startup = time.perf_counter() - started
            for done in range(1, max_rounds + 1):
                for way, job in [
                    ("serial", lambda: _serial(n)),
                    ("threads", lambda: _threads(chunks, timeout)),
                    ("processes", lambda: _processes(pool, chunks, timeout)),
                ]:
                    wall, cpu, total = _timed(job)
                    if total != expected:
                        raise RuntimeError(f"the {way} computed a wrong sum")
                    if way not in best or wall < best[way][0]:
                        best[way] = (wall, cpu / wall)
                result = ThreadsVsProcesses(
                    n, workers, done, ctx.get_start_method(),
                    serial=best["serial"][0], threads=best["threads"][0],
                    processes=best["processes"][0], threads_cpus=best["threads"][1],
                    processes_cpus=best["processes"][1], startup=startup, cpus=cpus, gil=gil,
                )  # fmt: skip
                settled = all(shown for shown, _ in result.claims()) and not result.busy
                if done >= rounds and settled:
                    break
    return result


# --- what a start method changes -------------------------------------------------------------


def _short(error: BaseException) -> str:
    """``SomeError: message`` without memory addresses, cut before a ``(`` (version detail)."""
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", f"{type(error).__name__}: {error}")
    return text.partition(" (")[0]


def try_cell_function(context: ContextLike, function: Callable[..., Any], argument: Any) -> str:
    """Send ``function`` to a child of ``context`` the way a target travels; say what happened.

    The child gets the pickled function (its module and name) and calls it
    with ``argument`` (see ``call_pickled``). Returns ``returned 9`` or the
    child's error, like ``AttributeError: Can't get attribute 'f' on <module
    '__main__' ...>`` (the part in brackets differs between Python versions).
    """
    ctx = get_context(context)
    function_bytes = pickle.dumps(function)
    with track():
        results = ctx.Queue()
        child = ctx.Process(target=call_pickled, args=(function_bytes, argument, results))
        child.start()
        try:
            what, value = _report_of(child, results, time.monotonic() + 30)
        finally:
            stop([child], timeout=10)
    if what == "returned":
        return f"returned {value!r}"
    head, cut, _ = value.partition(" (")
    return head + " ...>" if cut else head


def _report_of(child: Any, results: Any, deadline: float) -> tuple[str, Any]:
    """The report ``child`` puts on ``results``, waiting in short slices until ``deadline``."""
    while time.monotonic() < deadline:
        try:
            return results.get(timeout=SLICE)
        except queue.Empty:
            if child.exitcode is not None and results.empty():
                return "raised", f"the child ended with exit code {child.exitcode}"
    return "raised", "the child did not answer in time"


def try_pool_initializer(context: ContextLike, initializer: Callable[[], Any]) -> str:
    """Start a one-process ``Pool`` of ``context`` with ``initializer``; say what happened."""
    ctx = get_context(context)
    try:
        with track(), ctx.Pool(1, initializer=initializer) as pool:
            sum_in_pool(pool, [(0, 3)], timeout=30)
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        return _short(error)
    return "works"


def try_argument(context: ContextLike, argument: Any) -> str:
    """Start a child of ``context`` with ``argument``; say whether it could be sent."""
    ctx = get_context(context)
    child = ctx.Process(target=do_nothing, args=(argument,))
    try:
        with track():
            child.start()
            code = stop([child], timeout=30)[0]
    except (pickle.PicklingError, TypeError) as error:
        return _short(error)
    return "works" if code == 0 else f"exit code {code}"


# --- scripts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptRun:
    """What a script printed, and how it ended."""

    stdout: str
    stderr: str
    returncode: int


def run_script(source: str, timeout: float = 60.0) -> ScriptRun:
    """Run ``source`` as the file ``script.py`` in a fresh folder, with this Python.

    Waits at most ``timeout`` seconds (then the script is killed and
    ``subprocess.TimeoutExpired`` raised). Colours are off, so error text
    compares the same on every Python.
    """
    check_type("source", source, str)
    timeout = check_timeout("timeout", timeout)
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "script.py").write_text(source)
        done = subprocess.run(
            [sys.executable, "script.py"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHON_COLORS": "0"},
        )
    return ScriptRun(done.stdout, done.stderr, done.returncode)


def last_error_block(stderr: str, name: str = "RuntimeError") -> str:
    """The last ``name: ...`` message in ``stderr``, with its continuation lines.

    A traceback ends with the exception's type and message; a long message
    continues on indented lines. This returns the message only (without the
    ``File ...`` lines, which hold paths of the machine), dedented, or ``""``
    if ``name`` does not appear in ``stderr``.
    """
    check_type("stderr", stderr, str)
    check_type("name", name, str)
    at = stderr.rfind(f"{name}:")
    if at < 0:
        return ""
    head, *rest = stderr[at:].splitlines()
    message = []
    for line in rest:
        if line.strip() and not line[0].isspace():
            break  # the next unindented line is not part of this message
        message.append(line)
    return (head.rstrip() + "\n" + textwrap.dedent("\n".join(message))).strip()
