// CUDA loop driver of the test-only random fills (ops/testing.h): the same element functions as
// csrc/cpu/testing.cpp, indexed by a grid-stride loop instead of an OpenMP loop.
#include "launch.cuh"
#include "xbarsim/ops/testing.h"
#include "xbarsim/rng/distributions.h"

namespace xbarsim {
namespace {

__global__ void fill_random_kernel(float* out, int64_t n, uint64_t seed, uint32_t stream, uint64_t call,
                                   RandomKind kind) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = kind == RandomKind::kNormal ? normal_at(seed, static_cast<Stream>(stream), call, i)
                                         : uniform_at(seed, static_cast<Stream>(stream), call, i);
  }
}

}  // namespace

namespace cuda {

void fill_random(const FillRandomArgs& a, uintptr_t stream) {
  const int64_t n = a.out.numel();
  if (n == 0) return;
  fill_random_kernel<<<cuda_detail::blocks_for(n, 256), 256, 0, cuda_detail::as_stream(stream)>>>(
      a.out.ptr<float>(), n, a.seed, a.stream, a.call, a.kind);
  XB_CUDA_CHECK_LAUNCH("fill_random_kernel");
}

}  // namespace cuda
}  // namespace xbarsim
