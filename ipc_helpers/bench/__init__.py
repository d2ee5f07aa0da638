"""The benchmark of notebook 05: each mechanism beside raw OS primitives driven from Python.

Run it from a shell::

    python -m ipc_helpers.bench --quick           # about 10 s
    python -m ipc_helpers.bench --full --json out.json   # about a minute, honesty check included

or from Python with ``run_benchmark("quick")``.

How the numbers are taken:

- One long-lived **server** child holds one end of every channel, so process
  start-up is in no figure except the start-cost one (``session``, ``server``).
- Each figure gets a **warm-up** round that is thrown away, then at least
  five timed **rounds**; we report the median and the min-max range.
- Within a round, every mechanism and the **reference** doing the same work
  run one after the other, so their ratio is taken under the same load.
  References are raw OS primitives driven from Python (``os.write`` /
  ``os.readv`` on a pipe or socket pair, ``numpy.copyto``): what the same
  work costs without the mechanism's framing, pickling and locks, not a
  physical limit.
- Timed loops use each mechanism's plain calls, as a program would; waits
  are bounded without a timeout per call (``server``).
- Every timed process is **pinned to one CPU** (Linux) with a **warm memory
  allocator** (``placement``), or free where the system cannot pin.
- ``honesty.cross_check`` measures every figure the notebook teaches from again,
  with fresh processes timed by the receiver; a figure that disagrees is
  measured again in pairs (benchmark, then check, one right after the other),
  so that both sides see the same load.

Files: ``catalogue`` (sizes, mechanisms, modes), ``results`` (``Measurement``,
``Result``), ``checks``, ``placement``, ``workers`` (what learners read),
``server`` + ``session`` (the protocol), ``measure`` (the timed parts),
``honesty`` (the cross-check), ``again`` (one figure again, the benchmark's
way), ``run`` (``run_benchmark``), ``__main__`` (command line).
"""

from .catalogue import (
    CHUNK,
    DRAWN_BESIDE,
    FREE,
    MAX_PAYLOAD,
    MIN_PAYLOAD,
    MODES,
    ONE_CPU,
    PAYLOADS,
    PLACEMENTS,
    REFERENCES,
    ROUND_TRIP,
    START_METHODS,
    THROUGHPUT,
    KiB,
    MiB,
    Mode,
)
from .checks import check_mechanisms, check_payloads, check_placement
from .honesty import TARGET, Agreement, agreement_table, cross_check, worst
from .measure import (
    compare_placements,
    measure_batching,
    measure_large_shm,
    measure_round_trips,
    measure_start_cost,
    measure_throughput,
    measure_value_ops,
    page_faults,
)
from .placement import cannot_pin, children_deaf_to_interrupts, placed, warm_allocator
from .results import Measurement, Result, break_even, fmt, size_label
from .run import run_benchmark, shm_available
from .session import Session
from .workers import (
    item_sink,
    noop,
    produce_items,
    put_bytes,
    recv_chunks_into,
    send_chunks,
    send_one_by_one,
    square,
)

__all__ = [
    "CHUNK",
    "DRAWN_BESIDE",
    "FREE",
    "MAX_PAYLOAD",
    "MIN_PAYLOAD",
    "MODES",
    "ONE_CPU",
    "PAYLOADS",
    "PLACEMENTS",
    "REFERENCES",
    "ROUND_TRIP",
    "START_METHODS",
    "TARGET",
    "THROUGHPUT",
    "Agreement",
    "KiB",
    "Measurement",
    "MiB",
    "Mode",
    "Result",
    "Session",
    "agreement_table",
    "break_even",
    "cannot_pin",
    "check_mechanisms",
    "check_payloads",
    "check_placement",
    "children_deaf_to_interrupts",
    "compare_placements",
    "cross_check",
    "fmt",
    "item_sink",
    "measure_batching",
    "measure_large_shm",
    "measure_round_trips",
    "measure_start_cost",
    "measure_throughput",
    "measure_value_ops",
    "noop",
    "page_faults",
    "placed",
    "produce_items",
    "put_bytes",
    "recv_chunks_into",
    "run_benchmark",
    "send_chunks",
    "send_one_by_one",
    "shm_available",
    "size_label",
    "square",
    "warm_allocator",
    "worst",
]
