"""Helpers for the course *Python IPC, hands-on*.

Everything a child process runs lives here, at module level. A child started
with ``spawn`` or ``forkserver`` receives its target pickled *by reference*
(module and name) and imports it again; a function defined in a notebook
cell lives in the kernel's ``__main__``, which such a child does not have, so
it fails there with ``AttributeError: Can't get attribute ...`` (under
``fork`` it works). Notebook 00 shows it.

Topic modules, one per notebook, hold the workers and the code given to
learners: ``motivation`` (00), ``queues`` (01), ``pipes`` (02), ``shared``
(03), ``managers`` (04), ``bench`` (05), ``distributed`` (06).

Shared modules:

- ``contexts``: ``get_context(context)``, the one way to pick a context.
- ``validation``: argument checks with messages that name the argument.
- ``cleanup``: stop processes with a bound, record and stop what a block
  starts (``track``), the closing ``nothing_left_running()``.
- ``capture``: capture what children and background threads write to stderr.
- ``text``: ``wrap`` messages at word boundaries to 90 columns.
- ``source``: ``show_source``, a worker's code in a collapsible block.
- ``display``: ``Table`` and ``details`` for readable output.
- ``checkpoint``: a multiple-choice question after a section.
- ``labs``: one lab module per notebook, plus ``panel`` and ``style``.
- ``exercises``: one checker module per notebook, plus ``feedback``, the
  checker runtime.
"""

__version__ = "0.1.0"
