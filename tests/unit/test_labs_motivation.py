"""Unit tests of the plots and the lab of notebook 00 (ipc_helpers.labs.motivation)."""

from __future__ import annotations

import multiprocessing as mp

import ipywidgets as widgets
import matplotlib
import pytest

from ipc_helpers.labs import motivation as lab
from ipc_helpers.labs import style
from ipc_helpers.labs.panel import press, status_of
from ipc_helpers.motivation import CpuCount, ThreadsVsProcesses

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TWO_CPUS = CpuCount(machine=2, affinity=2, quota=None)


def race(**changes) -> ThreadsVsProcesses:
    values = dict(
        n=1000, workers=2, rounds=3, start_method="spawn", serial=1.0, threads=1.1,
        processes=0.55, threads_cpus=1.0, processes_cpus=1.9, startup=0.3, cpus=TWO_CPUS,
        gil=True,
    )  # fmt: skip
    return ThreadsVsProcesses(**{**values, **changes})


# --- section 2's plot ------------------------------------------------------------------------


def test_plot_threads_vs_processes_draws_three_ways_and_the_start_up():
    fig = lab.plot_threads_vs_processes(race())
    (ax,) = fig.axes
    widths = sorted(round(p.get_width(), 2) for p in ax.patches)
    assert widths == [0.3, 0.55, 1.0, 1.1]  # the start-up is its own (hatched) piece
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1 thread", "2 threads", "2 processes"]
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 1 and hatched[0].get_width() == pytest.approx(0.3)
    assert "best of 3 runs" in ax.get_title() and "GIL on" in ax.get_title()
    assert "free-threaded" in lab.plot_threads_vs_processes(race(gil=False)).axes[0].get_title()
    plt.close("all")
    with pytest.raises(TypeError, match="result"):
        lab.plot_threads_vs_processes({"serial": 1.0})


# --- the lab ----------------------------------------------------------------------------------


def test_run_scaling_times_every_process_count():
    result = lab.run_scaling(3, 30_000, timeout=30)
    assert result.processes == [1, 2, 3]
    assert len(result.seconds) == 3 and all(s > 0 for s in result.seconds)
    assert len(result.baseline_runs) == 3 and result.baseline == min(result.baseline_runs)
    assert result.work == 30_000
    assert result.start_method == mp.get_start_method()
    assert result.cpus.usable >= 1
    assert result.fastest in result.processes
    assert mp.active_children() == []


def test_run_scaling_with_an_explicit_start_method():
    assert lab.run_scaling(1, 1000, "spawn", timeout=30).start_method == "spawn"
    assert mp.active_children() == []


def test_speedups_and_the_best_possible_use_the_best_baseline_and_the_quota():
    result = lab.Scaling(
        100, "fork", CpuCount(16, 16, 1.5, "CPU_LIMIT"), [1.3, 1.0, 1.2], [1, 2, 3], [2.0, 0.5, 1.0]
    )
    assert result.baseline == 1.0
    assert result.speedups == [0.5, 2.0, 1.0]
    assert result.best_possible == [1.0, 1.5, 1.5]  # capped by the quota, not the 16 cores
    assert result.fastest == 2


@pytest.mark.parametrize(
    "kwargs, error, word",
    [
        ({"max_processes": 0}, ValueError, "max_processes"),
        ({"max_processes": 17}, ValueError, "max_processes"),
        ({"max_processes": 2.5}, TypeError, "max_processes"),
        ({"work": 0}, ValueError, "work"),
        ({"work": "big"}, TypeError, "work"),
        ({"context": "thread"}, ValueError, "context"),
        ({"timeout": -1}, ValueError, "timeout"),
    ],
)
def test_run_scaling_rejects_bad_input(kwargs, error, word):
    with pytest.raises(error, match=word):
        lab.run_scaling(**kwargs)


def test_plot_scaling_draws_time_and_speedup_beside_the_best_possible():
    result = lab.Scaling(100, "spawn", TWO_CPUS, [1.0], [1, 2, 3], [1.2, 0.7, 0.8])
    fig = lab.plot_scaling(result)
    left, right = fig.axes
    assert len(left.patches) == 3
    lines = {tuple(line.get_ydata()): line for line in right.get_lines()}
    assert (1, 2, 2) in lines  # the best possible, capped at the 2 usable CPUs
    measured = [line for line in right.get_lines() if line.get_marker() == "o"]
    assert list(measured[0].get_ydata()) == pytest.approx([1 / 1.2, 1 / 0.7, 1 / 0.8])
    assert measured[0].get_color() == style.mechanism("processes")["color"]
    labels = [t.get_text() for ax in (left, right) for t in ax.texts]
    assert {"no child process", "best possible", "no gain"} <= set(labels)  # on the lines
    assert left.get_legend() is None and right.get_legend() is None
    plt.close("all")
    with pytest.raises(TypeError, match="result"):
        lab.plot_scaling([1.0, 2.0])


def _controls(panel: widgets.VBox) -> list[widgets.ValueWidget]:
    found = []

    def walk(widget):
        if isinstance(widget, widgets.ValueWidget) and not isinstance(widget, widgets.HTML):
            found.append(widget)
        for child in getattr(widget, "children", ()):
            walk(child)

    walk(panel)
    return found


def test_panel_has_its_controls_and_its_text_does_not_depend_on_the_machine():
    processes, work, method = _controls(lab.scaling_panel())
    assert isinstance(processes, widgets.IntSlider) and processes.value == 4
    assert isinstance(work, widgets.ToggleButtons) and work.value == 3_000_000
    assert isinstance(method, widgets.ToggleButtons) and method.value == lab.DEFAULT


def test_panel_run_uses_the_controls(monkeypatch):
    calls = []
    monkeypatch.setattr(lab, "run_scaling", lambda *args: calls.append(args) or "result")
    monkeypatch.setattr(lab, "plot_scaling", lambda result: calls.append(result))
    panel = lab.scaling_panel()
    processes, work, method = _controls(panel)
    processes.value, work.value = 2, 300_000
    press(panel)
    method.value = "spawn"
    press(panel)
    assert calls == [(2, 300_000, None), "result", (2, 300_000, "spawn"), "result"]
    assert status_of(panel) == ""


def test_panel_runs_for_real(monkeypatch):
    drawn = []
    original = lab.plot_scaling
    monkeypatch.setattr(lab, "plot_scaling", lambda result: drawn.append(original(result)))
    panel = lab.scaling_panel()
    processes, work, _ = _controls(panel)
    processes.value, work.value = 2, 300_000
    press(panel)
    assert status_of(panel) == ""
    assert len(drawn) == 1 and len(drawn[0].axes) == 2
    assert mp.active_children() == []
