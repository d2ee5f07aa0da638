"""Run the whole test suite: ``python -m tests.run_suite`` (what ``make test`` runs).

The suite is a table of stages (``STAGES``); each is one pytest run in its own
process group, with its own private 64 MB ``/dev/shm`` (Binder's size) where
the machine allows it (Linux, root), so leak checks see only that stage's
entries. Independent stages run side by side, at most ``--jobs`` at once (the
table lists the longest first); stages whose checks depend on timing (cells in
kernels, unit tests with bounds) run at normal priority and the CPU-hungry rest
(a browser, Sphinx, ruff) under ``nice``, so timing-sensitive cells keep their
CPU on a 2-core machine. One stage runs alone, before the others start
(``Stage.alone``): the benchmark's honesty check, which times the machine
itself. Adding a stage is one entry in ``STAGES``; ``--list`` prints them.

The stages: the helper unit tests under fork, spawn and forkserver and on the
oldest supported Python (``.venv-oldest``, Python 3.11, built by ``make test``),
each in two interleaved parts (``--shard``) that run side by side;
every notebook under strict nbval under each start method; every notebook run
twice in one kernel on the oldest Python (errors fail, outputs not compared,
leak checks applied); every notebook in a kernel imitating macOS under spawn
(``tests/macos``); the harness's own tests (``tests/harness``); hygiene; every
notebook in JupyterLab in headless Chromium (``tests/browser``); every cell
interrupted under fork and spawn (``tests/interrupt``); the static site
(``tests/site``); notebook 05's figures against an independent measurement
(``tests/honesty``).

Each stage's output goes to ``tests/.reports/run-*/STAGE.log``; a failed
stage's tail is printed at the end and the folder is kept. The summary names
every stage with its wall and CPU time, the Python and start method it really
ran (as the test kernels reported them), its tests and the notebooks it ran,
then every stage that was skipped or ran no notebook.

**A stage that runs less fails the suite**: a stage whose tests were all
skipped (no Chromium, no Python 3.11, a folder missing) or a notebook stage
that ran no notebook (a ``--notebooks`` pattern matching nothing) fails
``make test`` unless the maintainer allows it by name: ``--allow-skip
"browser,oldest-*"`` (names or shell-style patterns, or ``all``), also read
from the environment variable ``ALLOW_SKIP`` (``make test ALLOW_SKIP=browser``).
Single skipped tests are listed with their reasons but do not fail the suite.

Options: ``--methods fork,spawn`` keeps only the stages of those start methods
(plus the ones without a method), ``--stages 'nbval-*,macos'`` only the stages
with those names (shell-style patterns),
``--notebooks PATTERN`` only notebooks whose name contains PATTERN (other
stages get ``-k PATTERN``; hygiene and site run whole), ``--jobs N`` stages at
once, ``--live`` copies every stage's output to the terminal; anything after
``--`` goes to every pytest run. Stages left out by ``--methods``/``--stages``
are listed as left out on request. The exit status is non-zero if any stage
failed, or ran less than it claims without being allowed to.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tests.processes import private_shm_prefix

ROOT = Path(__file__).resolve().parent.parent
REPORTS_ROOT = ROOT / "tests" / ".reports"
NOTEBOOK_DIR = ROOT / "notebooks"
OLDEST = ROOT / ".venv-oldest" / "bin" / "python"
CELL_TIMEOUT = 120
#: Stages at once: most of a stage's time is spent waiting (timeouts, kernels, a
#: browser), so three per core keep 2 cores busy. (Four at once had run 829 s with
#: seven stages still to go, where six at once finish in about 830 s; the load
#: average still reached 13.)
JOBS = min(6, 3 * (os.cpu_count() or 1))
STAGE_TIMEOUT = 20 * 60  # a stage still running after this is stopped and fails
METHODS = ("fork", "spawn", "forkserver")

NBVAL_STRICT = (
    "--nbval",
    "--nbval-current-env",
    f"--nbval-cell-timeout={CELL_TIMEOUT}",
    "--nbval-sanitize-with=tests/sanitize.cfg",
)
NBVAL_LAX = ("--nbval-lax", "--nbval-current-env", f"--nbval-cell-timeout={CELL_TIMEOUT}")


@dataclass(frozen=True)
class Stage:
    """One pytest run of the suite."""

    name: str
    what: str  #: one line for the stage list
    paths: tuple[str, ...] = ()  #: test paths (the selected notebooks are added by ``nbval``)
    nbval: tuple[str, ...] = ()  #: nbval options; non-empty: run every selected notebook
    method: str | None = None  #: ``MP_START_METHOD`` of the stage (None: the default)
    oldest: bool = False  #: run on the oldest supported Python (.venv-oldest), not .venv
    args: tuple[str, ...] = ()  #: more pytest options
    env: tuple[tuple[str, str], ...] = ()  #: more environment variables
    narrow: bool = True  #: ``--notebooks PATTERN`` narrows it with ``-k PATTERN``
    runs_notebooks: bool = False  #: it exists to run notebooks: running none fails it
    #: niceness: 0 for stages whose checks depend on timing (cells in kernels, unit
    #: tests with bounds), 5 for the CPU-hungry rest (a browser, Sphinx, ruff)
    nice: int = 0
    #: runs by itself, before the other stages start: its checks time the machine
    #: itself, and no share of a busy machine is fair to both sides of a comparison
    alone: bool = False


def nbval_stage(method: str) -> Stage:
    return Stage(
        f"nbval-{method}",
        f"every notebook, strict nbval, {method}",
        nbval=NBVAL_STRICT,
        method=method,
        runs_notebooks=True,
    )


#: The unit stages other than unit-fork leave out tests marked ``one_stage``.
SECONDARY = (("IPC_DESELECT_ONE_STAGE", "1"),)
#: Each unit-test run is split in this many interleaved parts (``--shard``), run side by
#: side: the unit tests mostly wait (timeouts they check), so parts finish sooner.
UNIT_SHARDS = 2


def unit_stages(method: str, oldest: bool = False) -> tuple[Stage, ...]:
    """The helper unit tests under ``method``, in ``UNIT_SHARDS`` parts."""
    prefix, python = ("oldest-unit", "oldest Python, ") if oldest else (f"unit-{method}", "")
    return tuple(
        Stage(
            f"{prefix}-{i}of{UNIT_SHARDS}",
            f"helper unit tests, {python}{method}, part {i} of {UNIT_SHARDS}",
            ("tests/unit",),
            method=method,
            oldest=oldest,
            args=(f"--shard={i}/{UNIT_SHARDS}",),
            env=() if method == "fork" and not oldest else SECONDARY,
            narrow=False,
        )
        for i in range(1, UNIT_SHARDS + 1)
    )


#: The suite. Stages start in this order, so the longest come first; the comment
#: gives each one's wall time in one full run on 2 busy cores (6 at once).
STAGES: tuple[Stage, ...] = (
    Stage(  # 22 s, alone
        "honesty",
        "notebook 05's figures against an independent check, alone on the machine",
        ("tests/honesty",),
        method="fork",
        narrow=False,
        alone=True,
    ),
    Stage(  # 350 s
        "browser",
        "every notebook in JupyterLab, headless Chromium",
        ("tests/browser",),
        runs_notebooks=True,
        nice=5,
    ),
    Stage(  # 270 s
        "interrupt-spawn",
        "every cell interrupted, spawn",
        ("tests/interrupt",),
        method="spawn",
        runs_notebooks=True,
    ),
    Stage(  # 260 s
        "macos",
        "every notebook imitating macOS, spawn (outputs not compared)",
        nbval=NBVAL_LAX,
        method="spawn",
        env=(("IPC_IMITATE_MACOS", "1"),),
        runs_notebooks=True,
    ),
    Stage(  # 250 s
        "interrupt-fork",
        "every cell interrupted, fork",
        ("tests/interrupt",),
        method="fork",
        runs_notebooks=True,
    ),
    *unit_stages("spawn"),  # 240 s in one part
    *unit_stages("forkserver"),  # 210 s in one part
    Stage(  # 200 s
        "oldest-twice",
        "every notebook run twice in one kernel, oldest Python, fork (outputs not compared)",
        nbval=NBVAL_LAX,
        method="fork",
        oldest=True,
        args=("--run-all-twice",),
        runs_notebooks=True,
    ),
    nbval_stage("spawn"),  # 170 s
    *unit_stages("fork"),  # 165 s in one part
    *unit_stages("fork", oldest=True),  # 160 s in one part
    nbval_stage("forkserver"),  # 140 s
    Stage(
        "hygiene", "pins, README, notebooks' form, lint", ("tests/hygiene",), narrow=False, nice=5
    ),
    nbval_stage("fork"),  # 110 s
    Stage("site", "the static site: build and check", ("tests/site",), narrow=False, nice=5),
    Stage("harness", "the harness's own tests", ("tests/harness",), narrow=False, nice=5),
)


# -- running a stage ---------------------------------------------------------------------


@dataclass
class Result:
    """What one stage did."""

    stage: Stage
    code: int | None = None  #: pytest's exit status (None: never started)
    missing: str = ""  #: why it could not start (then it counts as skipped)
    seconds: float = 0.0
    cpu: float = 0.0  #: user + system CPU seconds of the stage's processes
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    skip_reasons: list[str] = field(default_factory=list)
    notebooks: set[str] = field(default_factory=set)
    #: What the harness saw in the test processes and kernels (tests/notebook_harness.py).
    facts: list[dict] = field(default_factory=list)
    log: Path | None = None

    @property
    def ran_nothing(self) -> bool:
        return bool(self.missing) or (self.code is not None and self.passed + self.failed == 0)

    @property
    def broken(self) -> bool:
        return not self.missing and (self.code != 0 or self.failed > 0 or bool(self.claims()))

    def claims(self) -> list[str]:
        """Where the test kernels contradict what the stage claims to run."""
        wrong = []
        for fact in self.facts:
            method = fact.get("start method")
            if self.stage.method and method and method != self.stage.method:
                wrong.append(f"{fact.get('where')}: start method {method}")
        return wrong


def interpreter(stage: Stage) -> Path:
    return OLDEST if stage.oldest else Path(sys.executable)


def why_missing(stage: Stage) -> str:
    """Why the stage cannot run here ('' if it can)."""
    python = interpreter(stage)
    if not os.access(python, os.X_OK):
        return (
            f"{python.relative_to(ROOT)} not found: `make test` builds it with Python 3.11 "
            "(PYTHON_OLDEST, python3.11 on the PATH); install Python 3.11, or allow skipping "
            "the oldest-Python stages: make test ALLOW_SKIP='oldest-*'"
        )
    absent = [p for p in stage.paths if not (ROOT / p).exists()]
    return f"{', '.join(absent)} does not exist" if absent else ""


def command(stage: Stage, notebooks: list[str], pattern: str, extra: list[str], report: Path):
    paths = [*stage.paths, *(notebooks if stage.nbval else [])]
    keyword = ["-k", pattern] if pattern and stage.narrow and not stage.nbval else []
    return [
        str(interpreter(stage)),
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        *paths,
        f"--junitxml={report}",
        "--durations=5",
        *stage.nbval,
        *stage.args,
        *keyword,
        *extra,
    ]


def environment(stage: Stage, facts: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MP_START_METHOD", "IPC_IMITATE_MACOS")}
    env.update(stage.env)
    env["IPC_SUITE_FACTS"] = str(facts)
    if stage.method:
        env["MP_START_METHOD"] = stage.method
    return env


class Runner:
    """Runs stages from a queue, ``jobs`` at once, and fills in their results."""

    def __init__(self, reports: Path, jobs: int, live: bool) -> None:
        self.reports = reports
        self.jobs = jobs
        self.live = live
        self.lock = threading.Lock()
        self.todo: queue.Queue[tuple[list[str], Result]] = queue.Queue()
        self.groups: set[int] = set()
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        with self.lock:
            print(f"[{time.monotonic() - self.started:4.0f} s] {text}", flush=True)

    def run_stages(self, work: list[tuple[list[str], Result]]) -> None:
        """The ``alone`` stages one at a time, then the others ``jobs`` at once."""
        self.run_all([item for item in work if item[1].stage.alone], jobs=1)
        self.run_all([item for item in work if not item[1].stage.alone])

    def run_all(self, work: list[tuple[list[str], Result]], jobs: int | None = None) -> None:
        """Run every (command, result) in order, ``jobs`` at once; wait for them all."""
        for item in work:
            self.todo.put(item)
        workers = [threading.Thread(target=self._worker) for _ in range(jobs or self.jobs)]
        for worker in workers:
            worker.start()
        try:
            for worker in workers:
                worker.join()
        except KeyboardInterrupt:
            while not self.todo.empty():
                self.todo.get_nowait()
            self.stop_all()
            raise

    def _worker(self) -> None:
        while True:
            try:
                cmd, result = self.todo.get_nowait()
            except queue.Empty:
                return
            self.run(cmd, result)

    def run(self, cmd: list[str], result: Result) -> None:
        stage = result.stage
        result.log = self.reports / f"{stage.name}.log"
        facts = self.reports / f"{stage.name}.facts.jsonl"
        prefix = [*private_shm_prefix(), "nice", "-n", str(stage.nice)]
        self.say(f"start {stage.name}: {' '.join(cmd[1:])}")
        began = time.monotonic()
        with result.log.open("w", encoding="utf-8") as log:
            proc = subprocess.Popen(
                [*prefix, *cmd],
                cwd=ROOT,
                env=environment(stage, facts),
                stdout=subprocess.PIPE if self.live else log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a stage's signals never reach the others
            )
            self.groups.add(proc.pid)
            copier = threading.Thread(target=self._copy, args=(proc, log, stage.name))
            if self.live:
                copier.start()
            result.code, result.cpu = self._wait(proc)
            if self.live:
                copier.join()
            self.groups.discard(proc.pid)
        result.seconds = time.monotonic() - began
        read_report(self.reports / f"{stage.name}.xml", result)
        result.facts = read_facts(facts)
        self.say(f"done  {stage.name}: {verdict(result)} in {result.seconds:.0f} s")

    def _copy(self, proc: subprocess.Popen, log, name: str) -> None:
        for line in proc.stdout:
            text = line.decode(errors="replace")
            log.write(text)
            with self.lock:
                sys.stdout.write(f"{name}| {text}")

    def _wait(self, proc: subprocess.Popen) -> tuple[int, float]:
        """Wait for the stage (stopped after STAGE_TIMEOUT); return its exit code and CPU time."""
        timer = threading.Timer(STAGE_TIMEOUT, self.stop_group, args=(proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        return proc.returncode, usage.ru_utime + usage.ru_stime

    def stop_group(self, pgid: int) -> None:
        """Stop a stage: SIGTERM to its process group, SIGKILL 5 s later, then its strays.

        Kernels run in sessions of their own (jupyter_client starts them so), so the
        group does not reach them or their children: every process of the stage's
        tree, recorded first, is killed at the end.
        """
        try:
            tree = psutil.Process(pgid).children(recursive=True)
        except psutil.NoSuchProcess:
            tree = []
        for signum in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pgid, signum)
            except ProcessLookupError:
                break
            time.sleep(5)
        for proc in tree:
            with contextlib.suppress(psutil.Error):
                proc.kill()

    def stop_all(self) -> None:
        for pgid in list(self.groups):
            self.stop_group(pgid)


def read_report(report: Path, result: Result) -> None:
    """Fill in ``result``'s counts, skip reasons and notebooks from a JUnit XML report."""
    if not report.exists():
        return
    stems = [p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")]
    for case in ET.parse(report).getroot().iter("testcase"):
        skipped = case.find("skipped")
        if skipped is not None:
            result.skipped += 1
            reason = (skipped.get("message") or "").strip()
            if reason and reason not in result.skip_reasons:
                result.skip_reasons.append(reason)
            continue
        if case.find("failure") is not None or case.find("error") is not None:
            result.failed += 1
        else:
            result.passed += 1
        where = f"{case.get('classname', '')} {case.get('name', '')}"
        result.notebooks.update(s for s in stems if s in where)


def read_facts(path: Path) -> list[dict]:
    """What the harness recorded (one JSON object a line), or [] without a harness."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


# -- choosing stages, the summary ---------------------------------------------------------


def choose(args: argparse.Namespace) -> tuple[list[Stage], list[Stage]]:
    """(stages to run, stages left out on request)."""
    patterns = [p for p in args.stages.split(",") if p] or ["*"]
    unknown = [p for p in patterns if not any(fnmatch.fnmatch(s.name, p) for s in STAGES)]
    if unknown:
        names = ", ".join(s.name for s in STAGES)
        raise SystemExit(f"--stages: {unknown} match no stage; the stages are {names}")
    methods = set(args.methods.split(","))
    keep = [
        s
        for s in STAGES
        if any(fnmatch.fnmatch(s.name, p) for p in patterns)
        and (s.method is None or s.method in methods)
    ]
    return keep, [s for s in STAGES if s not in keep]


def ran_as(result: Result) -> tuple[str, str]:
    """(Python, start method) the stage really ran, from the harness's facts when present."""
    pythons = sorted({f["Python"] for f in result.facts if f.get("Python")})
    methods = sorted({f["start method"] for f in result.facts if f.get("start method")})
    declared = "oldest" if result.stage.oldest else f"{sys.version_info[0]}.{sys.version_info[1]}"
    python = ",".join(pythons) or declared
    method = ",".join(methods) or result.stage.method or "default"
    if any(f.get("imitating macOS") for f in result.facts):
        method += " (macOS-like)"
    return python, method


def notebook_list(result: Result) -> str:
    names = set(result.notebooks) | {
        Path(f["notebook"]).stem for f in result.facts if f.get("notebook")
    }
    short = {n.split("_")[0] if n[:2].isdigit() else n for n in names}  # 01_queue -> 01
    return " ".join(sorted(short)) or "-"


def ran_less(result: Result) -> str:
    """Why the stage ran less than it claims ('' if it did not)."""
    if result.missing:
        return f"not run: {result.missing}"
    if result.ran_nothing:
        return f"skipped: {'; '.join(result.skip_reasons[:2]) or 'no test ran'}"
    if result.stage.runs_notebooks and notebook_list(result) == "-":
        return "ran no notebook"
    return ""


def verdict(result: Result) -> str:
    return "FAILED" if result.broken else "RAN LESS" if ran_less(result) else "ok"


def is_allowed(name: str, allowed: set[str]) -> bool:
    """True if the maintainer allowed stage ``name`` to run less (names, patterns or ``all``)."""
    return "all" in allowed or any(fnmatch.fnmatch(name, pattern) for pattern in allowed)


def summary(results: list[Result], left_out: list[Stage], allowed: set[str], wall: float) -> bool:
    """Print the closing summary; return True if the suite passed."""
    cpu = sum(r.cpu for r in results)
    print(f"\n=== summary: {len(results)} stages in {wall:.0f} s wall, {cpu:.0f} s CPU")
    print(f"{'stage':20s} {'result':8s} {'wall':>6s} {'cpu':>6s}  {'python':7s} {'method':22s} "
          f"{'pass/fail/skip':>14s}  notebooks")  # fmt: skip
    for r in results:
        python, method = ran_as(r)
        counts = f"{r.passed}/{r.failed}/{r.skipped}"
        print(f"{r.stage.name:20s} {verdict(r):8s} {r.seconds:5.0f}s {r.cpu:5.0f}s  {python:7s} "
              f"{method:22s} {counts:>14s}  {notebook_list(r)}")  # fmt: skip

    refused = []
    for r in results:
        why = ran_less(r)
        if why:
            ok = is_allowed(r.stage.name, allowed)
            print(f"RAN LESS  {r.stage.name}: {why}{' (allowed)' if ok else ''}")
            if not ok:
                refused.append(r.stage.name)
        elif r.skipped:
            print(f"skipped tests in {r.stage.name}: {r.skipped} ({'; '.join(r.skip_reasons[:3])})")
        for claim in r.claims():
            print(f"WRONG     {r.stage.name} claims {r.stage.method} but {claim}")
    if left_out:
        print(f"left out on request: {', '.join(s.name for s in left_out)}")

    broken = [r.stage.name for r in results if r.broken]
    totals = [sum(getattr(r, k) for r in results) for k in ("passed", "failed", "skipped")]
    print(f"suite: {totals[0]} passed, {totals[1]} failed, {totals[2]} skipped", end="")
    if broken:
        print(f"; FAILED stages: {', '.join(broken)}", end="")
    if refused:
        allow = ",".join(refused)
        print(f"; ran less: {', '.join(refused)} (allow with ALLOW_SKIP={allow})", end="")
    print()
    return not broken and not refused


def show_failures(results: list[Result], lines: int = 60) -> None:
    for r in results:
        if r.broken and r.log and r.log.exists():
            tail = r.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            print(f"\n=== {r.stage.name}: last {len(tail)} lines of {r.log}")
            print("\n".join(tail))


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1 :]
        argv = argv[: argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(METHODS), help="default: %(default)s")
    parser.add_argument(
        "--stages", default="", help="only these stages (comma-separated names or patterns)"
    )
    parser.add_argument("--notebooks", default="", help="only notebooks whose name has this")
    parser.add_argument(
        "--jobs", type=int, default=JOBS, help="stages at once (default: %(default)s)"
    )
    parser.add_argument("--live", action="store_true", help="copy each stage's output here")
    parser.add_argument("--list", action="store_true", help="list the stages and stop")
    parser.add_argument(
        "--allow-skip",
        default=os.environ.get("ALLOW_SKIP", ""),
        help="stages that may skip or run no notebook (comma-separated, or 'all'; "
        "default: $ALLOW_SKIP)",
    )
    args = parser.parse_args(argv)
    unknown = set(args.methods.split(",")) - set(METHODS)
    if unknown:
        parser.error(f"--methods: unknown {sorted(unknown)}; choose from {METHODS}")
    return args, extra


def main(argv: list[str] | None = None) -> int:
    args, extra = parse(list(sys.argv[1:] if argv is None else argv))
    if args.list:
        for stage in STAGES:
            python = "oldest" if stage.oldest else "course"
            print(f"{stage.name:20s} {python:6s} {stage.method or '-':10s} {stage.what}")
        return 0
    signal.signal(signal.SIGINT, signal.default_int_handler)  # stages start with SIGINT default
    stages, left_out = choose(args)
    notebooks = sorted(
        str(p.relative_to(ROOT)) for p in NOTEBOOK_DIR.glob("*.ipynb") if args.notebooks in p.name
    )
    REPORTS_ROOT.mkdir(parents=True, exist_ok=True)
    reports = Path(tempfile.mkdtemp(prefix="run-", dir=REPORTS_ROOT))
    shm = "yes (64 MB tmpfs each)" if private_shm_prefix() else "no (shared /dev/shm)"
    print(f"{len(stages)} stages, {args.jobs} at once; private /dev/shm per stage: {shm}")
    print(f"notebooks: {' '.join(Path(n).name for n in notebooks) or 'none match'}")

    runner = Runner(reports, max(1, args.jobs), args.live)
    results, work = [], []
    for stage in stages:
        result = Result(stage, missing=why_missing(stage))
        if not result.missing and stage.nbval and not notebooks:
            result.missing = f"no notebook matches --notebooks {args.notebooks!r}"
        results.append(result)
        if result.missing:
            runner.say(f"not started {stage.name}: {result.missing}")
            continue
        report = reports / f"{stage.name}.xml"
        work.append((command(stage, notebooks, args.notebooks, extra, report), result))
    try:
        runner.run_stages(work)
    except KeyboardInterrupt:
        print(f"\ninterrupted: every stage stopped; logs so far in {reports}")
        return 130
    show_failures(results)
    allowed = {a for a in args.allow_skip.split(",") if a}
    passed = summary(results, left_out, allowed, time.monotonic() - runner.started)
    if passed:
        shutil.rmtree(reports, ignore_errors=True)
    else:
        print(f"reports and logs kept in {reports}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
