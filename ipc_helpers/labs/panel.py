"""The control panel every lab uses: controls, a Run button, an output area.

Deliberately not ``@interact``: a panel only runs when the button is pressed
(an experiment with processes should not restart on every slider move), and
its output goes to its own ``Output`` widget, not to the cell.

One layout for every lab: each control is one row, its label on the left in
a column wide enough for the longest label of the panel, every control the
same width (so slider tracks line up), the selected choice of a toggle group
marked with a check, and a hint beside a list where several can be chosen.
Build controls with ``slider``, ``toggles``, ``checkbox`` and
``choose_several``, or pass any ipywidgets control: ``make_panel`` lays it
out the same way.
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..capture import capture_stderr
from ..cleanup import track
from ..validation import check_callable, check_int, check_number, check_type

#: Width of every control row (label + control), in the font's ``em``.
ROW_WIDTH_EM = 38
#: Hint shown beside a list where several items can be chosen.
SEVERAL_HINT = "choose one or more: Ctrl-click (⌘-click on a Mac), Shift-click for a range"
_INTERRUPTED = "Interrupted: the run was stopped, and the processes it started with it."


def _label_width_em(controls: Sequence[widgets.Widget]) -> float:
    """An ``em`` width that fits the longest label (about 0.6 em per character)."""
    longest = max((len(getattr(c, "description", "") or "") for c in controls), default=0)
    return max(6.0, round(0.62 * longest + 1.0, 1))


def _lay_out(control: widgets.Widget, label_em: float) -> widgets.Widget:
    """Give ``control`` the course layout; return the row to show (it may add a hint)."""
    if hasattr(control, "style") and hasattr(control.style, "description_width"):
        control.style.description_width = f"{label_em}em"
    control.layout.width = f"{ROW_WIDTH_EM}em"
    if isinstance(control, widgets.ToggleButtons):
        _mark_selected(control)
    if isinstance(control, widgets.SelectMultiple):
        hint = widgets.HTML(f"<small><i>{html.escape(SEVERAL_HINT)}</i></small>")
        hint.layout.margin = "0 0 0 0.6em"
        hint.layout.max_width = "16em"
        return widgets.HBox([control, hint])
    return control


def _mark_selected(group: widgets.ToggleButtons) -> None:
    """Put a check mark on the selected button of ``group`` (and keep it there)."""

    def mark(_: Any = None) -> None:
        labels = [o[0] if isinstance(o, tuple) else str(o) for o in group.options]
        group.icons = ["check" if label == group.label else "" for label in labels]

    group.observe(mark, names="value")
    mark()


class Panel(widgets.VBox):
    """A lab panel: title, controls, Run button with its status line, output area.

    The title is an ``<h3>``: it sits under the notebook's ``## N. Lab: …``
    heading, and screen readers expect no level skipped. Its plain-text form
    (what a notebook stores beside the widget, and what the tests compare) is
    one stable line, ``Lab panel: <title>``.
    """

    def __init__(self, title: str, children: Sequence[widgets.Widget]) -> None:
        super().__init__(children)
        self._title = title

    def __repr__(self) -> str:
        return f"Lab panel: {self._title}"


def make_panel(
    title: str,
    controls: Mapping[str, widgets.ValueWidget],
    run: Callable[..., Any],
    *,
    button_label: str = "Run",
) -> Panel:
    """Build a panel: ``title``, the ``controls``, a button and an output area.

    When the button is pressed, ``run(**values)`` is called with each control's
    current value under its key in ``controls``, inside the output area: what
    it prints and the figures it draws (with matplotlib) appear there. An error
    is shown as one line, not a traceback; Kernel → Interrupt during a run
    stops the processes it started and shows one line. The button is disabled
    while ``run`` works, so a double click does not start two experiments.
    """
    check_type("title", title, str)
    check_type("controls", controls, Mapping)
    check_callable("run", run)
    for name, control in controls.items():
        check_type(f"controls[{name!r}]", control, widgets.ValueWidget)
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
                with capture_stderr(), track():
                    run(**values)
                    plt.show()
                status.value = ""
            except KeyboardInterrupt:
                status.value = f"<b>{html.escape(_INTERRUPTED)}</b>"
            except Exception as exc:  # shown to the learner as one line
                status.value = f"<b>{type(exc).__name__}</b>: {html.escape(str(exc))}"
                traceback.clear_frames(exc.__traceback__)
            finally:
                plt.close("all")
                button.disabled = False

    button.on_click(on_click)
    header = widgets.HTML(value=f"<h3>{html.escape(title)}</h3>")  # the lab section is an h2
    label_em = _label_width_em(list(controls.values()))
    rows = [_lay_out(control, label_em) for control in controls.values()]
    return Panel(title, [header, *rows, widgets.HBox([button, status]), output])


def press(panel: widgets.VBox) -> widgets.Output:
    """Press the Run button of ``panel`` from code and return its output area.

    Tests use it to drive a panel without a browser.
    """
    check_type("panel", panel, widgets.VBox)
    row = panel.children[-2]
    button = row.children[0]
    button.click()
    return panel.children[-1]


def status_of(panel: widgets.VBox) -> str:
    """The one-line status of ``panel`` after a run, as plain text (``""`` if it went well)."""
    check_type("panel", panel, widgets.VBox)
    value = panel.children[-2].children[1].value
    for tag in ("<b>", "</b>", "<i>", "</i>"):
        value = value.replace(tag, "")
    return html.unescape(value)


# --- controls with the course's look ---------------------------------------------


def slider(
    description: str,
    value: float,
    minimum: float,
    maximum: float,
    step: float = 1,
    *,
    log: bool = False,
) -> widgets.ValueWidget:
    """A slider: whole numbers if all arguments are ``int``, else decimals.

    ``log=True`` gives a logarithmic slider over powers of 2 from ``minimum``
    to ``maximum`` (both > 0), for sizes such as 64 B .. 16 MiB.
    """
    check_type("description", description, str)
    numbers = {"value": value, "minimum": minimum, "maximum": maximum, "step": step}
    if log:
        for name, number in numbers.items():
            check_number(name, number, strictly_positive=True)
        exp = [round(n).bit_length() - 1 for n in (minimum, maximum)]
        return widgets.FloatLogSlider(
            value=value, base=2, min=exp[0], max=exp[1], step=step, description=description
        )
    if all(isinstance(n, int) and not isinstance(n, bool) for n in numbers.values()):
        for name, number in numbers.items():
            check_int(name, number)
        make = widgets.IntSlider
    else:
        for name, number in numbers.items():
            check_number(name, number)
        make = widgets.FloatSlider
    if not minimum <= value <= maximum:
        raise ValueError(f"value must be between {minimum} and {maximum}, got {value}")
    return make(value=value, min=minimum, max=maximum, step=step, description=description)


def toggles(description: str, options: Sequence[Any], value: Any = None) -> widgets.ToggleButtons:
    """A row of buttons, one choice at a time (the selected one carries a check mark).

    ``options``: labels, or ``(label, value)`` pairs; ``value`` defaults to the first.
    """
    check_type("description", description, str)
    check_type("options", options, Sequence)
    if not options:
        raise ValueError("options must not be empty")
    group = widgets.ToggleButtons(options=list(options), description=description)
    if value is not None:
        group.value = value
    return group


def checkbox(description: str, value: bool = False) -> widgets.Checkbox:
    """A yes/no control."""
    check_type("description", description, str)
    check_type("value", value, bool)
    return widgets.Checkbox(value=value, description=description, indent=True)


def choose_several(
    description: str, options: Sequence[Any], value: Sequence[Any] = ()
) -> widgets.SelectMultiple:
    """A list where several items can be chosen (``make_panel`` adds a hint saying so)."""
    check_type("description", description, str)
    check_type("options", options, Sequence)
    if not options:
        raise ValueError("options must not be empty")
    return widgets.SelectMultiple(
        options=list(options), value=tuple(value), rows=len(options), description=description
    )
