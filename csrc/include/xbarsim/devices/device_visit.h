// The one switch from DeviceModel to a model type: visit_device(model, fn) calls fn(ModelType{}).
// Spec: analog-tile.md §3.3. Adding a model = one header in devices/, one line here, one dataclass.
#pragma once

#include "xbarsim/core/check.h"
#include "xbarsim/devices/constant_step.h"
#include "xbarsim/devices/exp_step.h"
#include "xbarsim/devices/linear_step.h"
#include "xbarsim/devices/piecewise_step.h"
#include "xbarsim/devices/pow_step.h"
#include "xbarsim/devices/soft_bounds.h"
#include "xbarsim/devices/soft_bounds_reference.h"

namespace xbarsim {

template <typename Fn>
void visit_device(DeviceModel model, Fn&& fn) {
  switch (model) {
    case DeviceModel::kConstantStep: fn(ConstantStepModel{}); return;
    case DeviceModel::kLinearStep: fn(LinearStepModel{}); return;
    case DeviceModel::kSoftBounds: fn(SoftBoundsModel{}); return;
    case DeviceModel::kSoftBoundsReference: fn(SoftBoundsReferenceModel{}); return;
    case DeviceModel::kExpStep: fn(ExpStepModel{}); return;
    case DeviceModel::kPowStep: fn(PowStepModel{}); return;
    case DeviceModel::kPiecewiseStep: fn(PiecewiseStepModel{}); return;
  }
  detail::throw_invalid("visit_device", "unknown device model ", static_cast<int>(model));
}

// The per-cell arrays a model reads (kCellFields), by value.
inline uint32_t device_cell_fields(DeviceModel model) {
  uint32_t out = 0;
  visit_device(model, [&](auto m) { out = decltype(m)::kCellFields; });
  return out;
}

}  // namespace xbarsim
