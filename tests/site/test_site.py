"""The built website: its build, its pages, links, images, Binder buttons and budgets.

Every check reads the HTML that one fresh build wrote (conftest.py) and, on
failure, names the page (and, for a notebook, the cell) to fix.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import json
import re
import subprocess
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tools.badges import binder_url

from .conftest import NOTEBOOKS, REPORT, ROOT, Build

BUILD_BUDGET_SECONDS = 60
PAGE_BUDGET_BYTES = 3 * 1024 * 1024
#: Tags and attributes that make the browser fetch something.
FETCHING = (("img", "src"), ("script", "src"), ("link", "href"), ("source", "src"))
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def page_of(notebook: str) -> str:
    return f"notebooks/{PurePosixPath(notebook).stem}.html"


def load(name: str) -> dict:
    return json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))


def is_external(url: str) -> bool:
    return bool(re.match(r"^([a-z][a-z0-9+.-]*:|//)", url))


def resolve(page: str, url: str) -> tuple[str, str]:
    """The site path and fragment that ``url``, written in ``page``, points at."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if not path:
        return page, parts.fragment
    target = PurePosixPath(page).parent / path
    resolved = PurePosixPath(*[p for p in target.parts if p != "."])
    stack: list[str] = []
    for part in resolved.parts:
        if part == "..":
            if stack:
                stack.pop()
        else:
            stack.append(part)
    site_path = "/".join(stack)
    if path.endswith("/"):
        site_path += "/index.html"
    return site_path, parts.fragment


def main_of(build: Build, page: str):
    """The page's article: its own content, without the theme's navigation and print copy."""
    soup = build.page(page)
    return soup.select_one("article.bd-article") or soup


# -- the build ------------------------------------------------------------------------


def test_build_passes_with_warnings_as_errors(build):
    assert build.returncode == 0, f"sphinx-build -W --keep-going failed:\n{build.output[-6000:]}"


def test_build_takes_at_most_a_minute(build):
    REPORT.append(f"build: {build.seconds:.1f} s (fresh, warnings as errors)")
    assert build.seconds <= BUILD_BUDGET_SECONDS, f"the build took {build.seconds:.0f} s"


# -- pages ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_has_its_page(build, name):
    path = build.html / page_of(name)
    assert path.exists(), f"{name} has no page ({page_of(name)})"
    title = next(
        (line[2:] for c in load(name)["cells"] for line in "".join(c["source"]).splitlines()
         if c["cell_type"] == "markdown" and line.startswith("# ")),
        None,
    )  # fmt: skip
    heading = main_of(build, page_of(name)).find("h1")
    shown = heading.get_text(" ", strip=True).rstrip("#").strip() if heading else ""
    assert title and re.sub(r"[`*_]", "", title).split()[0] in shown


def test_pages_follow_the_course_order(build):
    expected = [page_of(n) for n in NOTEBOOKS]
    sidebar = build.page("index.html").select("nav.bd-docs-nav a.reference.internal")
    linked = [a["href"] for a in sidebar if a["href"].startswith("notebooks/")]
    assert linked == expected
    chain = ["index.html", *expected, "docs/instructor-guide.html"]
    for page, following in zip(chain, chain[1:], strict=False):
        nxt = build.page(page).select_one("a.right-next")
        assert nxt is not None, f"{page} has no link to the next page"
        assert resolve(page, nxt["href"])[0] == following, f"{page}: next is not {following}"


def test_instructor_guide_and_search_pages_exist(build):
    for page in ("docs/instructor-guide.html", "search.html", "index.html"):
        assert (build.html / page).exists(), page
    index = (build.html / "searchindex.js").read_text(encoding="utf-8")
    for name in NOTEBOOKS:
        assert f'"notebooks/{PurePosixPath(name).stem}"' in index, f"{name} is not searchable"


def test_home_page_is_made_from_the_readme(build):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    home = main_of(build, "index.html")
    text = home.get_text(" ", strip=True)
    first_line = next(line for line in readme.split("\n\n")[1].splitlines())
    assert first_line.split("**")[0].strip()[:30] in text
    table = home.find("table")
    assert table is not None, "the syllabus table is missing from the home page"
    rows = [tr for tr in table.find_all("tr") if tr.find("td")]
    assert len(rows) == len(re.findall(r"^\| \d\d \|", readme, re.MULTILINE))


# -- links, images, resources ---------------------------------------------------------


def test_every_internal_link_and_anchor_resolves(build):
    broken = []
    for page in build.pages():
        soup = build.page(page)
        for tag, attr in [("a", "href"), *FETCHING]:
            for element in soup.find_all(tag):
                url = element.get(attr)
                if not url or is_external(url) or url.startswith(("mailto:", "javascript:")):
                    continue
                target, fragment = resolve(page, url)
                if not (build.html / target).is_file():
                    broken.append(f"{page}: {url} (no file {target})")
                elif (
                    fragment
                    and target.endswith(".html")
                    and build.page(target).find(id=fragment) is None
                ):
                    broken.append(f"{page}: {url} (no #{fragment} in {target})")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_nothing_is_loaded_from_another_site(build):
    remote = []
    for page in build.pages():
        for tag, attr in FETCHING:
            for element in build.page(page).find_all(tag):
                url = element.get(attr) or ""
                if is_external(url) and not url.startswith("data:"):
                    remote.append(f"{page}: <{tag} {attr}={url}>")
    assert not remote, "the site must serve every resource itself:\n" + "\n".join(remote)


def image_cells() -> dict[str, str]:
    """Image file name on the site (myst-nb names it by content) -> notebook and cell."""
    where = {}
    for name in NOTEBOOKS:
        for index, cell in enumerate(load(name)["cells"]):
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                if "image/png" in data:
                    content, suffix = base64.b64decode(data["image/png"]), ".png"
                elif "image/svg+xml" in data:
                    svg = "".join(data["image/svg+xml"])
                    content, suffix = "\n".join(svg.splitlines()).encode(), ".svg"
                else:
                    continue
                digest = hashlib.sha256(content).hexdigest()
                where[digest + suffix] = f"{name} cell {index} (id {cell.get('id', '?')})"
    return where


def test_every_image_exists_and_has_alt_text(build):
    cells = image_cells()
    problems = []
    for page in build.pages():
        for img in build.page(page).find_all("img"):
            src = img.get("src", "")
            target, _ = resolve(page, src)
            file = PurePosixPath(target).name
            if not is_external(src) and not (build.html / target).is_file():
                problems.append(f"{page}: image {src} does not exist")
            alt = (img.get("alt") or "").strip()
            if not alt or alt in {src, file, target}:
                where = f"{cells[file]}, an output" if file in cells else f"{page}: image {file}"
                problems.append(f"{where}: no alt text")
    assert not problems, (
        "\n".join(problems) + "\n\nA plot made in a cell gets its alt text from the cell's "
        'metadata: {"mystnb": {"image": {"alt": "what the figure shows"}}}'
    )


def test_headings_are_in_order(build):
    problems = []
    for page in build.pages():
        levels = [int(h.name[1]) for h in main_of(build, page).find_all(re.compile(r"^h[1-6]$"))]
        if levels and levels.count(1) != 1:
            problems.append(f"{page}: {levels.count(1)} level-1 headings")
        for before, after in zip(levels, levels[1:], strict=False):
            if after > before + 1:
                problems.append(f"{page}: h{before} followed by h{after}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_tables_stay_tables(build, name):
    markdown = "\n".join(
        "".join(c["source"]) for c in load(name)["cells"] if c["cell_type"] == "markdown"
    )
    expected = len(re.findall(r"^\|?\s*:?-{3,}", markdown, re.MULTILINE))
    html_outputs = sum(
        "<table" in "".join(o.get("data", {}).get("text/html", ""))
        for c in load(name)["cells"]
        for o in c.get("outputs", [])
    )
    tables = main_of(build, page_of(name)).find_all("table")
    assert len(tables) >= expected + html_outputs, (
        f"{name}: {expected} markdown tables and {html_outputs} HTML table outputs, "
        f"but {len(tables)} <table> on its page"
    )
    for table in tables:
        assert table.find("th") is not None, f"{name}: a table without a header row"


# -- what each notebook page offers ---------------------------------------------------


def binder_links(build: Build, page: str) -> list[str]:
    return [
        a["href"]
        for a in build.page(page).find_all("a", href=True)
        if a["href"].startswith("https://mybinder.org/")
    ]


def test_binder_buttons_point_at_existing_notebooks(build):
    base = binder_url()
    problems = []
    for page in build.pages():
        for url in binder_links(build, page):
            if not url.startswith(base):
                problems.append(f"{page}: {url} is not on {base} (pyproject [tool.course])")
                continue
            urlpath = parse_qs(urlsplit(url).query).get("urlpath", ["lab/tree/"])[0]
            path = urlpath.removeprefix("lab/tree/")
            if path and not (ROOT / path).is_file():
                problems.append(f"{page}: {url} opens {path}, which does not exist")
    for name in NOTEBOOKS:
        own = binder_url(f"notebooks/{name}")
        if own not in binder_links(build, page_of(name)):
            problems.append(f"{page_of(name)} has no Binder button for {name}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_page_card_downloads_time_prerequisites(build, name):
    page = page_of(name)
    main = main_of(build, page)
    card = main.select_one(".course-card")
    assert card is not None, f"{page} has no card under its title"
    text = card.get_text(" ", strip=True)
    assert "Time" in text and "Prerequisites" in text, f"{page}: card lacks time or prerequisites"
    for anchor in ("time", "prerequisites"):
        assert main.find(id=anchor) is not None, f"{page} has no #{anchor} section"
    original = (ROOT / "notebooks" / name).read_bytes()
    downloads = [
        a["href"]
        for a in build.page(page).find_all("a", href=True)
        if a["href"].split("?")[0].endswith(f"/{name}")
    ]
    assert downloads, f"{page} offers no download of {name}"
    for href in downloads:
        target, _ = resolve(page, href)
        assert (build.html / target).read_bytes() == original, f"{page}: {href} is not {name}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solutions_are_folded_not_deleted(build, name):
    cells = load(name)["cells"]
    solutions = [c for c in cells if c["cell_type"] == "code" and "solution" in c["metadata"].get(
        "tags", [])]  # fmt: skip
    main = main_of(build, page_of(name))
    folded = main.select("details.course-solution")
    inside = [cell for d in folded for cell in d.select("div.cell.tag_solution")]
    assert len(inside) == len(solutions), (
        f"{name}: {len(solutions)} solution cells, {len(inside)} folded on the page"
    )
    outside = [c for c in main.select("div.cell.tag_solution") if not c.find_parent("details")]
    assert not outside, f"{name}: a solution cell is shown unfolded"
    for details in folded:
        assert details.find("summary").get_text(" ", strip=True).startswith("Show solution")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_labs_keep_their_widget_state_and_a_binder_note(build, name):
    nb = load(name)
    views = [
        o["data"][WIDGET_VIEW]["model_id"]
        for c in nb["cells"]
        for o in c.get("outputs", [])
        if WIDGET_VIEW in o.get("data", {})
    ]
    if not views:
        pytest.skip(f"{name} has no lab")
    state = nb["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    missing = [m for m in views if m not in state]
    assert not missing, (
        f"{name}: no stored widget state for {missing}: run `make execute` "
        "(tools/execute_notebooks.py stores it with store_widget_state=True)"
    )
    soup = build.page(page_of(name))
    assert soup.find("script", type=WIDGET_STATE) is not None
    assert len(soup.find_all("script", type=WIDGET_VIEW)) == len(views)
    notes = soup.select(".course-lab-note")
    assert len(notes) == len(views), f"{name}: {len(views)} labs, {len(notes)} Binder notes"


def fetched(element) -> bool:
    """Whether the browser loads this element's file with the page (not a link to a page)."""
    rel = set(element.get("rel") or [])
    return element.name != "link" or bool(rel & {"stylesheet", "icon", "preload"})


@functools.cache
def gzipped_size(file: Path) -> int:
    """Bytes of ``file`` as a web server sends it compressed (images are sent as they are)."""
    data = file.read_bytes()
    return len(data) if file.suffix in {".png", ".jpg", ".gif"} else len(gzip.compress(data))


def page_weight(build: Build, page: str) -> tuple[int, int, int]:
    """Bytes of the page with its images; with its scripts and styles too; that, gzipped."""
    files = {build.html / page}
    own = (build.html / page).stat().st_size
    for tag, attr in FETCHING:
        for element in build.page(page).find_all(tag):
            url = element.get(attr)
            if not url or is_external(url) or not fetched(element):
                continue
            file = build.html / resolve(page, url)[0]
            if file in files or not file.is_file():
                continue
            files.add(file)
            own += file.stat().st_size if tag == "img" else 0
    total = sum(f.stat().st_size for f in files)
    return own, total, sum(gzipped_size(f) for f in files)


def test_notebook_pages_weigh_at_most_3_mb(build):
    heavy = []
    for name in NOTEBOOKS:
        own, total, sent = page_weight(build, page_of(name))
        REPORT.append(
            f"{page_of(name):32s} {own / 1e6:4.2f} MB with its images; with scripts and "
            f"styles {total / 1e6:4.2f} MB, {sent / 1e6:4.2f} MB gzipped as a server sends it"
        )
        if own > PAGE_BUDGET_BYTES or sent > PAGE_BUDGET_BYTES:
            heavy.append(f"{page_of(name)}: {own / 1e6:.2f} MB, {sent / 1e6:.2f} MB sent")
    assert not heavy, "pages over 3 MB:\n" + "\n".join(heavy)


def test_stored_outputs_are_shown_not_executed(build):
    """The build executes nothing: each page shows its notebook's stored stream outputs."""
    for name in NOTEBOOKS:
        text = "".join(main_of(build, page_of(name)).get_text().split())
        for cell in load(name)["cells"]:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream":
                    line = "".join(output["text"]).strip().splitlines()
                    if line and len(line[0]) > 20:
                        assert "".join(line[0].split())[:40] in text, f"{name}: {line[0]!r}"
    assert "Executing" not in build.output


def test_tracebacks_of_raises_exception_cells_are_shown(build):
    for name in NOTEBOOKS:
        text = main_of(build, page_of(name)).get_text(" ", strip=True)
        for cell in load(name)["cells"]:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    assert output["ename"] in text, f"{name}: {output['ename']} not shown"


def test_build_and_screenshots_are_ignored_by_git():
    paths = ["build/site/html/index.html", "tests/site/artifacts/index.png"]
    git = ["git", "check-ignore", *paths]
    result = subprocess.run(git, cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.split() == paths, f"not ignored by git: {result.stdout!r}"
