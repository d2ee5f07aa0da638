"""Imitate what a Mac lacks, in every Python process of a test run (``IPC_IMITATE_MACOS=1``).

The macOS-like stage of ``tests/run_suite.py`` runs every notebook under
``spawn`` (the macOS default since Python 3.8) with this folder on
``PYTHONPATH``, so the kernel *and* every ``spawn`` child load it at start-up.
The harness asks each kernel for ``IMITATING_MACOS`` and fails the notebook if
the imitation did not load. It imitates what makes code written on Linux fail
on a Mac:

- ``multiprocessing.Queue.qsize()`` (and ``JoinableQueue.qsize()``) and
  ``Semaphore.get_value()`` raise ``NotImplementedError``: macOS has no
  ``sem_getvalue()`` (CPython ``Lib/multiprocessing/queues.py``, ``qsize``);
- ``os.sched_getaffinity`` / ``os.sched_setaffinity`` do not exist (no CPU
  affinity API on macOS; ``psutil.Process.cpu_affinity`` neither), and
  ``os.process_cpu_count()`` (3.13) is ``os.cpu_count()``, as ``Lib/os.py``
  defines it where there is no ``sched_getaffinity``;
- ``fcntl.F_GETPIPE_SZ`` / ``F_SETPIPE_SZ`` do not exist (Linux only);
- a ``SharedMemory`` name longer than 31 characters (its leading ``/``
  included) fails with ``ENAMETOOLONG`` (``PSHMNAMLEN`` is 31 in xnu's
  ``bsd/sys/posix_shm.h``); Python's own random names are far shorter.

What it cannot imitate, so a notebook must not promise Linux numbers or Linux
behaviour there (cite the difference in words instead):

- macOS pipe and socket buffer sizes (a pipe holds 16-64 KiB there; Linux
  64 KiB by default, adjustable);
- the missing ``/dev/shm`` folder: POSIX shared memory exists on macOS but is
  not a visible folder, while here segments and semaphores still appear in
  ``/dev/shm`` (glibc needs it), and ``sys.platform`` is still ``"linux"``, so
  code that branches on either takes the Linux branch;
- ``fork`` and ``forkserver`` remain available (on macOS ``fork`` is unsafe
  with system frameworks, not missing), and so does ``/proc``;
- macOS's process start costs, page sizes, ``SEM_VALUE_MAX`` (32767) and
  scheduler.
"""

from __future__ import annotations

import errno
import functools
import os

#: Read by the notebook harness: the kernel really imitates macOS.
IMITATING_MACOS = os.environ.get("IPC_IMITATE_MACOS") == "1"
#: Longest POSIX shared-memory name on macOS, leading slash included.
PSHMNAMLEN = 31


def _no_sem_getvalue(*args, **kwargs):
    raise NotImplementedError("imitating macOS: sem_getvalue() is not implemented there")


def _short_names_only(init):
    @functools.wraps(init)
    def wrapper(self, name=None, *args, **kwargs):
        if name is not None and len("/" + name.lstrip("/")) > PSHMNAMLEN:
            raise OSError(errno.ENAMETOOLONG, "imitating macOS: File name too long", name)
        return init(self, name, *args, **kwargs)

    return wrapper


def _remove(owner: object, *names: str) -> None:
    for name in names:
        if hasattr(owner, name):
            delattr(owner, name)


def _imitate() -> None:
    import multiprocessing.queues
    import multiprocessing.shared_memory
    import multiprocessing.synchronize

    multiprocessing.queues.Queue.qsize = _no_sem_getvalue
    multiprocessing.synchronize.Semaphore.get_value = _no_sem_getvalue
    shm = multiprocessing.shared_memory.SharedMemory
    shm.__init__ = _short_names_only(shm.__init__)
    _remove(os, "sched_getaffinity", "sched_setaffinity")
    if hasattr(os, "process_cpu_count"):  # os.py's own fallback without sched_getaffinity
        os.process_cpu_count = os.cpu_count
    try:
        import fcntl
    except ImportError:
        pass
    else:
        _remove(fcntl, "F_GETPIPE_SZ", "F_SETPIPE_SZ")
    try:
        import psutil
    except ImportError:
        return
    _remove(psutil.Process, "cpu_affinity")


if IMITATING_MACOS:
    _imitate()
