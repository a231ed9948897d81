"""Tile state and ops."""
from .analog_tile import AnalogTile

__all__ = ["AnalogTile", "make_tile"]


def make_tile(*args, **kwargs):
    """The tile runtime of ``config.algorithm`` (see :func:`xbarsim.algorithms.make_tile`)."""
    from ..algorithms.factory import make_tile as _make_tile  # algorithms sit above tiles

    return _make_tile(*args, **kwargs)
