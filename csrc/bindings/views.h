// TensorView construction and checks for the bindings. Python builds views with
// xbarsim.ops._views.view(tensor); the checks here re-validate cheaply and name the argument.
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "xbarsim/core/tensor_view.h"

namespace xbarsim::bindings {

void register_views(pybind11::module_& m);

// Throws ValueError/TypeError naming `what` unless the view has the rank, dtype and device wanted.
void expect_view(const TensorView& v, const char* what, int ndim, DType dtype);
void expect_floating(const TensorView& v, const char* what, int ndim);
void expect_same_device(const TensorView& a, const TensorView& b, const char* what_a, const char* what_b);
void expect_contiguous(const TensorView& v, const char* what);

}  // namespace xbarsim::bindings
