"""Kernel → Interrupt at any moment: the cell stops within seconds, nothing keeps running.

One test per notebook (every ``notebooks/*.ipynb``: a new notebook is covered
without a change here) under the start method in ``MP_START_METHOD``. What it
does is described in ``interrupts.py``. The suite's ``interrupt-fork`` and
``interrupt-spawn`` stages run it as::

    MP_START_METHOD=fork  .venv/bin/python -m pytest tests/interrupt
    MP_START_METHOD=spawn .venv/bin/python -m pytest tests/interrupt -k 05_

``IPC_INTERRUPT_POINTS=early,middle,late`` interrupts every slow cell at all
three points (by default fork takes one point of each cell and spawn the two
others, to fit the budget); ``IPC_INTERRUPT_JOBS=N`` runs N notebooks at once
(default 3). The "interrupt
timings" section at the end gives each notebook's time and interrupts.
"""

from __future__ import annotations

import pytest

from .conftest import PATHS, REPORTS

#: pytest-timeout's limit for one notebook, in seconds (the suite's default is 300).
#: The walk bounds itself: each cell run by ``CELL_TIMEOUT``, the interrupts by
#: ``NOTEBOOK_BUDGET``; after the budget, the remaining cells still run once each.
#: Under the suite's own load, 05 (a benchmark that pins its processes to one CPU)
#: went past 300 s in both interrupt stages, without any problem found.
NOTEBOOK_TIMEOUT = 600


@pytest.mark.timeout(NOTEBOOK_TIMEOUT)
@pytest.mark.parametrize("notebook", PATHS, ids=[p.stem for p in PATHS])
def test_interrupting_cells(notebook, runner):
    report = runner.report(notebook)
    REPORTS.append(report)
    if report.problems:
        pytest.fail(
            f"{notebook.name} under {report.method}, interrupted {report.interrupts} times in "
            f"{report.cells} cells:\n- " + "\n- ".join(report.problems),
            pytrace=False,
        )
