"""The interrupt stage's own tools: time a starved kernel fairly, and say where a stuck one is."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.interrupt.driver import Kernel, summarize_stacks, waited_for_cpu
from tests.interrupt.interrupts import Patience

SCHEDSTAT = Path("/proc/self/schedstat").exists()
BUSY = "while True: pass"


@pytest.mark.skipif(not SCHEDSTAT or not hasattr(os, "sched_setaffinity"), reason="Linux only")
def test_the_time_a_process_waits_for_a_cpu_is_measured():
    """Four busy loops on one CPU: each waits for it about 3/4 of the time; a
    sleeping process waits for none."""
    cpu = min(os.sched_getaffinity(0))
    busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(4)]
    asleep = "import time; print('asleep', flush=True); time.sleep(30)"
    sleeper = subprocess.Popen([sys.executable, "-c", asleep], stdout=subprocess.PIPE, text=True)
    try:
        for proc in busy:
            os.sched_setaffinity(proc.pid, {cpu})
        # Python's start-up wants a CPU too: under load it took over 0.5 s, and the
        # sleeper waited 0.15 s for a CPU inside the window. Measure once it sleeps.
        started, _, _ = select.select([sleeper.stdout], [], [], 30.0)
        assert started and sleeper.stdout.readline() == "asleep\n", "no sleeper within 30 s"
        time.sleep(0.5)  # the busy loops started, pinned
        before = [waited_for_cpu(p.pid) for p in (*busy, sleeper)]
        time.sleep(2.0)
        after = [waited_for_cpu(p.pid) for p in (*busy, sleeper)]
    finally:
        for proc in (*busy, sleeper):
            proc.kill()
            proc.wait(10)
        sleeper.stdout.close()
    waited = [a - b for a, b in zip(after, before, strict=True)]
    assert all(w > 0.8 for w in waited[:4]), waited  # about 1.5 s each
    assert waited[4] < 0.1, waited
    assert waited_for_cpu(busy[0].pid) is None  # gone: the system does not say


def test_a_stuck_kernel_is_caught_as_soon_as_on_a_quiet_machine_and_says_where(tmp_path):
    """A cell that blocks (no CPU wanted) gets no extra time; the stack dump names
    the kernel's main thread and the line it is stuck on, without a cell of its own."""
    kernel = Kernel(tmp_path)
    try:
        msg_id = kernel.send("import threading\nthreading.Event().wait(60)")
        time.sleep(0.5)
        clock = Patience(kernel)
        assert not clock.wait(msg_id, 1.0)
        assert time.monotonic() - clock.since < 3.0 and clock.note() == ""
        stacks = kernel.stacks()
        assert stacks.startswith("main: wait (threading.py:"), stacks
        assert "<module> (" in stacks.split(";")[0] and "other threads: " in stacks, stacks
        kernel.interrupt()
        assert kernel.wait(msg_id, 10.0)
        assert kernel.result(msg_id, 0.0).ename == "KeyboardInterrupt"
        assert "faulthandler" not in kernel.run("print(sorted(globals()))", 10.0).text
    finally:
        kernel.stop()


def test_a_stack_dump_is_summed_up_main_thread_first():
    dump = """Thread 0x00007f01 (most recent call first):
  File "/x/selectors.py", line 452 in select
  File "/x/threading.py", line 1012 in _bootstrap

Current thread 0x00007f02 (most recent call first):
  File "/x/ipc_helpers/interrupts.py", line 475 in _owners
  File "/x/ipc_helpers/interrupts.py", line 405 in post_run_cell
  File "/x/ipykernel_launcher.py", line 18 in <module>
"""
    assert summarize_stacks(dump + dump, frames=2) == (
        "main: _owners (interrupts.py:475) <- post_run_cell (interrupts.py:405); "
        "other threads: select (selectors.py:452) x2"
    )
