// Device-state ops of a tile: population of the per-cell parameters at construction (§3.2),
// clipping of weights to each cell's bounds when weights are set or clipped (§3.4, §3.5), and the
// processes applied on request (§3.5: decay, diffusion, reset).
// Spec: analog-tile.md §3.2, §3.4, §3.5, §6 #12. Invariants: per-cell bodies pure and XB_HD; draws
// documented in devices/population.h (population, including the processes' per-cell parameters)
// and here (write noise on set/clip/process: normal_at(seed, Stream::kWriteNoise, call, cell);
// diffusion and reset noise: normal_at(seed, Stream::kDeviceProcess, call, cell)).
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

enum class DeviceProcess : int32_t {
  kDecay = 0,    // w <- (w - reset_bias)(1 - alpha (1 - decay_scale)) + reset_bias
  kDiffuse = 1,  // w <- w + alpha diffusion_rate xi
  kReset = 2,    // w <- reset_bias + reset_std xi, on the selected input lines
};

// The scalars of a process (passed by value to the per-cell body, also on the GPU).
struct DeviceProcessParams {
  DeviceConfigArgs device;
  DeviceProcess process;
  double alpha;       // strength of decay and diffusion (1: one unit of time)
  uint64_t pop_seed;  // population seed: the per-cell process parameters (step 8)
  uint64_t seed;      // tile seed and call: diffusion/reset noise and write noise
  uint64_t call;
};

struct DeviceProcessArgs {
  TensorView weight;      // [out, in]: changed in place, or (with persistent) the apparent weights
  TensorView persistent;  // [out, in] or undefined: the weights the process acts on
  TensorView columns;     // uint8 [in] (kReset: 1 = reset this input line) or undefined (all lines)
  DeviceCellViews cells;
  DeviceProcessParams params;
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

// One cell of DeviceProcessArgs (§3.5): the process on the persistent (or only) weight, then the
// model's clip, then (write noise) the apparent weight redrawn. Cells of lines a reset skips are
// left as they are.
template <class Model, typename T>
XB_HD XB_INLINE void process_cell(const DeviceProcessParams& a, T* weight, T* persistent, const uint8_t* columns,
                                  const DeviceCells<T>& v, int64_t cells, int64_t in_size, int64_t cell) {
  if (a.process == DeviceProcess::kReset && columns != nullptr && columns[cell % in_size] == 0) return;
  const PopulationKey key{a.pop_seed, cells, cell};
  T* target = persistent != nullptr ? persistent : weight;
  T w = target[cell];
  if (a.process == DeviceProcess::kDecay) {
    const T bias = cell_reset_bias<T>(a.device, key);
    const T scale = T(1) - T(a.alpha) * (T(1) - cell_decay_scale<T>(a.device, key));
    w = (w - bias) * scale + bias;
  } else {
    const T xi = T(normal_at(a.seed, Stream::kDeviceProcess, a.call, static_cast<uint64_t>(cell)));
    w = a.process == DeviceProcess::kDiffuse ? w + T(a.alpha) * cell_diffusion_rate<T>(a.device, key) * xi
                                             : cell_reset_bias<T>(a.device, key) + T(a.device.reset_std) * xi;
  }
  w = Model::clip(load_cell(v, Model::kCellFields, cell), w);
  target[cell] = w;
  if (persistent != nullptr) {
    const T noise = T(a.device.write_noise_std * a.device.dw_min);
    weight[cell] = w + noise * T(normal_at(a.seed, Stream::kWriteNoise, a.call, static_cast<uint64_t>(cell)));
  }
}

namespace cpu {
void populate_device(const PopulateDeviceArgs& args);
void clip_weights(const ClipWeightsArgs& args);
void device_process(const DeviceProcessArgs& args);
}  // namespace cpu
namespace cuda {
void populate_device(const PopulateDeviceArgs& args, uintptr_t stream);
void clip_weights(const ClipWeightsArgs& args, uintptr_t stream);
void device_process(const DeviceProcessArgs& args, uintptr_t stream);
}  // namespace cuda

}  // namespace xbarsim
