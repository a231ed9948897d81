"""With an ideal config (perfect IO, exact update) analog layers equal torch's layers: forward, input
gradient and the SGD update, to the rounding-error bound of the dot products involved.

Spec: analog-tile.md §1.5 (perfect reads), §2.7 (pulse_type "none"), §0 (conv patches as vectors).
"""
from __future__ import annotations

import copy

import pytest
import torch

import xbarsim
from xbarsim.nn import AnalogConv1d, AnalogConv2d, AnalogLinear
from xbarsim.optim import AnalogSGD

from _frontend import assert_close_bound, dot_bound, ideal_config

LR = 0.1
MAPPINGS = {"one_tile": None, "split": xbarsim.MappingConfig(max_in_size=5, max_out_size=3)}
BIAS = {"digital": dict(bias=True), "analog": dict(bias=True, digital_bias=False), "none": dict(bias=False)}


def _unfold_abs(x: torch.Tensor, conv: torch.nn.Module) -> torch.Tensor:
    """|patches| [N*L, C*k] of x for conv (2-d; a conv1d is run as height-1 2-d), for error bounds."""
    if isinstance(conv, torch.nn.Conv1d):
        x, k, s, d = x.unsqueeze(2), (1, *conv.kernel_size), (1, *conv.stride), (1, *conv.dilation)
        pad = conv.padding if isinstance(conv.padding, str) else (0, *conv.padding)
    else:
        k, s, d, pad = conv.kernel_size, conv.stride, conv.dilation, conv.padding
    if isinstance(pad, str):
        before, after = xbarsim.nn.functional.resolve_padding(pad, k, d)
        x = torch.nn.functional.pad(x, (before[1], after[1], before[0], after[0]))
        pad = (0, 0)
    cols = torch.nn.functional.unfold(x, k, dilation=d, padding=pad, stride=s)
    return cols.transpose(1, 2).reshape(-1, cols.shape[1]).abs()


def _abs_input_grad(digital: torch.nn.Module, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """sum over (o, p) of |g[o, p]|·|W[o, k]| for every input element: the input gradient of a copy of
    the layer with |W| and no bias at upstream gradient |g| (all terms non-negative: exact up to a
    relative gamma_n, negligible against the bound it scales)."""
    layer = copy.deepcopy(digital)
    with torch.no_grad():
        layer.weight.abs_()
        if layer.bias is not None:
            layer.bias.zero_()
    xr = x.detach().clone().requires_grad_()
    (grad,) = torch.autograd.grad(layer(xr), xr, grad_outputs=g.abs())
    return grad


def _compare(digital, analog, x, dtype, patches_abs=None):
    """Forward, input gradient and one SGD step of digital vs analog on x; bounds from the arithmetic."""
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    y1, y2 = digital(x1), analog(x2)
    assert y1.shape == y2.shape
    w = digital.weight.detach().reshape(digital.weight.shape[0], -1)
    xa = patches_abs if patches_abs is not None else x.reshape(-1, w.shape[1]).abs()
    n_in = w.shape[1] + 1  # + the bias
    y_bound = dot_bound(xa, w.abs().t(), n_in, dtype)
    if patches_abs is not None:  # conv: rows are patches, output [N, out, *spatial]
        y_bound = y_bound.reshape(x.shape[0], -1, w.shape[0]).transpose(1, 2).reshape(y1.shape)
    else:
        y_bound = y_bound.reshape(y1.shape)
    assert_close_bound(y2, y1, y_bound)

    g = torch.randn(y1.shape, dtype=dtype)
    y1.backward(g)
    y2.backward(g)
    # input gradient, per element: x.grad[e] = sum of the products g[o, p]·W[o, k] over the outputs o
    # and the patches p that read e through kernel position k: at most n = out·(kernel positions)
    # products (out for a linear layer), summed in any order on either side, hence the dot_bound
    # error gamma_n·(|g|·|W| summed the same way) per side. That sum is the input gradient of the
    # same layer with |W|, no bias, at upstream gradient |g|.
    n_terms = w.shape[0] * (w.shape[1] // x.shape[1] if patches_abs is not None else 1)
    gx_bound = dot_bound(torch.ones(1, 1, dtype=dtype), _abs_input_grad(digital, x, g).reshape(1, -1), n_terms,
                         dtype).reshape(x.shape)
    assert_close_bound(x2.grad, x1.grad, gx_bound)

    # one SGD step; the analog side applies W <- W - lr d^T x from the recorded batch
    w_before = w.clone()
    d = g.reshape(-1, w.shape[0]) if patches_abs is None else g.reshape(x.shape[0], w.shape[0], -1).transpose(1, 2).reshape(-1, w.shape[0])
    torch.optim.SGD(digital.parameters(), lr=LR).step()
    AnalogSGD(analog.parameters(), lr=LR).step()
    w_an, b_an = analog.get_weights()
    m = d.shape[0]
    dw_bound = 2 * ((m + 2) * torch.finfo(dtype).eps) * (w_before.abs() + LR * (d.abs().t() @ xa)) + torch.finfo(dtype).tiny
    assert_close_bound(w_an.reshape(w.shape), digital.weight.detach().reshape(w.shape), dw_bound)
    if digital.bias is not None:
        db_bound = 2 * ((m + 2) * torch.finfo(dtype).eps) * (digital.bias.detach().abs() + LR * d.abs().sum(0)) + 1e-30
        assert_close_bound(b_an, digital.bias.detach(), db_bound)
    else:
        assert b_an is None


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mapping", MAPPINGS)
@pytest.mark.parametrize("bias", BIAS)
@pytest.mark.parametrize("shape", [(6,), (2, 3)])
def test_linear_matches_torch(dtype, mapping, bias, shape):
    torch.manual_seed(0)
    digital = torch.nn.Linear(7, 4, bias=BIAS[bias]["bias"], dtype=dtype)
    analog = AnalogLinear.from_digital(digital, ideal_config(), mapping=MAPPINGS[mapping],
                                       **{k: v for k, v in BIAS[bias].items() if k != "bias"})
    if mapping == "split":
        assert len(analog.blocks) == 4  # 7(+1) inputs over 2 tiles, 4 outputs over 2 tiles
    _compare(digital, analog, torch.randn(*shape, 7, dtype=dtype), dtype)


CONV2D_CASES = [  # stride, padding, dilation, kernel
    (1, 0, 1, 3), (2, 1, 1, 3), (1, "same", 2, 3), (3, 2, 2, (3, 2)), (1, "same", 1, (2, 4)), (2, "valid", 1, 2),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning")  # torch's own conv
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", CONV2D_CASES, ids=str)
@pytest.mark.parametrize("mapping", MAPPINGS)
def test_conv2d_matches_torch(dtype, case, mapping):
    stride, padding, dilation, kernel = case
    torch.manual_seed(1)
    digital = torch.nn.Conv2d(3, 4, kernel, stride=stride, padding=padding, dilation=dilation, dtype=dtype)
    analog = AnalogConv2d.from_digital(digital, ideal_config(), mapping=MAPPINGS[mapping])
    x = torch.randn(2, 3, 9, 8, dtype=dtype)
    _compare(digital, analog, x, dtype, patches_abs=_unfold_abs(x, digital))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", [(1, 0, 1, 3), (2, 1, 2, 3), (1, "same", 1, 4)], ids=str)
@pytest.mark.parametrize("digital_bias", [True, False])
def test_conv1d_matches_torch(dtype, case, digital_bias):
    stride, padding, dilation, kernel = case
    torch.manual_seed(2)
    digital = torch.nn.Conv1d(3, 5, kernel, stride=stride, padding=padding, dilation=dilation, dtype=dtype)
    analog = AnalogConv1d.from_digital(digital, ideal_config(), digital_bias=digital_bias)
    x = torch.randn(3, 3, 13, dtype=dtype)
    _compare(digital, analog, x, dtype, patches_abs=_unfold_abs(x, digital))


def test_unbatched_conv_input_matches_torch():
    torch.manual_seed(3)
    digital = torch.nn.Conv2d(2, 3, 3, padding=1, dtype=torch.float64)
    analog = AnalogConv2d.from_digital(digital, ideal_config())
    x = torch.randn(2, 5, 5, dtype=torch.float64)
    torch.testing.assert_close(analog(x), digital(x), rtol=0, atol=1e-12)


def test_conv_update_sees_every_patch_of_every_sample(monkeypatch):
    """The update of a conv layer gets batch x patches vectors (analog-tile.md §0)."""
    conv = AnalogConv2d(1, 16, 5, config=ideal_config(), seed=0)
    seen = []
    tile = conv.blocks[0]
    original = type(tile).update
    monkeypatch.setattr(type(tile), "update", lambda self, x, d, lr: (seen.append((x.shape, d.shape)),
                                                                        original(self, x, d, lr))[1])
    conv(torch.rand(3, 1, 28, 28)).sum().backward()
    AnalogSGD(conv.parameters(), lr=0.01).step()
    assert seen == [(torch.Size([3 * 576, 25]), torch.Size([3 * 576, 16]))]


def test_first_layer_without_input_gradient_still_records_and_updates():
    """x does not require grad: no backward read is made, but the batch is recorded and applied."""
    torch.manual_seed(4)
    digital = torch.nn.Linear(5, 3, dtype=torch.float64)
    analog = AnalogLinear.from_digital(digital, ideal_config())
    calls_before = int(analog.blocks[0].rng_counter)
    x = torch.randn(4, 5, dtype=torch.float64)
    digital(x).square().sum().backward()
    analog(x).square().sum().backward()
    torch.optim.SGD(digital.parameters(), lr=LR).step()
    AnalogSGD(analog.parameters(), lr=LR).step()
    torch.testing.assert_close(analog.get_weights()[0], digital.weight.detach(), rtol=0, atol=1e-12)
    # perfect reads draw nothing, so the counter says how many ops ran: forward + update, no backward read
    assert int(analog.blocks[0].rng_counter) - calls_before <= 2


def test_shared_layer_accumulates_both_uses():
    """A layer used twice in one graph records both batches; the update is their sum (torch's grad)."""
    torch.manual_seed(5)
    digital = torch.nn.Linear(4, 4, bias=False, dtype=torch.float64)
    analog = AnalogLinear.from_digital(digital, ideal_config())
    x = torch.randn(3, 4, dtype=torch.float64)
    digital(torch.tanh(digital(x))).sum().backward()
    analog(torch.tanh(analog(x))).sum().backward()
    assert analog.analog_ctx.grad.item() == 2
    torch.optim.SGD(digital.parameters(), lr=LR).step()
    AnalogSGD(analog.parameters(), lr=LR).step()
    torch.testing.assert_close(analog.get_weights()[0], digital.weight.detach(), rtol=0, atol=1e-12)
