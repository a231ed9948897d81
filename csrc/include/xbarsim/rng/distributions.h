// Uniform and normal variates from Philox words. Spec: analog-tile.md Appendix A.
// Invariants: pure, host and device, float32 arithmetic from exact_math.h only. Conversions are
// named by their interval: uniform_closed_open takes the top 24 bits, (u >> 8) * 2^-24, in [0, 1);
// uniform_open_closed adds one step, in (0, 1], so log never sees 0. One normal pair costs two words.
#pragma once

#include <cstdint>

#include "xbarsim/math/exact_math.h"
#include "xbarsim/rng/streams.h"

namespace xbarsim {

constexpr float kTwoPow24Inv = 5.9604644775390625e-8f;  // 2^-24

XB_HD XB_INLINE float uniform_closed_open(uint32_t word) {
  return static_cast<float>(word >> 8) * kTwoPow24Inv;
}

XB_HD XB_INLINE float uniform_open_closed(uint32_t word) {
  return static_cast<float>((word >> 8) + 1u) * kTwoPow24Inv;
}

struct NormalPair {
  float z0, z1;
};

// Box-Muller: z0 = r cos(2 pi u2), z1 = r sin(2 pi u2), r = sqrt(-2 log u1), u1 in (0, 1].
// |z| <= sqrt(-2 log 2^-24) = 5.77 (the tail beyond is cut by the 24-bit uniform).
XB_HD XB_INLINE NormalPair normal_pair(uint32_t w0, uint32_t w1) {
  const float u1 = uniform_open_closed(w0);
  const float u2 = uniform_closed_open(w1);
  const float r = sqrtf(-2.0f * exact_logf(u1));
  float s, c;
  exact_sincos_2pi(u2, &s, &c);
  return NormalPair{r * c, r * s};
}

// Standard normal number `index` of a stream: element = index / 2; lane 0 takes the cosine branch
// of words (0, 1), lane 1 the sine branch of words (2, 3), so the two are independent.
XB_HD XB_INLINE float normal_at(uint64_t seed, Stream stream, uint64_t call, uint64_t index) {
  const Philox4x32 r = philox_draw(seed, stream, call, index >> 1);
  return (index & 1u) ? normal_pair(r.v[2], r.v[3]).z1 : normal_pair(r.v[0], r.v[1]).z0;
}

// Uniform number `index` of a stream on [0, 1): element = index / 4, lane = index % 4.
XB_HD XB_INLINE float uniform_at(uint64_t seed, Stream stream, uint64_t call, uint64_t index) {
  const Philox4x32 r = philox_draw(seed, stream, call, index >> 2);
  return uniform_closed_open(r.v[index & 3u]);
}

}  // namespace xbarsim
