// The one place where an op is routed to its CPU loop or its CUDA launcher, by the device of the
// op's tensors. Variant choice inside cpu:: and cuda:: is a pure function of shapes and config.
#pragma once

#include <cstdint>
#include <stdexcept>

#include "xbarsim/core/tensor_view.h"

namespace xbarsim {

bool built_with_cuda();
int cuda_device_count();  // 0 when built without CUDA or when no GPU is usable

template <typename CpuFn, typename CudaFn>
void dispatch_by_device(const TensorView& primary, CpuFn&& on_cpu, CudaFn&& on_cuda) {
  if (primary.device == DeviceKind::kCPU) {
    on_cpu();
    return;
  }
#if defined(XBARSIM_WITH_CUDA)
  on_cuda();
#else
  (void)on_cuda;
  throw std::runtime_error("xbarsim was built without CUDA; rebuild with the CUDA toolkit to use GPU tensors");
#endif
}

}  // namespace xbarsim
