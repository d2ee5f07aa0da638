"""labs.style: one palette with fixed roles, one look per mechanism, labels on lines."""

from __future__ import annotations

import os
import subprocess
import sys

import matplotlib
import matplotlib.pyplot as plt
import pytest

from ipc_helpers.labs import style

matplotlib.use("Agg")


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    light, dark = sorted([_luminance(a), _luminance(b)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_roles_are_okabe_ito_and_their_text_is_readable():
    assert set(style.ROLES) == {"parent", "child", "server", "reference", "ok", "lost"}
    for name, role in style.ROLES.items():
        assert role.line in style.OKABE_ITO.values(), name
        assert _contrast(role.text, "#FFFFFF") >= 4.5 and _contrast(role.text, role.fill) >= 4.5
    assert style.role("parent") is style.ROLES["parent"]


def test_each_mechanism_has_its_own_colour_and_marker():
    looks = [(look.color, look.marker) for look in style.MECHANISMS.values()]
    assert len(set(looks)) == len(looks)
    wanted = {"Queue", "SimpleQueue", "Pipe", "Pipe bytes", "SharedMemory", "Manager"}
    assert wanted | {"os.pipe", "socketpair", "memcpy", "threads", "processes"} <= set(
        style.MECHANISMS
    )
    assert style.mechanism("Queue", markersize=3) == {
        "color": "#0072B2",
        "marker": "o",
        "linestyle": "-",
        "label": "Queue",
        "markersize": 3,
    }
    queue, simple = style.MECHANISMS["Queue"], style.MECHANISMS["SimpleQueue"]
    assert queue.linestyle != simple.linestyle  # they overlap in 05: both must stay visible


def test_lost_bars_differ_by_more_than_colour():
    assert style.outcome_bar(False)["hatch"] and not style.outcome_bar(True)["hatch"]


def test_apply_and_context_set_the_course_look():
    with style.context():
        assert plt.rcParams["axes.grid"] and plt.rcParams["figure.facecolor"] == "white"
    style.apply()
    assert plt.rcParams["axes.titlesize"] == 12.0 and plt.rcParams["legend.frameon"] is False


INLINE_KERNEL = """
from IPython.core.interactiveshell import InteractiveShell
InteractiveShell.instance()  # matplotlib_inline hooks into the running IPython
import matplotlib
import matplotlib.pyplot as plt
from ipc_helpers.labs import style
with style.context():
    plt.subplots()  # the first figure loads the inline backend
print(matplotlib.is_interactive())
"""


def test_context_leaves_the_inline_backend_showing_later_figures():
    """Loaded inside ``rc_context``, the backend's interactive mode was undone at its end."""
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    run = subprocess.run(
        [sys.executable, "-c", INLINE_KERNEL],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert run.stdout.split()[-1] == "True"  # False: no later figure would be shown


def test_label_line_writes_on_the_line():
    fig, ax = plt.subplots()
    ref = ax.axhline(2.0, **style.mechanism("memcpy"))
    (data,) = ax.plot([1, 2, 3], [1, 2, 3], **style.mechanism("Queue"))
    on_ref = style.label_line(ax, ref, "memcpy (reference)")
    on_data = style.label_line(ax, data, "Queue", at=0.0)
    assert on_ref.xy == (1.0, 2.0) and on_ref.get_color() == "#767676"
    assert (on_data.xy[0], on_data.xy[1]) == (1, 1) and on_data.get_ha() == "left"
    legend = style.legend_outside(ax)
    fig.canvas.draw()
    assert legend.get_window_extent().x0 > ax.get_window_extent().x1  # beside, not on the data
    plt.close(fig)


def test_bad_arguments():
    with pytest.raises(ValueError, match="name must be one of"):
        style.mechanism("Carrier pigeon")
    with pytest.raises(ValueError, match="name must be one of"):
        style.role("grandchild")
    fig, ax = plt.subplots()
    (line,) = ax.plot([], [])
    with pytest.raises(ValueError, match="line has no points"):
        style.label_line(ax, line, "x")
    with pytest.raises(ValueError, match="at must be at most 1.0"):
        style.label_line(ax, ax.axhline(1), "x", at=2)
    with pytest.raises(TypeError, match="ok must be bool"):
        style.outcome_bar(1)
    plt.close(fig)
