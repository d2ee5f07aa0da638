"""Which tests a stage runs: ``--shard I/N`` parts and ``@pytest.mark.one_stage``."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.run_suite import STAGES, UNIT_SHARDS

from .conftest import ROOT, write_notebook

TESTS = """
import pytest

@pytest.mark.one_stage
def test_slow():
    pass

def test_everywhere():
    pass
"""


def run(tmp_path, *args: str, **env: str) -> str:
    (tmp_path / "test_marked.py").write_text(TESTS, encoding="utf-8")
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.notebook_harness"]
    cmd += ["--rootdir", str(tmp_path), "-c", os.devnull, "-q", *args, str(tmp_path)]
    environment = {k: v for k, v in os.environ.items() if k != "IPC_DESELECT_ONE_STAGE"}
    done = subprocess.run(
        cmd, cwd=ROOT, env={**environment, **env}, capture_output=True, text=True, check=False
    )
    return done.stdout


def test_deselected_only_where_asked(tmp_path):
    assert "2 passed" in run(tmp_path)
    assert "1 passed, 1 deselected" in run(tmp_path, IPC_DESELECT_ONE_STAGE="1")


def test_only_the_unit_fork_parts_run_them():
    units = [s for s in STAGES if s.paths == ("tests/unit",)]
    running = [s.name for s in units if ("IPC_DESELECT_ONE_STAGE", "1") not in s.env]
    assert running == [f"unit-fork-{i}of{UNIT_SHARDS}" for i in range(1, UNIT_SHARDS + 1)]


def test_parts_interleave_tests_and_keep_a_notebook_whole(tmp_path):
    write_notebook(tmp_path / "a.ipynb", "1", "2", "3")
    write_notebook(tmp_path / "b.ipynb", "4")
    first = run(tmp_path, "--nbval-lax", "--collect-only", "--shard=1/2")
    second = run(tmp_path, "--nbval-lax", "--collect-only", "--shard=2/2")
    # the units, in order: notebook a (its 3 cells), notebook b, test_slow, test_everywhere
    assert "a.ipynb::Cell 2" in first and "a.ipynb::leak check" in first and "b.ipynb" not in first
    assert "test_slow" in first and "test_everywhere" not in first
    assert "b.ipynb::leak check" in second and "a.ipynb" not in second
    assert "test_everywhere" in second and "test_slow" not in second
