"""Argument checks shared by every helper.

Each check returns the value (converted where that is harmless) or raises a
``TypeError`` / ``ValueError`` whose message names the argument and says what
was expected, so a learner who passes ``timeout="5"`` reads
``timeout must be a number of seconds, got str '5'`` instead of a traceback
from deep inside ``multiprocessing``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Callable


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def check_int(
    name: str,
    value: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """Return ``value`` if it is a whole number within ``[minimum, maximum]``.

    ``bool`` is refused even though it is an ``int`` subclass: ``True`` as a
    process count is always a mistake.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a whole number (int), got {_describe(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return value


def check_number(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strictly_positive: bool = False,
) -> float:
    """Return ``value`` as a ``float`` if it is a finite real number in range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {_describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if strictly_positive and value <= 0:
        raise ValueError(f"{name} must be greater than 0, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value}")
    return value


def check_timeout(name: str, value: Any, *, maximum: float = 3600.0) -> float:
    """Return a timeout in seconds: a finite number greater than 0.

    ``None`` (wait forever) is refused on purpose: nothing in this course
    waits without a bound.
    """
    if value is None:
        raise TypeError(
            f"{name} must be a number of seconds; None (wait forever) is not allowed here"
        )
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, got {_describe(value)}")
    return check_number(name, value, maximum=maximum, strictly_positive=True)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``."""
    options = list(choices)
    if value not in options:
        listed = ", ".join(repr(c) for c in options)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}")
    return value


def check_callable(name: str, value: Any) -> Callable[..., Any]:
    """Return ``value`` if it can be called."""
    if not callable(value):
        raise TypeError(f"{name} must be a function, got {_describe(value)}")
    return value


def check_type(name: str, value: Any, expected: type | tuple[type, ...]) -> Any:
    """Return ``value`` if it is an instance of ``expected``."""
    if not isinstance(value, expected):
        if isinstance(expected, tuple):
            wanted = " or ".join(t.__name__ for t in expected)
        else:
            wanted = expected.__name__
        raise TypeError(f"{name} must be {wanted}, got {_describe(value)}")
    return value
