"""Lab and plots of notebook 04: lost updates on a manager dict, beside a shared ``Value``.

``run_counter_lab`` starts ``processes`` workers that each add one to a
counter ``increments`` times, first on a manager dict (two round trips per
addition), then on a shared-memory ``Value``, with or without a lock. It
returns the final counts and the times; ``plot_counter_lab`` draws them and
``counter_panel`` wraps both in a control panel.

``plot_dict_race`` and ``plot_costs`` draw the notebook's other measurements.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..capture import capture_stderr
from ..cleanup import track
from ..managers import Costs, DictRace, count_in_dict, count_in_value
from ..validation import check_int, check_timeout, check_type
from ..workers import meet, release, start_workers, wait_for
from . import style
from .panel import checkbox, make_panel, slider

MECHANISM_OF = {"manager dict": "Manager", "shared Value": "SharedMemory"}


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


def _timed_run(
    worker: Callable[..., Any],
    args_for: Callable[[Any], tuple[Any, ...]],
    processes: int,
    deadline: float,
) -> float:
    """Start ``processes`` workers behind one barrier; return the seconds they counted for."""
    start = mp.Barrier(processes + 1)
    with capture_stderr() as captured, track():  # Interrupt: the workers are stopped
        workers = start_workers(worker, [args_for(start)] * processes)
        try:
            meet(start, workers, deadline)
            began = time.perf_counter()
            codes = wait_for(workers, deadline)
            seconds = time.perf_counter() - began
        finally:
            release(start)  # a worker still at the barrier leaves at once
    if any(code != 0 for code in codes):
        said = captured.last_exception() or "no message"
        raise RuntimeError(f"a worker failed (exit codes {codes}; {said})")
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
    measure the counting, not the process start-up. The whole run is bounded
    by ``timeout`` seconds; on Kernel → Interrupt its processes are stopped.
    """
    processes = check_int("processes", processes, minimum=1, maximum=16)
    increments = check_int("increments", increments, minimum=1, maximum=20_000)
    check_type("use_lock", use_lock, bool)
    timeout = check_timeout("timeout", timeout)
    deadline = time.monotonic() + timeout
    with mp.Manager() as manager:
        d = manager.dict()
        lock = manager.Lock() if use_lock else None
        manager_seconds = _timed_run(
            count_in_dict, lambda start: (d, increments, start, lock), processes, deadline
        )
        manager_count = d.get("count", 0)
    value = mp.Value("i", 0)
    value_seconds = _timed_run(
        count_in_value, lambda start: (value, increments, start, use_lock), processes, deadline
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
    """Two panels: the final counts against the expected one, and the counting times in ms."""
    check_type("result", result, CounterLabResult)
    names = list(MECHANISM_OF)
    counts = [result.manager_count, result.value_count]
    millis = [1000 * result.manager_seconds, 1000 * result.value_seconds]
    with style.context():
        fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.6))
        for name, count in zip(names, counts, strict=True):
            bars = left.bar(name, count, **style.outcome_bar(ok=count == result.expected))
            left.bar_label(bars, [f"{count:,} ({result.expected - count:,} lost)"])
        expected = left.axhline(result.expected, color=style.role("reference").line, linestyle="--")
        style.label_line(left, expected, f"expected {result.expected:,}", at=0.0)
        left.set_ylim(0, result.expected * 1.3)
        left.set_ylabel("final count")
        left.set_title("Final count (hatched: updates lost)")
        timed = right.bar(
            names, millis, color=[style.mechanism(MECHANISM_OF[n])["color"] for n in names]
        )
        right.bar_label(timed, [f"{ms:,.1f} ms" for ms in millis])
        right.set_ylim(0, max(millis) * 1.25)
        right.set_ylabel("time to count (ms)")
        right.set_title("Time to count")
        lock = "with a lock" if result.use_lock else "without a lock"
        fig.suptitle(f"{result.processes} processes × {result.increments:,} increments, {lock}")
        fig.tight_layout()
    return fig


def counter_panel() -> widgets.VBox:
    """The lab's control panel: processes, increments, lock on/off, Run."""
    controls = {
        "processes": slider("processes", 4, 1, 8),
        "increments": slider("increments", 500, 100, 5000, step=100),
        "use_lock": checkbox("use a lock"),
    }
    return make_panel(
        "Lost updates: a manager dict beside a shared Value",
        controls,
        run=lambda **values: plot_counter_lab(run_counter_lab(**values)),
    )


def plot_dict_race(races: Sequence[DictRace]) -> plt.Figure:
    """Per number of processes: the share of wrong rounds, and increments lost per round."""
    races = list(races)
    if not races:
        raise ValueError("races must hold at least one DictRace")
    for i, r in enumerate(races):
        check_type(f"races[{i}]", r, DictRace)
    labels = [str(r.processes) for r in races]
    wrong = [100 * r.wrong_rounds / r.rounds for r in races]
    lost = [r.lost / r.rounds for r in races]
    with style.context():
        fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.4))
        bars = left.bar(labels, wrong, **style.outcome_bar(ok=False))
        left.bar_label(bars, [f"{w:.0f}%" for w in wrong])
        left.set_ylim(0, 115)
        left.set_xlabel("processes")
        left.set_ylabel("rounds (%)")
        left.set_title("Rounds that lost at least one update")
        bars = right.bar(labels, lost, **style.outcome_bar(ok=False))
        right.bar_label(bars, [f"{x:.1f}" for x in lost])
        right.set_ylim(0, max(max(lost), 1) * 1.25)
        right.set_xlabel("processes")
        right.set_ylabel("increments lost per round")
        right.set_title("Increments lost per round")
        fig.tight_layout()
    return fig


def _microseconds(value: float) -> str:
    return f"{value:,.0f} µs" if value >= 10 else f"{value:.2g} µs"


def plot_costs(costs: Costs) -> plt.Figure:
    """Horizontal bars of microseconds per operation, on a log scale.

    Manager operations in the Manager colour, hatched; shared memory in the
    SharedMemory colour; the plain dict (no IPC) in grey.
    """
    check_type("costs", costs, Costs)
    micro = costs.microseconds()
    if not micro:
        raise ValueError("costs holds no measurement")
    names = list(micro)

    def look(name: str) -> dict[str, Any]:
        if name.startswith("manager"):
            return {"color": style.mechanism("Manager")["color"], "hatch": "..."}
        if "Value" in name:
            return {"color": style.mechanism("SharedMemory")["color"], "hatch": ""}
        return {"color": style.role("reference").fill, "hatch": "", "edgecolor": "black"}

    with style.context():
        fig, ax = plt.subplots(figsize=(8.5, 3.0))
        for i, name in enumerate(names):
            ax.barh(i, micro[name], **{"edgecolor": "white", **look(name)})
            ax.annotate(
                _microseconds(micro[name]),
                (micro[name], i),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=10,
            )
        ax.set_yticks(range(len(names)), names)
        ax.set_xscale("log")
        ax.set_xlabel("microseconds per operation (log scale)")
        ax.set_title("Time per operation: a manager call is a round trip")
        ax.invert_yaxis()
        ax.set_xlim(right=max(micro.values()) * 20)
        ax.grid(axis="y", visible=False)
        fig.tight_layout()
    return fig
