"""ruff passes on the package, the tests and the notebooks: its checks and its formatting."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import ROOT


@pytest.mark.parametrize(
    "command",
    [["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]],
    ids=["check", "format"],
)
def test_ruff(command):
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"`ruff {' '.join(command)}` failed (fix with `ruff check --fix .` / `ruff format .`):\n"
        + result.stdout[-4000:]
        + result.stderr[-2000:]
    )
