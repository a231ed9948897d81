// PiecewiseStep: the step size is interpolated linearly in a table of L node values spread evenly
// over [b_min, b_max] (one table for up, one for down). Spec: analog-tile.md §3.3 (PiecewiseStep).
// Invariants: pure, host and device; one normal per pulse when dw_min_std > 0; no population draws
// of its own; the tables (any L >= 1) are read through DeviceScalars.
#pragma once

#include "xbarsim/devices/population.h"

namespace xbarsim {

struct PiecewiseStepModel : DeviceModelDefaults {
  static constexpr DeviceModel kModel = DeviceModel::kPiecewiseStep;
  static constexpr uint32_t kCellFields = kFieldsCommon;

  // The interpolated table value at weight w.
  template <typename T>
  static XB_HD XB_INLINE T node_value(const DeviceCell<T>& c, const T* table, int32_t len, T w) {
    if (len == 1 || !(c.b_max > c.b_min)) return table[0];
    const int32_t n = len - 1;
    T u = (w - c.b_min) / (c.b_max - c.b_min) * T(n);
    if (!(u >= T(0))) u = T(0);  // also a NaN weight: the index stays in the table (the result is NaN anyway)
    T kf = floor_t(u);
    if (kf > T(n - 1)) kf = T(n - 1);
    const int32_t k = static_cast<int32_t>(kf);
    T t = u - kf;
    if (t > T(1)) t = T(1);
    return (T(1) - t) * table[k] + t * table[k + 1];
  }

  template <typename T>
  static XB_HD XB_INLINE T pulse(const DeviceCell<T>& c, const DeviceScalars<T>& s, T w, bool up, T xi) {
    const T noise = T(1) + s.dw_min_std * xi;
    if (up) {
      w = w + node_value(c, s.piecewise_up, s.piecewise_len, w) * c.scale_up * noise;
    } else {
      w = w - node_value(c, s.piecewise_down, s.piecewise_len, w) * c.scale_down * noise;
    }
    return clip_to(w, c.b_min, c.b_max);
  }
};

}  // namespace xbarsim
