"""``run_benchmark``: every part of the benchmark in one call, bounded in time."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

from ..cleanup import track
from ..validation import check_choice, check_timeout
from .catalogue import MAX_PAYLOAD, MODES, ONE_CPU, ROUND_TRIP, START_METHODS, THROUGHPUT, MiB
from .checks import check_mechanisms, check_payloads, check_placement
from .measure import (
    measure_batching,
    measure_large_shm,
    measure_round_trips,
    measure_start_cost,
    measure_throughput,
    measure_value_ops,
)
from .placement import actual_placement, cannot_pin
from .results import Measurement, Result, size_label
from .session import Session


def shm_available(directory: str = "/dev/shm") -> int:
    """Free bytes in ``directory`` (a large number where it cannot be told)."""
    try:
        st = os.statvfs(directory)
    except (OSError, AttributeError):
        return MAX_PAYLOAD * 16
    return st.f_bavail * st.f_frsize


def run_benchmark(
    mode: str = "quick",
    *,
    payloads: Sequence[int] | None = None,
    mechanisms: Sequence[str] | None = None,
    placement: str = ONE_CPU,
    time_limit: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> Result:
    """Run the benchmark and return every measurement.

    ``mode`` is ``"quick"`` (about 10 s, little ``/dev/shm``) or ``"full"``
    (more rounds, and a 64 MiB shared-memory transfer). ``payloads`` and
    ``mechanisms`` restrict the throughput part (names from ``THROUGHPUT``).
    ``placement`` is ``"one CPU"`` (every timed process pinned to one CPU,
    where the system allows it) or ``"free"``. ``time_limit`` (seconds,
    default the mode's) is checked between parts: once it is passed, the
    remaining parts are skipped and listed in ``Result.skipped``.
    ``progress`` is called with a short text before each part.
    """
    check_choice("mode", mode, MODES)
    settings = MODES[mode]
    sizes = settings.payloads if payloads is None else check_payloads(payloads)
    chosen = tuple(THROUGHPUT) if mechanisms is None else check_mechanisms(mechanisms, THROUGHPUT)
    placement = check_placement(placement)
    limit = settings.time_limit if time_limit is None else check_timeout("time_limit", time_limit)
    if limit < 2.0:
        raise ValueError(
            f"time_limit must be at least 2 s (a benchmark starts processes, warms up and "
            f"times {settings.rounds} rounds), got {limit:g}"
        )
    if settings.large_shm and settings.large_shm > shm_available():
        raise ValueError(
            f"the full mode needs {size_label(settings.large_shm)} free in /dev/shm; "
            f"only {shm_available() // MiB} MiB are free here"
        )
    import multiprocessing as mp

    result = Result(
        mode,
        start_method=mp.get_start_method(),
        cpus=os.cpu_count() or 1,
        placement=actual_placement(placement),
        placement_note=cannot_pin() if placement == ONE_CPU else "",
    )
    started = time.perf_counter()
    shm_size = max(sizes) if "shared_memory" in chosen else 0
    with track(), Session(shm_size=shm_size, manager=True) as s:
        parts: list[tuple[str, Callable[[], list[Measurement]]]] = [
            (
                "throughput",
                lambda: measure_throughput(s, chosen, sizes, settings, placement, progress),
            ),
            (
                "round trips",
                lambda: measure_round_trips(s, tuple(ROUND_TRIP), settings, placement, progress),
            ),
            (
                "batching",
                lambda: measure_batching(s, settings, placement=placement, progress=progress),
            ),
            ("Value", lambda: measure_value_ops(settings, progress)),
        ]
        _run_parts(parts, result, started, limit)
    later = [
        (
            "start cost",
            lambda: measure_start_cost(START_METHODS, settings.start_rounds, progress=progress),
        )
    ]
    if settings.large_shm:
        later.append(
            (
                "large SharedMemory transfer",
                lambda: measure_large_shm(
                    settings.large_shm, settings.rounds, placement=placement, progress=progress
                ),
            )
        )
    with track():  # Kernel -> Interrupt: whatever a part started is stopped
        _run_parts(later, result, started, limit)
    result.seconds = time.perf_counter() - started
    return result


def _run_parts(
    parts: list[tuple[str, Callable[[], list[Measurement]]]],
    result: Result,
    started: float,
    limit: float,
) -> None:
    for name, part in parts:
        if time.perf_counter() - started > limit:
            result.skipped.append(name)
            continue
        result.measurements.extend(part())
