#include "device_checks.h"

#include <pybind11/pybind11.h>

#include <string>

#include "views.h"
#include "xbarsim/devices/device_visit.h"
#include "xbarsim/update/update_args.h"

namespace py = pybind11;

namespace xbarsim::bindings {

const CellFieldName kCellFieldNames[9] = {
    {"b_min", kFieldBMin, &DeviceCellViews::b_min},
    {"b_max", kFieldBMax, &DeviceCellViews::b_max},
    {"scale_up", kFieldScaleUp, &DeviceCellViews::scale_up},
    {"scale_down", kFieldScaleDown, &DeviceCellViews::scale_down},
    {"slope_up", kFieldSlopeUp, &DeviceCellViews::slope_up},
    {"slope_down", kFieldSlopeDown, &DeviceCellViews::slope_down},
    {"reference", kFieldReference, &DeviceCellViews::reference},
    {"gamma_up", kFieldGammaUp, &DeviceCellViews::gamma_up},
    {"gamma_down", kFieldGammaDown, &DeviceCellViews::gamma_down},
};

std::vector<std::string> cell_field_names(DeviceModel model) {
  const uint32_t fields = device_cell_fields(model);
  std::vector<std::string> out;
  for (const auto& f : kCellFieldNames)
    if (fields & f.bit) out.emplace_back(f.name);
  return out;
}

void check_cells(const std::string& what, const DeviceCellViews& cells, DeviceModel model, const TensorView& weight) {
  const uint32_t fields = device_cell_fields(model);
  for (const auto& f : kCellFieldNames) {
    if (!(fields & f.bit)) continue;
    const TensorView& v = cells.*f.member;
    const std::string name = what + "." + f.name;
    if (v.ndim != 2 || v.shape[0] != weight.shape[0] || v.shape[1] != weight.shape[1])
      throw py::value_error(name + " must have the weight's shape [out, in]");
    if (v.dtype != weight.dtype) throw py::type_error(name + " must have the weight's dtype");
    expect_same_device(v, weight, name.c_str(), "weight");
    expect_contiguous(v, name.c_str());
  }
}

void check_matrix(const std::string& what, const TensorView& v, const TensorView& weight, int64_t rows, int64_t cols) {
  expect_floating(v, what.c_str(), 2);
  if (v.dtype != weight.dtype) throw py::type_error(what + " must have the weight's dtype");
  if ((rows >= 0 && v.shape[0] != rows) || v.shape[1] != cols) throw py::value_error(what + " has the wrong shape");
  expect_same_device(v, weight, what.c_str(), "weight");
}

void check_counters(const std::string& what, const TensorView& counters, const TensorView& weight) {
  expect_view(counters, what.c_str(), 1, DType::kInt64);
  if (counters.shape[0] != kNumCounters)
    throw py::value_error(what + " must have " + std::to_string(kNumCounters) + " entries");
  expect_same_device(counters, weight, what.c_str(), "weight");
}

void check_piecewise(const std::string& where, const std::optional<TensorView>& up,
                     const std::optional<TensorView>& down, const TensorView& weight, const std::string& suffix) {
  const std::string up_name = where + ": piecewise_up" + suffix, down_name = where + ": piecewise_down" + suffix;
  if (!up || !down)
    throw py::value_error(where + ": piecewise_up" + suffix + " and piecewise_down" + suffix +
                          " are required for PiecewiseStep");
  expect_floating(*up, up_name.c_str(), 1);
  expect_floating(*down, down_name.c_str(), 1);
  if (up->shape[0] < 1 || up->shape[0] != down->shape[0])
    throw py::value_error(where + ": piecewise_up" + suffix + " and piecewise_down" + suffix +
                          " must have the same length >= 1");
  if (up->dtype != weight.dtype || down->dtype != weight.dtype)
    throw py::type_error(where + ": piecewise tables must have the weight's dtype");
  expect_same_device(*up, weight, up_name.c_str(), "weight");
  expect_same_device(*down, weight, down_name.c_str(), "weight");
}

}  // namespace xbarsim::bindings
