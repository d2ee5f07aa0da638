"""Wrap messages at word boundaries, so no line of output breaks mid-word.

JupyterLab wraps a long output line wherever the output area ends, often in
the middle of a word ("ca|nnot", "1|3611"). Messages the course prints
(checker feedback, demo results) are wrapped here first, to at most ``WIDTH``
columns, which fits the output area at the default font size with the file
browser open.
"""

from __future__ import annotations

import os
import re
import textwrap

from .validation import check_int, check_type

#: The widest line the course prints (columns).
WIDTH = 90

#: Set to ``1`` (the tests do) to make failed claims and checker bugs raise.
STRICT_ENV = "IPC_HELPERS_STRICT"

_BULLET = re.compile(r"^(\s*)([-*•]\s+|\d+[.)]\s+)?")


def wrap(message: str, width: int = WIDTH) -> str:
    """Return ``message`` with every line wrapped at word boundaries to ``width``.

    Existing line breaks and blank lines are kept; a line that starts with
    spaces or a bullet (``-``, ``*``, ``1.``) continues under its text. Words
    are never split, so a single word longer than ``width`` (a long path, say)
    stays on its own line.

    >>> print(wrap("Not yet: the child squared its own copy of the list", width=30))
    Not yet: the child squared its
    own copy of the list
    """
    check_type("message", message, str)
    width = check_int("width", width, minimum=20)
    return "\n".join(_wrap_line(line, width) for line in message.split("\n"))


def _wrap_line(line: str, width: int) -> str:
    if len(line) <= width:
        return line
    indent, bullet = _BULLET.match(line).groups()
    return textwrap.fill(
        line,
        width=width,
        subsequent_indent=indent + " " * len(bullet or ""),
        break_long_words=False,
        break_on_hyphens=False,
    )


def strict() -> bool:
    """True when ``IPC_HELPERS_STRICT=1`` (the test harness sets it)."""
    return os.environ.get(STRICT_ENV) == "1"


def expect(shown: bool, claim: str) -> None:
    """Check a claim that depends on timing or load: strict in the tests, a sentence otherwise.

    Nothing happens when ``shown`` is true. Otherwise, under
    ``IPC_HELPERS_STRICT=1`` (the tests) it raises ``AssertionError(claim)``,
    so a demo that stops showing its point fails its test; for a learner it
    prints one plain sentence instead of a traceback, and the cell goes on::

        expect(race.wrong_rounds > 0, "no update was lost in 20 rounds")

    prints, when no update was lost: ``This run did not show it (no update
    was lost in 20 rounds): this machine was too busy to show the effect; run
    the cell again.`` Keep hard ``assert`` for what must always hold. It
    returns nothing, so that a cell may end with it without showing a value.
    """
    claim = check_type("claim", claim, str)
    if shown:
        return
    if strict():
        raise AssertionError(claim)
    print(
        wrap(
            f"This run did not show it ({claim}): this machine was too busy to show "
            "the effect; run the cell again."
        )
    )
