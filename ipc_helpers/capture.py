"""Capture what children and background threads write to stderr.

A pitfall demo often *produces* a traceback somewhere you cannot see it: in a
child process started with ``spawn`` (it writes to file descriptor 2), or in a
queue's feeder thread (it writes to ``sys.stderr``). Both land in the notebook
in an order that depends on the start method and the Jupyter client, and full
of paths of the machine that ran it.

``capture_stderr()`` collects both into a string so the parent can print the
one line that matters, in a fixed place.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable

_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Warning|Exit)\b.*)$", re.MULTILINE)


@dataclass
class Captured:
    """The text written to stderr inside a ``capture_stderr()`` block."""

    text: str = ""
    lines: list[str] = field(default_factory=list)

    def exception_lines(self) -> list[str]:
        """Every ``SomeError: message`` line, in order (one per traceback)."""
        return [m.group(1).strip() for m in _EXCEPTION_LINE.finditer(self.text)]

    def last_exception(self) -> str:
        """The last ``SomeError: message`` line, or ``""`` if there was none."""
        found = self.exception_lines()
        return found[-1] if found else ""


@contextlib.contextmanager
def capture_stderr() -> Iterator[Captured]:
    """Redirect ``sys.stderr`` *and* file descriptor 2 into a ``Captured``.

    Use it around ``Process.start()`` and the wait that follows: a ``fork``
    or ``spawn`` child inherits descriptor 2 when it starts, and this
    process's threads write to ``sys.stderr``. The text is available after the
    block.

    A ``forkserver`` child does **not** inherit it: it is forked from the
    server, which kept the descriptor 2 it had when it was started. For a
    child whose stderr you need under every start method, run it through
    ``child_stderr_to(path, target, ...)`` and read the file.
    """
    result = Captured()
    _start_helpers_first()
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        # Python-level writes (this process's threads, fork children) go to the
        # same descriptor, so everything ends up in one file, in order.
        fd2_stream = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
        try:
            with contextlib.redirect_stderr(fd2_stream):
                yield result
        finally:
            with interrupts_deferred():  # never leave descriptor 2 redirected
                fd2_stream.flush()
                fd2_stream.close()
                os.dup2(saved_fd, 2)
                os.close(saved_fd)
            sink.seek(0)
            result.text = sink.read().decode("utf-8", errors="replace")
    result.lines = result.text.splitlines()


def _start_helpers_first() -> None:
    """Start the forkserver before descriptor 2 is redirected.

    The server keeps the descriptor 2 it starts with for good: started inside
    a ``capture_stderr()`` block, every later forkserver child would write
    its errors into a deleted file.
    """
    # The first of get_all_start_methods() is the default (without fixing it).
    method = mp.get_start_method(allow_none=True) or mp.get_all_start_methods()[0]
    if method == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold back ``KeyboardInterrupt`` until the block is done (main thread only).

    For short steps that must not be cut in half (restoring a descriptor,
    starting a thread whose end someone waits for): an interrupt meanwhile is
    raised when the block ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pending:
        raise KeyboardInterrupt


def child_stderr_to(path: str, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run ``target(*args, **kwargs)`` in this process with stderr sent to ``path``.

    Meant as a ``Process`` target: ``Process(target=child_stderr_to,
    args=(path, worker, 1, 2))``. Whatever the child writes to stderr, the
    traceback of an uncaught exception included, goes to the file ``path``
    under every start method, and the parent can read it after ``join``.
    """
    with open(path, "a", encoding="utf-8") as sink:
        os.dup2(sink.fileno(), 2)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
    return target(*args, **kwargs)
