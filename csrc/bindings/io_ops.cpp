#include "registry.h"

namespace xbarsim::bindings {

void register_io_ops(pybind11::module_& m) { (void)m; }

}  // namespace xbarsim::bindings
