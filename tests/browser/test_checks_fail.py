"""The browser checks can fail: notebooks broken in every way they look for are caught.

``test_a_broken_notebook_is_caught``: one notebook, written here (not part of the
course), holds one defect per check of a page that ran: a picture that does not
load, a picture whose markdown link is broken across lines, a figure in a code
cell that does not render, links that go nowhere, widgets that cannot be
displayed, labs whose output ignores their control, whose Run shows an error,
shows nothing or never ends, an error written to the browser console, child
processes left running (a ``subprocess`` and a ``multiprocessing`` worker under
each start method: fork, spawn and a forkserver *worker*, which is not the
forkserver helper), a process that outlives the kernel, a shared-memory segment
never unlinked, an error in an untagged cell and, after it, a cell that
therefore never runs; and, while the browser is open, a process and a file left
behind as a crashed Chromium would leave them. Every defect must be reported;
the error of a cell tagged ``raises-exception`` must not be.

``test_a_run_that_goes_wrong_is_caught``: four small notebooks in one
JupyterLab: one whose stored outputs survive "Clear All Outputs" (the clear is
replaced by a command that clears nothing, as a JupyterLab change could do), one
whose Run All outlasts its bound, one whose kernel dies, and one that uses dask
without a dashboard to be found.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from . import page_scripts as js
from . import test_jupyterlab as lab
from .test_jupyterlab import run_in_jupyterlab

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

# fmt: off
CELLS = [
    ("markdown", "# Broken on purpose\n\n![a missing picture](figures/no_such_picture.svg)"),
    # A picture link broken across lines: markdown shows it as text, there is no <img>.
    ("markdown", "The flowchart:\n\n![a flowchart]\n(figures/no_such_flowchart.svg)"),
    # Links that go nowhere: a file that does not exist, a heading that does not exist.
    # (JupyterLab resolves a link from the notebook's folder and stops at the server's
    # root: "../README.md" in notebooks/ is the server's README.md when it serves
    # notebooks/, and the course's when it serves the course, as `make lab` decides.)
    ("markdown", "[Contents](../NO_SUCH_FILE.md) · [a section](#no-such-heading)"),
    ("code", "import time\n"
             "import ipywidgets as widgets\n"
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
    # A figure in a code cell that does not render: a PNG that is not one.
    ("code", "display({'image/png': 'bm90IGEgcGljdHVyZQ==', 'text/plain': 'a figure'}, raw=True)"),
    # Labs: one whose run ignores its control, one that fails, one that shows nothing,
    # and (last: it keeps the kernel busy) one that never ends.
    ("code", "make_panel('Deaf lab', {'n': widgets.IntSlider(value=3, min=1, max=9)},"
             " lambda n: print('always the same'))"),
    ("code", "make_panel('Failing lab', {'n': widgets.IntSlider(value=3, min=1, max=9)},"
             " lambda n: 1 / 0)"),
    ("code", "make_panel('Silent lab', {'n': widgets.IntSlider(value=3, min=1, max=9)},"
             " lambda n: None)"),
    ("code", "make_panel('Endless lab', {'n': widgets.IntSlider(value=3, min=1, max=9)},"
             " lambda n: time.sleep(6))"),
    ("code", "display(Javascript(\"console.error('broken on purpose')\"))"),
    # A child process never waited for (ipykernel ends it at shutdown), and an orphan
    # in a process group of its own (its parent exits at once) that nobody ends.
    ("code", "import subprocess, sys\n"
             "child = subprocess.Popen(['sleep', '60'])\n"
             "subprocess.run([sys.executable, '-c', 'import subprocess; "
             "subprocess.Popen([\"sleep\", \"61\"], process_group=0)'], timeout=10)"),
    # multiprocessing workers left running, one per start method (daemons: they end
    # with the kernel). The forkserver worker must be reported, its server must not.
    ("code", "import multiprocessing as mp\n"
             "workers = [mp.get_context(m).Process(target=time.sleep, args=(60,), daemon=True)\n"
             "           for m in ('fork', 'spawn', 'forkserver')]\n"
             "for w in workers:\n"
             "    w.start()"),
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
    "picture link broken across lines": r"cell 2 \('The flowchart:'\): the markdown asks for 1 "
                                        r"picture\(s\) but 0 are on the page; it shows the raw "
                                        r"text '!\[a flowchart\]",
    "link to no file": r"cell 3 \(.*\): the link 'Contents' \(\.\./NO_SUCH_FILE\.md\) is "
                       r"broken: /\S*NO_SUCH_FILE\.md answers HTTP 404",
    "link to no heading": r"cell 3 \(.*\): the link 'a section' \(#no-such-heading\) points to "
                          r"no heading of this notebook",
    # It shows "Loading widget..." until the widget manager gives up on the model.
    "widget never loaded": r"cell 5 \(.*\): a widget shows '(Loading widget\.\.\.|Error "
                           r"displaying widget: model not found)'",
    "widget not rendered": r"cell 5 \(.*\): 1 widget\(s\) in the outputs but 0 rendered",
    "widget error": r"cell 6 \(.*\): a widget shows \"ipywidgets' error widget",
    "widget error in console": r"browser console error: Error: Class NoSuchView not found",
    "figure not rendered": r"cell 7 \(.*\): a figure is not shown \(natural size \[0, 0\]",
    "deaf lab": r"lab 'Deaf lab': no control changed its output "
                r"\(control 1: 3 → 4: same output\)",
    "lab that fails": r"lab 'Failing lab': Run reported 'ZeroDivisionError: division by zero'",
    "lab that shows nothing": r"lab 'Silent lab': Run showed nothing",
    "lab that never ends": r"lab 'Endless lab': pressing Run did not finish within 4 s",
    "console error": r"browser console error: broken on purpose",
    "stray child": r"a child process of the kernel is still alive: pid \d+: sleep 60",
    "fork worker left": r"a child process of the kernel is still alive: pid \d+: \S+ -m "
                        r"ipykernel_launcher",
    "spawn worker left": r"a child process of the kernel is still alive: pid \d+: .*spawn_main",
    "forkserver worker left": r"a child process of the kernel is still alive: pid \d+: "
                              r".*multiprocessing\.forkserver",
    "survivor": r"processes that outlived the server:\n  pid \d+: sleep 61",
    # With a private /dev/shm the server's own is read before it ends; without one the
    # shared /dev/shm is compared before and after.
    "shared memory left": r"entries left in /dev/shm after the (kernel ended|server stopped): "
                          r"\[[^\]]*'/?psm_",
    "untagged error": r"cell 17 \(\"raise ValueError.*\"\) shows an error: "
                      r"ValueError: broken on purpose",
    "cell not run": r"cell 18 \(.*\) did not run \(prompt '\[ \]:'\)",
    "Chromium process left": r"process left by the test: \d+ sleep 62",
    "Chromium file left": r"Chromium or Playwright left files behind: \[.*left-by-chromium",
}
# fmt: on


def write_notebook(path: Path, cells: list[tuple]) -> Path:
    """A notebook of ``cells``: (kind, source[, tags[, outputs]])."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    for kind, source, *rest in cells:
        tags = rest[0] if rest else []
        if kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
            continue
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": tags} if tags else {})
        if len(rest) > 1:  # stored outputs, as a committed notebook has them
            cell.outputs, cell.execution_count = rest[1], 1
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def leave_behind(browser_tmp: Path) -> None:
    """What a crashed Chromium leaves: a process of the test, a file in its folder."""
    (browser_tmp / "left-by-chromium").write_text("a crashed browser's file")
    subprocess.Popen(["sleep", "62"], stdin=subprocess.DEVNULL)  # noqa: S603


def missed(report: str, expected: dict[str, str]) -> dict[str, str]:
    return {name: pattern for name, pattern in expected.items() if not re.search(pattern, report)}


def test_a_broken_notebook_is_caught(tmp_path, browser_tools, monkeypatch):
    monkeypatch.setattr(lab, "LAB_RUN_TIMEOUT", 4)  # the endless lab: 4 s, not a minute
    path = write_notebook(tmp_path / "zz_broken_on_purpose.ipynb", CELLS)

    problems = run_in_jupyterlab([path], tmp_path / "run", browser_tools, leave_behind)

    report = "\n".join(problems)
    assert "shown on purpose" not in report, "an error in a raises-exception cell was reported"
    forkserver = re.findall(r"still alive: pid \d+: .*multiprocessing\.forkserver", report)
    assert len(forkserver) == 1, f"the forkserver worker only, not its server:\n{report}"
    assert not missed(report, EXPECTED), (
        f"defects not reported: {missed(report, EXPECTED)}\nreported:\n{report}"
    )


#: A notebook whose outputs are stored (as committed notebooks are).
STORED = [nbformat.v4.new_output("stream", name="stdout", text="an old output\n")]

RUNS = {
    "zz_kept_outputs.ipynb": [("code", "print('an old output')", [], STORED)],
    "zz_endless.ipynb": [("code", "import time\ntime.sleep(120)")],
    # A notebook that uses dask (the import is all the check reads) but starts no cluster:
    # no dashboard to find. (Not run: importing dask takes seconds.)
    "zz_dask_no_dashboard.ipynb": [("code", "if False:\n    import dask")],
    # Last: JupyterLab restarts a dead kernel, and the page is slow to settle after it.
    "zz_dying_kernel.ipynb": [("code", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")],
}
RUN_EXPECTED = {
    "outputs left after Clear All": r"zz_kept_outputs\.ipynb: 1 code cell\(s\) kept their "
    r"outputs after 'Clear All Outputs'",
    "Run All timing out": r"zz_endless\.ipynb: Run All did not finish within 12 s",
    "dead kernel": r"zz_dying_kernel\.ipynb: the kernel died during Run All",
    "no dask dashboard": r"zz_dask_no_dashboard\.ipynb: the notebook uses dask but its dashboard "
    r"was never found",
}


@pytest.fixture
def clear_does_nothing(monkeypatch):
    """'Clear All Outputs' replaced by a command that clears nothing."""
    script = js.CLEAR_AND_RUN_ALL.replace(
        "'notebook:clear-all-cell-outputs'", "'notebook:enter-command-mode'"
    )
    assert script != js.CLEAR_AND_RUN_ALL
    monkeypatch.setattr(js, "CLEAR_AND_RUN_ALL", script)


def test_a_run_that_goes_wrong_is_caught(tmp_path, browser_tools, monkeypatch, clear_does_nothing):
    monkeypatch.setattr(lab, "RUN_ALL_TIMEOUT", 12)  # the others need less, even when busy
    paths = [write_notebook(tmp_path / name, cells) for name, cells in RUNS.items()]

    problems = run_in_jupyterlab(paths, tmp_path / "run", browser_tools)

    report = "\n".join(problems)
    assert not missed(report, RUN_EXPECTED), (
        f"defects not reported: {missed(report, RUN_EXPECTED)}\nreported:\n{report}"
    )
