"""Sphinx extension of the course website: the notebooks as the site shows them.

- Each notebook and markdown page passes through ``tools.site_pages`` when it
  is read (card under the title, Binder note after each lab, links fit for the
  site); outputs are shown as stored, never executed.
- A solution (its prose, in a ``course-solution`` block, and its code cells,
  tagged ``solution``) is folded into one ``<details>`` element whose summary
  reads "Show solution": hidden until asked for, never deleted.
"""

from __future__ import annotations

import json
import posixpath

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from tools import site_pages

logger = logging.getLogger(__name__)

SOLUTION_CLASSES = {"tag_solution", "course-solution-part"}


class solution(nodes.General, nodes.Element):
    """A folded solution: a ``<details>`` element, closed until the reader opens it."""


def visit_solution(translator, node: solution) -> None:
    translator.body.append(
        '<details class="course-solution">\n<summary>'
        '<span class="course-show">Show solution</span>'
        '<span class="course-hide">Hide solution</span></summary>\n'
    )


def depart_solution(translator, node: solution) -> None:
    translator.body.append("</details>\n")


class SolutionPart(SphinxDirective):
    """``{course-solution}``: prose of a solution, folded with its code cells."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        node = nodes.container(classes=["course-solution-part"])
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


def is_solution(node: nodes.Node) -> bool:
    return isinstance(node, nodes.container) and bool(SOLUTION_CLASSES & set(node["classes"]))


class FoldSolutions(SphinxTransform):
    """Put each run of consecutive solution parts (prose, code cells) in one ``solution``."""

    default_priority = 500

    def apply(self, **kwargs) -> None:
        parents = {id(n.parent): n.parent for n in self.document.findall(is_solution)}
        for parent in parents.values():
            runs: list[list[nodes.Node]] = []
            previous = None
            for child in parent.children:
                if is_solution(child):
                    if previous is None or not is_solution(previous):
                        runs.append([])
                    runs[-1].append(child)
                previous = child
            for run in runs:
                folded = solution()
                parent.replace(run[0], folded)
                for child in run[1:]:
                    parent.remove(child)
                folded.extend(run)


def on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    """Turn a notebook or markdown page into what the site shows."""
    path = app.env.doc2path(docname, base=False)
    suffix = posixpath.splitext(str(path))[1]
    folder = posixpath.dirname(docname)
    if suffix == ".ipynb":
        nb = json.loads(source[0])
        page = site_pages.notebook_page(nb, f"{docname}.ipynb", warn=logger.warning)
        source[0] = json.dumps(page)
    elif suffix == ".md" and docname != "index":  # index.md is made by tools/site.py
        source[0] = site_pages.rewrite_links(source[0], folder)


def setup(app: Sphinx) -> dict:
    app.add_node(solution, html=(visit_solution, depart_solution))
    app.add_directive("course-solution", SolutionPart)
    app.add_transform(FoldSolutions)
    app.connect("source-read", on_source_read)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
