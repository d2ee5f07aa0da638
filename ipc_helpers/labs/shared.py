"""Plots and the lab of notebook 03: the race on a shared ``Value``.

Several processes add 1 to one shared counter, many times, with or without a
lock. ``run_race_lab`` runs the experiment (``shared.run_value_race``) and
returns the numbers; ``plot_value_race`` draws them; ``race_panel`` puts both
behind sliders and a Run button. ``plot_lock_costs`` compares the time per
round of the three ways to count (unlocked, locked, batched).
"""

from __future__ import annotations

from collections.abc import Mapping
from statistics import median

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..shared import MODES, ValueRace, run_value_race
from ..validation import check_int, check_timeout, check_type
from . import style
from .panel import checkbox, make_panel, slider

#: What each way of counting is called on the plots.
MODE_LABELS = {
    "unlocked": "unlocked (wrong)",
    "locked": "lock per increment",
    "batched": "count locally, add once",
}

#: How each way of counting is described in a figure's overall title.
SETUPS = {
    "unlocked": "no lock",
    "locked": "each add under the counter's lock",
    "batched": "counted locally, one locked add",
}


def run_race_lab(
    processes: int = 2,
    increments: int = 10_000,
    use_lock: bool = False,
    rounds: int = 20,
    timeout: float = 30.0,
) -> ValueRace:
    """Run the race ``rounds`` times and return the counts.

    ``processes`` processes (1 to 8) each add 1 to a shared ``Value``
    ``increments`` times (1 to 200,000), each holding the counter's lock
    around every add when ``use_lock`` is true. At most ``timeout`` seconds.
    """
    processes = check_int("processes", processes, minimum=1, maximum=8)
    increments = check_int("increments", increments, minimum=1, maximum=200_000)
    check_type("use_lock", use_lock, bool)
    rounds = check_int("rounds", rounds, minimum=1, maximum=50)
    timeout = check_timeout("timeout", timeout)
    mode = "locked" if use_lock else "unlocked"
    return run_value_race(processes, increments, mode, rounds=rounds, timeout=timeout)


def _outcome_patch(ok: bool, label: str) -> Patch:
    look = style.outcome_bar(ok=ok)
    return Patch(facecolor=look["color"], hatch=look["hatch"], edgecolor="white", label=label)


def plot_value_race(race: ValueRace) -> Figure:
    """Two panels: the final count of each round against the expected count, and
    how many updates each round lost. Lost rounds are hatched, not only coloured."""
    check_type("race", race, ValueRace)
    with style.context():
        fig, (ax_counts, ax_lost) = plt.subplots(
            1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [3, 2]}
        )
        rounds = range(1, len(race.counts) + 1)
        for r, count, lost in zip(rounds, race.counts, race.lost, strict=True):
            ax_counts.bar(r, count, **style.outcome_bar(ok=lost == 0))
        reference = style.role("reference").line
        expected = ax_counts.axhline(race.expected, color=reference, linestyle="--")
        style.label_line(ax_counts, expected, f"expected {race.expected:,}", at=0.0)
        ax_counts.set_ylim(0, race.expected * 1.15)
        ax_counts.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_counts.set_xlabel("round")
        ax_counts.set_ylabel("final count")
        ax_counts.set_title("Final count of each round")
        wrong = [lost for lost in race.lost if lost]
        if wrong:
            ax_lost.hist(wrong, bins=min(10, len(wrong)), **style.outcome_bar(ok=False))
        else:
            ax_lost.text(
                0.5, 0.5, "no round lost an update", ha="center", transform=ax_lost.transAxes
            )
        ax_lost.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax_lost.set_xlabel("updates lost in the round")
        ax_lost.set_ylabel("rounds")
        ax_lost.set_title(f"The {len(wrong)} rounds that lost updates")
        style.legend_outside(
            ax_lost,
            handles=[
                _outcome_patch(True, "every update counted"),
                _outcome_patch(False, "updates lost"),
            ],
        )
        how = SETUPS[race.mode]
        fig.suptitle(f"{race.processes} processes × {race.increments:,} increments each, {how}")
        fig.tight_layout()
    return fig


def plot_lock_costs(races: Mapping[str, ValueRace]) -> Figure:
    """Median time per round of each way of counting (bars), wrong ones hatched.

    ``races`` maps a mode of ``shared.MODES`` to its ``ValueRace``; all must
    have the same processes, increments and number of rounds (like with like).
    """
    check_type("races", races, Mapping)
    if not races or set(races) - set(MODES):
        raise ValueError(f"races must map some of {MODES} to a ValueRace, got {list(races)}")
    shapes = {(r.processes, r.increments, len(r.counts)) for r in races.values()}
    if len(shapes) != 1:
        raise ValueError("races must all have the same processes, increments and rounds")
    processes, increments, rounds = shapes.pop()
    names = list(races)
    ms = [1000 * median(races[m].seconds) for m in names]
    with style.context():
        fig, ax = plt.subplots(figsize=(8, 2.8))
        for y, (mode, value) in enumerate(zip(names, ms, strict=True)):
            lost = sum(races[mode].lost)
            ax.barh(y, value, **style.outcome_bar(ok=lost == 0))
            note = f"{lost:,} updates lost in {rounds} rounds" if lost else "right"
            ax.text(value, y, f" {value:.1f} ms, {note}", va="center", fontsize=10)
        ax.set_yticks(range(len(names)), [MODE_LABELS[m] for m in names])
        ax.invert_yaxis()
        ax.set_xlim(0, max(ms) * 1.7)
        ax.set_xlabel("milliseconds per round (median)")
        ax.set_title(
            f"Time per round: {processes} processes × {increments:,} increments, "
            f"median of {rounds} rounds"
        )
        ax.grid(axis="y", visible=False)
        fig.tight_layout()
    return fig


def race_panel() -> widgets.VBox:
    """The race lab: sliders for processes, increments and rounds, a lock checkbox, Run."""
    controls = {
        "processes": slider("processes", 2, 1, 8),
        "increments": slider("increments per process", 10_000, 100, 100_000, 100),
        "rounds": slider("rounds", 20, 1, 50),
        "use_lock": checkbox("use the counter's lock"),
    }

    def run(**values: object) -> Figure:
        race = run_race_lab(**values)  # type: ignore[arg-type]
        print(race.summary())
        return plot_value_race(race)

    return make_panel("Race lab: one shared counter, many processes", controls, run=run)
