// xbarsim._core: the native core. A table of contents; each op group registers itself.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "../cpu/cpu_clones.h"
#include "../dispatch.h"
#include "registry.h"
#include "views.h"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  // An XBARSIM_CPU_ISA request this CPU cannot honour fails the import (ImportError) rather than
  // silently running another ISA than the one a test asked for.
  if (const std::string err = xbarsim::cpu::cpu_isa_request_error(); !err.empty()) throw std::runtime_error(err);
  m.doc() = "xbarsim native core: stateless analog-tile kernels over TensorViews (CPU and CUDA)";
  m.attr("__version__") = XBARSIM_VERSION;
  m.def("built_with_cuda", &xbarsim::built_with_cuda, "True if the CUDA kernels were compiled in.");
  m.def("cuda_device_count", &xbarsim::cuda_device_count,
        "Number of usable CUDA devices (0 when built without CUDA, none is present or the runtime fails).");
  m.def("cuda_runtime_status", &xbarsim::cuda_runtime_status,
        "'ok' when the CUDA runtime answers; else 'built without CUDA' or the runtime's error name and text.");
  m.def("cpu_isa", []() { return std::string(xbarsim::cpu::cpu_isa_name(xbarsim::cpu::cpu_isa())); },
        "Instruction set the CPU hot loops run with: 'avx512', 'avx2' or 'baseline' (XBARSIM_CPU_ISA, read "
        "at load, forces one; default: the best the CPU has).");
  m.def("cpu_isas", &xbarsim::cpu::cpu_isas_available,
        "The instruction sets this build and CPU can run the hot loops with, best first.");
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
