// The analog read path as two fused passes around a GEMM done by the caller (torch):
//   prologue: per row, noise-management scale a, DAC of every input line into xq, and ||v||_2;
//   epilogue: per row, weight-noise term, ADC (asymmetry, noise, quantise, clip), saturation flag and
//             rescale, written into row rows[c] of the final output;
// plus the sequential running maximum of average_abs_max noise management.
// Spec: analog-tile.md §1.3–§1.6. Invariants: the bodies below are pure, host and device; the CPU
// loops (csrc/cpu/io_stages.cpp) and CUDA kernels (cuda/io_stages.cu) only index rows and quads.
// Draws per call: see io/draws.h (streams kInputStoRound, kInputNoise in the prologue; kWeightNoise,
// kOutputNoise, kOutputStoRound in the epilogue; each only when its stage is on).
#pragma once

#include <cmath>
#include <cstdint>

#include "xbarsim/core/tensor_view.h"
#include "xbarsim/io/bound_management.h"
#include "xbarsim/io/draws.h"
#include "xbarsim/io/noise_management.h"
#include "xbarsim/io/quantize.h"

namespace xbarsim {

// Values equal xbarsim.config.io.WEIGHT_NOISE_TYPES in order.
enum class WeightNoiseType : int32_t { kNone = 0, kAdditiveConstant = 1, kPcmRead = 2 };

// Row reductions that must agree bit for bit on CPU and CUDA (the sum of v_j^2) use this fixed
// shape: quad q of a row is accumulated, in increasing q, into lane q % kRowLanes; the lanes are then
// combined by the tree lane[l] += lane[l + s] for s = kRowLanes/2, ..., 1. The CUDA kernels run one
// block of kRowLanes threads per row, thread l owning lane l.
constexpr int kRowLanes = 256;

template <typename T>
XB_HD XB_INLINE void row_lanes_tree_sum(T* lanes) {
  for (int s = kRowLanes / 2; s > 0; s >>= 1)
    for (int l = 0; l < s; ++l) lanes[l] = lanes[l] + lanes[l + s];
}

// Config-derived constants of one direction of the read path, in double. Filled once per
// (IOConfig, direction) by xbarsim.ops.mvm; names are the IOConfig field names, `_eff` marking the
// normalised values of §1.2. No defaults here: the defaults live in the IOConfig dataclass only.
struct IoParams {
  NoiseManagement noise_management;
  double nm_thres_eff;      // cap / constant scale; 0 without noise management (§1.2 step 4)
  double nm_decay;          // average_abs_max
  double inp_res_eff;       // DAC step, checkres(inp_res) * 2 * inp_bound; <= 0: none
  double inp_bound_eff;     // DAC clip; +inf when inp_bound <= 0
  bool inp_sto_round;
  double inp_noise;
  double inp_asymmetry;
  double out_res_eff;       // ADC step; <= 0: none
  double out_bound_eff;     // ADC clip; +inf when out_bound <= 0
  bool out_sto_round;
  double out_noise;
  double out_asymmetry;
  double w_noise;
  WeightNoiseType w_noise_type;
  bool bound_management;    // iterative bound management on (always off for backward)
  double max_bm_factor;
  double max_bm_res;
  bool bm_test_negative_bound;
  bool backward;            // transposed pass: §1.4 short-cut rule
};

template <typename T>
inline IoStage<T> make_io_stage(const IoParams& p) {
  IoStage<T> s;
  s.inp_res_eff = static_cast<T>(p.inp_res_eff);
  s.inp_bound_eff = static_cast<T>(p.inp_bound_eff);
  s.inp_noise = static_cast<T>(p.inp_noise);
  s.inp_asym_factor = static_cast<T>(1.0 - p.inp_asymmetry);
  s.inp_asymmetric = p.inp_asymmetry != 0.0;
  s.inp_sto_round = p.inp_sto_round;
  s.out_res_eff = static_cast<T>(p.out_res_eff);
  s.out_bound_eff = static_cast<T>(p.out_bound_eff);
  // Level count of the ADC range: out_bound / step is a whole number for the usual resolutions
  // 1/(2^b - 2) but carries a few ulp of rounding in double; 1e-9 relative absorbs that and nothing else.
  s.out_kmax = (p.out_res_eff > 0.0 && std::isfinite(p.out_bound_eff))
                   ? static_cast<T>(std::floor(p.out_bound_eff / p.out_res_eff * (1.0 + 1e-9)))
                   : static_cast<T>(INFINITY);
  s.out_noise = static_cast<T>(p.out_noise);
  s.out_asym_factor = static_cast<T>(1.0 - p.out_asymmetry);
  s.out_asymmetric = p.out_asymmetry != 0.0;
  s.out_sto_round = p.out_sto_round;
  s.bm_test_negative_bound = p.bm_test_negative_bound;
  return s;
}

inline bool io_needs_vnorm(const IoParams& p) {
  return p.w_noise > 0.0 && p.w_noise_type == WeightNoiseType::kAdditiveConstant;
}
inline bool io_needs_pcm(const IoParams& p) {
  return p.w_noise > 0.0 && p.w_noise_type == WeightNoiseType::kPcmRead;
}

// Prologue of one round. k = rows.numel() (or m when rows is absent) compact rows c, row = rows[c].
struct IoPrologueArgs {
  TensorView x;        // [m, n] inputs of the whole call (float32/float64, contiguous)
  TensorView rows;     // [k] int64 original row of compact row c; absent (data == nullptr): rows[c] = c
  TensorView xq;       // [k, n] DAC outputs v, compact order (written)
  TensorView scale;    // [m] noise-management scale a per original row: written if compute_scale, else read
  TensorView vnorm;    // [k] ||v||_2 per compact row (written iff io_needs_vnorm); may be absent
  IoParams params;
  uint64_t seed;
  uint64_t call;
  uint32_t round;      // bound-management round (RNG element numbering)
  double reduction;    // r = 2^round with bound management on
  bool compute_scale;  // true in round 0 of the stateless modes; false for later rounds / average_abs_max
};

// Epilogue of one round.
struct IoEpilogueArgs {
  TensorView yhat;     // [k, n_out] GEMM result W v, compact order; may alias y when rows is absent
  TensorView pcm;      // [k, n_out] sum_j |W_ij| v_j^2 (read iff io_needs_pcm); may be absent
  TensorView y;        // [m, n_out] final output; row rows[c] written
  TensorView rows;     // as in the prologue
  TensorView scale;    // [m] a per original row (read)
  TensorView vnorm;    // [k] (read iff io_needs_vnorm)
  TensorView sat;      // [k] uint8 saturation flag per compact row (written iff bound management on)
  IoParams params;
  uint64_t seed;
  uint64_t call;
  uint32_t round;
  double reduction;
  double gain;         // out_scale * alpha
};

// average_abs_max: scale[row] = running maximum after vector row (in sample order); state updated.
struct IoNmRunningArgs {
  TensorView x;        // [m, n]
  TensorView scale;    // [m] (written)
  TensorView state;    // [1] running maximum, < 0 when not initialised (read and written)
  double nm_decay;
};

// ---- element bodies shared by the CPU loops and the CUDA kernels --------------------------------
// A row is processed in quads of 4 lines (io/draws.h): the draws of one quad come from one Philox call
// per stream, then every line of the quad goes through the element function. The CUDA kernels do both
// per quad in one thread; the CPU loops first draw all quads of a row into scratch arrays, one stream
// at a time, and then run the element functions over the row (loops the compiler can vectorise). The
// values are the same (tests/unit/test_io_stages.py runs this per-quad form on the host too).

// Draws of prologue quad `element`: uniforms u for stochastic rounding and normals z for the input
// noise, each only when its stage is on (the element function reads them only then).
template <typename T>
XB_HD XB_INLINE void io_prologue_draws(const IoStage<T>& s, uint64_t seed, uint64_t call, uint64_t element,
                                       float u[4], float z[4]) {
  if (s.inp_sto_round && s.inp_res_eff > T(0)) io_uniforms4(seed, Stream::kInputStoRound, call, element, u);
  if (s.inp_noise > T(0)) io_normals4(seed, Stream::kInputNoise, call, element, z);
}

// Draws of epilogue quad `element`: weight-noise normals zw, output-noise normals zo, ADC uniforms u.
template <typename T>
XB_HD XB_INLINE void io_epilogue_draws(const IoStage<T>& s, bool weight_noise, uint64_t seed, uint64_t call,
                                       uint64_t element, float u[4], float zo[4], float zw[4]) {
  if (weight_noise) io_normals4(seed, Stream::kWeightNoise, call, element, zw);
  if (s.out_noise > T(0)) io_normals4(seed, Stream::kOutputNoise, call, element, zo);
  if (s.out_sto_round && s.out_res_eff > T(0)) io_uniforms4(seed, Stream::kOutputStoRound, call, element, u);
}

// Std of the output-referred weight noise of one line (§1.3 step 5.3): w_noise * ||v||_2 (= w_row,
// additive_constant) or w_noise * sqrt(sum_j |W_ij| v_j^2) (pcm_read, pcm = that sum); 0 when off.
template <typename T>
XB_HD XB_INLINE T io_weight_noise_std(const T* pcm_row, int64_t j, T w_noise, T w_row) {
  return pcm_row != nullptr ? w_noise * xb_sqrt(pcm_row[j]) : w_row;
}

// Output stage and rescale (§1.3 steps 5.3, 6, 8) of one line.
template <typename T>
XB_HD XB_INLINE T io_epilogue_element(T yhat, T w_std, float zw, const IoStage<T>& s, float zo, float u,
                                      T factor, uint32_t* sat) {
  return adc_element(yhat, w_std, zw, s, zo, u, sat) * factor;
}

// DAC of quad q of one row: lines 4q .. 4q+count-1 of x_row into v_row. Adds v^2 of each line, in
// line order, to *sumsq when sumsq is not null.
template <typename T>
XB_HD XB_INLINE void io_prologue_quad(const T* x_row, T* v_row, int64_t n, int64_t q, const InputScale<T>& in_scale,
                                      const IoStage<T>& s, uint64_t seed, uint64_t call,
                                      uint64_t element, T* sumsq) {
  float u[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  io_prologue_draws(s, seed, call, element, u, z);
  const int64_t j0 = 4 * q;
  const int count = static_cast<int>(n - j0 < 4 ? n - j0 : 4);
  for (int e = 0; e < count; ++e) {
    const T v = dac_element(x_row[j0 + e], in_scale, s, u[e], z[e]);
    v_row[j0 + e] = v;
    if (sumsq != nullptr) *sumsq = *sumsq + v * v;
  }
}

// Output stage and rescale of quad q of one row. w_row: w_noise * ||v||_2 for additive_constant;
// pcm_row (not null for pcm_read): sum_j |W_ij| v_j^2 per line. Returns the saturation bits.
template <typename T>
XB_HD XB_INLINE uint32_t io_epilogue_quad(const T* yhat_row, const T* pcm_row, T* y_row, int64_t n,
                                          int64_t q, T factor, T w_noise, T w_row, const IoStage<T>& s,
                                          uint64_t seed, uint64_t call, uint64_t element) {
  float u[4] = {0.5f, 0.5f, 0.5f, 0.5f};
  float zo[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  float zw[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  io_epilogue_draws(s, pcm_row != nullptr || w_row > T(0), seed, call, element, u, zo, zw);
  const int64_t j0 = 4 * q;
  const int count = static_cast<int>(n - j0 < 4 ? n - j0 : 4);
  uint32_t sat = 0;
  for (int e = 0; e < count; ++e) {
    const T w_std = io_weight_noise_std(pcm_row, j0 + e, w_noise, w_row);
    y_row[j0 + e] = io_epilogue_element(yhat_row[j0 + e], w_std, zw[e], s, zo[e], u[e], factor, &sat);
  }
  return sat;
}

namespace cpu {
void io_prologue(const IoPrologueArgs& args);
void io_epilogue(const IoEpilogueArgs& args);
void io_nm_running(const IoNmRunningArgs& args);
// The CUDA kernels' per-quad decomposition run on the host (single thread), so tests can check on
// any machine that it gives the same bits as the CPU loops above.
void io_prologue_by_quads(const IoPrologueArgs& args);
void io_epilogue_by_quads(const IoEpilogueArgs& args);
}  // namespace cpu
namespace cuda {
void io_prologue(const IoPrologueArgs& args, uintptr_t stream);
void io_epilogue(const IoEpilogueArgs& args, uintptr_t stream);
void io_nm_running(const IoNmRunningArgs& args, uintptr_t stream);
}  // namespace cuda

}  // namespace xbarsim
