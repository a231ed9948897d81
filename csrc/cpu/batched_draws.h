// Random draws of the CPU pulsed update in batches: the per-element functions every path uses
// (rng/streams.h, update/pulse_noise.h), called over long independent index ranges so that the
// compiler vectorises them (one Philox4x32-10 call costs ~15 ns scalar, ~6 ns in an AVX-512 loop).
// The values are exactly those of the per-element calls: only the loop around them differs.
#pragma once

#include <cstdint>

#include "xbarsim/rng/streams.h"

namespace xbarsim::cpu {

// Where the bit-line draws of one side of one sample come from (update/bit_lines.h): slot k of
// lines 4g..4g+3 uses Philox element (slot0 + k) * groups + g of (seed, stream, call).
struct BitLineDraws {
  uint64_t seed;
  Stream stream;
  uint64_t call;
  uint64_t slot0;   // b * bl_max
  uint64_t groups;  // ceil(lines / 4)
  int32_t bl;       // the sample's bit-line length
};

// acc[line] = the bits of slots [64 word, min(64 word + 64, bl)) of lines [0, lines), bit s = slot
// 64 word + s; a line fires in a slot if prob[line] > U (bit_line_group_word). words_scratch holds
// 4 groups words; prob is padded with zeros to 4 groups. Only the groups listed in active (n_active
// of them, ascending) are drawn: a group whose four probabilities are 0 never fires, whatever U, and
// every other group's draws are keyed by its own position, so skipping it changes no bit. active =
// nullptr: every group.
void bit_line_words(const BitLineDraws& draws, const float* prob, int64_t lines, int32_t word,
                    uint32_t* words_scratch, uint64_t* acc, const int32_t* active, int64_t n_active);
void bit_line_words(const BitLineDraws& draws, const double* prob, int64_t lines, int32_t word,
                    uint32_t* words_scratch, uint64_t* acc, const int32_t* active, int64_t n_active);

// z[4 e + l] = pulse-noise normal l of Philox element elements[e] (update/pulse_noise.h), for
// e < count; lanes 2 and 3 are left unwritten when both_pairs is false (no run needs them).
void pulse_normals_batch(uint64_t seed, uint64_t call, const uint64_t* elements, int64_t count,
                         bool both_pairs, float* z);

}  // namespace xbarsim::cpu
