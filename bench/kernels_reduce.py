"""The digital-side kernels of the multi-tile algorithms against the torch code a user would write
(suite "reduce", group "kernels"), interleaved in the same run:

* the W̄ reduction ``W̄ = Σₙ γⁿ W⁽ⁿ⁾`` of N = 4 and 8 tiles of 784×256 (``reduce_tiles_``, one pass,
  summed in tile order) against ``torch.stack(...)`` weighted by γⁿ and summed (``torch.sum`` over a
  [N, out, in] tensor with the γⁿ broadcast: one allocation and two passes);
* mixed precision's χ accumulation ``χ += lr·dᵀx`` (``chi_accumulate_``: samples added in order, so
  the same bits on CPU and GPU) against ``chi.addmm_(d.T, x, alpha=lr)`` (the digital weight-gradient
  GEMM), on the shapes of the paper's LeNet-5 at batch 16 (conv1 sees 16·576 vectors of 25 inputs,
  conv2 16·64 vectors of 400) and of a 784×256 layer at batch 100. Target: at most 1.5x the GEMM.
"""
from __future__ import annotations

import torch

from _timing import row, time_interleaved

SUITE = "reduce"
GROUP = "kernels"
CHI_TARGET = 1.5

CHI_SHAPES = [("conv1 16x25", 16, 25, 16 * 576), ("conv2 32x400", 32, 400, 16 * 64), ("fc1 128x512", 128, 512, 16),
              ("784x256", 256, 784, 100)]


def _reduce_rows(device: str, quick: bool) -> list[dict]:
    from xbarsim.ops import transfer as _transfer

    g = torch.Generator().manual_seed(0)
    rows = []
    for n in (4, 8):
        tiles = [(torch.rand(256, 784, generator=g) * 2 - 1).to(device) for _ in range(n)]
        gammas = [0.5**k for k in range(n)]
        out = torch.empty_like(tiles[0])
        gamma_t = torch.tensor(gammas, device=device).view(n, 1, 1)

        def native():
            _transfer.reduce_tiles_(out, tiles, gammas)

        def plain():
            return (torch.stack(tiles) * gamma_t).sum(0)

        ms = time_interleaved({"xbarsim": native, "torch": plain}, device, repeats=3 if quick else 20)
        rows.append(row(SUITE, f"W̄ reduction {n} tiles 784x256", device, ms["xbarsim"], ms["torch"],
                        "torch.stack·γ summed", n_tiles=n))
    return rows


def _chi_rows(device: str, quick: bool) -> list[dict]:
    from xbarsim.ops import transfer as _transfer

    g = torch.Generator().manual_seed(1)
    rows = []
    for name, out, inp, m in CHI_SHAPES[:2] if quick else CHI_SHAPES:
        x, d = torch.randn(m, inp, generator=g).to(device), torch.randn(m, out, generator=g).to(device)
        chi, grad = torch.zeros(out, inp, device=device), torch.zeros(out, inp, device=device)
        ms = time_interleaved({"xbarsim": lambda: _transfer.chi_accumulate_(chi, x, d, 0.01),
                               "torch": lambda: grad.addmm_(d.T, x, alpha=0.01)}, device, repeats=3 if quick else 20)
        rows.append(row(SUITE, f"χ accumulation {name} b{m}", device, ms["xbarsim"], ms["torch"], "addmm_",
                        target=CHI_TARGET, vectors=m))
    return rows


def run(device: str, quick: bool) -> list[dict]:
    return _reduce_rows(device, quick) + _chi_rows(device, quick)
