"""The macOS imitation removes what a Mac lacks, in the kernel and in its spawn children."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests import notebook_harness as harness

from .conftest import ROOT

PROBE = textwrap.dedent(
    """
    import errno, fcntl, multiprocessing as mp, os
    from multiprocessing import shared_memory

    def lacks():
        counts = getattr(os, "process_cpu_count", os.cpu_count)() == os.cpu_count()
        no_affinity = not hasattr(os, "sched_getaffinity")
        return counts and no_affinity and not hasattr(fcntl, "F_SETPIPE_SZ")

    def report(q):
        q.put(lacks())

    if __name__ == "__main__":
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        for name, call in (("qsize", q.qsize), ("get_value", ctx.Semaphore(2).get_value)):
            try:
                call()
            except NotImplementedError:
                print("raises", name)
        try:
            shared_memory.SharedMemory("x" * 31, create=True, size=16)
        except OSError as exc:
            print("long name", errno.errorcode[exc.errno])
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(mp_context=ctx) as pool:  # sizes itself by process_cpu_count
            print("pool", pool.submit(abs, -1).result(timeout=30))
        p = ctx.Process(target=report, args=(q,))
        p.start()
        print("kernel lacks", lacks(), "child lacks", q.get(timeout=30))
        p.join(30)
    """
)


def run_probe(tmp_path, imitate: bool) -> str:
    script = tmp_path / "probe.py"
    script.write_text(PROBE, encoding="utf-8")
    env = dict(harness.os.environ, IPC_IMITATE_MACOS="1" if imitate else "0")
    env["PYTHONPATH"] = str(harness.MACOS)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_imitating_macos(tmp_path):
    out = run_probe(tmp_path, imitate=True)
    assert "raises qsize" in out
    assert "raises get_value" in out
    assert "long name ENAMETOOLONG" in out
    assert "kernel lacks True child lacks True" in out
    assert "pool 1" in out


def test_nothing_changes_without_the_variable(tmp_path):
    out = run_probe(tmp_path, imitate=False)
    assert "raises" not in out and "long name" not in out
    assert "kernel lacks False child lacks False" in out


def test_test_kernels_load_the_imitation_only_when_asked(monkeypatch):
    monkeypatch.setenv("IPC_IMITATE_MACOS", "1")
    assert str(harness.MACOS) in harness.kernel_env()["PYTHONPATH"].split(harness.os.pathsep)
    monkeypatch.delenv("IPC_IMITATE_MACOS")
    assert str(harness.MACOS) not in harness.kernel_env().get("PYTHONPATH", "")
