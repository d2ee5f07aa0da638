"""Time every notebook top to bottom, per start method: the guide's measured-times table.

    python -m tools.time_notebooks                       # every notebook, three methods
    python -m tools.time_notebooks --methods fork 03_    # one method, matching notebooks

Each notebook runs in a fresh kernel with the test suite's kernel environment
(``MP_START_METHOD`` picks the start method), outputs not stored. It prints one
markdown row per notebook: seconds under each method, the peak memory of the
kernel and all its children together (proportional set size, sampled every
0.1 s), and the load average while it ran, so a row can be judged later.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

from tests.notebook_harness import kernel_env

ROOT = Path(__file__).resolve().parent.parent


def pss(process: psutil.Process) -> int:
    """Proportional set size of ``process`` and its descendants, in bytes (0 if gone)."""
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            total += proc.memory_full_info().pss
        except (psutil.Error, AttributeError):
            continue
    return total


def run(path: Path, method: str) -> tuple[float, int]:
    """Seconds to run ``path`` under ``method``, and its peak memory in bytes."""
    os.environ["MP_START_METHOD"] = method
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})  # fmt: skip
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            kernel = getattr(getattr(client, "km", None), "provisioner", None)
            pid = getattr(getattr(kernel, "process", None), "pid", None)
            if pid:
                peak[0] = max(peak[0], pss(psutil.Process(pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.monotonic()
    sampler.start()
    try:
        client.execute(env=kernel_env())
    finally:
        done.set()
        sampler.join()
    return time.monotonic() - started, peak[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("patterns", nargs="*", help="parts of notebook names (default: all)")
    parser.add_argument("--methods", default="fork,spawn,forkserver")
    args = parser.parse_args(argv)
    methods = args.methods.split(",")
    notebooks = [p for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
                 if not args.patterns or any(x in p.name for x in args.patterns)]  # fmt: skip
    print(f"| notebook | {' | '.join(methods)} | peak memory (PSS) | load average |")
    print(f"|---|{'---|' * len(methods)}---|---|")
    for path in notebooks:
        seconds, peaks, loads = [], [], []
        for method in methods:
            took, peak = run(path, method)
            seconds.append(f"{took:.0f} s")
            peaks.append(peak / 1e6)
            loads.append(os.getloadavg()[0])
        memory = f"{min(peaks):.0f}–{max(peaks):.0f} MB"
        load = f"{min(loads):.1f}–{max(loads):.1f}"
        print(f"| {path.stem} | {' | '.join(seconds)} | {memory} | {load} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
