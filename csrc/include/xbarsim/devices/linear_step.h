// LinearStep: steps that change linearly with the weight, up step s_up (1 - gamma_up w / r_up),
// written as slope * w + scale with the slopes fixed per cell at construction.
// Spec: analog-tile.md §3.3 (LinearStep). Invariants: pure, host and device; one normal per pulse
// when dw_min_std > 0; population draws normals kPopNormalModel + 0 (gamma_up) and + 1 (gamma_down).
#pragma once

#include "xbarsim/devices/population.h"

namespace xbarsim {

// The per-pulse rule shared by LinearStep and SoftBounds (which is LinearStep with gamma = 1 and
// the cell's own bounds as references).
template <typename T>
XB_HD XB_INLINE T linear_step_pulse(const DeviceCell<T>& c, const DeviceScalars<T>& s, T w, bool up, T xi) {
  // up: w + dw(slope_up, scale_up); down: w - dw(slope_down, scale_down) = w + (-dw) exactly.
  const T noise = T(1) + s.dw_min_std * xi;
  const T slope = select_t(up, c.slope_up, c.slope_down);
  const T scale = select_t(up, c.scale_up, c.scale_down);
  const T dw = s.mult_noise ? (slope * w + scale) * noise : slope * w + scale * noise;
  return clip_to(w + select_t(up, dw, -dw), c.b_min, c.b_max);
}

// slope = -gamma * scale / reference, 0 when the reference is 0.
template <typename T>
XB_HD XB_INLINE T linear_step_slope(T gamma, T scale, T reference) {
  return reference != T(0) ? -gamma * scale / reference : T(0);
}

struct LinearStepModel : DeviceModelDefaults {
  static constexpr DeviceModel kModel = DeviceModel::kLinearStep;
  static constexpr uint32_t kCellFields = kFieldsCommon | kFieldSlopeUp | kFieldSlopeDown;

  template <typename T>
  static XB_HD XB_INLINE void populate(DeviceCell<T>& c, const DeviceConfigArgs& cfg, const PopulationKey& key) {
    T gamma_up = T(cfg.gamma_up) + T(cfg.gamma_up_dtod) * key.normal<T>(kPopNormalModel + 0);
    T gamma_down = T(cfg.gamma_down) + T(cfg.gamma_down_dtod) * key.normal<T>(kPopNormalModel + 1);
    if (!cfg.allow_increasing) {
      gamma_up = abs_t(gamma_up);
      gamma_down = abs_t(gamma_down);
    }
    const bool mean = cfg.mean_bound_reference;
    T ref_up = mean ? T(cfg.w_max) : c.b_max;
    T ref_down = mean ? T(cfg.w_min) : c.b_min;
    if (cfg.reverse_up) ref_up = (mean ? T(cfg.w_min) : c.b_min) - T(cfg.reverse_offset);
    if (cfg.reverse_down) ref_down = (mean ? T(cfg.w_max) : c.b_max) + T(cfg.reverse_offset);
    c.slope_up = linear_step_slope(gamma_up, c.scale_up, ref_up);
    c.slope_down = linear_step_slope(gamma_down, c.scale_down, ref_down);
  }

  template <typename T>
  static XB_HD XB_INLINE T pulse(const DeviceCell<T>& c, const DeviceScalars<T>& s, T w, bool up, T xi) {
    return linear_step_pulse(c, s, w, up, xi);
  }
};

}  // namespace xbarsim
