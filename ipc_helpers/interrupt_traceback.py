"""After Kernel → Interrupt: a short traceback, shown at once.

IPython shows an error with the source around every frame, which it reads,
parses and colours file by file; IPython 9 then does it all again for its
history. An interrupt often lands deep in a library: while matplotlib draws
the cell's figure, or inside ``multiprocessing`` while the cell waits for a
child. Measured on 04's cost cell, interrupted while it drew its plot: IPython
took 0.05 to 1.2 s of CPU to show the traceback, and the next cell answered
0.2 to 2.2 s after the interrupt on a quiet machine (many times that on a busy
one: the cell looks stuck after the learner pressed Interrupt). With the short
traceback it answered in 0.04 to 0.1 s.

What a learner needs is where the program was: the lines of their cell and of
the course's code that led there, and the line it was running when the
interrupt came. ``short_traceback`` shows those, one frame each, and counts the
library frames in between. ``%tb`` shows the full traceback, as IPython would.
"""

from __future__ import annotations

import linecache
import re
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

#: Frames in this folder are the course's: shown, like the cells' own.
COURSE = str(Path(__file__).resolve().parent)
#: The standard library's folder (``lib/python3.13``; ``t``: a free-threaded build).
STDLIB = re.compile(r"python3\.\d+t?")
HINT = "(Kernel → Interrupt; %tb shows every frame)"


def short_traceback(shell: Any, tb: TracebackType | None) -> list[str]:
    """The traceback of an interrupt, as IPython's list of entries: the cell's and
    the course's frames, the innermost frame, and a count of the others."""
    frames = _frames(shell, tb)
    entries = [f"KeyboardInterrupt {HINT}"]
    hidden: list[str] = []
    for number, (place, code, package) in enumerate(frames):
        if package and number != len(frames) - 1:
            hidden.append(package)
            continue
        if hidden:
            entries.append(_hidden(hidden))
            hidden = []
        entries.append(f"{place}\n----> {code}")
    return entries


def _frames(shell: Any, tb: TracebackType | None) -> list[tuple[str, str, str]]:
    """(place, line of code, library or "") per frame, from the first cell frame on
    (the frames of IPython that run the cell are left out)."""
    frames: list[tuple[str, str, str]] = []
    first_cell = None
    while tb is not None:
        code, line = tb.tb_frame.f_code, tb.tb_lineno
        text = linecache.getline(code.co_filename, line).strip()
        label = _cell_label(shell, code.co_filename)
        if label:
            first_cell = len(frames) if first_cell is None else first_cell
            frames.append((f"{label}, line {line}", text, ""))
        else:
            where = f"File {code.co_filename}:{line}, in {code.co_name}"
            frames.append((where, text, _library(code.co_filename)))
        tb = tb.tb_next
    return frames[first_cell or 0 :]


def _cell_label(shell: Any, filename: str) -> str:
    """``Cell In[7]`` for the file IPython made for a cell; "" for a real file."""
    name = shell.compile.format_code_name(filename) if hasattr(shell, "compile") else None
    return f"{name[0]} {name[1]}" if name else ""


def _library(filename: str) -> str:
    """The package of a library's or the standard library's file (``matplotlib``,
    ``multiprocessing``); "" for any other file (the course's, the learner's)."""
    if filename.startswith(COURSE):
        return ""
    parts = Path(filename).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts[:-1]:
            return parts[parts.index(marker) + 1].removesuffix(".py")
    stdlib = [i for i, part in enumerate(parts[:-1]) if STDLIB.fullmatch(part)]
    if stdlib:
        return parts[stdlib[-1] + 1].removesuffix(".py")
    return "<frozen>" if filename.startswith("<frozen") else ""


def _hidden(packages: list[str]) -> str:
    names = ", ".join(dict.fromkeys(packages))
    count = len(packages)
    return f"... {count} frame{'s' if count > 1 else ''} in {names} ..."


def show_interrupt(
    shell: Any,
    etype: type[BaseException],
    value: BaseException,
    tb: TracebackType | None,
    tb_offset: int | None = None,
) -> None:
    """IPython's handler for ``KeyboardInterrupt`` (``shell.set_custom_exc``).

    Stores the error as IPython does (``sys.last_value``, which ``%tb`` and the
    after-cell clean-up read) and sends it as the cell's error. IPython 9 then
    formats the error once more, for its history: the short traceback stands
    in for it there too (``_render_traceback_``, until ``show_in_full``). A
    second interrupt meanwhile leaves the one line ``KeyboardInterrupt``, as in
    IPython (IPython would drop a handler that lets it through).
    """
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = value
    try:
        entries = short_traceback(shell, tb)
        value._render_traceback_ = lambda: entries  # type: ignore[attr-defined]
        shell._showtraceback(etype, value, entries)
    except KeyboardInterrupt:
        print(f"\nKeyboardInterrupt {HINT}", file=sys.stderr)


def show_in_full(error: BaseException | None) -> None:
    """After the cell: ``%tb`` shows ``error`` in full again, as IPython formats it."""
    if error is not None and "_render_traceback_" in getattr(error, "__dict__", {}):
        del error._render_traceback_  # type: ignore[attr-defined]
