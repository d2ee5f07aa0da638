"""Fixtures of the site tests: one fresh build of the website, its pages, a local server.

The site is built once per test session, into a temporary folder, exactly as
``make site`` builds it (tools/site.py: warnings are errors, ``--keep-going``
so that every warning is seen). Every test reads that build; a failed build
fails only ``test_build_passes_with_warnings_as_errors`` while the other tests
still check what was written.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tools import site, site_pages

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # ignored by git
NOTEBOOKS = [Path(p).name for p in site_pages.notebook_paths()]


@dataclass
class Build:
    """A finished build: where it is, whether Sphinx passed, what it said, how long it took."""

    html: Path
    returncode: int
    output: str
    seconds: float

    def page(self, rel: str) -> BeautifulSoup:
        return parse(self.html / rel)

    def pages(self) -> list[str]:
        """Every HTML page of the site (relative paths), the theme's own files excluded."""
        return sorted(
            p.relative_to(self.html).as_posix()
            for p in self.html.rglob("*.html")
            if not p.relative_to(self.html).parts[0].startswith("_")
        )


@functools.cache
def parse(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.fixture(scope="session")
def build(tmp_path_factory) -> Build:
    site.fetch_widgets()  # once, from the npm registry; not part of the timed build
    out = tmp_path_factory.mktemp("site")
    site.stage(out / "src")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    started = time.monotonic()
    result = subprocess.run(
        site.sphinx_command(out, strict=True, fresh=True),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.monotonic() - started
    return Build(out / "html", result.returncode, result.stdout + result.stderr, seconds)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="session")
def server(build: Build) -> Iterator[str]:
    """The built site served on 127.0.0.1 (as GitHub Pages serves it); yields its base URL."""
    handler = functools.partial(QuietHandler, directory=str(build.html))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


#: Lines for the end of the run: the build time and each page's weight.
REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if REPORT:
        terminalreporter.section("site")
        for line in REPORT:
            terminalreporter.write_line(line)
