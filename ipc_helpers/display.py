"""Tables and fold-away details for notebook output, without pandas.

- ``Table(columns, rows, caption=..., units=...)``: a real HTML table in
  JupyterLab (caption, units in the headers, numbers right-aligned) and a
  short aligned text for ``text/plain`` (what the tests compare and a
  terminal shows).
- ``details(summary, body)``: a block that shows ``summary`` and opens on a
  click, for the full figures behind a short table or plot.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .text import WIDTH
from .validation import check_int, check_type

#: ``text/plain`` shows at most this many rows (the HTML view shows them all).
TEXT_ROWS = 10


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def format_number(value: Any) -> str:
    """A number as a reader wants it: ``12,345``, ``123``, ``12.3``, ``1.23``, ``0.0012``."""
    if value is None:
        return "—"
    if not _is_number(value):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size >= 0.01 or size == 0:
        return f"{value:.3g}"
    return f"{value:.2g}"


class Table:
    """A table for notebook output: HTML in JupyterLab, short aligned text otherwise.

    ``columns``: header names. ``rows``: sequences in column order, or
    mappings keyed by column name. ``units``: ``{column: "MB/s"}``, shown in
    the header as ``median (MB/s)``. ``formats``: ``{column: callable}`` to
    turn a value into text (default ``format_number``).
    """

    def __init__(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any] | Mapping[str, Any]],
        *,
        caption: str = "",
        units: Mapping[str, str] | None = None,
        formats: Mapping[str, Callable[[Any], str]] | None = None,
    ) -> None:
        check_type("columns", columns, Sequence)
        self.columns = [check_type(f"columns[{i}]", c, str) for i, c in enumerate(columns)]
        if not self.columns:
            raise ValueError("columns must not be empty")
        self.caption = check_type("caption", caption, str)
        self.units = dict(check_type("units", units or {}, Mapping))
        self.formats = dict(check_type("formats", formats or {}, Mapping))
        for name in [*self.units, *self.formats]:
            if name not in self.columns:
                raise ValueError(f"{name!r} is not one of the columns {self.columns}")
        self.rows = [self._row(i, row) for i, row in enumerate(check_type("rows", rows, Sequence))]

    def _row(self, i: int, row: Any) -> list[Any]:
        if isinstance(row, Mapping):
            return [row.get(c) for c in self.columns]
        check_type(f"rows[{i}]", row, Sequence)
        if isinstance(row, str) or len(row) != len(self.columns):
            raise ValueError(f"rows[{i}] must have {len(self.columns)} values, got {row!r}")
        return list(row)

    def header(self, column: str) -> str:
        """The header of ``column``, with its unit: ``median (MB/s)``."""
        unit = self.units.get(column)
        return f"{column} ({unit})" if unit else column

    def cell(self, column: str, value: Any) -> str:
        """``value`` of ``column`` as text."""
        return self.formats.get(column, format_number)(value)

    def _repr_html_(self) -> str:
        numeric = [any(_is_number(r[j]) for r in self.rows) for j in range(len(self.columns))]

        def align(j: int) -> str:
            return ' style="text-align:right"' if numeric[j] else ' style="text-align:left"'

        head = "".join(
            f"<th{align(j)}>{html.escape(self.header(c))}</th>" for j, c in enumerate(self.columns)
        )
        body = "".join(
            "<tr>"
            + "".join(
                f"<td{align(j)}>{html.escape(self.cell(c, row[j]))}</td>"
                for j, c in enumerate(self.columns)
            )
            + "</tr>"
            for row in self.rows
        )
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def text(self, max_rows: int = TEXT_ROWS, width: int = WIDTH) -> str:
        """Aligned plain text: the caption, the header and at most ``max_rows`` rows.

        Columns that would make a line wider than ``width`` are left out, and
        a last line says how many rows and columns only the HTML view shows.
        """
        max_rows = check_int("max_rows", max_rows, minimum=1)
        width = check_int("width", width, minimum=20)
        shown = self.rows[:max_rows]
        cells = [[self.header(c) for c in self.columns]] + [
            [self.cell(c, row[j]) for j, c in enumerate(self.columns)] for row in shown
        ]
        widths = [max(len(r[j]) for r in cells) for j in range(len(self.columns))]
        keep = 0
        while keep < len(widths) and sum(widths[: keep + 1]) + 2 * keep <= width:
            keep += 1
        keep = max(keep, 1)
        numeric = [any(_is_number(r[j]) for r in shown) for j in range(len(self.columns))]
        lines = [self.caption] if self.caption else []
        for r in cells:
            parts = [
                r[j].rjust(widths[j]) if numeric[j] else r[j].ljust(widths[j]) for j in range(keep)
            ]
            lines.append("  ".join(parts).rstrip())
        hidden_rows, hidden_cols = len(self.rows) - len(shown), len(self.columns) - keep
        if hidden_rows or hidden_cols:
            more = [f"{hidden_rows} more rows"] if hidden_rows else []
            more += [f"{hidden_cols} more columns"] if hidden_cols else []
            lines.append(f"({' and '.join(more)} in the HTML view)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())


class Details:
    """What ``details`` returns: a fold-away block in HTML, its summary as plain text."""

    def __init__(self, summary: str, body: Any, open_: bool) -> None:
        self.summary = summary
        self.body = body
        self.open = open_

    def _body_html(self) -> str:
        if hasattr(self.body, "_repr_html_"):
            return self.body._repr_html_()
        return f"<pre>{html.escape(str(self.body))}</pre>"

    def _repr_html_(self) -> str:
        return (
            f"<details{' open' if self.open else ''}>"
            f"<summary>{html.escape(self.summary)}</summary>{self._body_html()}</details>"
        )

    def __repr__(self) -> str:
        return f"▶ {self.summary}"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def details(summary: str, body: Any, *, open: bool = False) -> Details:
    """A block showing ``summary``; a click opens ``body`` (a ``Table``, text, any HTML-able).

    In ``text/plain`` (the tests, a terminal) only the summary line shows.
    """
    check_type("summary", summary, str)
    check_type("open", open, bool)
    if not summary.strip():
        raise ValueError("summary must not be empty")
    return Details(summary, body, open)
