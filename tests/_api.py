"""Spellings of the public API that are being renamed (the device-model keyword ``device=`` becomes
``device_model=`` in TileConfig and the ops; a layer's grid of tiles ``layer.tiles`` becomes
``layer.blocks``). Tests that must work on both sides of the rename go through these helpers, which
pick whichever spelling the installed package has: after the rename lands, only this file changes
(and then only to drop the old spelling)."""
from __future__ import annotations

import inspect

import xbarsim


def _kw(func, new: str, old: str) -> str:
    return new if new in inspect.signature(func).parameters else old


#: Keyword of the device model in ``xbarsim.TileConfig(...)``.
TILE_DEVICE_KW = _kw(xbarsim.TileConfig, "device_model", "device")
#: Keyword of the device model in ``xbarsim.ops.pulsed_update(...)``.
OP_DEVICE_KW = _kw(xbarsim.ops.pulsed_update, "device_model", "device")


def tile_config(device_model=None, **kw) -> "xbarsim.TileConfig":
    """``TileConfig(device_model=..., **kw)`` under either spelling."""
    if device_model is not None:
        kw[TILE_DEVICE_KW] = device_model
    return xbarsim.TileConfig(**kw)


def config_device_model(config: "xbarsim.TileConfig"):
    """The device model of a TileConfig."""
    return getattr(config, TILE_DEVICE_KW)


def pulsed_update(weight, x, d, lr, *, device_model, **kw):
    """``xbarsim.ops.pulsed_update`` with the device model under either keyword."""
    kw[OP_DEVICE_KW] = device_model
    return xbarsim.ops.pulsed_update(weight, x, d, lr, **kw)


def layer_blocks(layer):
    """The grid of tiles of an analog layer (``layer.blocks``, formerly ``layer.tiles``)."""
    return layer.blocks if hasattr(layer, "blocks") else layer.tiles
