// The pulsed-update configuration as it crosses into the native core: one field per UpdateConfig
// field, same names. Spec: analog-tile.md §2.1. Invariants: POD, no defaults (defaults live only in
// the Python dataclass), no behaviour beyond pure helpers.
#pragma once

#include <cstdint>

#include "xbarsim/core/host_device.h"

namespace xbarsim {

// UpdateConfig.pulse_type. "stochastic" is aihwkit's name for the same bit-line scheme and is
// handled exactly like "stochastic_compressed" (its own member so that Python's Literal values and
// the bound enum members stay one-to-one).
enum class PulseType : int32_t {
  kStochasticCompressed = 0,
  kStochastic = 1,
  kDeterministicImplicit = 2,
  kMeanCount = 3,
  kNone = 4,
  kNoneWithDevice = 5,
};

XB_HD XB_INLINE bool is_stochastic(PulseType t) {
  return t == PulseType::kStochasticCompressed || t == PulseType::kStochastic;
}
XB_HD XB_INLINE bool is_pulsed(PulseType t) {
  return is_stochastic(t) || t == PulseType::kDeterministicImplicit || t == PulseType::kMeanCount;
}

// Largest pulse-train length accepted (desired_bl, or ceil(|lr|/eps) without management). It bounds
// the bit-line words per line (64) and so the shared memory of the CUDA update kernel.
constexpr int32_t kMaxBL = 4096;

// The UpdateConfig fields as one X-macro table, X(type, name) in dataclass order: declared below and
// bound by csrc/bindings/update_ops.cpp from the same table (tests/unit/test_native_fields.py).
#define XB_UPDATE_FIELDS(X)     \
  X(int32_t, desired_bl)        \
  X(bool, fixed_bl)             \
  X(bool, update_bl_management) \
  X(bool, update_management)    \
  X(double, um_grad_scale)      \
  X(PulseType, pulse_type)      \
  X(double, res)                \
  X(bool, sto_round)            \
  X(double, x_res_implicit)     \
  X(double, d_res_implicit)     \
  X(bool, count_pulses)

struct UpdateArgs {
#define XB_DECLARE_FIELD(type, name) type name;
  XB_UPDATE_FIELDS(XB_DECLARE_FIELD)
#undef XB_DECLARE_FIELD
};

// Indices of the per-tile pulse counters (int64[kNumCounters]), analog-tile.md §2.9.
enum CounterIndex : int32_t {
  kCounterInputPulses = 0,     // pulses fired on input lines, sum over slots and lines
  kCounterOutputPulses = 1,    // pulses fired on output lines
  kCounterCoincidencesUp = 2,  // up pulses applied to cells (weight increases)
  kCounterCoincidencesDown = 3,
  kCounterPulseSlots = 4,      // pulse-train slots, sum of BL over the vectors written (t_sp each)
  kNumCounters = 5,
};

}  // namespace xbarsim
