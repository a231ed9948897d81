"""Atomic checkpoints of a model (analog tiles included), its optimizer and user data.

A checkpoint is one ``torch.save`` file: ``{"format", "version", "xbarsim_version", "model",
"optimizer", "extra"}``. Everything a tile is (weights of every sub-tile, device-to-device
parameters, algorithm buffers and counters, RNG call counters, configs) is in the model's
``state_dict``, so loading a checkpoint into a freshly built model continues bit for bit as the
uninterrupted run would (given the same data order: keep RNG states and scheduler state in ``extra``).

Writing is atomic: the file is written to a temporary file in the same directory, flushed and
fsynced, then renamed over the target with ``os.replace`` (and the directory fsynced), so a crash
while saving leaves the previous checkpoint intact.

Spec: STYLE.md §1 (state is tensors; exact resume is plain PyTorch).
"""
from __future__ import annotations

import os
import pathlib
import tempfile
from typing import Any, Optional, Union

import torch

from ..algorithms import MultiTile
from ..errors import CheckpointMismatchError
from ..nn.base import analog_layers, tile_checkpoint_mismatches
from ..ops.runtime import __version__
from ..tile import Tile

__all__ = ["save", "load", "CheckpointMismatchError", "check_compatible"]

FORMAT = "xbarsim-checkpoint"
VERSION = 2  # 2: RNG call counters are int64 tensors in the state dict; layers hold "blocks"
PathLike = Union[str, os.PathLike]


def save(path: PathLike, model: torch.nn.Module, optimizer: Optional[torch.optim.Optimizer] = None,
         extra: Any = None) -> pathlib.Path:
    """Write ``model`` (and ``optimizer``, ``extra``) to ``path`` atomically.

    Args:
        path: the checkpoint file; its directory must exist.
        model: the module whose ``state_dict`` is saved.
        optimizer: saved with its ``state_dict`` if given.
        extra: any ``torch.save``-able data returned by :func:`load` (epoch, RNG states, scheduler).

    Returns:
        The path written.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"xbarsim.save: model must be a torch.nn.Module; got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"xbarsim.save: optimizer must be a torch.optim.Optimizer; got {type(optimizer).__name__}")
    path = pathlib.Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"xbarsim.save: path must be in an existing directory; got {str(path)!r}")
    payload = {"format": FORMAT, "version": VERSION, "xbarsim_version": __version__,
               "model": model.state_dict(),
               "optimizer": optimizer.state_dict() if optimizer is not None else None,
               "extra": extra}
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(directory: pathlib.Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path: PathLike, model: torch.nn.Module, optimizer: Optional[torch.optim.Optimizer] = None,
         map_location: Any = None, *, weights_only: bool = True) -> Any:
    """Load a checkpoint written by :func:`save` into ``model`` (and ``optimizer``); return ``extra``.

    The checkpoint is checked against the model and optimizer completely before anything is
    loaded: on a mismatch nothing changes.

    Args:
        path: the checkpoint file.
        model: a model built with the same structure and configs.
        optimizer: receives the saved optimizer state if given (the checkpoint must have one).
        map_location: as ``torch.load`` (e.g. ``"cpu"`` to load a CUDA checkpoint without a GPU).
        weights_only: ``torch.load``'s safe unpickler (default True); False admits arbitrary
            objects in ``extra`` — only for trusted files.

    Raises:
        CheckpointMismatchError: not an xbarsim checkpoint, missing/unexpected keys, shape
            mismatches, a different tile config or layer layout (each field named), or an
            optimizer with other parameter groups.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"xbarsim.load: model must be a torch.nn.Module; got {type(model).__name__}")
    payload = torch.load(path, map_location=map_location, weights_only=weights_only)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointMismatchError(f"xbarsim.load: {str(path)!r} is not an xbarsim checkpoint")
    if payload.get("version") != VERSION:
        raise CheckpointMismatchError(f"xbarsim.load: checkpoint format version {payload.get('version')!r} is not "
                                      f"supported (expected {VERSION}; checkpoints of xbarsim before the "
                                      f"consolidated tile API have version 1 and cannot be loaded)")
    check_compatible(payload["model"], model, payload.get("optimizer"), optimizer)
    model.load_state_dict(payload["model"])
    if optimizer is not None:
        optimizer.load_state_dict(payload["optimizer"])
    return payload.get("extra")


def check_compatible(state_dict: dict, model: torch.nn.Module, optimizer_state: Optional[dict] = None,
                     optimizer: Optional[torch.optim.Optimizer] = None) -> None:
    """Raise :class:`CheckpointMismatchError` naming every difference between a checkpoint and a model."""
    problems: list[str] = []
    ours = model.state_dict()
    missing = sorted(set(ours) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(ours))
    if missing:
        problems.append(f"missing keys {missing}")
    if unexpected:
        problems.append(f"unexpected keys {unexpected}")
    for key in sorted(set(ours) & set(state_dict)):
        a, b = state_dict[key], ours[key]
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
            if a.shape != b.shape:  # dtypes may differ: load_state_dict converts (e.g. into a .double() model)
                problems.append(f"{key}: shape {tuple(a.shape)} in the checkpoint, {tuple(b.shape)} in the model")
    for name, layer in analog_layers(model):  # layer layouts (in/out splits, bias kind, mapping)
        problems += layer.checkpoint_mismatches(state_dict, f"{name}." if name else "", tiles=False)
    compounds: list[str] = []
    for name, module in model.named_modules():  # every tile runtime, inside a layer or not
        if any(name.startswith(c + ".") or (c == "" and name) for c in compounds):
            continue  # the physical tiles of a multi-tile runtime: its own config covers theirs
        if isinstance(module, MultiTile):
            compounds.append(name)
        if isinstance(module, Tile):
            problems += tile_checkpoint_mismatches(module, state_dict, f"{name}." if name else "")
    if optimizer is not None:
        if optimizer_state is None:
            problems.append("optimizer: the checkpoint has no optimizer state")
        else:
            saved = [len(g["params"]) for g in optimizer_state.get("param_groups", [])]
            have = [len(g["params"]) for g in optimizer.param_groups]
            if saved != have:
                problems.append(f"optimizer: parameter groups of sizes {saved} in the checkpoint, {have} here")
    if problems:
        raise CheckpointMismatchError("xbarsim.load: checkpoint does not match the model: " + "; ".join(problems))
