"""Shared fixtures for the hygiene tests: the repository's notebooks, parsed; the guide's table."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
GUIDE = ROOT / "docs" / "instructor-guide.md"


def measured_times_table() -> str:
    """The instructor guide's measured-times table (the first table under its heading)."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("### Measured run times") :]
    table = re.search(r"(^\|.*\n)+", section, re.M)
    assert table, "no table under '### Measured run times' in docs/instructor-guide.md"
    return table.group(0)


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook(request) -> tuple[Path, nbformat.NotebookNode]:
    path: Path = request.param
    return path, nbformat.read(path, as_version=4)
