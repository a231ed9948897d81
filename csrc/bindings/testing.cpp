// _core.testing: probes of the per-element random number functions for known-answer, distribution
// and CPU/CUDA parity tests.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>

#include "../dispatch.h"
#include "registry.h"
#include "views.h"
#include "xbarsim/ops/testing.h"
#include "xbarsim/rng/distributions.h"
#include "xbarsim/math/exact_math.h"

namespace py = pybind11;

namespace xbarsim::bindings {

void register_testing(py::module_& m) {
  auto t = m.def_submodule("testing", "Test probes of the per-element functions (not a public API).");
  t.def("philox4x32_10",
        [](std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
          const Philox4x32 r = philox4x32_10(c[0], c[1], c[2], c[3], k[0], k[1]);
          return std::array<uint32_t, 4>{r.v[0], r.v[1], r.v[2], r.v[3]};
        },
        py::arg("counter"), py::arg("key"), "Philox4x32-10 of one (counter, key) pair.");
  t.def("exact_logf", &exact_logf, py::arg("v"));
  t.def("exact_expf", &exact_expf, py::arg("v"));
  t.def("exact_sincos_2pi", [](float u) {
    float s, c;
    exact_sincos_2pi(u, &s, &c);
    return std::array<float, 2>{s, c};
  }, py::arg("u"));
  t.def("fill_random",
        [](const TensorView& out, uint64_t seed, uint32_t stream, uint64_t call, const std::string& kind,
           uintptr_t cuda_stream) {
          expect_view(out, "fill_random: out", out.ndim, DType::kFloat32);
          FillRandomArgs a;
          a.out = out;
          a.seed = seed;
          a.stream = stream;
          a.call = call;
          if (kind == "uniform") a.kind = RandomKind::kUniform;
          else if (kind == "normal") a.kind = RandomKind::kNormal;
          else throw py::value_error("fill_random: kind must be 'uniform' or 'normal'; got " + kind);
          py::gil_scoped_release release;
          dispatch_by_device(out, [&] { cpu::fill_random(a); }, [&] { cuda::fill_random(a, cuda_stream); });
        },
        py::arg("out"), py::arg("seed"), py::arg("stream"), py::arg("call"), py::arg("kind"),
        py::arg("cuda_stream") = 0,
        "Fill a float32 tensor with uniform_at/normal_at(seed, stream, call, index).");
}

}  // namespace xbarsim::bindings
