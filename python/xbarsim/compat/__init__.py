"""Bridges to other simulators' configuration objects (``xbarsim.compat.aihwkit``).

Nothing here is imported by ``import xbarsim``: each bridge imports its peer lazily and only the
configuration layer of xbarsim, so that the rest of the package never depends on a peer simulator.
"""
