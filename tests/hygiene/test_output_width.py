"""No stored output line is wider than the output area (issue 18.7).

JupyterLab wraps a long output line wherever the output area ends, often in
the middle of a word or a number ("operating s|ystem", "1|3611"). The course
prints at most ``ipc_helpers.text.WIDTH`` = 90 columns per line. Why 90: at
JupyterLab's default 13 px monospace font a character is about 7.8 px wide,
so 90 columns take about 700 px; a notebook on a 1280 px wide screen with
the file browser open leaves about 850 px for output after the prompt
column, and GitHub's notebook view shows about 100 columns. Checker
feedback (``Feedback``) and ``text.wrap`` wrap at word boundaries to 90.

Checked: every stream output (stdout, stderr) and the ``text/plain`` of
results that have no richer view (an HTML table, a picture or a widget is
what the learner sees instead). Not checked: tracebacks (error outputs, and
the streams of cells tagged ``raises-exception``).
"""

from __future__ import annotations

from ipc_helpers.text import WIDTH
from tests.notebook_harness import ANSI

#: Cells whose traceback is shown on purpose (as in test_notebooks).
ERROR_TAGS = {"raises-exception", "nbval-raises-exception"}
_RICHER = {"text/html", "image/png", "image/svg+xml", "application/vnd.jupyter.widget-view+json"}


def shown_text(output) -> str:
    """The text of ``output`` a learner reads as plain text (``""`` if none)."""
    if output.output_type == "stream":
        return output.text
    if output.output_type in ("execute_result", "display_data"):
        data = output.get("data", {})
        return "" if _RICHER & set(data) else data.get("text/plain", "")
    return ""  # error outputs: tracebacks


def wide_lines(nb) -> list[tuple[int, int, str]]:
    """(cell index, width, line) of every output line wider than ``WIDTH``."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or ERROR_TAGS & set(cell.metadata.get("tags", [])):
            continue
        for output in cell.get("outputs", []):
            for line in ANSI.sub("", shown_text(output)).splitlines():
                width = len(line.rstrip())
                if width > WIDTH:
                    found.append((i, width, line))
    return found


def test_no_output_line_is_wider_than_the_output_area(notebook):
    path, nb = notebook
    found = wide_lines(nb)
    listed = "\n".join(f"  cell {i}: {w} columns: {line[:80]!r}…" for i, w, line in found)
    assert not found, (
        f"{path.name}: {len(found)} output line(s) wider than {WIDTH} columns (cells counted "
        "from 0). Wrap messages with ipc_helpers.text.wrap(...), print long lists over several "
        "lines or as a display.Table, show code with show_source (HTML), then re-execute:\n"
        + listed
    )
