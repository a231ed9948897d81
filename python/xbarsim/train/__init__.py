"""Training utilities: atomic checkpoints (more to come: loops, metrics)."""
from .checkpoint import CheckpointMismatchError, load, save

__all__ = ["save", "load", "CheckpointMismatchError"]
