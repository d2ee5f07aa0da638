"""Lab, plots and tables of notebook 05: throughput, round trips, start cost, agreement.

``run_comparison`` measures throughput with the benchmark's method (warm-up,
rounds, references in the same rounds) and returns the measurements;
``plot_comparison`` draws them on log-log axes beside the references;
``comparison_panel()`` is the widget panel over both. The notebook's other
plots and its tables (``ipc_helpers.display.Table``) live here too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt

from .. import bench
from ..bench import Agreement, Measurement
from ..cleanup import track
from ..display import Table
from ..validation import check_int, check_type
from . import style
from .panel import choose_several, make_panel, slider

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

#: How each benchmark mechanism is drawn: the course's look (``style.MECHANISMS``),
#: with its own marker and line style for the variants of ``Pipe`` the course has no
#: name for. Every pair (colour, marker) is used once.
LOOKS: dict[str, dict[str, Any]] = {
    "pipe_bytes": style.mechanism("Pipe bytes"),
    "pipe_into": style.mechanism("Pipe bytes", marker="<", linestyle=":"),
    "pipe_chunks": style.mechanism("Pipe bytes", marker=">", linestyle="-."),
    "pipe_pickle": style.mechanism("Pipe"),
    "pipe_oneway": style.mechanism("Pipe", marker="p", linestyle="--"),
    "queue": style.mechanism("Queue"),
    "simplequeue": style.mechanism("SimpleQueue"),
    "shared_memory": style.mechanism("SharedMemory"),
    "manager_queue": style.mechanism("Manager"),
    "manager_dict": style.mechanism("Manager"),
    "raw_socketpair": style.mechanism("socketpair"),
    "raw_pipe": style.mechanism("os.pipe"),
    "raw_pipe_rt": style.mechanism("os.pipe"),
    "memcpy": style.mechanism("memcpy"),
}


def run_comparison(
    mechanisms: Sequence[str] = ("pipe_bytes", "queue", "shared_memory"),
    min_payload: int = 64,
    max_payload: int = 1 * bench.MiB,
    rounds: int = 5,
    placement: str = bench.ONE_CPU,
    timeout: float = 30.0,
) -> list[Measurement]:
    """Throughput of ``mechanisms`` at the lab's payload sizes in ``[min_payload, max_payload]``.

    Names come from ``bench.THROUGHPUT``. Each size gets a warm-up and
    ``rounds`` timed rounds, with the references measured in the same rounds.
    Returns the measurements (references included). Bounded: about one
    second per payload size for three mechanisms on an idle 2-core machine;
    Kernel → Interrupt stops the child processes within a few seconds.
    """
    chosen = bench.check_mechanisms(mechanisms, bench.THROUGHPUT)
    lo = check_int("min_payload", min_payload, minimum=bench.MIN_PAYLOAD, maximum=bench.MAX_PAYLOAD)
    hi = check_int("max_payload", max_payload, minimum=bench.MIN_PAYLOAD, maximum=16 * bench.MiB)
    if lo > hi:
        raise ValueError(f"min_payload ({lo}) must not be larger than max_payload ({hi})")
    rounds = check_int("rounds", rounds, minimum=1, maximum=20)
    placement = bench.check_placement(placement)
    sizes = [p for p in LAB_PAYLOADS if lo <= p <= hi] or [lo]
    mode = dataclasses.replace(bench.MODES["quick"], payloads=tuple(sizes), rounds=rounds)
    shm = max(sizes) if "shared_memory" in chosen else 0
    manager = "manager_queue" in chosen
    with track(), bench.Session(shm_size=shm, manager=manager, timeout=timeout) as s:
        return bench.measure_throughput(s, chosen, sizes, mode, placement)


def _check_rows(rows: Sequence[Measurement]) -> list[Measurement]:
    return [check_type(f"rows[{i}]", m, Measurement) for i, m in enumerate(rows)]


def _where(rows: Sequence[Measurement]) -> str:
    placements = {m.placement for m in rows}
    if placements == {bench.ONE_CPU}:
        return "all processes on one CPU"
    if placements == {bench.FREE}:
        return "processes free to use any CPU"
    return "mixed placements"


# --- plots ---------------------------------------------------------------------------


def plot_comparison(rows: Sequence[Measurement], ax: Any | None = None, title: str = "") -> Any:
    """Draw throughput (MB/s) against payload on log-log axes, references as labelled lines.

    Each point is the median of the rounds; its error bar spans the slowest
    to the fastest round. ``title`` says what the panel shows. The legend
    sits beside the plot; references are named on their line. Returns the
    matplotlib ``Axes``.
    """
    rows = [m for m in _check_rows(rows) if m.operation == "throughput"]
    if not rows:
        raise ValueError("rows holds no throughput measurement: nothing to plot")
    with style.context():
        if ax is None:
            _, ax = plt.subplots(figsize=(9, 4.6))
        for name in dict.fromkeys(m.mechanism for m in rows):
            line = sorted((m for m in rows if m.mechanism == name), key=lambda m: m.payload)
            x = [m.payload for m in line]
            y = [m.median for m in line]
            if name in bench.REFERENCES:
                (drawn,) = ax.plot(x, y, **{**LOOKS[name], "label": None})
                style.label_line(ax, drawn, bench.REFERENCES[name], at=0.0)  # clear of the data
                continue
            err = [[m.median - m.min for m in line], [m.max - m.median for m in line]]
            ax.errorbar(x, y, yerr=err, capsize=3, **{**LOOKS[name], "label": line[0].label})
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        sizes = sorted({m.payload for m in rows})
        ax.set_xticks(sizes, [bench.size_label(s) for s in sizes])
        ax.minorticks_off()
        ax.set_xlabel("payload per message")
        ax.set_ylabel("MB/s (log scale)")
        ax.set_title(title or f"Throughput, {_where(rows)}")
        where = _where(rows).replace("processes ", "processes\n", 1)
        style.legend_outside(ax, title=f"{where};\nmedian; error bars:\nslowest to fastest round")
        ax.figure.tight_layout()
    return ax


def plot_round_trips(rows: Sequence[Measurement], ax: Any | None = None) -> Any:
    """Bars of round-trip latency (µs) per mechanism; the raw pipe as a labelled line."""
    rows = [m for m in _check_rows(rows) if m.operation == "round trip"]
    if not rows:
        raise ValueError("rows holds no round-trip measurement")
    with style.context():
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 3.6))
        bars = [m for m in rows if m.mechanism != "raw_pipe_rt"]
        err = [[m.median - m.min for m in bars], [m.max - m.median for m in bars]]
        colours = [LOOKS[m.mechanism]["color"] for m in bars]
        ax.barh(
            [m.label for m in bars], [m.median for m in bars], xerr=err, color=colours, capsize=3
        )
        for raw in (m for m in rows if m.mechanism == "raw_pipe_rt"):
            ax.axvline(raw.median, color="black", linestyle=":", linewidth=1.2)
            ax.annotate(  # above the bars, where it hides nothing
                f"{raw.label}: {raw.median:.0f} µs",
                (raw.median, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, 2),
                textcoords="offset points",
                va="bottom",
                fontsize=9,
            )
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("µs per round trip (median; error bars: lowest to highest round)")
        ax.set_title(f"Round trip of a 64-byte message, {_where(rows)}", pad=16)
        ax.figure.tight_layout()
    return ax


def plot_start_costs(rows: Sequence[Measurement], ax: Any | None = None) -> Any:
    """Bars of the time to start and join a do-nothing child, per start method."""
    rows = [m for m in _check_rows(rows) if m.operation == "start"]
    if not rows:
        raise ValueError("rows holds no start-cost measurement")
    with style.context():
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 2.4))
        err = [[m.median - m.min for m in rows], [m.max - m.median for m in rows]]
        colour = style.role("child").line
        ax.barh(
            [m.mechanism for m in rows], [m.median for m in rows], xerr=err, color=colour, capsize=3
        )
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("ms to start and join a child that does nothing\n(median; error bars: range)")
        ax.set_title("Process start cost per start method, processes free to use any CPU")
        ax.figure.tight_layout()
    return ax


# --- tables ------------------------------------------------------------------------


def throughput_table(rows: Sequence[Measurement], caption: str = "") -> Table:
    """Median MB/s of every mechanism (rows) at every payload (columns)."""
    rows = [m for m in _check_rows(rows) if m.operation == "throughput"]
    sizes = sorted({m.payload for m in rows})
    names = list(dict.fromkeys(m.mechanism for m in rows))
    by_key = {(m.mechanism, m.payload): m for m in rows}
    body = []
    for name in names:
        first = next(m for m in rows if m.mechanism == name)
        body.append([first.label, *(_median(by_key.get((name, s))) for s in sizes)])
    caption = caption or f"Throughput in MB/s (median of the rounds), {_where(rows)}"
    return Table(["mechanism", *(bench.size_label(s) for s in sizes)], body, caption=caption)


def _median(m: Measurement | None) -> float | None:
    return None if m is None else m.median


def measurements_table(rows: Sequence[Measurement]) -> Table:
    """Every measurement with its range, its percentage of the reference and its page faults."""
    rows = _check_rows(rows)
    body = [
        [
            m.name,
            m.median,
            m.unit,
            m.min,
            m.max,
            None if m.percent_of_reference is None else f"{m.percent_of_reference:.0f}%",
            m.faults_per_mib,
        ]
        for m in rows
    ]
    columns = ["measurement", "median", "unit", "lowest", "highest", "% of ref", "faults/MiB"]
    return Table(columns, body, caption=f"All {len(rows)} measurements of the run")


def percent_table(rows: Sequence[Measurement]) -> Table:
    """Each mechanism's throughput as a % of the reference doing the same work, per payload."""
    rows = [
        m
        for m in _check_rows(rows)
        if m.operation == "throughput" and m.percent_of_reference is not None
    ]
    sizes = sorted({m.payload for m in rows})
    by_key = {(m.mechanism, m.payload): m.percent_of_reference for m in rows}
    body = []
    for name in dict.fromkeys(m.mechanism for m in rows):
        label = next(m.label for m in rows if m.mechanism == name)
        body.append([label, *(_percent(by_key.get((name, s))) for s in sizes)])
    return Table(
        ["mechanism", *(bench.size_label(s) for s in sizes)],
        body,
        caption="Throughput as a % of the raw channel doing the same work (median of the rounds)",
    )


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}%"


def round_trip_table(rows: Sequence[Measurement]) -> Table:
    """Round trips and ``Value`` operations: median, lowest and highest round."""
    rows = [m for m in _check_rows(rows) if m.operation in ("round trip", "operation")]
    body = [[m.label, m.median, m.min, m.max] for m in rows]
    return Table(
        ["measurement", "median", "lowest", "highest"],
        body,
        caption=f"Cost of one small round trip or operation, {_where(rows)}",
        units={"median": "µs", "lowest": "µs", "highest": "µs"},
    )


def placement_table(rows: Sequence[Measurement]) -> Table:
    """Each figure with every process on one CPU, and free, and free / one CPU."""
    rows = _check_rows(rows)
    pinned = {m.name: m for m in rows if m.placement == bench.ONE_CPU}
    free = {m.name: m for m in rows if m.placement == bench.FREE}
    body = []
    for name in dict.fromkeys(m.name for m in rows):  # a Mac has free figures only
        a, b = pinned.get(name), free.get(name)
        ratio = f"{b.median / a.median:.2f}" if a and b else ""
        body.append([name, a and a.median, b and b.median, (a or b).unit, ratio])
    return Table(
        ["measurement", "one CPU", "free", "unit", "free / one CPU"],
        body,
        caption="The same figures with every process pinned to one CPU, then free",
    )


def honesty_table(rows: Sequence[Agreement]) -> Table:
    """The honesty check: each figure, measured again independently, their ratio and tries.

    ``tries`` above 1: the first measurements disagreed, so both sides were
    measured again in pairs and each counts its fastest round.
    """
    rows = [check_type(f"rows[{i}]", row, Agreement) for i, row in enumerate(rows)]
    body = [[r.name, r.benchmark, r.independent, r.unit, f"{r.ratio:.2f}", r.tries] for r in rows]
    verdict = "within" if bench.worst(rows) <= bench.TARGET else "over"
    return Table(
        ["figure", "benchmark", "again", "unit", "ratio", "tries"],
        body,
        caption=(
            f"Largest disagreement: {bench.worst(rows):.2f}x, {verdict} the target of "
            f"{bench.TARGET}x"
        ),
    )


# --- the panel ----------------------------------------------------------------------


def comparison_panel() -> widgets.VBox:
    """The lab's control panel: mechanisms, payload range, rounds, Run."""
    mechanisms = choose_several(
        "mechanisms",
        [(label, name) for name, (label, _) in bench.THROUGHPUT.items()],
        ("pipe_bytes", "queue", "shared_memory"),
    )
    payloads = widgets.SelectionRangeSlider(
        options=[(bench.size_label(p), p) for p in LAB_PAYLOADS],
        index=(0, 6),
        description="payloads",
    )
    rounds = slider("rounds", 5, 1, 15)

    def run(mechanisms: Sequence[str], payloads: tuple[int, int], rounds: int) -> None:
        rows = run_comparison(list(mechanisms), payloads[0], payloads[1], rounds)
        plot_comparison(rows)
        plt.show()
        from IPython.display import display

        display(percent_table(rows))

    return make_panel(
        "Throughput lab: pick mechanisms and payloads, then Run",
        {"mechanisms": mechanisms, "payloads": payloads, "rounds": rounds},
        run,
    )
