"""One lock for everyone: the pip path, Binder/conda and the supported Pythons agree.

``requirements.txt`` (the course) and ``requirements-dev.txt`` (maintainer
tools) are full locks made by ``make lock``: every requirement line is an
exact ``==`` pin (an environment marker after ``;`` is allowed). The pip list
of ``environment.yml`` is ``requirements.txt`` line for line, and its Python
pin is the Python ``.venv`` runs. ``requires-python`` states the supported
range, whose lower end is the Python of ``.venv-oldest`` (the suite's
oldest-Python stages).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib

import pytest

from tests.run_suite import STAGES, is_allowed

from .conftest import ROOT

LOCKS = ("requirements.txt", "requirements-dev.txt")
#: ``name==version`` with an optional ``; marker`` and nothing else.
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[^\s;#]+(\s*;\s*[^#]+)?$")
PYTHON_PIN = re.compile(r"^\s*-\s*python=(\S+)\s*$")
SUPPORTED = ">=3.11,<3.15"


def requirement_lines(name: str) -> list[str]:
    """The lines of a lock that are requirements (not comments, not blank), stripped."""
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def environment_lines() -> list[str]:
    return (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines()


def environment_pip_lines() -> list[str]:
    """The entries of environment.yml's ``- pip:`` list, in order."""
    lines = environment_lines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^\s*-\s*pip:\s*$", line))
    indent = None
    found = []
    for line in lines[start + 1 :]:
        match = re.match(r"^(\s*)-\s+(.*?)\s*$", line)
        if not match or (indent is not None and len(match.group(1)) != indent):
            break
        indent = len(match.group(1))
        found.append(match.group(2))
    return found


def python_version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def pinned_python() -> str:
    pins = [m.group(1) for line in environment_lines() if (m := PYTHON_PIN.match(line))]
    assert len(pins) == 1, f"environment.yml must pin Python exactly once, found {pins}"
    return pins[0]


@pytest.mark.parametrize("lock", LOCKS)
def test_every_line_of_the_locks_is_an_exact_pin(lock):
    loose = [line for line in requirement_lines(lock) if not PIN.match(line)]
    assert not loose, f"{lock}: lines that are not an exact `name==version` pin: {loose}"


def test_environment_pip_list_is_the_course_lock_line_for_line():
    env = environment_pip_lines()
    lock = requirement_lines("requirements.txt")
    assert env == lock, (
        "environment.yml's pip list differs from requirements.txt "
        f"(only in environment.yml: {sorted(set(env) - set(lock))[:5]}, "
        f"only in requirements.txt: {sorted(set(lock) - set(env))[:5]}); run `make lock`"
    )


def test_environment_pins_the_course_python():
    assert pinned_python() == "3.13", "environment.yml must pin `- python=3.13`"


def test_venv_runs_the_pinned_python():
    """`make test` and `make lab` must run the Python that Binder and conda get."""
    pinned = pinned_python()
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert running == pinned, (
        f"the tests run on Python {running} but environment.yml pins {pinned}: "
        f"recreate .venv with `make clean test PYTHON=python{pinned}`"
    )
    venv = ROOT / ".venv" / "bin" / "python"
    if venv.exists():
        assert python_version(str(venv)) == pinned, f".venv does not run Python {pinned}"


def test_requires_python_states_the_supported_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == SUPPORTED


def test_the_oldest_python_stages_run_the_oldest_supported_python():
    oldest = re.match(r">=(3\.\d+)", SUPPORTED).group(1)
    venv = ROOT / ".venv-oldest" / "bin" / "python"
    if not venv.exists():
        allowed = {a for a in os.environ.get("ALLOW_SKIP", "").split(",") if a}
        if all(is_allowed(s.name, allowed) for s in STAGES if s.oldest):
            pytest.skip(".venv-oldest is missing and ALLOW_SKIP lets its stages skip")
        pytest.fail(
            f".venv-oldest (Python {oldest}) is missing: `make test` builds it with "
            f"python{oldest} (PYTHON_OLDEST); install Python {oldest}, or allow skipping: "
            "make test ALLOW_SKIP='oldest-*'"
        )
    assert python_version(str(venv)) == oldest, f".venv-oldest must run Python {oldest}"


def test_environment_does_not_install_the_repo_itself():
    # repo2docker builds the environment before the repository is copied in, so
    # `-e .` cannot work there; postBuild installs the package instead.
    text = "\n".join(environment_lines())
    assert "-e ." not in text
    assert "pip install --no-deps -e ." in (ROOT / "postBuild").read_text(encoding="utf-8")
