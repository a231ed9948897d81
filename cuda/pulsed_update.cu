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
#include "xbarsim/ops/pulsed_update.h"

namespace xbarsim {
namespace {

constexpr int kPrepareThreads = 256;
constexpr int kTileX = 32;  // input lines (cells) per block row: one warp, coalesced weight access
constexpr int kTileY = 8;   // output lines per block
constexpr int kSmemBudget = 32 * 1024;
constexpr int kMaxChunk = 64;

template <typename T>
__global__ void __launch_bounds__(kPrepareThreads) update_prepare_kernel(UpdateKernelParams<T> p) {
  __shared__ T red_x[kPrepareThreads];
  __shared__ T red_d[kPrepareThreads];
  __shared__ BlAb ab_s;
  const int64_t b = blockIdx.x;
  const int tid = threadIdx.x;
  T x_max = T(0), d_max = T(0);
  for (int64_t j = tid; j < p.in; j += kPrepareThreads) {
    const T v = p.x[b * p.in + j];
    const T a = v < T(0) ? -v : v;
    x_max = a > x_max ? a : x_max;
  }
  for (int64_t i = tid; i < p.out; i += kPrepareThreads) {
    const T v = p.d[b * p.out + i];
    const T a = v < T(0) ? -v : v;
    d_max = a > d_max ? a : d_max;
  }
  red_x[tid] = x_max;
  red_d[tid] = d_max;
  __syncthreads();
  for (int s = kPrepareThreads / 2; s > 0; s >>= 1) {
    if (tid < s) {
      red_x[tid] = red_x[tid + s] > red_x[tid] ? red_x[tid + s] : red_x[tid];
      red_d[tid] = red_d[tid + s] > red_d[tid] ? red_d[tid + s] : red_d[tid];
    }
    __syncthreads();
  }
  if (tid == 0) {
    ab_s = sample_bl_ab(p, red_x[0], red_d[0]);
    p.bl[b] = ab_s.bl;
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

// Shared-memory bytes per staged sample.
inline int sample_smem_bytes(bool stochastic, int words, int elem_size) {
  const int lines = kTileX + kTileY;
  const int payload = stochastic ? lines * words * 8 : lines * elem_size;
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

template <class Model, typename T, bool kStochastic>
__global__ void __launch_bounds__(kTileX* kTileY) update_cells_kernel(UpdateKernelParams<T> p, int chunk) {
  extern __shared__ __align__(16) unsigned char smem[];
  const int W = p.words;
  // Layout of one chunk: [payload x | payload d | bl | neg x | neg d].
  uint64_t* s_bx = reinterpret_cast<uint64_t*>(smem);
  uint64_t* s_bd = s_bx + static_cast<size_t>(chunk) * kTileX * W;
  T* s_vx = reinterpret_cast<T*>(smem);
  T* s_vd = s_vx + static_cast<size_t>(chunk) * kTileX;
  const size_t payload = kStochastic ? static_cast<size_t>(chunk) * (kTileX + kTileY) * W * 8
                                     : static_cast<size_t>(chunk) * (kTileX + kTileY) * sizeof(T);
  int32_t* s_bl = reinterpret_cast<int32_t*>(smem + payload);
  uint8_t* s_negx = reinterpret_cast<uint8_t*>(s_bl + chunk);
  uint8_t* s_negd = s_negx + static_cast<size_t>(chunk) * kTileX;

  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kTileX + tx;
  const int64_t j0 = static_cast<int64_t>(blockIdx.x) * kTileX, i0 = static_cast<int64_t>(blockIdx.y) * kTileY;
  const int64_t j = j0 + tx, i = i0 + ty;
  const bool valid = i < p.out && j < p.in;
  const int64_t cell = i * p.in + j;
  T w = T(0);
  DeviceCell<T> c{};
  if (valid) {
    w = p.target[cell];
    c = load_cell(p.cells_v, Model::kCellFields, cell);
  }
  bool touched = false;
  unsigned long long n_up = 0, n_down = 0;
  constexpr int kThreads = kTileX * kTileY;

  for (int64_t b0 = 0; b0 < p.m; b0 += chunk) {
    const int cb = static_cast<int>(p.m - b0 < chunk ? p.m - b0 : chunk);
    __syncthreads();  // the previous chunk is fully consumed
    for (int t = tid; t < cb; t += kThreads) s_bl[t] = p.bl[b0 + t];
    for (int t = tid; t < cb * kTileX; t += kThreads) {
      const int bb = t / kTileX, jj = t % kTileX;
      const int64_t jg = j0 + jj;
      s_negx[t] = jg < p.in ? (p.x[(b0 + bb) * p.in + jg] < T(0)) : 0;
    }
    if (kStochastic) {
      for (int t = tid; t < cb * kTileX * W; t += kThreads) {
        const int bb = t / (kTileX * W), r = t % (kTileX * W), jj = r / W, ww = r % W;
        const int64_t jg = j0 + jj;
        s_bx[t] = jg < p.in ? p.bits_x[((b0 + bb) * p.in + jg) * W + ww] : 0ull;
      }
      // bits_d and neg_d are [out, m, ...]: consecutive threads read consecutive samples of a line.
      for (int t = tid; t < kTileY * cb * W; t += kThreads) {
        const int ii = t / (cb * W), r = t % (cb * W), bb = r / W, ww = r % W;
        const int64_t ig = i0 + ii;
        s_bd[(static_cast<size_t>(bb) * kTileY + ii) * W + ww] =
            ig < p.out ? p.bits_d[(ig * p.m + b0 + bb) * W + ww] : 0ull;
      }
      for (int t = tid; t < kTileY * cb; t += kThreads) {
        const int ii = t / cb, bb = t % cb;
        const int64_t ig = i0 + ii;
        s_negd[bb * kTileY + ii] = ig < p.out ? p.neg_d[ig * p.m + b0 + bb] : 0;
      }
    } else {
      for (int t = tid; t < cb * kTileX; t += kThreads) {
        const int bb = t / kTileX, jj = t % kTileX;
        const int64_t jg = j0 + jj;
        s_vx[t] = jg < p.in ? p.val_x[(b0 + bb) * p.in + jg] : T(0);
      }
      for (int t = tid; t < kTileY * cb; t += kThreads) {
        const int ii = t / cb, bb = t % cb;
        const int64_t ig = i0 + ii;
        s_vd[bb * kTileY + ii] = ig < p.out ? p.val_d[ig * p.m + b0 + bb] : T(0);
      }
    }
    __syncthreads();
    if (!valid) continue;
    for (int bb = 0; bb < cb; ++bb) {
      const int32_t bl = s_bl[bb];
      if (bl == 0) continue;
      int32_t n;
      bool up;
      if (kStochastic) {
        n = coincidences(s_bx + (static_cast<size_t>(bb) * kTileX + tx) * W,
                         s_bd + (static_cast<size_t>(bb) * kTileY + ty) * W, W);
        if (n == 0) continue;
        up = pulse_up(s_negx[bb * kTileX + tx] != 0, s_negd[bb * kTileY + ty] != 0, p.neg_lr);
      } else {
        const int32_t sn = deterministic_count(p.type, s_vx[bb * kTileX + tx], s_vd[bb * kTileY + ty], bl);
        if (sn == 0) continue;
        n = sn < 0 ? -sn : sn;
        up = (sn < 0) != p.neg_lr;
      }
      w = apply_pulses<Model>(c, p.dev, w, n, up, p.seed, p.call, noise_base(p, b0 + bb, cell));
      touched = true;
      if (up) n_up += static_cast<unsigned long long>(n);
      else n_down += static_cast<unsigned long long>(n);
    }
  }
  if (valid && touched) {
    p.target[cell] = w;
    if (p.dev.write_noise != T(0)) p.weight[cell] = apparent_weight(p, cell, w);
  }
  if (p.counters != nullptr) {
    n_up = warp_sum(n_up);
    n_down = warp_sum(n_down);
    if (tx == 0) {
      if (n_up) atomicAdd(reinterpret_cast<unsigned long long*>(p.counters + kCounterCoincidencesUp), n_up);
      if (n_down) atomicAdd(reinterpret_cast<unsigned long long*>(p.counters + kCounterCoincidencesDown), n_down);
    }
  }
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
