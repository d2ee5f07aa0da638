"""Stored outputs are the truth: they must come from one clean, in-order run."""

from __future__ import annotations

import json
import re

ERROR_TAGS = {"raises-exception", "nbval-raises-exception"}
MACHINE_PATH = re.compile(r"(/root/|/home/[^/\s]+/|/tmp/[^\s'\"]+|/Users/[^/\s]+/|/work/)")


def code_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]


def test_executed_in_order(notebook):
    path, nb = notebook
    counts = [c.execution_count for _, c in code_cells(nb)]
    never = [i for i, c in code_cells(nb) if c.execution_count is None]
    assert not never, f"{path.name}: code cells never executed: {never} (run `make execute`)"
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts} are not 1..n: not one top-to-bottom run"
    )


def test_errors_only_where_tagged(notebook):
    path, nb = notebook
    unexpected = []
    for i, cell in code_cells(nb):
        tags = set(cell.metadata.get("tags", []))
        expected = bool(tags & ERROR_TAGS) or "NBVAL_RAISES_EXCEPTION" in cell.source
        if any(out.output_type == "error" for out in cell.outputs) and not expected:
            unexpected.append(i)
    assert not unexpected, f"{path.name}: cells store an error but are not tagged: {unexpected}"


def test_no_machine_paths_in_outputs(notebook):
    path, nb = notebook
    found = []
    for i, cell in code_cells(nb):
        for out in cell.outputs:
            match = MACHINE_PATH.search(json.dumps(out))
            if match:
                found.append(f"cell {i}: {match.group(0)}")
    assert not found, f"{path.name}: outputs hold paths of the machine that ran them: {found}"


def test_uses_the_standard_kernel(notebook):
    path, nb = notebook
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", path.name


def test_opening_sections(notebook):
    path, nb = notebook
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in ("What you'll learn", "Time", "Prerequisites"):
        assert re.search(rf"^##+ {re.escape(heading)}", text, re.MULTILINE), (
            f"{path.name}: missing the opening section '{heading}'"
        )


#: Text that pins a notebook to one Python: every cell must hold on 3.11 to 3.14.
ONE_PYTHON = re.compile(
    r"(this notebook|the notebook|these notebooks) (runs|run|is run|was written) "
    r"(on|for) Python \d",
    re.IGNORECASE,
)


def test_no_text_assumes_one_python(notebook):
    path, nb = notebook
    found = [
        f"cell {i}: {match.group(0)!r}"
        for i, cell in enumerate(nb.cells)
        for match in ONE_PYTHON.finditer(cell.source)
    ]
    assert not found, (
        f"{path.name}: the course runs on Python 3.11 to 3.14; branch on sys.version_info "
        f"and say which version does what instead: {found}"
    )
