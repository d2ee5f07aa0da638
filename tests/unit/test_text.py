"""text.wrap: word boundaries, kept line breaks, bullets, checked arguments."""

from __future__ import annotations

import pytest

from ipc_helpers.text import WIDTH, expect, wrap


def test_wraps_at_word_boundaries_to_the_width():
    message = "no fork on Windows: the operating system cannot copy a process, " * 4
    lines = wrap(message).splitlines()
    assert WIDTH == 90 and len(lines) > 1 and all(len(line) <= 90 for line in lines)
    assert " ".join(lines).split() == message.split()  # no word split or lost


def test_numbers_and_words_are_never_split():
    message = "x " * 40 + "13611 everybody"
    assert "13611" in wrap(message, width=20).split()


def test_line_breaks_and_bullets_are_kept():
    message = "Two steps:\n\n- " + "join every process you start " * 4 + "\n- unlink"
    lines = wrap(message, width=40).splitlines()
    assert lines[:3] == ["Two steps:", "", "- join every process you start join"]
    assert lines[3].startswith("  every") and lines[-1] == "- unlink"


def test_a_long_word_stays_whole():
    path = "/very/long/" + "x" * 120
    assert wrap(f"see {path}") == f"see\n{path}"


def test_bad_arguments():
    with pytest.raises(TypeError, match="message must be str"):
        wrap(42)
    with pytest.raises(ValueError, match="width must be at least 20"):
        wrap("x", width=5)


def test_expect_is_strict_in_tests_and_a_sentence_for_learners(monkeypatch, capsys):
    monkeypatch.setenv("IPC_HELPERS_STRICT", "1")
    assert expect(True, "shown") is None  # a statement: a cell ending with it shows no value
    assert capsys.readouterr().out == ""
    with pytest.raises(AssertionError, match="no update was lost"):
        expect(False, "no update was lost")
    monkeypatch.delenv("IPC_HELPERS_STRICT")
    assert expect(False, "no update was lost") is None
    said = capsys.readouterr().out
    assert "This run did not show it (no update was lost)" in said
    assert "run the cell again" in said
    assert max(len(line) for line in said.splitlines()) <= WIDTH
    with pytest.raises(TypeError, match="claim must be str"):
        expect(False, None)
