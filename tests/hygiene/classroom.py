"""What the classroom tests share: one learner wheelhouse per run, and a network-free shell.

The learner wheelhouse takes about a minute to collect for three Pythons, so it
is built once and kept in ``build/classroom/wheelhouse-<key>/``, where the key
changes with the course's lock and build requirement: later runs reuse it and
need no network. ``make test WHEELHOUSE=DIR`` (a room with no network) uses
``DIR`` instead.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tools import wheelhouse

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "build" / "classroom"


@functools.cache
def supported_pythons() -> tuple[str, ...]:
    """Every Python 3.11-3.14 on this machine (as ``make wheelhouse`` finds them)."""
    return tuple(wheelhouse.find_pythons())


def lock_key() -> str:
    """Changes whenever what the wheelhouse must hold changes."""
    digest = hashlib.sha256((ROOT / "requirements.txt").read_bytes())
    digest.update(" ".join(wheelhouse.build_requirements(ROOT / "pyproject.toml")).encode())
    return digest.hexdigest()[:12]


@functools.cache
def learner_wheelhouse() -> Path:
    """The learner wheelhouse for every supported Python here, built at most once."""
    given = os.environ.get("WHEELHOUSE")
    if given:
        folder = Path(given) if Path(given).is_absolute() else ROOT / given
        assert folder.is_dir(), f"WHEELHOUSE={given}: no such folder"
        return folder
    folder = CACHE / f"wheelhouse-{lock_key()}"
    have = wheelhouse.kinds_in(folder) if folder.is_dir() else set()
    missing = [p for p in supported_pythons() if wheelhouse.kind_of(p)[:2] not in have]
    if missing:
        for old in CACHE.glob("wheelhouse-*"):
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)  # an older lock's wheels
        wheelhouse.build(folder, missing)
    return folder


@functools.cache
def offline_prefix() -> tuple[str, ...]:
    """``unshare --net`` (no network at all) where this machine allows it, else ()."""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return ()
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=30)
    return ("unshare", "--net") if probe.returncode == 0 else ()


def offline_env() -> dict[str, str]:
    """This environment without pip settings that could reach another package source."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env["PIP_CONFIG_FILE"] = os.devnull  # no pip.conf: no extra index, no find-links
    return env


def base_python() -> str:
    """The Python the course's .venv was made from (a venv is made from it, not from a venv)."""
    return str(Path(sys._base_executable).resolve())  # noqa: SLF001 - the documented way
