"""Unit tests of the lab of notebook 04 (ipc_helpers.labs.managers)."""

from __future__ import annotations

import multiprocessing as mp

import ipywidgets as widgets
import matplotlib
import matplotlib.pyplot as plt
import pytest

from ipc_helpers.labs import managers as lab
from ipc_helpers.labs import style
from ipc_helpers.labs.panel import press
from ipc_helpers.managers import Costs, DictRace

matplotlib.use("Agg")


def test_counter_lab_without_a_lock_loses_manager_updates():
    result = lab.run_counter_lab(4, 300, use_lock=False)
    assert result.expected == 1200
    assert 0 < result.manager_count < result.expected  # 4 x 300 read-then-write: losses
    assert 0 < result.value_count <= result.expected  # fast enough that it may not lose
    assert result.lost("manager") == result.expected - result.manager_count
    assert result.manager_seconds > 0 and result.value_seconds > 0
    assert mp.active_children() == []


def test_counter_lab_with_a_lock_is_exact():
    result = lab.run_counter_lab(3, 200, use_lock=True)
    assert (result.manager_count, result.value_count) == (600, 600)
    assert (result.lost("manager"), result.lost("value")) == (0, 0)
    assert mp.active_children() == []


def test_lost_rejects_an_unknown_kind():
    result = lab.CounterLabResult(2, 10, False, 15, 20, 0.1, 0.01)
    assert (result.lost("manager"), result.lost("value")) == (5, 0)
    with pytest.raises(ValueError, match="kind"):
        result.lost("queue")


@pytest.mark.parametrize(
    "kwargs, error, word",
    [
        ({"processes": 0}, ValueError, "processes"),
        ({"processes": 17}, ValueError, "processes"),
        ({"processes": 2.0}, TypeError, "processes"),
        ({"increments": 0}, ValueError, "increments"),
        ({"increments": 20_001}, ValueError, "increments"),
        ({"use_lock": "yes"}, TypeError, "use_lock"),
        ({"timeout": 0}, ValueError, "timeout"),
    ],
)
def test_run_counter_lab_rejects_bad_input(kwargs, error, word):
    with pytest.raises(error, match=word):
        lab.run_counter_lab(**kwargs)
    assert mp.active_children() == []


def test_plot_counter_lab_draws_counts_and_times_in_one_unit():
    fig = lab.plot_counter_lab(lab.CounterLabResult(2, 10, False, 15, 20, 0.2, 0.01))
    left, right = fig.axes
    assert [p.get_height() for p in left.patches] == [15, 20]
    assert [p.get_hatch() for p in left.patches] == [style.LOST_HATCH, ""]  # not colour alone
    assert left.get_lines()[0].get_ydata()[0] == 20  # the expected count, labelled on the line
    assert any(t.get_text() == "expected 20" for t in left.texts)
    assert left.get_legend() is None and right.get_legend() is None  # nothing on the data
    assert [p.get_height() for p in right.patches] == pytest.approx([200.0, 10.0])  # ms
    assert "(ms)" in right.get_ylabel()
    assert [t.get_text() for t in right.texts] == ["200.0 ms", "10.0 ms"]
    assert left.get_title() and right.get_title()
    assert "without a lock" in fig._suptitle.get_text()
    plt.close("all")
    with pytest.raises(TypeError, match="result"):
        lab.plot_counter_lab({"manager_count": 1})


def test_plot_dict_race_draws_one_bar_per_process_count():
    races = [DictRace(2, [2, 1], "no lock"), DictRace(4, [1, 2], "no lock")]
    fig = lab.plot_dict_race(races)
    left, right = fig.axes
    assert [p.get_height() for p in left.patches] == [50.0, 100.0]
    assert [p.get_height() for p in right.patches] == [0.5, 2.5]
    assert all(p.get_hatch() == style.LOST_HATCH for p in left.patches + right.patches)
    assert left.get_title() == "Rounds that lost at least one update"
    plt.close("all")
    with pytest.raises(ValueError, match="races"):
        lab.plot_dict_race([])
    with pytest.raises(TypeError, match=r"races\[0\]"):
        lab.plot_dict_race([3])


def test_plot_costs_draws_every_operation():
    costs = Costs({"plain dict d[k] = v": 1e-7, "manager d[k] = v": 1e-4})
    fig = lab.plot_costs(costs)
    ax = fig.axes[0]
    assert [p.get_width() for p in ax.patches] == pytest.approx([0.1, 100.0])
    assert [p.get_hatch() or "" for p in ax.patches] == ["", "..."]
    assert [t.get_text() for t in ax.texts] == ["0.1 µs", "100 µs"]
    plt.close("all")
    with pytest.raises(ValueError, match="no measurement"):
        lab.plot_costs(Costs())
    with pytest.raises(TypeError, match="costs"):
        lab.plot_costs({"a": 1})


def test_panel_has_its_controls():
    panel = lab.counter_panel()
    kinds = [type(c) for c in panel.children[1:4]]
    assert kinds == [widgets.IntSlider, widgets.IntSlider, widgets.Checkbox]
    assert [c.value for c in panel.children[1:4]] == [4, 500, False]


def test_panel_run_uses_the_controls(monkeypatch):
    calls = []
    monkeypatch.setattr(lab, "run_counter_lab", lambda **values: calls.append(values) or "result")
    monkeypatch.setattr(lab, "plot_counter_lab", lambda result: calls.append(result))
    panel = lab.counter_panel()
    panel.children[1].value = 2
    panel.children[3].value = True
    press(panel)
    assert calls == [{"processes": 2, "increments": 500, "use_lock": True}, "result"]
    status = panel.children[-2].children[1]
    assert status.value == ""  # no error shown
