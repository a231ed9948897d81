"""Checkpoints: exact resume, atomic writes, clear mismatch errors.

Spec: STYLE.md §1 (all tile state is tensors in state_dict; exact resume is plain PyTorch).
"""
from __future__ import annotations

import os

import pytest
import torch

import xbarsim
from xbarsim import CheckpointMismatchError
from xbarsim.models import lenet5, mlp
from xbarsim.optim import AnalogSGD
from xbarsim.train import checkpoint as ckpt

from _frontend import softbounds_config


def _model(seed, config=None):
    # non-ideal forward/backward IO and a pulsed SoftBounds update: every random stream is exercised;
    # a split first layer and an analog bias cover sub-tiles and the bias line
    config = softbounds_config(16) if config is None else config
    model = torch.nn.Sequential(
        torch.nn.Flatten(),
        xbarsim.nn.AnalogLinear(64, 16, config=config, seed=seed, mapping=xbarsim.MappingConfig(max_in_size=40)),
        torch.nn.Sigmoid(),
        xbarsim.nn.AnalogLinear(16, 4, config=config, seed=seed + 1, digital_bias=False),
    )
    return model


def _batches(n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.rand(8, 64, generator=gen), torch.randint(0, 4, (8,), generator=gen)) for _ in range(n)]


def _train(model, opt, batches, sched=None):
    for x, y in batches:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        if sched is not None:
            sched.step()


def _tensors(model):
    return {k: v for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)}


def test_resume_continues_bit_identically(tmp_path):
    batches = _batches(6)
    torch.manual_seed(0)
    model = _model(seed=11)
    opt = AnalogSGD(model.parameters(), lr=0.1, momentum=0.5)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    _train(model, opt, batches[:3], sched)
    path = xbarsim.save(tmp_path / "mid.pt", model, opt, extra={"step": 3, "sched": sched.state_dict()})
    _train(model, opt, batches[3:], sched)
    uninterrupted = _tensors(model)

    torch.manual_seed(123)  # a fresh model with other seeds and weights
    fresh = _model(seed=99)
    fresh_opt = AnalogSGD(fresh.parameters(), lr=0.1, momentum=0.5)
    fresh_sched = torch.optim.lr_scheduler.StepLR(fresh_opt, step_size=2, gamma=0.5)
    extra = xbarsim.load(path, fresh, fresh_opt)
    fresh_sched.load_state_dict(extra["sched"])
    assert extra["step"] == 3
    assert [t.seed for t in fresh[1].blocks] == [t.seed for t in model[1].blocks]
    _train(fresh, fresh_opt, batches[3:], fresh_sched)
    resumed = _tensors(fresh)
    assert uninterrupted.keys() == resumed.keys()
    for key in uninterrupted:
        assert torch.equal(uninterrupted[key], resumed[key]), key
    for a, b in zip(model.modules(), fresh.modules()):
        if isinstance(a, xbarsim.AnalogTile):
            assert a.get_extra_state() == b.get_extra_state()


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = _model(seed=1)
    path = xbarsim.save(tmp_path / "c.pt", model, extra="first")
    before = path.read_bytes()
    real_save = torch.save

    def crash_midway(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        f.truncate(100)  # a partial file, as after a crash ...
        raise OSError("disk full")  # ... and the failure that interrupted it

    monkeypatch.setattr(ckpt.torch, "save", crash_midway)
    with torch.no_grad():
        model[3].blocks[0].weight.add_(0.01)
    with pytest.raises(OSError, match="disk full"):
        xbarsim.save(path, model, extra="second")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["c.pt"]  # no temporary file left behind
    assert xbarsim.load(path, _model(seed=1)) == "first"


def test_mismatched_config_names_the_field_and_changes_nothing(tmp_path):
    path = xbarsim.save(tmp_path / "c.pt", _model(seed=1))
    other = _model(seed=2, config=softbounds_config(16, forward=xbarsim.IOConfig(out_noise=0.1)))
    before = {k: v.clone() for k, v in _tensors(other).items()}
    with pytest.raises(CheckpointMismatchError, match=r"1\.blocks\.0\._extra_state config\.forward\.out_noise: "
                                                       r"checkpoint 0\.06, model 0\.1"):
        xbarsim.load(path, other)
    for k, v in _tensors(other).items():
        assert torch.equal(v, before[k]), k
    # plain load_state_dict raises the same error type
    with pytest.raises(CheckpointMismatchError, match="forward.out_noise"):
        other.load_state_dict(torch.load(path, weights_only=True)["model"])


def test_mismatched_layout_shapes_and_optimizer(tmp_path):
    model = _model(seed=1)
    path = xbarsim.save(tmp_path / "c.pt", model, AnalogSGD(model.parameters(), lr=0.1))
    with pytest.raises(CheckpointMismatchError) as info:
        xbarsim.load(path, mlp((64, 16, 4), config=softbounds_config(16)))
    assert "missing keys" in str(info.value) and "unexpected keys" in str(info.value)
    unsplit = torch.nn.Sequential(torch.nn.Flatten(), xbarsim.nn.AnalogLinear(64, 16, config=softbounds_config(16)),
                                  torch.nn.Sigmoid(),
                                  xbarsim.nn.AnalogLinear(16, 4, config=softbounds_config(16), digital_bias=False))
    with pytest.raises(CheckpointMismatchError, match=r"1\.in_splits: checkpoint \[32, 32\], model \[64\]"):
        xbarsim.load(path, unsplit)
    two_groups = _model(seed=1)
    params = list(two_groups.parameters())
    opt = AnalogSGD([{"params": params[:2]}, {"params": params[2:]}], lr=0.1)
    with pytest.raises(CheckpointMismatchError, match="optimizer: parameter groups of sizes"):
        xbarsim.load(path, two_groups, opt)
    torch.save({"model": {}}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointMismatchError, match="is not an xbarsim checkpoint"):
        xbarsim.load(tmp_path / "plain.pt", model)


def test_save_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="path must be in an existing directory"):
        xbarsim.save(tmp_path / "no" / "c.pt", _model(seed=1))
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        xbarsim.save(tmp_path / "c.pt", {"a": 1})


def test_lenet5_round_trip_and_map_location(tmp_path):
    model = lenet5(softbounds_config(4), seed=3)
    path = xbarsim.save(tmp_path / "lenet.pt", model)
    fresh = lenet5(softbounds_config(4), seed=4)
    xbarsim.load(path, fresh, map_location="cpu")
    for key, value in _tensors(model).items():
        assert torch.equal(value, _tensors(fresh)[key]), key


def test_bare_tiles_are_checked_too(tmp_path):
    """Tiles outside analog layers (e.g. an algorithm's extra tiles) get the same field-level check."""
    holder = torch.nn.ModuleDict({"t": xbarsim.AnalogTile(3, 4, softbounds_config(16), seed=1)})
    path = xbarsim.save(tmp_path / "t.pt", holder)
    other = torch.nn.ModuleDict({"t": xbarsim.AnalogTile(3, 4, softbounds_config(4), seed=1)})
    with pytest.raises(CheckpointMismatchError, match=r"t\._extra_state config\.device_model\.dw_min: checkpoint 0\.125, "
                                                       r"model 0\.5"):
        xbarsim.load(path, other)


def _resl_config(gamma=0.5):
    from xbarsim.algorithms import ResidualLearning
    from xbarsim.presets import PaperSoftBounds

    algorithm = ResidualLearning(n_tiles=3, gamma=gamma, transfer_every=2.0, transfer_lr=0.1, fast_lr=1.0,
                                 scale_fast_lr=False, scale_transfer_lr=False)
    return xbarsim.TileConfig(device_model=PaperSoftBounds(4), algorithm=algorithm)


def test_multi_tile_algorithm_layers_resume_bit_identically(tmp_path):
    """Layers run config.algorithm's runtime; its tiles, counters and pointers are checkpointed too."""
    batches = _batches(8, seed=3)
    model = _model(seed=5, config=_resl_config())
    assert type(model[1].blocks[0]).__name__ == "ResidualLearningTile" and model[1].blocks[0].n_tiles == 3
    opt = AnalogSGD(model.parameters(), lr=0.1)
    _train(model, opt, batches[:3])  # an odd number of mini-batches: mid-period for transfer_every=2
    path = xbarsim.save(tmp_path / "resl.pt", model, opt)
    _train(model, opt, batches[3:])
    fresh = _model(seed=6, config=_resl_config())
    fresh_opt = AnalogSGD(fresh.parameters(), lr=0.1)
    xbarsim.load(path, fresh, fresh_opt)
    _train(fresh, fresh_opt, batches[3:])
    for key, value in _tensors(model).items():
        assert torch.equal(value, _tensors(fresh)[key]), key
    with pytest.raises(CheckpointMismatchError, match=r"1\.blocks\.0\._extra_state config\.algorithm\.gamma: "
                                                       r"checkpoint 0\.5, model 0\.25"):
        xbarsim.load(path, _model(seed=6, config=_resl_config(gamma=0.25)))
