// Test-only ops that expose the per-element random number functions, so the tests can compare CPU
// and CUDA bit for bit and check the distributions. Spec: analog-tile.md Appendix A.
#pragma once

#include <cstdint>

#include "xbarsim/core/tensor_view.h"

namespace xbarsim {

enum class RandomKind : int32_t { kUniform = 0, kNormal = 1 };

// out[i] = uniform_at / normal_at(seed, stream, call, i), float32.
struct FillRandomArgs {
  TensorView out;
  uint64_t seed = 0;
  uint32_t stream = 0;
  uint64_t call = 0;
  RandomKind kind = RandomKind::kUniform;
};

namespace cpu {
void fill_random(const FillRandomArgs& args);
}
namespace cuda {
void fill_random(const FillRandomArgs& args, uintptr_t stream);
}

}  // namespace xbarsim
