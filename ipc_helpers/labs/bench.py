"""Lab of notebook 05: pick mechanisms and a payload range, run, plot.

``run_comparison`` measures throughput with the benchmark's method (warm-up,
rounds, references in the same rounds) and returns the figures;
``plot_comparison`` draws them on log-log axes beside the references;
``comparison_panel()`` is the widget panel over both. The notebook's other
plots (round trips, percentage of the limit) live here too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt

from .. import bench
from ..validation import check_int, check_type
from .panel import make_panel

#: Payload sizes the lab offers, 64 B to 16 MiB.
LAB_PAYLOADS = (
    64,
    1024,
    4 * bench.KiB,
    16 * bench.KiB,
    64 * bench.KiB,
    256 * bench.KiB,
    1 * bench.MiB,
    4 * bench.MiB,
    16 * bench.MiB,
)

_STYLE = {"raw_socketpair": "k--", "raw_pipe": "k:", "memcpy": "k-."}


def run_comparison(
    mechanisms: Sequence[str] = ("pipe_bytes", "queue", "shared_memory"),
    min_payload: int = 64,
    max_payload: int = 1 * bench.MiB,
    rounds: int = 5,
    timeout: float = 30.0,
) -> list[bench.Figure]:
    """Throughput of ``mechanisms`` at the lab's payload sizes in ``[min_payload, max_payload]``.

    Names come from ``bench.THROUGHPUT``. Each size gets a warm-up and
    ``rounds`` timed rounds, with the references measured in the same rounds.
    Returns the figures (references included). Bounded: about one second per
    payload size for three mechanisms on an idle 2-core machine.
    """
    chosen = bench.check_mechanisms(mechanisms, bench.THROUGHPUT)
    lo = check_int("min_payload", min_payload, minimum=bench.MIN_PAYLOAD, maximum=bench.MAX_PAYLOAD)
    hi = check_int("max_payload", max_payload, minimum=bench.MIN_PAYLOAD, maximum=16 * bench.MiB)
    if lo > hi:
        raise ValueError(f"min_payload ({lo}) must not be larger than max_payload ({hi})")
    rounds = check_int("rounds", rounds, minimum=1, maximum=20)
    sizes = [p for p in LAB_PAYLOADS if lo <= p <= hi] or [lo]
    mode = dataclasses.replace(bench.MODES["quick"], payloads=tuple(sizes), rounds=rounds)
    shm = max(sizes) if "shared_memory" in chosen else 0
    with bench.Session(shm_size=shm, manager="manager_queue" in chosen, timeout=timeout) as s:
        return bench.measure_throughput(s, chosen, sizes, mode)


def plot_comparison(figures: Sequence[bench.Figure], ax: Any | None = None) -> Any:
    """Draw throughput (MB/s) against payload on log-log axes; references dashed.

    Each point is a median; the bar through it spans the slowest to the
    fastest round. Returns the matplotlib ``Axes``.
    """
    figures = [check_type(f"figures[{i}]", f, bench.Figure) for i, f in enumerate(figures)]
    if not figures:
        raise ValueError("figures is empty: nothing to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.8))
    names = list(dict.fromkeys(f.mechanism for f in figures if f.operation == "throughput"))
    for name in names:
        rows = sorted(
            (f for f in figures if f.mechanism == name and f.operation == "throughput"),
            key=lambda f: f.payload,
        )
        x = [f.payload for f in rows]
        y = [f.median for f in rows]
        err = [[f.median - f.min for f in rows], [f.max - f.median for f in rows]]
        if name in bench.REFERENCES:
            ax.plot(x, y, _STYLE[name], label=bench.REFERENCES[name], linewidth=1.5)
        else:
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=rows[0].label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    sizes = sorted({f.payload for f in figures if f.payload})
    ax.set_xticks(sizes, [bench.size_label(s) for s in sizes], rotation=45)
    ax.set_xlabel("payload per message")
    ax.set_ylabel("throughput, MB/s (log scale)")
    ax.set_title("Throughput on one CPU: median of the rounds, bars from slowest to fastest")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.figure.tight_layout()
    return ax


def plot_round_trips(figures: Sequence[bench.Figure], ax: Any | None = None) -> Any:
    """Bar chart of round-trip latency (µs) per mechanism, raw pipe reference first."""
    rows = [check_type(f"figures[{i}]", f, bench.Figure) for i, f in enumerate(figures)]
    rows = [f for f in rows if f.operation == "round trip"]
    if not rows:
        raise ValueError("figures holds no round-trip figure")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.8))
    labels = [f.label for f in rows]
    values = [f.median for f in rows]
    err = [[f.median - f.min for f in rows], [f.max - f.median for f in rows]]
    colors = ["0.3" if f.mechanism == "raw_pipe_rt" else "C0" for f in rows]
    ax.barh(labels, values, xerr=err, color=colors, capsize=3)
    ax.axvline(rows[0].median, color="0.3", linestyle="--", linewidth=1)
    ax.invert_yaxis()
    ax.set_xlabel("µs per round trip (median; bars: slowest to fastest round)")
    ax.set_title("Round trip of a small message, all processes on one CPU")
    ax.figure.tight_layout()
    return ax


def percent_table(figures: Sequence[bench.Figure], payloads: Sequence[int] = ()) -> str:
    """A text table: each mechanism's throughput as a % of its reference, per payload."""
    rows = [
        f for f in figures if f.operation == "throughput" and f.percent_of_reference is not None
    ]
    sizes = sorted({f.payload for f in rows if not payloads or f.payload in payloads})
    names = list(dict.fromkeys(f.mechanism for f in rows))
    head = f"{'mechanism (% of its reference)':46s}" + "".join(
        f"{bench.size_label(s):>9s}" for s in sizes
    )
    lines = [head]
    for name in names:
        by_size = {f.payload: f for f in rows if f.mechanism == name}
        label = by_size[next(iter(by_size))].label
        cells = "".join(
            f"{by_size[s].percent_of_reference:8.0f}%" if s in by_size else f"{'':9s}"
            for s in sizes
        )
        lines.append(f"{label[:46]:46s}{cells}")
    return "\n".join(lines)


def comparison_panel() -> widgets.VBox:
    """The lab's control panel: mechanisms, payload range, rounds, Run."""
    mechanisms = widgets.SelectMultiple(
        options=[(label, name) for name, (label, _) in bench.THROUGHPUT.items()],
        value=("pipe_bytes", "queue", "shared_memory"),
        rows=len(bench.THROUGHPUT),
        description="mechanisms",
        layout=widgets.Layout(width="520px"),
    )
    payloads = widgets.SelectionRangeSlider(
        options=[(bench.size_label(p), p) for p in LAB_PAYLOADS],
        index=(0, 6),
        description="payloads",
        layout=widgets.Layout(width="520px"),
    )
    rounds = widgets.IntSlider(value=5, min=1, max=15, description="rounds")

    def run(mechanisms: Sequence[str], payloads: tuple[int, int], rounds: int) -> None:
        figures = run_comparison(list(mechanisms), payloads[0], payloads[1], rounds)
        plot_comparison(figures)
        print(percent_table(figures))

    return make_panel(
        "Throughput lab: pick mechanisms and payloads, then Run",
        {"mechanisms": mechanisms, "payloads": payloads, "rounds": rounds},
        run,
    )
