"""Every notebook opens and ends with the same navigation line: previous, contents, next."""

from __future__ import annotations

from .conftest import NOTEBOOKS

TITLES = {
    "00_why_ipc.ipynb": "00 Why IPC",
    "01_queue.ipynb": "01 Queue",
    "02_pipe.ipynb": "02 Pipe",
    "03_shared_memory.ipynb": "03 Shared memory",
    "04_manager.ipynb": "04 Manager",
    "05_choosing.ipynb": "05 Choosing",
}
ORDER = list(TITLES)


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
    assert [p.name for p in NOTEBOOKS] == ORDER


def test_navigation_at_top_and_bottom(notebook):
    path, nb = notebook
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    expected = navigation_line(path.name)
    assert expected in "\n".join(markdown[:3]), f"{path.name}: no navigation line near the top"
    assert expected in markdown[-1], f"{path.name}: the last cell must end with the navigation"
