// TensorView: a non-owning view of a tensor from any framework (pointer, dtype, shape, strides in
// elements, device). The native core never allocates tensors of its own and never sees torch types.
// Invariant: kernels receive only views that bindings/views.cpp validated (rank, dtype, device).
#pragma once

#include <cstdint>

#include "xbarsim/core/check.h"

namespace xbarsim {

enum class DType : int32_t { kFloat32 = 0, kFloat64 = 1, kInt32 = 2, kInt64 = 3, kUInt8 = 4, kBool = 5 };
enum class DeviceKind : int32_t { kCPU = 0, kCUDA = 1 };

constexpr int kMaxDims = 8;

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::kFloat32;
  DeviceKind device = DeviceKind::kCPU;
  int32_t device_index = 0;
  int32_t ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};

  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return n;
  }
  int64_t size(int dim) const { return shape[dim < 0 ? dim + ndim : dim]; }
  bool is_contiguous() const {
    int64_t expected = 1;
    for (int i = ndim - 1; i >= 0; --i) {
      if (shape[i] != 1 && strides[i] != expected) return false;
      expected *= shape[i];
    }
    return true;
  }
  bool defined() const { return data != nullptr || numel() == 0; }
  template <typename T>
  T* ptr() const { return static_cast<T*>(data); }
};

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kFloat64: return "float64";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kUInt8: return "uint8";
    case DType::kBool: return "bool";
  }
  return "unknown";
}

// Runs fn with a typed null pointer selecting float or double: the one floating-point dispatch.
template <typename Fn>
void dispatch_floating(DType t, const char* what, Fn&& fn) {
  switch (t) {
    case DType::kFloat32: fn(static_cast<float*>(nullptr)); return;
    case DType::kFloat64: fn(static_cast<double*>(nullptr)); return;
    default: detail::throw_invalid(what, "expected a float32 or float64 tensor; got ", dtype_name(t));
  }
}

}  // namespace xbarsim
