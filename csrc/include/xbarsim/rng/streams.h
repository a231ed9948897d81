// Where every random number of xbarsim comes from: the (key, counter) layout and the stream table.
// Spec: analog-tile.md §0 (random numbers) and Appendix A.
// Invariants: a draw is addressed by (seed, stream, call counter, element index), never by a thread
// id, loop order or thread count, so CPU and GPU (and any OpenMP team size) draw the same numbers.
//
// Layout of one Philox4x32-10 call (4 words of output):
//   key     = (seed & 0xffffffff, seed >> 32)
//   counter = (element & 0xffffffff, element >> 32, call & 0xffffffff, (call >> 32) | stream << 16)
// The call counter has 48 usable bits, the stream id 16. Two draws of one run never share a
// (key, counter) pair as long as each op uses its own stream id and advances the call counter it
// is given once per call (the tile does that in Python, so ops stay functional and replayable).
// "element" is the op's own numbering of its draws, documented next to each use.
#pragma once

#include <cstdint>

#include "xbarsim/rng/philox.h"

namespace xbarsim {

enum class Stream : uint32_t {
  kTesting = 0,          // _core.testing fills
  kInputStoRound = 1,    // DAC stochastic rounding; read-path element numbering in io/draws.h:
  kInputNoise = 2,       //   (round << 40) | (row * ceil(lines/4) + line/4), lane = line % 4
  kOutputStoRound = 3,   // ADC stochastic rounding
  kOutputNoise = 4,      // ADC additive noise
  kWeightNoise = 5,      // output-referred weight read noise
  kStaticIo = 6,         // per-line static IO draws at tile construction
  kBitLineX = 16,        // pulsed update: input-line bit lines
  kBitLineD = 17,        // pulsed update: output-line bit lines
  kPulseNoise = 18,      // pulsed update: cycle-to-cycle noise per pulse
  kWriteNoise = 19,      // apparent-weight write noise
  kProbRound = 20,       // stochastic rounding of pulse probabilities
  kDeviceProcess = 21,   // diffusion and reset noise of the device processes (element = cell)
  kPopulation = 32,      // device-to-device draws at construction (element = parameter*cells + cell)
  kTransfer = 48,        // multi-tile transfers
};

XB_HD XB_INLINE Philox4x32 philox_draw(uint64_t seed, Stream stream, uint64_t call, uint64_t element) {
  return philox4x32_10(static_cast<uint32_t>(element), static_cast<uint32_t>(element >> 32),
                       static_cast<uint32_t>(call),
                       static_cast<uint32_t>((call >> 32) & 0xffffu) |
                           (static_cast<uint32_t>(stream) << 16),
                       static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

}  // namespace xbarsim
