"""Helpers of the harness's own tests: run the notebook harness on a notebook made for the test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.processes import private_shm_prefix

ROOT = Path(__file__).resolve().parents[2]


def write_notebook(path: Path, *cells: str) -> Path:
    """A notebook at ``path`` whose code cells are ``cells`` (never executed: no outputs)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(nb, path)
    return path


def run_harness(notebook: Path, method: str, *args: str, **env: str):
    """Run pytest with the notebook harness on ``notebook`` (outputs not compared).

    It gets its own /dev/shm where the machine allows it, so other programs'
    entries never reach its leak check.
    """
    skip = ("PYTEST_CURRENT_TEST", "IPC_SUITE_FACTS")
    environment = {k: v for k, v in os.environ.items() if k not in skip}
    environment.update(env, MP_START_METHOD=method)
    cmd = [*private_shm_prefix(), sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    cmd += ["-p", "tests.notebook_harness", "--rootdir", str(notebook.parent), "-c", os.devnull]
    cmd += ["--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=60", "-v"]
    cmd += [*args, str(notebook)]
    return subprocess.run(
        cmd, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def notebook_dir(tmp_path: Path) -> Path:
    return tmp_path
