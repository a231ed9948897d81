"""A TensorView keeps the tensor it views alive (csrc/bindings/views.cpp), so a view of a temporary such
as ``view(x.contiguous())`` or ``view(scale.to(dev))`` cannot point at freed memory; structs of views
(DeviceCellViews) keep their views, and so their tensors, alive too."""
from __future__ import annotations

import gc
import weakref

import pytest
import torch

from xbarsim import _core
from xbarsim.ops._views import view


def test_a_view_keeps_its_tensor_alive():
    t = torch.arange(12.0).reshape(3, 4)
    alive = weakref.ref(t)
    v = view(t)
    del t
    gc.collect()
    assert alive() is not None
    assert v.shape == [3, 4]
    del v
    gc.collect()
    assert alive() is None


def test_a_view_of_a_temporary_reads_its_values():
    x = torch.arange(24.0).reshape(4, 6)[:, ::2]  # not contiguous: .contiguous() makes a temporary
    v = view(x.contiguous())
    gc.collect()
    chi = torch.zeros(2, 3)
    _core.chi_accumulate(view(chi), v, view(torch.ones(4, 2)), 1.0)
    assert torch.equal(chi, x.sum(0).expand(2, 3))


def test_cell_views_keep_their_tensors_alive():
    t = torch.ones(2, 3)
    alive = weakref.ref(t)
    cells = _core.DeviceCellViews()
    cells.b_min = view(t)
    del t
    gc.collect()
    assert alive() is not None
    got = cells.b_min
    del cells
    gc.collect()
    assert alive() is not None and got.shape == [2, 3]
    del got
    gc.collect()
    assert alive() is None


def test_the_owner_is_required():
    t = torch.zeros(3)
    with pytest.raises(TypeError):
        _core.TensorView(t.data_ptr(), "float32", [3], [1], "cpu", 0)
    with pytest.raises(TypeError, match="owner"):
        _core.TensorView(t.data_ptr(), "float32", [3], [1], "cpu", 0, owner=None)
