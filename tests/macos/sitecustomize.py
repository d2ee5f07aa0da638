"""Imitate what a Mac lacks, in every Python process of a test run (``IPC_IMITATE_MACOS=1``).

The macOS-like stage puts this folder on ``PYTHONPATH``, so the kernel *and*
every ``spawn`` child load it at start-up. It imitates what makes code written
on Linux fail on a Mac:

- ``multiprocessing.Queue.qsize()`` and ``Semaphore.get_value()`` raise
  ``NotImplementedError`` (macOS has no ``sem_getvalue``);
- ``os.sched_getaffinity`` / ``os.sched_setaffinity`` do not exist (no CPU
  affinity API on macOS);
- ``fcntl.F_GETPIPE_SZ`` / ``F_SETPIPE_SZ`` do not exist (Linux only).

The stage also runs under ``spawn``, the macOS default since Python 3.8.

What it cannot imitate, so the notebooks must not promise Linux numbers there:
macOS pipe and socket buffer sizes (a pipe holds 16-64 KiB there, sockets
differ too), its missing ``/dev/shm`` folder (POSIX shared memory exists but is
not a visible folder), its process start costs and its page sizes.
"""

from __future__ import annotations

import os


def _not_on_macos(*args, **kwargs):
    raise NotImplementedError("imitating macOS: sem_getvalue() is not implemented there")


def _imitate() -> None:
    import multiprocessing.queues
    import multiprocessing.synchronize

    multiprocessing.queues.Queue.qsize = _not_on_macos
    multiprocessing.synchronize.Semaphore.get_value = _not_on_macos
    for name in ("sched_getaffinity", "sched_setaffinity"):
        if hasattr(os, name):
            delattr(os, name)
    try:
        import fcntl
    except ImportError:
        return
    for name in ("F_GETPIPE_SZ", "F_SETPIPE_SZ"):
        if hasattr(fcntl, name):
            delattr(fcntl, name)


if os.environ.get("IPC_IMITATE_MACOS") == "1":
    _imitate()
