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
1. Copies the course (``notebooks/`` with its figures, ``README.md``) to a
   temporary folder: JupyterLab autosaves, and the committed notebooks must not
   change. The kernel imports ``ipc_helpers`` as installed in the venv.
2. Starts ``jupyter lab`` on 127.0.0.1 with a random token, fresh Jupyter
   directories, news and update checks off, and (Linux, root) a private 64 MB
   ``/dev/shm`` (see ``lab_server.py``); and Chromium with a new, empty
   profile and its own temporary folder (flags in ``CHROMIUM_FLAGS``).
3. Opens the notebook, clears every output and runs all cells through
   JupyterLab's own commands (``notebook:clear-all-cell-outputs``,
   ``notebook:run-all-cells``), and waits, with a bound, until the kernel is
   idle. The kernel uses the platform's default start method (the three start
   methods are nbval's job).
4. Checks what the page shows:

   - every code cell ran (its prompt shows an execution count);
   - no error output, except in cells tagged ``raises-exception``;
   - every widget rendered (no "Error displaying widget", no ipywidgets error
     widget, none stuck at "Loading widget...");
   - every figure (matplotlib's images, and the pictures of the markdown
     cells) loaded and has a non-zero size on the page;
   - every lab (a panel made by ``ipc_helpers.labs.panel.make_panel``):
     pressing Run shows a result without an error in the panel's status line;
     then changing one control (the first one whose change alters the result,
     as a learner would: a key on a slider, a click, a choice in a list) and
     pressing Run again changes the output or plot;
   - no child process of the kernel is still alive;
   - the browser console shows no error (``BENIGN_CONSOLE_ERRORS`` would list
     the allowed ones, each with its reason; none is needed today).

5. Saves ``tests/browser/artifacts/<notebook>.png`` (the whole notebook, top
   to bottom, continued in ``<notebook>-part2.png``... when it is long) and
   ``<notebook>-lab<N>.png`` (each lab after it was used): look at them to see
   what a learner sees.
6. Shuts the kernel and the server down gracefully, then checks that no
   process of the server, of its kernels or of the browser survives, and that
   nothing is left in ``/dev/shm`` or in the browser's temporary folder.

``test_checks_fail.py`` proves that these checks can fail: a notebook broken
in each of these ways is caught.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from . import page_scripts as js
from .conftest import BrowserTools
from .lab_server import ROOT, SHM, LabServer, copy_course, names_in

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

#: Flags for Chromium on a shared, offline, headless machine (Playwright adds its own).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # runs as root in containers and CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # Docker-sized /dev/shm (64 MB): Chromium uses /tmp instead
]
CHROMIUM_SHM = (".org.chromium.",)  # how Chromium names its files in /dev/shm
VIEWPORT = {"width": 1280, "height": 900}
SHOT_HEIGHT = 8000  # pixels of notebook per screenshot (Chromium's limit is near 16384)

#: Seconds: page and kernel start, "Run All" of one notebook, one press of a lab's Run.
OPEN_TIMEOUT = 60
RUN_ALL_TIMEOUT = 180
LAB_RUN_TIMEOUT = 60

#: Console errors that are not the course's fault, each with the reason it is harmless.
#: (pattern matched against "text @ url"; keep this list short and explained.)
BENIGN_CONSOLE_ERRORS: list[tuple[str, str]] = []


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_in_jupyterlab(notebook, tmp_path, browser_tools):
    problems = run_in_jupyterlab(notebook, tmp_path, browser_tools)
    assert not problems, f"{notebook.name} in JupyterLab:\n- " + "\n- ".join(problems)


def run_in_jupyterlab(notebook: Path, tmp_path: Path, tools: BrowserTools) -> list[str]:
    """Run ``notebook`` (a course notebook, or another one added to the copy) in JupyterLab
    in Chromium; return every problem found, as sentences (empty when all is well)."""
    course = copy_course(tmp_path / "course", extra=notebook)
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
                problems += check_notebook(page, server, notebook.name, tools.artifacts, clock)
            finally:
                browser.close()
        finally:
            playwright.stop()
    finally:
        problems += server.stop()
        problems += leftover_processes(ours_before)
        left = sorted(names_in(SHM, CHROMIUM_SHM) - chromium_shm_before)
        left += [str(p) for p in browser_tmp.iterdir()]
        shutil.rmtree(browser_tmp, ignore_errors=True)
        shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)  # tens of MB
        if left:
            problems.append(f"Chromium or Playwright left files behind: {left}")
        clock.lap("stop and checks")
        tools.timings.append((notebook.name, clock))
    return problems


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


def check_notebook(page, server: LabServer, name: str, artifacts: Path, clock: Clock) -> list[str]:
    """Open, run and inspect one notebook in the page; return the problems found."""
    console: list[str] = []
    page.on(
        "console", lambda msg: console.append(console_line(msg)) if msg.type == "error" else None
    )
    page.on("pageerror", lambda exc: console.append(f"uncaught exception: {exc}"))
    stem = Path(name).stem
    for old in [artifacts / f"{stem}.png", *artifacts.glob(f"{stem}-*.png")]:
        old.unlink(missing_ok=True)  # screenshots of an earlier run

    problems = open_and_run(page, server, f"notebooks/{name}", clock)
    if not problems:
        problems += check_cells(page.evaluate(js.CELL_REPORT))
        problems += check_labs(page, stem, artifacts, clock)
        clock.lap("labs")
    strays = server.stray_children()
    problems += [f"a child process of the kernel is still alive: {s}" for s in strays]
    try:
        save_screenshots(page, artifacts, stem)  # also, and above all, when something failed
    except Exception as exc:  # noqa: BLE001 - the problems found matter more than the picture
        problems.append(f"no screenshot: {exc}")
    clock.lap("screenshot")
    problems += [f"browser console error: {line}" for line in console if not is_benign(line)]
    return problems


def open_and_run(page, server: LabServer, path: str, clock: Clock) -> list[str]:
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
    problem = wait_for_run_all(page)
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


def wait_for_run_all(page) -> str | None:
    """Wait until Run All is done and the kernel idle (twice in a row, 0.2 s apart).

    Returns None, or what went wrong: the kernel died, or it was still busy at the bound.
    """
    deadline = time.monotonic() + RUN_ALL_TIMEOUT
    quiet = 0
    while time.monotonic() < deadline:
        state = page.evaluate(js.RUN_STATE)
        if state["kernel"] in {"dead", "autorestarting", "restarting"}:
            return f"the kernel died during Run All (status {state['kernel']!r})"
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
            continue
        if cell["type"] != "code" or cell["blank"]:
            continue  # JupyterLab does not execute an empty cell
        if cell["executionCount"] is None or not re.fullmatch(r"\[\d+\]:", cell["prompt"]):
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
    """The whole notebook, top to bottom: ``<stem>.png``, then ``<stem>-part2.png``... when
    the notebook is taller than one screenshot can be."""
    content, around = page.evaluate(js.NOTEBOOK_HEIGHT)
    visible = max(min(content, SHOT_HEIGHT), VIEWPORT["height"] - around)
    page.set_viewport_size({"width": VIEWPORT["width"], "height": visible + around})
    page.wait_for_timeout(300)  # relayout
    for part in range(math.ceil(content / visible)):
        page.evaluate(js.SCROLL_NOTEBOOK, part * visible)
        page.wait_for_timeout(100)
        name = f"{stem}.png" if part == 0 else f"{stem}-part{part + 1}.png"
        page.screenshot(path=str(artifacts / name))
    page.set_viewport_size(VIEWPORT)


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
