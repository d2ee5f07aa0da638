"""Workers and small runners for notebook 03, *Shared memory*.

Two families of shared memory appear in the notebook:

- ``multiprocessing.Value`` / ``Array`` (ctypes objects in shared memory, with
  an optional lock), used by ``bump``, ``add_many``, ``count_rounds`` and the
  ``Pool`` workers;
- ``multiprocessing.shared_memory.SharedMemory`` (a named block of bytes that
  any process can attach to), wrapped for numpy by ``SharedArray`` and used by
  ``scale_and_report``, ``sqrt_slice``, ``sum_slice`` and ``fill_rows``.

Workers never print: they write into the shared memory they were given, or
send a short report through a connection. The parent prints.
"""

from __future__ import annotations

import ctypes
import glob
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing import resource_tracker, shared_memory
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any, Union

import numpy as np

from .cleanup import stop
from .validation import check_choice, check_int, check_timeout, check_type

#: The largest segment the helpers create. Binder and Docker give ``/dev/shm``
#: 64 MB; the notebook keeps well under half of that at any moment.
MAX_SEGMENT_BYTES = 32 * 2**20

#: The ways ``count_rounds`` can add to a shared counter.
MODES = ("unlocked", "locked", "batched")

#: A module-global counter for ``Pool`` workers, set by ``use_counter``. In the
#: parent it is whatever the parent assigned; in a child started by ``spawn`` or
#: ``forkserver`` it is ``None`` until an initializer sets it.
COUNTER: Any = None

Shape = Union[int, tuple[int, ...]]


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

    ``start`` is a ``Barrier`` shared by every process of the experiment: each
    waits there (at most ``timeout`` seconds) so that all of them count *at the
    same time*. ``lock=None`` means no lock at all: ``counter.value += 1`` alone,
    which loses updates when processes overlap.
    """
    try:
        start.wait(timeout)
    except threading.BrokenBarrierError:
        return  # the parent gave up waiting; nothing to count
    if lock is None:
        for _ in range(increments):
            counter.value += 1
    else:
        for _ in range(increments):
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
    timeout: float,
) -> None:
    """The worker of ``run_race``: ``rounds`` rounds of ``increments`` additions.

    Each round starts when every process and the parent reach ``barrier``, and
    ends at the same barrier, so the parent can read and reset the counter in
    between. ``mode`` is one of ``MODES``:

    - ``"unlocked"``: ``counter.value += 1`` (a read, then a write: not atomic);
    - ``"locked"``: the same inside ``with counter.get_lock():``;
    - ``"batched"``: count in a local variable, then one locked add at the end.

    The time this process spent counting goes to ``seconds[index]`` (its own
    slot of a shared array: no lock needed).
    """
    lock = counter.get_lock()
    try:
        for _ in range(rounds):
            barrier.wait(timeout)
            started = time.perf_counter()
            if mode == "unlocked":
                for _ in range(increments):
                    counter.value += 1
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
            barrier.wait(timeout)
    except threading.BrokenBarrierError:
        return  # the parent gave up: stop quietly


@dataclass
class Race:
    """What ``run_race`` measured, per round: the final count, and the time the
    slowest process spent counting."""

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


def run_race(
    processes: int = 2,
    increments: int = 10_000,
    mode: str = "unlocked",
    rounds: int = 5,
    timeout: float = 30.0,
    context: BaseContext | None = None,
) -> Race:
    """Let ``processes`` processes add 1 to one shared ``Value``, ``rounds`` times.

    In every round each process adds 1 ``increments`` times (the way ``mode``
    says, see ``count_rounds``), all starting together; the parent then reads
    the final count and resets it. The same processes serve every round, so
    many rounds cost little even under ``spawn``.

    ``context`` is a ``multiprocessing`` context (default: the current start
    method). The whole run is bounded by ``timeout`` seconds: if it is not done
    by then, the processes are stopped and ``TimeoutError`` is raised.
    """
    processes = check_int("processes", processes, minimum=1, maximum=16)
    increments = check_int("increments", increments, minimum=1, maximum=1_000_000)
    mode = check_choice("mode", mode, MODES)
    rounds = check_int("rounds", rounds, minimum=1, maximum=200)
    timeout = check_timeout("timeout", timeout)
    if context is not None:
        check_type("context", context, BaseContext)
    ctx = mp.get_context() if context is None else context
    counter = ctx.Value("q", 0)
    barrier = ctx.Barrier(processes + 1)
    seconds = ctx.RawArray("d", processes)
    workers = [
        ctx.Process(
            target=count_rounds,
            args=(counter, increments, mode, rounds, barrier, seconds, i, timeout),
            daemon=True,
        )
        for i in range(processes)
    ]
    race = Race(processes, increments, mode)
    deadline = time.monotonic() + timeout
    try:
        for w in workers:
            w.start()
        for _ in range(rounds):
            counter.value = 0
            barrier.wait(max(0.001, deadline - time.monotonic()))
            barrier.wait(max(0.001, deadline - time.monotonic()))
            race.seconds.append(max(seconds))
            race.counts.append(counter.value)
    except threading.BrokenBarrierError:
        raise TimeoutError(f"the race did not finish within {timeout:g} s") from None
    finally:
        barrier.abort()  # releases any worker still waiting
        stop(workers, timeout=5.0)
    return race


# --- Inheritance only ----------------------------------------------------------


def add_one(counter: Any) -> int:
    """Add 1 to ``counter.value`` under its lock and return the new value."""
    with counter.get_lock():
        counter.value += 1
        return counter.value


def use_counter(counter: Any) -> None:
    """``Pool`` initializer: store ``counter`` in the module-global ``COUNTER``."""
    global COUNTER
    COUNTER = counter


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
    deleted before the block ends, or ``close()`` fails with ``BufferError``
    (the segment is unlinked all the same).
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
        """A new numpy view on the segment (``ValueError`` once closed)."""
        if self._shm is None:
            raise ValueError(f"SharedArray {self.name!r} is closed")
        # np.frombuffer (unlike np.ndarray(buffer=...)) holds on to the buffer, so
        # closing the segment under a live view raises BufferError instead of
        # leaving the view pointing at unmapped memory.
        count = int(np.prod(self.shape))
        return np.frombuffer(self._shm.buf, dtype=self.dtype, count=count).reshape(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes used by the array (the segment may be rounded up to a page)."""
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def close(self) -> None:
        """Unmap the segment from this process; then, for the creator, unlink it.

        The unlink happens even when ``close`` fails because a numpy view is
        still alive, so no segment is left behind; the ``BufferError`` is then
        raised with advice, and the array stays usable: delete the view and
        call ``close()`` again. Calling ``close`` on a closed array does nothing.
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
        view = table.array
        for row in range(start, stop):
            view[row] = table_row(row, n_cols)
        del view


def split(n_items: int, n_parts: int) -> list[tuple[int, int]]:
    """Cut ``range(n_items)`` into ``n_parts`` contiguous ``(start, stop)`` slices.

    The slices cover every item exactly once and differ in length by at most
    one, e.g. ``split(10, 3) == [(0, 4), (4, 7), (7, 10)]``.
    """
    n_items = check_int("n_items", n_items, minimum=0)
    n_parts = check_int("n_parts", n_parts, minimum=1)
    size, extra = divmod(n_items, n_parts)
    bounds = [0]
    for i in range(n_parts):
        bounds.append(bounds[-1] + size + (1 if i < extra else 0))
    return list(zip(bounds[:-1], bounds[1:]))


# --- Lifetime demos: separate Python programs ----------------------------------

_WARNING_LINE = re.compile(r"^(?:.*?:\d+: )?(\w*Warning: .*)$")


def run_python(
    code: str, *args: str, python: str | None = None, timeout: float = 30.0
) -> subprocess.CompletedProcess:
    """Run ``code`` in a separate Python program and return what it did.

    Unlike a ``multiprocessing`` child, this program is *unrelated* to the
    notebook: it has its own resource tracker. ``python`` is the interpreter
    (default: the one running this code); ``args`` become ``sys.argv[1:]``.
    Waits at most ``timeout`` seconds (``subprocess.TimeoutExpired`` after
    killing it). Its stdout and stderr are in the result as text.
    """
    check_type("code", code, str)
    for i, arg in enumerate(args):
        check_type(f"args[{i}]", arg, str)
    timeout = check_timeout("timeout", timeout)
    python = sys.executable if python is None else check_type("python", python, str)
    env = dict(os.environ, PYTHONWARNINGS="default", PYTHON_COLORS="0")
    return subprocess.run(
        [python, "-c", code, *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def warning_lines(text: str) -> list[str]:
    """The ``SomethingWarning: ...`` lines of ``text``, without the file path before them."""
    check_type("text", text, str)
    found = []
    for line in text.splitlines():
        match = _WARNING_LINE.match(line.strip())
        if match:
            found.append(match.group(1))
    return found


def python_version(python: str, timeout: float = 10.0) -> tuple[int, int, int] | None:
    """The version of the interpreter ``python`` as ``(3, 13, 0)``, or ``None`` if it fails."""
    check_type("python", python, str)
    try:
        done = run_python(
            "import sys; print(*sys.version_info[:3])", python=python, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 3:
        return None
    return (int(parts[0]), int(parts[1]), int(parts[2]))


def find_python(minimum: tuple[int, int] = (3, 13)) -> str | None:
    """Path of a Python at least ``minimum`` on this machine, or ``None``.

    Looks at the running interpreter, ``python3.X`` on the ``PATH`` and
    pyenv's versions, in that order.
    """
    check_type("minimum", minimum, tuple)
    if sys.version_info[:2] >= minimum:
        return sys.executable
    candidates = [shutil.which(f"python3.{m}") for m in range(minimum[1], minimum[1] + 8)]
    pyenv = os.path.expanduser("~/.pyenv/versions/3.*/bin/python")
    candidates += sorted(glob.glob(pyenv))
    for path in candidates:
        if path:
            version = python_version(path)
            if version is not None and version[:2] >= minimum:
                return path
    return None


def untrack(shm: shared_memory.SharedMemory) -> None:
    """Tell this process's resource tracker to forget ``shm`` (POSIX only).

    The tracker then neither destroys the block nor warns about it when this
    program ends. Use it when the block was destroyed by someone else, or, before
    Python 3.13, right after *attaching* from a program that is not a
    ``multiprocessing`` child of the creator (from 3.13, attach with
    ``track=False`` instead). Relies on the private ``_name`` attribute (the
    name with its leading ``/``), which every version from 3.8 to 3.13 has.
    """
    check_type("shm", shm, shared_memory.SharedMemory)
    if os.name == "posix":
        resource_tracker.unregister(shm._name, "shared_memory")


def in_dev_shm(*names: str) -> list[str]:
    """Which of the segment ``names`` exist as files in ``/dev/shm`` (Linux; else ``[]``)."""
    for i, name in enumerate(names):
        check_type(f"names[{i}]", name, str)
    if not sys.platform.startswith("linux"):
        return []
    return [n for n in names if os.path.exists(os.path.join("/dev/shm", n.lstrip("/")))]
