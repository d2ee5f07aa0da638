"""The browser checks can fail: a notebook broken in every way they look for is caught.

One notebook, written here (not part of the course), holds one defect per
check: a picture that does not load, widgets that cannot be displayed, a lab
whose output ignores its control, an error written to the browser console, a
child process left running, a process that outlives the kernel, a
shared-memory segment never unlinked, an error in an untagged cell and, after
it, a cell that therefore never runs. Every defect must be reported; the error
of a cell tagged ``raises-exception`` must not be.
"""

from __future__ import annotations

import re

import nbformat

from .test_jupyterlab import run_in_jupyterlab

# fmt: off
CELLS = [
    ("markdown", "# Broken on purpose\n\n![a missing picture](figures/no_such_picture.svg)"),
    ("code", "import ipywidgets as widgets\n"
             "from IPython.display import Javascript, display\n"
             "from ipc_helpers.labs.panel import make_panel"),
    # A widget view whose model does not exist: it stays at "Loading widget...".
    ("code", "display({'application/vnd.jupyter.widget-view+json': {'model_id': 'no-such-model',"
             " 'version_major': 2, 'version_minor': 0}, 'text/plain': 'a widget'}, raw=True)"),
    # A widget whose view does not exist: ipywidgets shows its error widget.
    ("code", "from traitlets import Unicode\n\n"
             "class Broken(widgets.DOMWidget):\n"
             "    _view_name = Unicode('NoSuchView').tag(sync=True)\n"
             "    _view_module = Unicode('@jupyter-widgets/controls').tag(sync=True)\n"
             "    _view_module_version = Unicode(widgets.__jupyter_widgets_controls_version__)"
             ".tag(sync=True)\n\n"
             "Broken()"),
    # A lab whose run ignores its control: Run always shows the same thing.
    ("code", "make_panel('Deaf lab', {'n': widgets.IntSlider(value=3, min=1, max=9)},"
             " lambda n: print('always the same'))"),
    ("code", "display(Javascript(\"console.error('broken on purpose')\"))"),
    # A child process never waited for (ipykernel ends it at shutdown), and an orphan
    # in a process group of its own (its parent exits at once) that nobody ends.
    ("code", "import subprocess, sys\n"
             "child = subprocess.Popen(['sleep', '60'])\n"
             "subprocess.run([sys.executable, '-c', 'import subprocess; "
             "subprocess.Popen([\"sleep\", \"61\"], process_group=0)'], timeout=10)"),
    # A shared-memory segment never unlinked (and hidden from the resource tracker,
    # which would otherwise unlink it when the kernel ends).
    ("code", "from multiprocessing import resource_tracker, shared_memory\n"
             "segment = shared_memory.SharedMemory(create=True, size=4096)\n"
             "resource_tracker.unregister(segment._name, 'shared_memory')"),
    # An error shown on purpose: tagged, so it is not a defect and Run All goes on.
    ("code", "raise KeyError('shown on purpose')", ["raises-exception"]),
    ("code", "raise ValueError('broken on purpose')"),
    ("code", "print('never reached: Run All stops at the error above')"),
]

#: What must be reported (regular expressions; cells are numbered from 1).
EXPECTED = {
    "missing picture": r"cell 1 \('# Broken on purpose'\): the picture "
                       r"/files/notebooks/figures/no_such_picture\.svg is not shown",
    "widget never loaded": r"cell 3 \(.*\): a widget shows 'Loading widget\.\.\.'",
    "widget not rendered": r"cell 3 \(.*\): 1 widget\(s\) in the outputs but 0 rendered",
    "widget error": r"cell 4 \(.*\): a widget shows \"ipywidgets' error widget",
    "widget error in console": r"browser console error: Error: Class NoSuchView not found",
    "deaf lab": r"lab 'Deaf lab': no control changed its output "
                r"\(control 1: 3 → 4: same output\)",
    "console error": r"browser console error: broken on purpose",
    "stray child": r"a child process of the kernel is still alive: pid \d+: sleep 60",
    "survivor": r"processes that outlived the server:\n  pid \d+: sleep 61",
    "shared memory left": r"entries left in /dev/shm after the kernel ended: \['psm_",
    "untagged error": r"cell 10 \(\"raise ValueError.*\"\) shows an error: "
                      r"ValueError: broken on purpose",
    "cell not run": r"cell 11 \(.*\) did not run \(prompt '\[ \]:'\)",
}
# fmt: on


def test_a_broken_notebook_is_caught(tmp_path, browser_tools):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    for kind, source, *tags in CELLS:
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(make(source, metadata={"tags": tags[0]} if tags else {}))
    path = tmp_path / "zz_broken_on_purpose.ipynb"
    nbformat.write(nb, path)

    problems = run_in_jupyterlab(path, tmp_path / "run", browser_tools)

    report = "\n".join(problems)
    missed = {name: pattern for name, pattern in EXPECTED.items() if not re.search(pattern, report)}
    assert "shown on purpose" not in report, "an error in a raises-exception cell was reported"
    assert not missed, f"defects not reported: {missed}\nreported:\n{report}"
