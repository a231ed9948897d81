// CUDA loop drivers of the device-state ops (ops/device_ops.h): grid-stride loops over cells
// calling the same per-cell bodies as csrc/cpu/device_ops.cpp (population, clip, processes).
#include "launch.cuh"
#include "xbarsim/devices/device_visit.h"
#include "xbarsim/ops/device_ops.h"

namespace xbarsim {
namespace {

template <class Model, typename T>
__global__ void populate_kernel(DeviceCells<T> v, DeviceConfigArgs cfg, uint64_t seed, int64_t cells, int64_t in) {
  for (int64_t cell = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; cell < cells;
       cell += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    store_cell(v, Model::kCellFields, cell, populate_cell<Model, T>(cfg, seed, cells, cell, in));
  }
}

template <class Model, typename T>
__global__ void clip_kernel(T* weight, T* persistent, DeviceCells<T> v, T write_noise, bool redraw, uint64_t seed,
                            uint64_t call, int64_t cells) {
  for (int64_t cell = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; cell < cells;
       cell += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    clip_cell<Model, T>(weight, persistent, v, Model::kCellFields, write_noise, redraw, seed, call, cell);
  }
}

template <class Model, typename T>
__global__ void process_kernel(DeviceProcessParams params, T* weight, T* persistent, const uint8_t* columns,
                               DeviceCells<T> v, int64_t cells, int64_t in) {
  for (int64_t cell = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; cell < cells;
       cell += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    process_cell<Model, T>(params, weight, persistent, columns, v, cells, in, cell);
  }
}

template <class Model, typename T>
void populate(const PopulateDeviceArgs& a, cudaStream_t stream) {
  const int64_t out = a.cells.b_min.shape[0], in = a.cells.b_min.shape[1], cells = out * in;
  if (cells == 0) return;
  populate_kernel<Model, T><<<cuda_detail::blocks_for(cells, 256), 256, 0, stream>>>(typed_cells<T>(a.cells), a.device,
                                                                                     a.seed, cells, in);
  XB_CUDA_CHECK_LAUNCH("populate_kernel");
}

template <class Model, typename T>
void clip(const ClipWeightsArgs& a, cudaStream_t stream) {
  const int64_t cells = a.weight.numel();
  if (cells == 0) return;
  T* persistent = a.persistent.ndim == 2 ? a.persistent.ptr<T>() : nullptr;
  clip_kernel<Model, T><<<cuda_detail::blocks_for(cells, 256), 256, 0, stream>>>(
      a.weight.ptr<T>(), persistent, typed_cells<T>(a.cells), T(a.device.write_noise_std * a.device.dw_min),
      a.write_noise, a.seed, a.call, cells);
  XB_CUDA_CHECK_LAUNCH("clip_kernel");
}

template <class Model, typename T>
void process(const DeviceProcessArgs& a, cudaStream_t stream) {
  const int64_t in = a.weight.shape[1], cells = a.weight.numel();
  if (cells == 0) return;
  T* persistent = a.persistent.ndim == 2 ? a.persistent.ptr<T>() : nullptr;
  const uint8_t* columns = a.columns.ndim == 1 ? a.columns.ptr<uint8_t>() : nullptr;
  process_kernel<Model, T><<<cuda_detail::blocks_for(cells, 256), 256, 0, stream>>>(
      a.params, a.weight.ptr<T>(), persistent, columns, typed_cells<T>(a.cells), cells, in);
  XB_CUDA_CHECK_LAUNCH("process_kernel");
}

}  // namespace

namespace cuda {

void populate_device(const PopulateDeviceArgs& a, uintptr_t stream) {
  visit_device(a.device.model, [&](auto model) {
    if (a.cells.b_min.dtype == DType::kFloat64) populate<decltype(model), double>(a, cuda_detail::as_stream(stream));
    else populate<decltype(model), float>(a, cuda_detail::as_stream(stream));
  });
}

void clip_weights(const ClipWeightsArgs& a, uintptr_t stream) {
  visit_device(a.device.model, [&](auto model) {
    if (a.weight.dtype == DType::kFloat64) clip<decltype(model), double>(a, cuda_detail::as_stream(stream));
    else clip<decltype(model), float>(a, cuda_detail::as_stream(stream));
  });
}

void device_process(const DeviceProcessArgs& a, uintptr_t stream) {
  visit_device(a.params.device.model, [&](auto model) {
    if (a.weight.dtype == DType::kFloat64) process<decltype(model), double>(a, cuda_detail::as_stream(stream));
    else process<decltype(model), float>(a, cuda_detail::as_stream(stream));
  });
}

}  // namespace cuda
}  // namespace xbarsim
