"""Multi-tile algorithms through the front end: AnalogLinear/AnalogConv2d build their tiles with
make_tile, AnalogSGD drives update(x, d, lr), xbarsim.save/load resume exactly and reject a checkpoint of
another algorithm with the fields named, and the warm start is driven from a training loop.
Spec: algorithms.md §5, §6, §11."""
from __future__ import annotations

import pytest
import torch

import xbarsim
from xbarsim.algorithms import (
    ChoppedTikiTakaV2,
    MixedPrecision,
    MultiTile,
    PlateauDetector,
    ResidualLearning,
    TikiTaka,
    TikiTakaV2,
    signal_warm_start,
)
from xbarsim.config import IOConfig, TileConfig
from xbarsim.presets import PaperSoftBounds

PERFECT = IOConfig(is_perfect=True)
ALGORITHMS = {
    "residual": ResidualLearning(n_tiles=3, gamma=0.3, transfer_every=(4, 2, 1), warm_start="reference_cuda"),
    "ttv1": TikiTaka(),
    "ttv2": TikiTakaV2(),
    "cttv2": ChoppedTikiTakaV2(),
    "mp": MixedPrecision(),
}


def _model(algo, seed=1):
    cfg = TileConfig(forward=PERFECT, backward=PERFECT, device_model=PaperSoftBounds(10), algorithm=algo)
    return torch.nn.Sequential(xbarsim.nn.AnalogLinear(12, 6, config=cfg, seed=seed), torch.nn.Tanh(),
                               xbarsim.nn.AnalogLinear(6, 3, config=cfg, seed=seed + 1))


def _steps(model, opt, batches):
    for x, y in batches:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_layers_train_and_resume_exactly(name, tmp_path):
    g = torch.Generator().manual_seed(0)
    batches = [(torch.rand(8, 12, generator=g), torch.randint(0, 3, (8,), generator=g)) for _ in range(10)]
    a = _model(ALGORITHMS[name])
    assert isinstance(a[0].blocks[0], MultiTile)
    before = {k: v.clone() for k, v in a[0].blocks[0].state_dict().items() if isinstance(v, torch.Tensor)}
    opt_a = xbarsim.optim.AnalogSGD(a.parameters(), lr=0.1)
    _steps(a, opt_a, batches[:5])
    after = a[0].blocks[0].state_dict()
    assert any(not torch.equal(v, after[k]) for k, v in before.items())  # weights, buffers or χ moved
    path = xbarsim.save(tmp_path / "ckpt.pt", a, opt_a)
    b = _model(ALGORITHMS[name], seed=7)  # other seeds: everything comes from the checkpoint
    opt_b = xbarsim.optim.AnalogSGD(b.parameters(), lr=0.1)
    xbarsim.load(path, b, opt_b)
    _steps(a, opt_a, batches[5:])
    _steps(b, opt_b, batches[5:])
    for la, lb in ((a[0], b[0]), (a[2], b[2])):
        assert torch.equal(la.blocks[0].get_tile_weights(), lb.blocks[0].get_tile_weights())
        assert torch.equal(la.get_matrix_weights()[0], lb.get_matrix_weights()[0])


def test_checkpoint_of_another_algorithm_is_rejected_with_fields_named(tmp_path):
    a = _model(ALGORITHMS["residual"])
    path = xbarsim.save(tmp_path / "ckpt.pt", a)
    other = _model(ALGORITHMS["residual"].replace(gamma=0.4))
    before = other[0].blocks[0].get_tile_weights()
    with pytest.raises(xbarsim.CheckpointMismatchError, match="algorithm.gamma"):
        xbarsim.load(path, other)
    assert torch.equal(other[0].blocks[0].get_tile_weights(), before)


def test_warm_start_from_a_training_loop():
    """Per epoch the loop feeds the detector; a plateau switches every compound of the model."""
    model = _model(ResidualLearning(n_tiles=3, gamma=0.3, transfer_every=(4, 2, 1), warm_start="paper"))
    opt = xbarsim.optim.AnalogSGD(model.parameters(), lr=0.1)
    det = PlateauDetector("paper")
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(8, 12, generator=g), torch.randint(0, 3, (8,), generator=g)
    switches = 0
    for loss in (1.0, 0.9, 0.95, 0.8, 0.85):  # scripted epoch losses: rises after epochs 3 and 5
        _steps(model, opt, [(x, y)])
        if det.update(loss):
            switches += 1
            assert signal_warm_start(model) == 2
    _steps(model, opt, [(x, y)])
    assert switches == 2
    assert [m[0].blocks[0].schedule.warm for m in (model,)] == [2] and model[2].blocks[0].schedule.warm == 2


def test_lenet5_builds_multi_tile_layers():
    cfg = TileConfig(forward=PERFECT, backward=PERFECT, device_model=PaperSoftBounds(4),
                     algorithm=ResidualLearning(n_tiles=4, gamma=0.2))
    model = xbarsim.models.lenet5(cfg, seed=1)
    assert all(isinstance(layer.blocks[0], MultiTile) for layer in (model.conv1, model.conv2, model.fc1, model.fc2))
    opt = xbarsim.optim.AnalogSGD(model.parameters(), lr=0.05)
    images = torch.rand(2, 1, 28, 28)
    opt.zero_grad()
    torch.nn.functional.nll_loss(model(images), torch.tensor([1, 2])).backward()
    opt.step()
    assert model.conv1.blocks[0].schedule.updates == 2 * 576  # one vector per patch
