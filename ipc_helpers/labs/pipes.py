"""Lab of notebook 02: when does "both ends send first" deadlock?

``run_swaps`` swaps two messages of growing size between two parties that
both send before they receive (or where one receives first), and records,
for each size, whether the swap finished and how many bytes the kernel had
taken from A's message when A's send blocked. ``plot_swaps`` draws it;
``swaps_panel`` puts both behind a few controls.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from ..pipes import SwapTrial, try_swaps
from ..validation import check_int, check_type
from . import style
from .panel import make_panel, toggles

#: Largest message sizes (KiB) the panel offers.
MAX_SIZES_KIB = (64, 256, 1024, 4096)

#: Alt text of the lab's plot (what it shows, for readers who cannot see it).
ALT = (
    "Scatter plot on log scales: message size (x) against the bytes of A's message the "
    "kernel took before A's send blocked (y). Swaps that finished lie on the diagonal "
    "'the whole message'; deadlocked swaps lie near a flat dotted line: A's send blocked "
    "after about the same number of bytes, however large the message. A shaded band marks "
    "the sizes between the largest swap that finished and the smallest that deadlocked."
)


@dataclass
class SwapLab:
    """The outcome of ``run_swaps``: one ``SwapTrial`` per message size."""

    results: list
    duplex: bool
    both_send_first: bool

    @property
    def sizes(self) -> list:
        return [r.size for r in self.results]

    @property
    def largest_finished(self) -> int:
        """The largest size whose swap finished (0 if none did)."""
        return max((r.size for r in self.results if r.finished), default=0)

    @property
    def smallest_deadlocked(self) -> int:
        """The smallest size whose swap deadlocked (0 if none did)."""
        return min((r.size for r in self.results if not r.finished), default=0)

    @property
    def most_taken(self) -> int:
        """The most bytes the kernel took from one message before a send blocked (0: none)."""
        return max((r.queued for r in self.results if not r.finished), default=0)


def message_sizes(max_kib: int = 1024, points: int = 9) -> list:
    """``points`` message sizes from 1 KiB to ``max_kib`` KiB, evenly spaced on a log scale."""
    max_kib = check_int("max_kib", max_kib, minimum=2, maximum=16 * 1024)
    points = check_int("points", points, minimum=2, maximum=30)
    sizes = np.geomspace(1024, max_kib * 1024, points)
    return sorted({int(s) for s in sizes})


def run_swaps(
    max_kib: int = 1024, points: int = 9, duplex: bool = True, both_send_first: bool = True
) -> SwapLab:
    """Swap messages from 1 KiB to ``max_kib`` KiB; see which swaps deadlock.

    ``duplex=True`` uses one ``Pipe()`` (a socket pair), ``False`` two
    ``Pipe(duplex=False)`` (OS pipes, one per direction). With
    ``both_send_first=False`` party B receives before it sends. Takes about a
    second, plus 0.15 s per deadlocked size.
    """
    sizes = message_sizes(max_kib, points)
    check_type("duplex", duplex, bool)
    check_type("both_send_first", both_send_first, bool)
    results = try_swaps(sizes, duplex=duplex, both_send_first=both_send_first)
    return SwapLab(results, duplex, both_send_first)


def _taken(result: SwapTrial) -> int:
    """Bytes of A's message the kernel took before A blocked (all of it if it finished)."""
    return result.size if result.finished else result.queued


def _kib(value: float, _: object = None) -> str:
    return f"{value / 1024:g} KiB"


def plot_swaps(lab: SwapLab) -> plt.Figure:
    """Message size against the bytes the kernel took before A's send blocked."""
    check_type("lab", lab, SwapLab)
    with style.context():
        fig, ax = plt.subplots(figsize=(8.5, 4.0))
        sizes = np.array(lab.sizes)
        reference = style.role("reference").line
        (whole,) = ax.plot(sizes, sizes, color=reference, linestyle="--", linewidth=1, marker="")
        style.label_line(ax, whole, "the whole message", at=0.25)
        for finished, marker, role, label in (
            (True, "o", "ok", "swap finished"),
            (False, "X", "lost", "deadlocked"),
        ):
            points = [r for r in lab.results if r.finished is finished]
            if points:
                ax.scatter(
                    [r.size for r in points],
                    [_taken(r) for r in points],
                    marker=marker,
                    color=style.role(role).line,
                    s=70,
                    zorder=3,
                    label=label,
                )
        if lab.most_taken:
            blocked = ax.axhline(lab.most_taken, color=style.role("lost").line, linestyle=":")
            style.label_line(ax, blocked, f"most taken before a send blocked: {lab.most_taken:,} B")
        if lab.largest_finished and lab.smallest_deadlocked > lab.largest_finished:
            ax.axvspan(
                lab.largest_finished,
                lab.smallest_deadlocked,
                color=style.role("lost").fill,
                label="the line lies in here",
            )
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(_kib))
        ax.yaxis.set_major_formatter(FuncFormatter(_kib))
        ax.set_xlabel("message size")
        ax.set_ylabel("bytes taken before A's send blocked")
        kind = "one Pipe()" if lab.duplex else "two Pipe(duplex=False)"
        order = "both send first" if lab.both_send_first else "B receives first"
        ax.set_title(f"Which swaps deadlock? {kind}, {order}")
        style.legend_outside(ax)
        fig.tight_layout()
    return fig


def swaps_panel() -> widgets.VBox:
    """The lab's control panel: largest size, kind of pipe, who sends first, Run."""
    controls = {
        "max_kib": widgets.SelectionSlider(
            options=list(MAX_SIZES_KIB), value=1024, description="largest (KiB)"
        ),
        "duplex": toggles("pipe", [("Pipe()", True), ("Pipe(duplex=False)", False)], True),
        "both_send_first": toggles(
            "order", [("both send first", True), ("B receives first", False)], True
        ),
    }
    return make_panel(
        "Both ends send first: when does it deadlock?",
        controls,
        run=lambda **values: plot_swaps(run_swaps(**values)),
    )
