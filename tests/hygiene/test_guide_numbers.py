"""The instructor guide's numbers agree with the notebooks (issue 20.9).

Every number with a unit that ``docs/instructor-guide.md`` quotes (seconds,
bytes, per cent, "N of M", times faster ...) must say where it comes from, in
an invisible comment in the same paragraph, list item or table:

- ``<!-- out 03: "12 of 20 rounds" -->``: the text is in notebook 03's stored
  outputs (spaces and line breaks count as one space);
- ``<!-- nb 03: "20 rounds" -->``: the text is in notebook 03's cells (a
  parameter in the code, a sentence of the notebook);
- ``<!-- times -->``: the numbers are in the guide's measured-times table;
- ``<!-- measured 2026-12-01 -->``, ``<!-- cited -->`` (a source is linked),
  ``<!-- plan -->`` (a planned duration), ``<!-- example -->`` (a number made up
  for a question): numbers that are none of the above.

Each quoted number must appear in one of its block's ``out``/``nb`` texts (or
the table), so a notebook that changes what it prints fails this test until the
guide says the same. The guide's checkpoint lists and model answers are checked
against the notebooks too.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import nbformat
import pytest

from .conftest import GUIDE, NOTEBOOKS, measured_times_table

#: The guide's checkpoint lists: copied from the notebooks, checked item by item.
CHECKPOINTS = re.compile(r"<!-- checkpoints (\d\d) -->\n(.*?)\n<!-- /checkpoints -->", re.S)
MARKER = re.compile(r"<!--\s*(out|nb)\s+(\d\d):\s*\"(.+?)\"\s*-->", re.S)
EXEMPT = re.compile(r"<!--\s*(?:times|cited|plan|example|measured \d{4}-\d\d-\d\d)\s*-->")
NUMBER = r"\d+(?:[,.]\d+)*"
#: A number with a unit (or a count of a count): what a reader takes as a measurement.
QUANTITY = re.compile(
    rf"(?<![\w.§-])({NUMBER})\s?(?:µs|us|ms|s|min|minutes|seconds|[KMG]i?B|B|%|×|x|times)(?!\w)"
    rf"|(?<![\w.§-])({NUMBER}) (?:of|in) ({NUMBER})(?!\w)"
)


def normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def plain(number: str) -> str:
    return number.replace(",", "")


@cache
def notebook_texts(prefix: str) -> tuple[str, str]:
    """(stored outputs, cell sources) of the notebook whose name starts with ``prefix``."""
    paths = [p for p in NOTEBOOKS if p.name.startswith(prefix + "_")]
    assert paths, f"no notebook {prefix}_*.ipynb"
    nb = nbformat.read(paths[0], as_version=4)
    outputs = [
        str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        for out in cell.get("outputs", [])
    ]
    return normal("\n".join(outputs)), normal("\n".join(c.source for c in nb.cells))


def blocks(text: str) -> list[tuple[int, str]]:
    """(first line, text) of each paragraph, list item or table, outside code blocks."""
    found, current, start, fenced = [], [], 0, False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        item = re.match(r"^\s{0,3}(?:[-*]|\d+\.)\s", line)
        if fenced or not line.strip() or (item and current):
            if current:
                found.append((start, "\n".join(current)))
            current = [] if fenced or not line.strip() else [line]
            start = number
            continue
        if not current:
            start = number
        current.append(line)
    if current:
        found.append((start, "\n".join(current)))
    return found


def times_table() -> set[str]:
    """Every number of the measured-times table (the section's first table)."""
    return {plain(n) for n in re.findall(NUMBER, measured_times_table())}


def unsupported(block: str) -> list[str]:
    """The quantities of ``block`` that no marker of the block supports."""
    if EXEMPT.search(block) and "<!-- times -->" not in block:
        return []
    allowed = set(times_table()) if "<!-- times -->" in block else set()
    for _kind, _prefix, literal in MARKER.findall(block):
        allowed |= {plain(n) for n in re.findall(NUMBER, literal)}
    prose = MARKER.sub("", block)
    found = []
    for match in QUANTITY.finditer(prose):
        numbers = [plain(n) for n in match.groups() if n]
        if not all(n in allowed for n in numbers):
            found.append(match.group(0))
    return found


def test_every_marker_is_found_in_its_notebook():
    wrong = []
    for line, block in blocks(GUIDE.read_text(encoding="utf-8")):
        for kind, prefix, literal in MARKER.findall(block):
            outputs, sources = notebook_texts(prefix)
            if normal(literal) not in (outputs if kind == "out" else sources):
                where = "stored outputs" if kind == "out" else "cells"
                wrong.append(f"line {line}: {literal!r} is not in {prefix}'s {where}")
    assert not wrong, "the guide quotes what the notebooks no longer say:\n" + "\n".join(wrong)


def test_every_quoted_number_has_a_source():
    text = CHECKPOINTS.sub(lambda m: "\n" * m.group(0).count("\n"), GUIDE.read_text("utf-8"))
    missing = [
        f"line {line}: {', '.join(found)}"
        for line, block in blocks(text)
        if (found := unsupported(block))
    ]
    assert not missing, (
        "numbers in docs/instructor-guide.md with no source marker "
        "(see this test's docstring):\n" + "\n".join(missing)
    )


def test_the_checker_catches_a_drifted_number(tmp_path: Path):
    """The test itself works: a number the marker's text does not hold is reported."""
    block = 'The race lost updates in 12 of 20 rounds <!-- out 03: "13 of 20 rounds" -->.'
    assert unsupported(block) == ["12 of 20"]
    assert unsupported(block.replace("12 of", "13 of")) == []
    assert unsupported("It takes 5 s <!-- plan -->.") == []
    assert unsupported("It takes 5 s.") == ["5 s"]


# -- checkpoints and model answers -----------------------------------------------------------


def checkpoints_in(source: str) -> list[tuple[str, str]]:
    """(question, answer text) of every ``checkpoint(...)`` call in one cell's code."""
    if "checkpoint(" not in source:
        return []
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "checkpoint":
            values = [ast.literal_eval(a) for a in node.args]
            values += [ast.literal_eval(k.value) for k in node.keywords if k.arg != "explanations"]
            question, options, answer = (values + [None, None, None])[:3]
            found.append((question, options[answer] if isinstance(answer, int) else answer))
    return found


def checkpoints(path: Path) -> list[tuple[str, str]]:
    """(question, answer text) of every checkpoint of the notebook, in order."""
    cells = nbformat.read(path, as_version=4).cells
    return [qa for cell in cells if cell.cell_type == "code" for qa in checkpoints_in(cell.source)]


def guide_section(prefix: str) -> str:
    """The guide's section for notebook ``prefix`` (``### 03 — ...`` up to the next ``###``)."""
    text = GUIDE.read_text(encoding="utf-8")
    match = re.search(rf"^### {prefix} — .*?(?=^### |^## |\Z)", text, re.M | re.S)
    assert match, f"the guide has no section '### {prefix} — ...'"
    return match.group(0)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_guide_lists_every_checkpoint_with_its_answer(path: Path):
    """The guide's list for the notebook is exactly its checkpoints, each with its answer."""
    lists = dict(CHECKPOINTS.findall(GUIDE.read_text(encoding="utf-8")))
    assert path.name[:2] in lists, f"no '<!-- checkpoints {path.name[:2]} -->' list in the guide"
    listed = re.findall(r"^- \*§\d+\* (.+) \*\*(.+)\*\*$", lists[path.name[:2]], re.M)
    expected = [(normal(q), normal(str(a))) for q, a in checkpoints(path)]
    assert [(normal(q), normal(a)) for q, a in listed] == expected, (
        f"{path.name}: the guide's checkpoint list differs from the notebook's checkpoints "
        "(rewrite the lists: python -m tests.hygiene.test_guide_numbers)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_discuss_question_has_a_model_answer(path: Path):
    section = guide_section(path.name[:2])
    discuss = re.search(r"\*\*Discuss.*?\*\*(.*?)(?=\n\*\*|\Z)", section, re.S)
    assert discuss, f"{path.name}: no 'Discuss' part in the guide"
    items = re.findall(r"^- \*(.+?)\*(.*?)(?=^- |\Z)", discuss.group(1), re.M | re.S)
    assert len(items) >= 2, f"{path.name}: fewer than two Discuss questions"
    bare = [q for q, answer in items if len(answer.split()) < 8]
    assert not bare, f"{path.name}: Discuss questions without a model answer: {bare}"


def write_checkpoint_lists() -> None:
    """Rewrite every ``<!-- checkpoints NN -->`` list of the guide from the notebooks."""
    text = GUIDE.read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        items = "\n".join(f"- *§{s}* {q} **{a}**" for s, q, a in sections_of(path))
        block = f"<!-- checkpoints {path.name[:2]} -->\n{items}\n<!-- /checkpoints -->"
        text = re.sub(rf"<!-- checkpoints {path.name[:2]} -->.*?<!-- /checkpoints -->",
                      lambda _, block=block: block, text, flags=re.S)  # fmt: skip
    GUIDE.write_text(text, encoding="utf-8")


def sections_of(path: Path) -> list[tuple[str, str, str]]:
    """(section number, question, answer) of each checkpoint, in notebook order."""
    found, section = [], "?"
    for cell in nbformat.read(path, as_version=4).cells:
        heading = re.search(r"^## (\d+)\.", cell.source, re.M)
        if cell.cell_type == "markdown" and heading:
            section = heading.group(1)
        if cell.cell_type == "code":
            found += [(section, q, str(a)) for q, a in checkpoints_in(cell.source)]
    return found


def slug(heading: str) -> str:
    """GitHub's (and MyST's) anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def test_every_anchor_link_of_the_guide_has_its_heading():
    text = GUIDE.read_text(encoding="utf-8")
    anchors = {slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, re.M)}
    broken = sorted({a for a in re.findall(r"\]\(#([^)]+)\)", text) if a not in anchors})
    assert not broken, f"links to headings the guide does not have: {broken}"


if __name__ == "__main__":
    write_checkpoint_lists()
