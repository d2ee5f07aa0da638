"""Watch tasks from inside the scheduler: how many are held, what each one carried.

``recording(client, "block_sum")`` registers a ``SchedulerPlugin`` for the
duration of a ``with`` block. The plugin runs in the scheduler (wherever it
is) and notes, for every task of that name: when it is submitted and released
(so the most tasks held at once: what backpressure limits), the bytes inside
its own message, the bytes of the data it took from the cluster (scattered
data, results of other tasks), the worker that ran it, and its errors.
The exercise checkers use it to see what a learner's code really did.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dask.sizeof import sizeof
from distributed import Client
from distributed.diagnostics.plugin import SchedulerPlugin
from distributed.utils import key_split

from ..validation import check_type

#: Scheduler states of a task that was submitted and has not finished yet.
IN_FLIGHT = frozenset({"waiting", "queued", "no-worker", "processing"})


@dataclass
class TaskRecord:
    """What the scheduler saw of one task when it started running."""

    key: str
    worker: str
    inline_bytes: int  # carried inside the task's own message
    dependency_bytes: int  # taken from data already in the cluster (scattered, or results)


@dataclass
class Recording:
    """What ``recording`` saw of the tasks of one kind (``prefix``)."""

    prefix: str
    records: list[TaskRecord] = field(default_factory=list)
    peak_held: int = 0  # most tasks of this kind the cluster held at once
    peak_held_bytes: int = 0  # most bytes their messages held at once
    peak_running: int = 0  # most tasks of this kind running (processing) at once
    peak_in_flight: int = 0  # most submitted and not finished yet (waiting to run, running)
    errors: int = 0  # times a task of this kind raised

    @property
    def runs(self) -> int:
        return len(self.records)

    @property
    def inline_bytes(self) -> int:
        return sum(r.inline_bytes for r in self.records)


class TaskRecorder(SchedulerPlugin):
    """A scheduler plugin that follows the tasks whose name starts with ``prefix``.

    A task is *held* from the moment it is submitted until its future is
    released (its result dropped, or it was never kept): that is what
    backpressure limits.
    """

    def __init__(self, prefix: str, name: str) -> None:
        self.prefix = prefix
        self.name = name
        self.held: dict[str, int] = {}  # key -> bytes in its message
        self.running: set[str] = set()
        self.in_flight: set[str] = set()
        self.seen = Recording(prefix)
        self.scheduler: Any = None

    def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if key_split(key) != self.prefix or self.scheduler is None:
            return
        ts = self.scheduler.tasks.get(key)
        if finish in ("released", "forgotten") or ts is None:
            self.held.pop(key, None)
        elif key not in self.held:
            self.held[key] = int(sizeof(ts.run_spec))
            self.seen.peak_held = max(self.seen.peak_held, len(self.held))
            self.seen.peak_held_bytes = max(self.seen.peak_held_bytes, sum(self.held.values()))
        if finish in IN_FLIGHT:
            self.in_flight.add(key)
            self.seen.peak_in_flight = max(self.seen.peak_in_flight, len(self.in_flight))
        else:
            self.in_flight.discard(key)
        if finish == "processing":
            self.running.add(key)
            self.seen.peak_running = max(self.seen.peak_running, len(self.running))
        else:
            self.running.discard(key)
        if finish == "erred":
            self.seen.errors += 1
        if finish == "processing" and ts is not None:
            self.seen.records.append(
                TaskRecord(
                    key=str(key),
                    worker=ts.processing_on.address if ts.processing_on else "",
                    inline_bytes=self.held.get(key, 0),
                    dependency_bytes=sum(d.nbytes or 0 for d in ts.dependencies),
                )
            )


def _recorder_report(name: str, dask_scheduler: Any = None) -> Recording:
    return dask_scheduler.plugins[name].seen


@contextlib.contextmanager
def recording(client: Client, prefix: str) -> Iterator[Recording]:
    """Watch the tasks named ``prefix`` (a function's name) while the block runs.

    The ``Recording`` is filled in when the block ends. It works with any
    cluster: the plugin runs inside the scheduler, wherever that is.
    """
    check_type("prefix", prefix, str)
    name = f"ipc-course-recorder-{os.getpid()}-{time.monotonic_ns()}"
    result = Recording(prefix)
    client.register_plugin(TaskRecorder(prefix, name), name=name)
    try:
        yield result
    finally:
        time.sleep(0.05)  # let the scheduler handle the last releases
        seen = client.run_on_scheduler(_recorder_report, name=name)
        client.unregister_scheduler_plugin(name)
        result.records, result.errors = seen.records, seen.errors
        result.peak_held, result.peak_held_bytes = seen.peak_held, seen.peak_held_bytes
        result.peak_running, result.peak_in_flight = seen.peak_running, seen.peak_in_flight
