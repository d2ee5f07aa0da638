"""The learner bundle (``make learner-copy``): self-contained, truthful, installable, runnable.

The bundle is built once for the module from the course's notebooks. The slow
test (``offline`` in its name) does what a learner in a room with no network
does: ``make check`` in the bundle, which sets up ``.venv`` from the learner
wheelhouse (``tests/hygiene/classroom.py``) in a namespace with no network,
then runs the setup check; then every notebook of the bundle runs top to bottom
in a kernel of that ``.venv``, with no exercise touched: every checker must say
"Not attempted yet", and no cell may fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

from tools import learner_bundle as lb
from tools import learner_copy as lc

from . import classroom
from .conftest import NOTEBOOKS

LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|\bsrc=[\"']([^\"']+)[\"']")
#: Runs one notebook in a kernel of the Python that runs this script (the bundle's
#: .venv); prints what the exercise cells said and which Python the kernel was.
RUNNER = r"""
import json, sys
from pathlib import Path
import nbformat
from nbclient import NotebookClient

path = Path(sys.argv[1])
nb = nbformat.read(path, as_version=4)
probe = "import sys, ipc_helpers\nprint(sys.prefix)\nprint(ipc_helpers.__file__)"
nb.cells.append(nbformat.v4.new_code_cell(probe))
client = NotebookClient(nb, timeout=180, kernel_name="python3",
                        resources={"metadata": {"path": str(path.parent)}})
try:
    client.execute()
    error = ""
except Exception as exc:
    error = f"{type(exc).__name__}: {exc}"[-4000:]

def text(cell):
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                   for o in cell.get("outputs", []))

tags = [c.metadata.get("tags", []) for c in nb.cells]
exercises = {i: text(c) for i, c in enumerate(nb.cells, 1) if "exercise" in tags[i - 1]}
print(json.dumps({"error": error, "exercises": exercises, "probe": text(nb.cells[-1])}))
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """``make learner-copy`` of every notebook, in a temporary folder."""
    try:
        return lb.make_bundle(NOTEBOOKS, tmp_path_factory.mktemp("room") / "learner-copy")
    except lc.LearnerCopyError as error:
        pytest.fail(f"make learner-copy refused:\n{error}", pytrace=False)


def test_bundle_holds_everything_a_learner_needs(bundle: Path):
    for name in [*lb.SETUP, "Makefile", "README.md", "ipc_helpers/__init__.py",
                 "ipc_helpers/doctor.py"]:  # fmt: skip
        assert (bundle / name).is_file(), f"{name} missing from the bundle"
    assert sorted(p.name for p in (bundle / "notebooks").glob("*.ipynb")) == [
        p.name for p in NOTEBOOKS
    ]
    assert not list(bundle.rglob("__pycache__")) and not list(bundle.rglob("*.egg-info"))
    makefile = (bundle / "Makefile").read_text(encoding="utf-8")
    lab = re.search(r"^lab:.*\n\t(.*)$", makefile, re.M).group(1)
    assert "--notebook-dir=. " in lab, "make lab must serve the bundle's root (../README.md)"
    assert "default_url=/lab/tree/notebooks/00_why_ipc.ipynb" in lab
    assert "ipc_helpers.doctor" in makefile and "wheelhouse.py --check" in makefile


def test_readme_describes_each_notebook_and_exercise_truthfully(bundle: Path):
    readme = (bundle / "README.md").read_text(encoding="utf-8")
    assert "Python 3.11, 3.12, 3.13 or 3.14 (3.13 preferred)" in readme
    assert "<!--" not in readme
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert f"(notebooks/{path.name})" in readme
        for index, title in lc.exercises(nb):
            kind = (
                lb.FUNCTION_TASK
                if "NotImplementedError" in nb.cells[index].source
                else (lb.DICT_TASK)
            )
            assert f"  - {title} ({kind})" in readme, f"{path.name}: {title}"


def relative_links(text: str) -> list[str]:
    """Every relative link or image target in markdown ``text``."""
    targets = [unquote((m.group(1) or m.group(2)).split("#")[0]) for m in LINK.finditer(text)]
    return [t for t in targets if t and not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.I)]


def test_every_link_works_from_the_bundle(bundle: Path):
    """From where ``make lab`` serves the bundle: ``../README.md`` is the learner README."""
    broken = []
    pages = [(bundle / "README.md", (bundle / "README.md").read_text(encoding="utf-8"))]
    for path in sorted((bundle / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        pages += [(path, c.source) for c in nb.cells if c.cell_type == "markdown"]
    for page, text in pages:
        for target in relative_links(text):
            resolved = (page.parent / target).resolve()
            if not (resolved.is_relative_to(bundle.resolve()) and resolved.exists()):
                broken.append(f"{page.relative_to(bundle)}: {target}")
    assert not broken, f"links that do not work in the bundle: {sorted(set(broken))}"


def test_package_gives_no_solution_away(bundle: Path):
    assert lb.reference_problems(bundle / "ipc_helpers") == []
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert lb.package_leaks(nb, path.name, bundle / "ipc_helpers") == []


# -- slow: installed offline, checked, every notebook run ------------------------------------


def kernel_env() -> dict[str, str]:
    """A learner's kernel: default start method, no test profile; checker bugs raise."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MP_START_METHOD", "PYTEST_CURRENT_TEST", "VIRTUAL_ENV", "IPYTHONDIR")
    }
    env.update(IPC_HELPERS_STRICT="1", PYTHON_COLORS="0", NO_COLOR="1", JUPYTER_PLATFORM_DIRS="1")
    env["IPYTHONDIR"] = tempfile.mkdtemp(prefix="learner-ipython-")
    return env  # fmt: skip


def run_notebook(python: Path, notebook: Path) -> dict:
    result = subprocess.run([str(python), "-c", RUNNER, str(notebook)], capture_output=True,
                            text=True, timeout=900, env=kernel_env())  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


#: pytest-timeout's limit for the whole test, in seconds (the suite's default is 300): the
#: install and each notebook are bounded themselves (900 s each). Under the suite's load
#: and two busy loops, the install and the seven notebooks took past 300 s.
@pytest.mark.timeout(900)
def test_offline_bundle_installs_checks_and_runs(bundle: Path):
    wheels = classroom.learner_wheelhouse()
    check = subprocess.run(
        [*classroom.offline_prefix(), "make", "--no-print-directory", "-C", str(bundle),
         "check", f"WHEELHOUSE={wheels}", f"PYTHON={classroom.base_python()}"],
        capture_output=True, text=True, timeout=900, env=classroom.offline_env(),
    )  # fmt: skip
    assert check.returncode == 0, check.stdout[-4000:] + check.stderr[-4000:]
    line = next(x for x in check.stdout.splitlines() if x.startswith("IPC check"))
    assert line.startswith("IPC check OK |") and "checker: Not attempted yet" in line, line

    python = bundle / ".venv" / "bin" / "python"
    notebooks = sorted((bundle / "notebooks").glob("*.ipynb"))
    with ThreadPoolExecutor(2) as pool:  # two at a time: most of a notebook's time is waiting
        results = dict(zip(notebooks, pool.map(lambda p: run_notebook(python, p), notebooks),
                           strict=True))  # fmt: skip
    problems = []
    for path, result in results.items():
        if result["error"]:
            problems.append(f"{path.name}: {result['error']}")
            continue
        prefix, module = [*result["probe"].split(), "", ""][:2]
        if Path(prefix).resolve() != (bundle / ".venv").resolve() or bundle.name not in module:
            problems.append(f"{path.name}: the kernel was not the bundle's: {result['probe']}")
        silent = [i for i, out in result["exercises"].items() if "Not attempted yet" not in out]
        if silent or not result["exercises"]:
            problems.append(f"{path.name}: exercise cells not saying 'Not attempted yet': {silent}")
    assert not problems, "\n".join(problems)
