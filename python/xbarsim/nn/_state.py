"""Checkpoint comparison of analog layers and tiles: every way a checkpoint differs, named field by field.

Spec: STYLE.md §3 (incompatible checkpoints raise before anything loads, naming what differs).
"""
from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["tile_checkpoint_mismatches", "dict_diff"]


def tile_checkpoint_mismatches(tile: torch.nn.Module, state_dict: dict, prefix: str) -> list[str]:
    """Differences between a checkpoint's extra state for ``tile`` (at ``prefix``) and the tile:
    config fields (``forward.out_noise: checkpoint 0.06, model 0.1``) and shape. Missing entries are
    not reported here (the caller reports missing keys)."""
    key = prefix + "_extra_state"
    state = state_dict.get(key)
    if not isinstance(state, dict) or "config" not in state:
        return []
    problems = [f"{key} config.{p}" for p in dict_diff(_upgrade_config(state["config"]), tile.config.to_dict())]
    shape = tuple(state.get("shape", ()))
    if shape != (tile.out_size, tile.in_size):
        problems.append(f"{key} shape: checkpoint {shape}, model {(tile.out_size, tile.in_size)}")
    return problems


def _upgrade_config(config: Any) -> Any:
    """A checkpoint's tile config in the current form: fields added since it was written (e.g.
    ``count_ops``) take their defaults, as ``TileConfig.from_dict`` gives them; a config that does not
    parse is compared as it is (and reported field by field)."""
    from ..config import TileConfig

    try:
        return TileConfig.from_dict(config).to_dict()
    except (TypeError, ValueError, KeyError):
        return config


def dict_diff(theirs: Any, ours: Any, path: str = "") -> list[str]:
    """Field paths where two ``to_dict`` trees differ, as ``"a.b: checkpoint X, model Y"``."""
    if isinstance(theirs, dict) and isinstance(ours, dict):
        out = []
        for key in sorted(set(theirs) | set(ours), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in ours:
                out.append(f"{sub}: only in the checkpoint ({theirs[key]!r})")
            elif key not in theirs:
                out.append(f"{sub}: missing in the checkpoint (model {ours[key]!r})")
            else:
                out += dict_diff(theirs[key], ours[key], sub)
        return out
    if isinstance(theirs, (list, tuple)) and isinstance(ours, (list, tuple)) and len(theirs) == len(ours):
        return [d for k, (a, b) in enumerate(zip(theirs, ours)) for d in dict_diff(a, b, f"{path}[{k}]")]
    if theirs != ours and not (isinstance(theirs, float) and isinstance(ours, float)
                               and math.isnan(theirs) and math.isnan(ours)):
        return [f"{path or 'value'}: checkpoint {theirs!r}, model {ours!r}"]
    return []
