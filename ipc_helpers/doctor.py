"""Check a set-up in under a minute: ``make check``, or ``python -m ipc_helpers.doctor``.

It prints one line that a learner pastes into the class's shared document, and
that tells a helper at a glance what the machine is::

    IPC check OK | Python 3.13.0 Linux x86_64 | start method fork | CPUs 2 usable of 2 |
    /dev/shm 64 MiB (63 free) | spawn child 0.2 s | checker: Not attempted yet |
    widgets 8.1.9 + JupyterLab extension | 2.9 s

(on one line). When a part fails, the line says ``IPC check FAILED`` and which
part, and the lines after it say what to do; the exit status is then 1.
Instructors run the same command as their smoke test on every machine they
teach from. On Binder: open a terminal, or run ``!python -m ipc_helpers.doctor``
in a notebook cell.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SUPPORTED = ((3, 11), (3, 14))
#: Seconds the spawn child may take to start and answer (a busy Binder is slow).
CHILD_TIMEOUT = 30.0
#: Less free space than this in /dev/shm and notebooks 03 and 05 may fail.
SHM_NEEDED = 32 * 2**20
WIDGETS = "@jupyter-widgets/jupyterlab-manager"


@dataclass(frozen=True)
class Part:
    """One part of the check: what the line shows, and what to do if it failed."""

    text: str
    ok: bool = True
    advice: str = ""


def python_part() -> Part:
    version = platform.python_version()
    build = " free-threaded" if getattr(sys, "_is_gil_enabled", lambda: True)() is False else ""
    text = f"Python {version}{build} {platform.system()} {platform.machine()}"
    if SUPPORTED[0] <= sys.version_info[:2] <= SUPPORTED[1]:
        return Part(text)
    return Part(
        text,
        False,
        "the course needs Python 3.11 to 3.14 (3.13 preferred): see the "
        "README's table 'If it does not work' for how to install one.",
    )


def start_method_part() -> Part:
    """The default start method, read without fixing it."""
    method = mp.get_start_method(allow_none=True) or mp.get_all_start_methods()[0]
    return Part(f"start method {method}")


def cpus_part() -> Part:
    """CPUs this process may use (affinity and CPU quota, as on Binder) and the machine's."""
    from .motivation import count_cpus, usable_cpus

    cpus = count_cpus()
    quota = f", quota {cpus.quota:g} from {cpus.quota_from}" if cpus.quota else ""
    return Part(f"CPUs {usable_cpus()} usable of {cpus.machine}{quota}")


def shm_part(folder: str = "/dev/shm") -> Part:
    """Size and free space of the shared-memory folder (Linux; none on macOS)."""
    if not Path(folder).is_dir():
        return Part(f"no {folder} ({platform.system()})")
    stat = os.statvfs(folder)
    size, free = stat.f_frsize * stat.f_blocks, stat.f_frsize * stat.f_bavail
    text = f"{folder} {size / 2**20:.0f} MiB ({free / 2**20:.0f} free)"
    if free >= SHM_NEEDED:
        return Part(text)
    return Part(
        text,
        False,
        f"{folder} has less than 32 MiB free: remove leftover psm_* "
        "blocks (ls /dev/shm), or in Docker start with --shm-size=256m.",
    )


def _child(answers) -> None:
    """The spawn child: say which process it is."""
    answers.put(os.getpid())


def spawn_part(timeout: float = CHILD_TIMEOUT) -> Part:
    """Start one child under ``spawn`` (as macOS and Windows do) and hear from it."""
    ctx = mp.get_context("spawn")
    answers = ctx.Queue()
    child = ctx.Process(target=_child, args=(answers,), daemon=True)
    started = time.monotonic()
    try:
        child.start()
        pid = answers.get(timeout=timeout)
        child.join(timeout)
    except Exception as error:  # noqa: BLE001 - any failure is the answer
        return Part(
            "spawn child FAILED",
            False,
            f"a spawn child did not answer "
            f"({type(error).__name__}: {error}); paste the line for a helper.",
        )
    finally:
        if child.is_alive():
            child.kill()
            child.join(5)
        answers.close()
    if pid != child.pid or child.exitcode != 0:
        return Part(
            "spawn child FAILED", False, f"the child ended with exit code {child.exitcode}."
        )
    return Part(f"spawn child {time.monotonic() - started:.1f} s")


def _placeholder(numbers: list[int]) -> list[int]:
    raise NotImplementedError


def checker_part() -> Part:
    """Run exercise 1 of notebook 00's checker on a placeholder: it must say Not attempted."""
    try:
        from .exercises.motivation import check_bring_back

        feedback = check_bring_back(_placeholder)
    except Exception as error:  # noqa: BLE001
        return Part(
            "checker FAILED",
            False,
            f"the course's checkers do not run "
            f"({type(error).__name__}: {error}): run make lab again.",
        )
    label = str(feedback).split(":")[0]
    if feedback.status == "not attempted":
        return Part(f"checker: {label}")
    return Part(
        f"checker FAILED ({label})",
        False,
        f"a checker answered a placeholder with {feedback.status!r}: report it to your instructor.",
    )


def widgets_part() -> Part:
    """ipywidgets importable, and JupyterLab's widget extension installed."""
    try:
        import ipywidgets
        from jupyter_core.paths import jupyter_path
    except ImportError as error:
        return Part(
            "widgets FAILED",
            False,
            f"{error}: run make lab (or pip install -r "
            "requirements.txt) in the course's environment.",
        )
    found = any(
        (Path(p) / WIDGETS / "package.json").exists() for p in jupyter_path("labextensions")
    )
    if found:
        return Part(f"widgets {ipywidgets.__version__} + JupyterLab extension")
    return Part(
        f"widgets {ipywidgets.__version__}, extension FAILED",
        False,
        "JupyterLab's widget extension is missing: pip install jupyterlab_widgets "
        "in the environment that runs JupyterLab; labs and checkpoints need it.",
    )


PARTS: tuple[Callable[[], Part], ...] = (
    python_part,
    start_method_part,
    cpus_part,
    shm_part,
    spawn_part,
    checker_part,
    widgets_part,
)


def run() -> tuple[str, list[str]]:
    """Run every part; return the line to paste and the advice for what failed."""
    started = time.monotonic()
    parts = []
    for part in PARTS:
        try:
            parts.append(part())
        except Exception as error:  # noqa: BLE001 - one broken part must not hide the rest
            parts.append(Part(f"{part.__name__} FAILED", False, f"{type(error).__name__}: {error}"))
    failed = [p for p in parts if not p.ok]
    head = "IPC check OK" if not failed else f"IPC check FAILED ({len(failed)})"
    line = " | ".join([head, *(p.text for p in parts), f"{time.monotonic() - started:.1f} s"])
    return line, [f"- {p.advice}" for p in failed]


def main() -> int:
    line, advice = run()
    print(line)
    if advice:
        print("What to do:", *advice, sep="\n")
    return 1 if advice else 0


if __name__ == "__main__":
    from ipc_helpers.doctor import main as run_main  # the module by name: spawn finds _child

    sys.exit(run_main())
