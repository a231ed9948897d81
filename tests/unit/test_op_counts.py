"""Operation counters of the tile runtimes: every counter of a hand-worked run, zero cost when off,
exact across checkpoint and resume, the counting context, and the per-sample OpCounts of a run.

The hand-worked case (hardware-cost.md §8 "a 2 × 3 tile, two steps, known transfers"): residual
learning with 3 tiles of 2 × 3 cells, γ = 0.5, deterministic pulses (``mean_count``) on a noise-free
constant-step device, a noise-free forward read that saturates on purpose, transfer periods of one
mini-batch (tile 2 → 1) and two mini-batches (tile 1 → 0), and a perfect transfer read.

Spec: hardware-cost.md §8; analog-tile.md §1.3 (bound management), §2.3, §2.7 (mean_count), §2.9;
algorithms.md §1, §3.
"""
from __future__ import annotations

import pytest
import torch

import xbarsim
from xbarsim import IOConfig, TileConfig, UpdateConfig, cost, devices
from xbarsim.algorithms import MixedPrecision, ResidualLearning, TikiTakaV2, make_tile
from xbarsim.tile.op_counts import OP_COUNT_NAMES

EPS = 0.125  # dw_min: every pulse moves a weight by exactly ±EPS (no variation, no noise)
DEVICE = devices.ConstantStep(dw_min=EPS, dw_min_dtod=0.0, dw_min_std=0.0, w_min=-4.0, w_max=4.0, w_min_dtod=0.0,
                              w_max_dtod=0.0, up_down_dtod=0.0)
LR = 0.5  # η = fast_lr·lr = 0.5 = EPS·BL with BL = 4: A = B = 1, so c = rint(4|v|) (§2.3, §2.7)
TRANSFER_LR = 16.0  # β = 16·0.5 = 8 = 64·EPS·BL_t with BL_t = 1: A = B = 8, c = 1 wherever |y| ≥ EPS

# Step 1 and step 2: every x and d has max |.| = 1, so update management leaves A = B = 1
# (k = η·1·1/ε = 4 = desired_bl) while counting its in + out = 5 operations per vector.
X = [torch.tensor([[1.0, 0.5, 0.0], [0.5, 1.0, 1.0]]), torch.tensor([[1.0, 1.0, 0.5], [0.5, 0.5, 1.0]])]
D = [torch.tensor([[1.0, -0.5], [-1.0, 0.0]]), torch.tensor([[0.5, 1.0], [1.0, 1.0]])]
W0 = torch.tensor([[3.0, 0.0, 0.0], [0.0, 0.0, 0.0]])  # programmed W̄: output 0 saturates out_bound = 1


def hand_config(**changes) -> TileConfig:
    algo = ResidualLearning(
        n_tiles=3, gamma=0.5, transfer_every=(0.0, 2.0, 1.0), transfer_lr=TRANSFER_LR,
        transfer_io=IOConfig(is_perfect=True),
        transfer_update=UpdateConfig(pulse_type="mean_count", desired_bl=1, update_bl_management=False,
                                     update_management=False))
    cfg = TileConfig(
        forward=IOConfig(out_noise=0.0, out_bound=1.0, inp_res=-1.0, out_res=-1.0),  # abs_max, iterative BM
        update=UpdateConfig(pulse_type="mean_count", desired_bl=4, update_bl_management=False,
                            update_management=True),
        device_model=DEVICE, algorithm=algo, count_ops=True)
    return cfg.replace(**changes)


def hand_tile(config: TileConfig | None = None):
    tile = make_tile(2, 3, hand_config() if config is None else config, seed=3)
    tile.set_weights(W0)
    return tile


def train_step(tile, k: int) -> None:
    tile.forward(X[k])
    tile.backward(D[k])
    tile.update(X[k], D[k], LR)


# Every count of the two steps, derived by hand.
#
# Reads. Forward (abs_max noise management, a = 1 for every vector; out_bound 1, no DAC/ADC steps):
# step 1, x = (1, .5, 0): y0 = 3 → 1.5 (r = 2) → 0.75 (r = 4): 3 rounds; x = (.5, 1, 1): y0 = 1.5 → 0.75:
# 2 rounds. Step 2 (W̄ moved by a few ε·γ): y0 = 3.0 and 1.59: again 3 and 2 rounds. So per step 2 vectors,
# 5 MVMs (rounds 2, 2, 1), 3 re-reads. Backward: 2 MVMs per step. Transfers: 1 read in step 1, 2 in step 2.
#   DAC = 2·(5·3 + 2·2) + 3·3 = 47      ADC = 2·(5·2 + 2·3) + 3·2 = 38
#   flops_io: forward 2·(2·3 + 2) + 3·(3 + 2) = 31 per step, backward 2·(2·2 + 3) = 14 per step → 90
# Gradient pulses (mean_count, BL 4, A = B = 1, c = rint(4|v|), n = rint(c_i c_j / 4), η > 0: n > 0 → down):
#   step 1 v1 c_x (4,2,0) c_d (4,−2): n (4,2,0 | −2,−1,0) → in 6 out 6 down 6 up 3
#          v2 c_x (2,4,4) c_d (−4,0): n (−2,−4,−4 | 0,0,0) → in 10 out 4 up 10
#   step 2 v1 c_x (4,4,2) c_d (2,4):  n (2,2,1 | 4,4,2)    → in 10 out 6 down 15
#          v2 c_x (2,2,4) c_d (4,4):  n (2,2,4 | 2,2,4)    → in 8 out 8 down 16
#   gradient: in 34, out 24, up 13, down 37, slots 4·4 = 16
#   W2 (gradient tile, units ε): after step 1 (−2, 2, 4 | 2, 1, 0); after step 2 (−6, −2, −1 | −4, −5, −6)
# Transfers (perfect read y = W_src[:, line]; x_w = e_line, d_w = −y; BL_t = 1, A = B = 8: c = 1 where y ≠ 0;
#   y < 0 → down, y > 0 → up; one slot per write):
#   end of step 1: 2 → 1, line 0: y = (−2ε, 2ε) → tile 1 col 0 gets down 1, up 1 (W1 col 0 = (−1, 1)ε)
#   end of step 2: 2 → 1, line 1: y = W2[:, 1] = (−2ε, −5ε) → down 2 (W1 col 1 = (−1, −1)ε)
#                  1 → 0, line 0: y = W1[:,0] = (−ε, ε) → down 1, up 1
#   transfer: in 3, out 6, down 4, up 2, slots 3
# Digital operations: update management 5 per gradient vector → 20 (transfer writes unmanaged: 0);
# W̄ = Σ γ_n W⁽ⁿ⁾ over 3 tiles costs (2·3 − 1)·6 = 30 per recomputation: construction, set_weights and
# two updates → 120.
HAND = {
    "forward_vectors": 4, "forward_mvms": 10, "backward_mvms": 4, "transfer_reads": 3,
    "dac_conversions": 47, "adc_conversions": 38, "update_calls": 2, "update_vectors": 4, "max_update_vectors": 2,
    "transfer_events": 3, "transfer_lines": 3, "flops_io": 90, "flops_update": 20, "flops_buffer": 0, "flops_mp": 0,
    "flops_reduce": 120, "digital_state_updates": 0,
    "gradient_input_pulses": 34, "gradient_output_pulses": 24, "gradient_coincidences_up": 13,
    "gradient_coincidences_down": 37, "gradient_pulse_slots": 16,
    "transfer_input_pulses": 3, "transfer_output_pulses": 6, "transfer_coincidences_up": 2,
    "transfer_coincidences_down": 4, "transfer_pulse_slots": 3,
    "stored_vectors": 5, "stored_buffer": 0, "stored_choppers": 0, "stored_chi": 0, "stored_elements": 5,
    "blocks": 1, "tiles_read": 3, "out_size": 2, "in_size": 3,
}


def test_hand_worked_two_steps_every_counter():
    tile = hand_tile()
    for k in range(2):
        train_step(tile, k)
    got = cost.counts(tile)
    assert set(got["layers"]) == {"tile"}
    assert got["layers"]["tile"] == HAND
    assert got["total"] == HAND
    # The weights the derivation went through (units of ε).
    w = torch.round(tile.get_tile_weights() / EPS).to(torch.int64)
    assert w[2].tolist() == [[-6, -2, -1], [-4, -5, -6]]
    assert w[1].tolist() == [[-1, -1, 0], [1, -1, 0]]
    assert w[0].tolist() == [[23, 0, 0], [1, 0, 0]]  # W0/γ0 = 3 = 24ε, then the transfer's down 1, up 1


def test_counts_survive_checkpoint_and_resume():
    straight = hand_tile()
    for k in range(2):
        train_step(straight, k)
    first = hand_tile()
    train_step(first, 0)
    state = first.state_dict()
    assert "op_counts" in state
    resumed = make_tile(2, 3, hand_config(), seed=3)
    resumed.load_state_dict(state)
    train_step(resumed, 1)
    assert cost.counts(resumed) == cost.counts(straight)
    assert torch.equal(resumed.op_counts, straight.op_counts)


def test_counting_off_allocates_and_touches_nothing():
    cfg = hand_config(count_ops=False)
    tile = hand_tile(cfg)
    for k in range(2):
        train_step(tile, k)
    state = tile.state_dict()
    assert not any("op_counts" in key for key in state)
    assert tile.op_counts is None and not tile.counting
    for t in tile.tiles:
        assert t.op_counts is None
        assert int(t.pulse_counters.abs().sum()) == 0  # the native ops never counted
    with pytest.raises(ValueError, match="counts: model must hold a counting tile runtime"):
        cost.counts(tile)


def test_counting_context_equals_count_ops_and_leaves_no_state():
    counted = hand_tile()
    plain = hand_tile(hand_config(count_ops=False))
    train_step(counted, 0)
    train_step(plain, 0)
    before = cost.counts(counted)
    with cost.counting(plain) as c:
        assert plain.counting
        train_step(plain, 1)
        inside = c.counts()
    train_step(counted, 1)
    expected = cost.diff_counts(cost.counts(counted), before)
    assert inside == expected == c.counts()
    assert inside["total"]["transfer_events"] == 2 and inside["total"]["update_vectors"] == 2
    assert plain.op_counts is None and "op_counts" not in plain.state_dict()
    # count_ops tiles keep counting inside a context; the context reports only its own share
    with cost.counting(counted) as c2:
        train_step(counted, 0)
    assert c2.counts()["total"]["update_calls"] == 1
    assert cost.counts(counted)["total"]["update_calls"] == 3


def test_context_counters_follow_to_and_stay_on_the_host():
    tile = make_tile(2, 3, TileConfig(algorithm=ResidualLearning(n_tiles=2, gamma=0.5)), seed=1)
    with cost.counting(tile) as c:
        tile.to(torch.float64)
        assert tile.op_counts.device.type == "cpu" and tile.op_counts.dtype == torch.int64
        tile.forward(torch.rand(3, 3, dtype=torch.float64))
    assert c.counts()["total"]["forward_vectors"] == 3


def test_sgd_tile_counts_reads_updates_and_pulses():
    cfg = TileConfig(update=UpdateConfig(pulse_type="mean_count", desired_bl=4, update_bl_management=False),
                     device_model=DEVICE, count_ops=True)
    tile = xbarsim.AnalogTile(2, 3, cfg, seed=0)
    tile.forward(X[0])
    tile.update(X[0], D[0], LR)
    got = cost.counts(tile)["total"]
    assert got["gradient_input_pulses"] == 16 and got["gradient_coincidences_up"] == 13
    assert got["gradient_coincidences_down"] == 6 and got["gradient_pulse_slots"] == 8
    assert got["transfer_pulse_slots"] == 0 and got["flops_update"] == 10 and got["flops_reduce"] == 0
    # default forward IO: abs_max noise management, 2 vectors, no saturation: 2·(2·3 + 2) operations
    assert got["forward_mvms"] == 2 and got["flops_io"] == 16 and got["tiles_read"] == 1
    assert tile.pulse_counts()["pulse_slots"] == 8


def test_ttv2_counts_buffer_work_and_thresholded_writes():
    algo = TikiTakaV2(transfer_every=1.0)
    tile = make_tile(2, 3, TileConfig(algorithm=algo, count_ops=True), seed=2)
    x, d = torch.rand(4, 3), torch.rand(4, 2)
    tile.update(x, d, 0.01)
    tile.update(x, d, 0.01)
    got = cost.counts(tile)["total"]
    # one line read per mini-batch; H holds (n_tiles − 1)·out·in = 6; forget_buffer: 4 ops per element
    assert got["transfer_events"] == 2 and got["transfer_reads"] == 2
    assert got["flops_buffer"] == 2 * 2 * 4 and got["digital_state_updates"] == 4
    assert got["stored_buffer"] == 6 and got["stored_elements"] == 5 + 6
    # BL_t = 1: each write uses one slot when some |n| ≥ 1, none when H stays below the threshold
    assert 0 <= got["transfer_pulse_slots"] <= 2


def test_mp_counts_chi_and_row_transfers():
    tile = make_tile(2, 3, TileConfig(algorithm=MixedPrecision(), count_ops=True), seed=2)
    tile.update(torch.rand(4, 3), torch.rand(4, 2), 0.1)
    got = cost.counts(tile)["total"]
    # χ += (lr·d)xᵀ: 4·(2 + 2·2·3) = 56; one transfer of both rows: 2·3·3 = 18
    assert got["flops_mp"] == 56 + 18 and got["transfer_events"] == 1 and got["transfer_lines"] == 2
    assert got["digital_state_updates"] == 6 + 6
    assert got["flops_update"] == 2 * (3 + 2)  # the row writes run with update management
    assert got["stored_chi"] == 6 and got["stored_vectors"] == (3 + 2) * 4
    assert got["gradient_pulse_slots"] == 0  # MP's tile receives only the row transfers


def test_layer_counts_sum_blocks_and_skip_replays():
    cfg = TileConfig(count_ops=True)
    mapping = xbarsim.MappingConfig(max_in_size=3)
    layer = xbarsim.nn.AnalogLinear(5, 2, bias=False, config=cfg, mapping=mapping)
    x = torch.rand(4, 5, requires_grad=True)
    layer(x).sum().backward()
    got = cost.counts(layer)["layers"]["layer"]
    assert got["blocks"] == 2 and got["in_size"] == 5 and got["out_size"] == 2
    assert got["forward_vectors"] == 8 and got["backward_mvms"] == 8  # 4 vectors through each block
    assert got["dac_conversions"] == 4 * 5 + 4 * 2 * 2 and got["adc_conversions"] == 4 * 2 * 2 + 4 * 5
    before = cost.counts(layer)
    y = torch.utils.checkpoint.checkpoint(layer, x, use_reentrant=False)
    y.sum().backward()  # the recomputed forward replays: not counted again
    after = cost.counts(layer)["layers"]["layer"]
    assert after["forward_vectors"] - before["layers"]["layer"]["forward_vectors"] == 8


def test_measured_op_counts_per_sample():
    tile = hand_tile()
    for k in range(2):
        train_step(tile, k)
    oc = cost.measured_op_counts(cost.counts(tile)["total"])
    assert oc.source == "run"
    assert oc.pulse_slots == (16 + 3) / 4 and oc.transfer_reads == 3 / 4 and oc.fp_ops == 20 / 4
    assert oc.forward_reads == 10 / 4 * 3 and oc.backward_reads == 4 / 4 * 3 and oc.stored_elements == 5
    assert oc.memory_bits == 0


def test_old_four_entry_pulse_counters_load():
    tile = xbarsim.AnalogTile(2, 3)
    state = tile.state_dict()
    state["pulse_counters"] = torch.tensor([1, 2, 3, 4])
    tile.load_state_dict(state)
    assert tile.pulse_counts() == dict(input_pulses=1, output_pulses=2, coincidences_up=3, coincidences_down=4,
                                       pulse_slots=0)


def test_op_count_names_are_one_table():
    assert len(set(OP_COUNT_NAMES)) == len(OP_COUNT_NAMES)
    assert set(OP_COUNT_NAMES) < set(cost.COUNT_KEYS)
