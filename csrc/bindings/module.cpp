// xbarsim._core: the native core. A table of contents; each op group registers itself.
#include <pybind11/pybind11.h>

#include <string>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "../dispatch.h"
#include "registry.h"
#include "views.h"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "xbarsim native core: stateless analog-tile kernels over TensorViews (CPU and CUDA)";
  m.attr("__version__") = XBARSIM_VERSION;
  m.def("built_with_cuda", &xbarsim::built_with_cuda, "True if the CUDA kernels were compiled in.");
  m.def("cuda_device_count", &xbarsim::cuda_device_count,
        "Number of usable CUDA devices (0 when built without CUDA or none is present).");
  m.def("openmp_threads", []() {
#if defined(_OPENMP)
    return omp_get_max_threads();
#else
    return 1;
#endif
  }, "OpenMP threads used by the CPU loops (1 when built without OpenMP).");
  m.def("set_openmp_threads", [](int n) {
    if (n < 1) throw pybind11::value_error("set_openmp_threads: n must be >= 1; got " + std::to_string(n));
#if defined(_OPENMP)
    omp_set_num_threads(n);
#endif
  }, pybind11::arg("n"), "Set the OpenMP threads of the CPU loops (results never depend on it).");

  xbarsim::bindings::register_views(m);
  xbarsim::bindings::register_testing(m);
  xbarsim::bindings::register_io_ops(m);
  xbarsim::bindings::register_update_ops(m);
  xbarsim::bindings::register_transfer_ops(m);
}
