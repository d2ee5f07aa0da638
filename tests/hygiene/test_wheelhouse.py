"""The learner wheelhouse (``make wheelhouse``): course packages only, one set per Python.

Quick tests check the commands and the mismatch message. The slow ones (marked
in their names: ``offline``) use the wheelhouse of ``tests/hygiene/classroom.py``,
built once and reused by later runs, and resolve the whole course lock from it
for every supported Python on this machine, in a namespace with no network.
The real install from it, notebooks run, is in ``test_learner_bundle.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tools import wheelhouse

from . import classroom
from .conftest import ROOT

MAINTAINER_TOOLS = ("playwright", "repo2docker", "sphinx", "greenlet", "pytest_playwright")


def make_dry_run(*variables: str, venv: Path) -> list[str]:
    """The set-up commands ``make`` would run for ``venv``, from scratch."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", f"{venv}/.course-installed",
         f"VENV={venv}", *variables],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
        env={k: v for k, v in os.environ.items() if k != "WHEELHOUSE"},
    )  # fmt: skip
    return result.stdout.splitlines()


def test_setup_checks_and_uses_only_the_wheelhouse_when_asked(tmp_path: Path):
    online = make_dry_run(venv=tmp_path / "venv")
    offline = make_dry_run(f"WHEELHOUSE={tmp_path}/wh", venv=tmp_path / "venv")
    installs = [line for line in offline if "pip install" in line]
    assert len(installs) == 3  # pip, the course's lock, the package
    assert all(f"--no-index --find-links {tmp_path}/wh" in line for line in installs)
    assert not any("--no-index" in line or "--check" in line for line in online)
    check = [
        i for i, line in enumerate(offline) if f'wheelhouse.py --check "{tmp_path}/wh"' in line
    ]
    assert check and check[0] < offline.index(installs[0]), "the check must come first"


def test_learner_wheelhouse_holds_the_course_lock_only():
    command = wheelhouse.pip_command("python", Path("/wh"))
    assert str(ROOT / "requirements.txt") in command
    assert str(ROOT / "requirements-dev.txt") not in command
    assert any(arg.startswith("setuptools") for arg in command) and "pip" in command
    dev = wheelhouse.pip_command("python", Path("/wh"), dev=True)
    assert str(ROOT / "requirements-dev.txt") in dev
    lock = (ROOT / "requirements.txt").read_text(encoding="utf-8").lower()
    assert not [t for t in MAINTAINER_TOOLS if f"\n{t}==" in lock]


def test_build_requirements_are_read_from_pyproject(tmp_path: Path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\n\n[build-system]\nrequires = [\n  "setuptools>=64",\n'
        "  'wheel',\n]\nbuild-backend = \"setuptools.build_meta\"\n",
        encoding="utf-8",
    )
    assert wheelhouse.build_requirements(pyproject) == ["setuptools>=64", "wheel"]
    pyproject.write_text('[project]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="no \\[build-system\\] table"):
        wheelhouse.build_requirements(pyproject)


@pytest.mark.parametrize("timeout", [0, -1, "60", True])
def test_build_refuses_a_bad_timeout(timeout, tmp_path: Path):
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        wheelhouse.build(tmp_path / "wh", [sys.executable], timeout=timeout)
    assert not (tmp_path / "wh").exists()


def here() -> tuple[str, str]:
    tag, where, _ = wheelhouse.kind_of(sys.executable)
    return tag, where


def fake_wheelhouse(folder: Path, *lines: str, wheels: tuple[str, ...] = ()) -> Path:
    folder.mkdir()
    if lines:
        (folder / wheelhouse.MANIFEST).write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name in wheels:
        (folder / name).write_bytes(b"")
    return folder


def test_check_accepts_a_wheelhouse_made_for_this_python(tmp_path: Path):
    tag, where = here()
    folder = fake_wheelhouse(tmp_path / "wh", f"cp311 {where} (CPython 3.11.7)",
                             f"{tag} {where} (CPython x)")  # fmt: skip
    assert wheelhouse.mismatch(folder) is None


def test_check_refuses_another_python_and_says_what_to_do(tmp_path: Path):
    _, where = here()
    folder = fake_wheelhouse(tmp_path / "wh", f"cp399 {where} (CPython 3.99.0)",
                             "cp313 darwin-arm64 (CPython 3.13.1)")  # fmt: skip
    message = wheelhouse.mismatch(folder)
    assert message is not None
    assert f"made for Python 3.13 on darwin-arm64; 3.99 on {where}" in message
    assert f"this Python ({sys.executable})" in message
    assert f"make lab PYTHON=python3.99 WHEELHOUSE={folder}" in message
    assert "make wheelhouse" in message


def test_check_judges_a_handmade_folder_by_its_wheels(tmp_path: Path):
    tag, _ = here()
    other = fake_wheelhouse(tmp_path / "other", wheels=("numpy-2-cp399-cp399-linux.whl",))
    assert "made for Python 3.99" in (wheelhouse.mismatch(other) or "")
    fits = fake_wheelhouse(tmp_path / "fits", wheels=(f"numpy-2-{tag}-{tag}-linux.whl",))
    assert wheelhouse.mismatch(fits) is None
    assert "no such folder" in (wheelhouse.mismatch(tmp_path / "nowhere") or "")


def test_check_runs_on_the_standard_library_alone(tmp_path: Path):
    """``make lab`` runs it with the learner's Python, before any package is installed."""
    folder = fake_wheelhouse(tmp_path / "wh", "cp399 nowhere-x (CPython 3.99.0)")
    result = subprocess.run(
        [classroom.base_python(), "-I", "-S", str(ROOT / "tools" / "wheelhouse.py"),
         "--check", str(folder)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: the wheelhouse") and "Traceback" not in result.stderr


# -- slow: the real wheelhouse, every supported Python, no network --------------------------


def test_offline_wheelhouse_fits_every_supported_python_here():
    folder = classroom.learner_wheelhouse()
    kinds = wheelhouse.kinds_in(folder)
    for python in classroom.supported_pythons():
        assert wheelhouse.kind_of(python)[:2] in kinds, f"{python}: not in {folder}"
    names = [w.name.lower() for w in folder.glob("*.whl")]
    assert not [n for n in names if n.startswith(MAINTAINER_TOOLS)], "maintainer tools in it"


@pytest.mark.parametrize("version", wheelhouse.SUPPORTED)
def test_offline_install_resolves_for(version: str):
    """pip of that Python resolves the whole lock from the wheelhouse, with no network."""
    found = [
        p for p in classroom.supported_pythons() if wheelhouse.kind_of(p)[2].startswith(version)
    ]
    if not found:
        pytest.skip(f"Python {version} is not installed on this machine")
    folder = classroom.learner_wheelhouse()
    check = subprocess.run([found[0], str(ROOT / "tools" / "wheelhouse.py"), "--check",
                            str(folder)], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert check.returncode == 0, check.stderr
    resolve = subprocess.run(
        [*classroom.offline_prefix(), found[0], "-m", "pip", "install", "--dry-run",
         "--ignore-installed", "--no-index", "--find-links", str(folder),
         "-r", str(ROOT / "requirements.txt"), "setuptools", "pip"],
        capture_output=True, text=True, timeout=300, env=classroom.offline_env(),
    )  # fmt: skip
    assert resolve.returncode == 0, resolve.stdout[-3000:] + resolve.stderr[-3000:]
    assert "numpy-" in resolve.stdout and "jupyterlab-" in resolve.stdout
