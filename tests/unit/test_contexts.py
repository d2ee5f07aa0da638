"""contexts.get_context: the one way to pick a multiprocessing context."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from ipc_helpers.contexts import get_context


def test_names_contexts_and_none():
    assert get_context("spawn").get_start_method() == "spawn"
    ctx = mp.get_context("spawn")
    assert get_context(ctx) is ctx
    assert get_context(None).get_start_method() == mp.get_start_method()
    assert get_context(mp).get_start_method() == mp.get_start_method()
    for method in mp.get_all_start_methods():
        assert get_context(method).get_start_method() == method


def test_bad_arguments_say_what_is_allowed():
    with pytest.raises(ValueError, match="context must be one of 'fork'|context must be one of"):
        get_context("fast")
    with pytest.raises(TypeError, match="context must be a start method name such as 'spawn'"):
        get_context(3)
