"""A queue served over TCP: notebook 01's producer/consumer across separate programs.

Three kinds of program meet here, each one its own operating-system process,
sharing nothing but an address and a key:

- the **server** (``python -m ipc_helpers.distributed.remote serve``) owns two
  queues, ``tasks`` and ``results``, and serves them with a ``BaseManager``
  on ``127.0.0.1``, on a port the operating system picks. Its first line of
  output is that address, ``127.0.0.1:PORT``;
- **workers** (``... remote work --address 127.0.0.1:PORT --name w1``)
  connect by address, take tasks until a sentinel ``None`` comes, and put
  their results on ``results``;
- the **producer** is any program that connects the same way: in notebook 06,
  the notebook's kernel (``connect``).

The key never appears on a command line: any user of a machine can read every
command line (``ps``). The programs read it, hex-encoded, from the environment
variable ``IPC_COURSE_AUTHKEY``. ``Programs`` starts them and stops every one of
them when its ``with`` block ends, even after an error or an interrupt.

Only the standard library is imported here, so each program starts fast.
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing import AuthenticationError
from multiprocessing.managers import BaseManager
from typing import IO, Any

from ..managers import check_address, check_authkey
from ..validation import check_int, check_number, check_timeout, check_type

#: The environment variable through which programs receive the key (hex).
KEY_VARIABLE = "IPC_COURSE_AUTHKEY"

#: A worker's exit codes, and what each means.
EXIT_CODES = {
    0: "done: it received its sentinel",
    1: "lost the server",
    2: "the server rejected its key",
    3: "no task came for too long",
}

_queues: dict[str, queue.Queue] = {}


def _served_queue(name: str) -> queue.Queue:
    """The server's queue called ``name`` (made on first use, in the server)."""
    return _queues.setdefault(name, queue.Queue())


def _tasks() -> queue.Queue:
    return _served_queue("tasks")


def _results() -> queue.Queue:
    return _served_queue("results")


class QueueManager(BaseManager):
    """Serves two queues: ``tasks()`` and ``results()``.

    In the server, each name returns the real ``queue.Queue``; in every other
    program, it returns a proxy whose calls travel to the server over TCP.
    """


QueueManager.register("tasks", callable=_tasks)
QueueManager.register("results", callable=_results)


# --------------------------------------------------------------------------
# The programs
# --------------------------------------------------------------------------


def parse_address(address: Any) -> tuple[str, int]:
    """``"127.0.0.1:PORT"`` (or a ``(host, port)`` pair) as a loopback ``(host, port)``."""
    if isinstance(address, str):
        host, sep, port = address.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"address must look like '127.0.0.1:PORT', got {address!r}")
        address = (host, int(port))
    check_type("address", address, (tuple, list))
    if len(address) != 2:
        raise ValueError(f"address must be (host, port), got {address!r}")
    return check_address(*address)


def serve(authkey: bytes, port: int = 0) -> None:
    """Run the server program: print ``127.0.0.1:PORT``, then serve until stopped."""
    manager = QueueManager(address=("127.0.0.1", port), authkey=check_authkey(authkey))
    server = manager.get_server()  # listening from here on
    host, bound_port = server.address
    print(f"{host}:{bound_port}", flush=True)
    server.serve_forever()


def connect(address: Any, authkey: bytes) -> QueueManager:
    """Connect to the server at ``address`` with ``authkey``; return the manager.

    ``manager.tasks()`` and ``manager.results()`` are then proxies of the
    server's two queues. A wrong key raises ``AuthenticationError``; no
    server at that address raises ``ConnectionRefusedError``.
    """
    manager = QueueManager(address=parse_address(address), authkey=check_authkey(authkey))
    manager.connect()
    return manager


def square_slowly(x: int, seconds: float) -> int:
    """The workers' task: wait ``seconds`` (the "work"), then return ``x * x``."""
    time.sleep(seconds)
    return x * x


def work(address: Any, authkey: bytes, name: str, idle_timeout: float = 30.0) -> int:
    """Run a worker program; return its exit code (see ``EXIT_CODES``).

    A task is ``(task_id, x, seconds)``. For each one the worker puts
    ``("started", name, task_id)`` on ``results``, computes
    ``square_slowly(x, seconds)``, then puts ``("done", name, task_id, x * x)``.
    A ``None`` task is the sentinel: the worker exits with 0.
    """
    try:
        manager = connect(address, authkey)
        tasks, results = manager.tasks(), manager.results()
        while True:
            task = tasks.get(timeout=idle_timeout)
            if task is None:
                return 0
            task_id, x, seconds = task
            results.put(("started", name, task_id))
            results.put(("done", name, task_id, square_slowly(x, seconds)))
    except queue.Empty:
        return 3
    except AuthenticationError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except (OSError, EOFError) as exc:  # the server went away
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``serve [--port N]`` or ``work --address A --name N``."""
    parser = argparse.ArgumentParser(prog="python -m ipc_helpers.distributed.remote")
    roles = parser.add_subparsers(dest="role", required=True)
    server = roles.add_parser("serve", help="serve the task and result queues")
    server.add_argument("--port", type=int, default=0)
    worker = roles.add_parser("work", help="take tasks, put results")
    worker.add_argument("--address", required=True)
    worker.add_argument("--name", required=True)
    worker.add_argument("--idle-timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        parser.error(f"set the key (hex) in the environment variable {KEY_VARIABLE}")
    authkey = bytes.fromhex(key)
    if args.role == "serve":
        serve(authkey, args.port)
        return 0
    return work(args.address, authkey, args.name, args.idle_timeout)


# --------------------------------------------------------------------------
# Starting and stopping programs from the notebook
# --------------------------------------------------------------------------


@dataclass
class Program:
    """One running program, started by ``Programs``.

    Its output lines are read by a helper thread, so ``read_line`` waits with
    a bound; what it writes to stderr goes to a temporary file (``error()``).
    """

    name: str
    popen: subprocess.Popen
    stderr: IO[bytes]
    lines: queue.Queue = field(default_factory=queue.Queue)
    address: str | None = None
    _error: str | None = None

    def read_line(self, timeout: float = 10.0) -> str | None:
        """The next line the program printed, or ``None`` after ``timeout`` s."""
        try:
            return self.lines.get(timeout=check_timeout("timeout", timeout))
        except queue.Empty:
            return None

    def wait(self, timeout: float = 10.0) -> int | None:
        """Wait at most ``timeout`` s for the program to end; its exit code, or ``None``."""
        try:
            return self.popen.wait(check_timeout("timeout", timeout))
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> int:
        """End the program at once (SIGKILL on Unix), like a crash or a power cut."""
        self.popen.kill()
        return self.popen.wait(5.0)

    def error(self) -> str:
        """The last line the program wrote to stderr (``""`` if none)."""
        if self._error is None:
            self.stderr.seek(0)
            lines = self.stderr.read().decode(errors="replace").strip().splitlines()
            return lines[-1] if lines else ""
        return self._error

    def close(self) -> None:
        """Keep the last error line, close the stderr file (once the program ended)."""
        if self._error is None and self.popen.poll() is not None:
            self._error = self.error()
            self.stderr.close()

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()


def _pump(stream: IO[str], lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    stream.close()


class Programs:
    """Start the server and worker programs; stop them all at the end.

    Use it in a ``with`` block: when the block ends, normally, by an error or
    by an interrupt, every program still running is terminated (then killed
    if it does not end within ``stop_timeout`` s) and waited for.
    """

    def __init__(self, stop_timeout: float = 3.0) -> None:
        self.stop_timeout = check_timeout("stop_timeout", stop_timeout)
        self.programs: list[Program] = []

    def __enter__(self) -> Programs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start(self, name: str, args: list[str], authkey: bytes) -> Program:
        env = dict(os.environ, **{KEY_VARIABLE: check_authkey(authkey).hex()})
        command = [sys.executable, "-m", "ipc_helpers.distributed.remote", *args]
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        popen = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL,
            env=env, text=True,
        )  # fmt: skip
        program = Program(name, popen, stderr)
        threading.Thread(target=_pump, args=(popen.stdout, program.lines), daemon=True).start()
        self.programs.append(program)
        return program

    def server(self, authkey: bytes, timeout: float = 15.0) -> Program:
        """Start the server program; return it once it prints its address."""
        timeout = check_timeout("timeout", timeout)
        program = self._start("server", ["serve"], authkey)
        line = program.read_line(timeout)
        if line is None:
            raise RuntimeError(f"the server printed no address within {timeout:g} s")
        program.address = line
        parse_address(line)
        return program

    def worker(
        self, address: Any, authkey: bytes, name: str, idle_timeout: float = 30.0
    ) -> Program:
        """Start a worker program that connects to ``address`` with ``authkey``."""
        host, port = parse_address(address)
        check_type("name", name, str)
        idle_timeout = check_number("idle_timeout", idle_timeout, minimum=0.1, maximum=600.0)
        args = ["work", "--address", f"{host}:{port}", "--name", name]
        return self._start(name, [*args, "--idle-timeout", str(idle_timeout)], authkey)

    def stop(self) -> list[int | None]:
        """Terminate every program still running, kill the stubborn ones, wait for all.

        Returns their exit codes in start order (negative: ended by a signal).
        """
        running = [p for p in self.programs if p.popen.poll() is None]
        try:
            for p in running:
                p.popen.terminate()
            deadline = time.monotonic() + self.stop_timeout
            for p in running:
                p.wait(max(0.01, deadline - time.monotonic()))
        finally:  # even when interrupted: no program outlives the block
            for p in self.programs:
                if p.popen.poll() is None:
                    p.popen.kill()
                    p.popen.wait(5.0)
                p.close()
        return [p.popen.returncode for p in self.programs]


# --------------------------------------------------------------------------
# What the producer does
# --------------------------------------------------------------------------


def collect(results: Any, n_tasks: int, timeout: float = 10.0) -> dict[int, tuple[str, int]]:
    """Read ``results`` until ``n_tasks`` tasks are done, or ``timeout`` s pass.

    Returns ``{task_id: (worker name, result)}`` for the tasks done in time;
    ``"started"`` messages are skipped. The bound is for the whole collection.
    """
    n_tasks = check_int("n_tasks", n_tasks, minimum=0)
    deadline = time.monotonic() + check_timeout("timeout", timeout)
    done: dict[int, tuple[str, int]] = {}
    while len(done) < n_tasks:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            message = results.get(timeout=left)
        except queue.Empty:
            break
        if message[0] == "done":
            _, worker, task_id, value = message
            done[task_id] = (worker, value)
    return done


def wait_until_started(results: Any, timeout: float = 10.0) -> tuple[str, int] | None:
    """Wait for the next ``("started", worker, task_id)`` message; ``(worker, task_id)``."""
    deadline = time.monotonic() + check_timeout("timeout", timeout)
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = results.get(timeout=left)
        except queue.Empty:
            return None
        if message[0] == "started":
            return message[1], message[2]
    return None


def round_trip_seconds(q: Any, calls: int = 300, repeats: int = 3) -> float:
    """Seconds per call on a queue proxy ``q``: the best of ``repeats`` runs of ``calls`` pairs.

    Each pair is a ``put`` and a ``get`` (two calls, two round trips). A few
    pairs are made first and not timed (a new connection is slower at first);
    the best run is the one the rest of the machine disturbed least (as
    ``timeit`` does).
    """
    calls = check_int("calls", calls, minimum=1, maximum=100_000)
    repeats = check_int("repeats", repeats, minimum=1, maximum=100)
    for i in range(20):
        q.put(i)
        q.get(timeout=10)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for i in range(calls):
            q.put(i)
            q.get(timeout=10)
        best = min(best, (time.perf_counter() - started) / (2 * calls))
    return best


if __name__ == "__main__":
    sys.exit(main())
