"""The learner bundle: everything a learner needs, and nothing that gives answers away.

``make learner-copy`` (``tools/learner_copy.py``) writes it::

    learner-copy/
        README.md         for learners: contents, each exercise, set-up, troubleshooting
        Makefile          make lab, make check, make clean (tools/learner_files/Makefile)
        requirements.txt  the course's full lock; environment.yml + postBuild: conda, Binder
        pyproject.toml, ipc_helpers/      the course's package (checkers, no solutions)
        notebooks/        every notebook without its solutions, outputs cleared; figures/
        tools/            find and check the Python (and a wheelhouse) before set-up

``make lab`` in it serves the bundle's root, so a notebook's ``../README.md`` link
opens the learner README. Before the folder is written, the notebooks and the
package are searched for solution text (``leaks``, ``package_leaks``); anything
found stops the copy, naming the file.
"""

from __future__ import annotations

import ast
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import nbformat

from tools import learner_copy as lc

ROOT = lc.ROOT
DEFAULT_OUT = ROOT / "learner-copy"
FILES = ROOT / "tools" / "learner_files"
#: A file in every folder this tool writes: only such a folder is ever replaced.
STAMP = ".made-by-learner-copy"
#: Copied as they are (paths relative to the repository).
SETUP = (
    "requirements.txt", "environment.yml", "postBuild", "pyproject.toml", "LICENSE",
    "tools/find_python.sh", "tools/check_python.sh", "tools/wheelhouse.py",
)  # fmt: skip
IGNORED = shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__", "*.egg-info")
#: Solution lines in a row that, found in a module, count as a leak.
WINDOW = 3
FUNCTION_TASK = "a function to write"
DICT_TASK = "a dictionary to fill in"
#: A dictionary entry, ``"key": value,``: a quiz answer, which its checker must know.
QUIZ_ENTRY = re.compile(r"""^["'][^"']*["']\s*:""")


def check_destination(out: Path) -> None:
    """Refuse to replace a folder that this tool did not make."""
    if out.exists() and not out.is_dir():
        raise lc.LearnerCopyError([f"{out} exists and is not a folder"])
    if out.is_dir() and any(out.iterdir()) and not (out / STAMP).exists():
        raise lc.LearnerCopyError(
            [f"refusing to replace {out}: it was not made by this tool (no {STAMP} in it)"]
        )


def make_bundle(notebooks: Sequence[Path], out: Path = DEFAULT_OUT, archive=False) -> Path:
    """Check ``notebooks``, then write the bundle to ``out`` (replaced); return ``out``.

    Nothing is written when a check fails (``LearnerCopyError`` lists every
    problem). With ``archive``, ``out.zip`` is written beside the folder too.
    """
    if isinstance(notebooks, str | Path) or not notebooks:
        raise ValueError(f"notebooks must be a non-empty list of paths, got {notebooks!r}")
    out = Path(out).resolve()
    check_destination(out)
    sources = [(Path(p), nbformat.read(p, as_version=4)) for p in notebooks]
    problems = [p for path, nb in sources for p in lc.marker_problems(nb, path.name)]
    if problems:
        raise lc.LearnerCopyError(problems)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        write_bundle(sources, staging)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    out.with_suffix(".zip").unlink(missing_ok=True)  # never hand out an old archive
    if archive:
        shutil.make_archive(str(out), "zip", out.parent, out.name)
    return out


def write_bundle(sources: Sequence[tuple[Path, nbformat.NotebookNode]], dest: Path) -> None:
    """Write every file of the bundle into ``dest``, then search it for solutions."""
    source_dir = sources[0][0].resolve().parent
    shutil.copytree(source_dir, dest / "notebooks", ignore=IGNORED)
    shutil.copytree(ROOT / "ipc_helpers", dest / "ipc_helpers", ignore=IGNORED)
    for name in SETUP:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)
    shutil.copy2(FILES / "Makefile", dest / "Makefile")
    problems = reference_problems(dest / "ipc_helpers")
    for path, nb in sources:
        copy = lc.strip_notebook(nb)
        nbformat.validate(copy)
        nbformat.write(copy, dest / "notebooks" / path.name)
        text = (dest / "notebooks" / path.name).read_text(encoding="utf-8")
        problems += [f"{path.name}: the copy still holds {f}" for f in leaks(nb, text)]
        problems += package_leaks(nb, path.name, dest / "ipc_helpers")
    if problems:
        raise lc.LearnerCopyError(problems)
    readme = (FILES / "README.md").read_text(encoding="utf-8")
    readme = readme.replace("<!-- contents -->", contents(sources))
    (dest / "README.md").write_text(readme, encoding="utf-8")
    (dest / STAMP).write_text("Made by `make learner-copy`; replaced on every run.\n")


def package_leaks(nb: nbformat.NotebookNode, name: str, package: Path) -> list[str]:
    """Where the package in ``package`` gives one of ``nb``'s solutions away.

    The sign: ``WINDOW`` consecutive lines of a solution cell, each a line no
    other cell of the notebook has or shows, found one after another in a
    module. Dictionary entries are left out: a quiz's checker must hold its
    answer key.
    """
    own = {line for line in distinctive_lines(nb) if not QUIZ_ENTRY.match(line)}
    windows = set()
    for cell in lc.solution_cells(nb):
        lines = [line.strip() for line in cell.source.splitlines() if line.strip() in own]
        windows |= {tuple(lines[i : i + WINDOW]) for i in range(len(lines) - WINDOW + 1)}
    found = []
    for module in sorted(package.rglob("*.py")):
        lines = [line.strip() for line in module.read_text(encoding="utf-8").splitlines()]
        lines = [line for line in lines if line]
        if any(tuple(lines[i : i + WINDOW]) in windows for i in range(len(lines))):
            where = module.relative_to(package.parent).as_posix()
            found.append(f"{name}: {where} holds {WINDOW} lines in a row of a solution")
    return found


def reference_problems(package: Path) -> list[str]:
    """Every function of the package whose docstring calls it a reference solution."""
    return [
        f"{module.relative_to(package.parent).as_posix()}: {name}() is a reference solution"
        for module in sorted(package.rglob("*.py"))
        for name in reference_solutions(module.read_text(encoding="utf-8"))
    ]


def reference_solutions(text: str) -> list[str]:
    """Names of the functions in module ``text`` whose docstring says "Reference solution"."""
    return [
        node.name
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef)
        and re.match(r"\s*reference solution", ast.get_docstring(node) or "", re.I)
    ]


# -- finding solutions where they must not be ---------------------------------------------


def distinctive_lines(nb: nbformat.NotebookNode, min_length: int = 12) -> set[str]:
    """Lines of the solution cells that no other cell of ``nb`` has or shows.

    A line that the learner's cell also has (the signature, the checker call),
    or that another cell shows (given code printed with ``show_source``), is
    not a solution's own.
    """
    others = [c for c in nb.cells if lc.SOLUTION not in lc.tags_of(c)]
    shown = [out_text(c) for c in others]
    lines = {line.strip() for text in [c.source for c in others] + shown
             for line in text.splitlines()}  # fmt: skip
    own = {line.strip() for c in lc.solution_cells(nb) for line in c.source.splitlines()}
    return {line for line in own - lines if len(line) >= min_length}


def out_text(cell: nbformat.NotebookNode) -> str:
    """The text of a cell's stored outputs (streams and ``text/plain``)."""
    return "".join(
        str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
        for out in cell.get("outputs", [])
    )


def leaks(source: nbformat.NotebookNode, copy_text: str) -> list[str]:
    """What of ``source``'s solutions still appears in ``copy_text`` (a copy's file)."""
    copy = nbformat.reads(copy_text, as_version=4)
    texts = [c.source for c in copy.cells] + [
        str(out) for c in copy.cells for out in c.get("outputs", [])
    ]
    everything = "\n".join(texts)
    found = [
        f"the whole source of a solution cell (id {cell.get('id', '?')})"
        for cell in lc.solution_cells(source)
        if cell.source.strip() and cell.source.strip() in everything
    ]
    copy_lines = {line.strip() for text in texts for line in text.splitlines()}
    found += [f"a solution line of {len(line)} characters" for line in
              sorted(distinctive_lines(source) & copy_lines)]  # fmt: skip
    return found


def readme_row(name: str) -> tuple[str, str]:
    """("what you learn", "minutes") of notebook ``name`` in the course README's table."""
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if f"(notebooks/{name})" in line and len(cells) >= 4:
            return cells[2], cells[3]
    return "", ""


def contents(sources: Sequence[tuple[Path, nbformat.NotebookNode]]) -> str:
    """The learner README's contents: each notebook, then its exercises and their kind."""
    parts = []
    for path, nb in sources:
        learn, minutes = readme_row(path.name)
        about = ", ".join(filter(None, [f"{minutes} minutes" if minutes else "", learn]))
        parts.append(f"- [{title_of(nb) or path.stem}](notebooks/{path.name})" +
                     (f": {about}" if about else ""))  # fmt: skip
        for index, heading in lc.exercises(nb):
            function = "def " in nb.cells[index].source
            parts.append(f"  - {heading} ({FUNCTION_TASK if function else DICT_TASK})")
    return "\n".join(parts)


def title_of(nb: nbformat.NotebookNode) -> str:
    """The text of the notebook's first ``# `` heading ("" if it has none)."""
    for cell in nb.cells:
        found = re.search(r"^#\s+(.+?)\s*$", cell.source, re.M)
        if cell.cell_type == "markdown" and found:
            return found.group(1)
    return ""


def summary(out: Path) -> str:
    """What the CLI prints after writing ``out``."""
    notebooks = sorted((out / "notebooks").glob("*.ipynb"))
    zipped = out.with_suffix(".zip")
    return "\n".join(
        [f"learner copy: {len(notebooks)} notebooks and their set-up in {out}/"]
        + [f"  notebooks/{p.name}" for p in notebooks]
        + ([f"archive to hand out: {zipped}"] if zipped.exists() else [])
        + [f"open it:  cd {out} && make lab        check it:  make check"]
    )
