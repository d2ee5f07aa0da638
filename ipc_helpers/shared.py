"""Workers and the code given to learners for notebook 03, *Shared memory*.

Two families of shared memory appear in the notebook:

- ``multiprocessing.Value`` / ``Array`` (ctypes objects in shared memory, with
  an optional lock), used by ``bump``, ``add_many``, ``count_rounds`` and the
  ``Pool`` workers;
- ``multiprocessing.shared_memory.SharedMemory`` (a named block of bytes that
  any process can attach to), wrapped for numpy by ``SharedArray`` and used by
  ``scale_and_report``, ``sqrt_slice``, ``sum_slice`` and ``fill_rows``.

Workers never print and never check their arguments: they write into the
shared memory they were given, or send a short report through a connection.
The parent-side runners (``run_value_race``, ``SharedArray.create``,
``run_python``) check arguments, bound every wait and clean up. Slices of an
array come from ``ipc_helpers.motivation.split_range`` (notebook 00).
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing import resource_tracker, shared_memory
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from .capture import capture_stderr, interrupts_deferred
from .cleanup import stop, track
from .contexts import ContextLike, get_context
from .text import expect  # noqa: F401 - notebook 03 calls shared.expect: the one in text
from .validation import check_choice, check_int, check_timeout, check_type
from .workers import meet, release, start_workers

#: The largest segment the helpers create. Binder and Docker give ``/dev/shm``
#: 64 MB; the notebook keeps well under half of that at any moment.
MAX_SEGMENT_BYTES = 32 * 2**20

#: The ways ``count_rounds`` can add to a shared counter.
MODES = ("unlocked", "locked", "batched")

#: A module-global counter for ``Pool`` workers, set by ``use_counter``. In the
#: parent it is whatever the parent assigned; in a child started by ``spawn`` or
#: ``forkserver`` it is ``None`` until an initializer sets it.
COUNTER: Any = None

#: ``track=`` exists from Python 3.13 (``SharedMemory(name=..., track=False)``).
HAS_TRACK = sys.version_info >= (3, 13)

Shape = int | tuple[int, ...]


# --- The article's example ---------------------------------------------------


def bump(number: Any, array: Any, lock: Any) -> None:
    """The article's worker: add 1 to ``number`` and to every item of ``array``.

    All of it happens while holding ``lock``, so two processes running
    ``bump`` at the same time cannot interleave their updates.
    """
    with lock:
        number.value += 1
        for i in range(len(array)):
            array[i] += 1


def report_address(array: Any, out: Any) -> None:
    """Store in ``out.value`` the address at which this process sees ``array``'s memory."""
    out.value = ctypes.addressof(array.get_obj())


# --- Races ------------------------------------------------------------------


def add_many(counter: Any, increments: int, lock: Any, start: Any, timeout: float = 10.0) -> None:
    """Add 1 to ``counter.value``, ``increments`` times, holding ``lock`` for each add.

    ``start`` is a ``Barrier`` shared by every process: each waits there (at
    most ``timeout`` seconds) so that all of them count at the same time.
    ``lock=None`` means no lock at all, which loses updates.
    """
    try:
        start.wait(timeout)
    except threading.BrokenBarrierError:
        return  # the others never came: nothing to count
    for _ in range(increments):
        if lock is None:
            counter.value += 1
        else:
            with lock:
                counter.value += 1


def count_rounds(
    counter: Any,
    increments: int,
    mode: str,
    rounds: int,
    barrier: Any,
    seconds: Any,
    index: int,
    timeout: float = 60.0,
) -> None:
    """The worker of ``run_value_race``: ``rounds`` rounds of ``increments`` additions.

    Every round starts and ends at ``barrier``, with the other workers and the
    parent, which reads and resets the counter in between. ``mode``:
    ``"unlocked"`` (``+=`` alone), ``"locked"`` (each ``+=`` under the
    counter's lock) or ``"batched"`` (count locally, one locked add at the
    end). The time spent counting goes to this worker's own slot, ``seconds[index]``.
    """
    lock = counter.get_lock()
    try:
        for _ in range(rounds):
            barrier.wait(timeout)  # the round starts: everyone together
            started = time.perf_counter()
            if mode == "unlocked":
                for _ in range(increments):
                    counter.value += 1  # a read, then a write: not one step
            elif mode == "locked":
                for _ in range(increments):
                    with lock:
                        counter.value += 1
            else:
                local = 0
                for _ in range(increments):
                    local += 1
                with lock:
                    counter.value += local
            seconds[index] = time.perf_counter() - started
            barrier.wait(timeout)  # the round ends: the parent reads the count
    except threading.BrokenBarrierError:
        return  # the parent gave up: stop quietly


@dataclass
class ValueRace:
    """What ``run_value_race`` measured, per round: the final count, and the
    time the slowest process spent counting (seconds)."""

    processes: int
    increments: int
    mode: str
    counts: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def expected(self) -> int:
        """The count if no update were lost: processes × increments."""
        return self.processes * self.increments

    @property
    def lost(self) -> list[int]:
        """Updates lost in each round (``expected - count``)."""
        return [self.expected - c for c in self.counts]

    @property
    def wrong_rounds(self) -> int:
        """Rounds whose final count was not the expected one."""
        return sum(1 for lost in self.lost if lost != 0)

    def summary(self) -> str:
        """One line: what ran, the expected count, the counts seen, the wrong rounds."""
        low, high = min(self.counts), max(self.counts)
        got = f"{low:,}" if low == high else f"{low:,} to {high:,}"
        return (
            f"{self.processes} × {self.increments:,} increments, {self.mode}: "
            f"expected {self.expected:,}, got {got}; "
            f"{self.wrong_rounds} of {len(self.counts)} rounds lost updates"
        )


def run_value_race(
    processes: int = 2,
    increments: int = 10_000,
    mode: str = "unlocked",
    rounds: int = 5,
    timeout: float = 30.0,
    context: ContextLike = None,
) -> ValueRace:
    """Let ``processes`` processes add 1 to one shared ``Value``, ``rounds`` times.

    In every round each process adds 1 ``increments`` times (the way ``mode``
    says, see ``count_rounds``), all starting together; the parent then reads
    the final count and resets it. The same processes serve every round, so
    many rounds cost little even under ``spawn``.

    ``context``: a start method name, a context, or ``None`` (the default).
    The whole run is bounded by ``timeout`` seconds (``TimeoutError``). On
    Kernel → Interrupt (or any error) the workers are stopped within a second
    and the cell shows no traceback of theirs (they are course processes, see
    ``ipc_helpers.interrupts``).
    """
    processes = check_int("processes", processes, minimum=1, maximum=16)
    increments = check_int("increments", increments, minimum=1, maximum=1_000_000)
    mode = check_choice("mode", mode, MODES)
    rounds = check_int("rounds", rounds, minimum=1, maximum=200)
    timeout = check_timeout("timeout", timeout)
    ctx = get_context(context)
    counter = ctx.Value("q", 0)
    barrier = ctx.Barrier(processes + 1)
    seconds = ctx.RawArray("d", processes)
    race = ValueRace(processes, increments, mode)
    deadline = time.monotonic() + timeout
    with capture_stderr(), track():
        args = (counter, increments, mode, rounds, barrier, seconds)
        workers = start_workers(count_rounds, [(*args, i, timeout) for i in range(processes)], ctx)
        finished = False
        try:
            for _ in range(rounds):
                counter.value = 0
                meet(barrier, workers, deadline)  # start the round
                meet(barrier, workers, deadline)  # wait for its end
                race.seconds.append(max(seconds))
                race.counts.append(counter.value)
            finished = True
        finally:
            try:
                release(barrier)  # any worker still waiting goes on at once
            finally:
                stop(workers, timeout=5.0 if finished else 0.5)
    return race


# --- Inheritance only ----------------------------------------------------------


def add_one(counter: Any) -> int:
    """Add 1 to ``counter.value`` under its lock and return the new value."""
    with counter.get_lock():
        counter.value += 1
        return counter.value


def ignore_interrupts() -> None:
    """``Pool`` initializer: leave Kernel → Interrupt (Ctrl-C) to the parent.

    A pool worker killed by Ctrl-C while it waits for a task can leave the
    pool's task queue locked, and ``with Pool(...)`` then waits forever. A
    worker that ignores it lives until the pool is closed or terminated.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def use_counter(counter: Any) -> None:
    """``Pool`` initializer: store ``counter`` in the module-global ``COUNTER``."""
    global COUNTER
    COUNTER = counter
    ignore_interrupts()  # and leave Ctrl-C to the parent (see ignore_interrupts)


def add_to_counter(amount: int) -> int:
    """``Pool`` task: add ``amount`` to the module-global ``COUNTER`` under its lock."""
    with COUNTER.get_lock():
        COUNTER.value += amount
    return amount


def report_counter(conn: Connection) -> None:
    """Send ``repr(COUNTER)``, as this process sees it, through ``conn``."""
    conn.send(repr(COUNTER))
    conn.close()


# --- SharedMemory and numpy ---------------------------------------------------


def _check_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    check_type("shape", shape, tuple)
    if not shape:
        raise ValueError("shape must have at least one dimension, got ()")
    for i, n in enumerate(shape):
        check_int(f"shape[{i}]", n, minimum=1)
    return shape


def _check_dtype(dtype: Any) -> np.dtype:
    try:
        result = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a numpy dtype such as 'float64', got {dtype!r}") from exc
    if result.hasobject:
        raise ValueError(
            "dtype must hold plain numbers or bytes, not Python objects: "
            "an object array stores pointers, which mean nothing in another process"
        )
    return result


class SharedArray:
    """A numpy array whose data lives in a ``SharedMemory`` segment.

    Make one with ``SharedArray.create(shape, dtype)`` in the parent and use it
    as a context manager: at the end of the ``with`` block the segment is closed
    and unlinked, even if the block raised. A worker attaches to it by name
    with ``SharedArray.attach(name, shape, dtype)``; its ``with`` block only
    closes (the creator alone unlinks).

    ``sa.array`` gives a fresh numpy view each time (made with ``np.frombuffer``).
    Use it in expressions (``sa.array[:10] = 1``, ``sa.array.sum()``) or copy
    data out (``sa.array.copy()``); a view you keep in a variable must be
    deleted before the block ends, or ``close()`` fails with ``BufferError``.
    """

    def __init__(
        self, shm: shared_memory.SharedMemory, shape: tuple[int, ...], dtype: np.dtype, owner: bool
    ) -> None:
        self._shm: shared_memory.SharedMemory | None = shm
        self.name = shm.name
        self.shape = shape
        self.dtype = dtype
        self.owner = owner
        self._unlinked = False

    @classmethod
    def create(
        cls, shape: Shape, dtype: Any = "float64", *, max_bytes: int = MAX_SEGMENT_BYTES
    ) -> SharedArray:
        """Create a new segment for an array of ``shape`` and ``dtype``, filled with zeros.

        Refuses arrays larger than ``max_bytes`` (32 MiB by default: Binder and
        Docker give ``/dev/shm`` only 64 MB).
        """
        shape = _check_shape(shape)
        dtype = _check_dtype(dtype)
        max_bytes = check_int("max_bytes", max_bytes, minimum=1)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        if nbytes > max_bytes:
            raise ValueError(
                f"shape {shape} of {dtype} needs {nbytes:,} bytes, more than "
                f"max_bytes={max_bytes:,}"
            )
        shm = shared_memory.SharedMemory(create=True, size=nbytes)
        return cls(shm, shape, dtype, owner=True)

    @classmethod
    def attach(cls, name: str, shape: Shape, dtype: Any = "float64") -> SharedArray:
        """Attach to the existing segment ``name`` and view it as ``shape`` and ``dtype``."""
        check_type("name", name, str)
        if not name:
            raise ValueError("name must not be empty")
        shape = _check_shape(shape)
        dtype = _check_dtype(dtype)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        shm = shared_memory.SharedMemory(name=name)
        if shm.size < nbytes:
            shm.close()
            raise ValueError(
                f"segment {name!r} holds {shm.size:,} bytes, too few for shape {shape} "
                f"of {dtype} ({nbytes:,} bytes)"
            )
        return cls(shm, shape, dtype, owner=False)

    @property
    def array(self) -> np.ndarray:
        """A new numpy view on the segment (``ValueError`` once ``close`` was called)."""
        buf = None if self._shm is None else self._shm.buf
        if buf is None:  # closed, or half closed by a close() that raised BufferError
            raise ValueError(f"SharedArray {self.name!r} is closed: no new views")
        # np.frombuffer (unlike np.ndarray(buffer=...)) holds on to the buffer, so
        # closing the segment under a live view raises BufferError instead of
        # leaving the view pointing at unmapped memory.
        count = int(np.prod(self.shape))
        return np.frombuffer(buf, dtype=self.dtype, count=count).reshape(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes used by the array (the segment may be rounded up to a page)."""
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def close(self) -> None:
        """Unmap the segment from this process; then, for the creator, unlink it.

        The unlink happens even when the unmap fails because a numpy view is
        still alive, so no segment is left behind. That ``BufferError`` is
        raised with advice: the views you hold stay valid (the memory stays
        mapped until they are gone), but ``array`` gives no new ones, since
        ``SharedMemory.close`` has already dropped its buffer. Delete the views
        and call ``close()`` again to unmap. Closing a closed array does nothing.
        """
        shm = self._shm
        if shm is None:
            return
        try:
            shm.close()
        except BufferError as exc:
            raise BufferError(
                f"{exc}: a numpy view on segment {self.name!r} is still alive; "
                "`del` it (or keep only copies), then call close() again"
            ) from None
        else:
            self._shm = None
        finally:
            if self.owner and not self._unlinked:
                self._unlinked = True
                shm.unlink()

    def __enter__(self) -> SharedArray:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._shm is None else "open"
        role = "creator" if self.owner else "attached"
        return f"SharedArray(shape={self.shape}, dtype={self.dtype}, {role}, {state})"


def scale_and_report(name: str, length: int, factor: float, conn: Connection) -> None:
    """Attach to a float64 array ``name``, report what it holds, then scale it.

    Sends the first three values as this process sees them, multiplies the whole
    array by ``factor`` in place, and sends ``"done"``.
    """
    with SharedArray.attach(name, (length,), "float64") as shared:
        conn.send(shared.array[:3].tolist())
        shared.array[:] *= factor
    conn.send("done")
    conn.close()


def scale_raw(raw: Any, factor: float) -> None:
    """Multiply a ``RawArray('d', n)`` by ``factor`` in place, through a numpy view."""
    np.frombuffer(raw, dtype=np.float64)[:] *= factor


def sqrt_slice(src_name: str, dst_name: str, length: int, start: int, stop: int) -> None:
    """Write ``sqrt(src[start:stop])`` into ``dst[start:stop]`` (float64 arrays of ``length``).

    Each worker touches only its own slice, so no lock is needed.
    """
    with (
        SharedArray.attach(src_name, (length,)) as src,
        SharedArray.attach(dst_name, (length,)) as dst,
    ):
        dst.array[start:stop] = np.sqrt(src.array[start:stop])


def sum_slice(name: str, length: int, start: int, stop: int, results: Any, index: int) -> None:
    """Store the sum of ``data[start:stop]`` in ``results[index]``.

    ``name`` is a float64 ``SharedArray`` of ``length`` items; ``results`` is a
    ``multiprocessing.Array('d', n)`` with one slot per worker, so workers never
    write the same place.
    """
    with SharedArray.attach(name, (length,)) as data:
        results[index] = float(data.array[start:stop].sum())


def table_row(row: int, n_cols: int) -> np.ndarray:
    """Row ``row`` of the multiplication table: ``(row + 1) * [1, 2, ..., n_cols]``."""
    return (row + 1) * np.arange(1, n_cols + 1, dtype=np.int64)


def fill_rows(name: str, n_rows: int, n_cols: int, start: int, stop: int) -> None:
    """Fill rows ``start`` to ``stop - 1`` of the int64 table ``name`` (``n_rows × n_cols``)."""
    with SharedArray.attach(name, (n_rows, n_cols), "int64") as table:
        for row in range(start, stop):
            table.array[row] = table_row(row, n_cols)


# --- Lifetime demos: separate Python programs ----------------------------------

_WARNING_LINE = re.compile(r"^(?:.*?:\d+: )?(\w*Warning: .*)$")


#: Seconds a separate program gets to finish by itself after Kernel → Interrupt.
LET_FINISH = 3.0


def run_python(code: str, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Run ``code`` in a separate Python program and return what it did.

    Unlike a ``multiprocessing`` child, this program is *unrelated* to the
    notebook: it has its own resource tracker. It runs with this notebook's
    Python; ``args`` become ``sys.argv[1:]``. Waits at most ``timeout``
    seconds (``subprocess.TimeoutExpired`` after killing it). Its stdout and
    stderr are in the result as text.

    Kernel → Interrupt does not reach the program (it runs in a session of
    its own): stopped between creating a shared-memory block and registering
    it with its resource tracker, it would leave the block for good. The
    interrupt is raised here once the program has ended, by itself within
    ``LET_FINISH`` seconds or killed.
    """
    check_type("code", code, str)
    for i, arg in enumerate(args):
        check_type(f"args[{i}]", arg, str)
    timeout = check_timeout("timeout", timeout)
    env = dict(os.environ, PYTHONWARNINGS="default", PYTHON_COLORS="0")
    command = [sys.executable, "-c", code, *args]
    pipe = subprocess.PIPE
    with subprocess.Popen(
        command, stdout=pipe, stderr=pipe, text=True, env=env, start_new_session=True
    ) as program:
        try:
            out, err = program.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            program.kill()
            program.communicate()
            raise
        except KeyboardInterrupt:
            with interrupts_deferred():
                _finish_or_kill(program, LET_FINISH)
            raise
    return subprocess.CompletedProcess(command, program.returncode, out, err)


def _finish_or_kill(program: subprocess.Popen, seconds: float) -> None:
    try:
        program.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        program.kill()
        program.communicate()


def warning_lines(text: str) -> list[str]:
    """The ``SomethingWarning: ...`` lines of ``text``, without the file path before them."""
    check_type("text", text, str)
    found = []
    for line in text.splitlines():
        match = _WARNING_LINE.match(line.strip())
        if match:
            found.append(match.group(1))
    return found


def untrack(shm: shared_memory.SharedMemory) -> None:
    """Tell this process's resource tracker to forget ``shm`` (POSIX only).

    The tracker then neither destroys the block nor warns about it when this
    program ends. Use it when the block was destroyed by someone else, or,
    before Python 3.13, right after *attaching* from a program that is not a
    ``multiprocessing`` child of the creator (from 3.13, attach with
    ``track=False`` instead). Relies on the private ``_name`` attribute (the
    name with its leading ``/``), present from 3.8 to 3.13.
    """
    check_type("shm", shm, shared_memory.SharedMemory)
    if os.name == "posix":
        resource_tracker.unregister(shm._name, "shared_memory")


def segment_exists(name: str) -> bool:
    """True if a ``SharedMemory`` segment called ``name`` exists (on any OS).

    Attaches and closes at once. From Python 3.13 it attaches with
    ``track=False``; before, attaching registers the name with this process's
    resource tracker, so use it only for segments this process created (their
    name is registered already, and ``unlink()`` removes it).
    """
    check_type("name", name, str)
    try:
        if HAS_TRACK:
            probe = shared_memory.SharedMemory(name=name, track=False)
        else:
            probe = shared_memory.SharedMemory(name=name)
    except FileNotFoundError:
        return False
    probe.close()
    return True


def in_dev_shm(*names: str) -> list[str]:
    """Which of the segment ``names`` exist as files in ``/dev/shm`` (Linux; else ``[]``)."""
    for i, name in enumerate(names):
        check_type(f"names[{i}]", name, str)
    if not sys.platform.startswith("linux"):
        return []
    return [n for n in names if os.path.exists(os.path.join("/dev/shm", n.lstrip("/")))]
