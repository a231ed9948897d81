// CPU loop driver of the fused transfers and the tile reduction (ops/transfer.h): events one after
// another (each sees the writes of the previous ones), OpenMP over the quads, lines and cells of one
// event. The math is in the headers; this file only indexes.
#include "xbarsim/ops/transfer.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "xbarsim/devices/device_visit.h"
#include "xbarsim/math/abs_max.h"
#include "cpu_clones.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace xbarsim::cpu {
namespace {

// A transfer event touches one line (a few hundred cells): forking an OpenMP team costs more than the
// work unless the loop is large (dense reads, very long lines), and a busy-waiting team is ruinous on a
// loaded machine. Loops fork only above this many element operations.
constexpr int64_t kParallelMinWork = int64_t(1) << 15;

// Phase 1 of the pulsed update for the single vector (x_w, d_w) of an event: BL/A/B and bit lines
// (prepare_samples of csrc/cpu/pulsed_update.cpp for b = 0, minus the active-line list).
template <typename T>
void prepare_write(const UpdateKernelParams<T>& p) {
  const BlAb ab = sample_bl_ab(p, abs_max_of(p.x, p.in), abs_max_of(p.d, p.out));
  p.bl[0] = ab.bl;
  if (p.counters != nullptr) p.counters[kCounterPulseSlots] += ab.bl;
  if (ab.bl == 0) return;
  int64_t fired_x = 0, fired_d = 0;
  if (is_stochastic(p.type)) {
    const int64_t gx = (p.in + 3) / 4, gd = (p.out + 3) / 4;
#pragma omp parallel for schedule(static) reduction(+ : fired_x, fired_d) if ((gx + gd) * p.bl_max > kParallelMinWork)
    for (int64_t g = 0; g < gx + gd; ++g) {
      if (g < gx) fired_x += sample_bit_group(p, 0, false, g, ab);
      else fired_d += sample_bit_group(p, 0, true, g - gx, ab);
    }
  } else {
    for (int64_t j = 0; j < p.in; ++j) fired_x += sample_line_value(p, 0, false, j, ab);
    for (int64_t i = 0; i < p.out; ++i) fired_d += sample_line_value(p, 0, true, i, ab);
  }
  if (p.counters != nullptr) {
    p.counters[kCounterInputPulses] += fired_x;
    p.counters[kCounterOutputPulses] += fired_d;
  }
}

template <class Model, typename T>
void write_line(const TransferEventParams<T>& e, const TransferShared<T>& s) {
  const UpdateKernelParams<T>& p = e.write;
  const int64_t n = transfer_lines_out(s);
  if (!is_pulsed(p.type)) {
    if (p.abs_lr == 0.0) return;
    const bool clip = p.type == PulseType::kNoneWithDevice;
    for (int64_t k = 0; k < n; ++k) transfer_write_cell_exact<Model>(e, s, k, clip);
    return;
  }
  if (p.abs_lr == 0.0) return;
  prepare_write(p);
  int64_t n_up = 0, n_down = 0;
#pragma omp parallel for schedule(static) reduction(+ : n_up, n_down) if (n * p.bl_max > kParallelMinWork)
  for (int64_t k = 0; k < n; ++k) {
    const int64_t c = transfer_write_cell<Model>(e, s, k);
    if (c > 0) n_up += c; else n_down -= c;
  }
  if (p.counters != nullptr) {
    p.counters[kCounterCoincidencesUp] += n_up;
    p.counters[kCounterCoincidencesDown] += n_down;
  }
}

template <typename T>
void run_event(const TransferEventParams<T>& e, const TransferShared<T>& s) {
  const int64_t n_in = transfer_lines_in(s), n_out = transfer_lines_out(s);
  // 1. the one-hot input and its DAC
  for (int64_t k = 0; k < n_in; ++k) transfer_fill_onehot(e, s, k);
  const int64_t quads_in = io_quads(n_in);
#pragma omp parallel for schedule(static) if (n_in > kParallelMinWork)
  for (int64_t q = 0; q < quads_in; ++q) transfer_dac_quad(e, s, q);
  // 2. MVM and output stage
  const T w_row = s.need_vnorm ? s.w_noise * transfer_vnorm(e, s) : T(0);
  const int64_t quads_out = io_quads(n_out);
  const int64_t read_work = s.inp_dense ? n_out * n_in : n_out;
#pragma omp parallel for schedule(static) if (read_work > kParallelMinWork)
  for (int64_t q = 0; q < quads_out; ++q) transfer_read_quad(e, s, q, w_row);
  // 3. the written vector (direct value or buffer step), then the pulsed write of the line
  for (int64_t k = 0; k < n_out; ++k) transfer_write_value(e, s, k);
  visit_device(e.model, [&](auto model) { write_line<decltype(model)>(e, s); });
}

template <typename T>
void run(const TransferArgs& a) {
  const int64_t n = xbarsim::detail::n_events(a);
  if (n == 0) return;
  std::vector<TransferEventParams<T>> events(static_cast<size_t>(n));
  xbarsim::detail::build_transfer_events<T>(a, events.data());
  const TransferShared<T> s = xbarsim::detail::make_transfer_shared<T>(a);
  for (const TransferEventParams<T>& e : events) run_event(e, s);
}

template <typename T>
void reduce(const TileReduceArgs& a) {
  TileReduceParams<T> p{};
  p.n_tiles = a.n_tiles;
  for (int32_t n = 0; n < a.n_tiles; ++n) {
    p.tiles[n] = a.tiles[n].ptr<const T>();
    p.gammas[n] = T(a.gammas[n]);
  }
  p.out = a.out.ptr<T>();
  p.numel = a.out.numel();
#pragma omp parallel for schedule(static) if (p.numel * p.n_tiles > kParallelMinWork)
  for (int64_t k = 0; k < p.numel; ++k) tile_reduce_element(p, k);
}

// χ in blocks of at most kChiRows × kChiCols cells (16 KB of float, L1-resident), each block swept
// once per group of four samples: χ[i, j0:j1] gets the terms of samples b … b+3 in turn while it is
// in registers, a contiguous loop over j that the compiler vectorises. Each cell still receives its
// terms one at a time in the order b = 0, 1, … through chi_term, so this gives the bits of
// chi_accumulate_element (the CUDA kernel's per-cell loop) while reading χ m/4 times instead of
// striding through x once per cell. Small χ (conv1 of LeNet-5 is 16×25) is cut into thinner row
// blocks so that every thread gets one.
constexpr int64_t kChiRows = 16, kChiCols = 256;

template <typename T>
void accumulate_block(const ChiAccumulateParams<T>& p, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const int64_t n = j1 - j0;
  int64_t b = 0;
  for (; b + 4 <= p.m; b += 4) {
    const T* __restrict__ x0 = p.x + b * p.in + j0;
    const T* __restrict__ x1 = x0 + p.in;
    const T* __restrict__ x2 = x1 + p.in;
    const T* __restrict__ x3 = x2 + p.in;
    const T* d = p.d + b * p.out;
    for (int64_t i = i0; i < i1; ++i) {
      const T a0 = p.lr * d[i], a1 = p.lr * d[p.out + i], a2 = p.lr * d[2 * p.out + i], a3 = p.lr * d[3 * p.out + i];
      T* __restrict__ chi = p.chi + i * p.in + j0;
      for (int64_t j = 0; j < n; ++j)
        chi[j] = chi_term(chi_term(chi_term(chi_term(chi[j], a0, x0[j]), a1, x1[j]), a2, x2[j]), a3, x3[j]);
    }
  }
  for (; b < p.m; ++b) {
    const T* __restrict__ x = p.x + b * p.in + j0;
    const T* d = p.d + b * p.out;
    for (int64_t i = i0; i < i1; ++i) {
      const T lr_d = p.lr * d[i];
      T* __restrict__ chi = p.chi + i * p.in + j0;
      for (int64_t j = 0; j < n; ++j) chi[j] = chi_term(chi[j], lr_d, x[j]);
    }
  }
}

template <typename T>
void accumulate(const ChiAccumulateArgs& a) {
  ChiAccumulateParams<T> p{a.chi.ptr<T>(), a.x.ptr<const T>(), a.d.ptr<const T>(), a.x.shape[0], a.x.shape[1],
                           a.d.shape[1], T(a.lr)};
  const bool parallel = p.in * p.out * p.m > kParallelMinWork;
  const int64_t col_blocks = (p.in + kChiCols - 1) / kChiCols;
  int64_t rows = kChiRows;
#if defined(_OPENMP)
  const int64_t threads = parallel ? omp_get_max_threads() : 1;
#else
  const int64_t threads = 1;
#endif
  if (col_blocks * ((p.out + rows - 1) / rows) < threads)
    rows = std::max<int64_t>(1, (p.out * col_blocks + threads - 1) / threads);
  const int64_t row_blocks = (p.out + rows - 1) / rows;
  const int64_t blocks = row_blocks * col_blocks;
#pragma omp parallel for schedule(static) if (parallel && blocks > 1)
  for (int64_t k = 0; k < blocks; ++k) {
    const int64_t i0 = (k / col_blocks) * rows, j0 = (k % col_blocks) * kChiCols;
    const int64_t i1 = std::min(i0 + rows, p.out), j1 = std::min(j0 + kChiCols, p.in);
    with_cpu_isa([&] { accumulate_block(p, i0, i1, j0, j1); });
  }
}

}  // namespace

void chi_accumulate(const ChiAccumulateArgs& a) {
  dispatch_floating(a.chi.dtype, "chi_accumulate",
                    [&](auto* tag) { accumulate<std::remove_pointer_t<decltype(tag)>>(a); });
}

void transfer(const TransferArgs& a) {
  dispatch_floating(a.tiles[0].weight.dtype, "transfer",
                    [&](auto* tag) { run<std::remove_pointer_t<decltype(tag)>>(a); });
}

void tile_reduce(const TileReduceArgs& a) {
  dispatch_floating(a.out.dtype, "tile_reduce", [&](auto* tag) { reduce<std::remove_pointer_t<decltype(tag)>>(a); });
}

}  // namespace xbarsim::cpu
