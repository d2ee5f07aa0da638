"""The learner copy (``make learner-copy``): no solution survives, copies still work.

Two kinds of tests:

- on a small notebook made here, with a known "secret" solution, every way of
  marking a solution wrong must stop the tool with a message naming the
  notebook and cell, without the secret and without writing anything;
- on the course's own notebooks: the copies are valid, hold no line of any
  solution, keep their relative links working, and run top to bottom with every
  exercise answering "Not attempted yet".
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest
from nbclient import NotebookClient

from tests.notebook_harness import kernel_env
from tools import learner_copy as lc

from .conftest import NOTEBOOKS, ROOT

SECRET = "total = sum(x * x for x in range(10))  # the secret solution"
FIXTURE = "99_fixture.ipynb"


def fixture_notebook() -> nbformat.NotebookNode:
    """Title, figure, an exercise, its solution, and a cell after them."""
    v4 = nbformat.v4
    exercise = v4.new_code_cell(
        "def squares():\n    # your code here\n    raise NotImplementedError\n\n"
        "print('Not attempted yet: replace raise NotImplementedError')"
    )
    exercise.metadata["tags"] = ["exercise"]
    heading = v4.new_markdown_cell("#### Solution")
    heading.metadata["tags"] = ["solution"]
    solution = v4.new_code_cell(f"def squares():\n    {SECRET}\n    return total\n\nsquares()")
    solution.metadata["tags"] = ["solution"]
    solution.outputs = [v4.new_output("execute_result", {"text/plain": "285"}, execution_count=2)]
    nb = v4.new_notebook(
        cells=[
            v4.new_markdown_cell("# 99 — Fixture\n\n![a picture](figures/fixture.svg)"),
            v4.new_markdown_cell("### Exercise: sum the squares below ten"),
            exercise,
            heading,
            solution,
            v4.new_markdown_cell("## Summary\n\n[Contents](../README.md)"),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A notebooks/ folder holding the fixture notebook and its figure."""
    folder = tmp_path / "notebooks"
    (folder / "figures").mkdir(parents=True)
    (folder / "figures" / "fixture.svg").write_text("<svg/>", encoding="utf-8")
    nbformat.write(fixture_notebook(), folder / FIXTURE)
    return folder


def test_fixture_copy_holds_no_solution(course: Path, tmp_path: Path):
    out = tmp_path / "learner-copy"
    written = lc.make_learner_copy([course / FIXTURE], out, source_dir=course)
    assert written == [out / "notebooks" / FIXTURE]
    text = written[0].read_text(encoding="utf-8")
    copy = nbformat.reads(text, as_version=4)
    nbformat.validate(copy)
    assert "secret solution" not in text and "#### Solution" not in text
    assert [c.cell_type for c in copy.cells] == ["markdown", "markdown", "code", "markdown"]
    assert copy.cells[2].metadata["tags"] == ["exercise"]
    assert copy.cells[2].outputs == [] and copy.cells[2].execution_count is None
    assert (out / "notebooks" / "figures" / "fixture.svg").exists()
    assert f"(notebooks/{FIXTURE})" in (out / "README.md").read_text(encoding="utf-8")
    original = fixture_notebook()
    assert lc.leaks(original, text) == []
    # The leak detector itself can fail: on the original it finds the solution.
    assert lc.leaks(original, nbformat.writes(original))


def test_solution_map_says_where_each_solution_is():
    expected = lc.Solution("Exercise: sum the squares below ten", exercise=3, cells=(4, 5))
    assert lc.solution_map(fixture_notebook()) == [expected]


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
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_markers_stop_the_copy(case: str, course: Path, tmp_path: Path):
    breaker, cell, words = MALFORMED[case]
    nb = breaker(fixture_notebook())
    nbformat.write(nb, course / FIXTURE)
    out = tmp_path / "learner-copy"
    with pytest.raises(lc.LearnerCopyError) as error:
        lc.make_learner_copy([course / FIXTURE], out, source_dir=course)
    message = str(error.value)
    assert f"{FIXTURE}: cell {cell} of {len(nb.cells)}" in message
    assert words in message
    assert "secret" not in message and "squares" not in message
    assert not out.exists()


def test_command_line_reports_and_writes_nothing(course: Path, tmp_path: Path):
    nbformat.write(mark(fixture_notebook(), 4, []), course / FIXTURE)
    out = tmp_path / "learner-copy"
    result = subprocess.run(
        [sys.executable, "-m", "tools.learner_copy", "--out", str(out), str(course / FIXTURE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "NOT written" in result.stderr and f"{FIXTURE}: cell 4 of 6" in result.stderr
    assert "secret" not in result.stdout + result.stderr
    assert not out.exists()


def test_replaces_only_its_own_folder(course: Path, tmp_path: Path):
    out = tmp_path / "learner-copy"
    lc.make_learner_copy([course / FIXTURE], out, source_dir=course)
    (out / "notebooks" / "stale.ipynb").write_text("{}", encoding="utf-8")
    lc.make_learner_copy([course / FIXTURE], out, source_dir=course)
    assert not (out / "notebooks" / "stale.ipynb").exists()

    foreign = tmp_path / "somebody-elses"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("precious", encoding="utf-8")
    with pytest.raises(lc.LearnerCopyError, match="refusing to replace"):
        lc.make_learner_copy([course / FIXTURE], foreign, source_dir=course)
    assert (foreign / "thesis.txt").read_text(encoding="utf-8") == "precious"


@pytest.mark.parametrize("notebooks", [[], "notebooks/00_why_ipc.ipynb"])
def test_bad_notebook_list_is_refused(notebooks, tmp_path: Path):
    with pytest.raises(ValueError, match="notebooks must be a non-empty list"):
        lc.make_learner_copy(notebooks, tmp_path / "out")


# --- the course's own notebooks ---------------------------------------------------------

LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|\bsrc=[\"']([^\"']+)[\"']")


@pytest.fixture(scope="module")
def learner_copy(tmp_path_factory) -> Path:
    """``make learner-copy`` of every notebook, written to a temporary folder."""
    out = tmp_path_factory.mktemp("course") / "learner-copy"
    lc.make_learner_copy(NOTEBOOKS, out)
    return out


def copy_of(learner_copy: Path, notebook: Path) -> nbformat.NotebookNode:
    return nbformat.read(learner_copy / "notebooks" / notebook.name, as_version=4)


def test_copies_are_valid_and_hold_no_solution(notebook, learner_copy: Path):
    path, nb = notebook
    text = (learner_copy / "notebooks" / path.name).read_text(encoding="utf-8")
    copy = nbformat.reads(text, as_version=4)
    nbformat.validate(copy)
    assert lc.leaks(nb, text) == [], f"{path.name}: solution text in the learner copy"
    assert len(copy.cells) == len(nb.cells) - len(lc.solution_cells(nb))
    assert not any(lc.SOLUTION in lc.tags_of(c) for c in copy.cells)
    code = [c for c in copy.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_every_exercise_has_a_solution(notebook):
    """Each learner cell is followed by a solution before the next learner cell."""
    path, nb = notebook
    starts = {start for start, _ in lc.solution_blocks(nb)}
    exercises = [i for i, c in enumerate(nb.cells) if lc.EXERCISE in lc.tags_of(c)]
    for i, nxt in zip(exercises, [*exercises[1:], len(nb.cells)]):
        assert any(i < s < nxt for s in starts), (
            f"{path.name}: the exercise in cell {i + 1} has no '#### Solution' after it"
        )


def relative_links(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """``(cell number, target)`` of every relative link or image in markdown cells."""
    links = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "markdown":
            continue
        for match in LINK.finditer(cell.source):
            target = unquote((match.group(1) or match.group(2)).split("#")[0].split("?")[0])
            if target and not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
                links.append((number, target))  # not an anchor, web address or attachment
    return links


def test_relative_links_work_in_the_copy(notebook, learner_copy: Path):
    """Every link that works from notebooks/ works from the copy (and stays inside it)."""
    path, _ = notebook
    folder = learner_copy / "notebooks"
    broken = []
    for number, target in relative_links(copy_of(learner_copy, path)):
        if not (path.parent / target).exists():
            continue  # broken in the course itself: other hygiene tests' business
        resolved = (folder / target).resolve()
        if not (resolved.is_relative_to(learner_copy.resolve()) and resolved.exists()):
            broken.append(f"cell {number}: {target}")
    assert not broken, f"{path.name}: links that do not work in the learner copy: {broken}"


def output_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


def test_copies_run_and_checkers_say_not_attempted(notebook, learner_copy: Path):
    """Run the copy top to bottom as a learner would, without touching any exercise."""
    path, _ = notebook
    target = learner_copy / "notebooks" / path.name
    copy = nbformat.read(target, as_version=4)
    client = NotebookClient(
        copy,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(target.parent)}},
    )
    client.execute(env=kernel_env())  # raises on an error in a cell not tagged raises-exception
    exercises = [(i, c) for i, c in enumerate(copy.cells, 1) if lc.EXERCISE in lc.tags_of(c)]
    silent = [i for i, c in exercises if "Not attempted yet" not in output_text(c)]
    assert not silent, f"{path.name}: exercise cells not answering 'Not attempted yet': {silent}"
