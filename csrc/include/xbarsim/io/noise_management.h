// Noise management: the per-vector scale a, the input scale sigma of a bound-management round, the
// short cut and the final rescale factor. Spec: analog-tile.md §1.3 steps 1, 2 and 8, §1.4.
// Invariants: pure, host and device, templated on float/double; no random draws. Row statistics are
// maxima, which are exact in any reduction order, so CPU and CUDA agree bit for bit (NaN included).
#pragma once

#include <cstdint>

#include "xbarsim/core/host_device.h"
#include "xbarsim/math/abs_max.h"

namespace xbarsim {

// Values equal the Python Literal strings in order (xbarsim.config.io.NOISE_MANAGEMENT_TYPES).
enum class NoiseManagement : int32_t { kNone = 0, kAbsMax = 1, kMax = 2, kConstant = 3, kAverageAbsMax = 4 };

// The row statistic a mode needs: max_j |x_j| (abs_max, average_abs_max), max_j x_j (max), none.
XB_HD XB_INLINE bool nm_uses_signed_max(NoiseManagement nm) { return nm == NoiseManagement::kMax; }
XB_HD XB_INLINE bool nm_needs_row_stat(NoiseManagement nm) {
  return nm == NoiseManagement::kAbsMax || nm == NoiseManagement::kMax ||
         nm == NoiseManagement::kAverageAbsMax;
}

template <typename T>
XB_HD XB_INLINE T nm_stat_init(NoiseManagement nm) {
  // -inf for the signed max: an all-negative row must keep its negative maximum.
  return nm_uses_signed_max(nm) ? -static_cast<T>(INFINITY) : T(0);
}

// One element into a thread's running statistic. The |x| modes fold with abs_max (math/abs_max.h): a
// NaN wins, on the host and on the device alike. The signed max ignores NaN on both sides (a NaN
// compares false), and its -0/+0 order dependence is removed by nm_scale.
template <typename T>
XB_HD XB_INLINE T nm_stat_accumulate(NoiseManagement nm, T acc, T x) {
  if (!nm_uses_signed_max(nm)) return abs_max(acc, x);
  return x > acc ? x : acc;
}

// Two threads' statistics combined (the CUDA block reduction, the host's lane emulation).
template <typename T>
XB_HD XB_INLINE T nm_stat_combine(NoiseManagement nm, T a, T b) {
  if (!nm_uses_signed_max(nm)) return abs_max(a, b);
  return b > a ? b : a;
}

// The row statistic over a whole row, for the CPU loops (the CUDA kernels reduce nm_stat_accumulate
// over threads and combine with nm_stat_combine; both are exact in any order, so both sides agree).
template <typename T>
inline T nm_row_stat(NoiseManagement nm, const T* x, int64_t n) {
  T stat = nm_stat_init<T>(nm);
  if (!nm_needs_row_stat(nm)) return stat;
  if (nm_uses_signed_max(nm)) {
    for (int64_t j = 0; j < n; ++j) stat = nm_stat_accumulate(nm, stat, x[j]);
    return stat;
  }
  return abs_max_of(x, n);
}

// Step 1 for the stateless modes: a from the row statistic (nm_thres_eff caps abs_max and max and is
// the scale of constant; 0 means no cap / scale 1). Not used for average_abs_max (see below).
template <typename T>
XB_HD XB_INLINE T nm_scale(NoiseManagement nm, T stat, T nm_thres_eff) {
  // A zero maximum may come out as -0 or +0 depending on the reduction order (max(-0, +0)); adding
  // +0 gives +0 for both, so the stored scale does not depend on the device.
  stat = stat + T(0);
  switch (nm) {
    case NoiseManagement::kAbsMax:
    case NoiseManagement::kMax:
      return (nm_thres_eff > T(0) && stat > nm_thres_eff) ? nm_thres_eff : stat;
    case NoiseManagement::kConstant:
      return nm_thres_eff > T(0) ? nm_thres_eff : T(1);
    default:
      return T(1);
  }
}

// average_abs_max, one vector: the first vector (state < 0 means "not initialised") sets the running
// maximum, later ones discount it: m <- (1 - decay) m + decay max_j |x_j|. Applied in sample order.
// nm_running_step is the same update with its two chain-independent operands, keep = 1 - decay and
// decayed = decay * max_j |x_j|, computed beforehand (the CUDA scan computes them in parallel and
// keeps only the compare, multiply and add on its serial chain): the same operations, the same bits.
template <typename T>
XB_HD XB_INLINE T nm_running_step(T state, T abs_max, T keep, T decayed) {
  return state < T(0) ? abs_max : keep * state + decayed;
}

template <typename T>
XB_HD XB_INLINE T nm_running_update(T state, T abs_max, T decay) {
  return nm_running_step(state, abs_max, T(1) - decay, decay * abs_max);
}

// Short cut (§1.3 step 1, §1.4): with noise management on and a <= 0 the output is exactly zero;
// forward only when there is no input noise, backward always.
template <typename T>
XB_HD XB_INLINE bool nm_short_cut(NoiseManagement nm, T a, T inp_noise, bool backward) {
  return nm != NoiseManagement::kNone && a <= T(0) && (backward || inp_noise <= T(0));
}

// Step 2: the input scale sigma = 1/a (a with noise management on and a > 0), then sigma / r (r
// with bound management on), in this order and in the working precision, as analog-tile.md §1.3
// writes it and as aihwkit computes it (scale /= a; scale /= r; value *= scale). The DAC then forms
// sigma * x_j. This decides exact rounding ties: at r = 2 the largest input lands on 0.5 (63.5 steps
// of an 8-bit DAC), and fl(a·fl(1/a)) is 1 or 1 - 2^-24, so the level is 64 or 63 as 1/a rounds.
// Dividing x_j by (a r) instead always gives 0.5 and 64, which differed from aihwkit 1.2.0 on 12 % of
// such vectors (validation/level1_read_path.py, docs/validation.md); this order agrees on all.
// When 1/a overflows (a below ~2^-128) sigma is not finite and the DAC divides by (a r) instead, so
// that no input becomes inf or NaN.
template <typename T>
struct InputScale {
  T sigma;    // multiply by this when use_sigma
  T divisor;  // a r: the fallback when 1/a overflows
  bool use_sigma;
};

template <typename T>
XB_HD XB_INLINE InputScale<T> nm_input_scale(NoiseManagement nm, T a, bool bm_on, T r) {
  InputScale<T> sc{T(1), T(1), true};
  if (nm != NoiseManagement::kNone && a > T(0)) {
    sc.sigma = T(1) / a;
    sc.divisor = a;
  }
  if (bm_on) {
    sc.sigma = sc.sigma / r;
    sc.divisor = sc.divisor * r;
  }
  sc.use_sigma = sc.sigma * T(0) == T(0);  // false for inf (inf * 0 is NaN)
  return sc;
}

// Step 8: out_scale * alpha (= gain) * (a if noise management on and a > 0) * (r if bound management
// on). The product (a * r) is exact in r; the gain is applied last.
template <typename T>
XB_HD XB_INLINE T io_rescale_factor(NoiseManagement nm, T a, bool bm_on, T r, T gain) {
  T f = (nm != NoiseManagement::kNone && a > T(0)) ? a : T(1);
  if (bm_on) f = f * r;
  return f * gain;
}

}  // namespace xbarsim
