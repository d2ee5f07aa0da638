"""The pages of the course website, made from the repository's own files.

The website (``make site``, see tools/site.py) shows the repository's files as
they are; this module holds the few changes a static page needs, as pure
functions from text to text, so each can be tested without building the site:

- ``landing_page(readme)``: the home page, made from the README's introduction
  and syllabus (the README stays the one home of that text);
- ``notebook_page(nb, path)``: a notebook with a card under its title (Binder,
  download, time, prerequisites), a Binder note after each lab, its solution
  prose inside a ``course-solution`` block (the Sphinx extension folds it with
  the solution's code cells), and alt text taken from image outputs;
- ``rewrite_links(text, folder)``: relative links to repository files that are
  not pages of the site point at the repository on GitHub instead.

The site's sources mirror the repository's layout (``notebooks/…``,
``docs/instructor-guide.md``), so every link between pages stays as written,
except those to README.md, which point at the home page (``index.md``).
"""

from __future__ import annotations

import copy
import posixpath
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from tools.badges import binder_url, course_settings

ROOT = Path(__file__).resolve().parent.parent
GUIDE = "docs/instructor-guide.md"
#: Folders whose files the site shows as they are (images of the notebooks).
ASSET_DIRS = ("notebooks/figures",)
#: The Binder badge, served by the site itself (the page must load nothing from elsewhere).
BADGE_URL = "https://mybinder.org/badge_logo.svg"
LOCAL_BADGE = "_course/binder-badge.svg"
#: README sections the home page keeps, after the introduction (text before the first ``##``).
LANDING_SECTIONS = ("Syllabus", "How each notebook works")

LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.MULTILINE)
FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1\s*$", re.MULTILINE | re.DOTALL)
NOTEBOOK_LINK = re.compile(r"\[([^\]]+)\]\((\d\d_[\w-]+\.ipynb)\)")
SENTENCE_END = re.compile(r"(?<=[.!?])\s")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")


def notebook_paths() -> list[str]:
    """Every notebook of the course (repository paths), in course order (by file name)."""
    return [f"notebooks/{p.name}" for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]


def page_paths() -> list[str]:
    """Repository paths of the files that are pages of the site (besides the README)."""
    return [*notebook_paths(), GUIDE]


def github_url(path: str) -> str:
    """The page of the repository file (or folder) ``path`` on GitHub."""
    settings = course_settings()
    kind = "tree" if (ROOT / path).is_dir() else "blob"
    return f"https://github.com/{settings['repository']}/{kind}/{settings['branch']}/{path}"


def _is_on_site(path: str) -> bool:
    return path in page_paths() or any(path.startswith(f"{d}/") for d in ASSET_DIRS)


def site_target(target: str, folder: str) -> str:
    """Where a link ``target`` written in a file of ``folder`` must point on the site."""
    if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target):  # URL, anchor, absolute path
        return target
    path, hash_, anchor = target.partition("#")
    resolved = posixpath.normpath(posixpath.join(folder, path))
    if resolved == "README.md":
        return posixpath.relpath("index.md", folder or ".") + hash_ + anchor
    if _is_on_site(resolved) or not (ROOT / resolved).exists():
        return target  # a page or image of the site; a missing file fails the build
    return github_url(resolved) + hash_ + anchor


def rewrite_links(text: str, folder: str) -> str:
    """``text`` (markdown of a file in ``folder``) with its links fit for the site."""

    def fix(match: re.Match[str]) -> str:
        start, target, title = match.group(1), match.group(2), match.group(3) or ""
        if target == BADGE_URL:
            target = posixpath.relpath(LOCAL_BADGE, folder or ".")
        return f"{start}{site_target(target, folder)}{title})"

    return LINK.sub(fix, text)


def sections(markdown: str) -> dict[str, str]:
    """The text under each heading of ``markdown`` (up to the next heading), by title."""
    found = {}
    fences = [m.span() for m in FENCE.finditer(markdown)]
    matches = [
        m for m in HEADING.finditer(markdown) if not any(a <= m.start() < b for a, b in fences)
    ]
    ends = [m.start() for m in matches[1:]] + [len(markdown)] if matches else []
    for match, end in zip(matches, ends, strict=True):
        found.setdefault(match.group(2), markdown[match.end() : end].strip())
    return found


def landing_page(readme: str, notebooks: Iterable[str], guide: str = GUIDE) -> str:
    """The home page: the README's introduction and syllabus, and the site's contents.

    ``notebooks`` (repository paths, course order) and ``guide`` become the
    table of contents (the sidebar and the previous/next links).
    """
    kept = [readme.split("\n## ", 1)[0].rstrip()]
    for title, body in sections(readme).items():
        if title in LANDING_SECTIONS:
            kept.append(f"## {title}\n\n{body}")
    settings = course_settings()
    kept.append(
        "## Run it\n\n"
        "These pages show every notebook as it ran, outputs included: reading needs nothing "
        "installed. To run the code, launch a notebook on Binder (the button at the top of "
        f"each page), or clone [the repository](https://github.com/{settings['repository']}) "
        "and follow its quick start. Teaching a group? See the "
        f"[instructor guide]({guide})."
    )
    toc = [
        toctree("The course", [p.removesuffix(".ipynb") for p in notebooks]),
        toctree("For instructors", [guide.removesuffix(".md")]),
    ]
    return rewrite_links("\n\n".join(kept), "") + "\n\n" + "\n\n".join(toc) + "\n"


def toctree(caption: str, entries: Iterable[str]) -> str:
    """A hidden MyST toctree: the sidebar's and the previous/next links' order."""
    lines = "\n".join(entries)
    return f"```{{toctree}}\n:hidden:\n:caption: {caption}\n\n{lines}\n```"


# -- notebooks -------------------------------------------------------------------------


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def opening(nb: dict) -> dict[str, str]:
    """The sections of the notebook's opening (markdown cells before the first code cell).

    A section ends at the next heading or at the end of its cell (the navigation
    line that follows the opening is a cell of its own).
    """
    found: dict[str, str] = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            break
        if cell["cell_type"] == "markdown":
            for title, body in sections(_source(cell)).items():
                found.setdefault(title, body)
    return found


def first_sentence(text: str) -> str:
    """The first sentence of the first paragraph of ``text``, on one line."""
    paragraph = " ".join(text.strip().split("\n\n")[0].split())
    return SENTENCE_END.split(paragraph, maxsplit=1)[0]


def card(nb: dict, name: str) -> tuple[str, list[str]]:
    """The card under a notebook's title, and what its opening lacks (for a warning).

    The card: launch on Binder, download the .ipynb, the time (first sentence of
    the *Time* section) and the notebooks named under *Prerequisites*.
    """
    parts = opening(nb)
    lines = [
        f"- **Run it:** [Launch on Binder]({binder_url(f'notebooks/{name}')}) (nothing to "
        f"install), or {{download}}`download the notebook <{name}>` to run it with `make lab`."
    ]
    missing = [title for title in ("Time", "Prerequisites") if title not in parts]
    if "Time" in parts:
        lines.append(f"- **[Time](#time):** {first_sentence(parts['Time'])}")
    if "Prerequisites" in parts:
        links = list(dict.fromkeys(t for _, t in NOTEBOOK_LINK.findall(parts["Prerequisites"])))
        named = ", ".join(f"[{target[:2]}]({target})" for target in links)
        what = f"notebook{'s' if len(links) > 1 else ''} {named}" if links else "no notebook"
        lines.append(f"- **[Prerequisites](#prerequisites):** {what}.")
    body = "\n".join(lines)
    return f"```{{admonition}} This notebook\n:class: course-card\n\n{body}\n```", missing


def with_card(markdown: str, card_text: str) -> str:
    """``markdown`` with ``card_text`` inserted right after its first level-1 heading."""
    match = re.search(r"^# .*$", markdown, re.MULTILINE)
    if match is None:
        return f"{card_text}\n\n{markdown}"
    return f"{markdown[: match.end()]}\n\n{card_text}\n{markdown[match.end() :]}"


def fenced(directive: str, body: str) -> str:
    """A MyST directive block around ``body`` (its fence longer than any inside)."""
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{{{directive}}}\n{body}\n{fence}"


def fold_solution_text(markdown: str) -> str:
    """A solution's markdown: its leading headings stay, the rest goes in a solution block."""
    lines = markdown.strip("\n").split("\n")
    keep = 0
    while keep < len(lines) and (lines[keep].startswith("#") or not lines[keep].strip()):
        keep += 1
    head, rest = "\n".join(lines[:keep]).strip(), "\n".join(lines[keep:]).strip()
    if not rest:
        return head
    return f"{head}\n\n{fenced('course-solution', rest)}".strip()


def lab_note(name: str) -> str:
    """The note after a lab's stored panel: it does not run here; Binder runs it live."""
    url = binder_url(f"notebooks/{name}")
    return (
        "```{admonition} This lab runs live on Binder\n:class: note course-lab-note\n\n"
        "The panel above is drawn as its stored run left it: on this page its controls "
        f"run nothing. [Launch this notebook on Binder]({url}) (nothing to install), "
        "change the settings and press **Run**.\n```"
    )


def alt_from_outputs(cell: dict) -> str | None:
    """Alt text an image output carries in its metadata (``{"image/png": {"alt": ...}}``)."""
    for output in cell.get("outputs", []):
        for mime in IMAGE_TYPES:
            alt = output.get("metadata", {}).get(mime, {}).get("alt")
            if mime in output.get("data", {}) and alt:
                return str(alt)
    return None


def is_lab(cell: dict) -> bool:
    """A code cell that displays a widget (a lab's control panel)."""
    return any(WIDGET_VIEW in output.get("data", {}) for output in cell.get("outputs", []))


def _markdown_cell(source: str, key: str) -> dict:
    return {"cell_type": "markdown", "id": key, "metadata": {}, "source": source}


def notebook_page(nb: dict, path: str, warn: Callable[[str], None] = lambda message: None) -> dict:
    """A copy of the notebook ``nb`` (at repository ``path``) as the site shows it.

    Code cells and outputs are never changed (the outputs come only from
    execution); ``warn`` is called with what the notebook lacks for its page.
    """
    nb = copy.deepcopy(nb)
    folder, name = posixpath.split(path)
    cells: list[dict] = []
    for index, cell in enumerate(nb["cells"]):
        cells.append(cell)
        if cell["cell_type"] == "markdown":
            text = rewrite_links(_source(cell), folder)
            cell["source"] = fold_solution_text(text) if "solution" in _tags(cell) else text
        elif cell["cell_type"] == "code":
            _take_alt(cell)
            if is_lab(cell):
                cells.append(_markdown_cell(lab_note(name), f"course-lab-note-{index}"))
    titled = next((c for c in cells if c["cell_type"] == "markdown"), None)
    card_text, missing = card(nb, name)
    for title in missing:
        warn(f"{path}: its opening has no '## {title}' section for the page's card")
    if titled is None:
        cells.insert(0, _markdown_cell(card_text, "course-card"))
    else:
        titled["source"] = with_card(titled["source"], card_text)
    nb["cells"] = cells
    return nb


def _take_alt(cell: dict) -> None:
    """Give myst-nb the alt text of an image output (cell metadata ``mystnb.image.alt``)."""
    alt = alt_from_outputs(cell)
    if alt:
        image = cell.setdefault("metadata", {}).setdefault("mystnb", {}).setdefault("image", {})
        image.setdefault("alt", alt)
