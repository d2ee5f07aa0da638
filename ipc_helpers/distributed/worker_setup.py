"""Run by every dask worker of the course when it starts (a dask *preload* module).

``start_local_cluster`` and ``cluster_of_programs`` pass
``preload=["ipc_helpers.distributed.worker_setup"]``; dask imports this module
in each worker process, the nanny's replacements included, and calls
``dask_setup(worker)``.

Why: JupyterLab's Kernel → Interrupt sends SIGINT to the kernel's whole
process group, and the worker processes are in it. Each one would stop with a
``KeyboardInterrupt`` traceback in the cell, and the cluster would be left
without workers. The interrupt is for the notebook's code; the cluster is
stopped by ``close_cluster`` (or the end of its ``with`` block).
"""

from __future__ import annotations

import signal
import threading
from typing import Any


def ignore_interrupts() -> None:
    """Ignore SIGINT in this process (only the main thread may change signal handlers).

    In a notebook kernel, a nanny's worker starts with SIGINT blocked
    (``ipc_helpers.interrupts``), so that an interrupt while it imports dask
    cannot kill it: such an interrupt waits, and is dropped here, once ignored.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def dask_setup(worker: Any) -> None:
    """dask's preload hook: called once in each worker process, as it starts."""
    ignore_interrupts()
