"""Helpers for the course *Python IPC, hands-on*.

Everything a child process runs lives here, at module level. A function
defined in a notebook cell pickles fine, by reference (its module and name, a
few bytes), but a child started with ``spawn`` or ``forkserver`` has its own
``__main__``, cannot find it when it unpickles it (``AttributeError: Can't get
attribute 'f' on <module '__main__' ...>``), and dies; under ``fork`` the child
is a copy of the kernel and finds it. So the workers the children run live in
this package. Notebook 00 shows it.

Importing the package in an IPython kernel installs ``interrupts``: Kernel →
Interrupt then ends the course's child processes quietly, is never lost while
the kernel starts a process, and stops what an interrupted cell left running.

Topic modules, one per notebook, hold the workers and the code given to
learners: ``motivation`` (00), ``queues`` (01), ``pipes`` (02), ``shared``
(03), ``managers`` (04), ``bench`` (05), ``distributed`` (06).

Shared modules:

- ``contexts``: ``get_context(context)``, the one way to pick a context.
- ``validation``: argument checks with messages that name the argument.
- ``cleanup``: stop processes with a bound, record and stop what a block
  starts (``track``), the closing ``nothing_left_running()``.
- ``capture``: capture what children and background threads write to stderr.
- ``workers``: start a team of workers, meet them at a barrier, wait for
  them, every wait bounded and in short slices.
- ``interrupts``: clean Kernel → Interrupt for the whole kernel (installed on import).
- ``text``: ``wrap`` messages at word boundaries to 90 columns; ``expect`` a
  claim that a busy machine can hide.
- ``source``: ``show_source``, a worker's code in a collapsible block.
- ``display``: ``Table`` and ``details`` for readable output.
- ``checkpoint``: a multiple-choice question after a section.
- ``labs``: one lab module per notebook, plus ``panel`` and ``style``.
- ``exercises``: one checker module per notebook, plus ``feedback``, the
  checker runtime.
"""

from . import interrupts as _interrupts

__version__ = "0.1.0"

_interrupts.install_in_ipython()  # nothing happens outside IPython (a child process, a script)
