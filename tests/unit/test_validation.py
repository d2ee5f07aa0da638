"""Argument checks: right values pass through, wrong ones name the argument."""

from __future__ import annotations

import math

import pytest

from ipc_helpers.validation import (
    check_callable,
    check_choice,
    check_int,
    check_number,
    check_timeout,
    check_type,
)


def test_check_int_accepts_and_returns():
    assert check_int("n", 3, minimum=1, maximum=5) == 3


@pytest.mark.parametrize("value", [True, 2.0, "3", None])
def test_check_int_rejects_non_integers(value):
    with pytest.raises(TypeError, match=r"^n_workers must be a whole number"):
        check_int("n_workers", value)


def test_check_int_range_messages():
    with pytest.raises(ValueError, match="n must be at least 1, got 0"):
        check_int("n", 0, minimum=1)
    with pytest.raises(ValueError, match="n must be at most 8, got 9"):
        check_int("n", 9, maximum=8)


def test_check_number():
    assert check_number("x", 2) == 2.0
    with pytest.raises(TypeError, match="x must be a number, got str"):
        check_number("x", "2")
    with pytest.raises(ValueError, match="x must be a finite number"):
        check_number("x", math.nan)
    with pytest.raises(ValueError, match="x must be greater than 0"):
        check_number("x", 0, strictly_positive=True)


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (None, TypeError, "None \\(wait forever\\) is not allowed"),
        ("5", TypeError, "must be a number of seconds, got str '5'"),
        (0, ValueError, "greater than 0"),
        (-1, ValueError, "greater than 0"),
        (math.inf, ValueError, "finite"),
        (10_000, ValueError, "at most 3600"),
    ],
)
def test_check_timeout_rejects(value, error, text):
    with pytest.raises(error, match=f"^timeout .*{text}"):
        check_timeout("timeout", value)


def test_check_timeout_accepts():
    assert check_timeout("timeout", 0.5) == 0.5


def test_check_choice_and_callable_and_type():
    assert check_choice("method", "spawn", ["fork", "spawn"]) == "spawn"
    with pytest.raises(ValueError, match="method must be one of 'fork', 'spawn'; got 'x'"):
        check_choice("method", "x", ["fork", "spawn"])
    assert check_callable("f", len) is len
    with pytest.raises(TypeError, match="f must be a function, got int 1"):
        check_callable("f", 1)
    with pytest.raises(TypeError, match="data must be bytes or bytearray, got str"):
        check_type("data", "x", (bytes, bytearray))
