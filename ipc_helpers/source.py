"""Show a helper's source in the notebook, so learners read workers in place.

``show_source(worker)`` returns a display object: in JupyterLab a collapsible
block, "Source of `worker` (12 lines)", with the code highlighted; as plain
text (``text/plain``, what the tests compare and a terminal shows) exactly the
source. Short helpers open by default, long ones start collapsed so that they
do not crowd the page.
"""

from __future__ import annotations

import html
import inspect
import re
import textwrap
from dataclasses import dataclass
from typing import Any

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer
from pygments.style import Style
from pygments.token import Comment, Keyword, Name, Number, Operator, String

from .validation import check_type

#: Blocks of at most this many lines start open; longer ones start collapsed.
OPEN_UP_TO = 15


class _ReadableOnBothThemes(Style):
    """Token colours with a contrast of at least 4.3:1 on white and on JupyterLab's dark #111."""

    styles = {
        Keyword: "#007FC6",
        Operator.Word: "#007FC6",
        Name.Builtin: "#836AC4",
        Name.Function: "#BE538E",
        Name.Class: "#BE538E",
        Name.Decorator: "#836AC4",
        String: "#C75800",
        Number: "#008A65",
        Comment: "italic #6E7D6E",
    }


# When the notebook is trusted (its cells were run), this style block applies
# JupyterLab's own editor colours, so the code looks like a code cell in the
# light and the dark theme. JupyterLab drops it for outputs it has not run;
# the inline colours above remain.
_THEME_CSS = (
    "<style>"
    ".ipc-source .k,.ipc-source .kn,.ipc-source .kc,.ipc-source .ow"
    "{color:var(--jp-mirror-editor-keyword-color)!important}"
    ".ipc-source .s,.ipc-source .s1,.ipc-source .s2,.ipc-source .sd,.ipc-source .sa,"
    ".ipc-source .si,.ipc-source .se{color:var(--jp-mirror-editor-string-color)!important}"
    ".ipc-source .c1,.ipc-source .cm{color:var(--jp-mirror-editor-comment-color)!important}"
    ".ipc-source .mi,.ipc-source .mf{color:var(--jp-mirror-editor-number-color)!important}"
    ".ipc-source .nf,.ipc-source .nc{color:var(--jp-mirror-editor-def-color)!important}"
    ".ipc-source .nb,.ipc-source .bp,.ipc-source .nd"
    "{color:var(--jp-mirror-editor-builtin-color)!important}"
    "</style>"
)

_SPAN = re.compile(r'<span class="([\w-]+)">')
_PLAIN_SPAN = re.compile(r'<span class="[\w-]+">([^<]*)</span>')  # a token left uncoloured


def _highlighted(source: str) -> str:
    """``source`` as HTML spans with a class and an inline colour each."""
    formatter = HtmlFormatter(style=_ReadableOnBothThemes, nowrap=True)
    marked = highlight(source, PythonLexer(), formatter)

    def add_style(match: re.Match[str]) -> str:
        cls = match.group(1)
        style = formatter.class2style.get(cls, ("",))[0]
        return f'<span class="{cls}" style="{style}">' if style else match.group(0)

    return _PLAIN_SPAN.sub(r"\1", _SPAN.sub(add_style, marked))


@dataclass(frozen=True)
class SourceBlock:
    """The source of one function or class: its name and its code."""

    name: str
    code: str

    @property
    def lines(self) -> int:
        return self.code.count("\n") + 1

    def html(self, open_: bool) -> str:
        plural = "line" if self.lines == 1 else "lines"
        return (
            f'<details class="ipc-source"{" open" if open_ else ""}>'
            f"<summary>Source of <code>{html.escape(self.name)}</code> "
            f"({self.lines} {plural})</summary>"
            '<pre style="margin:0.3em 0 0.3em 0;padding:0.4em 0.6em;'
            'border-left:3px solid #8C8C8C;line-height:1.3">'
            f"{_highlighted(self.code)}</pre></details>"
        )


class Source:
    """What ``show_source`` returns: highlighted HTML for JupyterLab, plain text otherwise."""

    def __init__(self, blocks: list[SourceBlock], open_: bool | None) -> None:
        self.blocks = blocks
        self.open = open_

    @property
    def text(self) -> str:
        """The plain source, blocks separated by a blank line."""
        return "\n\n".join(b.code for b in self.blocks)

    def _repr_html_(self) -> str:
        blocks = [
            b.html(b.lines <= OPEN_UP_TO if self.open is None else self.open) for b in self.blocks
        ]
        return _THEME_CSS + "".join(blocks)

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text)


def show_source(*objects: Any, open: bool | None = None) -> Source:
    """The source code of each function or class in ``objects``, for display.

    Put it last in a cell (or pass it to ``display``). The notebooks import
    their workers from ``ipc_helpers``; this shows them so the learner reads
    exactly what the child runs. ``open``: ``True``/``False`` to open or
    collapse every block; by default blocks of at most ``OPEN_UP_TO`` lines
    are open and longer ones collapsed.
    """
    if not objects:
        raise TypeError("show_source needs at least one function or class")
    if open is not None:
        check_type("open", open, bool)
    blocks = []
    for i, obj in enumerate(objects):
        if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj)):
            raise TypeError(f"objects[{i}] must be a function or class, got {type(obj).__name__}")
        code = textwrap.dedent(inspect.getsource(obj)).rstrip()  # a method is indented
        blocks.append(SourceBlock(obj.__qualname__, code))
    return Source(blocks, open)
