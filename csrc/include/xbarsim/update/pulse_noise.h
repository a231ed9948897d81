// Cycle-to-cycle noise of the pulses of one cell in one vector update. Spec: analog-tile.md §2.6,
// §3.3, Appendix A (normals by Box-Muller). Invariants: pure, host and device, and built from
// +, -, *, /, sqrt and integer operations only (no fma, no libm call), so it is bit-identical on
// CPU and GPU and compiles to inline instructions on the x86-64 baseline, where fmaf, floorf and
// rintf are library calls: this is the hot path of dense updates (one normal per pulse).
// Draws: normal number k (the k-th pulse) of cell `cell` in sample b is lane k % 4 of Philox
// element  (b * cells + cell) * noise_words + k / 4  of Stream::kPulseNoise, noise_words =
// ceil(bl_max / 4); lanes 0 and 1 are the cosine and sine branch of Box-Muller on words (0, 1),
// lanes 2 and 3 on words (2, 3): four normals per Philox call. Uniforms as in distributions.h:
// u1 = ((w0 >> 8) + 1) 2^-24 in (0, 1], u2 = (w1 >> 8) 2^-24 in [0, 1); |z| <= 5.77.
#pragma once

#include <cstdint>

#include "xbarsim/devices/device_args.h"
#include "xbarsim/rng/distributions.h"

namespace xbarsim {

// Masks instead of bools and values instead of out-pointers throughout: the CPU update draws its
// normals in batches (csrc/cpu/batched_draws.cpp), and GCC vectorises those loops only in this form.

// a where mask is all ones, b where it is zero (exact: the chosen bit pattern is returned).
XB_HD XB_INLINE float select_bits(uint32_t mask, float a, float b) {
  return bits_float((float_bits(a) & mask) | (float_bits(b) & ~mask));
}

// log(v) for v = ((w >> 8) + 1) 2^-24 in (0, 1]: as exact_logf (atanh series on the mantissa in
// [sqrt(1/2), sqrt(2))), Horner without fma; error about 2 ulp.
XB_HD XB_INLINE float pulse_noise_log(float v) {
  const uint32_t bits = float_bits(v);
  const uint32_t high = (bits & 0x007fffffu) > 0x003504f3u ? 1u : 0u;  // mantissa of sqrt(2) = 1.41421354
  const int32_t e = static_cast<int32_t>((bits >> 23) & 0xffu) - 127 + static_cast<int32_t>(high);
  const float m = bits_float((bits & 0x007fffffu) | (0x3f800000u - (high << 23)));  // [sqrt(1/2), sqrt(2))
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  float p = s2 * (1.0f / 11.0f) + (1.0f / 9.0f);
  p = p * s2 + (1.0f / 7.0f);
  p = p * s2 + (1.0f / 5.0f);
  p = p * s2 + (1.0f / 3.0f);
  p = p * s2 + 1.0f;
  const float log_m = 2.0f * s * p;
  const float fe = static_cast<float>(e);
  return fe * 0.693145751953125f + (fe * 1.42860682030941723212e-6f + log_m);
}

// cos and sin of 2 pi u2 for u2 = (w >> 8) 2^-24: the quadrant is the top two bits of w and the
// position in the quarter turn the next 22 bits (exact); folded to an angle of at most pi/4 and
// evaluated by Taylor polynomials (degree 9 / 10, error < 2e-9). Returns (z0, z1) = (cos, sin).
XB_HD XB_INLINE NormalPair pulse_noise_cossin(uint32_t w) {
  const uint32_t quadrant = w >> 30;
  const float f = static_cast<float>(static_cast<int32_t>((w >> 8) & 0x3fffffu)) * 2.384185791015625e-7f;  // 2^-22
  const uint32_t fold = f > 0.5f ? ~0u : 0u;
  const float a = select_bits(fold, 1.0f - f, f) * 1.57079632679489662f;
  const float a2 = a * a;
  float ps = a2 * (1.0f / 362880.0f) + (-1.0f / 5040.0f);
  ps = ps * a2 + (1.0f / 120.0f);
  ps = ps * a2 + (-1.0f / 6.0f);
  const float sa = a * a2 * ps + a;
  float pc = a2 * (-1.0f / 3628800.0f) + (1.0f / 40320.0f);
  pc = pc * a2 + (-1.0f / 720.0f);
  pc = pc * a2 + (1.0f / 24.0f);
  pc = pc * a2 + (-0.5f);
  const float ca = pc * a2 + 1.0f;
  // (cos, sin) of (pi/2)(q + f): with (sf, cf) = fold ? (ca, sa) : (sa, ca) it is (cf, sf), (-sf, cf),
  // (-cf, -sf), (sf, -cf) for q = 0..3: magnitudes swap when fold != (q odd), and the signs come
  // from the quadrant (selected and negated bitwise, no branch).
  const uint32_t swap = fold ^ (0u - (quadrant & 1u));
  const uint32_t c_sign = ((quadrant + 1u) >> 1 & 1u) << 31;  // q = 1, 2
  const uint32_t s_sign = (quadrant >> 1) << 31;              // q = 2, 3
  return NormalPair{bits_float(float_bits(select_bits(swap, sa, ca)) ^ c_sign),
                    bits_float(float_bits(select_bits(swap, ca, sa)) ^ s_sign)};
}

// Both Box-Muller branches of words (w0, w1): z0 = r cos, z1 = r sin, r = sqrt(-2 log u1).
XB_HD XB_INLINE NormalPair pulse_noise_pair(uint32_t w0, uint32_t w1) {
  const float u1 = static_cast<float>(static_cast<int32_t>((w0 >> 8) + 1u)) * kTwoPow24Inv;
  const float r = sqrtf(-2.0f * pulse_noise_log(u1));
  const NormalPair cs = pulse_noise_cossin(w1);
  return NormalPair{r * cs.z0, r * cs.z1};
}

// The first `count` (1..4) normals of one Philox element (the second pair only when needed).
XB_HD XB_INLINE void pulse_normals(uint64_t seed, uint64_t call, uint64_t element, int32_t count, float z[4]) {
  const Philox4x32 r = philox_draw(seed, Stream::kPulseNoise, call, element);
  const NormalPair p0 = pulse_noise_pair(r.v[0], r.v[1]);
  z[0] = p0.z0;
  z[1] = p0.z1;
  if (count > 2) {
    const NormalPair p1 = pulse_noise_pair(r.v[2], r.v[3]);
    z[2] = p1.z0;
    z[3] = p1.z1;
  }
}

// Applies n pulses in one direction with the normals z[0..n) already drawn (or none: noise-free).
template <class Model, typename T>
XB_HD XB_INLINE T apply_pulses_drawn(const DeviceCell<T>& c, const DeviceScalars<T>& s, T w, int32_t n, bool up,
                                     const float* z) {
  for (int32_t k = 0; k < n; ++k) w = Model::pulse(c, s, w, up, z != nullptr ? T(z[k]) : T(0));
  return w;
}

// Applies n pulses in one direction to weight w of a cell (each pulse sees the weight the previous
// one left, draws its own noise and is clipped by the model). noise_base = (b*cells+cell)*noise_words.
template <class Model, typename T>
XB_HD XB_INLINE T apply_pulses(const DeviceCell<T>& c, const DeviceScalars<T>& s, T w, int32_t n, bool up,
                               uint64_t seed, uint64_t call, uint64_t noise_base) {
  if (!s.noisy) return apply_pulses_drawn<Model>(c, s, w, n, up, nullptr);
  for (int32_t k0 = 0; k0 < n; k0 += 4) {
    const int32_t kn = n - k0 < 4 ? n - k0 : 4;
    float z[4];
    pulse_normals(seed, call, noise_base + static_cast<uint64_t>(k0 >> 2), kn, z);
    w = apply_pulses_drawn<Model>(c, s, w, kn, up, z);
  }
  return w;
}

}  // namespace xbarsim
