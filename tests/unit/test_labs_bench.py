"""The lab of notebook 05: run_comparison, the plots, the tables and the panel."""

from __future__ import annotations

import multiprocessing as mp

import matplotlib
import pytest

from ipc_helpers import bench
from ipc_helpers.labs import bench as lab
from ipc_helpers.labs.panel import press, status_of

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def rows():
    return lab.run_comparison(["pipe_bytes", "shared_memory"], 64, 4096, rounds=1)


def test_run_comparison_measures_the_chosen_range(rows):
    assert {m.payload for m in rows} == {64, 1024, 4096}
    assert {m.mechanism for m in rows} == {
        "pipe_bytes",
        "shared_memory",
        "raw_socketpair",
        "memcpy",
    }
    assert mp.active_children() == []


def test_run_comparison_between_lab_sizes_uses_the_minimum():
    rows = lab.run_comparison(["pipe_oneway"], 100, 200, rounds=1)
    assert {m.payload for m in rows} == {100}


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        ({"mechanisms": ["pipes"]}, ValueError, "unknown mechanism 'pipes'"),
        ({"min_payload": 4096, "max_payload": 64}, ValueError, "must not be larger"),
        ({"max_payload": 64 * bench.MiB}, ValueError, "max_payload must be at most"),
        ({"rounds": 0}, ValueError, "rounds must be at least 1"),
        ({"min_payload": "64"}, TypeError, "min_payload must be a whole number"),
        ({"placement": "pinned"}, ValueError, "placement must be one of"),
    ],
)
def test_run_comparison_rejects_bad_input(kwargs, error, text):
    with pytest.raises(error, match=text):
        lab.run_comparison(**kwargs)


def test_plot_comparison_labels_references_on_their_line(rows):
    ax = lab.plot_comparison(rows, title="what this panel shows")
    assert ax.get_title() == "what this panel shows"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [bench.THROUGHPUT["pipe_bytes"][0], bench.THROUGHPUT["shared_memory"][0]]
    on_lines = {t.get_text() for t in ax.texts}
    assert on_lines == {bench.REFERENCES["raw_socketpair"], bench.REFERENCES["memcpy"]}
    assert all(t.get_rotation() == 0 for t in ax.get_xticklabels())
    assert "error bars" in ax.get_legend().get_title().get_text()
    with pytest.raises(ValueError, match="no throughput"):
        lab.plot_comparison([])
    with pytest.raises(TypeError, match=r"rows\[0\] must be Measurement"):
        lab.plot_comparison(["x"])


def test_every_mechanism_is_drawn_its_own_way():
    looks = [(lab.LOOKS[name]["color"], lab.LOOKS[name]["marker"]) for name in bench.THROUGHPUT]
    assert len(set(looks)) == len(looks)  # no two mechanisms drawn alike
    assert lab.LOOKS["queue"]["color"] != lab.LOOKS["simplequeue"]["color"]
    assert lab.LOOKS["queue"]["linestyle"] != lab.LOOKS["simplequeue"]["linestyle"]


def test_tables_hold_what_the_notebook_reads(rows):
    pivot = lab.throughput_table(rows)
    assert pivot.columns == ["mechanism", "64 B", "1 KiB", "4 KiB"]
    assert [r[0] for r in pivot.rows] == [
        bench.REFERENCES["raw_socketpair"],
        "memcpy (numpy.copyto)",
        bench.THROUGHPUT["pipe_bytes"][0],
        bench.THROUGHPUT["shared_memory"][0],
    ]
    percent = lab.percent_table(rows)
    assert [r[0] for r in percent.rows] == [bench.THROUGHPUT["pipe_bytes"][0]]  # same work only
    assert all(cell.endswith("%") for cell in percent.rows[0][1:])
    every = lab.measurements_table(rows)
    assert (
        len(every.rows) == len(rows) and every.caption == f"All {len(rows)} measurements of the run"
    )
    assert max(len(line) for line in repr(every).splitlines()) <= 90


def row(mechanism, operation, median, placement=bench.ONE_CPU, unit="µs", label=""):
    return bench.Measurement(
        mechanism,
        operation,
        0,
        median,
        unit,
        median,
        median,
        1,
        label or mechanism,
        placement=placement,
    )


def test_plot_round_trips_draws_the_raw_pipe_as_a_line():
    rows = [
        row("raw_pipe_rt", "round trip", 7, label="raw"),
        row("queue", "round trip", 60, label="Queue"),
    ]
    ax = lab.plot_round_trips(rows)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Queue"]
    assert any("raw: 7 µs" in t.get_text() for t in ax.texts)
    with pytest.raises(ValueError, match="no round-trip"):
        lab.plot_round_trips([])


def test_placement_and_honesty_tables():
    rows = [
        row("raw_pipe_rt", "round trip", 7.0),
        row("raw_pipe_rt", "round trip", 21.0, bench.FREE),
    ]
    assert lab.placement_table(rows).rows == [["raw_pipe_rt", 7.0, 21.0, "µs", "3.00"]]
    agreement = [bench.Agreement("Queue put/get", "µs", 30.0, 33.0)]
    table = lab.honesty_table(agreement)
    assert table.rows == [["Queue put/get", 30.0, 33.0, "µs", "1.10", 1]]
    assert table.caption == "Largest disagreement: 1.10x, within the target of 1.5x"


def widgets_in(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from widgets_in(child)


def test_panel_runs_with_its_controls():
    panel = lab.comparison_panel()
    found = {getattr(w, "description", ""): w for w in widgets_in(panel)}
    found["mechanisms"].value = ("pipe_bytes",)
    found["payloads"].index = (0, 1)
    found["rounds"].value = 1
    press(panel)
    assert status_of(panel) == ""  # no error shown
    assert mp.active_children() == []
