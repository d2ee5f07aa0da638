"""Every notebook follows the skeleton of docs/notebook-template.ipynb (issue 13.6).

Opening: cell 0 the title and a paragraph of why; cell 1 What you'll learn,
Time, Prerequisites; cell 2 the navigation line (checked by
test_navigation); cell 3 "## Setup" and cell 4 its code. Then numbered
sections "## 1. ...", "## 2. ...", with at least one picture, a
"## N. Lab: ..." section and "## N. Exercises" as the last numbered section.
Each "### Exercise k: ..." has the learner's cell (tagged ``exercise``), a
"#### Solution" markdown cell and solution code cells (tagged ``solution``)
whose code is collapsed (``"jupyter": {"source_hidden": true}``, which
JupyterLab 4 reads when it opens the notebook). Closing: "## Summary",
"## Nothing left running" with a cell calling ``nothing_left_running()``,
"## Further reading" with links, and the navigation line as the last cell.

Every failure says what to change, naming cells by their index (counting
from 0, as ``nbformat`` does).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from .conftest import NOTEBOOKS, ROOT

TEMPLATE = ROOT / "docs" / "notebook-template.ipynb"
OPENING = ["What you'll learn", "Time", "Prerequisites"]
CLOSING = ["Summary", "Nothing left running", "Further reading"]
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*$", re.MULTILINE)
_NUMBERED = re.compile(r"^(\d+)\.\s+(.+)$")
#: Alt text may hold balanced brackets, as markdown allows: "NOTES = []".
_ALT = r"(?:[^\[\]]|\[[^\[\]]*\])*"
_IMAGE = re.compile(rf"!\[({_ALT})\]\(([^)\s]+)\)")
#: An image link that markdown shows as text: ``![alt]`` not followed by ``(`` at once.
_BROKEN_IMAGE = re.compile(rf"!\[{_ALT}\](?!\()")
_EXERCISE = re.compile(r"^Exercise (\d+): \S")


def _headings(cell: nbformat.NotebookNode) -> list[tuple[int, str]]:
    if cell.cell_type != "markdown":
        return []
    source = re.sub(r"```.*?```", "", cell.source, flags=re.DOTALL)  # not in code blocks
    return [(len(m.group(1)), m.group(2)) for m in _HEADING.finditer(source)]


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.metadata.get("tags", []))


def opening_problems(nb: nbformat.NotebookNode, number: str) -> list[str]:
    cells = nb.cells
    problems = []
    if len(cells) < 5:
        return [f"the notebook has {len(cells)} cells; the skeleton opens with 5"]
    title = cells[0].source.strip().splitlines() if cells[0].cell_type == "markdown" else [""]
    prose = [line for line in title[1:] if line.strip() and not line.startswith("#")]
    if not re.match(rf"^# {number} — \S", title[0]) or not prose:
        problems.append(
            f"cell 0 must be a markdown cell with the title '# {number} — Title' and one "
            f"paragraph of why, nothing else; it starts with {title[0][:60]!r}"
        )
    found = [text for level, text in _headings(cells[1]) if level <= 2]
    if found != OPENING:
        where = [
            i for i, c in enumerate(cells[:6]) if set(t for _, t in _headings(c)) & set(OPENING)
        ]
        problems.append(
            "cell 1 must be one markdown cell with the headings '## What you'll learn', "
            f"'## Time', '## Prerequisites' (in this order, no others); it has {found}"
            + (f" (they are in cell(s) {where})" if where and where != [1] else "")
        )
    if [t for _, t in _headings(cells[3])][:1] != ["Setup"]:
        problems.append(
            "cell 3 must be a markdown cell starting with '## Setup' (a line on what it does)"
        )
    if cells[4].cell_type != "code":
        problems.append("cell 4 must be the setup code cell (the notebook's imports)")
    return problems


def _sections(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """(cell index, text) of every '## ' heading after the opening, Setup left out."""
    return [
        (i, t)
        for i, c in enumerate(nb.cells)
        if i >= 2
        for lvl, t in _headings(c)
        if lvl == 2 and t not in OPENING and t != "Setup"
    ]


def section_problems(nb: nbformat.NotebookNode) -> list[str]:
    sections = _sections(nb)
    texts = [t for _, t in sections]
    problems = []
    tail = texts[-3:]
    if tail != CLOSING:
        problems.append(
            "the last '## ' sections must be '## Summary', '## Nothing left running', "
            f"'## Further reading', in this order; the last three are {tail}"
        )
    body = []
    for i, text in sections:
        match = _NUMBERED.match(text)
        if match and match.group(2) in CLOSING:
            problems.append(f"cell {i}: '## {text}' must read '## {match.group(2)}' (not numbered)")
        elif text not in CLOSING:
            body.append((i, text))
    for expected, (i, text) in enumerate(body, start=1):
        match = _NUMBERED.match(text)
        if not match or int(match.group(1)) != expected:
            bare = match.group(2) if match else text
            problems.append(f"cell {i}: '## {text}' must read '## {expected}. {bare}'")
    names = [(_NUMBERED.match(t).group(2) if _NUMBERED.match(t) else t) for _, t in body]
    labs = [k for k, n in enumerate(names) if n.startswith("Lab: ")]
    if not labs:
        problems.append("add a section '## N. Lab: <the question>' before the exercises")
    if not names or names[-1] != "Exercises":
        problems.append(
            f"the last numbered section must be '## N. Exercises'; it is {names[-1:]} "
            "(move what follows into the sections before it or into the Summary)"
        )
    return problems


def picture_problems(nb: nbformat.NotebookNode, folder: Path) -> list[str]:
    images = [
        (i, alt, src)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "markdown"
        for alt, src in _IMAGE.findall(c.source)
    ]
    if not images:
        return ["add at least one picture (a markdown image of an SVG in notebooks/figures/)"]
    problems = [
        f"cell {i}: the image link {broken!r} does not parse: put `](` together on one line"
        for i, c in enumerate(nb.cells)
        if c.cell_type == "markdown"
        for broken in _BROKEN_IMAGE.findall(c.source)
    ]
    for i, alt, src in images:
        if not alt.strip():
            problems.append(f"cell {i}: the image {src} needs alt text saying what it shows")
        if not src.startswith(("http:", "https:", "data:")) and not (folder / src).is_file():
            problems.append(f"cell {i}: the image {src} does not exist next to the notebook")
    return problems


def exercise_problems(nb: nbformat.NotebookNode) -> list[str]:
    cells = nb.cells
    starts = [
        i for i, c in enumerate(cells) for lvl, t in _headings(c) if lvl == 3 and _EXERCISE.match(t)
    ]
    if not starts:
        return ["the Exercises section needs '### Exercise 1: <title>' headings"]
    problems = []
    numbers = [
        int(_EXERCISE.match(t).group(1))
        for i in starts
        for lvl, t in _headings(cells[i])
        if lvl == 3 and _EXERCISE.match(t)
    ]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"number the exercises 1, 2, 3, ...; they are {numbers}")
    summary = next((i for i, t in _sections(nb) if t == "Summary"), len(cells))
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else summary
        block = list(range(start, end))
        name = f"Exercise {k + 1} (cell {start})"
        if not any(cells[i].cell_type == "code" and "exercise" in _tags(cells[i]) for i in block):
            problems.append(f"{name}: tag the learner's code cell 'exercise'")
        marker = [
            i for i in block if cells[i].cell_type == "markdown" and "solution" in _tags(cells[i])
        ]
        if not marker or not cells[marker[0]].source.lstrip().startswith("#### Solution"):
            problems.append(f"{name}: add a markdown cell '#### Solution' tagged 'solution'")
        code = [i for i in block if cells[i].cell_type == "code" and "solution" in _tags(cells[i])]
        if not code:
            problems.append(f"{name}: add the solution code cell, tagged 'solution'")
        for i in code:
            if cells[i].metadata.get("jupyter", {}).get("source_hidden") is not True:
                problems.append(
                    f'cell {i}: collapse the solution code: metadata "jupyter": '
                    '{"source_hidden": true} (JupyterLab: View → Collapse Selected Code)'
                )
    outside = [
        i for i, c in enumerate(cells) if "solution" in _tags(c) and not starts[0] <= i < summary
    ]
    if outside:
        problems.append(f"cells {outside} are tagged 'solution' outside the Exercises section")
    return problems


def closing_problems(nb: nbformat.NotebookNode) -> list[str]:
    cells = nb.cells
    sections = dict((t, i) for i, t in _sections(nb))
    problems = []
    i = sections.get("Nothing left running")
    if i is not None:
        after = cells[i + 1] if i + 1 < len(cells) else None
        if (
            after is None
            or after.cell_type != "code"
            or "nothing_left_running(" not in after.source
        ):
            problems.append(
                f"cell {i + 1} (after '## Nothing left running') must be a code cell with "
                "print(nothing_left_running())  (from ipc_helpers.cleanup)"
            )
    j = sections.get("Further reading")
    if j is not None and "](http" not in "".join(
        c.source for c in cells[j:] if c.cell_type == "markdown"
    ):
        problems.append(f"cell {j}: 'Further reading' needs at least one link (official docs)")
    return problems


def skeleton_problems(nb: nbformat.NotebookNode, number: str, folder: Path) -> list[str]:
    return (
        opening_problems(nb, number)
        + section_problems(nb)
        + picture_problems(nb, folder)
        + exercise_problems(nb)
        + closing_problems(nb)
    )


def _report(path: Path, problems: list[str]) -> str:
    return (
        f"{path.name} does not follow docs/notebook-template.ipynb (cells counted from 0):\n- "
        + "\n- ".join(problems)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_follows_the_skeleton(path: Path):
    nb = nbformat.read(path, as_version=4)
    problems = skeleton_problems(nb, path.name[:2], path.parent)
    assert not problems, _report(path, problems)


def test_the_template_follows_its_own_skeleton():
    nb = nbformat.read(TEMPLATE, as_version=4)
    problems = [
        p
        for p in skeleton_problems(nb, "NN", TEMPLATE.parent)
        if "does not exist next to the notebook" not in p  # its picture is a placeholder
    ]
    assert not problems, _report(TEMPLATE, problems)


def test_a_picture_link_broken_across_lines_is_caught():
    cells = [
        "![the parent holds NOTES = [] (brackets in alt text are fine)](bench_decision.svg)",
        "The flowchart:\n\n![a flowchart]\n(bench_decision.svg)",  # markdown shows this as text
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(c) for c in cells])
    assert picture_problems(nb, ROOT / "notebooks" / "figures") == [
        "cell 1: the image link '![a flowchart]' does not parse: put `](` together on one line"
    ]
