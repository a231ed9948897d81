// The one place where an op is routed to its CPU loop or its CUDA launcher, by the device of the
// op's tensors (the bindings have checked that all tensors of a call share it). A CUDA op runs with
// that device current (CudaDeviceGuard). Variant choice inside cpu:: and cuda:: is a pure function
// of shapes and config.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "xbarsim/core/tensor_view.h"

namespace xbarsim {

bool built_with_cuda();
int cuda_device_count();  // 0 when built without CUDA or when no GPU is usable
// "ok" when the CUDA runtime answers, else why not: "built without CUDA", or the runtime's error
// name and text (a driver too old for the runtime, no device, ...), which cuda_device_count hides.
std::string cuda_runtime_status();

// Makes `device` the current CUDA device for its lifetime and restores the caller's on exit, so a
// kernel launches on (and torch's stream belongs to) the GPU that holds the views, whatever device
// the calling thread had current. A no-op without CUDA.
class CudaDeviceGuard {
 public:
  explicit CudaDeviceGuard(int device);
  ~CudaDeviceGuard();
  CudaDeviceGuard(const CudaDeviceGuard&) = delete;
  CudaDeviceGuard& operator=(const CudaDeviceGuard&) = delete;

 private:
  int previous_ = -1;  // -1: nothing to restore
};

template <typename CpuFn, typename CudaFn>
void dispatch_by_device(const TensorView& primary, CpuFn&& on_cpu, CudaFn&& on_cuda) {
  if (primary.device == DeviceKind::kCPU) {
    on_cpu();
    return;
  }
#if defined(XBARSIM_WITH_CUDA)
  const CudaDeviceGuard guard(primary.device_index);
  on_cuda();
#else
  (void)on_cuda;
  throw std::runtime_error("xbarsim was built without CUDA; rebuild with the CUDA toolkit to use GPU tensors");
#endif
}

}  // namespace xbarsim
