// The op groups bound into xbarsim._core; module.cpp calls each once. One file per group.
#pragma once

#include <pybind11/pybind11.h>

namespace xbarsim::bindings {

void register_testing(pybind11::module_& m);     // testing.cpp: Philox and distribution probes
void register_io_ops(pybind11::module_& m);      // io_ops.cpp: analog read path stages
void register_update_ops(pybind11::module_& m);  // update_ops.cpp: pulsed update, device population
void register_transfer_ops(pybind11::module_& m);  // transfer_ops.cpp: multi-tile transfers, tile reduction

}  // namespace xbarsim::bindings
