"""The parent's side of the benchmark: a ``Session`` with the server child."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
from multiprocessing import managers, shared_memory
from multiprocessing.connection import Connection
from typing import Any

from ..cleanup import stop
from ..validation import check_int, check_timeout
from .catalogue import MAX_PAYLOAD
from .placement import (
    children_deaf_to_interrupts,
    ignore_interrupts,
    start_helpers_quietly,
    wait_until,
    warm_allocator,
)
from .server import close_unused, serve

#: Ends of the queues that the parent does not use (the child holds them).
PARENT_CLOSES = {
    "queue": "_writer",
    "queue_back": "_reader",
    "simplequeue": "_writer",
    "simplequeue_back": "_reader",
}


class Session:
    """The server child and every channel to it, for one benchmark run.

    Use it as a context manager: on exit (normal, error or interrupt) the
    child is stopped and joined, the manager shut down, every connection
    closed and the segment unlinked, each step bounded.
    """

    def __init__(self, *, shm_size: int = 0, manager: bool = False, timeout: float = 30.0):
        check_int("shm_size", shm_size, minimum=0, maximum=MAX_PAYLOAD)
        self.timeout = check_timeout("timeout", timeout)
        self._shm_size = shm_size
        self._want_manager = manager
        self.mine: dict[str, Any] = {}
        self.manager: managers.SyncManager | None = None
        self.shm: shared_memory.SharedMemory | None = None
        self.process: mp.process.BaseProcess | None = None
        self._theirs: list[Connection] = []

    def __enter__(self) -> Session:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _start(self) -> None:
        warm_allocator()  # the parent receives: the same warm state as every child
        start_helpers_quietly()
        ctx = mp.get_context()
        if self._want_manager:
            # Started first: a process forked later than the pipes would hold
            # copies of their ends, and a dead server child would then not
            # mean end-of-file here.
            self.manager = managers.SyncManager(ctx=ctx)
            with children_deaf_to_interrupts():
                self.manager.start(ignore_interrupts)
        control, control_child = ctx.Pipe()
        duplex, duplex_child = ctx.Pipe()
        oneway_r, oneway_w = ctx.Pipe(duplex=False)  # child -> parent
        back_r, back_w = ctx.Pipe(duplex=False)  # parent -> child
        signals, signals_child = ctx.Pipe()  # "in" / "taken" of the SharedMemory transfers
        self._theirs = [control_child, duplex_child, oneway_w, back_r, signals_child]
        self.mine = {
            "control": control,
            "duplex": duplex,
            "oneway_r": oneway_r,
            "back_w": back_w,
            "shm_signals": signals,
        }
        chans: dict[str, Any] = {
            "duplex": duplex_child,
            "oneway_w": oneway_w,
            "back_r": back_r,
            "shm_signals": signals_child,
        }
        for name in ("queue", "queue_back"):
            chans[name] = self.mine[name] = ctx.Queue()
        for name in ("simplequeue", "simplequeue_back"):
            chans[name] = self.mine[name] = ctx.SimpleQueue()
        if self.manager is not None:
            for name in ("manager_queue", "manager_queue_back"):
                chans[name] = self.mine[name] = self.manager.Queue()
            self.mine["manager_dict"] = self.manager.dict()
        name = ""
        if self._shm_size:
            self.shm = shared_memory.SharedMemory(create=True, size=self._shm_size)
            name = self.shm.name
        self.process = ctx.Process(
            target=serve, args=(control_child, chans, name, self.timeout), name="bench-server"
        )
        with children_deaf_to_interrupts():
            self.process.start()
        for end in self._theirs:  # so that a dead child means EOF here, not a hang
            end.close()
        close_unused(self.mine, PARENT_CLOSES)

    def start(self, *args: Any) -> float:
        """Send a command; once the child is set up, say go. Returns the time of go.

        The clock of a timed round starts there: sending the command and the
        child's preparations are not part of any figure.
        """
        control = self.mine["control"]
        control.send(args)
        self._expect("ready")
        started = time.perf_counter()
        control.send_bytes(b"g")
        return started

    def wait_done(self) -> None:
        """Wait (bounded) until the child has finished the last command."""
        self._expect("done")

    def _expect(self, word: str) -> None:
        control = self.mine["control"]
        wait_until(control.poll, self.timeout, "the benchmark child did not answer")
        answer = control.recv()
        if answer != word:
            raise RuntimeError(f"the benchmark child failed: {answer}")

    def close(self) -> None:
        """Stop the child and free everything; bounded, safe to call twice."""
        control = self.mine.get("control")
        if self.process is not None and self.process.pid is not None:
            with contextlib.suppress(OSError):
                if control is not None:
                    control.send(("stop",))
            stop([self.process], timeout=1.0)
        for name in ("queue", "queue_back", "simplequeue", "simplequeue_back"):
            q = self.mine.get(name)
            if q is None:
                continue
            if hasattr(q, "cancel_join_thread"):  # never wait to flush to a stopped child
                q.cancel_join_thread()
            q.close()
        for end in [
            *self._theirs,
            *(self.mine.get(k) for k in ("control", "duplex", "oneway_r", "back_w", "shm_signals")),
        ]:
            if end is not None:
                end.close()
        manager, self.manager = self.manager, None
        if manager is not None and hasattr(manager, "shutdown"):  # unset if start() was cut short
            manager.shutdown()
        if self.shm is not None:
            self.shm.close()
            self.shm.unlink()
            self.shm = None
        self.mine = {}
        self.process = None
