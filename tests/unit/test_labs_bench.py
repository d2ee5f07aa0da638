"""The lab of notebook 05: run_comparison, the plots, the table and the panel."""

from __future__ import annotations

import multiprocessing as mp

import matplotlib
import pytest

from ipc_helpers import bench
from ipc_helpers.labs import bench as lab
from ipc_helpers.labs.panel import press

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def figures():
    return lab.run_comparison(["pipe_bytes", "shared_memory"], 64, 4096, rounds=1)


def test_run_comparison_measures_the_chosen_range(figures):
    assert {f.payload for f in figures} == {64, 1024, 4096}
    assert {f.mechanism for f in figures} == {
        "pipe_bytes",
        "shared_memory",
        "raw_socketpair",
        "memcpy",
    }
    assert all(f.median > 0 for f in figures)
    assert mp.active_children() == []


def test_run_comparison_between_lab_sizes_uses_the_minimum():
    figures = lab.run_comparison(["pipe_oneway"], 100, 200, rounds=1)
    assert {f.payload for f in figures} == {100}


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        ({"mechanisms": ["pipes"]}, ValueError, "unknown mechanism 'pipes'"),
        ({"min_payload": 4096, "max_payload": 64}, ValueError, "must not be larger"),
        ({"max_payload": 64 * bench.MiB}, ValueError, "max_payload must be at most"),
        ({"rounds": 0}, ValueError, "rounds must be at least 1"),
        ({"min_payload": "64"}, TypeError, "min_payload must be a whole number"),
    ],
)
def test_run_comparison_rejects_bad_input(kwargs, error, text):
    with pytest.raises(error, match=text):
        lab.run_comparison(**kwargs)


def test_plot_comparison(figures):
    ax = lab.plot_comparison(figures)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert bench.REFERENCES["memcpy"] in labels
    assert bench.THROUGHPUT["pipe_bytes"][0] in labels
    with pytest.raises(ValueError, match="empty"):
        lab.plot_comparison([])
    with pytest.raises(TypeError, match=r"figures\[0\] must be Figure"):
        lab.plot_comparison(["x"])


def test_percent_table(figures):
    table = lab.percent_table(figures)
    assert "64 B" in table.splitlines()[0] and "4 KiB" in table.splitlines()[0]
    assert any(
        line.startswith(bench.THROUGHPUT["shared_memory"][0][:30]) for line in table.splitlines()
    )
    assert "raw socket" not in table  # references are not rows


def test_plot_round_trips():
    rows = [
        bench.Figure("raw_pipe_rt", "round trip", 0, 7, "µs", 6, 7, 8, 5, label="raw"),
        bench.Figure("queue", "round trip", 0, 60, "µs", 50, 60, 70, 5, label="Queue"),
    ]
    ax = lab.plot_round_trips(rows)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["raw", "Queue"]
    with pytest.raises(ValueError, match="no round-trip"):
        lab.plot_round_trips([])


def test_panel_runs_with_its_controls():
    panel = lab.comparison_panel()
    _, mechanisms, payloads, rounds, row, _ = panel.children
    mechanisms.value = ("pipe_bytes",)
    payloads.index = (0, 1)
    rounds.value = 1
    press(panel)
    status = row.children[1]
    assert status.value == ""  # no error shown
    assert not row.children[0].disabled
    assert mp.active_children() == []
