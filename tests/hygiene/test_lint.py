"""ruff passes on the package, the tests and the notebooks."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_ruff_check():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
