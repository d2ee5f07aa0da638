"""Pytest plugin that makes nbval safe and strict for this course.

Loaded by the root ``conftest.py``. It

1. applies the start method under test, and proves it: ``MP_START_METHOD`` is
   set by ``tests/run_suite.py`` for each stage; this process gets it through
   ``multiprocessing.set_start_method`` and test kernels through the IPython
   startup file in ``tests/ipython``. A first item, ``start method``, checks
   that this process *and a worker it starts* use that method, and every
   notebook kernel is asked for its own ``multiprocessing.get_start_method()``
   right after it starts (if the startup file stopped loading, every cell of
   the notebook fails with a message that says so);
2. sets ``IPC_HELPERS_STRICT=1`` for this process and every kernel, so a
   checker that crashes fails the test instead of answering "checker bug";
3. starts every notebook kernel without ``PYTEST_CURRENT_TEST`` (with it,
   ipykernel stops capturing file-descriptor output and children's output
   vanishes) and with ``PYTHON_COLORS=0`` (no ANSI codes in tracebacks), by
   wrapping nbval's own kernel start (``CourseKernel``; ``NBVAL_TESTED`` says
   which nbval that wrapping was checked against);
4. appends a *leak check* item to every notebook: before the kernel stops, no
   descendant of the kernel may be alive except multiprocessing's resource
   tracker and forkserver *server* (``tests/processes.py`` tells the server
   from its workers), and no ``psm_*`` segment may exist; the kernel is then
   shut down gracefully (nbval would SIGKILL its process group, resource
   tracker included, which leaks semaphores), and afterwards no process of the
   kernel may survive and no ``psm_*``/``sem.mp-*`` entry may be left in
   ``/dev/shm``;
5. with ``--run-all-twice``, runs every notebook's cells a second time in the
   same kernel (Run All twice: no cell may fail the second time; outputs of
   the second pass are never compared);
6. records each notebook's wall time and reports it at the end, failing a
   notebook that exceeds its budget (``BUDGETS``; scaled up only while the
   machine is overloaded), and stretches nbval's limit for one cell in the
   same way, at most 3 times (``stretched_cell_timeout``);
7. writes what it saw (the Python, start method and macOS imitation of the
   test process, of a worker and of every kernel, and each notebook run) to
   ``IPC_SUITE_FACTS`` when set, so the suite's summary shows what each stage
   really ran, not what it was asked to run.

``IPC_IMITATE_MACOS=1`` makes the kernels imitate macOS (``tests/macos``);
the kernel is asked whether the imitation really loaded.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import json
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from queue import Empty
from typing import TypeVar
from unittest import mock

import nbval.kernel
import nbval.plugin
import psutil
import pytest

from tests.processes import (
    IPC_PREFIXES,
    SHM,
    child_start_method,
    describe,
    ipc_entries,
    strays,
)

__all__ = ["IPC_PREFIXES", "SHM", "describe", "ipc_entries", "kernel_env", "start_method"]

ROOT = Path(__file__).resolve().parent.parent
IPYTHONDIR = ROOT / "tests" / "ipython"
MACOS = ROOT / "tests" / "macos"

#: The nbval release whose ``RunningKernel.__init__`` ``CourseKernel`` wraps. On an
#: nbval upgrade, check (tests/harness/test_nbval_tie.py does it) that
#: ``RunningKernel.__init__(kernel_name, cwd, startup_timeout)`` still starts its
#: kernel through ``nbval.kernel.start_new_kernel(..., **kwargs)`` (passing
#: ``kwargs`` on to ``KernelManager.start_kernel``) and that ``IPyNbFile.setup``
#: still makes its kernel with ``nbval.plugin.RunningKernel``; then update this.
NBVAL_TESTED = "0.11.0"

#: Seconds each notebook may take under one start method on a 2-core machine
#: that is not overloaded (per pass: a notebook run twice gets twice its budget).
#: When more processes want a CPU than there are CPUs (the 1-minute load average
#: per CPU, at the notebook's start or end, is above 1), the budget grows by that
#: factor: a slow notebook fails on a quiet machine, not because the suite's
#: other stages or another program keep the CPUs busy.
BUDGETS = {"05_choosing.ipynb": 60.0, "06_beyond_one_machine.ipynb": 60.0}
DEFAULT_BUDGET = 45.0

_timings: list[tuple[str, str, float, float]] = []


def load_per_cpu() -> float:
    """The 1-minute load average per CPU (0 where the platform has none)."""
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        return 0.0


def budget(notebook: str, passes: int = 1, load: float = 0.0) -> float:
    """Seconds ``notebook`` may take, run ``passes`` times while the load per CPU was ``load``."""
    return BUDGETS.get(notebook, DEFAULT_BUDGET) * passes * max(1.0, load)


#: The most a limit is stretched on a busy machine (``stretched_cell_timeout``).
MAX_STRETCH = 3.0


def stretched_cell_timeout(base: float, load: float) -> float:
    """nbval's limit for one cell, ``base`` seconds, stretched by the load per CPU (1 to 3x).

    ``--nbval-cell-timeout`` is a learner's machine's limit. With more programs
    ready to run than CPUs (``make test`` runs stages side by side, and the
    suite must pass beside two busy loops), the same cell takes that many times
    longer: notebook 05's cross-check took 122 s at load 9 per CPU. A cell that
    hangs still fails, at most 3 times later.
    """
    return base * min(MAX_STRETCH, max(1.0, load))


def start_method() -> str:
    """The start method under test (``MP_START_METHOD``, else the default)."""
    return os.environ.get("MP_START_METHOD") or multiprocessing.get_start_method()


def imitating_macos() -> bool:
    return os.environ.get("IPC_IMITATE_MACOS") == "1"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-all-twice",
        action="store_true",
        help="run every notebook's cells twice in one kernel (the second pass must not fail)",
    )
    parser.addoption(
        "--shard",
        default="",
        metavar="I/N",
        help="run only the I-th of N interleaved parts of the tests (a notebook stays whole)",
    )


#: A test marked ``@pytest.mark.one_stage`` (slow, and the same under every start
#: method and Python, e.g. a benchmark's accuracy) runs in one unit-test stage of
#: tests/run_suite.py only; the other stages set this variable and deselect it.
ONE_STAGE_ONLY = "IPC_DESELECT_ONE_STAGE"


#: nbval's limit for one cell as given (``--nbval-cell-timeout``), before any stretch.
_BASE_CELL_TIMEOUT = pytest.StashKey[float]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "one_stage: slow and start-method independent: run in one unit stage only"
    )
    os.environ["IPC_HELPERS_STRICT"] = "1"
    method = os.environ.get("MP_START_METHOD")
    if method:
        multiprocessing.set_start_method(method, force=True)
    nbval.plugin.RunningKernel = CourseKernel
    if hasattr(config.option, "nbval_cell_timeout"):
        config.stash[_BASE_CELL_TIMEOUT] = float(config.option.nbval_cell_timeout)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before each notebook cell: nbval's cell limit, stretched by the load now."""
    if isinstance(item, nbval.plugin.IPyNbCell) and _BASE_CELL_TIMEOUT in item.config.stash:
        base = item.config.stash[_BASE_CELL_TIMEOUT]
        item.config.option.nbval_cell_timeout = stretched_cell_timeout(base, load_per_cpu())


def pytest_report_header(config: pytest.Config) -> str:
    macos = ", imitating macOS" if imitating_macos() else ""
    return f"multiprocessing start method: {start_method()}{macos}"


def kernel_env() -> dict[str, str]:
    """The environment of a test kernel."""
    env = dict(os.environ)
    env.pop("PYTEST_CURRENT_TEST", None)
    env["IPYTHONDIR"] = str(IPYTHONDIR)
    env["MP_START_METHOD"] = start_method()
    env["IPC_HELPERS_STRICT"] = "1"
    env["PYTHON_COLORS"] = "0"
    env["NO_COLOR"] = "1"
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    if imitating_macos():
        # Every Python process of the run (kernel and spawn children) loads
        # tests/macos/sitecustomize.py, which removes what a Mac lacks.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(MACOS), env.get("PYTHONPATH")]))
    return env


def record(fact: dict[str, object]) -> None:
    """Add ``fact`` to the stage's facts (``IPC_SUITE_FACTS``), which tests/run_suite.py reads."""
    path = os.environ.get("IPC_SUITE_FACTS")
    if path:
        with open(path, "a", encoding="utf-8") as facts:
            facts.write(json.dumps(fact) + "\n")


def python_version() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


# -- the start method of this process and of its workers ---------------------------------


class StartMethodCheck(pytest.Item):
    """First item of a run with ``MP_START_METHOD``: this process and its workers use it."""

    def runtest(self) -> None:
        expected = os.environ["MP_START_METHOD"]
        problems = start_method_problems(expected, report=True)
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)

    def reportinfo(self):
        return self.path, None, "start method"


def start_method_problems(expected: str, report: bool = False) -> list[str]:
    """What differs from ``expected`` in this process's start method and in its workers'.

    With ``report``, what was seen goes to the stage's facts (``record``).
    """
    problems = []
    here = multiprocessing.get_start_method(allow_none=True)
    if here != expected:
        problems.append(f"this process's start method is {here!r}, the stage's is {expected!r}")
    started_by, reported = child_start_method()
    if report:
        record({"where": "the test process", "start method": here, "Python": python_version()})
        record({"where": "a worker of the test process", "start method": reported})
    if started_by != expected:
        problems.append(f"a worker was started by {started_by!r}, the stage's is {expected!r}")
    if reported != expected:
        problems.append(f"a worker reports start method {reported!r}, the stage's is {expected!r}")
    return problems


# -- notebook kernels --------------------------------------------------------------------

#: Evaluated in every new kernel: what the harness checks before the first cell.
KERNEL_FACTS = (
    "{'start method': __import__('multiprocessing').get_start_method(allow_none=True),"
    " 'IPC_HELPERS_STRICT': __import__('os').environ.get('IPC_HELPERS_STRICT'),"
    " 'Python': '%d.%d' % __import__('sys').version_info[:2],"
    " 'imitating macOS': getattr(__import__('sys').modules.get('sitecustomize'),"
    " 'IMITATING_MACOS', False)}"
)


def expected_kernel_facts() -> dict[str, object]:
    return {
        "start method": start_method(),
        "IPC_HELPERS_STRICT": "1",
        "Python": python_version(),
        "imitating macOS": imitating_macos(),
    }


@contextlib.contextmanager
def _kernels_started_with(env: dict[str, str]) -> Iterator[None]:
    """While inside, nbval's ``start_new_kernel`` passes ``env`` to the kernel it starts."""
    original = nbval.kernel.start_new_kernel
    with mock.patch.object(nbval.kernel, "start_new_kernel", functools.partial(original, env=env)):
        yield


def working_copy(directory: str | Path, inside: Path | None = None) -> Path:
    """A new temporary folder (in ``inside``) linking to every entry of ``directory``.

    A test kernel's working directory. Stages run the same notebook side by
    side; a notebook that writes a file next to itself (00 writes and deletes
    ``why_ipc_worker.py``) would race the other stages' kernels in one shared
    folder. The caller removes it.
    """
    copy = Path(tempfile.mkdtemp(prefix="kernel-cwd-", dir=inside))
    for entry in Path(directory).iterdir():
        (copy / entry.name).symlink_to(entry)
    return copy


#: Terminal colour and style codes, as in the tracebacks and outputs IPython sends.
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

T = TypeVar("T")

#: Starts of a test kernel before its death counts. jupyter_client picks the kernel's
#: five TCP ports, closes them, and the kernel binds them once it has started (seconds,
#: under load). If another program takes one meanwhile (the suite's dask clusters open
#: ports all the time), the kernel dies at once: "Kernel died before replying to
#: kernel_info" (jupyter_client issue 154; seen twice in full suites, in nbval and in
#: the interrupt stage). A kernel that dies for any other reason dies every time.
KERNEL_STARTS = 3
DIED_AT_START = "Kernel died before replying to kernel_info"


def start_kernel_again_if_it_died(start: Callable[[], T]) -> T:
    """``start()`` (start a kernel, wait for its answer), at most ``KERNEL_STARTS`` times
    while the kernel dies at start; each retry is a warning in the stage's log."""
    for attempt in range(1, KERNEL_STARTS):
        try:
            return start()
        except RuntimeError as error:
            if DIED_AT_START not in str(error):
                raise
            warnings.warn(f"kernel start {attempt} of {KERNEL_STARTS}: {error}", stacklevel=2)
    return start()  # the last try: its error is the stage's


class CourseKernel(nbval.kernel.RunningKernel):
    """nbval's kernel, started with the course's environment, checked, and stopped gently.

    Its working directory is a ``working_copy`` of the notebook's folder.
    """

    def __init__(self, kernel_name: str, cwd: str | None = None, startup_timeout: int = 60):
        self.shm_before = ipc_entries()
        self.started = time.monotonic()
        self.load = load_per_cpu()
        self.workdir = working_copy(cwd or os.getcwd())

        def start() -> None:
            with _kernels_started_with(kernel_env()):
                super(CourseKernel, self).__init__(
                    kernel_name, cwd=str(self.workdir), startup_timeout=startup_timeout
                )

        start_kernel_again_if_it_died(start)
        self.pid = self.km.provisioner.process.pid
        self.found: dict[str, object] = {}
        problems = self.fact_problems()
        if problems:
            self.stop()
            raise RuntimeError(
                "the test kernel is not what this stage claims to test:\n  "
                + "\n  ".join(problems)
                + "\n(is tests/ipython/profile_default/startup/00-start-method.py still loaded?)"
            )

    def facts(self, timeout: float = 30.0) -> dict[str, object]:
        """What the kernel says about itself (``KERNEL_FACTS``), without touching its history."""
        msg_id = self.kc.execute(
            "", silent=True, store_history=False, user_expressions={"facts": KERNEL_FACTS}
        )
        while True:
            reply = self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        self.await_idle(msg_id, timeout)
        result = reply["content"].get("user_expressions", {}).get("facts", {})
        if result.get("status") != "ok":
            raise RuntimeError(f"the kernel could not report its facts: {result}")
        return ast.literal_eval(result["data"]["text/plain"])

    def fact_problems(self) -> list[str]:
        try:
            self.found = self.facts()
        except Empty:
            return ["the kernel did not answer within 30 s"]
        return [
            f"{key}: the kernel has {self.found.get(key)!r}, the stage wants {want!r}"
            for key, want in expected_kernel_facts().items()
            if self.found.get(key) != want
        ]

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        """Ask the kernel to shut down and wait for it (SIGKILL only as a last resort)."""
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)
        del self.km
        shutil.rmtree(self.workdir, ignore_errors=True)


# -- leak check --------------------------------------------------------------------------


class LeakCheck(pytest.Item):
    """The last item of every notebook: no leftover process or /dev/shm entry."""

    def __init__(self, *, passes: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.passes = passes

    def runtest(self) -> None:
        kernel: CourseKernel | None = self.parent.kernel
        if kernel is None or not kernel.is_alive():
            pytest.fail("the kernel was not running at the end of the notebook", pytrace=False)
        elapsed = time.monotonic() - kernel.started
        name = Path(self.parent.path).name
        record({"where": name, "notebook": name, "passes": self.passes, **kernel.found})
        problems = left_running(kernel)
        children = kernel.descendants()
        kernel.stop()
        problems += left_after_stop(kernel, children)
        problems += self.over_budget(name, elapsed, max(kernel.load, load_per_cpu()))
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)

    def over_budget(self, name: str, elapsed: float, load: float) -> list[str]:
        allowed = budget(name, self.passes, load)
        _timings.append((name, start_method(), elapsed, allowed))
        if elapsed <= allowed:
            return []
        return [
            f"took {elapsed:.1f} s under {start_method()}; the budget is {allowed:.0f} s "
            f"(load per CPU {load:.1f})"
        ]

    def reportinfo(self):
        return self.path, None, f"{self.name}"


def left_running(kernel: CourseKernel) -> list[str]:
    """Before the kernel stops: descendants other than multiprocessing's helpers, segments."""
    problems = []
    left = strays(kernel.pid)
    if left:
        problems.append(
            "child processes still alive at the end of the notebook (join them):\n  "
            + "\n  ".join(describe(p) for p in left)
        )
    segments = sorted(n for n in ipc_entries() - kernel.shm_before if n.startswith("psm_"))
    if segments:
        problems.append(f"shared-memory segments never unlinked: {segments}")
    return problems


def left_after_stop(kernel: CourseKernel, children: list[psutil.Process]) -> list[str]:
    """After the kernel stopped: survivors (then killed) and /dev/shm entries (then removed)."""
    problems = []
    _, alive = psutil.wait_procs(children, timeout=10)
    if alive:
        problems.append(
            "processes that outlived the kernel:\n  " + "\n  ".join(describe(p) for p in alive)
        )
        for p in alive:
            p.kill()
    leftovers = sorted(ipc_entries() - kernel.shm_before)
    if leftovers:
        problems.append(f"/dev/shm entries left after the kernel stopped: {leftovers}")
        for n in leftovers:
            (SHM / n).unlink(missing_ok=True)
    return problems


# -- collection --------------------------------------------------------------------------


def second_pass(cells: list[nbval.plugin.IPyNbCell]) -> list[nbval.plugin.IPyNbCell]:
    """The same cells again, in the same kernel, never compared with the stored outputs."""
    return [
        nbval.plugin.IPyNbCell.from_parent(
            cell.parent,
            name=f"{cell.name} (second run)",
            cell_num=cell.cell_num,
            cell=cell.cell,
            options=defaultdict(bool, cell.options, check=False),
        )
        for cell in cells
    ]


def shard(items: list[pytest.Item], spec: str) -> list[pytest.Item]:
    """The ``I/N`` part of ``items``: every N-th test from the I-th, a notebook's cells together.

    Interleaving spreads slow and quick tests (and the rows of a parametrized
    test) evenly over the parts, so N parts run in about 1/N of the time.
    """
    if not spec:
        return items
    index, count = (int(n) for n in spec.split("/"))
    if not 1 <= index <= count:
        raise pytest.UsageError(f"--shard {spec}: I must be between 1 and N")
    units: dict[object, int] = {}
    keep = []
    for item in items:
        unit = item.parent if isinstance(item.parent, nbval.plugin.IPyNbFile) else item
        number = units.setdefault(unit, len(units))
        if number % count == index - 1:
            keep.append(item)
    return keep


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list):
    """Check the start method first; end every notebook with a second pass and a leak check.

    Tests marked ``one_stage`` are deselected where ``IPC_DESELECT_ONE_STAGE=1``.
    """
    keep = shard(items, config.getoption("--shard"))
    if os.environ.get(ONE_STAGE_ONLY) == "1":
        keep = [item for item in keep if not item.get_closest_marker("one_stage")]
    if len(keep) < len(items):
        kept = set(keep)
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = keep
    twice = config.getoption("--run-all-twice")
    result: list[pytest.Item] = []
    if os.environ.get("MP_START_METHOD") and items:
        result.append(StartMethodCheck.from_parent(session, name="start method"))
    notebook: list[nbval.plugin.IPyNbCell] = []
    for i, item in enumerate(items):
        result.append(item)
        parent = item.parent
        if not isinstance(parent, nbval.plugin.IPyNbFile):
            continue
        notebook.append(item)
        if i + 1 == len(items) or items[i + 1].parent is not parent:
            if twice:
                result.extend(second_pass(notebook))
            passes = 2 if twice else 1
            result.append(LeakCheck.from_parent(parent, name="leak check", passes=passes))
            notebook = []
    items[:] = result


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _timings:
        return
    terminalreporter.section("notebook timings")
    for name, method, seconds, allowed in _timings:
        terminalreporter.write_line(
            f"{name:28s} {method:11s} {seconds:6.1f} s  (budget {allowed:.0f} s)"
        )
