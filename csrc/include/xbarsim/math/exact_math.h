// log, sin/cos of 2*pi*u and exp built from +, -, *, fma and exact bit manipulation only, so that the
// host (glibc) and the device (CUDA libdevice) agree bit for bit. Spec: analog-tile.md Appendix A,
// precaution 2. Invariants: pure, host and device, float32; accuracy a few ulp (documented per
// function), which is ample for noise generation and device steps.
#pragma once

#include <cstdint>

#include "xbarsim/core/host_device.h"

namespace xbarsim {

// Natural log for finite v > 0 (normal numbers). v = 2^e * m with m in [sqrt(1/2), sqrt(2)); then
// log(m) = 2 atanh(s), s = (m - 1)/(m + 1), |s| <= 0.1716, and the odd series to s^11 leaves a
// relative error below 2e-10 before float rounding (about 2 ulp overall).
XB_HD XB_INLINE float exact_logf(float v) {
  uint32_t bits = float_bits(v);
  int e = static_cast<int>((bits >> 23) & 0xffu) - 127;
  uint32_t mant_bits = (bits & 0x007fffffu) | 0x3f800000u;  // m in [1, 2)
  float m = bits_float(mant_bits);
  // Selects, not a branch: loops over many logs (Box-Muller) then vectorise; same operations.
  const bool fold = m > 1.41421356f;
  m = fold ? m * 0.5f : m;
  e = fold ? e + 1 : e;
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  float p = fmaf(s2, 1.0f / 11.0f, 1.0f / 9.0f);
  p = fmaf(s2, p, 1.0f / 7.0f);
  p = fmaf(s2, p, 1.0f / 5.0f);
  p = fmaf(s2, p, 1.0f / 3.0f);
  p = fmaf(s2, p, 1.0f);
  const float log_m = 2.0f * s * p;
  // ln 2 split into a part exact in float times small integers and a tail.
  const float kLn2Hi = 0.693145751953125f;
  const float kLn2Lo = 1.42860682030941723212e-6f;
  const float fe = static_cast<float>(e);
  return fmaf(fe, kLn2Hi, fmaf(fe, kLn2Lo, log_m));
}

namespace detail {
// sin and cos of a in [-pi/4, pi/4]: Taylor polynomials to a^11 / a^12 (error < 2e-9).
XB_HD XB_INLINE void sincos_small(float a, float* s, float* c) {
  const float a2 = a * a;
  float ps = fmaf(a2, -1.0f / 39916800.0f, 1.0f / 362880.0f);
  ps = fmaf(a2, ps, -1.0f / 5040.0f);
  ps = fmaf(a2, ps, 1.0f / 120.0f);
  ps = fmaf(a2, ps, -1.0f / 6.0f);
  *s = fmaf(a * a2, ps, a);
  float pc = fmaf(a2, 1.0f / 479001600.0f, -1.0f / 3628800.0f);
  pc = fmaf(a2, pc, 1.0f / 40320.0f);
  pc = fmaf(a2, pc, -1.0f / 720.0f);
  pc = fmaf(a2, pc, 1.0f / 24.0f);
  pc = fmaf(a2, pc, -0.5f);
  *c = fmaf(a2, pc, 1.0f);
}
}  // namespace detail

// sin(2*pi*u) and cos(2*pi*u) for u in [0, 1). The quadrant is taken from u exactly (u*4 is exact),
// and the remaining quarter turn is folded to an angle of at most pi/4.
XB_HD XB_INLINE void exact_sincos_2pi(float u, float* s, float* c) {
  const float t = u * 4.0f;
  const float q = floorf(t);
  const float f = t - q;  // exact: position in the quarter turn, [0, 1)
  const int quadrant = static_cast<int>(q) & 3;
  const float kHalfPi = 1.57079632679489662f;
  // Both folds and the quadrant are applied with selects rather than branches, so that loops over
  // many draws vectorise; the operations (and results) are those of the branchy form.
  const bool low = f <= 0.5f;
  float s1, c1;
  detail::sincos_small((low ? f : 1.0f - f) * kHalfPi, &s1, &c1);
  const float sf = low ? s1 : c1;  // sin and cos of (pi/2) f
  const float cf = low ? c1 : s1;
  // quadrant 0: (sf, cf); 1: (cf, -sf); 2: (-sf, -cf); 3: (-cf, sf)
  const bool odd = (quadrant & 1) != 0;
  const float sa = odd ? cf : sf;
  const float ca = odd ? sf : cf;
  *s = quadrant >= 2 ? -sa : sa;
  *c = ((quadrant + 1) & 2) != 0 ? -ca : ca;
}

// exp(v) for float v; returns 0 below -87.3 and +inf above 88.7. v = k ln2 + r with |r| <= ln2/2,
// exp(r) by a degree-7 Taylor polynomial (error < 3e-9 relative), 2^k by exponent bits.
XB_HD XB_INLINE float exact_expf(float v) {
  if (v != v) return v;
  if (v > 88.72283f) return bits_float(0x7f800000u);
  if (v < -87.33654f) return 0.0f;
  const float kInvLn2 = 1.44269504088896341f;
  const float kLn2Hi = 0.693145751953125f;
  const float kLn2Lo = 1.42860682030941723212e-6f;
  const float k = rintf(v * kInvLn2);
  const float r = fmaf(-k, kLn2Lo, fmaf(-k, kLn2Hi, v));
  float p = fmaf(r, 1.0f / 5040.0f, 1.0f / 720.0f);
  p = fmaf(r, p, 1.0f / 120.0f);
  p = fmaf(r, p, 1.0f / 24.0f);
  p = fmaf(r, p, 1.0f / 6.0f);
  p = fmaf(r, p, 0.5f);
  p = fmaf(r, p, 1.0f);
  p = fmaf(r, p, 1.0f);
  int ki = static_cast<int>(k);
  // Scale in two steps so that 2^k stays a normal float for k in [-126, 128].
  const int k1 = ki / 2;
  const int k2 = ki - k1;
  const float s1 = bits_float(static_cast<uint32_t>(k1 + 127) << 23);
  const float s2 = bits_float(static_cast<uint32_t>(k2 + 127) << 23);
  return p * s1 * s2;
}

// x^y for x > 0 as exp(y log x); x == 0 gives 0 for y > 0 and 1 for y == 0.
XB_HD XB_INLINE float exact_powf(float x, float y) {
  if (y == 0.0f) return 1.0f;
  if (x <= 0.0f) return 0.0f;
  return exact_expf(y * exact_logf(x));
}

}  // namespace xbarsim
