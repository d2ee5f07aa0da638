"""Exercise checkers, one module per notebook (``motivation``, ``queues``, ...).

A checker takes the learner's function (or answer), runs it with a time bound,
and returns a ``Feedback`` that reads as plain words in the notebook:

- ``Not attempted yet: ...`` while the placeholder ``raise NotImplementedError``
  is still there;
- ``Not yet: ...`` saying what was wrong and what to look at;
- ``Correct! ...`` when it works.

The shared machinery lives in ``feedback``.
"""
