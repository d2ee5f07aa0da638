"""Plots and the lab of notebook 00: threads against processes, and more processes.

- ``plot_threads_vs_processes(result)``: the bars of section 2's race
  (``motivation.compare_threads_processes``).
- ``run_scaling(...)``: a fixed amount of work (``sum_of_squares(0, work)``)
  split across 1, 2, ... ``max_processes`` processes, each run timed with
  process start-up included, against a best-of-three baseline without any
  child. ``plot_scaling(result)`` draws the times and the speed-up beside
  the best your CPUs allow. ``scaling_panel()`` puts both behind controls.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..contexts import ContextLike, get_context
from ..motivation import (
    CpuCount,
    ThreadsVsProcesses,
    count_cpus,
    split_range,
    sum_in_processes,
    sum_of_squares,
)
from ..validation import check_int, check_timeout, check_type
from . import style
from .panel import make_panel, slider, toggles

#: The panel's label for "whatever start method is the default here".
DEFAULT = "default"

#: Work sizes offered by the panel (numbers of loop iterations).
WORK_SIZES = {
    "small (300 thousand)": 300_000,
    "medium (3 million)": 3_000_000,
    "large (12 million)": 12_000_000,
}


# --- section 2: one thread, threads, processes ---------------------------------------


def plot_threads_vs_processes(result: ThreadsVsProcesses) -> plt.Figure:
    """Bars of the best times of one thread, the threads and the processes; return the figure.

    The processes' bar shows their work; starting the pool, kept apart, is a
    hatched piece after it.
    """
    check_type("result", result, ThreadsVsProcesses)
    k = result.workers
    rows = [
        ("1 thread", result.serial, "serial", ""),
        (f"{k} threads", result.threads, "threads", f", {result.threads_cpus:.1f} CPUs busy"),
        (f"{k} processes", result.processes, "processes", ""),
    ]
    with style.context():
        fig, ax = plt.subplots(figsize=(7.6, 2.8))
        for y, (_, seconds, look, busy) in enumerate(rows[:-1]):
            ax.barh(y, seconds, color=style.mechanism(look)["color"], edgecolor="white")
            ax.text(seconds, y, f" {seconds:.2f} s{busy}", va="center")
        y = len(rows) - 1
        ax.barh(y, result.processes, color=style.mechanism("processes")["color"])
        end = result.processes + result.startup
        ax.barh(
            y,
            result.startup,
            left=result.processes,
            color="white",
            edgecolor=style.mechanism("processes")["color"],
            hatch="//",
        )
        ax.text(
            end,
            y,
            f" {result.processes:.2f} s, {result.processes_cpus:.1f} CPUs busy"
            f" + {result.startup:.2f} s to start them (hatched)",
            va="center",
        )
        ax.set_yticks(range(len(rows)), [label for label, *_ in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, max(result.serial, result.threads, end) * 1.9)
        ax.set_xlabel("seconds (shorter is better)")
        gil = "GIL on" if result.gil else "GIL off (free-threaded)"
        ax.set_title(
            f"sum_of_squares(0, {result.n:,}): best of {result.rounds} runs, "
            f"{result.cpus.limit:g} CPU(s), {gil}"
        )
        fig.tight_layout()
    return fig


# --- the lab: more processes -------------------------------------------------------------


@dataclass(frozen=True)
class Scaling:
    """Times of the same job done by 1 .. N processes, and the baseline without a child.

    ``baseline`` is the best of ``baseline_runs`` (one before, one in the
    middle, one after the process runs), so that a burst of load from other
    programs cannot make the processes look faster than they are.
    """

    work: int
    start_method: str
    cpus: CpuCount
    baseline_runs: list[float]
    processes: list[int]
    seconds: list[float]

    @property
    def baseline(self) -> float:
        """The best time of the work done in this process, without any child."""
        return min(self.baseline_runs)

    @property
    def speedups(self) -> list[float]:
        """``baseline / seconds`` for each process count (above 1 means faster)."""
        return [self.baseline / s for s in self.seconds]

    @property
    def best_possible(self) -> list[float]:
        """The largest speed-up each process count can reach on these CPUs."""
        return [self.cpus.best_speedup(n) for n in self.processes]

    @property
    def fastest(self) -> int:
        """The process count that was fastest in this run."""
        return self.processes[self.seconds.index(min(self.seconds))]


def _serial_seconds(work: int) -> float:
    started = time.perf_counter()
    sum_of_squares(0, work)
    return time.perf_counter() - started


def run_scaling(
    max_processes: int = 4,
    work: int = 3_000_000,
    context: ContextLike = None,
    *,
    timeout: float = 60.0,
) -> Scaling:
    """Time ``sum_of_squares(0, work)`` split across 1 .. ``max_processes`` processes.

    Each run starts a fresh pool of ``n`` processes with ``context`` (a start
    method's name, a context, or ``None`` for the default), splits the range
    into ``n`` chunks and waits at most ``timeout`` seconds; its time
    includes starting and stopping the processes. Returns a ``Scaling``;
    never prints. Interrupt stops the processes of the run.
    """
    max_processes = check_int("max_processes", max_processes, minimum=1, maximum=16)
    work = check_int("work", work, minimum=1, maximum=50_000_000)
    timeout = check_timeout("timeout", timeout)
    ctx = get_context(context)
    expected = (work - 1) * work * (2 * work - 1) // 6  # the sum of i*i for i < work
    counts = list(range(1, max_processes + 1))
    baseline_runs = [_serial_seconds(work)]
    seconds = []
    for n in counts:
        started = time.perf_counter()
        total = sum_in_processes(split_range(work, n), ctx, timeout)
        seconds.append(time.perf_counter() - started)
        if total != expected:
            raise RuntimeError(f"{n} processes computed a wrong sum")
        if n == (max_processes + 1) // 2:
            baseline_runs.append(_serial_seconds(work))
    baseline_runs.append(_serial_seconds(work))
    return Scaling(work, ctx.get_start_method(), count_cpus(), baseline_runs, counts, seconds)


def plot_scaling(result: Scaling) -> plt.Figure:
    """Draw the time and the speed-up against the number of processes; return the figure."""
    check_type("result", result, Scaling)
    with style.context():
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
        left.bar(result.processes, result.seconds, color=style.mechanism("processes")["color"])
        base = left.axhline(result.baseline, **style.mechanism("serial", marker=""))
        left.set_xlim(0.4, max(result.processes) + 2.2)  # room for the label on the right
        style.label_line(left, base, "no child process")
        left.set_xlabel("processes")
        left.set_ylabel("seconds")
        left.set_title("Time of the whole job, start-up included")

        reference = style.role("reference").line
        (best,) = right.plot(
            result.processes, result.best_possible, color=reference, linestyle=":", marker=""
        )
        style.label_line(right, best, "best possible")
        right.plot(result.processes, result.speedups, **style.mechanism("processes"))
        one = right.axhline(1.0, color=reference, linewidth=0.8)
        style.label_line(right, one, "no gain")
        right.set_xlabel("processes")
        right.set_ylabel("times faster")
        right.set_ylim(0, max(max(result.speedups), max(result.best_possible)) * 1.2)
        right.set_title(f"Speed-up on {result.cpus.limit:g} usable CPU(s)")
        for ax in (left, right):
            ax.set_xticks(result.processes)
        fig.tight_layout()
    return fig


def scaling_panel() -> widgets.VBox:
    """The lab's control panel: processes, work size, start method, Run."""
    controls = {
        "max_processes": slider("processes", 4, 1, 8),
        "work": toggles("work", list(WORK_SIZES.items()), 3_000_000),
        "start_method": toggles("start method", [DEFAULT, *mp.get_all_start_methods()], DEFAULT),
    }

    def run(max_processes: int, work: int, start_method: str) -> None:
        method = None if start_method == DEFAULT else start_method
        plot_scaling(run_scaling(max_processes, work, method))

    return make_panel("How much faster with more processes?", controls, run=run)
