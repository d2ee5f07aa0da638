"""What can travel to a worker, and how: by reference or by value.

``pickle`` sends a function as a *reference*: its module and its name. A
fresh Python (a ``spawn`` child, a dask worker, another machine) imports the
module and looks the name up, which fails for a function defined in a
notebook cell: it lives in the kernel's ``__main__``. ``cloudpickle`` (which
dask uses) sends such a function *by value*: its code, and the values of the
globals it uses, taken at the moment it is pickled.

``load_in_fresh_python`` shows the difference without any cluster: it hands
pickled bytes to a new Python program and reports what happened there.
"""

from __future__ import annotations

import subprocess
import sys

from ..validation import check_timeout, check_type

_LOADER = """
import pickle, sys
try:
    func = pickle.loads(sys.stdin.buffer.read())
    print(func("hello"))
except Exception as exc:
    print(f"{type(exc).__name__}: {exc}")
"""


def load_in_fresh_python(payload: bytes, timeout: float = 30.0) -> str:
    """Unpickle ``payload`` (a pickled function) in a new Python, call it with ``"hello"``.

    Returns what that program printed: the function's result, or the error
    (``AttributeError: Can't get attribute 'f'`` for a cell function sent by
    reference; the rest of that message, which names the module and changes
    between Python versions, is cut). The program is ended after ``timeout``
    seconds at most.
    """
    check_type("payload", payload, bytes)
    timeout = check_timeout("timeout", timeout)
    done = subprocess.run(
        [sys.executable, "-c", _LOADER],
        input=payload,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    out = done.stdout.decode(errors="replace").strip().split(" on <module", 1)[0]
    return out or done.stderr.decode(errors="replace").strip().splitlines()[-1]


def root_cause(exc: BaseException) -> str:
    """``"Type: message"`` of the innermost cause of ``exc``.

    Dask wraps a pickling error in a vague ``TypeError('Could not serialize
    ...')``; the cause at the bottom of the chain names the real culprit.
    """
    seen = set()
    while (inner := exc.__cause__ or exc.__context__) is not None and id(inner) not in seen:
        seen.add(id(exc))
        exc = inner
    return f"{type(exc).__name__}: {exc}"
