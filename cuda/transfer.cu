// CUDA driver of the fused transfers and the tile reduction (ops/transfer.h): the same bodies as
// csrc/cpu/transfer.cpp. Events are sequential (a read may see the previous event's write), so one
// kernel walks them in order; inside an event the threads stride over quads, lines and cells, with a
// barrier between the phases. Lines of one event are independent: a long line (more than
// kLinesPerBlock) spreads over several blocks of a cooperative launch, the barrier then being a grid
// barrier; every block computes the event's reductions (||v||, x_max/d_max, BL) itself, in the same
// fixed order, so no partial results cross blocks and the result does not depend on the block count.
// The per-event parameters travel in the kernel parameters (up to kEventsPerLaunch events per launch),
// so a call copies nothing to the device and never synchronises the host.
#include <cooperative_groups.h>

#include <memory>
#include <type_traits>
#include <vector>

#include "launch.cuh"
#include "xbarsim/devices/device_visit.h"
#include "xbarsim/math/abs_max.h"
#include "xbarsim/ops/transfer.h"

namespace xbarsim {
namespace {

constexpr int kTransferThreads = 256;
static_assert(kTransferThreads == kRowLanes, "||v|| is reduced with one thread per lane of row_lanes_tree_sum");
// Lines of one event per block before the event is spread over more blocks (a grid barrier costs a
// few microseconds, a block barrier nanoseconds: short lines stay in one block).
constexpr int64_t kLinesPerBlock = 4 * kTransferThreads;

// Kernel parameters may take 32764 bytes (CUDA 12.1+, sm_70+); the events of one launch fill most of it.
constexpr size_t kLaunchParamBytes = 32000;

template <typename T>
constexpr int events_per_launch() {
  return static_cast<int>((kLaunchParamBytes - sizeof(TransferShared<T>) - 64) / sizeof(TransferEventParams<T>));
}

// One launch's events (consecutive events of the call with the same target device model).
template <typename T>
struct TransferBatch {
  TransferShared<T> s;
  int32_t count;
  TransferEventParams<T> events[events_per_launch<T>()];
};
static_assert(sizeof(TransferBatch<float>) <= kLaunchParamBytes, "transfer batch exceeds the kernel parameters");
static_assert(sizeof(TransferBatch<double>) <= kLaunchParamBytes, "transfer batch exceeds the kernel parameters");

// The work split of one kernel: this thread's first item and the stride of the item loops, and the
// barrier between phases (the block's, or the grid's when the event spans several blocks).
template <bool kGrid>
struct Phases {
  int64_t first, stride;
  __device__ Phases()
      : first(static_cast<int64_t>(blockIdx.x) * kTransferThreads + threadIdx.x),
        stride(static_cast<int64_t>(gridDim.x) * kTransferThreads) {}
  __device__ void sync() const {
    if constexpr (kGrid) cooperative_groups::this_grid().sync();
    else __syncthreads();
  }
};

// Block-wide reductions; every thread gets the result, and red is free again on return.
template <typename T>
__device__ T block_tree_sum(T v, T* red) {
  const int t = threadIdx.x;
  red[t] = v;
  __syncthreads();
  for (int s = kTransferThreads / 2; s > 0; s >>= 1) {  // row_lanes_tree_sum's order
    if (t < s) red[t] = red[t] + red[t + s];
    __syncthreads();
  }
  const T out = red[0];
  __syncthreads();
  return out;
}

template <typename T>
__device__ void block_abs_max2(T a, T b, T* red_a, T* red_b, T* out_a, T* out_b) {
  const int t = threadIdx.x;
  red_a[t] = a;
  red_b[t] = b;
  __syncthreads();
  for (int s = kTransferThreads / 2; s > 0; s >>= 1) {
    if (t < s) {
      red_a[t] = abs_max(red_a[t], red_a[t + s]);
      red_b[t] = abs_max(red_b[t], red_b[t + s]);
    }
    __syncthreads();
  }
  *out_a = red_a[0];
  *out_b = red_b[0];
  __syncthreads();
}

__device__ void add_counter(int64_t* counters, int index, int64_t v) {
  if (counters != nullptr && v != 0)
    atomicAdd(reinterpret_cast<unsigned long long*>(counters + index), static_cast<unsigned long long>(v));
}

// Steps 1-2: the one-hot input, its DAC and the read of the line (MVM and output stage) into e.y.
template <typename T, bool kGrid>
__device__ void read_line(const TransferEventParams<T>& e, const TransferShared<T>& s, const Phases<kGrid>& ph,
                          T* red) {
  const int64_t n_in = transfer_lines_in(s), n_out = transfer_lines_out(s);
  for (int64_t k = ph.first; k < n_in; k += ph.stride) transfer_fill_onehot(e, s, k);
  ph.sync();
  const int64_t quads_in = io_quads(n_in);
  for (int64_t q = ph.first; q < quads_in; q += ph.stride) transfer_dac_quad(e, s, q);
  ph.sync();
  // Every block reduces ||v|| itself (v is read-only until the next event): lane = thread, the tree of
  // row_lanes_tree_sum, the host's transfer_vnorm bit for bit.
  T w_row = T(0);
  if (s.need_vnorm) w_row = s.w_noise * xb_sqrt(block_tree_sum(transfer_vnorm_lane(e, s, threadIdx.x), red));
  const int64_t quads_out = io_quads(n_out);
  for (int64_t q = ph.first; q < quads_out; q += ph.stride) transfer_read_quad(e, s, q, w_row);
  ph.sync();
}

// Step 4 for the pulsed types: BL/A/B (every block alike), the bit lines or line values, then the
// pulses of the line's cells. Returns after a barrier.
template <typename T, class Model, bool kGrid>
__device__ void pulse_line(const TransferEventParams<T>& e, const TransferShared<T>& s, const Phases<kGrid>& ph,
                           T* red_a, T* red_b, BlAb* sh_ab) {
  const UpdateKernelParams<T>& p = e.write;
  T x_max = T(0), d_max = T(0);
  for (int64_t j = threadIdx.x; j < p.in; j += kTransferThreads) x_max = abs_max(x_max, p.x[j]);
  for (int64_t i = threadIdx.x; i < p.out; i += kTransferThreads) d_max = abs_max(d_max, p.d[i]);
  block_abs_max2(x_max, d_max, red_a, red_b, &x_max, &d_max);  // exact in any order
  if (threadIdx.x == 0) {
    *sh_ab = sample_bl_ab(p, x_max, d_max);
    if (blockIdx.x == 0) {
      p.bl[0] = sh_ab->bl;
      add_counter(p.counters, kCounterPulseSlots, sh_ab->bl);
    }
  }
  // All blocks have read x_w and d_w (the next event rewrites one of them) and p.bl[0] is written.
  ph.sync();
  const BlAb ab = *sh_ab;
  if (ab.bl == 0) return;
  int64_t fired_x = 0, fired_d = 0;
  if (is_stochastic(p.type)) {
    const int64_t gx = (p.in + 3) / 4, gd = (p.out + 3) / 4;
    for (int64_t g = ph.first; g < gx + gd; g += ph.stride) {
      if (g < gx) fired_x += sample_bit_group(p, 0, false, g, ab);
      else fired_d += sample_bit_group(p, 0, true, g - gx, ab);
    }
  } else {
    for (int64_t j = ph.first; j < p.in; j += ph.stride) fired_x += sample_line_value(p, 0, false, j, ab);
    for (int64_t i = ph.first; i < p.out; i += ph.stride) fired_d += sample_line_value(p, 0, true, i, ab);
  }
  add_counter(p.counters, kCounterInputPulses, fired_x);
  add_counter(p.counters, kCounterOutputPulses, fired_d);
  ph.sync();
  int64_t n_up = 0, n_down = 0;
  const int64_t n_out = transfer_lines_out(s);
  for (int64_t k = ph.first; k < n_out; k += ph.stride) {
    const int64_t c = transfer_write_cell<Model>(e, s, k);
    if (c > 0) n_up += c;
    else n_down -= c;
  }
  add_counter(p.counters, kCounterCoincidencesUp, n_up);
  add_counter(p.counters, kCounterCoincidencesDown, n_down);
  ph.sync();
}

// Every branch below depends only on the event and on values every block computes alike, so all
// blocks meet the same barriers (a grid barrier must be reached by every thread of the grid).
template <typename T, class Model, bool kGrid>
__global__ void __launch_bounds__(kTransferThreads) transfer_kernel(__grid_constant__ const TransferBatch<T> batch) {
  __shared__ T red_a[kTransferThreads];
  __shared__ T red_b[kTransferThreads];
  __shared__ BlAb sh_ab;
  const Phases<kGrid> ph;
  const TransferShared<T>& s = batch.s;
  const int64_t n_out = transfer_lines_out(s);
  for (int32_t ei = 0; ei < batch.count; ++ei) {
    const TransferEventParams<T>& e = batch.events[ei];
    const UpdateKernelParams<T>& p = e.write;
    read_line(e, s, ph, red_a);
    // 3. the written vector
    for (int64_t k = ph.first; k < n_out; k += ph.stride) transfer_write_value(e, s, k);
    ph.sync();
    // 4. the pulsed (or exact) write of the line
    if (p.abs_lr == 0.0) continue;
    if (!is_pulsed(p.type)) {
      const bool clip = p.type == PulseType::kNoneWithDevice;
      for (int64_t k = ph.first; k < n_out; k += ph.stride) transfer_write_cell_exact<Model>(e, s, k, clip);
      ph.sync();
      continue;
    }
    pulse_line<T, Model, kGrid>(e, s, ph, red_a, red_b, &sh_ab);
  }
}

template <typename T>
__global__ void tile_reduce_kernel(TileReduceParams<T> p) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < p.numel;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x)
    tile_reduce_element(p, k);
}

template <typename T>
__global__ void chi_accumulate_kernel(ChiAccumulateParams<T> p) {
  const int64_t cells = p.in * p.out;
  for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < cells;
       c += static_cast<int64_t>(gridDim.x) * blockDim.x)
    chi_accumulate_element(p, c);
}

template <typename T>
void accumulate(const ChiAccumulateArgs& a, uintptr_t stream) {
  ChiAccumulateParams<T> p{a.chi.ptr<T>(), a.x.ptr<const T>(), a.d.ptr<const T>(), a.x.shape[0], a.x.shape[1],
                           a.d.shape[1], T(a.lr)};
  const int64_t cells = p.in * p.out;
  if (cells == 0 || p.m == 0) return;
  chi_accumulate_kernel<T><<<cuda_detail::blocks_for(cells, 256), 256, 0, cuda_detail::as_stream(stream)>>>(p);
  XB_CUDA_CHECK_LAUNCH("chi_accumulate_kernel");
}

// Blocks per event: one unless a line is longer than kLinesPerBlock (or a dense read has more quads
// than one block's threads), then as many as the work needs and the GPU keeps resident at once (a
// cooperative launch must fit). The result is the same for any block count.
template <typename T, class Model>
unsigned transfer_blocks(const TransferShared<T>& s) {
  const int64_t lines = s.in > s.out ? s.in : s.out;
  int64_t want = (lines + kLinesPerBlock - 1) / kLinesPerBlock;
  if (s.inp_dense) {
    const int64_t quads = io_quads(transfer_lines_out(s));
    const int64_t dense = (quads + kTransferThreads - 1) / kTransferThreads;
    want = dense > want ? dense : want;
  }
  if (want <= 1) return 1;
  int device = 0, coop = 0, sms = 0, per_sm = 0;
  XB_CUDA_CHECK(cudaGetDevice(&device));
  XB_CUDA_CHECK(cudaDeviceGetAttribute(&coop, cudaDevAttrCooperativeLaunch, device));
  if (!coop) return 1;
  XB_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  XB_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, transfer_kernel<T, Model, true>,
                                                              kTransferThreads, 0));
  const int64_t resident = static_cast<int64_t>(sms) * per_sm;
  if (resident < 2) return 1;
  return static_cast<unsigned>(want < resident ? want : resident);
}

template <typename T, class Model>
void launch_batch(const TransferBatch<T>& batch, cudaStream_t stream) {
  const unsigned blocks = transfer_blocks<T, Model>(batch.s);
  if (blocks == 1) {
    transfer_kernel<T, Model, false><<<1, kTransferThreads, 0, stream>>>(batch);
    XB_CUDA_CHECK_LAUNCH("transfer_kernel");
    return;
  }
  void* args[] = {const_cast<TransferBatch<T>*>(&batch)};
  XB_CUDA_CHECK(cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(&transfer_kernel<T, Model, true>),
                                            dim3(blocks), dim3(kTransferThreads), args, 0, stream));
}

template <typename T>
void run(const TransferArgs& a, uintptr_t stream) {
  const int64_t n = detail::n_events(a);
  if (n == 0) return;
  std::vector<TransferEventParams<T>> events(static_cast<size_t>(n));
  detail::build_transfer_events<T>(a, events.data());
  // The batch is copied into the launch's parameters when the launch is enqueued: it may live on the heap
  // and be reused at once.
  auto batch = std::make_unique<TransferBatch<T>>();
  batch->s = detail::make_transfer_shared<T>(a);
  const cudaStream_t st = cuda_detail::as_stream(stream);
  // One launch per run of consecutive events whose targets share a device model (all of them unless a
  // separate gradient device receives a warm-start write-back), at most events_per_launch at a time.
  int64_t first = 0;
  while (first < n) {
    int64_t last = first + 1;
    while (last < n && last - first < events_per_launch<T>() && events[last].model == events[first].model) ++last;
    batch->count = static_cast<int32_t>(last - first);
    for (int64_t e = first; e < last; ++e) batch->events[e - first] = events[e];
    visit_device(events[first].model, [&](auto model) { launch_batch<T, decltype(model)>(*batch, st); });
    first = last;
  }
}

template <typename T>
void reduce(const TileReduceArgs& a, uintptr_t stream) {
  TileReduceParams<T> p{};
  p.n_tiles = a.n_tiles;
  for (int32_t n = 0; n < a.n_tiles; ++n) {
    p.tiles[n] = a.tiles[n].ptr<const T>();
    p.gammas[n] = T(a.gammas[n]);
  }
  p.out = a.out.ptr<T>();
  p.numel = a.out.numel();
  if (p.numel == 0) return;
  tile_reduce_kernel<T><<<cuda_detail::blocks_for(p.numel, 256), 256, 0, cuda_detail::as_stream(stream)>>>(p);
  XB_CUDA_CHECK_LAUNCH("tile_reduce_kernel");
}

}  // namespace

namespace cuda {

void transfer(const TransferArgs& a, uintptr_t stream) {
  dispatch_floating(a.tiles[0].weight.dtype, "transfer",
                    [&](auto* tag) { run<std::remove_pointer_t<decltype(tag)>>(a, stream); });
}

void chi_accumulate(const ChiAccumulateArgs& a, uintptr_t stream) {
  dispatch_floating(a.chi.dtype, "chi_accumulate",
                    [&](auto* tag) { accumulate<std::remove_pointer_t<decltype(tag)>>(a, stream); });
}

void tile_reduce(const TileReduceArgs& a, uintptr_t stream) {
  dispatch_floating(a.out.dtype, "tile_reduce",
                    [&](auto* tag) { reduce<std::remove_pointer_t<decltype(tag)>>(a, stream); });
}

}  // namespace cuda
}  // namespace xbarsim
