"""Start a team of worker processes, meet them at a barrier, wait for them.

Runners and labs that start several workers and wait for them share these
three steps. Every wait is bounded by a ``deadline`` (a ``time.monotonic()``
value) and done in short slices: a long ``join()`` or ``barrier.wait()`` in
the kernel's main thread would not see Kernel → Interrupt when the signal
lands on another thread. What an interrupt does to the workers themselves is
``ipc_helpers.interrupts``' business: nothing here ignores or catches it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from multiprocessing.process import BaseProcess
from typing import Any

from .capture import interrupts_deferred
from .contexts import ContextLike, get_context

#: How long one wait lasts at most (seconds): short, so that Interrupt is seen at once.
SLICE = 0.1

#: What the waits raise at their deadline.
LATE = "the workers did not finish in time (is the machine very busy?)"


def start_workers(
    worker: Callable[..., Any],
    args_list: Iterable[tuple[Any, ...]],
    context: ContextLike = None,
) -> list[BaseProcess]:
    """Start one daemon process per tuple of ``args_list``, each running ``worker``.

    ``context``: a start method name, a context, or ``None`` (the default).
    """
    ctx = get_context(context)
    workers = [ctx.Process(target=worker, args=args, daemon=True) for args in args_list]
    for w in workers:
        w.start()
    return workers


def meet(barrier: Any, workers: Sequence[BaseProcess], deadline: float) -> None:
    """Wait until every worker waits at ``barrier``, then pass it with them.

    ``barrier`` has ``len(workers) + 1`` parties (this process is the last
    one). Raises ``RuntimeError`` if a worker ended instead of coming, and
    ``TimeoutError`` at ``deadline``. The last step (everyone else already
    waits) is not cut in half by an interrupt.
    """
    while barrier.n_waiting < len(workers):
        if time.monotonic() > deadline:
            raise TimeoutError(LATE)
        ended = [w for w in workers if not w.is_alive()]
        if ended:
            raise RuntimeError(f"a worker ended early (exit code {ended[0].exitcode})")
        time.sleep(0.002)
    with interrupts_deferred():
        barrier.wait(5.0)  # returns at once


def release(barrier: Any) -> None:
    """``barrier.abort()``, so that a worker still waiting at it goes on at once; best effort.

    A worker that Kernel → Interrupt stops inside ``barrier.wait()`` can leave
    a multiprocessing barrier's condition half updated; ``abort()`` then fails
    CPython's own check (``AssertionError: notify: Should not have been able
    to acquire _wait_semaphore``). The caller stops its workers anyway, so
    that error is dropped; the interrupt is raised once the abort is done.
    """
    with interrupts_deferred(), contextlib.suppress(AssertionError):
        barrier.abort()


def wait_for(
    workers: Sequence[BaseProcess],
    deadline: float,
    on_failure: Callable[[], Any] | None = None,
) -> list[int | None]:
    """Join ``workers`` in short slices until ``deadline``; return their exit codes.

    As soon as one worker ends with a non-zero exit code, ``on_failure()``
    runs once (for example ``barrier.abort()``, so that the others stop
    waiting for it). Raises ``TimeoutError`` at the deadline.
    """
    failed = False
    while alive := [w for w in workers if w.is_alive()]:
        if time.monotonic() > deadline:
            raise TimeoutError(LATE)
        if not failed and any(w.exitcode not in (None, 0) for w in workers):
            failed = True
            if on_failure is not None:
                with interrupts_deferred():  # a proxy call cut in half spoils its connection
                    on_failure()
        alive[0].join(SLICE)
    return [w.exitcode for w in workers]
