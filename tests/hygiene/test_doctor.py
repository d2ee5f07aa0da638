"""The setup check (``make check``, ``python -m ipc_helpers.doctor``): one line, under a minute.

It runs as a learner runs it (a fresh process, the default start method), and
as a Mac learner meets it (the macOS imitation of ``tests/macos``); each part
that can fail is made to fail once, to see the line and the advice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from ipc_helpers import doctor

from .conftest import ROOT

PARTS = (
    "Python 3.",
    "start method ",
    "CPUs ",
    "/dev/shm ",
    "spawn child ",
    "checker: ",
    "widgets ",
)


def run_doctor(**env: str) -> tuple[subprocess.CompletedProcess, float]:
    environ = {k: v for k, v in os.environ.items() if k not in ("MP_START_METHOD",)}
    environ.update(env)
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "ipc_helpers.doctor"], capture_output=True,
                            text=True, timeout=120, cwd=ROOT, env=environ)  # fmt: skip
    return result, time.monotonic() - started


@pytest.mark.parametrize("imitation", ["linux", "macos"])
def test_one_line_in_under_a_minute(imitation: str):
    env = {}
    if imitation == "macos":
        env = {"IPC_IMITATE_MACOS": "1", "PYTHONPATH": str(ROOT / "tests" / "macos")}
    result, seconds = run_doctor(**env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("IPC check OK | "), result.stdout
    for part in PARTS:
        assert f"| {part}" in lines[0], f"{part!r} missing from {lines[0]!r}"
    assert "checker: Not attempted yet" in lines[0]
    assert seconds < 60, f"the check took {seconds:.0f} s"


def test_a_failed_part_says_what_to_do(monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setattr(
        doctor, "PARTS", (doctor.python_part, lambda: doctor.Part("x", False, "do y"))
    )
    assert doctor.main() == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("IPC check FAILED (1) | Python ") and "| x |" in out[0]
    assert out[1:] == ["What to do:", "- do y"]


def test_a_broken_part_does_not_hide_the_others(monkeypatch: pytest.MonkeyPatch):
    def broken() -> doctor.Part:
        raise OSError("no such thing")

    monkeypatch.setattr(doctor, "PARTS", (broken, doctor.start_method_part))
    line, advice = doctor.run()
    assert "broken FAILED" in line and "| start method " in line
    assert advice == ["- OSError: no such thing"]


def test_spawn_child_that_does_not_answer_is_reported_and_stopped():
    part = doctor.spawn_part(timeout=0.001)
    assert not part.ok and part.text == "spawn child FAILED" and "did not answer" in part.advice
    import multiprocessing as mp

    assert not mp.active_children()


def test_small_or_missing_dev_shm(monkeypatch: pytest.MonkeyPatch, tmp_path):
    assert doctor.shm_part(str(tmp_path / "none")).text.startswith("no ")
    small = SimpleNamespace(f_frsize=4096, f_blocks=4096, f_bavail=1024)  # 16 MiB, 4 free
    monkeypatch.setattr(doctor.os, "statvfs", lambda _: small)
    part = doctor.shm_part(str(tmp_path))
    assert not part.ok and "16 MiB (4 free)" in part.text and "--shm-size" in part.advice


def test_missing_widget_extension(monkeypatch: pytest.MonkeyPatch):
    import jupyter_core.paths

    monkeypatch.setattr(jupyter_core.paths, "jupyter_path", lambda *_: [])
    part = doctor.widgets_part()
    assert not part.ok and "extension FAILED" in part.text and "jupyterlab_widgets" in part.advice


def test_unsupported_python(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(doctor, "SUPPORTED", ((3, 99), (3, 99)))
    part = doctor.python_part()
    assert not part.ok and "3.11 to 3.14" in part.advice
