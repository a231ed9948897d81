"""Compare the training algorithms on one analog layer with 4-state devices.

One ``AnalogLinear(64, 32)`` layer (no bias, exact reads so that only the update differs) learns a
fixed linear map ``y = W* x`` (W* uniform in [-0.75, 0.75], x uniform in [-1, 1], batch 16) with
five algorithms on the paper's 4-state soft-bounds device (``PaperSoftBounds(4)``: steps of 0.5 on
[-1, 1], 30 % device-to-device and cycle-to-cycle variation). Every run sees the same data and
starts from W = 0; the script prints the mean loss per window of steps and plots the loss per step.

What to expect with the default budget (2 000 steps; loss 0.5·||y − W* x||² per sample, 64 at W = 0):
analog SGD ends far above the loss of W = 0 (≈ 150: a 4-state cell hit by noisy pulses wanders
between levels 0.5 apart); TT-v2, chopped TT-v2 and residual learning end slightly below W = 0
(≈ 50–55) and are still falling; mixed precision, whose digital accumulator χ averages the noisy
gradients before pulsing, reaches ≈ 17. Residual learning's cascade needs its transfers to run on
well-separated timescales (periods ×8 per tile here, rates ∝ γ^(N+1)), so it pays off over far
longer runs than this one; docs/algorithms.md (the least-squares toy) measures when it does and
when it does not. The settings below are starting points, not tuned results of the paper.

    python examples/compare_algorithms.py                 # about 35 s on one CPU core; writes compare_algorithms.png
    python examples/compare_algorithms.py --steps 20000   # ten times longer
    python examples/compare_algorithms.py --tiny          # 10 steps each, a few seconds; also XBARSIM_EXAMPLE_TINY=1
"""
import argparse
import os
import time

import torch

import xbarsim
from xbarsim.algorithms import ChoppedTikiTakaV2, MixedPrecision, ResidualLearning, SingleTile, TikiTakaV2

PERFECT = xbarsim.IOConfig(is_perfect=True)
IN, OUT, BATCH = 64, 32, 16

#: name -> (algorithm config, optimizer lr). Tile 0 is the most significant tile everywhere.
ALGORITHMS = {
    "analog SGD": (SingleTile(), 0.05),
    # TT-v2: gradient tile A, digital buffer H, target tile C; one column of A read per mini-batch
    "TT-v2": (TikiTakaV2(transfer_io=PERFECT), 0.05),
    # chopped TT-v2, one column per mini-batch (its default, one per vector, splits every batch)
    "c-TTv2": (ChoppedTikiTakaV2(transfer_io=PERFECT, units_in_mbatch=True), 0.2),
    # mixed precision: digital χ, rows written when |χ| exceeds a device step
    "MP": (MixedPrecision(), 0.05),
    # residual learning, 4 tiles, W̄ = Σ 0.5ⁿ W⁽ⁿ⁾; the gradient tile (3) transfers every mini-batch, tile n
    # every 8^(3−n); each transfer reads all 64 columns; constant rates (not scaled by the optimizer lr)
    "ResL (4 tiles)": (ResidualLearning(n_tiles=4, gamma=0.5, transfer_every=1, transfer_every_growth=8,
                                        n_reads_per_transfer=IN, transfer_lr=0.002, scale_transfer_lr=False,
                                        fast_lr=1.0, scale_fast_lr=False, transfer_io=PERFECT), 1.0),
}


def train(algorithm, lr, w_target, steps, seed=0):
    """Loss per step of one layer trained with ``algorithm``; returns (losses, final relative weight error)."""
    config = xbarsim.TileConfig(forward=PERFECT, backward=PERFECT, device_model=xbarsim.presets.PaperSoftBounds(4),
                                algorithm=algorithm)
    layer = xbarsim.nn.AnalogLinear(IN, OUT, bias=False, config=config, seed=seed)
    layer.set_weights(torch.zeros(OUT, IN))
    opt = xbarsim.optim.AnalogSGD(layer.parameters(), lr=lr)
    data = torch.Generator().manual_seed(seed)          # the same inputs for every algorithm
    losses = []
    for _ in range(steps):
        x = torch.rand(BATCH, IN, generator=data) * 2 - 1
        opt.zero_grad()
        loss = 0.5 * ((layer(x) - x @ w_target.T) ** 2).sum(1).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    w = layer.get_weights()[0]
    return losses, ((w - w_target).norm() / w_target.norm()).item()


def plot(results, zero_loss, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 4.2))
    for name, (losses, _) in results.items():
        t = torch.tensor(losses)
        k = max(1, min(50, len(losses) // 10))          # moving average over k steps
        smooth = t.unfold(0, k, 1).mean(1) if len(losses) >= k else t
        ax.plot(range(k, k + len(smooth)), smooth.numpy(), label=name, lw=1.5)
    ax.axhline(zero_loss, color="k", ls="--", lw=1, label="W = 0")
    ax.set_yscale("log")
    ax.set_xlabel("step (mini-batch of 16)")
    ax.set_ylabel("loss per sample (moving average)")
    ax.set_title(f"one {OUT}×{IN} analog layer, 4-state soft-bounds devices")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", default=bool(os.environ.get("XBARSIM_EXAMPLE_TINY")),
                        help="10 steps per algorithm")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--out", default="compare_algorithms.png", help="the plot (PNG)")
    args = parser.parse_args(argv)
    steps = 10 if args.tiny else args.steps

    torch.manual_seed(0)
    w_target = (torch.rand(OUT, IN, generator=torch.Generator().manual_seed(1)) * 2 - 1) * 0.75
    zero_loss = 0.5 * OUT * (w_target ** 2).mean().item() * IN / 3     # E[loss] at W = 0 (E[x²] = 1/3)
    window = max(1, steps // 5)
    print(f"loss per sample, mean over windows of {window} steps (W = 0: {zero_loss:.1f})")
    results = {}
    for name, (algorithm, lr) in ALGORITHMS.items():
        start = time.perf_counter()
        losses, w_err = train(algorithm, lr, w_target, steps)
        results[name] = (losses, w_err)
        means = [sum(losses[i:i + window]) / len(losses[i:i + window]) for i in range(0, steps, window)]
        print(f"  {name:15s} " + " ".join(f"{m:7.1f}" for m in means) +
              f"   ||W - W*||/||W*|| = {w_err:.2f}  ({time.perf_counter() - start:.1f} s)", flush=True)
    plot(results, zero_loss, args.out)
    print(f"plot: {args.out}")
    return results


if __name__ == "__main__":
    main()
