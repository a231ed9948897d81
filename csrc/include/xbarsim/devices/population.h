// Device-to-device population: the draws of one cell at tile construction and the common steps of
// the procedure. Spec: analog-tile.md §3.2. Invariants: pure, host and device; every draw is
// addressed by (construction seed, Stream::kPopulation, call, index) with
//   normals:  call 0, index = param * cells + cell   (param ids kPopNormal* below)
//   uniforms: call 1, index = param * cells + cell   (param ids kPopUniform* below)
// where cell = i * in_size + j, so the population is the same on CPU and GPU and for any thread
// count. A model adds its own draws with param ids >= kPopNormalModel.
#pragma once

#include <cstdint>

#include "xbarsim/devices/device_args.h"
#include "xbarsim/math/exact_math_f64.h"
#include "xbarsim/rng/distributions.h"

namespace xbarsim {

enum PopulationParam : int32_t {
  kPopNormalWMax = 0,       // b_max spread
  kPopNormalWMin = 1,       // b_min spread
  kPopNormalDwMin = 2,      // step-size spread g
  kPopNormalUpDown = 3,     // up/down asymmetry spread rho
  kPopNormalReset = 4,      // reset-bias spread (step 8)
  kPopNormalLifetime = 5,   // lifetime spread (step 8)
  kPopNormalDiffusion = 6,  // diffusion-rate spread (step 8)
  kPopNormalModel = 8,      // first model-specific normal (8, 9, 10, ...)
  kPopUniformStuck = 0,     // is the cell stuck (U < corrupt_devices_prob)
  kPopUniformStuckValue = 1,
};

struct PopulationKey {
  uint64_t seed;
  int64_t cells;  // out * in
  int64_t cell;   // i * in + j

  template <typename T>
  XB_HD XB_INLINE T normal(int32_t param) const {
    return static_cast<T>(normal_at(seed, Stream::kPopulation, 0,
                                    static_cast<uint64_t>(param) * static_cast<uint64_t>(cells) +
                                        static_cast<uint64_t>(cell)));
  }
  template <typename T>
  XB_HD XB_INLINE T uniform(int32_t param) const {
    return static_cast<T>(uniform_at(seed, Stream::kPopulation, 1,
                                     static_cast<uint64_t>(param) * static_cast<uint64_t>(cells) +
                                         static_cast<uint64_t>(cell)));
  }
};

template <typename T>
XB_HD XB_INLINE T abs_t(T v) {
  return v < T(0) ? -v : v;
}

// Steps 1-7 of §3.2 for cell (i, j): bounds, step scales, consistency, stuck cells, perfect bias.
template <typename T>
XB_HD XB_INLINE DeviceCell<T> populate_common(const DeviceConfigArgs& c, const PopulationKey& key,
                                              int64_t col, int64_t in_size) {
  DeviceCell<T> cell{};
  const T one = T(1);
  T b_max = T(c.w_max) * (one + T(c.w_max_dtod) * key.normal<T>(kPopNormalWMax));
  T b_min = T(c.w_min) * (one + T(c.w_min_dtod) * key.normal<T>(kPopNormalWMin));
  const T xi_dw = key.normal<T>(kPopNormalDwMin);
  const T g = c.dw_min_dtod_log_normal ? exact_exp_t(T(c.dw_min_dtod) * xi_dw) : one + T(c.dw_min_dtod) * xi_dw;
  const T rho = T(c.up_down_dtod) * key.normal<T>(kPopNormalUpDown);
  const T up_down = T(c.up_down);
  const T up_bias = up_down < T(0) ? up_down : T(0);
  const T down_bias = up_down > T(0) ? -up_down : T(0);
  const T dw_min = T(c.dw_min);
  T scale_up = (g + up_bias + rho) * dw_min;
  T scale_down = (g + down_bias - rho) * dw_min;
  if (c.enforce_consistency) {
    scale_up = abs_t(scale_up);
    scale_down = abs_t(scale_down);
    if (b_min > b_max) {
      const T t = b_min;
      b_min = b_max;
      b_max = t;
    }
    b_max = abs_t(b_max);
    b_min = -abs_t(b_min);
  } else if (b_min > b_max) {
    // A dead cell: both bounds at their midpoint.
    const T mid = (b_min + b_max) / T(2);
    b_min = mid;
    b_max = mid;
  }
  if (c.corrupt_devices_prob > 0.0 && key.uniform<T>(kPopUniformStuck) < T(c.corrupt_devices_prob)) {
    const T range = T(c.corrupt_devices_range);
    const T lo_b = b_min < b_max ? b_min : b_max;
    const T hi_b = b_min < b_max ? b_max : b_min;
    const T lo = lo_b > -range ? lo_b : -range;
    const T hi = hi_b < range ? hi_b : range;
    const T v = lo + (hi - lo) * key.uniform<T>(kPopUniformStuckValue);
    b_min = v;
    b_max = v;
    scale_up = T(0);
    scale_down = T(0);
  }
  if (c.perfect_bias && col == in_size - 1) {
    scale_up = dw_min;
    scale_down = dw_min;
    b_min = T(100) * T(c.w_min);
    b_max = T(100) * T(c.w_max);
  }
  cell.b_min = b_min;
  cell.b_max = b_max;
  cell.scale_up = scale_up;
  cell.scale_down = scale_down;
  return cell;
}

// Step 8 of §3.2: the parameters of the processes of §3.5, per cell. They are pure functions of the
// population key, so the process op draws them when it runs instead of keeping three more arrays
// per tile (the processes are applied only on request); the values are the same either way.
template <typename T>
XB_HD XB_INLINE T cell_reset_bias(const DeviceConfigArgs& c, const PopulationKey& key) {
  return c.reset_dtod != 0.0 ? T(c.reset) + T(c.reset_dtod) * key.normal<T>(kPopNormalReset) : T(c.reset);
}

// 1 - 1/t with t = lifetime (1 + lifetime_dtod xi); 0 when t <= 1; 1 (no decay) when lifetime = 0.
template <typename T>
XB_HD XB_INLINE T cell_decay_scale(const DeviceConfigArgs& c, const PopulationKey& key) {
  if (c.lifetime <= 0.0) return T(1);
  const T t = c.lifetime_dtod != 0.0 ? T(c.lifetime) * (T(1) + T(c.lifetime_dtod) * key.normal<T>(kPopNormalLifetime))
                                     : T(c.lifetime);
  return t > T(1) ? T(1) - T(1) / t : T(0);
}

// |diffusion (1 + diffusion_dtod xi)|.
template <typename T>
XB_HD XB_INLINE T cell_diffusion_rate(const DeviceConfigArgs& c, const PopulationKey& key) {
  const T rate = c.diffusion_dtod != 0.0
                     ? T(c.diffusion) * (T(1) + T(c.diffusion_dtod) * key.normal<T>(kPopNormalDiffusion))
                     : T(c.diffusion);
  return abs_t(rate);
}

// Defaults of the device-model interface. Models without population draws of their own, whose visible
// weight is the device state (all but SoftBoundsReference), inherit these instead of repeating them.
struct DeviceModelDefaults {
  template <typename T>
  static XB_HD XB_INLINE void populate(DeviceCell<T>&, const DeviceConfigArgs&, const PopulationKey&) {}

  template <typename T>
  static XB_HD XB_INLINE T clip(const DeviceCell<T>& c, T w) {
    return clip_to(w, c.b_min, c.b_max);
  }
};

}  // namespace xbarsim
