"""A learner wheelhouse: the course's packages as wheels, for a classroom with no network.

    make wheelhouse                                # every supported Python found here
    python -m tools.wheelhouse --out DIR [--python PY ...] [--dev]
    python tools/wheelhouse.py --check DIR         # does DIR fit this Python? (make lab runs it)

For each Python given (default: every Python 3.11 to 3.14 found on this machine,
on the ``PATH`` as ``python3.X`` or in pyenv's versions folder), that Python's own
pip collects a wheel of every package of the course's lock (requirements.txt),
with the package's build requirement (setuptools, so ``pip install -e .`` works
offline) and pip itself. Maintainer tools (Playwright, repo2docker, Sphinx) stay
out unless ``--dev`` adds requirements-dev.txt. Then, with no network::

    make lab WHEELHOUSE=path/to/wheelhouse

Wheels hold compiled code, so they fit one Python version on one operating
system and processor. ``PYTHONS.txt`` in the folder lists what it fits;
``--check`` refuses another Python with what to do instead. Running the tool on
a machine of another kind, into the same folder, adds that kind.

This file runs on the standard library alone: ``make lab`` runs ``--check``
before any package is installed.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "wheelhouse"
SUPPORTED = ("3.11", "3.12", "3.13", "3.14")
MANIFEST = "PYTHONS.txt"
#: One line of the manifest: ``cp313 linux-x86_64 (CPython 3.13.0)``.
KIND = re.compile(r"^(cp\d+) (\S+)")
#: Asks a Python what its wheels must fit; prints e.g. ``cp313 linux-x86_64 3.13.0``.
PROBE = (
    "import platform, sys; print(f'cp{sys.version_info[0]}{sys.version_info[1]}', "
    "platform.system().lower() + '-' + platform.machine().lower(), platform.python_version())"
)


def build_requirements(pyproject: Path) -> list[str]:
    """The ``[build-system] requires`` list of ``pyproject`` (e.g. ``setuptools>=64``)."""
    text = pyproject.read_text(encoding="utf-8")
    section = re.search(r"^\[build-system\](.*?)(?=^\[|\Z)", text, re.M | re.S)
    if section is None:
        raise ValueError(f"{pyproject} has no [build-system] table")
    requires = re.search(r"^requires\s*=\s*\[(.*?)\]", section.group(1), re.M | re.S)
    if requires is None:
        raise ValueError(f"{pyproject}: [build-system] has no 'requires' list")
    return re.findall(r"[\"']([^\"']+)[\"']", requires.group(1))


def requirement_files(dev: bool = False) -> list[str]:
    return ["requirements.txt", *(["requirements-dev.txt"] if dev else [])]


def pip_command(python: str, out: Path, root: Path = ROOT, dev: bool = False) -> list[str]:
    """The ``pip wheel`` command that fills ``out`` for ``python``."""
    command = [python, "-m", "pip", "wheel", "--wheel-dir", str(out)]
    for name in requirement_files(dev):
        command += ["--requirement", str(root / name)]
    return [*command, *build_requirements(root / "pyproject.toml"), "pip"]


def kind_of(python: str) -> tuple[str, str, str]:
    """``(tag, platform, version)`` of ``python``, e.g. ``("cp313", "linux-x86_64", "3.13.0")``."""
    out = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"{python} does not run: {out.stderr.strip()[-300:]}")
    tag, where, version = out.stdout.split()
    return tag, where, version


def find_pythons() -> list[str]:
    """Every supported Python on this machine: ``python3.X`` on the PATH, or pyenv's."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = []
    for version in SUPPORTED:
        candidates = [shutil.which(f"python{version}") or ""]
        candidates += sorted(str(p) for p in pyenv.glob(f"{version}.*/bin/python{version}"))
        for candidate in filter(None, candidates):
            try:
                if kind_of(candidate)[2].startswith(version + "."):
                    found.append(candidate)
                    break
            except (RuntimeError, OSError, subprocess.TimeoutExpired):
                continue  # a pyenv shim with no version behind it
    return found


def pip_of(python: str, scratch: Path) -> str:
    """``python`` itself if it has pip, else a venv of it (made in ``scratch``)."""
    has_pip = subprocess.run([python, "-m", "pip", "--version"], capture_output=True, timeout=60)
    if has_pip.returncode == 0:
        return python
    subprocess.run([python, "-m", "venv", str(scratch)], check=True, timeout=300)
    return str(scratch / "bin" / "python")


def build(out: Path, pythons: Sequence[str], dev: bool = False, timeout: float = 1800) -> Path:
    """Add wheels for each of ``pythons`` to ``out`` and list them in its manifest.

    Raises ``RuntimeError`` with pip's message if pip fails.
    """
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if not pythons:
        raise ValueError("no Python to build for: name one with --python")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for python in pythons:
        tag, where, version = kind_of(python)
        with tempfile.TemporaryDirectory() as scratch:
            command = pip_command(pip_of(python, Path(scratch)), out, dev=dev)
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(
                f"pip wheel for {python} failed (exit {result.returncode}):\n"
                f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        add_to_manifest(out, f"{tag} {where} (CPython {version})")
    return out


def add_to_manifest(out: Path, line: str) -> None:
    manifest = out / MANIFEST
    old = manifest.read_text(encoding="utf-8").splitlines() if manifest.exists() else []
    kinds = sorted({x for x in old if KIND.match(x)} | {line})
    manifest.write_text("\n".join(kinds) + "\n", encoding="utf-8")


def kinds_in(folder: Path) -> set[tuple[str, str]]:
    """The ``(tag, platform)`` pairs that ``folder`` was made for (its manifest)."""
    manifest = Path(folder) / MANIFEST
    lines = manifest.read_text(encoding="utf-8").splitlines() if manifest.exists() else []
    return {m.groups() for m in map(KIND.match, lines) if m}


def mismatch(folder: Path) -> str | None:
    """Why the wheelhouse ``folder`` does not fit this Python (``None`` if it does)."""
    folder = Path(folder)
    if not folder.is_dir():
        return f"error: WHEELHOUSE={folder}: no such folder."
    here = (f"cp{sys.version_info[0]}{sys.version_info[1]}",
            f"{platform.system().lower()}-{platform.machine().lower()}")  # fmt: skip
    kinds = kinds_in(folder)
    if not kinds:  # made by hand: judge by the wheels' names
        tags = {m.group(1) for w in folder.glob("*.whl") if (m := re.search(r"-(cp\d+)-", w.name))}
        if not tags or here[0] in tags:
            return None
        kinds = {(tag, "?") for tag in tags}
    if here in kinds:
        return None
    platforms = sorted({p for _, p in kinds})
    made_for = "; ".join(
        ", ".join(version_of(t) for t, q in sorted(kinds) if q == p) + f" on {p}" for p in platforms
    )
    usable = sorted(version_of(t) for t, p in kinds if p == here[1])
    advice = f"make lab PYTHON=python{usable[-1]} WHEELHOUSE={folder}" if usable else "-"
    return (
        f"error: the wheelhouse {folder} was made for Python {made_for};\n"
        f"       this Python ({sys.executable}) is {platform.python_version()} on {here[1]}.\n"
        f"  Use a Python it was made for: {advice}\n"
        f"  or, on a machine like this one with the network, make a wheelhouse that fits:\n"
        f"      make wheelhouse   (in the course repository; see the instructor guide)"
    )


def version_of(tag: str) -> str:
    """``cp313`` → ``3.13``."""
    return f"{tag[2]}.{tag[3:]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: wheelhouse/")
    parser.add_argument("--python", action="append", help="a Python to collect wheels for")
    parser.add_argument("--dev", action="store_true", help="add the maintainers' test tools")
    parser.add_argument("--check", type=Path, metavar="DIR", help="only check DIR fits this Python")
    args = parser.parse_args(argv)
    if args.check:
        problem = mismatch(args.check)
        print(problem or f"{args.check} fits Python {platform.python_version()}",
              file=sys.stderr if problem else sys.stdout)  # fmt: skip
        return 1 if problem else 0
    pythons = args.python or find_pythons()
    print(f"collecting wheels into {args.out} for: {', '.join(pythons) or 'none found'}")
    try:
        build(args.out, pythons, dev=args.dev)
    except (RuntimeError, ValueError, subprocess.TimeoutExpired) as error:
        print(error, file=sys.stderr)
        return 1
    size = sum(w.stat().st_size for w in args.out.glob("*.whl")) / 2**20
    print(f"{len(list(args.out.glob('*.whl')))} wheels, {size:.0f} MiB; it fits:")
    print((args.out / MANIFEST).read_text(encoding="utf-8"), end="")
    print(f"install with no network:  make lab WHEELHOUSE={args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
