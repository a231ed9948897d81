"""AnalogSGD / AnalogOptimizer: torch.optim semantics for the recorded analog batches.

Spec: experiments.md §0 "Optimizer"; analog-tile.md §2.7 (exact update for reference).
"""
from __future__ import annotations

import copy

import pytest
import torch

import xbarsim
from xbarsim.nn import AnalogLinear
from xbarsim.optim import AnalogOptimizer, AnalogSGD

from _frontend import ideal_config

F64 = torch.float64


def _pair(seed=0, bias=True):
    torch.manual_seed(seed)
    digital = torch.nn.Sequential(torch.nn.Linear(5, 4, bias=bias, dtype=F64), torch.nn.Tanh(),
                                  torch.nn.Linear(4, 2, bias=bias, dtype=F64))
    analog = xbarsim.nn.convert_to_analog(digital, ideal_config(), seed=1)
    return digital, analog


def _weights(model):
    out = []
    for m in model:
        if isinstance(m, AnalogLinear):
            w, b = m.get_weights()
            out += [w] + ([b] if b is not None else [])
        elif isinstance(m, torch.nn.Linear):
            out += [m.weight.detach()] + ([m.bias.detach()] if m.bias is not None else [])
    return out


def _assert_same(a, b, atol=1e-12):
    for x, y in zip(_weights(a), _weights(b)):
        torch.testing.assert_close(x, y, rtol=0, atol=atol)


def _loss(model, x):
    return model(x).square().sum()


def test_step_without_backward_raises_and_changes_nothing():
    _, analog = _pair()
    opt = AnalogSGD(analog.parameters(), lr=0.1)
    with pytest.raises(RuntimeError, match=r"AnalogSGD.step: no gradients: call loss.backward\(\) before step\(\)"):
        opt.step()
    _loss(analog, torch.randn(3, 5, dtype=F64))  # forward only (it advances the tiles' RNG counters)
    before = copy.deepcopy(analog.state_dict())
    with pytest.raises(RuntimeError, match="no gradients"):
        opt.step()
    for k, v in analog.state_dict().items():
        assert torch.equal(v, before[k]) if isinstance(v, torch.Tensor) else v == before[k]


def test_zero_grad_discards_recorded_batches_of_optimizer_and_model():
    _, analog = _pair()
    opt = AnalogSGD(analog.parameters(), lr=0.1)
    _loss(analog, torch.randn(3, 5, dtype=F64)).backward()
    assert analog[0].has_recorded_batch()
    opt.zero_grad()
    assert not analog[0].has_recorded_batch() and not analog[0]._records
    _loss(analog, torch.randn(3, 5, dtype=F64)).backward()
    analog.zero_grad()  # the model's zero_grad: the stale batch is dropped at the next forward
    assert not analog[0].has_recorded_batch()
    _loss(analog, torch.randn(3, 5, dtype=F64)).backward()
    opt.zero_grad(set_to_none=False)
    assert not analog[0].has_recorded_batch()


def test_momentum_and_weight_decay_act_on_digital_parameters_only():
    digital, analog = _pair(seed=2)
    # reference: torch SGD with momentum and weight decay on the biases, plain SGD on the weights
    opt_b = torch.optim.SGD([digital[0].bias, digital[2].bias], lr=0.05, momentum=0.9, weight_decay=1e-3)
    opt_w = torch.optim.SGD([digital[0].weight, digital[2].weight], lr=0.05)
    opt_a = AnalogSGD(analog.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        x = torch.randn(4, 5, generator=gen, dtype=F64)
        for opt in (opt_b, opt_w, opt_a):
            opt.zero_grad()
        _loss(digital, x).backward()
        _loss(analog, x).backward()
        for opt in (opt_b, opt_w, opt_a):
            opt.step()
    _assert_same(digital, analog)
    assert analog[0].analog_ctx.item() == 0.0 and analog[0].analog_ctx not in opt_a.state


def test_plain_sgd_equals_torch_and_step_twice_applies_twice():
    digital, analog = _pair(seed=3)
    opt_d = torch.optim.SGD(digital.parameters(), lr=0.1)
    opt_a = AnalogSGD(analog.parameters(), lr=0.1)
    x = torch.randn(4, 5, dtype=F64)
    _loss(digital, x).backward()
    _loss(analog, x).backward()
    for _ in range(2):  # torch re-applies .grad; the recorded batch behaves the same
        opt_d.step()
        opt_a.step()
    _assert_same(digital, analog)


def test_gradient_accumulation_concatenates_batches():
    digital, analog = _pair(seed=4)
    x1, x2 = torch.randn(3, 5, dtype=F64), torch.randn(2, 5, dtype=F64)
    for model in (digital, analog):
        _loss(model, x1).backward()
        _loss(model, x2).backward()
    assert analog[0].analog_ctx.grad.item() == 2
    x, d = analog[0].recorded_batch()
    assert x.shape == (5, 5) and d.shape == (5, 4)
    torch.optim.SGD(digital.parameters(), lr=0.1).step()
    AnalogSGD(analog.parameters(), lr=0.1).step()
    _assert_same(digital, analog)


def test_lr_scheduler_drives_the_analog_learning_rate():
    digital, analog = _pair(seed=5)
    opt_d = torch.optim.SGD(digital.parameters(), lr=0.2)
    opt_a = AnalogSGD(analog.parameters(), lr=0.2)
    sched_d = torch.optim.lr_scheduler.StepLR(opt_d, step_size=1, gamma=0.5)
    sched_a = torch.optim.lr_scheduler.StepLR(opt_a, step_size=1, gamma=0.5)
    seen = []
    tile = analog[0].blocks[0]
    original = tile.update
    tile.update = lambda x, d, lr: (seen.append(lr), original(x, d, lr))[1]
    for step in range(3):
        x = torch.randn(4, 5, dtype=F64)
        for model, opt, sched in ((digital, opt_d, sched_d), (analog, opt_a, sched_a)):
            opt.zero_grad()
            _loss(model, x).backward()
            opt.step()
            sched.step()
    assert seen == pytest.approx([0.2, 0.1, 0.05])
    _assert_same(digital, analog)


def test_analog_optimizer_wraps_adam_for_digital_parameters():
    digital, analog = _pair(seed=6)
    # reference: Adam on the biases only, plain SGD (lr) on the weights
    biases = [digital[0].bias, digital[2].bias]
    weights = [digital[0].weight, digital[2].weight]
    opt_b = torch.optim.Adam(biases, lr=0.01)
    opt_w = torch.optim.SGD(weights, lr=0.01)
    opt_a = AnalogOptimizer(torch.optim.Adam, analog.parameters(), lr=0.01)
    assert isinstance(opt_a, torch.optim.Optimizer) and opt_a.param_groups is opt_a.optimizer.param_groups
    for _ in range(3):
        x = torch.randn(4, 5, dtype=F64)
        for opt in (opt_b, opt_w, opt_a):
            opt.zero_grad()
        _loss(digital, x).backward()
        _loss(analog, x).backward()
        opt_b.step()
        opt_w.step()
        opt_a.step()
    _assert_same(digital, analog)
    sd = opt_a.state_dict()
    assert len(sd["state"]) == 2  # Adam state for the two biases only, none for the placeholders


def test_maximize_flips_the_analog_update():
    digital, analog = _pair(seed=7)
    x = torch.randn(4, 5, dtype=F64)
    _loss(digital, x).backward()
    _loss(analog, x).backward()
    torch.optim.SGD(digital.parameters(), lr=0.1, maximize=True).step()
    AnalogSGD(analog.parameters(), lr=0.1, maximize=True).step()
    _assert_same(digital, analog)


def test_bad_optimizer_arguments():
    _, analog = _pair()
    with pytest.raises(TypeError, match="optimizer_cls must be a torch.optim.Optimizer subclass"):
        AnalogOptimizer(object, analog.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="LBFGS"):
        AnalogOptimizer(torch.optim.LBFGS, analog.parameters(), lr=0.1)
    with pytest.raises(ValueError):  # torch's own validation
        AnalogSGD(analog.parameters(), lr=-1.0)


def test_non_finite_gradient_is_rejected_when_recorded():
    """A NaN output gradient fails in backward (also for a first layer, which makes no backward read);
    nothing is recorded, so the next step cannot apply half a batch."""
    _, analog = _pair(bias=False)  # (a digital bias would get its NaN .grad, as in torch)
    opt = AnalogSGD(analog.parameters(), lr=0.1)
    before = [w.clone() for w in _weights(analog)]
    out = analog(torch.randn(3, 5, dtype=F64))
    with pytest.raises(ValueError, match=r"AnalogLinear.backward: grad_output must be finite"):
        (out * float("nan")).sum().backward()
    assert not analog[0].has_recorded_batch() and not analog[2].has_recorded_batch()
    with pytest.raises(RuntimeError, match="no gradients"):
        opt.step()
    for a, b in zip(before, _weights(analog)):
        assert torch.equal(a, b)


def test_closure_is_evaluated_once_with_grad():
    digital, analog = _pair(seed=8)
    opt = AnalogSGD(analog.parameters(), lr=0.1)
    x = torch.randn(4, 5, dtype=F64)
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = _loss(analog, x)
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert len(calls) == 1 and loss.requires_grad
    _loss(digital, x).backward()
    torch.optim.SGD(digital.parameters(), lr=0.1).step()
    _assert_same(digital, analog)
