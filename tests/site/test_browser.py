"""Every page of the built website in headless Chromium, as a reader meets it.

The site is served on 127.0.0.1 (as GitHub Pages serves it) and Chromium may
reach nothing else: a request to another site is blocked and fails the test.
On each page: no console error, no failed request, every image loaded, every
stored lab panel drawn by the widget manager, and on a phone-sized screen no
horizontal scrolling. A screenshot of each page (whole page, in slices, and the
top of it on a phone) goes to tests/site/artifacts/.

Chromium is Debian's (``/usr/bin/chromium``, or ``CHROMIUM_PATH``), driven by
Playwright through ``executable_path``, with the flags the JupyterLab browser
tests use on this machine. A missing browser skips these tests locally and
fails them under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import PurePosixPath

import pytest

from ..chromium import CHROMIUM, CHROMIUM_FLAGS
from .conftest import ARTIFACTS, NOTEBOOKS, REPORT

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SLICE = 8000  # pixels of page per screenshot (Chromium's limit is near 16384)
TIMEOUT_MS = 30_000

PAGES = [
    "index.html",
    *[f"notebooks/{PurePosixPath(n).stem}.html" for n in NOTEBOOKS],
    "docs/instructor-guide.html",
]

LOAD_EVERY_IMAGE = """async () => {
    for (const img of document.images) img.loading = "eager";
    await Promise.all(Array.from(document.images).map(img => img.decode().catch(() => null)));
    return Array.from(document.images)
        .filter(img => !img.complete || img.naturalWidth === 0)
        .map(img => img.getAttribute("src"));
}"""
WIDGET_VIEWS = 'script[type="application/vnd.jupyter.widget-view+json"]'
DRAWN_WIDGETS = """(n) => Array.from(document.querySelectorAll(".widget-subarea"))
    .filter(area => area.querySelector(".jupyter-widgets") && area.offsetHeight > 0)
    .length >= n"""
TRANSFERRED = """() => performance.getEntriesByType("resource")
    .reduce((sum, r) => sum + r.encodedBodySize, 0)
    + performance.getEntriesByType("navigation")[0].encodedBodySize"""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """A headless Chromium for every page of this module."""
    reason = ""
    if not shutil.which(CHROMIUM):
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium, or CHROMIUM_PATH)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed (pip install -r requirements-dev.txt)"
    if reason:
        if in_ci():
            pytest.fail(f"{reason}; CI=true: the site's browser tests must run", pytrace=False)
        pytest.skip(reason)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()


class Watch:
    """Everything a page did wrong: console errors, failed and outside requests."""

    def __init__(self, context, base: str):
        self.problems: list[str] = []
        self.base = base
        context.route("**/*", self.route)

    def route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.base) or url.startswith("data:"):
            route.continue_()
        else:
            self.problems.append(f"a request to another site was blocked: {url}")
            route.abort()

    def attach(self, page) -> None:
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("response", self.response)

    def console(self, message) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text} @ {message.location}")

    def response(self, response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")


def artifact(page_path: str, suffix: str) -> str:
    stem = page_path.removesuffix(".html").replace("/", "-")
    return str(ARTIFACTS / f"site-{stem}{suffix}.png")


def screenshot_slices(page, page_path: str) -> int:
    """Save the whole page in slices of SLICE pixels; return how many."""
    height = page.evaluate("document.documentElement.scrollHeight")
    width = page.viewport_size["width"]
    count = 0
    for top in range(0, height, SLICE):
        count += 1
        clip = {"x": 0, "y": top, "width": width, "height": min(SLICE, height - top)}
        page.screenshot(path=artifact(page_path, f"-{count}"), full_page=True, clip=clip)
    return count


def open_page(context, base: str, page_path: str, watch: Watch):
    page = context.new_page()
    watch.attach(page)
    page.goto(base + page_path, wait_until="load", timeout=TIMEOUT_MS)
    return page


@pytest.mark.parametrize("page_path", PAGES)
def test_page_in_chromium(page_path, chromium, server):
    context = chromium.new_context(viewport=DESKTOP)
    watch = Watch(context, server)
    try:
        page = open_page(context, server, page_path, watch)
        missing = page.evaluate(LOAD_EVERY_IMAGE)
        watch.problems += [f"image not drawn: {src}" for src in missing]
        views = page.locator(WIDGET_VIEWS).count()
        if views:
            try:
                page.wait_for_function(DRAWN_WIDGETS, arg=views, timeout=TIMEOUT_MS)
            except Exception:  # Playwright's TimeoutError: say what is missing
                watch.problems.append(f"{views} stored lab panel(s), not all drawn")
        page.wait_for_timeout(300)  # late console errors
        weight = page.evaluate(TRANSFERRED)
        slices = screenshot_slices(page, page_path)
        REPORT.append(
            f"{page_path:32s} loads {weight / 1e6:5.2f} MB in Chromium (uncompressed), "
            f"{views} lab panel(s), {slices} screenshot(s)"
        )
    finally:
        context.close()
    assert not watch.problems, f"{page_path}:\n- " + "\n- ".join(watch.problems)


@pytest.mark.parametrize("page_path", PAGES)
def test_page_fits_a_phone(page_path, chromium, server):
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    watch = Watch(context, server)
    try:
        page = open_page(context, server, page_path, watch)
        page.wait_for_timeout(300)
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        page.screenshot(path=artifact(page_path, "-phone"))
    finally:
        context.close()
    assert wide <= 1, f"{page_path} scrolls sideways on a {PHONE['width']} px phone ({wide} px)"
    assert not watch.problems, f"{page_path} on a phone:\n- " + "\n- ".join(watch.problems)


def test_search_works_offline(chromium, server):
    context = chromium.new_context(viewport=DESKTOP)
    watch = Watch(context, server)
    try:
        page = open_page(context, server, "search.html?q=sentinel", watch)
        results = page.locator("#search-results ul.search li")
        results.first.wait_for(timeout=TIMEOUT_MS)
        found = results.count()
        page.screenshot(path=artifact("search", ""))
    finally:
        context.close()
    assert found > 0, "searching for 'sentinel' found nothing"
    assert not watch.problems, "search:\n- " + "\n- ".join(watch.problems)


def test_a_solution_opens_on_click(chromium, server):
    context = chromium.new_context(viewport=DESKTOP)
    watch = Watch(context, server)
    try:
        page = open_page(context, server, PAGES[1], watch)
        solution = page.locator("details.course-solution").first
        code = solution.locator("div.cell_input")
        hidden_before = not code.is_visible()
        solution.locator("summary").click()
        shown_after = code.is_visible()
        label = solution.locator("summary").inner_text()
    finally:
        context.close()
    assert hidden_before and shown_after, "a solution must be hidden until its summary is clicked"
    assert label.strip() == "Hide solution"
