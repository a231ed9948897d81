// max_j |v_j| as the maximum of the magnitude bit patterns (sign bit cleared), the one definition the
// CPU loops and the CUDA kernels share (noise management, the update's x_max/d_max, transfers).
// Spec: analog-tile.md §1.3 step 1, §2.3 step 1. Invariants: pure, host and device; exact and
// independent of the reduction order. For non-negative IEEE values the unsigned order of the bit
// patterns is the numeric order and every NaN sorts above +inf, so a NaN anywhere makes the maximum
// NaN (the same NaN on both sides: the one with the largest payload); -0 counts as +0. A floating-
// point `a > m ? a : m` would drop NaN, and the integer maximum also vectorises on the CPU, where a
// floating-point one does not without fast-math.
#pragma once

#include <cstdint>

#include "xbarsim/core/host_device.h"
#include "xbarsim/math/exact_math_f64.h"

namespace xbarsim {

XB_HD XB_INLINE uint32_t magnitude_bits(float v) { return float_bits(v) & 0x7fffffffu; }
XB_HD XB_INLINE uint64_t magnitude_bits(double v) { return double_bits(v) & 0x7fffffffffffffffull; }
XB_HD XB_INLINE float from_magnitude_bits(uint32_t m) { return bits_float(m); }
XB_HD XB_INLINE double from_magnitude_bits(uint64_t m) { return bits_double(m); }

// max(|a|, |b|), NaN winning. Accumulate a thread's elements and combine threads with it alike.
template <typename T>
XB_HD XB_INLINE T abs_max(T a, T b) {
  const auto ma = magnitude_bits(a), mb = magnitude_bits(b);
  return from_magnitude_bits(mb > ma ? mb : ma);
}

// max_j |v_j| over j < n (+0 for n = 0): the same value as folding abs_max in any order. The loop
// stays on integers so that the host compiler vectorises it.
template <typename T>
XB_HD XB_INLINE T abs_max_of(const T* v, int64_t n) {
  decltype(magnitude_bits(T(0))) m = 0;
  for (int64_t k = 0; k < n; ++k) {
    const auto a = magnitude_bits(v[k]);
    m = a > m ? a : m;
  }
  return from_magnitude_bits(m);
}

}  // namespace xbarsim
