"""Write the learners' copy of the course: no solutions, no outputs.

    make learner-copy                                   # writes learner-copy/
    python -m tools.learner_copy --out DIR [NOTEBOOK ...]
    python -m tools.learner_copy --list                 # where each solution is

The copy mirrors the repository's layout, so every relative link still works::

    learner-copy/
        README.md          contents, with a link to each notebook
        notebooks/         each notebook without its solutions, outputs cleared,
                           and every other file of notebooks/ (figures/ ...)

The notebooks import ``ipc_helpers`` from the installed package (``make lab``
installs it), so they run from this folder as they do from ``notebooks/``.

How a solution is marked (docs/authoring.md): a markdown cell whose heading is
``#### Solution`` (any heading with the word "solution" counts), followed by
one or more code cells; all of them tagged ``solution``. Learners' cells are
tagged ``exercise`` and stay. Every solution cell is removed. Before anything
is written, every notebook is checked; a malformed marker stops the tool with a
message that names the notebook and the cell (never its text), and nothing is
written, so no half-marked solution can reach a learner:

- a ``Solution`` heading that is not tagged ``solution``;
- a ``solution`` block that does not start with a ``Solution`` heading, or a
  heading with no code cell tagged ``solution`` after it;
- a cell tagged both ``solution`` and ``exercise``;
- a tag that looks like a misspelling of either (``solutions``, ``Solution``,
  ``soln``, ``hide-solution``, ``answer``, ``exercice`` ...).
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
DEFAULT_OUT = ROOT / "learner-copy"

SOLUTION = "solution"
EXERCISE = "exercise"
#: A file in every folder this tool writes: only such a folder is ever replaced.
STAMP = ".made-by-learner-copy"
#: Files of notebooks/ that never go into the copy.
SKIPPED = shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__")

#: A markdown heading with the word "solution" ("#### Solution", "### Solution 2",
#: "#### One possible solution").
SOLUTION_HEADING = re.compile(
    r"^ {0,3}#{1,6}\s(?:.*\W)?solution\b.*$", re.IGNORECASE | re.MULTILINE
)


@dataclass(frozen=True)
class MarkerProblem:
    """One malformed solution marker: where it is and what is wrong."""

    notebook: str
    cell: int  # 1-based position in the notebook
    total: int
    kind: str
    cell_id: str
    message: str

    def __str__(self) -> str:
        ident = f", id {self.cell_id}" if self.cell_id else ""
        return (
            f"{self.notebook}: cell {self.cell} of {self.total} "
            f"({self.kind}{ident}): {self.message}"
        )


class LearnerCopyError(Exception):
    """The learner copy cannot be made; ``problems`` says where and why."""

    def __init__(self, problems: Sequence[object]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def tags_of(cell: nbformat.NotebookNode) -> list[str]:
    """The cell's tags (``[]`` if it has none)."""
    return list(cell.get("metadata", {}).get("tags", []))


def is_solution_heading(cell: nbformat.NotebookNode) -> bool:
    """True for a markdown cell with a ``Solution`` heading."""
    return cell.cell_type == "markdown" and bool(SOLUTION_HEADING.search(cell.source))


def looks_like(tag: str, word: str) -> bool:
    """True if ``tag`` is not ``word`` but is probably meant to be."""
    if tag == word:
        return False
    letters = re.sub(r"[^a-z]", "", tag.lower())
    if letters in (word, word + "s"):
        return True
    if word == SOLUTION and ("solution" in letters or "answer" in letters or "soln" in letters):
        return True  # "hide-solution", "answers", "soln": probably meant to hide a solution
    similar = difflib.SequenceMatcher(None, letters, word).ratio() >= 0.8
    return similar and abs(len(letters) - len(word)) <= 2


def marker_problems(nb: nbformat.NotebookNode, name: str) -> list[MarkerProblem]:
    """Every malformed solution marker of ``nb`` (named ``name`` in messages)."""
    cells = nb.cells
    problems: list[MarkerProblem] = []

    def report(i: int, message: str) -> None:
        cell = cells[i]
        problems.append(
            MarkerProblem(name, i + 1, len(cells), cell.cell_type, str(cell.get("id", "")), message)
        )

    for i, cell in enumerate(cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            report(i, "metadata 'tags' must be a list of strings")
            continue
        for tag in tags:
            for word in (SOLUTION, EXERCISE):
                if looks_like(tag, word):
                    report(
                        i,
                        f"the tag {tag!r} looks like a misspelling of {word!r}; "
                        f"use exactly {word!r}",
                    )
        if SOLUTION in tags and EXERCISE in tags:
            report(
                i,
                "tagged both 'solution' and 'exercise': a learner's cell cannot "
                "also be a solution; split it into two cells",
            )
        if is_solution_heading(cell) and SOLUTION not in tags:
            report(
                i,
                "a 'Solution' heading without the 'solution' tag: tag it and the "
                "solution code cell(s) after it 'solution'",
            )

    for start, stop in solution_blocks(nb):
        # A block is a run of consecutive solution cells; it holds one or more
        # solutions, each a heading followed by at least one code cell.
        if not is_solution_heading(cells[start]):
            report(
                start,
                "a cell tagged 'solution' with no '#### Solution' heading "
                "(a markdown cell tagged 'solution') right before it",
            )
        heads = [i for i in range(start, stop) if is_solution_heading(cells[i])]
        for head, end in zip(heads, [*heads[1:], stop]):
            if not any(cells[j].cell_type == "code" for j in range(head + 1, end)):
                report(
                    head, "a 'Solution' heading with no code cell tagged 'solution' right after it"
                )
    return sorted(problems, key=lambda p: p.cell)


def solution_blocks(nb: nbformat.NotebookNode) -> list[tuple[int, int]]:
    """``(start, stop)`` index ranges of the runs of consecutive solution cells."""
    blocks: list[tuple[int, int]] = []
    start = None
    for i, cell in enumerate([*nb.cells, None]):
        inside = cell is not None and SOLUTION in tags_of(cell)
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            blocks.append((start, i))
            start = None
    return blocks


def solution_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The cells that the learner copy removes."""
    return [cell for cell in nb.cells if SOLUTION in tags_of(cell)]


def strip_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` without solution cells, outputs or execution counts."""
    copy = nbformat.from_dict(nb)
    copy.cells = [cell for cell in copy.cells if SOLUTION not in tags_of(cell)]
    for cell in copy.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    # Saved widget state can hold the outputs of Output widgets.
    copy.metadata.pop("widgets", None)
    return copy


def distinctive_lines(nb: nbformat.NotebookNode, min_length: int = 12) -> set[str]:
    """Lines of the solution cells that appear in no other cell of ``nb``.

    The signature a solution shares with the learner's cell, or a checker call
    both make, is not a leak; the lines left are the solution's own.
    """

    def lines(cells: Iterable[nbformat.NotebookNode]) -> set[str]:
        return {line.strip() for cell in cells for line in cell.source.splitlines()}

    others = lines(c for c in nb.cells if SOLUTION not in tags_of(c))
    own = lines(solution_cells(nb)) - others
    return {line for line in own if len(line) >= min_length}


def leaks(source: nbformat.NotebookNode, copy_text: str) -> list[str]:
    """What of ``source``'s solutions still appears in ``copy_text``, a copy's file text.

    Looks for the whole source of each solution cell anywhere in the copy's
    cells and outputs, and for each distinctive line of a solution (see
    ``distinctive_lines``) as a line of the copy.
    """
    copy = nbformat.reads(copy_text, as_version=4)
    texts = [cell.source for cell in copy.cells]
    texts += [str(out) for cell in copy.cells for out in cell.get("outputs", [])]
    everything = "\n".join(texts)
    copy_lines = {line.strip() for text in texts for line in text.splitlines()}
    found = []
    for cell in solution_cells(source):
        body = cell.source.strip()
        if body and body in everything:
            found.append(f"the whole source of a solution cell (id {cell.get('id', '?')})")
    for line in sorted(distinctive_lines(source) & copy_lines):
        found.append(f"a solution line of {len(line)} characters")
    return found


@dataclass(frozen=True)
class Solution:
    """Where one exercise and its solution are, as 1-based cell numbers."""

    title: str
    exercise: int | None
    cells: tuple[int, ...]


def solution_map(nb: nbformat.NotebookNode) -> list[Solution]:
    """Each solution block of ``nb`` with the exercise cell before it, for instructors.

    ``title`` is the last markdown heading before the block's exercise (or
    before the block, if no exercise cell precedes it).
    """
    found = []
    previous_end = 0
    for start, stop in solution_blocks(nb):
        exercises = [i for i in range(previous_end, start) if EXERCISE in tags_of(nb.cells[i])]
        anchor = exercises[-1] if exercises else start
        found.append(
            Solution(
                title=last_heading(nb.cells[:anchor]),
                exercise=anchor + 1 if exercises else None,
                cells=tuple(range(start + 1, stop + 1)),
            )
        )
        previous_end = stop
    return found


def last_heading(cells: Sequence[nbformat.NotebookNode]) -> str:
    """The text of the last markdown heading in ``cells`` ("" if none)."""
    for cell in reversed(cells):
        if cell.cell_type == "markdown":
            headings = re.findall(r"^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$", cell.source, re.MULTILINE)
            if headings:
                return headings[-1]
    return ""


def print_solution_map(notebooks: Sequence[Path]) -> None:
    """Print where each exercise and its solution are (``--list``)."""
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        print(f"{display_name(path)} ({len(nb.cells)} cells)")
        for sol in solution_map(nb):
            where = f"exercise cell {sol.exercise}" if sol.exercise else "no exercise cell"
            cells = ", ".join(str(c) for c in sol.cells)
            print(f"  {sol.title or '(no heading)'}: {where}; solution cells {cells}")


def readme_text(titles: Sequence[tuple[str, str]]) -> str:
    """The copy's README: what it is and a link to each notebook."""
    rows = "\n".join(f"- [{title}](notebooks/{name})" for name, title in titles)
    return (
        "# Python IPC, hands-on: learner copy\n\n"
        "These notebooks are the course without the exercise solutions and with\n"
        "every output cleared: run the cells in order, top to bottom. Each exercise\n"
        "cell answers `Not attempted yet` until you replace its\n"
        "`raise NotImplementedError` with your code.\n\n"
        "They import the course's helpers (`ipc_helpers`), so open them from the\n"
        "course's environment: in the course checkout, run `make lab` once (it\n"
        "installs everything), then\n\n"
        "    .venv/bin/jupyter lab --notebook-dir=learner-copy/notebooks\n\n"
        "## Contents\n\n" + rows + "\n"
    )


def title_of(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The text of the notebook's first ``# `` heading, else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, re.MULTILINE)
            if match:
                return match.group(1).strip()
    return fallback


def check_destination(out: Path) -> None:
    """Refuse to replace a folder that this tool did not make."""
    if out.exists() and not out.is_dir():
        raise LearnerCopyError([f"{out} exists and is not a folder"])
    if out.is_dir() and any(out.iterdir()) and not (out / STAMP).exists():
        raise LearnerCopyError(
            [
                f"refusing to replace {out}: it was not made by "
                f"tools/learner_copy.py (no {STAMP} file in it)"
            ]
        )


def make_learner_copy(
    notebooks: Sequence[Path], out: Path, source_dir: Path = NOTEBOOKS
) -> list[Path]:
    """Write the learner copy of ``notebooks`` to ``out``; return the notebooks written.

    ``source_dir`` is the folder whose other files (figures ...) come along.
    Every notebook is checked first; on any malformed marker a
    ``LearnerCopyError`` lists them all and nothing is written. ``out`` is
    replaced as a whole, and only if this tool made it.
    """
    if isinstance(notebooks, (str, Path)) or not notebooks:
        raise ValueError(f"notebooks must be a non-empty list of paths, got {notebooks!r}")
    out = Path(out).resolve()
    check_destination(out)
    sources = [(Path(p), nbformat.read(p, as_version=4)) for p in notebooks]
    problems = [
        problem for path, nb in sources for problem in marker_problems(nb, display_name(path))
    ]
    if problems:
        raise LearnerCopyError(problems)

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        written = write_copy(sources, staging, source_dir)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return [out / "notebooks" / p.name for p in written]


def write_copy(
    sources: Sequence[tuple[Path, nbformat.NotebookNode]], staging: Path, source_dir: Path
) -> list[Path]:
    """Write the copy into ``staging`` and check it; return the notebooks written."""
    target = staging / "notebooks"
    shutil.copytree(source_dir, target, ignore=SKIPPED)
    written = []
    for path, nb in sources:
        copy = strip_notebook(nb)
        nbformat.validate(copy)
        dest = target / path.name
        nbformat.write(copy, dest)
        found = leaks(nb, dest.read_text(encoding="utf-8"))
        if found:  # cannot happen unless strip_notebook is broken: never ship it
            raise LearnerCopyError(
                [f"{display_name(path)}: the copy still holds {f}" for f in found]
            )
        written.append(dest)
    titles = [(p.name, title_of(nb, p.stem)) for p, nb in sources]
    (staging / "README.md").write_text(readme_text(titles), encoding="utf-8")
    (staging / STAMP).write_text(
        "Made by tools/learner_copy.py; replaced on every run.\n", encoding="utf-8"
    )
    return written


def display_name(path: Path) -> str:
    """``notebooks/NN.ipynb`` for the repository's notebooks, else the path as given."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        help="notebooks to copy (default: every notebooks/*.ipynb)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="folder to write (default: learner-copy/, replaced)",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="only print where each exercise's solution is (cell numbers)",
    )
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    missing = [str(p) for p in notebooks if not Path(p).is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")
    if args.list:
        print_solution_map(notebooks)
        return 0
    try:
        written = make_learner_copy(notebooks, args.out)
    except LearnerCopyError as error:
        print(
            "learner copy NOT written (how to mark solutions: docs/authoring.md, Exercises):",
            file=sys.stderr,
        )
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(f"learner copy: {len(written)} notebook(s) in {display_name(args.out.resolve())}/")
    for path in written:
        print(f"  {display_name(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
