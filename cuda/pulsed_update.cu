// CUDA loop driver of the pulsed update (ops/pulsed_update.h), the same bodies as
// csrc/cpu/pulsed_update.cpp:
//   1. update_prepare_kernel: one block per sample: x_max/d_max (block max-reduction, order-free),
//      BL/A/B by thread 0, then the bit-line words (or deterministic line values) of every line;
//   2. update_cells_kernel: one launch for the whole mini-batch; each thread owns one cell, keeps
//      its weight and parameters in registers and loops over the samples in order; the bit lines of
//      a chunk of samples for the block's 32 input and 8 output lines are staged in shared memory.
// Kernel choice and chunk size are pure functions of the shapes (no timing).
#include <algorithm>

#include "launch.cuh"
#include "xbarsim/devices/device_visit.h"
#include "xbarsim/math/abs_max.h"
#include "xbarsim/ops/pulsed_update.h"

namespace xbarsim {
namespace {

constexpr int kPrepareThreads = 256;
constexpr int kTileX = 32;  // input lines (cells) per block row: one warp, coalesced weight access
constexpr int kTileY = 8;   // output lines per block
constexpr int kCellThreads = kTileX * kTileY;
constexpr int kSmemBudget = 32 * 1024;
constexpr int kMaxChunk = 64;

template <typename T>
__global__ void __launch_bounds__(kPrepareThreads) update_prepare_kernel(UpdateKernelParams<T> p) {
  __shared__ T red_x[kPrepareThreads];
  __shared__ T red_d[kPrepareThreads];
  __shared__ BlAb ab_s;
  const int64_t b = blockIdx.x;
  const int tid = threadIdx.x;
  // max |v| with the CPU's NaN rule (math/abs_max.h): exact in any order, so the block tree agrees.
  T x_max = T(0), d_max = T(0);
  for (int64_t j = tid; j < p.in; j += kPrepareThreads) x_max = abs_max(x_max, p.x[b * p.in + j]);
  for (int64_t i = tid; i < p.out; i += kPrepareThreads) d_max = abs_max(d_max, p.d[b * p.out + i]);
  red_x[tid] = x_max;
  red_d[tid] = d_max;
  __syncthreads();
  for (int s = kPrepareThreads / 2; s > 0; s >>= 1) {
    if (tid < s) {
      red_x[tid] = abs_max(red_x[tid], red_x[tid + s]);
      red_d[tid] = abs_max(red_d[tid], red_d[tid + s]);
    }
    __syncthreads();
  }
  if (tid == 0) {
    ab_s = sample_bl_ab(p, red_x[0], red_d[0]);
    p.bl[b] = ab_s.bl;
    if (p.counters != nullptr && ab_s.bl > 0)
      atomicAdd(reinterpret_cast<unsigned long long*>(p.counters + kCounterPulseSlots),
                static_cast<unsigned long long>(ab_s.bl));
  }
  __syncthreads();
  const BlAb ab = ab_s;
  if (ab.bl == 0) return;
  unsigned long long fired_x = 0, fired_d = 0;
  if (is_stochastic(p.type)) {
    const int64_t gx = (p.in + 3) / 4, gd = (p.out + 3) / 4;
    for (int64_t t = tid; t < gx + gd; t += kPrepareThreads) {
      if (t < gx) fired_x += sample_bit_group(p, b, false, t, ab);
      else fired_d += sample_bit_group(p, b, true, t - gx, ab);
    }
  } else {
    for (int64_t t = tid; t < p.in + p.out; t += kPrepareThreads) {
      if (t < p.in) fired_x += sample_line_value(p, b, false, t, ab);
      else fired_d += sample_line_value(p, b, true, t - p.in, ab);
    }
  }
  if (p.counters != nullptr) {
    if (fired_x) atomicAdd(reinterpret_cast<unsigned long long*>(p.counters + kCounterInputPulses), fired_x);
    if (fired_d) atomicAdd(reinterpret_cast<unsigned long long*>(p.counters + kCounterOutputPulses), fired_d);
  }
}

// ---- phase 2: the cells kernel ---------------------------------------------------------------------------

// Words between two input lines' bit lines in shared memory: W rounded up to an odd number. Thread tx
// reads line tx's words, so a warp reads 32 words S apart; with S odd they fall in 32 distinct bank
// pairs (a stride of W = 64 words, BL 4096, put all 32 in one bank: a 32-way conflict on every
// coincidence count). Staging still writes each line's words contiguously.
__host__ __device__ inline int line_stride(int words) { return words | 1; }

// Shared-memory bytes per staged sample.
inline int sample_smem_bytes(bool stochastic, int words, int elem_size) {
  const int lines = kTileX + kTileY;
  const int payload = stochastic ? (kTileX * line_stride(words) + kTileY * words) * 8 : lines * elem_size;
  return payload + 4 /* bl */ + lines /* sign flags */;
}

inline int chunk_for(bool stochastic, int words, int elem_size) {
  const int per = sample_smem_bytes(stochastic, words, elem_size);
  return std::max(1, std::min(kMaxChunk, kSmemBudget / per));
}

__device__ __forceinline__ unsigned long long warp_sum(unsigned long long v) {
  for (int s = 16; s > 0; s >>= 1) v += __shfl_down_sync(0xffffffffu, v, s);
  return v;
}

// The block's staging area for a chunk of samples: [payload x | payload d | bl | neg x | neg d].
// Stochastic payloads: bits_x of sample bb, line jj at s_bx[(bb kTileX + jj) S + w]; bits_d of line
// ii at s_bd[(bb kTileY + ii) W + w] (all threads of a warp share ty, so those reads broadcast).
// Deterministic payloads: s_vx[bb kTileX + jj], s_vd[bb kTileY + ii].
template <typename T>
struct ChunkSmem {
  uint64_t* bx;
  uint64_t* bd;
  T* vx;
  T* vd;
  int32_t* bl;
  uint8_t* negx;
  uint8_t* negd;
  int stride;  // S, words between two input lines in bx
};

template <typename T, bool kStochastic>
__device__ ChunkSmem<T> chunk_smem(unsigned char* smem, int chunk, int words) {
  ChunkSmem<T> c{};
  c.stride = line_stride(words);
  c.bx = reinterpret_cast<uint64_t*>(smem);
  c.bd = c.bx + static_cast<size_t>(chunk) * kTileX * c.stride;
  c.vx = reinterpret_cast<T*>(smem);
  c.vd = c.vx + static_cast<size_t>(chunk) * kTileX;
  const size_t payload = kStochastic ? static_cast<size_t>(chunk) * (kTileX * c.stride + kTileY * words) * 8
                                     : static_cast<size_t>(chunk) * (kTileX + kTileY) * sizeof(T);
  c.bl = reinterpret_cast<int32_t*>(smem + payload);
  c.negx = reinterpret_cast<uint8_t*>(c.bl + chunk);
  c.negd = c.negx + static_cast<size_t>(chunk) * kTileX;
  return c;
}

// Copies samples [b0, b0 + cb) of the block's lines (input lines j0.., output lines i0..) from the
// workspace into shared memory: BL, the input signs and the stochastic or deterministic payloads.
// Reads are coalesced: consecutive threads take consecutive words of [m, in, W] and of [out, m, W].
template <typename T, bool kStochastic>
__device__ void stage_chunk(const UpdateKernelParams<T>& p, const ChunkSmem<T>& sm, int64_t b0, int cb, int64_t j0,
                            int64_t i0, int tid) {
  const int W = p.words;
  for (int t = tid; t < cb; t += kCellThreads) sm.bl[t] = p.bl[b0 + t];
  for (int t = tid; t < cb * kTileX; t += kCellThreads) {
    const int bb = t / kTileX, jj = t % kTileX;
    const int64_t jg = j0 + jj;
    sm.negx[t] = jg < p.in ? (p.x[(b0 + bb) * p.in + jg] < T(0)) : 0;
  }
  if (kStochastic) {
    for (int t = tid; t < cb * kTileX * W; t += kCellThreads) {
      const int bb = t / (kTileX * W), r = t % (kTileX * W), jj = r / W, ww = r % W;
      const int64_t jg = j0 + jj;
      sm.bx[(static_cast<size_t>(bb) * kTileX + jj) * sm.stride + ww] =
          jg < p.in ? p.bits_x[((b0 + bb) * p.in + jg) * W + ww] : 0ull;
    }
    // bits_d and neg_d are [out, m, ...]: consecutive threads read consecutive samples of a line.
    for (int t = tid; t < kTileY * cb * W; t += kCellThreads) {
      const int ii = t / (cb * W), r = t % (cb * W), bb = r / W, ww = r % W;
      const int64_t ig = i0 + ii;
      sm.bd[(static_cast<size_t>(bb) * kTileY + ii) * W + ww] = ig < p.out ? p.bits_d[(ig * p.m + b0 + bb) * W + ww] : 0ull;
    }
    for (int t = tid; t < kTileY * cb; t += kCellThreads) {
      const int ii = t / cb, bb = t % cb;
      const int64_t ig = i0 + ii;
      sm.negd[bb * kTileY + ii] = ig < p.out ? p.neg_d[ig * p.m + b0 + bb] : 0;
    }
  } else {
    for (int t = tid; t < cb * kTileX; t += kCellThreads) {
      const int bb = t / kTileX, jj = t % kTileX;
      const int64_t jg = j0 + jj;
      sm.vx[t] = jg < p.in ? p.val_x[(b0 + bb) * p.in + jg] : T(0);
    }
    for (int t = tid; t < kTileY * cb; t += kCellThreads) {
      const int ii = t / cb, bb = t % cb;
      const int64_t ig = i0 + ii;
      sm.vd[bb * kTileY + ii] = ig < p.out ? p.val_d[ig * p.m + b0 + bb] : T(0);
    }
  }
}

// One cell's state across the mini-batch: its weight and parameters in registers, whether a pulse
// touched it, and the pulses it received for the counters.
template <typename T>
struct CellState {
  T w;
  DeviceCell<T> c;
  bool touched;
  unsigned long long n_up, n_down;
};

// Applies the staged samples 0..cb-1 of the chunk starting at b0 to the thread's cell (tx, ty), in order.
template <class Model, typename T, bool kStochastic>
__device__ void apply_chunk(const UpdateKernelParams<T>& p, const ChunkSmem<T>& sm, int64_t b0, int cb, int tx,
                            int ty, int64_t cell, CellState<T>& st) {
  const int W = p.words;
  for (int bb = 0; bb < cb; ++bb) {
    const int32_t bl = sm.bl[bb];
    if (bl == 0) continue;
    int32_t n;
    bool up;
    if (kStochastic) {
      n = coincidences(sm.bx + (static_cast<size_t>(bb) * kTileX + tx) * sm.stride,
                       sm.bd + (static_cast<size_t>(bb) * kTileY + ty) * W, W);
      if (n == 0) continue;
      up = pulse_up(sm.negx[bb * kTileX + tx] != 0, sm.negd[bb * kTileY + ty] != 0, p.neg_lr);
    } else {
      const int32_t sn = deterministic_count(p.type, sm.vx[bb * kTileX + tx], sm.vd[bb * kTileY + ty], bl);
      if (sn == 0) continue;
      n = sn < 0 ? -sn : sn;
      up = (sn < 0) != p.neg_lr;
    }
    st.w = apply_pulses<Model>(st.c, p.dev, st.w, n, up, p.seed, p.call, noise_base(p, b0 + bb, cell));
    st.touched = true;
    if (up) st.n_up += static_cast<unsigned long long>(n);
    else st.n_down += static_cast<unsigned long long>(n);
  }
}

// The block's pulse counts, summed per warp and added once per warp.
__device__ void add_cell_counters(int64_t* counters, unsigned long long n_up, unsigned long long n_down, int tx) {
  if (counters == nullptr) return;
  n_up = warp_sum(n_up);
  n_down = warp_sum(n_down);
  if (tx == 0) {
    if (n_up) atomicAdd(reinterpret_cast<unsigned long long*>(counters + kCounterCoincidencesUp), n_up);
    if (n_down) atomicAdd(reinterpret_cast<unsigned long long*>(counters + kCounterCoincidencesDown), n_down);
  }
}

template <class Model, typename T, bool kStochastic>
__global__ void __launch_bounds__(kCellThreads) update_cells_kernel(UpdateKernelParams<T> p, int chunk) {
  extern __shared__ __align__(16) unsigned char smem[];
  const ChunkSmem<T> sm = chunk_smem<T, kStochastic>(smem, chunk, p.words);
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kTileX + tx;
  const int64_t j0 = static_cast<int64_t>(blockIdx.x) * kTileX, i0 = static_cast<int64_t>(blockIdx.y) * kTileY;
  const int64_t j = j0 + tx, i = i0 + ty;
  const bool valid = i < p.out && j < p.in;
  const int64_t cell = i * p.in + j;
  CellState<T> st{T(0), DeviceCell<T>{}, false, 0ull, 0ull};
  if (valid) {
    st.w = p.target[cell];
    st.c = load_cell(p.cells_v, Model::kCellFields, cell);
  }
  for (int64_t b0 = 0; b0 < p.m; b0 += chunk) {
    const int cb = static_cast<int>(p.m - b0 < chunk ? p.m - b0 : chunk);
    __syncthreads();  // the previous chunk is fully consumed
    stage_chunk<T, kStochastic>(p, sm, b0, cb, j0, i0, tid);
    __syncthreads();
    if (valid) apply_chunk<Model, T, kStochastic>(p, sm, b0, cb, tx, ty, cell, st);
  }
  if (valid && st.touched) {
    p.target[cell] = st.w;
    if (p.dev.write_noise != T(0)) p.weight[cell] = apparent_weight(p, cell, st.w);
  }
  add_cell_counters(p.counters, st.n_up, st.n_down, tx);
}

template <class Model, typename T>
void launch_cells(const UpdateKernelParams<T>& p, cudaStream_t stream) {
  const bool stochastic = is_stochastic(p.type);
  const int chunk = chunk_for(stochastic, p.words, static_cast<int>(sizeof(T)));
  const size_t smem = static_cast<size_t>(chunk) * sample_smem_bytes(stochastic, p.words, sizeof(T)) + 16;
  const dim3 block(kTileX, kTileY);
  const dim3 grid(static_cast<unsigned>((p.in + kTileX - 1) / kTileX),
                  static_cast<unsigned>((p.out + kTileY - 1) / kTileY));
  if (stochastic) {
    update_cells_kernel<Model, T, true><<<grid, block, smem, stream>>>(p, chunk);
  } else {
    update_cells_kernel<Model, T, false><<<grid, block, smem, stream>>>(p, chunk);
  }
  XB_CUDA_CHECK_LAUNCH("update_cells_kernel");
}

template <typename T>
void run(const PulsedUpdateArgs& a, cudaStream_t stream) {
  const UpdateKernelParams<T> p = make_update_params<T>(a);
  if (p.m == 0) return;
  XB_CHECK(p.m <= 0x7fffffffLL, "the batch must have fewer than 2^31 vectors");
  XB_CHECK((p.out + kTileY - 1) / kTileY <= 65535, "the tile must have fewer than 524288 output lines on CUDA");
  update_prepare_kernel<T><<<static_cast<unsigned>(p.m), kPrepareThreads, 0, stream>>>(p);
  XB_CUDA_CHECK_LAUNCH("update_prepare_kernel");
  visit_device(a.device.model, [&](auto model) { launch_cells<decltype(model), T>(p, stream); });
}

}  // namespace

namespace cuda {

void pulsed_update(const PulsedUpdateArgs& a, uintptr_t stream) {
  if (a.weight.dtype == DType::kFloat64) run<double>(a, cuda_detail::as_stream(stream));
  else run<float>(a, cuda_detail::as_stream(stream));
}

}  // namespace cuda
}  // namespace xbarsim
