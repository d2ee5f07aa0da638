"""What a benchmark run produces: ``Measurement`` rows gathered in a ``Result``."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .catalogue import ONE_CPU, KiB, MiB


@dataclass
class Measurement:
    """One measured figure: the median of ``rounds`` timed rounds.

    ``median`` is in ``unit``; ``min`` and ``max`` are the lowest and highest
    round. ``percent_of_reference`` is the median, over rounds, of this
    mechanism's speed divided by the speed of its ``reference`` in the same
    round (only where the reference does the same work). ``placement`` says
    where the processes ran: ``"one CPU"`` (pinned) or ``"free"``.
    """

    mechanism: str
    operation: str
    payload: int
    median: float
    unit: str
    min: float
    max: float
    rounds: int
    label: str = ""
    reference: str = ""
    percent_of_reference: float | None = None
    placement: str = ONE_CPU
    #: Minor page faults in the receiving (parent) process per MiB received,
    #: for throughput rows on Linux/macOS: fresh memory the kernel handed out.
    faults_per_mib: float | None = None

    @property
    def name(self) -> str:
        """The label and the payload, e.g. ``'Queue put/get, 4 KiB'``."""
        size = size_label(self.payload)
        return f"{self.label or self.mechanism}, {size}" if size else self.label or self.mechanism


def summarise(
    mechanism: str,
    operation: str,
    payload: int,
    values: Sequence[float],
    unit: str,
    label: str,
    *,
    ratios: Sequence[float] = (),
    reference: str = "",
    placement: str = ONE_CPU,
) -> Measurement:
    """A ``Measurement`` from the values of the timed rounds (and per-round ratios)."""
    return Measurement(
        mechanism,
        operation,
        payload,
        statistics.median(values),
        unit,
        min(values),
        max(values),
        len(values),
        label,
        reference,
        statistics.median(ratios) * 100 if ratios else None,
        placement,
    )


@dataclass
class Result:
    """Everything a benchmark run measured, and how."""

    mode: str
    measurements: list[Measurement] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    start_method: str = ""
    cpus: int = 0
    #: Where the timed processes ran, and why if not as asked.
    placement: str = ONE_CPU
    placement_note: str = ""

    def find(self, mechanism: str, operation: str, payload: int = 0) -> Measurement:
        """The row for ``mechanism`` / ``operation`` / ``payload``; ``KeyError`` if none."""
        for m in self.measurements:
            if (m.mechanism, m.operation, m.payload) == (mechanism, operation, payload):
                return m
        raise KeyError(f"no measurement of {mechanism!r} {operation!r} at {payload} bytes")

    def select(self, operation: str) -> list[Measurement]:
        """All rows of one ``operation`` (``"throughput"``, ``"round trip"``, ...)."""
        return [m for m in self.measurements if m.operation == operation]

    def records(self) -> list[dict[str, Any]]:
        """Every row as a plain dict (what ``--json`` writes)."""
        return [asdict(m) for m in self.measurements]

    def heading(self) -> str:
        """One line: mode, start method, CPUs, placement, time."""
        where = self.placement_note or (
            "all processes pinned to one CPU" if self.placement == ONE_CPU else "processes free"
        )
        return (
            f"mode {self.mode}, start method {self.start_method}, {self.cpus} CPU(s), "
            f"{where}, {self.seconds:.1f} s"
        )

    def table(self) -> str:
        """Every row as plain text, one per line (what the command line prints)."""
        lines = [
            self.heading(),
            f"{'measurement':34s} {'median':>10s} {'unit':8s} {'min-max':>21s}",
        ]
        for m in self.measurements:
            pct = (
                "" if m.percent_of_reference is None else f"  {m.percent_of_reference:.0f}% of ref"
            )
            lines.append(
                f"{m.name:34s} {fmt(m.median):>10s} {m.unit:8s} "
                f"{fmt(m.min):>10s}-{fmt(m.max):<10s}{pct}"
            )
        if self.skipped:
            lines.append("time limit reached; not measured: " + ", ".join(self.skipped))
        return "\n".join(lines)


def size_label(n: int) -> str:
    """``65536`` -> ``'64 KiB'``; ``0`` -> ``''`` (rows without a payload)."""
    if n <= 0:
        return ""
    for unit, scale in (("MiB", MiB), ("KiB", KiB)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def fmt(x: float) -> str:
    """A number as a table shows it: ``12,345`` or three significant digits."""
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def break_even(rows: Sequence[Measurement], faster: str, slower: str) -> int | None:
    """The smallest payload from which ``faster``'s throughput beats ``slower``'s and stays ahead.

    Looks at the ``"throughput"`` rows of both mechanisms at the payloads both
    have; returns ``None`` if ``faster`` is not ahead at the largest one.
    """
    mine = {
        m.payload: m.median for m in rows if (m.mechanism, m.operation) == (faster, "throughput")
    }
    theirs = {
        m.payload: m.median for m in rows if (m.mechanism, m.operation) == (slower, "throughput")
    }
    sizes = sorted(set(mine) & set(theirs))
    if not sizes:
        raise ValueError(f"no throughput rows of both {faster!r} and {slower!r}")
    found = None
    for size in reversed(sizes):
        if mine[size] <= theirs[size]:
            break
        found = size
    return found
