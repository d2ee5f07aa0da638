"""The offline classroom: ``make wheelhouse``, then the set-up with no network.

The last test is the real proof: it fills a wheelhouse (this needs the package
index), copies the project to a temporary folder and runs the Makefile's own
set-up there with ``WHEELHOUSE=...``, in a network namespace with no network
where the machine allows it, and with pip's configuration files ignored, so
that nothing but the wheelhouse can serve a package.

When the tests themselves run offline, ``make test WHEELHOUSE=wheelhouse``:
make passes ``WHEELHOUSE`` on to the tests, and this test checks that
wheelhouse instead of filling a new one, so it needs no network either.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tools import wheelhouse

from .conftest import ROOT

PROJECT_FILES = ("Makefile", "requirements.txt", "requirements-dev.txt", "pyproject.toml")


def make_dry_run(*variables: str, venv: Path) -> list[str]:
    """The pip commands ``make`` would run to set up ``venv`` from scratch."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", f"{venv}/.dev-installed",
         f"VENV={venv}", *variables],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
        env={k: v for k, v in os.environ.items() if k != "WHEELHOUSE"},
    )  # fmt: skip
    return [line for line in result.stdout.splitlines() if "pip install" in line]


def test_setup_uses_only_the_wheelhouse_when_asked(tmp_path: Path):
    online = make_dry_run(venv=tmp_path / "venv")
    offline = make_dry_run(f"WHEELHOUSE={tmp_path}/wh", venv=tmp_path / "venv")
    assert len(online) == len(offline) == 4  # pip, course, the package, test tools
    assert not any("--no-index" in line for line in online)
    assert all(f"--no-index --find-links {tmp_path}/wh" in line for line in offline)


def test_wheelhouse_covers_every_requirement_file_and_the_build():
    command = wheelhouse.pip_command(Path("/wh"))
    for name in wheelhouse.REQUIREMENT_FILES:
        assert str(ROOT / name) in command
    assert any(arg.startswith("setuptools") for arg in command)
    assert "pip" in command


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
        wheelhouse.build(tmp_path / "wh", timeout=timeout)
    assert not (tmp_path / "wh").exists()


def offline_prefix() -> list[str]:
    """``unshare --net`` (no network at all) where this machine allows it, else []."""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return []
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=30)
    return ["unshare", "--net"] if probe.returncode == 0 else []


def offline_env() -> dict[str, str]:
    """This environment without pip settings that could reach another package source."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env["PIP_CONFIG_FILE"] = os.devnull  # no pip.conf: no extra index, no find-links
    return env


def copy_project(dest: Path) -> Path:
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, dest / name)
    shutil.copytree(ROOT / "ipc_helpers", dest / "ipc_helpers",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    readme = ROOT / "README.md"  # pyproject.toml names it as the package's readme
    if readme.exists():
        shutil.copy2(readme, dest / "README.md")
    else:
        (dest / "README.md").write_text("placeholder\n", encoding="utf-8")
    return dest


def wheelhouse_under_test(tmp_path: Path) -> Path:
    """The wheelhouse named by ``WHEELHOUSE`` (offline runs), else a fresh one."""
    given = os.environ.get("WHEELHOUSE")
    if given:
        folder = Path(given) if Path(given).is_absolute() else ROOT / given
        assert folder.is_dir(), f"WHEELHOUSE={given}: no such folder"
        return folder
    wheelhouse.build(tmp_path / "wheelhouse")
    return tmp_path / "wheelhouse"


@pytest.fixture
def scratch(tmp_path: Path):
    """``tmp_path``, emptied afterwards: the wheelhouse and the venv take ~600 MB."""
    yield tmp_path
    for child in tmp_path.iterdir():
        shutil.rmtree(child, ignore_errors=True)


def test_install_from_the_wheelhouse_with_no_network(scratch: Path):
    tmp_path = scratch
    started = time.monotonic()
    folder = wheelhouse_under_test(tmp_path)
    assert any(w.name.startswith("setuptools-") for w in folder.glob("*.whl"))
    collected = time.monotonic() - started

    (tmp_path / "project").mkdir()
    project = copy_project(tmp_path / "project")
    prefix = offline_prefix()
    setup = subprocess.run(
        [*prefix, "make", "--no-print-directory", "-C", str(project), ".venv/.dev-installed",
         f"WHEELHOUSE={folder}", f"PYTHON={sys.executable}"],
        env=offline_env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert setup.returncode == 0, setup.stdout[-4000:] + setup.stderr[-4000:]

    python = project / ".venv" / "bin" / "python"
    check = subprocess.run(
        [str(python), "-c",
         "import ipc_helpers, ipywidgets, jupyterlab, matplotlib, nbval, numpy, psutil, pytest;"
         "print(ipc_helpers.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    assert Path(check.stdout.strip()).is_relative_to(project), check.stdout
    consistent = subprocess.run([str(python), "-m", "pip", "check"], env=offline_env(),
                                capture_output=True, text=True, timeout=120)  # fmt: skip
    assert consistent.returncode == 0, consistent.stdout + consistent.stderr
    print(f"wheelhouse collected in {collected:.0f} s; offline set-up "
          f"({'in a namespace with no network' if prefix else 'index disabled'}) in "
          f"{time.monotonic() - started - collected:.0f} s")  # fmt: skip
