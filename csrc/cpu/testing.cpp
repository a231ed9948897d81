// CPU loop driver of the test-only random fills (ops/testing.h).
#include "xbarsim/ops/testing.h"

#include "xbarsim/rng/distributions.h"

namespace xbarsim::cpu {

void fill_random(const FillRandomArgs& a) {
  float* out = a.out.ptr<float>();
  const int64_t n = a.out.numel();
  const auto stream = static_cast<Stream>(a.stream);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    out[i] = a.kind == RandomKind::kNormal ? normal_at(a.seed, stream, a.call, i)
                                           : uniform_at(a.seed, stream, a.call, i);
  }
}

}  // namespace xbarsim::cpu
