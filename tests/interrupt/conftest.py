"""The interrupt stage's notebooks, run side by side, and its summary.

``IPC_INTERRUPT_JOBS`` notebooks (default 2) run at once, each in its own kernel
with its own /dev/shm: most of a notebook's time is spent waiting (for children,
for an interrupt point), not computing (a stage used about half a core with two at
once), so two at once cut the stage's time on a 2-core machine. The tests are
still one per notebook: each waits for its own notebook's result.
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.notebook_harness import start_method

from .driver import NOTEBOOKS
from .interrupts import Report, exercise

REPORTS: list[Report] = []  # in the order the tests finished
STARTED: list[float] = []  # when the first notebook started (time.monotonic())
#: Longest first (most bytes), the order the notebooks start in. The tests run in
#: this order too, so each test waits only for its own notebook: a test that came
#: before the notebooks started ahead of its own would wait for them as well, and
#: pytest-timeout would charge that wait to it (00, the shortest, then "timed out"
#: at 300 s while its notebook had not even started).
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"), key=lambda p: (-p.stat().st_size, p.name))


def jobs() -> int:
    value = os.environ.get("IPC_INTERRUPT_JOBS", "2")
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"IPC_INTERRUPT_JOBS must be a whole number >= 1, not {value!r}")
    return int(value)


class Runner:
    """Starts the selected notebooks in a thread pool, in the tests' order (``PATHS``)."""

    def __init__(self, paths: list[Path], workdir: Path) -> None:
        self.pool = ThreadPoolExecutor(max_workers=jobs(), thread_name_prefix="interrupts")
        STARTED.append(time.monotonic())
        method = start_method()
        self.futures: dict[Path, Future] = {
            path: self.pool.submit(exercise, path, method, workdir / path.stem) for path in paths
        }

    def report(self, path: Path) -> Report:
        return self.futures[path].result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def runner(request: pytest.FixtureRequest):
    here = Path(__file__).parent
    selected = [
        item.callspec.params["notebook"]
        for item in request.session.items
        if item.path.parent == here and hasattr(item, "callspec")
    ]
    with tempfile.TemporaryDirectory(prefix="interrupts-") as workdir:
        running = Runner(selected, Path(workdir))
        try:
            yield running
        finally:
            running.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not REPORTS:
        return
    terminalreporter.section("interrupt timings")
    for report in REPORTS:
        terminalreporter.write_line(
            f"{report.notebook:26s} {report.method:6s} {report.seconds:5.1f} s "
            f"(first run {report.first_run:4.1f} s), {report.interrupts} interrupts in "
            f"{report.cells} cells, {len(report.problems)} problem(s)"
        )
        for note in report.notes:
            terminalreporter.write_line(f"{'':26s} not tried: {note}")
    wall = time.monotonic() - STARTED[0] if STARTED else 0.0
    terminalreporter.write_line(f"{len(REPORTS)} notebooks, {jobs()} at a time: {wall:.0f} s")
