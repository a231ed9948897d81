// log, exp and pow in float64 from +, -, *, fma and exact bit manipulation (the float64 twins of
// exact_math.h), plus overloads exact_log_t/exact_exp_t/exact_pow_t that pick the float or double
// version by type, so device step functions templated on the tile dtype stay bit-identical on host
// and device. Spec: analog-tile.md Appendix A, precaution 2. Invariants: pure, host and device;
// relative error of a few ulp; subnormal arguments of log/pow are rescaled first.
#pragma once

#include <cstdint>
#include <cstring>

#include "xbarsim/math/exact_math.h"

namespace xbarsim {

XB_HD XB_INLINE uint64_t double_bits(double v) {
#if defined(__CUDA_ARCH__)
  return static_cast<uint64_t>(__double_as_longlong(v));
#elif defined(XB_HOST_BIT_CAST)
  return __builtin_bit_cast(uint64_t, v);
#else
  uint64_t u;
  std::memcpy(&u, &v, sizeof(u));
  return u;
#endif
}

XB_HD XB_INLINE double bits_double(uint64_t u) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(u));
#elif defined(XB_HOST_BIT_CAST)
  return __builtin_bit_cast(double, u);
#else
  double v;
  std::memcpy(&v, &u, sizeof(v));
  return v;
#endif
}

// Natural log for finite v > 0. v = 2^e m, m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s) with
// s = (m-1)/(m+1), |s| <= 0.1716, odd series to s^23 (truncation < 1e-19 relative).
XB_HD XB_INLINE double exact_log(double v) {
  int scale = 0;
  if (v < 2.2250738585072014e-308) {  // subnormal: bring into the normal range exactly
    v = v * 18014398509481984.0;       // 2^54
    scale = -54;
  }
  const uint64_t bits = double_bits(v);
  int e = static_cast<int>((bits >> 52) & 0x7ffu) - 1023 + scale;
  double m = bits_double((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
  if (m > 1.4142135623730951) {
    m = m * 0.5;
    e += 1;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double p = fma(s2, 1.0 / 23.0, 1.0 / 21.0);
  p = fma(s2, p, 1.0 / 19.0);
  p = fma(s2, p, 1.0 / 17.0);
  p = fma(s2, p, 1.0 / 15.0);
  p = fma(s2, p, 1.0 / 13.0);
  p = fma(s2, p, 1.0 / 11.0);
  p = fma(s2, p, 1.0 / 9.0);
  p = fma(s2, p, 1.0 / 7.0);
  p = fma(s2, p, 1.0 / 5.0);
  p = fma(s2, p, 1.0 / 3.0);
  p = fma(s2, p, 1.0);
  const double log_m = 2.0 * s * p;
  // ln 2 = hi + lo with the last 21 bits of hi zero, so e * hi is exact for every exponent.
  const double kLn2Hi = 6.93147180369123816490e-01;
  const double kLn2Lo = 1.90821492927058770002e-10;
  const double fe = static_cast<double>(e);
  return fma(fe, kLn2Hi, fma(fe, kLn2Lo, log_m));
}

// exp(v); 0 below -708.39 (no subnormal results), +inf above 709.78. v = k ln2 + r, |r| <= ln2/2,
// exp(r) by a degree-13 Taylor polynomial (truncation < 2e-17 relative).
XB_HD XB_INLINE double exact_exp(double v) {
  if (v != v) return v;
  if (v > 709.782712893384) return bits_double(0x7ff0000000000000ull);
  if (v < -708.3964185322641) return 0.0;
  const double kInvLn2 = 1.4426950408889634;
  const double kLn2Hi = 6.93147180369123816490e-01;
  const double kLn2Lo = 1.90821492927058770002e-10;
  const double k = rint(v * kInvLn2);
  const double r = fma(-k, kLn2Lo, fma(-k, kLn2Hi, v));
  double p = fma(r, 1.0 / 6227020800.0, 1.0 / 479001600.0);
  p = fma(r, p, 1.0 / 39916800.0);
  p = fma(r, p, 1.0 / 3628800.0);
  p = fma(r, p, 1.0 / 362880.0);
  p = fma(r, p, 1.0 / 40320.0);
  p = fma(r, p, 1.0 / 5040.0);
  p = fma(r, p, 1.0 / 720.0);
  p = fma(r, p, 1.0 / 120.0);
  p = fma(r, p, 1.0 / 24.0);
  p = fma(r, p, 1.0 / 6.0);
  p = fma(r, p, 0.5);
  p = fma(r, p, 1.0);
  p = fma(r, p, 1.0);
  const int ki = static_cast<int>(k);
  const int k1 = ki / 2;
  const int k2 = ki - k1;
  const double s1 = bits_double(static_cast<uint64_t>(k1 + 1023) << 52);
  const double s2 = bits_double(static_cast<uint64_t>(k2 + 1023) << 52);
  return p * s1 * s2;
}

// Type-generic rounding and roots (all correctly rounded in IEEE-754 on host and device).
XB_HD XB_INLINE float floor_t(float v) { return floorf(v); }
XB_HD XB_INLINE double floor_t(double v) { return floor(v); }
XB_HD XB_INLINE float ceil_t(float v) { return ceilf(v); }
XB_HD XB_INLINE double ceil_t(double v) { return ceil(v); }
XB_HD XB_INLINE float rint_t(float v) { return rintf(v); }
XB_HD XB_INLINE double rint_t(double v) { return rint(v); }
XB_HD XB_INLINE float sqrt_t(float v) { return sqrtf(v); }
XB_HD XB_INLINE double sqrt_t(double v) { return sqrt(v); }

// Type-generic forms used by the device models.
XB_HD XB_INLINE float exact_log_t(float v) {
  if (v < 1.17549435e-38f) return exact_logf(v * 16777216.0f) - 16.635532333438686f;  // 24 ln 2
  return exact_logf(v);
}
XB_HD XB_INLINE double exact_log_t(double v) { return exact_log(v); }
XB_HD XB_INLINE float exact_exp_t(float v) { return exact_expf(v); }
XB_HD XB_INLINE double exact_exp_t(double v) { return exact_exp(v); }

// x^y for x >= 0: 1 if y == 0, 0 if x <= 0, else exp(y log x).
template <typename T>
XB_HD XB_INLINE T exact_pow_t(T x, T y) {
  if (y == T(0)) return T(1);
  if (x <= T(0)) return T(0);
  return exact_exp_t(y * exact_log_t(x));
}

}  // namespace xbarsim
