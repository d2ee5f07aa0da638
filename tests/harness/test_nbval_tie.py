"""The harness's tie to nbval's internals, pinned and checked (issue 13.8).

``CourseKernel`` wraps ``nbval.kernel.RunningKernel.__init__`` (it calls the
original) and only makes nbval's ``start_new_kernel`` pass the course's
environment to the kernel. That relies on three things in nbval; if an nbval
upgrade changes one, these tests say what to re-check.
"""

from __future__ import annotations

import inspect
import re

import nbval
import nbval.kernel
import nbval.plugin

from tests import notebook_harness as harness

from .conftest import ROOT

UPGRADE = (
    "nbval changed ({what}): check that CourseKernel in tests/notebook_harness.py still "
    "gives every test kernel the course's environment (kernel_env) and stops it gently, "
    "then update NBVAL_TESTED there"
)


def test_nbval_is_the_release_the_harness_was_checked_against():
    assert nbval.__version__ == harness.NBVAL_TESTED, UPGRADE.format(
        what=f"{harness.NBVAL_TESTED} -> {nbval.__version__}"
    )


def test_the_lock_pins_that_release():
    lock = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    pinned = re.search(r"^nbval==(\S+)", lock, re.MULTILINE)
    assert pinned and pinned.group(1) == harness.NBVAL_TESTED, UPGRADE.format(
        what="requirements.txt pins another nbval"
    )


def test_running_kernel_starts_its_kernel_through_start_new_kernel():
    init = nbval.kernel.RunningKernel.__init__
    assert str(inspect.signature(init)) == "(self, kernel_name, cwd=None, startup_timeout=60)", (
        UPGRADE.format(what="RunningKernel.__init__'s signature")
    )
    assert "start_new_kernel" in init.__code__.co_names, UPGRADE.format(
        what="RunningKernel.__init__ no longer calls start_new_kernel"
    )


def test_start_new_kernel_passes_its_keywords_to_the_kernel_manager():
    start = nbval.kernel.start_new_kernel
    kinds = [p.kind for p in inspect.signature(start).parameters.values()]
    assert inspect.Parameter.VAR_KEYWORD in kinds, UPGRADE.format(what="start_new_kernel(**kwargs)")
    assert "start_kernel" in start.__code__.co_names, UPGRADE.format(
        what="start_new_kernel no longer calls KernelManager.start_kernel"
    )


def test_nbval_makes_its_kernels_with_the_course_kernel():
    assert "RunningKernel" in nbval.plugin.IPyNbFile.setup.__code__.co_names, UPGRADE.format(
        what="IPyNbFile.setup no longer uses nbval.plugin.RunningKernel"
    )
    assert nbval.plugin.RunningKernel is harness.CourseKernel
    assert issubclass(harness.CourseKernel, nbval.kernel.RunningKernel)
