// Bit lines of stochastic_compressed updates, packed 64 slots per word, and coincidence counts by
// AND + popcount. Spec: analog-tile.md §2.4. Invariants: pure, host and device. Random draws:
// Stream::kBitLineX (input lines) / kBitLineD (output lines); slot k of the 4 lines 4g..4g+3 of
// sample b uses the 4 words of Philox element  (b * bl_max + k) * groups + g  (groups =
// ceil(lines / 4), lane l -> line 4g + l, uniform (word >> 8) 2^-24, the line fires if P > U).
// One Philox call per slot and group, skipped when no line of the group has 0 < P < 1.
#pragma once

#include <cstdint>

#include "xbarsim/rng/distributions.h"

namespace xbarsim {

// Bits of slots [64 word, min(64 word + 64, bl)) of the lines of group g (bit s = slot 64 word + s).
template <typename T>
XB_HD XB_INLINE void bit_line_group_word(const T prob[4], int32_t bl, int32_t word, uint64_t seed, Stream stream,
                                         uint64_t call, uint64_t slot0 /* b * bl_max */, uint64_t groups,
                                         uint64_t g, uint64_t out[4]) {
  const int32_t k0 = word * 64;
  const int32_t k1 = bl < k0 + 64 ? bl : k0 + 64;
  bool random = false;
  XB_UNROLL
  for (int l = 0; l < 4; ++l) {
    out[l] = 0;
    if (prob[l] > T(0) && prob[l] < T(1)) random = true;
  }
  if (k1 <= k0) return;
  const int32_t nbits = k1 - k0;
  const uint64_t full = nbits == 64 ? ~0ull : ((1ull << nbits) - 1ull);
  XB_UNROLL
  for (int l = 0; l < 4; ++l) {
    if (prob[l] >= T(1)) out[l] = full;  // fires in every slot (P > U for every U < 1)
  }
  if (!random) return;
  for (int32_t k = k0; k < k1; ++k) {
    const Philox4x32 r = philox_draw(seed, stream, call, (slot0 + static_cast<uint64_t>(k)) * groups + g);
    XB_UNROLL
    for (int l = 0; l < 4; ++l) {  // branch-free: whether a line fires is a coin flip
      const bool fires = prob[l] > T(uniform_closed_open(r.v[l]));
      out[l] |= static_cast<uint64_t>(fires) << (k - k0);
    }
  }
}

// Number of slots in which both lines fired (each line's words contiguous).
XB_HD XB_INLINE int32_t coincidences(const uint64_t* bx, const uint64_t* bd, int32_t words) {
  int32_t n = 0;
  for (int32_t w = 0; w < words; ++w) n += popcount64(bx[w] & bd[w]);
  return n;
}

}  // namespace xbarsim
