// CPU loop drivers of the read-path stages (ops/io_stages.h): OpenMP over rows. Inside a row, the
// draws of all quads go to per-thread scratch arrays first and the element functions then run over
// the row in a plain loop, which the compiler vectorises. The math is in the headers; this file only
// indexes. The row functions run in one copy per ISA (cpu_clones.h): fmaf and rintf are exactly
// rounded either as instructions or as library calls, so every ISA copy gives the same bits, and the
// same as the GPU.
#include "xbarsim/ops/io_stages.h"

#include <type_traits>
#include <vector>

#include "cpu_clones.h"

namespace xbarsim::cpu {
namespace {

// Rows are spread over OpenMP threads only when the pass has enough work to pay for waking a team
// (a fork/join costs microseconds, and far more on a loaded machine); results do not depend on it.
constexpr int64_t kParallelMinElements = 1 << 14;

inline int64_t row_of(const TensorView& rows, int64_t c) {
  return rows.data != nullptr ? rows.ptr<const int64_t>()[c] : c;
}

// Per-thread scratch of one row: draws for 4 * quads lines and the lanes of the ||v|| reduction.
template <typename T>
struct Scratch {
  std::vector<float> u, z1, z2;
  std::vector<T> lanes;
  explicit Scratch(int64_t quads) : u(4 * quads, 0.5f), z1(4 * quads, 0.0f), z2(4 * quads, 0.0f), lanes(kRowLanes) {}
};

// The row functions below run through with_cpu_isa (cpu_clones.h): one copy per ISA.
template <typename T>
T row_stat(NoiseManagement nm, const T* x_row, int64_t n) {
  T stat;
  with_cpu_isa([&] { stat = nm_row_stat(nm, x_row, n); });
  return stat;
}

// DAC of one row into v_row; returns ||v||_2 in the fixed lane order when want_norm.
template <typename T>
T prologue_row_body(const T* x_row, T* v_row, int64_t n, int64_t row, const InputScale<T> in_scale, const IoStage<T> s, uint64_t seed,
                    uint64_t call, uint32_t round, bool want_norm, Scratch<T>& sc) {
  const int64_t quads = io_quads(n);
  float* u = sc.u.data();
  float* z = sc.z1.data();
  // The draws of io_prologue_draws, one stream per loop: with the stage switches outside, each loop
  // is branch-free and vectorises (tests/unit/test_io_stages.py checks the result against the
  // per-quad io_prologue_draws of the CUDA kernels).
  if (s.inp_sto_round && s.inp_res_eff > T(0))
    for (int64_t q = 0; q < quads; ++q)
      io_uniforms4(seed, Stream::kInputStoRound, call, io_element(round, row, quads, q), u + 4 * q);
  if (s.inp_noise > T(0))
    for (int64_t q = 0; q < quads; ++q)
      io_normals4(seed, Stream::kInputNoise, call, io_element(round, row, quads, q), z + 4 * q);
  for (int64_t j = 0; j < n; ++j) v_row[j] = dac_element(x_row[j], in_scale, s, u[j], z[j]);
  if (!want_norm) return T(0);
  T* lanes = sc.lanes.data();
  for (int l = 0; l < kRowLanes; ++l) lanes[l] = T(0);
  for (int64_t q = 0; q < quads; ++q) {
    T acc = lanes[q % kRowLanes];
    for (int64_t j = 4 * q; j < n && j < 4 * q + 4; ++j) acc = acc + v_row[j] * v_row[j];
    lanes[q % kRowLanes] = acc;
  }
  row_lanes_tree_sum(lanes);
  return xb_sqrt(lanes[0]);
}

template <typename T>
T prologue_row(const T* x_row, T* v_row, int64_t n, int64_t row, const InputScale<T> in_scale, const IoStage<T> s, uint64_t seed,
               uint64_t call, uint32_t round, bool want_norm, Scratch<T>& sc) {
  T norm;
  with_cpu_isa([&] { norm = prologue_row_body(x_row, v_row, n, row, in_scale, s, seed, call, round, want_norm, sc); });
  return norm;
}

// The output stage as up to three passes over the row (weight noise and asymmetry only when on), so
// that the common case is one branch-free loop; the composition is adc_element's, element by element.
template <typename T>
uint32_t epilogue_row_body(const T* yhat_row, const T* pcm_row, T* y_row, int64_t n, int64_t row, T factor,
                           T w_noise, T w_row, const IoStage<T> s, uint64_t seed, uint64_t call, uint32_t round,
                           Scratch<T>& sc) {
  const int64_t quads = io_quads(n);
  const bool weight_noise = pcm_row != nullptr || w_row > T(0);
  float* u = sc.u.data();
  float* zo = sc.z1.data();
  float* zw = sc.z2.data();
  // The draws of io_epilogue_draws, one stream per loop (see prologue_row).
  if (weight_noise)
    for (int64_t q = 0; q < quads; ++q)
      io_normals4(seed, Stream::kWeightNoise, call, io_element(round, row, quads, q), zw + 4 * q);
  if (s.out_noise > T(0))
    for (int64_t q = 0; q < quads; ++q)
      io_normals4(seed, Stream::kOutputNoise, call, io_element(round, row, quads, q), zo + 4 * q);
  if (s.out_sto_round && s.out_res_eff > T(0))
    for (int64_t q = 0; q < quads; ++q)
      io_uniforms4(seed, Stream::kOutputStoRound, call, io_element(round, row, quads, q), u + 4 * q);
  const T* src = yhat_row;  // y_row may alias yhat_row (round 0): every pass is elementwise
  if (weight_noise) {
    for (int64_t j = 0; j < n; ++j)
      y_row[j] = adc_weight_noise(src[j], io_weight_noise_std(pcm_row, j, w_noise, w_row), zw[j]);
    src = y_row;
  }
  if (s.out_asymmetric) {
    for (int64_t j = 0; j < n; ++j) y_row[j] = adc_asymmetry(src[j], s);
    src = y_row;
  }
  uint32_t bits = 0;
  for (int64_t j = 0; j < n; ++j) y_row[j] = adc_convert(src[j], s, zo[j], u[j], &bits) * factor;
  return bits;
}

template <typename T>
uint32_t epilogue_row(const T* yhat_row, const T* pcm_row, T* y_row, int64_t n, int64_t row, T factor, T w_noise,
                      T w_row, const IoStage<T> s, uint64_t seed, uint64_t call, uint32_t round, Scratch<T>& sc) {
  uint32_t bits;
  with_cpu_isa([&] {
    bits = epilogue_row_body(yhat_row, pcm_row, y_row, n, row, factor, w_noise, w_row, s, seed, call, round, sc);
  });
  return bits;
}

template <typename T>
void prologue_impl(const IoPrologueArgs& a) {
  const IoParams& p = a.params;
  const IoStage<T> s = make_io_stage<T>(p);
  const int64_t n = a.x.size(1);
  const int64_t k = a.xq.size(0);
  const T* x = a.x.ptr<const T>();
  T* xq = a.xq.ptr<T>();
  T* scale = a.scale.ptr<T>();
  T* vnorm = io_needs_vnorm(p) ? a.vnorm.ptr<T>() : nullptr;
  const T nm_thres = static_cast<T>(p.nm_thres_eff);
  const T r = static_cast<T>(a.reduction);
#pragma omp parallel if (k * n >= kParallelMinElements)
  {
    Scratch<T> sc(io_quads(n));
#pragma omp for schedule(static)
    for (int64_t c = 0; c < k; ++c) {
      const int64_t row = row_of(a.rows, c);
      const T* x_row = x + row * n;
      T* v_row = xq + c * n;
      T scale_a;
      if (a.compute_scale) {
        scale_a = nm_scale(p.noise_management, row_stat(p.noise_management, x_row, n), nm_thres);
        scale[row] = scale_a;
      } else {
        scale_a = scale[row];
      }
      if (nm_short_cut(p.noise_management, scale_a, s.inp_noise, p.backward)) {
        for (int64_t j = 0; j < n; ++j) v_row[j] = T(0);
        if (vnorm != nullptr) vnorm[c] = T(0);
        continue;
      }
      const InputScale<T> in_scale = nm_input_scale(p.noise_management, scale_a, p.bound_management, r);
      const T norm = prologue_row(x_row, v_row, n, row, in_scale, s, a.seed, a.call, a.round, vnorm != nullptr, sc);
      if (vnorm != nullptr) vnorm[c] = norm;
    }
  }
}

template <typename T>
void epilogue_impl(const IoEpilogueArgs& a) {
  const IoParams& p = a.params;
  const IoStage<T> s = make_io_stage<T>(p);
  const int64_t n = a.yhat.size(1);
  const int64_t k = a.yhat.size(0);
  const T* yhat = a.yhat.ptr<const T>();
  const T* pcm = io_needs_pcm(p) ? a.pcm.ptr<const T>() : nullptr;
  const T* vnorm = io_needs_vnorm(p) ? a.vnorm.ptr<const T>() : nullptr;
  const T* scale = a.scale.ptr<const T>();
  T* y = a.y.ptr<T>();
  uint8_t* sat = p.bound_management ? a.sat.ptr<uint8_t>() : nullptr;
  const T r = static_cast<T>(a.reduction);
  const T gain = static_cast<T>(a.gain);
  const T w_noise = static_cast<T>(p.w_noise);
#pragma omp parallel if (k * n >= kParallelMinElements)
  {
    Scratch<T> sc(io_quads(n));
#pragma omp for schedule(static)
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
      const uint32_t bits = epilogue_row(yhat + c * n, pcm != nullptr ? pcm + c * n : nullptr, y_row, n, row, factor,
                                         w_noise, w_row, s, a.seed, a.call, a.round, sc);
      if (sat != nullptr) sat[c] = bits != 0 ? 1 : 0;
    }
  }
}

template <typename T>
void nm_running_impl(const IoNmRunningArgs& a) {
  const int64_t m = a.x.size(0);
  const int64_t n = a.x.size(1);
  const T* x = a.x.ptr<const T>();
  T* scale = a.scale.ptr<T>();
  T* state = a.state.ptr<T>();
#pragma omp parallel for schedule(static) if (m * n >= kParallelMinElements)
  for (int64_t row = 0; row < m; ++row) scale[row] = row_stat(NoiseManagement::kAverageAbsMax, x + row * n, n);
  // Sample order is the semantics (§1.3 step 1): one sequential pass over the row maxima.
  const T decay = static_cast<T>(a.nm_decay);
  T running = state[0];
  for (int64_t row = 0; row < m; ++row) {
    running = nm_running_update(running, scale[row], decay);
    scale[row] = running;
  }
  state[0] = running;
}

// The CUDA kernels' decomposition on the host, for tests on machines without a GPU: per row, "thread"
// l handles quads l, l + kRowLanes, ... through io_prologue_quad / io_epilogue_quad, and the lanes are
// combined by the same tree. Must give the same bits as the loops above.
template <typename T>
void prologue_by_quads_impl(const IoPrologueArgs& a) {
  const IoParams& p = a.params;
  const IoStage<T> s = make_io_stage<T>(p);
  const int64_t n = a.x.size(1), k = a.xq.size(0), quads = io_quads(n);
  T* vnorm = io_needs_vnorm(p) ? a.vnorm.ptr<T>() : nullptr;
  std::vector<T> lanes(kRowLanes);
  for (int64_t c = 0; c < k; ++c) {
    const int64_t row = row_of(a.rows, c);
    const T* x_row = a.x.ptr<const T>() + row * n;
    T* v_row = a.xq.ptr<T>() + c * n;
    T stat = nm_stat_init<T>(p.noise_management);
    if (nm_needs_row_stat(p.noise_management)) {
      for (int l = 0; l < kRowLanes; ++l) lanes[l] = nm_stat_init<T>(p.noise_management);
      for (int64_t j = 0; j < n; ++j)
        lanes[j % kRowLanes] = nm_stat_accumulate(p.noise_management, lanes[j % kRowLanes], x_row[j]);
      for (int st = kRowLanes / 2; st > 0; st >>= 1)
        for (int l = 0; l < st; ++l) lanes[l] = nm_stat_combine(p.noise_management, lanes[l], lanes[l + st]);
      stat = lanes[0];
    }
    T scale_a = a.scale.ptr<T>()[row];
    if (a.compute_scale) {
      scale_a = nm_scale(p.noise_management, stat, static_cast<T>(p.nm_thres_eff));
      a.scale.ptr<T>()[row] = scale_a;
    }
    if (nm_short_cut(p.noise_management, scale_a, s.inp_noise, p.backward)) {
      for (int64_t j = 0; j < n; ++j) v_row[j] = T(0);
      if (vnorm != nullptr) vnorm[c] = T(0);
      continue;
    }
    const InputScale<T> in_scale = nm_input_scale(p.noise_management, scale_a, p.bound_management, static_cast<T>(a.reduction));
    for (int l = 0; l < kRowLanes; ++l) {
      lanes[l] = T(0);
      for (int64_t q = l; q < quads; q += kRowLanes)
        io_prologue_quad(x_row, v_row, n, q, in_scale, s, a.seed, a.call, io_element(a.round, row, quads, q),
                         vnorm != nullptr ? &lanes[l] : static_cast<T*>(nullptr));
    }
    if (vnorm != nullptr) {
      row_lanes_tree_sum(lanes.data());
      vnorm[c] = xb_sqrt(lanes[0]);
    }
  }
}

template <typename T>
void epilogue_by_quads_impl(const IoEpilogueArgs& a) {
  const IoParams& p = a.params;
  const IoStage<T> s = make_io_stage<T>(p);
  const int64_t n = a.yhat.size(1), k = a.yhat.size(0), quads = io_quads(n);
  const T* pcm = io_needs_pcm(p) ? a.pcm.ptr<const T>() : nullptr;
  const T* vnorm = io_needs_vnorm(p) ? a.vnorm.ptr<const T>() : nullptr;
  uint8_t* sat = p.bound_management ? a.sat.ptr<uint8_t>() : nullptr;
  const T w_noise = static_cast<T>(p.w_noise);
  for (int64_t c = 0; c < k; ++c) {
    const int64_t row = row_of(a.rows, c);
    const T scale_a = a.scale.ptr<const T>()[row];
    T* y_row = a.y.ptr<T>() + row * n;
    if (nm_short_cut(p.noise_management, scale_a, s.inp_noise, p.backward)) {
      for (int64_t j = 0; j < n; ++j) y_row[j] = T(0);
      if (sat != nullptr) sat[c] = 0;
      continue;
    }
    const T factor = io_rescale_factor(p.noise_management, scale_a, p.bound_management,
                                       static_cast<T>(a.reduction), static_cast<T>(a.gain));
    const T w_row = vnorm != nullptr ? w_noise * vnorm[c] : T(0);
    uint32_t bits = 0;
    for (int64_t q = 0; q < quads; ++q)
      bits |= io_epilogue_quad(a.yhat.ptr<const T>() + c * n, pcm != nullptr ? pcm + c * n : nullptr, y_row, n, q,
                               factor, w_noise, w_row, s, a.seed, a.call, io_element(a.round, row, quads, q));
    if (sat != nullptr) sat[c] = bits != 0 ? 1 : 0;
  }
}

}  // namespace

void io_prologue_by_quads(const IoPrologueArgs& a) {
  dispatch_floating(a.x.dtype, "io_prologue_by_quads",
                    [&](auto* tag) { prologue_by_quads_impl<std::remove_pointer_t<decltype(tag)>>(a); });
}

void io_epilogue_by_quads(const IoEpilogueArgs& a) {
  dispatch_floating(a.yhat.dtype, "io_epilogue_by_quads",
                    [&](auto* tag) { epilogue_by_quads_impl<std::remove_pointer_t<decltype(tag)>>(a); });
}

void io_prologue(const IoPrologueArgs& a) {
  dispatch_floating(a.x.dtype, "io_prologue",
                    [&](auto* tag) { prologue_impl<std::remove_pointer_t<decltype(tag)>>(a); });
}

void io_epilogue(const IoEpilogueArgs& a) {
  dispatch_floating(a.yhat.dtype, "io_epilogue",
                    [&](auto* tag) { epilogue_impl<std::remove_pointer_t<decltype(tag)>>(a); });
}

void io_nm_running(const IoNmRunningArgs& a) {
  dispatch_floating(a.x.dtype, "io_nm_running",
                    [&](auto* tag) { nm_running_impl<std::remove_pointer_t<decltype(tag)>>(a); });
}

}  // namespace xbarsim::cpu
