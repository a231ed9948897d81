// BL, A and B of one vector (update management and BL management), the pulse-train length bound of
// a call, and the pulse probability of one line. Spec: analog-tile.md §2.3, §2.4, §6 #9.
// Invariants: pure, host and device, no random draws of its own. BL/A/B are computed in float64
// whatever the tile dtype (so |lr| x_max d_max cannot overflow); arithmetic is + - * / sqrt ceil.
#pragma once

#include <cstdint>

#include "xbarsim/math/exact_math_f64.h"
#include "xbarsim/update/update_args.h"

namespace xbarsim {

struct BlAb {
  int32_t bl;  // pulse-train length of this vector (0: no update)
  double a;    // scales d: output-line probability q_i = A |d_i|
  double b;    // scales x: input-line probability p_j = B |x_j|
};

// §2.3. x_max = max_j |x_j|, d_max = max_i |d_i| (um_grad_scale is applied here).
XB_HD XB_INLINE BlAb calc_bl_ab(double abs_lr, double eps, int32_t desired_bl, bool fixed_bl, bool bl_management,
                                bool update_management, double um_grad_scale, double x_max, double d_max) {
  BlAb r;
  const double dbl = static_cast<double>(desired_bl);
  // 1. base values
  if (fixed_bl || bl_management) {
    r.bl = desired_bl;
    r.a = r.b = sqrt(abs_lr / (eps * dbl));
  } else if (eps * dbl < abs_lr) {
    const double c = ceil(abs_lr / eps);
    r.bl = c > 1.0 ? static_cast<int32_t>(c) : 1;
    r.a = r.b = 1.0;
  } else {
    r.bl = desired_bl;
    r.a = r.b = sqrt(abs_lr / (eps * dbl));
  }
  // 2. update management is forced on by BL management
  if (!(update_management || bl_management)) return r;
  // 3. nothing to do for an all-zero x or d
  d_max = um_grad_scale * d_max;
  if (!(x_max > 0.0) || !(d_max > 0.0)) {
    r.bl = 0;
    r.a = r.b = 0.0;
    return r;
  }
  // 4. expected coincidences at the largest element
  const double k = abs_lr * x_max * d_max / eps;
  // 5. BL management (k may underflow to 0: keep one slot)
  if (bl_management) {
    const double c = ceil(k);
    r.bl = c < dbl ? (c > 1.0 ? static_cast<int32_t>(c) : 1) : desired_bl;
    r.a = r.b = sqrt(abs_lr / (eps * static_cast<double>(r.bl)));
  }
  // 6. update management: rebalance, clipping d_max when k exceeds desired_bl
  if (k > dbl) d_max = d_max * dbl / k;
  r.a = r.a * sqrt(x_max / d_max);
  r.b = r.b * sqrt(d_max / x_max);
  return r;
}

// The largest BL any vector of a call can get: desired_bl, or ceil(|lr|/eps) in the unmanaged,
// non-fixed case of §2.3 step 1. It fixes the random-number element strides of the call.
XB_HD XB_INLINE int64_t update_bl_max(double abs_lr, double eps, int32_t desired_bl, bool fixed_bl,
                                      bool bl_management) {
  const double dbl = static_cast<double>(desired_bl);
  if (fixed_bl || bl_management || !(eps * dbl < abs_lr)) return desired_bl;
  const double c = ceil(abs_lr / eps);
  return c > 1.0 ? static_cast<int64_t>(c < 9.0e18 ? c : 9.0e18) : 1;
}

// Resolution normalisation (§6 #9, as for IO resolutions): r < 0 -> 0, r > 1 -> 1/r.
XB_HD XB_INLINE double update_res(double r) {
  if (r < 0.0) return 0.0;
  if (r > 1.0) return 1.0 / r;
  return r;
}

// D(|v| * scale) of §2.4: the probability itself (res <= 0) or its discretisation to multiples of
// res, with U - 1/2 added inside the rint when sto_round (u is that uniform).
template <typename T>
XB_HD XB_INLINE T pulse_probability(T v_abs, T scale, T res, bool sto_round, float u) {
  T p = v_abs * scale;
  if (res > T(0)) {
    T q = p / res;
    if (sto_round) q = q + (T(u) - T(0.5));
    p = res * rint_t(q);
  }
  return p;
}

}  // namespace xbarsim
