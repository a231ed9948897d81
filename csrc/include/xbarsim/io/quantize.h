// The quantiser Q(v; res, sto, u), the clip, and the DAC and ADC element stages of the read path.
// Spec: analog-tile.md §1.2 (Q, effective steps), §1.3 steps 3, 5.3 and 6.
// Invariants: pure, host and device, templated on float/double; no random draws happen here: the
// uniform u and the normals xi are drawn by the caller (io/draws.h) and passed in, and are only
// read when the corresponding stage is on.
#pragma once

#include "xbarsim/core/host_device.h"
#include "xbarsim/io/bound_management.h"
#include "xbarsim/io/noise_management.h"

namespace xbarsim {

XB_HD XB_INLINE float xb_sqrt(float v) { return sqrtf(v); }
XB_HD XB_INLINE double xb_sqrt(double v) { return sqrt(v); }

// The per-direction constants of one read pass, in the working precision T. Built once on the host
// by make_io_stage (ops/io_stages.h), so CPU and CUDA see the same rounded values.
template <typename T>
struct IoStage {
  T inp_res_eff;       // DAC step; <= 0: no quantisation
  T inp_bound_eff;     // DAC clip level; +inf when unbounded
  T inp_noise;         // std of the DAC output noise
  T inp_asym_factor;   // 1 - inp_asymmetry
  bool inp_asymmetric;  // inp_asymmetry != 0
  bool inp_sto_round;
  T out_res_eff;
  T out_bound_eff;
  T out_kmax;          // largest ADC level |k| that is not beyond the bound (+inf when unbounded)
  T out_noise;
  T out_asym_factor;   // 1 - out_asymmetry
  bool out_asymmetric;
  bool out_sto_round;
  bool bm_test_negative_bound;
};

// Q(v; res, sto): res * rint(v / res), or res * rint(v / res + (u - 1/2)) with stochastic rounding.
// u is a uniform on [0, 1) with a 2^-24 grid, so u - 1/2 is exact. res <= 0 means no quantisation.
// Written with selects rather than early returns (here and below) so that CPU loops over a row
// vectorise; a select computes both sides and keeps one, which changes no value.
template <typename T>
XB_HD XB_INLINE T quantize(T v, T res, bool sto, float u) {
  const T t = v / res;
  const T q = res * round_half_even(sto ? t + (static_cast<T>(u) - T(0.5)) : t);
  return res > T(0) ? q : v;
}

// clip(v, -bound, +bound); bound = +inf leaves v unchanged.
template <typename T>
XB_HD XB_INLINE T clip(T v, T bound) {
  return v > bound ? bound : (v < -bound ? -bound : v);
}

// DAC of one input element (§1.3 step 3): scale (v = sigma x, see nm_input_scale), quantise, clip,
// add noise, asymmetry, in this order.
// u: uniform for stochastic rounding (read only if inp_sto_round and a step is set);
// xi: standard normal for the input noise (read only if inp_noise > 0).
template <typename T>
XB_HD XB_INLINE T dac_element(T x, const InputScale<T>& sc, const IoStage<T>& s, float u, float xi) {
  T v = sc.use_sigma ? x * sc.sigma : x / sc.divisor;
  v = quantize(v, s.inp_res_eff, s.inp_sto_round, u);
  v = clip(v, s.inp_bound_eff);
  v = s.inp_noise > T(0) ? v + s.inp_noise * static_cast<T>(xi) : v;
  v = (s.inp_asymmetric && v < T(0)) ? v * s.inp_asym_factor : v;
  return v;
}

// Output stage of one output line (§1.3 step 5.3 and step 6), in three parts so that a CPU loop can
// skip the parts a configuration does not use; adc_element is their composition, in spec order:
//   adc_weight_noise: ŷ + w_std * xi_w (w_std computed by the caller from ||v||_2 or
//                     sqrt(sum_j |W_ij| v_j^2); 0 means off),
//   adc_asymmetry:    negative outputs times (1 - out_asymmetry),
//   adc_convert:      output noise, quantise, clip; ORs the saturation bits of bound_management.h
//                     into *sat and returns the clipped ADC value (before the rescale of step 8).
template <typename T>
XB_HD XB_INLINE T adc_weight_noise(T yhat, T w_std, float xi_w) {
  return w_std > T(0) ? yhat + w_std * static_cast<T>(xi_w) : yhat;
}

template <typename T>
XB_HD XB_INLINE T adc_asymmetry(T y, const IoStage<T>& s) {
  return (s.out_asymmetric && y < T(0)) ? y * s.out_asym_factor : y;
}

template <typename T>
XB_HD XB_INLINE T adc_convert(T y, const IoStage<T>& s, float xi_o, float u, uint32_t* sat) {
  y = s.out_noise > T(0) ? y + s.out_noise * static_cast<T>(xi_o) : y;
  // Quantise to level k = rint(y / step) and clip. With a step, "beyond the bound" is decided on the
  // level, k > out_kmax, not on the rounded product k * step, whose last bit may fall on either side
  // of a bound that is a whole number of steps (255 * 24/510 = 12 must pass, as §1.2 step 5 states).
  const bool quantised = s.out_res_eff > T(0);
  const T t = y / s.out_res_eff;
  const T k = round_half_even(s.out_sto_round ? t + (static_cast<T>(u) - T(0.5)) : t);
  const T level = quantised ? k : y;
  const T limit = quantised ? s.out_kmax : s.out_bound_eff;
  *sat |= saturation_bits(level, limit, s.bm_test_negative_bound);
  const T q = quantised ? s.out_res_eff * k : y;
  return level > limit ? s.out_bound_eff : (level < -limit ? -s.out_bound_eff : q);
}

template <typename T>
XB_HD XB_INLINE T adc_element(T yhat, T w_std, float xi_w, const IoStage<T>& s, float xi_o, float u,
                              uint32_t* sat) {
  return adc_convert(adc_asymmetry(adc_weight_noise(yhat, w_std, xi_w), s), s, xi_o, u, sat);
}

}  // namespace xbarsim
