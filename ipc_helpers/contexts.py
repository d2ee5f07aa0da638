"""The one way to pick a ``multiprocessing`` context in this course.

Helpers that start processes take a ``context`` argument: a start method's
name (``"spawn"``), a context (``multiprocessing.get_context("spawn")``) or
``None`` for the default. ``get_context`` turns any of them into a context,
with a clear error for anything else.
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.context import BaseContext
from types import ModuleType

#: What a ``context`` argument may be.
ContextLike = str | BaseContext | ModuleType | None


def get_context(method_or_ctx: ContextLike = None) -> BaseContext:
    """The context for ``method_or_ctx``: a start method name, a context, or ``None``.

    ``None`` (or the ``multiprocessing`` module itself) gives the default
    context (the start method set with ``set_start_method``, or the
    platform's default). A context is returned
    unchanged. A name must be one this platform offers
    (``multiprocessing.get_all_start_methods()``: Windows has only ``spawn``).

    >>> get_context("spawn").get_start_method()
    'spawn'
    """
    if method_or_ctx is None or method_or_ctx is mp:
        return mp.get_context()
    if isinstance(method_or_ctx, BaseContext):
        return method_or_ctx
    if not isinstance(method_or_ctx, str):
        raise TypeError(
            "context must be a start method name such as 'spawn', a context from "
            "multiprocessing.get_context(), or None; got "
            f"{type(method_or_ctx).__name__} {method_or_ctx!r}"
        )
    available = mp.get_all_start_methods()
    if method_or_ctx not in available:
        listed = ", ".join(repr(m) for m in available)
        raise ValueError(f"context must be one of {listed} on this platform; got {method_or_ctx!r}")
    return mp.get_context(method_or_ctx)
