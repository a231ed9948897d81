// CUDA drivers of the read-path stages (ops/io_stages.h): one block of kRowLanes threads per row,
// thread l handling quads l, l + kRowLanes, ... of the row, i.e. exactly the lanes of the CPU loop,
// so the row sums of v^2 are combined in the same order and agree bit for bit. Kernels run on the
// caller's stream and never synchronise the device.
#include <type_traits>

#include "launch.cuh"
#include "xbarsim/ops/io_stages.h"

namespace xbarsim {
namespace {

static_assert(kRowLanes == 256, "the kernels below are written for 256-thread blocks");

__device__ __forceinline__ int64_t row_of(const int64_t* rows, int64_t c) { return rows != nullptr ? rows[c] : c; }

// Block-wide row statistic of one value per thread (a maximum: exact in any order). All threads get
// the result.
template <typename T>
__device__ T block_stat(NoiseManagement nm, T v, T* red) {
  const int t = threadIdx.x;
  red[t] = v;
  __syncthreads();
  for (int s = kRowLanes / 2; s > 0; s >>= 1) {
    if (t < s) red[t] = nm_stat_combine(nm, red[t], red[t + s]);
    __syncthreads();
  }
  const T out = red[0];
  __syncthreads();  // red is reused by the caller
  return out;
}

// Block-wide sum in the fixed tree order of row_lanes_tree_sum. All threads get the result.
template <typename T>
__device__ T block_tree_sum(T v, T* red) {
  const int t = threadIdx.x;
  red[t] = v;
  __syncthreads();
  for (int s = kRowLanes / 2; s > 0; s >>= 1) {
    if (t < s) red[t] = red[t] + red[t + s];
    __syncthreads();
  }
  const T out = red[0];
  __syncthreads();
  return out;
}

template <typename T>
__global__ void __launch_bounds__(kRowLanes)
io_prologue_kernel(const T* __restrict__ x, const int64_t* __restrict__ rows, T* __restrict__ xq,
                   T* __restrict__ scale, T* __restrict__ vnorm, int64_t k, int64_t n, IoParams p,
                   IoStage<T> s, uint64_t seed, uint64_t call, uint32_t round, T r, bool compute_scale) {
  __shared__ T red[kRowLanes];
  const int t = threadIdx.x;
  const int64_t quads = io_quads(n);
  for (int64_t c = blockIdx.x; c < k; c += gridDim.x) {
    const int64_t row = row_of(rows, c);
    const T* x_row = x + row * n;
    T* v_row = xq + c * n;
    T scale_a;
    if (compute_scale) {
      T stat = nm_stat_init<T>(p.noise_management);
      if (nm_needs_row_stat(p.noise_management)) {
        for (int64_t j = t; j < n; j += kRowLanes) stat = nm_stat_accumulate(p.noise_management, stat, x_row[j]);
        stat = block_stat(p.noise_management, stat, red);
      }
      scale_a = nm_scale(p.noise_management, stat, static_cast<T>(p.nm_thres_eff));
      if (t == 0) scale[row] = scale_a;
    } else {
      scale_a = scale[row];
    }
    // scale_a is the same in every thread, so the whole block takes the same branch.
    if (nm_short_cut(p.noise_management, scale_a, s.inp_noise, p.backward)) {
      for (int64_t j = t; j < n; j += kRowLanes) v_row[j] = T(0);
      if (vnorm != nullptr && t == 0) vnorm[c] = T(0);
      continue;
    }
    const InputScale<T> in_scale = nm_input_scale(p.noise_management, scale_a, p.bound_management, r);
    T lane = T(0);
    for (int64_t q = t; q < quads; q += kRowLanes)
      io_prologue_quad(x_row, v_row, n, q, in_scale, s, seed, call, io_element(round, row, quads, q),
                       vnorm != nullptr ? &lane : static_cast<T*>(nullptr));
    if (vnorm != nullptr) {
      const T sumsq = block_tree_sum(lane, red);
      if (t == 0) vnorm[c] = xb_sqrt(sumsq);
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(kRowLanes)
io_epilogue_kernel(const T* yhat, const T* __restrict__ pcm, T* y, const int64_t* __restrict__ rows,
                   const T* __restrict__ scale, const T* __restrict__ vnorm, uint8_t* __restrict__ sat,
                   int64_t k, int64_t n, IoParams p, IoStage<T> s, uint64_t seed, uint64_t call,
                   uint32_t round, T r, T gain) {
  // yhat and y may alias (round 0 writes the GEMM result into y): each element is read and then
  // written by the same thread, so no __restrict__ on them.
  const int t = threadIdx.x;
  const int64_t quads = io_quads(n);
  const T w_noise = static_cast<T>(p.w_noise);
  for (int64_t c = blockIdx.x; c < k; c += gridDim.x) {
    const int64_t row = row_of(rows, c);
    const T scale_a = scale[row];
    T* y_row = y + row * n;
    if (nm_short_cut(p.noise_management, scale_a, s.inp_noise, p.backward)) {
      for (int64_t j = t; j < n; j += kRowLanes) y_row[j] = T(0);
      if (sat != nullptr && t == 0) sat[c] = 0;
      continue;
    }
    const T factor = io_rescale_factor(p.noise_management, scale_a, p.bound_management, r, gain);
    const T w_row = vnorm != nullptr ? w_noise * vnorm[c] : T(0);
    const T* yhat_row = yhat + c * n;
    const T* pcm_row = pcm != nullptr ? pcm + c * n : nullptr;
    uint32_t bits = 0;
    for (int64_t q = t; q < quads; q += kRowLanes)
      bits |= io_epilogue_quad(yhat_row, pcm_row, y_row, n, q, factor, w_noise, w_row, s, seed, call,
                               io_element(round, row, quads, q));
    const int any = __syncthreads_or(bits != 0 ? 1 : 0);
    if (sat != nullptr && t == 0) sat[c] = any != 0 ? 1 : 0;
  }
}

template <typename T>
__global__ void __launch_bounds__(kRowLanes)
io_row_abs_max_kernel(const T* __restrict__ x, T* __restrict__ out, int64_t m, int64_t n) {
  __shared__ T red[kRowLanes];
  const int t = threadIdx.x;
  for (int64_t row = blockIdx.x; row < m; row += gridDim.x) {
    T stat = nm_stat_init<T>(NoiseManagement::kAverageAbsMax);
    for (int64_t j = t; j < n; j += kRowLanes)
      stat = nm_stat_accumulate(NoiseManagement::kAverageAbsMax, stat, x[row * n + j]);
    stat = block_stat(NoiseManagement::kAverageAbsMax, stat, red);
    if (t == 0) out[row] = stat;
  }
}

// The running maximum is a recurrence in sample order (§1.3 step 1), and rounding makes it
// sequential: a parallel prefix over the affine maps would round differently from the CPU's loop. So
// one block stages the row maxima in chunks (coalesced loads and stores by every thread), computes the
// chain-independent operands decay * max_j |x_j| in parallel, and leaves one thread only the compare,
// multiply and add per row, from shared memory (nm_running_step: the CPU's operations, the same bits).
// The previous form, one thread with a dependent global load and store per row, took tens of ms at
// convolution batch sizes.
constexpr int kScanThreads = 256;
constexpr int kScanChunk = 2048;

template <typename T>
__global__ void __launch_bounds__(kScanThreads) io_nm_running_scan_kernel(T* scale, T* state, int64_t m, T decay) {
  __shared__ T s_max[kScanChunk];
  __shared__ T s_decayed[kScanChunk];
  const int t = threadIdx.x;
  const T keep = T(1) - decay;
  T running = state[0];  // thread 0's chain; the other threads only stage
  for (int64_t base = 0; base < m; base += kScanChunk) {
    const int count = static_cast<int>(m - base < kScanChunk ? m - base : kScanChunk);
    for (int i = t; i < count; i += kScanThreads) {
      const T a = scale[base + i];
      s_max[i] = a;
      s_decayed[i] = decay * a;
    }
    __syncthreads();
    if (t == 0) {
      for (int i = 0; i < count; ++i) {
        running = nm_running_step(running, s_max[i], keep, s_decayed[i]);
        s_max[i] = running;
      }
    }
    __syncthreads();
    for (int i = t; i < count; i += kScanThreads) scale[base + i] = s_max[i];
    __syncthreads();  // the next chunk overwrites s_max
  }
  if (t == 0) state[0] = running;
}

inline unsigned row_blocks(int64_t rows) {
  // One block per row up to kMaxGridBlocks (launch.cuh); the kernels loop over further rows.
  const int64_t cap = cuda_detail::kMaxGridBlocks;
  return static_cast<unsigned>(rows < 1 ? 1 : (rows > cap ? cap : rows));
}

template <typename T>
void prologue_launch(const IoPrologueArgs& a, uintptr_t stream) {
  const int64_t k = a.xq.size(0);
  const int64_t n = a.x.size(1);
  if (k == 0) return;
  io_prologue_kernel<T><<<row_blocks(k), kRowLanes, 0, cuda_detail::as_stream(stream)>>>(
      a.x.ptr<const T>(), a.rows.data != nullptr ? a.rows.ptr<const int64_t>() : nullptr, a.xq.ptr<T>(),
      a.scale.ptr<T>(), io_needs_vnorm(a.params) ? a.vnorm.ptr<T>() : nullptr, k, n, a.params,
      make_io_stage<T>(a.params), a.seed, a.call, a.round, static_cast<T>(a.reduction), a.compute_scale);
  XB_CUDA_CHECK_LAUNCH("io_prologue_kernel");
}

template <typename T>
void epilogue_launch(const IoEpilogueArgs& a, uintptr_t stream) {
  const int64_t k = a.yhat.size(0);
  const int64_t n = a.yhat.size(1);
  if (k == 0) return;
  io_epilogue_kernel<T><<<row_blocks(k), kRowLanes, 0, cuda_detail::as_stream(stream)>>>(
      a.yhat.ptr<const T>(), io_needs_pcm(a.params) ? a.pcm.ptr<const T>() : nullptr, a.y.ptr<T>(),
      a.rows.data != nullptr ? a.rows.ptr<const int64_t>() : nullptr, a.scale.ptr<const T>(),
      io_needs_vnorm(a.params) ? a.vnorm.ptr<const T>() : nullptr,
      a.params.bound_management ? a.sat.ptr<uint8_t>() : nullptr, k, n, a.params, make_io_stage<T>(a.params),
      a.seed, a.call, a.round, static_cast<T>(a.reduction), static_cast<T>(a.gain));
  XB_CUDA_CHECK_LAUNCH("io_epilogue_kernel");
}

template <typename T>
void nm_running_launch(const IoNmRunningArgs& a, uintptr_t stream) {
  const int64_t m = a.x.size(0);
  const int64_t n = a.x.size(1);
  if (m == 0) return;
  const cudaStream_t st = cuda_detail::as_stream(stream);
  io_row_abs_max_kernel<T><<<row_blocks(m), kRowLanes, 0, st>>>(a.x.ptr<const T>(), a.scale.ptr<T>(), m, n);
  XB_CUDA_CHECK_LAUNCH("io_row_abs_max_kernel");
  io_nm_running_scan_kernel<T>
      <<<1, kScanThreads, 0, st>>>(a.scale.ptr<T>(), a.state.ptr<T>(), m, static_cast<T>(a.nm_decay));
  XB_CUDA_CHECK_LAUNCH("io_nm_running_scan_kernel");
}

}  // namespace

namespace cuda {

void io_prologue(const IoPrologueArgs& a, uintptr_t stream) {
  dispatch_floating(a.x.dtype, "io_prologue", [&](auto* tag) {
    prologue_launch<std::remove_pointer_t<decltype(tag)>>(a, stream);
  });
}

void io_epilogue(const IoEpilogueArgs& a, uintptr_t stream) {
  dispatch_floating(a.yhat.dtype, "io_epilogue", [&](auto* tag) {
    epilogue_launch<std::remove_pointer_t<decltype(tag)>>(a, stream);
  });
}

void io_nm_running(const IoNmRunningArgs& a, uintptr_t stream) {
  dispatch_floating(a.x.dtype, "io_nm_running", [&](auto* tag) {
    nm_running_launch<std::remove_pointer_t<decltype(tag)>>(a, stream);
  });
}

}  // namespace cuda
}  // namespace xbarsim
