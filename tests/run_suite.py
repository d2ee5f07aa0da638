"""Run the whole test suite: ``python -m tests.run_suite`` (what ``make test`` runs).

For each start method this platform has (fork, spawn, forkserver on Linux), one
pytest run executes the helper unit tests and every notebook under strict nbval,
with ``MP_START_METHOD`` set. Then the hygiene tests run once, and the browser
tests once (every notebook in JupyterLab in headless Chromium: tests/browser).
Where the machine allows it (Linux, root), each run gets a private 64 MB ``/dev/shm``
(Binder's size), so the leak checks see only the course's own entries and a
notebook that needs more than Binder gives fails here first.

The last line is the total, ``suite: N passed, N failed, N skipped``; the exit
status is non-zero if any run failed.

Options: ``--methods fork,spawn`` to run fewer start methods, ``--notebooks
PATTERN`` to run only matching notebooks (for quick iteration), and anything
after ``--`` goes to every pytest run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTS_ROOT = ROOT / "tests" / ".reports"
CELL_TIMEOUT = 120


def private_shm_prefix() -> list[str]:
    """A command prefix that gives the run its own /dev/shm, or [] if not possible."""
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return []
    script = 'mount -t tmpfs -o size=64m,mode=1777 tmpfs /dev/shm && exec "$@"'
    prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
    return prefix if probe.returncode == 0 else []


def pytest_run(
    reports: Path,
    name: str,
    paths: list[str],
    extra: list[str],
    env: dict[str, str],
    prefix: list[str],
) -> tuple[int, Path]:
    """Run pytest on ``paths``; return its exit code and its JUnit report's path."""
    report = reports / f"{name}.xml"
    cmd = [*prefix, sys.executable, "-m", "pytest", *paths, f"--junitxml={report}", *extra]
    print(f"\n=== {name}: {' '.join(cmd[len(prefix) :])}", flush=True)
    return subprocess.call(cmd, cwd=ROOT, env=env), report


def count(report: Path) -> tuple[int, int, int]:
    """(passed, failed, skipped) from a JUnit XML report."""
    if not report.exists():
        return 0, 1, 0
    suites = ET.parse(report).getroot()
    passed = failed = skipped = 0
    for suite in suites.iter("testsuite"):
        tests = int(suite.get("tests", 0))
        bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skip = int(suite.get("skipped", 0))
        passed += tests - bad - skip
        failed += bad
        skipped += skip
    return passed, failed, skipped


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    available = [
        m for m in ("fork", "spawn", "forkserver") if m in multiprocessing.get_all_start_methods()
    ]
    parser.add_argument(
        "--methods",
        default=",".join(available),
        help="comma-separated start methods (default: %(default)s)",
    )
    parser.add_argument(
        "--notebooks", default="", help="only notebooks whose name contains this text"
    )
    args = parser.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    unknown = [m for m in methods if m not in available]
    if unknown:
        parser.error(f"--methods: {unknown} not available here; choose from {available}")

    # One folder per run, so that runs at the same time keep their own reports.
    REPORTS_ROOT.mkdir(parents=True, exist_ok=True)
    reports = Path(tempfile.mkdtemp(prefix="run-", dir=REPORTS_ROOT))
    notebooks = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "notebooks").glob("*.ipynb")
        if args.notebooks in p.name
    )
    nbval_args = [
        "--nbval",
        "--nbval-current-env",
        f"--nbval-cell-timeout={CELL_TIMEOUT}",
        "--nbval-sanitize-with=tests/sanitize.cfg",
    ]
    prefix = private_shm_prefix()
    print("private /dev/shm per run:", "yes (64 MB tmpfs)" if prefix else "no (shared /dev/shm)")

    started = time.monotonic()
    results = []
    for method in methods:
        env = dict(os.environ, MP_START_METHOD=method)
        results.append(
            pytest_run(
                reports, method, ["tests/unit", *notebooks], [*nbval_args, *extra], env, prefix
            )
        )
    results.append(pytest_run(reports, "hygiene", ["tests/hygiene"], extra, dict(os.environ), []))
    # Once, under the default start method: every notebook in JupyterLab in headless
    # Chromium (tests/browser/test_jupyterlab.py); its server gets a private /dev/shm itself.
    browser_env = {k: v for k, v in os.environ.items() if k != "MP_START_METHOD"}
    only = ["-k", args.notebooks] if args.notebooks else []
    results.append(pytest_run(reports, "browser", ["tests/browser", *only], extra, browser_env, []))

    totals = [0, 0, 0]
    print(f"\n=== summary ({time.monotonic() - started:.0f} s)")
    for (code, report), name in zip(results, [*methods, "hygiene", "browser"]):
        p, f, s = count(report)
        if code != 0 and f == 0:
            f = 1  # pytest failed without a test failure (collection, usage...)
        totals = [totals[0] + p, totals[1] + f, totals[2] + s]
        print(f"{name:11s} exit {code}: {p} passed, {f} failed, {s} skipped")
    print(f"suite: {totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    shutil.rmtree(reports, ignore_errors=True)
    return 0 if all(code == 0 for code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
