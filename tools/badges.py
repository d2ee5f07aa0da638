"""Binder badges for the README, built from ``[tool.course]`` in pyproject.toml.

``python -m tools.badges`` rewrites every Binder badge in README.md so that it
points at the repository and branch configured there; the hygiene tests check
that the README agrees. A badge is written in the README as

    [![Binder](https://mybinder.org/badge_logo.svg)](<binder_url(path)>)

with ``path`` a file of the repository (a notebook, or empty for the course).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BADGE = re.compile(
    r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]"
    r"\((https://mybinder\.org/v2/gh/[^)\s]+)\)"
)
TARGET = re.compile(r"https://mybinder\.org/v2/gh/[^/]+/[^/]+/[^?]+(?:\?urlpath=lab/tree/(.*))?$")


def course_settings() -> dict[str, str]:
    """``[tool.course]`` from pyproject.toml: ``repository`` and ``branch``."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data["tool"]["course"]


def binder_url(path: str = "") -> str:
    """The mybinder.org URL that opens ``path`` in JupyterLab (or the course)."""
    settings = course_settings()
    url = f"https://mybinder.org/v2/gh/{settings['repository']}/{settings['branch']}"
    return f"{url}?urlpath=lab/tree/{quote(path)}" if path else url


def badge_targets(text: str) -> list[tuple[str, str]]:
    """Every Binder badge in ``text`` as (url, path it opens)."""
    found = []
    for match in BADGE.finditer(text):
        url = match.group(1)
        target = TARGET.match(url)
        found.append((url, (target.group(1) or "") if target else ""))
    return found


def rewrite(text: str) -> str:
    """``text`` with every Binder badge pointing at the configured repository."""

    def fix(match: re.Match[str]) -> str:
        target = TARGET.match(match.group(1))
        path = (target.group(1) or "") if target else ""
        return f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(path)})"

    return BADGE.sub(fix, text)


if __name__ == "__main__":
    README.write_text(rewrite(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"README badges now point at {binder_url()}")
