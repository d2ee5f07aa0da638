"""Lab of notebook 04: lost updates on a manager dict, beside a shared ``Value``.

``run_counter_lab`` starts ``processes`` workers that each add one to a
counter ``increments`` times, first on a manager dict (two round trips per
addition), then on a shared-memory ``Value``, with or without a lock. It
returns the final counts and the times; ``plot_counter_lab`` draws them and
``counter_panel`` wraps both in a control panel.

``plot_race`` and ``plot_costs`` draw the notebook's other measurements.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..cleanup import stop
from ..managers import Costs, RaceResult, count_in_dict, count_in_value
from ..validation import check_int, check_timeout, check_type
from .panel import make_panel


@dataclass
class CounterLabResult:
    """Final counts and wall times of one ``run_counter_lab`` run."""

    processes: int
    increments: int
    use_lock: bool
    manager_count: int
    value_count: int
    manager_seconds: float
    value_seconds: float

    @property
    def expected(self) -> int:
        return self.processes * self.increments

    def lost(self, kind: str) -> int:
        """Increments lost by ``kind``: ``"manager"`` or ``"value"``."""
        counts = {"manager": self.manager_count, "value": self.value_count}
        if kind not in counts:
            raise ValueError(f"kind must be 'manager' or 'value', got {kind!r}")
        return self.expected - counts[kind]


def _timed_run(target: Any, args_for: Any, processes: int, timeout: float) -> float:
    """Start ``processes`` workers behind one barrier; return the seconds they counted for."""
    start = mp.Barrier(processes + 1)
    workers = [mp.Process(target=target, args=args_for(start)) for _ in range(processes)]
    for w in workers:
        w.start()
    try:
        start.wait(timeout)  # every worker is ready: the clock starts now
        began = time.perf_counter()
        codes = stop(workers, timeout=timeout)
        seconds = time.perf_counter() - began
    finally:
        stop(workers, timeout=1.0)
    if any(code != 0 for code in codes):
        raise RuntimeError(f"a worker failed (exit codes {codes})")
    return seconds


def run_counter_lab(
    processes: int = 4,
    increments: int = 500,
    use_lock: bool = False,
    timeout: float = 60.0,
) -> CounterLabResult:
    """Count to ``processes * increments`` on a manager dict and on a shared ``Value``.

    One manager is started for the run and shut down before this returns.
    The workers of each counter start together (a ``Barrier``), so the times
    measure the counting, not the process start-up. Every wait is bounded by
    ``timeout`` seconds.
    """
    processes = check_int("processes", processes, minimum=1, maximum=16)
    increments = check_int("increments", increments, minimum=1, maximum=20_000)
    check_type("use_lock", use_lock, bool)
    timeout = check_timeout("timeout", timeout)
    with mp.Manager() as manager:
        d = manager.dict()
        lock = manager.Lock() if use_lock else None
        manager_seconds = _timed_run(
            count_in_dict, lambda start: (d, increments, start, lock, timeout), processes, timeout
        )
        manager_count = d.get("count", 0)
    value = mp.Value("i", 0)
    value_seconds = _timed_run(
        count_in_value,
        lambda start: (value, increments, start, use_lock, timeout),
        processes,
        timeout,
    )
    return CounterLabResult(
        processes,
        increments,
        use_lock,
        manager_count,
        value.value,
        manager_seconds,
        value_seconds,
    )


def plot_counter_lab(result: CounterLabResult) -> plt.Figure:
    """Two bar charts: the final counts against the expected one, and the times."""
    check_type("result", result, CounterLabResult)
    names = ["manager dict", "shared Value"]
    counts = [result.manager_count, result.value_count]
    seconds = [result.manager_seconds, result.value_seconds]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    bars = left.bar(names, counts, color=["tab:orange", "tab:blue"])
    left.axhline(result.expected, color="black", linestyle="--", label="expected")
    left.bar_label(bars, [f"{c} ({result.expected - c} lost)" for c in counts])
    left.set_ylim(0, result.expected * 1.2)
    left.set_ylabel("final count")
    left.legend(loc="lower right")
    timed = right.bar(names, seconds, color=["tab:orange", "tab:blue"])
    right.bar_label(timed, [f"{1000 * s:.1f} ms" for s in seconds])
    right.set_ylim(0, max(seconds) * 1.2)
    right.set_ylabel("seconds")
    lock = "with a lock" if result.use_lock else "without a lock"
    fig.suptitle(f"{result.processes} processes x {result.increments} increments, {lock}")
    fig.tight_layout()
    return fig


def counter_panel() -> widgets.VBox:
    """The lab's control panel: processes, increments, lock on/off, Run."""
    controls = {
        "processes": widgets.IntSlider(value=4, min=1, max=8, description="processes"),
        "increments": widgets.IntSlider(
            value=500, min=100, max=5000, step=100, description="increments"
        ),
        "use_lock": widgets.Checkbox(value=False, description="use a lock"),
    }
    return make_panel(
        "Lost updates: a manager dict beside a shared Value",
        controls,
        run=lambda **values: plot_counter_lab(run_counter_lab(**values)),
    )


def plot_race(results: Sequence[RaceResult]) -> plt.Figure:
    """Wrong rounds and lost increments per round, for each number of processes."""
    results = list(results)
    if not results:
        raise ValueError("results must hold at least one RaceResult")
    for i, r in enumerate(results):
        check_type(f"results[{i}]", r, RaceResult)
    labels = [str(r.processes) for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.bar(labels, [100 * r.wrong_rounds / r.rounds for r in results], color="tab:red")
    left.set_xlabel("processes")
    left.set_ylabel("wrong rounds (%)")
    left.set_ylim(0, 105)
    right.bar(labels, [r.lost / r.rounds for r in results], color="tab:orange")
    right.set_xlabel("processes")
    right.set_ylabel("increments lost per round")
    fig.suptitle("The article's counter, replayed: d['count'] = d.get('count', 0) + 1")
    fig.tight_layout()
    return fig


def _microseconds(value: float) -> str:
    return f"{value:.0f} µs" if value >= 10 else f"{value:.2g} µs"


def plot_costs(costs: Costs) -> plt.Figure:
    """Horizontal bars of microseconds per operation, on a log scale."""
    check_type("costs", costs, Costs)
    micro = costs.microseconds()
    if not micro:
        raise ValueError("costs holds no measurement")
    fig, ax = plt.subplots(figsize=(8, 2.8))
    names = list(micro)
    bars = ax.barh(names, [micro[n] for n in names], color="tab:purple")
    ax.bar_label(bars, [_microseconds(micro[n]) for n in names], padding=3)
    ax.set_xscale("log")
    ax.set_xlabel("microseconds per operation (log scale)")
    ax.invert_yaxis()
    ax.set_xlim(right=max(micro.values()) * 20)
    fig.tight_layout()
    return fig
