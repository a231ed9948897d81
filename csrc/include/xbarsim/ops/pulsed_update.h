// The pulsed update of a mini-batch: argument structs, workspace layout and the per-sample and
// per-cell bodies that csrc/cpu/pulsed_update.cpp and cuda/pulsed_update.cu loop over.
// Spec: analog-tile.md §2 (update), §3 (devices). Invariants: the bodies are pure and XB_HD; every
// random draw is keyed by (seed, stream, call, element) as documented in update/bit_lines.h,
// update/pulse_noise.h and below, so the result is independent of loop order and thread count.
//
// Two phases, the same on CPU and GPU:
//   1. per sample b: x_max, d_max -> BL, A, B (update/update_management.h), then the bit-line words
//      of every input and output line (stochastic) or the per-line values (deterministic types);
//   2. per cell (i, j): for b = 0..m-1 in order, the signed coincidence count n and |n| pulses.
// Other draws: sto_round of a line probability uses uniform_at(seed, kProbRound, call,
// b * (in + out) + line) with input lines 0..in-1 and output lines in..in+out-1; the write noise of a
// touched cell uses normal_at(seed, kWriteNoise, call, cell) once, after its last pulse of the call.
#pragma once

#include <cstddef>
#include <cstdint>

#include "xbarsim/core/tensor_view.h"
#include "xbarsim/devices/device_args.h"
#include "xbarsim/update/bit_lines.h"
#include "xbarsim/update/pulse_noise.h"
#include "xbarsim/update/update_args.h"
#include "xbarsim/update/update_management.h"

namespace xbarsim {

struct PulsedUpdateArgs {
  TensorView weight;      // [out, in] T: the weights reads see (apparent weights with write noise)
  TensorView persistent;  // [out, in] T or undefined: persistent weights (write noise only)
  TensorView x;           // [m, in] T
  TensorView d;           // [m, out] T
  TensorView workspace;   // uint8 [pulsed_update_workspace_bytes(...)]
  TensorView counters;    // int64 [kNumCounters] or undefined
  DeviceCellViews cells;
  TensorView piecewise_up, piecewise_down;  // T [L] (PiecewiseStep only)
  UpdateArgs update;
  DeviceConfigArgs device;
  double lr;           // signed learning rate handed to the device
  double granularity;  // the device's epsilon (§3.6)
  uint64_t seed;
  uint64_t call;
};

// Workspace carved out of one uint8 buffer (offsets aligned to 64 bytes).
struct UpdateWorkspaceLayout {
  size_t bl = 0, bits_x = 0, bits_d = 0, neg_d = 0, val_x = 0, val_d = 0, act_x = 0, n_act = 0, total = 0;
  int32_t words = 0;  // 64-bit words per line
};

inline size_t align64(size_t v) { return (v + 63) & ~static_cast<size_t>(63); }

inline UpdateWorkspaceLayout update_workspace_layout(int64_t m, int64_t in, int64_t out, int64_t bl_max,
                                                     bool stochastic, size_t elem_size) {
  UpdateWorkspaceLayout l;
  const size_t M = static_cast<size_t>(m), I = static_cast<size_t>(in), O = static_cast<size_t>(out);
  l.words = static_cast<int32_t>((bl_max + 63) / 64);
  size_t at = 0;
  l.bl = at;
  at = align64(at + M * sizeof(int32_t));
  if (stochastic) {
    l.bits_x = at;
    at = align64(at + M * I * l.words * sizeof(uint64_t));
    l.bits_d = at;
    at = align64(at + M * O * l.words * sizeof(uint64_t));
    l.neg_d = at;
    at = align64(at + M * O);
  } else {
    l.val_x = at;
    at = align64(at + M * I * elem_size);
    l.val_d = at;
    at = align64(at + M * O * elem_size);
  }
  l.act_x = at;  // active input lines per sample (CPU loop only; the GPU leaves it unused)
  at = align64(at + M * I * sizeof(int32_t));
  l.n_act = at;
  at = align64(at + M * sizeof(int32_t));
  l.total = at;
  return l;
}

// Everything the loops need, as raw typed pointers (built once per call on the host).
template <typename T>
struct UpdateKernelParams {
  T* weight;      // apparent weights (written only with write noise, else == target)
  T* target;      // the weights the pulses act on (persistent ones with write noise)
  const T* x;
  const T* d;
  int64_t m, in, out, cells;
  int32_t words;        // bit-line words per line
  int64_t bl_max;       // element stride of the bit-line slots
  int64_t noise_words;  // element stride of the pulse noise: ceil(bl_max / 4)
  // The output-line arrays are line-major ([out, m, ...]) so that a row's samples are contiguous.
  int32_t* bl;          // [m]
  uint64_t* bits_x;     // [m, in, words]
  uint64_t* bits_d;     // [out, m, words]
  uint8_t* neg_d;       // [out, m] d_i < 0 (stochastic types)
  T* val_x;             // [m, in]  deterministic types: sign(x) P, or the signed count c_j (mean_count)
  T* val_d;             // [out, m] deterministic types: BL sign(d) Q, or the signed count c_i
  int32_t* act_x;       // [m, in]  CPU: indices of input lines that fire at least once
  int32_t* n_act;       // [m]
  int64_t* counters;    // [kNumCounters] or null
  DeviceCells<T> cells_v;
  uint32_t cell_fields;
  DeviceScalars<T> dev;
  PulseType type;
  int32_t desired_bl;
  bool fixed_bl, bl_management, update_management;
  double um_grad_scale;
  T res;
  bool sto_round;
  T x_res_implicit, d_res_implicit;
  double abs_lr;
  bool neg_lr;
  double eps;
  uint64_t seed, call;
};

template <typename T>
DeviceScalars<T> make_device_scalars(const DeviceConfigArgs& c, const TensorView& pw_up, const TensorView& pw_down) {
  DeviceScalars<T> s{};
  s.noisy = c.dw_min_std > 0.0;
  s.dw_min_std = T(c.dw_min_std);
  s.mult_noise = c.mult_noise;
  s.A_up = T(c.A_up);
  s.A_down = T(c.A_down);
  s.gamma_up = T(c.gamma_up);
  s.gamma_down = T(c.gamma_down);
  s.a = T(c.a);
  s.b = T(c.b);
  s.dw_min_std_add = T(c.dw_min_std_add);
  s.dw_min_std_slope = T(c.dw_min_std_slope);
  s.complex_noise = c.dw_min_std > 0.0 && (c.dw_min_std_add != 0.0 || c.dw_min_std_slope != 0.0);
  s.piecewise_up = pw_up.ptr<T>();
  s.piecewise_down = pw_down.ptr<T>();
  s.piecewise_len = static_cast<int32_t>(pw_up.ndim == 1 ? pw_up.shape[0] : 0);
  s.write_noise = T(c.write_noise_std * c.dw_min);
  return s;
}

template <typename T>
UpdateKernelParams<T> make_update_params(const PulsedUpdateArgs& a) {
  UpdateKernelParams<T> p{};
  p.m = a.x.shape[0];
  p.in = a.x.shape[1];
  p.out = a.d.shape[1];
  p.cells = p.in * p.out;
  const double abs_lr = a.lr < 0 ? -a.lr : a.lr;
  p.bl_max = update_bl_max(abs_lr, a.granularity, a.update.desired_bl, a.update.fixed_bl,
                           a.update.update_bl_management);
  p.noise_words = (p.bl_max + 3) / 4;
  const bool stochastic = is_stochastic(a.update.pulse_type);
  const UpdateWorkspaceLayout l = update_workspace_layout(p.m, p.in, p.out, p.bl_max, stochastic, sizeof(T));
  uint8_t* ws = a.workspace.ptr<uint8_t>();
  p.words = l.words;
  p.bl = reinterpret_cast<int32_t*>(ws + l.bl);
  p.bits_x = stochastic ? reinterpret_cast<uint64_t*>(ws + l.bits_x) : nullptr;
  p.bits_d = stochastic ? reinterpret_cast<uint64_t*>(ws + l.bits_d) : nullptr;
  p.neg_d = stochastic ? ws + l.neg_d : nullptr;
  p.val_x = stochastic ? nullptr : reinterpret_cast<T*>(ws + l.val_x);
  p.val_d = stochastic ? nullptr : reinterpret_cast<T*>(ws + l.val_d);
  p.act_x = reinterpret_cast<int32_t*>(ws + l.act_x);
  p.n_act = reinterpret_cast<int32_t*>(ws + l.n_act);
  p.weight = a.weight.ptr<T>();
  p.target = a.persistent.defined() && a.persistent.ndim == 2 ? a.persistent.ptr<T>() : p.weight;
  p.x = a.x.ptr<T>();
  p.d = a.d.ptr<T>();
  p.counters = a.counters.ndim == 1 ? a.counters.ptr<int64_t>() : nullptr;
  p.cells_v = typed_cells<T>(a.cells);
  p.dev = make_device_scalars<T>(a.device, a.piecewise_up, a.piecewise_down);
  if (p.target == p.weight) p.dev.write_noise = T(0);
  p.type = a.update.pulse_type;
  p.desired_bl = a.update.desired_bl;
  p.fixed_bl = a.update.fixed_bl;
  p.bl_management = a.update.update_bl_management;
  p.update_management = a.update.update_management;
  p.um_grad_scale = a.update.um_grad_scale;
  p.res = T(update_res(a.update.res));
  p.sto_round = a.update.sto_round;
  p.x_res_implicit = T(update_res(a.update.x_res_implicit));
  p.d_res_implicit = T(update_res(a.update.d_res_implicit));
  p.abs_lr = abs_lr;
  p.neg_lr = a.lr < 0;
  p.eps = a.granularity;
  p.seed = a.seed;
  p.call = a.call;
  return p;
}

// ---- phase 1: per sample -------------------------------------------------------------------------

template <typename T>
XB_HD XB_INLINE BlAb sample_bl_ab(const UpdateKernelParams<T>& p, T x_max, T d_max) {
  return calc_bl_ab(p.abs_lr, p.eps, p.desired_bl, p.fixed_bl, p.bl_management, p.update_management,
                    p.um_grad_scale, static_cast<double>(x_max), static_cast<double>(d_max));
}

// Probability of line `line` of one side of sample b (before clamping). side_d: output lines.
template <typename T>
XB_HD XB_INLINE T sample_line_probability(const UpdateKernelParams<T>& p, int64_t b, bool side_d, int64_t line,
                                          const BlAb& ab) {
  const T v = side_d ? p.d[b * p.out + line] : p.x[b * p.in + line];
  const T v_abs = v < T(0) ? -v : v;
  const T scale = static_cast<T>(side_d ? ab.a : ab.b);
  if (p.type == PulseType::kDeterministicImplicit) {
    T q = pulse_probability(v_abs, scale, side_d ? p.d_res_implicit : p.x_res_implicit, false, 0.0f);
    return q < T(0) ? T(0) : (q > T(1) ? T(1) : q);
  }
  float u = 0.0f;
  if (p.sto_round && p.res > T(0)) {
    const uint64_t index = static_cast<uint64_t>(b) * static_cast<uint64_t>(p.in + p.out) +
                           static_cast<uint64_t>(side_d ? p.in + line : line);
    u = uniform_at(p.seed, Stream::kProbRound, p.call, index);
  }
  return pulse_probability(v_abs, scale, p.res, p.sto_round, u);
}

// Probabilities of lines [begin, end) of one side of sample b into out[line]: the same values as
// sample_line_probability, with the per-call branches hoisted out of the loop.
template <typename T>
XB_HD XB_INLINE void sample_line_probabilities(const UpdateKernelParams<T>& p, int64_t b, bool side_d,
                                               const BlAb& ab, int64_t begin, int64_t end, T* out) {
  if (p.type == PulseType::kDeterministicImplicit || (p.sto_round && p.res > T(0))) {
    for (int64_t line = begin; line < end; ++line) out[line] = sample_line_probability(p, b, side_d, line, ab);
    return;
  }
  const T* v = side_d ? p.d + b * p.out : p.x + b * p.in;
  const T scale = static_cast<T>(side_d ? ab.a : ab.b);
  for (int64_t line = begin; line < end; ++line) {
    const T v_abs = v[line] < T(0) ? -v[line] : v[line];
    out[line] = pulse_probability(v_abs, scale, p.res, false, 0.0f);
  }
}

// Stochastic types: all bit-line words of lines 4g..4g+3 of one side of sample b, from the lines'
// probabilities prob[0..4) (0 past the last line), stored in the workspace. Returns the number of
// pulses those lines fired (counted only when the call keeps counters).
template <typename T>
XB_HD XB_INLINE int64_t sample_bit_group_from(const UpdateKernelParams<T>& p, int64_t b, bool side_d, int64_t g,
                                              const BlAb& ab, const T prob[4]) {
  const int64_t lines = side_d ? p.out : p.in;
  const int64_t groups = (lines + 3) / 4;
  int64_t fired = 0;
  for (int32_t word = 0; word < p.words; ++word) {
    uint64_t bits[4];
    bit_line_group_word(prob, ab.bl, word, p.seed, side_d ? Stream::kBitLineD : Stream::kBitLineX, p.call,
                        static_cast<uint64_t>(b) * static_cast<uint64_t>(p.bl_max),
                        static_cast<uint64_t>(groups), static_cast<uint64_t>(g), bits);
    XB_UNROLL
    for (int l = 0; l < 4; ++l) {
      const int64_t line = 4 * g + l;
      if (line < lines) {
        // x: [m, in, words]; d: [out, m, words]
        const int64_t at = side_d ? (line * p.m + b) * p.words + word : (b * p.in + line) * p.words + word;
        (side_d ? p.bits_d : p.bits_x)[at] = bits[l];
        if (p.counters != nullptr) fired += popcount64(bits[l]);
      }
    }
  }
  if (side_d) {
    XB_UNROLL
    for (int l = 0; l < 4; ++l) {
      const int64_t line = 4 * g + l;
      if (line < lines) p.neg_d[line * p.m + b] = p.d[b * p.out + line] < T(0) ? 1 : 0;
    }
  }
  return fired;
}

// The same, computing the four probabilities itself.
template <typename T>
XB_HD XB_INLINE int64_t sample_bit_group(const UpdateKernelParams<T>& p, int64_t b, bool side_d, int64_t g,
                                         const BlAb& ab) {
  const int64_t lines = side_d ? p.out : p.in;
  T prob[4];
  XB_UNROLL
  for (int l = 0; l < 4; ++l) {
    const int64_t line = 4 * g + l;
    prob[l] = line < lines ? sample_line_probability(p, b, side_d, line, ab) : T(0);
  }
  return sample_bit_group_from(p, b, side_d, g, ab, prob);
}

// Deterministic types: the value of one line (§2.7), stored in the workspace. Returns the line's
// pulse count |c| (mean_count) or rint(BL P) (deterministic_implicit) for the counters.
template <typename T>
XB_HD XB_INLINE int64_t sample_line_value(const UpdateKernelParams<T>& p, int64_t b, bool side_d, int64_t line,
                                          const BlAb& ab) {
  const T v = side_d ? p.d[b * p.out + line] : p.x[b * p.in + line];
  const T sign = v < T(0) ? T(-1) : T(1);
  const T prob = sample_line_probability(p, b, side_d, line, ab);
  const T bl = T(ab.bl);
  T value;
  int64_t count;
  if (p.type == PulseType::kMeanCount) {
    T c = rint_t(bl * prob);
    c = c < T(0) ? T(0) : (c > bl ? bl : c);
    value = sign * c;
    count = static_cast<int64_t>(c);
  } else {  // deterministic_implicit: prob is clamped to [0, 1]
    value = side_d ? bl * (sign * prob) : sign * prob;
    count = static_cast<int64_t>(rint_t(bl * prob));
  }
  if (side_d) p.val_d[line * p.m + b] = value;  // [out, m]
  else p.val_x[b * p.in + line] = value;         // [m, in]
  return count;
}

// ---- phase 2: per cell -----------------------------------------------------------------------------

// Signed pulse count of a deterministic type (§2.7): mean_count rint(c_i c_j / BL), implicit
// rint(BL sign(d)Q sign(x)P). The direction of the pulses is sign(n) sign(lr) (positive = down).
template <typename T>
XB_HD XB_INLINE int32_t deterministic_count(PulseType type, T vx, T vd, int32_t bl) {
  const T n = type == PulseType::kMeanCount ? rint_t(vd * vx / T(bl)) : rint_t(vd * vx);
  return static_cast<int32_t>(n);
}

// Up pulse (weight increases) iff sign(x) sign(d) sign(lr) < 0 (§2.5).
XB_HD XB_INLINE bool pulse_up(bool neg_x, bool neg_d, bool neg_lr) { return neg_x != (neg_d != neg_lr); }

template <typename T>
XB_HD XB_INLINE uint64_t noise_base(const UpdateKernelParams<T>& p, int64_t b, int64_t cell) {
  return (static_cast<uint64_t>(b) * static_cast<uint64_t>(p.cells) + static_cast<uint64_t>(cell)) *
         static_cast<uint64_t>(p.noise_words);
}

// Apparent weight of a touched cell after its last pulse of the call (§3.4).
template <typename T>
XB_HD XB_INLINE T apparent_weight(const UpdateKernelParams<T>& p, int64_t cell, T w_persistent) {
  return w_persistent + p.dev.write_noise * T(normal_at(p.seed, Stream::kWriteNoise, p.call, static_cast<uint64_t>(cell)));
}

namespace cpu {
void pulsed_update(const PulsedUpdateArgs& args);
}
namespace cuda {
void pulsed_update(const PulsedUpdateArgs& args, uintptr_t stream);
}

}  // namespace xbarsim
