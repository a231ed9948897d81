// Host/device portability: the only file in xbarsim that tests __CUDACC__ / __CUDA_ARCH__.
// Every per-element function is marked XB_HD so that CPU loops and CUDA kernels call the same code.
// Invariant: nothing here changes floating-point results between host and device.
#pragma once

#include <math.h>

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define XB_HD __host__ __device__
#define XB_INLINE __forceinline__
#define XB_DEVICE __device__
#else
#define XB_HD
#define XB_INLINE inline
#define XB_DEVICE
#endif

#if defined(__CUDA_ARCH__)
#define XB_UNROLL _Pragma("unroll")
#else
#define XB_UNROLL
#endif

namespace xbarsim {

// Host: __builtin_bit_cast where the compiler has it. The memcpy form means the same, but GCC's
// loop vectoriser gives up on it, and the batched noise loops of the CPU update must vectorise.
#if !defined(__CUDACC__) && defined(__has_builtin)
#if __has_builtin(__builtin_bit_cast)
#define XB_HOST_BIT_CAST 1
#endif
#endif

XB_HD XB_INLINE uint32_t float_bits(float v) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(v);
#elif defined(XB_HOST_BIT_CAST)
  return __builtin_bit_cast(uint32_t, v);
#else
  uint32_t u;
  std::memcpy(&u, &v, sizeof(u));
  return u;
#endif
}

XB_HD XB_INLINE float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#elif defined(XB_HOST_BIT_CAST)
  return __builtin_bit_cast(float, u);
#else
  float v;
  std::memcpy(&v, &u, sizeof(v));
  return v;
#endif
}

XB_HD XB_INLINE int popcount32(uint32_t v) {
#if defined(__CUDA_ARCH__)
  return __popc(v);
#else
  return __builtin_popcount(v);
#endif
}

XB_HD XB_INLINE int popcount64(uint64_t v) {
#if defined(__CUDA_ARCH__)
  return __popcll(v);
#elif defined(__POPCNT__) || !(defined(__x86_64__) || defined(__i386__))
  return __builtin_popcountll(v);
#else
  // x86-64 baseline has no POPCNT instruction and the builtin becomes a libgcc call; the SWAR
  // count inline is several times faster in the pulse-coincidence loops.
  v = v - ((v >> 1) & 0x5555555555555555ull);
  v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
  v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return static_cast<int>((v * 0x0101010101010101ull) >> 56);
#endif
}

// High 32 bits of a 32x32 product; the 64-bit product is exact on both sides.
XB_HD XB_INLINE uint32_t mulhi32(uint32_t a, uint32_t b) {
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
}

// rint (round half to even) is correctly rounded in IEEE-754 on both sides.
XB_HD XB_INLINE float round_half_even(float v) { return rintf(v); }
XB_HD XB_INLINE double round_half_even(double v) { return rint(v); }

}  // namespace xbarsim
