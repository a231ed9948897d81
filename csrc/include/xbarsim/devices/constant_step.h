// ConstantStep: every up pulse adds scale_up, every down pulse subtracts scale_down, times
// (1 + dw_min_std xi). Spec: analog-tile.md §3.3 (ConstantStep). Invariants: pure, host and device;
// one normal per pulse when dw_min_std > 0 (drawn by the caller); every pulse ends clipped.
#pragma once

#include "xbarsim/devices/population.h"

namespace xbarsim {

struct ConstantStepModel : DeviceModelDefaults {
  static constexpr DeviceModel kModel = DeviceModel::kConstantStep;
  static constexpr uint32_t kCellFields = kFieldsCommon;

  template <typename T>
  static XB_HD XB_INLINE T pulse(const DeviceCell<T>& c, const DeviceScalars<T>& s, T w, bool up, T xi) {
    const T noise = T(1) + s.dw_min_std * xi;
    const T dw = select_t(up, c.scale_up, c.scale_down) * noise;
    return clip_to(w + select_t(up, dw, -dw), c.b_min, c.b_max);  // w - dw == w + (-dw) exactly
  }
};

}  // namespace xbarsim
