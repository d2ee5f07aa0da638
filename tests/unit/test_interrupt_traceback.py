"""After Kernel → Interrupt: the short traceback, in a real IPython shell."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import types
from pathlib import Path

import pytest

from ipc_helpers import interrupt_traceback as short
from ipc_helpers import interrupts

pytestmark = pytest.mark.skipif(not interrupts.SIGNALS, reason="POSIX signals only")

#: Runs in a fresh process (IPython's shell is a process-wide singleton): a cell
#: interrupted (a real SIGINT) while it waits in the standard library's queue.
SHELL = r"""
import json, os, signal, sys, threading
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

config = Config()
config.HistoryManager.hist_file = ":memory:"
shell = InteractiveShell.instance(config=config, colors="nocolor")
import ipc_helpers  # installs the course's handlers in this shell
said = []
shell._showtraceback = lambda etype, value, stb: said.append(stb)
cell = '''import queue, os, signal, threading
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
queue.Queue().get(timeout=20)
'''
result = shell.run_cell(cell, store_history=True)
stored = getattr(shell.history_manager, "exceptions", {}).get(result.execution_count)
shell.run_line_magic("tb", "")
print(json.dumps({
    "error": type(result.error_in_exec).__name__,
    "last_value": type(sys.last_value).__name__,
    "shown": said[0],
    "stored": stored["traceback"] if stored else None,
    "tb": said[1] if len(said) > 1 else None,
}))
"""


def run_shell() -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SHELL], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_interrupt_shows_the_cell_the_count_of_library_frames_and_where_it_waited():
    said = run_shell()
    assert said["error"] == said["last_value"] == "KeyboardInterrupt"
    shown = said["shown"]
    assert shown[0].startswith("KeyboardInterrupt") and "%tb" in shown[0]
    assert shown[1] == "Cell In[1], line 3\n----> queue.Queue().get(timeout=20)"
    assert shown[2] == "... 1 frame in queue ..."
    assert shown[3].startswith(f"File {Path(sysconfig.get_paths()['stdlib'], 'threading.py')}:")
    assert ", in wait\n----> " in shown[3] and "acquire(" in shown[3]  # Condition.wait
    assert len(shown) == 4


def test_the_history_stores_the_short_one_and_percent_tb_shows_it_in_full():
    said = run_shell()
    if said["stored"] is not None:  # IPython 9 keeps each error's traceback
        assert said["stored"] == said["shown"]
    full = "\n".join(said["tb"])
    assert "queue.py" in full and "threading.py" in full and len(said["tb"]) > len(said["shown"])
    assert "... 1 frame in" not in full


@pytest.mark.parametrize(
    ("path", "package"),
    [
        ("/x/.venv/lib/python3.13/site-packages/matplotlib/pyplot.py", "matplotlib"),
        ("/x/.venv/lib/python3.13/site-packages/six.py", "six"),
        ("/usr/lib/python3/dist-packages/zmq/sugar/socket.py", "zmq"),
        (
            "/root/.pyenv/versions/3.13.0/lib/python3.13/multiprocessing/connection.py",
            "multiprocessing",
        ),
        ("/usr/lib/python3.13t/threading.py", "threading"),
        ("<frozen runpy>", "<frozen>"),
        (str(Path(short.COURSE, "queues.py")), ""),  # the course's: shown
        ("/home/learner/python3-course/notebooks/my_workers.py", ""),  # the learner's: shown
    ],
)
def test_library_frames_are_told_from_the_courses_and_the_learners(path, package):
    assert short._library(path) == package


def test_a_learners_own_handler_is_kept():
    callbacks: dict[str, list] = {"pre_run_cell": [], "post_run_cell": [], "post_execute": []}
    events = types.SimpleNamespace(
        callbacks=callbacks,
        register=lambda event, callback: callbacks[event].append(callback),
        unregister=lambda event, callback: callbacks[event].remove(callback),
    )

    def set_custom_exc(*args):
        raise AssertionError("the learner's handler was replaced")

    shell = types.SimpleNamespace(
        events=events, custom_exceptions=(ValueError,), set_custom_exc=set_custom_exc
    )
    interrupts.install(shell)
    interrupts.uninstall(shell)
    assert shell.custom_exceptions == (ValueError,)
