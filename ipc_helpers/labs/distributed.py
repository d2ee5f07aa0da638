"""Lab of notebook 06: throughput and memory of a dask cluster beside a process pool.

``run_throughput_lab`` runs the same work twice: ``tasks`` tasks, each one
carrying ``payload_kib`` KiB of data and working for ``task_ms`` ms, with at
most ``in_flight`` tasks in flight (``0``: no limit), first on the notebook's
dask cluster, then on a ``ProcessPoolExecutor`` with as many processes as the
cluster has workers. It returns the wall times, the throughputs and the extra
memory (kernel and children together) of each. ``plot_throughput`` draws them;
``throughput_panel`` wraps both in a control panel.

``plot_task_stream`` draws what ``client.get_task_stream()`` recorded: the
dashboard's "Task Stream", as a picture that stays in the notebook.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
from distributed import Client

from ..distributed import flow, memory
from ..distributed.cluster import close_cluster, scheduler_identity, start_local_cluster
from ..text import wrap
from ..validation import check_int, check_timeout, check_type
from . import style
from .panel import make_panel, slider

#: The lab refuses runs whose payloads add up to more than this (MiB): an
#: unbounded run holds all of them at once, two or three times over.
MAX_TOTAL_PAYLOAD_MIB = 100

DASK = "dask.distributed"
POOL = "ProcessPoolExecutor"

#: The course's colours (``labs.style``): dask's engine is drawn like a parent's
#: work, the process pool like ``processes`` everywhere else; a transfer between
#: workers in vermillion, as on dask's own dashboard.
COLORS = {
    DASK: style.role("parent").line,
    POOL: style.mechanism("processes")["color"],
    "transfer": style.role("lost").line,
    "other": "#767676",
}
#: Colours of the task names in a task stream, in order of appearance.
TASK_COLORS = [style.role("child").line, style.OKABE_ITO["sky blue"], style.role("ok").line]


@dataclass
class EngineRun:
    """One engine's run: how long it took and how much memory it needed."""

    engine: str
    seconds: float
    extra_mb: float
    tasks: int

    @property
    def tasks_per_second(self) -> float:
        return self.tasks / self.seconds if self.seconds > 0 else float("inf")


@dataclass
class ThroughputResult:
    """The settings of one lab run and what each engine did."""

    tasks: int
    task_ms: int
    payload_kib: int
    in_flight: int
    workers: int
    cpus: int
    runs: list[EngineRun] = field(default_factory=list)

    @property
    def ideal_tasks_per_second(self) -> float | None:
        """``workers`` tasks every ``task_ms``: the best any engine can do here."""
        return self.workers * 1000 / self.task_ms if self.task_ms else None

    def run(self, engine: str) -> EngineRun:
        """The run of ``engine`` (``DASK`` or ``POOL``)."""
        for r in self.runs:
            if r.engine == engine:
                return r
        raise ValueError(f"engine must be one of {[r.engine for r in self.runs]}, got {engine!r}")

    def lines(self) -> list[str]:
        """A short text summary (the numbers change from run to run)."""
        limit = "no limit" if not self.in_flight else f"at most {self.in_flight} in flight"
        out = [
            f"{self.tasks} tasks of {self.task_ms} ms, {self.payload_kib} KiB each, {limit}",
            f"{self.workers} worker processes, on a machine with {self.cpus} CPUs",
        ]
        for r in self.runs:
            out.append(
                f"  {r.engine:<18} {r.seconds:6.2f} s  {r.tasks_per_second:7.1f} tasks/s  "
                f"+{r.extra_mb:5.0f} MB"
            )
        return out


def _cpus() -> int:
    """CPUs this process may use (``os.process_cpu_count`` from 3.13)."""
    count = getattr(os, "process_cpu_count", os.cpu_count)()
    return count or 1


def _check_settings(tasks_: int, task_ms: int, payload_kib: int, in_flight: int) -> None:
    check_int("tasks", tasks_, minimum=1, maximum=200)
    check_int("task_ms", task_ms, minimum=0, maximum=500)
    check_int("payload_kib", payload_kib, minimum=0, maximum=1024)
    check_int("in_flight", in_flight, minimum=0, maximum=64)
    if tasks_ * payload_kib > MAX_TOTAL_PAYLOAD_MIB * 1024:
        raise ValueError(
            f"tasks × payload_kib must stay under {MAX_TOTAL_PAYLOAD_MIB} MiB "
            f"(got {tasks_ * payload_kib / 1024:.0f} MiB): fewer tasks or smaller payloads"
        )


def run_throughput_lab(
    client: Client,
    tasks: int = 40,
    task_ms: int = 20,
    payload_kib: int = 256,
    in_flight: int = 4,
    timeout: float = 60.0,
) -> ThroughputResult:
    """Run the same work on the dask cluster of ``client``, then on a process pool.

    ``in_flight=0`` submits every task at once; otherwise at most
    ``in_flight`` tasks are in flight (a new one is submitted as one
    finishes). The pool has as many processes as the cluster has workers,
    started with ``spawn`` like dask's workers (forking a process that runs
    dask's threads can deadlock the child); it is started (and warmed up)
    before its clock starts, and shut down before this returns. Memory is
    measured from a trimmed floor.
    """
    check_type("client", client, Client)
    if client.status != "running":
        raise ValueError(f"client must be running, but it is {client.status}")
    _check_settings(tasks, task_ms, payload_kib, in_flight)
    timeout = check_timeout("timeout", timeout)
    workers = len(scheduler_identity(client, timeout)["workers"])
    if workers == 0:
        raise RuntimeError("the cluster has no workers: is it still running?")
    args = (tasks, payload_kib * 1024, task_ms / 1000)
    result = ThroughputResult(tasks, task_ms, payload_kib, in_flight, workers, _cpus())

    def engine_run(
        name: str, engine: Any, bounded: Callable[..., Any], unbounded: Callable[..., Any]
    ) -> EngineRun:
        """Run the work on ``engine`` (a client or an executor), measured from a trimmed floor."""
        if in_flight:
            work = functools.partial(bounded, engine, *args, limit=in_flight, timeout=timeout)
        else:
            work = functools.partial(unbounded, engine, *args, timeout=timeout)
        memory.trim_memory(client)
        cost = flow.measure(name, work)
        return EngineRun(name, cost.seconds, cost.extra_mb, tasks)

    result.runs.append(engine_run(DASK, client, flow.submit_bounded, flow.submit_unbounded))
    with flow.process_pool(workers) as pool:  # spawn, like dask's; already started
        result.runs.append(engine_run(POOL, pool, flow.executor_bounded, flow.executor_unbounded))
    return result


def plot_throughput(result: ThroughputResult) -> plt.Figure:
    """Two panels: tasks per second (with the ideal), and the extra memory, per engine."""
    check_type("result", result, ThroughputResult)
    with style.context():
        return _plot_throughput(result)


def _plot_throughput(result: ThroughputResult) -> plt.Figure:
    fig, (speed, mem) = plt.subplots(1, 2, figsize=(9, 3.4))
    names = [r.engine for r in result.runs]
    colors = [COLORS.get(n, COLORS["other"]) for n in names]
    speed.bar(names, [r.tasks_per_second for r in result.runs], color=colors)
    ideal = result.ideal_tasks_per_second
    if ideal:
        line = speed.axhline(ideal, color=style.role("reference").line, linestyle="--")
        style.label_line(speed, line, f"best {result.workers} workers can do")
    speed.set_ylabel("tasks per second")
    speed.set_title("throughput (higher is better)")
    mem.bar(names, [max(0.0, r.extra_mb) for r in result.runs], color=colors)
    mem.set_ylabel("extra memory, MB")
    mem.set_title("peak memory (lower is better)")
    limit = "no limit" if not result.in_flight else f"≤ {result.in_flight} in flight"
    fig.suptitle(
        f"{result.tasks} tasks × {result.task_ms} ms, {result.payload_kib} KiB each, {limit}, "
        f"{result.cpus} CPUs"
    )
    fig.tight_layout()
    return fig


#: Said when the panel runs after the notebook's cluster was closed.
OWN_CLUSTER = (
    "The notebook's cluster is closed (its last cell closes it): this run starts a "
    "cluster of {n} workers of its own, and closes it afterwards."
)


def throughput_panel(client: Client) -> widgets.VBox:
    """The lab's control panel: four sliders and a Run button, on ``client``'s cluster.

    Once ``client`` is closed (the notebook's last cell closes it, and labs
    are often pressed after Run All), each run starts a cluster of its own,
    with as many workers, and closes it afterwards.
    """
    check_type("client", client, Client)
    workers = len(scheduler_identity(client)["workers"]) if client.status == "running" else 2
    controls = {
        "tasks": slider("tasks", 40, 10, 200, 10),
        "task_ms": slider("work per task (ms)", 20, 0, 200, 10),
        "payload_kib": slider("payload per task (KiB)", 256, 0, 1024, 64),
        "in_flight": slider("in flight (0: no limit)", 4, 0, 16, 1),
    }

    def run(**values: Any) -> None:
        with _running(client, workers) as running:
            result = run_throughput_lab(running, **values)
        print("\n".join(result.lines()))
        plot_throughput(result)

    return make_panel("dask.distributed beside a process pool", controls, run)


@contextlib.contextmanager
def _running(client: Client, workers: int) -> Iterator[Client]:
    """``client`` while it runs; once it is closed, a cluster of the block's own."""
    if client.status == "running":
        yield client
        return
    print(wrap(OWN_CLUSTER.format(n=workers)))
    cluster, own = start_local_cluster(n_workers=workers)
    try:
        yield own
    finally:
        close_cluster(cluster, own)


# --------------------------------------------------------------------------
# The task stream
# --------------------------------------------------------------------------


def plot_task_stream(
    records: Sequence[Mapping[str, Any]], colors: Mapping[str, str] | None = None
) -> plt.Figure:
    """Draw ``client.get_task_stream()`` records: one row per worker, one bar per task.

    Each record has a ``worker``, a ``key`` and ``startstops``: the
    ``compute`` and ``transfer`` phases with their start and stop times. Bars
    are coloured by task name (``colors`` maps names to colours); transfers
    (data fetched from another worker) are drawn in red, like the dashboard.
    """
    check_type("records", records, Sequence)
    if not records:
        raise ValueError("records is empty: run some tasks inside get_task_stream() first")
    with style.context():
        return _plot_task_stream(records, colors)


def _plot_task_stream(
    records: Sequence[Mapping[str, Any]], colors: Mapping[str, str] | None
) -> plt.Figure:
    from distributed.utils import key_split

    workers = sorted({r["worker"] for r in records})
    t0 = min(s["start"] for r in records for s in r["startstops"])
    names = list(dict.fromkeys(key_split(r["key"]) for r in sorted(records, key=_started)))
    colors = dict(colors or {}) or {
        n: TASK_COLORS[i % len(TASK_COLORS)] for i, n in enumerate(names)
    }
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.6 * len(workers)))
    for r in records:
        row = workers.index(r["worker"])
        for s in r["startstops"]:
            if s["action"] == "compute":
                color = colors.get(key_split(r["key"]), COLORS["other"])
            elif s["action"] == "transfer":
                color = COLORS["transfer"]
            else:
                continue
            ax.barh(
                row, s["stop"] - s["start"], left=s["start"] - t0, height=0.6,
                color=color, edgecolor="white", linewidth=0.5,
            )  # fmt: skip
    ax.set_yticks(range(len(workers)), [f"worker {i}" for i in range(len(workers))])
    ax.set_xlabel("seconds since the first task started")
    ax.grid(axis="y", visible=False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[n]) for n in names]
    handles.append(plt.Rectangle((0, 0), 1, 1, color=COLORS["transfer"]))
    style.legend_outside(ax, handles=handles, labels=[*names, "transfer"])
    ax.set_title("Task stream: what each worker did, and when")
    ax.invert_yaxis()
    fig.tight_layout()
    return fig


def _started(record: Mapping[str, Any]) -> float:
    return min(s["start"] for s in record["startstops"])


def plot_runs(
    runs: Sequence[flow.RunCost], title: str, ok: Sequence[bool] | None = None
) -> plt.Figure:
    """Two panels of horizontal bars: the wall time and the extra memory of each run.

    ``ok`` marks each run as the good way (green) or the bad way (vermillion,
    hatched); without it every bar is the same neutral colour.
    """
    check_type("runs", runs, Sequence)
    check_type("title", title, str)
    if not runs:
        raise ValueError("runs is empty")
    if ok is not None and len(ok) != len(runs):
        raise ValueError(f"ok must have one flag per run ({len(runs)}), got {len(ok)}")
    with style.context():
        bars = [
            style.outcome_bar(good) if ok is not None else {"color": COLORS[DASK]}
            for good in (ok if ok is not None else [True] * len(runs))
        ]
        labels = [r.label for r in runs]
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 1.3 + 0.5 * len(runs)), sharey=True)
        for i, r in enumerate(runs):
            left.barh(labels[i], r.seconds, **bars[i])
            right.barh(labels[i], max(0.0, r.extra_mb), **bars[i])
        left.set_xlabel("seconds (lower is better)")
        right.set_xlabel("extra memory, MB (lower is better)")
        left.invert_yaxis()
        fig.suptitle(title)
        fig.tight_layout()
    return fig
