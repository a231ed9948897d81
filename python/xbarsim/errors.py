"""Exceptions that callers are expected to catch by type. Imports nothing of xbarsim.

Everything else raises the built-in ``TypeError``/``ValueError``/``RuntimeError`` (STYLE.md §3).
"""
from __future__ import annotations

__all__ = ["CheckpointMismatchError"]


class CheckpointMismatchError(ValueError):
    """A checkpoint does not fit the model (or optimizer) it is loaded into.

    The message names every mismatch found: the state-dict key, and for configs the field path with
    the checkpoint's and the model's values. Raised before any state of the model changes when the
    checkpoint is loaded with :func:`xbarsim.load`.
    """
