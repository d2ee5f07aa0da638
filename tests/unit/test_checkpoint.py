"""checkpoint: a multiple-choice widget that explains every wrong answer, tested headless."""

from __future__ import annotations

import pytest
from IPython.core.formatters import DisplayFormatter

from ipc_helpers.checkpoint import Checkpoint, checkpoint, choose

QUESTION = "A child appends to a list it got from its parent. What does the parent see?"
OPTIONS = ["the appended item", "its list unchanged", "an error"]
WHY = {
    "the appended item": "the child changed its own copy: memory is not shared.",
    "an error": "nothing fails; the change just never comes back.",
}


def make() -> Checkpoint:
    return checkpoint(QUESTION, OPTIONS, "its list unchanged", WHY)


def test_every_answer_gets_its_explanation():
    point = make()
    assert point.verdict() == ""
    assert choose(point, "the appended item") == f"Not quite: {WHY['the appended item']}"
    assert "✘ Not quite: the child changed its own copy" in point.feedback.value
    assert choose(point, 2) == f"Not quite: {WHY['an error']}"
    assert choose(point, "its list unchanged") == "Correct!"
    assert "✔ Correct!" in point.feedback.value


def test_text_plain_is_stable_and_readable():
    expected = (
        f"Checkpoint. {QUESTION}\n  a) the appended item\n  b) its list unchanged\n  c) an error"
    )
    assert repr(make()) == expected
    data, _ = DisplayFormatter().format(make())
    assert data["text/plain"] == expected  # not the widget's 110-character default
    assert "application/vnd.jupyter.widget-view+json" in data


def test_explanations_as_a_list_and_the_answer_as_an_index():
    point = checkpoint("2 + 2?", ["4", "5"], 0, ["it is.", "count again."])
    assert choose(point, "4") == "Correct! it is."


def test_bad_arguments_name_what_is_wrong():
    with pytest.raises(ValueError, match="explanations must explain every wrong answer"):
        checkpoint(QUESTION, OPTIONS, 1, {"an error": "x"})
    with pytest.raises(ValueError, match="answer must be one of the options; got 'maybe'"):
        checkpoint(QUESTION, OPTIONS, "maybe", WHY)
    with pytest.raises(ValueError, match="answer must be an index from 0 to 2, got 5"):
        checkpoint(QUESTION, OPTIONS, 5, WHY)
    with pytest.raises(ValueError, match="options must be a list of 2 to 26 answers"):
        checkpoint(QUESTION, ["only"], 0, [""])
    with pytest.raises(ValueError, match="options must all differ"):
        checkpoint(QUESTION, ["a", "a"], 0, ["", "x"])
    with pytest.raises(ValueError, match="keys that are not options"):
        checkpoint(QUESTION, OPTIONS, 1, {**WHY, "other": "x"})
    with pytest.raises(TypeError, match="question must be str"):
        checkpoint(None, OPTIONS, 1, WHY)
    with pytest.raises(TypeError, match="point must be Checkpoint"):
        choose("x", 0)
