// _core read-path ops: IoParams, the prologue/epilogue passes around the caller's GEMM and the
// average_abs_max running maximum. Converts, re-checks cheap invariants (naming the argument),
// releases the GIL and dispatches; the round loop and the GEMM live in xbarsim.ops.mvm.
#include <pybind11/native_enum.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>

#include "../dispatch.h"
#include "registry.h"
#include "views.h"
#include "xbarsim/ops/io_stages.h"

namespace py = pybind11;

namespace xbarsim::bindings {
namespace {

TensorView absent() { return TensorView{}; }

void expect_len(const TensorView& v, const char* what, int64_t n) {
  if (v.numel() != n)
    throw py::value_error(std::string(what) + " must have " + std::to_string(n) + " elements; got " +
                          std::to_string(v.numel()));
}

void expect_rows(const std::optional<TensorView>& rows, const TensorView& like, const char* fn, int64_t k) {
  if (!rows) return;
  const std::string what = std::string(fn) + ": rows";
  expect_view(*rows, what.c_str(), 1, DType::kInt64);
  expect_same_device(*rows, like, what.c_str(), "the data");
  expect_len(*rows, what.c_str(), k);
}

void expect_rng_range(const char* fn, uint32_t round, int64_t rows, int64_t lines) {
  if (round >= kIoMaxRounds)
    throw py::value_error(std::string(fn) + ": round must be < 2^24; got " + std::to_string(round));
  if (static_cast<uint64_t>(rows) * static_cast<uint64_t>(io_quads(lines)) >= kIoMaxRowQuads)
    throw py::value_error(std::string(fn) + ": rows * ceil(lines / 4) must be < 2^40 (RNG element numbering)");
}

IoPrologueArgs prologue_args(const IoParams& params, const TensorView& x, const TensorView& xq, const TensorView& scale,
                             std::optional<TensorView> vnorm, std::optional<TensorView> rows, uint64_t seed,
                             uint64_t call, uint32_t round, double reduction, bool compute_scale) {
  expect_floating(x, "io_prologue: x", 2);
  const int64_t m = x.size(0), n = x.size(1);
  expect_view(xq, "io_prologue: xq", 2, x.dtype);
  expect_same_device(x, xq, "io_prologue: x", "xq");
  const int64_t k = xq.size(0);
  if (xq.size(1) != n) throw py::value_error("io_prologue: xq must have shape [k, n] with the n of x");
  if (!rows && k != m) throw py::value_error("io_prologue: xq must have the rows of x when rows is absent");
  expect_rows(rows, x, "io_prologue", k);
  expect_view(scale, "io_prologue: scale", 1, x.dtype);
  expect_same_device(x, scale, "io_prologue: x", "scale");
  expect_len(scale, "io_prologue: scale", m);
  if (io_needs_vnorm(params)) {
    if (!vnorm) throw py::value_error("io_prologue: vnorm is required for additive_constant weight noise");
    expect_view(*vnorm, "io_prologue: vnorm", 1, x.dtype);
    expect_same_device(x, *vnorm, "io_prologue: x", "vnorm");
    if (vnorm->numel() < k) throw py::value_error("io_prologue: vnorm must have at least k elements");
  }
  expect_rng_range("io_prologue", round, m, n);
  IoPrologueArgs a{};
  a.x = x;
  a.rows = rows ? *rows : absent();
  a.xq = xq;
  a.scale = scale;
  a.vnorm = vnorm ? *vnorm : absent();
  a.params = params;
  a.seed = seed;
  a.call = call;
  a.round = round;
  a.reduction = reduction;
  a.compute_scale = compute_scale;
  return a;
}

void prologue(const IoParams& params, const TensorView& x, const TensorView& xq, const TensorView& scale,
              std::optional<TensorView> vnorm, std::optional<TensorView> rows, uint64_t seed, uint64_t call,
              uint32_t round, double reduction, bool compute_scale, uintptr_t cuda_stream) {
  const IoPrologueArgs a =
      prologue_args(params, x, xq, scale, vnorm, rows, seed, call, round, reduction, compute_scale);
  py::gil_scoped_release release;
  dispatch_by_device(x, [&] { cpu::io_prologue(a); }, [&] { cuda::io_prologue(a, cuda_stream); });
}

IoEpilogueArgs epilogue_args(const IoParams& params, const TensorView& yhat, const TensorView& y,
                             const TensorView& scale, std::optional<TensorView> sat, std::optional<TensorView> rows,
                             std::optional<TensorView> vnorm, std::optional<TensorView> pcm, uint64_t seed,
                             uint64_t call, uint32_t round, double reduction, double gain) {
  expect_floating(yhat, "io_epilogue: yhat", 2);
  const int64_t k = yhat.size(0), n = yhat.size(1);
  expect_view(y, "io_epilogue: y", 2, yhat.dtype);
  expect_same_device(yhat, y, "io_epilogue: yhat", "y");
  const int64_t m = y.size(0);
  if (y.size(1) != n) throw py::value_error("io_epilogue: y must have shape [m, n] with the n of yhat");
  if (!rows && k != m) throw py::value_error("io_epilogue: yhat must have the rows of y when rows is absent");
  expect_rows(rows, yhat, "io_epilogue", k);
  expect_view(scale, "io_epilogue: scale", 1, yhat.dtype);
  expect_same_device(yhat, scale, "io_epilogue: yhat", "scale");
  expect_len(scale, "io_epilogue: scale", m);
  if (params.bound_management) {
    if (!sat) throw py::value_error("io_epilogue: sat is required with bound management");
    expect_view(*sat, "io_epilogue: sat", 1, DType::kUInt8);
    expect_same_device(yhat, *sat, "io_epilogue: yhat", "sat");
    expect_len(*sat, "io_epilogue: sat", k);
  }
  if (io_needs_vnorm(params)) {
    if (!vnorm) throw py::value_error("io_epilogue: vnorm is required for additive_constant weight noise");
    expect_view(*vnorm, "io_epilogue: vnorm", 1, yhat.dtype);
    expect_same_device(yhat, *vnorm, "io_epilogue: yhat", "vnorm");
    if (vnorm->numel() < k) throw py::value_error("io_epilogue: vnorm must have at least k elements");
  }
  if (io_needs_pcm(params)) {
    if (!pcm) throw py::value_error("io_epilogue: pcm is required for pcm_read weight noise");
    expect_view(*pcm, "io_epilogue: pcm", 2, yhat.dtype);
    expect_same_device(yhat, *pcm, "io_epilogue: yhat", "pcm");
    if (pcm->size(0) != k || pcm->size(1) != n) throw py::value_error("io_epilogue: pcm must have the shape of yhat");
  }
  expect_rng_range("io_epilogue", round, m, n);
  IoEpilogueArgs a{};
  a.yhat = yhat;
  a.pcm = pcm ? *pcm : absent();
  a.y = y;
  a.rows = rows ? *rows : absent();
  a.scale = scale;
  a.vnorm = vnorm ? *vnorm : absent();
  a.sat = sat ? *sat : absent();
  a.params = params;
  a.seed = seed;
  a.call = call;
  a.round = round;
  a.reduction = reduction;
  a.gain = gain;
  return a;
}

void epilogue(const IoParams& params, const TensorView& yhat, const TensorView& y, const TensorView& scale,
              std::optional<TensorView> sat, std::optional<TensorView> rows, std::optional<TensorView> vnorm,
              std::optional<TensorView> pcm, uint64_t seed, uint64_t call, uint32_t round, double reduction,
              double gain, uintptr_t cuda_stream) {
  const IoEpilogueArgs a =
      epilogue_args(params, yhat, y, scale, sat, rows, vnorm, pcm, seed, call, round, reduction, gain);
  py::gil_scoped_release release;
  dispatch_by_device(yhat, [&] { cpu::io_epilogue(a); }, [&] { cuda::io_epilogue(a, cuda_stream); });
}

void nm_running(const TensorView& x, const TensorView& scale, const TensorView& state, double nm_decay,
                uintptr_t cuda_stream) {
  expect_floating(x, "io_nm_running: x", 2);
  expect_view(scale, "io_nm_running: scale", 1, x.dtype);
  expect_len(scale, "io_nm_running: scale", x.size(0));
  expect_view(state, "io_nm_running: state", 1, x.dtype);
  expect_len(state, "io_nm_running: state", 1);
  expect_same_device(x, scale, "io_nm_running: x", "scale");
  expect_same_device(x, state, "io_nm_running: x", "state");
  IoNmRunningArgs a{};
  a.x = x;
  a.scale = scale;
  a.state = state;
  a.nm_decay = nm_decay;
  py::gil_scoped_release release;
  dispatch_by_device(x, [&] { cpu::io_nm_running(a); }, [&] { cuda::io_nm_running(a, cuda_stream); });
}

}  // namespace

void register_io_ops(py::module_& m) {
  py::native_enum<NoiseManagement>(m, "NoiseManagement", "enum.Enum", "noise_management of IOConfig")
      .value("none", NoiseManagement::kNone)
      .value("abs_max", NoiseManagement::kAbsMax)
      .value("max", NoiseManagement::kMax)
      .value("constant", NoiseManagement::kConstant)
      .value("average_abs_max", NoiseManagement::kAverageAbsMax)
      .finalize();
  py::native_enum<WeightNoiseType>(m, "WeightNoiseType", "enum.Enum", "w_noise_type of IOConfig")
      .value("none", WeightNoiseType::kNone)
      .value("additive_constant", WeightNoiseType::kAdditiveConstant)
      .value("pcm_read", WeightNoiseType::kPcmRead)
      .finalize();

  py::class_<IoParams>(m, "IoParams",
                       "Config-derived constants of one direction of the read path (ops/io_stages.h); "
                       "filled by xbarsim.ops.mvm from an IOConfig.")
      .def(py::init([]() { return IoParams{}; }))
      .def_readwrite("noise_management", &IoParams::noise_management)
      .def_readwrite("nm_thres_eff", &IoParams::nm_thres_eff)
      .def_readwrite("nm_decay", &IoParams::nm_decay)
      .def_readwrite("inp_res_eff", &IoParams::inp_res_eff)
      .def_readwrite("inp_bound_eff", &IoParams::inp_bound_eff)
      .def_readwrite("inp_sto_round", &IoParams::inp_sto_round)
      .def_readwrite("inp_noise", &IoParams::inp_noise)
      .def_readwrite("inp_asymmetry", &IoParams::inp_asymmetry)
      .def_readwrite("out_res_eff", &IoParams::out_res_eff)
      .def_readwrite("out_bound_eff", &IoParams::out_bound_eff)
      .def_readwrite("out_sto_round", &IoParams::out_sto_round)
      .def_readwrite("out_noise", &IoParams::out_noise)
      .def_readwrite("out_asymmetry", &IoParams::out_asymmetry)
      .def_readwrite("w_noise", &IoParams::w_noise)
      .def_readwrite("w_noise_type", &IoParams::w_noise_type)
      .def_readwrite("bound_management", &IoParams::bound_management)
      .def_readwrite("max_bm_factor", &IoParams::max_bm_factor)
      .def_readwrite("max_bm_res", &IoParams::max_bm_res)
      .def_readwrite("bm_test_negative_bound", &IoParams::bm_test_negative_bound)
      .def_readwrite("backward", &IoParams::backward);

  m.def("io_prologue", &prologue, py::arg("params"), py::arg("x"), py::arg("xq"), py::arg("scale"),
        py::arg("vnorm") = py::none(), py::arg("rows") = py::none(), py::kw_only(), py::arg("seed"),
        py::arg("call"), py::arg("round"), py::arg("reduction"), py::arg("compute_scale"),
        py::arg("cuda_stream") = 0,
        "Prologue of one read round: noise-management scale, DAC into xq and ||v||_2 per row "
        "(analog-tile.md §1.3 steps 1-3).");
  m.def("io_epilogue", &epilogue, py::arg("params"), py::arg("yhat"), py::arg("y"), py::arg("scale"),
        py::arg("sat") = py::none(), py::arg("rows") = py::none(), py::arg("vnorm") = py::none(),
        py::arg("pcm") = py::none(), py::kw_only(), py::arg("seed"), py::arg("call"), py::arg("round"),
        py::arg("reduction"), py::arg("gain"), py::arg("cuda_stream") = 0,
        "Epilogue of one read round: weight noise, ADC, saturation flags and rescale into rows of y "
        "(analog-tile.md §1.3 steps 5.3-8).");
  m.def("io_nm_running", &nm_running, py::arg("x"), py::arg("scale"), py::arg("state"), py::arg("nm_decay"),
        py::arg("cuda_stream") = 0,
        "average_abs_max noise management: running maximum per vector in sample order (analog-tile.md §1.3 step 1).");
  // Test probes: the CUDA kernels' per-quad decomposition on the host (CPU tensors only).
  auto t = m.attr("testing").cast<py::module_>();
  t.def("io_prologue_by_quads",
        [](const IoParams& params, const TensorView& x, const TensorView& xq, const TensorView& scale,
           std::optional<TensorView> vnorm, std::optional<TensorView> rows, uint64_t seed, uint64_t call,
           uint32_t round, double reduction, bool compute_scale) {
          const IoPrologueArgs a =
              prologue_args(params, x, xq, scale, vnorm, rows, seed, call, round, reduction, compute_scale);
          if (x.device != DeviceKind::kCPU) throw py::value_error("io_prologue_by_quads: x must be a CPU tensor");
          py::gil_scoped_release release;
          cpu::io_prologue_by_quads(a);
        },
        py::arg("params"), py::arg("x"), py::arg("xq"), py::arg("scale"), py::arg("vnorm") = py::none(),
        py::arg("rows") = py::none(), py::kw_only(), py::arg("seed"), py::arg("call"), py::arg("round"),
        py::arg("reduction"), py::arg("compute_scale"),
        "io_prologue computed quad by quad as the CUDA kernel does (host, one thread).");
  t.def("io_epilogue_by_quads",
        [](const IoParams& params, const TensorView& yhat, const TensorView& y, const TensorView& scale,
           std::optional<TensorView> sat, std::optional<TensorView> rows, std::optional<TensorView> vnorm,
           std::optional<TensorView> pcm, uint64_t seed, uint64_t call, uint32_t round, double reduction,
           double gain) {
          const IoEpilogueArgs a =
              epilogue_args(params, yhat, y, scale, sat, rows, vnorm, pcm, seed, call, round, reduction, gain);
          if (yhat.device != DeviceKind::kCPU) throw py::value_error("io_epilogue_by_quads: yhat must be a CPU tensor");
          py::gil_scoped_release release;
          cpu::io_epilogue_by_quads(a);
        },
        py::arg("params"), py::arg("yhat"), py::arg("y"), py::arg("scale"), py::arg("sat") = py::none(),
        py::arg("rows") = py::none(), py::arg("vnorm") = py::none(), py::arg("pcm") = py::none(), py::kw_only(),
        py::arg("seed"), py::arg("call"), py::arg("round"), py::arg("reduction"), py::arg("gain"),
        "io_epilogue computed quad by quad as the CUDA kernel does (host, one thread).");

  m.def("io_bm_max_rounds",
        [](const IoParams& p) {
          return p.bound_management ? bm_max_rounds(p.max_bm_factor, p.max_bm_res, p.inp_res_eff) : 1;
        },
        py::arg("params"), "Number of bound-management rounds the stop rules allow (analog-tile.md §1.3 step 7).");
}

}  // namespace xbarsim::bindings
