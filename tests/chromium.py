"""The Chromium that the browser tests (tests/browser) and the site tests (tests/site) drive."""

from __future__ import annotations

import os

#: Debian's ``chromium`` package; ``CHROMIUM_PATH`` may name another Chromium/Chrome binary.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

#: Flags for Chromium on a shared, offline, headless machine (Playwright adds its own).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # runs as root in containers and CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # Docker-sized /dev/shm (64 MB): Chromium uses /tmp instead
]
