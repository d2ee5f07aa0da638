"""Lab of notebook 03: the race lab.

Several processes add 1 to one shared counter, many times, with or without a
lock. ``run_race_lab`` runs the experiment and returns the numbers;
``plot_race`` draws them; ``race_panel`` puts both behind sliders and a Run
button.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ..shared import Race, run_race
from ..validation import check_int, check_timeout, check_type
from .panel import make_panel


@dataclass
class RaceLab:
    """The result of one lab run: the race itself and whether a lock was used."""

    race: Race
    use_lock: bool

    @property
    def wrong_rounds(self) -> int:
        """Rounds whose final count was not the expected one."""
        return sum(1 for lost in self.race.lost if lost != 0)

    def summary(self) -> str:
        """One line: expected count, counts seen, rounds that were wrong."""
        r = self.race
        counts = sorted(r.counts)
        return (
            f"{r.processes} processes x {r.increments:,} increments, "
            f"{'with' if self.use_lock else 'without'} a lock: expected {r.expected:,}; "
            f"got {counts[0]:,} to {counts[-1]:,}; "
            f"{self.wrong_rounds} of {len(r.counts)} rounds lost updates"
        )


def run_race_lab(
    processes: int = 2,
    increments: int = 10_000,
    use_lock: bool = False,
    repeats: int = 20,
    timeout: float = 30.0,
) -> RaceLab:
    """Run the race ``repeats`` times and return the counts.

    ``processes`` processes (1 to 8) each add 1 to a shared ``Value``
    ``increments`` times (1 to 200,000), every one holding the counter's lock
    around each add when ``use_lock`` is true. At most ``timeout`` seconds.
    """
    processes = check_int("processes", processes, minimum=1, maximum=8)
    increments = check_int("increments", increments, minimum=1, maximum=200_000)
    check_type("use_lock", use_lock, bool)
    repeats = check_int("repeats", repeats, minimum=1, maximum=50)
    timeout = check_timeout("timeout", timeout)
    mode = "locked" if use_lock else "unlocked"
    race = run_race(processes, increments, mode, rounds=repeats, timeout=timeout)
    return RaceLab(race, use_lock)


def plot_race(result: RaceLab) -> Figure:
    """Bar chart of the final count in each round, with the expected count as a line."""
    check_type("result", result, RaceLab)
    race = result.race
    fig, (ax_counts, ax_lost) = plt.subplots(1, 2, figsize=(9, 3.2))
    rounds = range(1, len(race.counts) + 1)
    colours = ["tab:green" if lost == 0 else "tab:red" for lost in race.lost]
    ax_counts.bar(rounds, race.counts, color=colours)
    ax_counts.axhline(race.expected, color="black", linestyle="--", label="expected")
    ax_counts.set_ylim(0, race.expected * 1.1)
    ax_counts.set_xlabel("round")
    ax_counts.set_ylabel("final count")
    ax_counts.set_title("Final count per round (red: updates lost)")
    ax_counts.legend(loc="lower right")
    ax_lost.hist(race.lost, bins=min(10, len(race.lost)), color="tab:gray")
    ax_lost.set_xlabel("updates lost in a round")
    ax_lost.set_ylabel("rounds")
    ax_lost.set_title("How many updates were lost")
    fig.suptitle(result.summary(), fontsize=9)
    fig.tight_layout()
    return fig


def race_panel() -> widgets.VBox:
    """The race lab: sliders for processes, increments and rounds, a lock toggle, Run."""
    style = {"description_width": "initial"}
    controls = {
        "processes": widgets.IntSlider(value=2, min=1, max=8, description="processes", style=style),
        "increments": widgets.IntSlider(
            value=10_000,
            min=100,
            max=100_000,
            step=100,
            description="increments per process",
            style=style,
        ),
        "repeats": widgets.IntSlider(value=20, min=1, max=50, description="rounds", style=style),
        "use_lock": widgets.Checkbox(value=False, description="use the counter's lock"),
    }

    return make_panel(
        "Race lab: one shared counter, many processes",
        controls,
        run=lambda **values: plot_race(run_race_lab(**values)),
    )
