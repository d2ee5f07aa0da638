"""show_source prints a worker's code."""

from __future__ import annotations

import pytest

from ipc_helpers.cleanup import stop
from ipc_helpers.source import show_source


def test_prints_the_source(capsys):
    show_source(stop)
    assert capsys.readouterr().out.startswith("def stop(")


def test_rejects_what_has_no_source():
    with pytest.raises(TypeError, match="at least one"):
        show_source()
    with pytest.raises(TypeError, match=r"objects\[0\] must be a function or class, got int"):
        show_source(1)
