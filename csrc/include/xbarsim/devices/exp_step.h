// ExpStep: steps scaled by y_up = max(1 - A_up exp(gamma_up z), 0), y_down = max(1 - A_down
// exp(-gamma_down z), 0) with z = 2a w / (b_max - b_min) + b. Spec: analog-tile.md §3.3 (ExpStep).
// Invariants: pure, host and device, exp from exact_math_f64.h (bit-identical); one normal per
// pulse when dw_min_std > 0; no population draws of its own; a cell with b_max <= b_min is frozen.
#pragma once

#include "xbarsim/devices/population.h"

namespace xbarsim {

struct ExpStepModel : DeviceModelDefaults {
  static constexpr DeviceModel kModel = DeviceModel::kExpStep;
  static constexpr uint32_t kCellFields = kFieldsCommon;

  // max(1 - A exp(v), 0); A = 0 gives 1 even where exp overflows (0 * inf would be NaN).
  template <typename T>
  static XB_HD XB_INLINE T factor(T A, T v) {
    if (A == T(0)) return T(1);
    const T y = T(1) - A * exact_exp_t(v);
    return y > T(0) ? y : T(0);
  }

  template <typename T>
  static XB_HD XB_INLINE T pulse(const DeviceCell<T>& c, const DeviceScalars<T>& s, T w, bool up, T xi) {
    const T range = c.b_max - c.b_min;
    if (!(range > T(0))) return w;
    const T z = T(2) * s.a * w / range + s.b;
    const T delta = up ? factor(s.A_up, s.gamma_up * z) * c.scale_up
                       : -(factor(s.A_down, -s.gamma_down * z) * c.scale_down);
    if (s.complex_noise) {
      w = w + delta + s.dw_min_std * (abs_t(delta) + s.dw_min_std_add + s.dw_min_std_slope * abs_t(w)) * xi;
    } else {
      w = w + delta * (T(1) + s.dw_min_std * xi);
    }
    return clip_to(w, c.b_min, c.b_max);
  }
};

}  // namespace xbarsim
