// Batched draws of the CPU pulsed update (batched_draws.h), compiled per ISA (cpu_clones.h).
#include "batched_draws.h"

#include "cpu_clones.h"
#include "xbarsim/rng/distributions.h"
#include "xbarsim/update/pulse_noise.h"

namespace xbarsim::cpu {
namespace {

template <typename T>
XB_INLINE void bit_line_words_impl(const BitLineDraws& draws, const T* __restrict prob, int64_t lines,
                                   int32_t word, uint32_t* __restrict words, uint64_t* __restrict acc,
                                   const int32_t* __restrict active, int64_t n_active) {
  for (int64_t line = 0; line < lines; ++line) acc[line] = 0;
  const int32_t k0 = 64 * word;
  const int32_t k1 = draws.bl < k0 + 64 ? draws.bl : k0 + 64;
  const int64_t groups = static_cast<int64_t>(draws.groups);
  for (int32_t k = k0; k < k1; ++k) {
    const uint64_t first = (draws.slot0 + static_cast<uint64_t>(k)) * draws.groups;
    if (active == nullptr) {
      for (int64_t g = 0; g < groups; ++g) {
        const Philox4x32 r = philox_draw(draws.seed, draws.stream, draws.call, first + static_cast<uint64_t>(g));
        words[4 * g] = r.v[0];
        words[4 * g + 1] = r.v[1];
        words[4 * g + 2] = r.v[2];
        words[4 * g + 3] = r.v[3];
      }
    } else {  // the skipped groups' words keep stale values: their probabilities are 0, so they never fire
      for (int64_t a = 0; a < n_active; ++a) {
        const int64_t g = active[a];
        const Philox4x32 r = philox_draw(draws.seed, draws.stream, draws.call, first + static_cast<uint64_t>(g));
        words[4 * g] = r.v[0];
        words[4 * g + 1] = r.v[1];
        words[4 * g + 2] = r.v[2];
        words[4 * g + 3] = r.v[3];
      }
    }
    const int shift = k - k0;
    for (int64_t line = 0; line < lines; ++line) {  // word 4g + l of the slot is lane l of group g
      const uint64_t fires = prob[line] > T(uniform_closed_open(words[line])) ? 1u : 0u;
      acc[line] |= fires << shift;
    }
  }
}

XB_INLINE void pulse_normals_batch_impl(uint64_t seed, uint64_t call, const uint64_t* __restrict elements,
                                       int64_t count, bool both_pairs, float* __restrict z) {
  if (both_pairs) {
    for (int64_t e = 0; e < count; ++e) {
      const Philox4x32 r = philox_draw(seed, Stream::kPulseNoise, call, elements[e]);
      const NormalPair p0 = pulse_noise_pair(r.v[0], r.v[1]);
      const NormalPair p1 = pulse_noise_pair(r.v[2], r.v[3]);
      z[4 * e] = p0.z0;
      z[4 * e + 1] = p0.z1;
      z[4 * e + 2] = p1.z0;
      z[4 * e + 3] = p1.z1;
    }
  } else {
    for (int64_t e = 0; e < count; ++e) {
      const Philox4x32 r = philox_draw(seed, Stream::kPulseNoise, call, elements[e]);
      const NormalPair p0 = pulse_noise_pair(r.v[0], r.v[1]);
      z[4 * e] = p0.z0;
      z[4 * e + 1] = p0.z1;
    }
  }
}

}  // namespace

void bit_line_words(const BitLineDraws& draws, const float* prob, int64_t lines, int32_t word,
                    uint32_t* words_scratch, uint64_t* acc, const int32_t* active, int64_t n_active) {
  with_cpu_isa([&] { bit_line_words_impl(draws, prob, lines, word, words_scratch, acc, active, n_active); });
}

void bit_line_words(const BitLineDraws& draws, const double* prob, int64_t lines, int32_t word,
                    uint32_t* words_scratch, uint64_t* acc, const int32_t* active, int64_t n_active) {
  with_cpu_isa([&] { bit_line_words_impl(draws, prob, lines, word, words_scratch, acc, active, n_active); });
}

void pulse_normals_batch(uint64_t seed, uint64_t call, const uint64_t* elements, int64_t count, bool both_pairs,
                         float* z) {
  with_cpu_isa([&] { pulse_normals_batch_impl(seed, call, elements, count, both_pairs, z); });
}

}  // namespace xbarsim::cpu
