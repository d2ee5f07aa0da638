"""The race lab and plots of notebook 03: logic, plots and panel, without a browser."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from ipc_helpers.cleanup import live_children
from ipc_helpers.labs import style
from ipc_helpers.labs.panel import press, status_of
from ipc_helpers.labs.shared import plot_lock_costs, plot_value_race, race_panel, run_race_lab
from ipc_helpers.shared import ValueRace

matplotlib.use("Agg")


def race(mode: str = "unlocked", counts: tuple[int, ...] = (20, 15, 11)) -> ValueRace:
    return ValueRace(2, 10, mode, counts=list(counts), seconds=[0.001 * c for c in counts])


def test_with_the_lock_every_round_is_exact():
    result = run_race_lab(processes=3, increments=2_000, use_lock=True, rounds=4)
    assert result.mode == "locked" and result.counts == [6_000] * 4
    assert result.wrong_rounds == 0
    assert result.summary() == (
        "3 × 2,000 increments, locked: expected 6,000, got 6,000; 0 of 4 rounds lost updates"
    )
    assert live_children() == []


def test_without_the_lock_updates_are_lost():
    result = run_race_lab(processes=2, increments=20_000, use_lock=False, rounds=20)
    assert result.mode == "unlocked" and result.wrong_rounds > 0
    assert live_children() == []


def test_one_process_never_loses():
    result = run_race_lab(processes=1, increments=5_000, use_lock=False, rounds=3)
    assert result.counts == [5_000] * 3


def _hatches(ax) -> list[str]:
    return [patch.get_hatch() or "" for patch in ax.patches]


def test_race_plot_marks_lost_rounds_by_hatch_not_only_colour():
    fig = plot_value_race(race())
    ax_counts, ax_lost = fig.axes
    assert isinstance(fig, Figure)
    assert _hatches(ax_counts) == ["", style.LOST_HATCH, style.LOST_HATCH]
    assert ax_counts.get_title() == "Final count of each round"
    assert ax_lost.get_title() == "The 2 rounds that lost updates"
    assert [t.get_text() for t in ax_counts.texts] == ["expected 20"]  # labelled on the line
    assert ax_counts.get_legend() is None  # the legend sits beside the data, on the right
    assert [t.get_text() for t in ax_lost.get_legend().get_texts()] == [
        "every update counted",
        "updates lost",
    ]
    assert fig._suptitle.get_text() == "2 processes × 10 increments each, no lock"
    plt.close(fig)


def test_race_plot_says_so_when_nothing_was_lost():
    fig = plot_value_race(race("locked", (20, 20)))
    assert [t.get_text() for t in fig.axes[1].texts] == ["no round lost an update"]
    assert fig._suptitle.get_text().endswith("each add under the counter's lock")
    plt.close(fig)


def test_lock_costs_compare_like_with_like():
    races = {"unlocked": race(), "locked": race("locked", (20, 20, 20))}
    fig = plot_lock_costs(races)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "unlocked (wrong)",
        "lock per increment",
    ]
    assert _hatches(ax) == [style.LOST_HATCH, ""]
    assert [t.get_text() for t in ax.texts] == [
        " 15.0 ms, 14 updates lost in 3 rounds",
        " 20.0 ms, right",
    ]
    assert "median of 3 rounds" in ax.get_title()
    plt.close(fig)
    uneven = {"unlocked": race(), "locked": race("locked", (20, 20))}
    with pytest.raises(ValueError, match="same processes, increments and rounds"):
        plot_lock_costs(uneven)
    with pytest.raises(ValueError, match="races must map some of"):
        plot_lock_costs({"careful": race()})
    with pytest.raises(TypeError, match="races must be Mapping"):
        plot_lock_costs([race()])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"processes": 0}, ValueError, "processes must be at least 1"),
        ({"processes": 9}, ValueError, "processes must be at most 8"),
        ({"increments": 0}, ValueError, "increments must be at least 1"),
        ({"use_lock": 1}, TypeError, "use_lock must be bool"),
        ({"rounds": 51}, ValueError, "rounds must be at most 50"),
        ({"timeout": -1}, ValueError, "timeout must be greater than 0"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        run_race_lab(**kwargs)


def test_plot_rejects_other_objects():
    with pytest.raises(TypeError, match="race must be ValueRace"):
        plot_value_race([1, 2])


def test_panel_runs_with_its_controls(capsys):
    panel = race_panel()
    controls = {c.description: c for c in panel.children[1:-2]}
    assert list(controls) == [
        "processes",
        "increments per process",
        "rounds",
        "use the counter's lock",
    ]
    controls["increments per process"].value = 1_000
    controls["rounds"].value = 2
    controls["use the counter's lock"].value = True
    press(panel)  # outside a kernel, what the run prints reaches stdout
    assert status_of(panel) == ""
    printed = capsys.readouterr().out
    assert "2 × 1,000 increments, locked: expected 2,000, got 2,000" in printed
    assert live_children() == []
    plt.close("all")
