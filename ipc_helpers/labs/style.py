"""One look for every plot and figure of the course: colours, markers, fonts.

The palette is Okabe–Ito (safe for the common colour-vision deficiencies),
and colour is never the only difference: every mechanism also has its own
marker and line style, "lost" bars a hatch, references a label on the line.

- ``ROLES``: fixed colours for parent, child, server, reference, ok, lost
  (``line`` for plots and strokes, ``text`` dark enough for text on white
  and on ``fill``, ``fill`` a light tint for boxes in SVG figures).
- ``MECHANISMS`` / ``mechanism(name)``: one colour + marker + line style per
  mechanism, the same in every notebook: ``ax.plot(x, y, **mechanism("Queue"))``.
- ``apply()`` / ``context()``: the course's matplotlib settings.
- ``label_line(ax, line, text)``: name a reference line on the line itself.
- ``legend_outside(ax)``: a legend beside the plot, never on the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.text import Annotation

from ..validation import check_choice, check_number, check_type

#: The Okabe–Ito palette (Okabe & Ito, "Color Universal Design", 2008).
OKABE_ITO = {
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "black": "#000000",
}


@dataclass(frozen=True)
class Role:
    """Colours of one role: ``line`` (plots, strokes), ``text``, ``fill`` (box background)."""

    line: str
    text: str
    fill: str


#: Fixed roles. ``text`` has a contrast of at least 4.5:1 on white and on ``fill``.
ROLES = {
    "parent": Role("#0072B2", "#0070AF", "#E0EEF6"),
    "child": Role("#E69F00", "#946700", "#FCF3E0"),
    "server": Role("#CC79A7", "#B44582", "#F9EFF4"),
    "reference": Role("#000000", "#000000", "#F2F2F2"),
    "ok": Role("#009E73", "#007A59", "#E0F3EE"),
    "lost": Role("#D55E00", "#B14E00", "#FAECE0"),
}

#: Hatch that marks "lost" bars (and anything wrong), so colour is not the only cue.
LOST_HATCH = "//"


@dataclass(frozen=True)
class Look:
    """How one mechanism is drawn everywhere in the course."""

    color: str
    marker: str
    linestyle: str


#: One look per mechanism. References (os.pipe, socketpair, memcpy) are greys and
#: dotted or dashed: label them on the line with ``label_line``.
MECHANISMS = {
    "Queue": Look("#0072B2", "o", "-"),
    "SimpleQueue": Look("#56B4E9", "s", "--"),
    "Pipe": Look("#D55E00", "^", "-"),
    "Pipe bytes": Look("#E69F00", "v", "--"),
    "SharedMemory": Look("#009E73", "D", "-"),
    "Manager": Look("#CC79A7", "P", "-"),
    "os.pipe": Look("#000000", "x", ":"),
    "socketpair": Look("#555555", "+", "-."),
    "memcpy": Look("#767676", "*", "--"),
    "serial": Look("#555555", "h", ":"),
    "threads": Look("#56B4E9", "d", "-"),
    "processes": Look("#E69F00", "o", "-"),
}


def role(name: str) -> Role:
    """The colours of role ``name`` (``parent``, ``child``, ``server``, ``reference``, ...)."""
    return ROLES[check_choice("name", name, ROLES)]


def mechanism(name: str, **extra: Any) -> dict[str, Any]:
    """Keyword arguments for ``ax.plot``: colour, marker, line style and label of ``name``.

    ``extra`` overrides or adds (``label="Queue (batched)"``, ``markersize=4``).
    For bars use ``color=mechanism(name)["color"]``.
    """
    look = MECHANISMS[check_choice("name", name, MECHANISMS)]
    kwargs = {"color": look.color, "marker": look.marker, "linestyle": look.linestyle}
    return {**kwargs, "label": name, **extra}


def outcome_bar(ok: bool) -> dict[str, Any]:
    """Keyword arguments for ``ax.bar`` of an ok / lost outcome: colour *and* hatch."""
    check_type("ok", ok, bool)
    look = ROLES["ok" if ok else "lost"]
    return {"color": look.line, "hatch": "" if ok else LOST_HATCH, "edgecolor": "white"}


#: The course's matplotlib settings (see ``apply``).
RC: dict[str, Any] = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 100,
    "figure.facecolor": "white",  # readable in JupyterLab's dark theme too
    "savefig.facecolor": "white",
    "figure.titlesize": 13,
    "figure.titleweight": "bold",
    "axes.titlesize": 12,
    "axes.titleweight": "normal",
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "legend.loc": "best",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linestyle": "-",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(
        color=[OKABE_ITO[c] for c in ("blue", "orange", "bluish green", "vermillion")]
        + [OKABE_ITO[c] for c in ("reddish purple", "sky blue", "black")],
        marker=["o", "^", "D", "v", "P", "s", "x"],
    ),
    "lines.linewidth": 1.8,
    "lines.markersize": 5,
    "hatch.linewidth": 1.0,
}


def apply() -> None:
    """Use the course's matplotlib settings from now on (idempotent; call it in plot functions)."""
    mpl.rcParams.update(RC)


@contextmanager
def context() -> Iterator[None]:
    """The course's settings for the figures made inside the block only.

    pyplot's backend is loaded first, outside the block. Loaded inside it (the
    kernel's first figure), the inline backend turns interactive mode on,
    leaving the block turns it off again, and from then on no figure of the
    kernel (the learner's included) is shown at the end of its cell.
    """
    _load_backend()
    with plt.rc_context(RC):
        yield


def _load_backend() -> None:
    """Load pyplot's backend now if no figure has loaded it yet (once per process)."""
    global _backend_loaded
    if not _backend_loaded:
        plt.switch_backend(mpl.get_backend())
        _backend_loaded = True


_backend_loaded = False


def label_line(ax: Axes, line: Line2D, text: str, *, at: float = 1.0) -> Annotation:
    """Write ``text`` on ``line`` itself, in its colour, instead of a legend entry.

    ``at`` (0 to 1) is where along the line's x range the label sits; the
    default is its right end. For a horizontal reference line
    (``ax.axhline(y)``) the label sits just above the line.

    >>> line = ax.axhline(1.0, **mechanism("memcpy"))  # doctest: +SKIP
    >>> label_line(ax, line, "memcpy (reference)")      # doctest: +SKIP
    """
    check_type("ax", ax, Axes)
    check_type("line", line, Line2D)
    check_type("text", text, str)
    at = check_number("at", at, minimum=0.0, maximum=1.0)
    xs, ys = line.get_xdata(), line.get_ydata()
    if len(xs) == 0:
        raise ValueError("line has no points to label")
    horizontal = line.get_transform() is ax.get_yaxis_transform("grid")  # ax.axhline
    if horizontal:
        xy, coords = (at, ys[0]), ("axes fraction", "data")
    else:
        i = round(at * (len(xs) - 1))
        xy, coords = (xs[i], ys[i]), "data"
    return ax.annotate(
        text,
        xy=xy,
        xycoords=coords,
        xytext=(-3 if at > 0.5 else 3, 3),
        textcoords="offset points",
        ha="right" if at > 0.5 else "left",
        va="bottom",
        color=line.get_color(),
        fontsize=9,
        bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"},
    )


def legend_outside(ax: Axes, **kwargs: Any) -> Any:
    """Put the legend of ``ax`` to the right of the plot, where it cannot hide data."""
    check_type("ax", ax, Axes)
    options = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0}
    return ax.legend(**{**options, **kwargs})
