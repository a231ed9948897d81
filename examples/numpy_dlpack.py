"""Calling xbarsim's kernels from NumPy through DLPack (no torch code on the caller's side).

``xbarsim.ops.dlpack.analog_mvm`` takes any array that implements ``__dlpack__`` (NumPy ≥ 1.22,
CuPy, JAX, ...) without copying and returns a torch tensor, which NumPy takes back with
``np.from_dlpack`` (no copy either). ``xbarsim.ops.dlpack.as_torch`` gives a zero-copy view of an
array for the other ops, so the pulsed update writes straight into a NumPy weight matrix.
See docs/interop.md.

The script: (1) an exact read checked against ``x @ W.T``; (2) a noisy read, reproducible from
(seed, call); (3) a backward read whose noise-management state lives in a NumPy array; (4) a
linear regression learnt from a NumPy loop (noisy analog reads; weights in NumPy memory, updated
in place exactly and by pulse trains on a 64-state device).

    python examples/numpy_dlpack.py          # about 3 s
    python examples/numpy_dlpack.py --tiny   # a second plus imports (what the tests run); also XBARSIM_EXAMPLE_TINY=1
"""
import argparse
import os

import numpy as np

import xbarsim
from xbarsim.ops import dlpack as xb


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", default=bool(os.environ.get("XBARSIM_EXAMPLE_TINY")),
                        help="fewer training steps")
    args = parser.parse_args(argv)
    steps = 20 if args.tiny else 300

    rng = np.random.default_rng(0)
    W = (rng.standard_normal((16, 32)) * 0.1).astype(np.float32)      # W[out, in], float32 C-contiguous
    x = rng.uniform(-1, 1, (8, 32)).astype(np.float32)                # 8 input vectors

    # (1) exact read: y = W x
    y = np.from_dlpack(xb.analog_mvm(x, W, xbarsim.IOConfig(is_perfect=True)))
    print("exact read matches x @ W.T:", np.allclose(y, x @ W.T, atol=1e-6))

    # (2) the default non-ideal read (7-bit DAC, 9-bit ADC, output noise, noise and bound management);
    # every random draw is addressed by (seed, call, element), so the same call gives the same bits
    io = xbarsim.IOConfig()
    y1 = np.from_dlpack(xb.analog_mvm(x, W, io, seed=7, call=0))
    y2 = np.from_dlpack(xb.analog_mvm(x, W, io, seed=7, call=0))
    y3 = np.from_dlpack(xb.analog_mvm(x, W, io, seed=7, call=1))
    print(f"noisy read: rms error {np.sqrt(np.mean((y1 - x @ W.T) ** 2)):.4f}; same (seed, call) identical: "
          f"{np.array_equal(y1, y2)}; next call differs: {not np.array_equal(y1, y3)}")

    # (3) backward read z = Wᵀ d with average_abs_max noise management: its running maximum is
    # state that the kernel updates in place, here in NumPy memory
    d = rng.standard_normal((8, 16)).astype(np.float32)
    nm_state = np.full(1, -1.0, np.float32)                            # -1: not initialised yet
    z = np.from_dlpack(xb.analog_mvm(d, W, xbarsim.IOConfig(noise_management="average_abs_max"),
                                     transpose=True, seed=7, call=2, nm_state=nm_state))
    print(f"backward read: z {z.shape}, running maximum written into the NumPy array: {nm_state[0]:.3f}")

    # (4) learn W_target from NumPy: noisy read, error, update in place. Two copies of the weights:
    # one updated exactly (pulse_type="none": W -= lr·dᵀx in floating point), one by stochastic pulse
    # trains on a 64-state soft-bounds device (30 % device-to-device and cycle-to-cycle variation)
    device_model = xbarsim.presets.PaperSoftBounds(64)
    cells = xbarsim.ops.populate_device(device_model, 16, 32, seed=1)  # device-to-device draws (torch tensors)
    updates = {"exact": xbarsim.UpdateConfig(pulse_type="none"), "pulsed": xbarsim.UpdateConfig()}
    W_target = (rng.standard_normal((16, 32)) * 0.3).astype(np.float32)
    weights = {name: np.zeros((16, 32), np.float32) for name in updates}
    views = {name: xb.as_torch(w) for name, w in weights.items()}    # views: updates land in the arrays
    errors = {}
    for step in range(steps):
        x_b = rng.uniform(-1, 1, (8, 32)).astype(np.float32)
        for name, update in updates.items():
            y = np.from_dlpack(xb.analog_mvm(x_b, weights[name], io, seed=1, call=2 * step))
            err = (y - x_b @ W_target.T).astype(np.float32)           # dL/dy of 0.5·||y − W* x||²
            xbarsim.ops.pulsed_update(views[name], xb.as_torch(x_b), xb.as_torch(err), 0.03, update=update,
                                      device_model=device_model, cells=cells, seed=1, call=2 * step + 1)
            errors[name] = np.linalg.norm(weights[name] - W_target) / np.linalg.norm(W_target)
        if step % max(steps // 5, 1) == 0 or step == steps - 1:
            print(f"step {step:4d}: ||W − W*||/||W*||  exact update {errors['exact']:.3f}   "
                  f"pulsed, 64 states {errors['pulsed']:.3f}")
    # The pulsed copy stalls where the device's step and asymmetry meet the gradient noise, the
    # few-state problem that the multi-tile algorithms address (examples/compare_algorithms.py).
    return errors

if __name__ == "__main__":
    main()
