"""A cell whose output is not compared must still check something (issue 21.5).

nbval does not compare the output of a cell marked ``# NBVAL_IGNORE_OUTPUT``
(timings, race counts, PIDs). Such a cell must assert the invariant its text
claims (``assert lost > 0``), and that assert must run whichever way the cell
goes: an ``assert`` only inside one branch of an ``if`` (a version branch, "no
Python 3.13 found here", "no /dev/shm") checks nothing on the machines that
take the other branch. So an assert counts if it sits at the cell's top
level, inside a ``with``, a loop or a ``try`` (whose handlers assert too, or
in its ``finally``), or inside an ``if`` whose every branch asserts.
"""

from __future__ import annotations

import ast
import re

MARKER = "NBVAL_IGNORE_OUTPUT"
MAGIC = re.compile(r"^(\s*)[%!]")


def parse_cell(source: str) -> ast.Module:
    """The cell as Python, with IPython magics and shell lines turned into ``pass``."""
    lines = [MAGIC.sub(r"\1pass  # ", line) for line in source.splitlines()]
    return ast.parse("\n".join(lines))


def checks_something(node: ast.Assert) -> bool:
    """An assert on something computed: not ``assert True`` or a literal."""
    return any(isinstance(n, ast.Name | ast.Attribute | ast.Call) for n in ast.walk(node.test))


def asserts_on_every_path(body: list[ast.stmt]) -> bool:
    """True if running ``body`` always reaches an assert that checks something."""
    return any(_always_asserts(statement) for statement in body)


def _always_asserts(node: ast.stmt) -> bool:
    if isinstance(node, ast.Assert):
        return checks_something(node)
    if isinstance(node, ast.If):
        return asserts_on_every_path(node.body) and asserts_on_every_path(node.orelse)
    if isinstance(node, ast.With | ast.AsyncWith | ast.For | ast.AsyncFor | ast.While):
        return asserts_on_every_path(node.body)
    if isinstance(node, ast.Try | ast.TryStar):
        if asserts_on_every_path(node.finalbody):
            return True
        handlers_assert = all(asserts_on_every_path(h.body) for h in node.handlers)
        return asserts_on_every_path(node.body) and handlers_assert
    return False


def problem(source: str) -> str:
    """Why this ignore-output cell checks nothing ('' if it asserts on every path)."""
    try:
        tree = parse_cell(source)
    except SyntaxError as exc:
        return f"cannot be parsed ({exc.msg}, line {exc.lineno})"
    if asserts_on_every_path(tree.body):
        return ""
    asserts = [n for n in ast.walk(tree) if isinstance(n, ast.Assert)]
    if not asserts:
        return "has no assert"
    if not any(checks_something(n) for n in asserts):
        return "asserts only constants"
    lines = ", ".join(str(n.lineno) for n in asserts)
    return (
        f"asserts only inside a branch (line {lines} of the cell): some Pythons or machines "
        "take another branch and check nothing; assert in every branch, or after the if"
    )


def test_every_ignored_output_is_asserted_on_every_path(notebook):
    path, nb = notebook
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or MARKER not in cell.source:
            continue
        why = problem(cell.source)
        if why:
            first = next((line for line in cell.source.splitlines() if MARKER not in line), "")
            found.append(f"cell {index} ({first.strip()[:50]!r}) {why}")
    assert not found, (
        f"{path.name}: cells marked # {MARKER} must assert the invariant their text claims, "
        "on every Python:\n  " + "\n  ".join(found)
    )


def test_the_rule_itself():
    assert problem("x = 1\nassert x == 1") == ""
    assert problem("assert True") == "asserts only constants"
    assert problem("print(1)") == "has no assert"
    assert "only inside a branch" in problem(
        "import sys\nif sys.version_info >= (3, 14):\n    assert f()"
    )
    assert problem("if a:\n    assert f()\nelse:\n    assert g()") == ""
    assert problem("try:\n    assert f()\nfinally:\n    g()") == ""
    assert "only inside a branch" in problem("try:\n    assert f()\nexcept OSError:\n    pass")
    assert problem("%timeit f()\nwith m() as x:\n    assert x") == ""
