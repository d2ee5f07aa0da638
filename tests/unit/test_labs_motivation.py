"""Unit tests of the lab of notebook 00 (ipc_helpers.labs.motivation)."""

from __future__ import annotations

import multiprocessing as mp

import ipywidgets as widgets
import matplotlib
import pytest

from ipc_helpers.labs import motivation as lab
from ipc_helpers.labs.panel import press

matplotlib.use("Agg")


def test_run_scaling_times_every_process_count():
    result = lab.run_scaling(3, 30_000, timeout=30)
    assert result.processes == [1, 2, 3]
    assert len(result.seconds) == 3 and all(s > 0 for s in result.seconds)
    assert result.baseline > 0
    assert result.work == 30_000
    assert result.start_method == mp.get_start_method()
    assert result.usable_cpus >= 1
    assert result.best in result.processes
    assert mp.active_children() == []


def test_run_scaling_with_an_explicit_start_method():
    assert lab.run_scaling(1, 1000, "spawn", timeout=30).start_method == "spawn"


def test_speedups_are_baseline_over_seconds():
    result = lab.Scaling(100, "fork", 2, 1.0, [1, 2], [2.0, 0.5])
    assert result.speedups == [0.5, 2.0]
    assert result.best == 2


@pytest.mark.parametrize(
    "kwargs, error, word",
    [
        ({"max_processes": 0}, ValueError, "max_processes"),
        ({"max_processes": 17}, ValueError, "max_processes"),
        ({"max_processes": 2.5}, TypeError, "max_processes"),
        ({"work": 0}, ValueError, "work"),
        ({"work": "big"}, TypeError, "work"),
        ({"start_method": "thread"}, ValueError, "start_method"),
        ({"timeout": -1}, ValueError, "timeout"),
    ],
)
def test_run_scaling_rejects_bad_input(kwargs, error, word):
    with pytest.raises(error, match=word):
        lab.run_scaling(**kwargs)


def test_plot_scaling_draws_time_and_speedup():
    import matplotlib.pyplot as plt

    fig = lab.plot_scaling(lab.Scaling(100, "spawn", 2, 1.0, [1, 2, 3], [1.2, 0.7, 0.8]))
    left, right = fig.axes
    assert len(left.patches) == 3
    measured = right.get_lines()[0]
    assert list(measured.get_ydata()) == pytest.approx([1 / 1.2, 1 / 0.7, 1 / 0.8])
    ideal = right.get_lines()[1]
    assert list(ideal.get_ydata()) == [1, 2, 2]  # capped at the 2 usable CPUs
    plt.close("all")
    with pytest.raises(TypeError, match="result"):
        lab.plot_scaling([1.0, 2.0])


def test_panel_has_its_controls_and_its_text_does_not_depend_on_the_machine():
    panel = lab.scaling_panel()
    kinds = [type(c) for c in panel.children[1:4]]
    assert kinds == [widgets.IntSlider, widgets.Dropdown, widgets.ToggleButtons]
    assert panel.children[3].value == lab.DEFAULT
    assert "fork" not in repr(panel.children[3].value)


def test_panel_run_uses_the_controls(monkeypatch):
    calls = []
    monkeypatch.setattr(lab, "run_scaling", lambda *args: calls.append(args) or "result")
    monkeypatch.setattr(lab, "plot_scaling", lambda result: calls.append(result))
    panel = lab.scaling_panel()
    panel.children[1].value = 2
    panel.children[2].value = 300_000
    press(panel)
    panel.children[3].value = "spawn"
    press(panel)
    assert calls == [(2, 300_000, None), "result", (2, 300_000, "spawn"), "result"]
