"""The README is the course's front door: every link in it must lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

from tools.badges import badge_targets, rewrite

from .conftest import NOTEBOOKS, ROOT, measured_times_table

README = (ROOT / "README.md").read_text(encoding="utf-8")
LINK = re.compile(r"\]\(([^)\s]+)\)")
#: Code (fenced blocks, then `spans`): links shown as examples, not followed.
CODE = re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)


def relative_links(text: str) -> list[str]:
    return [
        link.split("#")[0]
        for link in LINK.findall(CODE.sub("", text))
        if not re.match(r"[a-z]+:", link) and not link.startswith("#")
    ]


def test_every_notebook_is_in_the_readme():
    missing = [p.name for p in NOTEBOOKS if f"notebooks/{p.name}" not in README]
    assert not missing, f"notebooks not listed in README.md: {missing}"


def test_every_relative_link_exists():
    broken = [link for link in relative_links(README) if not (ROOT / link).exists()]
    assert not broken, f"README.md links to files that do not exist: {broken}"


def test_every_notebook_has_a_binder_badge():
    opened = {path for _, path in badge_targets(README)}
    missing = [p.name for p in NOTEBOOKS if f"notebooks/{p.name}" not in opened]
    assert not missing, f"notebooks without a Binder badge in README.md: {missing}"


def test_binder_badges_open_files_that_exist():
    broken = [path for _, path in badge_targets(README) if path and not (ROOT / path).exists()]
    assert not broken, f"Binder badges open files that do not exist: {broken}"


def test_binder_badges_use_the_configured_repository():
    assert rewrite(README) == README, (
        "README.md Binder badges disagree with [tool.course] in pyproject.toml; "
        "run `python -m tools.badges`"
    )


def test_links_inside_notebooks_exist(notebook):
    path, nb = notebook
    broken = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for link in relative_links(cell.source):
            if link and not (path.parent / link).exists():
                broken.append(f"cell {i}: {link}")
    assert not broken, f"{path.name} links to files that do not exist: {broken}"


def test_docs_links_exist():
    broken = []
    for doc in sorted((ROOT / "docs").glob("*.md")):
        for link in relative_links(doc.read_text(encoding="utf-8")):
            if link and not (doc.parent / link).exists() and not Path(link).is_absolute():
                broken.append(f"{doc.name}: {link}")
    assert not broken, f"docs link to files that do not exist: {broken}"


def test_run_times_are_the_guides():
    said = re.search(r"took (\d+) to (\d+) seconds on the course's quiet", README)
    assert said, "README.md no longer says how long a notebook takes to run (or says it otherwise)"
    # the fork, spawn and forkserver columns: "| 15 s |"
    seconds = [int(s) for s in re.findall(r"\| (\d+) s (?=\|)", measured_times_table())]
    assert seconds, "no times in the guide's measured-times table"
    measured = (min(seconds), max(seconds))
    assert tuple(map(int, said.groups())) == measured, (
        f"README.md says a notebook took {said[1]} to {said[2]} seconds; the instructor "
        f"guide's measured-times table says {measured[0]} to {measured[1]}"
    )
