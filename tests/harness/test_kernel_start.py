"""A test kernel that dies as it starts is started again; one that always dies still fails.

jupyter_client's ports can be taken by another program between the moment it
picks them and the moment the kernel binds them (``KERNEL_STARTS``).
"""

from __future__ import annotations

import nbval.kernel
import pytest

from tests import notebook_harness as harness


def dying(times: int, message: str = harness.DIED_AT_START):
    """``start_new_kernel`` whose first ``times`` kernels die at start."""
    original = nbval.kernel.start_new_kernel
    calls = []

    def start(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise RuntimeError(message)
        return original(*args, **kwargs)

    return start, calls


def test_a_kernel_that_died_at_start_is_started_again(monkeypatch, tmp_path):
    start, calls = dying(1)
    monkeypatch.setattr(nbval.kernel, "start_new_kernel", start)
    with pytest.warns(UserWarning, match=f"kernel start 1 of {harness.KERNEL_STARTS}: Kernel died"):
        kernel = harness.CourseKernel(nbval.kernel.CURRENT_ENV_KERNEL_NAME, cwd=str(tmp_path))
    try:
        assert len(calls) == 2 and kernel.found == harness.expected_kernel_facts()
    finally:
        kernel.stop()


def test_a_kernel_that_always_dies_fails(monkeypatch, tmp_path):
    start, calls = dying(harness.KERNEL_STARTS)
    monkeypatch.setattr(nbval.kernel, "start_new_kernel", start)
    with pytest.raises(RuntimeError, match=harness.DIED_AT_START), pytest.warns(UserWarning):
        harness.CourseKernel(nbval.kernel.CURRENT_ENV_KERNEL_NAME, cwd=str(tmp_path))
    assert len(calls) == harness.KERNEL_STARTS


def test_another_failure_is_not_retried(monkeypatch, tmp_path):
    start, calls = dying(1, "Kernel didn't respond in 60 seconds")
    monkeypatch.setattr(nbval.kernel, "start_new_kernel", start)
    with pytest.raises(RuntimeError, match="didn't respond"):
        harness.CourseKernel(nbval.kernel.CURRENT_ENV_KERNEL_NAME, cwd=str(tmp_path))
    assert len(calls) == 1
