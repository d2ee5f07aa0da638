"""Re-resolve the course's locks: ``make lock`` (needs the network).

``requirements.in`` (what a learner needs) and ``requirements-dev.in`` (the
maintainers' tools, constrained by the course's lock) are resolved by
``uv pip compile --universal`` into ``requirements.txt`` and
``requirements-dev.txt``: one lock each, valid for every supported Python
(3.11-3.14) and platform, with environment markers where versions differ.

``environment.yml`` (Binder and conda) then gets the course's lock as its pip
list, line for line, so that Binder, conda and ``make lab`` install exactly the
same versions. ``tests/hygiene/test_pins.py`` checks that the three agree.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OLDEST = "3.11"
ENVIRONMENT = ROOT / "environment.yml"
PIP_SECTION = re.compile(r"(?ms)^  - pip:\n(?:      - .*\n?)*")


def compile_lock(source: str, target: str) -> None:
    """Resolve ``source`` into ``target`` with uv (universal, oldest Python first)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "uv",
            "pip",
            "compile",
            "--quiet",
            "--universal",
            "--python-version",
            OLDEST,
            "--custom-compile-command",
            "make lock",
            source,
            "-o",
            target,
        ],
        cwd=ROOT,
        check=True,
    )


def locked_lines(lock: Path) -> list[str]:
    """The requirement lines of a lock file, without uv's ``# via`` comments."""
    lines = []
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            lines.append(line.strip())
    return lines


def write_environment(lines: list[str]) -> None:
    """Replace the pip list of environment.yml with ``lines``."""
    text = ENVIRONMENT.read_text(encoding="utf-8")
    section = "  - pip:\n" + "".join(f"      - {line}\n" for line in lines)
    new, count = PIP_SECTION.subn(section, text)
    if count != 1:
        raise SystemExit("environment.yml: expected exactly one '  - pip:' list to replace")
    ENVIRONMENT.write_text(new, encoding="utf-8")


def main() -> int:
    compile_lock("requirements.in", "requirements.txt")
    compile_lock("requirements-dev.in", "requirements-dev.txt")
    write_environment(locked_lines(ROOT / "requirements.txt"))
    print("locked: requirements.txt, requirements-dev.txt, environment.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
