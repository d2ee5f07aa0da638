"""A test kernel driven cell by cell, interrupted as JupyterLab interrupts it.

``Kernel`` starts ``ipykernel`` through ``jupyter_client`` with the course's
test environment (``tests.notebook_harness.kernel_env``: start method, no
colours, strict checkers) in ``notebooks/``, runs one cell at a time and
returns what the cell did (``Run``). ``Kernel.interrupt()`` is what Kernel →
Interrupt does in JupyterLab: ``SIGINT`` to the kernel's whole process group,
so the kernel and every child it started (``fork`` and ``spawn`` children share
its group) get the signal together.

While a cell runs, a thread polls the kernel's descendants every few
milliseconds (``Watcher``), so the test knows which processes that cell
started, and when the first one appeared.
"""

from __future__ import annotations

import ast
import collections
import contextlib
import itertools
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from tests import notebook_harness as harness
from tests.processes import SHM, ipc_entries, is_mp_helper, private_shm_prefix

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
POLL = 0.05  # seconds between two looks at the kernel's descendants
#: Makes the kernel dump its threads' stacks (``Kernel.stacks``); the course uses no SIGUSR1.
STACKS_SIGNAL = signal.SIGUSR1

#: The last line of a child's traceback of Kernel → Interrupt, in what a cell printed.
CHILD_INTERRUPTED = re.compile(r"^KeyboardInterrupt\s*$", re.MULTILINE)


#: Linux lists each thread's children in /proc/PID/task/TID/children: reading them is
#: far cheaper than psutil's ``children()``, which reads every process of the machine
#: (the watcher looks 20 times a second, in four kernels at once during the suite).
PROC_CHILDREN = Path(f"/proc/{os.getpid()}/task/{threading.get_native_id()}/children").exists()


def child_pids(pid: int) -> list[int]:
    """The children of ``pid``, from /proc (see ``PROC_CHILDREN``); [] once it ended."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(word) for word in f.read().split()]
    return found


def waited_for_cpu(pid: int) -> float | None:
    """Seconds the main thread of ``pid`` has spent ready to run but waiting for a CPU
    that other programs had (Linux: /proc/PID/schedstat, in ns); None where the
    system does not say."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


#: One thread's block in a faulthandler dump, and one frame line of it.
DUMP_THREAD = re.compile(r"^(?:Current thread|Thread) (0x[0-9a-f]+)", re.MULTILINE)
DUMP_FRAME = re.compile(r'^\s+File "([^"]+)", line (\d+) in (\S+)', re.MULTILINE)


def summarize_stacks(dump: str, frames: int = 4) -> str:
    """A faulthandler dump in one line: the innermost ``frames`` frames of the kernel's
    main thread (``function (file:line)``, innermost first), then the frame each
    other thread is in (most of them wait in ``select``)."""
    main, others = "", collections.Counter()
    starts = [m.start() for m in DUMP_THREAD.finditer(dump)] + [len(dump)]
    for start, end in itertools.pairwise(starts):
        found = [
            f"{func} ({Path(file).name}:{line})"
            for file, line, func in DUMP_FRAME.findall(dump[start:end])
        ]
        if any(frame.startswith("<module> (ipykernel_launcher.py:") for frame in found):
            main = " <- ".join(found[:frames])
        elif found:
            others[found[0]] += 1
    rest = ", ".join(f"{frame}{f' x{n}' if n > 1 else ''}" for frame, n in others.items())
    return "; ".join(filter(None, [main and f"main: {main}", rest and f"other threads: {rest}"]))


def alive(proc: psutil.Process) -> bool:
    """Running and not a zombie."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@dataclass
class Run:
    """What one execution of a cell did."""

    status: str  # "ok", "error", or "no reply" (still running at the bound)
    seconds: float  # from the request to the reply
    ename: str = ""
    evalue: str = ""
    text: str = ""  # everything the cell printed (stdout and stderr streams)
    started: dict[int, psutil.Process] = field(default_factory=dict)  # processes it started
    first_child: float | None = None  # seconds from the request to the first one
    last_child: float | None = None  # ... to the last moment one of them was alive

    traceback: list[str] = field(default_factory=list)  # the error's, as the kernel sent it

    @property
    def child_tracebacks(self) -> int:
        """Tracebacks of KeyboardInterrupt that children printed into the cell."""
        return len(CHILD_INTERRUPTED.findall(self.text))

    def last_frames(self, count: int = 3) -> str:
        """The last ``count`` frames of the error's traceback, innermost first: where
        the code was (``File ...py:LINE, in FUNCTION(): the line``)."""
        frames = []
        for entry in self.traceback:
            lines = harness.ANSI.sub("", entry).splitlines()
            if lines and lines[0].startswith(("File ", "Cell ")):
                at = next((ln.split("---->", 1)[1].strip() for ln in lines if "---->" in ln), "")
                frames.append(f"{lines[0].strip()}: {at.lstrip('0123456789 ')}")
        return " <- ".join(reversed(frames[-count:]))


class Watcher:
    """Polls the kernel's descendants in a thread; remembers the new ones and when."""

    def __init__(self, kernel_pid: int):
        self.kernel_pid = kernel_pid
        self.known: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.new: dict[int, psutil.Process] = {}
        self.first_new: float | None = None
        self.last_alive: float | None = None  # when a new process was last seen alive
        self._t0 = 0.0
        self.look()

    def descendants(self) -> list[psutil.Process]:
        if not PROC_CHILDREN:
            try:
                return psutil.Process(self.kernel_pid).children(recursive=True)
            except psutil.Error:
                return []
        found, todo = [], [self.kernel_pid]
        while todo:
            pid = todo.pop()
            for child in child_pids(pid):
                with contextlib.suppress(psutil.Error):
                    found.append(psutil.Process(child))
                    todo.append(child)
        return found

    def look(self) -> None:
        now = time.monotonic() - self._t0
        for proc in self.descendants():
            key = proc.pid
            if key in self.known and self.known[key] == proc:  # same pid, same process
                continue
            self.known[key] = proc
            if self._thread is not None and not is_mp_helper(proc):
                self.new[key] = proc
                if self.first_new is None:
                    self.first_new = now
        if self._thread is not None and any(alive(p) for p in self.new.values()):
            self.last_alive = now

    def start(self, t0: float) -> None:
        self.look()
        self.new, self.first_new, self.last_alive, self._t0 = {}, None, None, t0
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(POLL):
            self.look()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._thread = None
        self.look()


class Kernel:
    """One ipykernel in ``notebooks/`` with the course's test environment.

    Where the machine allows it (Linux, root), the kernel gets a ``/dev/shm`` of its
    own (a 64 MB tmpfs, Binder's size, in a mount namespace of its own: the prefix
    of ``tests.processes.private_shm_prefix``), so what is left there is this
    kernel's, even with other kernels running beside it. ``shm_entries()`` reads it.
    """

    def __init__(self, workdir: Path) -> None:
        prefix = private_shm_prefix()
        self.private_shm = bool(prefix)
        self.km = KernelManager(
            kernel_name="course", kernel_spec_manager=kernel_specs(workdir, prefix)
        )
        # What the kernel writes to its own stdout/stderr: JupyterLab's terminal.
        self.log_path = workdir / "kernel.log"
        cwd = str(harness.working_copy(NOTEBOOKS, workdir))  # removed with workdir
        harness.start_kernel_again_if_it_died(lambda: self._start(cwd))
        self.pid = self.km.provisioner.process.pid  # the prefix execs: the same pid
        self.stacks_path = workdir / "stacks.txt"
        self.watcher = Watcher(self.pid)
        self._iopub: dict[str, list[dict]] = {}  # parent msg_id -> its iopub messages
        self._replies: dict[str, dict] = {}
        self._sent: dict[str, float] = {}  # msg_id -> when it was sent (monotonic)
        self._finished: dict[str, float] = {}  # msg_id -> when its "idle" status arrived
        self._dump_stacks_on_signal()

    def _start(self, cwd: str) -> None:
        """Start the kernel and wait for its answer; if it dies, say what it wrote."""
        with open(self.log_path, "wb") as log:
            self.km.start_kernel(env=harness.kernel_env(), cwd=cwd, stdout=log, stderr=log)
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=60)
        except RuntimeError as error:
            self.kc.stop_channels()
            self.km.shutdown_kernel(now=True)
            said = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{error}; the kernel wrote:\n{said}") from error

    def _dump_stacks_on_signal(self) -> None:
        """``STACKS_SIGNAL`` makes the kernel write every thread's stack to
        ``stacks_path`` (``faulthandler``: it writes even while the main thread is
        stuck in C code), without a cell and without a name in the notebook's namespace."""
        code = (
            f"__import__('faulthandler').register(__import__('signal').{STACKS_SIGNAL.name}, "
            f"file=open({str(self.stacks_path)!r}, 'w'), all_threads=True)"
        )
        msg_id = self.kc.execute(code, silent=True, store_history=False)
        if not self.wait(msg_id, 30.0) or self._replies[msg_id]["content"]["status"] != "ok":
            raise RuntimeError("the kernel did not set up its stack dump within 30 s")

    def stacks(self, timeout: float = 3.0) -> str:
        """Every thread's stack in the kernel now (``summarize_stacks``), or why not."""
        before = self.stacks_path.stat().st_size
        os.kill(self.pid, STACKS_SIGNAL)
        deadline, size = time.monotonic() + timeout, before
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = self.stacks_path.stat().st_size
            if now > before and now == size:  # written, and no longer growing
                with open(self.stacks_path, encoding="utf-8", errors="replace") as f:
                    f.seek(before)
                    return summarize_stacks(f.read()) or "no Python frames"
            size = now
        return f"no stack dump within {timeout:g} s"

    def waited_for_cpu(self) -> float | None:
        """``waited_for_cpu`` of the kernel's main thread, the one that runs the cells."""
        return waited_for_cpu(self.pid)

    # -- messages ----------------------------------------------------------------------
    def _pump(self, timeout: float) -> None:
        """Read what the kernel sent (iopub and shell), sorted by the request it answers."""
        with contextlib.suppress(queue.Empty):
            msg = self.kc.get_iopub_msg(timeout=timeout)
            parent = msg.get("parent_header", {}).get("msg_id", "")
            self._iopub.setdefault(parent, []).append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                self._finished.setdefault(parent, time.monotonic())
        while True:
            try:
                msg = self.kc.get_shell_msg(timeout=0)
            except queue.Empty:
                break
            self._replies[msg["parent_header"].get("msg_id", "")] = msg

    def send(self, code: str) -> str:
        """Ask the kernel to run ``code``; returns the request's id."""
        msg_id = self.kc.execute(code, allow_stdin=False, stop_on_error=False)
        self._sent[msg_id] = time.monotonic()
        return msg_id

    def done(self, msg_id: str) -> bool:
        """The kernel finished the request: its reply and its "idle" status arrived."""
        return msg_id in self._finished and msg_id in self._replies

    def sent_at(self, msg_id: str) -> float:
        return self._sent[msg_id]

    def finished_at(self, msg_id: str) -> float:
        """When the request finished (now, if it has not)."""
        return self._finished.get(msg_id, time.monotonic())

    def wait(self, msg_id: str, timeout: float) -> bool:
        """Wait until the request is done; False at the bound."""
        deadline = time.monotonic() + timeout
        while not self.done(msg_id):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._pump(min(left, 0.05))
        return True

    def result(self, msg_id: str, seconds: float) -> Run:
        """The Run of a request (done or not): its status, error and printed text."""
        reply = self._replies.get(msg_id)
        content = reply["content"] if reply else {}
        texts = [
            m["content"]["text"] for m in self._iopub.get(msg_id, []) if m["msg_type"] == "stream"
        ]
        return Run(
            status=content.get("status", "no reply"),
            seconds=seconds,
            ename=content.get("ename", ""),
            evalue=content.get("evalue", ""),
            text="".join(texts),
            traceback=content.get("traceback", []),
        )

    def late_text(self, msg_ids: list[str]) -> str:
        """What was printed under these requests (children's output arrives late)."""
        self._pump(0.05)
        return "".join(
            m["content"]["text"]
            for msg_id in msg_ids
            for m in self._iopub.get(msg_id, [])
            if m["msg_type"] == "stream"
        )

    def terminal(self) -> str:
        """What the kernel wrote to its terminal (the server's, in JupyterLab) so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def facts(self, timeout: float = 30.0) -> dict[str, object]:
        """What the kernel says about itself (the harness's ``KERNEL_FACTS``: start method,
        Python, strict checkers), asked without a cell of its own."""
        msg_id = self.kc.execute(
            "", silent=True, store_history=False, user_expressions={"facts": harness.KERNEL_FACTS}
        )
        if not self.wait(msg_id, timeout):
            raise RuntimeError(f"the kernel did not report its facts within {timeout:g} s")
        result = self._replies[msg_id]["content"].get("user_expressions", {}).get("facts", {})
        if result.get("status") != "ok":
            raise RuntimeError(f"the kernel could not report its facts: {result}")
        return ast.literal_eval(result["data"]["text/plain"])

    # -- running cells -----------------------------------------------------------------
    def run(self, code: str, timeout: float) -> Run:
        """Run ``code`` to its end (or ``timeout``), watching the processes it starts."""
        t0 = time.monotonic()
        self.watcher.start(t0)
        msg_id = self.send(code)
        self.wait(msg_id, timeout)
        self.watcher.stop()
        run = self.result(msg_id, time.monotonic() - t0)
        run.started = dict(self.watcher.new)
        run.first_child, run.last_child = self.watcher.first_new, self.watcher.last_alive
        return run

    def interrupt(self) -> None:
        """Kernel → Interrupt: SIGINT to the kernel's process group (jupyter_client's way)."""
        self.km.interrupt_kernel()

    def descendants(self) -> list[psutil.Process]:
        return self.watcher.descendants()

    def strays(self) -> list[psutil.Process]:
        """Descendants alive now that are not multiprocessing's helpers."""
        return [p for p in self.descendants() if alive(p) and not is_mp_helper(p)]

    def alive(self) -> bool:
        return self.km.is_alive()

    # -- stop --------------------------------------------------------------------------
    def stop(self) -> tuple[list[psutil.Process], list[str]]:
        """Shut the kernel down gracefully; return the processes that outlived it and the
        ``psm_*``/``sem.mp-*`` entries left in its /dev/shm (private kernels only: the
        caller compares the shared /dev/shm itself)."""
        tree = self.descendants()
        with self._namespace_held() as shm:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
            self.km.shutdown_kernel(now=False)
            _, survivors = psutil.wait_procs(tree, timeout=10)
            survivors = [p for p in survivors if alive(p)]
            for proc in survivors:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            psutil.wait_procs(survivors, timeout=5)
            leftovers = sorted(ipc_entries(shm)) if shm else []
        return survivors, leftovers

    @contextlib.contextmanager
    def _namespace_held(self) -> Iterator[Path | None]:
        """The kernel's private /dev/shm, kept readable after the kernel ends.

        A mount namespace ends with its last process; ``nsenter ... sleep`` (not a
        descendant of the kernel) holds it while the kernel and its helpers end, so
        the entries they leave can still be listed.
        """
        if not self.private_shm or shutil.which("nsenter") is None:
            yield None
            return
        holder = subprocess.Popen(
            ["nsenter", "-t", str(self.pid), "-m", "sleep", "600"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            shm = Path(f"/proc/{holder.pid}/root{SHM}")
            deadline = time.monotonic() + 5
            while not shm.is_dir() and time.monotonic() < deadline:
                time.sleep(0.02)  # nsenter has not entered yet
            yield shm
        finally:
            holder.kill()
            holder.wait()

    def kill(self) -> None:
        """End a kernel that no longer answers (its group, children included)."""
        tree = self.descendants()
        with contextlib.suppress(Exception):
            self.kc.stop_channels()
        with contextlib.suppress(Exception):
            self.km.shutdown_kernel(now=True)
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                proc.kill()


def kernel_specs(workdir: Path, prefix: tuple[str, ...]) -> KernelSpecManager:
    """A kernelspec "course": this Python's ipykernel, behind ``prefix`` (maybe empty)."""
    folder = workdir / "kernels" / "course"
    folder.mkdir(parents=True, exist_ok=True)
    argv = [*prefix, sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "course (test)", "language": "python"}
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return KernelSpecManager(kernel_dirs=[str(workdir / "kernels")])
