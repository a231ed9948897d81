// Build and runtime information and the device guard of dispatch.h.
#include "dispatch.h"

#if defined(XBARSIM_WITH_CUDA)
#include <cuda_runtime.h>
#endif

namespace xbarsim {

bool built_with_cuda() {
#if defined(XBARSIM_WITH_CUDA)
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#if defined(XBARSIM_WITH_CUDA)
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the error; cuda_runtime_status() says what it was
    return 0;
  }
  return n;
#else
  return 0;
#endif
}

std::string cuda_runtime_status() {
#if defined(XBARSIM_WITH_CUDA)
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err == cudaSuccess) return "ok";
  cudaGetLastError();
  return std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
#else
  return "built without CUDA";
#endif
}

CudaDeviceGuard::CudaDeviceGuard(int device) {
#if defined(XBARSIM_WITH_CUDA)
  int current = 0;
  cudaError_t err = cudaGetDevice(&current);
  if (err == cudaSuccess && current != device) {
    err = cudaSetDevice(device);
    if (err == cudaSuccess) previous_ = current;
  }
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw std::runtime_error("xbarsim: cannot make CUDA device " + std::to_string(device) + " current: " +
                             cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
  }
#else
  (void)device;
#endif
}

CudaDeviceGuard::~CudaDeviceGuard() {
#if defined(XBARSIM_WITH_CUDA)
  // A destructor must not throw; restoring a device that was current a moment ago does not fail.
  if (previous_ >= 0 && cudaSetDevice(previous_) != cudaSuccess) cudaGetLastError();
#endif
}

}  // namespace xbarsim
