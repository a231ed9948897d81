// Fused transfers between the tiles of a multi-tile algorithm: every transfer due at one point of a
// step (all source tiles, every line read), executed in order in one call, plus the
// reduction of the visible weight W̄ = Σ_n γ_n W⁽ⁿ⁾ and mixed precision's accumulator χ += lr·dᵀx.
// Spec: algorithms.md §3.3 (direct transfer), §3.5 (fusion), §8.3 (TT-v2 buffer), §8.4 (chopped
// buffer); analog-tile.md §1.9 (transfer reads), §2 (pulsed write).
// Invariants: the bodies are pure and XB_HD and only compose the read-path stages (io/*.h,
// ops/io_stages.h) and the pulsed-update bodies (update/*.h, ops/pulsed_update.h, devices/*.h): no
// formula is re-written here except the buffer step of TT-v2/c-TTv2 (transfer_buffer_step). Event e
// draws exactly what `analog_mvm(one_hot(line), W_source, io, seed=source seed, call=read_call)` and
// `pulsed_update(W_target, x_w, d_w, lr, seed=target seed, call=write_call)` draw for a batch of one
// vector, so the fused op equals that sequence bit for bit whenever the read is sparse (inp_noise 0).
#pragma once

#include <cstdint>

#include "xbarsim/core/tensor_view.h"
#include "xbarsim/ops/io_stages.h"
#include "xbarsim/ops/pulsed_update.h"

namespace xbarsim {

constexpr int kMaxTransferTiles = 16;

// What is written after the read of one line (algorithms.md §3.3, §8.3, §8.4).
enum class TransferKind : int32_t {
  kDirect = 0,    // write value = −y (residual learning, TT-v1)
  kBuffered = 1,  // TT-v2: ω = H + gain·y, n = clamp(trunc(ω / divisor), ±bl), write value = −n
  kChopped = 2,   // c-TTv2: as kBuffered with gain·s_i, s_i = −1 where c_in(line) ≠ c_out(i)
};

// One tile as the op sees it (host side; the bindings fill it from the tile's tensors).
struct TransferTileArgs {
  TensorView weight;      // [out, in] apparent weights (what reads see)
  TensorView persistent;  // [out, in] persistent weights (write-noise devices) or undefined
  TensorView counters;    // int64 [kNumCounters] or undefined (count_pulses off)
  DeviceCellViews cells;
  TensorView piecewise_up, piecewise_down;
  DeviceConfigArgs device;
  double granularity;  // ε of the tile's device
  uint64_t seed;
};

// Columns of the int64 event table.
enum TransferEventColumn : int32_t {
  kEvSource = 0,
  kEvTarget = 1,
  kEvLine = 2,
  kEvReadCall = 3,
  kEvWriteCall = 4,
  kEvBufferIndex = 5,  // which buffer H (per source tile) this event uses; −1: none
  kEvColumns = 6,
};
// Columns of the float64 rate table.
enum TransferRateColumn : int32_t {
  kRateWrite = 0,    // learning rate of the pulsed write (β for kDirect, step·ε for buffered kinds)
  kRateGain = 1,     // buffer gain (β_t for TT-v2, λ for c-TTv2); unused for kDirect
  kRateDivisor = 2,  // buffer divisor (thres_scale·ε_C for TT-v2, 1 for c-TTv2); unused for kDirect
  kRateColumns = 3,
};

struct TransferArgs {
  int32_t n_tiles;
  TransferTileArgs tiles[kMaxTransferTiles];
  TensorView events;     // int64 [E, kEvColumns], host memory
  TensorView rates;      // float64 [E, kRateColumns], host memory
  TensorView scratch;    // uint8 [transfer_scratch_bytes], on the tiles' device
  TensorView buffers;    // T [n_buffers, out, in] (buffered kinds) or undefined
  TensorView chop_in;    // T [in] ±1 (kChopped) or undefined
  TensorView chop_out;   // T [out] ±1 (kChopped) or undefined
  IoParams io;           // transfer read path (noise and bound management off)
  double out_scale;      // gain of the read (transfer_io.out_scale)
  UpdateArgs update;     // transfer_update
  bool transpose;        // read output lines (backward one-hot) instead of input lines
  TransferKind kind;
  int32_t buffer_bl;     // BL_t: clamp of the buffered counts (transfer_update.desired_bl)
  double momentum;
  bool forget_buffer;
  bool no_buffer;
};

// Scratch of one call (reused by every event, which run one after another): the write vectors x_w
// [in] and d_w [out], the DAC outputs v [L_in], the read outputs y [L_out] and the pcm_read sums
// [L_out] (all T), then the pulsed-update workspace of one vector with the largest BL of the call.
struct TransferScratchLayout {
  size_t x_w = 0, d_w = 0, v = 0, y = 0, pcm = 0, work = 0, total = 0;
};

inline TransferScratchLayout transfer_scratch_layout(int64_t in, int64_t out, int64_t bl_max, bool stochastic,
                                                     size_t elem) {
  TransferScratchLayout l;
  const size_t I = static_cast<size_t>(in), O = static_cast<size_t>(out), L = I > O ? I : O;
  size_t at = 0;
  l.x_w = at;
  at = align64(at + I * elem);
  l.d_w = at;
  at = align64(at + O * elem);
  l.v = at;
  at = align64(at + L * elem);
  l.y = at;
  at = align64(at + L * elem);
  l.pcm = at;
  at = align64(at + L * elem);
  l.work = at;
  at = align64(at + update_workspace_layout(1, in, out, bl_max, stochastic, elem).total);
  l.total = at;
  return l;
}

// The constants every event of a call shares, in the tile dtype.
template <typename T>
struct TransferShared {
  IoStage<T> io;
  bool inp_dense;   // inp_noise > 0: every DAC output is non-zero, the read is a full MVM
  bool need_vnorm;  // additive_constant weight noise needs ||v||_2
  bool need_pcm;    // pcm_read weight noise needs sum_j |W_ij| v_j^2
  T w_noise;
  T io_factor;      // rescale of the read (out_scale; no noise or bound management)
  bool transpose;
  int64_t out, in;
  TransferKind kind;
  int32_t buffer_bl;
  T momentum;
  bool forget_buffer, no_buffer;
  const T* chop_in;
  const T* chop_out;
};

// One event (one line read and written), built on the host; the write is an UpdateKernelParams of one
// vector whose x and d point at the scratch vectors x_w and d_w.
template <typename T>
struct TransferEventParams {
  UpdateKernelParams<T> write;  // the target tile's pulsed update (m = 1)
  const T* source;              // source apparent weights [out, in]
  T* v;                         // DAC outputs [L_in]
  T* y;                         // read outputs [L_out]
  T* pcm;                       // sum_j |W_kj| v_j^2 per read output [L_out] (pcm_read weight noise)
  T* buffer;                    // H [out, in] of this source (buffered kinds) or null
  int64_t line;
  uint64_t read_seed, read_call;
  T gain, divisor;
  DeviceModel model;            // the target's device model
};

// ---- read: one-hot input through the transfer read path (analog-tile.md §1.3, §1.4, §1.9) ------------

// Lines of the DAC input (L_in) and of the read output (L_out).
template <typename T>
XB_HD XB_INLINE int64_t transfer_lines_in(const TransferShared<T>& s) { return s.transpose ? s.out : s.in; }
template <typename T>
XB_HD XB_INLINE int64_t transfer_lines_out(const TransferShared<T>& s) { return s.transpose ? s.in : s.out; }

// The one-hot input vector lives in the write vector on the read side: x_w (columns) or d_w (rows).
template <typename T>
XB_HD XB_INLINE T* transfer_onehot(const TransferEventParams<T>& e, const TransferShared<T>& s) {
  return const_cast<T*>(s.transpose ? e.write.d : e.write.x);
}
// The write vector filled from the read: d_w (columns: d = −y) or x_w (rows: x = −z).
template <typename T>
XB_HD XB_INLINE T* transfer_written(const TransferEventParams<T>& e, const TransferShared<T>& s) {
  return const_cast<T*>(s.transpose ? e.write.x : e.write.d);
}

// Element k of the one-hot vector.
template <typename T>
XB_HD XB_INLINE void transfer_fill_onehot(const TransferEventParams<T>& e, const TransferShared<T>& s, int64_t k) {
  transfer_onehot(e, s)[k] = k == e.line ? T(1) : T(0);
}

// DAC of quad q of the one-hot input (no noise or bound management: sigma 1; round 0, row 0).
template <typename T>
XB_HD XB_INLINE void transfer_dac_quad(const TransferEventParams<T>& e, const TransferShared<T>& s, int64_t q) {
  const int64_t n = transfer_lines_in(s);
  io_prologue_quad<T>(transfer_onehot(e, s), e.v, n, q, InputScale<T>{T(1), T(1), true}, s.io, e.read_seed, e.read_call,
                      io_element(0, 0, io_quads(n), q), nullptr);
}

// ||v||_2 of the DAC outputs (only for additive_constant weight noise), summed as io_prologue sums a
// row (ops/io_stages.h): lane l adds the squares of quads l, l + kRowLanes, ... in line order, then
// the lanes are combined by row_lanes_tree_sum. So the fused read's ||v|| is analog_mvm's bit for
// bit, and the CUDA kernel computes it with one thread per lane and a block tree.
template <typename T>
XB_HD XB_INLINE T transfer_vnorm_lane(const TransferEventParams<T>& e, const TransferShared<T>& s, int lane) {
  const int64_t n = transfer_lines_in(s), quads = io_quads(n);
  T acc = T(0);
  for (int64_t q = lane; q < quads; q += kRowLanes) {
    const int64_t end = 4 * q + 4 < n ? 4 * q + 4 : n;
    for (int64_t j = 4 * q; j < end; ++j) acc = acc + e.v[j] * e.v[j];
  }
  return acc;
}

// The whole norm on the host (the CUDA kernel reduces transfer_vnorm_lane over its threads instead).
template <typename T>
inline T transfer_vnorm(const TransferEventParams<T>& e, const TransferShared<T>& s) {
  T lanes[kRowLanes];
  for (int l = 0; l < kRowLanes; ++l) lanes[l] = transfer_vnorm_lane(e, s, l);
  row_lanes_tree_sum(lanes);
  return xb_sqrt(lanes[0]);
}

// Source weight feeding output k from DAC line j.
template <typename T>
XB_HD XB_INLINE T transfer_source_weight(const TransferEventParams<T>& e, const TransferShared<T>& s, int64_t k,
                                         int64_t j) {
  return s.transpose ? e.source[j * s.in + k] : e.source[k * s.in + j];
}

// ŷ_k = Σ_j W_kj v_j (and Σ_j |W_kj| v_j² into *pcm). Without input noise only the read line is
// non-zero, so the sum is the single exact product the GEMM of analog_mvm also yields.
template <typename T>
XB_HD XB_INLINE T transfer_mvm_element(const TransferEventParams<T>& e, const TransferShared<T>& s, int64_t k,
                                       T* pcm) {
  if (!s.inp_dense) {
    const T w = transfer_source_weight(e, s, k, e.line);
    const T v = e.v[e.line];
    if (pcm != nullptr) *pcm = (w < T(0) ? -w : w) * (v * v);
    return w * v;
  }
  const int64_t n = transfer_lines_in(s);
  T acc = T(0), acc_pcm = T(0);
  for (int64_t j = 0; j < n; ++j) {
    const T w = transfer_source_weight(e, s, k, j);
    acc = acc + w * e.v[j];
    if (pcm != nullptr) acc_pcm = acc_pcm + (w < T(0) ? -w : w) * (e.v[j] * e.v[j]);
  }
  if (pcm != nullptr) *pcm = acc_pcm;
  return acc;
}

// MVM and output stage of quad q of the read output; y holds ŷ in, the read value out.
template <typename T>
XB_HD XB_INLINE void transfer_read_quad(const TransferEventParams<T>& e, const TransferShared<T>& s, int64_t q,
                                        T w_row) {
  const int64_t n = transfer_lines_out(s);
  const int64_t j0 = 4 * q;
  const int count = static_cast<int>(n - j0 < 4 ? n - j0 : 4);
  for (int l = 0; l < count; ++l)
    e.y[j0 + l] = transfer_mvm_element(e, s, j0 + l, s.need_pcm ? e.pcm + j0 + l : nullptr);
  io_epilogue_quad<T>(e.y, s.need_pcm ? e.pcm : nullptr, e.y, n, q, s.io_factor, s.w_noise, w_row, s.io,
                      e.read_seed, e.read_call, io_element(0, 0, io_quads(n), q));
}

// ---- what is written ------------------------------------------------------------------------------------

// The TT-v2 / c-TTv2 buffer of one cell: ω = (0 if no_buffer else h) + gain·y; n = clamp(trunc(ω/divisor),
// ±bl); forget: h = momentum·ω where n ≠ 0, else ω; otherwise h = ω − (1 − momentum)·n·divisor.
// Returns n and stores the new h (algorithms.md §8.3 steps 2, §8.4).
template <typename T>
XB_HD XB_INLINE int32_t transfer_buffer_step(T* h, T gain, T y, T divisor, int32_t bl, T momentum, bool forget,
                                             bool no_buffer) {
  const T omega = (no_buffer ? T(0) : *h) + gain * y;
  T t = omega / divisor;
  t = t < T(0) ? -floor_t(-t) : floor_t(t);  // trunc
  const T cap = T(bl);
  t = t > cap ? cap : (t < -cap ? -cap : t);
  const int32_t n = t == t ? static_cast<int32_t>(t) : 0;  // a NaN read writes nothing (casting NaN is undefined)
  if (forget) *h = n != 0 ? momentum * omega : omega;
  else *h = omega - (T(1) - momentum) * T(n) * divisor;
  return n;
}

// Element k of the written vector (d_w in column mode, x_w in row mode) from the read value y_k.
template <typename T>
XB_HD XB_INLINE void transfer_write_value(const TransferEventParams<T>& e, const TransferShared<T>& s, int64_t k) {
  T* out = transfer_written(e, s);
  if (s.kind == TransferKind::kDirect) {
    out[k] = -e.y[k];
    return;
  }
  // Buffer cell (i, j) of the line: (k, line) in column mode, (line, k) in row mode.
  const int64_t i = s.transpose ? e.line : k;
  const int64_t j = s.transpose ? k : e.line;
  T gain = e.gain;
  if (s.kind == TransferKind::kChopped && s.chop_in[j] != s.chop_out[i]) gain = -gain;
  const int32_t n = transfer_buffer_step(e.buffer + i * s.in + j, gain, e.y[k], e.divisor, s.buffer_bl, s.momentum,
                                         s.forget_buffer, s.no_buffer);
  out[k] = T(-n);
}

// ---- the write: the pulsed update of one vector restricted to the cells of the line ----------------------

// Cell of the line touched by element k of the written vector.
template <typename T>
XB_HD XB_INLINE int64_t transfer_cell(const TransferEventParams<T>& e, const TransferShared<T>& s, int64_t k) {
  return s.transpose ? e.line * s.in + k : k * s.in + e.line;
}

// Phase 2 of the pulsed update for that cell (the body of update_rows for b = 0). Returns the signed
// pulse count (> 0 up) for the counters.
template <class Model, typename T>
XB_HD XB_INLINE int64_t transfer_write_cell(const TransferEventParams<T>& e, const TransferShared<T>& s, int64_t k) {
  const UpdateKernelParams<T>& p = e.write;
  const int32_t bl = p.bl[0];
  if (bl == 0) return 0;
  const int64_t cell = transfer_cell(e, s, k);
  const int64_t i = cell / s.in, j = cell % s.in;
  int32_t n;
  bool up;
  if (is_stochastic(p.type)) {
    n = coincidences(p.bits_x + j * p.words, p.bits_d + i * p.words, p.words);
    if (n == 0) return 0;
    up = pulse_up(p.x[j] < T(0), p.d[i] < T(0), p.neg_lr);
  } else {
    const int32_t sn = deterministic_count(p.type, p.val_x[j], p.val_d[i], bl);
    if (sn == 0) return 0;
    n = sn < 0 ? -sn : sn;
    up = (sn < 0) != p.neg_lr;
  }
  const DeviceCell<T> c = load_cell(p.cells_v, Model::kCellFields, cell);
  const T w = apply_pulses<Model>(c, p.dev, p.target[cell], n, up, p.seed, p.call, noise_base(p, 0, cell));
  p.target[cell] = w;
  if (p.dev.write_noise != T(0)) p.weight[cell] = apparent_weight(p, cell, w);
  return up ? n : -static_cast<int64_t>(n);
}

// pulse_type "none" / "none_with_device": the exact update W ← W − lr·d xᵀ of the cell (as the
// tile's update computes it: W + (−lr)·(d_i·x_j)), then, for "none_with_device", the cell's clip.
template <class Model, typename T>
XB_HD XB_INLINE void transfer_write_cell_exact(const TransferEventParams<T>& e, const TransferShared<T>& s,
                                               int64_t k, bool clip) {
  const UpdateKernelParams<T>& p = e.write;
  const int64_t cell = transfer_cell(e, s, k);
  const int64_t i = cell / s.in, j = cell % s.in;
  const T delta = T(p.neg_lr ? p.abs_lr : -p.abs_lr) * (p.d[i] * p.x[j]);
  T w = p.target[cell] + delta;
  if (clip) w = Model::clip(load_cell(p.cells_v, Model::kCellFields, cell), w);
  p.target[cell] = w;
  if (p.target != p.weight) p.weight[cell] = clip ? w : p.weight[cell] + delta;
}

// ---- the visible weight -----------------------------------------------------------------------------

// W̄[k] = Σ_n γ_n W⁽ⁿ⁾[k], summed for n = 0, 1, …, N in this order (host and device agree bit for bit).
template <typename T>
struct TileReduceParams {
  const T* tiles[kMaxTransferTiles];
  T gammas[kMaxTransferTiles];
  int32_t n_tiles;
  T* out;
  int64_t numel;
};

template <typename T>
XB_HD XB_INLINE void tile_reduce_element(const TileReduceParams<T>& p, int64_t k) {
  T acc = p.gammas[0] * p.tiles[0][k];
  for (int32_t n = 1; n < p.n_tiles; ++n) acc = acc + p.gammas[n] * p.tiles[n][k];
  p.out[k] = acc;
}

struct TileReduceArgs {
  TensorView out;  // [out, in]
  int32_t n_tiles;
  TensorView tiles[kMaxTransferTiles];
  double gammas[kMaxTransferTiles];
};

// ---- the digital accumulator of mixed precision (algorithms.md §8.6) -------------------------------------

// χ[i, j] += Σ_b (lr·d_bi)·x_bj, the samples added one after another in order b = 0, 1, …, so the sum
// is the same on CPU and GPU (a GEMM would sum in a library-dependent order).
template <typename T>
struct ChiAccumulateParams {
  T* chi;
  const T* x;  // [m, in]
  const T* d;  // [m, out]
  int64_t m, in, out;
  T lr;
};

// One sample's term: acc + (lr·d)·x, two roundings (never contracted to an FMA). Every loop order of
// the accumulation (the per-cell loop below, the CPU's cache-blocked loop) adds these terms to each
// cell in the order b = 0, 1, …, so all of them give the same bits.
template <typename T>
XB_HD XB_INLINE T chi_term(T acc, T lr_d, T x) {
  return acc + lr_d * x;
}

template <typename T>
XB_HD XB_INLINE void chi_accumulate_element(const ChiAccumulateParams<T>& p, int64_t cell) {
  const int64_t i = cell / p.in, j = cell % p.in;
  T acc = p.chi[cell];
  for (int64_t b = 0; b < p.m; ++b) acc = chi_term(acc, p.lr * p.d[b * p.out + i], p.x[b * p.in + j]);
  p.chi[cell] = acc;
}

struct ChiAccumulateArgs {
  TensorView chi;  // [out, in]
  TensorView x;    // [m, in]
  TensorView d;    // [m, out]
  double lr;
};

// ---- host-side construction (shared by the CPU and CUDA drivers) -----------------------------------------

namespace cpu {
void transfer(const TransferArgs& args);
void tile_reduce(const TileReduceArgs& args);
void chi_accumulate(const ChiAccumulateArgs& args);
}  // namespace cpu
namespace cuda {
void transfer(const TransferArgs& args, uintptr_t stream);
void tile_reduce(const TileReduceArgs& args, uintptr_t stream);
void chi_accumulate(const ChiAccumulateArgs& args, uintptr_t stream);
}  // namespace cuda

namespace detail {

inline TensorView scratch_view(const TensorView& scratch, size_t offset, DType dtype, int64_t rows, int64_t cols) {
  TensorView v;
  v.data = static_cast<uint8_t*>(scratch.data) + offset;
  v.dtype = dtype;
  v.device = scratch.device;
  v.device_index = scratch.device_index;
  v.ndim = 2;
  v.shape[0] = rows;
  v.shape[1] = cols;
  v.strides[0] = cols;
  v.strides[1] = 1;
  return v;
}

inline int64_t tile_out(const TransferArgs& a) { return a.tiles[0].weight.shape[0]; }
inline int64_t tile_in(const TransferArgs& a) { return a.tiles[0].weight.shape[1]; }
inline int64_t n_events(const TransferArgs& a) { return a.events.ndim == 2 ? a.events.shape[0] : 0; }

// The largest BL any write of the call can use (it fixes the workspace's bit-line words).
inline int64_t transfer_bl_max(const TransferArgs& a) {
  int64_t bl = 1;
  const int64_t* ev = a.events.ptr<const int64_t>();
  const double* rt = a.rates.ptr<const double>();
  for (int64_t e = 0; e < n_events(a); ++e) {
    const double lr = rt[e * kRateColumns + kRateWrite];
    const TransferTileArgs& t = a.tiles[ev[e * kEvColumns + kEvTarget]];
    const int64_t b = update_bl_max(lr < 0 ? -lr : lr, t.granularity, a.update.desired_bl, a.update.fixed_bl,
                                    a.update.update_bl_management);
    bl = b > bl ? b : bl;
  }
  return bl;
}

inline TransferScratchLayout transfer_layout(const TransferArgs& a, size_t elem) {
  return transfer_scratch_layout(tile_in(a), tile_out(a), transfer_bl_max(a), is_stochastic(a.update.pulse_type),
                                 elem);
}

template <typename T>
TransferShared<T> make_transfer_shared(const TransferArgs& a) {
  TransferShared<T> s{};
  s.io = make_io_stage<T>(a.io);
  s.inp_dense = a.io.inp_noise > 0.0;
  s.need_vnorm = io_needs_vnorm(a.io);
  s.need_pcm = io_needs_pcm(a.io);
  s.w_noise = T(a.io.w_noise);
  s.io_factor = io_rescale_factor(NoiseManagement::kNone, T(1), false, T(1), T(a.out_scale));
  s.transpose = a.transpose;
  s.out = tile_out(a);
  s.in = tile_in(a);
  s.kind = a.kind;
  s.buffer_bl = a.buffer_bl;
  s.momentum = T(a.momentum);
  s.forget_buffer = a.forget_buffer;
  s.no_buffer = a.no_buffer;
  s.chop_in = a.chop_in.ndim == 1 ? a.chop_in.ptr<const T>() : nullptr;
  s.chop_out = a.chop_out.ndim == 1 ? a.chop_out.ptr<const T>() : nullptr;
  return s;
}

// Per-event parameters of the whole call: the write of event e is the update of one vector (x_w, d_w)
// on its target tile with the event's rate, seed and call; the scratch is shared by all events.
template <typename T>
void build_transfer_events(const TransferArgs& a, TransferEventParams<T>* events) {
  const TransferScratchLayout l = transfer_layout(a, sizeof(T));
  const int64_t in = tile_in(a), out = tile_out(a);
  const DType dt = a.tiles[0].weight.dtype;
  uint8_t* base = static_cast<uint8_t*>(a.scratch.data);
  const int64_t* ev = a.events.ptr<const int64_t>();
  const double* rt = a.rates.ptr<const double>();
  for (int64_t e = 0; e < n_events(a); ++e) {
    const int64_t* row = ev + e * kEvColumns;
    const double* rate = rt + e * kRateColumns;
    const TransferTileArgs& src = a.tiles[row[kEvSource]];
    const TransferTileArgs& tgt = a.tiles[row[kEvTarget]];
    PulsedUpdateArgs u{};
    u.weight = tgt.weight;
    u.persistent = tgt.persistent;
    u.x = scratch_view(a.scratch, l.x_w, dt, 1, in);
    u.d = scratch_view(a.scratch, l.d_w, dt, 1, out);
    u.workspace = scratch_view(a.scratch, l.work, DType::kUInt8, 1, static_cast<int64_t>(l.total - l.work));
    u.counters = a.update.count_pulses ? tgt.counters : TensorView{};
    u.cells = tgt.cells;
    u.piecewise_up = tgt.piecewise_up;
    u.piecewise_down = tgt.piecewise_down;
    u.update = a.update;
    u.device = tgt.device;
    u.lr = rate[kRateWrite];
    u.granularity = tgt.granularity;
    u.seed = tgt.seed;
    u.call = static_cast<uint64_t>(row[kEvWriteCall]);
    TransferEventParams<T>& p = events[e];
    p.write = make_update_params<T>(u);
    p.source = src.weight.ptr<const T>();
    p.v = reinterpret_cast<T*>(base + l.v);
    p.y = reinterpret_cast<T*>(base + l.y);
    p.pcm = reinterpret_cast<T*>(base + l.pcm);
    const int64_t buffer = row[kEvBufferIndex];
    p.buffer = (a.kind != TransferKind::kDirect && buffer >= 0) ? a.buffers.ptr<T>() + buffer * out * in : nullptr;
    p.line = row[kEvLine];
    p.read_seed = src.seed;
    p.read_call = static_cast<uint64_t>(row[kEvReadCall]);
    p.gain = T(rate[kRateGain]);
    p.divisor = T(rate[kRateDivisor]);
    p.model = tgt.device.model;
  }
}

}  // namespace detail

// Bytes of the scratch (x_w, d_w, v, y, pcm and the update workspace) of one call.
inline size_t transfer_scratch_bytes(const TransferArgs& a) {
  const size_t elem = a.tiles[0].weight.dtype == DType::kFloat64 ? sizeof(double) : sizeof(float);
  return detail::transfer_layout(a, elem).total;
}

}  // namespace xbarsim
