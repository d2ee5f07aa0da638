"""Execute notebooks top to bottom in a fresh kernel and store the outputs.

``make execute`` runs this on every notebook; ``python -m tools.execute_notebooks
notebooks/01_queue.ipynb`` on one. This is the only way stored outputs are made.
With ``--check`` the notebooks are executed but not written: an error fails, the
outputs are not compared. Use it to try the course on another Python
(``.venv-oldest/bin/python -m tools.execute_notebooks --check``) or as a Mac
learner would meet it (``MP_START_METHOD=spawn IPC_IMITATE_MACOS=1``: see
tests/macos/sitecustomize.py). ``make test`` does both with leak checks
(tests/run_suite.py).

The kernel gets the same environment as the test kernels
(``tests.notebook_harness.kernel_env``: no colours, the course's IPython
profile, strict checkers) under ``MP_START_METHOD`` or the platform's default
start method. A cell that raises stops the run unless it is tagged
``raises-exception``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.notebook_harness import kernel_env

ROOT = Path(__file__).resolve().parent.parent


def execute(path: Path, timeout: int = 300, store: bool = True) -> float:
    """Execute the notebook at ``path`` (in place if ``store``); return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        # The labs' widget state goes into the notebook's metadata: the website
        # (make site) draws the stored panels from it.
        store_widget_state=True,
    )
    started = time.monotonic()
    client.execute(env=kernel_env())
    elapsed = time.monotonic() - started
    if store:
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        nbformat.write(nb, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="notebooks to execute (default: all in notebooks/)"
    )
    parser.add_argument(
        "--check", action="store_true", help="execute without writing the outputs back"
    )
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        print(f"executing {path.name} ...", end=" ", flush=True)
        print(f"{execute(path.resolve(), store=not args.check):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
