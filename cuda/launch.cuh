// Launch helpers shared by every kernel file: grid sizing and the error check after each launch.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace xbarsim::cuda_detail {

inline void check_cuda(cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    throw std::runtime_error(std::string("xbarsim CUDA error in ") + what + ": " +
                             cudaGetErrorString(err));
  }
}

inline cudaStream_t as_stream(uintptr_t handle) { return reinterpret_cast<cudaStream_t>(handle); }

// Blocks of a grid-stride loop over n items. The cap (65535 blocks, at least 60x what a GPU holds
// resident at 256 threads per block) costs nothing and lets tests reach the loops' second iteration
// with tens of MB (tests/parity/test_coverage_parity.py) rather than gigabytes.
constexpr int64_t kMaxGridBlocks = 65535;

inline unsigned blocks_for(int64_t n, int threads, int64_t max_blocks = kMaxGridBlocks) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > max_blocks) b = max_blocks;
  return static_cast<unsigned>(b);
}

}  // namespace xbarsim::cuda_detail

#define XB_CUDA_CHECK(expr) ::xbarsim::cuda_detail::check_cuda((expr), #expr)
#define XB_CUDA_CHECK_LAUNCH(name) ::xbarsim::cuda_detail::check_cuda(cudaGetLastError(), name)
