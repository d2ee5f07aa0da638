"""show_source: a collapsible highlighted block in HTML, the plain source in text/plain."""

from __future__ import annotations

import inspect

import pytest
from IPython.core.formatters import DisplayFormatter

from ipc_helpers.cleanup import stop
from ipc_helpers.source import OPEN_UP_TO, Source, show_source
from ipc_helpers.text import wrap


class Worker:
    """A class, to show that methods are dedented."""

    def run(self, x: int) -> str:
        return "<b>" if x < 1 else "&"


def test_plain_text_is_exactly_the_source():
    shown = show_source(stop)
    assert isinstance(shown, Source)
    assert repr(shown) == inspect.getsource(stop).rstrip() == shown.text
    assert repr(shown).startswith("def stop(")


def test_both_mimetypes_reach_the_notebook():
    data, _ = DisplayFormatter().format(show_source(wrap))
    assert set(data) == {"text/plain", "text/html"}
    assert data["text/plain"] == inspect.getsource(wrap).rstrip()


def test_html_is_a_highlighted_collapsible_block_with_a_summary():
    html = show_source(stop)._repr_html_()
    lines = len(inspect.getsource(stop).rstrip().splitlines())
    assert f"<summary>Source of <code>stop</code> ({lines} lines)</summary>" in html
    assert '<details class="ipc-source">' in html  # more than OPEN_UP_TO lines: collapsed
    assert '<span class="k" style="color: #007FC6">def</span>' in html
    assert "var(--jp-mirror-editor-keyword-color)" in html  # the theme's colours when trusted
    assert html == show_source(stop)._repr_html_()  # the same every time (nbval compares it)


def test_short_blocks_open_long_ones_collapse_and_open_overrides():
    short = show_source(Worker.run)._repr_html_()
    assert '<details class="ipc-source" open>' in short and "(2 lines)" in short
    assert '<details class="ipc-source" open>' in show_source(stop, open=True)._repr_html_()
    assert " open>" not in show_source(Worker.run, open=False)._repr_html_()
    assert OPEN_UP_TO == 15


def test_methods_are_dedented_and_html_is_escaped():
    shown = show_source(Worker.run)
    assert shown.text.startswith("def run(self, x: int) -> str:")
    assert "&lt;b&gt;" in shown._repr_html_() and "<b>" not in shown._repr_html_()
    assert "Source of <code>Worker.run</code>" in shown._repr_html_()


def test_several_objects_make_several_blocks():
    shown = show_source(stop, Worker)
    assert shown.text == "\n\n".join(
        [inspect.getsource(stop).rstrip(), inspect.getsource(Worker).rstrip()]
    )
    assert shown._repr_html_().count("<details") == 2


def test_rejects_what_has_no_source():
    with pytest.raises(TypeError, match="at least one"):
        show_source()
    with pytest.raises(TypeError, match=r"objects\[0\] must be a function or class, got int"):
        show_source(1)
    with pytest.raises(TypeError, match="open must be bool"):
        show_source(stop, open="yes")
