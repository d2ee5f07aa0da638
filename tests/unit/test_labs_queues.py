"""The backpressure lab of notebook 01 (``ipc_helpers.labs.queues``)."""

from __future__ import annotations

import multiprocessing as mp

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import pytest

from ipc_helpers.labs.panel import press, status_of
from ipc_helpers.labs.queues import (
    Backpressure,
    backpressure_panel,
    plot_backpressure,
    run_backpressure,
)

matplotlib.use("Agg")


def made_up(puts, gets, maxsize=2) -> Backpressure:
    return Backpressure(
        n_items=len(puts),
        maxsize=maxsize,
        produce_every=0.0,
        consume_every=0.1,
        puts=puts,
        gets=gets,
    )


def test_depth_counts_items_between_put_and_get():
    # item 0: put at 0-0.1, taken at 0.5; item 1: put at 0.2-0.3, taken at 0.6;
    # item 2: put blocked 0.4-0.7 (room only after a get), taken when it arrived.
    result = made_up(
        puts=[(0.0, 0.1), (0.2, 0.3), (0.4, 0.7)], gets=[(0.5, 0.5), (0.6, 0.6), (0.65, 0.8)]
    )
    times, depths = result.depth()
    assert times == [0.0, 0.1, 0.3, 0.5, 0.6, 0.7, 0.7]
    assert depths == [0, 1, 2, 1, 0, 1, 0]
    assert result.max_depth == 2
    assert result.blocked == pytest.approx([0.1, 0.1, 0.3])
    assert result.total_blocked == pytest.approx(0.5)
    assert result.elapsed == pytest.approx(0.8)


def test_bounded_queue_blocks_the_fast_producer():
    result = run_backpressure(n_items=12, produce_every=0.0, consume_every=0.02, maxsize=2)
    assert len(result.puts) == len(result.gets) == 12
    assert result.max_depth <= 2
    assert max(result.waiting_at_gets()[1]) <= 2
    assert result.total_blocked > 0.1
    assert not mp.active_children()


def test_unbounded_queue_lets_the_producer_run_ahead():
    result = run_backpressure(n_items=12, produce_every=0.0, consume_every=0.02, maxsize=0)
    assert result.max_depth > 2
    assert result.total_blocked < 0.1  # a put never waits for room


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_items": 0}, ValueError, "n_items must be at least 1"),
        ({"n_items": 2.0}, TypeError, "n_items must be a whole number"),
        ({"produce_every": -0.1}, ValueError, "produce_every must be at least 0"),
        ({"consume_every": "slow"}, TypeError, "consume_every must be a number"),
        ({"maxsize": -1}, ValueError, "maxsize must be at least 0"),
        ({"timeout": None}, TypeError, "None \\(wait forever\\)"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        run_backpressure(**kwargs)


def test_waiting_at_gets_counts_items_put_before_each_get_minus_those_taken():
    result = made_up(
        puts=[(0.0, 0.1), (0.2, 0.3), (0.4, 0.7)], gets=[(0.5, 0.5), (0.6, 0.6), (0.65, 0.8)]
    )
    times, counts = result.waiting_at_gets()
    assert times == [0.5, 0.6, 0.65]
    assert counts == [2, 1, 0]  # the third item arrived (0.7) after the third get began


def test_plot_shows_progress_and_the_items_waiting():
    result = made_up(puts=[(0.0, 0.1), (0.2, 0.3)], gets=[(0.5, 0.5), (0.6, 0.6)])
    fig = plot_backpressure(result)
    top, bottom = fig.axes
    assert top.get_ylabel() == "items so far"
    legend = [t.get_text() for t in top.get_legend().get_texts()]
    assert legend == ["producer:\nitems put", "consumer:\nitems taken"]
    assert [line.get_linestyle() for line in top.get_lines()] == ["-", "--"]  # not colour only
    assert "maxsize = 2" in [t.get_text() for t in bottom.texts]  # labelled on its line
    assert bottom.get_legend() is None
    assert "put() was blocked 0.20 s of 0.60 s" in bottom.get_title()
    plt.close(fig)
    with pytest.raises(TypeError, match="result must be Backpressure"):
        plot_backpressure({"puts": []})


def test_panel_runs_the_lab_with_its_controls():
    panel = backpressure_panel()
    assert isinstance(panel, widgets.VBox)
    sliders = {
        c.description: c
        for row in panel.children
        for c in ([row] + list(getattr(row, "children", [])))
        if isinstance(c, widgets.IntSlider)
    }
    assert set(sliders) == {
        "producer: ms per item",
        "consumer: ms per item",
        "maxsize (0 = no limit)",
        "items",
    }
    sliders["items"].value = 5
    sliders["producer: ms per item"].value = 0
    sliders["consumer: ms per item"].value = 5
    press(panel)
    assert status_of(panel) == ""  # no error
    assert not mp.active_children()
