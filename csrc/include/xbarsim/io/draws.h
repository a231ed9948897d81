// Random draws of the read path: which Philox call feeds which element of which stage.
// Spec: analog-tile.md §0 (random numbers) and §1.3; rng/streams.h (key/counter layout).
// Invariants: pure, host and device. A draw depends only on (seed, stream, call, round, original row,
// line), never on which other rows are in the batch or saturated, on thread ids or on loop order.
//
// Element numbering (the same for every IO stream: kInputStoRound, kInputNoise, kOutputStoRound,
// kOutputNoise, kWeightNoise): the lines of a row are grouped in quads of 4 consecutive lines,
//   element = (round << 40) | (row * quads + line / 4),   quads = ceil(lines / 4),   lane = line % 4,
// where round is the bound-management round (0 for the first pass and for backward), row the
// ORIGINAL row index of the flattened batch and lines the number of DAC inputs (prologue) or ADC
// outputs (epilogue). One Philox call gives 4 words: uniforms take word `lane`; normals take both
// outputs of two Box-Muller pairs: lanes 0, 1 = normal_pair(w0, w1).z0, .z1, lanes 2, 3 =
// normal_pair(w2, w3).z0, .z1. Requires row * quads < 2^40 and round < 2^24 (checked by the drivers).
#pragma once

#include <cstdint>

#include "xbarsim/rng/distributions.h"

namespace xbarsim {

constexpr int kIoRoundShift = 40;
constexpr uint64_t kIoMaxRowQuads = uint64_t(1) << kIoRoundShift;
constexpr uint32_t kIoMaxRounds = 1u << 24;

XB_HD XB_INLINE int64_t io_quads(int64_t lines) { return (lines + 3) / 4; }

XB_HD XB_INLINE uint64_t io_element(uint32_t round, int64_t row, int64_t quads, int64_t quad) {
  return (static_cast<uint64_t>(round) << kIoRoundShift) |
         (static_cast<uint64_t>(row) * static_cast<uint64_t>(quads) + static_cast<uint64_t>(quad));
}

// The 4 standard normals of one element (both branches of two Box-Muller pairs).
XB_HD XB_INLINE void io_normals4(uint64_t seed, Stream stream, uint64_t call, uint64_t element, float z[4]) {
  const Philox4x32 r = philox_draw(seed, stream, call, element);
  const NormalPair p0 = normal_pair(r.v[0], r.v[1]);
  const NormalPair p1 = normal_pair(r.v[2], r.v[3]);
  z[0] = p0.z0;
  z[1] = p0.z1;
  z[2] = p1.z0;
  z[3] = p1.z1;
}

// The 4 uniforms on [0, 1) of one element.
XB_HD XB_INLINE void io_uniforms4(uint64_t seed, Stream stream, uint64_t call, uint64_t element, float u[4]) {
  const Philox4x32 r = philox_draw(seed, stream, call, element);
  XB_UNROLL
  for (int i = 0; i < 4; ++i) u[i] = uniform_closed_open(r.v[i]);
}

}  // namespace xbarsim
