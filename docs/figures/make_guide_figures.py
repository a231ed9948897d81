"""Make the figures of docs/guide.md (PNG, into this directory).

    python docs/figures/make_guide_figures.py [--out DIR] [--only NAME ...]   # about 30 s on one CPU core

Every curve or point that shows simulated behaviour comes from xbarsim itself (``analog_mvm``,
``AnalogTile.update``, ``make_tile``) with fixed seeds, so two runs give the same figures (byte for
byte on one machine; the random draws are the same on any machine and on CUDA). Only the block
diagrams and the bit-line raster of the pulsed-update figure are drawn by hand (the raster's firing
probabilities are xbarsim's; its bits are an illustration).

Figures:
    guide_read_path.png          the read path, and analog vs exact outputs with and without bound management
    guide_device_staircase.png   SoftBounds pulse response, 4 vs 16 states, device-to-device and cycle-to-cycle spread
    guide_pulsed_update.png      stochastic pulse trains, coincidences, and their measured count distribution
    guide_residual_learning.png  the composite weight and the transfer cascade; a 3-tile run on one cell
"""
from __future__ import annotations

import argparse
import math
import pathlib
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

import xbarsim  # noqa: E402
from xbarsim import _core  # noqa: E402
from xbarsim.algorithms import make_tile  # noqa: E402
from xbarsim.presets.paper import toy_least_squares  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
BLUE, ORANGE, GREEN, RED, PURPLE, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#7f7f7f"


# --- drawing helpers ---------------------------------------------------------------------------------
def box(ax, x, y, w, h, text, color="#e8eef7", fontsize=8.5):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.04",
                                fc=color, ec="#333333", lw=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def arrow(ax, p, q, text=None, color="#333333", style="-|>", rad=0.0, fontsize=8, text_offset=(0, 0.05), **kw):
    ax.add_patch(FancyArrowPatch(p, q, arrowstyle=style, mutation_scale=12, color=color, lw=1.2,
                                 connectionstyle=f"arc3,rad={rad}", **kw))
    if text:
        ax.text((p[0] + q[0]) / 2 + text_offset[0], (p[1] + q[1]) / 2 + text_offset[1], text, ha="center",
                va="bottom", fontsize=fontsize, color=color)


def blank(ax, xlim=(0, 1), ylim=(0, 1)):
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.axis("off")


# --- 1. the read path ----------------------------------------------------------------------------------
def read_path(out: pathlib.Path) -> None:
    fig = plt.figure(figsize=(13, 4.3))
    ax = fig.add_axes([0.0, 0.0, 0.6, 1.0])
    blank(ax, (0, 11.2), (0, 4))
    stages = [
        (0.45, "x", "#ffffff"),
        (1.95, "noise\nmanagement\nσ = 1/(a·r)\na = max|x|", "#fdf1e0"),
        (3.75, "DAC\nquantise (7 bit)\nclip ±inp_bound\n+ inp_noise", "#e8eef7"),
        (5.55, "crossbar\nŷ = W v\n+ weight noise\n(off by default)", "#e6f4e6"),
        (7.35, "ADC\n+ out_noise\nquantise (9 bit)\nclip ±out_bound", "#e8eef7"),
        (9.15, "rescale\ny = a·r·ŷ", "#fdf1e0"),
        (10.7, "y", "#ffffff"),
    ]
    y0 = 2.3
    for i, (x, text, color) in enumerate(stages):
        w = 0.5 if text in ("x", "y") else 1.6
        box(ax, x, y0, w, 1.35, text, color, fontsize=8)
        if i:
            prev = stages[i - 1][0] + (0.27 if stages[i - 1][1] in ("x", "y") else 0.82)
            arrow(ax, (prev, y0), (x - (0.27 if text in ("x", "y") else 0.82), y0))
    arrow(ax, (7.35, y0 - 0.7), (1.95, y0 - 0.7), color=RED, rad=-0.32, style="-|>")
    ax.text(4.65, 0.45, "bound management: an output clipped at +out_bound? then r ← 2r and read this vector\n"
                       "again with fresh noise (at most 5 rounds with the defaults); rows that passed are kept",
            ha="center", va="center", fontsize=8, color=RED)
    ax.text(5.6, 3.55, "one analog read per vector (forward y = W x; backward z = Wᵀ d, bound management off)",
            ha="center", fontsize=9)

    # analog vs exact outputs of one read: rows with growing scale so that some saturate
    g = torch.Generator().manual_seed(0)
    out_size, in_size = 400, 128
    scale = torch.linspace(0.0, 30.0, out_size)[:, None] / (0.5 * in_size)     # row i: E[y_i] ≈ scale_i·in/2
    W = scale * torch.rand(out_size, in_size, generator=g) * 2.0
    x = torch.rand(4, in_size, generator=g)
    x[:, 0] = 1.0                                                                # max|x| = 1: a = 1
    exact = x @ W.T
    default = xbarsim.ops.analog_mvm(x, W, xbarsim.IOConfig(), seed=1, call=0)
    no_bm = xbarsim.ops.analog_mvm(x, W, xbarsim.IOConfig(bound_management="none"), seed=1, call=0)
    ax2 = fig.add_axes([0.66, 0.14, 0.32, 0.78])
    ax2.plot([0, 32], [0, 32], color=GREY, lw=1, ls=":", label="exact")
    ax2.scatter(exact.flatten(), no_bm.flatten(), s=4, color=RED, label="bound management off")
    ax2.scatter(exact.flatten(), default.flatten(), s=4, color=BLUE, label="default IOConfig (iterative)")
    ax2.axhline(12.0, color=RED, lw=0.8, ls="--")
    ax2.text(31, 12.4, "out_bound = 12", ha="right", fontsize=8, color=RED)
    ax2.set_xlabel("exact  W x")
    ax2.set_ylabel("analog read  y")
    ax2.set_title("xbarsim.ops.analog_mvm, 400 × 128, |x| ≤ 1", fontsize=9)
    ax2.legend(fontsize=8, loc="upper left", markerscale=3)
    fig.savefig(out / "guide_read_path.png", dpi=110)
    plt.close(fig)


# --- 2. the device: SoftBounds pulse response ----------------------------------------------------------
ONE_PULSE = xbarsim.UpdateConfig(desired_bl=1, fixed_bl=True, update_bl_management=False, update_management=False)
NO_VARIATION = dict(dw_min_dtod=0.0, dw_min_std=0.0, w_min_dtod=0.0, w_max_dtod=0.0, up_down_dtod=0.0)


def pulse_train(device_model, seed: int, n_up: int, n_down: int) -> np.ndarray:
    """Weights of a 1-cell tile after each of n_up up pulses then n_down down pulses, from its lower bound.

    With BL = 1 and no management, A = B = sqrt(lr/(ε·BL)) = 1 for lr = ε: x = 1 and d = ∓1 fire both
    lines in the one slot, so every call is exactly one coincidence, i.e. one device pulse (up for d < 0).
    """
    tile = xbarsim.AnalogTile(1, 1, xbarsim.TileConfig(device_model=device_model, update=ONE_PULSE), seed=seed,
                              dtype=torch.float64)
    tile.set_weights(torch.full((1, 1), -10.0, dtype=torch.float64))   # clipped to the cell's own b_min
    eps, x = tile.granularity(), torch.ones(1, 1, dtype=torch.float64)
    w = [tile.weight.item()]
    for k in range(n_up + n_down):
        tile.update(x, torch.full((1, 1), -1.0 if k < n_up else 1.0, dtype=torch.float64), eps)
        w.append(tile.weight.item())
    return np.array(w)


def staircase(out: pathlib.Path) -> None:
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.6), gridspec_kw=dict(height_ratios=[1.25, 1]))
    n_cells = 24
    for col, n_states in enumerate((4, 16)):
        n_up = 2 * n_states + 4
        pulses = np.arange(2 * n_up + 1)
        ax, ax_dw = axes[0, col], axes[1, col]
        for seed in range(n_cells):
            w = pulse_train(xbarsim.presets.PaperSoftBounds(n_states), seed, n_up, n_up)
            ax.step(pulses, w, where="post", color=BLUE, lw=0.7, alpha=0.45)
            dw, w_before = np.diff(w), w[:-1]
            ax_dw.scatter(w_before[:n_up], dw[:n_up], s=5, color=BLUE, alpha=0.45, lw=0)
            ax_dw.scatter(w_before[n_up:], dw[n_up:], s=5, color=ORANGE, alpha=0.45, lw=0)
        ideal = pulse_train(xbarsim.presets.PaperSoftBounds(n_states, **NO_VARIATION), 0, n_up, n_up)
        ax.step(pulses, ideal, where="post", color="k", lw=1.8, label="no variation")
        ax.plot([], [], color=BLUE, lw=0.7, label=f"{n_cells} cells: 30 % d2d and c2c variation")
        ax.axvline(n_up, color=GREY, lw=0.8, ls=":")
        ax.text(n_up / 2, -1.32, f"{n_up} up pulses", ha="center", fontsize=8)
        ax.text(1.5 * n_up, -1.32, f"{n_up} down pulses", ha="center", fontsize=8)
        ax.set_ylim(-1.45, 1.45)
        ax.set_xlabel("pulse number")
        ax.set_ylabel("weight w")
        ax.set_title(f"PaperSoftBounds({n_states}): dw_min = {2 / n_states:g} on [−1, 1]", fontsize=10)
        ax.legend(fontsize=8, loc="upper right")
        s = 2 / n_states
        grid = np.linspace(-1, 1, 50)
        ax_dw.plot(grid, s * (1 - grid), color="k", lw=1.5, label="up: dw_min·(1 − w/b_max)")
        ax_dw.plot(grid, -s * (1 + grid), color="k", lw=1.5, ls="--", label="down: −dw_min·(1 − w/b_min)")
        ax_dw.scatter([], [], s=8, color=BLUE, label="up pulses (all cells)")
        ax_dw.scatter([], [], s=8, color=ORANGE, label="down pulses (all cells)")
        ax_dw.axhline(0, color=GREY, lw=0.6)
        ax_dw.set_xlabel("weight before the pulse")
        ax_dw.set_ylabel("step Δw of one pulse")
        ax_dw.legend(fontsize=7.5, loc="upper right", ncol=2)
    fig.suptitle("One pulse at a time: AnalogTile.update on 1-cell tiles (BL = 1), each seed a different device",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "guide_device_staircase.png", dpi=110)
    plt.close(fig)


# --- 3. the pulsed update ------------------------------------------------------------------------------
def pulsed_update(out: pathlib.Path) -> None:
    x = np.array([0.9, 0.5, 0.15])       # input lines j
    d = np.array([0.8, 0.3])             # output lines i
    eps, lr = 0.01, 0.1                  # a 200-state constant-step device; learning rate handed to the device
    # Fixed BL = 31 with update management (UpdateConfig(update_bl_management=False)): the pulse
    # probabilities stay well below 1, so the trains are visibly random. (The default also adapts BL
    # per vector, BL = ceil(lr·max|x|·max|d|/ε), which makes the largest lines fire in almost every slot.)
    update = xbarsim.UpdateConfig(update_bl_management=False)
    bl, a, b = _core.testing.calc_bl_ab(lr, eps, update.desired_bl, update.fixed_bl, update.update_bl_management,
                                        update.update_management, update.um_grad_scale, float(x.max()),
                                        float(d.max()))
    p = np.minimum(b * x, 1.0)          # input-line firing probability per slot: B·|x_j|
    q = np.minimum(a * d, 1.0)          # output-line firing probability per slot: A·|d_i|
    rng = np.random.default_rng(4)
    bits_x = rng.random((3, bl)) < p[:, None]
    bits_d = rng.random((2, bl)) < q[:, None]

    fig = plt.figure(figsize=(13, 4.6))
    ax = fig.add_axes([0.0, 0.08, 0.5, 0.84])
    rows = [(f"input line x{j} = {x[j]:.2f}:  P = B·|x{j}| = {p[j]:.2f}", bits_x[j], BLUE) for j in range(3)]
    rows += [(f"output line d{i} = {d[i]:.2f}:  Q = A·|d{i}| = {q[i]:.2f}", bits_d[i], ORANGE) for i in range(2)]
    both = bits_x[0] & bits_d[0]
    rows += [(f"cell (0, 0) = x0 AND d0:  n = {both.sum()} pulses", both, RED)]
    for r, (label, bits, color) in enumerate(rows):
        yy = len(rows) - r - (0.4 if r == len(rows) - 1 else 0)
        for k in range(bl):
            ax.add_patch(plt.Rectangle((k, yy - 0.35), 0.85, 0.7, fc=color if bits[k] else "#f2f2f2",
                                       ec="#bbbbbb", lw=0.5))
        ax.text(-0.5, yy, label, ha="right", va="center", fontsize=8.5)
    ax.set_xlim(-22, bl + 0.3)
    ax.set_ylim(-0.3, len(rows) + 0.9)
    ax.axis("off")
    ax.text(bl / 2, len(rows) + 0.6, f"BL = {bl} time slots;  A = {a:.3f}, B = {b:.3f}  (A·B = lr/(ε·BL))",
            ha="center", fontsize=9)
    ax.text(bl / 2, -0.15, f"E[n] = BL·P·Q = lr·|x0·d0|/ε = {lr * x[0] * d[0] / eps:.1f}", ha="center",
            fontsize=9)

    # measured: the coincidence count of every cell of a 2×3 tile over many updates
    device = xbarsim.devices.ConstantStep(dw_min=eps, w_min=-1.0, w_max=1.0, **NO_VARIATION)
    tile = xbarsim.AnalogTile(2, 3, xbarsim.TileConfig(device_model=device, update=update), seed=5,
                              dtype=torch.float64)
    xt = torch.from_numpy(x[None, :]).to(torch.float64)
    dt = torch.from_numpy(d[None, :]).to(torch.float64)
    zero = torch.zeros(2, 3, dtype=torch.float64)
    counts = []
    for _ in range(3000):
        tile.set_weights(zero)
        tile.update(xt, dt, lr)                                  # x·d > 0 and lr > 0: down pulses
        counts.append(np.rint(-tile.weight.numpy() / eps).astype(int))
    counts = np.stack(counts)
    ax_h = fig.add_axes([0.55, 0.14, 0.2, 0.72])
    n00 = counts[:, 0, 0]
    ks = np.arange(bl + 1)
    pq = p[0] * q[0]
    pmf = np.array([math.comb(bl, k) * pq ** k * (1 - pq) ** (bl - k) for k in ks])
    shown = ks[: int(np.percentile(n00, 99.9)) + 4]
    ax_h.bar(shown, np.bincount(n00, minlength=bl + 1)[shown] / len(n00), color=RED, alpha=0.6,
             label="measured, 3000 updates")
    ax_h.plot(shown, pmf[shown], "ko-", ms=3, lw=1, label="Binomial(BL, P·Q)")
    ax_h.set_xlabel("pulses n of cell (0, 0) in one update")
    ax_h.set_ylabel("frequency")
    ax_h.set_ylim(0, ax_h.get_ylim()[1] * 1.3)
    ax_h.legend(fontsize=7.5, loc="upper left")
    ax_h.set_title("AnalogTile.update, ConstantStep", fontsize=9)

    ax_m = fig.add_axes([0.8, 0.14, 0.18, 0.72])
    expected = lr * np.abs(np.outer(d, x)) / eps
    measured = counts.mean(0)
    top = expected.max() * 1.12
    ax_m.plot([0, top], [0, top], color=GREY, lw=1, ls=":")
    ax_m.scatter(expected.flatten(), measured.flatten(), color=RED, zorder=3)
    for (i, j), e in np.ndenumerate(expected):
        left = (i + j) % 2 == 1
        ax_m.text(e + (-0.25 if left else 0.25), measured[i, j], f"({i},{j})", fontsize=7,
                  ha="right" if left else "left", va="center")
    ax_m.set_xlabel("lr·|d_i·x_j| / ε")
    ax_m.set_ylabel("mean pulses per update")
    ax_m.set_title("every cell: E[ΔW] = −lr·d xᵀ", fontsize=9)
    fig.savefig(out / "guide_pulsed_update.png", dpi=110)
    plt.close(fig)


# --- 4. residual learning ------------------------------------------------------------------------------
def toy_run(n_tiles: int, targets: torch.Tensor, steps: int, every: int = 10, seed: int = 0):
    """``min (w_k − b_k)²`` for every row k of a ``[targets, 1]`` tile (independent cells), with the toy's
    theory settings on a noise-free 4-state device (algorithms.md, the least-squares toy).

    Returns the squared errors ``[steps, targets]`` and, every ``every`` steps, ``γⁿ·W⁽ⁿ⁾`` of every row
    (``[steps // every, n_tiles, targets]``).
    """
    preset = toy_least_squares(n_tiles, variant="theory", device_noise=False)
    tile = make_tile(len(targets), 1, preset.config, seed=seed, dtype=torch.float64)
    tile.set_weights(torch.zeros(len(targets), 1, dtype=torch.float64))
    x = torch.ones(1, 1, dtype=torch.float64)
    gammas = torch.tensor(preset.config.algorithm.gammas() if n_tiles > 1 else (1.0,), dtype=torch.float64)
    errors, parts = np.empty((steps, len(targets))), []
    for t in range(steps):
        y = tile.forward(x)[0]
        tile.update(x, (2.0 * (y - targets))[None, :], preset.lr)
        w = tile.get_weights()[0][:, 0]
        errors[t] = ((w - targets) ** 2).numpy()
        if n_tiles > 1 and t % every == 0:
            parts.append((gammas[:, None] * tile.get_tile_weights()[:, :, 0]).numpy())
    return errors, np.array(parts), preset


def moving_average(v: np.ndarray, k: int) -> np.ndarray:
    return np.convolve(v, np.ones(k) / k, mode="valid")


def residual_learning(out: pathlib.Path) -> None:
    fig = plt.figure(figsize=(13, 5.2))
    ax = fig.add_axes([0.0, 0.0, 0.44, 1.0])
    blank(ax, (0, 10), (0, 6.6))
    names = ["tile 0  (× γ⁰ = 1)", "tile 1  (× γ)", "tile 2  (× γ²)", "tile N  (× γᴺ)\ngradient tile"]
    ys = [5.0, 3.8, 2.6, 1.2]
    for n, (name, y) in enumerate(zip(names, ys)):
        box(ax, 3.9, y, 2.5, 0.8, name, "#e6f4e6" if n < 3 else "#fde2e2", fontsize=8.5)
    ax.text(3.9, 1.95, "⋮", ha="center", va="center", fontsize=12)
    labels = ["every T₁ steps\n(slowest)", "every T₂ steps", "every Tᴺ steps\n(fastest)"]
    for n in range(3):
        lo, hi = ys[n + 1] + 0.4, ys[n] - 0.4
        if n == 2:
            lo = ys[3] + 0.45
        arrow(ax, (2.9, lo), (2.9, hi), color=GREEN)
        ax.text(2.7, (lo + hi) / 2, f"transfer\n{labels[n]}", fontsize=7.5, color=GREEN, va="center", ha="right")
    box(ax, 8.3, 3.4, 2.4, 1.3, "W̄ = Σₙ γⁿ W⁽ⁿ⁾\n(what forward and\nbackward reads see)", "#fdf1e0")
    for y in ys:
        arrow(ax, (5.15, y), (7.1, 3.4), color=GREY)
    arrow(ax, (8.3, 2.75), (5.15, 1.1), color=RED, rad=-0.25)
    ax.text(8.5, 1.45, "gradient pulses at W̄\n(every step, rate η)", color=RED, fontsize=8, ha="center")
    ax.text(5.3, 6.15, "a transfer reads one line of tile n and writes it into tile n − 1 as a pulsed\n"
                       "rank-1 update with rate β (open loop: no reset, no threshold, no digital buffer)",
            ha="center", fontsize=8.5)

    targets = -1.0 + torch.randint(0, 2**16, (32,), generator=torch.Generator().manual_seed(0)).to(
        torch.float64) * (2.0 / (2**16 - 1))
    steps, every, k = 12000, 10, 301
    err3, parts_all, preset = toy_run(3, targets, steps, every)
    # show a cell whose coarsest tile took part (tile 0 moves rarely: its transfers have the smallest rate)
    moved = np.nonzero(np.abs(parts_all[-1, 0]) > 0.2)[0]
    row = int(moved[0]) if len(moved) else 0
    parts = parts_all[:, :, row]
    err1, _, _ = toy_run(1, targets, steps)
    algo = preset.config.algorithm

    ax2 = fig.add_axes([0.52, 0.53, 0.46, 0.4])
    t = np.arange(0, steps, every)
    colors = [GREEN, BLUE, ORANGE]
    for n in range(parts.shape[1]):
        ax2.plot(t, parts[:, n], color=colors[n], lw=0.6, alpha=0.3)
        ax2.plot(t[k // every:] , moving_average(parts[:, n], k // every + 1)[: len(t) - k // every],
                 color=colors[n], lw=1.6, label=f"γ{'⁰¹²'[n]}·W⁽{n}⁾")
    total = parts.sum(1)
    ax2.plot(t[k // every:], moving_average(total, k // every + 1)[: len(t) - k // every], color="k", lw=1.8,
             label="W̄ = sum")
    ax2.axhline(float(targets[row]), color=RED, ls="--", lw=1, label=f"target {float(targets[row]):.3f}")
    ax2.set_ylim(-1.15, 1.15)
    ax2.set_ylabel(f"weight (cell {row})")
    ax2.set_xticklabels([])
    ax2.legend(fontsize=7.5, loc="lower right", ncol=5)
    t1, t2 = (int(v) for v in algo.periods()[1:])
    ax2.set_title(f"3 tiles, γ = {algo.gammas()[1]:g}, T₁ = {t1}, T₂ = {t2} steps; noise-free 4-state "
                  f"SoftBounds (faint: raw, bold: {k}-step mean)", fontsize=8.5)

    ax3 = fig.add_axes([0.52, 0.1, 0.46, 0.36])
    for err, name, color in ((err1, "analog SGD, 1 tile", GREY), (err3, "residual learning, 3 tiles", "k")):
        m = moving_average(err.mean(1), k)
        ax3.plot(np.arange(k - 1, steps), m, color=color, lw=1.4,
                 label=f"{name}: {err[steps // 2:].mean():.3f} over the second half")
    ax3.set_yscale("log")
    ax3.set_ylim(top=0.5)
    ax3.set_xlabel("step")
    ax3.set_ylabel("(W̄ − b)²")
    ax3.legend(fontsize=7.5, loc="upper right", ncol=2)
    ax3.set_title(f"squared error, mean of 32 cells with random targets ({k}-step mean)", fontsize=8.5)
    fig.savefig(out / "guide_residual_learning.png", dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=pathlib.Path, default=HERE, help="output directory (default: docs/figures)")
    parser.add_argument("--only", nargs="*", choices=("read_path", "staircase", "pulsed_update", "residual_learning"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for name in args.only or ("read_path", "staircase", "pulsed_update", "residual_learning"):
        start = time.perf_counter()
        globals()[name](args.out)
        print(f"{name}: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
