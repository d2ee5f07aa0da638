"""A private JupyterLab server on a copy of the course, stopped without leftovers.

Each browser test starts its own server (``LabServer``) on ``127.0.0.1`` with a
random token, in a temporary folder that holds a copy of the course (JupyterLab
autosaves, and a test must never rewrite the committed notebooks). The server's
root is the folder ``make lab`` serves (``make_lab_root()`` reads it from the
Makefile), so a link that works in the test works for a learner, and a link that
leaves that root (``../README.md`` under a root of ``notebooks/``) fails in both.
Every Jupyter directory (config, data, runtime, settings, workspaces, IPython)
is a fresh one inside that folder, so the test sees JupyterLab as a learner does
on a new machine, whatever the developer has configured. News and update checks
are off (nothing may leave the machine).

``LabServer.stop()`` ends the kernels and the server gracefully and reports
every problem as a sentence: a child process of a kernel still alive after the
notebook ran (multiprocessing's resource tracker and forkserver *server*
excepted, ``tests.processes.is_mp_helper``; a forkserver *worker* is reported),
a process that outlived the server, an entry left in ``/dev/shm``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from tests.processes import (
    SHM,
    describe,
    ipc_entries,
    is_mp_helper,
    private_shm_prefix,
)

ROOT = Path(__file__).resolve().parents[2]

#: JupyterLab settings for the test: every cell stays in the page (no virtual
#: scrolling, so every output is laid out and measurable, and a tall screenshot
#: shows the whole notebook), and no question about news or updates pops up.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def names_in(directory: Path = SHM, prefixes: tuple[str, ...] = ("",)) -> set[str]:
    """Names in ``directory`` (/dev/shm by default) that start with one of ``prefixes``."""
    try:
        return {p.name for p in directory.iterdir() if p.name.startswith(prefixes)}
    except OSError:
        return set()


def make_lab_root(makefile: Path = ROOT / "Makefile") -> str:
    """The folder ``make lab`` serves, relative to the course (``.`` or ``notebooks``).

    Read from the ``--notebook-dir=`` of the ``jupyter lab`` command in the
    Makefile, so the browser tests follow any change to ``make lab``.
    """
    text = makefile.read_text(encoding="utf-8")
    commands = [line for line in text.splitlines() if re.search(r"\bjupyter lab\b", line)]
    for line in commands:
        found = re.search(r"--(?:ServerApp\.root_dir|notebook-dir)[= ](\S+)", line)
        if found:
            return found.group(1).strip("'\"").rstrip("/") or "."
    raise RuntimeError(
        f"cannot tell which folder `make lab` serves: no `jupyter lab ... --notebook-dir=DIR` "
        f"in {makefile} (the browser tests serve the course the same way)"
    )


def course_files() -> list[Path]:
    """The course as a learner's checkout has it: every file git tracks or would track
    (new notebooks included), relative to the course root; without git, ``notebooks/``
    and ``README.md``."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout.decode()
        files = [Path(name) for name in listed.split("\0") if name]
    except (OSError, subprocess.SubprocessError):
        files = [p.relative_to(ROOT) for p in (ROOT / "notebooks").rglob("*") if p.is_file()]
        files.append(Path("README.md"))
    return [f for f in files if (ROOT / f).is_file() and ".ipynb_checkpoints" not in f.parts]


def copy_course(dest: Path, extras: tuple[Path, ...] | list[Path] = ()) -> Path:
    """Copy the course (``course_files()``) into ``dest``.

    ``extras``, notebooks from elsewhere (the self-tests' broken notebooks), are
    copied into the copy's notebooks/ too.
    """
    for name in course_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    for extra in extras:
        if extra.resolve().parent != (ROOT / "notebooks").resolve():
            (dest / "notebooks").mkdir(parents=True, exist_ok=True)
            shutil.copy2(extra, dest / "notebooks" / extra.name)
    return dest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _end_with_parent() -> None:  # pragma: no cover - runs in the child
    """Linux: the server gets SIGTERM if pytest dies (so it never outlives a killed run)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def is_alive(proc: psutil.Process) -> bool:
    """Running and not a zombie (a dead child that its parent has not reaped yet)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def is_kernel(proc: psutil.Process) -> bool:
    try:
        return "ipykernel_launcher" in " ".join(proc.cmdline())
    except psutil.Error:
        return False


class LabServer:
    """``jupyter lab`` on ``course`` (a copy), serving its folder ``root`` (by default the
    one ``make lab`` serves), with its state under ``workdir``."""

    def __init__(
        self,
        course: Path,
        workdir: Path,
        startup_timeout: float = 60.0,
        root: str | None = None,
    ):
        self.course = course
        self.root = (course / (make_lab_root() if root is None else root)).resolve()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.startup_timeout = startup_timeout
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.log_path = workdir / "jupyter-lab.log"
        self.proc: subprocess.Popen | None = None
        self.private_shm = bool(private_shm_prefix())
        self.shm_before = set() if self.private_shm else ipc_entries()
        self._seen: dict[int, psutil.Process] = {}  # every process of the server's tree
        self._sessions: set[int] = set()  # session ids of the server and of each kernel

    # -- start -------------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """The server's (and so the kernels') environment: a learner's, on a fresh machine."""
        env = {
            key: value
            for key, value in os.environ.items()
            # PYTEST_CURRENT_TEST turns off ipykernel's capture of children's output;
            # MPLBACKEND would replace the inline backend; the rest would let the
            # developer's own configuration in.
            if key not in {"PYTEST_CURRENT_TEST", "MPLBACKEND", "MP_START_METHOD", "JUPYTER_TOKEN"}
            and not key.startswith(("JUPYTER_", "JUPYTERLAB_"))
        }
        dirs = {name: self.workdir / name for name in ("config", "data", "runtime", "ipython")}
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        env.update(
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTER_PLATFORM_DIRS="1",
            IPYTHONDIR=str(dirs["ipython"]),
            PYTHON_COLORS="0",
            NO_COLOR="1",
        )
        return env

    def command(self) -> list[str]:
        settings = self.workdir / "user-settings"
        for name, values in LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values), encoding="utf-8")
        cmd = [
            sys.executable, "-m", "jupyterlab",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, to run its commands
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={self.workdir / 'workspaces'}",
        ]  # fmt: skip
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # containers and CI run as root
        return cmd

    def start(self) -> None:
        """Start the server; ``wait_until_ready()`` waits for it to answer."""
        log = open(self.log_path, "wb")  # noqa: SIM115 (the child keeps its own copy)
        self.proc = subprocess.Popen(
            [*private_shm_prefix(), *self.command()],  # unshare and sh exec: same pid
            cwd=self.root,
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session: every descendant can be found
            preexec_fn=_end_with_parent if sys.platform.startswith("linux") else None,
        )
        log.close()
        self._sessions.add(self.proc.pid)

    def wait_until_ready(self) -> None:
        """Return once the server answers; RuntimeError (with its log) if it never does."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                self.api("GET", "/api/status", timeout=2)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        raise RuntimeError(
            f"jupyter lab did not answer within {self.startup_timeout:g} s:\n{self.log_tail()}"
        )

    # -- use ---------------------------------------------------------------------------
    def path_of(self, file: Path) -> str:
        """The server's path of ``file`` (in the course copy): relative to its root."""
        return Path(os.path.relpath(file.resolve(), self.root)).as_posix()

    def lab_url(self, path: str, workspace: str = "test") -> str:
        """The URL that opens ``path`` (relative to the server's root) in a fresh workspace."""
        return (
            f"http://127.0.0.1:{self.port}/lab/workspaces/{workspace}/tree/{path}"
            f"?reset&token={self.token}"
        )

    def api(self, method: str, path: str, timeout: float = 10) -> object:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
            data=b"" if method in {"POST", "DELETE"} else None,
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def remember_processes(self) -> list[psutil.Process]:
        """Record the server's process tree now; return the kernels in it."""
        if self.proc is None:
            return []
        try:
            tree = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        kernels = []
        for proc in tree:
            self._seen.setdefault(proc.pid, proc)
            if is_kernel(proc):
                kernels.append(proc)
                self._sessions.add(proc.pid)  # jupyter_client starts kernels in new sessions
        return kernels

    def stray_children(self) -> list[str]:
        """Children of the kernels that are still alive, other than multiprocessing's helpers."""
        strays = []
        for kernel in self.remember_processes():
            try:
                children = kernel.children(recursive=True)
            except psutil.NoSuchProcess:
                continue
            for child in children:
                self._seen.setdefault(child.pid, child)
                if not is_mp_helper(child):
                    strays.append(describe(child))
        return strays

    # -- stop --------------------------------------------------------------------------
    def stop(self) -> list[str]:
        """Shut the kernels and the server down gently; return what was left behind."""
        if self.proc is None:
            return []
        problems = []
        self.remember_processes()
        if self.proc.poll() is None:
            try:
                for kernel in self.api("GET", "/api/kernels") or []:
                    self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=30)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
                problems.append(f"jupyter lab did not shut its kernels down: {exc}")
            # The kernels and their helpers (the resource tracker unlinks leftovers) end...
            self.remember_processes()
            psutil.wait_procs(list(self._seen.values()), timeout=15)
            # ...then the private /dev/shm, seen through the server's own root, must be empty.
            if self.private_shm:
                leftovers = sorted(names_in(Path(f"/proc/{self.proc.pid}/root/dev/shm")))
                if leftovers:
                    problems.append(f"entries left in /dev/shm after the kernel ended: {leftovers}")
            try:
                self.api("POST", "/api/shutdown", timeout=10)
                self.proc.wait(timeout=30)
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as exc:
                problems.append(f"jupyter lab did not accept its shutdown ({exc}); ended it")
            except subprocess.TimeoutExpired:
                problems.append("jupyter lab was still running 30 s after its shutdown; ended it")
        self._end()

        survivors = self._survivors(wait=5.0)
        if survivors:
            problems.append(
                "processes that outlived the server:\n  "
                + "\n  ".join(describe(p) for p in survivors)
            )
            for proc in survivors:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
        if not self.private_shm:  # the shared /dev/shm: other programs may write there too
            leftovers = sorted(ipc_entries() - self.shm_before)
            if leftovers:
                problems.append(f"entries left in /dev/shm after the server stopped: {leftovers}")
                for name in leftovers:  # reported: do not leave them to the next test
                    (SHM / name).unlink(missing_ok=True)
        self.proc = None
        return problems

    def _end(self) -> None:
        """End the server if it still runs: SIGTERM to its process group, then SIGKILL."""
        for signum in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                return
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signum)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)

    def _survivors(self, wait: float) -> list[psutil.Process]:
        """Processes of the server's tree or sessions still alive after ``wait`` seconds."""
        candidates = dict(self._seen)
        for proc in psutil.process_iter():
            try:
                if os.getsid(proc.pid) in self._sessions:
                    candidates.setdefault(proc.pid, proc)
            except (OSError, psutil.Error):
                continue
        _, alive = psutil.wait_procs(list(candidates.values()), timeout=wait)
        return [p for p in alive if is_alive(p)]
