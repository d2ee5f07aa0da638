"""Lab of notebook 02: when does "both ends send first" deadlock?

``run_send_race`` swaps two messages of growing size between two parties that
both send before they receive (or where one receives first), and records, for
each size, whether the swap finished and how many bytes the kernel had
accepted when the first sender blocked. ``plot_send_race`` draws it;
``send_race_panel`` puts both behind a few controls.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from ..pipes import RaceResult, send_race
from ..validation import check_int, check_type
from .panel import make_panel

#: Largest message sizes (KiB) the panel offers.
MAX_SIZES_KIB = (64, 256, 1024, 4096)


@dataclass
class SendRaceLab:
    """The outcome of ``run_send_race``: one ``RaceResult`` per message size."""

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


def message_sizes(max_kib: int = 1024, points: int = 9) -> list:
    """``points`` message sizes from 1 KiB to ``max_kib`` KiB, evenly spaced on a log scale."""
    max_kib = check_int("max_kib", max_kib, minimum=2, maximum=16 * 1024)
    points = check_int("points", points, minimum=2, maximum=30)
    sizes = np.geomspace(1024, max_kib * 1024, points)
    return sorted({int(s) for s in sizes})


def run_send_race(
    max_kib: int = 1024, points: int = 9, duplex: bool = True, both_send_first: bool = True
) -> SendRaceLab:
    """Swap messages from 1 KiB to ``max_kib`` KiB; see which swaps deadlock.

    ``duplex=True`` uses one ``Pipe()`` (a socket pair), ``False`` two
    ``Pipe(duplex=False)`` (OS pipes, one per direction). With
    ``both_send_first=False`` party B receives before it sends. Takes about a
    second, plus 0.15 s per deadlocked size.
    """
    sizes = message_sizes(max_kib, points)
    check_type("duplex", duplex, bool)
    check_type("both_send_first", both_send_first, bool)
    results = send_race(sizes, duplex=duplex, both_send_first=both_send_first)
    return SendRaceLab(results, duplex, both_send_first)


def _accepted(result: RaceResult) -> int:
    """Bytes of A's message the kernel took before A blocked (all of it if it finished)."""
    return result.size if result.finished else result.queued


def plot_send_race(lab: SendRaceLab) -> plt.Figure:
    """Message size against the bytes the kernel accepted before the sender blocked."""
    check_type("lab", lab, SendRaceLab)
    fig, ax = plt.subplots(figsize=(7, 4))
    sizes = np.array(lab.sizes)
    ax.plot(sizes, sizes, color="0.7", linestyle="--", label="the whole message")
    for finished, marker, color, label in (
        (True, "o", "tab:green", "swap finished"),
        (False, "X", "tab:red", "deadlock"),
    ):
        points = [r for r in lab.results if r.finished is finished]
        if points:
            ax.scatter(
                [r.size for r in points],
                [_accepted(r) for r in points],
                marker=marker,
                color=color,
                s=70,
                zorder=3,
                label=label,
            )
    stuck = [r.queued for r in lab.results if not r.finished]
    if stuck:
        ax.axhline(max(stuck), color="tab:red", linestyle=":", linewidth=1)
        ax.annotate(
            f"the kernel's buffer: {max(stuck):,} B",
            (sizes[-1], max(stuck)),
            textcoords="offset points",
            xytext=(0, -15),
            ha="right",
            color="tab:red",
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    kib = FuncFormatter(lambda value, _: f"{value / 1024:g} KiB")
    ax.xaxis.set_major_formatter(kib)
    ax.yaxis.set_major_formatter(kib)
    ax.set_xlabel("message size")
    ax.set_ylabel("bytes accepted before A blocked")
    kind = "Pipe()" if lab.duplex else "two Pipe(duplex=False)"
    order = "both send first" if lab.both_send_first else "B receives first"
    ax.set_title(f"{kind}, {order}")
    ax.legend(loc="lower right")
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig


def send_race_panel() -> widgets.VBox:
    """The lab's control panel: largest size, kind of pipe, who sends first, Run."""
    controls = {
        "max_kib": widgets.SelectionSlider(
            options=list(MAX_SIZES_KIB), value=1024, description="largest (KiB)"
        ),
        "duplex": widgets.ToggleButtons(
            options=[("Pipe()", True), ("Pipe(duplex=False)", False)],
            value=True,
            description="pipe",
        ),
        "both_send_first": widgets.ToggleButtons(
            options=[("both send first", True), ("B receives first", False)],
            value=True,
            description="order",
        ),
    }
    return make_panel(
        "Both ends send first: when does it deadlock?",
        controls,
        run=lambda **values: plot_send_race(run_send_race(**values)),
    )
