"""The aihwkit configurations the validation uses, and the recorder of their dumps.

``configs()`` builds named aihwkit RPUConfigs (needs aihwkit). Run as a script, it records their
dumps (``xbarsim.compat.aihwkit.dump``) into tests/data/aihwkit_1.2.0_configs.json, so that the compat
tests can convert real aihwkit field sets where aihwkit is not installed:

    validation/.venv-aihwkit/bin/python validation/aihwkit_configs.py

Exits 0 with a message when aihwkit is not importable.
"""
from __future__ import annotations

import json
import pathlib
import sys

OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data" / "aihwkit_1.2.0_configs.json"


def paper_softbounds(n_states: int = 4, **kw):
    """The paper's device in aihwkit terms: SoftBounds on [-1, 1], dw_min = 2/n, no variation."""
    from aihwkit.simulator.configs import SoftBoundsDevice
    args = dict(dw_min=2.0 / n_states, w_min=-1.0, w_max=1.0, dw_min_dtod=0.0, dw_min_std=0.0, w_min_dtod=0.0,
                w_max_dtod=0.0, up_down_dtod=0.0)
    args.update(kw)
    return SoftBoundsDevice(**args)


def configs() -> dict:
    from aihwkit.simulator.configs import (BufferedTransferCompound, ChoppedTransferCompound,
                                           ConstantStepDevice, DigitalRankUpdateRPUConfig, ExpStepDevice,
                                           IOParameters, LinearStepDevice, MixedPrecisionCompound,
                                           PiecewiseStepDevice, PowStepDevice, SingleRPUConfig, SoftBoundsDevice,
                                           SoftBoundsPmaxDevice, SoftBoundsReferenceDevice, TransferCompound,
                                           UnitCellRPUConfig)
    from aihwkit.simulator.parameters.enums import NoiseManagementType

    perfect = dict(forward=IOParameters(is_perfect=True), backward=IOParameters(is_perfect=True))
    out = {
        "single_default": SingleRPUConfig(),
        "single_constant_step": SingleRPUConfig(device=ConstantStepDevice(dw_min=0.01)),
        "single_linear_step": SingleRPUConfig(device=LinearStepDevice(gamma_up=0.1, gamma_down=0.2)),
        "single_soft_bounds": SingleRPUConfig(device=SoftBoundsDevice()),
        "single_soft_bounds_pmax": SingleRPUConfig(device=SoftBoundsPmaxDevice(p_max=100, alpha=0.01)),
        "single_soft_bounds_reference": SingleRPUConfig(device=SoftBoundsReferenceDevice(reference_std=0.05)),
        "single_exp_step": SingleRPUConfig(device=ExpStepDevice()),
        "single_pow_step": SingleRPUConfig(device=PowStepDevice(pow_gamma=2.0)),
        "single_piecewise_step": SingleRPUConfig(device=PiecewiseStepDevice(piecewise_up=[1.2, 1.0, 0.8],
                                                                            piecewise_down=[0.8, 1.0, 1.2])),
        "single_paper_perfect": SingleRPUConfig(device=paper_softbounds(4), **perfect),
        "single_io_grid_example": SingleRPUConfig(forward=IOParameters(
            inp_res=1 / 254, out_res=1 / 1022, out_noise=0.0, noise_management=NoiseManagementType.MAX,
            nm_thres=0.5)),
        "ttv1_default": UnitCellRPUConfig(device=TransferCompound(
            unit_cell_devices=[SoftBoundsDevice(), SoftBoundsDevice()])),
        "resl_4_gamma_vec": UnitCellRPUConfig(device=TransferCompound(
            unit_cell_devices=[paper_softbounds(4)] * 4,
            gamma_vec=[0.125, 0.25, 0.5, 1.0], transfer_every_vec=[2.0, 10.0, 50.0, 0.0],
            transfer_lr_vec=[0.1 * 1.2 ** 3, 0.1 * 1.2 ** 2, 0.1 * 1.2, 0.1], fast_lr=1.0, scale_fast_lr=False,
            scale_transfer_lr=False, transfer_forward=IOParameters(is_perfect=True)), **perfect),
        "resl_2_own_gradient_device": UnitCellRPUConfig(device=TransferCompound(
            unit_cell_devices=[paper_softbounds(16), paper_softbounds(4)], gamma=0.5, transfer_every=2.0)),
        "ttv2_default": UnitCellRPUConfig(device=BufferedTransferCompound(
            unit_cell_devices=[SoftBoundsDevice(), SoftBoundsDevice()])),
        "cttv2_default": UnitCellRPUConfig(device=ChoppedTransferCompound(
            unit_cell_devices=[SoftBoundsDevice(), SoftBoundsDevice()])),
        "mp_default": DigitalRankUpdateRPUConfig(device=MixedPrecisionCompound(device=SoftBoundsDevice())),
    }
    return out


def main() -> int:
    try:
        import aihwkit
    except ImportError:
        print("aihwkit is not importable: nothing recorded (build it with validation/aihwkit-env.sh)")
        return 0
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "python"))
    from xbarsim.compat.aihwkit import dump
    data = {"aihwkit_version": aihwkit.__version__,
            "configs": {name: dump(cfg) for name, cfg in configs().items()}}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"recorded {len(data['configs'])} aihwkit {aihwkit.__version__} configs into {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
