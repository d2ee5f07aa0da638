"""The pip path (requirements.txt) and Binder/conda (environment.yml) pin the same versions."""

from __future__ import annotations

import re
import shutil
import sys

import pytest

from .conftest import ROOT

PIN = re.compile(r"^\s*(?:-\s*)?([A-Za-z0-9_.\-]+)==([^\s#]+)\s*$")


def pins(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        match = PIN.match(line)
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def environment_lines() -> list[str]:
    return (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines()


def test_every_requirement_is_pinned():
    lines = [
        line
        for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    unpinned = [line for line in lines if not PIN.match(line)]
    assert not unpinned, f"requirements.txt lines without an exact == pin: {unpinned}"


def test_environment_pins_equal_pip_pins():
    pip_pins = pins((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())
    env_pins = pins(environment_lines())
    assert env_pins == pip_pins


def test_environment_pins_python_explicitly():
    assert any(re.match(r"^\s*-\s*python=3\.\d+\s*$", line) for line in environment_lines()), (
        "environment.yml must pin Python explicitly, e.g. `- python=3.11`"
    )


def test_environment_does_not_install_the_repo_itself():
    # repo2docker builds the environment before the repository is copied in, so
    # `-e .` cannot work there; postBuild installs the package instead.
    text = "\n".join(environment_lines())
    assert "-e ." not in text
    assert "pip install --no-deps -e ." in (ROOT / "postBuild").read_text(encoding="utf-8")


def test_suite_runs_on_the_pinned_python():
    """`make test` must exercise the Python that Binder and conda get."""
    pinned = next(
        re.match(r"^\s*-\s*python=(3\.\d+)", line).group(1)
        for line in environment_lines()
        if re.match(r"^\s*-\s*python=3\.\d+", line)
    )
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != pinned:
        if shutil.which(f"python{pinned}"):
            pytest.fail(
                f"tests run on Python {running} but environment.yml pins {pinned}, which is "
                f"installed: recreate .venv with `make clean test PYTHON=python{pinned}`"
            )
        pytest.skip(f"Python {pinned} (pinned by environment.yml) is not installed here")
