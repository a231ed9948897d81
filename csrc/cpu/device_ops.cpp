// CPU loop drivers of the device-state ops (ops/device_ops.h): one parallel loop over cells each.
#include "xbarsim/ops/device_ops.h"

#include "xbarsim/devices/device_visit.h"

namespace xbarsim::cpu {
namespace {

template <class Model, typename T>
void populate(const PopulateDeviceArgs& a) {
  const DeviceCells<T> v = typed_cells<T>(a.cells);
  const int64_t out = a.cells.b_min.shape[0], in = a.cells.b_min.shape[1], cells = out * in;
#pragma omp parallel for schedule(static) if (cells >= 4096)
  for (int64_t cell = 0; cell < cells; ++cell) {
    store_cell(v, Model::kCellFields, cell, populate_cell<Model, T>(a.device, a.seed, cells, cell, in));
  }
}

template <class Model, typename T>
void clip(const ClipWeightsArgs& a) {
  const DeviceCells<T> v = typed_cells<T>(a.cells);
  const int64_t cells = a.weight.numel();
  T* persistent = a.persistent.ndim == 2 ? a.persistent.ptr<T>() : nullptr;
  const T noise = T(a.device.write_noise_std * a.device.dw_min);
#pragma omp parallel for schedule(static) if (cells >= 16384)
  for (int64_t cell = 0; cell < cells; ++cell) {
    clip_cell<Model, T>(a.weight.ptr<T>(), persistent, v, Model::kCellFields, noise, a.write_noise, a.seed, a.call,
                        cell);
  }
}

template <class Model, typename T>
void process(const DeviceProcessArgs& a) {
  const DeviceCells<T> v = typed_cells<T>(a.cells);
  const int64_t in = a.weight.shape[1], cells = a.weight.numel();
  T* persistent = a.persistent.ndim == 2 ? a.persistent.ptr<T>() : nullptr;
  const uint8_t* columns = a.columns.ndim == 1 ? a.columns.ptr<uint8_t>() : nullptr;
#pragma omp parallel for schedule(static) if (cells >= 16384)
  for (int64_t cell = 0; cell < cells; ++cell) {
    process_cell<Model, T>(a.params, a.weight.ptr<T>(), persistent, columns, v, cells, in, cell);
  }
}

}  // namespace

void populate_device(const PopulateDeviceArgs& a) {
  visit_device(a.device.model, [&](auto model) {
    if (a.cells.b_min.dtype == DType::kFloat64) populate<decltype(model), double>(a);
    else populate<decltype(model), float>(a);
  });
}

void clip_weights(const ClipWeightsArgs& a) {
  visit_device(a.device.model, [&](auto model) {
    if (a.weight.dtype == DType::kFloat64) clip<decltype(model), double>(a);
    else clip<decltype(model), float>(a);
  });
}

void device_process(const DeviceProcessArgs& a) {
  visit_device(a.params.device.model, [&](auto model) {
    if (a.weight.dtype == DType::kFloat64) process<decltype(model), double>(a);
    else process<decltype(model), float>(a);
  });
}

}  // namespace xbarsim::cpu
