"""What the benchmark measures: payload sizes, mechanisms, references and modes.

Every mechanism has a short name (the key, used in code and in ``--json``)
and a label (what tables and plots show). A throughput mechanism names the
*reference* measured beside it when the reference does the same work: the
same bytes through the same kind of kernel channel, without Python's
framing, pickling or locks. Where no reference does the same work, there is
none, and no percentage is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

KiB = 1024
MiB = 1024 * KiB

#: Payload sizes the benchmark measures by default: 64 B to 16 MiB.
PAYLOADS = (64, 4 * KiB, 64 * KiB, 1 * MiB, 16 * MiB)
#: Smallest and largest payload the benchmark accepts.
MIN_PAYLOAD = 1
MAX_PAYLOAD = 64 * MiB
#: The chunk size of the "chunks" remedy.
CHUNK = 64 * KiB

#: Throughput mechanisms: label, and the reference doing the same work ("" if none).
THROUGHPUT = {
    "pipe_bytes": ("Pipe send_bytes/recv_bytes", "raw_socketpair"),
    "pipe_into": ("Pipe recv_bytes_into", "raw_socketpair"),
    "pipe_chunks": ("Pipe, 64 KiB chunks", "raw_socketpair"),
    "pipe_pickle": ("Pipe send/recv (pickle)", "raw_socketpair"),
    "pipe_oneway": ("Pipe(duplex=False)", "raw_pipe"),
    "queue": ("Queue put/get", "raw_pipe"),
    "simplequeue": ("SimpleQueue put/get", "raw_pipe"),
    "shared_memory": ("SharedMemory + numpy", ""),
    "manager_queue": ("Manager().Queue()", ""),
}
#: The references: raw OS primitives driven from Python (not physical limits).
REFERENCES = {
    "raw_socketpair": "raw socket pair",
    "raw_pipe": "raw os.pipe",
    "memcpy": "memcpy (numpy.copyto)",
}
#: Which reference each plot of a mechanism is drawn beside.
DRAWN_BESIDE = {
    **{name: ref for name, (_, ref) in THROUGHPUT.items() if ref},
    "shared_memory": "memcpy",
    "manager_queue": "raw_socketpair",
}
#: Round-trip mechanisms (a small message there and back).
ROUND_TRIP = {
    "raw_pipe_rt": "raw os.pipe, 1 byte",
    "pipe_bytes": "Pipe send_bytes/recv_bytes",
    "pipe_pickle": "Pipe send/recv (pickle)",
    "simplequeue": "SimpleQueue put/get",
    "queue": "Queue put/get",
    "manager_dict": "Manager dict: d[k] = v",
    "manager_queue": "Manager().Queue()",
}
START_METHODS = ("fork", "spawn", "forkserver")

#: Where the processes run while they are timed.
ONE_CPU = "one CPU"
FREE = "free"
PLACEMENTS = (ONE_CPU, FREE)

MB = 1e6  # throughput unit: MB/s (10**6 bytes per second)


@dataclass(frozen=True)
class Mode:
    """How much a benchmark mode measures."""

    payloads: tuple[int, ...]
    rounds: int
    round_bytes: int  # bytes per throughput round (before the limits below)
    max_messages: int  # at most this many messages per round
    round_trips: int  # round trips per latency round
    small_items: int  # items per batching round (one per message)
    value_ops: int  # operations per Value round
    start_rounds: int
    large_shm: int  # size of the large SharedMemory transfer (0: none)
    #: Seconds after which no new part starts (the rest are skipped, ``Result.skipped``,
    #: and notebook 05 cannot go on). Far beyond a quiet machine's time (quick: about
    #: 10 s on 2 cores), so that only a machine too busy to measure anything reaches it.
    time_limit: float


MODES = {
    "quick": Mode(PAYLOADS, 5, 16 * MiB, 400, 300, 1500, 20_000, 5, 0, 180.0),
    "full": Mode(PAYLOADS, 9, 32 * MiB, 5000, 3000, 20_000, 200_000, 15, 64 * MiB, 180.0),
}
