"""Show a helper's source in the notebook, so learners read workers in place."""

from __future__ import annotations

import inspect
from typing import Any


def show_source(*objects: Any) -> None:
    """Print the source code of each function or class in ``objects``.

    The notebooks import their workers from ``ipc_helpers`` (a function defined
    in a cell cannot be pickled under ``spawn``); this prints them so the
    learner sees exactly what the child runs.
    """
    if not objects:
        raise TypeError("show_source needs at least one function or class")
    for i, obj in enumerate(objects):
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            raise TypeError(f"objects[{i}] must be a function or class, got {type(obj).__name__}")
        if i:
            print()
        print(inspect.getsource(obj).rstrip())
