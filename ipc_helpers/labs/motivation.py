"""Lab of notebook 00: how much faster do more processes make CPU-bound work?

``run_scaling`` does a fixed amount of work (``sum_of_squares(0, work)``)
split across 1, 2, ... ``max_processes`` processes and times each run,
process start-up included. ``plot_scaling`` draws the times and the speed-up
next to what your CPUs allow. ``scaling_panel()`` puts both behind sliders and
a Run button.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from ..motivation import context_for, split_range, sum_in_processes, sum_of_squares, usable_cpus
from ..validation import check_int, check_timeout, check_type
from .panel import make_panel

#: The panel's label for "whatever start method is the default here".
DEFAULT = "default"

#: Work sizes offered by the panel (numbers of loop iterations).
WORK_SIZES = {
    "small (300 thousand)": 300_000,
    "medium (3 million)": 3_000_000,
    "large (12 million)": 12_000_000,
}


@dataclass(frozen=True)
class Scaling:
    """Times of the same job done by 1 .. N processes, and the serial baseline."""

    work: int
    start_method: str
    usable_cpus: int
    baseline: float
    processes: list[int]
    seconds: list[float]

    @property
    def speedups(self) -> list[float]:
        """``baseline / seconds`` for each process count (above 1 means faster)."""
        return [self.baseline / s for s in self.seconds]

    @property
    def best(self) -> int:
        """The process count that was fastest in this run."""
        return self.processes[self.seconds.index(min(self.seconds))]


def run_scaling(
    max_processes: int = 4,
    work: int = 3_000_000,
    start_method: str | None = None,
    *,
    timeout: float = 60.0,
) -> Scaling:
    """Time ``sum_of_squares(0, work)`` split across 1 .. ``max_processes`` processes.

    The baseline is the same work done in this process, without any child.
    Each run starts a fresh pool of ``n`` processes with ``start_method``
    (default: the current default), splits the range into ``n`` chunks, and
    waits at most ``timeout`` seconds for the answer; the time includes
    starting and stopping the processes. Returns a ``Scaling``; never prints.
    """
    max_processes = check_int("max_processes", max_processes, minimum=1, maximum=16)
    work = check_int("work", work, minimum=1, maximum=50_000_000)
    timeout = check_timeout("timeout", timeout)
    ctx = context_for(start_method)
    started = time.perf_counter()
    expected = sum_of_squares(0, work)
    baseline = time.perf_counter() - started
    counts = list(range(1, max_processes + 1))
    seconds = []
    for n in counts:
        started = time.perf_counter()
        total = sum_in_processes(split_range(work, n), ctx, timeout)
        seconds.append(time.perf_counter() - started)
        if total != expected:
            raise RuntimeError(f"{n} processes computed a wrong sum")
    return Scaling(work, ctx.get_start_method(), usable_cpus(), baseline, counts, seconds)


def plot_scaling(result: Scaling) -> Any:
    """Draw time and speed-up against the number of processes; return the figure."""
    import matplotlib.pyplot as plt

    check_type("result", result, Scaling)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.bar(result.processes, result.seconds, color="#3a7ee0")
    left.axhline(result.baseline, color="#555555", linestyle="--", label="no child process")
    left.set_xlabel("processes")
    left.set_ylabel("seconds")
    left.set_title("time (lower is better)", fontsize=10)
    left.legend(fontsize=8)

    ideal = [min(n, result.usable_cpus) for n in result.processes]
    right.plot(result.processes, result.speedups, "o-", color="#3a7ee0", label="measured")
    right.plot(result.processes, ideal, ":", color="#2e7d32", label="best possible")
    right.axvline(
        result.usable_cpus,
        color="#c62828",
        linewidth=1,
        label=f"{result.usable_cpus} usable CPU(s)",
    )
    right.set_xlabel("processes")
    right.set_ylabel("speed-up")
    right.set_title("speed-up over no child process (higher is better)", fontsize=10)
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.set_xticks(result.processes)
    fig.suptitle(
        f"sum_of_squares(0, {result.work:,}), start method {result.start_method!r}",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def scaling_panel() -> widgets.VBox:
    """The lab's control panel: processes, work size, start method, Run."""
    controls = {
        "max_processes": widgets.IntSlider(value=4, min=1, max=8, description="processes"),
        "work": widgets.Dropdown(options=WORK_SIZES, value=3_000_000, description="work"),
        "start_method": widgets.ToggleButtons(
            options=[DEFAULT, *mp.get_all_start_methods()], value=DEFAULT, description="start"
        ),
    }

    def run(max_processes: int, work: int, start_method: str) -> None:
        method = None if start_method == DEFAULT else start_method
        plot_scaling(run_scaling(max_processes, work, method))

    return make_panel("How much faster with more processes?", controls, run=run)
