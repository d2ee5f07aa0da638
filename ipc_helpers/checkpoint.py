"""Checkpoints: a short multiple-choice question after a section, answered in place.

Like the Carpentries' formative assessments: every wrong answer is a known
misconception, and choosing it shows why it is wrong. Nothing is graded or
stored; the learner (and the instructor watching the room) sees at once
whether the section's idea landed.

::

    checkpoint(
        "A child process appends to a list it got from its parent. What does the parent see?",
        ["the appended item", "its list unchanged", "an error"],
        answer="its list unchanged",
        explanations={
            "the appended item": "the child changed its own copy: memory is not shared.",
            "an error": "nothing fails; the change just never comes back.",
        },
    )
"""

from __future__ import annotations

import html
import string
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from .text import wrap
from .validation import check_type

_LETTERS = string.ascii_lowercase


class Checkpoint(widgets.VBox):
    """The widget ``checkpoint`` returns. Its ``text/plain`` is the question and options."""

    def __init__(self, question: str, options: list[str], answer: int, explanations: list[str]):
        self.question, self.options, self.answer = question, options, answer
        self.explanations = explanations
        self.choices = widgets.RadioButtons(
            options=[(f"{_LETTERS[i]}) {o}", i) for i, o in enumerate(options)],
            value=None,
            layout=widgets.Layout(width="auto"),
        )
        self.feedback = widgets.HTML(value="")
        self.choices.observe(self._show_feedback, names="value")
        prompt = widgets.HTML(value=f"<b>Checkpoint.</b> {html.escape(question)}")
        super().__init__([prompt, self.choices, self.feedback])

    def verdict(self) -> str:
        """The feedback for the current choice, as plain text (``""`` before a choice)."""
        i = self.choices.value
        if i is None:
            return ""
        why = self.explanations[i]
        if i == self.answer:
            return f"Correct! {why}".rstrip()
        return f"Not quite: {why}"

    def _show_feedback(self, _: Any = None) -> None:
        i = self.choices.value
        colour = "#007A59" if i == self.answer else "#B14E00"  # style.ROLES ok / lost text
        mark = "✔" if i == self.answer else "✘"
        self.feedback.value = (
            f'<span style="color:{colour}">{mark} {html.escape(self.verdict())}</span>'
        )

    def text(self) -> str:
        """The question and the lettered options, wrapped (the stored ``text/plain``)."""
        lines = [wrap(f"Checkpoint. {self.question}")]
        lines += [wrap(f"  {_LETTERS[i]}) {o}") for i, o in enumerate(self.options)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs)
        if isinstance(bundle, tuple):  # (data, metadata)
            bundle[0]["text/plain"] = self.text()
        elif isinstance(bundle, dict):
            bundle["text/plain"] = self.text()
        return bundle


def checkpoint(
    question: str,
    options: Sequence[str],
    answer: str | int,
    explanations: Mapping[str, str] | Sequence[str],
) -> Checkpoint:
    """A multiple-choice question with an explanation for every wrong answer.

    ``answer``: the right option (its text or its index). ``explanations``:
    ``{option: why}`` or a list in option order; every wrong option needs
    one, the right one may have one (shown after "Correct!").
    """
    check_type("question", question, str)
    check_type("options", options, Sequence)
    opts = [check_type(f"options[{i}]", o, str) for i, o in enumerate(options)]
    if isinstance(options, str) or not 2 <= len(opts) <= len(_LETTERS):
        raise ValueError(f"options must be a list of 2 to 26 answers, got {options!r}")
    if len(set(opts)) != len(opts):
        raise ValueError("options must all differ")
    right = _index_of("answer", answer, opts)
    why = _explanations(explanations, opts)
    missing = [o for i, o in enumerate(opts) if i != right and not why[i].strip()]
    if missing:
        raise ValueError(f"explanations must explain every wrong answer; missing: {missing}")
    return Checkpoint(question, opts, right, why)


def _index_of(name: str, value: str | int, options: list[str]) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"{name} must be an option (str) or its index (int), got {value!r}")
    if isinstance(value, int):
        if not 0 <= value < len(options):
            raise ValueError(f"{name} must be an index from 0 to {len(options) - 1}, got {value}")
        return value
    if value not in options:
        raise ValueError(f"{name} must be one of the options; got {value!r}")
    return options.index(value)


def _explanations(explanations: Mapping[str, str] | Sequence[str], opts: list[str]) -> list[str]:
    if isinstance(explanations, Mapping):
        unknown = [k for k in explanations if k not in opts]
        if unknown:
            raise ValueError(f"explanations has keys that are not options: {unknown}")
        texts = [explanations.get(o, "") for o in opts]
    elif isinstance(explanations, Sequence) and not isinstance(explanations, str):
        if len(explanations) != len(opts):
            raise ValueError(f"explanations must have {len(opts)} entries, one per option")
        texts = list(explanations)
    else:
        raise TypeError("explanations must be a dict {option: why} or a list in option order")
    return [check_type(f"explanations[{i}]", t, str) for i, t in enumerate(texts)]


def choose(point: Checkpoint, option: str | int) -> str:
    """Choose ``option`` in ``point`` from code and return the feedback text (tests use it)."""
    check_type("point", point, Checkpoint)
    point.choices.value = _index_of("option", option, point.options)
    return point.verdict()
