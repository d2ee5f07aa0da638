"""Fixture of the browser tests (Chromium, Playwright, screenshot folder) and their timings.

Locally, a missing Chromium or Playwright skips the browser tests with a message
that says how to install it. Under ``CI=true`` it fails them: CI must prove the
course in a browser, not skip quietly.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NoReturn

import pytest

from ..chromium import CHROMIUM

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"  # ignored by git

INSTALL_HINT = (
    "install it with `sudo apt-get install chromium` (Debian/Ubuntu; .ci/run does this) "
    "or set CHROMIUM_PATH to a Chromium or Chrome binary"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> NoReturn:
    """Skip locally, fail under CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@dataclass
class BrowserTools:
    """What a browser test needs: the browser, Playwright, where to save pictures and times."""

    chromium: str
    sync_playwright: Callable
    artifacts: Path
    timings: list[tuple[str, Any]]  # (notebook, its Clock), shown at the end of the run


_TIMINGS: list[tuple[str, Any]] = []


@pytest.fixture(scope="session")
def browser_tools() -> BrowserTools:
    chromium = shutil.which(CHROMIUM)
    if not chromium:
        missing(f"Chromium not found at {CHROMIUM}: {INSTALL_HINT}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing(
            "the Python package playwright is not installed: `.venv/bin/pip install -r "
            "requirements-dev.txt` (it drives the system Chromium; no browser is downloaded)"
        )
    ARTIFACTS.mkdir(exist_ok=True)
    return BrowserTools(chromium, sync_playwright, ARTIFACTS, _TIMINGS)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _TIMINGS:
        return
    terminalreporter.section("browser timings")
    for name, clock in _TIMINGS:
        terminalreporter.write_line(f"{name:28s} {clock}")
        for note in clock.notes:
            terminalreporter.write_line(f"{'':28s} {note}")
