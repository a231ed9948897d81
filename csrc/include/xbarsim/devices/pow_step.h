// PowStep: up w += s_up ((b_max - w)/R)^gamma_up (1 + sigma xi), down w -= s_down ((w - b_min)/R)^
// gamma_down (1 + sigma xi), R = b_max - b_min, exponents drawn per cell. Spec: analog-tile.md §3.3
// (PowStep). Invariants: pure, host and device, pow from exact_math_f64.h; one normal per pulse
// when dw_min_std > 0; population draws normals kPopNormalModel + 0 (g') and + 1 (rho').
#pragma once

#include "xbarsim/devices/population.h"

namespace xbarsim {

struct PowStepModel : DeviceModelDefaults {
  static constexpr DeviceModel kModel = DeviceModel::kPowStep;
  static constexpr uint32_t kCellFields = kFieldsCommon | kFieldGammaUp | kFieldGammaDown;

  template <typename T>
  static XB_HD XB_INLINE void populate(DeviceCell<T>& c, const DeviceConfigArgs& cfg, const PopulationKey& key) {
    const T g = T(1) + T(cfg.pow_gamma_dtod) * key.normal<T>(kPopNormalModel + 0);
    const T rho = T(cfg.pow_up_down_dtod) * key.normal<T>(kPopNormalModel + 1);
    const T ud = T(cfg.pow_up_down);
    const T up_bias = ud < T(0) ? ud : T(0);
    const T down_bias = ud > T(0) ? -ud : T(0);
    T gamma_up = (up_bias + g + rho) * T(cfg.pow_gamma);
    T gamma_down = (down_bias + g - rho) * T(cfg.pow_gamma);
    if (cfg.enforce_consistency) {
      gamma_up = abs_t(gamma_up);
      gamma_down = abs_t(gamma_down);
    }
    c.gamma_up = gamma_up;
    c.gamma_down = gamma_down;
  }

  template <typename T>
  static XB_HD XB_INLINE T pulse(const DeviceCell<T>& c, const DeviceScalars<T>& s, T w, bool up, T xi) {
    const T range = c.b_max - c.b_min;
    if (range == T(0)) return w;
    const T noise = T(1) + s.dw_min_std * xi;
    if (up) {
      w = w + c.scale_up * exact_pow_t((c.b_max - w) / range, c.gamma_up) * noise;
    } else {
      w = w - c.scale_down * exact_pow_t((w - c.b_min) / range, c.gamma_down) * noise;
    }
    return clip_to(w, c.b_min, c.b_max);
  }
};

}  // namespace xbarsim
