"""Every notebook, run by the real JupyterLab in headless Chromium, as a learner sees it.

nbval proves the kernel side of a notebook; it cannot see the page. A widget
that fails to render ("Error displaying widget"), a lab whose button does
nothing, a plot that never appears: all pass nbval. This test opens each
notebook of ``notebooks/`` (whatever is there) in JupyterLab and looks.

Running it
----------
``make test`` runs it (the ``browser`` stage of ``tests/run_suite.py``, once,
under the default start method; ``--notebooks 01_`` narrows it too). Alone::

    .venv/bin/python -m pytest tests/browser            # every notebook + the self-test
    .venv/bin/python -m pytest tests/browser -k 01_queue

It needs Debian's Chromium (``sudo apt-get install chromium``; ``.ci/run``
installs it) and the PyPI package ``playwright`` (``requirements-dev.txt``),
which drives that browser through ``executable_path``: no browser is ever
downloaded. Without Chromium the tests are skipped with that hint; under
``CI=true`` they fail instead. ``CHROMIUM_PATH`` may name another Chromium or
Chrome binary. The "browser timings" section at the end of the pytest output
gives the seconds of each phase per notebook, and what each lab responded to.

What one test does, for one notebook
------------------------------------
1. Copies the course (every file git tracks or would track) to a temporary
   folder: JupyterLab autosaves, and the committed notebooks must not change.
   The kernel imports ``ipc_helpers`` as installed in the venv.
2. Starts ``jupyter lab`` on 127.0.0.1 serving the folder ``make lab`` serves
   (read from the Makefile: a link that leaves that folder is broken for a
   learner, and here too), with a random token, fresh Jupyter directories,
   news and update checks off, and (Linux, root) a private 64 MB ``/dev/shm``
   (see ``lab_server.py``); and Chromium with a new, empty profile and its own
   temporary folder (flags in ``CHROMIUM_FLAGS``).
3. Opens the notebook, clears every output and runs all cells through
   JupyterLab's own commands (``notebook:clear-all-cell-outputs``,
   ``notebook:run-all-cells``), and waits, with a bound, until the kernel is
   idle. The kernel uses the platform's default start method (the three start
   methods are nbval's job). If an output shows a dask dashboard address
   (``http://127.0.0.1:PORT/status``, or ``/proxy/PORT/status`` as on Binder),
   the dashboard is opened once, through the server's ``jupyter-server-proxy``
   (``/proxy/PORT/status``, as on Binder), while the notebook runs.
4. Checks what the page shows:

   - every code cell ran (its prompt shows an execution count);
   - no error output, except in cells tagged ``raises-exception``;
   - every widget rendered (no "Error displaying widget", no ipywidgets error
     widget, none stuck at "Loading widget...");
   - every figure (matplotlib's images, and the pictures of the markdown
     cells) loaded and has a non-zero size; every picture a markdown cell's
     source asks for (``![...](...)``, ``<img>``) is on the page (a link
     broken across lines shows as raw text);
   - every link of the markdown cells works: a link to a file answers from the
     server (not 404), a link to a heading of the notebook finds it (links to
     other sites are not followed: the test is offline);
   - every lab (a panel made by ``ipc_helpers.labs.panel.make_panel``):
     pressing Run shows a result without an error in the panel's status line,
     within ``LAB_RUN_TIMEOUT``; then changing one control (the first one whose
     change alters the result, as a learner would: a key on a slider, a click,
     a choice in a list) and pressing Run again changes the output or plot;
   - a notebook that starts a dask ``Client`` showed its dashboard, and the
     dashboard page loaded;
   - no child process of the kernel is still alive (multiprocessing's resource
     tracker and forkserver server excepted; a forkserver worker counts);
   - the browser console shows no error (``BENIGN_CONSOLE_ERRORS`` would list
     the allowed ones, each with its reason; none is needed today).

5. Saves screenshots in ``tests/browser/artifacts/``: ``<notebook>.png`` (the
   top of the notebook), ``<notebook>-sNN-<section>.png`` for every section
   (a level-1 or level-2 heading) that shows a figure or a lab, in parts of at
   most ``SECTION_SHOT`` pixels, at the page's real scale (1280 px wide);
   ``<notebook>-lab<N>.png`` (each lab after it was used) and
   ``<notebook>-dashboard.png``. A review can be done from them alone.
6. Shuts the kernel and the server down gracefully, then checks that no
   process of the server, of its kernels or of the browser survives, and that
   nothing is left in ``/dev/shm`` or in the browser's temporary folder.

``test_checks_fail.py`` proves that these checks can fail: a notebook broken
in each of these ways is caught.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import re
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Callable

import psutil
import pytest

from ..chromium import CHROMIUM_FLAGS
from . import page_scripts as js
from .conftest import BrowserTools
from .lab_server import ROOT, SHM, LabServer, copy_course, make_lab_root, names_in

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

CHROMIUM_SHM = (".org.chromium.",)  # how Chromium names its files in /dev/shm
VIEWPORT = {"width": 1280, "height": 900}
SECTION_SHOT = 2400  # pixels of notebook per section screenshot: readable when opened

#: Seconds: page and kernel start, "Run All" of one notebook, one press of a lab's Run,
#: loading the dask dashboard.
OPEN_TIMEOUT = 60
RUN_ALL_TIMEOUT = 180
LAB_RUN_TIMEOUT = 60
DASHBOARD_TIMEOUT = 30

#: Console errors that are not the course's fault, each with the reason it is harmless.
#: (pattern matched against "text @ url"; keep this list short and explained.)
BENIGN_CONSOLE_ERRORS: list[tuple[str, str]] = []


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_in_jupyterlab(notebook, tmp_path, browser_tools):
    problems = run_in_jupyterlab([notebook], tmp_path, browser_tools)
    assert not problems, f"{notebook.name} in JupyterLab:\n- " + "\n- ".join(problems)


def run_in_jupyterlab(
    notebooks: list[Path],
    tmp_path: Path,
    tools: BrowserTools,
    while_open: Callable[[Path], None] | None = None,
) -> list[str]:
    """Run each of ``notebooks`` (course notebooks, or others added to the copy) in one
    JupyterLab in Chromium, one after the other; return every problem found, as
    sentences (empty when all is well). With several notebooks each problem starts
    with the notebook's name. ``while_open(browser_tmp)`` runs while the browser is
    open (the self-test leaves a process and a file behind there, as a crashed
    Chromium would)."""
    course = copy_course(tmp_path / "course", extras=notebooks)
    server = LabServer(course, tmp_path / "jupyter")
    # Playwright's and Chromium's temporary files; a short path, as Chromium puts a Unix
    # socket there (at most 107 bytes).
    browser_tmp = Path(tempfile.mkdtemp(prefix="e2e-browser-"))
    ours_before = {p.pid for p in psutil.Process().children(recursive=True)}
    chromium_shm_before = names_in(SHM, CHROMIUM_SHM)
    problems: list[str] = []
    clock = Clock()
    try:
        server.start()  # it boots while Chromium starts
        with environment(TMPDIR=str(browser_tmp)):  # read when Playwright's driver starts
            playwright = tools.sync_playwright().start()
        try:
            browser = playwright.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"),  # new and empty
                executable_path=tools.chromium,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport=VIEWPORT,
            )
            try:
                server.wait_until_ready()
                clock.lap("server and browser start")
                page = browser.pages[0] if browser.pages else browser.new_page()
                for notebook in notebooks:
                    found = check_notebook(
                        page, server, course / "notebooks" / notebook.name, tools.artifacts, clock
                    )
                    named = len(notebooks) > 1
                    problems += [f"{notebook.name}: {p}" if named else p for p in found]
                if while_open is not None:
                    while_open(browser_tmp)
            finally:
                browser.close()
        finally:
            playwright.stop()
    finally:
        problems += server.stop()
        problems += leftover_processes(ours_before)
        problems += leftover_files(browser_tmp, chromium_shm_before)
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)  # tens of MB
        clock.lap("stop and checks")
        tools.timings.append((", ".join(n.name for n in notebooks), clock))
    return problems


def leftover_files(browser_tmp: Path, chromium_shm_before: set[str]) -> list[str]:
    """Files Chromium or Playwright left in their temporary folder or in /dev/shm (reported,
    then removed)."""
    in_shm = sorted(names_in(SHM, CHROMIUM_SHM) - chromium_shm_before)
    left = in_shm + [str(p) for p in browser_tmp.iterdir()]
    for name in in_shm:
        (SHM / name).unlink(missing_ok=True)
    shutil.rmtree(browser_tmp, ignore_errors=True)
    return [f"Chromium or Playwright left files behind: {left}"] if left else []


@contextlib.contextmanager
def environment(**values: str):
    """Set environment variables for the duration of a ``with`` block."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Clock:
    """Seconds spent in each phase of a test (the "browser timings" section shows them)."""

    def __init__(self) -> None:
        self.laps: list[tuple[str, float]] = []
        self.notes: list[str] = []  # what the labs responded to
        self.start = self.last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps.append((name, now - self.last))
        self.last = now

    def __str__(self) -> str:
        parts = [f"{name} {seconds:.1f} s" for name, seconds in self.laps]
        return ", ".join(parts) + f"; total {self.last - self.start:.1f} s"


def check_notebook(page, server: LabServer, file: Path, artifacts: Path, clock: Clock) -> list[str]:
    """Open, run and inspect one notebook (``file``, in the course copy) in the page;
    return the problems found."""
    console: list[str] = []

    def on_console(msg) -> None:
        if msg.type == "error":
            console.append(console_line(msg))

    def on_error(exc) -> None:
        console.append(f"uncaught exception: {exc}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    stem = file.stem
    for old in [artifacts / f"{stem}.png", *artifacts.glob(f"{stem}-*.png")]:
        old.unlink(missing_ok=True)  # screenshots of an earlier run
    dashboard = Dashboard(page, server, artifacts / f"{stem}-dashboard.png")

    problems = open_and_run(page, server, server.path_of(file), clock, dashboard)
    if not problems:
        problems += check_cells(page.evaluate(js.CELL_REPORT))
        problems += check_links(page)
        problems += check_labs(page, stem, artifacts, clock)
        problems += dashboard.problems(expected=starts_dask_client(file))
        clock.lap("labs, links")
    strays = server.stray_children()
    problems += [f"a child process of the kernel is still alive: {s}" for s in strays]
    try:
        save_screenshots(page, artifacts, stem)  # also, and above all, when something failed
    except Exception as exc:  # noqa: BLE001 - the problems found matter more than the picture
        problems.append(f"no screenshot: {exc}")
    clock.lap("screenshots")
    problems += [f"browser console error: {line}" for line in console if not is_benign(line)]
    page.remove_listener("console", on_console)
    page.remove_listener("pageerror", on_error)
    return problems


def open_and_run(
    page, server: LabServer, path: str, clock: Clock, dashboard: Dashboard
) -> list[str]:
    """Open the notebook, clear its outputs and run all its cells; [] or the problem."""
    page.goto(server.lab_url(path), timeout=OPEN_TIMEOUT * 1000)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=OPEN_TIMEOUT * 1000)
    opened = page.evaluate(js.OPEN_NOTEBOOK, {"path": path, "timeoutMs": OPEN_TIMEOUT * 1000})
    if "error" in opened:
        return [f"{opened['error']} within {OPEN_TIMEOUT} s\n{server.log_tail()}"]
    clock.lap("page and kernel")
    not_cleared = page.evaluate(js.CLEAR_AND_RUN_ALL)
    if not_cleared:
        return [f"{not_cleared} code cell(s) kept their outputs after 'Clear All Outputs'"]
    problem = wait_for_run_all(page, dashboard.look)
    if problem:
        return [problem]
    wait_for(page, js.IMAGES_SETTLED, timeout=10)
    clock.lap("run all")
    return []


def console_line(msg) -> str:
    where = msg.location.get("url", "") if msg.location else ""
    return f"{msg.text} @ {where}" if where else msg.text


def is_benign(line: str) -> bool:
    return any(re.search(pattern, line) for pattern, _reason in BENIGN_CONSOLE_ERRORS)


def wait_for(page, script: str, timeout: float, arg=None) -> bool:
    """Poll ``script`` until it returns true; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(script, arg):
            return True
        page.wait_for_timeout(100)
    return False


def wait_for_run_all(page, each_poll: Callable[[], None] = lambda: None) -> str | None:
    """Wait until Run All is done and the kernel idle (twice in a row, 0.2 s apart),
    calling ``each_poll()`` at every look.

    Returns None, or what went wrong: the kernel died (even if it was restarted since),
    or it was still busy at the bound.
    """
    deadline = time.monotonic() + RUN_ALL_TIMEOUT
    quiet = 0
    while time.monotonic() < deadline:
        state = page.evaluate(js.RUN_STATE)
        died = [s for s in state["statuses"] if s in {"dead", "autorestarting", "restarting"}]
        if died:
            return f"the kernel died during Run All (its status went {' → '.join(died)})"
        each_poll()
        done = state["commandDone"] and state["running"] == 0 and state["kernel"] == "idle"
        quiet = quiet + 1 if done else 0
        if quiet >= 2:
            return None
        page.wait_for_timeout(200)
    return f"Run All did not finish within {RUN_ALL_TIMEOUT} s ({state['running']} cell(s) running)"


def check_cells(cells: list[dict]) -> list[str]:
    """Problems in what the page shows for each cell (see CELL_REPORT)."""
    problems = []
    for cell in cells:
        # Numbered from 1, as a person counts, with the cell's first line to find it by.
        where = f"cell {cell['index'] + 1} ({cell['head'][:50]!r})"
        if cell["type"] == "markdown":
            problems += [
                f"{where}: the picture {image['src']} is not shown "
                f"(natural size {image['natural']}, on the page {image['shown']})"
                for image in cell["images"]
                if not is_shown(image)
            ]
            if cell["intendedImages"] > len(cell["images"]):
                raw = cell["rawImageText"]
                problems.append(
                    f"{where}: the markdown asks for {cell['intendedImages']} picture(s) but "
                    f"{len(cell['images'])} are on the page"
                    + (
                        f"; it shows the raw text {raw!r} (a line break inside the link?)"
                        if raw
                        else ""
                    )
                )
            continue
        if cell["type"] != "code" or cell["blank"]:
            continue  # JupyterLab does not execute an empty cell
        prompt_ok = cell["inputHidden"] or re.fullmatch(r"\[\d+\]:", cell["prompt"])
        if cell["executionCount"] is None or not prompt_ok:
            problems.append(f"{where} did not run (prompt {cell['prompt']!r})")
        if cell["errors"] and "raises-exception" not in cell["tags"]:
            problems.append(f"{where} shows an error: {'; '.join(cell['errors'])}")
        problems += [f"{where}: a widget shows {text[:100]!r}" for text in cell["widgetErrors"]]
        if cell["renderedWidgets"] != cell["widgetOutputs"]:
            problems.append(
                f"{where}: {cell['widgetOutputs']} widget(s) in the outputs but "
                f"{cell['renderedWidgets']} rendered"
            )
        if cell["topFigures"] != cell["imageOutputs"]:
            problems.append(
                f"{where}: {cell['imageOutputs']} figure(s) in the outputs but "
                f"{cell['topFigures']} rendered"
            )
        problems += [
            f"{where}: a figure is not shown (natural size {figure['natural']}, "
            f"on the page {figure['shown']})"
            for figure in cell["figures"]
            if not is_shown(figure)
        ]
    return problems


def is_shown(image: dict) -> bool:
    """Loaded, with a size of its own and a size on the page (see CELL_REPORT)."""
    return image["complete"] and min(image["natural"]) > 0 and min(image["shown"]) > 0


def check_links(page) -> list[str]:
    """Follow every link of the markdown cells (see LINKS); the broken ones, as problems.

    A link to a file must answer from the server (the page resolved it from the
    notebook's folder, inside the folder ``make lab`` serves); a link to a heading
    of this notebook must find it. Links to other sites are not followed.
    """
    problems = []
    answers: dict[str, int] = {}
    for link in page.evaluate(js.LINKS):
        where = f"cell {link['index'] + 1} ({link['head'][:50]!r})"
        what = f"the link {link['text']!r} ({link['written']})"
        if link["here"]:
            if not link["targetExists"]:
                problems.append(f"{where}: {what} points to no heading of this notebook")
            continue
        if link["unresolved"]:  # JupyterLab could not resolve it and emptied its href
            problems.append(f"{where}: {what} is broken: JupyterLab could not resolve it")
            continue
        if not link["sameOrigin"]:
            continue  # another site: the test is offline
        url = link["url"].split("#")[0]
        if url not in answers:
            answers[url] = page.request.get(url, timeout=10_000).status
        if answers[url] != 200:
            path = url.split("?")[0].split("/", 3)[-1]
            problems.append(
                f"{where}: {what} is broken: /{path} answers HTTP {answers[url]} (the server's "
                f"root is the course's {make_lab_root()!r} folder, as under `make lab`)"
            )
    return problems


# -- dask ------------------------------------------------------------------------------


def starts_dask_client(notebook: Path) -> bool:
    """True if a code cell of ``notebook`` imports dask or dask.distributed."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    code = "\n".join(
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in nb["cells"]
        if c["cell_type"] == "code"
    )
    return re.search(r"^\s*(from|import)\s+(dask|distributed)\b", code, re.MULTILINE) is not None


class Dashboard:
    """Opens the dask dashboard once, while the notebook runs (it closes its cluster at
    the end), as soon as it can be found.

    Its address is the notebook's client's: shown in an output (the client's repr, a
    printed ``dashboard_link``, ``/proxy/PORT/status``), or else found where the
    client serves it, a port on which the kernel process itself listens (a
    ``LocalCluster`` runs its scheduler, dashboard included, in the kernel) on which
    the scheduler's web server answers. The page is opened the way Binder serves it: through the
    server's ``jupyter-server-proxy`` at ``/proxy/PORT/status``, in a second tab.
    """

    def __init__(self, page, server: LabServer, screenshot: Path) -> None:
        self.page, self.server, self.screenshot = page, server, screenshot
        self.port: int | None = None
        self.found: list[str] = []
        self.tried: set[int] = set()
        self.next_look = 0.0

    def look(self) -> None:
        """Called while Run All runs (at most once a second): find the dashboard, open it."""
        if self.port is not None or time.monotonic() < self.next_look:
            return
        self.next_look = time.monotonic() + 1.0
        port = self.page.evaluate(js.DASHBOARD_PORT) or self.served_by_kernel()
        if port:
            self.port = port
            self.found = self.visit(port)

    def served_by_kernel(self) -> int | None:
        """A port a kernel listens on (not one of its Jupyter channels) that answers as the
        dask dashboard does."""
        for kernel in self.server.remember_processes():
            for port in sorted(listening_ports(kernel) - jupyter_ports(kernel) - self.tried):
                self.tried.add(port)
                if answers_as_dashboard(port):
                    return port
        return None

    def visit(self, port: int) -> list[str]:
        url = f"http://127.0.0.1:{self.server.port}/proxy/{port}/status"
        tab = self.page.context.new_page()
        try:
            response = tab.goto(url, timeout=DASHBOARD_TIMEOUT * 1000)
            if response is None or response.status != 200:
                status = response.status if response else "no answer"
                return [f"the dask dashboard at /proxy/{port}/status answered {status}"]
            title = tab.title()
            if "dask" not in title.lower():
                return [f"/proxy/{port}/status is not the dask dashboard (title {title!r})"]
            # Its plots are Bokeh documents fed through a websocket, proxied too.
            drawn = wait_for(tab, js.CANVASES, 20)
            tab.wait_for_timeout(1000)  # a second of the task stream
            tab.screenshot(path=str(self.screenshot))
            if not drawn:
                return [
                    f"the dask dashboard at /proxy/{port}/status drew no plot within 20 s "
                    "(its websocket through jupyter-server-proxy?)"
                ]
            return []
        except Exception as exc:  # noqa: BLE001 - a dashboard that does not load is the finding
            return [f"the dask dashboard at /proxy/{port}/status did not load: {exc}"]
        finally:
            tab.close()

    def problems(self, expected: bool) -> list[str]:
        if expected and self.port is None:
            return [
                "the notebook uses dask but its dashboard was never found while it ran (not "
                "in an output, not on a port of the kernel where a dask scheduler answers)"
            ]
        return self.found


def listening_ports(proc: psutil.Process) -> set[int]:
    try:
        connections = proc.net_connections(kind="tcp")
    except psutil.Error:
        return set()
    return {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN}


def jupyter_ports(kernel: psutil.Process) -> set[int]:
    """The kernel's own channels (shell, iopub, ...), from its connection file."""
    try:
        cmdline = kernel.cmdline()
        connection = json.loads(Path(cmdline[cmdline.index("-f") + 1]).read_text())
    except (psutil.Error, ValueError, IndexError, OSError):
        return set()
    return {v for k, v in connection.items() if k.endswith("_port") and isinstance(v, int)}


def answers_as_dashboard(port: int) -> bool:
    """The dask scheduler's web server answers ``/json/identity.json`` (cheaper than the
    ``/status`` page itself) with ``"type": "Scheduler"``."""
    url = f"http://127.0.0.1:{port}/json/identity.json"
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            return answer.status == 200 and json.loads(answer.read()).get("type") == "Scheduler"
    except (OSError, ValueError, http.client.HTTPException):
        return False


# -- labs ------------------------------------------------------------------------------


def check_labs(page, stem: str, artifacts: Path, clock: Clock) -> list[str]:
    """Use every lab panel like a learner; the problems found (what worked goes to ``clock``)."""
    problems = []
    for number, panel in enumerate(page.evaluate(js.MARK_PANELS)):
        box = page.locator(f'[data-e2e-panel="{number}"]')
        box.scroll_into_view_if_needed()
        ok, outcome = use_lab(page, box, panel["controls"])
        where = f"lab {panel['title']!r}"
        if ok:
            clock.notes.append(f"{where} {outcome}")
        else:
            problems.append(f"{where}: {outcome}")
        screenshot_of(page, box, artifacts / f"{stem}-lab{number + 1}.png")
    return problems


def use_lab(page, box, controls: list[dict]) -> tuple[bool, str]:
    """Press Run; then change one control after another until Run shows something else.

    Returns (True, "responds to <change>") or (False, what went wrong).
    """
    before, problem = press_run(page, box)
    if problem:
        return False, problem
    tried = []
    for index, control in enumerate(controls):
        label = control["label"] or f"control {index + 1}"
        change = change_control(box.locator(f'> [data-e2e-control="{index}"]'), label)
        if change is None:
            tried.append(f"{label}: cannot be changed")
            continue
        wait_for_kernel_idle(page)  # the change has reached the kernel
        after, problem = press_run(page, box)
        if problem:
            return False, f"after {change}: {problem}"
        if (after["text"], after["images"]) != (before["text"], before["images"]):
            return True, f"responds to {change}"
        tried.append(f"{change}: same output")
        before = after
    return False, f"no control changed its output ({'; '.join(tried)})"


def press_run(page, box) -> tuple[dict, str | None]:
    """Press the panel's Run button and wait until the lab is done; (state, problem)."""
    box.evaluate(js.WATCH_BUTTON)
    box.locator("> .widget-hbox > button").click()
    deadline = time.monotonic() + LAB_RUN_TIMEOUT
    while time.monotonic() < deadline:
        if box.evaluate(js.RUN_FINISHED):
            break
        page.wait_for_timeout(100)
    else:
        return {}, f"pressing Run did not finish within {LAB_RUN_TIMEOUT} s"
    state = box.evaluate(js.PANEL_STATE)
    if state["status"]:
        return state, f"Run reported {state['status']!r}"
    if not state["text"].strip() and not state["images"]:
        return state, "Run showed nothing"
    for figure in state["figures"]:
        if not is_shown(figure):
            return state, f"a figure is not shown ({figure})"
    return state, None


def wait_for_kernel_idle(page, timeout: float = 10) -> None:
    """Give a widget change time to reach the kernel (it is sent at once) and be applied."""
    page.wait_for_timeout(300)
    wait_for(page, js.KERNEL_IDLE, timeout)


def change_control(control, name: str) -> str | None:
    """Change one control as a learner would; a description like "n: 5 → 6", or None."""
    classes = control.get_attribute("class") or ""
    before = control.evaluate(js.CONTROL_STATE)
    if "widget-slider" in classes:
        handle = control.locator(".noUi-handle").first
        for key in ("ArrowRight", "ArrowLeft"):  # at the maximum, go left
            handle.press(key)
            if control.evaluate(js.CONTROL_STATE) != before:
                break
    elif control.locator("select").count():
        select = control.locator("select").first
        current = select.input_value()
        options = select.locator("option").evaluate_all("(os) => os.map((o) => o.value)")
        others = [value for value in options if value != current]
        if others:
            select.select_option(others[0])
    elif "widget-checkbox" in classes:
        control.locator("input[type=checkbox]").click()
    elif "widget-toggle-buttons" in classes:
        inactive = control.locator("button:not(.mod-active)")
        if inactive.count():
            inactive.first.click()
    elif "widget-radio" in classes:
        unchecked = control.locator("input[type=radio]:not(:checked)")
        if unchecked.count():
            unchecked.first.check()
    elif "widget-toggle-button" in classes:
        control.click()
    elif control.locator("input[type=number]").count():
        field = control.locator("input[type=number]").first
        value = float(field.input_value() or 0)
        step_attribute = field.get_attribute("step")
        step = 1.0 if step_attribute in (None, "", "any") else float(step_attribute)
        for candidate in (value + step, value - step):
            field.fill(format_number(candidate))
            field.press("Enter")
            if control.evaluate(js.CONTROL_STATE) != before:
                break
    else:
        return None
    after = control.evaluate(js.CONTROL_STATE)
    if after == before:
        return None
    return f"{name}: {describe_state(before)} → {describe_state(after)}"


def format_number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def describe_state(state: str) -> str:
    data = json.loads(state)
    shown = data["readout"] or data["sliders"] or data["values"] or data["active"]
    return ", ".join(str(v) for v in shown) if shown else state


# -- evidence and cleanup ----------------------------------------------------------------


def save_screenshots(page, artifacts: Path, stem: str) -> None:
    """``<stem>.png``, the top of the notebook; and ``<stem>-sNN-<title>.png`` for every
    section that shows a figure or a lab, in parts of at most SECTION_SHOT pixels."""
    page.evaluate(js.SCROLL_NOTEBOOK, 0)
    page.wait_for_timeout(100)
    page.screenshot(path=str(artifacts / f"{stem}.png"))
    _, around = page.evaluate(js.NOTEBOOK_HEIGHT)
    for number, section in enumerate(page.evaluate(js.SECTIONS), start=1):
        if not (section["figures"] or section["labs"]):
            continue
        name = f"{stem}-s{number:02d}-{slug(section['title'])}"
        height = section["bottom"] - section["top"]
        parts = max(1, math.ceil(height / SECTION_SHOT))
        page.set_viewport_size(
            {"width": VIEWPORT["width"], "height": int(min(height, SECTION_SHOT) + around)}
        )
        page.wait_for_timeout(200)  # relayout
        for part in range(parts):
            page.evaluate(js.SCROLL_NOTEBOOK, section["top"] + part * SECTION_SHOT)
            page.wait_for_timeout(100)
            suffix = f"-part{part + 1}" if parts > 1 else ""
            page.screenshot(path=str(artifacts / f"{name}{suffix}.png"))
    page.set_viewport_size(VIEWPORT)


def slug(title: str) -> str:
    """A file-name part from a section title: ``4. Pitfall: a worker`` → ``4-pitfall-a-worker``."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    return "-".join(words)[:40] or "untitled"


def screenshot_of(page, element, path: Path) -> None:
    """A screenshot of one element (a lab), the page made tall enough to show all of it."""
    height = element.bounding_box()["height"]
    page.set_viewport_size({"width": VIEWPORT["width"], "height": int(height) + VIEWPORT["height"]})
    element.scroll_into_view_if_needed()
    page.wait_for_timeout(200)  # relayout
    element.screenshot(path=str(path))
    page.set_viewport_size(VIEWPORT)


def leftover_processes(before: set[int]) -> list[str]:
    """Processes started by this test (Chromium, Playwright's driver) still alive after it."""
    new = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    _, alive = psutil.wait_procs(new, timeout=10)
    problems = []
    for proc in alive:
        try:
            problems.append(
                f"process left by the test: {proc.pid} {' '.join(proc.cmdline())[:120]}"
            )
            proc.kill()
        except psutil.Error:
            pass
    return problems
