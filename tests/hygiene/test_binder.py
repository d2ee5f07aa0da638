"""Binder builds from environment.yml and runs postBuild: checked with repo2docker itself.

``jupyter-repo2docker --no-build --debug .`` prints the Dockerfile it would
build, without a Docker engine.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT


@pytest.fixture(scope="module")
def dockerfile() -> str:
    exe = shutil.which("jupyter-repo2docker") or str(
        Path(__import__("sys").executable).with_name("jupyter-repo2docker")
    )
    if not Path(exe).exists():
        pytest.fail("jupyter-repo2docker is not installed (it is in requirements-dev.txt)")
    result = subprocess.run(
        [exe, "--no-build", "--debug", "."], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_uses_environment_yml(dockerfile):
    assert '--file "environment.yml"' in dockerfile


def test_runs_postbuild(dockerfile):
    assert "RUN ./postBuild" in dockerfile


def test_no_binder_folder_hides_the_root_files():
    # repo2docker ignores root configuration files when binder/ or .binder/ exists.
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists()
