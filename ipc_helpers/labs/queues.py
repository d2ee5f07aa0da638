"""Lab of notebook 01: backpressure in a bounded queue.

``run_backpressure`` starts a producer that puts an item every
``produce_every`` seconds and a consumer that needs ``consume_every``
seconds per item, on a ``Queue(maxsize)``. Both record when each ``put`` and
``get`` started and returned, and send the records back at the end.
``plot_backpressure`` draws how far each of them has got over time, and how
many items waited in the queue. ``backpressure_panel()`` puts both behind
sliders and a Run button.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ..cleanup import stop, track
from ..queues import timed_consumer, timed_producer
from ..validation import check_int, check_number, check_timeout, check_type
from . import style
from .panel import make_panel, slider

Span = tuple[float, float]


@dataclass(frozen=True)
class Backpressure:
    """What happened in one run of the lab. Times are seconds from the first ``put``."""

    n_items: int
    maxsize: int
    produce_every: float
    consume_every: float
    puts: list[Span]
    gets: list[Span]

    @property
    def blocked(self) -> list[float]:
        """Seconds each ``put`` waited for room in the queue."""
        return [end - start for start, end in self.puts]

    @property
    def total_blocked(self) -> float:
        """Seconds the producer spent blocked in ``put``, in total."""
        return sum(self.blocked)

    @property
    def elapsed(self) -> float:
        """Seconds from the first ``put`` to the last ``get``."""
        ends = [end for _, end in self.puts + self.gets]
        return max(ends, default=0.0)

    def depth(self) -> tuple[list[float], list[int]]:
        """Items waiting in the queue over time, as ``(times, depths)`` steps.

        An item enters when its ``put`` returns. It leaves when the consumer
        has asked for it *and* it has arrived (the later of the ``get`` start
        and the ``put`` end): from then on its slot counts as free.
        """
        events = [(end, 1) for _, end in self.puts]
        for (_, put_end), (get_start, _) in zip(self.puts, self.gets, strict=False):
            events.append((max(put_end, get_start), -1))
        events.sort(key=lambda e: (e[0], -e[1]))  # at a tie, enter before leave
        times, depths, level = [0.0], [0], 0
        for when, change in events:
            level += change
            times.append(when)
            depths.append(level)
        return times, depths

    def waiting_at_gets(self) -> tuple[list[float], list[int]]:
        """How many items were in the queue each time the consumer asked for one.

        ``(times, counts)``: for each ``get``, when it started and how many
        ``put`` calls had returned by then minus the items already taken.
        """
        put_ends = sorted(end for _, end in self.puts)
        times, counts = [], []
        for taken, (start, _) in enumerate(self.gets):
            times.append(start)
            counts.append(sum(end <= start for end in put_ends) - taken)
        return times, counts

    @property
    def max_depth(self) -> int:
        """The most items that waited in the queue at one time."""
        return max(self.depth()[1])


def run_backpressure(
    n_items: int = 30,
    produce_every: float = 0.01,
    consume_every: float = 0.03,
    maxsize: int = 5,
    timeout: float = 30.0,
) -> Backpressure:
    """Run a producer and a consumer on a ``Queue(maxsize)`` and record their timing.

    ``maxsize=0`` means no limit. The run takes about
    ``n_items * max(produce_every, consume_every)`` seconds, plus the start
    of two processes; if they are not done after ``timeout`` seconds they are
    stopped and ``TimeoutError`` is raised. Kernel → Interrupt stops them too.
    """
    n_items = check_int("n_items", n_items, minimum=1, maximum=1000)
    produce_every = check_number("produce_every", produce_every, minimum=0.0, maximum=1.0)
    consume_every = check_number("consume_every", consume_every, minimum=0.0, maximum=1.0)
    maxsize = check_int("maxsize", maxsize, minimum=0, maximum=1000)
    timeout = check_timeout("timeout", timeout, maximum=600.0)
    with track():  # on an error or Ctrl-C, whatever is still running is stopped
        items, report = mp.Queue(maxsize), mp.Queue()
        procs = [
            mp.Process(target=timed_producer, args=(items, report, n_items, produce_every)),
            mp.Process(target=timed_consumer, args=(items, report, consume_every)),
        ]
        for p in procs:
            p.start()
        try:
            records = _collect(report, len(procs), timeout)
        finally:
            stop(procs, timeout=5.0)
    origin = records["producer"][0][0]

    def shift(spans: list[Span]) -> list[Span]:
        return [(start - origin, end - origin) for start, end in spans]

    return Backpressure(
        n_items=n_items,
        maxsize=maxsize,
        produce_every=produce_every,
        consume_every=consume_every,
        puts=shift(records["producer"]),
        gets=shift(records["consumer"]),
    )


def _collect(report: mp.queues.Queue, n: int, timeout: float) -> dict[str, list[Span]]:
    """``n`` ``(who, spans)`` records from ``report``, waiting in short slices (Ctrl-C works)."""
    records: dict[str, list[Span]] = {}
    deadline = time.monotonic() + timeout
    while len(records) < n:
        try:
            who, spans = report.get(timeout=0.1)
        except queue.Empty:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the producer and consumer did not finish within timeout={timeout:g} s"
                ) from None
            continue
        records[who] = spans
    return records


#: How the two processes are drawn (a second channel besides colour: line style, marker).
PRODUCER = {"color": style.role("child").line, "linestyle": "-", "marker": ""}
CONSUMER = {"color": style.OKABE_ITO["sky blue"], "linestyle": "--", "marker": ""}
LIMIT = {"color": style.role("reference").line, "linestyle": ":", "linewidth": 1.2, "marker": ""}


def plot_backpressure(result: Backpressure) -> Figure:
    """Draw how far producer and consumer have got over time, and the items waiting.

    Top: items put so far (the producer) and items taken so far (the
    consumer). With a ``maxsize`` the producer's line runs at most
    ``maxsize`` items ahead of the consumer's, and then climbs at the
    consumer's pace: the full queue holds the producer back. Bottom: how many
    items were waiting each time the consumer came for the next one, against
    ``maxsize``.
    """
    check_type("result", result, Backpressure)
    with style.context():
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(8.5, 5.6), sharex=True)
        put_times = [end for _, end in result.puts]
        got_times = [end for _, end in result.gets]
        top.step(
            [0.0, *put_times],
            range(len(put_times) + 1),
            where="post",
            label="producer:\nitems put",
            **PRODUCER,
        )
        top.step(
            [0.0, *got_times],
            range(len(got_times) + 1),
            where="post",
            label="consumer:\nitems taken",
            **CONSUMER,
        )
        style.legend_outside(top)
        top.set_ylabel("items so far")
        limit = f"maxsize={result.maxsize}" if result.maxsize else "no maxsize"
        top.set_title(
            f"Progress: a put every {result.produce_every * 1000:g} ms, "
            f"a get every {result.consume_every * 1000:g} ms, {limit}"
        )
        times, waiting = result.waiting_at_gets()
        bottom.plot(times, waiting, **style.mechanism("Queue", label="items waiting"))
        if result.maxsize:
            ref = bottom.axhline(result.maxsize, **LIMIT)
            style.label_line(bottom, ref, f"maxsize = {result.maxsize}", at=0.0)
        bottom.set_ylim(0, max(result.maxsize, max(waiting, default=0), 1) * 1.25 + 0.5)
        bottom.set_ylabel("items waiting")
        bottom.set_xlabel("seconds since the first put()")
        bottom.set_title(
            f"Items waiting at each get(); put() was blocked {result.total_blocked:.2f} s "
            f"of {result.elapsed:.2f} s"
        )
        fig.tight_layout()
    return fig


def backpressure_panel() -> widgets.VBox:
    """The lab's control panel: speeds and ``maxsize`` as sliders, a Run button, the plot."""
    controls = {
        "produce_ms": slider("producer: ms per item", 10, 0, 100, 5),
        "consume_ms": slider("consumer: ms per item", 30, 0, 100, 5),
        "maxsize": slider("maxsize (0 = no limit)", 5, 0, 20),
        "n_items": slider("items", 30, 5, 100, 5),
    }

    def run(produce_ms: int, consume_ms: int, maxsize: int, n_items: int) -> None:
        plot_backpressure(
            run_backpressure(
                n_items=n_items,
                produce_every=produce_ms / 1000,
                consume_every=consume_ms / 1000,
                maxsize=maxsize,
            )
        )

    return make_panel(
        "Backpressure: a fast producer, a slow consumer, a bounded queue", controls, run
    )
