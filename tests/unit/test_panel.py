"""The lab panel: one layout, Run calls the function, errors and interrupts are one line."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time

import ipywidgets as widgets
import matplotlib
import pytest

from ipc_helpers.labs.panel import (
    ROW_WIDTH_EM,
    SEVERAL_HINT,
    checkbox,
    choose_several,
    make_panel,
    press,
    slider,
    status_of,
    toggles,
)

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
    assert status_of(panel) == ""


def test_the_title_is_an_h3_and_the_plain_text_one_stable_line():
    panel = make_panel("Race lab <1>", {"n": widgets.IntSlider(value=2)}, lambda n: None)
    assert panel.children[0].value == "<h3>Race lab &lt;1&gt;</h3>"  # under a "## Lab" h2
    assert isinstance(panel, widgets.VBox)
    assert panel._repr_mimebundle_()["text/plain"] == "Lab panel: Race lab <1>"


def test_an_error_is_one_line_and_the_button_comes_back():
    def run(n: int) -> None:
        raise ValueError("n must be at least 1, got 0 <here>")

    panel = make_panel("Lab", {"n": widgets.IntSlider(value=0)}, run)
    press(panel)
    button = panel.children[-2].children[0]
    assert status_of(panel) == "ValueError: n must be at least 1, got 0 <here>"
    assert not button.disabled


def test_one_layout_labels_fit_and_every_row_has_the_same_width():
    controls = {
        "largest": slider("largest (KiB)", 64, 1, 1024),
        "mechanism": toggles("mechanism", ["Queue", "Pipe"]),
        "several": choose_several("mechanisms to compare", ["a", "b", "c"], ["a"]),
        "fast": checkbox("fast"),
    }
    panel = make_panel("Lab", controls, lambda **v: None)
    widths = {c.style.description_width for c in controls.values()}
    assert widths == {"14.0em"}  # 0.62 em per character of the longest label (21), plus 1 em
    assert {c.layout.width for c in controls.values()} == {f"{ROW_WIDTH_EM}em"}
    several_row = panel.children[3]
    assert isinstance(several_row, widgets.HBox) and several_row.children[0] is controls["several"]
    assert SEVERAL_HINT in several_row.children[1].value


def test_the_selected_toggle_carries_a_check_mark():
    group = toggles("mechanism", [("Queue", "q"), ("Pipe", "p")], "p")
    make_panel("Lab", {"m": group}, lambda m: None)
    assert list(group.icons) == ["", "check"]
    group.value = "q"
    assert list(group.icons) == ["check", ""]


def test_control_factories():
    assert isinstance(slider("n", 2, 1, 8), widgets.IntSlider)
    assert isinstance(slider("s", 0.5, 0.0, 1.0, 0.1), widgets.FloatSlider)
    size = slider("size (B)", 1024, 64, 2**24, 1, log=True)
    assert isinstance(size, widgets.FloatLogSlider) and (size.min, size.max) == (6, 24)
    assert checkbox("fast", True).value is True
    assert choose_several("m", ["a", "b"]).value == ()


def test_factories_reject_bad_arguments():
    with pytest.raises(ValueError, match="value must be between 1 and 8, got 9"):
        slider("n", 9, 1, 8)
    with pytest.raises(TypeError, match="description must be str"):
        slider(3, 1, 1, 8)
    with pytest.raises(ValueError, match="options must not be empty"):
        toggles("m", [])
    with pytest.raises(ValueError, match="minimum must be greater than 0"):
        slider("size", 4, 0, 8, log=True)
    with pytest.raises(TypeError, match="value must be bool"):
        checkbox("fast", 1)


def test_bad_arguments():
    with pytest.raises(TypeError, match="title must be str"):
        make_panel(1, {}, print)
    with pytest.raises(TypeError, match="run must be a function"):
        make_panel("t", {}, 1)
    with pytest.raises(TypeError, match=r"controls\['n'\] must be ValueWidget"):
        make_panel("t", {"n": 3}, print)
    with pytest.raises(TypeError, match="panel must be VBox"):
        press("panel")


def test_an_interrupt_stops_the_runs_processes_and_is_one_line():
    def run(n: int) -> None:
        procs = [mp.Process(target=time.sleep, args=(60,)) for _ in range(n)]
        for p in procs:
            p.start()
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        while True:  # a runner that waits in slices sees the interrupt at once
            procs[0].join(0.1)

    panel = make_panel("Lab", {"n": widgets.IntSlider(value=2, min=1, max=4)}, run)
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        started = time.monotonic()
        press(panel)
    finally:
        signal.signal(signal.SIGINT, old)
    assert time.monotonic() - started < 5
    assert status_of(panel).startswith("Interrupted: the run was stopped")
    assert not panel.children[-2].children[0].disabled
    assert mp.active_children() == []
