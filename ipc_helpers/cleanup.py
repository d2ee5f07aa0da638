"""Leave nothing behind: stop processes with a bound, look for leftovers.

Every notebook ends its demos with these, so a demo that hangs on purpose
(a deadlock, a missing sentinel) still ends, and the kernel is left clean.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time
from collections.abc import Iterable
from multiprocessing.process import BaseProcess

from .validation import check_timeout, check_type

#: Name prefixes that ``multiprocessing`` uses in ``/dev/shm`` on Linux:
#: ``psm_`` for ``SharedMemory`` segments, ``sem.mp-`` for named semaphores.
IPC_PREFIXES = ("psm_", "sem.mp-")


def stop(processes: Iterable[BaseProcess], timeout: float = 5.0) -> list[int | None]:
    """Join ``processes``, forcing them to end if they are not done in time.

    All processes share one ``timeout`` (seconds). Any still alive then is sent
    ``terminate()`` (SIGTERM), and, if it ignores that for a second, ``kill()``.
    Every process is joined before this returns.

    Returns the exit codes in order: ``0`` for a clean exit, a negative signal
    number (``-15`` for SIGTERM) for a process that had to be stopped.
    """
    procs = list(processes)
    for i, p in enumerate(procs):
        check_type(f"processes[{i}]", p, BaseProcess)
    timeout = check_timeout("timeout", timeout)
    deadline = time.monotonic() + timeout
    for p in procs:
        if p.pid is not None:  # never started: nothing to join
            p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        if p.pid is not None:
            p.join(1.0)
        if p.is_alive():
            p.kill()
            p.join(1.0)
    return [p.exitcode for p in procs]


def live_children() -> list[str]:
    """Names of this process's ``multiprocessing`` children that are still alive."""
    return sorted(p.name for p in mp.active_children())


def ipc_entries(directory: str = "/dev/shm") -> list[str]:
    """Sorted ``psm_*`` and ``sem.mp-*`` entries in ``directory`` (Linux).

    These are the files behind ``SharedMemory`` segments and named semaphores.
    On macOS and Windows they do not appear as files: the result is ``[]``.
    """
    check_type("directory", directory, str)
    if not sys.platform.startswith("linux") or not os.path.isdir(directory):
        return []
    return sorted(n for n in os.listdir(directory) if n.startswith(IPC_PREFIXES))
