// CPU loop drivers of the read-path stages (ops/io_stages.h): OpenMP over rows, quads in order inside
// a row. The math is in the headers; this file only indexes.
#include "xbarsim/ops/io_stages.h"

#include <type_traits>
#include <vector>

namespace xbarsim::cpu {
namespace {

inline int64_t row_of(const TensorView& rows, int64_t c) {
  return rows.data != nullptr ? rows.ptr<const int64_t>()[c] : c;
}

template <typename T>
void prologue_impl(const IoPrologueArgs& a) {
  const IoParams& p = a.params;
  const IoStage<T> s = make_io_stage<T>(p);
  const int64_t n = a.x.size(1);
  const int64_t k = a.xq.size(0);
  const int64_t quads = io_quads(n);
  const T* x = a.x.ptr<const T>();
  T* xq = a.xq.ptr<T>();
  T* scale = a.scale.ptr<T>();
  T* vnorm = io_needs_vnorm(p) ? a.vnorm.ptr<T>() : nullptr;
  const T nm_thres = static_cast<T>(p.nm_thres_eff);
  const T r = static_cast<T>(a.reduction);
#pragma omp parallel
  {
    std::vector<T> lanes(vnorm != nullptr ? kRowLanes : 0);
#pragma omp for schedule(static)
    for (int64_t c = 0; c < k; ++c) {
      const int64_t row = row_of(a.rows, c);
      const T* x_row = x + row * n;
      T* v_row = xq + c * n;
      T scale_a;
      if (a.compute_scale) {
        T stat = nm_stat_init<T>(p.noise_management);
        if (nm_needs_row_stat(p.noise_management))
          for (int64_t j = 0; j < n; ++j) stat = nm_stat_accumulate(p.noise_management, stat, x_row[j]);
        scale_a = nm_scale(p.noise_management, stat, nm_thres);
        scale[row] = scale_a;
      } else {
        scale_a = scale[row];
      }
      if (nm_short_cut(p.noise_management, scale_a, s.inp_noise, p.backward)) {
        for (int64_t j = 0; j < n; ++j) v_row[j] = T(0);
        if (vnorm != nullptr) vnorm[c] = T(0);
        continue;
      }
      const T divisor = nm_input_divisor(p.noise_management, scale_a, p.bound_management, r);
      if (vnorm != nullptr) {
        for (int l = 0; l < kRowLanes; ++l) lanes[l] = T(0);
        for (int64_t q = 0; q < quads; ++q)
          io_prologue_quad(x_row, v_row, n, q, divisor, s, a.seed, a.call, io_element(a.round, row, quads, q),
                           &lanes[q % kRowLanes]);
        row_lanes_tree_sum(lanes.data());
        vnorm[c] = xb_sqrt(lanes[0]);
      } else {
        for (int64_t q = 0; q < quads; ++q)
          io_prologue_quad<T>(x_row, v_row, n, q, divisor, s, a.seed, a.call, io_element(a.round, row, quads, q),
                              nullptr);
      }
    }
  }
}

template <typename T>
void epilogue_impl(const IoEpilogueArgs& a) {
  const IoParams& p = a.params;
  const IoStage<T> s = make_io_stage<T>(p);
  const int64_t n = a.yhat.size(1);
  const int64_t k = a.yhat.size(0);
  const int64_t quads = io_quads(n);
  const T* yhat = a.yhat.ptr<const T>();
  const T* pcm = io_needs_pcm(p) ? a.pcm.ptr<const T>() : nullptr;
  const T* vnorm = io_needs_vnorm(p) ? a.vnorm.ptr<const T>() : nullptr;
  const T* scale = a.scale.ptr<const T>();
  T* y = a.y.ptr<T>();
  uint8_t* sat = p.bound_management ? a.sat.ptr<uint8_t>() : nullptr;
  const T r = static_cast<T>(a.reduction);
  const T gain = static_cast<T>(a.gain);
  const T w_noise = static_cast<T>(p.w_noise);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < k; ++c) {
    const int64_t row = row_of(a.rows, c);
    const T scale_a = scale[row];
    T* y_row = y + row * n;
    if (nm_short_cut(p.noise_management, scale_a, s.inp_noise, p.backward)) {
      for (int64_t j = 0; j < n; ++j) y_row[j] = T(0);
      if (sat != nullptr) sat[c] = 0;
      continue;
    }
    const T factor = io_rescale_factor(p.noise_management, scale_a, p.bound_management, r, gain);
    const T w_row = vnorm != nullptr ? w_noise * vnorm[c] : T(0);
    const T* yhat_row = yhat + c * n;
    const T* pcm_row = pcm != nullptr ? pcm + c * n : nullptr;
    uint32_t bits = 0;
    for (int64_t q = 0; q < quads; ++q)
      bits |= io_epilogue_quad(yhat_row, pcm_row, y_row, n, q, factor, w_noise, w_row, s, a.seed, a.call,
                               io_element(a.round, row, quads, q));
    if (sat != nullptr) sat[c] = bits != 0 ? 1 : 0;
  }
}

template <typename T>
void nm_running_impl(const IoNmRunningArgs& a) {
  const int64_t m = a.x.size(0);
  const int64_t n = a.x.size(1);
  const T* x = a.x.ptr<const T>();
  T* scale = a.scale.ptr<T>();
  T* state = a.state.ptr<T>();
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < m; ++row) {
    T stat = nm_stat_init<T>(NoiseManagement::kAverageAbsMax);
    for (int64_t j = 0; j < n; ++j) stat = nm_stat_accumulate(NoiseManagement::kAverageAbsMax, stat, x[row * n + j]);
    scale[row] = stat;
  }
  // Sample order is the semantics (§1.3 step 1): one sequential pass over the row maxima.
  const T decay = static_cast<T>(a.nm_decay);
  T running = state[0];
  for (int64_t row = 0; row < m; ++row) {
    running = nm_running_update(running, scale[row], decay);
    scale[row] = running;
  }
  state[0] = running;
}

}  // namespace

void io_prologue(const IoPrologueArgs& a) {
  dispatch_floating(a.x.dtype, "io_prologue", [&](auto* tag) { prologue_impl<std::remove_pointer_t<decltype(tag)>>(a); });
}

void io_epilogue(const IoEpilogueArgs& a) {
  dispatch_floating(a.yhat.dtype, "io_epilogue", [&](auto* tag) { epilogue_impl<std::remove_pointer_t<decltype(tag)>>(a); });
}

void io_nm_running(const IoNmRunningArgs& a) {
  dispatch_floating(a.x.dtype, "io_nm_running", [&](auto* tag) { nm_running_impl<std::remove_pointer_t<decltype(tag)>>(a); });
}

}  // namespace xbarsim::cpu
