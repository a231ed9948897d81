// SoftBounds: up w += s_up (1 - w/b_max)(1 + sigma xi), down w -= s_down (1 - w/b_min)(1 + sigma xi);
// the step shrinks linearly to zero at the cell's bound. Spec: analog-tile.md §3.3 (SoftBounds).
// Invariants: pure, host and device; LinearStep's pulse with gamma = 1 and the cell's own bounds as
// references (slope = -scale / bound, 0 for a zero bound); no population draws of its own.
#pragma once

#include "xbarsim/devices/linear_step.h"

namespace xbarsim {

struct SoftBoundsModel : DeviceModelDefaults {
  static constexpr DeviceModel kModel = DeviceModel::kSoftBounds;
  static constexpr uint32_t kCellFields = kFieldsCommon | kFieldSlopeUp | kFieldSlopeDown;

  template <typename T>
  static XB_HD XB_INLINE void populate(DeviceCell<T>& c, const DeviceConfigArgs&, const PopulationKey&) {
    c.slope_up = linear_step_slope(T(1), c.scale_up, c.b_max);
    c.slope_down = linear_step_slope(T(1), c.scale_down, c.b_min);
  }

  template <typename T>
  static XB_HD XB_INLINE T pulse(const DeviceCell<T>& c, const DeviceScalars<T>& s, T w, bool up, T xi) {
    return linear_step_pulse(c, s, w, up, xi);
  }
};

}  // namespace xbarsim
