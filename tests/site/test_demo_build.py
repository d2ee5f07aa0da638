"""The site's configuration on a small made-up notebook with every kind of cell it must show.

The course's notebooks may lack some kinds today (a ``raises-exception``
traceback, solution prose, alt text stored in an output); this notebook has
them all, so the rendering is tested whatever the notebooks hold.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from bs4 import BeautifulSoup

from tools import site

from .conftest import ROOT

ANSI_TRACEBACK = [
    "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
    "\x1b[0;31mValueError\x1b[0m: the queue was closed",
]
#: A 1x1 PNG, base64 as notebooks store it.
RED_PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAF"
    "BQIAX8jx0gAAAABJRU5ErkJggg=="
)
WIDGET_STATE = {
    "state": {
        "s1": {
            "model_name": "IntSliderModel",
            "model_module": "@jupyter-widgets/controls",
            "model_module_version": "2.0.0",
            "state": {"value": 3, "max": 10, "description": "items"},
        }
    },
    "version_major": 2,
    "version_minor": 0,
}


def cell(kind: str, source: str, tags=(), outputs=None) -> dict:
    made = {"cell_type": kind, "id": f"c{id(source)}", "metadata": {"tags": list(tags)}}
    made["source"] = source
    if kind == "code":
        made.update(outputs=outputs or [], execution_count=1)
    return made


DEMO = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "widgets": {"application/vnd.jupyter.widget-state+json": WIDGET_STATE},
    },
    "cells": [
        cell(
            "markdown",
            "# 09 — Demo\n\nWhy.\n\n## Time\n\nAbout 5 minutes.\n\n## Prerequisites\n\nNone.",
        ),
        cell(
            "code",
            "q.put(1)",
            ["raises-exception"],
            [
                {
                    "output_type": "error",
                    "ename": "ValueError",
                    "evalue": "the queue was closed",
                    "traceback": ANSI_TRACEBACK,
                }
            ],
        ),  # fmt: skip
        cell("markdown", "## Exercises\n\n### Exercise 1\n\nDo it."),
        cell("code", "check(f)", ["exercise"]),
        cell("markdown", "#### Solution\n\nUse a **lock**.", ["solution"]),
        cell(
            "code",
            "print('solved')",
            ["solution"],
            [{"output_type": "stream", "name": "stdout", "text": "Correct!\n"}],
        ),
        cell("markdown", "## Lab"),
        cell(
            "code",
            "plot()",
            outputs=[
                {
                    "output_type": "display_data",
                    "metadata": {"image/png": {"alt": "a red square"}},
                    "data": {"image/png": RED_PIXEL, "text/plain": "<Figure>"},
                }
            ],
        ),  # fmt: skip
        {
            **cell(
                "code",
                "plot2()",
                outputs=[
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"image/png": RED_PIXEL, "text/plain": "<Figure>"},
                    }
                ],
            ),
            "metadata": {"mystnb": {"image": {"alt": "the same square, described in the cell"}}},
        },  # fmt: skip
        cell(
            "code",
            "panel()",
            outputs=[
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {
                        "application/vnd.jupyter.widget-view+json": {
                            "model_id": "s1",
                            "version_major": 2,
                            "version_minor": 0,
                        },
                        "text/plain": "IntSlider()",
                    },
                }
            ],
        ),  # fmt: skip
    ],
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[subprocess.CompletedProcess, BeautifulSoup]:
    site.fetch_widgets()
    out = tmp_path_factory.mktemp("demo-site")
    src = out / "src"
    (src / "notebooks").mkdir(parents=True)
    (src / "notebooks" / "09_demo.ipynb").write_text(json.dumps(DEMO), encoding="utf-8")
    (src / "index.md").write_text(
        "# Demo site\n\n```{toctree}\n:hidden:\n\nnotebooks/09_demo\n```\n", encoding="utf-8"
    )
    result = subprocess.run(
        site.sphinx_command(out, strict=True, fresh=True),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    page = out / "html" / "notebooks" / "09_demo.html"
    html = page.read_text(encoding="utf-8") if page.exists() else ""
    return result, BeautifulSoup(html, "html.parser")


def test_demo_builds_without_warnings(demo):
    result, _ = demo
    assert result.returncode == 0, result.stdout + result.stderr


def test_traceback_is_shown_without_terminal_colour_codes(demo):
    _, soup = demo
    article = soup.select_one("article.bd-article")
    assert "ValueError: the queue was closed" in article.get_text()
    assert "\x1b[" not in str(article)


def test_solution_prose_and_code_fold_together(demo):
    _, soup = demo
    (folded,) = soup.select("details.course-solution")
    assert "Use a lock." in folded.get_text(" ", strip=True).replace(" .", ".")
    assert folded.select_one("div.cell.tag_solution") is not None
    assert "Correct!" in folded.get_text()
    heading = soup.find(id="solution")
    assert heading is not None and heading.find_parent("details") is None


def test_exercise_cell_stays_visible(demo):
    _, soup = demo
    exercise = soup.select_one("div.cell.tag_exercise")
    assert exercise is not None and exercise.find_parent("details") is None


def test_plots_take_alt_text_from_their_output_or_cell(demo):
    _, soup = demo
    alts = [i["alt"] for i in soup.select("article img") if i["src"].endswith(".png")]
    assert alts == ["a red square", "the same square, described in the cell"]


def test_lab_has_widget_state_view_and_binder_note(demo):
    _, soup = demo
    assert soup.find("script", type="application/vnd.jupyter.widget-state+json") is not None
    assert soup.find("script", type="application/vnd.jupyter.widget-view+json") is not None
    assert soup.find("script", src=lambda s: s and "widgets/embed.js" in s) is not None
    note = soup.select_one(".course-lab-note")
    assert note is not None and "mybinder.org" in str(note)


def test_card_shows_time_and_no_prerequisite_notebook(demo):
    _, soup = demo
    card = soup.select_one(".course-card").get_text(" ", strip=True)
    assert "About 5 minutes." in card and "no notebook" in card
