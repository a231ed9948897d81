// CUDA driver of the fused transfers and the tile reduction (ops/transfer.h): the same bodies as
// csrc/cpu/transfer.cpp. All events of a call run in ONE launch of one block: events are sequential
// (a read may see the previous event's write), and inside an event the threads stride over quads,
// lines and cells with a barrier between the phases. The per-event parameters are built on the host
// and copied once to the device (the params scratch tensor); no host synchronisation.
#include <type_traits>
#include <vector>

#include "launch.cuh"
#include "xbarsim/devices/device_visit.h"
#include "xbarsim/ops/transfer.h"

namespace xbarsim {
namespace {

constexpr int kTransferThreads = 256;

template <typename T>
__device__ void block_max2(T* sh_a, T* sh_b, T a, T b) {
  sh_a[threadIdx.x] = a;
  sh_b[threadIdx.x] = b;
  __syncthreads();
  for (int s = kTransferThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      sh_a[threadIdx.x] = sh_a[threadIdx.x + s] > sh_a[threadIdx.x] ? sh_a[threadIdx.x + s] : sh_a[threadIdx.x];
      sh_b[threadIdx.x] = sh_b[threadIdx.x + s] > sh_b[threadIdx.x] ? sh_b[threadIdx.x + s] : sh_b[threadIdx.x];
    }
    __syncthreads();
  }
}

__device__ void add_counter(int64_t* counters, int index, int64_t v) {
  if (counters != nullptr && v != 0)
    atomicAdd(reinterpret_cast<unsigned long long*>(counters + index), static_cast<unsigned long long>(v));
}

template <typename T, class Model>
__global__ void __launch_bounds__(kTransferThreads)
    transfer_kernel(const TransferEventParams<T>* events, int64_t n_events, TransferShared<T> s) {
  __shared__ T sh_a[kTransferThreads];
  __shared__ T sh_b[kTransferThreads];
  __shared__ T sh_wrow;
  __shared__ BlAb sh_ab;
  const int tid = threadIdx.x;
  const int64_t n_in = transfer_lines_in(s), n_out = transfer_lines_out(s);
  for (int64_t ei = 0; ei < n_events; ++ei) {
    const TransferEventParams<T> e = events[ei];
    const UpdateKernelParams<T>& p = e.write;
    // 1. the one-hot input and its DAC
    for (int64_t k = tid; k < n_in; k += kTransferThreads) transfer_fill_onehot(e, s, k);
    __syncthreads();
    const int64_t quads_in = io_quads(n_in);
    for (int64_t q = tid; q < quads_in; q += kTransferThreads) transfer_dac_quad(e, s, q);
    __syncthreads();
    // 2. MVM and output stage
    if (tid == 0) sh_wrow = s.need_vnorm ? s.w_noise * transfer_vnorm(e, s) : T(0);
    __syncthreads();
    const T w_row = sh_wrow;
    const int64_t quads_out = io_quads(n_out);
    for (int64_t q = tid; q < quads_out; q += kTransferThreads) transfer_read_quad(e, s, q, w_row);
    __syncthreads();
    // 3. the written vector
    for (int64_t k = tid; k < n_out; k += kTransferThreads) transfer_write_value(e, s, k);
    __syncthreads();
    // 4. the pulsed (or exact) write of the line
    if (p.abs_lr == 0.0) continue;
    if (!is_pulsed(p.type)) {
      const bool clip = p.type == PulseType::kNoneWithDevice;
      for (int64_t k = tid; k < n_out; k += kTransferThreads) transfer_write_cell_exact<Model>(e, s, k, clip);
      __syncthreads();
      continue;
    }
    T x_max = T(0), d_max = T(0);
    for (int64_t j = tid; j < p.in; j += kTransferThreads) {
      const T v = p.x[j] < T(0) ? -p.x[j] : p.x[j];
      x_max = v > x_max ? v : x_max;
    }
    for (int64_t i = tid; i < p.out; i += kTransferThreads) {
      const T v = p.d[i] < T(0) ? -p.d[i] : p.d[i];
      d_max = v > d_max ? v : d_max;
    }
    block_max2(sh_a, sh_b, x_max, d_max);  // maxima are exact in any order
    if (tid == 0) {
      sh_ab = sample_bl_ab(p, sh_a[0], sh_b[0]);
      p.bl[0] = sh_ab.bl;
    }
    __syncthreads();
    const BlAb ab = sh_ab;
    if (ab.bl == 0) continue;
    int64_t fired_x = 0, fired_d = 0;
    if (is_stochastic(p.type)) {
      const int64_t gx = (p.in + 3) / 4, gd = (p.out + 3) / 4;
      for (int64_t g = tid; g < gx + gd; g += kTransferThreads) {
        if (g < gx) fired_x += sample_bit_group(p, 0, false, g, ab);
        else fired_d += sample_bit_group(p, 0, true, g - gx, ab);
      }
    } else {
      for (int64_t j = tid; j < p.in; j += kTransferThreads) fired_x += sample_line_value(p, 0, false, j, ab);
      for (int64_t i = tid; i < p.out; i += kTransferThreads) fired_d += sample_line_value(p, 0, true, i, ab);
    }
    add_counter(p.counters, kCounterInputPulses, fired_x);
    add_counter(p.counters, kCounterOutputPulses, fired_d);
    __syncthreads();
    int64_t n_up = 0, n_down = 0;
    for (int64_t k = tid; k < n_out; k += kTransferThreads) {
      const int64_t c = transfer_write_cell<Model>(e, s, k);
      if (c > 0) n_up += c; else n_down -= c;
    }
    add_counter(p.counters, kCounterCoincidencesUp, n_up);
    add_counter(p.counters, kCounterCoincidencesDown, n_down);
    __syncthreads();
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

template <typename T>
void run(const TransferArgs& a, uintptr_t stream) {
  const int64_t n = detail::n_events(a);
  if (n == 0) return;
  std::vector<TransferEventParams<T>> events(static_cast<size_t>(n));
  detail::build_transfer_events<T>(a, events.data());
  const TransferShared<T> s = detail::make_transfer_shared<T>(a);
  auto* dev_events = a.params.ptr<TransferEventParams<T>>();
  // Pageable host memory is staged before cudaMemcpyAsync returns, so `events` may go out of scope.
  XB_CUDA_CHECK(cudaMemcpyAsync(dev_events, events.data(), sizeof(TransferEventParams<T>) * events.size(),
                                cudaMemcpyHostToDevice, cuda_detail::as_stream(stream)));
  // One launch per run of consecutive events whose targets share a device model (all of them unless a
  // separate gradient device receives a warm-start write-back).
  int64_t first = 0;
  while (first < n) {
    int64_t last = first + 1;
    while (last < n && events[last].model == events[first].model) ++last;
    visit_device(events[first].model, [&](auto model) {
      transfer_kernel<T, decltype(model)><<<1, kTransferThreads, 0, cuda_detail::as_stream(stream)>>>(
          dev_events + first, last - first, s);
    });
    XB_CUDA_CHECK_LAUNCH("transfer_kernel");
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
