"""Pytest plugin that makes nbval safe and strict for this course.

Loaded by the root ``conftest.py``. It

1. applies the start method under test: ``MP_START_METHOD`` is set by
   ``tests/run_suite.py`` for each of fork, spawn and forkserver; unit tests get
   it through ``multiprocessing.set_start_method`` and test kernels through the
   IPython startup file in ``tests/ipython``;
2. starts every notebook kernel without ``PYTEST_CURRENT_TEST`` (with it,
   ipykernel stops capturing file-descriptor output and children's output
   vanishes) and with ``PYTHON_COLORS=0`` (no ANSI codes in tracebacks);
3. appends a *leak check* item to every notebook: before the kernel stops, no
   child of the kernel may be alive except multiprocessing's resource tracker
   and forkserver, and no ``psm_*`` segment may exist; the kernel is then shut
   down gracefully (nbval would SIGKILL its process group, resource tracker
   included, which leaks semaphores), and afterwards no process of the kernel
   may survive and no ``psm_*``/``sem.mp-*`` entry may be left in ``/dev/shm``;
4. records each notebook's wall time and reports it at the end, failing a
   notebook that exceeds its budget.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import nbval.kernel
import nbval.plugin
import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
IPYTHONDIR = ROOT / "tests" / "ipython"
SHM = Path("/dev/shm")
IPC_PREFIXES = ("psm_", "sem.mp-")
HELPER_MARKERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")

#: Seconds each notebook may take under one start method on a 2-core machine.
BUDGETS = {"05_choosing.ipynb": 60.0}
DEFAULT_BUDGET = 45.0

_timings: list[tuple[str, str, float]] = []


def start_method() -> str:
    """The start method under test (``MP_START_METHOD``, else the default)."""
    return os.environ.get("MP_START_METHOD") or multiprocessing.get_start_method()


def pytest_configure(config: pytest.Config) -> None:
    method = os.environ.get("MP_START_METHOD")
    if method:
        multiprocessing.set_start_method(method, force=True)
    nbval.plugin.RunningKernel = CourseKernel


def pytest_report_header(config: pytest.Config) -> str:
    return f"multiprocessing start method: {start_method()}"


def ipc_entries() -> set[str]:
    if not SHM.is_dir():
        return set()
    return {p.name for p in SHM.iterdir() if p.name.startswith(IPC_PREFIXES)}


def kernel_env() -> dict[str, str]:
    """The environment of a test kernel."""
    env = dict(os.environ)
    env.pop("PYTEST_CURRENT_TEST", None)
    env["IPYTHONDIR"] = str(IPYTHONDIR)
    env["MP_START_METHOD"] = start_method()
    env["PYTHON_COLORS"] = "0"
    env["NO_COLOR"] = "1"
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    if env.get("IPC_IMITATE_MACOS") == "1":
        # Every Python process of the run (kernel and spawn children) loads
        # tests/macos/sitecustomize.py, which removes what a Mac lacks.
        macos = str(ROOT / "tests" / "macos")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [macos, env.get("PYTHONPATH")]))
    return env


def describe(proc: psutil.Process) -> str:
    try:
        return f"pid {proc.pid}: {' '.join(proc.cmdline())[:160]}"
    except psutil.Error:
        return f"pid {proc.pid} (gone)"


def is_helper(proc: psutil.Process) -> bool:
    """True for multiprocessing's own helpers, which live as long as the kernel."""
    try:
        cmdline = " ".join(proc.cmdline())
    except psutil.Error:
        return True  # already gone
    return any(marker in cmdline for marker in HELPER_MARKERS)


class CourseKernel(nbval.kernel.RunningKernel):
    """nbval's kernel, started with the course's environment and stopped gently."""

    def __init__(self, kernel_name: str, cwd: str | None = None, startup_timeout: int = 60):
        self.shm_before = ipc_entries()
        self.started = time.monotonic()
        self.km, self.kc = nbval.kernel.start_new_kernel(
            startup_timeout=startup_timeout,
            kernel_name=kernel_name,
            stderr=open(os.devnull, "w"),  # noqa: SIM115 (nbval does the same)
            cwd=cwd,
            env=kernel_env(),
        )
        self.pid = self.km.provisioner.process.pid
        self._ensure_iopub_up()

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


class LeakCheck(pytest.Item):
    """The last item of every notebook: no leftover process or /dev/shm entry."""

    def runtest(self) -> None:
        kernel: CourseKernel | None = self.parent.kernel
        if kernel is None or not kernel.is_alive():
            pytest.fail("the kernel was not running at the end of the notebook")
        elapsed = time.monotonic() - kernel.started
        name = Path(self.parent.path).name
        _timings.append((name, start_method(), elapsed))

        problems = []
        children = kernel.descendants()
        strays = [p for p in children if not is_helper(p)]
        if strays:
            problems.append(
                "child processes still alive at the end of the notebook (join them):\n  "
                + "\n  ".join(describe(p) for p in strays)
            )
        segments = sorted(n for n in ipc_entries() - kernel.shm_before if n.startswith("psm_"))
        if segments:
            problems.append(f"shared-memory segments never unlinked: {segments}")

        kernel.stop()
        gone, alive = psutil.wait_procs(children, timeout=10)
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

        budget = BUDGETS.get(name, DEFAULT_BUDGET)
        if elapsed > budget:
            problems.append(
                f"took {elapsed:.1f} s under {start_method()}; the budget is {budget:g} s"
            )
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)

    def reportinfo(self):
        return self.path, None, f"{self.name}"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list):
    """Append a LeakCheck after the last cell of every notebook."""
    result = []
    for i, item in enumerate(items):
        result.append(item)
        parent = item.parent
        is_last = i + 1 == len(items) or items[i + 1].parent is not parent
        if isinstance(parent, nbval.plugin.IPyNbFile) and is_last:
            result.append(LeakCheck.from_parent(parent, name="leak check"))
    items[:] = result


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _timings:
        return
    terminalreporter.section("notebook timings")
    for name, method, seconds in _timings:
        budget = BUDGETS.get(name, DEFAULT_BUDGET)
        terminalreporter.write_line(
            f"{name:28s} {method:11s} {seconds:6.1f} s  (budget {budget:g} s)"
        )
