"""tools.site_pages: what a static page changes in the repository's files (no build)."""

from __future__ import annotations

import copy

from tools import site_pages
from tools.badges import binder_url, course_settings

from .conftest import ROOT


def github(path: str) -> str:
    settings = course_settings()
    return f"https://github.com/{settings['repository']}/blob/{settings['branch']}/{path}"


def test_links_to_pages_and_figures_stay():
    text = "[00](00_why_ipc.ipynb) ![a figure](figures/queues_how_it_works.svg) [t](#time)"
    assert site_pages.rewrite_links(text, "notebooks") == text


def test_links_to_the_readme_point_at_the_home_page():
    text = "[Contents](../README.md) and [syllabus](../README.md#syllabus)"
    assert site_pages.rewrite_links(text, "notebooks") == (
        "[Contents](../index.md) and [syllabus](../index.md#syllabus)"
    )


def test_links_to_other_repository_files_point_at_github():
    text = '[how to write one](docs/authoring.md "guide") and [MIT](LICENSE)'
    assert site_pages.rewrite_links(text, "") == (
        f'[how to write one]({github("docs/authoring.md")} "guide") and [MIT]({github("LICENSE")})'
    )


def test_web_links_and_missing_files_are_left_alone():
    text = "[docs](https://docs.python.org/3/) [gone](no_such_file.md)"
    assert site_pages.rewrite_links(text, "") == text  # a missing file fails the build


def test_the_binder_badge_is_served_by_the_site():
    text = f"[![Binder]({site_pages.BADGE_URL})]({binder_url()})"
    assert site_pages.rewrite_links(text, "") == (
        f"[![Binder]({site_pages.LOCAL_BADGE})]({binder_url()})"
    )


def test_home_page_keeps_introduction_and_syllabus_and_lists_every_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    notebooks = site_pages.notebook_paths()
    page = site_pages.landing_page(readme, notebooks)
    assert page.startswith(readme.split("\n\n")[0])  # the title
    assert "## Syllabus" in page and "| # | Notebook |" in page
    assert "## Quick start" not in page
    assert site_pages.BADGE_URL not in page
    toc = page[page.index("```{toctree}") :]
    entries = [line for line in toc.splitlines() if line.startswith(("notebooks/", "docs/"))]
    assert entries == [*(n.removesuffix(".ipynb") for n in notebooks), "docs/instructor-guide"]


def test_solution_prose_is_folded_and_its_heading_stays():
    assert site_pages.fold_solution_text("#### Solution") == "#### Solution"
    folded = site_pages.fold_solution_text("#### Solution\n\nUse a lock.\n\n```python\nx\n```")
    assert folded.startswith("#### Solution\n\n````{course-solution}\nUse a lock.")
    assert folded.endswith("```\n````")


def notebook(*cells: dict) -> dict:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def markdown(text: str, tags: tuple[str, ...] = ()) -> dict:
    return {"cell_type": "markdown", "metadata": {"tags": list(tags)}, "source": text}


def code(source: str, outputs: list[dict], tags: tuple[str, ...] = ()) -> dict:
    return {
        "cell_type": "code",
        "metadata": {"tags": list(tags)},
        "source": source,
        "outputs": outputs,
        "execution_count": 1,
    }


OPENING = (
    "# 09 — Demo\n\nWhy.\n\n## Time\n\nAbout 5 minutes with an\ninstructor. More.\n\n"
    "## Prerequisites\n\n[Notebook 00](00_why_ipc.ipynb), [00](00_why_ipc.ipynb) and "
    "[01](01_queue.ipynb)."
)
LAB = {
    "output_type": "display_data",
    "metadata": {},
    "data": {
        "application/vnd.jupyter.widget-view+json": {"model_id": "m1", "version_major": 2},
        "text/plain": "VBox()",
    },
}
PLOT = {
    "output_type": "display_data",
    "metadata": {"image/png": {"alt": "two bars"}},
    "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"},
}


def test_notebook_page_adds_card_and_lab_note_and_keeps_the_code():
    nb = notebook(
        markdown(OPENING),
        markdown("[nav](01_queue.ipynb)"),
        code("panel()", [LAB]),
        code("plot()", [PLOT]),
        markdown("#### Solution\n\nBecause.", ("solution",)),
        code("answer()", [], ("solution",)),
    )
    before = copy.deepcopy(nb)
    warnings: list[str] = []
    page = site_pages.notebook_page(nb, "notebooks/09_demo.ipynb", warnings.append)
    assert nb == before, "the notebook itself must not change"
    assert warnings == []
    title = page["cells"][0]["source"]
    assert title.startswith("# 09 — Demo\n\n```{admonition} This notebook")
    assert binder_url("notebooks/09_demo.ipynb") in title
    assert "{download}`download the notebook <09_demo.ipynb>`" in title
    assert "**[Time](#time):** About 5 minutes with an instructor." in title
    assert "notebooks [00](00_why_ipc.ipynb), [01](01_queue.ipynb)." in title
    kinds = [c["cell_type"] for c in page["cells"]]
    assert kinds == ["markdown", "markdown", "code", "markdown", "code", "markdown", "code"]
    assert "runs live on Binder" in page["cells"][3]["source"]
    assert page["cells"][4]["metadata"]["mystnb"] == {"image": {"alt": "two bars"}}
    assert "{course-solution}" in page["cells"][5]["source"]
    codes = [c for c in page["cells"] if c["cell_type"] == "code"]
    assert [(c["source"], c["outputs"]) for c in codes] == [
        (c["source"], c["outputs"]) for c in nb["cells"] if c["cell_type"] == "code"
    ]


def test_a_notebook_without_time_or_prerequisites_is_reported():
    warnings: list[str] = []
    site_pages.notebook_page(notebook(markdown("# Bare")), "notebooks/x.ipynb", warnings.append)
    assert len(warnings) == 2 and "'## Time'" in warnings[0]


def test_alt_text_in_the_cell_wins_over_the_output():
    cell = code("plot()", [PLOT])
    cell["metadata"]["mystnb"] = {"image": {"alt": "written by the author"}}
    page = site_pages.notebook_page(notebook(markdown(OPENING), cell), "notebooks/x.ipynb")
    assert page["cells"][1]["metadata"]["mystnb"]["image"]["alt"] == "written by the author"


def test_sections_ignore_comment_lines_in_code_blocks():
    text = "## A\n\ntext\n\n```bash\n# not a heading\n```\n\n## B\n\nb"
    assert site_pages.sections(text) == {"A": "text\n\n```bash\n# not a heading\n```", "B": "b"}
