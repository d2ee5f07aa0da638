"""capture: a child's or a thread's traceback becomes one printable line."""

from __future__ import annotations

import multiprocessing as mp
import sys
import threading

from ipc_helpers.capture import Captured, capture_stderr, child_stderr_to
from ipc_helpers.cleanup import stop


def test_captured_finds_exception_lines():
    text = "Traceback (most recent call last):\n  File x\nValueError: boom\nnoise\n"
    assert Captured(text).last_exception() == "ValueError: boom"
    assert Captured("").last_exception() == ""


def test_capture_stderr_collects_thread_output():
    def shout() -> None:
        print("KeyError: 'x'", file=sys.stderr)

    with capture_stderr() as cap:
        t = threading.Thread(target=shout)
        t.start()
        t.join(5)
    assert cap.last_exception() == "KeyError: 'x'"


def test_child_stderr_to_captures_a_child_traceback_under_every_method(tmp_path):
    path = tmp_path / "child.err"
    p = mp.Process(target=child_stderr_to, args=(str(path), int, "not a number"))
    p.start()
    assert stop([p], timeout=30) == [1]
    captured = Captured(path.read_text())
    assert captured.last_exception().startswith("ValueError: invalid literal for int()")
