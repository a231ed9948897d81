// Checks of the per-tile device-state arguments shared by the update and transfer bindings: the
// per-cell arrays a device model reads, [out, in] companions of a weight (persistent weights), pulse
// counters and PiecewiseStep tables. Each throws ValueError/TypeError naming the argument.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xbarsim/core/tensor_view.h"
#include "xbarsim/devices/device_args.h"

namespace xbarsim::bindings {

// The per-cell arrays by name, in the order of DeviceCellViews.
struct CellFieldName {
  const char* name;
  uint32_t bit;
  TensorView DeviceCellViews::*member;
};
extern const CellFieldName kCellFieldNames[9];

std::vector<std::string> cell_field_names(DeviceModel model);

// Every array the model reads must be a contiguous [out, in] view of the weight's dtype and device;
// `what` names the struct in messages ("pulsed_update: cells", "transfer: cells[2]").
void check_cells(const std::string& what, const DeviceCellViews& cells, DeviceModel model, const TensorView& weight);

// A contiguous floating [rows, cols] view of the weight's dtype and device (rows < 0: any).
void check_matrix(const std::string& what, const TensorView& v, const TensorView& weight, int64_t rows, int64_t cols);

// int64 [kNumCounters] on the weight's device.
void check_counters(const std::string& what, const TensorView& counters, const TensorView& weight);

// PiecewiseStep's tables: both given, same length >= 1, the weight's dtype and device. `suffix` is
// appended to the argument names ("[k]" for a tile of a list).
void check_piecewise(const std::string& where, const std::optional<TensorView>& up,
                     const std::optional<TensorView>& down, const TensorView& weight, const std::string& suffix = "");

}  // namespace xbarsim::bindings
