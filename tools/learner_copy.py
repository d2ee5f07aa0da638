"""Write the learner bundle: the course without solutions, ready for ``make lab``.

    make learner-copy                                   # writes learner-copy/
    python -m tools.learner_copy --out DIR [--zip] [NOTEBOOK ...]
    python -m tools.learner_copy --list                 # where each solution is

The notebooks are made with nbconvert's own preprocessors: ``TagRemovePreprocessor``
drops every cell tagged ``solution`` (or ``full-edition``), ``ClearOutputPreprocessor``
clears every output. Two comment markers in markdown give each edition its own words
(both are invisible when the notebook is rendered):

- ``<!-- full-edition -->`` ... ``<!-- /full-edition -->``: text only the full
  edition shows ("a solution follows each exercise"); removed from the copy;
- ``<!-- learner-edition: text -->``: ``text`` appears in the copy only.

Before anything is written, every notebook is checked; each problem names the
notebook and the cell (never its text), and nothing is written:

- a malformed solution marker: a ``Solution`` heading not tagged ``solution``, a
  ``solution`` block that does not start with such a heading or has no code cell,
  a cell tagged both ``solution`` and ``exercise``, a tag that looks like a
  misspelling of either (``solutions``, ``soln``, ``hide-solution``, ``exercice``);
- an ``exercise`` cell that is not the stub learners start from (an instructor's
  rehearsal answer): see ``stub_problem``;
- an unbalanced ``full-edition`` marker.

The bundle's layout and its own checks are in ``tools/learner_bundle.py``.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor, TagRemovePreprocessor

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

SOLUTION = "solution"
EXERCISE = "exercise"
FULL_EDITION = "full-edition"  #: tag of a cell that only the full edition has
SOLUTION_HEADING = re.compile(r"^ {0,3}#{1,6}\s(?:.*\W)?solution\b.*$", re.I | re.M)
FULL_ONLY = re.compile(r"<!--\s*full-edition\s*-->.*?<!--\s*/full-edition\s*-->", re.S)
FULL_MARK = re.compile(r"<!--\s*/?full-edition\s*-->")
LEARNER_ONLY = re.compile(r"<!--\s*learner-edition:\s*(.*?)\s*-->", re.S)


@dataclass(frozen=True)
class Problem:
    """Why a cell stops the copy: the notebook, the cell (1-based) and what is wrong."""

    notebook: str
    cell: int
    total: int
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.notebook}: cell {self.cell} of {self.total} ({self.kind}): {self.message}"


class LearnerCopyError(Exception):
    """The learner copy cannot be made; ``problems`` says where and why."""

    def __init__(self, problems: Sequence[object]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def tags_of(cell: nbformat.NotebookNode) -> list[str]:
    """The cell's tags (``[]`` if it has none)."""
    return list(cell.get("metadata", {}).get("tags", []))


def is_solution_heading(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "markdown" and bool(SOLUTION_HEADING.search(cell.source))


def looks_like(tag: str, word: str) -> bool:
    """True if ``tag`` is not ``word`` but is probably meant to be."""
    letters = re.sub(r"[^a-z]", "", tag.lower())
    if tag == word:
        return False
    if letters in (word, word + "s") or (
        word == SOLUTION and any(w in letters for w in ("solution", "answer", "soln"))
    ):
        return True
    similar = difflib.SequenceMatcher(None, letters, word).ratio() >= 0.8
    return similar and abs(len(letters) - len(word)) <= 2


def solution_blocks(nb: nbformat.NotebookNode) -> list[tuple[int, int]]:
    """``(start, stop)`` index ranges of the runs of consecutive solution cells."""
    inside = [SOLUTION in tags_of(c) for c in nb.cells] + [False]
    return [
        (i, next(j for j in range(i, len(inside)) if not inside[j]))
        for i in range(len(nb.cells))
        if inside[i] and (i == 0 or not inside[i - 1])
    ]


def solution_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if SOLUTION in tags_of(cell)]


def cell_problems(cell: nbformat.NotebookNode) -> list[str]:
    """What is wrong with one cell's tags, headings and edition markers."""
    tags = cell.get("metadata", {}).get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return ["metadata 'tags' must be a list of strings"]
    found = [
        f"the tag {tag!r} looks like a misspelling of {word!r}; use exactly {word!r}"
        for tag in tags
        for word in (SOLUTION, EXERCISE)
        if looks_like(tag, word)
    ]
    if SOLUTION in tags and EXERCISE in tags:
        found.append("tagged both 'solution' and 'exercise': split it into two cells")
    if is_solution_heading(cell) and SOLUTION not in tags:
        found.append("a 'Solution' heading without the 'solution' tag: tag it and its code")
    if EXERCISE in tags and cell.cell_type == "code" and (why := stub_problem(cell.source)):
        found.append(f"this exercise cell is not the stub learners start from ({why})")
    if FULL_MARK.findall(FULL_ONLY.sub("", cell.source)):
        found.append("an unbalanced <!-- full-edition --> ... <!-- /full-edition --> marker")
    return found


def marker_problems(nb: nbformat.NotebookNode, name: str) -> list[Problem]:
    """Every reason why ``nb`` (named ``name`` in messages) must not be copied."""
    cells = nb.cells
    found = [(i, message) for i, cell in enumerate(cells) for message in cell_problems(cell)]
    for start, stop in solution_blocks(nb):
        if not is_solution_heading(cells[start]):
            found.append((start, "a cell tagged 'solution' with no '#### Solution' heading first"))
        heads = [i for i in range(start, stop) if is_solution_heading(cells[i])]
        for head, end in pairwise([*heads, stop]):
            if not any(cells[j].cell_type == "code" for j in range(head + 1, end)):
                found.append((head, "a 'Solution' heading with no code cell tagged 'solution'"))
    return [
        Problem(name, i + 1, len(cells), cells[i].cell_type, message)
        for i, message in sorted(found, key=lambda item: item[0])
    ]


# -- the exercise stub ---------------------------------------------------------------------


def stub_problem(source: str) -> str | None:
    """Why an exercise cell is not a stub (``None`` if it is).

    A stub holds only imports, functions whose body is ``raise NotImplementedError``
    (a docstring allowed), dictionaries whose every value is ``None`` or ``...``
    (empty ones too: their keys are commented out), and calls of ``check_*``
    functions; at least one function or dictionary. Anything else is a learner's
    (or an instructor's) answer.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return "it is not valid Python"
    placeholders = 0
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom) or is_check_call(node):
            continue
        line = unexpected_line(node)
        if line:
            return f"line {line} holds code where the stub has a placeholder"
        placeholders += 1
    return None if placeholders else "no `raise NotImplementedError` and no dictionary to fill in"


def unexpected_line(node: ast.stmt) -> int | None:
    """The first line of ``node`` that a stub does not have (``None``: a placeholder)."""
    if isinstance(node, ast.Assign) and is_placeholder_dict(node.value):
        return None
    if not isinstance(node, ast.FunctionDef):
        return node.lineno
    body = node.body[1:] if ast.get_docstring(node) is not None else node.body
    extra = [s for s in body if not (isinstance(s, ast.Raise) and "NotImplementedError"
                                     in ast.unparse(s))]  # fmt: skip
    return extra[0].lineno if extra else None if body else node.lineno


def is_placeholder_dict(node: ast.expr) -> bool:
    return isinstance(node, ast.Dict) and all(
        isinstance(v, ast.Constant) and v.value in (None, Ellipsis) for v in node.values
    )


def is_check_call(node: ast.stmt) -> bool:
    call = node.value if isinstance(node, ast.Expr) else None
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id.startswith("check_")
    )


# -- the learner's notebook ----------------------------------------------------------------


def learner_text(source: str) -> str:
    """A markdown cell's text as the learner edition shows it."""
    return LEARNER_ONLY.sub(lambda m: m.group(1), FULL_ONLY.sub("", source))


def strip_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` without solution cells, outputs, execution times or widget state."""
    copy = nbformat.from_dict(nb)
    remove = TagRemovePreprocessor(remove_cell_tags={SOLUTION, FULL_EDITION})
    clear = ClearOutputPreprocessor(remove_metadata_fields={"collapsed", "scrolled", "execution"})
    for preprocessor in (remove, clear):
        copy, _ = preprocessor.preprocess(copy, {})
    for cell in copy.cells:
        if cell.cell_type == "markdown":
            cell.source = learner_text(cell.source)
    copy.metadata.pop("widgets", None)  # saved widget state can hold outputs
    return copy


# -- where the solutions are (--list) ------------------------------------------------------


def last_heading(cells: Sequence[nbformat.NotebookNode]) -> str:
    """The text of the last markdown heading in ``cells`` ("" if none)."""
    for cell in reversed(cells):
        found = re.findall(r"^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$", cell.source, re.M)
        if cell.cell_type == "markdown" and found:
            return found[-1]
    return ""


def exercises(nb: nbformat.NotebookNode) -> list[tuple[int, str]]:
    """``(index, title)`` of each exercise cell: the title is the heading above it."""
    return [
        (i, last_heading(nb.cells[:i]))
        for i, cell in enumerate(nb.cells)
        if EXERCISE in tags_of(cell)
    ]


def print_solution_map(notebooks: Sequence[Path]) -> None:
    """Print each exercise with its cell number and its solution cells' numbers."""
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        print(f"{path.name} ({len(nb.cells)} cells)")
        blocks = solution_blocks(nb)
        for index, title in exercises(nb):
            after = [b for b in blocks if b[0] > index]
            cells = range(after[0][0] + 1, after[0][1] + 1) if after else []
            print(f"  {title}: exercise cell {index + 1}; solution cells "
                  f"{', '.join(map(str, cells)) or 'none'}")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    from tools import learner_bundle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--out", type=Path, default=learner_bundle.DEFAULT_OUT,
                        help="folder to write (default: learner-copy/, replaced)")  # fmt: skip
    parser.add_argument("--zip", action="store_true", help="also write OUT.zip to hand out")
    parser.add_argument("--list", action="store_true", help="only print where solutions are")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    missing = [str(p) for p in notebooks if not Path(p).is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    if args.list:
        print_solution_map(notebooks)
        return 0
    try:
        out = learner_bundle.make_bundle(notebooks, args.out, archive=args.zip)
    except LearnerCopyError as error:
        print("learner copy NOT written (how to mark solutions: docs/authoring.md):",
              file=sys.stderr)  # fmt: skip
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(learner_bundle.summary(out))
    return 0


if __name__ == "__main__":
    from tools.learner_copy import main as run  # one copy of the module (and its errors)

    sys.exit(run())
