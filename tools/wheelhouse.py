"""Collect every package the course installs into one folder, for a classroom offline.

    make wheelhouse                                 # writes wheelhouse/
    python -m tools.wheelhouse --out DIR            # the same, run by the venv's Python

The folder gets a wheel of every package that ``make lab`` and ``make test``
install, at the pinned versions, with all their dependencies:
requirements.txt, requirements-dev.txt, the package's build requirements from
pyproject.toml (setuptools, so ``pip install -e .`` builds offline) and pip
itself (the set-up upgrades pip first). Then, with no network::

    make lab WHEELHOUSE=wheelhouse       # or make test WHEELHOUSE=/media/usb/wheelhouse

Wheels hold compiled code (numpy, matplotlib, psutil, pyzmq ...): they fit
machines with the same operating system, processor and Python version as the
machine that ran this. For a mixed room, run ``make wheelhouse`` on one machine
of each kind into the same folder; pip picks the wheels that fit. Running it
again adds to the folder; delete it to start afresh.
"""

from __future__ import annotations

import argparse
import platform
import re
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "wheelhouse"
REQUIREMENT_FILES = ("requirements.txt", "requirements-dev.txt")
#: What the set-up installs besides the requirement files: pip (``make lab``
#: runs ``pip install --upgrade pip`` first).
EXTRA = ("pip",)


def build_requirements(pyproject: Path) -> list[str]:
    """The ``[build-system] requires`` list of ``pyproject`` (e.g. ``setuptools>=64``).

    Read with a small pattern rather than ``tomllib`` so that this also runs on
    Python 3.9 and 3.10.
    """
    text = pyproject.read_text(encoding="utf-8")
    section = re.search(r"^\[build-system\](.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    if section is None:
        raise ValueError(f"{pyproject} has no [build-system] table")
    requires = re.search(r"^requires\s*=\s*\[(.*?)\]", section.group(1), re.MULTILINE | re.DOTALL)
    if requires is None:
        raise ValueError(f"{pyproject}: [build-system] has no 'requires' list")
    return re.findall(r"[\"']([^\"']+)[\"']", requires.group(1))


def pip_command(out: Path, root: Path = ROOT) -> list[str]:
    """The ``pip wheel`` command that fills ``out`` from the project at ``root``."""
    command = [sys.executable, "-m", "pip", "wheel", "--wheel-dir", str(out)]
    for name in REQUIREMENT_FILES:
        command += ["--requirement", str(root / name)]
    return command + build_requirements(root / "pyproject.toml") + list(EXTRA)


def describe_machine() -> str:
    """What the wheels fit: Python version, implementation and platform tag."""
    return (
        f"{platform.python_implementation()} {platform.python_version()} "
        f"on {sysconfig.get_platform()}"
    )


def build(out: Path = DEFAULT_OUT, root: Path = ROOT, timeout: float = 1800) -> list[Path]:
    """Fill ``out`` with wheels for this machine's Python; return the wheels in it.

    ``pip wheel`` downloads each wheel (or builds one where a package has only a
    source release), dependencies included. Raises ``RuntimeError`` with pip's
    message if pip fails, ``subprocess.TimeoutExpired`` after ``timeout`` s.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(pip_command(out, root), capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(
            f"pip wheel failed (exit {result.returncode}):\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    wheels = sorted(out.glob("*.whl"))
    note = out / "README.txt"
    old = note.read_text(encoding="utf-8").splitlines() if note.exists() else []
    kinds = sorted({line for line in old if line.startswith("- ")} | {f"- {describe_machine()}"})
    note.write_text(
        "Wheels for the course 'Python IPC, hands-on' (made by `make wheelhouse`).\n"
        "They fit machines like these (Python, platform):\n" + "\n".join(kinds) + "\n"
        "\nInstall with no network, from the course folder:\n"
        "    make lab WHEELHOUSE=path/to/this/folder\n",
        encoding="utf-8",
    )
    return wheels


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder to fill (default: wheelhouse/)"
    )
    args = parser.parse_args(argv)
    print(f"collecting wheels for {describe_machine()} into {args.out} ...", flush=True)
    try:
        wheels = build(args.out)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        print(error, file=sys.stderr)
        return 1
    size = sum(w.stat().st_size for w in wheels) / 2**20
    print(f"{len(wheels)} wheels, {size:.0f} MiB, in {args.out}")
    print(f"install with no network:  make lab WHEELHOUSE={args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
