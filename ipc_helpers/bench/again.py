"""One figure of a benchmark run, measured again with the benchmark's own method.

The honesty check uses this when a figure and its independent measurement
disagree: it measures both again, one right after the other, so that both
see the same load from other programs.
"""

from __future__ import annotations

from typing import Any

from .catalogue import DRAWN_BESIDE, MODES, REFERENCES
from .measure import (
    measure_batching,
    measure_large_shm,
    measure_round_trips,
    measure_start_cost,
    measure_throughput,
    measure_value_ops,
)
from .results import Measurement, Result
from .session import Session


def _beside(reference: str) -> str:
    """A mechanism that the benchmark measures ``reference`` beside."""
    return next(mech for mech, ref in DRAWN_BESIDE.items() if ref == reference)


class MeasureAgain:
    """Measure figures of ``result`` again, as ``run_benchmark`` measured them.

    Use it as a context manager: the benchmark's server child (a ``Session``)
    starts on the first figure that needs it and stops on exit.
    """

    def __init__(self, result: Result, timeout: float = 60.0):
        self.result = result
        self.mode = MODES[result.mode]
        self.timeout = timeout
        self._session: Session | None = None

    def __call__(self, m: Measurement) -> Measurement:
        """``m``'s figure, measured again the way the benchmark did (every round)."""
        if m.operation == "start":
            rows = measure_start_cost([m.mechanism], m.rounds, self.timeout)
        elif m.operation == "operation":
            rows = measure_value_ops(self.mode)
        elif m.operation == "large transfer":
            rows = measure_large_shm(m.payload, m.rounds, self.timeout, m.placement)
        elif m.operation == "throughput":
            mech = _beside(m.mechanism) if m.mechanism in REFERENCES else m.mechanism
            rows = measure_throughput(self._s(), [mech], [m.payload], self.mode, m.placement)
        elif m.operation == "round trip":
            rows = measure_round_trips(self._s(), [m.mechanism], self.mode, m.placement)
        else:  # "items/s"
            rows = measure_batching(self._s(), self.mode, placement=m.placement)
        key = (m.mechanism, m.operation, m.payload)
        return next(r for r in rows if (r.mechanism, r.operation, r.payload) == key)

    def _s(self) -> Session:
        if self._session is None:
            shm = [
                m.payload
                for m in self.result.select("throughput")
                if m.mechanism in ("shared_memory", "memcpy")
            ]
            self._session = Session(
                shm_size=max(shm, default=0), manager=True, timeout=self.timeout
            ).__enter__()
        return self._session

    def __enter__(self) -> MeasureAgain:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
