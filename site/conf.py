"""Sphinx configuration of the course website (built by ``make site``: tools/site.py).

Sphinx with myst-nb renders each notebook from its stored outputs (it never
executes one) and sphinx-book-theme lays the pages out; both build offline from
PyPI packages. The sources are staged by tools/site.py in the build folder,
with the repository's layout; nothing on a page loads from another site.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from tools import site as course_site  # noqa: E402
from tools.badges import course_settings  # noqa: E402

COURSE = course_settings()

project = "Python IPC, hands-on"
author = "the course's authors"
html_show_copyright = False
html_title = project
html_favicon = "favicon.svg"
language = "en"

extensions = ["myst_nb", "course_ext"]
root_doc = "index"
exclude_patterns = ["**/.ipynb_checkpoints"]

# Notebooks: stored outputs only, in the order of their cells.
nb_execution_mode = "off"
nb_merge_streams = True
nb_ipywidgets_js = course_site.widgets_js()
# Links to headings ("#prerequisites") resolve like on GitHub.
myst_heading_anchors = 6

html_theme = "sphinx_book_theme"
html_static_path = ["_static", str(course_site.VENDOR_STATIC)]
html_css_files = ["course.css"]
html_sourcelink_suffix = ""  # the download button gives the .ipynb itself
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": f"https://github.com/{COURSE['repository']}",
    "repository_branch": COURSE["branch"],
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "extra_footer": "Code and text: MIT licence.",
}
# Light or dark as the reader's system prefers (the theme's switch changes it).
html_context = {"default_mode": "auto"}
