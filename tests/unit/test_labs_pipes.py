"""The send-race lab of notebook 02 (``ipc_helpers.labs.pipes``)."""

from __future__ import annotations

import multiprocessing as mp

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import pytest

from ipc_helpers.labs.panel import press
from ipc_helpers.labs.pipes import (
    SendRaceLab,
    message_sizes,
    plot_send_race,
    run_send_race,
    send_race_panel,
)
from ipc_helpers.pipes import RaceResult

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def no_children_left():
    yield
    assert not mp.active_children()


def test_message_sizes_are_log_spaced_from_1_kib():
    sizes = message_sizes(1024, 11)
    assert sizes[0] == 1024 and sizes[-1] == 1024 * 1024
    assert sizes == sorted(sizes) and len(sizes) == 11
    assert sizes[5] == 32 * 1024  # the middle of 2**10 .. 2**20 on a log scale


def test_both_send_first_deadlocks_only_above_the_buffer():
    lab = run_send_race(max_kib=1024, points=3)  # 1 KiB, 32 KiB, 1 MiB
    assert [r.finished for r in lab.results] == [True, True, False]
    assert lab.largest_finished == 32 * 1024
    assert lab.smallest_deadlocked == 1024 * 1024
    assert 32 * 1024 < lab.results[-1].queued < 1024 * 1024


def test_receiving_first_never_deadlocks():
    lab = run_send_race(max_kib=1024, points=3, duplex=False, both_send_first=False)
    assert all(r.finished for r in lab.results)
    assert lab.smallest_deadlocked == 0


def made_up() -> SendRaceLab:
    results = [
        RaceResult(1024, True, True, True, 0),
        RaceResult(2**20, True, True, False, 219_268),
    ]
    return SendRaceLab(results, duplex=True, both_send_first=True)


def test_plot_marks_finished_and_deadlocked_swaps():
    fig = plot_send_race(made_up())
    (ax,) = fig.axes
    assert ax.get_title() == "Pipe(), both send first"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["the whole message", "swap finished", "deadlock"]
    assert any("219,268 B" in t.get_text() for t in ax.texts)
    plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"max_kib": 1}, ValueError, "max_kib must be at least 2"),
        ({"max_kib": 1024.0}, TypeError, "max_kib must be a whole number"),
        ({"points": 1}, ValueError, "points must be at least 2"),
        ({"duplex": "yes"}, TypeError, "duplex must be bool"),
        ({"both_send_first": None}, TypeError, "both_send_first must be bool"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        run_send_race(**kwargs)


def test_plot_refuses_other_things():
    with pytest.raises(TypeError, match="lab must be SendRaceLab"):
        plot_send_race([1, 2])


def test_panel_runs_the_lab_when_pressed():
    panel = send_race_panel()
    assert isinstance(panel, widgets.VBox)
    panel.children[1].value = 64  # largest size: 64 KiB, so the run is short
    status = panel.children[-2].children[1]
    press(panel)
    assert status.value == ""  # no error was shown
    assert not panel.children[-2].children[0].disabled
