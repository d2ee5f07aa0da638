"""The notebooks' own solutions, loaded for the tests (solutions live once, in the notebook).

Each exercise's solution is a code cell tagged ``solution`` that defines the
learner's function (or data) and then calls the checker. The tests take the
definitions from that cell, leave the checker call out, and run them through
the checker themselves:

    from tests.solutions import solution
    squares_from_child = solution("00_why_ipc", "squares_from_child")

What runs: the ``import`` statements of every code cell before the solution
cell (so the names the solution uses exist), then the solution cell's
imports, ``def``/``class`` statements and assignments, except any statement
that calls a ``check_*`` function. Nothing else of the notebook runs.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Any

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def notebook_path(notebook: str | Path) -> Path:
    """The path of ``notebook``: a path, a file name, a stem (``00_why_ipc``) or a prefix."""
    path = Path(notebook)
    if path.is_file():
        return path
    matches = sorted(NOTEBOOKS.glob(f"{path.stem}*.ipynb"))
    if len(matches) != 1:
        found = [p.name for p in matches] or "none"
        raise ValueError(f"notebook {str(notebook)!r} must name one notebook; matches: {found}")
    return matches[0]


def _python(source: str) -> ast.Module:
    """A cell's source as a Python module (IPython magics turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager  # heavy: only when used

    return ast.parse(TransformerManager().transform_cell(source))


def _calls_a_checker(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name.startswith("check_"):
                return True
    return False


def _definitions(module: ast.Module, *, imports_only: bool) -> list[ast.stmt]:
    kept = []
    for stmt in module.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            kept.append(stmt)
        elif imports_only:
            continue
        elif isinstance(stmt, _KEEP) or (
            isinstance(stmt, (ast.Assign, ast.AnnAssign)) and not _calls_a_checker(stmt)
        ):
            kept.append(stmt)
    return kept


def _bound_names(stmts: list[ast.stmt]) -> set[str]:
    """Names that the ``def``, ``class`` and assignment statements bind."""
    names: set[str] = set()
    for stmt in stmts:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def _run(stmts: list[ast.stmt], namespace: dict[str, Any], label: str) -> None:
    exec(compile(ast.Module(stmts, []), label, "exec"), namespace)


@functools.cache
def load_solutions(notebook: str | Path) -> dict[str, Any]:
    """Every name the ``solution`` cells of ``notebook`` define, with its value.

    Imports of earlier cells that fail (a module the notebook writes itself
    with ``%%writefile``, say) are skipped. Raises ``LookupError`` if the
    notebook has no code cell tagged ``solution``.
    """
    path = notebook_path(notebook)
    import nbformat  # heavy (about 1 s): not in every spawn child that imports the rows

    nb = nbformat.read(path, as_version=4)
    namespace: dict[str, Any] = {"__name__": f"solutions_of_{path.stem}"}
    defined: set[str] = set()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        module = _python(cell.source)
        if "solution" not in cell.metadata.get("tags", []):
            for stmt in _definitions(module, imports_only=True):
                try:
                    _run([stmt], namespace, f"<{path.name} cell {i}>")
                except ImportError:
                    continue
            continue
        body = _definitions(module, imports_only=False)
        _run(body, namespace, f"<{path.name} solution cell {i}>")
        defined |= _bound_names(body)
    if not defined:
        raise LookupError(f"{path.name} has no code cell tagged 'solution' that defines anything")
    return {name: namespace[name] for name in sorted(defined)}


def solution(notebook: str | Path, name: str) -> Any:
    """The object ``name`` defined by a ``solution`` cell of ``notebook``."""
    solutions = load_solutions(notebook)
    if name not in solutions:
        listed = ", ".join(sorted(solutions))
        raise LookupError(f"no solution cell of {notebook} defines {name!r}; they define {listed}")
    return solutions[name]
