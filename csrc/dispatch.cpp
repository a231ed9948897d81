// Build information for dispatch.h.
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
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
#else
  return 0;
#endif
}

}  // namespace xbarsim
