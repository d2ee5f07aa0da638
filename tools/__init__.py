"""Instructor tools: learner copies of the notebooks and an offline wheelhouse.

Run them through make (``make learner-copy``, ``make wheelhouse``) or as modules
from the repository root (``python -m tools.learner_copy --help``).
"""
