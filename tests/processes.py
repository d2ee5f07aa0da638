"""Processes and ``/dev/shm`` entries of a test run: one definition for every harness.

The notebook harness (``tests/notebook_harness.py``), the suite runner
(``tests/run_suite.py``), the browser tests and the interrupt stage all ask
the same questions, and answer them here:

- ``IPC_PREFIXES`` and ``ipc_entries()``: the names multiprocessing gives its
  ``/dev/shm`` entries (``psm_*`` segments, ``sem.mp-*`` semaphores), taken
  from ``ipc_helpers.cleanup``, the package's own definition;
- ``private_shm_prefix()``: a command prefix that runs a command with its own
  64 MB ``/dev/shm`` (Binder's size), where the machine allows it;
- ``is_mp_helper()`` and ``strays()``: which descendants of a kernel are
  multiprocessing's long-lived helpers and which are leftovers;
- ``child_start_method()``: the start method a worker of this process really
  gets (the harness compares it with the stage's).

Telling a forkserver *server* from a forkserver *worker*: both run
``python -c 'from multiprocessing.forkserver import main; ...'`` (a worker
is a plain ``fork()`` of the server, so it keeps the server's command line).
The server's parent is the process that started it (a kernel, a test), while
a worker's parent is the server. So a forkserver process is the server only
if its parent is not a forkserver process itself.
"""

from __future__ import annotations

import functools
import multiprocessing
import shutil
import subprocess
import sys
from pathlib import Path

import psutil

from ipc_helpers.cleanup import IPC_PREFIXES

__all__ = [
    "IPC_PREFIXES",
    "SHM",
    "child_start_method",
    "describe",
    "ipc_entries",
    "is_mp_helper",
    "private_shm_prefix",
    "strays",
]

SHM = Path("/dev/shm")
RESOURCE_TRACKER = "multiprocessing.resource_tracker"
FORKSERVER = "multiprocessing.forkserver"
#: ``sh -c`` script of the private /dev/shm: mount a fresh tmpfs, then run the command.
_MOUNT_SHM = 'mount -t tmpfs -o size=64m,mode=1777 tmpfs /dev/shm && exec "$@"'
PRIVATE_SHM = ("unshare", "--mount", "--propagation", "private", "sh", "-c", _MOUNT_SHM, "sh")


def ipc_entries(directory: Path = SHM) -> set[str]:
    """Names of the ``psm_*`` and ``sem.mp-*`` entries in ``directory`` (empty if none)."""
    try:
        return {p.name for p in directory.iterdir() if p.name.startswith(IPC_PREFIXES)}
    except OSError:
        return set()


@functools.cache
def private_shm_prefix() -> tuple[str, ...]:
    """``unshare ... sh -c 'mount tmpfs on /dev/shm; exec "$@"' sh``, or ``()`` where impossible.

    Linux only, and only where this user may make a mount namespace (root, or
    unprivileged user namespaces): probed once by running ``true`` through it.
    ``exec`` keeps the pid: the command's pid is the prefix's pid.
    """
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return ()
    probe = subprocess.run([*PRIVATE_SHM, "true"], capture_output=True, timeout=30, check=False)
    return PRIVATE_SHM if probe.returncode == 0 else ()


def _cmdline(proc: psutil.Process) -> str:
    return " ".join(proc.cmdline())


def describe(proc: psutil.Process) -> str:
    """``pid N: its command line`` (shortened), for messages."""
    try:
        return f"pid {proc.pid}: {_cmdline(proc)[:160]}"
    except psutil.Error:
        return f"pid {proc.pid} (gone)"


def is_mp_helper(proc: psutil.Process) -> bool:
    """True for multiprocessing's long-lived helpers: the resource tracker, the forkserver server.

    A forkserver *worker* (a ``Process`` started under forkserver, a pool
    worker, a manager's server) is not a helper: it is what the leak checks
    look for. A process that is already gone (or a zombie, dead but not yet
    reaped) counts as a helper: there is nothing left to report.
    """
    try:
        cmdline = _cmdline(proc)
        if RESOURCE_TRACKER in cmdline:
            return True
        if FORKSERVER not in cmdline:
            return False
        parent = proc.parent()
        return parent is not None and FORKSERVER not in _cmdline(parent)
    except psutil.Error:
        return True


def strays(root: int) -> list[psutil.Process]:
    """Descendants of the process ``root`` that are not multiprocessing's helpers."""
    try:
        descendants = psutil.Process(root).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [p for p in descendants if not is_mp_helper(p)]


def _report_start_method(queue: multiprocessing.Queue) -> None:  # runs in the child
    queue.put(multiprocessing.get_start_method(allow_none=True))


def child_start_method(timeout: float = 30.0) -> tuple[str, str | None]:
    """Start one worker with the default context; return (how it was started, what it reports).

    The first is the method of the ``Popen`` that multiprocessing chose for it
    (``fork``, ``spawn``, ``forkserver``), the second the child's own
    ``multiprocessing.get_start_method()``.
    """
    queue = multiprocessing.Queue()
    proc = multiprocessing.Process(target=_report_start_method, args=(queue,), name="probe")
    proc.start()
    try:
        started_by = proc._popen.method  # type: ignore[attr-defined]
        reported = queue.get(timeout=timeout)
    finally:
        proc.join(timeout)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        queue.close()
        queue.join_thread()
    return started_by, reported
