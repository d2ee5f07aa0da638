"""The control panel every lab uses: controls, a Run button, an output area.

Deliberately not ``@interact``: a panel only runs when the button is pressed
(an experiment with processes should not restart on every slider move), and
its output goes to its own ``Output`` widget, not to the cell.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import Any, Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..validation import check_callable, check_type


def make_panel(
    title: str,
    controls: Mapping[str, widgets.ValueWidget],
    run: Callable[..., Any],
    *,
    button_label: str = "Run",
) -> widgets.VBox:
    """Build a panel: ``title``, the ``controls``, a button and an output area.

    When the button is pressed, ``run(**values)`` is called with each control's
    current value under its key in ``controls``, inside the output area: what
    it prints and the figures it draws (with matplotlib) appear there. An error
    is shown as one line, not a traceback. The button is disabled while
    ``run`` works, so a double click does not start two experiments.
    """
    check_type("title", title, str)
    check_type("controls", controls, Mapping)
    check_callable("run", run)
    button = widgets.Button(description=button_label, button_style="primary", icon="play")
    status = widgets.HTML(value="")
    output = widgets.Output()

    def on_click(_: widgets.Button) -> None:
        button.disabled = True
        status.value = "<i>running…</i>"
        output.clear_output(wait=True)
        values = {name: control.value for name, control in controls.items()}
        with output:
            try:
                run(**values)
                plt.show()
                status.value = ""
            except Exception as exc:  # shown to the learner as one line
                status.value = f"<b>{type(exc).__name__}</b>: {exc}"
                traceback.clear_frames(exc.__traceback__)
            finally:
                plt.close("all")
                button.disabled = False

    button.on_click(on_click)
    header = widgets.HTML(value=f"<h4>{title}</h4>")
    return widgets.VBox([header, *controls.values(), widgets.HBox([button, status]), output])


def press(panel: widgets.VBox) -> widgets.Output:
    """Press the Run button of ``panel`` from code and return its output area.

    Tests use it to drive a panel without a browser.
    """
    check_type("panel", panel, widgets.VBox)
    row = panel.children[-2]
    button = row.children[0]
    button.click()
    return panel.children[-1]
