// Device-state ops of a tile: population of the per-cell parameters at construction (§3.2) and
// clipping of weights to each cell's bounds when weights are set or clipped (§3.4, §3.5).
// Spec: analog-tile.md §3.2, §3.4, §3.5, §6 #12. Invariants: per-cell bodies pure and XB_HD; draws
// documented in devices/population.h (population) and here (write noise on set/clip:
// normal_at(seed, Stream::kWriteNoise, call, cell)).
#pragma once

#include <cstdint>

#include "xbarsim/core/tensor_view.h"
#include "xbarsim/devices/device_args.h"
#include "xbarsim/devices/population.h"
#include "xbarsim/rng/distributions.h"

namespace xbarsim {

struct PopulateDeviceArgs {
  DeviceCellViews cells;  // outputs, [out, in] each (the model's kCellFields)
  DeviceConfigArgs device;
  uint64_t seed;  // construction seed (the tile seed when device.construction_seed is 0)
};

struct ClipWeightsArgs {
  TensorView weight;      // [out, in]: clipped in place, or (with persistent) the apparent weights
  TensorView persistent;  // [out, in] or undefined: clipped in place, weight = persistent + noise
  DeviceCellViews cells;
  DeviceConfigArgs device;
  bool write_noise;  // redraw the apparent weights (else weight = persistent)
  uint64_t seed;
  uint64_t call;
};

// Cell (i, j) of a tile with in_size inputs: the common steps, then the model's own.
template <class Model, typename T>
XB_HD XB_INLINE DeviceCell<T> populate_cell(const DeviceConfigArgs& cfg, uint64_t seed, int64_t cells, int64_t cell,
                                            int64_t in_size) {
  const PopulationKey key{seed, cells, cell};
  DeviceCell<T> c = populate_common<T>(cfg, key, cell % in_size, in_size);
  Model::populate(c, cfg, key);
  return c;
}

// One cell of ClipWeightsArgs.
template <class Model, typename T>
XB_HD XB_INLINE void clip_cell(T* weight, T* persistent, const DeviceCells<T>& v, uint32_t fields, T write_noise,
                               bool redraw, uint64_t seed, uint64_t call, int64_t cell) {
  const DeviceCell<T> c = load_cell(v, fields, cell);
  if (persistent == nullptr) {
    weight[cell] = Model::clip(c, weight[cell]);
    return;
  }
  const T wp = Model::clip(c, persistent[cell]);
  persistent[cell] = wp;
  weight[cell] = redraw ? wp + write_noise * T(normal_at(seed, Stream::kWriteNoise, call, static_cast<uint64_t>(cell)))
                        : wp;
}

namespace cpu {
void populate_device(const PopulateDeviceArgs& args);
void clip_weights(const ClipWeightsArgs& args);
}  // namespace cpu
namespace cuda {
void populate_device(const PopulateDeviceArgs& args, uintptr_t stream);
void clip_weights(const ClipWeightsArgs& args, uintptr_t stream);
}  // namespace cuda

}  // namespace xbarsim
