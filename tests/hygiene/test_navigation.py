"""Every notebook has its navigation line alone in cell 2 and in its last cell (the skeleton).

The line: previous notebook, Contents, next notebook, e.g.
``[← 01 Queue](01_queue.ipynb) · [Contents](../README.md) · [03 Shared memory →](...)``.
"""

from __future__ import annotations

from .conftest import NOTEBOOKS

TITLES = {
    "00_why_ipc.ipynb": "00 Why IPC",
    "01_queue.ipynb": "01 Queue",
    "02_pipe.ipynb": "02 Pipe",
    "03_shared_memory.ipynb": "03 Shared memory",
    "04_manager.ipynb": "04 Manager",
    "05_choosing.ipynb": "05 Choosing",
    "06_beyond_one_machine.ipynb": "06 Beyond one machine",
}
ORDER = list(TITLES)
#: The cell that holds the navigation line at the top (docs/notebook-template.ipynb).
NAV_CELL = 2


def navigation_line(name: str) -> str:
    """The navigation line of notebook ``name``."""
    i = ORDER.index(name)
    parts = []
    if i > 0:
        parts.append(f"[← {TITLES[ORDER[i - 1]]}]({ORDER[i - 1]})")
    parts.append("[Contents](../README.md)")
    if i + 1 < len(ORDER):
        parts.append(f"[{TITLES[ORDER[i + 1]]} →]({ORDER[i + 1]})")
    return " · ".join(parts)


def test_every_notebook_has_a_title_here():
    assert [p.name for p in NOTEBOOKS] == ORDER, "add the new notebook to TITLES, in order"


def _where(nb, expected: str) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if expected in c.source]


def test_navigation_at_top_and_bottom(notebook):
    path, nb = notebook
    expected = navigation_line(path.name)
    top, last = nb.cells[NAV_CELL], nb.cells[-1]
    assert top.cell_type == "markdown" and top.source.strip() == expected, (
        f"{path.name}: cell {NAV_CELL} (counting from 0) must be a markdown cell holding only "
        f"the navigation line\n  {expected}\nit is now in cell(s) {_where(nb, expected)}"
    )
    assert last.cell_type == "markdown" and last.source.strip() == expected, (
        f"{path.name}: the last cell must be a markdown cell holding only the navigation line\n"
        f"  {expected}\n(move '## Further reading' and anything else into the cell before it)"
    )
