"""The lab panel: Run calls the function with the controls' values."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib
import pytest

from ipc_helpers.labs.panel import make_panel, press

matplotlib.use("Agg")


def test_run_receives_control_values():
    calls = []

    def run(n: int, fast: bool) -> None:
        calls.append((n, fast))
        print(f"n={n}")

    panel = make_panel("Lab", {"n": widgets.IntSlider(value=3), "fast": widgets.Checkbox()}, run)
    out = press(panel)
    assert calls == [(3, False)]
    # Outside a kernel an Output widget cannot capture; in JupyterLab the
    # browser tests check that the panel's output changes.
    assert isinstance(out, widgets.Output)


def test_an_error_is_one_line_and_the_button_comes_back():
    def run(n: int) -> None:
        raise ValueError("n must be at least 1, got 0")

    panel = make_panel("Lab", {"n": widgets.IntSlider(value=0)}, run)
    press(panel)
    button, status = panel.children[-2].children
    assert "ValueError" in status.value and "n must be at least 1" in status.value
    assert not button.disabled


def test_bad_arguments():
    with pytest.raises(TypeError, match="title must be str"):
        make_panel(1, {}, print)
    with pytest.raises(TypeError, match="run must be a function"):
        make_panel("t", {}, 1)
    with pytest.raises(TypeError, match="panel must be VBox"):
        press("panel")
