"""The race lab of notebook 03: logic, plot and panel, without a browser."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from ipc_helpers.cleanup import live_children
from ipc_helpers.labs.panel import press
from ipc_helpers.labs.shared import RaceLab, plot_race, race_panel, run_race_lab
from ipc_helpers.shared import Race

matplotlib.use("Agg")


def test_with_the_lock_every_round_is_exact():
    result = run_race_lab(processes=3, increments=2_000, use_lock=True, repeats=4)
    assert result.race.counts == [6_000] * 4
    assert result.wrong_rounds == 0
    assert result.summary() == (
        "3 processes x 2,000 increments, with a lock: expected 6,000; got 6,000 to 6,000; "
        "0 of 4 rounds lost updates"
    )
    assert live_children() == []


def test_without_the_lock_updates_are_lost():
    result = run_race_lab(processes=2, increments=20_000, use_lock=False, repeats=20)
    assert result.wrong_rounds > 0
    assert "without a lock" in result.summary()
    assert live_children() == []


def test_one_process_never_loses():
    result = run_race_lab(processes=1, increments=5_000, use_lock=False, repeats=3)
    assert result.race.counts == [5_000] * 3


def test_summary_counts_wrong_rounds():
    race = Race(2, 10, "unlocked", counts=[20, 15, 11], seconds=[0.1, 0.1, 0.1])
    lab = RaceLab(race, use_lock=False)
    assert lab.wrong_rounds == 2
    assert lab.summary().endswith("got 11 to 20; 2 of 3 rounds lost updates")


def test_plot_has_counts_and_histogram():
    race = Race(2, 10, "unlocked", counts=[20, 15, 11], seconds=[0.1, 0.1, 0.1])
    fig = plot_race(RaceLab(race, use_lock=False))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[0].get_xlabel() == "round"
    plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"processes": 0}, ValueError, "processes must be at least 1"),
        ({"processes": 9}, ValueError, "processes must be at most 8"),
        ({"increments": 0}, ValueError, "increments must be at least 1"),
        ({"use_lock": 1}, TypeError, "use_lock must be bool"),
        ({"repeats": 51}, ValueError, "repeats must be at most 50"),
        ({"timeout": -1}, ValueError, "timeout must be greater than 0"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        run_race_lab(**kwargs)


def test_plot_rejects_other_objects():
    with pytest.raises(TypeError, match="result must be RaceLab"):
        plot_race([1, 2])


def test_panel_runs_with_its_controls():
    panel = race_panel()
    controls = panel.children[1:-2]
    assert [c.description for c in controls] == [
        "processes",
        "increments per process",
        "rounds",
        "use the counter's lock",
    ]
    controls[1].value = 1_000
    controls[2].value = 2
    controls[3].value = True
    press(panel)
    button, status = panel.children[-2].children
    assert status.value == "" and not button.disabled
    assert live_children() == []
    plt.close("all")
