// What a device model is made of in the native core: the configuration scalars (one field per
// dataclass field of xbarsim.devices, same names), the per-cell parameter arrays (named pointers,
// never positional packing) and the per-cell record the step functions work on.
// Spec: analog-tile.md §3.1–§3.3. Invariants: POD, no defaults (they live in the dataclasses).
#pragma once

#include <cstdint>

#include "xbarsim/core/host_device.h"
#include "xbarsim/core/tensor_view.h"
#include "xbarsim/math/exact_math_f64.h"

namespace xbarsim {

// One member per device dataclass (the class name is the Python spelling).
enum class DeviceModel : int32_t {
  kConstantStep = 0,
  kLinearStep = 1,
  kSoftBounds = 2,
  kSoftBoundsReference = 3,
  kExpStep = 4,
  kPowStep = 5,
  kPiecewiseStep = 6,
};

// The scalar fields of every device dataclass (the union over the models; a model ignores the
// fields it does not have), as one X-macro table: X(type, name) per field, in dataclass order. The
// struct below declares them and csrc/bindings/update_ops.cpp binds them from the same table, so a
// field cannot be declared but not bound; tests/unit/test_native_fields.py checks the table against
// the dataclasses. piecewise_up/piecewise_down are tables and travel as views.
#define XB_DEVICE_FIELDS(X)                                                    \
  /* PulsedDevice (§3.1) */                                                    \
  X(double, dw_min)                                                            \
  X(double, dw_min_dtod)                                                       \
  X(bool, dw_min_dtod_log_normal)                                              \
  X(double, dw_min_std)                                                        \
  X(double, w_min)                                                             \
  X(double, w_max)                                                             \
  X(double, w_min_dtod)                                                        \
  X(double, w_max_dtod)                                                        \
  X(double, up_down)                                                           \
  X(double, up_down_dtod)                                                      \
  X(bool, enforce_consistency)                                                 \
  X(double, write_noise_std)                                                   \
  X(bool, apply_write_noise_on_set)                                            \
  X(bool, perfect_bias)                                                        \
  X(double, corrupt_devices_prob)                                              \
  X(double, corrupt_devices_range)                                             \
  X(double, reset)                                                             \
  X(double, reset_dtod)                                                        \
  X(double, reset_std)                                                         \
  X(double, lifetime)                                                          \
  X(double, lifetime_dtod)                                                     \
  X(double, diffusion)                                                         \
  X(double, diffusion_dtod)                                                    \
  X(uint64_t, construction_seed)                                               \
  /* LinearStep (gamma_* shared with ExpStep, mult_noise with SoftBounds*) */  \
  X(double, gamma_up)                                                          \
  X(double, gamma_down)                                                        \
  X(double, gamma_up_dtod)                                                     \
  X(double, gamma_down_dtod)                                                   \
  X(bool, allow_increasing)                                                    \
  X(bool, mean_bound_reference)                                                \
  X(bool, mult_noise)                                                          \
  X(bool, reverse_up)                                                          \
  X(bool, reverse_down)                                                        \
  X(double, reverse_offset)                                                    \
  /* SoftBoundsReference */                                                    \
  X(double, slope_up_dtod)                                                     \
  X(double, slope_down_dtod)                                                   \
  X(double, reference_mean)                                                    \
  X(double, reference_std)                                                     \
  X(bool, subtract_symmetry_point)                                             \
  /* ExpStep */                                                                \
  X(double, A_up)                                                              \
  X(double, A_down)                                                            \
  X(double, a)                                                                 \
  X(double, b)                                                                 \
  X(double, dw_min_std_add)                                                    \
  X(double, dw_min_std_slope)                                                  \
  /* PowStep */                                                                \
  X(double, pow_gamma)                                                         \
  X(double, pow_gamma_dtod)                                                    \
  X(double, pow_up_down)                                                       \
  X(double, pow_up_down_dtod)

struct DeviceConfigArgs {
  DeviceModel model;  // the dataclass's class (a ClassVar in Python, not a field)
#define XB_DECLARE_FIELD(type, name) type name;
  XB_DEVICE_FIELDS(XB_DECLARE_FIELD)
#undef XB_DECLARE_FIELD
};

// Per-cell parameter arrays, each [out, in] contiguous in the tile dtype; a model reads only the
// ones in its kCellFields mask (the others may be null).
enum CellField : uint32_t {
  kFieldBMin = 1u << 0,
  kFieldBMax = 1u << 1,
  kFieldScaleUp = 1u << 2,
  kFieldScaleDown = 1u << 3,
  kFieldSlopeUp = 1u << 4,
  kFieldSlopeDown = 1u << 5,
  kFieldReference = 1u << 6,
  kFieldGammaUp = 1u << 7,
  kFieldGammaDown = 1u << 8,
  kFieldsCommon = kFieldBMin | kFieldBMax | kFieldScaleUp | kFieldScaleDown,
};

// The same arrays as views (host side, checked by the bindings).
struct DeviceCellViews {
  TensorView b_min, b_max, scale_up, scale_down, slope_up, slope_down, reference, gamma_up, gamma_down;
};

template <typename T>
struct DeviceCells {
  T* b_min;
  T* b_max;
  T* scale_up;
  T* scale_down;
  T* slope_up;
  T* slope_down;
  T* reference;
  T* gamma_up;
  T* gamma_down;
};

// Typed pointers of the views (host side; null for an undefined view).
template <typename T>
DeviceCells<T> typed_cells(const DeviceCellViews& v) {
  return DeviceCells<T>{v.b_min.ptr<T>(),      v.b_max.ptr<T>(),    v.scale_up.ptr<T>(),
                        v.scale_down.ptr<T>(), v.slope_up.ptr<T>(), v.slope_down.ptr<T>(),
                        v.reference.ptr<T>(),  v.gamma_up.ptr<T>(), v.gamma_down.ptr<T>()};
}

// One cell's parameters in registers: b_min/b_max are the cell's bounds, scale_* its mean step
// sizes (signs already made consistent), slope_* the linear-step slopes (LinearStep, SoftBounds),
// reference the SoftBoundsReference offset r, gamma_* the PowStep exponents.
template <typename T>
struct DeviceCell {
  T b_min, b_max, scale_up, scale_down, slope_up, slope_down, reference, gamma_up, gamma_down;
};

// The per-pulse scalars of a model in the tile dtype, built once per call on the host.
template <typename T>
struct DeviceScalars {
  bool noisy;          // dw_min_std > 0: one normal per pulse
  T dw_min_std;
  bool mult_noise;
  T A_up, A_down, gamma_up, gamma_down, a, b;  // ExpStep
  T dw_min_std_add, dw_min_std_slope;          // ExpStep "complex noise"
  bool complex_noise;
  const T* piecewise_up;  // PiecewiseStep tables, length piecewise_len
  const T* piecewise_down;
  int32_t piecewise_len;
  T write_noise;  // write_noise_std * dw_min (0: no write noise)
};

template <typename T>
XB_HD XB_INLINE T clip_to(T w, T lo, T hi) {
  return w < lo ? lo : (w > hi ? hi : w);
}

// c ? a : b without a branch: a data-dependent choice (pulse direction, Box-Muller quadrant) is a
// coin flip the CPU mispredicts half the time, and each misprediction stalls the pulse chains.
// Selecting the bit patterns through an integer select is exact (the chosen value is unchanged).
XB_HD XB_INLINE float select_t(bool c, float a, float b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return bits_float((float_bits(a) & m) | (float_bits(b) & ~m));
}
XB_HD XB_INLINE double select_t(bool c, double a, double b) {
  const uint64_t m = 0ull - static_cast<uint64_t>(c);
  return bits_double((double_bits(a) & m) | (double_bits(b) & ~m));
}

template <typename T>
XB_HD XB_INLINE DeviceCell<T> load_cell(const DeviceCells<T>& v, uint32_t fields, int64_t idx) {
  DeviceCell<T> c{};
  c.b_min = v.b_min[idx];
  c.b_max = v.b_max[idx];
  c.scale_up = v.scale_up[idx];
  c.scale_down = v.scale_down[idx];
  if (fields & kFieldSlopeUp) c.slope_up = v.slope_up[idx];
  if (fields & kFieldSlopeDown) c.slope_down = v.slope_down[idx];
  if (fields & kFieldReference) c.reference = v.reference[idx];
  if (fields & kFieldGammaUp) c.gamma_up = v.gamma_up[idx];
  if (fields & kFieldGammaDown) c.gamma_down = v.gamma_down[idx];
  return c;
}

template <typename T>
XB_HD XB_INLINE void store_cell(const DeviceCells<T>& v, uint32_t fields, int64_t idx, const DeviceCell<T>& c) {
  v.b_min[idx] = c.b_min;
  v.b_max[idx] = c.b_max;
  v.scale_up[idx] = c.scale_up;
  v.scale_down[idx] = c.scale_down;
  if (fields & kFieldSlopeUp) v.slope_up[idx] = c.slope_up;
  if (fields & kFieldSlopeDown) v.slope_down[idx] = c.slope_down;
  if (fields & kFieldReference) v.reference[idx] = c.reference;
  if (fields & kFieldGammaUp) v.gamma_up[idx] = c.gamma_up;
  if (fields & kFieldGammaDown) v.gamma_down[idx] = c.gamma_down;
}

}  // namespace xbarsim
