"""Lab of notebook 01: backpressure in a bounded queue.

``run_backpressure`` starts a producer that puts an item every
``produce_every`` seconds and a consumer that needs ``consume_every``
seconds per item, on a ``Queue(maxsize)``. Both record when each ``put`` and
``get`` started and returned, and send the records back at the end.
``plot_backpressure`` draws how many items waited in the queue over time, and
how long each ``put`` was blocked. ``backpressure_panel()`` puts both behind
sliders and a Run button.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ..cleanup import stop
from ..queues import timed_consumer, timed_producer
from ..validation import check_int, check_number, check_timeout, check_type
from .panel import make_panel

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
        for (_, put_end), (get_start, _) in zip(self.puts, self.gets):
            events.append((max(put_end, get_start), -1))
        events.sort(key=lambda e: (e[0], -e[1]))  # at a tie, enter before leave
        times, depths, level = [0.0], [0], 0
        for when, change in events:
            level += change
            times.append(when)
            depths.append(level)
        return times, depths

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
    of two processes; both are stopped if they are not done after ``timeout``
    seconds (then ``TimeoutError`` is raised).
    """
    n_items = check_int("n_items", n_items, minimum=1, maximum=1000)
    produce_every = check_number("produce_every", produce_every, minimum=0.0, maximum=1.0)
    consume_every = check_number("consume_every", consume_every, minimum=0.0, maximum=1.0)
    maxsize = check_int("maxsize", maxsize, minimum=0, maximum=1000)
    timeout = check_timeout("timeout", timeout, maximum=600.0)

    items, report = mp.Queue(maxsize), mp.Queue()
    procs = [
        mp.Process(target=timed_producer, args=(items, report, n_items, produce_every)),
        mp.Process(target=timed_consumer, args=(items, report, consume_every)),
    ]
    for p in procs:
        p.start()
    records: dict[str, list[Span]] = {}
    try:
        for _ in procs:
            who, spans = report.get(timeout=timeout)
            records[who] = spans
    except queue.Empty:
        raise TimeoutError(
            f"the producer and consumer did not finish within timeout={timeout:g} s"
        ) from None
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


def plot_backpressure(result: Backpressure) -> Figure:
    """Draw the queue depth over time and how long each ``put`` was blocked."""
    check_type("result", result, Backpressure)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True)
    times, depths = result.depth()
    top.step(times, depths, where="post", color="tab:blue", label="items waiting in the queue")
    if result.maxsize:
        top.axhline(
            result.maxsize, color="tab:red", linestyle="--", label=f"maxsize = {result.maxsize}"
        )
    top.set_ylabel("items in the queue")
    top.set_ylim(0, max(result.maxsize, result.max_depth, 1) * 1.3 + 0.5)  # room for the legend
    top.legend(loc="upper right")
    limit = f"maxsize={result.maxsize}" if result.maxsize else "no maxsize"
    top.set_title(
        f"{result.n_items} items, a put every {result.produce_every * 1000:g} ms, "
        f"a get every {result.consume_every * 1000:g} ms, {limit}"
    )
    starts = [start for start, _ in result.puts]
    bottom.bar(
        starts,
        [b * 1000 for b in result.blocked],
        width=max(result.elapsed / (3 * result.n_items), 1e-3),
        align="edge",
        color="tab:orange",
    )
    bottom.set_ylabel("put() blocked (ms)")
    bottom.set_xlabel("seconds since the first put()")
    bottom.set_title(
        f"The producer spent {result.total_blocked:.2f} s of {result.elapsed:.2f} s "
        "blocked in put()"
    )
    fig.tight_layout()
    return fig


def backpressure_panel() -> widgets.VBox:
    """The lab's control panel: speeds and ``maxsize`` as sliders, a Run button, the plot."""
    style = {"description_width": "160px"}
    layout = widgets.Layout(width="480px")
    controls = {
        "produce_ms": widgets.IntSlider(
            value=10,
            min=0,
            max=100,
            step=5,
            style=style,
            layout=layout,
            description="producer: ms per item",
        ),
        "consume_ms": widgets.IntSlider(
            value=30,
            min=0,
            max=100,
            step=5,
            style=style,
            layout=layout,
            description="consumer: ms per item",
        ),
        "maxsize": widgets.IntSlider(
            value=5, min=0, max=20, style=style, layout=layout, description="maxsize (0 = no limit)"
        ),
        "n_items": widgets.IntSlider(
            value=30, min=5, max=100, step=5, style=style, layout=layout, description="items"
        ),
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
