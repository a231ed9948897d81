// _core bindings of the pulsed update and the device-state ops: enums, the argument structs (one
// field per dataclass field, same names), the ops and their test probes. Thin: convert, check
// cheaply, release the GIL, dispatch.
#include <pybind11/native_enum.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "../dispatch.h"
#include "device_checks.h"
#include "registry.h"
#include "views.h"
#include "xbarsim/devices/device_visit.h"
#include "xbarsim/math/exact_math_f64.h"
#include "xbarsim/ops/device_ops.h"
#include "xbarsim/ops/pulsed_update.h"
#include "xbarsim/update/pulse_noise.h"

namespace py = pybind11;

namespace xbarsim::bindings {
namespace {

DType parse_float_dtype(const std::string& s) {
  if (s == "float32") return DType::kFloat32;
  if (s == "float64") return DType::kFloat64;
  throw py::type_error("dtype must be 'float32' or 'float64'; got " + s);
}

template <typename T>
DeviceCell<T> cell_from_map(const std::map<std::string, double>& m) {
  DeviceCell<T> c{};
  auto get = [&](const char* k) {
    auto it = m.find(k);
    return it == m.end() ? T(0) : T(it->second);
  };
  c.b_min = get("b_min");
  c.b_max = get("b_max");
  c.scale_up = get("scale_up");
  c.scale_down = get("scale_down");
  c.slope_up = get("slope_up");
  c.slope_down = get("slope_down");
  c.reference = get("reference");
  c.gamma_up = get("gamma_up");
  c.gamma_down = get("gamma_down");
  return c;
}

template <typename T>
double probe_pulse(const DeviceConfigArgs& cfg, const std::map<std::string, double>& cell, double w, bool up,
                   double xi, const std::vector<double>& pw_up, const std::vector<double>& pw_down) {
  std::vector<T> tu(pw_up.begin(), pw_up.end()), td(pw_down.begin(), pw_down.end());
  DeviceScalars<T> s = make_device_scalars<T>(cfg, TensorView{}, TensorView{});
  s.piecewise_up = tu.data();
  s.piecewise_down = td.data();
  s.piecewise_len = static_cast<int32_t>(tu.size());
  const DeviceCell<T> c = cell_from_map<T>(cell);
  double out = 0;
  visit_device(cfg.model, [&](auto model) {
    out = static_cast<double>(decltype(model)::pulse(c, s, T(w), up, T(xi)));
  });
  return out;
}

template <typename T>
py::dict probe_populate(const DeviceConfigArgs& cfg, uint64_t seed, int64_t cells, int64_t cell, int64_t in_size) {
  DeviceCell<T> c{};
  visit_device(cfg.model, [&](auto model) { c = populate_cell<decltype(model), T>(cfg, seed, cells, cell, in_size); });
  py::dict d;
  d["b_min"] = static_cast<double>(c.b_min);
  d["b_max"] = static_cast<double>(c.b_max);
  d["scale_up"] = static_cast<double>(c.scale_up);
  d["scale_down"] = static_cast<double>(c.scale_down);
  d["slope_up"] = static_cast<double>(c.slope_up);
  d["slope_down"] = static_cast<double>(c.slope_down);
  d["reference"] = static_cast<double>(c.reference);
  d["gamma_up"] = static_cast<double>(c.gamma_up);
  d["gamma_down"] = static_cast<double>(c.gamma_down);
  return d;
}

int64_t workspace_bytes(const UpdateArgs& u, double lr, double granularity, int64_t m, int64_t in, int64_t out,
                        const std::string& dtype) {
  const DType t = parse_float_dtype(dtype);
  const double abs_lr = lr < 0 ? -lr : lr;
  const int64_t bl_max = update_bl_max(abs_lr, granularity, u.desired_bl, u.fixed_bl, u.update_bl_management);
  if (bl_max > kMaxBL)
    throw py::value_error("pulsed_update: lr must give at most " + std::to_string(kMaxBL) +
                          " pulses per vector (ceil(|lr| / granularity) without management); got " +
                          std::to_string(bl_max));
  const UpdateWorkspaceLayout l = update_workspace_layout(m, in, out, bl_max, is_stochastic(u.pulse_type),
                                                         t == DType::kFloat64 ? 8 : 4);
  return static_cast<int64_t>(l.total);
}

// The scalar arguments of pulsed_update: a pulsed type, BL within the bit-line budget, finite lr and
// a positive granularity.
void check_update_scalars(const UpdateArgs& update, double lr, double granularity) {
  if (!is_pulsed(update.pulse_type))
    throw py::value_error("pulsed_update: update.pulse_type must be a pulsed type (the exact types run in Python)");
  if (update.desired_bl < 1 || update.desired_bl > kMaxBL)
    throw py::value_error("pulsed_update: update.desired_bl must be in [1, " + std::to_string(kMaxBL) + "]");
  if (!(granularity > 0) || granularity == std::numeric_limits<double>::infinity())
    throw py::value_error("pulsed_update: granularity must be a finite number > 0");
  if (lr != lr || lr == std::numeric_limits<double>::infinity() || lr == -std::numeric_limits<double>::infinity())
    throw py::value_error("pulsed_update: lr must be finite");
}

// The workspace must be a uint8 buffer on the weight's device, large enough for this call.
void check_update_workspace(const TensorView& workspace, const TensorView& weight, const UpdateArgs& update,
                            double lr, double granularity, int64_t m) {
  const int64_t out = weight.shape[0], in = weight.shape[1];
  const int64_t need = workspace_bytes(update, lr, granularity, m, in, out,
                                       weight.dtype == DType::kFloat64 ? "float64" : "float32");
  expect_view(workspace, "pulsed_update: workspace", 1, DType::kUInt8);
  expect_same_device(workspace, weight, "pulsed_update: workspace", "weight");
  if (workspace.shape[0] < need) throw py::value_error("pulsed_update: workspace is too small");
  // Element indices of the pulse noise are (b * cells + cell) * noise_words + k/4: keep them < 2^63.
  const double elements = static_cast<double>(m) * static_cast<double>(in * out) * static_cast<double>(kMaxBL);
  if (elements > 9.0e18) throw py::value_error("pulsed_update: batch x tile size is too large for the RNG indexing");
}

PulsedUpdateArgs pulsed_update_args(const TensorView& weight, const TensorView& x, const TensorView& d,
                                    const TensorView& workspace, const UpdateArgs& update,
                                    const DeviceConfigArgs& device_model, const DeviceCellViews& cells, double lr,
                                    double granularity, uint64_t seed, uint64_t call,
                                    const std::optional<TensorView>& persistent,
                                    const std::optional<TensorView>& counters,
                                    const std::optional<TensorView>& piecewise_up,
                                    const std::optional<TensorView>& piecewise_down) {
  expect_floating(weight, "pulsed_update: weight", 2);
  const int64_t out = weight.shape[0], in = weight.shape[1];
  check_matrix("pulsed_update: x", x, weight, -1, in);
  const int64_t m = x.shape[0];
  check_matrix("pulsed_update: d", d, weight, m, out);
  check_update_scalars(update, lr, granularity);
  check_cells("pulsed_update: cells", cells, device_model.model, weight);
  check_update_workspace(workspace, weight, update, lr, granularity, m);
  PulsedUpdateArgs a{};
  a.weight = weight;
  a.x = x;
  a.d = d;
  a.workspace = workspace;
  a.update = update;
  a.device = device_model;
  a.cells = cells;
  a.lr = lr;
  a.granularity = granularity;
  a.seed = seed;
  a.call = call;
  if (persistent) {
    check_matrix("pulsed_update: persistent", *persistent, weight, out, in);
    a.persistent = *persistent;
  }
  if (counters) {
    check_counters("pulsed_update: counters", *counters, weight);
    a.counters = *counters;
  }
  if (device_model.model == DeviceModel::kPiecewiseStep) {
    check_piecewise("pulsed_update", piecewise_up, piecewise_down, weight);
    a.piecewise_up = *piecewise_up;
    a.piecewise_down = *piecewise_down;
  }
  return a;
}

void pulsed_update_binding(const TensorView& weight, const TensorView& x, const TensorView& d,
                           const TensorView& workspace, const UpdateArgs& update,
                           const DeviceConfigArgs& device_model, const DeviceCellViews& cells, double lr,
                           double granularity, uint64_t seed, uint64_t call, std::optional<TensorView> persistent,
                           std::optional<TensorView> counters, std::optional<TensorView> piecewise_up,
                           std::optional<TensorView> piecewise_down, uintptr_t cuda_stream) {
  const PulsedUpdateArgs a = pulsed_update_args(weight, x, d, workspace, update, device_model, cells, lr,
                                                granularity, seed, call, persistent, counters, piecewise_up,
                                                piecewise_down);
  py::gil_scoped_release release;
  dispatch_by_device(weight, [&] { cpu::pulsed_update(a); }, [&] { cuda::pulsed_update(a, cuda_stream); });
}

void populate_binding(const DeviceCellViews& cells, const DeviceConfigArgs& device_model, uint64_t seed,
                      uintptr_t cuda_stream) {
  const TensorView& ref = cells.b_min;
  expect_floating(ref, "populate_device: cells.b_min", 2);
  check_cells("populate_device: cells", cells, device_model.model, ref);
  PopulateDeviceArgs a{};
  a.cells = cells;
  a.device = device_model;
  a.seed = seed;
  py::gil_scoped_release release;
  dispatch_by_device(ref, [&] { cpu::populate_device(a); }, [&] { cuda::populate_device(a, cuda_stream); });
}

void clip_binding(const TensorView& weight, const DeviceCellViews& cells, const DeviceConfigArgs& device_model,
                  bool write_noise, uint64_t seed, uint64_t call, std::optional<TensorView> persistent,
                  uintptr_t cuda_stream) {
  expect_floating(weight, "clip_weights: weight", 2);
  check_cells("clip_weights: cells", cells, device_model.model, weight);
  ClipWeightsArgs a{};
  a.weight = weight;
  a.cells = cells;
  a.device = device_model;
  a.write_noise = write_noise;
  a.seed = seed;
  a.call = call;
  if (persistent) {
    check_matrix("clip_weights: persistent", *persistent, weight, weight.shape[0], weight.shape[1]);
    a.persistent = *persistent;
  }
  py::gil_scoped_release release;
  dispatch_by_device(weight, [&] { cpu::clip_weights(a); }, [&] { cuda::clip_weights(a, cuda_stream); });
}

void process_binding(const TensorView& weight, const DeviceCellViews& cells,
                     const DeviceConfigArgs& device_model, DeviceProcess process, double alpha, std::optional<TensorView> columns, uint64_t pop_seed,
                     uint64_t seed, uint64_t call, std::optional<TensorView> persistent, uintptr_t cuda_stream) {
  expect_floating(weight, "device_process: weight", 2);
  check_cells("device_process: cells", cells, device_model.model, weight);
  if (!(alpha >= 0.0) || alpha == std::numeric_limits<double>::infinity())
    throw py::value_error("device_process: alpha must be a finite number >= 0");
  DeviceProcessArgs a{};
  a.weight = weight;
  a.cells = cells;
  a.params = DeviceProcessParams{device_model, process, alpha, pop_seed, seed, call};
  if (persistent) {
    check_matrix("device_process: persistent", *persistent, weight, weight.shape[0], weight.shape[1]);
    a.persistent = *persistent;
  }
  if (columns) {
    expect_view(*columns, "device_process: columns", 1, DType::kUInt8);
    expect_same_device(*columns, weight, "device_process: columns", "weight");
    if (columns->shape[0] != weight.shape[1])
      throw py::value_error("device_process: columns must have one entry per input line (in_size)");
    a.columns = *columns;
  }
  py::gil_scoped_release release;
  dispatch_by_device(weight, [&] { cpu::device_process(a); }, [&] { cuda::device_process(a, cuda_stream); });
}

void register_update_enums(py::module_& m) {
  py::native_enum<PulseType>(m, "PulseType", "enum.Enum", "UpdateConfig.pulse_type (analog-tile.md §2.1).")
      .value("stochastic_compressed", PulseType::kStochasticCompressed)
      .value("stochastic", PulseType::kStochastic)
      .value("deterministic_implicit", PulseType::kDeterministicImplicit)
      .value("mean_count", PulseType::kMeanCount)
      .value("none", PulseType::kNone)
      .value("none_with_device", PulseType::kNoneWithDevice)
      .finalize();
  py::native_enum<DeviceModel>(m, "DeviceModel", "enum.Enum", "Device models of xbarsim.devices (analog-tile.md §3.3).")
      .value("ConstantStep", DeviceModel::kConstantStep)
      .value("LinearStep", DeviceModel::kLinearStep)
      .value("SoftBounds", DeviceModel::kSoftBounds)
      .value("SoftBoundsReference", DeviceModel::kSoftBoundsReference)
      .value("ExpStep", DeviceModel::kExpStep)
      .value("PowStep", DeviceModel::kPowStep)
      .value("PiecewiseStep", DeviceModel::kPiecewiseStep)
      .finalize();
  py::native_enum<DeviceProcess>(m, "DeviceProcess", "enum.Enum", "Device processes applied on request (§3.5).")
      .value("decay", DeviceProcess::kDecay)
      .value("diffuse", DeviceProcess::kDiffuse)
      .value("reset", DeviceProcess::kReset)
      .finalize();
}

// UpdateArgs and DeviceConfigArgs: one read-write attribute per field of their X-macro tables, and
// field_names() listing them (what tests/unit/test_native_fields.py compares with the dataclasses).
void register_config_structs(py::module_& m) {
  auto upd = py::class_<UpdateArgs>(m, "UpdateArgs", "UpdateConfig as the native core sees it (same field names).");
  upd.def(py::init([]() { return UpdateArgs{}; }));
#define XB_BIND_FIELD(type, name) upd.def_readwrite(#name, &UpdateArgs::name);
  XB_UPDATE_FIELDS(XB_BIND_FIELD)
#undef XB_BIND_FIELD
#define XB_FIELD_NAME(type, name) #name,
  upd.def_static("field_names", []() { return std::vector<std::string>{XB_UPDATE_FIELDS(XB_FIELD_NAME)}; },
                 "The UpdateConfig fields the native struct has, in declaration order.");

  auto dev = py::class_<DeviceConfigArgs>(m, "DeviceConfigArgs",
                                          "A device dataclass as the native core sees it (same field names).");
  dev.def(py::init([]() { return DeviceConfigArgs{}; }));
  dev.def_readwrite("model", &DeviceConfigArgs::model);
#define XB_BIND_FIELD(type, name) dev.def_readwrite(#name, &DeviceConfigArgs::name);
  XB_DEVICE_FIELDS(XB_BIND_FIELD)
#undef XB_BIND_FIELD
  dev.def_static("field_names", []() { return std::vector<std::string>{XB_DEVICE_FIELDS(XB_FIELD_NAME)}; },
                 "The scalar device-dataclass fields the native struct has (the union over the models; "
                 "the model itself is not a field).");
#undef XB_FIELD_NAME
}

void register_cell_views(py::module_& m) {
  auto cv = py::class_<DeviceCellViews>(m, "DeviceCellViews", "Per-cell parameter views of a tile, by name.");
  cv.def(py::init([]() { return DeviceCellViews{}; }));
  // A struct of views keeps the views it was given alive, and with them their tensors (the setter's
  // keep_alive<1, 2>); a view read back keeps the struct alive (the getter's keep_alive<0, 1>).
  for (const auto& f : kCellFieldNames) {
    auto member = f.member;
    cv.def_property(
        f.name,
        py::cpp_function([member](const DeviceCellViews& v) { return v.*member; }, py::keep_alive<0, 1>()),
        py::cpp_function([member](DeviceCellViews& v, const TensorView& t) { v.*member = t; },
                         py::keep_alive<1, 2>()));
  }
  m.def("device_cell_fields", &cell_field_names, py::arg("model"),
        "Names of the per-cell parameter arrays a device model keeps (tile state).");
}

// The ops: pulsed update (and its sizing helpers), population, clipping, device processes.
void register_update_entry_points(py::module_& m) {
  m.def("update_bl_max",
        [](double lr, double granularity, int32_t desired_bl, bool fixed_bl, bool update_bl_management) {
          return update_bl_max(lr < 0 ? -lr : lr, granularity, desired_bl, fixed_bl, update_bl_management);
        },
        py::arg("lr"), py::arg("granularity"), py::arg("desired_bl"), py::arg("fixed_bl"),
        py::arg("update_bl_management"),
        "The longest pulse train any vector of a call can get (analog-tile.md §2.3 step 1).");
  m.def("pulsed_update_workspace_bytes", &workspace_bytes, py::arg("update"), py::arg("lr"), py::arg("granularity"),
        py::arg("m"), py::arg("in_size"), py::arg("out_size"), py::arg("dtype"),
        "Bytes of the uint8 workspace pulsed_update needs for this call.");
  m.def("pulsed_update", &pulsed_update_binding, py::arg("weight"), py::arg("x"), py::arg("d"), py::arg("workspace"),
        py::arg("update"), py::arg("device_model"), py::arg("cells"), py::arg("lr"), py::arg("granularity"),
        py::arg("seed"), py::arg("call"), py::arg("persistent") = py::none(), py::arg("counters") = py::none(),
        py::arg("piecewise_up") = py::none(), py::arg("piecewise_down") = py::none(), py::arg("cuda_stream") = 0,
        "Pulsed update of weight[out, in] by the batch x[m, in], d[m, out] (analog-tile.md §2).");
  m.def("populate_device", &populate_binding, py::arg("cells"), py::arg("device_model"), py::arg("seed"),
        py::arg("cuda_stream") = 0, "Device-to-device population of the per-cell arrays (analog-tile.md §3.2).");
  m.def("clip_weights", &clip_binding, py::arg("weight"), py::arg("cells"), py::arg("device_model"),
        py::arg("write_noise"), py::arg("seed"), py::arg("call"), py::arg("persistent") = py::none(),
        py::arg("cuda_stream") = 0,
        "Clip weights to each cell's bounds; with persistent weights redraw the apparent ones (§3.4, §3.5).");
  m.def("device_process", &process_binding, py::arg("weight"), py::arg("cells"), py::arg("device_model"),
        py::arg("process"), py::arg("alpha"), py::arg("columns"), py::arg("pop_seed"), py::arg("seed"),
        py::arg("call"), py::arg("persistent") = py::none(), py::arg("cuda_stream") = 0,
        "Decay, diffuse or reset the weights of a tile, then clip them (§3.5); with persistent weights the "
        "process acts on those and the apparent ones are redrawn.");
}

// _core.testing: the per-vector management, one device pulse, one cell's population, the pulse noise
// and the exact math, for the reference tests.
void register_update_probes(py::module_& m) {
  py::module_ t = m.attr("testing").cast<py::module_>();
  t.def("calc_bl_ab",
        [](double lr, double eps, int32_t desired_bl, bool fixed_bl, bool bl_management, bool update_management,
           double um_grad_scale, double x_max, double d_max) {
          const BlAb r = calc_bl_ab(lr < 0 ? -lr : lr, eps, desired_bl, fixed_bl, bl_management, update_management,
                                    um_grad_scale, x_max, d_max);
          return py::make_tuple(r.bl, r.a, r.b);
        },
        py::arg("lr"), py::arg("eps"), py::arg("desired_bl"), py::arg("fixed_bl"), py::arg("update_bl_management"),
        py::arg("update_management"), py::arg("um_grad_scale"), py::arg("x_max"), py::arg("d_max"),
        "(BL, A, B) of one vector, analog-tile.md §2.3.");
  t.def("update_bl_max",
        [](double lr, double eps, int32_t desired_bl, bool fixed_bl, bool bl_management) {
          return update_bl_max(lr < 0 ? -lr : lr, eps, desired_bl, fixed_bl, bl_management);
        },
        py::arg("lr"), py::arg("eps"), py::arg("desired_bl"), py::arg("fixed_bl"), py::arg("update_bl_management"));
  t.def("device_pulse",
        [](const DeviceConfigArgs& cfg, const std::map<std::string, double>& cell, double w, bool up, double xi,
           const std::string& dtype, const std::vector<double>& pw_up, const std::vector<double>& pw_down) {
          return parse_float_dtype(dtype) == DType::kFloat64 ? probe_pulse<double>(cfg, cell, w, up, xi, pw_up, pw_down)
                                                             : probe_pulse<float>(cfg, cell, w, up, xi, pw_up, pw_down);
        },
        py::arg("device_model"), py::arg("cell"), py::arg("w"), py::arg("up"), py::arg("xi"),
        py::arg("dtype") = "float64", py::arg("piecewise_up") = std::vector<double>{1.0},
        py::arg("piecewise_down") = std::vector<double>{1.0},
        "One pulse of a device model on weight w of a cell given by its parameters (§3.3).");
  t.def("populate_cell",
        [](const DeviceConfigArgs& cfg, uint64_t seed, int64_t cells, int64_t cell, int64_t in_size,
           const std::string& dtype) {
          return parse_float_dtype(dtype) == DType::kFloat64 ? probe_populate<double>(cfg, seed, cells, cell, in_size)
                                                             : probe_populate<float>(cfg, seed, cells, cell, in_size);
        },
        py::arg("device_model"), py::arg("seed"), py::arg("cells"), py::arg("cell"), py::arg("in_size"),
        py::arg("dtype") = "float64", "The population of one cell (§3.2).");
  t.def("pulse_normals4",
        [](uint64_t seed, uint64_t call, uint64_t element) {
          std::array<float, 4> z{};
          pulse_normals(seed, call, element, 4, z.data());
          return z;
        },
        py::arg("seed"), py::arg("call"), py::arg("element"), "The four pulse-noise normals of one Philox element.");
  t.def("exact_log64", &exact_log, py::arg("v"));
  t.def("exact_exp64", &exact_exp, py::arg("v"));
  t.def("exact_pow", [](double x, double y, const std::string& dtype) {
          return parse_float_dtype(dtype) == DType::kFloat64 ? exact_pow_t<double>(x, y)
                                                             : static_cast<double>(exact_pow_t<float>(float(x), float(y)));
        }, py::arg("x"), py::arg("y"), py::arg("dtype") = "float64");
}

}  // namespace

void register_update_ops(py::module_& m) {
  register_update_enums(m);
  register_config_structs(m);
  register_cell_views(m);
  register_update_entry_points(m);
  register_update_probes(m);
}

}  // namespace xbarsim::bindings
