"""The swap lab of notebook 02 (``ipc_helpers.labs.pipes``)."""

from __future__ import annotations

import multiprocessing as mp

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import pytest

from ipc_helpers.labs import style
from ipc_helpers.labs.panel import press, status_of
from ipc_helpers.labs.pipes import (
    SwapLab,
    message_sizes,
    plot_swaps,
    run_swaps,
    swaps_panel,
)
from ipc_helpers.pipes import SwapTrial

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
    lab = run_swaps(max_kib=1024, points=3)  # 1 KiB, 32 KiB, 1 MiB
    assert [r.finished for r in lab.results] == [True, True, False]
    assert lab.largest_finished == 32 * 1024
    assert lab.smallest_deadlocked == 1024 * 1024
    assert 32 * 1024 < lab.results[-1].queued < 1024 * 1024


def test_receiving_first_never_deadlocks():
    lab = run_swaps(max_kib=1024, points=3, duplex=False, both_send_first=False)
    assert all(r.finished for r in lab.results)
    assert lab.smallest_deadlocked == 0


def made_up() -> SwapLab:
    results = [
        SwapTrial(1024, True, True, True, 0),
        SwapTrial(2**20, True, True, False, 219_268),
    ]
    return SwapLab(results, duplex=True, both_send_first=True)


def test_plot_marks_finished_and_deadlocked_swaps():
    fig = plot_swaps(made_up())
    (ax,) = fig.axes
    assert ax.get_title() == "Which swaps deadlock? one Pipe(), both send first"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["swap finished", "deadlocked", "the line lies in here"]
    texts = [t.get_text() for t in ax.texts]
    assert "most taken before a send blocked: 219,268 B" in texts  # on the line, not a legend
    assert "the whole message" in texts
    finished, deadlocked = ax.collections[:2]
    assert finished.get_facecolor()[0][:3] == pytest.approx(
        matplotlib.colors.to_rgb(style.role("ok").line)
    )
    assert deadlocked.get_facecolor()[0][:3] == pytest.approx(
        matplotlib.colors.to_rgb(style.role("lost").line)
    )
    assert ax.get_legend().get_bbox_to_anchor().x0 > ax.get_window_extent().x1 - 1  # outside
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
        run_swaps(**kwargs)


def test_plot_refuses_other_things():
    with pytest.raises(TypeError, match="lab must be SwapLab"):
        plot_swaps([1, 2])


def _find(widget, kind):
    """The first widget of ``kind`` in the tree under ``widget``."""
    if isinstance(widget, kind):
        return widget
    for child in getattr(widget, "children", ()):
        found = _find(child, kind)
        if found is not None:
            return found
    return None


def test_panel_runs_the_lab_when_pressed():
    panel = swaps_panel()
    assert isinstance(panel, widgets.VBox)
    _find(panel, widgets.SelectionSlider).value = 64  # largest size 64 KiB: a short run
    press(panel)
    assert status_of(panel) == ""  # no error was shown
    assert not mp.active_children()
