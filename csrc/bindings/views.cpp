#include "views.h"

#include <pybind11/stl.h>

#include <sstream>
#include <vector>

namespace py = pybind11;

namespace xbarsim::bindings {
namespace {

DType parse_dtype(const std::string& s) {
  if (s == "float32") return DType::kFloat32;
  if (s == "float64") return DType::kFloat64;
  if (s == "int32") return DType::kInt32;
  if (s == "int64") return DType::kInt64;
  if (s == "uint8") return DType::kUInt8;
  if (s == "bool") return DType::kBool;
  throw py::type_error("TensorView: dtype must be one of float32, float64, int32, int64, uint8, bool; got " + s);
}

DeviceKind parse_device(const std::string& s) {
  if (s == "cpu") return DeviceKind::kCPU;
  if (s == "cuda") return DeviceKind::kCUDA;
  throw py::value_error("TensorView: device must be 'cpu' or 'cuda'; got " + s);
}

TensorView make_view(uintptr_t ptr, const std::string& dtype, const std::vector<int64_t>& shape,
                     const std::vector<int64_t>& strides, const std::string& device, int device_index,
                     const py::object& owner) {
  if (owner.is_none()) throw py::type_error("TensorView: owner must be the object that owns the memory; got None");
  if (shape.size() != strides.size())
    throw py::value_error("TensorView: shape and strides must have the same length");
  if (shape.size() > static_cast<size_t>(kMaxDims))
    throw py::value_error("TensorView: at most 8 dimensions are supported");
  TensorView v;
  v.data = reinterpret_cast<void*>(ptr);
  v.dtype = parse_dtype(dtype);
  v.device = parse_device(device);
  v.device_index = device_index;
  v.ndim = static_cast<int32_t>(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) throw py::value_error("TensorView: shape entries must be >= 0");
    v.shape[i] = shape[i];
    v.strides[i] = strides[i];
  }
  if (v.data == nullptr && v.numel() != 0) throw py::value_error("TensorView: null data pointer for a non-empty tensor");
  return v;
}

std::string shape_str(const TensorView& v) {
  std::ostringstream os;
  os << "(";
  for (int i = 0; i < v.ndim; ++i) os << (i ? ", " : "") << v.shape[i];
  os << (v.ndim == 1 ? ",)" : ")");
  return os.str();
}

}  // namespace

void expect_view(const TensorView& v, const char* what, int ndim, DType dtype) {
  if (v.ndim != ndim)
    throw py::value_error(std::string(what) + " must have " + std::to_string(ndim) + " dimensions; got shape " + shape_str(v));
  if (v.dtype != dtype)
    throw py::type_error(std::string(what) + " must have dtype " + dtype_name(dtype) + "; got " + dtype_name(v.dtype));
  expect_contiguous(v, what);
}

void expect_floating(const TensorView& v, const char* what, int ndim) {
  if (v.dtype != DType::kFloat32 && v.dtype != DType::kFloat64)
    throw py::type_error(std::string(what) + " must be float32 or float64; got " + dtype_name(v.dtype));
  if (ndim >= 0 && v.ndim != ndim)
    throw py::value_error(std::string(what) + " must have " + std::to_string(ndim) + " dimensions; got shape " + shape_str(v));
  expect_contiguous(v, what);
}

void expect_same_device(const TensorView& a, const TensorView& b, const char* what_a, const char* what_b) {
  if (a.device != b.device || a.device_index != b.device_index)
    throw py::value_error(std::string(what_a) + " and " + what_b + " must be on the same device");
}

void expect_contiguous(const TensorView& v, const char* what) {
  if (!v.is_contiguous()) throw py::value_error(std::string(what) + " must be contiguous");
}

void register_views(py::module_& m) {
  // The C++ TensorView is a plain non-owning struct (kernels copy it freely); the Python object keeps
  // `owner` alive for as long as it lives (keep_alive<1, 8>: self and the eighth argument, owner), so a
  // view of a temporary, such as view(t.contiguous()), cannot outlive its memory.
  py::class_<TensorView>(m, "TensorView",
                         "View of a tensor: pointer, dtype, shape, strides (in elements), device; keeps its "
                         "owner (the tensor) alive.")
      .def(py::init(&make_view), py::arg("ptr"), py::arg("dtype"), py::arg("shape"), py::arg("strides"),
           py::arg("device") = "cpu", py::arg("device_index") = 0, py::kw_only(), py::arg("owner"),
           py::keep_alive<1, 8>())
      .def_property_readonly("shape", [](const TensorView& v) {
        return std::vector<int64_t>(v.shape, v.shape + v.ndim);
      })
      .def_property_readonly("strides", [](const TensorView& v) {
        return std::vector<int64_t>(v.strides, v.strides + v.ndim);
      })
      .def_property_readonly("dtype", [](const TensorView& v) { return std::string(dtype_name(v.dtype)); })
      .def_property_readonly("device", [](const TensorView& v) {
        return std::string(v.device == DeviceKind::kCPU ? "cpu" : "cuda");
      })
      .def("__repr__", [](const TensorView& v) {
        return "TensorView(dtype=" + std::string(dtype_name(v.dtype)) + ", shape=" + shape_str(v) + ")";
      });
}

}  // namespace xbarsim::bindings
