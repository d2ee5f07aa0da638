"""display.Table and display.details: HTML for JupyterLab, short stable text otherwise."""

from __future__ import annotations

import pytest
from IPython.core.formatters import DisplayFormatter

from ipc_helpers.display import TEXT_ROWS, Table, details, format_number


def table(rows=None) -> Table:
    rows = rows or [("Queue", 3227.4, "pinned"), {"mechanism": "Pipe", "median": 12}]
    return Table(
        ["mechanism", "median", "placement"],
        rows,
        caption="Throughput at 1 MiB",
        units={"median": "MB/s"},
    )


def test_html_is_a_real_table_with_caption_units_and_right_aligned_numbers():
    html = table()._repr_html_()
    assert html.startswith("<table><caption>Throughput at 1 MiB</caption><thead>")
    assert '<th style="text-align:right">median (MB/s)</th>' in html
    assert '<td style="text-align:right">3,227</td>' in html
    assert '<td style="text-align:left">Queue</td>' in html
    assert '<td style="text-align:left">—</td>' in html  # the missing placement


def test_text_is_short_aligned_and_says_what_it_left_out():
    assert table().text().splitlines() == [
        "Throughput at 1 MiB",
        "mechanism  median (MB/s)  placement",
        "Queue              3,227  pinned",
        "Pipe                  12  —",
    ]
    many = table([(f"m{i}", i, "x") for i in range(25)])
    lines = repr(many).splitlines()
    assert len(lines) == 2 + TEXT_ROWS + 1 and lines[-1] == "(15 more rows in the HTML view)"
    narrow = table().text(width=25)
    assert narrow.splitlines()[-1] == "(1 more columns in the HTML view)"
    data, _ = DisplayFormatter().format(table())
    assert set(data) == {"text/plain", "text/html"}


def test_numbers_read_well():
    assert [format_number(v) for v in (12345, 3227.4, 12.34, 1.234, 0.00123, 0, None, "x")] == [
        "12,345",
        "3,227",
        "12.3",
        "1.23",
        "0.0012",
        "0",
        "—",
        "x",
    ]


def test_details_fold_the_full_figures_away():
    block = details("Full figures (2 rows)", table())
    assert repr(block) == "▶ Full figures (2 rows)"
    html = block._repr_html_()
    assert html.startswith("<details><summary>Full figures (2 rows)</summary><table>")
    assert "<pre>a &lt; b</pre>" in details("raw", "a < b", open=True)._repr_html_()
    assert details("raw", "x", open=True)._repr_html_().startswith("<details open>")


def test_bad_arguments():
    with pytest.raises(ValueError, match="columns must not be empty"):
        Table([], [])
    with pytest.raises(ValueError, match=r"rows\[0\] must have 2 values"):
        Table(["a", "b"], [(1,)])
    with pytest.raises(ValueError, match="'speed' is not one of the columns"):
        Table(["a"], [(1,)], units={"speed": "MB/s"})
    with pytest.raises(TypeError, match="caption must be str"):
        Table(["a"], [(1,)], caption=3)
    with pytest.raises(ValueError, match="summary must not be empty"):
        details(" ", "x")
    with pytest.raises(ValueError, match="max_rows must be at least 1"):
        table().text(max_rows=0)
