"""The learner copy (``make learner-copy``): no solution and no answer can ship.

Two kinds of tests:

- on a small notebook made here, with a known "secret" solution: every way of
  marking a solution wrong, and every rehearsal answer typed into an exercise
  cell, stops the tool with a message naming the notebook and cell, without the
  secret and without writing anything; the edition markers give each edition
  its own words;
- on the course's own notebooks: each has exercises, each exercise a solution;
  the copies are valid, hold no line of any solution and read right without
  solutions or stored outputs.

The bundle around the copies, installed and run, is ``test_learner_bundle.py``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools import learner_bundle as lb
from tools import learner_copy as lc

from .conftest import NOTEBOOKS, ROOT

SECRET = "total = sum(x * x for x in range(10))  # the secret solution"
FIXTURE = "99_fixture.ipynb"
STUB = (
    "def squares():\n    # your code here\n    raise NotImplementedError\n"
    "\n\ncheck_squares(squares)"
)


def fixture_notebook(stub: str = STUB) -> nbformat.NotebookNode:
    """Title, figure, an exercise, its solution, and a cell after them."""
    v4 = nbformat.v4
    exercise = v4.new_code_cell(stub)
    exercise.metadata["tags"] = ["exercise"]
    heading = v4.new_markdown_cell("#### Solution")
    heading.metadata["tags"] = ["solution"]
    solution = v4.new_code_cell(f"def squares():\n    {SECRET}\n    return total\n\nsquares()")
    solution.metadata["tags"] = ["solution"]
    solution.outputs = [v4.new_output("execute_result", {"text/plain": "285"}, execution_count=2)]
    return v4.new_notebook(
        cells=[
            v4.new_markdown_cell("# 99 — Fixture\n\n![a picture](figures/fixture.svg)"),
            v4.new_markdown_cell("### Exercise: sum the squares below ten"),
            exercise,
            heading,
            solution,
            v4.new_markdown_cell("## Summary\n\n[Contents](../README.md)"),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A notebooks/ folder holding the fixture notebook and its figure."""
    folder = tmp_path / "notebooks"
    (folder / "figures").mkdir(parents=True)
    (folder / "figures" / "fixture.svg").write_text("<svg/>", encoding="utf-8")
    nbformat.write(fixture_notebook(), folder / FIXTURE)
    return folder


def test_fixture_copy_holds_no_solution(course: Path, tmp_path: Path):
    out = lb.make_bundle([course / FIXTURE], tmp_path / "learner-copy")
    text = (out / "notebooks" / FIXTURE).read_text(encoding="utf-8")
    copy = nbformat.reads(text, as_version=4)
    nbformat.validate(copy)
    assert "secret solution" not in text and "#### Solution" not in text
    assert [c.cell_type for c in copy.cells] == ["markdown", "markdown", "code", "markdown"]
    assert copy.cells[2].metadata["tags"] == ["exercise"]
    assert copy.cells[2].outputs == [] and copy.cells[2].execution_count is None
    assert (out / "notebooks" / "figures" / "fixture.svg").exists()
    original = fixture_notebook()
    assert lb.leaks(original, text) == []
    assert lb.leaks(original, nbformat.writes(original))  # the detector itself works


def mark(nb: nbformat.NotebookNode, index: int, tags) -> nbformat.NotebookNode:
    nb.cells[index].metadata["tags"] = tags
    return nb


def retitle(nb: nbformat.NotebookNode, index: int, heading: str) -> nbformat.NotebookNode:
    nb.cells[index].source = heading
    nb.cells[index].metadata["tags"] = []
    nb.cells[index + 1].metadata["tags"] = []
    return nb


def drop(nb: nbformat.NotebookNode, index: int) -> nbformat.NotebookNode:
    del nb.cells[index]
    return nb


def rewrite(nb: nbformat.NotebookNode, index: int, text: str) -> nbformat.NotebookNode:
    nb.cells[index].source = text
    return nb


def answer(stub: str) -> nbformat.NotebookNode:
    return fixture_notebook(stub)


MALFORMED = {
    # name: (how to break the fixture, cell number in the message, words in it)
    "heading-without-tagged-code": (lambda nb: mark(nb, 4, []), 4, "no code cell tagged"),
    "untagged-heading": (lambda nb: mark(nb, 3, []), 4, "without the 'solution' tag"),
    "code-without-heading": (lambda nb: drop(nb, 3), 4, "no '#### Solution' heading"),
    "solution-and-exercise": (lambda nb: mark(nb, 4, ["solution", "exercise"]), 5, "both"),
    "tag-solutions": (lambda nb: mark(nb, 4, ["solutions"]), 5, "misspelling of 'solution'"),
    "tag-Solution": (lambda nb: mark(nb, 4, ["Solution"]), 5, "misspelling of 'solution'"),
    "tag-soln": (lambda nb: mark(nb, 4, ["soln"]), 5, "misspelling of 'solution'"),
    "tag-hide-solution": (lambda nb: mark(nb, 4, ["hide-solution"]), 5, "misspelling"),
    "untagged-other-heading": (lambda nb: retitle(nb, 3, "#### One possible solution"), 4, "tag"),
    "tag-exercice": (lambda nb: mark(nb, 2, ["exercice"]), 3, "misspelling of 'exercise'"),
    "tags-not-a-list": (lambda nb: mark(nb, 4, "solution"), 5, "list of strings"),
    "unbalanced-edition-marker": (
        lambda nb: rewrite(nb, 5, "## Summary <!-- full-edition --> solved"), 6, "unbalanced"),
    # An instructor's rehearsal answer left in the exercise cell:
    "answer-in-the-function": (
        lambda nb: answer(STUB.replace("raise NotImplementedError", SECRET)), 3, "not the stub"),
    "code-before-the-placeholder": (
        lambda nb: answer(STUB.replace("    raise", f"    {SECRET}\n    raise")), 3, "line 3"),
    "a-helper-added": (lambda nb: answer(f"def helper():\n    {SECRET}\n\n{STUB}"), 3, "stub"),
    "a-filled-dictionary": (lambda nb: answer('answers = {"a": "fork"}\ncheck_a(answers)'), 3,
                            "placeholder"),
    "a-result-assigned": (lambda nb: answer(f"{STUB}\nresult = squares()"), 3, "stub"),
    "no-placeholder-left": (lambda nb: answer("check_squares(print)"), 3, "no `raise"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_markers_and_answers_stop_the_copy(case: str, course: Path, tmp_path: Path):
    breaker, cell, words = MALFORMED[case]
    nb = breaker(fixture_notebook())
    nbformat.write(nb, course / FIXTURE)
    out = tmp_path / "learner-copy"
    with pytest.raises(lc.LearnerCopyError) as error:
        lb.make_bundle([course / FIXTURE], out)
    message = str(error.value)
    assert f"{FIXTURE}: cell {cell} of {len(nb.cells)}" in message
    assert words in message
    assert "secret" not in message and "squares" not in message
    assert not out.exists()


STUBS = {
    "function": STUB,
    "function-with-docstring": STUB.replace("    # your", '    """Square."""\n    # your'),
    "imports-its-checker": f"from ipc_helpers.exercises.x import check_squares\n\n\n{STUB}",
    "dictionary-of-none": 'answers = {\n    "Linux": None,\n    "macOS": ...,\n}\ncheck_d(a)',
    "dictionary-commented-out": 'choices = {\n    # "thumbnails": ...,\n}\ncheck_c(choices, r)',
}


@pytest.mark.parametrize("case", sorted(STUBS))
def test_stubs_are_accepted(case: str):
    assert lc.stub_problem(STUBS[case]) is None


def test_edition_markers_give_each_edition_its_words():
    source = (
        "Exercises have a checker."
        "<!-- full-edition --> A solution follows each one.<!-- /full-edition --> "
        "<!-- learner-edition: Ask for a solution after class. -->"
    )
    assert lc.learner_text(source) == "Exercises have a checker. Ask for a solution after class."
    nb = fixture_notebook()
    nb.cells[5].source = source
    nb.cells.append(nbformat.v4.new_markdown_cell("The stored output shows 26x."))
    nb.cells[-1].metadata["tags"] = [lc.FULL_EDITION]
    copy = lc.strip_notebook(nb)
    assert copy.cells[-1].source.endswith("Ask for a solution after class.")
    assert "stored" not in nbformat.writes(copy)


def test_command_line_reports_and_writes_nothing(course: Path, tmp_path: Path):
    nbformat.write(mark(fixture_notebook(), 4, []), course / FIXTURE)
    out = tmp_path / "learner-copy"
    result = subprocess.run(
        [sys.executable, "-m", "tools.learner_copy", "--out", str(out), str(course / FIXTURE)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "NOT written" in result.stderr and f"{FIXTURE}: cell 4 of 6" in result.stderr
    assert "Traceback" not in result.stderr and "secret" not in result.stdout + result.stderr
    assert not out.exists()


def test_list_says_where_each_solution_is(course: Path):
    result = subprocess.run(
        [sys.executable, "-m", "tools.learner_copy", "--list", str(course / FIXTURE)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "Exercise: sum the squares below ten: exercise cell 3; solution cells 4, 5" in (
        result.stdout
    )


def test_replaces_only_its_own_folder(course: Path, tmp_path: Path):
    out = tmp_path / "learner-copy"
    lb.make_bundle([course / FIXTURE], out, archive=True)
    assert out.with_suffix(".zip").exists()
    (out / "notebooks" / "stale.ipynb").write_text("{}", encoding="utf-8")
    lb.make_bundle([course / FIXTURE], out)
    assert not (out / "notebooks" / "stale.ipynb").exists()
    assert not out.with_suffix(".zip").exists(), "an old archive must not stay beside it"
    foreign = tmp_path / "somebody-elses"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("precious", encoding="utf-8")
    with pytest.raises(lc.LearnerCopyError, match="refusing to replace"):
        lb.make_bundle([course / FIXTURE], foreign)
    assert (foreign / "thesis.txt").read_text(encoding="utf-8") == "precious"


@pytest.mark.parametrize("notebooks", [[], "notebooks/00_why_ipc.ipynb"])
def test_bad_notebook_list_is_refused(notebooks, tmp_path: Path):
    with pytest.raises(ValueError, match="notebooks must be a non-empty list"):
        lb.make_bundle(notebooks, tmp_path / "out")


# --- the course's own notebooks ---------------------------------------------------------

#: Words that make no sense in a copy without solutions and without stored outputs.
LEFT_OVER = re.compile(r"\bsolutions?\b|\bstored\b|\bthe tests?\b|\bnbval\b", re.IGNORECASE)


def test_the_course_has_exercises():
    """A learner copy with no exercise cell would prove nothing (and teach less)."""
    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert lc.exercises(nb), f"{path.name}: no cell is tagged 'exercise'"


def test_markers_and_stubs_are_right(notebook):
    path, nb = notebook
    assert lc.marker_problems(nb, path.name) == []


def test_every_exercise_has_a_solution(notebook):
    """Each learner cell is followed by a solution before the next learner cell."""
    path, nb = notebook
    starts = {start for start, _ in lc.solution_blocks(nb)}
    indices = [i for i, _ in lc.exercises(nb)]
    assert indices, f"{path.name}: no cell is tagged 'exercise'"
    for i, nxt in zip(indices, [*indices[1:], len(nb.cells)], strict=True):
        assert any(i < s < nxt for s in starts), (
            f"{path.name}: the exercise in cell {i + 1} has no '#### Solution' after it"
        )


def test_copy_is_valid_and_holds_no_solution(notebook):
    path, nb = notebook
    copy = lc.strip_notebook(nb)
    nbformat.validate(copy)
    text = nbformat.writes(copy)
    assert lb.leaks(nb, text) == [], f"{path.name}: solution text in the learner copy"
    assert not any(lc.SOLUTION in lc.tags_of(c) for c in copy.cells)
    assert len([c for c in copy.cells if lc.EXERCISE in lc.tags_of(c)]) == len(lc.exercises(nb))
    code = [c for c in copy.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert "widgets" not in copy.metadata


def test_copy_reads_right_without_solutions_or_outputs(notebook):
    """No sentence about solutions, stored numbers or the tests survives in the copy.

    Wrap such a sentence in ``<!-- full-edition -->...<!-- /full-edition -->``
    (and give the copy its own with ``<!-- learner-edition: ... -->``).
    """
    path, nb = notebook
    copy = lc.strip_notebook(nb)
    found = [
        f"cell {i}: ...{m.string[max(0, m.start() - 40) : m.end() + 20]!r}..."
        for i, cell in enumerate(copy.cells, 1)
        if cell.cell_type == "markdown"
        for m in LEFT_OVER.finditer(cell.source)
    ]
    assert not found, f"{path.name} (cells of the copy): " + "; ".join(found)
