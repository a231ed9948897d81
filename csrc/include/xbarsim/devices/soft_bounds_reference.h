// SoftBoundsReference: soft bounds acting on the device state g = w + r, with a per-cell reference
// offset r (optionally the cell's symmetry point) and additive cycle-to-cycle noise by default.
// Spec: analog-tile.md §3.3 (SoftBoundsReference), §6 #12 (setting/clipping clips g, not w).
// Invariants: pure, host and device; one normal per pulse when dw_min_std > 0; population draws
// normals kPopNormalModel + 0 (slope_up), + 1 (slope_down), + 2 (reference).
#pragma once

#include "xbarsim/devices/population.h"

namespace xbarsim {

struct SoftBoundsReferenceModel {
  static constexpr DeviceModel kModel = DeviceModel::kSoftBoundsReference;
  static constexpr uint32_t kCellFields = kFieldsCommon | kFieldReference;

  template <typename T>
  static XB_HD XB_INLINE void populate(DeviceCell<T>& c, const DeviceConfigArgs& cfg, const PopulationKey& key) {
    const T one = T(1);
    const T xi_up = key.normal<T>(kPopNormalModel + 0);
    const T xi_down = key.normal<T>(kPopNormalModel + 1);
    const T xi_ref = key.normal<T>(kPopNormalModel + 2);
    if (c.b_max > T(0) && c.b_min < T(0)) {
      const T k_down = -c.scale_down / c.b_min * abs_t(one + T(cfg.slope_down_dtod) * xi_down);
      const T k_up = c.scale_up / c.b_max * abs_t(one + T(cfg.slope_up_dtod) * xi_up);
      // A zero slope (a zero step) keeps the bound: s / k would be 0 / 0.
      if (k_up > T(0)) c.b_max = c.scale_up / k_up;
      if (k_down > T(0)) c.b_min = -c.scale_down / k_down;
    }
    T r = T(cfg.reference_mean) + T(cfg.reference_std) * xi_ref;
    if (cfg.subtract_symmetry_point && c.b_max > T(0) && c.b_min < T(0)) {
      const T den = c.scale_up / c.b_max - c.scale_down / c.b_min;
      if (den > T(0)) r = r + (c.scale_up - c.scale_down) / den;
    }
    c.reference = r;
  }

  template <typename T>
  static XB_HD XB_INLINE T clip(const DeviceCell<T>& c, T w) {
    return clip_to(w + c.reference, c.b_min, c.b_max) - c.reference;
  }

  template <typename T>
  static XB_HD XB_INLINE T pulse(const DeviceCell<T>& c, const DeviceScalars<T>& s, T w, bool up, T xi) {
    const T one = T(1);
    T g = w + c.reference;
    if (up) {
      const T a = c.b_max > T(0) ? g / c.b_max : T(0);
      g = s.mult_noise ? g + c.scale_up * (one - a) * (one + s.dw_min_std * xi)
                       : g + c.scale_up * (one - a + s.dw_min_std * xi);
    } else {
      const T a = c.b_min < T(0) ? g / c.b_min : T(0);
      g = s.mult_noise ? g - c.scale_down * (one - a) * (one + s.dw_min_std * xi)
                       : g - c.scale_down * (one - a + s.dw_min_std * xi);
    }
    return clip_to(g, c.b_min, c.b_max) - c.reference;
  }
};

}  // namespace xbarsim
