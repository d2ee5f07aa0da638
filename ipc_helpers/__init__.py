"""Helpers for the course *Python IPC, hands-on*.

Everything a child process runs lives here, at module level, so that it can be
pickled by reference under every start method (``fork``, ``spawn``,
``forkserver``). A function defined in a notebook cell cannot be: see notebook 00.

Modules, one per notebook, hold the workers:

- ``motivation`` (00), ``queues`` (01), ``pipes`` (02), ``shared`` (03),
  ``managers`` (04), ``bench`` (05).

Shared modules:

- ``validation``: argument checks with messages that name the argument.
- ``cleanup``: stop processes with a bound, list leftover ``/dev/shm`` entries.
- ``capture``: capture what children and background threads write to stderr.
- ``labs``: one lab module per notebook, plus the control-panel builder.
- ``exercises``: one checker module per notebook, plus the feedback type.
"""

__version__ = "0.1.0"
